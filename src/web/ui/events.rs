//! Engine events applied to the UI state; the requests the UI sends in answer are returned.

use super::state::{AppState, RunState};
use crate::protocol::{Event, Request};
use leptos::prelude::*;

/// How often the diagram's thumbnails and the layer views are refreshed while training (ms).
/// Each refresh repaints every feature map on the main thread (~40 ms for the default model on
/// this project's 2-core machine), CPU the two pool threads lose: every 2 s keeps that near 2 %
/// of the run while the pictures still visibly follow the weights.
const LIVE_EVERY_MS: f64 = 2000.0;

/// Applies one engine event; returns requests the UI should send in response.
pub fn apply(state: AppState, event: Event, data_url: &str) -> Vec<Request> {
    // What comes after training progress (a pause, an epoch's test, the end) shows it first.
    if !matches!(event, Event::Progress(_) | Event::Pong | Event::Prediction(_)) {
        super::pace::show(state);
    }
    match event {
        Event::Ready(mode) => {
            state.mode.set(Some(mode));
            // A benchmark-only page (?bench=…) leaves the data alone so nothing competes.
            if !state.bench_queue.get_untracked().is_empty() {
                return state.next_bench().into_iter().collect();
            }
            let spec = state.spec.get_untracked();
            // Restore first: it tells the worker the coming Build is the page load's. A
            // link with weights brings its own, so no checkpoint competes with them.
            let mut requests = vec![state.load_data_request(data_url)];
            if state.link_weights.with_untracked(Option::is_none) {
                requests.insert(0, Request::Restore);
            }
            // An invalid spec (e.g. from a link) is shown for fixing, not built.
            if spec.infer().is_ok() {
                requests.push(Request::Build { spec });
            }
            return requests;
        }
        Event::BenchResult(report) => {
            state.bench_results.update(|r| r.push(report));
            state.bench_queue.update(|q| {
                q.remove(0);
            });
            state.bench_running.set(false);
            return state.next_bench().into_iter().collect();
        }
        Event::DataProgress { loaded, total } => state.data_progress.set((loaded, total)),
        Event::DataMissing { dataset } => {
            state.data_ready.set(None);
            state.data_progress.set((0, 0));
            state.data_missing.set(Some(dataset));
        }
        Event::DataLoaded { dataset, train, test, images } => {
            state.data_missing.set(None);
            // The user's files held another dataset than the one chosen (a CIFAR-100 archive
            // while CIFAR-10 was chosen), or pictures of other classes or size: the spec follows.
            let spec = state.spec.get_untracked();
            let other_dataset = dataset != spec.dataset;
            if other_dataset || (images.is_some() && images != spec.images) {
                let mut spec = spec;
                spec.switch_dataset(dataset, images);
                super::edit::apply_spec(state, spec);
                // Another dataset: the spec asked the engine for its data, which answers at once.
                // The same dataset with other pictures: the model is rebuilt on the data here.
                if other_dataset {
                    return Vec::new();
                }
            }
            state.data_ready.set(Some((train, test)));
            // A queued variant on another dataset was built before its data arrived.
            let train = state.model.with_untracked(Option::is_some).then(|| super::compare::start_if_queued(state)).flatten();
            return [Some(Request::AugmentPreview { count: super::augment::PREVIEW_COUNT }), train].into_iter().flatten().collect();
        }
        Event::AugmentPreview { originals, augmented, labels } => {
            // The first training image becomes the diagram's probe, once per input shape: the thumbnails should
            // not jump to another digit each time the preview moves on.
            let first_probe = !originals.is_empty() && state.probe.with_untracked(|p| p.as_ref().is_none_or(|p| p.len() != originals[0].len()));
            if first_probe {
                state.probe.set(Some(originals[0].iter().map(|&b| f32::from(b) / 255.0).collect()));
            }
            state.augment_preview.set(Some((originals, augmented, labels)));
            state.augment_version.update(|v| *v += 1);
            if first_probe && state.model.with_untracked(Option::is_some) && state.inspection.with_untracked(Option::is_none) {
                return state.inspect_request().into_iter().collect();
            }
        }
        Event::DataFailed { message } => {
            state.data_error.set(Some(message.clone()));
            state.error.set(Some(message));
        }
        Event::Analysis { confusion, wrong } => state.analysis.set(Some((confusion, wrong))),
        Event::Ensemble { ids, accuracy, members, missing } => {
            state.ensemble_running.set(false);
            state.ensemble.set(Some((ids, accuracy, members, missing)));
        }
        Event::Gallery { truth, predicted, examples } => state.gallery.set(Some((truth, predicted, examples))),
        Event::Built { layers, params } => {
            state.model.set(Some((layers, params)));
            state.weights_link.set(None);
            // A new model answers the model's errors, not a dataset that failed to load (its
            // download may fail before the model is built: it starts while the pool starts).
            state.error.set(state.data_error.get_untracked());
            let repredict = state.weights_changed();
            if state.data_ready.get_untracked().is_some() {
                // The opening link's weights go into the first model built with the data.
                if let Some(text) = state.link_weights.try_update(Option::take).flatten() {
                    return vec![Request::ImportWeightsLink { text }];
                }
                // A queued variant starts training as soon as it is built.
                if let Some(train) = super::compare::start_if_queued(state) {
                    return [Some(train), repredict].into_iter().flatten().collect();
                }
                // New weights: the drawing's prediction and layer views follow.
                return [Some(Request::AugmentPreview { count: super::augment::PREVIEW_COUNT }), repredict].into_iter().flatten().collect();
            }
        }
        Event::WeightsLink { text } => {
            let link = text.map(|w| format!("{}&w={w}", super::edit::share_url(&state.spec.get_untracked())));
            if let (Ok(url), Some(window)) = (&link, web_sys::window()) {
                // May be refused outside a click; the link is shown either way.
                let _ = window.navigator().clipboard().write_text(url);
            }
            state.weights_link.set(Some(link));
        }
        Event::FineTuned { steps, accuracy } => {
            state.fine_tuning.set(false);
            state.fine_tuned.set(Some(crate::msg!("msg.fine_tuned", steps, format!("{:.0}", accuracy * 100.0))));
            return state.weights_changed().into_iter().collect();
        }
        Event::WeightsFile { bytes } => super::transfer::download(&state, "cnn-playground-weights.safetensors", "application/octet-stream", &bytes),
        Event::WeightsImported { name, tensors } => {
            state.error.set(None);
            state.notice.set(Some(crate::msg!("msg.loaded", tensors, name)));
            return state.weights_changed().into_iter().collect();
        }
        Event::Restored(p) => {
            state.run.set(RunState::Paused);
            state.restored.set(Some(crate::msg!("msg.restored", (p.epoch + 1), p.epochs, p.step_in_epoch, p.steps_per_epoch)));
            super::persist::resume_curves(state, &p);
            state.progress.set(Some(p));
            return state.weights_changed().into_iter().collect();
        }
        Event::Progress(p) => {
            super::pace::queue(state, p);
            // The diagram's thumbnails follow the weights a few times a second.
            let now = crate::web::js::now_ms();
            if now - state.live_at.get_untracked() >= LIVE_EVERY_MS {
                state.live_at.set(now);
                return state.inspect_request().into_iter().collect();
            }
        }
        Event::Evaluated { epoch, report, validation, seconds } => {
            state.evals.update(|e| e.push((epoch, report)));
            if let Some(seconds) = seconds {
                state.epoch_times.update(|t| t.push((epoch, seconds)));
            }
            if let Some(v) = validation {
                state.validations.update(|e| e.push((epoch, v)));
            }
            super::persist::save(state);
        }
        Event::Paused => {
            state.run.set(RunState::Paused);
            super::persist::save(state);
            // The next images to train on have moved on.
            if state.data_ready.get_untracked().is_some() {
                return [Some(Request::AugmentPreview { count: super::augment::PREVIEW_COUNT }), state.inspect_request()].into_iter().flatten().collect();
            }
        }
        Event::Finished => {
            state.run.set(RunState::Finished);
            // "Continued from the checkpoint…" described the run's start, not its end.
            state.restored.set(None);
            super::runs::archive(state);
            // The comparison queue goes on with its next variant.
            if super::compare::start_next(state) {
                return Vec::new();
            }
            return state.inspect_request().into_iter().collect();
        }
        Event::Pong | Event::ThreadDied { .. } => {}
        Event::Prediction(inspection) => {
            let drawn = state.last_input.with_untracked(Option::is_some);
            let of_probe = state.probe.with_untracked(|p| p.as_ref() == Some(&inspection.input))
                && state.last_input.with_untracked(|l| l.as_ref() != Some(&inspection.input));
            if of_probe {
                // The probe's answer is for the diagram only; a drawing made since wins.
                if !drawn {
                    state.inspection.set(Some(inspection));
                }
            } else {
                state.prediction.set(Some(inspection.probs.clone()));
                state.inspection.set(Some(inspection));
            }
        }
        Event::PredictionFailed { message } => {
            // Nothing to show for this drawing; the next stroke asks again.
            state.prediction.set(None);
            state.inspection.set(None);
            state.last_input.set(None);
            state.error.set(Some(message));
        }
        Event::Error { message } => {
            state.fine_tuning.set(false);
            state.ensemble_running.set(false);
            if state.run.get_untracked() == RunState::Pausing {
                state.run.set(RunState::Paused);
            }
            if state.bench_running.get_untracked() {
                state.bench_running.set(false);
                state.bench_queue.set(Vec::new());
            }
            state.error.set(Some(message));
        }
    }
    Vec::new()
}
