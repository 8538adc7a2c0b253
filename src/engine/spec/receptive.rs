//! Receptive fields: which pixels of the input and of every earlier layer's output one unit of
//! a layer's output depends on, by the arithmetic the CNN tutorials teach. A convolution or
//! pooling window maps output rows `y0..=y1` to input rows `y0·s − p ..= y1·s − p + d·(k−1)`
//! (clipped to the image); adaptive pooling uses PyTorch's windows; every other layer that
//! keeps the image shape is taken as pointwise (activations, dropout, and the normalisations,
//! whose statistics the tutorials leave out of the picture).
//!
//! # Shapes
//! A unit of a `C×H×W` output → one rectangle per earlier `C'×H'×W'` tensor (all channels).

use super::flat::projection_stride;
use super::{infer_layer, infer_spec_layer, LayerSpec, Padding, PaddingWord, Pair, Spec};
use crate::engine::shape::Shape;

/// A rectangle of pixels, inclusive on both ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Region {
    /// First row.
    pub y0: usize,
    /// Last row.
    pub y1: usize,
    /// First column.
    pub x0: usize,
    /// Last column.
    pub x1: usize,
}

impl Region {
    /// One pixel.
    pub const fn at(y: usize, x: usize) -> Self {
        Self { y0: y, y1: y, x0: x, x1: x }
    }

    /// Rows × columns covered.
    pub const fn size(&self) -> (usize, usize) {
        (self.y1 - self.y0 + 1, self.x1 - self.x0 + 1)
    }
}

/// One axis of a window: kernel, stride, padding before, dilation.
#[derive(Clone, Copy)]
struct Window {
    kernel: usize,
    stride: usize,
    pad: usize,
    dilation: usize,
}

impl Window {
    /// Input indices `lo..=hi` that outputs `o0..=o1` read, clipped to `0..len`.
    fn back(self, o0: usize, o1: usize, len: usize) -> (usize, usize) {
        let lo = (o0 * self.stride).saturating_sub(self.pad);
        let hi = (o1 * self.stride + self.dilation * (self.kernel - 1)).saturating_sub(self.pad);
        (lo.min(len - 1), hi.min(len - 1))
    }
}

/// The windows of a convolution or pooling layer along (height, width); None for other layers.
fn windows(layer: &LayerSpec) -> Option<(Window, Window)> {
    let axes = |k: Pair, s: Pair, p: Pair, d: Pair| {
        (Window { kernel: k.h, stride: s.h, pad: p.h, dilation: d.h }, Window { kernel: k.w, stride: s.w, pad: p.w, dilation: d.w })
    };
    match *layer {
        LayerSpec::Conv2d { kernel_size, stride, padding, dilation, .. } => {
            let pad = match padding {
                Padding::Size(p) => p,
                // PyTorch's "same": total d·(k−1), the smaller half before.
                Padding::Word(PaddingWord::Same) => Pair { h: dilation.h * (kernel_size.h - 1) / 2, w: dilation.w * (kernel_size.w - 1) / 2 },
                Padding::Word(PaddingWord::Valid) => Pair::square(0),
            };
            Some(axes(kernel_size, stride, pad, dilation))
        }
        LayerSpec::MaxPool2d { kernel_size, stride, padding, dilation, .. } => Some(axes(kernel_size, stride.unwrap_or(kernel_size), padding, dilation)),
        LayerSpec::AvgPool2d { kernel_size, stride, padding, .. } => Some(axes(kernel_size, stride.unwrap_or(kernel_size), padding, Pair::square(1))),
        _ => None,
    }
}

/// PyTorch's adaptive-pooling window of outputs `o0..=o1` of `out` over an input of `len`.
fn adaptive_back(o0: usize, o1: usize, out: usize, len: usize) -> (usize, usize) {
    (o0 * len / out, ((o1 + 1) * len).div_ceil(out) - 1)
}

