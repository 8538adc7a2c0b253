//! The layer variants of a spec, with PyTorch names, fields and defaults.

use serde::{Deserialize, Serialize};

/// A size for both spatial axes: written as one number (`5`) or as `[h, w]`, like PyTorch's
/// `_pair` arguments.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Pair {
    /// Along the height.
    pub h: usize,
    /// Along the width.
    pub w: usize,
}

impl Pair {
    /// The same size on both axes.
    pub const fn square(v: usize) -> Self {
        Self { h: v, w: v }
    }

    /// True when either axis is zero.
    pub const fn has_zero(&self) -> bool {
        self.h == 0 || self.w == 0
    }
}

impl From<usize> for Pair {
    fn from(v: usize) -> Self {
        Pair::square(v)
    }
}

impl std::fmt::Display for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.h == self.w {
            write!(f, "{}", self.h)
        } else {
            write!(f, "({}, {})", self.h, self.w)
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(untagged, expecting = "a size: a number such as 5, or [height, width] such as [5, 3]")]
enum PairRepr {
    One(usize),
    Two([usize; 2]),
}

impl Serialize for Pair {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.h == self.w { PairRepr::One(self.h) } else { PairRepr::Two([self.h, self.w]) }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Pair {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match PairRepr::deserialize(d)? {
            PairRepr::One(v) => Pair::square(v),
            PairRepr::Two([h, w]) => Pair { h, w },
        })
    }
}

/// Convolution padding: explicit sizes, or PyTorch's `"same"` / `"valid"` strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged, expecting = "padding: a number, [height, width], \"same\" or \"valid\"")]
pub enum Padding {
    /// `"same"` or `"valid"`.
    Word(PaddingWord),
    /// Explicit padding on each side (top = bottom, left = right).
    Size(Pair),
}

/// The named paddings PyTorch accepts.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaddingWord {
    /// Output as large as the input (stride 1 only); odd totals put the extra row/column after.
    Same,
    /// No padding.
    Valid,
}

impl Default for Padding {
    fn default() -> Self {
        Padding::Size(Pair::square(0))
    }
}

impl From<usize> for Padding {
    fn from(v: usize) -> Self {
        Padding::Size(Pair::square(v))
    }
}

/// How a convolution fills its padding (PyTorch `padding_mode`). `VARIANTS` lists the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, strum::VariantNames)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PaddingMode {
    /// Zeros.
    #[default]
    Zeros,
    /// Mirror without repeating the edge (`dcb|abcd|cba`).
    Reflect,
    /// Repeat the edge value (`aaa|abcd|ddd`).
    Replicate,
    /// Wrap around (`bcd|abcd|abc`).
    Circular,
}

/// Which GELU PyTorch computes (`approximate`). `VARIANTS` lists the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Default, strum::VariantNames)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum GeluApproximate {
    /// The exact `x·Φ(x)`.
    #[default]
    None,
    /// The tanh approximation.
    Tanh,
}

impl<'de> Deserialize<'de> for GeluApproximate {
    /// `"none"`, `"tanh"`, or `null` (a link's `none` is read as null).
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match Option::<String>::deserialize(d)?.as_deref() {
            None | Some("none") => Ok(GeluApproximate::None),
            Some("tanh") => Ok(GeluApproximate::Tanh),
            Some(other) => Err(serde::de::Error::invalid_value(serde::de::Unexpected::Str(other), &"\"none\" or \"tanh\"")),
        }
    }
}

/// How spatial pyramid pooling reduces each cell. `VARIANTS` lists the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, strum::VariantNames)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum PoolKind {
    /// Maximum of the cell.
    #[default]
    Max,
    /// Mean of the cell.
    Avg,
}

/// How a residual block's input reaches its sum. `VARIANTS` lists the names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default, strum::VariantNames)]
#[serde(rename_all = "snake_case")]
#[strum(serialize_all = "snake_case")]
pub enum Shortcut {
    /// The input itself: the body must keep the shape.
    #[default]
    Identity,
    /// A 1×1 convolution (with bias) to the body's channels, its stride matching the body's
    /// down-sampling (the projection shortcut of He et al. 2015).
    Conv1x1,
}

