//! The engine Web Worker: owns the datasets, the trainer and the rayon pool, and answers the
//! UI's [`Request`]s with [`Event`]s. Heavy work runs as jobs in the pool (threaded build) or
//! inline (fallback build); between jobs the worker returns to its event loop, so a Pause or a
//! Predict is answered within one job (~0.25 s).

use super::fetch::fetch_all;
use super::js::{now_ms, yield_to_event_loop};
use crate::engine::data::{DataSplit, FILES};
use crate::engine::metrics;
use crate::engine::network::Network;
use crate::engine::bench::{self, BenchConfig};
use crate::engine::spec::{DatasetKind, Spec, PRESETS};
use crate::engine::train::{evaluate, Trainer};
use crate::i18n::{Arg, Message, ToArg};
use crate::msg;
use crate::protocol::{bulk, EngineMode, Event, Progress, Request, GALLERY_SIZE};
use std::cell::RefCell;
use std::sync::Mutex;
use std::sync::Arc;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::spawn_local;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

/// Target duration of one training job; long enough to amortise the hand-off, short enough
/// for the UI to feel live and for Pause to be answered quickly. Each job ends in a Progress
/// event the page handles on its main thread, CPU the pool threads lose on a 2-core machine:
/// 4 a second instead of 8 gave back part of the training rate the page took.
const JOB_MS: f64 = 250.0;

/// Where the training loop stands (one value instead of running / pause-requested / single-step
/// flags, whose combinations could disagree).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
enum Training {
    /// No training loop runs.
    #[default]
    Stopped,
    /// The loop runs job after job.
    Running,
    /// The loop runs one optimizer step, then pauses.
    StepOnce,
    /// The loop stops after the job in progress.
    Pausing,
}

/// An exclusive job the worker runs beside (or instead of) training; at most one at a time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Job {
    /// Test-set evaluation on request.
    Evaluation,
    /// Confusion matrix and gallery of the test set.
    Analysis,
    /// Test accuracy of an ensemble of kept runs.
    Ensemble,
    /// Fine-tuning on the user's drawings (owns the trainer).
    FineTuning,
    /// A speed benchmark.
    Benchmark,
}

#[derive(Default)]
struct State {
    data: Option<(DatasetKind, Arc<DataSplit>)>,
    /// The shape and classes of the user's pictures, when they are the data.
    pictures: Option<crate::engine::spec::ImageSet>,
    spec: Option<Spec>,
    /// `None` while a job owns it.
    trainer: Option<Trainer>,
    /// Copy of the weights as of the last job, for predictions during training.
    snapshot: Option<Arc<Network>>,
    training: Training,
    /// The exclusive job running, if any.
    job: Option<Job>,
    steps_per_job: usize,
    /// A learning rate set while a job owned the trainer, applied before the next job.
    pending_lr: Option<f32>,
    /// Try the saved checkpoint when the next trainer is made (page load).
    restore_pending: bool,
    /// When the last checkpoint was saved (ms).
    last_save_ms: f64,
    /// Test-set class probabilities of the last analysis (for its galleries).
    analysis: Option<Arc<Vec<f32>>>,
    /// Weights of the last runs of the UI's history, by run number (for ensembles).
    kept_runs: Vec<(u32, Arc<Network>)>,
    /// Wall milliseconds of the training loop's iterations in the current epoch (pauses excluded).
    epoch_ms: f64,
    /// The current epoch started at its first image in this page (its time is the whole epoch's).
    epoch_whole: bool,
    /// The training code has been warmed up ([`warm_up`]).
    warmed: bool,
}

/// IndexedDB key of the autosaved training checkpoint.
const CHECKPOINT_KEY: &str = "checkpoint";

/// Seconds between checkpoints while training runs.
const SAVE_EVERY_MS: f64 = 5_000.0;

/// Saves the trainer's checkpoint in IndexedDB; a failure (quota, private mode) is shown.
async fn save_checkpoint(bytes: Vec<u8>) {
    if let Err(e) = crate::web::store::put(CHECKPOINT_KEY, &bytes).await {
        post_error(msg!("err.checkpoint_unsaved", e));
    }
}

/// The progress figures of a trainer (for a restored run).
fn progress_of(t: &Trainer) -> Progress {
    let per_epoch = t.steps_per_epoch();
    Progress {
        epoch: t.epoch.min(t.spec.training.epochs.saturating_sub(1)),
        epochs: t.spec.training.epochs,
        step_in_epoch: (t.step as usize).saturating_sub(t.epoch * per_epoch),
        steps_per_epoch: per_epoch,
        report: Default::default(),
        images_per_sec: 0.0,
        lr: t.lr(),
        global_step: t.step,
    }
}

