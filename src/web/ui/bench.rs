//! Benchmark card: training and inference speed of this device, per network and per layer.
//! `?bench=reference,lenet-5&reps=3&minms=2000` runs those presets on load (used by `make bench`).

use super::client::send;
use super::lang::{t, tf};
use super::state::{AppState, RunState};
use crate::engine::bench::{min_median, BenchConfig, BenchReport};
use crate::engine::spec::BENCH_PRESETS;
use leptos::prelude::*;

/// Reads `?bench=…&reps=…&minms=…` into the state's benchmark queue.
pub fn queue_from_url(state: AppState) {
    let search = web_sys::window().and_then(|w| w.location().search().ok()).unwrap_or_default();
    let params: Vec<(String, String)> = search
        .trim_start_matches('?')
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let get = |key: &str| params.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
    let Some(names) = get("bench") else { return };
    let mut config = BenchConfig::default();
    if let Some(reps) = get("reps").and_then(|v| v.parse().ok()) {
        config.reps = reps;
    }
    if let Some(ms) = get("minms").and_then(|v| v.parse().ok()) {
        config.min_ms = ms;
    }
    state.bench_config.set(config);
    state.bench_queue.set(names.split(',').filter(|n| !n.is_empty()).map(String::from).collect());
}

fn row(r: &BenchReport) -> impl IntoView {
    let (_, train) = min_median(&r.train_img_s);
    let (_, infer) = min_median(&r.infer_img_s);
    view! {
        <tr>
            <td>{r.name.clone()}</td>
            <td>{r.threads}</td>
            <td>{format!("{train:.0}")}</td>
            <td>{format!("{:.1}", r.train_gflops())}</td>
            <td>{format!("{infer:.0}")}</td>
            <td>{format!("{:.1}", r.infer_gflops())}</td>
        </tr>
    }
}

fn layers(r: &BenchReport) -> impl IntoView {
    view! {
        <p class="hint">{tf("bench.layer_hint", &[&r.name])}</p>
        <table class="summary">
            {r.layers.iter().enumerate().map(|(i, l)| view! {
                <tr><td>{format!("{i} {}", l.name)}</td><td>{format!("{:.1}", l.forward_us)}</td><td>{format!("{:.1}", l.backward_us)}</td></tr>
            }).collect_view()}
        </table>
    }
}

/// The benchmark card.
#[component]
pub fn BenchPanel(state: AppState) -> impl IntoView {
    let busy = move || state.bench_running.get() || matches!(state.run.get(), RunState::Running | RunState::Pausing);
    let start = move |_| {
        state.bench_results.set(Vec::new());
        state.bench_config.set(BenchConfig { reps: 3, min_ms: 1000.0, warmup_steps: 5 });
        state.bench_queue.set(BENCH_PRESETS.iter().map(|s| s.to_string()).collect());
        if let Some(request) = state.next_bench() {
            send(request);
        }
    };
    let json = move || serde_json::to_string(&state.bench_results.get()).unwrap_or_default();
    let status = move || {
        if state.bench_running.get() {
            tf("bench.running", &[&state.bench_queue.get().first().cloned().unwrap_or_default()])
        } else if state.bench_results.get().is_empty() {
            String::new()
        } else {
            t("bench.done").to_string()
        }
    };
    view! {
        <p class="hint">{move || t("bench.hint")}</p>
        <div class="row buttons">
            <button data-testid="bench-run" prop:disabled=busy on:click=start>{move || t("bench.run")}</button>
            <span class="state" data-testid="bench-status">{status}</span>
        </div>
        <div class="scroll" tabindex="0" role="region" aria-label=move || t("bench.table")>
            <table class="summary" data-testid="bench-table">
                <thead><tr>
                    <th>{move || t("bench.network")}</th><th>{move || t("bench.threads")}</th><th>{move || t("bench.train")}</th>
                    <th>{move || t("bench.gflops")}</th><th>{move || t("bench.infer")}</th><th>{move || t("bench.gflops")}</th>
                </tr></thead>
                <tbody>{move || state.bench_results.get().iter().map(row).collect_view()}</tbody>
            </table>
        </div>
        <details>
            <summary>{move || t("bench.per_layer")}</summary>
            {move || state.bench_results.get().iter().map(layers).collect_view()}
        </details>
        <pre hidden data-testid="bench-json">{json}</pre>
    }
}
