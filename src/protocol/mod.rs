//! The one typed message protocol between the UI (main thread) and the engine worker.
//!
//! Messages travel as `{ cnn: "<Request|Event as JSON>", bulk: [typed arrays] }` objects: the
//! `cnn` key lets the worker ignore the messages wasm-bindgen-rayon's helpers exchange on the
//! same scope, and images, feature maps and weights ride beside the JSON as transferred typed
//! arrays ([`bulk`]; the browser glue is `web/wire.rs`).

pub mod bulk;

use crate::engine::bench::{BenchConfig, BenchReport};
use crate::engine::inspect::Inspection;
use crate::engine::metrics::{Confusion, Example};
use crate::engine::spec::{DatasetKind, LayerInfo, Spec};
use crate::engine::train::{EvalReport, StepReport};
use crate::i18n::{Arg, Message};
use serde::{Deserialize, Serialize};

/// Images in a gallery (one confusion cell, or the most confidently wrong).
pub const GALLERY_SIZE: usize = 24;

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
    /// Read the user's dataset files (CIFAR archives or batch files), which travel beside the
    /// message as `File`s (`files`); on success they are kept in IndexedDB for the next visit.
    OpenFiles {
        /// The files' names, in the order they travel.
        names: Vec<String>,
    },
    /// Read the user's pictures (files of class folders, or zip archives of them), which travel
    /// beside the message as `File`s; on success they are kept in IndexedDB for the next visit.
    OpenImages {
        /// Each file's path (`set/cat/1.jpg`; a zip archive's name), in the order they travel.
        paths: Vec<String>,
        /// Pictures are resized to `side × side`.
        side: usize,
        /// 3 (colour) or 1 (grey).
        channels: usize,
        /// Share of each class held out for testing.
        test_split: f32,
    },
    /// Forget the user's files kept for a dataset (and the data, if it is the one loaded).
    ForgetData {
        /// Which dataset.
        dataset: DatasetKind,
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
        #[serde(with = "crate::protocol::bulk")]
        pixels: Vec<f32>,
    },
    /// Confusion matrix of the test set and its most confidently wrong images.
    Analyse,
    /// Keep the current weights as run `id` of the run history, for ensembles (the last few
    /// runs are kept, in memory only).
    KeepRun {
        /// The run's number in the UI's history.
        id: u32,
    },
    /// Test accuracy of each kept run in `ids` and of their ensemble (averaged probabilities).
    Ensemble {
        /// Run numbers.
        ids: Vec<u32>,
    },
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
        #[serde(with = "crate::protocol::bulk")]
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
        #[serde(with = "crate::protocol::bulk")]
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
        /// For the user's pictures: their shape and classes.
        #[serde(default)]
        images: Option<crate::engine::spec::ImageSet>,
    },
    /// The dataset is one the user brings (CIFAR) and no files of it are kept: the page asks
    /// for them.
    DataMissing {
        /// Which dataset.
        dataset: DatasetKind,
    },
    /// The dataset could not be downloaded or decoded; the message names the file.
    DataFailed {
        /// What failed, rendered in the page's language.
        message: Message,
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
        #[serde(with = "crate::protocol::bulk::many")]
        originals: Vec<Vec<u8>>,
        /// As the next training steps will see them.
        #[serde(with = "crate::protocol::bulk::many")]
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
    /// Answer to [`Request::Ensemble`].
    Ensemble {
        /// The runs averaged.
        ids: Vec<u32>,
        /// Test accuracy of their ensemble.
        accuracy: f64,
        /// Test accuracy of each, in the order of `ids`.
        members: Vec<f64>,
        /// Runs asked for that the engine no longer holds (trained before a reload).
        missing: Vec<u32>,
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
        text: Result<String, Message>,
    },
    /// Answer to [`Request::ExportWeights`].
    WeightsFile {
        /// safetensors bytes, spec JSON in the metadata.
        #[serde(with = "crate::protocol::bulk")]
        bytes: Vec<u8>,
    },
    /// [`Request::ImportWeights`] succeeded.
    WeightsImported {
        /// Where they came from: the file name, or "the link" in the page's language.
        name: Arg,
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
        /// Why, rendered in the page's language.
        message: Message,
    },
    /// Something went wrong; the message says what and names the culprit.
    Error {
        /// What went wrong, rendered in the page's language.
        message: Message,
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
            Event::DataMissing { .. } => "DataMissing",
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
            Event::Ensemble { .. } => "Ensemble",
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
    fn messages_round_trip_through_the_wire() {
        let req = Request::Build { spec: Spec::default() };
        let (json, chunks) = bulk::to_wire(&req).unwrap();
        assert!(json.starts_with("{\"Build\""), "{json}");
        assert!(chunks.is_empty());
        assert_eq!(bulk::from_wire::<Request>(&json, chunks).unwrap(), req);
        // The drawing travels as one Float32Array, not as 784 JSON numbers.
        let predict = Request::Predict { pixels: vec![0.25; 784] };
        let (json, chunks) = bulk::to_wire(&predict).unwrap();
        assert_eq!(json, r#"{"Predict":{"pixels":{"bulk":0}}}"#);
        assert_eq!(chunks, vec![bulk::Chunk::F32(vec![0.25; 784])]);
        assert_eq!(bulk::from_wire::<Request>(&json, chunks).unwrap(), predict);
        let ev = Event::DataProgress { loaded: 5, total: 10 };
        let back: Event = serde_json::from_str(&serde_json::to_string(&ev).unwrap()).unwrap();
        assert_eq!(back, ev);
    }

    #[test]
    fn a_prediction_carries_its_maps_as_bulk_arrays() {
        let spec = Spec::default();
        let network = crate::engine::network::Network::from_spec(&spec).unwrap();
        let mut image = vec![0.0; 784];
        image[400] = 1.0;
        let event = Event::Prediction(crate::engine::inspect::inspect(&network, &image));
        let (json, chunks) = bulk::to_wire(&event).unwrap();
        assert!(json.len() < 1_000, "{} bytes of JSON: {json}", json.len());
        assert!(chunks.len() >= 11, "input, probabilities, saliency, 8 layers' maps, filters: {}", chunks.len());
        let Event::Prediction(back) = bulk::from_wire::<Event>(&json, chunks).unwrap() else { panic!("a prediction") };
        let Event::Prediction(sent) = event else { unreachable!() };
        assert_eq!(back, sent, "every map arrives as it left");
        assert_eq!(back.layers.len(), sent.layers.len());
        assert_eq!(back.layers[0].values.len(), sent.layers[0].values.len());
    }
}