/// One layer of a sequential model. Input sizes are inferred from the previous layer. Each
/// variant is registered in `kinds.rs` ([`LayerKind`] is derived from this enum).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, strum::EnumDiscriminants)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
#[strum_discriminants(name(LayerKind), derive(Hash, strum::EnumIter), doc = "The kind of a [`LayerSpec`], without its fields.")]
pub enum LayerSpec {
    /// 2-D convolution (cross-correlation), PyTorch `nn.Conv2d`.
    Conv2d {
        /// Number of output channels.
        out_channels: usize,
        /// Kernel size.
        kernel_size: Pair,
        /// Stride (default 1).
        #[serde(default = "pair_one")]
        stride: Pair,
        /// Padding (default 0).
        #[serde(default)]
        padding: Padding,
        /// What the padding holds (default zeros).
        #[serde(default)]
        padding_mode: PaddingMode,
        /// Spacing between kernel taps (default 1).
        #[serde(default = "pair_one")]
        dilation: Pair,
        /// Channel groups; `groups = in_channels` is a depthwise convolution (default 1).
        #[serde(default = "one")]
        groups: usize,
        /// Learnable bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU.
    LeakyRelu {
        /// Slope for negative inputs (default 0.01).
        #[serde(default = "default_slope")]
        negative_slope: f32,
    },
    /// Logistic sigmoid.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// SiLU, also called Swish: `x·σ(x)`.
    Silu,
    /// Mish: `x·tanh(softplus(x))`.
    Mish,
    /// Exponential linear unit.
    Elu {
        /// Scale of the negative part (default 1.0).
        #[serde(default = "default_alpha")]
        alpha: f32,
    },
    /// GELU, `x·Φ(x)` with Φ the standard normal distribution function (`approximate = "tanh"`
    /// uses `0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))`).
    Gelu {
        /// `none` (exact, default) or `tanh`.
        #[serde(default)]
        approximate: GeluApproximate,
    },
    /// ReLU6: `min(max(0, x), 6)` (MobileNet).
    Relu6,
    /// Hardswish: `x·ReLU6(x + 3)/6` (MobileNetV3).
    Hardswish,
    /// PReLU: `x` if `x > 0`, else `a·x` with a learned slope `a`, one for all channels or one per
    /// channel.
    Prelu {
        /// 1 (one slope) or the number of input channels (default 1).
        #[serde(default = "one")]
        num_parameters: usize,
        /// The slopes' starting value (default 0.25).
        #[serde(default = "prelu_init")]
        init: f32,
    },
    /// Softmax over the features of each sample (PyTorch `nn.Softmax(dim=1)` on a flat input).
    Softmax,
    /// 2-D max pooling.
    MaxPool2d {
        /// Window size.
        kernel_size: Pair,
        /// Stride (PyTorch defaults it to the kernel size).
        #[serde(default)]
        stride: Option<Pair>,
        /// Implicit −∞ padding on each side, at most half the window (default 0).
        #[serde(default = "pair_zero")]
        padding: Pair,
        /// Spacing between window taps (default 1).
        #[serde(default = "pair_one")]
        dilation: Pair,
        /// Round the output size up instead of down (default false).
        #[serde(default)]
        ceil_mode: bool,
    },
    /// 2-D average pooling.
    AvgPool2d {
        /// Window size.
        kernel_size: Pair,
        /// Stride (PyTorch defaults it to the kernel size).
        #[serde(default)]
        stride: Option<Pair>,
        /// Implicit zero padding on each side, at most half the window (default 0).
        #[serde(default = "pair_zero")]
        padding: Pair,
        /// Round the output size up instead of down (default false).
        #[serde(default)]
        ceil_mode: bool,
        /// Count padded zeros in the divisor (default true).
        #[serde(default = "yes")]
        count_include_pad: bool,
        /// Divide every window's sum by this instead of its size (default none, PyTorch's
        /// `divisor_override`).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        divisor_override: Option<usize>,
    },
    /// Average pooling to a fixed output size (1 = global average pooling).
    AdaptiveAvgPool2d {
        /// Output size.
        output_size: Pair,
    },
    /// Max pooling to a fixed output size (1 = global max pooling).
    AdaptiveMaxPool2d {
        /// Output size.
        output_size: Pair,
    },
    /// Spatial pyramid pooling (He et al. 2014): adaptive pooling to `l×l` for each level `l`,
    /// flattened and concatenated → a flat vector of `C·Σl²` features.
    SpatialPyramidPool {
        /// Pyramid levels, e.g. `[1, 2, 4]`.
        levels: Vec<usize>,
        /// Max or average per cell (default max).
        #[serde(default)]
        pool: PoolKind,
    },
    /// Flattens C×H×W into a feature vector.
    Flatten,
    /// Dropout: zero elements with probability `p` in training, scale the rest by 1/(1−p).
    Dropout {
        /// Drop probability (default 0.5).
        #[serde(default = "half")]
        p: f32,
    },
    /// Dropout2d: zero whole channels with probability `p` in training.
    Dropout2d {
        /// Drop probability (default 0.5).
        #[serde(default = "half")]
        p: f32,
    },
    /// Batch normalisation over N·H·W per channel (running statistics for evaluation).
    BatchNorm2d {
        /// Added to the variance (default 1e-5).
        #[serde(default = "norm_eps")]
        eps: f32,
        /// Running-statistics update rate (default 0.1); `None` (`null`, `none` in a link) keeps
        /// a cumulative average of every batch instead, as PyTorch's `momentum=None`.
        #[serde(default = "bn_momentum")]
        momentum: Option<f32>,
        /// Learnable scale and shift (default true).
        #[serde(default = "yes")]
        affine: bool,
        /// Keep running statistics for evaluation (default true); without them evaluation
        /// normalises with the statistics of the batch it is given, as PyTorch does.
        #[serde(default = "yes")]
        track_running_stats: bool,
    },
    /// Batch normalisation of a flat feature vector over the batch (after Linear).
    BatchNorm1d {
        /// Added to the variance (default 1e-5).
        #[serde(default = "norm_eps")]
        eps: f32,
        /// Running-statistics update rate (default 0.1); `None` (`null`, `none` in a link) keeps
        /// a cumulative average of every batch instead, as PyTorch's `momentum=None`.
        #[serde(default = "bn_momentum")]
        momentum: Option<f32>,
        /// Learnable scale and shift (default true).
        #[serde(default = "yes")]
        affine: bool,
        /// Keep running statistics for evaluation (default true); without them evaluation
        /// normalises with the statistics of the batch it is given, as PyTorch does.
        #[serde(default = "yes")]
        track_running_stats: bool,
    },
    /// Layer normalisation over all of a sample's C·H·W values (`nn.LayerNorm([C, H, W])`).
    LayerNorm {
        /// Added to the variance (default 1e-5).
        #[serde(default = "norm_eps")]
        eps: f32,
        /// Learnable per-element scale and shift (default true).
        #[serde(default = "yes")]
        elementwise_affine: bool,
        /// Learn the shift as well as the scale when `elementwise_affine` (default true, PyTorch's
        /// `bias`).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Instance normalisation: each channel of each sample over H·W.
    InstanceNorm2d {
        /// Added to the variance (default 1e-5).
        #[serde(default = "norm_eps")]
        eps: f32,
        /// Learnable per-channel scale and shift (default false, as PyTorch).
        #[serde(default)]
        affine: bool,
    },
    /// Group normalisation: channels split into `num_groups` groups, each normalised per sample.
    GroupNorm {
        /// Number of groups (must divide the channels).
        num_groups: usize,
        /// Added to the variance (default 1e-5).
        #[serde(default = "norm_eps")]
        eps: f32,
        /// Learnable per-channel scale and shift (default true).
        #[serde(default = "yes")]
        affine: bool,
    },
    /// Local response normalisation across neighbouring channels (AlexNet).
    LocalResponseNorm {
        /// Channels in the window.
        size: usize,
        /// Scale (default 1e-4).
        #[serde(default = "lrn_alpha")]
        alpha: f32,
        /// Exponent (default 0.75).
        #[serde(default = "lrn_beta")]
        beta: f32,
        /// Additive constant (default 1).
        #[serde(default = "lrn_k")]
        k: f32,
    },
    /// Fully connected layer.
    Linear {
        /// Number of output features.
        out_features: usize,
        /// Learnable bias (default true).
        #[serde(default = "yes")]
        bias: bool,
    },
    /// Residual block (He et al. 2015): `body(x) + shortcut(x)`; the body is a list of layers
    /// (no residual block inside another).
    Residual {
        /// The body, applied in order.
        layers: Vec<LayerSpec>,
        /// Identity (default) or a 1×1 convolution.
        #[serde(default)]
        shortcut: Shortcut,
    },
}

fn prelu_init() -> f32 {
    0.25
}

fn one() -> usize {
    1
}

fn yes() -> bool {
    true
}

fn pair_one() -> Pair {
    Pair::square(1)
}

fn pair_zero() -> Pair {
    Pair::square(0)
}

fn half() -> f32 {
    0.5
}

fn norm_eps() -> f32 {
    1e-5
}

fn bn_momentum() -> Option<f32> {
    Some(0.1)
}

fn lrn_alpha() -> f32 {
    1e-4
}

fn lrn_beta() -> f32 {
    0.75
}

fn lrn_k() -> f32 {
    1.0
}

fn default_slope() -> f32 {
    0.01
}

fn default_alpha() -> f32 {
    1.0
}

impl LayerSpec {
    /// A plain convolution: square kernel, stride 1, zero padding, bias.
    pub fn conv(out_channels: usize, kernel_size: usize, padding: usize) -> Self {
        LayerSpec::Conv2d {
            out_channels,
            kernel_size: Pair::square(kernel_size),
            stride: Pair::square(1),
            padding: padding.into(),
            padding_mode: PaddingMode::Zeros,
            dilation: Pair::square(1),
            groups: 1,
            bias: true,
        }
    }

    /// A max-pool with square window, stride = window, no padding.
    pub fn max_pool(kernel_size: usize) -> Self {
        LayerSpec::MaxPool2d {
            kernel_size: Pair::square(kernel_size),
            stride: None,
            padding: Pair::square(0),
            dilation: Pair::square(1),
            ceil_mode: false,
        }
    }

    /// A linear layer with bias.
    pub fn linear(out_features: usize) -> Self {
        LayerSpec::Linear { out_features, bias: true }
    }

    /// PyTorch-style display name.
    pub fn kind_name(&self) -> &'static str {
        LayerKind::from(self).name()
    }
}
