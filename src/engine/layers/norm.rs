//! Per-sample normalisations: LayerNorm (over C·H·W, per-element affine, as
//! `nn.LayerNorm([C, H, W])`), InstanceNorm2d (per channel over H·W, affine off by default) and
//! GroupNorm (per group of channels; per-channel affine). All normalise contiguous groups of a
//! sample with the biased variance, so one implementation serves the three.
//!
//! # Shapes
//! `[N, *] → [N, *]` (unchanged); weight and bias `[C, H, W]` (LayerNorm; `[F]` on a flat input)
//! or `[C]`. LayerNorm may learn the scale alone (PyTorch's `bias=False`).

use super::{take, Layer, ParamTensor, Pass, Scratch};
use crate::engine::shape::Shape;

/// Which per-sample normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NormKind {
    /// One group per sample, affine per element.
    Layer,
    /// One group per channel, affine per channel.
    Instance,
    /// `groups` groups of channels, affine per channel.
    Group(usize),
}

/// A per-sample normalisation layer.
#[derive(Clone, Debug)]
pub struct GroupedNorm {
    shape: Shape,
    kind: NormKind,
    eps: f32,
    affine: bool,
    /// Learns a shift besides the scale (when `affine`).
    bias: bool,
    /// `[weight | bias]` (or `[weight]` without bias), ones and zeros at start (PyTorch).
    params: Vec<f32>,
}

impl GroupedNorm {
    /// Creates the layer with weight 1 and bias 0; `bias` matters only when `affine`.
    pub fn new(shape: Shape, kind: NormKind, eps: f32, affine: bool, bias: bool) -> Self {
        let mut s = Self { shape, kind, eps, affine, bias: affine && bias, params: Vec::new() };
        if affine {
            let n = s.affine_len();
            s.params = vec![1.0; n];
            if s.bias {
                s.params.resize(2 * n, 0.0);
            }
        }
        s
    }

    /// The learned shift of affine index `a` (0 without bias).
    fn shift(&self, a: usize) -> f32 {
        if self.bias { self.params[self.affine_len() + a] } else { 0.0 }
    }

    fn groups(&self) -> usize {
        match self.kind {
            NormKind::Layer => 1,
            NormKind::Instance => self.shape.c,
            NormKind::Group(g) => g,
        }
    }

    fn affine_len(&self) -> usize {
        if self.kind == NormKind::Layer { self.shape.len() } else { self.shape.c }
    }

    /// Elements sharing one affine weight (1 for LayerNorm, H·W otherwise).
    fn affine_span(&self) -> usize {
        if self.kind == NormKind::Layer { 1 } else { self.shape.h * self.shape.w }
    }
}

