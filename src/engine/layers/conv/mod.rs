//! Conv2d (PyTorch `nn.Conv2d`, cross-correlation): rectangular kernel, stride, padding (sizes,
//! `"same"`, `"valid"`), padding modes zeros / reflect / replicate / circular, dilation, groups
//! (depthwise when `groups = in_channels`), optional bias.
//!
//! # Shapes
//! `[N, C, H, W] → [N, OC, ⌊(H+pt+pb−d(kh−1)−1)/s⌋+1, …]`; weight `[OC, C/groups, kh, kw]`, bias `[OC]`.

mod grouped;
mod implicit;
mod pad;

use super::{init_params, take, Layer, ParamTensor, Pass, Scratch};
use crate::engine::kernels::im2col::{Axis, ConvGeom};
use crate::engine::kernels::implicit::PlaneLayout;
use crate::engine::shape::Shape;
use pad::PadMap;
use crate::engine::spec::{FieldError, Init, Padding, PaddingMode, PaddingWord, Pair};
use rand_chacha::ChaCha8Rng;

/// Everything a convolution's shape rule needs from its spec.
#[derive(Clone, Copy, Debug)]
pub struct ConvOptions {
    /// Output channels.
    pub out_channels: usize,
    /// Kernel size.
    pub kernel: Pair,
    /// Stride.
    pub stride: Pair,
    /// Padding.
    pub padding: Padding,
    /// Padding mode.
    pub mode: PaddingMode,
    /// Dilation.
    pub dilation: Pair,
    /// Channel groups.
    pub groups: usize,
    /// Whether a bias is learned.
    pub bias: bool,
}

/// A resolved convolution: padding per side and the output shape.
#[derive(Clone, Copy, Debug)]
pub struct ConvPlan {
    /// Padding (before, after) along the height.
    pub pad_y: (usize, usize),
    /// Padding (before, after) along the width.
    pub pad_x: (usize, usize),
    /// Output shape.
    pub output: Shape,
}

impl ConvOptions {
    /// The shape rule with PyTorch's checks; errors name the offending field.
    pub fn plan(&self, input: Shape) -> Result<ConvPlan, FieldError> {
        for (field, v) in [("kernel_size", self.kernel), ("stride", self.stride), ("dilation", self.dilation)] {
            if v.has_zero() {
                return Err(FieldError::new(field, crate::msg!("err.at_least_1")));
            }
        }
        if self.out_channels == 0 {
            return Err(FieldError::new("out_channels", crate::msg!("err.at_least_1")));
        }
        let g = self.groups;
        if g == 0 || input.c % g != 0 || self.out_channels % g != 0 {
            return Err(FieldError::new(
                "groups",
                crate::msg!("err.conv_groups", g, input.c, self.out_channels),
            ));
        }
        let (pad_y, pad_x) = match self.padding {
            Padding::Size(p) => ((p.h, p.h), (p.w, p.w)),
            Padding::Word(PaddingWord::Valid) => ((0, 0), (0, 0)),
            Padding::Word(PaddingWord::Same) => {
                if self.stride != Pair::square(1) {
                    return Err(FieldError::new("padding", crate::msg!("err.same_stride")));
                }
                let split = |k: usize, d: usize| {
                    let total = d * (k - 1);
                    (total / 2, total - total / 2)
                };
                (split(self.kernel.h, self.dilation.h), split(self.kernel.w, self.dilation.w))
            }
        };
        let largest = pad_y.0.max(pad_y.1).max(pad_x.0).max(pad_x.1);
        let fits = match self.mode {
            PaddingMode::Zeros | PaddingMode::Replicate => true,
            PaddingMode::Reflect => pad_y.0.max(pad_y.1) < input.h && pad_x.0.max(pad_x.1) < input.w,
            PaddingMode::Circular => pad_y.0.max(pad_y.1) <= input.h && pad_x.0.max(pad_x.1) <= input.w,
        };
        if !fits {
            return Err(FieldError::new(
                "padding",
                crate::msg!("err.padding_large", largest, format!("{:?}", self.mode), input.h, input.w),
            ));
        }
        let axis_y = Axis::new(input.h, self.kernel.h, self.stride.h, pad_y.0, pad_y.1, self.dilation.h);
        let axis_x = Axis::new(input.w, self.kernel.w, self.stride.w, pad_x.0, pad_x.1, self.dilation.w);
        let (Some(ay), Some(ax)) = (axis_y, axis_x) else {
            let (kernel, padded_h, padded_w) = (self.kernel.to_string(), input.h + pad_y.0 + pad_y.1, input.w + pad_x.0 + pad_x.1);
            let why = if self.dilation == Pair::square(1) {
                crate::msg!("err.kernel_large", kernel, padded_h, padded_w)
            } else {
                crate::msg!("err.kernel_large_dilated", kernel, self.dilation.to_string(), padded_h, padded_w)
            };
            return Err(FieldError::new("kernel_size", why));
        };
        Ok(ConvPlan { pad_y, pad_x, output: Shape::new(self.out_channels, ay.out, ax.out) })
    }
}

