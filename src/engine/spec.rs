//! The one serializable model + training spec, and shape inference on it.
//!
//! The UI, the worker protocol, the CLI and (later) the URL codec and exporters all use
//! [`Spec`]. Layer names, fields and defaults follow PyTorch.

use super::shape::Shape;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Current spec format version; bumped when a field changes meaning.
pub const SPEC_VERSION: u32 = 1;

/// Largest activation + parameter memory (bytes, per training sample chunk of 16) we accept.
/// Chosen so a browser tab (1 GiB wasm memory cap) keeps room for the datasets (~55 MB).
pub const MEMORY_BUDGET_BYTES: usize = 512 * 1024 * 1024;

/// Which dataset to train on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetKind {
    /// Handwritten digits (LeCun et al.), 60k train / 10k test.
    #[default]
    Mnist,
    /// Zalando clothing images, same format as MNIST.
    FashionMnist,
}

impl DatasetKind {
    /// Per-sample input shape.
    pub const fn input_shape(self) -> Shape {
        Shape::new(1, 28, 28)
    }

    /// Number of classes.
    pub const fn classes(self) -> usize {
        10
    }

    /// Folder name of the static assets.
    pub const fn asset_dir(self) -> &'static str {
        match self {
            DatasetKind::Mnist => "mnist",
            DatasetKind::FashionMnist => "fashion-mnist",
        }
    }
}

/// How weights are initialised (biases follow the same scheme's convention).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Init {
    /// PyTorch's default: kaiming_uniform(a=√5), i.e. U(±1/√fan_in), bias U(±1/√fan_in).
    #[default]
    Pytorch,
    /// He/Kaiming uniform for ReLU nets: U(±√(6/fan_in)), bias 0.
    He,
    /// Glorot/Xavier uniform: U(±√(6/(fan_in+fan_out))), bias 0.
    Glorot,
}

/// One layer of a sequential model. Input sizes are inferred from the previous layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum LayerSpec {
    /// 2-D convolution with zero padding.
    Conv2d {
        /// Number of output channels.
        out_channels: usize,
        /// Square kernel size.
        kernel_size: usize,
        /// Stride (PyTorch default 1).
        #[serde(default = "one")]
        stride: usize,
        /// Zero padding on each side (PyTorch default 0).
        #[serde(default)]
        padding: usize,
    },
    /// Rectified linear unit.
    Relu,
    /// Leaky ReLU.
    LeakyRelu {
        /// Slope for negative inputs (PyTorch default 0.01).
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
        /// Scale of the negative part (PyTorch default 1.0).
        #[serde(default = "default_alpha")]
        alpha: f32,
    },
    /// 2-D max pooling.
    MaxPool2d {
        /// Square window size.
        kernel_size: usize,
        /// Stride; PyTorch defaults it to the kernel size.
        #[serde(default)]
        stride: Option<usize>,
    },
    /// 2-D average pooling.
    AvgPool2d {
        /// Square window size.
        kernel_size: usize,
        /// Stride; PyTorch defaults it to the kernel size.
        #[serde(default)]
        stride: Option<usize>,
    },
    /// Flattens C×H×W into a feature vector.
    Flatten,
    /// Fully connected layer.
    Linear {
        /// Number of output features.
        out_features: usize,
    },
}

fn one() -> usize {
    1
}

fn default_slope() -> f32 {
    0.01
}

fn default_alpha() -> f32 {
    1.0
}

impl LayerSpec {
    /// PyTorch-style display name.
    pub fn kind_name(&self) -> &'static str {
        match self {
            LayerSpec::Conv2d { .. } => "Conv2d",
            LayerSpec::Relu => "ReLU",
            LayerSpec::LeakyRelu { .. } => "LeakyReLU",
            LayerSpec::Sigmoid => "Sigmoid",
            LayerSpec::Tanh => "Tanh",
            LayerSpec::Silu => "SiLU",
            LayerSpec::Mish => "Mish",
            LayerSpec::Elu { .. } => "ELU",
            LayerSpec::MaxPool2d { .. } => "MaxPool2d",
            LayerSpec::AvgPool2d { .. } => "AvgPool2d",
            LayerSpec::Flatten => "Flatten",
            LayerSpec::Linear { .. } => "Linear",
        }
    }
}

