//! Softmax as a layer over each sample's features (PyTorch `nn.Softmax(dim=1)`). For training,
//! prefer the loss's fused softmax cross-entropy on logits: it is exact where this saturates.
//!
//! # Shapes
//! `[N, F] → [N, F]`; no parameters.

use super::{Layer, Pass, Scratch};
use crate::engine::loss::softmax;
use crate::engine::shape::Shape;

/// Softmax layer.
#[derive(Clone, Debug)]
pub struct Softmax {
    input: Shape,
}

impl Softmax {
    /// Creates the layer for a flat `input`.
    pub fn new(input: Shape) -> Self {
        Self { input }
    }
}

impl Layer for Softmax {
    fn input_shape(&self) -> Shape {
        self.input
    }

    fn output_shape(&self) -> Shape {
        self.input
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let f = self.input.len();
        for (xs, ys) in x[..n * f].chunks_exact(f).zip(y[..n * f].chunks_exact_mut(f)) {
            softmax(xs, ys);
        }
    }

    fn backward(
        &self,
        _x: &[f32],
        y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        _scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let f = self.input.len();
        // dx = y ⊙ (dy − Σ dy·y)
        for s in 0..n {
            let (ys, dys) = (&y[s * f..(s + 1) * f], &dy[s * f..(s + 1) * f]);
            let dot: f32 = ys.iter().zip(dys).map(|(a, b)| a * b).sum();
            for ((d, &yv), &g) in dx[s * f..(s + 1) * f].iter_mut().zip(ys).zip(dys) {
                *d = yv * (g - dot);
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
