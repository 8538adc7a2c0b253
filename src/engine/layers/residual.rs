//! The join at the end of a residual block: `y = body(x) + shortcut(x)`, PyTorch's
//! `out = self.body(x) + self.shortcut(x)` in the exported `Residual` module.
//!
//! # Shapes
//! body output `[N, C', H', W']` and block input `[N, C, H, W]` → `[N, C', H', W']`; the
//! identity shortcut needs `C, H, W = C', H', W'`; the 1×1 projection takes `C` to `C'` with the
//! stride that takes `H, W` to `H', W'`.
//!
//! The network runs the body's layers as ordinary layers before this one ([`crate::engine::spec::flat`]);
//! the join reads the block's input from the activation it was given (`from`) and, going
//! backward, leaves that input's share of the gradient in a buffer the network adds once the
//! backward pass reaches the block's first layer.

use super::{build_layer, Layer, ParamTensor, Pass, Scratch};
use crate::engine::shape::Shape;
use crate::engine::spec::flat::{projection_stride, shortcut_conv};
use crate::engine::spec::{FieldError, Init, Shortcut};
use rand_chacha::ChaCha8Rng;

/// The sum closing a residual block, with its shortcut.
#[derive(Clone)]
pub struct Join {
    /// Activation index of the block's input (the flat index of its first body layer).
    pub from: usize,
    /// The block's input shape (what the shortcut reads).
    skip: Shape,
    /// The body's output shape (the sum's).
    body: Shape,
    /// The 1×1 projection (a `Conv2d`), or `None` for the identity.
    projection: Option<Box<dyn Layer>>,
}

impl Join {
    /// A join adding the block input of shape `skip` (activation `from`) to a body output of
    /// shape `body`; the projection is initialised from `rng` like any convolution.
    pub fn new(from: usize, skip: Shape, body: Shape, shortcut: Shortcut, init: Init, rng: &mut ChaCha8Rng) -> Result<Self, FieldError> {
        let projection = match shortcut {
            Shortcut::Identity => None,
            Shortcut::Conv1x1 => {
                let Some(stride) = projection_stride(skip, body) else {
                    return Err(FieldError::new("shortcut", crate::msg!("err.residual_stride", skip, body)));
                };
                Some(build_layer(&shortcut_conv(body.c, stride), skip, init, rng)?)
            }
        };
        Ok(Self { from, skip, body, projection })
    }

    /// Values per sample of the block's input.
    pub fn skip_len(&self) -> usize {
        self.skip.len()
    }

    /// `y = x + shortcut(skip)` for `n` samples (`x` the body's output, `skip` the block's input).
    pub fn forward_join(&self, x: &[f32], skip: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, pass: &mut Pass) {
        let len = n * self.body.len();
        let (x, y) = (&x[..len], &mut y[..len]);
        match &self.projection {
            Some(conv) => {
                conv.forward(skip, y, n, scratch, pass);
                for (o, &a) in y.iter_mut().zip(x) {
                    *o += a;
                }
            }
            None => {
                for ((o, &a), &b) in y.iter_mut().zip(x).zip(&skip[..len]) {
                    *o = a + b;
                }
            }
        }
    }

    /// Backward of the sum: `dx = dy` (when asked for) and the block input's share,
    /// `dskip = shortcutᵀ(dy)`, overwritten; the projection's gradients are added into `grads`.
    #[allow(clippy::too_many_arguments)]
    pub fn backward_join(&self, skip: &[f32], dy: &[f32], dx: Option<&mut [f32]>, dskip: &mut [f32], grads: &mut [f32], n: usize, scratch: &mut Scratch) {
        let len = n * self.body.len();
        if let Some(dx) = dx {
            dx[..len].copy_from_slice(&dy[..len]);
        }
        match &self.projection {
            // The convolution's backward does not read its output.
            Some(conv) => conv.backward(skip, &[], dy, Some(dskip), grads, n, scratch),
            None => dskip[..len].copy_from_slice(&dy[..len]),
        }
    }
}

impl Layer for Join {
    fn input_shape(&self) -> Shape {
        self.body
    }

    fn output_shape(&self) -> Shape {
        self.body
    }

    fn params(&self) -> &[f32] {
        self.projection.as_ref().map_or(&[], |c| c.params())
    }

    fn params_mut(&mut self) -> &mut [f32] {
        match &mut self.projection {
            Some(c) => c.params_mut(),
            None => &mut [],
        }
    }

    fn param_tensors(&self) -> Vec<ParamTensor> {
        self.projection.as_ref().map_or_else(Vec::new, |c| c.param_tensors())
    }

    fn join(&self) -> Option<&Join> {
        Some(self)
    }

    /// Only the body's share: the network calls [`Join::forward_join`], which has the block's input.
    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let len = n * self.body.len();
        y[..len].copy_from_slice(&x[..len]);
    }

    /// Only the body's share (see [`Layer::forward`] above).
    fn backward(&self, _x: &[f32], _y: &[f32], dy: &[f32], dx: Option<&mut [f32]>, _grads: &mut [f32], n: usize, _scratch: &mut Scratch) {
        if let Some(dx) = dx {
            let len = n * self.body.len();
            dx[..len].copy_from_slice(&dy[..len]);
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
