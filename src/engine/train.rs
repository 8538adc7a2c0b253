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
    pub stop_reason: Option<String>,
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

    /// Evaluates on the validation split (the test set without one), then feeds the loss to a
    /// reduce-on-plateau schedule and to early stopping, which may end training and put back
    /// the best weights. Call once at the end of each epoch.
    pub fn validate(&mut self) -> EvalReport {
        let report = match &self.validation {
            Some(v) => evaluate(&self.network, v, self.parallel),
            None => evaluate(&self.network, &self.data.test, self.parallel),
        };
        self.observe_validation(report.loss);
        if let Some(es) = self.spec.training.early_stopping.clone() {
            let improved = self.best.as_ref().is_none_or(|(best, ..)| report.loss < best - es.min_delta as f64);
            if improved {
                let params = self.network.layers.iter().map(|l| l.params().to_vec()).collect();
                let buffers = self.network.layers.iter().map(|l| l.buffers().to_vec()).collect();
                self.best = Some((report.loss, params, buffers));
                self.bad_epochs = 0;
            } else {
                self.bad_epochs += 1;
                if self.bad_epochs >= es.patience && !self.finished() {
                    let (best_loss, params, buffers) = self.best.as_ref().expect("set on the first epoch");
                    let mut reason = format!(
                        "early stopping after epoch {}: validation loss has not improved on {best_loss:.4} for {} epochs",
                        self.epoch, es.patience
                    );
                    if es.restore_best {
                        for ((layer, p), b) in self.network.layers.iter_mut().zip(params).zip(buffers) {
                            layer.params_mut().copy_from_slice(p);
                            layer.buffers_mut().copy_from_slice(b);
                        }
                        reason += "; best weights restored";
                    }
                    self.stop_reason = Some(reason);
                }
            }
        }
        report
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

    /// Feeds a validation loss to a reduce-on-plateau schedule.
    pub fn observe_validation(&mut self, loss: f64) {
        self.plateau.observe(&self.spec.training.schedule.kind, loss);
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

    /// Grows the per-thread buffers (im2col's padded planes, GEMM panels, augmentation
    /// workspace) of every thread in the current pool to what a training step needs, by running
    /// one chunk and one augmentation on each thread. Which thread runs which chunk of a step
    /// depends on scheduling (on a busy machine one thread may do all the work for a while), so
    /// without this a thread meeting a layer for the first time would allocate mid-training.
    /// The network is only read, and the chunk workspaces it borrows are cleared by every step,
    /// so results are untouched and no memory is added.
    pub fn prepare_threads(&mut self) {
        if self.threads_prepared || !self.parallel {
            return;
        }
        let (net, loss, spec) = (&self.network, &self.loss, &self.spec);
        let (w, h) = (self.data.train.cols, self.data.train.rows);
        // Threads beyond the chunk count take turns with a workspace.
        let slots: Vec<std::sync::Mutex<&mut Workspace>> = self.workspaces.iter_mut().map(std::sync::Mutex::new).collect();
        let x = vec![0.0; CHUNK * net.input.len()];
        let labels = vec![0; CHUNK];
        rayon::broadcast(|ctx| {
            let mut rng = ChaCha8Rng::seed_from_u64(0);
            {
                let mut ws = slots[ctx.index() % slots.len()].lock().unwrap_or_else(|p| p.into_inner());
                let mut pass = Pass { train: true, backward: true, rng: &mut rng };
                net.train_chunk(&x, &labels, loss, 1.0, &mut ws, &mut pass);
            }
            if spec.training.augment.enabled() {
                let mut img = vec![0.0; w * h];
                crate::engine::augment::augment(&spec.training.augment, &mut img, w, h, &mut rng);
            }
        });
        self.threads_prepared = true;
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
        let (w, h) = (train.cols, train.rows);
        // Each image's augmentation is keyed by (seed, epoch, index), so filling the batch in
        // parallel gives the same batch (serially, augmentation cost ~8 % of a step on 2 cores).
        let fill = |((img, label), &idx): ((&mut [f32], &mut u8), &u32)| {
            train.image_f32(idx as usize, img);
            if augment.enabled() {
                crate::engine::augment::augment(augment, img, w, h, &mut image_rng(seed, epoch, idx as usize));
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

    /// Fine-tuning on the user's own images: `steps` optimizer steps, each on a batch of the
    /// user's images (cycled, at most half the batch, augmented like training) filled up with
    /// training images drawn from the seed. The position in the epoch and the step count stay
    /// as they were. Returns the accuracy on the user's images afterwards.
    pub fn fine_tune(&mut self, user: &Dataset, steps: usize) -> f64 {
        let batch = self.spec.training.batch_size;
        let px = self.network.input.len();
        let (w, h) = (self.data.train.cols, self.data.train.rows);
        let own = (batch / 2).max(1).min(batch);
        for s in 0..steps {
            let mut rng = Purpose::FineTune { step: self.step, sub: s as u64 }.rng(self.spec.seed);
            for k in 0..batch {
                let img = &mut self.batch_x[k * px..(k + 1) * px];
                let (set, idx) = if k < own && !user.is_empty() {
                    (user, (s * own + k) % user.len())
                } else {
                    let train = &self.data.train;
                    (train, self.train_idx[rng.random_range(0..self.train_idx.len())] as usize)
                };
                set.image_f32(idx, img);
                if self.spec.training.augment.enabled() {
                    crate::engine::augment::augment(&self.spec.training.augment, img, w, h, &mut rng);
                }
                self.batch_y[k] = set.labels[idx];
            }
            // A step number far from training's keeps the dropout streams apart.
            self.step_on_batch(batch, u64::MAX / 2 + self.step + s as u64);
            if self.stop_reason.is_some() {
                break;
            }
        }
        self.evaluate(user).accuracy
    }

    /// One optimizer step on the first `batch` images of `batch_x` / `batch_y`; `step` seeds
    /// this step's random streams (dropout).
    fn step_on_batch(&mut self, batch: usize, step: u64) -> LossSum {
        let px = self.network.input.len();
        let chunks = batch.div_ceil(CHUNK);
        let scale = 1.0 / batch as f32;
        let (net, seed, loss) = (&self.network, self.spec.seed, &self.loss);
        let (xs, ys) = (&self.batch_x[..batch * px], &self.batch_y[..batch]);
        let run = |(c, ws): (usize, &mut Workspace)| {
            for g in ws.grads.iter_mut() {
                g.fill(0.0);
            }
            let lo = c * CHUNK;
            let hi = (lo + CHUNK).min(batch);
            let mut rng = Purpose::Chunk { step, chunk: c as u64 }.rng(seed);
            let mut pass = Pass { train: true, backward: true, rng: &mut rng };
            ws.last = net.train_chunk(&xs[lo * px..hi * px], &ys[lo..hi], loss, scale, ws, &mut pass);
        };
        // Results stay in the workspaces: the step allocates nothing.
        if self.network.has_coupled() {
            self.run_layer_by_layer(batch, chunks, scale, step);
        } else {
            let workspaces = &mut self.workspaces[..chunks];
            if self.parallel {
                workspaces.par_iter_mut().enumerate().for_each(run);
            } else {
                workspaces.iter_mut().enumerate().for_each(run);
            }
        }
        self.optimizer.lr = self.lr();
        // Fixed-order reduction into the first chunk's gradients.
        let (first, rest) = self.workspaces.split_at_mut(1);
        for ws in &rest[..chunks - 1] {
            for (acc, g) in first[0].grads.iter_mut().zip(&ws.grads) {
                for (a, &v) in acc.iter_mut().zip(g) {
                    *a += v;
                }
            }
        }
        // Divergence: a non-finite loss or gradient stops training before the update, so the
        // last good weights stay.
        let loss_sum: f64 = first[0].last.loss + rest[..chunks - 1].iter().map(|w| w.last.loss).sum::<f64>();
        let grads_finite = first[0].grads.iter().all(|g| g.iter().all(|v| v.is_finite()));
        if !loss_sum.is_finite() || !grads_finite {
            let what = if loss_sum.is_finite() { "gradient" } else { "loss" };
            self.stop_reason = Some(format!(
                "training diverged at step {} (non-finite {what}); the weights of the previous step are kept — try a smaller learning rate",
                self.step + 1
            ));
            return LossSum::default();
        }
        let (l1, l2) = (self.spec.training.l1, self.spec.training.l2);
        let mut penalty = 0.0f64;
        self.optimizer.begin_step();
        for (i, layer) in self.network.layers.iter_mut().enumerate() {
            let grads = &mut first[0].grads[i];
            if grads.is_empty() {
                continue;
            }
            if l1 > 0.0 || l2 > 0.0 {
                // Penalties added to the loss: λ₁Σ|w| + λ₂Σw², gradient λ₁·sign(w) + 2λ₂·w.
                for (g, &w) in grads.iter_mut().zip(layer.params()) {
                    *g += l1 * w.signum() * (w != 0.0) as u8 as f32 + 2.0 * l2 * w;
                    penalty += (l1 * w.abs() + l2 * w * w) as f64;
                }
            }
            self.optimizer.update(i, layer.params_mut(), grads);
        }
        let mut total = LossSum::default();
        for ws in &self.workspaces[..chunks] {
            total.add(ws.last);
        }
        total.loss += penalty * batch as f64;
        total
    }

    /// One training step for nets with batch-coupled layers (BatchNorm): every chunk runs one
    /// layer at a time; at a coupled layer the chunks' partial sums are added in chunk order (so
    /// results stay bit-identical across thread counts) and applied by every chunk.
    fn run_layer_by_layer(&mut self, batch: usize, chunks: usize, scale: f32, step: u64) {
        let px = self.network.input.len();
        let (seed, parallel) = (self.spec.seed, self.parallel);
        let count_of = |per_sample: usize| batch * per_sample;
        // Per-chunk random streams (dropout), seeded as in the chunk-by-chunk path.
        let mut rngs = std::mem::take(&mut self.chunk_rngs);
        rngs.truncate(chunks);
        for (c, rng) in rngs.iter_mut().enumerate() {
            *rng = Purpose::Chunk { step, chunk: c as u64 }.rng(seed);
        }
        rngs.extend((rngs.len()..chunks).map(|c| Purpose::Chunk { step, chunk: c as u64 }.rng(seed)));
        let bounds = |c: usize| (c * CHUNK, ((c + 1) * CHUNK).min(batch));
        let each = |ws: &mut [Workspace], rngs: &mut [ChaCha8Rng], f: &(dyn Fn(usize, &mut Workspace, &mut ChaCha8Rng) + Sync)| {
            if parallel {
                ws.par_iter_mut().zip(rngs.par_iter_mut()).enumerate().for_each(|(c, (w, r))| f(c, w, r));
            } else {
                ws.iter_mut().zip(rngs.iter_mut()).enumerate().for_each(|(c, (w, r))| f(c, w, r));
            }
        };
        let mut totals = std::mem::take(&mut self.totals);
        {
            let (net, xs) = (&self.network, &self.batch_x);
            each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, _| {
                let (lo, hi) = bounds(c);
                for g in ws.grads.iter_mut() {
                    g.fill(0.0);
                }
                net.load(&xs[lo * px..hi * px], hi - lo, ws);
            });
        }
        for i in 0..self.network.layers.len() {
            let net = &self.network;
            if let Some(coupled) = net.layers[i].coupled() {
                let count = count_of(coupled.per_sample());
                each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, _| {
                    let (lo, hi) = bounds(c);
                    net.coupled_forward_stats(i, hi - lo, ws);
                });
                sum_stats(&self.workspaces[..chunks], &mut totals);
                let totals_ref = &totals;
                each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, _| {
                    let (lo, hi) = bounds(c);
                    net.coupled_forward_apply(i, hi - lo, ws, totals_ref, count);
                });
                self.network.layers[i].coupled_mut().expect("coupled").update_running(&totals, count);
            } else {
                each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, rng| {
                    let (lo, hi) = bounds(c);
                    net.forward_layer(i, hi - lo, ws, &mut Pass { train: true, backward: true, rng });
                });
            }
        }
        {
            let (net, ys, loss) = (&self.network, &self.batch_y, &self.loss);
            each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, _| {
                let (lo, hi) = bounds(c);
                ws.last = net.loss_gradient(&ys[lo..hi], loss, scale, ws);
            });
        }
        for i in (0..self.network.layers.len()).rev() {
            let net = &self.network;
            if let Some(coupled) = net.layers[i].coupled() {
                let count = count_of(coupled.per_sample());
                each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, _| {
                    let (lo, hi) = bounds(c);
                    net.coupled_backward_stats(i, hi - lo, ws);
                });
                sum_stats(&self.workspaces[..chunks], &mut totals);
                let totals_ref = &totals;
                each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, _| {
                    let (lo, hi) = bounds(c);
                    net.coupled_backward_apply(i, hi - lo, ws, totals_ref, count);
                });
            } else {
                each(&mut self.workspaces[..chunks], &mut rngs, &|c, ws, _| {
                    let (lo, hi) = bounds(c);
                    net.backward_layer(i, hi - lo, ws);
                });
            }
        }
        self.chunk_rngs = rngs;
        self.totals = totals;
    }

    /// The next `count` training images of the current epoch as training will see them:
    /// (original, augmented, label), pixels in [0, 1].
    pub fn preview(&self, count: usize) -> Vec<(Vec<f32>, Vec<f32>, u8)> {
        let (w, h) = (self.data.train.cols, self.data.train.rows);
        let augment = &self.spec.training.augment;
        self.order[self.position.min(self.order.len())..]
            .iter()
            .chain(self.order.iter())
            .take(count)
            .map(|&idx| {
                let mut original = vec![0.0; w * h];
                self.data.train.image_f32(idx as usize, &mut original);
                let mut augmented = original.clone();
                if augment.enabled() {
                    crate::engine::augment::augment(augment, &mut augmented, w, h, &mut image_rng(self.spec.seed, self.epoch, idx as usize));
                }
                (original, augmented, self.data.train.labels[idx as usize])
            })
            .collect()
    }

    /// Everything needed to continue this run later, as one safetensors file: the weights
    /// (PyTorch names), the optimizer buffers (`optim.<layer>.<a|b|c>`) and, in the metadata,
    /// the spec, position in the data, step counters, learning-rate state and early-stopping
    /// progress.
    pub fn checkpoint(&self) -> Vec<u8> {
        let (t, state) = self.optimizer.export_state();
        let meta = Checkpoint {
            epoch: self.epoch,
            step: self.step,
            position: self.position,
            optimizer_t: t,
            lr_override: self.lr_override,
            plateau: self.plateau.clone(),
            stop_reason: self.stop_reason.clone(),
            bad_epochs: self.bad_epochs,
            best_loss: self.best.as_ref().map(|b| b.0),
        };
        let mut extra: Vec<(String, Vec<f32>)> = Vec::new();
        for (i, bufs) in state.into_iter().enumerate() {
            for (name, buf) in ["a", "b", "c"].iter().zip(bufs) {
                if !buf.is_empty() {
                    extra.push((format!("optim.{i}.{name}"), buf));
                }
            }
        }
        if let Some((_, params, buffers)) = &self.best {
            for (i, (p, b)) in params.iter().zip(buffers).enumerate() {
                if !p.is_empty() {
                    extra.push((format!("best.{i}.params"), p.clone()));
                }
                if !b.is_empty() {
                    extra.push((format!("best.{i}.buffers"), b.clone()));
                }
            }
        }
        let meta = serde_json::to_string(&meta).expect("checkpoint metadata serialises");
        super::weights::save_with(&self.network, &self.spec, &extra, &[("checkpoint", meta)])
    }

    /// Continues a run from [`Trainer::checkpoint`] bytes on `data`; the result trains on
    /// exactly as the original would have.
    pub fn restore(bytes: &[u8], data: Arc<DataSplit>) -> Result<Self, String> {
        let spec = super::weights::stored_spec(bytes).map_err(|e| e.to_string())?.ok_or("the checkpoint has no spec")?;
        let meta: Checkpoint = super::weights::metadata(bytes, "checkpoint")
            .map_err(|e| e.to_string())?
            .ok_or("the file is weights, not a training checkpoint")
            .and_then(|m| serde_json::from_str(&m).map_err(|_| "unreadable checkpoint metadata"))?;
        let mut t = Trainer::new(spec, data).map_err(|e| e.to_string())?;
        let extra = super::weights::load_with(&mut t.network, bytes, &["optim.", "best."]).map_err(|e| e.to_string())?;
        let layers = t.network.layers.len();
        let take = |name: String| extra.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone()).unwrap_or_default();
        let state: Vec<[Vec<f32>; 3]> = (0..layers).map(|i| [take(format!("optim.{i}.a")), take(format!("optim.{i}.b")), take(format!("optim.{i}.c"))]).collect();
        if !t.optimizer.import_state(meta.optimizer_t, state) {
            return Err("the optimizer state does not match the model".into());
        }
        if let Some(loss) = meta.best_loss {
            let params = (0..layers).map(|i| take(format!("best.{i}.params"))).collect();
            let buffers = (0..layers).map(|i| take(format!("best.{i}.buffers"))).collect();
            t.best = Some((loss, params, buffers));
        }
        t.epoch = meta.epoch;
        t.step = meta.step;
        t.lr_override = meta.lr_override;
        t.plateau = meta.plateau;
        t.stop_reason = meta.stop_reason;
        t.bad_epochs = meta.bad_epochs;
        t.shuffle();
        if meta.position > t.order.len() {
            return Err("the checkpoint's position is past the end of the training data".into());
        }
        t.position = meta.position;
        Ok(t)
    }

    /// Evaluates the current network on `set` (the test set, typically).
    pub fn evaluate(&self, set: &Dataset) -> EvalReport {
        evaluate(&self.network, set, self.parallel)
    }
}

