//! The toolbar over the workspace: run controls with the run's position and speed, preset,
//! undo/redo, share link, language and engine mode.

use super::client::send;
use super::edit::{apply_spec, rebuild, redo, undo};
use super::lang::{t, tf, LangSwitch};
use super::state::{AppState, RunState};
use crate::engine::spec::{DatasetKind, Spec, PRESETS};
use crate::protocol::Request;
use leptos::prelude::*;

/// Start / pause / resume, single step, reset, and where the run stands.
#[component]
fn RunControls(state: AppState) -> impl IntoView {
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
    let position = move || {
        progress.get().map_or_else(
            || t("toolbar.not_started").to_string(),
            |p| {
                let speed = if p.images_per_sec > 0.0 { tf("toolbar.speed", &[&format!("{:.0}", p.images_per_sec)]) } else { String::new() };
                tf("toolbar.position", &[&(p.epoch + 1), &p.epochs, &p.step_in_epoch, &p.steps_per_epoch, &speed])
            },
        )
    };
    view! {
        <div class="run-controls" role="group" aria-label=move || t("card.training")>
            <Show when=move || matches!(run.get(), RunState::Idle)>
                <button data-testid="train-start" prop:disabled=move || !ready() on:click=start>
                    <svg class="glyph" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><path d="M4 2.5v11l9-5.5z" fill="currentColor"/></svg>
                    {move || t("train.start")}
                </button>
            </Show>
            <Show when=move || matches!(run.get(), RunState::Running | RunState::Pausing)>
                <button data-testid="train-pause" prop:disabled=move || run.get() == RunState::Pausing on:click=pause>
                    <svg class="glyph" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><path d="M4 2.5h3v11H4zM9 2.5h3v11H9z" fill="currentColor"/></svg>
                    {move || t("train.pause")}
                </button>
            </Show>
            <Show when=move || run.get() == RunState::Paused>
                <button data-testid="train-resume" on:click=start>
                    <svg class="glyph" viewBox="0 0 16 16" width="12" height="12" aria-hidden="true"><path d="M4 2.5v11l9-5.5z" fill="currentColor"/></svg>
                    {move || t("train.resume")}
                </button>
            </Show>
            <Show when=move || matches!(run.get(), RunState::Idle | RunState::Paused)>
                <button class="secondary" data-testid="train-step" title=move || t("train.step_title")
                    prop:disabled=move || !ready() on:click=move |_| { run.set(RunState::Pausing); send(Request::Step); }>{move || t("train.step")}</button>
            </Show>
            <button class="secondary" data-testid="train-reset" prop:disabled=move || !ready() || matches!(run.get(), RunState::Running | RunState::Pausing)
                    on:click=move |_| rebuild(state)>{move || t("train.reset")}</button>
            <div class="run-position">
                // data-run: the state in words that do not change with the language, for the page's
                // script (it installs the offline copy only while no training runs).
                <span class="state" data-testid="run-state" data-run=move || run_word(run.get())>{move || t(match run.get() {
                    RunState::Idle => "state.idle",
                    RunState::Running => "state.running",
                    RunState::Pausing => "state.pausing",
                    RunState::Paused => "state.paused",
                    RunState::Finished => "state.finished",
                })}</span>
                <span class="hint" data-testid="toolbar-position">{position}</span>
                <div class="bar" role="progressbar" aria-label=move || t("train.progress") data-testid="train-progress"
                     aria-valuenow=move || format!("{:.1}", fraction() * 100.0) aria-valuemin="0" aria-valuemax="100">
                    <div class="fill" style:width=move || format!("{:.1}%", fraction() * 100.0)></div>
                </div>
            </div>
        </div>
    }
}

/// The engine's mode: threads, SIMD, build.
#[component]
pub fn ModeBadge(state: AppState) -> impl IntoView {
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
    view! { <span class="badge" data-testid="mode" title=text>{text}</span> }
}

/// The whole toolbar.
#[component]
pub fn Toolbar(state: AppState) -> impl IntoView {
    let load_preset = move |ev| {
        let name = event_target_value(&ev);
        if let Some(mut spec) = Spec::preset(&name) {
            // A preset made for MNIST is a network for any data: it keeps the chosen dataset
            // (its last layer gives that dataset's classes); a dataset's own preset brings it.
            let current = state.spec.get_untracked();
            if spec.dataset == DatasetKind::Mnist && current.dataset != DatasetKind::Mnist {
                spec.switch_dataset(current.dataset, current.images);
            }
            state.field_errors.set(Vec::new());
            state.selected.set(None);
            apply_spec(state, spec);
        }
    };
    let shared = RwSignal::new(false);
    // "Copied" is about the link of that moment: an edit makes it a new link.
    Effect::new(move |_| {
        state.spec.track();
        shared.set(false);
    });
    let share = move |_| {
        let link = super::edit::share_url(&state.spec.get_untracked());
        if let Some(w) = web_sys::window() {
            // May be refused (permissions): the link is also in the Model panel's field.
            let _ = w.navigator().clipboard().write_text(&link);
        }
        shared.set(true);
    };
    view! {
        <header class="toolbar">
            <h1>{move || t("app.title")}</h1>
            <RunControls state=state />
            <div class="tool-group">
                <label class="compact">
                    <select data-testid="dataset" aria-label=move || t("set.dataset") prop:disabled=move || matches!(state.run.get(), RunState::Running | RunState::Pausing)
                            on:change=move |ev| {
                                let word = event_target_value(&ev);
                                let Some(kind) = DatasetKind::ALL.into_iter().find(|k| k.word() == word) else { return };
                                let mut spec = state.spec.get_untracked();
                                spec.switch_dataset(kind, None);
                                apply_spec(state, spec);
                            }>
                        {DatasetKind::ALL.into_iter().map(|kind| view! {
                            <option value=kind.word() prop:selected=move || state.spec.get().dataset == kind>{move || super::dataset::dataset_title(kind)}</option>
                        }).collect_view()}
                    </select>
                </label>
                <label class="compact">
                    <select data-testid="preset-select" aria-label=move || t("builder.preset") on:change=load_preset>
                        <option value="" selected>{move || t("toolbar.presets")}</option>
                        {PRESETS.iter().map(|p| view! { <option value=*p>{*p}</option> }).collect_view()}
                    </select>
                </label>
                <button class="secondary small" data-testid="undo" title=move || t("builder.undo") prop:disabled=move || state.history.with(|h| h.0.is_empty()) on:click=move |_| undo(state)>{move || t("builder.undo")}</button>
                <button class="secondary small" data-testid="redo" title=move || t("builder.redo") prop:disabled=move || state.history.with(|h| h.1.is_empty()) on:click=move |_| redo(state)>{move || t("builder.redo")}</button>
                <button class="secondary small" data-testid="toolbar-share" title=move || t("toolbar.share_title") on:click=share>
                    {move || if shared.get() { t("builder.copied") } else { t("toolbar.share") }}
                </button>
                <LangSwitch />
            </div>
        </header>
    }
}

/// The run state's word for `data-run`.
fn run_word(run: RunState) -> &'static str {
    run.into()
}
