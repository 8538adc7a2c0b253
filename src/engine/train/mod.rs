//! Mini-batch training and evaluation, parallel over fixed chunks of each batch.
//!
//! A batch is cut into chunks of [`CHUNK`] samples whatever the thread count; each chunk's
//! gradients are computed independently (in parallel when threads exist) and then summed in chunk
//! order, so 1, 2 or N threads give bit-identical weights.

use super::data::{DataSplit, Dataset};
use super::layers::Pass;
use super::loss::{cross_entropy, Loss, LossSum};
use super::network::{Network, Workspace};
use super::augment::image_rng;
use super::streams::Purpose;
use super::optim::{lr_at, Optimizer, Plateau};
use super::spec::{Spec, SpecError};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

mod checkpoint;
mod fine_tune;
mod preview;
mod step;
mod threads;
mod validation;

use validation::split_validation;

/// Samples per gradient chunk (the unit of parallel work).
pub const CHUNK: usize = 16;

/// True when this build can run rayon work on more than one thread.
pub const HAS_THREADS: bool = !cfg!(all(target_arch = "wasm32", not(target_feature = "atomics")));

/// What a call to [`Trainer::train_steps`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct StepReport {
    /// Optimizer steps taken.
    pub steps: usize,
    /// Images processed.
    pub images: usize,
    /// Mean training loss over those images.
    pub loss: f64,
    /// Training accuracy over those images.
    pub accuracy: f64,
    /// True if the call ended an epoch.
    pub epoch_done: bool,
    /// True if a non-finite loss or gradient stopped training (the last good weights are kept).
    pub diverged: bool,
}

/// Loss and accuracy on a dataset.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct EvalReport {
    /// Mean cross-entropy.
    pub loss: f64,
    /// Fraction classified correctly.
    pub accuracy: f64,
    /// Images evaluated.
    pub images: usize,
}

/// Owns a network, its optimizer and the position in the training data.
pub struct Trainer {
    /// The model being trained.
    pub network: Network,
    /// The spec it was built from.
    pub spec: Spec,
    optimizer: Optimizer,
    loss: Loss,
    /// Reduce-on-plateau state (factor 1 for other schedules).
    pub plateau: Plateau,
    /// A learning rate set by the user mid-run; replaces the schedule from then on.
    lr_override: Option<f32>,
    data: Arc<DataSplit>,
    workspaces: Vec<Workspace>,
    order: Vec<u32>,
    position: usize,
    /// Completed epochs.
    pub epoch: usize,
    /// Optimizer steps taken so far.
    pub step: u64,
    batch_x: Vec<f32>,
    batch_y: Vec<u8>,
    /// Indices of the training images actually trained on (the rest is the validation split).
    train_idx: Vec<u32>,
    /// The held-out validation images (`validation_split` of the training set), if any.
    pub validation: Option<Dataset>,
    /// Why training stopped before its last epoch: divergence or early stopping.
    pub stop_reason: Option<crate::i18n::Message>,
    /// Early stopping: best validation loss so far, its weights and buffers, epochs since.
    best: Option<(f64, Vec<Vec<f32>>, Vec<Vec<f32>>)>,
    bad_epochs: usize,
    /// Run chunks on the rayon pool (false: one after another, same result).
    pub parallel: bool,
    /// Layer-by-layer steps (BatchNorm): each chunk's random stream and the batch totals of a
    /// coupled layer, kept so that a step allocates nothing.
    chunk_rngs: Vec<ChaCha8Rng>,
    totals: Vec<f64>,
    /// Every thread of the pool has grown its per-thread buffers (see [`Trainer::prepare_threads`]).
    threads_prepared: bool,
}

impl Trainer {
    /// Builds the network of `spec` and prepares the first epoch.
    pub fn new(spec: Spec, data: Arc<DataSplit>) -> Result<Self, SpecError> {
        let network = Network::from_spec(&spec)?;
        for set in [&data.train, &data.test] {
            if set.shape() != network.input {
                return Err(SpecError::top("dataset", crate::msg!("err.data_shape", set.shape(), network.input)));
            }
        }
        let optimizer = Optimizer::new(&spec.training.optimizer, &network.param_lens());
        let chunks = spec.training.batch_size.div_ceil(CHUNK);
        let workspaces = (0..chunks).map(|_| network.workspace(CHUNK)).collect();
        let batch = spec.training.batch_size;
        let (train_idx, validation) = split_validation(&data.train, spec.training.validation_split, spec.seed);
        let mut trainer = Self {
            train_idx,
            validation,
            stop_reason: None,
            best: None,
            bad_epochs: 0,
            batch_x: vec![0.0; batch * network.input.len()],
            batch_y: vec![0; batch],
            network,
            optimizer,
            loss: Loss::of(&spec.training),
            plateau: Plateau::default(),
            lr_override: None,
            workspaces,
            order: Vec::new(),
            position: 0,
            epoch: 0,
            step: 0,
            parallel: HAS_THREADS,
            chunk_rngs: Vec::new(),
            totals: Vec::new(),
            threads_prepared: false,
            data,
            spec,
        };
        trainer.shuffle();
        Ok(trainer)
    }

