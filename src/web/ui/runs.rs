//! Run history: the last runs with their spec and curves, kept in IndexedDB across reloads
//! (see `persist`), overlaid on the charts, with what differs between a run's spec and the
//! current one.

use super::lang::{t, tf};
use super::state::{AppState, Run};
use crate::engine::spec::diff::spec_diff;
use leptos::prelude::*;

/// Runs kept.
const KEEP: usize = 5;

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
        super::persist::save(state);
    };
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
                    let diff_text = if diff.is_empty() { t("runs.same").to_string() } else { tf("runs.differs", &[&diff.join("; ")]) };
                    view! {
                        <li data-testid=format!("run-{id}")>
                            <label><input type="checkbox" data-testid="run-shown" prop:checked=r.shown on:change=move |_| toggle(id) />
                                {tf("runs.line", &[&id, &last])}</label>
                            <div class="hint" data-testid="run-diff">{diff_text}</div>
                        </li>
                    }
                }).collect_view()}
            </ul>
            <button class="secondary" data-testid="runs-clear" on:click=clear>{move || t("runs.clear")}</button>
        </Show>
    }
}