/// The region of `input` that `region` of `layer`'s output (of shape `output`) depends on.
fn back(layer: &LayerSpec, region: Region, input: Shape, output: Shape) -> Region {
    if let Some((wh, ww)) = windows(layer) {
        let (y0, y1) = wh.back(region.y0, region.y1, input.h);
        let (x0, x1) = ww.back(region.x0, region.x1, input.w);
        return Region { y0, y1, x0, x1 };
    }
    match layer {
        LayerSpec::Residual { layers, .. } => back_block(layers, region, input, output),
        LayerSpec::AdaptiveAvgPool2d { .. } | LayerSpec::AdaptiveMaxPool2d { .. } => {
            let (y0, y1) = adaptive_back(region.y0, region.y1, output.h, input.h);
            let (x0, x1) = adaptive_back(region.x0, region.x1, output.w, input.w);
            Region { y0, y1, x0, x1 }
        }
        _ if input.h == output.h && input.w == output.w => region,
        // A layer that changes the size some other way (spatial pyramid pooling): all of it.
        _ => Region { y0: 0, y1: input.h - 1, x0: 0, x1: input.w - 1 },
    }
}

/// A residual block's region: what its body's layers see (the larger) joined with the region the
/// shortcut reads (the same positions, strided).
fn back_block(layers: &[LayerSpec], region: Region, input: Shape, output: Shape) -> Region {
    let whole = Region { y0: 0, y1: input.h - 1, x0: 0, x1: input.w - 1 };
    let mut shapes = vec![input];
    for l in layers {
        match infer_layer(l, shapes[shapes.len() - 1]) {
            Ok(info) if !info.output.is_flat() => shapes.push(info.output),
            _ => return whole,
        }
    }
    let mut r = region;
    for (m, l) in layers.iter().enumerate().rev() {
        r = back(l, r, shapes[m], shapes[m + 1]);
    }
    let Pair { h: sy, w: sx } = projection_stride(input, output).unwrap_or(Pair::square(1));
    Region { y0: r.y0.min(region.y0 * sy), y1: r.y1.max(region.y1 * sy), x0: r.x0.min(region.x0 * sx), x1: r.x1.max(region.x1 * sx) }
}