/// Optimizer settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerSpec {
    /// Stochastic gradient descent with (PyTorch-style) momentum.
    Sgd {
        /// Learning rate.
        lr: f32,
        /// Momentum factor (0 disables it).
        #[serde(default)]
        momentum: f32,
    },
}

/// Training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Mini-batch size.
    pub batch_size: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Optimizer and its parameters.
    pub optimizer: OptimizerSpec,
}

/// The complete, serializable description of a model and how to train it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Format version ([`SPEC_VERSION`]).
    pub version: u32,
    /// Dataset to train and test on.
    pub dataset: DatasetKind,
    /// The layers, applied in order.
    pub layers: Vec<LayerSpec>,
    /// Weight initialisation scheme.
    #[serde(default)]
    pub init: Init,
    /// Training settings.
    pub training: TrainingSpec,
    /// Seed for every random choice (initialisation, shuffling).
    pub seed: u64,
}

impl Default for Spec {
    /// The classic small net: conv5x5x8 pad2, ReLU, maxpool2, conv5x5x16 pad2, ReLU, maxpool2, dense 10.
    fn default() -> Self {
        Spec {
            version: SPEC_VERSION,
            dataset: DatasetKind::Mnist,
            layers: vec![
                LayerSpec::Conv2d { out_channels: 8, kernel_size: 5, stride: 1, padding: 2 },
                LayerSpec::Relu,
                LayerSpec::MaxPool2d { kernel_size: 2, stride: None },
                LayerSpec::Conv2d { out_channels: 16, kernel_size: 5, stride: 1, padding: 2 },
                LayerSpec::Relu,
                LayerSpec::MaxPool2d { kernel_size: 2, stride: None },
                LayerSpec::Flatten,
                LayerSpec::Linear { out_features: 10 },
            ],
            init: Init::Pytorch,
            training: TrainingSpec {
                batch_size: 64,
                epochs: 1,
                optimizer: OptimizerSpec::Sgd { lr: 0.05, momentum: 0.9 },
            },
            seed: 42,
        }
    }
}

/// Names accepted by [`Spec::preset`].
pub const PRESETS: [&str; 3] = ["reference", "lenet-5", "pytorch-mnist-cnn"];

impl Spec {
    /// A named preset: `reference` (the classic small net, [`Spec::default`]), `lenet-5` (LeCun
    /// et al. 1998 as the tutorials teach it: tanh, average pooling, 120-84-10) or
    /// `pytorch-mnist-cnn` (conv 16/32/64 5×5 pad 2 with ReLU, two max-pools, linear 10).
    pub fn preset(name: &str) -> Option<Spec> {
        let conv = |out_channels| LayerSpec::Conv2d { out_channels, kernel_size: 5, stride: 1, padding: 2 };
        let pool = || LayerSpec::MaxPool2d { kernel_size: 2, stride: None };
        let avg = || LayerSpec::AvgPool2d { kernel_size: 2, stride: None };
        let linear = |out_features| LayerSpec::Linear { out_features };
        match name {
            "reference" => Some(Spec::default()),
            "lenet-5" => Some(Spec {
                layers: vec![
                    conv(6), LayerSpec::Tanh, avg(),
                    LayerSpec::Conv2d { out_channels: 16, kernel_size: 5, stride: 1, padding: 0 }, LayerSpec::Tanh, avg(),
                    LayerSpec::Flatten, linear(120), LayerSpec::Tanh, linear(84), LayerSpec::Tanh, linear(10),
                ],
                ..Spec::default()
            }),
            "pytorch-mnist-cnn" => Some(Spec {
                layers: vec![
                    conv(16), LayerSpec::Relu, pool(),
                    conv(32), LayerSpec::Relu, pool(),
                    conv(64), LayerSpec::Relu,
                    LayerSpec::Flatten, LayerSpec::Linear { out_features: 10 },
                ],
                ..Spec::default()
            }),
            _ => None,
        }
    }
}

