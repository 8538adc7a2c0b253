//! Element-wise activations (PyTorch semantics and defaults).
//!
//! # Shapes
//! `[N, *] → [N, *]` (unchanged); no parameters.

use super::{Layer, Pass, Scratch};
use crate::engine::shape::Shape;

/// Which function an [`Activation`] applies.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Act {
    /// `max(0, x)`; gradient 0 at x = 0.
    Relu,
    /// `x` if `x > 0`, else `slope·x`.
    LeakyRelu(f32),
    /// `1 / (1 + e^(−x))`.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// SiLU / Swish: `x·σ(x)`.
    Silu,
    /// Mish: `x·tanh(softplus(x))` (softplus linear above 20, as PyTorch).
    Mish,
    /// ELU: `x` if `x > 0`, else `α(e^x − 1)`.
    Elu(f32),
    /// GELU: `x·Φ(x)`, or its tanh approximation.
    Gelu {
        /// PyTorch's `approximate="tanh"`.
        tanh: bool,
    },
    /// ReLU6: `min(max(0, x), 6)`; gradient 0 at both kinks (PyTorch's hardtanh backward).
    Relu6,
    /// Hardswish: `x·ReLU6(x + 3)/6`.
    Hardswish,
}

/// √(2/π), in the tanh approximation of GELU.
const SQRT_2_OVER_PI: f32 = 0.797_884_6;
/// The cubic coefficient of the tanh approximation of GELU.
const GELU_CUBIC: f32 = 0.044_715;

/// Φ(x) = ½(1 + erf(x/√2)), the standard normal distribution function.
fn normal_cdf(x: f32) -> f32 {
    0.5 * (1.0 + libm::erff(x * std::f32::consts::FRAC_1_SQRT_2))
}

/// tanh(√(2/π)·(x + 0.044715·x³)).
fn gelu_tanh_inner(x: f32) -> f32 {
    (SQRT_2_OVER_PI * (x + GELU_CUBIC * x * x * x)).tanh()
}

use crate::engine::kernels::{activation as kernels, math};

fn sigmoid(x: f32) -> f32 {
    math::sigmoid(x)
}

/// PyTorch's softplus with threshold 20: linear where exp would not change the result.
fn softplus(x: f32) -> f32 {
    if x > 20.0 {
        x
    } else {
        x.exp().ln_1p()
    }
}

impl Act {
    /// f(x). Always inlined, so that in each per-function loop (the variant a constant) the
    /// match folds away and nothing stands between the loop and vectorisation.
    #[inline(always)]
    fn apply(self, x: f32) -> f32 {
        match self {
            // Written so NaN passes through (a diverging run stays visible) and it vectorises.
            Act::Relu => {
                if x < 0.0 {
                    0.0
                } else {
                    x
                }
            }
            Act::LeakyRelu(s) => {
                if x > 0.0 {
                    x
                } else {
                    s * x
                }
            }
            Act::Sigmoid => sigmoid(x),
            Act::Tanh => math::tanh(x),
            Act::Silu => x * sigmoid(x),
            Act::Mish => x * softplus(x).tanh(),
            Act::Elu(a) => {
                if x > 0.0 {
                    x
                } else {
                    a * x.exp_m1()
                }
            }
            Act::Gelu { tanh: false } => x * normal_cdf(x),
            Act::Gelu { tanh: true } => 0.5 * x * (1.0 + gelu_tanh_inner(x)),
            // NaN passes through by an explicit test: with relaxed SIMD the two comparisons may
            // run as x86 min/max in Chromium, which drop NaNs (a probe once saw 6).
            Act::Relu6 => {
                let clamped = if x < 0.0 {
                    0.0
                } else if x > 6.0 {
                    6.0
                } else {
                    x
                };
                if x.is_nan() {
                    x
                } else {
                    clamped
                }
            }
            Act::Hardswish => {
                if x <= -3.0 {
                    0.0
                } else if x >= 3.0 {
                    x
                } else {
                    x * (x + 3.0) / 6.0
                }
            }
        }
    }

    /// f'(x), given the input `x` and the output `y = f(x)` (inlined like [`Act::apply`]).
    #[inline(always)]
    fn derivative(self, x: f32, y: f32) -> f32 {
        match self {
            Act::Relu => f32::from(x > 0.0),
            Act::LeakyRelu(s) => {
                if x > 0.0 {
                    1.0
                } else {
                    s
                }
            }
            Act::Sigmoid => y * (1.0 - y),
            Act::Tanh => 1.0 - y * y,
            Act::Silu => {
                let s = sigmoid(x);
                s * (1.0 + x * (1.0 - s))
            }
            Act::Mish => {
                let t = softplus(x).tanh();
                t + x * (1.0 - t * t) * sigmoid(x)
            }
            Act::Elu(a) => {
                if x > 0.0 {
                    1.0
                } else {
                    y + a
                }
            }
            Act::Gelu { tanh: false } => {
                let density = (-0.5 * x * x).exp() * (0.5 * std::f32::consts::FRAC_2_SQRT_PI * std::f32::consts::FRAC_1_SQRT_2);
                normal_cdf(x) + x * density
            }
            Act::Gelu { tanh: true } => {
                let t = gelu_tanh_inner(x);
                let du = SQRT_2_OVER_PI * (1.0 + 3.0 * GELU_CUBIC * x * x);
                0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du
            }
            Act::Relu6 => f32::from(x > 0.0 && x < 6.0),
            // PyTorch's hardswish_backward: 0 below −3, x/3 + ½ up to 3 (inclusive), 1 above.
            Act::Hardswish => {
                if x < -3.0 {
                    0.0
                } else if x <= 3.0 {
                    x / 3.0 + 0.5
                } else {
                    1.0
                }
            }
        }
    }
}

