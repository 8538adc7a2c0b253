//! BatchNorm2d, and BatchNorm1d on `[N, F]` (PyTorch semantics): in training, normalise each
//! channel with the batch mean and biased variance over N·H·W and update the running statistics
//! (`running = (1−momentum)·running + momentum·batch`, unbiased variance; with `momentum=None`
//! the factor is 1/num_batches_tracked, a cumulative average); in evaluation, use the running
//! statistics, or the batch's own when `track_running_stats=False` (then there are no buffers).
//! The batch may be split into chunks run in parallel: statistics are summed over all chunks
//! (see [`BatchCoupled`]) so the result is that of the whole batch.
//!
//! # Shapes
//! `[N, C, H, W] → [N, C, H, W]`; weight, bias, running_mean, running_var `[C]`, num_batches_tracked `[]`.

use super::{take, BatchCoupled, Layer, ParamTensor, Pass, Scratch};
use crate::engine::shape::Shape;

/// Batch normalisation layer.
#[derive(Clone, Debug)]
pub struct BatchNorm {
    shape: Shape,
    eps: f32,
    /// `None`: cumulative average (PyTorch's `momentum=None`).
    momentum: Option<f32>,
    affine: bool,
    /// Keeps running statistics; without them evaluation uses batch statistics.
    track: bool,
    /// `[weight (C) | bias (C)]` when affine: ones and zeros at start.
    params: Vec<f32>,
    /// `[running_mean (C) | running_var (C) | num_batches_tracked]`: zeros, ones, 0 at start;
    /// empty when not tracking.
    buffers: Vec<f32>,
}

impl BatchNorm {
    /// Creates the layer with PyTorch's initial values.
    pub fn new(shape: Shape, eps: f32, momentum: Option<f32>, affine: bool, track_running_stats: bool) -> Self {
        let c = shape.c;
        let params = if affine { [vec![1.0; c], vec![0.0; c]].concat() } else { Vec::new() };
        let buffers = if track_running_stats { [vec![0.0; c], vec![1.0; c], vec![0.0]].concat() } else { Vec::new() };
        Self { shape, eps, momentum, affine, track: track_running_stats, params, buffers }
    }

    fn plane(&self) -> usize {
        self.shape.h * self.shape.w
    }

    fn gamma(&self, c: usize) -> f32 {
        if self.affine { self.params[c] } else { 1.0 }
    }

    fn beta(&self, c: usize) -> f32 {
        if self.affine { self.params[self.shape.c + c] } else { 0.0 }
    }

    /// Normalises with per-channel `mean` and `rstd` (stored in `scratch` for backward).
    /// Backward of the evaluation-mode function y = γ·(x − running mean)·rstd + β, where the
    /// statistics are constants: dx = γ·rstd·dy.
    fn backward_eval(&self, x: &[f32], dy: &[f32], dx: Option<&mut [f32]>, grads: &mut [f32], n: usize, scratch: &Scratch) {
        let (c_n, hw) = (self.shape.c, self.plane());
        let (mean, rstd) = scratch.f[..2 * c_n].split_at(c_n);
        if self.affine {
            for s in 0..n {
                for c in 0..c_n {
                    let o = (s * c_n + c) * hw;
                    let (mut sd, mut sdx) = (0.0f32, 0.0f32);
                    for (&xv, &g) in x[o..o + hw].iter().zip(&dy[o..o + hw]) {
                        sd += g;
                        sdx += g * (xv - mean[c]) * rstd[c];
                    }
                    grads[c] += sdx;
                    grads[c_n + c] += sd;
                }
            }
        }
        let Some(dx) = dx else { return };
        for s in 0..n {
            for c in 0..c_n {
                let o = (s * c_n + c) * hw;
                let k = self.gamma(c) * rstd[c];
                for (d, &g) in dx[o..o + hw].iter_mut().zip(&dy[o..o + hw]) {
                    *d = k * g;
                }
            }
        }
    }

    fn normalise(&self, x: &[f32], y: &mut [f32], n: usize, mean: &[f32], rstd: &[f32]) {
        let (c_n, hw) = (self.shape.c, self.plane());
        for s in 0..n {
            for c in 0..c_n {
                let (m, r, g, b) = (mean[c], rstd[c], self.gamma(c), self.beta(c));
                let o = (s * c_n + c) * hw;
                for (yo, &xv) in y[o..o + hw].iter_mut().zip(&x[o..o + hw]) {
                    *yo = (xv - m) * r * g + b;
                }
            }
        }
    }
}

impl BatchCoupled for BatchNorm {
    fn stat_len(&self) -> usize {
        2 * self.shape.c
    }

    fn per_sample(&self) -> usize {
        self.plane()
    }

    fn forward_stats(&self, x: &[f32], n: usize, acc: &mut [f64]) {
        let (c_n, hw) = (self.shape.c, self.plane());
        for s in 0..n {
            for c in 0..c_n {
                let o = (s * c_n + c) * hw;
                for &v in &x[o..o + hw] {
                    acc[c] += v as f64;
                    acc[c_n + c] += (v as f64) * (v as f64);
                }
            }
        }
    }

    fn forward_apply(&self, x: &[f32], y: &mut [f32], n: usize, totals: &[f64], count: usize, scratch: &mut Scratch) {
        scratch.eval_forward = false;
        let c_n = self.shape.c;
        let st = take(&mut scratch.f, 2 * c_n);
        for c in 0..c_n {
            let mean = totals[c] / count as f64;
            let var = (totals[c_n + c] / count as f64 - mean * mean).max(0.0);
            st[c] = mean as f32;
            st[c_n + c] = (1.0 / (var + self.eps as f64).sqrt()) as f32;
        }
        let (mean, rstd) = st.split_at(c_n);
        self.normalise(x, y, n, mean, rstd);
    }

