//! One optimizer step: chunks in parallel, or layer by layer for batch-coupled layers
//! (BatchNorm), with the chunks' sums added in chunk order.

use super::*;

impl Trainer {
    /// One optimizer step on the first `batch` images of `batch_x` / `batch_y`; `step` seeds
    /// this step's random streams (dropout).
    pub(super) fn step_on_batch(&mut self, batch: usize, step: u64) -> LossSum {
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
            let what = if loss_sum.is_finite() { crate::msg!("err.what_gradient") } else { crate::msg!("err.what_loss") };
            self.stop_reason = Some(crate::msg!("err.diverged", self.step + 1, what));
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
    pub(super) fn run_layer_by_layer(&mut self, batch: usize, chunks: usize, scale: f32, step: u64) {
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
}

/// Adds the chunks' partial sums in chunk order into `totals`.
pub(super) fn sum_stats(workspaces: &[Workspace], totals: &mut Vec<f64>) {
    let len = workspaces[0].stats.len();
    totals.clear();
    totals.resize(len, 0.0);
    for ws in workspaces {
        for (t, &v) in totals.iter_mut().zip(&ws.stats[..len]) {
            *t += v;
        }
    }
}
