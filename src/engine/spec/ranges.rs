//! The range of every size field of a layer, checked before any shape arithmetic runs.
//!
//! Links, files and saved state come from strangers, so a size can be anything up to 2⁶⁴−1 (2³²−1
//! in wasm, where `usize` has 32 bits). With every field inside these ranges and every layer's
//! output capped at [`MAX_VALUES`] per image, the shape rules cannot overflow on either target;
//! the products that can still grow large (parameters, FLOPs, memory) are computed checked.
//!
//! | field | range |
//! |---|---|
//! | `out_channels`, `groups`, `num_groups`, `size` (LRN) | 1 – 4,096 |
//! | `kernel_size`, `stride`, `dilation`, `output_size` (each axis) | 1 – 256 |
//! | `padding` (each axis) | 0 – 256 |
//! | `levels` (spatial pyramid) | 1 – 8 levels, each 1 – 64 |
//! | `out_features` | 1 – 1,048,576 |
//! | `divisor_override` | 1 – 65,536 |
//! | values per image after any layer | at most 16,777,216 |
//! | layers | 1 – 4,096 |

use super::layer::{LayerSpec, Padding, Pair};
use super::FieldError;

/// Most channels (and channel groups) a layer may have.
pub const MAX_CHANNELS: usize = 4096;
/// Largest kernel, stride, dilation, padding or adaptive output size along one axis.
pub const MAX_WINDOW: usize = 256;
/// Most output features of a Linear layer.
pub const MAX_FEATURES: usize = 1 << 20;
/// Most levels of a spatial pyramid, and the largest level.
pub const MAX_LEVELS: usize = 8;
/// Largest spatial pyramid level.
pub const MAX_LEVEL: usize = 64;
/// Largest average-pool divisor override.
pub const MAX_DIVISOR: usize = 1 << 16;
/// Most values one image may have after any layer (64 MiB of f32).
pub const MAX_VALUES: usize = 1 << 24;
/// Most layers in a model.
pub const MAX_LAYERS: usize = 4096;

fn within(field: &'static str, v: usize, lo: usize, hi: usize) -> Result<(), FieldError> {
    if v < lo {
        Err(FieldError::new(field, crate::msg!("err.at_least", lo)))
    } else if v > hi {
        Err(FieldError::new(field, crate::msg!("err.at_most", hi, v)))
    } else {
        Ok(())
    }
}

fn pair_within(field: &'static str, p: Pair, lo: usize, hi: usize) -> Result<(), FieldError> {
    within(field, p.h, lo, hi)?;
    within(field, p.w, lo, hi)
}

fn channels(field: &'static str, v: usize) -> Result<(), FieldError> {
    within(field, v, 1, MAX_CHANNELS)
}

