//! Layers: one file per family, each with forward, backward, parameters and its shape rule.
//!
//! Layers hold only their trainable parameters. Everything that depends on a mini-batch lives in
//! the caller's buffers (`x`, `y`, `dy`, `dx`, gradient slices, [`Scratch`]), so one set of layers
//! can be run by several threads on different chunks of a batch at once.

mod activation;
mod batchnorm;
mod conv;
mod dropout;
mod flatten;
mod linear;
mod norm;
mod pool;
mod prelu;
mod residual;
mod softmax;

pub use activation::{Act, Activation};
pub use batchnorm::BatchNorm;
pub use conv::{Conv2d, ConvOptions, ConvPlan};
pub use dropout::Dropout;
pub use norm::{GroupedNorm, LocalResponseNorm, NormKind};
pub use flatten::Flatten;
pub use linear::Linear;
pub use prelu::Prelu;
pub use residual::Join;
pub use pool::{adaptive_max, AvgPool2d, AxisWindows, MaxPool2d, PoolOptions, SpatialPyramidPool};
pub use softmax::Softmax;

use super::shape::Shape;
use super::spec::flat::Step;
use super::spec::{FieldError, Init, LayerSpec, Pair, Spec, SpecError};
use rand::Rng;
use rand_chacha::ChaCha8Rng;

/// Per-chunk working memory a layer may keep between its forward and backward pass.
/// Buffers only grow, so a steady-state training step allocates nothing.
#[derive(Default, Clone, Debug)]
pub struct Scratch {
    /// Float workspace (e.g. im2col columns).
    pub f: Vec<f32>,
    /// A second float workspace (e.g. column gradients).
    pub g: Vec<f32>,
    /// A third float workspace (e.g. a padded input).
    pub h: Vec<f32>,
    /// Index workspace (e.g. max-pool argmax).
    pub idx: Vec<u32>,
    /// The last forward ran in evaluation mode: layers whose two modes differ (BatchNorm)
    /// differentiate that function instead (saliency maps of a trained model).
    pub eval_forward: bool,
}

pub use super::kernels::take;

/// Context of one forward pass.
pub struct Pass<'a> {
    /// Training mode (dropout active, batch statistics) vs evaluation.
    pub train: bool,
    /// A backward pass follows (training, saliency maps): layers keep what it needs, e.g. the
    /// convolution's column matrices; without one they reuse a single sample's buffer.
    pub backward: bool,
    /// Random stream for this chunk of this step (seeded from the spec seed, step and chunk).
    pub rng: &'a mut ChaCha8Rng,
}

/// A named parameter tensor inside a layer's flat parameter vector (PyTorch state_dict naming).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ParamTensor {
    /// `weight` or `bias`.
    pub name: &'static str,
    /// PyTorch layout, e.g. `[out, in, kh, kw]`.
    pub shape: Vec<usize>,
    /// Offset into the flat parameter vector.
    pub offset: usize,
}

/// A layer of a sequential network. Activations are NCHW, `n` samples at a time.
pub trait Layer: Send + Sync {
    /// Per-sample input shape.
    fn input_shape(&self) -> Shape;
    /// Per-sample output shape.
    fn output_shape(&self) -> Shape;
    /// Flat trainable parameters (empty for parameter-free layers).
    fn params(&self) -> &[f32] {
        &[]
    }
    /// Mutable flat trainable parameters.
    fn params_mut(&mut self) -> &mut [f32] {
        &mut []
    }
    /// How the flat parameters split into named tensors.
    fn param_tensors(&self) -> Vec<ParamTensor> {
        Vec::new()
    }
    /// Non-trainable state saved with the weights (BatchNorm running statistics).
    fn buffers(&self) -> &[f32] {
        &[]
    }
    /// Mutable non-trainable state.
    fn buffers_mut(&mut self) -> &mut [f32] {
        &mut []
    }
    /// How the buffers split into named tensors.
    fn buffer_tensors(&self) -> Vec<ParamTensor> {
        Vec::new()
    }
    /// The batch-statistics interface, for layers whose training pass needs the whole batch.
    fn coupled(&self) -> Option<&dyn BatchCoupled> {
        None
    }
    /// Mutable batch-statistics interface (running statistics).
    fn coupled_mut(&mut self) -> Option<&mut dyn BatchCoupled> {
        None
    }
    /// The residual join this layer is, whose forward and backward also read the block's input.
    fn join(&self) -> Option<&Join> {
        None
    }
    /// Computes `y` (`n × output`) from `x` (`n × input`).
    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, pass: &mut Pass);
    /// Given `dy`, overwrites `dx` (when asked for) and adds parameter gradients into `grads`.
    #[allow(clippy::too_many_arguments)]
    fn backward(
        &self,
        x: &[f32],
        y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    );
    /// A boxed copy (parameters included).
    fn clone_box(&self) -> Box<dyn Layer>;
}

