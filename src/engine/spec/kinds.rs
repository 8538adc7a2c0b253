//! The registration of every layer kind: its PyTorch name, its palette group and the layer the
//! palette adds. [`LayerKind`] is derived from [`LayerSpec`]'s variants, so a new variant does
//! not compile until it is registered here (and in the other exhaustive matches: its shape rule
//! in `infer.rs`, its build arm in `layers/mod.rs`, its PyTorch line in `export.rs`); the tests
//! below walk every kind for what the compiler cannot see (translations, link round trip,
//! parameter counts).

use super::LayerSpec;
use strum::IntoEnumIterator;

pub use super::layer::LayerKind;

/// Where a kind sits in the layer palette, grouped as the tutorials group them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, strum::IntoStaticStr, strum::EnumIter)]
pub enum PaletteGroup {
    /// Convolutions.
    Convolution,
    /// Element-wise non-linearities and softmax.
    Activation,
    /// Pooling of every kind.
    Pooling,
    /// Batch, layer, instance, group and local response normalisation.
    Normalization,
    /// Dropout.
    Regularization,
    /// Flatten and fully connected layers.
    Dense,
}

impl PaletteGroup {
    /// The group's name (its translation key is `group.<name>`).
    pub fn name(self) -> &'static str {
        self.into()
    }
}

/// What the project knows about one layer kind, besides its shape rule, layer file and export.
struct Registration {
    /// PyTorch's class name.
    name: &'static str,
    group: PaletteGroup,
    /// The layer the palette adds (required fields filled in), as spec JSON.
    example: &'static str,
}

