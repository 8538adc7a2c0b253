//! The UI's reactive state, updated from engine events.

use crate::engine::spec::{LayerInfo, Spec};
use crate::engine::train::EvalReport;
use crate::protocol::{EngineMode, Event, Progress, Request};
use leptos::prelude::*;

/// Where training stands, as the UI shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
    pub data_error: RwSignal<Option<String>>,
    /// Layer table of the built model and its parameter count.
    pub model: RwSignal<Option<(Vec<LayerInfo>, usize)>>,
    /// Latest training progress.
    pub progress: RwSignal<Option<Progress>>,
    /// Test-set results per finished epoch.
    pub evals: RwSignal<Vec<(usize, EvalReport)>>,
    /// Training state.
    pub run: RwSignal<RunState>,
    /// Latest class probabilities for the drawing.
    pub prediction: RwSignal<Option<Vec<f32>>>,
    /// Latest error message from the engine or the page.
    pub error: RwSignal<Option<String>>,
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
            model: RwSignal::new(None),
            progress: RwSignal::new(None),
            evals: RwSignal::new(Vec::new()),
            run: RwSignal::new(RunState::Idle),
            prediction: RwSignal::new(None),
            error: RwSignal::new(None),
        }
    }

    /// The request that (re)loads the spec's dataset from `data_url`.
    pub fn load_data_request(&self, data_url: &str) -> Request {
        let dataset = self.spec.get_untracked().dataset;
        Request::LoadData { dataset, base_url: format!("{data_url}{}/", dataset.asset_dir()) }
    }

    /// Applies one engine event; returns requests the UI should send in response.
    pub fn apply(&self, event: Event, data_url: &str) -> Vec<Request> {
        match event {
            Event::Ready(mode) => {
                self.mode.set(Some(mode));
                let spec = self.spec.get_untracked();
                return vec![self.load_data_request(data_url), Request::Build { spec }];
            }
            Event::DataProgress { loaded, total } => self.data_progress.set((loaded, total)),
            Event::DataLoaded { train, test, .. } => self.data_ready.set(Some((train, test))),
            Event::DataFailed { message } => {
                self.data_error.set(Some(message.clone()));
                self.error.set(Some(message));
            }
            Event::Built { layers, params } => {
                self.model.set(Some((layers, params)));
                self.error.set(None);
            }
            Event::Progress(p) => self.progress.set(Some(p)),
            Event::Evaluated { epoch, report } => self.evals.update(|e| e.push((epoch, report))),
            Event::Paused => self.run.set(RunState::Paused),
            Event::Finished => self.run.set(RunState::Finished),
            Event::Prediction { probs } => self.prediction.set(Some(probs)),
            Event::Error { message } => {
                if self.run.get_untracked() == RunState::Pausing {
                    self.run.set(RunState::Paused);
                }
                self.error.set(Some(message));
            }
        }
        Vec::new()
    }
}
