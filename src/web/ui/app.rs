//! Page layout: engine mode, data, model summary, training controls and figures, drawing pad.

use super::client::{data_url, send};
use super::bench::BenchPanel;
use super::augment::Augmentation;
use super::builder::Builder;
use super::charts::Charts;
use super::runs::RunHistory;
use super::settings::Settings;
use super::draw::DrawPad;
use super::inside::Inside;
use super::mine::MyDigits;
use super::evaluate::Evaluate;
use super::transfer::Transfer;
use super::lang::{t, tf, tr, LangSwitch};
use super::state::{AppState, RunState};
use crate::engine::bench::flop_counts;
use crate::protocol::Request;
use leptos::prelude::*;

/// `text`, or "–" for progress that measured nothing yet (a run just restored from a checkpoint
/// has a position but no loss, accuracy or speed).
fn measured(p: &crate::protocol::Progress, text: String) -> String {
    if p.report.steps == 0 || p.images_per_sec <= 0.0 { "–".into() } else { text }
}

/// The whole page.
#[component]
pub fn App(state: AppState) -> impl IntoView {
    view! {
        <header>
            <h1>{move || t("app.title")}</h1>
            <ModeBadge state=state />
            <LangSwitch />
        </header>
        <ErrorBanner state=state />
        <main>
            <section class="card">
                <h2>{move || t("card.data")}</h2>
                <DataStatus state=state />
            </section>
            <section class="card">
                <h2>{move || t("card.training")}</h2>
                <TrainingPanel state=state />
            </section>
            <section class="card">
                <h2>{move || t("card.draw")}</h2>
                <DrawPad state=state />
                <MyDigits state=state />
            </section>
            <section class="card wide">
                <h2>{move || t("card.inside")}</h2>
                <Inside state=state />
            </section>
            <section class="card wide">
                <h2>{move || t("card.model")}</h2>
                <Builder state=state />
                <details>
                    <summary>{move || t("card.summary")}</summary>
                    <ModelSummary state=state />
                </details>
            </section>
            <section class="card wide">
                <h2>{move || t("card.transfer")}</h2>
                <Transfer state=state />
            </section>
            <section class="card wide">
                <h2>{move || t("card.settings")}</h2>
                <Settings state=state />
            </section>
            <section class="card wide">
                <h2>{move || t("card.augment")}</h2>
                <Augmentation state=state />
            </section>
            <section class="card wide">
                <h2>{move || t("card.charts")}</h2>
                <Charts state=state />
                <h3>{move || t("card.runs")}</h3>
                <RunHistory state=state />
            </section>
            <section class="card wide">
                <h2>{move || t("card.evaluate")}</h2>
                <Evaluate state=state />
            </section>
            <section class="card">
                <h2>{move || t("card.bench")}</h2>
                <BenchPanel state=state />
            </section>
        </main>
    }
}

#[component]
fn ModeBadge(state: AppState) -> impl IntoView {
    let text = move || match state.mode.get() {
        None => t("mode.starting").to_string(),
        Some(m) => tf("mode.badge", &[
            &if m.threads == 1 { t("mode.one_thread").to_string() } else { tf("mode.threads", &[&m.threads]) },
            &t(match (m.simd, m.fused) {
                (true, true) => "mode.simd_fma",
                (true, false) => "mode.simd",
                _ => "mode.scalar",
            }),
            &t(if m.threaded { "mode.threaded" } else { "mode.fallback" }),
        ]),
    };
    view! { <span class="badge" data-testid="mode">{text}</span> }
}

#[component]
fn ErrorBanner(state: AppState) -> impl IntoView {
    view! {
        <Show when=move || state.error.get().is_some()>
            <div class="error" role="alert" data-testid="error">
                <span>{move || state.error.get().map(|e| tr(&e)).unwrap_or_default()}</span>
                <button on:click=move |_| state.error.set(None) aria-label=move || t("common.dismiss")>"×"</button>
            </div>
        </Show>
        <Show when=move || state.engine_restarted.get().is_some()>
            <div class="error" role="alert" data-testid="engine-restarted">
                <span>{move || state.engine_restarted.get().map(|(reason, n)| tf("msg.engine_restarted", &[&tr(&reason), &n])).unwrap_or_default()}</span>
                <button on:click=move |_| state.engine_restarted.set(None) aria-label=move || t("common.dismiss")>"×"</button>
            </div>
        </Show>
        <Show when=move || state.storage_error.get().is_some()>
            <div class="error" role="alert" data-testid="storage-error">
                <span>{move || state.storage_error.get().map(|e| tr(&e)).unwrap_or_default()}</span>
            </div>
        </Show>
    }
}