/// A layer whose training forward and backward need sums over the whole batch, which may be
/// split into chunks: each chunk adds its partial sums, the caller adds the chunks' sums in a
/// fixed order, and each chunk then applies the totals.
pub trait BatchCoupled: Send + Sync {
    /// Number of f64 accumulators.
    fn stat_len(&self) -> usize;
    /// Adds this chunk's forward sums into `acc`.
    fn forward_stats(&self, x: &[f32], n: usize, acc: &mut [f64]);
    /// Forward with the batch totals over `count` values per channel.
    fn forward_apply(&self, x: &[f32], y: &mut [f32], n: usize, totals: &[f64], count: usize, scratch: &mut Scratch);
    /// Adds this chunk's backward sums into `acc` and its parameter gradients into `grads`.
    fn backward_stats(&self, x: &[f32], dy: &[f32], n: usize, scratch: &Scratch, grads: &mut [f32], acc: &mut [f64]);
    /// Input gradient with the batch totals.
    #[allow(clippy::too_many_arguments)]
    fn backward_apply(&self, x: &[f32], dy: &[f32], dx: &mut [f32], n: usize, scratch: &Scratch, totals: &[f64], count: usize);
    /// Updates running statistics from the forward totals.
    fn update_running(&mut self, totals: &[f64], count: usize);
    /// Values per channel per sample (H·W), so `count = batch · per_sample`.
    fn per_sample(&self) -> usize;
}

impl Clone for Box<dyn Layer> {
    fn clone(&self) -> Self {
        self.clone_box()
    }
}

/// Fills weights and biases according to `init`; `fan_in`/`fan_out` as PyTorch computes them.
pub(crate) fn init_params(
    init: Init,
    fan_in: usize,
    fan_out: usize,
    weights: &mut [f32],
    bias: &mut [f32],
    rng: &mut ChaCha8Rng,
) {
    let (w_bound, b_bound) = match init {
        Init::Pytorch => {
            let b = 1.0 / (fan_in as f32).sqrt();
            (b, b)
        }
        Init::He => ((6.0 / fan_in as f32).sqrt(), 0.0),
        Init::Glorot => ((6.0 / (fan_in + fan_out) as f32).sqrt(), 0.0),
    };
    for w in weights.iter_mut() {
        *w = rng.random_range(-w_bound..=w_bound);
    }
    for b in bias.iter_mut() {
        *b = if b_bound > 0.0 { rng.random_range(-b_bound..=b_bound) } else { 0.0 };
    }
}

