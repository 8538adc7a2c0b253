//! The UI's reactive state: signals and the data they hold, nothing that acts (engine events
//! are applied in `events.rs`, user actions live in `edit.rs`, `persist.rs`, `runs.rs`…).

use crate::engine::bench::{BenchConfig, BenchReport};
use crate::engine::spec::{LayerInfo, Spec};
use crate::engine::train::EvalReport;
use crate::i18n::Message;
use crate::protocol::{EngineMode, Progress, Request};
use leptos::prelude::*;
use serde::{Deserialize, Serialize};

/// Where training stands, as the UI shows it (and, in lower case, as `data-run` names it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum RunState {
    /// Not started (or reset).
    Idle,
    /// Training jobs are running in the worker.
    Running,
    /// A pause was requested and has not been confirmed yet.
    Pausing,
    /// Paused; can resume.
    Paused,
    /// All epochs done.
    Finished,
}

/// A drag under way in the diagram: a new layer from the palette, or a block being moved.
#[derive(Clone, Debug, PartialEq)]
pub enum DragItem {
    /// A layer taken from the palette.
    New(crate::engine::spec::LayerSpec),
    /// The block at this index.
    Move(usize),
}

/// A drag of the diagram: what is carried, where the pointer is, and the gap it would land in
/// (gap `k` is before layer `k`; `layers.len()` is after the last).
#[derive(Clone, Debug, PartialEq)]
pub struct Drag {
    /// What is carried.
    pub item: DragItem,
    /// Pointer position in the viewport (CSS pixels).
    pub at: (f64, f64),
    /// The gap under the pointer, if any.
    pub gap: Option<usize>,
}

