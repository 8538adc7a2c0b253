//! Training progress reaches the screen at most every [`SHOW_EVERY_MS`]. Each showing is a
//! frame of the page (style, layout, paint, compositing of a long page with ~140 canvases, on
//! the main thread and the compositor), CPU the two pool threads lose on a 2-core machine: at
//! one frame per Progress event the page trained at ~70 % of the benchmark's rate. Events are
//! queued and shown together — counters and the curves in one frame — and any other event
//! (pause, the end of an epoch or of the run) shows the queue first, so nothing waits or is lost.

use super::state::AppState;
use crate::protocol::Progress;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;

/// Shortest time between two showings of training progress (ms): twice a second.
pub const SHOW_EVERY_MS: f64 = 500.0;

thread_local! {
    /// Progress events not shown yet, oldest first.
    static QUEUED: RefCell<Vec<Progress>> = const { RefCell::new(Vec::new()) };
    /// When progress was last shown (ms).
    static SHOWN_AT: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
    /// A timer will show the queue.
    static SCHEDULED: Cell<bool> = const { Cell::new(false) };
}

/// Queues `progress`: shown at once when the last showing is old enough, else by a timer.
pub fn queue(state: AppState, progress: Progress) {
    QUEUED.with(|q| q.borrow_mut().push(progress));
    let wait = SHOWN_AT.with(Cell::get) + SHOW_EVERY_MS - crate::web::js::now_ms();
    if wait <= 0.0 {
        show(state);
    } else if !SCHEDULED.with(|s| s.replace(true)) {
        let later = Closure::once_into_js(move || {
            SCHEDULED.with(|s| s.set(false));
            show(state);
        });
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(later.unchecked_ref(), wait.ceil() as i32);
        }
    }
}

/// Shows every queued event now: its point on the curves, and the latest as the progress.
pub fn show(state: AppState) {
    let queued = QUEUED.with(|q| std::mem::take(&mut *q.borrow_mut()));
    let Some(latest) = queued.last().cloned() else { return };
    SHOWN_AT.with(|s| s.set(crate::web::js::now_ms()));
    let points: Vec<(u64, f64, f64)> =
        queued.iter().filter(|p| p.report.steps > 0).map(|p| (p.global_step, p.report.loss, p.report.accuracy)).collect();
    if !points.is_empty() {
        if state.curve.with_untracked(Vec::is_empty) {
            state.run_spec.set(Some(state.spec.get_untracked()));
            state.curve_archived.set(false);
        }
        state.curve.update(|c| c.extend(points));
        super::persist::save_soon(state);
    }
    state.progress.set(Some(latest));
}