/// A spec problem, naming the layer (if any) and the field.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SpecError {
    /// Index of the offending layer, or `None` for a spec-level field.
    pub layer: Option<usize>,
    /// Name of the offending field.
    pub field: String,
    /// Human-readable explanation.
    pub message: String,
}

impl SpecError {
    fn layer(index: usize, field: &str, message: impl Into<String>) -> Self {
        Self { layer: Some(index), field: field.into(), message: message.into() }
    }

    fn top(field: &str, message: impl Into<String>) -> Self {
        Self { layer: None, field: field.into(), message: message.into() }
    }
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.layer {
            Some(i) => write!(f, "layer {i}, field `{}`: {}", self.field, self.message),
            None => write!(f, "field `{}`: {}", self.field, self.message),
        }
    }
}

impl std::error::Error for SpecError {}

/// What shape inference reports for one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// PyTorch-style layer name.
    pub name: String,
    /// Input shape per sample.
    pub input: Shape,
    /// Output shape per sample.
    pub output: Shape,
    /// Trainable parameter count.
    pub params: usize,
    /// Forward FLOPs per sample (a multiply-add counts as 2).
    pub flops: u64,
}

/// Output size of a sliding window: ⌊(n + 2p − k)/s⌋ + 1, or `None` if the window does not fit.
pub fn window_out(n: usize, kernel: usize, stride: usize, padding: usize) -> Option<usize> {
    let padded = n + 2 * padding;
    if kernel == 0 || stride == 0 || kernel > padded {
        return None;
    }
    Some((padded - kernel) / stride + 1)
}

impl Spec {
    /// Parses a spec from JSON, with serde's message on failure.
    pub fn from_json(text: &str) -> Result<Spec, String> {
        serde_json::from_str(text).map_err(|e| format!("invalid spec JSON: {e}"))
    }

    /// Validates the spec and infers every layer's shapes, parameters and FLOPs.
    pub fn infer(&self) -> Result<Vec<LayerInfo>, SpecError> {
        if self.version != SPEC_VERSION {
            return Err(SpecError::top(
                "version",
                format!("unsupported spec version {} (this build reads {SPEC_VERSION})", self.version),
            ));
        }
        self.check_training()?;
        if self.layers.is_empty() {
            return Err(SpecError::top("layers", "the model has no layers"));
        }
        let mut shape = self.dataset.input_shape();
        let mut infos = Vec::with_capacity(self.layers.len());
        let mut memory = 0usize;
        for (i, layer) in self.layers.iter().enumerate() {
            let info = infer_layer(i, layer, shape)?;
            memory += (info.output.len() * 16 + info.params * 4) * 4;
            shape = info.output;
            infos.push(info);
        }
        if memory > MEMORY_BUDGET_BYTES {
            return Err(SpecError::top(
                "layers",
                format!(
                    "the model needs about {} MB of activations and parameters, over the {} MB budget",
                    memory >> 20,
                    MEMORY_BUDGET_BYTES >> 20
                ),
            ));
        }
        let classes = self.dataset.classes();
        if shape != Shape::flat(classes) {
            return Err(SpecError::layer(
                self.layers.len() - 1,
                "output",
                format!("the model must end with {classes} class scores, but outputs {shape}"),
            ));
        }
        Ok(infos)
    }