/// Replaces the fresh trainer with the saved checkpoint when it is for the same spec.
async fn try_restore() {
    let saved = match crate::web::store::get(CHECKPOINT_KEY).await {
        Ok(saved) => saved,
        Err(e) => return post_error(msg!("err.checkpoint_unreadable", e)),
    };
    let Some(bytes) = saved else { return };
    let target = with_state(|s| s.trainer.as_ref().map(|t| (t.spec.clone(), t.data().clone())));
    let Some((spec, data)) = target else { return };
    let same_spec = cnn_playground_spec_of(&bytes).is_some_and(|saved| saved == spec);
    if !same_spec {
        return;
    }
    match Trainer::restore(&bytes, data) {
        Ok(trainer) => {
            let progress = progress_of(&trainer);
            let finished = trainer.finished();
            with_state(|s| {
                s.snapshot = Some(Arc::new(trainer.network.clone()));
                s.trainer = Some(trainer);
                (s.epoch_ms, s.epoch_whole) = (0.0, progress.step_in_epoch == 0);
            });
            post(Event::Restored(progress));
            if finished {
                // A finished run comes back finished (its trained model ready to draw on), not paused.
                post(Event::Finished);
            }
        }
        Err(e) => post_error(msg!("err.checkpoint_unusable", e)),
    }
}

fn cnn_playground_spec_of(bytes: &[u8]) -> Option<Spec> {
    crate::engine::weights::stored_spec(bytes).ok().flatten()
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State { steps_per_job: 4, ..State::default() });
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

fn scope() -> DedicatedWorkerGlobalScope {
    js_sys::global().unchecked_into()
}

/// Sends an event to the UI (always from the worker's own thread), bulk arrays as transferred
/// typed arrays. Those keep NaN and ∞, but the JSON part has no such numbers (serde writes them
/// as `null`, which the page cannot read back), so every event is read back here first and one
/// that does not survive is replaced by an error naming it.
fn post(event: Event) {
    let kind = event.kind();
    let (mut json, mut chunks) = bulk::to_wire(&event).expect("events serialise");
    if let Err(e) = bulk::from_wire::<Event>(&json, chunks.clone()) {
        let message = msg!("err.event_non_finite", kind, e.to_string());
        (json, chunks) = bulk::to_wire(&Event::Error { message }).expect("events serialise");
    }
    let (message, transfer) = super::wire::package(&json, &chunks);
    if let Err(e) = scope().post_message_with_transfer(&message, &transfer) {
        web_sys::console::error_2(&"cannot post event".into(), &e);
    }
}

fn post_error(message: Message) {
    post(Event::Error { message });
}

/// Runs `job` on the rayon pool and resolves on the worker's event loop when it is done.
#[cfg(feature = "threads")]
async fn run_job<T: Send + 'static>(job: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = futures_channel::oneshot::channel();
    rayon::spawn(move || {
        let _ = tx.send(job());
    });
    rx.await.expect("a pool job never drops its sender")
}

/// Fallback build: no pool, the job runs inline on the worker thread.
#[cfg(not(feature = "threads"))]
async fn run_job<T>(job: impl FnOnce() -> T) -> T {
    job()
}

/// Threads the pool will have: one per core the browser reports.
#[cfg(feature = "threads")]
fn planned_threads() -> usize {
    (scope().navigator().hardware_concurrency() as usize).max(1)
}

#[cfg(not(feature = "threads"))]
fn planned_threads() -> usize {
    1
}

#[cfg(feature = "threads")]
async fn start_pool(threads: usize) -> Result<(), JsValue> {
    wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(threads)).await?;
    Ok(())
}

#[cfg(not(feature = "threads"))]
async fn start_pool(_threads: usize) -> Result<(), JsValue> {
    Ok(())
}

/// What waits for the pool while it starts (each pool thread instantiates the module: a few
/// hundred milliseconds the dataset download overlaps).
#[derive(Default)]
struct Starting {
    /// Requests to handle, in order, once the pool runs.
    requests: Vec<Request>,
    /// Tasks (a dataset download) awaiting the pool before their first job.
    waiters: Vec<futures_channel::oneshot::Sender<()>>,
}

thread_local! {
    /// `Some` until the pool runs; it stays `Some` if the pool fails to start, so that no rayon
    /// call ever makes a default pool (it cannot spawn threads here).
    static STARTING: RefCell<Option<Starting>> = RefCell::new(Some(Starting::default()));
}

/// Resolves once the pool runs (at once if it already does).
async fn pool_started() {
    let waiting = STARTING.with(|s| {
        s.borrow_mut().as_mut().map(|starting| {
            let (tx, rx) = futures_channel::oneshot::channel();
            starting.waiters.push(tx);
            rx
        })
    });
    if let Some(rx) = waiting {
        let _ = rx.await;
    }
}

