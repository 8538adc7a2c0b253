//! The spec as the engine runs it: one flat list of layers, each residual block opened into its
//! body's layers followed by a join that adds the block's input (through the shortcut) back.
//!
//! Batch-coupled layers (BatchNorm) are trained one layer at a time across chunks, so a block
//! cannot be one opaque layer; flat, its body's BatchNorms are visited like any other.

use super::{LayerSpec, Pair, Shortcut, Spec};
use crate::engine::shape::Shape;

/// What one layer of the flat list computes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Step<'a> {
    /// A layer of the spec (at the top level or inside a block's body).
    Layer(&'a LayerSpec),
    /// The end of a residual block: the body's output plus the shortcut of the block's input.
    Join {
        /// Flat index of the block's first body layer, i.e. the activation holding the block's
        /// input.
        from: usize,
        /// How the input reaches the sum.
        shortcut: Shortcut,
    },
}

/// One layer of the flat list and where it sits in the spec.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlatLayer<'a> {
    /// What it computes.
    pub step: Step<'a>,
    /// Index of the spec layer it belongs to.
    pub top: usize,
    /// Position inside the block's body (`None` at the top level and for the join).
    pub inner: Option<usize>,
}

impl FlatLayer<'_> {
    /// The prefix of its tensors in PyTorch's `state_dict`: `3`, `3.body.1` or `3.shortcut`
    /// (the exported `Residual` module holds `body` and `shortcut`).
    pub fn state_prefix(&self) -> String {
        match (self.step, self.inner) {
            (Step::Join { .. }, _) => format!("{}.shortcut", self.top),
            (_, Some(m)) => format!("{}.body.{m}", self.top),
            _ => self.top.to_string(),
        }
    }
}

impl Spec {
    /// The flat list of layers the network is built from.
    pub fn flat(&self) -> Vec<FlatLayer<'_>> {
        let mut out = Vec::with_capacity(self.layers.len());
        for (top, layer) in self.layers.iter().enumerate() {
            match layer {
                LayerSpec::Residual { layers, shortcut } => {
                    let from = out.len();
                    for (m, inner) in layers.iter().enumerate() {
                        out.push(FlatLayer { step: Step::Layer(inner), top, inner: Some(m) });
                    }
                    out.push(FlatLayer { step: Step::Join { from, shortcut: *shortcut }, top, inner: None });
                }
                _ => out.push(FlatLayer { step: Step::Layer(layer), top, inner: None }),
            }
        }
        out
    }

    /// For each spec layer, the flat index of the layer giving its output (the last flat layer
    /// belonging to it).
    pub fn flat_ends(&self) -> Vec<usize> {
        let flat = self.flat();
        (0..flat.len()).filter(|&k| flat.get(k + 1).is_none_or(|next| next.top != flat[k].top)).collect()
    }
}

/// The stride of the 1×1 projection taking a block's `input` to its body's `output` on both
/// axes, or `None` when no stride does (the body's output is larger).
pub fn projection_stride(input: Shape, output: Shape) -> Option<Pair> {
    Some(Pair { h: matching_stride(input.h, output.h)?, w: matching_stride(input.w, output.w)? })
}

/// The 1×1 convolution of a projection shortcut from `channels_out` and its stride.
pub fn shortcut_conv(out_channels: usize, stride: Pair) -> LayerSpec {
    LayerSpec::Conv2d {
        out_channels,
        kernel_size: Pair::square(1),
        stride,
        padding: 0.into(),
        padding_mode: super::PaddingMode::Zeros,
        dilation: Pair::square(1),
        groups: 1,
        bias: true,
    }
}

/// The smallest stride taking `n` positions to `out` with a 1×1 window (`⌊(n−1)/s⌋+1 = out`).
pub fn matching_stride(n: usize, out: usize) -> Option<usize> {
    (1..=n.max(1)).find(|&s| (n.max(1) - 1) / s + 1 == out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_opens_into_its_body_and_a_join() {
        let spec = Spec::preset("resnet-8").unwrap();
        let flat = spec.flat();
        let ends = spec.flat_ends();
        assert_eq!(ends.len(), spec.layers.len());
        assert_eq!(*ends.last().unwrap(), flat.len() - 1);
        let joins: Vec<_> = flat.iter().enumerate().filter(|(_, f)| matches!(f.step, Step::Join { .. })).collect();
        assert_eq!(joins.len(), 3, "three blocks");
        for (j, f) in joins {
            let Step::Join { from, .. } = f.step else { unreachable!() };
            assert_eq!(flat[from].inner, Some(0), "a join's source is its block's first body layer");
            assert_eq!(flat[from].top, f.top);
            assert_eq!(ends[f.top], j);
            assert_eq!(f.state_prefix(), format!("{}.shortcut", f.top));
            assert_eq!(flat[from].state_prefix(), format!("{}.body.0", f.top));
        }
    }

    #[test]
    fn strides_match_the_body() {
        assert_eq!(matching_stride(32, 16), Some(2));
        assert_eq!(matching_stride(7, 4), Some(2));
        assert_eq!(matching_stride(8, 3), Some(3));
        assert_eq!(matching_stride(8, 8), Some(1));
        assert_eq!(matching_stride(5, 1), Some(5));
        assert_eq!(matching_stride(4, 5), None);
    }
}