/// The scalar part of a checkpoint (the arrays travel as tensors).
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Checkpoint {
    epoch: usize,
    step: u64,
    position: usize,
    optimizer_t: u64,
    lr_override: Option<f32>,
    plateau: Plateau,
    stop_reason: Option<String>,
    bad_epochs: usize,
    best_loss: Option<f64>,
}

/// A seeded split of the training set: (indices to train on, validation images).
fn split_validation(train: &Dataset, fraction: f32, seed: u64) -> (Vec<u32>, Option<Dataset>) {
    let mut idx: Vec<u32> = (0..train.len() as u32).collect();
    let held = (train.len() as f64 * fraction as f64).round() as usize;
    if held == 0 {
        return (idx, None);
    }
    idx.shuffle(&mut Purpose::ValidationSplit.rng(seed));
    let (val, rest) = idx.split_at(held);
    let px = train.pixels();
    let mut set = Dataset { images: Vec::with_capacity(held * px), labels: Vec::with_capacity(held), rows: train.rows, cols: train.cols };
    for &i in val {
        set.images.extend_from_slice(&train.images[i as usize * px..(i as usize + 1) * px]);
        set.labels.push(train.labels[i as usize]);
    }
    let mut rest = rest.to_vec();
    rest.sort_unstable();
    (rest, Some(set))
}

/// Adds the chunks' partial sums in chunk order into `totals`.
fn sum_stats(workspaces: &[Workspace], totals: &mut Vec<f64>) {
    let len = workspaces[0].stats.len();
    totals.clear();
    totals.resize(len, 0.0);
    for ws in workspaces {
        for (t, &v) in totals.iter_mut().zip(&ws.stats[..len]) {
            *t += v;
        }
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