/// The first panic seen on any thread. A panic on the worker's own thread aborts the instance
/// (the page sees `error`); one on a pool thread kills that thread alone, so it is kept here
/// for the next ping's answer.
static POOL_PANIC: Mutex<Option<String>> = Mutex::new(None);

/// Logs panics to the console and keeps the first one in [`POOL_PANIC`].
fn record_panics() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        // try_lock: a panic while the slot is held must not deadlock the dying thread.
        if let Ok(mut slot) = POOL_PANIC.try_lock() {
            slot.get_or_insert_with(|| info.payload_as_str().unwrap_or("a panic").to_string());
        }
    }));
}

/// Worker entry point: listen and announce readiness at once, then start the pool. Requests that
/// need the pool wait for it; a dataset download starts at once (see [`Starting`]).
pub fn start() {
    record_panics();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(on_message);
    scope().add_event_listener_with_callback("message", on_message.as_ref().unchecked_ref()).expect("listener");
    on_message.forget();
    let threads = planned_threads();
    let (simd, fused) = (cfg!(target_feature = "simd128"), crate::engine::kernels::simd::HAS_FUSED);
    post(Event::Ready(EngineMode { threads, simd, fused, threaded: cfg!(feature = "threads") }));
    spawn_local(async move {
        if let Err(e) = start_pool(threads).await {
            return post_error(msg!("err.pool_start", format!("{e:?}")));
        }
        let Some(starting) = STARTING.with(|s| s.borrow_mut().take()) else { return };
        for waiter in starting.waiters {
            let _ = waiter.send(());
        }
        starting.requests.into_iter().for_each(handle);
    });
}

fn on_message(event: MessageEvent) {
    // wasm-bindgen-rayon's helpers talk on the same scope: only messages with a `cnn` are ours.
    match super::wire::decode::<Request>(&event.data()) {
        // The download needs no pool: it starts now, and waits for the pool to decode.
        Some(Ok(request @ Request::LoadData { .. })) => handle(request),
        // The files travel beside the message; reading them needs no pool either.
        Some(Ok(Request::OpenFiles { .. })) => spawn_local(open_files(crate::web::user_data::files_beside(&event.data()), true)),
        Some(Ok(Request::OpenImages { paths, side, channels, test_split })) => {
            let files = crate::web::user_data::files_beside(&event.data());
            let options = crate::web::user_data::PictureOptions { paths, side, channels, test_split };
            spawn_local(open_pictures(files, options, true));
        }
        Some(Ok(request)) => {
            let early = STARTING.with(|s| match s.borrow_mut().as_mut() {
                Some(starting) => {
                    starting.requests.push(request);
                    None
                }
                None => Some(request),
            });
            early.into_iter().for_each(handle);
        }
        Some(Err(e)) => web_sys::console::error_2(&"unreadable request".into(), &format!("{e:?}").into()),
        None => {}
    }
}