impl Layer for GroupedNorm {
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
        let shape = if self.kind == NormKind::Layer {
            let s = self.shape;
            if s.is_flat() { vec![s.c] } else { vec![s.c, s.h, s.w] }
        } else {
            vec![self.shape.c]
        };
        let n = self.affine_len();
        let mut tensors = vec![ParamTensor { name: "weight", shape: shape.clone(), offset: 0 }];
        if self.bias {
            tensors.push(ParamTensor { name: "bias", shape, offset: n });
        }
        tensors
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let (len, groups) = (self.shape.len(), self.groups());
        let glen = len / groups;
        // Per group: mean and 1/√(var+ε), kept for backward.
        let stats = take(&mut scratch.f, 2 * n * groups);
        let span = self.affine_span();
        for (gi, (xs, ys)) in x[..n * len].chunks_exact(glen).zip(y[..n * len].chunks_exact_mut(glen)).enumerate() {
            let mean = xs.iter().map(|&v| v as f64).sum::<f64>() / glen as f64;
            let var = xs.iter().map(|&v| (v as f64 - mean).powi(2)).sum::<f64>() / glen as f64;
            let rstd = 1.0 / (var + self.eps as f64).sqrt();
            stats[2 * gi] = mean as f32;
            stats[2 * gi + 1] = rstd as f32;
            let first = (gi % groups) * glen;
            for (k, (o, &v)) in ys.iter_mut().zip(xs).enumerate() {
                let xhat = (v - mean as f32) * rstd as f32;
                *o = if self.affine {
                    let a = (first + k) / span;
                    xhat * self.params[a] + self.shift(a)
                } else {
                    xhat
                };
            }
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
        let (len, groups) = (self.shape.len(), self.groups());
        let glen = len / groups;
        let (span, alen) = (self.affine_span(), self.affine_len());
        let stats = &scratch.f[..2 * n * groups];
        let mut dx = dx;
        for gi in 0..n * groups {
            let (mean, rstd) = (stats[2 * gi], stats[2 * gi + 1]);
            let xs = &x[gi * glen..(gi + 1) * glen];
            let dys = &dy[gi * glen..(gi + 1) * glen];
            let first = (gi % groups) * glen;
            // dx̂ = dy·γ; dx = rstd·(dx̂ − mean(dx̂) − x̂·mean(dx̂·x̂)).
            let (mut sum_d, mut sum_dx) = (0.0f64, 0.0f64);
            for (k, (&v, &g)) in xs.iter().zip(dys).enumerate() {
                let xhat = (v - mean) * rstd;
                let d = if self.affine {
                    let a = (first + k) / span;
                    grads[a] += g * xhat;
                    if self.bias {
                        grads[alen + a] += g;
                    }
                    g * self.params[a]
                } else {
                    g
                };
                sum_d += d as f64;
                sum_dx += (d * xhat) as f64;
            }
            let Some(dx) = dx.as_deref_mut() else { continue };
            let (md, mdx) = ((sum_d / glen as f64) as f32, (sum_dx / glen as f64) as f32);
            for (k, ((o, &v), &g)) in dx[gi * glen..(gi + 1) * glen].iter_mut().zip(xs).zip(dys).enumerate() {
                let xhat = (v - mean) * rstd;
                let d = if self.affine { g * self.params[(first + k) / span] } else { g };
                *o = rstd * (d - md - xhat * mdx);
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// LocalResponseNorm (PyTorch): `b_c = a_c · (k + α/n · Σ_{c'} a_{c'}²)^(−β)` over the `n`
/// channels `c − ⌊n/2⌋ … c + ⌊(n−1)/2⌋` that exist.
#[derive(Clone, Debug)]
pub struct LocalResponseNorm {
    shape: Shape,
    size: usize,
    alpha: f32,
    beta: f32,
    k: f32,
}

impl LocalResponseNorm {
    /// Creates the layer.
    pub fn new(shape: Shape, size: usize, alpha: f32, beta: f32, k: f32) -> Self {
        Self { shape, size, alpha, beta, k }
    }

    /// Channels `lo..hi` in the window of channel `c`.
    fn window(&self, c: usize) -> (usize, usize) {
        (c.saturating_sub(self.size / 2), (c + (self.size - 1) / 2 + 1).min(self.shape.c))
    }
}

impl Layer for LocalResponseNorm {
    fn input_shape(&self) -> Shape {
        self.shape
    }

    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let (len, hw) = (self.shape.len(), self.shape.h * self.shape.w);
        // s = k + α/n·Σa², kept for backward.
        let scale = take(&mut scratch.f, n * len);
        let a_n = self.alpha / self.size as f32;
        for s in 0..n {
            let xs = &x[s * len..(s + 1) * len];
            for c in 0..self.shape.c {
                let (lo, hi) = self.window(c);
                for p in 0..hw {
                    let sq: f32 = (lo..hi).map(|j| xs[j * hw + p] * xs[j * hw + p]).sum();
                    let i = s * len + c * hw + p;
                    scale[i] = self.k + a_n * sq;
                    y[i] = x[i] * scale[i].powf(-self.beta);
                }
            }
        }
    }

    fn backward(
        &self,
        x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let (len, hw) = (self.shape.len(), self.shape.h * self.shape.w);
        let scale = &scratch.f[..n * len];
        let coef = 2.0 * self.alpha * self.beta / self.size as f32;
        for s in 0..n {
            let base = s * len;
            for j in 0..self.shape.c {
                for p in 0..hw {
                    let i = base + j * hw + p;
                    // Channels whose window contains j: c with lo(c) ≤ j < hi(c).
                    let mut acc = 0.0;
                    for c in j.saturating_sub((self.size - 1) / 2)..(j + self.size / 2 + 1).min(self.shape.c) {
                        let o = base + c * hw + p;
                        acc += dy[o] * x[o] * scale[o].powf(-self.beta - 1.0);
                    }
                    dx[i] = dy[i] * scale[i].powf(-self.beta) - coef * x[i] * acc;
                }
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