    /// Bytes held by the training workspaces (outputs, gradients, scratch of every chunk).
    pub fn workspace_bytes(&self) -> u64 {
        self.workspaces.iter().map(Workspace::bytes).sum()
    }

    /// Optimizer steps in one epoch (the last batch may be partial, as PyTorch's DataLoader).
    pub fn steps_per_epoch(&self) -> usize {
        self.train_idx.len().div_ceil(self.spec.training.batch_size)
    }

    /// True once every epoch of the spec has run, or training stopped early or diverged.
    pub fn finished(&self) -> bool {
        self.epoch >= self.spec.training.epochs || self.stop_reason.is_some()
    }

    /// Learning rate of the next step: the user's override, else the schedule (with warm-up and
    /// any plateau reduction).
    pub fn lr(&self) -> f32 {
        self.lr_override.unwrap_or_else(|| {
            let t = &self.spec.training;
            self.plateau.apply(&t.schedule.kind, lr_at(t, self.step, self.steps_per_epoch()))
        })
    }

    /// Fixes the learning rate from the next step on (the schedule no longer applies).
    pub fn set_lr(&mut self, lr: f32) {
        self.lr_override = Some(lr);
    }

    /// The training data.
    pub fn data(&self) -> &Arc<DataSplit> {
        &self.data
    }

    fn shuffle(&mut self) {
        self.order.clone_from(&self.train_idx);
        let mut rng = Purpose::Shuffle { epoch: self.epoch as u64 }.rng(self.spec.seed);
        self.order.shuffle(&mut rng);
        self.position = 0;
    }

    /// Runs up to `max_steps` optimizer steps, stopping early at the end of an epoch.
    pub fn train_steps(&mut self, max_steps: usize) -> StepReport {
        self.prepare_threads();
        let mut total = LossSum::default();
        let mut report = StepReport::default();
        while report.steps < max_steps && !self.finished() {
            total.add(self.step_once(&mut report));
            if self.stop_reason.is_some() {
                report.diverged = true;
                break;
            }
            if self.position >= self.order.len() {
                self.epoch += 1;
                report.epoch_done = true;
                self.shuffle();
                break;
            }
        }
        if report.images > 0 {
            report.loss = total.loss / report.images as f64;
            report.accuracy = total.correct as f64 / report.images as f64;
        }
        report
    }

    fn step_once(&mut self, report: &mut StepReport) -> LossSum {
        let batch = self.spec.training.batch_size.min(self.order.len() - self.position);
        let px = self.network.input.len();
        let augment = &self.spec.training.augment;
        let (train, seed, epoch) = (&self.data.train, self.spec.seed, self.epoch);
        let shape = self.network.input;
        // Each image's augmentation is keyed by (seed, epoch, index), so filling the batch in
        // parallel gives the same batch (serially, augmentation cost ~8 % of a step on 2 cores).
        let fill = |((img, label), &idx): ((&mut [f32], &mut u8), &u32)| {
            train.image_f32(idx as usize, img);
            if augment.enabled() {
                crate::engine::augment::augment(augment, img, shape, &mut image_rng(seed, epoch, idx as usize));
            }
            *label = train.labels[idx as usize];
        };
        let order = &self.order[self.position..self.position + batch];
        let (xs, ys) = (&mut self.batch_x[..batch * px], &mut self.batch_y[..batch]);
        if self.parallel {
            xs.par_chunks_mut(px).zip(ys.par_iter_mut()).zip(order.par_iter()).for_each(fill);
        } else {
            xs.chunks_mut(px).zip(ys.iter_mut()).zip(order.iter()).for_each(fill);
        }
        self.position += batch;
        let sum = self.step_on_batch(batch, self.step);
        if self.stop_reason.is_none() {
            self.step += 1;
            report.steps += 1;
            report.images += batch;
        }
        sum
    }

    /// Evaluates the current network on `set` (the test set, typically).
    pub fn evaluate(&self, set: &Dataset) -> EvalReport {
        evaluate(&self.network, set, self.parallel)
    }
}

/// Mean loss and accuracy of `network` on `set`, in parallel chunks when `parallel`.
pub fn evaluate(network: &Network, set: &Dataset, parallel: bool) -> EvalReport {
    use super::spec::memory::EVAL_CHUNK;
    let px = set.pixels();
    let chunk_eval = |ws: &mut (Workspace, Vec<f32>), start: usize| -> LossSum {
        let (ws, x) = ws;
        let end = (start + EVAL_CHUNK).min(set.len());
        for i in start..end {
            set.image_f32(i, &mut x[(i - start) * px..(i - start + 1) * px]);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let logits = network.forward(x, end - start, ws, &mut Pass { train: false, backward: false, rng: &mut rng });
        cross_entropy(logits, &set.labels[start..end], network.classes, 1.0, None)
    };
    let init = || (network.workspace(EVAL_CHUNK), vec![0.0f32; EVAL_CHUNK * px]);
    let starts: Vec<usize> = (0..set.len()).step_by(EVAL_CHUNK).collect();
    let sums = super::lanes::map_in_lanes(&starts, parallel, init, chunk_eval);
    let mut total = LossSum::default();
    for s in sums {
        total.add(s);
    }
    let n = set.len().max(1) as f64;
    EvalReport { loss: total.loss / n, accuracy: total.correct as f64 / n, images: set.len() }
}
