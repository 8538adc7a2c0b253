//! Engine events applied to the UI state; the requests the UI sends in answer are returned.

use super::state::{AppState, RunState};
use crate::protocol::{Event, Request};
use leptos::prelude::*;

/// Applies one engine event; returns requests the UI should send in response.
pub fn apply(state: AppState, event: Event, data_url: &str) -> Vec<Request> {
let this = &state;
    match event {
        Event::Ready(mode) => {
            this.mode.set(Some(mode));
            // A benchmark-only page (?bench=…) leaves the data alone so nothing competes.
            if !this.bench_queue.get_untracked().is_empty() {
                return this.next_bench().into_iter().collect();
            }
            let spec = this.spec.get_untracked();
            // Restore first: it tells the worker the coming Build is the page load's. A
            // link with weights brings its own, so no checkpoint competes with them.
            let mut requests = vec![this.load_data_request(data_url)];
            if this.link_weights.with_untracked(Option::is_none) {
                requests.insert(0, Request::Restore);
            }
            // An invalid spec (e.g. from a link) is shown for fixing, not built.
            if spec.infer().is_ok() {
                requests.push(Request::Build { spec });
            }
            return requests;
        }
        Event::BenchResult(report) => {
            this.bench_results.update(|r| r.push(report));
            this.bench_queue.update(|q| {
                q.remove(0);
            });
            this.bench_running.set(false);
            return this.next_bench().into_iter().collect();
        }
        Event::DataProgress { loaded, total } => this.data_progress.set((loaded, total)),
        Event::DataLoaded { train, test, .. } => {
            this.data_ready.set(Some((train, test)));
            return vec![Request::AugmentPreview { count: super::augment::PREVIEW_COUNT }];
        }
        Event::AugmentPreview { originals, augmented, labels } => {
            this.augment_preview.set(Some((originals, augmented, labels)));
            this.augment_version.update(|v| *v += 1);
        }
        Event::DataFailed { message } => {
            this.data_error.set(Some(message.clone()));
            this.error.set(Some(message));
        }
        Event::Analysis { confusion, wrong } => this.analysis.set(Some((confusion, wrong))),
        Event::Gallery { truth, predicted, examples } => this.gallery.set(Some((truth, predicted, examples))),
        Event::Built { layers, params } => {
            this.model.set(Some((layers, params)));
            this.weights_link.set(None);
            this.error.set(None);
            let repredict = this.weights_changed();
            if this.data_ready.get_untracked().is_some() {
                // The opening link's weights go into the first model built with the data.
                if let Some(text) = this.link_weights.try_update(Option::take).flatten() {
                    return vec![Request::ImportWeightsLink { text }];
                }
                // New weights: the drawing's prediction and layer views follow.
                return [Some(Request::AugmentPreview { count: super::augment::PREVIEW_COUNT }), repredict].into_iter().flatten().collect();
            }
        }
        Event::WeightsLink { text } => {
            let link = text.map(|w| format!("{}&w={w}", super::edit::share_url(&this.spec.get_untracked())));
            if let (Ok(url), Some(window)) = (&link, web_sys::window()) {
                // May be refused outside a click; the link is shown either way.
                let _ = window.navigator().clipboard().write_text(url);
            }
            this.weights_link.set(Some(link));
        }
        Event::FineTuned { steps, accuracy } => {
            this.fine_tuning.set(false);
            this.fine_tuned.set(Some(super::lang::msg("msg.fine_tuned", &[&steps, &format!("{:.0}", accuracy * 100.0)])));
            return this.weights_changed().into_iter().collect();
        }
        Event::WeightsFile { bytes } => super::transfer::download(&state, "cnn-playground-weights.safetensors", "application/octet-stream", &bytes),
        Event::WeightsImported { name, tensors } => {
            this.error.set(None);
            this.notice.set(Some(super::lang::msg("msg.loaded", &[&tensors, &name])));
            return this.weights_changed().into_iter().collect();
        }
        Event::Restored(p) => {
            this.run.set(RunState::Paused);
            this.restored.set(Some(super::lang::msg("msg.restored", &[&(p.epoch + 1), &p.epochs, &p.step_in_epoch, &p.steps_per_epoch])));
            super::persist::resume_curves(state, &p);
            this.progress.set(Some(p));
            return this.weights_changed().into_iter().collect();
        }
        Event::Progress(p) => {
            if p.report.steps > 0 {
                if this.curve.with_untracked(Vec::is_empty) {
                    this.run_spec.set(Some(this.spec.get_untracked()));
                    this.curve_archived.set(false);
                }
                this.curve.update(|c| c.push((p.global_step, p.report.loss, p.report.accuracy)));
                super::persist::save_soon(state);
            }
            this.progress.set(Some(p));
        }
        Event::Evaluated { epoch, report, validation, seconds } => {
            this.evals.update(|e| e.push((epoch, report)));
            if let Some(seconds) = seconds {
                this.epoch_times.update(|t| t.push((epoch, seconds)));
            }
            if let Some(v) = validation {
                this.validations.update(|e| e.push((epoch, v)));
            }
            super::persist::save(state);
        }
        Event::Paused => {
            this.run.set(RunState::Paused);
            super::persist::save(state);
            // The next images to train on have moved on.
            if this.data_ready.get_untracked().is_some() {
                return vec![Request::AugmentPreview { count: super::augment::PREVIEW_COUNT }];
            }
        }
        Event::Finished => {
            this.run.set(RunState::Finished);
            // "Continued from the checkpoint…" described the run's start, not its end.
            this.restored.set(None);
            super::runs::archive(state);
        }
        Event::Pong | Event::ThreadDied { .. } => {}
        Event::Prediction(inspection) => {
            this.prediction.set(Some(inspection.probs.clone()));
            this.inspection.set(Some(inspection));
        }
        Event::PredictionFailed { message } => {
            // Nothing to show for this drawing; the next stroke asks again.
            this.prediction.set(None);
            this.inspection.set(None);
            this.last_input.set(None);
            this.error.set(Some(message));
        }
        Event::Error { message } => {
            this.fine_tuning.set(false);
            if this.run.get_untracked() == RunState::Pausing {
                this.run.set(RunState::Paused);
            }
            if this.bench_running.get_untracked() {
                this.bench_running.set(false);
                this.bench_queue.set(Vec::new());
            }
            this.error.set(Some(message));
        }
    }
    Vec::new()
}
