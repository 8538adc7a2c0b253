//! Comparing variants, as the tutorials' experiments do (SGD vs Adam, with and without
//! BatchNorm…): the current configuration is queued, edited, queued again; the queue then
//! trains each in turn with the spec's own seed (so the same data order and initial draws
//! where the layers agree), and every finished run joins the history, overlaid on the charts.

use super::edit::{apply_spec, rebuild};
use super::lang::{t, tf};
use super::state::{AppState, RunState};
use crate::engine::spec::diff::spec_diff;
use crate::protocol::Request;
use leptos::prelude::*;

/// Variants the queue holds at most.
const MAX_QUEUED: usize = 6;

/// Starts the next queued variant, if any (returns whether one started): its spec becomes
/// current with fresh weights, and it trains as soon as it is built ([`start_if_queued`]).
pub fn start_next(state: AppState) -> bool {
    let Some(next) = state.queue.try_update(|q| (!q.is_empty()).then(|| q.remove(0))).flatten() else { return false };
    state.queue_start.set(true);
    if next == state.spec.get_untracked() {
        rebuild(state); // no edit, so no rebuild would come
    } else {
        apply_spec(state, next);
    }
    true
}

/// The `Train` request for a queued variant that is now built (and marks the run as running).
pub fn start_if_queued(state: AppState) -> Option<Request> {
    if !state.queue_start.get_untracked() {
        return None;
    }
    state.queue_start.set(false);
    state.run.set(RunState::Running);
    Some(Request::Train)
}

/// The comparison queue: add the current configuration, see what each variant changes, run.
#[component]
pub fn Compare(state: AppState) -> impl IntoView {
    let busy = move || matches!(state.run.get(), RunState::Running | RunState::Pausing);
    let add = move |_| {
        let spec = state.spec.get_untracked();
        state.queue.update(|q| {
            if q.len() < MAX_QUEUED && q.last() != Some(&spec) {
                q.push(spec);
            }
        });
    };
    let run = move |_| {
        start_next(state);
    };
    view! {
        <p class="hint">{move || t("compare.hint")}</p>
        <ol class="queue" data-testid="queue">
            {move || {
                let queue = state.queue.get();
                let first = queue.first().cloned();
                queue.into_iter().enumerate().map(|(k, spec)| {
                    let what = match (&first, k) {
                        (_, 0) | (None, _) => t("compare.first").to_string(),
                        (Some(f), _) => {
                            let d = spec_diff(f, &spec);
                            if d.is_empty() { t("compare.same").to_string() } else { super::runs::headline(&d) }
                        }
                    };
                    view! {
                        <li data-testid="queued">
                            {what}" "
                            <button class="icon" title=move || t("builder.remove") aria-label=move || t("builder.remove") data-testid="queued-remove"
                                    on:click=move |_| state.queue.update(|q| { if k < q.len() { q.remove(k); } })>"✕"</button>
                        </li>
                    }
                }).collect_view()
            }}
        </ol>
        <div class="row buttons">
            <button class="secondary" data-testid="queue-add" prop:disabled=move || state.queue.with(|q| q.len() >= MAX_QUEUED)
                    on:click=add>{move || t("compare.add")}</button>
            <button data-testid="queue-run" prop:disabled=move || busy() || state.queue.with(Vec::is_empty) || state.data_ready.get().is_none()
                    on:click=run>{move || tf("compare.run", &[&state.queue.with(Vec::len)])}</button>
        </div>
    }
}