/// For unit strides, the input gradient is itself a convolution: dY (`oc` channels) correlated
/// with the flipped kernel, padded by `span − pad` before and whatever brings the output back to
/// the input size after. `None` when that padding would be negative (a padding wider than the
/// kernel's span) or the stride is not 1.
fn transposed_geom(g: &ConvGeom, oc: usize) -> Option<ConvGeom> {
    let axis = |a: &Axis| {
        if a.stride != 1 {
            return None;
        }
        let span = (a.kernel - 1) * a.dilation;
        let before = span.checked_sub(a.pad)?;
        let after = (a.size + span).checked_sub(a.out + before)?;
        let t = Axis::new(a.out, a.kernel, 1, before, after, a.dilation)?;
        (t.out == a.size).then_some(t)
    };
    Some(ConvGeom { c: oc, y: axis(&g.y)?, x: axis(&g.x)? })
}

/// 2-D convolution layer. Without groups and with unit stride along x it runs as an implicit
/// GEMM on padded planes (`implicit.rs`); otherwise one GEMM per group on plain column matrices
/// (`grouped.rs`).
#[derive(Clone, Debug)]
pub struct Conv2d {
    input: Shape,
    /// The geometry im2col sees (the padded input when `pad_map` is set).
    geom: ConvGeom,
    /// The padded-plane layout of the implicit path (no groups, unit stride along x).
    layout: Option<PlaneLayout>,
    /// Implicit path with unit strides: the input gradient as a convolution of dY, and its layout.
    transposed: Option<(ConvGeom, PlaneLayout)>,
    pad_map: Option<PadMap>,
    out_channels: usize,
    groups: usize,
    has_bias: bool,
    /// `[weight (OC·C/groups·kh·kw) | bias (OC, if any)]`.
    params: Vec<f32>,
}

impl Conv2d {
    /// Creates the layer for `input` and initialises its parameters (options validated by
    /// [`ConvOptions::plan`], which this calls).
    pub fn new(input: Shape, o: ConvOptions, init: Init, rng: &mut ChaCha8Rng) -> Result<Self, FieldError> {
        let plan = o.plan(input)?;
        let (mut pad_y, mut pad_x, mut inner) = (plan.pad_y, plan.pad_x, input);
        let pad_map = (o.mode != PaddingMode::Zeros).then(|| {
            let map = PadMap::new(input, pad_y, pad_x, o.mode);
            inner = Shape::new(input.c, map.rows.len(), map.cols.len());
            (pad_y, pad_x) = ((0, 0), (0, 0));
            map
        });
        let axis = |size, k, s, pad: (usize, usize), d| Axis::new(size, k, s, pad.0, pad.1, d).expect("checked by plan");
        let geom = ConvGeom {
            c: input.c,
            y: axis(inner.h, o.kernel.h, o.stride.h, pad_y, o.dilation.h),
            x: axis(inner.w, o.kernel.w, o.stride.w, pad_x, o.dilation.w),
        };
        // PyTorch: fan_in = C/groups·kh·kw, fan_out = OC/groups·kh·kw.
        let fan_in = geom.col_rows() / o.groups;
        let weight_len = fan_in * o.out_channels;
        let mut params = vec![0.0; weight_len + if o.bias { o.out_channels } else { 0 }];
        let (w, b) = params.split_at_mut(weight_len);
        init_params(init, fan_in, o.out_channels / o.groups * o.kernel.h * o.kernel.w, w, b, rng);
        let layout = (o.groups == 1 && geom.x.stride == 1).then(|| PlaneLayout::new(&geom));
        // The transposed convolution multiplies over every input pixel, the column form over
        // every output pixel (plus a col2im): without padding ("valid"), the input has up to
        // twice as many pixels (LeNet-5's conv2: 196 and 100).
        let transposed = layout
            .as_ref()
            .and_then(|_| transposed_geom(&geom, o.out_channels))
            .filter(|_| 4 * geom.y.size * geom.x.size <= 5 * geom.col_cols())
            .map(|t| (t, PlaneLayout::new(&t)));
        Ok(Self { input, geom, layout, transposed, pad_map, out_channels: o.out_channels, groups: o.groups, has_bias: o.bias, params })
    }

