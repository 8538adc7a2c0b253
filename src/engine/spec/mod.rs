//! The one serializable model + training spec, and shape inference on it.
//!
//! The UI, the worker protocol, the CLI and (later) the URL codec and exporters all use
//! [`Spec`]. Layer names, fields and defaults follow PyTorch.

pub mod dataset;
pub mod flat;
pub mod diff;
mod infer;
mod json;
pub mod kinds;
mod layer;
mod presets;
pub mod memory;
pub mod ranges;
pub mod receptive;
mod training;
pub mod url;

pub use presets::{BENCH_PRESETS, PRESETS};

pub use dataset::{DatasetKind, ImageSet};
pub use infer::{infer_layer, infer_spec_layer, summary_table, LayerInfo};
pub use kinds::{palette, LayerKind, PaletteGroup};
pub use layer::{GeluApproximate, LayerSpec, Padding, PaddingMode, PaddingWord, Pair, PoolKind, Shortcut};
pub use training::{EarlyStopping, LossKind, OptimizerSpec, Schedule, ScheduleSpec, TrainingSpec};

use serde::{Deserialize, Serialize};
use crate::i18n::Message;

/// Current spec format version; bumped when a field changes meaning.
pub const SPEC_VERSION: u32 = 1;

/// Most memory training a model may need ([`memory::estimate`]): half the 1 GiB a wasm
/// instance may grow to, which leaves room for the datasets (~55 MB) and the allocator.
pub const MEMORY_BUDGET_BYTES: usize = 512 * 1024 * 1024;

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

/// The complete, serializable description of a model and how to train it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Format version ([`SPEC_VERSION`]).
    pub version: u32,
    /// Dataset to train and test on.
    pub dataset: DatasetKind,
    /// Shape and class names of the user's own images (only with `dataset: images`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<ImageSet>,
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
            images: None,
            layers: vec![
                LayerSpec::conv(8, 5, 2),
                LayerSpec::Relu,
                LayerSpec::max_pool(2),
                LayerSpec::conv(16, 5, 2),
                LayerSpec::Relu,
                LayerSpec::max_pool(2),
                LayerSpec::Flatten,
                LayerSpec::linear(10),
            ],
            init: Init::Pytorch,
            training: TrainingSpec::new(1, OptimizerSpec::sgd(0.05, 0.9)),
            seed: 42,
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
    /// What is wrong, as a message of the tables.
    pub message: Message,
}

/// A problem with one field of a layer, before the layer index is known.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// Name of the offending field.
    pub field: &'static str,
    /// What is wrong, as a message of the tables.
    pub message: Message,
}

impl FieldError {
    /// A field error.
    pub fn new(field: &'static str, message: Message) -> Self {
        Self { field, message }
    }

    /// Attaches the layer index.
    pub fn at(self, layer: usize) -> SpecError {
        SpecError::layer(layer, self.field, self.message)
    }
}

impl SpecError {
    pub(crate) fn layer(index: usize, field: &str, message: Message) -> Self {
        Self { layer: Some(index), field: field.into(), message }
    }

    pub(crate) fn top(field: &str, message: Message) -> Self {
        Self { layer: None, field: field.into(), message }
    }

    /// The whole error as a message: "layer 2, field `kernel_size`: …".
    pub fn message(&self) -> Message {
        match self.layer {
            Some(i) => crate::msg!("err.layer_field", i, self.field, self.message),
            None => crate::msg!("msg.field_error", self.field, self.message),
        }
    }
}

