//! Autosave of the page's own state in IndexedDB: the current spec, the run history and the
//! curves of the run in progress (the engine worker keeps the training checkpoint beside them).
//! A reload puts them back; a failure to read or write is shown, never swallowed.

use super::state::{AppState, Run};
use crate::engine::train::EvalReport;
use crate::engine::spec::Spec;
use crate::i18n::Message;
use crate::protocol::Progress;
use leptos::prelude::*;
use serde::{Deserialize, Serialize};
use std::cell::{Cell, RefCell};

/// IndexedDB key of the page state.
const KEY: &str = "page";
/// Milliseconds between saves of the running curves (the worker checkpoints as often).
const SAVE_EVERY_MS: f64 = 5_000.0;

/// Everything the page keeps across reloads.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Saved {
    /// The spec being edited.
    pub spec: Option<Spec>,
    /// Earlier runs, oldest first.
    #[serde(default)]
    pub runs: Vec<Run>,
    /// Curves of the run whose checkpoint the worker keeps.
    #[serde(default)]
    pub current: Option<CurrentRun>,
    /// The user's own labelled drawings.
    #[serde(default)]
    pub my_digits: Vec<(Vec<u8>, u8)>,
}

/// The figures of the run in progress.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CurrentRun {
    /// The spec it trains.
    pub spec: Spec,
    /// (optimizer step, loss, accuracy) per progress report.
    pub curve: Vec<(u64, f64, f64)>,
    /// Test results per epoch.
    pub evals: Vec<(usize, EvalReport)>,
    /// Validation results per epoch.
    pub validations: Vec<(usize, EvalReport)>,
    /// Wall time of each finished epoch (s), shown beside the test figures.
    #[serde(default)]
    pub epoch_times: Vec<(usize, f64)>,
}

thread_local! {
    /// Curves read at page load, waiting for the worker to restore their checkpoint.
    static PENDING: RefCell<Option<CurrentRun>> = const { RefCell::new(None) };
    /// A save is being written / another was asked for meanwhile (saves never overlap, so an
    /// older one cannot land after a newer one).
    static SAVING: Cell<bool> = const { Cell::new(false) };
    static DIRTY: Cell<bool> = const { Cell::new(false) };
    static LAST_SAVE_MS: Cell<f64> = const { Cell::new(0.0) };
}

/// Reads the saved state (`Ok(None)` when there is none yet).
pub async fn load() -> Result<Option<Saved>, Message> {
    let Some(bytes) = crate::web::store::get(KEY).await? else { return Ok(None) };
    serde_json::from_slice(&bytes).map(Some).map_err(|e| crate::msg!("msg.saved_state_unreadable", e.to_string()))
}

/// Applies what was read at load: the run history now, the running curves once the worker
/// restores their checkpoint ([`resume_curves`]).
pub fn adopt(state: AppState, saved: Saved) {
    state.runs.set(saved.runs);
    state.my_digits.set(saved.my_digits);
    PENDING.with(|p| *p.borrow_mut() = saved.current);
}

/// Puts back the curves of a run the worker just restored, up to the restored step.
pub fn resume_curves(state: AppState, restored: &Progress) {
    let Some(current) = PENDING.with(|p| p.borrow_mut().take()) else { return };
    if current.spec != state.spec.get_untracked() {
        return;
    }
    let step = restored.global_step;
    let per_epoch = restored.steps_per_epoch as u64;
    /// The per-epoch entries of epochs that ended by `step`.
    fn upto<T>(set: Vec<(usize, T)>, per_epoch: u64, step: u64) -> Vec<(usize, T)> {
        set.into_iter().filter(|(e, _)| *e as u64 * per_epoch <= step).collect()
    }
    state.curve.set(current.curve.into_iter().filter(|c| c.0 <= step).collect());
    state.evals.set(upto(current.evals, per_epoch, step));
    state.validations.set(upto(current.validations, per_epoch, step));
    state.epoch_times.set(upto(current.epoch_times, per_epoch, step));
    state.run_spec.set(Some(current.spec));
    state.curve_archived.set(false);
}

fn snapshot(state: AppState) -> Saved {
    let curve = state.curve.get_untracked();
    let current = if curve.is_empty() {
        // Curves still waiting for their checkpoint are kept as they were.
        PENDING.with(|p| p.borrow().clone())
    } else {
        (!state.curve_archived.get_untracked()).then(|| CurrentRun {
            spec: state.run_spec.get_untracked().unwrap_or_else(|| state.spec.get_untracked()),
            curve,
            evals: state.evals.get_untracked(),
            validations: state.validations.get_untracked(),
            epoch_times: state.epoch_times.get_untracked(),
        })
    };
    Saved { spec: Some(state.spec.get_untracked()), runs: state.runs.get_untracked(), current, my_digits: state.my_digits.get_untracked() }
}

/// Writes the page state now (after the save in flight, if any); failures are shown.
pub fn save(state: AppState) {
    if SAVING.with(|s| s.replace(true)) {
        DIRTY.with(|d| d.set(true));
        return;
    }
    LAST_SAVE_MS.with(|t| t.set(js_sys::Date::now()));
    let bytes = serde_json::to_vec(&snapshot(state)).unwrap_or_default();
    wasm_bindgen_futures::spawn_local(async move {
        let result = crate::web::store::put(KEY, &bytes).await;
        state.storage_error.set(result.err().map(|e| crate::msg!("msg.storage_unsaved", e)));
        SAVING.with(|s| s.set(false));
        if DIRTY.with(|d| d.replace(false)) {
            save(state);
        }
    });
}

/// Saves when the last save is older than a few seconds (for the stream of training progress).
pub fn save_soon(state: AppState) {
    if js_sys::Date::now() - LAST_SAVE_MS.with(Cell::get) > SAVE_EVERY_MS {
        save(state);
    }
}
