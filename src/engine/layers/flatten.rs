//! Flatten: C×H×W → a feature vector in NCHW order (PyTorch `nn.Flatten()`).
//!
//! # Shapes
//! `[N, C, H, W] → [N, C·H·W]`; no parameters.

use super::{Layer, Pass, Scratch};
use crate::engine::shape::Shape;

/// Flatten layer (a copy: NCHW data is already laid out flat).
#[derive(Clone, Debug)]
pub struct Flatten {
    input: Shape,
}

impl Flatten {
    /// Creates the layer for `input`.
    pub fn new(input: Shape) -> Self {
        Self { input }
    }
}

impl Layer for Flatten {
    fn input_shape(&self) -> Shape {
        self.input
    }

    fn output_shape(&self) -> Shape {
        Shape::flat(self.input.len())
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let len = n * self.input.len();
        y[..len].copy_from_slice(&x[..len]);
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        _scratch: &mut Scratch,
    ) {
        if let Some(dx) = dx {
            let len = n * self.input.len();
            dx[..len].copy_from_slice(&dy[..len]);
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
