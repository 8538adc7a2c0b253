//! Element-wise activations (PyTorch semantics).
//!
//! # Shapes
//! `[N, *] → [N, *]` (unchanged); no parameters.

use super::{Layer, Pass, Scratch};
use crate::engine::shape::Shape;

/// ReLU: `max(0, x)`; the gradient at exactly 0 is 0, as in PyTorch.
#[derive(Clone, Debug)]
pub struct Relu {
    shape: Shape,
}

impl Relu {
    /// Creates the layer for `shape`.
    pub fn new(shape: Shape) -> Self {
        Self { shape }
    }
}

impl Layer for Relu {
    fn input_shape(&self) -> Shape {
        self.shape
    }

    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let len = n * self.shape.len();
        for (o, &v) in y[..len].iter_mut().zip(&x[..len]) {
            // Written so NaN passes through (a diverging run stays visible) and it vectorises;
            // `v.max(0.0)` would turn NaN into 0.
            *o = if v < 0.0 { 0.0 } else { v };
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
        _scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let len = n * self.shape.len();
        for ((d, &g), &v) in dx[..len].iter_mut().zip(&dy[..len]).zip(&x[..len]) {
            *d = if v > 0.0 { g } else { 0.0 };
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