/// The one table of layer kinds.
fn registration(kind: LayerKind) -> Registration {
    use LayerKind as K;
    use PaletteGroup as G;
    let r = |name, group, example| Registration { name, group, example };
    match kind {
        K::Conv2d => r("Conv2d", G::Convolution, r#"{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":1}"#),
        K::Relu => r("ReLU", G::Activation, r#"{"type":"relu"}"#),
        K::LeakyRelu => r("LeakyReLU", G::Activation, r#"{"type":"leaky_relu"}"#),
        K::Sigmoid => r("Sigmoid", G::Activation, r#"{"type":"sigmoid"}"#),
        K::Tanh => r("Tanh", G::Activation, r#"{"type":"tanh"}"#),
        K::Silu => r("SiLU", G::Activation, r#"{"type":"silu"}"#),
        K::Mish => r("Mish", G::Activation, r#"{"type":"mish"}"#),
        K::Elu => r("ELU", G::Activation, r#"{"type":"elu"}"#),
        K::Gelu => r("GELU", G::Activation, r#"{"type":"gelu"}"#),
        K::Relu6 => r("ReLU6", G::Activation, r#"{"type":"relu6"}"#),
        K::Hardswish => r("Hardswish", G::Activation, r#"{"type":"hardswish"}"#),
        K::Prelu => r("PReLU", G::Activation, r#"{"type":"prelu"}"#),
        K::Softmax => r("Softmax", G::Activation, r#"{"type":"softmax"}"#),
        K::MaxPool2d => r("MaxPool2d", G::Pooling, r#"{"type":"max_pool2d","kernel_size":2}"#),
        K::AvgPool2d => r("AvgPool2d", G::Pooling, r#"{"type":"avg_pool2d","kernel_size":2}"#),
        K::AdaptiveAvgPool2d => r("AdaptiveAvgPool2d", G::Pooling, r#"{"type":"adaptive_avg_pool2d","output_size":1}"#),
        K::AdaptiveMaxPool2d => r("AdaptiveMaxPool2d", G::Pooling, r#"{"type":"adaptive_max_pool2d","output_size":1}"#),
        K::SpatialPyramidPool => r("SpatialPyramidPool", G::Pooling, r#"{"type":"spatial_pyramid_pool","levels":[1,2,4]}"#),
        K::Flatten => r("Flatten", G::Dense, r#"{"type":"flatten"}"#),
        K::Dropout => r("Dropout", G::Regularization, r#"{"type":"dropout"}"#),
        K::Dropout2d => r("Dropout2d", G::Regularization, r#"{"type":"dropout2d"}"#),
        K::BatchNorm2d => r("BatchNorm2d", G::Normalization, r#"{"type":"batch_norm2d"}"#),
        K::BatchNorm1d => r("BatchNorm1d", G::Normalization, r#"{"type":"batch_norm1d"}"#),
        K::LayerNorm => r("LayerNorm", G::Normalization, r#"{"type":"layer_norm"}"#),
        K::InstanceNorm2d => r("InstanceNorm2d", G::Normalization, r#"{"type":"instance_norm2d"}"#),
        K::GroupNorm => r("GroupNorm", G::Normalization, r#"{"type":"group_norm","num_groups":2}"#),
        K::LocalResponseNorm => r("LocalResponseNorm", G::Normalization, r#"{"type":"local_response_norm","size":5}"#),
        K::Linear => r("Linear", G::Dense, r#"{"type":"linear","out_features":10}"#),
        K::Residual => r(
            "Residual",
            G::Convolution,
            r#"{"type":"residual","layers":[{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":1},{"type":"relu"},{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":1}],"shortcut":"conv1x1"}"#,
        ),
    }
}

impl LayerKind {
    /// PyTorch's class name, e.g. `BatchNorm2d` (its translation keys are `layer.<name>`).
    pub fn name(self) -> &'static str {
        registration(self).name
    }

    /// The palette group.
    pub fn group(self) -> PaletteGroup {
        registration(self).group
    }

    /// The layer the palette adds: PyTorch's defaults, required fields filled in.
    pub fn example(self) -> LayerSpec {
        serde_json::from_str(registration(self).example).expect("registered examples are valid layer JSON")
    }

    /// Every kind, in declaration order.
    pub fn all() -> impl Iterator<Item = LayerKind> {
        LayerKind::iter()
    }
}

/// One default-configured layer of every kind, by palette group (the layer builder's palette).
pub fn palette() -> Vec<(PaletteGroup, LayerSpec)> {
    let mut kinds: Vec<LayerKind> = LayerKind::all().collect();
    kinds.sort_by_key(|k| k.group());
    kinds.into_iter().map(|k| (k.group(), k.example())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::network::Network;
    use crate::engine::spec::{url, Spec};

    /// A valid spec holding `layer` (at the index returned), on an input it takes.
    fn spec_with(layer: LayerSpec) -> (Spec, usize) {
        let mut spec = Spec::default();
        let flat_input = matches!(
            LayerKind::from(&layer),
            LayerKind::Softmax | LayerKind::BatchNorm1d | LayerKind::Linear
        );
        let mut layers: Vec<LayerSpec> = serde_json::from_str(r#"[{"type":"conv2d","out_channels":4,"kernel_size":5,"stride":2}]"#).unwrap();
        if flat_input {
            layers.push(LayerSpec::Flatten);
        }
        layers.push(layer);
        if !flat_input {
            layers.push(LayerSpec::Flatten);
        }
        layers.push(LayerSpec::linear(10));
        spec.layers = layers;
        (spec, 1 + flat_input as usize)
    }

    #[test]
    fn the_choice_names_are_the_spec_names() {
        use crate::engine::spec::{GeluApproximate, PaddingMode, PoolKind};
        use strum::VariantNames;
        fn check<T: serde::de::DeserializeOwned + serde::Serialize + VariantNames>() {
            for name in T::VARIANTS {
                let value: T = serde_json::from_value(serde_json::json!(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(serde_json::to_value(value).unwrap(), serde_json::json!(name));
            }
        }
        check::<PaddingMode>();
        check::<PoolKind>();
        check::<GeluApproximate>();
        assert_eq!(PaddingMode::VARIANTS, ["zeros", "reflect", "replicate", "circular"]);
    }

    #[test]
    fn every_kind_is_registered_once_and_in_the_palette() {
        let kinds: Vec<LayerKind> = LayerKind::all().collect();
        let names: std::collections::HashSet<&str> = kinds.iter().map(|k| k.name()).collect();
        assert_eq!(names.len(), kinds.len(), "two kinds share a name");
        let palette = palette();
        assert_eq!(palette.len(), kinds.len());
        for kind in &kinds {
            assert_eq!(LayerKind::from(&kind.example()), *kind, "{}: the example is of another kind", kind.name());
            assert_eq!(palette.iter().filter(|(_, l)| LayerKind::from(l) == *kind).count(), 1, "{}", kind.name());
        }
        assert!(palette.windows(2).all(|w| w[0].0 <= w[1].0), "the palette is grouped");
    }

    #[test]
    fn every_kind_builds_round_trips_and_counts_its_parameters() {
        for kind in LayerKind::all() {
            let (spec, at) = spec_with(kind.example());
            let (infos, flat) = spec.infer_both().unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
            let net = Network::from_spec(&spec).unwrap_or_else(|e| panic!("{}: {e}", kind.name()));
            assert_eq!(flat.iter().map(|i| i.params).collect::<Vec<_>>(), net.param_lens(), "{}: parameters", kind.name());
            assert_eq!(infos.iter().map(|i| i.params).sum::<usize>(), net.param_count(), "{}: parameters", kind.name());
            let buffers: Vec<usize> = net.layers.iter().map(|l| l.buffers().len()).collect();
            assert_eq!(flat.iter().map(|i| i.buffers).collect::<Vec<_>>(), buffers, "{}: buffers", kind.name());
            let decoded = url::decode(&url::encode(&spec));
            assert_eq!(decoded.notices, Vec::<String>::new(), "{}", kind.name());
            assert_eq!(decoded.spec, spec, "{}: link round trip", kind.name());
            let code = crate::engine::export::pytorch_code(&spec).unwrap();
            let class = match kind {
                LayerKind::SpatialPyramidPool => "SpatialPyramidPool(".to_string(),
                LayerKind::Residual => "Residual(".to_string(),
                _ => format!("nn.{}(", kind.name()),
            };
            assert!(code.contains(&class), "{}: export\n{code}", kind.name());
            assert_eq!(infos[at].name, kind.name());
            assert!(infos[at].output.checked_len().is_some_and(|n| n > 0), "{}", kind.name());
        }
    }
}