fn handle(request: Request) {
    match request {
        Request::LoadData { dataset, base_url } => spawn_local(load_data(dataset, base_url)),
        Request::Restore => with_state(|s| s.restore_pending = true),
        Request::OpenFiles { .. } | Request::OpenImages { .. } => post_error(msg!("err.files_missing")),
        Request::ForgetData { dataset } => spawn_local(async move {
            if let Err(e) = crate::web::user_data::forget(dataset).await {
                post_error(msg!("err.data_not_forgotten", e));
            }
            with_state(|s| {
                if s.data.as_ref().is_some_and(|(kind, _)| *kind == dataset) {
                    s.data = None;
                    s.pictures = None;
                }
            });
            post(Event::DataMissing { dataset });
        }),
        Request::Build { spec } => {
            // A model built on request starts fresh: the saved checkpoint no longer applies
            // (except on page load, when it is about to be restored).
            if !with_state(|s| s.restore_pending) {
                spawn_local(async {
                    if let Err(e) = crate::web::store::delete(CHECKPOINT_KEY).await {
                        post_error(msg!("err.checkpoint_unremoved", e));
                    }
                });
            }
            build(spec)
        }
        Request::Train | Request::Step => {
            let wanted = if request == Request::Step { Training::StepOnce } else { Training::Running };
            let start = with_state(|s| {
                if s.training != Training::Stopped {
                    // The loop is running: it takes the new wish at its next job.
                    s.training = wanted;
                    return Err(None);
                }
                if s.job.is_some() {
                    return Err(Some(msg!("err.busy")));
                }
                if s.trainer.is_none() {
                    return Err(Some(msg!("err.train_needs")));
                }
                s.training = wanted;
                Ok(())
            });
            match start {
                Ok(()) => spawn_local(training_loop()),
                Err(Some(why)) => post_error(why),
                Err(None) => {}
            }
        }
        Request::Pause => with_state(|s| {
            if matches!(s.training, Training::Running | Training::StepOnce) {
                s.training = Training::Pausing;
            }
        }),
        Request::SetLr { lr } => {
            if !(lr.is_finite() && lr > 0.0 && lr <= 10.0) {
                return post_error(msg!("err.lr_out_of_range", lr));
            }
            with_state(|s| match s.trainer.as_mut() {
                Some(t) => t.set_lr(lr),
                None => s.pending_lr = Some(lr),
            });
        }
        Request::Evaluate => spawn_local(evaluate_now()),
        Request::Analyse => spawn_local(analyse()),
        Request::KeepRun { id } => with_state(|s| {
            if let Some(network) = s.snapshot.clone() {
                s.kept_runs.retain(|(k, _)| *k != id);
                s.kept_runs.push((id, network));
                let excess = s.kept_runs.len().saturating_sub(KEPT_RUNS);
                s.kept_runs.drain(..excess);
            }
        }),
        Request::Ensemble { ids } => spawn_local(ensemble(ids)),
        Request::Gallery { truth, predicted } => gallery(truth, predicted),
        Request::Predict { pixels } => predict(pixels),
        Request::FineTune { images, labels, steps } => spawn_local(fine_tune(images, labels, steps)),
        Request::ExportWeights => export_weights(),
        Request::WeightsLink => match with_state(|s| s.snapshot.clone()) {
            Some(network) => post(Event::WeightsLink { text: crate::engine::weights_link::encode(&network) }),
            None => post_error(msg!("err.no_weights_share")),
        },
        Request::ImportWeightsLink { text } => import_into_model(msg!("err.the_link").to_arg(), |network| crate::engine::weights_link::decode(network, &text)),
        Request::ImportWeights { bytes, name } => import_weights(&bytes, name),
        Request::AugmentPreview { count } => {
            let images = with_state(|s| s.trainer.as_ref().map(|t| t.preview(count.min(64))));
            match images {
                Some(images) => {
                    let bytes = crate::engine::preprocess::to_bytes;
                    post(Event::AugmentPreview {
                        originals: images.iter().map(|(o, _, _)| bytes(o)).collect(),
                        augmented: images.iter().map(|(_, a, _)| bytes(a)).collect(),
                        labels: images.iter().map(|(_, _, l)| *l).collect(),
                    });
                }
                None => post_error(msg!("err.preview_needs_data")),
            }
        }
        Request::Bench { preset, config } => spawn_local(bench(preset, config)),
        Request::Ping => match POOL_PANIC.lock().ok().and_then(|p| p.clone()) {
            Some(message) => post(Event::ThreadDied { message }),
            None => post(Event::Pong),
        },
        Request::Panic { in_pool: false } => panic!("the page asked the engine to panic (a test of the restart)"),
        Request::Panic { in_pool: true } => rayon::spawn(|| panic!("the page asked a pool thread to panic (a test of the restart)")),
    }
}

async fn load_data(dataset: DatasetKind, base_url: String) {
    // Already here (a dataset switched back, or the user's files just read): nothing to fetch.
    let held = with_state(|s| s.data.as_ref().filter(|(kind, _)| *kind == dataset).map(|(_, d)| (d.clone(), s.pictures.clone())));
    if let Some((split, pictures)) = held {
        return data_ready(dataset, split, pictures);
    }
    if dataset == DatasetKind::Images {
        return match crate::web::user_data::kept_pictures().await {
            Ok(Some((files, options))) => open_pictures(files, options, false).await,
            Ok(None) => post(Event::DataMissing { dataset }),
            Err(e) => {
                post(Event::DataMissing { dataset });
                post_error(msg!("err.data_kept_unreadable", e));
            }
        };
    }
    if !dataset.bundled() {
        return match crate::web::user_data::kept(dataset).await {
            Ok(files) if !files.is_empty() => open_files(files, false).await,
            Ok(_) => post(Event::DataMissing { dataset }),
            Err(e) => {
                post(Event::DataMissing { dataset });
                post_error(msg!("err.data_kept_unreadable", e));
            }
        };
    }
    let urls: Vec<String> = FILES.iter().map(|f| format!("{base_url}{f}")).collect();
    let files = match fetch_all(&urls, progress_reporter()).await {
        Ok(files) => files,
        Err(message) => return post(Event::DataFailed { message }),
    };
    pool_started().await;
    let decoded = run_job(move || {
        DataSplit::from_files([&files[0], &files[1], &files[2], &files[3]], dataset.fixed_classes().map_or(10, <[_]>::len))
    })
    .await;
    match decoded {
        Ok(split) => data_ready(dataset, Arc::new(split), None),
        Err(e) => post(Event::DataFailed { message: msg!("err.data_unreadable", dataset.asset_dir(), e) }),
    }
}

