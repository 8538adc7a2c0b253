//! PReLU (PyTorch `nn.PReLU`): `y = x` where `x > 0`, else `a·x`, with one learned slope `a` for
//! every channel (`num_parameters = 1`) or one per channel (per feature on a flat input), all
//! starting at `init` (0.25).
//!
//! # Shapes
//! `[N, C, *] → [N, C, *]` (unchanged); weight `[num_parameters]`.

use super::{Layer, ParamTensor, Pass, Scratch};
use crate::engine::shape::Shape;

/// Parametric ReLU.
#[derive(Clone, Debug)]
pub struct Prelu {
    shape: Shape,
    /// One slope, or one per channel.
    weight: Vec<f32>,
}

impl Prelu {
    /// Creates the layer with every slope at `init` (`num_parameters` checked by the spec to be 1
    /// or the channel count).
    pub fn new(shape: Shape, num_parameters: usize, init: f32) -> Self {
        Self { shape, weight: vec![init; num_parameters] }
    }

    /// Values sharing one slope: a channel's plane, or the whole sample for a single slope.
    fn span(&self) -> usize {
        if self.weight.len() == 1 { self.shape.len() } else { self.shape.h * self.shape.w }
    }
}

impl Layer for Prelu {
    fn input_shape(&self) -> Shape {
        self.shape
    }

    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn params(&self) -> &[f32] {
        &self.weight
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.weight
    }

    fn param_tensors(&self) -> Vec<ParamTensor> {
        vec![ParamTensor { name: "weight", shape: vec![self.weight.len()], offset: 0 }]
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let len = n * self.shape.len();
        let span = self.span();
        let slopes = self.weight.len();
        for (i, (ys, xs)) in y[..len].chunks_exact_mut(span).zip(x[..len].chunks_exact(span)).enumerate() {
            let a = self.weight[i % slopes];
            for (o, &v) in ys.iter_mut().zip(xs) {
                *o = if v > 0.0 { v } else { a * v };
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
        _scratch: &mut Scratch,
    ) {
        let len = n * self.shape.len();
        let span = self.span();
        let slopes = self.weight.len();
        // ∂y/∂a = x where x ≤ 0 (PyTorch: `input > 0 ? 0 : input · grad`).
        for (i, (xs, gs)) in x[..len].chunks_exact(span).zip(dy[..len].chunks_exact(span)).enumerate() {
            let sum: f32 = xs.iter().zip(gs).map(|(&v, &g)| if v > 0.0 { 0.0 } else { v * g }).sum();
            grads[i % slopes] += sum;
        }
        let Some(dx) = dx else { return };
        for (i, ((ds, xs), gs)) in dx[..len].chunks_exact_mut(span).zip(x[..len].chunks_exact(span)).zip(dy[..len].chunks_exact(span)).enumerate() {
            let a = self.weight[i % slopes];
            for ((d, &v), &g) in ds.iter_mut().zip(xs).zip(gs) {
                *d = if v > 0.0 { g } else { a * g };
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