    fn weight_len(&self) -> usize {
        self.out_channels * self.geom.col_rows() / self.groups
    }

    /// Floats of one sample's output.
    fn output_shape_len(&self) -> usize {
        self.out_channels * self.geom.col_cols()
    }

    /// Sample `s` as im2col reads it: `x`'s slice, or its padded copy in `padded` for the other
    /// padding modes.
    fn sample<'a>(&self, x: &'a [f32], s: usize, padded: &'a mut Vec<f32>) -> &'a [f32] {
        let in_len = self.input.len();
        let xs = &x[s * in_len..(s + 1) * in_len];
        match &self.pad_map {
            None => xs,
            Some(map) => {
                let buf = take(padded, map.padded_len());
                map.pad(xs, buf);
                buf
            }
        }
    }

    /// Writes the input gradient of sample `s` into `dxs` via `write(d_inner)`, which overwrites
    /// the gradient of the input as im2col saw it (folded back through the padding map, which
    /// needs `padded` as workspace).
    fn write_input_gradient(&self, dxs: &mut [f32], padded: &mut Vec<f32>, write: impl FnOnce(&mut [f32])) {
        match &self.pad_map {
            None => write(dxs),
            Some(map) => {
                let d_padded = take(padded, map.padded_len());
                write(d_padded);
                dxs.fill(0.0);
                map.fold(d_padded, dxs);
            }
        }
    }
}

impl Layer for Conv2d {
    fn input_shape(&self) -> Shape {
        self.input
    }

    fn output_shape(&self) -> Shape {
        Shape::new(self.out_channels, self.geom.y.out, self.geom.x.out)
    }

    fn params(&self) -> &[f32] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    fn param_tensors(&self) -> Vec<ParamTensor> {
        let g = &self.geom;
        let mut t = vec![ParamTensor {
            name: "weight",
            shape: vec![self.out_channels, g.c / self.groups, g.y.kernel, g.x.kernel],
            offset: 0,
        }];
        if self.has_bias {
            t.push(ParamTensor { name: "bias", shape: vec![self.out_channels], offset: self.weight_len() });
        }
        t
    }