crate::message_error!(SpecError);

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
        spec.layers[0] = LayerSpec::conv(8, 40, 2);
        let e = spec.infer().unwrap_err();
        assert_eq!((e.layer, e.field.as_str()), (Some(0), "kernel_size"));
        assert_eq!(e.to_string(), "layer 0, field `kernel_size`: kernel 40 is larger than the padded input 32×32");

        let mut spec = Spec::default();
        spec.layers.remove(6);
        let e = spec.infer().unwrap_err();
        assert_eq!((e.layer, e.field.as_str()), (Some(6), "input"));

        let mut spec = Spec::default();
        spec.layers[7] = LayerSpec::linear(7);
        assert_eq!(
            spec.infer().unwrap_err().to_string(),
            "layer 7, field `output`: the model must end with 10 class scores, but outputs 7"
        );

        let mut spec = Spec::default();
        spec.layers[2] = LayerSpec::MaxPool2d {
            kernel_size: Pair::square(2),
            stride: Some(Pair::square(0)),
            padding: Pair::square(0),
            dilation: Pair::square(1),
            ceil_mode: false,
        };
        assert_eq!(spec.infer().unwrap_err().field, "stride");

        let mut spec = Spec::default();
        spec.layers[1] = LayerSpec::LeakyRelu { negative_slope: f32::NAN };
        assert_eq!(spec.infer().unwrap_err().to_string(), "layer 1, field `negative_slope`: must be a finite number, not NaN");

        let mut spec = Spec::default();
        spec.training.optimizer = OptimizerSpec::sgd(-1.0, 0.9);
        assert_eq!(spec.infer().unwrap_err().to_string(), "field `training.optimizer.lr`: must be in (0, 10]");
    }

    /// The shape-inference error of the default spec with `layers` (JSON).
    fn infer_error(layers: &str) -> String {
        let mut spec = Spec::default();
        spec.layers = serde_json::from_str(layers).unwrap();
        spec.infer().unwrap_err().to_string()
    }

    /// Every new option's error, pinned by its message.
    #[test]
    fn option_errors_pinned() {
        let err = infer_error;
        assert_eq!(
            err(r#"[{"type":"conv2d","out_channels":8,"kernel_size":3,"stride":2,"padding":"same"}]"#),
            "layer 0, field `padding`: \"same\" padding needs stride 1 (as in PyTorch)"
        );
        assert_eq!(
            err(r#"[{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":28,"padding_mode":"reflect"}]"#),
            "layer 0, field `padding`: padding 28 is too large for Reflect padding of a 28×28 input"
        );
        assert_eq!(
            err(r#"[{"type":"conv2d","out_channels":8,"kernel_size":3,"dilation":14}]"#),
            "layer 0, field `kernel_size`: kernel 3 (dilation 14) is larger than the padded input 28×28"
        );
        assert_eq!(
            err(r#"[{"type":"max_pool2d","kernel_size":2,"padding":2}]"#),
            "layer 0, field `padding`: padding 2 must be at most half the window 2 (as in PyTorch)"
        );
        assert_eq!(err(r#"[{"type":"dropout","p":1.0}]"#), "layer 0, field `p`: must be in [0, 1), not 1");
        assert_eq!(
            err(r#"[{"type":"flatten"},{"type":"batch_norm2d"}]"#),
            "layer 1, field `input`: BatchNorm2d needs an image input but gets the flat 784 (use BatchNorm1d)"
        );
        assert_eq!(
            err(r#"[{"type":"conv2d","out_channels":6,"kernel_size":3},{"type":"group_norm","num_groups":4}]"#),
            "layer 1, field `num_groups`: 4 must divide the 6 channels"
        );
        assert_eq!(
            err(r#"[{"type":"spatial_pyramid_pool","levels":[]}]"#),
            "layer 0, field `levels`: needs 1 to 8 levels, each from 1 to 64 (e.g. [1, 2, 4])"
        );
        assert_eq!(err(r#"[{"type":"adaptive_avg_pool2d","output_size":[0,2]}]"#), "layer 0, field `output_size`: must be at least 1");
        let bad = Spec::from_json(&serde_json::to_string(&Spec::default()).unwrap().replace("\"padding\":2", "\"padding\":\"wide\"")).unwrap_err().to_string();
        assert!(bad.contains("padding: a number, [height, width], \"same\" or \"valid\""), "{bad}");
    }

    /// Issue 13, item 2 and 3: sizes near 2³² and 2⁶⁴ are refused by field, never wrapped into
    /// a plausible shape; item 7: pools whose last window hangs over the edge with ceil_mode.
    #[test]
    fn hostile_sizes_are_refused_and_hanging_pools_accepted() {
        let err = infer_error;
        let tail = r#"{"type":"relu"},{"type":"flatten"},{"type":"linear","out_features":10}"#;
        for (first, expected) in [
            (r#"{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":4294967295}"#, "layer 0, field `padding`: must be at most 256, not 4294967295"),
            (r#"{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":18446744073709551615}"#, "layer 0, field `padding`: must be at most 256, not 18446744073709551615"),
            (r#"{"type":"conv2d","out_channels":8,"kernel_size":3,"dilation":2147483648}"#, "layer 0, field `dilation`: must be at most 256, not 2147483648"),
            (r#"{"type":"conv2d","out_channels":8,"kernel_size":2,"dilation":18446744073709551615}"#, "layer 0, field `dilation`: must be at most 256, not 18446744073709551615"),
            (r#"{"type":"adaptive_avg_pool2d","output_size":18446744073709551615}"#, "layer 0, field `output_size`: must be at most 256, not 18446744073709551615"),
            (r#"{"type":"spatial_pyramid_pool","levels":[1,18446744073709551615]}"#, "layer 0, field `levels`: needs 1 to 8 levels, each from 1 to 64 (e.g. [1, 2, 4])"),
        ] {
            assert_eq!(err(&format!("[{first},{tail}]")), expected);
        }
        assert_eq!(
            err(r#"[{"type":"flatten"},{"type":"linear","out_features":4000000000},{"type":"linear","out_features":10}]"#),
            "layer 1, field `out_features`: must be at most 1048576, not 4000000000"
        );
        assert_eq!(
            err(r#"[{"type":"flatten"},{"type":"linear","out_features":18446744073709551615},{"type":"linear","out_features":10}]"#),
            "layer 1, field `out_features`: must be at most 1048576, not 18446744073709551615"
        );
        // Large but in range: the product is checked, not wrapped.
        assert_eq!(
            err(r#"[{"type":"conv2d","out_channels":300,"kernel_size":3,"padding":256},{"type":"flatten"}]"#),
            "layer 0, field `output`: gives 300×538×538 values per image, more than the 16777216 a layer may output"
        );
        assert_eq!(
            err(r#"[{"type":"conv2d","out_channels":4096,"kernel_size":256,"padding":256}]"#),
            "layer 0, field `out_channels`: gives more than 33554432 parameters, past what the 512 MB memory budget allows"
        );
        let ok = |layers: &str| {
            let mut spec = Spec::default();
            spec.layers = serde_json::from_str(layers).unwrap();
            spec.infer().map(|i| i[0].output.to_string())
        };
        assert_eq!(ok(r#"[{"type":"max_pool2d","kernel_size":29,"ceil_mode":true},{"type":"flatten"},{"type":"linear","out_features":10}]"#), Ok("1×1×1".into()));
        assert_eq!(
            ok(r#"[{"type":"avg_pool2d","kernel_size":10,"stride":10},{"type":"avg_pool2d","kernel_size":4,"ceil_mode":true},{"type":"flatten"},{"type":"linear","out_features":10}]"#)
                .map(|_| ()),
            Ok(())
        );
        assert!(err(r#"[{"type":"max_pool2d","kernel_size":29},{"type":"flatten"},{"type":"linear","out_features":10}]"#).contains("window 29 is larger than the input 28×28"));
    }

    #[test]
    fn planes_of_1x1_stay_images_and_flat_vectors_stay_flat() {
        // PyTorch: AdaptiveAvgPool2d(1) gives [N, C, 1, 1], which BatchNorm2d, Dropout2d and
        // LayerNorm([C, 1, 1]) take and Linear does not; Flatten gives [N, C], which no 2-D layer takes.
        let mut spec = Spec::default();
        spec.layers = serde_json::from_str(
            r#"[{"type":"conv2d","out_channels":8,"kernel_size":3},{"type":"adaptive_avg_pool2d","output_size":1},
                {"type":"batch_norm2d"},{"type":"dropout2d","p":0.2},{"type":"layer_norm"},{"type":"instance_norm2d"},
                {"type":"flatten"},{"type":"linear","out_features":10}]"#,
        )
        .unwrap();
        let infos = spec.infer().unwrap();
        let shown: Vec<String> = infos.iter().map(|i| i.output.to_string()).collect();
        assert_eq!(shown, ["8×26×26", "8×1×1", "8×1×1", "8×1×1", "8×1×1", "8×1×1", "8", "10"]);
        assert_eq!(infos[4].params, 16);
        let net = crate::engine::network::Network::from_spec(&spec).unwrap();
        let saved = crate::engine::weights::save(&net, &spec);
        let tensors = safetensors::SafeTensors::deserialize(&saved).unwrap();
        assert_eq!(tensors.tensor("4.weight").unwrap().shape(), [8, 1, 1], "LayerNorm([8, 1, 1]) weights");
        assert_eq!(tensors.tensor("2.running_mean").unwrap().shape(), [8]);
        let refused = infer_error;
        assert_eq!(
            refused(r#"[{"type":"adaptive_avg_pool2d","output_size":1},{"type":"linear","out_features":10}]"#),
            "layer 1, field `input`: Linear needs a flat input but gets 1×1×1; add a Flatten layer before it"
        );
        assert_eq!(
            refused(r#"[{"type":"adaptive_avg_pool2d","output_size":1}]"#),
            "layer 0, field `output`: the model must end with 10 class scores, but outputs 1×1×1"
        );
        for (kind, layer) in [
            ("Conv2d", r#"{"type":"conv2d","out_channels":2,"kernel_size":1}"#),
            ("MaxPool2d", r#"{"type":"max_pool2d","kernel_size":1}"#),
            ("AdaptiveAvgPool2d", r#"{"type":"adaptive_avg_pool2d","output_size":1}"#),
            ("Dropout2d", r#"{"type":"dropout2d"}"#),
            ("InstanceNorm2d", r#"{"type":"instance_norm2d"}"#),
            ("LocalResponseNorm", r#"{"type":"local_response_norm","size":2}"#),
        ] {
            assert_eq!(
                refused(&format!(r#"[{{"type":"flatten"}},{layer}]"#)),
                format!("layer 1, field `input`: {kind} needs an image input but gets the flat 784")
            );
        }
    }

    #[test]
    fn presets_are_valid_and_named() {
        for name in PRESETS {
            let spec = Spec::preset(name).unwrap();
            assert!(spec.infer().is_ok(), "{name}: {:?}", spec.infer());
            let json = serde_json::to_string(&spec).unwrap();
            assert_eq!(Spec::from_json(&json).unwrap(), spec, "{name} JSON round trip");
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
        let err = Spec::from_json(&bad).unwrap_err().to_string();
        assert!(err.contains("warp_drive"), "{err}");
    }
}
