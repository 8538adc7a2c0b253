//! MaxPool2d: square window, stride (default = window), no padding, floor mode (PyTorch defaults).
//!
//! # Shapes
//! `[N, C, H, W] → [N, C, ⌊(H−k)/s⌋+1, ⌊(W−k)/s⌋+1]`; no parameters.

use super::{take, Layer, Pass, Scratch};
use crate::engine::shape::Shape;
use crate::engine::spec::window_out;

/// Max pooling layer.
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    input: Shape,
    output: Shape,
    kernel: usize,
    stride: usize,
}

impl MaxPool2d {
    /// Creates the layer for `input`.
    pub fn new(input: Shape, kernel: usize, stride: usize) -> Self {
        let oh = window_out(input.h, kernel, stride, 0).expect("validated by Spec::infer");
        let ow = window_out(input.w, kernel, stride, 0).expect("validated by Spec::infer");
        Self { input, output: Shape::new(input.c, oh, ow), kernel, stride }
    }
}

impl Layer for MaxPool2d {
    fn input_shape(&self) -> Shape {
        self.input
    }

    fn output_shape(&self) -> Shape {
        self.output
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let (ih, iw, oh, ow) = (self.input.h, self.input.w, self.output.h, self.output.w);
        let planes = n * self.input.c;
        // Argmax (index within the input plane) is kept for the backward pass.
        let argmax = take(&mut scratch.idx, planes * oh * ow);
        for p in 0..planes {
            let plane = &x[p * ih * iw..(p + 1) * ih * iw];
            for oy in 0..oh {
                for ox in 0..ow {
                    let (mut best, mut best_i) = (f32::NEG_INFINITY, oy * self.stride * iw + ox * self.stride);
                    for ky in 0..self.kernel {
                        let row = (oy * self.stride + ky) * iw + ox * self.stride;
                        for i in row..row + self.kernel {
                            // NaN propagates, as in PyTorch.
                            if plane[i] > best || plane[i].is_nan() {
                                best = plane[i];
                                best_i = i;
                                if best.is_nan() {
                                    break;
                                }
                            }
                        }
                    }
                    let o = (p * oh + oy) * ow + ox;
                    y[o] = best;
                    argmax[o] = best_i as u32;
                }
            }
        }
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let (in_plane, out_plane) = (self.input.h * self.input.w, self.output.h * self.output.w);
        let planes = n * self.input.c;
        dx[..planes * in_plane].fill(0.0);
        for p in 0..planes {
            let dxp = &mut dx[p * in_plane..(p + 1) * in_plane];
            let range = p * out_plane..(p + 1) * out_plane;
            for (&g, &i) in dy[range.clone()].iter().zip(&scratch.idx[range]) {
                dxp[i as usize] += g;
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