/// Posts `DataProgress` about every 1 % (a 38 MB download arrives in hundreds of chunks).
fn progress_reporter() -> impl FnMut(u64, u64) {
    let mut last = 0u64;
    move |loaded: u64, total: u64| {
        if loaded == 0 || loaded == total || loaded - last >= total / 100 {
            last = loaded;
            post(Event::DataProgress { loaded, total });
        }
    }
}

/// Reads the user's CIFAR files; `keep` them in IndexedDB when they came from the page.
async fn open_files(files: Vec<web_sys::File>, keep: bool) {
    // The old data goes first: the new set may be 176 MB.
    with_state(|s| s.data = None);
    match crate::web::user_data::read_cifar(&files, progress_reporter()).await {
        Ok((dataset, split)) => {
            data_ready(dataset, Arc::new(split), None);
            if keep {
                if let Err(e) = crate::web::user_data::keep(dataset, &files).await {
                    post_error(msg!("err.data_not_kept", e));
                }
            }
        }
        Err(message) => post(Event::DataFailed { message }),
    }
}

/// Reads the user's pictures; `keep` them in IndexedDB when they came from the page.
async fn open_pictures(files: Vec<web_sys::File>, options: crate::web::user_data::PictureOptions, keep: bool) {
    with_state(|s| s.data = None);
    let seed = with_state(|s| s.spec.as_ref().map_or(42, |spec| spec.seed));
    match crate::web::user_data::read_pictures(&files, &options, seed, progress_reporter()).await {
        Ok((set, split)) => {
            data_ready(DatasetKind::Images, Arc::new(split), Some(set));
            if keep {
                if let Err(e) = crate::web::user_data::keep_pictures(&files, &options).await {
                    post_error(msg!("err.data_not_kept", e));
                }
            }
        }
        Err(message) => post(Event::DataFailed { message }),
    }
}

/// The dataset is decoded: keep it, tell the page, and build the spec's model on it (the page
/// answers data of another dataset, or pictures of other classes, with a new spec).
fn data_ready(dataset: DatasetKind, split: Arc<DataSplit>, pictures: Option<crate::engine::spec::ImageSet>) {
    let (train, test) = (split.train.len(), split.test.len());
    let spec = with_state(|s| {
        s.data = Some((dataset, split));
        s.pictures = pictures.clone();
        s.spec.clone()
    });
    let fits = spec.as_ref().is_some_and(|spec| spec.dataset == dataset && (pictures.is_none() || spec.images == pictures));
    post(Event::DataLoaded { dataset, train, test, images: pictures });
    if let Some(spec) = spec.filter(|_| fits) {
        build(spec);
    }
}

fn build(spec: Spec) {
    if with_state(|s| s.training != Training::Stopped || s.job.is_some()) {
        return post_error(msg!("err.training_running"));
    }
    let layers = match spec.infer() {
        Ok(layers) => layers,
        Err(e) => return post_error(msg!("err.invalid_model", e)),
    };
    let data = with_state(|s| {
        s.spec = Some(spec.clone());
        s.analysis = None;
        s.data.as_ref().filter(|(kind, _)| *kind == spec.dataset).map(|(_, d)| d.clone())
    });
    let Some(data) = data else {
        // Validated; the trainer is made once the dataset arrives.
        return post(Event::Built { params: layers.iter().map(|l| l.params).sum(), layers });
    };
    match Trainer::new(spec, data) {
        Ok(trainer) => {
            if !with_state(|s| std::mem::replace(&mut s.warmed, true)) {
                spawn_local(warm_up(trainer.spec.clone(), trainer.data().clone()));
            }
            let params = trainer.network.param_count();
            let restore = with_state(|s| {
                s.snapshot = Some(Arc::new(trainer.network.clone()));
                s.trainer = Some(trainer);
                (s.epoch_ms, s.epoch_whole) = (0.0, true);
                std::mem::take(&mut s.restore_pending)
            });
            post(Event::Built { layers, params });
            if restore {
                spawn_local(try_restore());
            }
        }
        Err(e) => post_error(msg!("err.invalid_model", e)),
    }
}

/// Steps of [`warm_up`].
const WARM_UP_STEPS: usize = 4;

