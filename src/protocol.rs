//! The one typed message protocol between the UI (main thread) and the engine worker.
//!
//! Messages travel as `{ "cnn": <Request|Event> }` objects so the worker can ignore the messages
//! that wasm-bindgen-rayon's helpers exchange on the same scope.

use crate::engine::bench::{BenchConfig, BenchReport};
use crate::engine::spec::{DatasetKind, LayerInfo, Spec};
use crate::engine::inspect::Inspection;
use crate::engine::metrics::{Confusion, Example};

/// Images in a gallery (one confusion cell, or the most confidently wrong).
pub const GALLERY_SIZE: usize = 24;
use crate::engine::train::{EvalReport, StepReport};
use serde::{Deserialize, Serialize};

/// A message wrapper that marks a message as ours.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Envelope<T> {
    /// The payload.
    pub cnn: T,
}

/// What the UI asks of the engine.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Request {
    /// Fetch and decode a dataset from `base_url` (a folder holding the four IDX files).
    LoadData {
        /// Which dataset.
        dataset: DatasetKind,
        /// Absolute URL of the folder, ending in `/`.
        base_url: String,
    },
    /// Build (or rebuild) the model and optimizer from a spec.
    Build {
        /// The model and training spec.
        spec: Spec,
    },
    /// Continue from the checkpoint saved in this browser, if it belongs to the model being
    /// built (sent once per page load, before `Build`).
    Restore,
    /// Start or resume training.
    Train,
    /// Train exactly one optimizer step, then pause.
    Step,
    /// Pause training after the current chunk of steps.
    Pause,
    /// Use this learning rate from the next step on (also while training runs).
    SetLr {
        /// The new learning rate.
        lr: f32,
    },
    /// Evaluate on the test set.
    Evaluate,
    /// Benchmark a preset network on synthetic data (training must be paused).
    Bench {
        /// A name from `engine::spec::PRESETS`.
        preset: String,
        /// Repetitions and durations.
        config: BenchConfig,
    },
    /// The next training images before and after augmentation (training must be paused).
    AugmentPreview {
        /// How many images.
        count: usize,
    },
    /// Classify one 28×28 image (values in [0, 1]).
    Predict {
        /// 784 pixel intensities, row-major.
        pixels: Vec<f32>,
    },
    /// Confusion matrix of the test set and its most confidently wrong images.
    Analyse,
    /// Test images of one confusion-matrix cell from the last analysis, most confident first.
    Gallery {
        /// True class.
        truth: u8,
        /// Predicted class.
        predicted: u8,
    },
    /// Fine-tune the current model on the user's own labelled drawings (training paused).
    FineTune {
        /// 784 bytes per image, row-major, 0–255.
        images: Vec<u8>,
        /// One class per image.
        labels: Vec<u8>,
        /// Optimizer steps.
        steps: usize,
    },
    /// The current weights packed for a link (`engine::weights_link`).
    WeightsLink,
    /// Replace the model's weights with those of a link (all or nothing).
    ImportWeightsLink {
        /// The `w=` value.
        text: String,
    },
    /// The current weights as a safetensors file (PyTorch `state_dict` layout).
    ExportWeights,
    /// Are you alive? Answered with [`Event::Pong`] from the worker's event loop, which heavy
    /// jobs never block; the page restarts a worker that stops answering.
    Ping,
    /// Test only: make the worker panic (in wasm a panic aborts the instance), or one of its
    /// pool threads (which kills that thread alone), so the tests can check that the page
    /// restarts it.
    Panic {
        /// On a pool thread rather than the worker's own.
        in_pool: bool,
    },
    /// Replace the model's weights with a safetensors file's (training must be paused); a file
    /// that does not fit leaves the model untouched.
    ImportWeights {
        /// The file's bytes.
        bytes: Vec<u8>,
        /// The file name, for messages.
        name: String,
    },
}

/// How the engine runs in this page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineMode {
    /// Threads in the rayon pool (1 in the fallback build).
    pub threads: usize,
    /// Built with wasm SIMD128.
    pub simd: bool,
    /// Built with relaxed SIMD: kernels multiply-add fused (FMA).
    #[serde(default)]
    pub fused: bool,
    /// The threaded build (cross-origin isolated page).
    pub threaded: bool,
}

/// Live training figures, sent a few times per second.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// Epoch (0-based) the reported steps belong to.
    pub epoch: usize,
    /// Total epochs in the spec.
    pub epochs: usize,
    /// Steps of that epoch completed so far.
    pub step_in_epoch: usize,
    /// Steps per epoch.
    pub steps_per_epoch: usize,
    /// The last chunk of steps.
    pub report: StepReport,
    /// Training throughput over the last chunk.
    pub images_per_sec: f64,
    /// Learning rate the next step will use.
    pub lr: f32,
    /// Optimizer steps taken since the start of training.
    pub global_step: u64,
}