/// An element-wise activation layer.
#[derive(Clone, Debug)]
pub struct Activation {
    shape: Shape,
    act: Act,
}

impl Activation {
    /// Creates the layer for `shape`.
    pub fn new(shape: Shape, act: Act) -> Self {
        Self { shape, act }
    }
}

/// `y[i] = f(x[i])`, monomorphised per function so each loop vectorises.
#[inline(always)]
fn map_into(x: &[f32], y: &mut [f32], f: impl Fn(f32) -> f32) {
    for (o, &v) in y.iter_mut().zip(x) {
        *o = f(v);
    }
}

/// `dx[i] = dy[i] · f'(x[i], y[i])`, monomorphised per function like [`map_into`].
#[inline(always)]
fn chain_into(dx: &mut [f32], dy: &[f32], x: &[f32], y: &[f32], derivative: impl Fn(f32, f32) -> f32) {
    for (((d, &g), &xv), &yv) in dx.iter_mut().zip(dy).zip(x).zip(y) {
        *d = g * derivative(xv, yv);
    }
}

impl Layer for Activation {
    fn input_shape(&self) -> Shape {
        self.shape
    }

    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let len = n * self.shape.len();
        let (x, y) = (&x[..len], &mut y[..len]);
        // One loop per function: dispatching on the enum per element kept the wasm build from
        // vectorising (ReLU forward 14 µs per image instead of ~2).
        match self.act {
            Act::Relu => map_into(x, y, |v| Act::Relu.apply(v)),
            Act::LeakyRelu(s) => map_into(x, y, |v| Act::LeakyRelu(s).apply(v)),
            // The exponential ones have SIMD kernels (constants kept out of the loop).
            Act::Sigmoid => kernels::sigmoid(x, y),
            Act::Tanh => kernels::tanh(x, y),
            Act::Silu => kernels::silu(x, y),
            Act::Mish => map_into(x, y, |v| Act::Mish.apply(v)),
            Act::Elu(a) => map_into(x, y, |v| Act::Elu(a).apply(v)),
            Act::Gelu { tanh } => map_into(x, y, |v| Act::Gelu { tanh }.apply(v)),
            Act::Relu6 => map_into(x, y, |v| Act::Relu6.apply(v)),
            Act::Hardswish => map_into(x, y, |v| Act::Hardswish.apply(v)),
        }
    }

    fn backward(
        &self,
        x: &[f32],
        y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        _scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let len = n * self.shape.len();
        let (dx, dy, x, y) = (&mut dx[..len], &dy[..len], &x[..len], &y[..len]);
        match self.act {
            // PyTorch's threshold_backward: the gradient where x > 0, zero elsewhere (a select).
            Act::Relu => {
                for ((d, &g), &xv) in dx.iter_mut().zip(dy).zip(x) {
                    *d = if xv > 0.0 { g } else { 0.0 };
                }
            }
            Act::LeakyRelu(s) => chain_into(dx, dy, x, y, |xv, yv| Act::LeakyRelu(s).derivative(xv, yv)),
            Act::Sigmoid => chain_into(dx, dy, x, y, |xv, yv| Act::Sigmoid.derivative(xv, yv)),
            Act::Tanh => chain_into(dx, dy, x, y, |xv, yv| Act::Tanh.derivative(xv, yv)),
            Act::Silu => chain_into(dx, dy, x, y, |xv, yv| Act::Silu.derivative(xv, yv)),
            Act::Mish => chain_into(dx, dy, x, y, |xv, yv| Act::Mish.derivative(xv, yv)),
            Act::Elu(a) => chain_into(dx, dy, x, y, |xv, yv| Act::Elu(a).derivative(xv, yv)),
            Act::Gelu { tanh } => chain_into(dx, dy, x, y, |xv, yv| Act::Gelu { tanh }.derivative(xv, yv)),
            Act::Relu6 => chain_into(dx, dy, x, y, |xv, yv| Act::Relu6.derivative(xv, yv)),
            Act::Hardswish => chain_into(dx, dy, x, y, |xv, yv| Act::Hardswish.derivative(xv, yv)),
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_match_pytorch() {
        // torch.nn.functional.{leaky_relu, sigmoid, tanh, silu, mish, elu} at x = −1.5 and 2.0.
        let cases: [(Act, [f32; 2]); 7] = [
            (Act::Relu, [0.0, 2.0]),
            (Act::LeakyRelu(0.01), [-0.015, 2.0]),
            (Act::Sigmoid, [0.182_425_52, 0.880_797_1]),
            (Act::Tanh, [-0.905_148_3, 0.964_027_6]),
            (Act::Silu, [-0.273_638_27, 1.761_594_2]),
            (Act::Mish, [-0.298_099_74, 1.943_959]),
            (Act::Elu(1.0), [-0.776_869_84, 2.0]),
        ];
        for (act, expected) in cases {
            for (x, e) in [-1.5f32, 2.0].into_iter().zip(expected) {
                assert!((act.apply(x) - e).abs() < 1e-5, "{act:?}({x}) = {} not {e}", act.apply(x));
            }
        }
        assert!(Act::Relu.apply(f32::NAN).is_nan(), "NaN must stay visible");
        assert_eq!(Act::Mish.apply(30.0), 30.0);
    }
}
