//! Run history: the last runs with their spec and curves, kept in IndexedDB across reloads
//! (see `persist`), overlaid on the charts, with what differs between a run's spec and the
//! current one.

use super::client::send;
use super::lang::{t, tf};
use super::state::{AppState, Run, RunState};
use crate::protocol::Request;
use crate::engine::spec::diff::spec_diff;
use leptos::prelude::*;

/// Runs kept.
const KEEP: usize = 5;

/// What a diff says first: kind changes (`optimizer.type: "sgd" → "adam"`) lead, and the
/// `training.` prefix goes, so a legend names the change that matters.
pub fn headline(diff: &[String]) -> String {
    let mut lines: Vec<&str> = diff.iter().map(|d| d.strip_prefix("training.").unwrap_or(d)).collect();
    lines.sort_by_key(|d| !(d.contains(".type:") || d.contains(".kind")));
    lines.join("; ")
}

/// Copies the current curves into the history (once per run; there must be some).
pub fn archive(state: AppState) {
    let curve = state.curve.get_untracked();
    if curve.is_empty() || state.curve_archived.get_untracked() {
        return;
    }
    state.curve_archived.set(true);
    let evals = state.evals.get_untracked();
    let validations = state.validations.get_untracked();
    state.runs.update(|runs| {
        let id = runs.last().map_or(1, |r| r.id + 1);
        // The run being archived trained the spec as it was when it started.
        let spec = state.run_spec.get_untracked().unwrap_or_else(|| state.spec.get_untracked());
        runs.push(Run { id, spec, curve, evals, validations, shown: true });
        let excess = runs.len().saturating_sub(KEEP);
        runs.drain(..excess);
        // The engine keeps these weights for ensembles (the model has not changed yet: a
        // rebuild is sent after this).
        send(Request::KeepRun { id });
    });
    super::persist::save(state);
}

/// The history list.
#[component]
pub fn RunHistory(state: AppState) -> impl IntoView {
    let toggle = move |id: u32| {
        state.runs.update(|runs| {
            if let Some(r) = runs.iter_mut().find(|r| r.id == id) {
                r.shown = !r.shown;
            }
        });
        super::persist::save(state);
    };
    let clear = move |_| {
        state.runs.set(Vec::new());
        state.ensemble.set(None);
        super::persist::save(state);
    };
    // Runs ticked for the ensemble.
    let picked = RwSignal::new(Vec::<u32>::new());
    let pick = move |id: u32, on: bool| picked.update(|p| {
        p.retain(|k| *k != id);
        if on {
            p.push(id);
            p.sort_unstable();
        }
    });
    let evaluate = move |_| {
        state.ensemble_running.set(true);
        state.ensemble.set(None);
        send(Request::Ensemble { ids: picked.get_untracked() });
    };
    let busy = move || state.ensemble_running.get() || matches!(state.run.get(), RunState::Running | RunState::Pausing) || state.data_ready.get().is_none();
    let result = move || state.ensemble.get().map(|(ids, accuracy, members, missing)| {
        let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
        let each = ids.iter().zip(&members).map(|(id, a)| tf("runs.member", &[id, &format!("{:.2}", a * 100.0)])).collect::<Vec<_>>().join(", ");
        let mut text = if ids.is_empty() { String::new() } else { tf("runs.ensemble_result", &[&list(&ids), &format!("{:.2}", accuracy * 100.0), &each]) };
        if !missing.is_empty() {
            text = format!("{text} {}", tf("runs.ensemble_missing", &[&list(&missing)])).trim().to_string();
        }
        text
    });
    view! {
        <Show when=move || !state.runs.get().is_empty()
              fallback=|| view! { <p class="hint" data-testid="runs-empty">{move || t("runs.empty")}</p> }>
            <ul class="runs" data-testid="runs">
                {move || state.runs.get().into_iter().rev().map(|r| {
                    let id = r.id;
                    let last = r.evals.last().map_or_else(
                        || r.curve.last().map_or(t("runs.no_figures").to_string(), |c| tf("runs.train_loss", &[&format!("{:.4}", c.1), &c.0])),
                        |(e, ev)| tf("runs.test_accuracy", &[&format!("{:.2}", ev.accuracy * 100.0), e]));
                    let diff = spec_diff(&r.spec, &state.spec.get());
                    let diff_text = if diff.is_empty() { t("runs.same").to_string() } else { tf("runs.differs", &[&headline(&diff)]) };
                    view! {
                        <li data-testid=format!("run-{id}")>
                            <label><input type="checkbox" data-testid="run-shown" prop:checked=r.shown on:change=move |_| toggle(id) />
                                {tf("runs.line", &[&id, &last])}</label>
                            " "
                            <label class="hint"><input type="checkbox" data-testid="run-ensemble" prop:checked=move || picked.get().contains(&id)
                                on:change=move |ev| pick(id, event_target_checked(&ev)) />" "{t("runs.in_ensemble")}</label>
                            <div class="hint" data-testid="run-diff">{diff_text}</div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <div class="row buttons">
                <button data-testid="ensemble-run" prop:disabled=move || picked.get().is_empty() || busy() on:click=evaluate
                        title=move || t("runs.ensemble_title")>{move || t("runs.ensemble")}</button>
                <button class="secondary" data-testid="runs-clear" on:click=clear>{move || t("runs.clear")}</button>
            </div>
            <p data-testid="ensemble-result" aria-live="polite">{move || if state.ensemble_running.get() { t("runs.ensemble_running").to_string() } else { result().unwrap_or_default() }}</p>
        </Show>
    }
}