/// A few small throwaway training steps on a copy of the first model built on data, once per
/// worker.
///
/// V8 first runs wasm code from its baseline compiler and optimises a function only after it
/// has run a while (a call already running keeps the code it started with): a fresh worker's
/// first training step took 52 ms instead of about 4 (reference net, batch 64, in the page).
/// This moves that to while the page waits for the user; the copy leaves the real model and its
/// random streams untouched.
async fn warm_up(mut spec: Spec, data: Arc<DataSplit>) {
    // One chunk per step: the copy holds one chunk's workspace, not a whole batch's, beside the
    // real trainer (a model near the memory budget must not run out for a warm-up).
    spec.training.batch_size = spec.training.batch_size.min(crate::engine::train::CHUNK);
    run_job(move || {
        if let Ok(mut trainer) = Trainer::new(spec, data) {
            trainer.train_steps(WARM_UP_STEPS);
        }
    })
    .await;
}

async fn training_loop() {
    loop {
        let next = with_state(|s| {
            let steps = match s.training {
                Training::Stopped | Training::Pausing => {
                    s.training = Training::Stopped;
                    return None;
                }
                Training::StepOnce => {
                    s.training = Training::Pausing;
                    1
                }
                Training::Running => s.steps_per_job,
            };
            let pending = s.pending_lr.take();
            s.trainer.take().map(|mut t| {
                if let Some(lr) = pending {
                    t.set_lr(lr);
                }
                (t, steps)
            })
        });
        let Some((mut trainer, steps)) = next else {
            let bytes = with_state(|s| s.trainer.as_ref().map(Trainer::checkpoint));
            post(Event::Paused);
            if let Some(bytes) = bytes {
                save_checkpoint(bytes).await;
            }
            return;
        };
        let started = now_ms();
        let (mut trainer, report) = run_job(move || {
            let report = trainer.train_steps(steps);
            (trainer, report)
        })
        .await;
        let elapsed = (now_ms() - started).max(1.0);
        let per_epoch = trainer.steps_per_epoch();
        // The epoch these steps belonged to (the trainer has already moved on after the last one).
        let epoch = trainer.epoch - usize::from(report.epoch_done);
        post(Event::Progress(Progress {
            epoch,
            epochs: trainer.spec.training.epochs,
            step_in_epoch: (trainer.step as usize) - epoch * per_epoch,
            steps_per_epoch: per_epoch,
            report,
            images_per_sec: report.images as f64 * 1000.0 / elapsed,
            lr: trainer.lr(),
            global_step: trainer.step,
        }));
        if report.epoch_done {
            let (t, eval, validation) = run_job(move || {
                // Validation feeds the schedule and early stopping; the test set is reported beside it.
                let validation = trainer.validate();
                if trainer.validation.is_some() {
                    let test = trainer.evaluate(&trainer.data().test);
                    (trainer, test, Some(validation))
                } else {
                    (trainer, validation, None)
                }
            })
            .await;
            trainer = t;
            let seconds = with_state(|s| {
                let whole = std::mem::replace(&mut s.epoch_whole, true);
                let ms = std::mem::take(&mut s.epoch_ms) + (now_ms() - started);
                whole.then_some(ms / 1000.0)
            });
            post(Event::Evaluated { epoch: trainer.epoch, report: eval, validation, seconds });
        }
        let finished = trainer.finished();
        if report.diverged {
            if let Some(reason) = &trainer.stop_reason {
                post_error(reason.clone());
            }
        }
        with_state(|s| {
            // Aim for JOB_MS per job, changing the step count gently.
            let ideal = (steps as f64 * JOB_MS / elapsed).clamp(1.0, 200.0);
            s.steps_per_job = ((s.steps_per_job as f64 + ideal) / 2.0).round().max(1.0) as usize;
            s.snapshot = Some(Arc::new(trainer.network.clone()));
            s.trainer = Some(trainer);
            if finished {
                s.training = Training::Stopped;
            }
        });
        let due = report.epoch_done || finished || now_ms() - with_state(|s| s.last_save_ms) > SAVE_EVERY_MS;
        if due {
            with_state(|s| s.last_save_ms = now_ms());
            let bytes = with_state(|s| s.trainer.as_ref().map(Trainer::checkpoint));
            if let Some(bytes) = bytes {
                save_checkpoint(bytes).await;
            }
        }
        if !report.epoch_done {
            // Wall time of the whole iteration (the job, snapshot, autosave), not only the job.
            with_state(|s| s.epoch_ms += now_ms() - started);
        }
        if finished {
            post(Event::Finished);
            return;
        }
        yield_to_event_loop().await;
    }
}

/// Claims the worker for one exclusive job; false if one runs already.
fn claim(s: &mut State, job: Job) -> bool {
    if s.job.is_some() {
        return false;
    }
    s.job = Some(job);
    true
}