/// All reactive UI state (a bundle of `Copy` signal handles).
#[derive(Clone, Copy)]
pub struct AppState {
    /// The spec being edited and trained.
    pub spec: RwSignal<Spec>,
    /// Engine mode once the worker is ready.
    pub mode: RwSignal<Option<EngineMode>>,
    /// Dataset bytes loaded / total.
    pub data_progress: RwSignal<(u64, u64)>,
    /// Train / test image counts once decoded.
    pub data_ready: RwSignal<Option<(usize, usize)>>,
    /// Why the dataset could not be loaded, if it could not.
    pub data_error: RwSignal<Option<Message>>,
    /// The spec's dataset is one the user brings and the engine holds none of it: ask for files.
    pub data_missing: RwSignal<Option<crate::engine::spec::DatasetKind>>,
    /// Layer table of the built model and its parameter count.
    pub model: RwSignal<Option<(Vec<LayerInfo>, usize)>>,
    /// Latest training progress.
    pub progress: RwSignal<Option<Progress>>,
    /// Test-set results per finished epoch.
    pub evals: RwSignal<Vec<(usize, EvalReport)>>,
    /// Wall time of each epoch trained whole in this page: (epoch, seconds).
    pub epoch_times: RwSignal<Vec<(usize, f64)>>,
    /// Validation-split results per finished epoch (empty when the spec holds none out).
    pub validations: RwSignal<Vec<(usize, EvalReport)>>,
    /// Training state.
    pub run: RwSignal<RunState>,
    /// Latest class probabilities for the drawing.
    pub prediction: RwSignal<Option<Vec<f32>>>,
    /// Last test-set analysis: confusion matrix and most confidently wrong images.
    pub analysis: RwSignal<Option<(crate::engine::metrics::Confusion, Vec<crate::engine::metrics::Example>)>>,
    /// Images of the confusion cell clicked last: (true, predicted, images).
    pub gallery: RwSignal<Option<(u8, u8, Vec<crate::engine::metrics::Example>)>>,
    /// The last drawing as the model sees it (28×28), to predict again when the weights change.
    pub last_input: RwSignal<Option<Vec<f32>>>,
    /// Weights carried by the opening link, until the model they go into is built.
    pub link_weights: RwSignal<Option<String>>,
    /// The last "link with weights": the URL, or why the model cannot travel in one.
    pub weights_link: RwSignal<Option<Result<String, Message>>>,
    /// The user's own labelled drawings (28×28 bytes, class), for fine-tuning; persisted.
    pub my_digits: RwSignal<Vec<(Vec<u8>, u8)>>,
    /// A fine-tuning run is under way.
    pub fine_tuning: RwSignal<bool>,
    /// What the last fine-tuning achieved.
    pub fine_tuned: RwSignal<Option<Message>>,
    /// A passing confirmation (e.g. weights loaded).
    pub notice: RwSignal<Option<Message>>,
    /// What the model makes of the drawing, layer by layer.
    pub inspection: RwSignal<Option<crate::engine::inspect::Inspection>>,
    /// Latest error message from the engine or the page.
    pub error: RwSignal<Option<Message>>,
    /// Finished benchmark runs, in order.
    pub bench_results: RwSignal<Vec<BenchReport>>,
    /// Presets still to benchmark (the first one is running when `bench_running`).
    pub bench_queue: RwSignal<Vec<String>>,
    /// Settings for queued benchmarks.
    pub bench_config: RwSignal<BenchConfig>,
    /// A benchmark is running in the engine.
    pub bench_running: RwSignal<bool>,
    /// Undo and redo stacks of specs.
    pub history: RwSignal<(Vec<Spec>, Vec<Spec>)>,
    /// What the opening link had that could not be used, one line each.
    pub link_notices: RwSignal<Vec<Message>>,
    /// Training curve: (optimizer step, loss, accuracy) per progress report.
    pub curve: RwSignal<Vec<(u64, f64, f64)>>,
    /// Augmentation preview: originals, augmented, labels (784 bytes per image).
    pub augment_preview: RwSignal<Option<(Vec<Vec<u8>>, Vec<Vec<u8>>, Vec<u8>)>>,
    /// Counts preview updates (lets tests wait for a fresh one).
    pub augment_version: RwSignal<u64>,
    /// Earlier runs (persisted in IndexedDB).
    pub runs: RwSignal<Vec<Run>>,
    /// The spec the current curves were trained with.
    pub run_spec: RwSignal<Option<Spec>>,
    /// The current curves are already in the history.
    pub curve_archived: RwSignal<bool>,
    /// Set when training continued from a saved checkpoint.
    pub restored: RwSignal<Option<Message>>,
    /// Why the page state could not be saved or read, while that is so.
    pub storage_error: RwSignal<Option<Message>>,
    /// The engine stopped and was restarted: why, and how many restarts so far.
    pub engine_restarted: RwSignal<Option<(Message, u32)>>,
    /// The layer selected in the diagram and the list (new layers go after it).
    pub selected: RwSignal<Option<usize>>,
    /// Field values that did not parse, per layer index (shown on the layer until fixed).
    pub field_errors: RwSignal<Vec<(usize, Message)>>,
    /// A drag of a layer under way, if any.
    pub drag: RwSignal<Option<Drag>>,
    /// A test image the diagram's thumbnails show while nothing is drawn (28×28, 0…1).
    pub probe: RwSignal<Option<Vec<f32>>>,
    /// When the thumbnails were last asked to refresh during training (ms, `performance.now`).
    pub live_at: RwSignal<f64>,
    /// Variants queued to train one after the other (the comparison queue).
    pub queue: RwSignal<Vec<Spec>>,
    /// The next model built starts training at once (a queued variant).
    pub queue_start: RwSignal<bool>,
    /// The last ensemble evaluated: run numbers, its test accuracy, each member's, runs missing.
    pub ensemble: RwSignal<Option<(Vec<u32>, f64, Vec<f64>, Vec<u32>)>>,
    /// An ensemble evaluation is under way.
    pub ensemble_running: RwSignal<bool>,
}

