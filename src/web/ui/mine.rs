//! "My digits": the user labels drawings and keeps them (IndexedDB, with the page state), then
//! fine-tunes the model on them mixed with training images — learning one's own handwriting.

use super::client::send;
use super::state::{AppState, RunState};
use crate::protocol::Request;
use super::lang::{t, tf, tr};
use leptos::prelude::*;

/// Optimizer steps of one fine-tuning run.
const STEPS: usize = 30;
/// Drawings kept (the oldest go first).
const KEEP: usize = 200;

/// The controls under the drawing pad.
#[component]
pub fn MyDigits(state: AppState) -> impl IntoView {
    let label = RwSignal::new(0u8);
    // Follow the prediction, so a correct one is added with one click.
    Effect::new(move |_| {
        if let Some(p) = state.prediction.get() {
            label.set(crate::engine::loss::argmax(&p) as u8);
        }
    });
    let add = move |_| {
        let Some(pixels) = state.last_input.get_untracked() else { return };
        let bytes = crate::engine::preprocess::to_bytes(&pixels);
        state.my_digits.update(|d| {
            d.push((bytes, label.get_untracked()));
            let excess = d.len().saturating_sub(KEEP);
            d.drain(..excess);
        });
        super::persist::save(state);
    };
    let tune = move |_| {
        let digits = state.my_digits.get_untracked();
        state.fine_tuning.set(true);
        state.fine_tuned.set(None);
        send(Request::FineTune {
            images: digits.iter().flat_map(|(img, _)| img.iter().copied()).collect(),
            labels: digits.iter().map(|(_, l)| *l).collect(),
            steps: STEPS,
        });
    };
    let forget = move |_| {
        state.my_digits.set(Vec::new());
        super::persist::save(state);
    };
    let counts = move || {
        let digits = state.my_digits.get();
        let mut per = [0usize; 10];
        for (_, l) in &digits {
            per[*l as usize % 10] += 1;
        }
        let detail = per.iter().enumerate().filter(|(_, n)| **n > 0).map(|(c, n)| format!("{c}: {n}")).collect::<Vec<_>>().join(", ");
        if digits.is_empty() { t("mine.none").to_string() } else { format!("{} ({detail})", digits.len()) }
    };
    let idle = move || !matches!(state.run.get(), RunState::Running | RunState::Pausing) && state.model.get().is_some() && state.data_ready.get().is_some();
    view! {
        <div class="mine" role="group" aria-label=move || t("mine.title")>
            <h3>{move || t("mine.title")}</h3>
            <div class="row buttons">
                <label>{move || t("mine.this_is")}" "
                    <select data-testid="my-label" prop:value=move || label.get().to_string() on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { label.set(v) }>
                        {(0..10u8).map(|d| view! { <option value=d selected=move || label.get() == d>{d}</option> }).collect_view()}
                    </select>
                </label>
                <button class="secondary" data-testid="add-mine" prop:disabled=move || state.last_input.get().is_none() on:click=add>{move || t("mine.add")}</button>
            </div>
            <p class="hint" data-testid="mine-count">{move || tf("mine.count", &[&counts()])}</p>
            <div class="row buttons">
                <button data-testid="fine-tune" prop:disabled=move || state.my_digits.get().is_empty() || !idle() || state.fine_tuning.get()
                        title=move || t("mine.tune_title") on:click=tune>
                    {move || if state.fine_tuning.get() { t("mine.tuning").to_string() } else { tf("mine.tune", &[&STEPS]) }}
                </button>
                <button class="secondary" data-testid="forget-mine" prop:disabled=move || state.my_digits.get().is_empty() on:click=forget>{move || t("mine.forget")}</button>
            </div>
            <Show when=move || state.fine_tuned.get().is_some()>
                <p class="notice" role="status" data-testid="fine-tuned">{move || state.fine_tuned.get().map(|m| tr(&m)).unwrap_or_default()}</p>
            </Show>
        </div>
    }
}
