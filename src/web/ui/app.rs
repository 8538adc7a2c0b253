//! Page layout: toolbar, the one-screen workspace (palette and layer editor, diagram, drawing
//! pad and curves) and the panels below it; the data status, training figures and model table.

use super::bench::BenchPanel;
use super::augment::Augmentation;
use super::builder::Builder;
use super::charts::Charts;
use super::runs::RunHistory;
use super::compare::Compare;
use super::settings::Settings;
use super::draw::DrawPad;
use super::inside::Inside;
use super::mine::MyDigits;
use super::evaluate::Evaluate;
use super::transfer::Transfer;
use super::lang::{t, tf, tr};
use super::state::AppState;
use super::toolbar::{ModeBadge, Toolbar};
use super::palette::Palette;
use super::layer_panel::LayerPanel;
use super::diagram::Diagram;
use crate::engine::bench::flop_counts;
use leptos::prelude::*;

/// `text`, or "–" for progress that measured nothing yet (a run just restored from a checkpoint
/// has a position but no loss, accuracy or speed).
fn measured(p: &crate::protocol::Progress, text: String) -> String {
    if p.report.steps == 0 || p.images_per_sec <= 0.0 { "–".into() } else { text }
}

/// The panels under the workspace: (anchor id, title key).
const PANELS: &[(&str, &str)] = &[
    ("training", "card.training"),
    ("inside", "card.inside"),
    ("model", "card.model"),
    ("settings", "card.settings"),
    ("augment", "card.augment"),
    ("runs", "card.runs"),
    ("evaluate", "card.evaluate"),
    ("transfer", "card.transfer"),
    ("bench", "card.bench"),
];

/// The parts of the workspace a narrow screen shows one at a time: (id, title key).
const WORKSPACE_TABS: &[(&str, &str)] = &[("network", "diagram.title"), ("draw", "panels.draw"), ("charts", "card.charts")];

/// The whole page: the toolbar; the workspace, where the palette and the selected layer, the
/// diagram, and the drawing pad with the curves are all in view; panels for the rest.
#[component]
pub fn App(state: AppState) -> impl IntoView {
    let tab = RwSignal::new("network");
    view! {
        <div class="screen">
        <Toolbar state=state />
        <ErrorBanner state=state />
        // Narrow screens show one part of the workspace at a time (CSS hides the tabs when wide).
        <div class="ws-tabs" role="tablist" aria-label=move || t("panels.workspace")>
            {WORKSPACE_TABS.iter().map(|(id, key)| view! {
                <button role="tab" class="secondary small" data-testid=format!("ws-tab-{id}")
                        aria-selected=move || (tab.get() == *id).to_string() on:click=move |_| tab.set(id)>{move || t(key)}</button>
            }).collect_view()}
        </div>
        <main class="workspace" data-testid="workspace" data-tab=move || tab.get()>
            <aside class="pane palette-pane" aria-label=move || t("builder.palette")>
                <Palette state=state />
                <LayerPanel state=state />
            </aside>
            <section class="pane stage" aria-label=move || t("diagram.title")>
                <Diagram state=state />
                <div class="status-row">
                    <super::dataset::DataStatus state=state />
                    <ModeBadge state=state />
                </div>
            </section>
            <aside class="pane live-pane" aria-label=move || t("card.draw")>
                <div class="draw-section">
                    // The drawing pad makes MNIST-like digits; other inputs take a picture.
                    <Show when=move || state.spec.with(|s| s.input_shape() == crate::engine::shape::Shape::new(1, 28, 28))
                          fallback=move || view! { <super::picture::PicturePad state=state /> }>
                        <DrawPad state=state />
                    </Show>
                </div>
                <div class="charts-section"><Charts state=state /></div>
            </aside>
        </main>
        </div>
        <nav class="panel-tabs" data-testid="panel-tabs" aria-label=move || t("panels.label")>
            {PANELS.iter().map(|(id, key)| view! { <a href=format!("#panel-{id}") data-testid=format!("tab-{id}")
                on:click=move |ev| {
                    // The fragment holds the shared spec: scroll instead of navigating.
                    ev.prevent_default();
                    super::dom::scroll_to(&format!("panel-{id}"));
                }>{move || t(key)}</a> }).collect_view()}
        </nav>
        <div class="panels">
            <section class="card" id="panel-training">
                <h2>{move || t("card.training")}</h2>
                <TrainingPanel state=state />
                // Drawn digits fine-tune a model of drawings (1×28×28, ten classes) only.
                <Show when=move || state.spec.with(|s| s.input_shape() == crate::engine::shape::Shape::new(1, 28, 28) && s.classes() == 10)>
                    <MyDigits state=state />
                </Show>
            </section>
            <section class="card wide" id="panel-inside">
                <h2>{move || t("card.inside")}</h2>
                <Inside state=state />
            </section>
            <section class="card wide" id="panel-model">
                <h2>{move || t("card.model")}</h2>
                <Builder state=state />
                <details>
                    <summary>{move || t("card.summary")}</summary>
                    <ModelSummary state=state />
                </details>
            </section>
            <section class="card wide" id="panel-settings">
                <h2>{move || t("card.settings")}</h2>
                <Settings state=state />
            </section>
            <section class="card wide" id="panel-augment">
                <h2>{move || t("card.augment")}</h2>
                <Augmentation state=state />
            </section>
            <section class="card" id="panel-runs">
                <h2>{move || t("card.runs")}</h2>
                <RunHistory state=state />
                <h3>{move || t("compare.title")}</h3>
                <Compare state=state />
            </section>
            <section class="card wide" id="panel-evaluate">
                <h2>{move || t("card.evaluate")}</h2>
                <Evaluate state=state />
            </section>
            <section class="card wide" id="panel-transfer">
                <h2>{move || t("card.transfer")}</h2>
                <Transfer state=state />
            </section>
            <section class="card" id="panel-bench">
                <h2>{move || t("card.bench")}</h2>
                <BenchPanel state=state />
            </section>
        </div>
    }
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

#[component]
fn TrainingPanel(state: AppState) -> impl IntoView {
    let progress = state.progress;
    let stat = move |f: fn(&crate::protocol::Progress) -> String| move || progress.get().map_or("–".into(), |p| f(&p));
    view! {
        <Show when=move || state.restored.get().is_some()>
            <p class="notice" role="status" data-testid="restored">{move || state.restored.get().map(|r| tr(&r)).unwrap_or_default()}</p>
        </Show>
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