fn mb(bytes: u64) -> String {
    tf("data.mb", &[&format!("{:.1}", bytes as f64 / 1e6)])
}

#[component]
fn DataStatus(state: AppState) -> impl IntoView {
    let fraction = move || {
        let (loaded, total) = state.data_progress.get();
        if state.data_ready.get().is_some() {
            1.0
        } else if total > 0 {
            loaded as f64 / total as f64
        } else {
            0.0
        }
    };
    let retry = move |_| {
        state.data_error.set(None);
        state.error.set(None);
        state.data_progress.set((0, 0));
        send(state.load_data_request(&data_url()));
    };
    let name = move || match state.spec.get().dataset {
        crate::engine::spec::DatasetKind::Mnist => "MNIST",
        crate::engine::spec::DatasetKind::FashionMnist => "Fashion-MNIST",
    };
    let label = move || match state.data_ready.get() {
        Some((train, test)) => tf("data.ready", &[&name(), &train, &test]),
        None => {
            let (loaded, total) = state.data_progress.get();
            if total == 0 {
                tf("data.downloading", &[&name()])
            } else {
                tf("data.downloading_of", &[&name(), &mb(loaded), &mb(total)])
            }
        }
    };
    view! {
        <div class="bar" role="progressbar" aria-label=move || t("data.progress")
             aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || format!("{:.0}", fraction() * 100.0)
             data-testid="data-progress">
            <div class="fill" style:width=move || format!("{:.1}%", fraction() * 100.0)></div>
        </div>
        <Show when=move || state.data_error.get().is_none()
              fallback=move || view! {
                  <p data-testid="data-status" class="failed">{move || tf("data.failed", &[&name()])}</p>
                  <button data-testid="data-retry" on:click=retry>{move || t("data.retry")}</button>
              }>
            <p data-testid="data-status">{label}</p>
        </Show>
    }
}

#[component]
fn ModelSummary(state: AppState) -> impl IntoView {
    view! {
        <table class="summary" data-testid="model-summary">
            <thead><tr><th>{move || t("summary.layer")}</th><th>{move || t("summary.output")}</th><th>{move || t("summary.params")}</th></tr></thead>
            <tbody>
                {move || state.model.get().map(|(layers, _)| layers.into_iter().map(|l| view! {
                    <tr><td>{l.name}</td><td>{l.output.to_string()}</td><td>{l.params}</td></tr>
                }).collect_view())}
            </tbody>
            <tfoot>
                <tr><td colspan="3">{move || state.model.get().map(|(_, p)| tf("summary.total", &[&p]))}</td></tr>
            </tfoot>
        </table>
    }
}

/// Rebuilds the model from the current spec (fresh weights) and clears the figures.
fn reset(state: AppState) {
    super::edit::clear_run(state);
    let spec = state.spec.get_untracked();
    if spec.infer().is_ok() {
        send(Request::Build { spec });
    } else {
        state.model.set(None);
    }
}