/// Checks every size field of `layer` against its range; the error names the field.
pub fn check(layer: &LayerSpec) -> Result<(), FieldError> {
    match layer {
        LayerSpec::Prelu { num_parameters, .. } => channels("num_parameters", *num_parameters),
        LayerSpec::Conv2d { out_channels, kernel_size, stride, padding, dilation, groups, .. } => {
            pair_within("kernel_size", *kernel_size, 1, MAX_WINDOW)?;
            pair_within("stride", *stride, 1, MAX_WINDOW)?;
            if let Padding::Size(p) = padding {
                pair_within("padding", *p, 0, MAX_WINDOW)?;
            }
            pair_within("dilation", *dilation, 1, MAX_WINDOW)?;
            channels("out_channels", *out_channels)?;
            channels("groups", *groups)
        }
        LayerSpec::MaxPool2d { kernel_size, stride, padding, dilation, .. } => {
            pair_within("kernel_size", *kernel_size, 1, MAX_WINDOW)?;
            if let Some(s) = stride {
                pair_within("stride", *s, 1, MAX_WINDOW)?;
            }
            pair_within("padding", *padding, 0, MAX_WINDOW)?;
            pair_within("dilation", *dilation, 1, MAX_WINDOW)
        }
        LayerSpec::AvgPool2d { kernel_size, stride, padding, divisor_override, .. } => {
            pair_within("kernel_size", *kernel_size, 1, MAX_WINDOW)?;
            if let Some(s) = stride {
                pair_within("stride", *s, 1, MAX_WINDOW)?;
            }
            pair_within("padding", *padding, 0, MAX_WINDOW)?;
            match divisor_override {
                Some(d) => within("divisor_override", *d, 1, MAX_DIVISOR),
                None => Ok(()),
            }
        }
        LayerSpec::AdaptiveAvgPool2d { output_size } | LayerSpec::AdaptiveMaxPool2d { output_size } => {
            pair_within("output_size", *output_size, 1, MAX_WINDOW)
        }
        LayerSpec::SpatialPyramidPool { levels, .. } => {
            if levels.is_empty() || levels.len() > MAX_LEVELS || levels.iter().any(|&l| l == 0 || l > MAX_LEVEL) {
                return Err(FieldError::new(
                    "levels",
                    crate::msg!("err.levels", MAX_LEVELS, MAX_LEVEL),
                ));
            }
            Ok(())
        }
        LayerSpec::GroupNorm { num_groups, .. } => channels("num_groups", *num_groups),
        LayerSpec::LocalResponseNorm { size, .. } => channels("size", *size),
        LayerSpec::Linear { out_features, .. } => within("out_features", *out_features, 1, MAX_FEATURES),
        // No size fields (named, so that a new kind has to be placed here or above).
        LayerSpec::Relu
        | LayerSpec::LeakyRelu { .. }
        | LayerSpec::Sigmoid
        | LayerSpec::Tanh
        | LayerSpec::Silu
        | LayerSpec::Mish
        | LayerSpec::Elu { .. }
        | LayerSpec::Gelu { .. }
        | LayerSpec::Relu6
        | LayerSpec::Hardswish
        | LayerSpec::Softmax
        | LayerSpec::Flatten
        | LayerSpec::Dropout { .. }
        | LayerSpec::Dropout2d { .. }
        | LayerSpec::BatchNorm2d { .. }
        | LayerSpec::BatchNorm1d { .. }
        | LayerSpec::LayerNorm { .. }
        | LayerSpec::InstanceNorm2d { .. } => Ok(()),
        // Its body's layers are checked one by one by the shape rule.
        LayerSpec::Residual { .. } => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field_of(json: &str) -> Result<(), String> {
        let layer: LayerSpec = serde_json::from_str(json).unwrap();
        check(&layer).map_err(|e| format!("{}: {}", e.field, e.message))
    }

    #[test]
    fn sizes_near_the_integer_limits_are_refused_by_name() {
        let max = u64::MAX;
        let u32max = u32::MAX;
        for (json, expected) in [
            (format!(r#"{{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":{u32max}}}"#), format!("padding: must be at most 256, not {u32max}")),
            (format!(r#"{{"type":"conv2d","out_channels":8,"kernel_size":3,"padding":{max}}}"#), format!("padding: must be at most 256, not {max}")),
            (r#"{"type":"conv2d","out_channels":8,"kernel_size":3,"dilation":2147483648}"#.into(), "dilation: must be at most 256, not 2147483648".into()),
            (format!(r#"{{"type":"conv2d","out_channels":8,"kernel_size":2,"dilation":{max}}}"#), format!("dilation: must be at most 256, not {max}")),
            (r#"{"type":"conv2d","out_channels":0,"kernel_size":3}"#.into(), "out_channels: must be at least 1".into()),
            (format!(r#"{{"type":"linear","out_features":{max}}}"#), format!("out_features: must be at most 1048576, not {max}")),
            (r#"{"type":"linear","out_features":4000000000}"#.into(), "out_features: must be at most 1048576, not 4000000000".into()),
            (format!(r#"{{"type":"spatial_pyramid_pool","levels":[1,{max}]}}"#), "levels: needs 1 to 8 levels, each from 1 to 64 (e.g. [1, 2, 4])".into()),
            (format!(r#"{{"type":"adaptive_avg_pool2d","output_size":{max}}}"#), format!("output_size: must be at most 256, not {max}")),
            (format!(r#"{{"type":"max_pool2d","kernel_size":[2,{max}]}}"#), format!("kernel_size: must be at most 256, not {max}")),
            (format!(r#"{{"type":"group_norm","num_groups":{max}}}"#), format!("num_groups: must be at most 4096, not {max}")),
            (format!(r#"{{"type":"local_response_norm","size":{max}}}"#), format!("size: must be at most 4096, not {max}")),
            (r#"{"type":"avg_pool2d","kernel_size":2,"divisor_override":0}"#.into(), "divisor_override: must be at least 1".into()),
        ] {
            assert_eq!(field_of(&json), Err(expected), "{json}");
        }
        assert_eq!(field_of(r#"{"type":"conv2d","out_channels":4096,"kernel_size":256,"padding":256,"dilation":256,"stride":256}"#), Ok(()));
    }
}