/// What the engine tells the UI.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Event {
    /// The worker (and its thread pool) is up; requests may be sent from now on.
    Ready(EngineMode),
    /// Download progress of the dataset files (bytes).
    DataProgress {
        /// Bytes received so far, all files.
        loaded: u64,
        /// Total bytes expected, all files (0 while unknown).
        total: u64,
    },
    /// The dataset is decoded and ready.
    DataLoaded {
        /// Which dataset.
        dataset: DatasetKind,
        /// Training images.
        train: usize,
        /// Test images.
        test: usize,
    },
    /// The dataset could not be downloaded or decoded; the message names the file.
    DataFailed {
        /// Human-readable description.
        message: String,
    },
    /// The model was built.
    Built {
        /// Shape inference per layer.
        layers: Vec<LayerInfo>,
        /// Trainable parameters.
        params: usize,
    },
    /// Training progress.
    Progress(Progress),
    /// Training continues from a saved checkpoint (paused, ready to resume).
    Restored(Progress),
    /// Images for the augmentation preview: 784 bytes each, row-major.
    AugmentPreview {
        /// As stored.
        originals: Vec<Vec<u8>>,
        /// As the next training steps will see them.
        augmented: Vec<Vec<u8>>,
        /// Their labels.
        labels: Vec<u8>,
    },
    /// Test-set evaluation after an epoch (or on request).
    Evaluated {
        /// The epoch just finished (number of completed epochs).
        epoch: usize,
        /// Loss and accuracy on the test set.
        report: EvalReport,
        /// Loss and accuracy on the validation split, when the spec holds one out.
        validation: Option<EvalReport>,
        /// Wall time of the epoch, training and its evaluation, pauses left out; only for an
        /// epoch trained whole in this page (not one resumed from a checkpoint mid-way).
        #[serde(default)]
        seconds: Option<f64>,
    },
    /// Training paused.
    Paused,
    /// Training ran all its epochs.
    Finished,
    /// What the model makes of a predicted image: probabilities, every layer's output, the
    /// first filters and the saliency map.
    Prediction(Inspection),
    /// Answer to [`Request::Analyse`].
    Analysis {
        /// Counts of (true, predicted) classes over the test set.
        confusion: Confusion,
        /// The most confidently wrong test images.
        wrong: Vec<Example>,
    },
    /// Answer to [`Request::Gallery`].
    Gallery {
        /// True class.
        truth: u8,
        /// Predicted class.
        predicted: u8,
        /// The cell's images (at most [`GALLERY_SIZE`]).
        examples: Vec<Example>,
    },
    /// Answer to [`Request::FineTune`].
    FineTuned {
        /// Steps run.
        steps: usize,
        /// Accuracy on the user's images afterwards.
        accuracy: f64,
    },
    /// Answer to [`Request::WeightsLink`].
    WeightsLink {
        /// The `w=` value, or why the model is too large for a link.
        text: Result<String, String>,
    },
    /// Answer to [`Request::ExportWeights`].
    WeightsFile {
        /// safetensors bytes, spec JSON in the metadata.
        bytes: Vec<u8>,
    },
    /// [`Request::ImportWeights`] succeeded.
    WeightsImported {
        /// The file name.
        name: String,
        /// Tensors read.
        tensors: usize,
    },
    /// Result of a [`Request::Bench`].
    BenchResult(BenchReport),
    /// Answer to [`Request::Ping`].
    Pong,
    /// Answer to [`Request::Ping`] once a pool thread has panicked: in wasm that kills the thread
    /// alone, and the next parallel job would wait for it forever, so the page restarts the engine.
    ThreadDied {
        /// The panic message.
        message: String,
    },
    /// The drawing could not be predicted (the model's output is not finite); the page stops
    /// waiting for a prediction and shows why.
    PredictionFailed {
        /// Human-readable description.
        message: String,
    },
    /// Something went wrong; the message says what and names the culprit.
    Error {
        /// Human-readable description.
        message: String,
    },
}

impl Event {
    /// The variant's name, for messages about the event itself.
    pub fn kind(&self) -> &'static str {
        match self {
            Event::Ready(_) => "Ready",
            Event::DataProgress { .. } => "DataProgress",
            Event::DataLoaded { .. } => "DataLoaded",
            Event::DataFailed { .. } => "DataFailed",
            Event::Built { .. } => "Built",
            Event::Progress(_) => "Progress",
            Event::Restored(_) => "Restored",
            Event::AugmentPreview { .. } => "AugmentPreview",
            Event::Evaluated { .. } => "Evaluated",
            Event::Paused => "Paused",
            Event::Finished => "Finished",
            Event::Prediction(_) => "Prediction",
            Event::PredictionFailed { .. } => "PredictionFailed",
            Event::Analysis { .. } => "Analysis",
            Event::Gallery { .. } => "Gallery",
            Event::FineTuned { .. } => "FineTuned",
            Event::WeightsLink { .. } => "WeightsLink",
            Event::WeightsFile { .. } => "WeightsFile",
            Event::WeightsImported { .. } => "WeightsImported",
            Event::BenchResult(_) => "BenchResult",
            Event::Pong => "Pong",
            Event::ThreadDied { .. } => "ThreadDied",
            Event::Error { .. } => "Error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_through_json() {
        let req = Envelope { cnn: Request::Build { spec: Spec::default() } };
        let json = serde_json::to_string(&req).unwrap();
        assert!(json.starts_with("{\"cnn\":{\"Build\""), "{json}");
        let back: Envelope<Request> = serde_json::from_str(&json).unwrap();
        assert_eq!(back.cnn, req.cnn);
        let ev = Event::DataProgress { loaded: 5, total: 10 };
        let back: Event = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
    }
}