#[component]
fn TrainingPanel(state: AppState) -> impl IntoView {
    let ready = move || state.data_ready.get().is_some() && state.model.get().is_some();
    let run = state.run;
    let start = move |_| {
        run.set(RunState::Running);
        send(Request::Train);
    };
    let pause = move |_| {
        run.set(RunState::Pausing);
        send(Request::Pause);
    };
    let progress = state.progress;
    let fraction = move || {
        progress.get().map_or(0.0, |p| {
            let done = p.epoch * p.steps_per_epoch + p.step_in_epoch;
            done as f64 / (p.epochs * p.steps_per_epoch).max(1) as f64
        })
    };
    let stat = move |f: fn(&crate::protocol::Progress) -> String| move || progress.get().map_or("–".into(), |p| f(&p));
    view! {
        <Show when=move || state.restored.get().is_some()>
            <p class="notice" role="status" data-testid="restored">{move || state.restored.get().map(|r| tr(&r)).unwrap_or_default()}</p>
        </Show>
        <div class="row buttons">
            <Show when=move || matches!(run.get(), RunState::Idle)>
                <button data-testid="train-start" prop:disabled=move || !ready() on:click=start>{move || t("train.start")}</button>
            </Show>
            <Show when=move || matches!(run.get(), RunState::Running | RunState::Pausing)>
                <button data-testid="train-pause" prop:disabled=move || run.get() == RunState::Pausing on:click=pause>{move || t("train.pause")}</button>
            </Show>
            <Show when=move || run.get() == RunState::Paused>
                <button data-testid="train-resume" on:click=start>{move || t("train.resume")}</button>
            </Show>
            <Show when=move || matches!(run.get(), RunState::Idle | RunState::Paused)>
                <button class="secondary" data-testid="train-step" title=move || t("train.step_title")
                    prop:disabled=move || !ready() on:click=move |_| { run.set(RunState::Pausing); send(Request::Step); }>{move || t("train.step")}</button>
            </Show>
            <button data-testid="train-reset" prop:disabled=move || !ready() || matches!(run.get(), RunState::Running | RunState::Pausing)
                    on:click=move |_| reset(state)>{move || t("train.reset")}</button>
            <span class="state" data-testid="run-state">{move || t(match run.get() {
                RunState::Idle => "state.idle",
                RunState::Running => "state.running",
                RunState::Pausing => "state.pausing",
                RunState::Paused => "state.paused",
                RunState::Finished => "state.finished",
            })}</span>
        </div>
        <div class="bar" role="progressbar" aria-label=move || t("train.progress") data-testid="train-progress"
             aria-valuenow=move || format!("{:.1}", fraction() * 100.0) aria-valuemin="0" aria-valuemax="100">
            <div class="fill" style:width=move || format!("{:.1}%", fraction() * 100.0)></div>
        </div>
        <dl class="stats">
            <dt>{move || t("stat.epoch")}</dt><dd data-testid="epoch">{stat(|p| format!("{} / {}", p.epoch + 1, p.epochs))}</dd>
            <dt>{move || t("stat.step")}</dt><dd data-testid="step">{stat(|p| format!("{} / {}", p.step_in_epoch, p.steps_per_epoch))}</dd>
            <dt>{move || t("stat.loss")}</dt><dd data-testid="train-loss">{stat(|p| measured(p, format!("{:.4}", p.report.loss)))}</dd>
            <dt>{move || t("stat.accuracy")}</dt><dd data-testid="train-acc">{stat(|p| measured(p, format!("{:.2}%", p.report.accuracy * 100.0)))}</dd>
            <dt>{move || t("stat.lr")}</dt><dd data-testid="lr-now">{stat(|p| format!("{}", p.lr))}</dd>
            <dt>{move || t("stat.eta")}</dt><dd data-testid="eta">{stat(|p| {
                let left = (p.epochs * p.steps_per_epoch).saturating_sub(p.epoch * p.steps_per_epoch + p.step_in_epoch);
                let per_step = p.report.images.max(1) as f64 / p.report.steps.max(1) as f64 / p.images_per_sec.max(1e-9);
                let secs = (left as f64 * per_step).round() as u64;
                measured(p, format!("{}:{:02}", secs / 60, secs % 60))
            })}</dd>
            <dt>{move || t("stat.throughput")}</dt><dd data-testid="images-per-sec">{stat(|p| tf("stat.img_s", &[&format!("{:.0}", p.images_per_sec)]))}</dd>
            <dt>{move || t("stat.compute")}</dt><dd data-testid="gflops">{move || progress.get().map_or("–".into(), |p| {
                let (_, train_flops) = flop_counts(&state.spec.get());
                format!("{:.1} GFLOPS", p.images_per_sec * train_flops / 1e9)
            })}</dd>
        </dl>
        <h3>{move || t("train.evaluation")}</h3>
        <ul class="evals" data-testid="evals">
            {move || state.evals.get().into_iter().map(|(epoch, r)| view! {
                <li data-testid="test-acc" data-epoch=epoch data-accuracy=format!("{:.4}", r.accuracy)>
                    {move || tf("train.eval_line", &[&epoch, &format!("{:.2}", r.accuracy * 100.0), &format!("{:.4}", r.loss)])}
                </li>
            }).collect_view()}
            {move || state.epoch_times.get().into_iter().map(|(epoch, seconds)| view! {
                <li data-testid="epoch-time" data-epoch=epoch data-seconds=format!("{seconds:.2}")>
                    {move || tf("train.epoch_time", &[&epoch, &format!("{seconds:.1}")])}
                </li>
            }).collect_view()}
            {move || state.validations.get().into_iter().map(|(epoch, r)| view! {
                <li data-testid="validation-acc" data-epoch=epoch data-accuracy=format!("{:.4}", r.accuracy)>
                    {move || tf("train.validation_line", &[&epoch, &format!("{:.2}", r.accuracy * 100.0), &format!("{:.4}", r.loss)])}
                </li>
            }).collect_view()}
        </ul>
    }
}