    /// The column matrices of the whole chunk stay in `scratch.f` when a backward pass follows.
    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, pass: &mut Pass) {
        if self.layout.is_some() {
            self.forward_implicit(x, y, n, scratch, pass.backward);
        } else {
            self.forward_grouped(x, y, n, scratch, pass.backward);
        }
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        if self.layout.is_some() {
            self.backward_implicit(dy, dx, grads, n, scratch);
        } else {
            self.backward_grouped(dy, dx, grads, n, scratch);
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn options(out_channels: usize, k: (usize, usize), stride: (usize, usize), padding: Padding, dilation: usize, mode: PaddingMode) -> ConvOptions {
        ConvOptions {
            out_channels,
            kernel: Pair { h: k.0, w: k.1 },
            stride: Pair { h: stride.0, w: stride.1 },
            padding,
            mode,
            dilation: Pair::square(dilation),
            groups: 1,
            bias: true,
        }
    }

    /// The implicit path (layers without groups, unit stride along x) against the per-group path
    /// on the same layer, forward and backward: the same function, to rounding (sums in other
    /// orders). Both input-gradient forms are covered: the transposed convolution (unit strides)
    /// and col2im (a row stride, a padding wider than the kernel, or far fewer output pixels than
    /// input pixels).
    #[test]
    fn implicit_path_equals_grouped_path() {
        let (same, valid) = (Padding::Word(PaddingWord::Same), Padding::Word(PaddingWord::Valid));
        let size = |p: usize| Padding::Size(Pair::square(p));
        let zeros = PaddingMode::Zeros;
        let cases = [
            (Shape::new(8, 14, 14), options(16, (5, 5), (1, 1), size(2), 1, zeros), true),
            (Shape::new(1, 28, 28), options(8, (5, 5), (1, 1), size(2), 1, zeros), true),
            (Shape::new(2, 8, 9), options(3, (4, 2), (1, 1), same, 1, zeros), true),
            (Shape::new(2, 11, 10), options(2, (3, 3), (1, 1), size(2), 2, zeros), true),
            (Shape::new(3, 5, 6), options(4, (1, 1), (1, 1), size(0), 1, zeros), true),
            // Valid: 30 input pixels for 12 output pixels, so col2im.
            (Shape::new(3, 5, 6), options(2, (3, 3), (1, 1), valid, 1, zeros), false),
            // Reflect: the convolution runs on the 11×11 reflected input for 9×9 outputs, so col2im.
            (Shape::new(2, 7, 7), options(3, (3, 3), (1, 1), size(2), 1, PaddingMode::Reflect), false),
            (Shape::new(2, 9, 8), options(5, (3, 3), (2, 1), size(1), 1, zeros), false),
            (Shape::new(1, 4, 4), options(2, (1, 3), (1, 1), Padding::Size(Pair { h: 2, w: 3 }), 1, zeros), false),
        ];
        for (input, o, transposed) in cases {
            let layer = Conv2d::new(input, o, Init::Pytorch, &mut ChaCha8Rng::seed_from_u64(3)).unwrap();
            assert!(layer.layout.is_some(), "{o:?}");
            assert_eq!(layer.transposed.is_some(), transposed, "{o:?}");
            let n = 3;
            let (in_len, out_len) = (input.len(), layer.output_shape().len());
            let x: Vec<f32> = (0..n * in_len).map(|i| ((i * 13 % 29) as f32 - 14.0) / 9.0).collect();
            let dy: Vec<f32> = (0..n * out_len).map(|i| ((i * 37 % 101) as f32 - 50.0) / 25.0).collect();
            let run = |panels: bool| {
                let (mut scratch, mut y) = (Scratch::default(), vec![f32::NAN; n * out_len]);
                let (mut dx, mut grads) = (vec![f32::NAN; n * in_len], vec![0.0; layer.params.len()]);
                if panels {
                    layer.forward_implicit(&x, &mut y, n, &mut scratch, true);
                    layer.backward_implicit(&dy, Some(&mut dx), &mut grads, n, &mut scratch);
                } else {
                    layer.forward_grouped(&x, &mut y, n, &mut scratch, true);
                    layer.backward_grouped(&dy, Some(&mut dx), &mut grads, n, &mut scratch);
                }
                [y, dx, grads]
            };
            // Without a backward pass to follow, one sample's columns are reused: same output.
            for panels in [true, false] {
                let forward = |keep: bool| {
                    let mut y = vec![f32::NAN; n * out_len];
                    if panels {
                        layer.forward_implicit(&x, &mut y, n, &mut Scratch::default(), keep);
                    } else {
                        layer.forward_grouped(&x, &mut y, n, &mut Scratch::default(), keep);
                    }
                    y
                };
                let (kept, reused) = (forward(true), forward(false));
                assert!(kept.iter().zip(&reused).all(|(a, b)| a.to_bits() == b.to_bits()), "{o:?} panels {panels}: outputs differ");
            }
            for (what, (a, b)) in ["output", "input gradient", "parameter gradient"].iter().zip(run(true).iter().zip(&run(false))) {
                for (i, (p, g)) in a.iter().zip(b).enumerate() {
                    assert!((p - g).abs() <= 1e-4 * (1.0 + g.abs()), "{o:?} {what} at {i}: {p} vs {g}");
                }
            }
        }
    }
}