    fn check_training(&self) -> Result<(), SpecError> {
        let t = &self.training;
        if t.batch_size == 0 || t.batch_size > 4096 {
            return Err(SpecError::top("training.batch_size", "must be between 1 and 4096"));
        }
        if t.epochs == 0 || t.epochs > 1000 {
            return Err(SpecError::top("training.epochs", "must be between 1 and 1000"));
        }
        match t.optimizer {
            OptimizerSpec::Sgd { lr, momentum } => {
                if !(lr.is_finite() && lr > 0.0 && lr <= 10.0) {
                    return Err(SpecError::top("training.optimizer.lr", "must be in (0, 10]"));
                }
                if !(momentum.is_finite() && (0.0..1.0).contains(&momentum)) {
                    return Err(SpecError::top("training.optimizer.momentum", "must be in [0, 1)"));
                }
            }
        }
        Ok(())
    }
}

fn positive(i: usize, field: &str, v: usize) -> Result<usize, SpecError> {
    if v == 0 {
        Err(SpecError::layer(i, field, "must be at least 1"))
    } else {
        Ok(v)
    }
}

fn infer_layer(i: usize, layer: &LayerSpec, input: Shape) -> Result<LayerInfo, SpecError> {
    let (output, params, flops) = match *layer {
        LayerSpec::Conv2d { out_channels, kernel_size, stride, padding } => {
            positive(i, "out_channels", out_channels)?;
            positive(i, "kernel_size", kernel_size)?;
            positive(i, "stride", stride)?;
            let fit = |n| window_out(n, kernel_size, stride, padding);
            let (Some(oh), Some(ow)) = (fit(input.h), fit(input.w)) else {
                return Err(SpecError::layer(
                    i,
                    "kernel_size",
                    format!(
                        "kernel {kernel_size} is larger than the padded input {}×{}",
                        input.h + 2 * padding,
                        input.w + 2 * padding
                    ),
                ));
            };
            let fan_in = input.c * kernel_size * kernel_size;
            let out = Shape::new(out_channels, oh, ow);
            (out, (fan_in + 1) * out_channels, 2 * (fan_in as u64) * out.len() as u64)
        }
        LayerSpec::Relu | LayerSpec::Sigmoid | LayerSpec::Tanh | LayerSpec::Silu | LayerSpec::Mish => {
            (input, 0, input.len() as u64)
        }
        LayerSpec::LeakyRelu { negative_slope: v } | LayerSpec::Elu { alpha: v } => {
            if !v.is_finite() {
                let field = if matches!(layer, LayerSpec::Elu { .. }) { "alpha" } else { "negative_slope" };
                return Err(SpecError::layer(i, field, format!("must be a finite number, not {v}")));
            }
            (input, 0, input.len() as u64)
        }
        LayerSpec::MaxPool2d { kernel_size, stride } | LayerSpec::AvgPool2d { kernel_size, stride } => {
            positive(i, "kernel_size", kernel_size)?;
            let stride = positive(i, "stride", stride.unwrap_or(kernel_size))?;
            let fit = |n| window_out(n, kernel_size, stride, 0);
            let (Some(oh), Some(ow)) = (fit(input.h), fit(input.w)) else {
                return Err(SpecError::layer(
                    i,
                    "kernel_size",
                    format!("window {kernel_size} is larger than the input {}×{}", input.h, input.w),
                ));
            };
            let out = Shape::new(input.c, oh, ow);
            (out, 0, (out.len() * kernel_size * kernel_size) as u64)
        }
        LayerSpec::Flatten => (Shape::flat(input.len()), 0, 0),
        LayerSpec::Linear { out_features } => {
            positive(i, "out_features", out_features)?;
            if !input.is_flat() {
                return Err(SpecError::layer(
                    i,
                    "input",
                    format!("Linear needs a flat input but gets {input}; add a Flatten layer before it"),
                ));
            }
            (Shape::flat(out_features), (input.c + 1) * out_features, 2 * (input.c * out_features) as u64)
        }
    };
    if output.is_empty() {
        return Err(SpecError::layer(i, "output", "produces an empty output"));
    }
    Ok(LayerInfo { name: layer.kind_name().to_string(), input, output, params, flops })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_net_shapes_params_and_flops() {
        let infos = Spec::default().infer().unwrap();
        let outs: Vec<String> = infos.iter().map(|i| i.output.to_string()).collect();
        assert_eq!(outs, ["8×28×28", "8×28×28", "8×14×14", "16×14×14", "16×14×14", "16×7×7", "784", "10"]);
        let params: Vec<usize> = infos.iter().map(|i| i.params).collect();
        assert_eq!(params, [208, 0, 0, 3216, 0, 0, 0, 7850]);
        // Conv MACs: 8·25·784 + 16·200·196 = 783,936; linear 7,840 → forward 1.583 MFLOP.
        let conv_lin: u64 = [0, 3, 7].iter().map(|&i| infos[i].flops).sum();
        assert_eq!(conv_lin, 2 * (8 * 25 * 784 + 16 * 200 * 196 + 7840));
    }

    #[test]
    fn errors_name_layer_and_field() {
        let mut spec = Spec::default();
        spec.layers[0] = LayerSpec::Conv2d { out_channels: 8, kernel_size: 40, stride: 1, padding: 2 };
        let e = spec.infer().unwrap_err();
        assert_eq!((e.layer, e.field.as_str()), (Some(0), "kernel_size"));
        assert_eq!(e.to_string(), "layer 0, field `kernel_size`: kernel 40 is larger than the padded input 32×32");

        let mut spec = Spec::default();
        spec.layers.remove(6);
        let e = spec.infer().unwrap_err();
        assert_eq!((e.layer, e.field.as_str()), (Some(6), "input"));

        let mut spec = Spec::default();
        spec.layers[7] = LayerSpec::Linear { out_features: 7 };
        assert_eq!(
            spec.infer().unwrap_err().to_string(),
            "layer 7, field `output`: the model must end with 10 class scores, but outputs 7"
        );

        let mut spec = Spec::default();
        spec.layers[2] = LayerSpec::MaxPool2d { kernel_size: 2, stride: Some(0) };
        assert_eq!(spec.infer().unwrap_err().field, "stride");

        let mut spec = Spec::default();
        spec.layers[1] = LayerSpec::LeakyRelu { negative_slope: f32::NAN };
        assert_eq!(spec.infer().unwrap_err().to_string(), "layer 1, field `negative_slope`: must be a finite number, not NaN");

        let mut spec = Spec::default();
        spec.training.optimizer = OptimizerSpec::Sgd { lr: -1.0, momentum: 0.9 };
        assert_eq!(spec.infer().unwrap_err().to_string(), "field `training.optimizer.lr`: must be in (0, 10]");
    }

    #[test]
    fn presets_are_valid_and_named() {
        for name in PRESETS {
            let spec = Spec::preset(name).unwrap();
            assert!(spec.infer().is_ok(), "{name}");
        }
        let infos = Spec::preset("pytorch-mnist-cnn").unwrap().infer().unwrap();
        assert_eq!(infos.iter().map(|i| i.params).sum::<usize>(), 416 + 12_832 + 51_264 + 31_370);
        let lenet = Spec::preset("lenet-5").unwrap().infer().unwrap();
        // The classic 61,706 parameters: 156 + 2,416 + 48,120 + 10,164 + 850.
        assert_eq!(lenet.iter().map(|i| i.params).sum::<usize>(), 61_706);
        assert_eq!(lenet[5].output.to_string(), "16×5×5");
        assert!(Spec::preset("alexnet").is_none());
    }

    #[test]
    fn json_round_trip_and_unknown_layer() {
        let spec = Spec::default();
        let json = serde_json::to_string(&spec).unwrap();
        assert_eq!(Spec::from_json(&json).unwrap(), spec);
        let bad = json.replace("\"relu\"", "\"warp_drive\"");
        let err = Spec::from_json(&bad).unwrap_err();
        assert!(err.contains("warp_drive"), "{err}");
    }
}