/// Builds one layer for a per-sample `input` shape; errors name the offending field.
pub fn build_layer(layer: &LayerSpec, input: Shape, init: Init, rng: &mut ChaCha8Rng) -> Result<Box<dyn Layer>, FieldError> {
    // The shape rule runs first, so every constructor below sees valid options.
    super::spec::infer_layer(layer, input)?;
    Ok(match *layer {
        LayerSpec::Conv2d { out_channels, kernel_size, stride, padding, padding_mode, dilation, groups, bias } => {
            let o = ConvOptions { out_channels, kernel: kernel_size, stride, padding, mode: padding_mode, dilation, groups, bias };
            Box::new(Conv2d::new(input, o, init, rng)?)
        }
        LayerSpec::Relu => Box::new(Activation::new(input, Act::Relu)),
        LayerSpec::LeakyRelu { negative_slope } => Box::new(Activation::new(input, Act::LeakyRelu(negative_slope))),
        LayerSpec::Sigmoid => Box::new(Activation::new(input, Act::Sigmoid)),
        LayerSpec::Tanh => Box::new(Activation::new(input, Act::Tanh)),
        LayerSpec::Silu => Box::new(Activation::new(input, Act::Silu)),
        LayerSpec::Mish => Box::new(Activation::new(input, Act::Mish)),
        LayerSpec::Elu { alpha } => Box::new(Activation::new(input, Act::Elu(alpha))),
        LayerSpec::Gelu { approximate } => {
            Box::new(Activation::new(input, Act::Gelu { tanh: approximate == crate::engine::spec::GeluApproximate::Tanh }))
        }
        LayerSpec::Relu6 => Box::new(Activation::new(input, Act::Relu6)),
        LayerSpec::Hardswish => Box::new(Activation::new(input, Act::Hardswish)),
        LayerSpec::Prelu { num_parameters, init } => Box::new(Prelu::new(input, num_parameters, init)),
        LayerSpec::Softmax => Box::new(Softmax::new(input)),
        LayerSpec::MaxPool2d { kernel_size, stride, padding, dilation, ceil_mode } => {
            Box::new(MaxPool2d::new(input, PoolOptions { kernel: kernel_size, stride, padding, dilation, ceil_mode })?)
        }
        LayerSpec::AvgPool2d { kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override } => {
            let o = PoolOptions { kernel: kernel_size, stride, padding, dilation: Pair::square(1), ceil_mode };
            Box::new(AvgPool2d::new(input, o, count_include_pad, divisor_override)?)
        }
        LayerSpec::AdaptiveAvgPool2d { output_size } => Box::new(AvgPool2d::adaptive(input, output_size)),
        LayerSpec::AdaptiveMaxPool2d { output_size } => Box::new(adaptive_max(input, output_size)),
        LayerSpec::SpatialPyramidPool { ref levels, pool } => Box::new(SpatialPyramidPool::new(input, levels, pool)),
        LayerSpec::Flatten => Box::new(Flatten::new(input)),
        LayerSpec::Dropout { p } => Box::new(Dropout::new(input, p, false)),
        LayerSpec::Dropout2d { p } => Box::new(Dropout::new(input, p, true)),
        LayerSpec::BatchNorm2d { eps, momentum, affine, track_running_stats }
        | LayerSpec::BatchNorm1d { eps, momentum, affine, track_running_stats } => {
            Box::new(BatchNorm::new(input, eps, momentum, affine, track_running_stats))
        }
        LayerSpec::LayerNorm { eps, elementwise_affine, bias } => {
            Box::new(GroupedNorm::new(input, NormKind::Layer, eps, elementwise_affine, bias))
        }
        LayerSpec::InstanceNorm2d { eps, affine } => Box::new(GroupedNorm::new(input, NormKind::Instance, eps, affine, true)),
        LayerSpec::GroupNorm { num_groups, eps, affine } => {
            Box::new(GroupedNorm::new(input, NormKind::Group(num_groups), eps, affine, true))
        }
        LayerSpec::LocalResponseNorm { size, alpha, beta, k } => Box::new(LocalResponseNorm::new(input, size, alpha, beta, k)),
        LayerSpec::Linear { out_features, bias } => Box::new(Linear::new(input.len(), out_features, bias, init, rng)),
        // The shape rule above refuses a block inside a block; a spec's blocks are opened by `build`.
        LayerSpec::Residual { .. } => return Err(FieldError::new("layers", crate::msg!("err.residual_nested"))),
    })
}

/// Builds the layers of a validated spec, initialised from `rng`: its flat list
/// ([`Spec::flat`]), residual blocks opened into their body and a [`Join`].
pub fn build(spec: &Spec, rng: &mut ChaCha8Rng) -> Result<Vec<Box<dyn Layer>>, SpecError> {
    let infos = spec.infer_flat()?;
    spec.flat()
        .iter()
        .zip(&infos)
        .map(|(flat, info)| match flat.step {
            Step::Layer(layer) => build_layer(layer, info.input, spec.init, rng).map_err(|e| e.at(flat.top)),
            Step::Join { from, shortcut } => Join::new(from, infos[from].input, info.input, shortcut, spec.init, rng)
                .map(|j| Box::new(j) as Box<dyn Layer>)
                .map_err(|e| e.at(flat.top)),
        })
        .collect()
}