impl AppState {
    /// Fresh state for `spec`.
    pub fn new(spec: Spec) -> Self {
        Self {
            spec: RwSignal::new(spec),
            mode: RwSignal::new(None),
            data_progress: RwSignal::new((0, 0)),
            data_ready: RwSignal::new(None),
            data_error: RwSignal::new(None),
            data_missing: RwSignal::new(None),
            model: RwSignal::new(None),
            progress: RwSignal::new(None),
            evals: RwSignal::new(Vec::new()),
            epoch_times: RwSignal::new(Vec::new()),
            validations: RwSignal::new(Vec::new()),
            run: RwSignal::new(RunState::Idle),
            prediction: RwSignal::new(None),
            inspection: RwSignal::new(None),
            last_input: RwSignal::new(None),
            analysis: RwSignal::new(None),
            gallery: RwSignal::new(None),
            notice: RwSignal::new(None),
            link_weights: RwSignal::new(None),
            my_digits: RwSignal::new(Vec::new()),
            fine_tuning: RwSignal::new(false),
            fine_tuned: RwSignal::new(None),
            weights_link: RwSignal::new(None),
            error: RwSignal::new(None),
            bench_results: RwSignal::new(Vec::new()),
            bench_queue: RwSignal::new(Vec::new()),
            bench_config: RwSignal::new(BenchConfig::default()),
            bench_running: RwSignal::new(false),
            history: RwSignal::new((Vec::new(), Vec::new())),
            link_notices: RwSignal::new(Vec::new()),
            curve: RwSignal::new(Vec::new()),
            augment_preview: RwSignal::new(None),
            augment_version: RwSignal::new(0),
            runs: RwSignal::new(Vec::new()),
            run_spec: RwSignal::new(None),
            curve_archived: RwSignal::new(false),
            restored: RwSignal::new(None),
            storage_error: RwSignal::new(None),
            engine_restarted: RwSignal::new(None),
            selected: RwSignal::new(None),
            field_errors: RwSignal::new(Vec::new()),
            drag: RwSignal::new(None),
            probe: RwSignal::new(None),
            live_at: RwSignal::new(0.0),
            queue: RwSignal::new(Vec::new()),
            queue_start: RwSignal::new(false),
            ensemble: RwSignal::new(None),
            ensemble_running: RwSignal::new(false),
        }
    }

    /// The request that (re)loads the spec's dataset from `data_url`.
    pub fn load_data_request(&self, data_url: &str) -> Request {
        let dataset = self.spec.get_untracked().dataset;
        Request::LoadData { dataset, base_url: format!("{data_url}{}/", dataset.asset_dir()) }
    }

    /// The request for the next queued benchmark, marking it running.
    pub fn next_bench(&self) -> Option<Request> {
        let preset = self.bench_queue.get_untracked().first()?.clone();
        self.bench_running.set(true);
        Some(Request::Bench { preset, config: self.bench_config.get_untracked() })
    }

    /// The model's weights changed (built, restored, loaded, fine-tuned): the test-set analysis
    /// no longer describes them, and the drawing is predicted again if there is one.
    pub fn weights_changed(&self) -> Option<Request> {
        self.analysis.set(None);
        self.gallery.set(None);
        self.inspect_request()
    }

    /// The request that shows what the model makes of the drawing — or, with nothing drawn, of
    /// the probe image (so the diagram's thumbnails always have something to show).
    pub fn inspect_request(&self) -> Option<Request> {
        // Only an input of the model's size: a drawing (1×28×28) means nothing to a colour model.
        let len = self.spec.with_untracked(|s| s.input_shape().len());
        let fits = |p: &Vec<f32>| p.len() == len;
        self.last_input.get_untracked().filter(fits).or_else(|| self.probe.get_untracked().filter(fits)).map(|pixels| Request::Predict { pixels })
    }

    /// The engine stopped (`reason`) and a new one is starting: everything it held (data,
    /// model, a run in progress) is gone until it reports again; the new engine loads the data,
    /// builds the spec and continues from the last checkpoint, as on page load.
    pub fn engine_lost(&self, reason: Message) {
        let count = self.engine_restarted.get_untracked().map_or(1, |(_, n)| n + 1);
        self.engine_restarted.set(Some((reason, count)));
        self.mode.set(None);
        self.data_ready.set(None);
        self.data_missing.set(None);
        self.data_progress.set((0, 0));
        self.model.set(None);
        self.run.set(RunState::Idle);
        self.fine_tuning.set(false);
        self.bench_running.set(false);
        self.bench_queue.set(Vec::new());
        self.prediction.set(None);
        self.inspection.set(None);
    }
}

/// A finished (or abandoned) training run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Run {
    /// Number shown to the user (increasing).
    pub id: u32,
    /// The spec it trained.
    pub spec: Spec,
    /// (optimizer step, loss, accuracy) per progress report.
    pub curve: Vec<(u64, f64, f64)>,
    /// Test results per epoch.
    pub evals: Vec<(usize, EvalReport)>,
    /// Validation results per epoch.
    #[serde(default)]
    pub validations: Vec<(usize, EvalReport)>,
    /// Overlay on the charts.
    pub shown: bool,
}