async fn evaluate_now() {
    let Some((network, data)) = with_state(|s| Some((s.snapshot.clone()?, s.data.as_ref()?.1.clone()))) else {
        return post_error(msg!("err.evaluate_needs"));
    };
    if !with_state(|s| claim(s, Job::Evaluation)) {
        return post_error(msg!("err.busy"));
    }
    let epoch = with_state(|s| s.trainer.as_ref().map_or(0, |t| t.epoch));
    let report = run_job(move || evaluate(&network, &data.test, crate::engine::train::HAS_THREADS)).await;
    with_state(|s| s.job = None);
    post(Event::Evaluated { epoch, report, validation: None, seconds: None });
}

/// Confusion matrix and most confidently wrong images of the test set (the model as it is now).
async fn analyse() {
    let Some((network, data)) = with_state(|s| Some((s.snapshot.clone()?, s.data.as_ref()?.1.clone()))) else {
        return post_error(msg!("err.analyse_needs"));
    };
    if !with_state(|s| claim(s, Job::Analysis)) {
        return post_error(msg!("err.busy"));
    }
    let classes = network.classes;
    let (probs, confusion, wrong) = run_job(move || {
        let probs = metrics::probabilities(&network, &data.test, crate::engine::train::HAS_THREADS);
        let confusion = metrics::confusion_of(&probs, &data.test.labels, classes);
        let wrong = metrics::examples(&probs, &data.test, classes, |t, p| t != p, GALLERY_SIZE);
        (probs, confusion, wrong)
    })
    .await;
    with_state(|s| {
        s.job = None;
        s.analysis = Some(Arc::new(probs));
    });
    post(Event::Analysis { confusion, wrong });
}

/// Runs whose weights are kept for ensembles (the UI's history keeps as many).
const KEPT_RUNS: usize = 5;

/// Test accuracy of the kept runs `ids`, each and averaged.
async fn ensemble(ids: Vec<u32>) {
    let Some(data) = with_state(|s| s.data.as_ref().map(|d| d.1.clone())) else {
        return post_error(msg!("err.evaluate_needs"));
    };
    let (found, missing): (Vec<(u32, Option<Arc<Network>>)>, Vec<(u32, Option<Arc<Network>>)>) = with_state(|s| {
        ids.iter().map(|id| (*id, s.kept_runs.iter().find(|(k, _)| k == id).map(|(_, n)| n.clone()))).partition(|(_, n)| n.is_some())
    });
    let missing: Vec<u32> = missing.iter().map(|(id, _)| *id).collect();
    if found.is_empty() {
        return post(Event::Ensemble { ids: Vec::new(), accuracy: 0.0, members: Vec::new(), missing });
    }
    let classes = found.first().and_then(|(_, n)| n.as_ref()).map_or(0, |n| n.classes);
    if found.iter().any(|(_, n)| n.as_ref().is_some_and(|n| n.classes != classes || n.input.len() != data.test.pixels())) {
        return post_error(msg!("err.ensemble_mismatch"));
    }
    if !with_state(|s| claim(s, Job::Ensemble)) {
        return post_error(msg!("err.busy"));
    }
    let nets: Vec<Arc<Network>> = found.iter().filter_map(|(_, n)| n.clone()).collect();
    let (accuracy, members) = run_job(move || {
        let probs: Vec<Vec<f32>> = nets.iter().map(|n| metrics::probabilities(n, &data.test, crate::engine::train::HAS_THREADS)).collect();
        let members = probs.iter().map(|p| metrics::confusion_of(p, &data.test.labels, classes).accuracy()).collect::<Vec<f64>>();
        let views: Vec<&[f32]> = probs.iter().map(Vec::as_slice).collect();
        (metrics::ensemble_of_probabilities(&views, &data.test.labels, classes).unwrap_or(0.0), members)
    })
    .await;
    with_state(|s| s.job = None);
    post(Event::Ensemble { ids: found.iter().map(|(id, _)| *id).collect(), accuracy, members, missing });
}

/// Fine-tunes the paused model on the user's drawings, then checkpoints it.
async fn fine_tune(images: Vec<u8>, labels: Vec<u8>, steps: usize) {
    let side = 28;
    if labels.is_empty() || images.len() != labels.len() * side * side || labels.iter().any(|&l| l > 9) {
        return post_error(msg!("err.fine_tune_shape", labels.len(), images.len(), labels.len()));
    }
    let taken = with_state(|s| {
        if s.training != Training::Stopped || s.job.is_some() {
            return Err(msg!("err.fine_tune_pause"));
        }
        let trainer = s.trainer.take().ok_or(msg!("err.fine_tune_needs"))?;
        s.job = Some(Job::FineTuning);
        Ok(trainer)
    });
    let mut trainer = match taken {
        Ok(t) => t,
        Err(e) => return post_error(e),
    };
    let user = crate::engine::data::Dataset { images, labels, channels: 1, rows: side, cols: side };
    let (t, accuracy) = run_job(move || {
        let accuracy = trainer.fine_tune(&user, steps);
        (trainer, accuracy)
    })
    .await;
    trainer = t;
    let bytes = trainer.checkpoint();
    with_state(|s| {
        s.snapshot = Some(Arc::new(trainer.network.clone()));
        s.trainer = Some(trainer);
        s.job = None;
        s.analysis = None;
    });
    post(Event::FineTuned { steps, accuracy });
    save_checkpoint(bytes).await;
}