/// For the unit at row `y`, column `x` of layer `layer`'s output: its region in the input
/// (index 0) and in the output of each layer before it (index `k + 1` for layer `k`), ending
/// with the unit itself at index `layer + 1`. None when the spec is invalid up to that layer,
/// the layer's output is not an image, or (`y`, `x`) lies outside it.
pub fn receptive_field(spec: &Spec, layer: usize, y: usize, x: usize) -> Option<Vec<Region>> {
    let mut shapes = vec![spec.input_shape()];
    for (i, l) in spec.layers.iter().enumerate().take(layer + 1) {
        let (info, _) = infer_spec_layer(i, l, *shapes.last()?).ok()?;
        shapes.push(info.output);
    }
    let out = *shapes.get(layer + 1)?;
    if out.is_flat() || y >= out.h || x >= out.w {
        return None;
    }
    let mut regions = vec![Region::at(y, x)];
    for k in (0..=layer).rev() {
        let (input, output) = (shapes[k], shapes[k + 1]);
        if input.is_flat() {
            return None;
        }
        let r = back(&spec.layers[k], *regions.last()?, input, output);
        regions.push(r);
    }
    regions.reverse();
    Some(regions)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(layers: &str) -> Spec {
        Spec { layers: serde_json::from_str(layers).unwrap(), ..Spec::default() }
    }

    #[test]
    fn lenet_style_stack_grows_as_the_tutorials_compute() {
        // conv5 (pad 2) → pool2 → conv5 → pool2: a unit of the last pool sees 16×16 input
        // pixels (each conv adds 4 × the stride product before it, each pool doubles).
        let s = spec(r#"[{"type":"conv2d","out_channels":6,"kernel_size":5,"padding":2},{"type":"tanh"},
            {"type":"avg_pool2d","kernel_size":2},{"type":"conv2d","out_channels":16,"kernel_size":5},
            {"type":"tanh"},{"type":"avg_pool2d","kernel_size":2}]"#);
        // Output of layer 5 is 16×5×5; its unit (2, 2) in the middle.
        let r = receptive_field(&s, 5, 2, 2).unwrap();
        assert_eq!(r.len(), 7);
        assert_eq!(r[6], Region::at(2, 2));
        assert_eq!(r[5], Region { y0: 4, y1: 5, x0: 4, x1: 5 }, "pool 2×2 stride 2");
        assert_eq!(r[4], r[5], "tanh is pointwise");
        assert_eq!(r[3], Region { y0: 4, y1: 9, x0: 4, x1: 9 }, "conv 5×5 without padding adds 4");
        assert_eq!(r[2], Region { y0: 8, y1: 19, x0: 8, x1: 19 }, "pool doubles");
        assert_eq!(r[0], Region { y0: 6, y1: 21, x0: 6, x1: 21 }, "conv 5×5 pad 2: 16×16 in the input");
        assert_eq!(r[0].size(), (16, 16));
    }

    #[test]
    fn padding_clips_at_the_border_and_stride_and_dilation_count() {
        let s = spec(r#"[{"type":"conv2d","out_channels":2,"kernel_size":3,"padding":1}]"#);
        assert_eq!(receptive_field(&s, 0, 0, 0).unwrap()[0], Region { y0: 0, y1: 1, x0: 0, x1: 1 }, "the padded row/column is not a pixel");
        let s = spec(r#"[{"type":"conv2d","out_channels":2,"kernel_size":3,"stride":2,"dilation":2}]"#);
        // Output 12×12; unit (3, 5) reads rows 6, 8, 10 and columns 10, 12, 14.
        assert_eq!(receptive_field(&s, 0, 3, 5).unwrap()[0], Region { y0: 6, y1: 10, x0: 10, x1: 14 });
        let s = spec(r#"[{"type":"conv2d","out_channels":2,"kernel_size":[3,5],"padding":"same"}]"#);
        assert_eq!(receptive_field(&s, 0, 10, 10).unwrap()[0], Region { y0: 9, y1: 11, x0: 8, x1: 12 });
    }

    #[test]
    fn a_residual_block_sees_what_its_body_sees() {
        // Two 3×3 convs in the body: 5×5; the shortcut's own pixel is inside it.
        let s = spec(r#"[{"type":"residual","layers":[{"type":"conv2d","out_channels":1,"kernel_size":3,"padding":1},{"type":"relu"},
            {"type":"conv2d","out_channels":1,"kernel_size":3,"padding":1}]},
            {"type":"residual","shortcut":"conv1x1","layers":[{"type":"conv2d","out_channels":2,"kernel_size":1,"stride":2}]}]"#);
        assert_eq!(receptive_field(&s, 0, 10, 10).unwrap()[0], Region { y0: 8, y1: 12, x0: 8, x1: 12 });
        let r = receptive_field(&s, 1, 3, 4).unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1], Region::at(6, 8), "the strided 1×1 body and shortcut read one pixel");
        assert_eq!(r[0], Region { y0: 4, y1: 8, x0: 6, x1: 10 });
    }

    #[test]
    fn adaptive_pooling_uses_pytorch_windows() {
        // 28 → 3: windows [0, 10), [9, 19), [18, 28).
        let s = spec(r#"[{"type":"adaptive_avg_pool2d","output_size":3}]"#);
        assert_eq!(receptive_field(&s, 0, 1, 2).unwrap()[0], Region { y0: 9, y1: 18, x0: 18, x1: 27 });
    }

    #[test]
    fn flat_outputs_invalid_specs_and_outside_units_have_none() {
        let s = Spec::default();
        let flatten = s.layers.iter().position(|l| matches!(l, LayerSpec::Flatten)).unwrap();
        assert!(receptive_field(&s, flatten, 0, 0).is_none(), "a flat output has no rows");
        assert!(receptive_field(&s, 0, 28, 0).is_none(), "outside the 28×28 output");
        assert!(receptive_field(&s, 0, 27, 27).is_some());
        let bad = spec(r#"[{"type":"conv2d","out_channels":2,"kernel_size":40}]"#);
        assert!(receptive_field(&bad, 0, 0, 0).is_none());
    }
}