    fn backward_stats(&self, x: &[f32], dy: &[f32], n: usize, scratch: &Scratch, grads: &mut [f32], acc: &mut [f64]) {
        let (c_n, hw) = (self.shape.c, self.plane());
        let (mean, rstd) = scratch.f[..2 * c_n].split_at(c_n);
        for s in 0..n {
            for c in 0..c_n {
                let o = (s * c_n + c) * hw;
                let (mut sd, mut sdx) = (0.0f64, 0.0f64);
                for (&xv, &g) in x[o..o + hw].iter().zip(&dy[o..o + hw]) {
                    sd += g as f64;
                    sdx += (g * (xv - mean[c]) * rstd[c]) as f64;
                }
                acc[c] += sd;
                acc[c_n + c] += sdx;
                if self.affine {
                    grads[c] += sdx as f32;
                    grads[c_n + c] += sd as f32;
                }
            }
        }
    }

    fn backward_apply(&self, x: &[f32], dy: &[f32], dx: &mut [f32], n: usize, scratch: &Scratch, totals: &[f64], count: usize) {
        let (c_n, hw) = (self.shape.c, self.plane());
        let (mean, rstd) = scratch.f[..2 * c_n].split_at(c_n);
        for c in 0..c_n {
            // dx = γ·rstd·(dy − mean(dy) − x̂·mean(dy·x̂)), means over the whole batch.
            let (md, mdx) = ((totals[c] / count as f64) as f32, (totals[c_n + c] / count as f64) as f32);
            let k = self.gamma(c) * rstd[c];
            for s in 0..n {
                let o = (s * c_n + c) * hw;
                for ((d, &xv), &g) in dx[o..o + hw].iter_mut().zip(&x[o..o + hw]).zip(&dy[o..o + hw]) {
                    *d = k * (g - md - (xv - mean[c]) * rstd[c] * mdx);
                }
            }
        }
    }

    fn update_running(&mut self, totals: &[f64], count: usize) {
        if !self.track {
            return;
        }
        let c_n = self.shape.c;
        // The count is a float buffer (PyTorch saves it with the weights); it stays exact to 2^24.
        self.buffers[2 * c_n] += 1.0;
        let m = match self.momentum {
            Some(m) => m as f64,
            None => 1.0 / self.buffers[2 * c_n] as f64,
        };
        for c in 0..c_n {
            let mean = totals[c] / count as f64;
            let var = (totals[c_n + c] / count as f64 - mean * mean).max(0.0);
            // PyTorch tracks the unbiased variance.
            let unbiased = if count > 1 { var * count as f64 / (count - 1) as f64 } else { var };
            self.buffers[c] = ((1.0 - m) * self.buffers[c] as f64 + m * mean) as f32;
            self.buffers[c_n + c] = ((1.0 - m) * self.buffers[c_n + c] as f64 + m * unbiased) as f32;
        }
    }
}

impl Layer for BatchNorm {
    fn input_shape(&self) -> Shape {
        self.shape
    }

    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn params(&self) -> &[f32] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    fn param_tensors(&self) -> Vec<ParamTensor> {
        if !self.affine {
            return Vec::new();
        }
        let c = self.shape.c;
        vec![
            ParamTensor { name: "weight", shape: vec![c], offset: 0 },
            ParamTensor { name: "bias", shape: vec![c], offset: c },
        ]
    }

    fn buffers(&self) -> &[f32] {
        &self.buffers
    }

    fn buffers_mut(&mut self) -> &mut [f32] {
        &mut self.buffers
    }

    fn buffer_tensors(&self) -> Vec<ParamTensor> {
        if !self.track {
            return Vec::new();
        }
        let c = self.shape.c;
        vec![
            ParamTensor { name: "running_mean", shape: vec![c], offset: 0 },
            ParamTensor { name: "running_var", shape: vec![c], offset: c },
            ParamTensor { name: "num_batches_tracked", shape: vec![], offset: 2 * c },
        ]
    }

    fn coupled(&self) -> Option<&dyn BatchCoupled> {
        Some(self)
    }

    fn coupled_mut(&mut self) -> Option<&mut dyn BatchCoupled> {
        Some(self)
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, pass: &mut Pass) {
        scratch.eval_forward = !pass.train;
        if pass.train || !self.track {
            // This call alone sees the batch: its statistics are the chunk's.
            let mut acc = vec![0.0; self.stat_len()];
            self.forward_stats(x, n, &mut acc);
            self.forward_apply(x, y, n, &acc, n * self.plane(), scratch);
        } else {
            let c_n = self.shape.c;
            let st = take(&mut scratch.f, 2 * c_n);
            for c in 0..c_n {
                st[c] = self.buffers[c];
                st[c_n + c] = 1.0 / (self.buffers[c_n + c] + self.eps).sqrt();
            }
            let (mean, rstd) = st.split_at(c_n);
            self.normalise(x, y, n, mean, rstd);
        }
    }

    fn backward(
        &self,
        x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        if scratch.eval_forward {
            return self.backward_eval(x, dy, dx, grads, n, scratch);
        }
        let mut acc = vec![0.0; self.stat_len()];
        self.backward_stats(x, dy, n, scratch, grads, &mut acc);
        if let Some(dx) = dx {
            self.backward_apply(x, dy, dx, n, scratch, &acc, n * self.plane());
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