/// The images of one confusion cell from the last analysis.
fn gallery(truth: u8, predicted: u8) {
    let Some((probs, data, classes)) = with_state(|s| Some((s.analysis.clone()?, s.data.as_ref()?.1.clone(), s.snapshot.as_ref()?.classes))) else {
        return post_error(msg!("err.analyse_first"));
    };
    if truth as usize >= classes || predicted as usize >= classes {
        return post_error(msg!("err.gallery_classes", classes - 1, truth, predicted));
    }
    let examples = metrics::examples(&probs, &data.test, classes, |t, p| (t, p) == (truth, predicted), GALLERY_SIZE);
    post(Event::Gallery { truth, predicted, examples });
}

async fn bench(preset: String, config: BenchConfig) {
    let Some(spec) = Spec::preset(&preset) else {
        return post_error(msg!("err.unknown_bench", preset, PRESETS.join(", ")));
    };
    if with_state(|s| s.training != Training::Stopped) || !with_state(|s| claim(s, Job::Benchmark)) {
        return post_error(msg!("err.bench_pause"));
    }
    let mut report = run_job(move || bench::run(&spec, &config, now_ms)).await;
    with_state(|s| s.job = None);
    report.name = preset;
    report.memory_bytes = wasm_memory_bytes();
    post(Event::BenchResult(report));
}

/// Current size of this module's linear memory.
fn wasm_memory_bytes() -> u64 {
    let memory: js_sys::WebAssembly::Memory = wasm_bindgen::memory().unchecked_into();
    js_sys::Reflect::get(&memory.buffer(), &"byteLength".into()).ok().and_then(|v| v.as_f64()).unwrap_or(0.0) as u64
}

fn predict(pixels: Vec<f32>) {
    let Some(network) = with_state(|s| s.snapshot.clone()) else {
        return post_error(msg!("err.predict_needs"));
    };
    let expected = network.input.len();
    if pixels.len() != expected {
        return post_error(msg!("err.predict_pixels", expected, pixels.len()));
    }
    if pixels.iter().any(|p| !p.is_finite()) {
        return post_error(msg!("err.predict_finite"));
    }
    let inspection = crate::engine::inspect::inspect(&network, &pixels);
    if let Some(place) = inspection.first_non_finite() {
        return post(Event::PredictionFailed {
            message: msg!("err.prediction_non_finite", place),
        });
    }
    post(Event::Prediction(inspection));
}

/// Posts the current weights as a safetensors file.
fn export_weights() {
    let file = with_state(|s| {
        let network = s.snapshot.clone()?;
        let spec = s.trainer.as_ref().map(|t| t.spec.clone()).or_else(|| s.spec.clone())?;
        Some(crate::engine::weights::save(&network, &spec))
    });
    match file {
        Some(bytes) => post(Event::WeightsFile { bytes }),
        None => post_error(msg!("err.no_weights_download")),
    }
}

/// Loads a safetensors file into the current model, all or nothing.
fn import_weights(bytes: &[u8], name: String) {
    import_into_model(Arg::Text(name), |network| {
        crate::engine::weights::load(network, bytes).map_err(|e| e.message())?;
        Ok(crate::engine::weights::tensor_count(bytes))
    });
}

/// Replaces the current model's weights by `load` (which returns the tensors read), all or
/// nothing; `name` says where they came from.
fn import_into_model(name: Arg, load: impl FnOnce(&mut Network) -> Result<usize, Message>) {
    if with_state(|s| s.training != Training::Stopped || s.job.is_some()) {
        return post_error(msg!("err.pause_before_weights", name));
    }
    let result: Result<usize, Message> = with_state(|s| {
        let trainer = s.trainer.as_mut().ok_or_else(|| msg!("err.weights_needs"))?;
        // Into a copy first: weights that do not fit leave the model as it was.
        let mut network = trainer.network.clone();
        let tensors = load(&mut network)?;
        trainer.network = network.clone();
        s.snapshot = Some(Arc::new(network));
        Ok(tensors)
    });
    match result {
        Ok(tensors) => post(Event::WeightsImported { name, tensors }),
        Err(e) => post_error(msg!("err.weights_not_loaded", name, e)),
    }
}
