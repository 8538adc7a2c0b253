//! Pooling: MaxPool2d and AvgPool2d (window, stride defaulting to the window, padding, dilation
//! for max, ceil_mode, count_include_pad for avg), AdaptiveAvgPool2d / AdaptiveMaxPool2d (any
//! output size; 1 = global) and spatial pyramid pooling, all on one window description.
//!
//! # Shapes
//! `[N, C, H, W] → [N, C, ⌊(H+2p−d(k−1)−1)/s⌋+1, …]` (⌈…⌉ with ceil_mode); adaptive: `→ [N, C, oh, ow]`;
//! pyramid: `→ [N, C·Σl²]`. No parameters.

use super::{take, Layer, Pass, Scratch};
use crate::engine::kernels::pool::max_2x2;
use crate::engine::shape::Shape;
use crate::engine::spec::{FieldError, Pair, PoolKind};

/// The input indices each output position reads along one axis.
#[derive(Clone, Debug, PartialEq)]
pub struct AxisWindows {
    /// Taps of output `o` are `taps[bounds[o]..bounds[o + 1]]`.
    taps: Vec<u32>,
    bounds: Vec<usize>,
    /// Per output: the divisor share when padding counts (`count_include_pad`).
    padded: Vec<u32>,
}

impl AxisWindows {
    /// Sliding windows as PyTorch's pooling: start `o·s − p`, taps every `d`, output length
    /// ⌊(n+2p−d(k−1)−1)/s⌋+1, or with `ceil` ⌈…⌉+1 minus the last window if it starts in the
    /// right padding. With `ceil` the last window may hang over the edge of the input (PyTorch
    /// gives `MaxPool2d(29, ceil_mode=True)` on 28 one output). `None` when no window fits.
    /// Sizes are those the spec's ranges allow; the arithmetic is signed and 64-bit, so no
    /// combination of them wraps.
    pub fn sliding(size: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Option<Self> {
        let out = Self::sliding_len(size, k, s, p, d, ceil)?;
        let mut w = AxisWindows { taps: Vec::new(), bounds: vec![0], padded: Vec::new() };
        for o in 0..out {
            let start = (o * s) as isize - p as isize;
            for t in 0..k {
                let i = start + (t * d) as isize;
                if (0..size as isize).contains(&i) {
                    w.taps.push(i as u32);
                }
            }
            w.bounds.push(w.taps.len());
            // PyTorch avg-pool: the window clipped to the padded input counts, padding included.
            let end = (start + k as isize).min((size + p) as isize);
            w.padded.push((end - start) as u32);
        }
        Some(w)
    }

    /// The output length of [`AxisWindows::sliding`] (PyTorch's `pooling_output_shape`), or
    /// `None` when it is below 1 or a size is 0.
    pub fn sliding_len(size: usize, k: usize, s: usize, p: usize, d: usize, ceil: bool) -> Option<usize> {
        if k == 0 || s == 0 || d == 0 {
            return None;
        }
        let (n, k, s, p, d) = (size as i128, k as i128, s as i128, p as i128, d as i128);
        let room = n + 2 * p - d * (k - 1) - 1 + if ceil { s - 1 } else { 0 };
        let mut out = room.div_euclid(s) + 1;
        if ceil && (out - 1) * s >= n + p {
            out -= 1;
        }
        (out >= 1).then(|| usize::try_from(out).ok()).flatten()
    }

    /// Adaptive windows: output `o` covers `⌊o·n/out⌋ .. ⌈(o+1)·n/out⌉`.
    pub fn adaptive(size: usize, out: usize) -> Self {
        let mut w = AxisWindows { taps: Vec::new(), bounds: vec![0], padded: Vec::new() };
        for o in 0..out {
            let (lo, hi) = (o * size / out, ((o + 1) * size).div_ceil(out));
            w.taps.extend(lo as u32..hi as u32);
            w.bounds.push(w.taps.len());
            w.padded.push((hi - lo) as u32);
        }
        w
    }

    /// Output length.
    pub fn out(&self) -> usize {
        self.bounds.len() - 1
    }

    fn taps(&self, o: usize) -> &[u32] {
        &self.taps[self.bounds[o]..self.bounds[o + 1]]
    }
}

/// Windows over a whole plane: one [`AxisWindows`] per axis.
#[derive(Clone, Debug)]
struct Windows {
    input: Shape,
    y: AxisWindows,
    x: AxisWindows,
    /// Per output position: 1 / divisor for average pooling.
    inv_divisor: Vec<f32>,
}

impl Windows {
    fn new(input: Shape, y: AxisWindows, x: AxisWindows, count_pad: bool, divisor: Option<usize>) -> Self {
        let mut inv_divisor = Vec::with_capacity(y.out() * x.out());
        for oy in 0..y.out() {
            for ox in 0..x.out() {
                let count = if let Some(d) = divisor {
                    d as u32
                } else if count_pad {
                    y.padded[oy] * x.padded[ox]
                } else {
                    (y.taps(oy).len() * x.taps(ox).len()) as u32
                };
                inv_divisor.push(1.0 / count.max(1) as f32);
            }
        }
        Self { input, y, x, inv_divisor }
    }

    fn output(&self) -> Shape {
        Shape::new(self.input.c, self.y.out(), self.x.out())
    }

    /// Per-plane output length.
    fn plane_out(&self) -> usize {
        self.y.out() * self.x.out()
    }

    /// Max over each window of `planes` planes. The first maximum in row-major order wins and a
    /// NaN wins over everything (PyTorch); a window with no input tap gives −∞ and no argmax.
    fn max(&self, x: &[f32], y: &mut [f32], argmax: &mut [u32], planes: usize) {
        let (ih, iw) = (self.input.h, self.input.w);
        let mut o = 0;
        for p in 0..planes {
            let base = p * ih * iw;
            for oy in 0..self.y.out() {
                for ox in 0..self.x.out() {
                    let (mut best, mut at) = (f32::NEG_INFINITY, u32::MAX);
                    for &iy in self.y.taps(oy) {
                        for &ix in self.x.taps(ox) {
                            let i = base + iy as usize * iw + ix as usize;
                            let v = x[i];
                            if at == u32::MAX || (!best.is_nan() && (v > best || v.is_nan())) {
                                (best, at) = (v, i as u32);
                            }
                        }
                    }
                    y[o] = best;
                    argmax[o] = at;
                    o += 1;
                }
            }
        }
    }

    /// Mean over each window (divisor per [`Windows::inv_divisor`]).
    fn avg(&self, x: &[f32], y: &mut [f32], planes: usize) {
        let (ih, iw) = (self.input.h, self.input.w);
        let mut o = 0;
        for p in 0..planes {
            let base = p * ih * iw;
            for oy in 0..self.y.out() {
                for ox in 0..self.x.out() {
                    let mut sum = 0.0;
                    for &iy in self.y.taps(oy) {
                        let row = base + iy as usize * iw;
                        for &ix in self.x.taps(ox) {
                            sum += x[row + ix as usize];
                        }
                    }
                    y[o] = sum * self.inv_divisor[oy * self.x.out() + ox];
                    o += 1;
                }
            }
        }
    }

    /// Adds the average-pool gradient of `dy` into `dx`.
    fn avg_backward(&self, dy: &[f32], dx: &mut [f32], planes: usize) {
        let (ih, iw) = (self.input.h, self.input.w);
        let mut o = 0;
        for p in 0..planes {
            let base = p * ih * iw;
            for oy in 0..self.y.out() {
                for ox in 0..self.x.out() {
                    let g = dy[o] * self.inv_divisor[oy * self.x.out() + ox];
                    for &iy in self.y.taps(oy) {
                        let row = base + iy as usize * iw;
                        for &ix in self.x.taps(ox) {
                            dx[row + ix as usize] += g;
                        }
                    }
                    o += 1;
                }
            }
        }
    }
}

/// Adds `dy` into `dx` at the recorded argmax positions.
fn scatter_argmax(dy: &[f32], argmax: &[u32], dx: &mut [f32]) {
    for (&g, &i) in dy.iter().zip(argmax) {
        if i != u32::MAX {
            dx[i as usize] += g;
        }
    }
}

/// Options of a sliding-window pool.
#[derive(Clone, Copy, Debug)]
pub struct PoolOptions {
    /// Window.
    pub kernel: Pair,
    /// Stride (`None`: the window).
    pub stride: Option<Pair>,
    /// Padding per side.
    pub padding: Pair,
    /// Dilation (max pooling only; 1 for average).
    pub dilation: Pair,
    /// Round output sizes up.
    pub ceil_mode: bool,
}

impl PoolOptions {
    /// The per-axis windows, with PyTorch's checks; errors name the field.
    fn windows(&self, input: Shape) -> Result<(AxisWindows, AxisWindows), FieldError> {
        let stride = self.stride.unwrap_or(self.kernel);
        for (field, v) in [("kernel_size", self.kernel), ("stride", stride), ("dilation", self.dilation)] {
            if v.has_zero() {
                return Err(FieldError::new(field, crate::msg!("err.at_least_1")));
            }
        }
        if self.padding.h > self.kernel.h / 2 || self.padding.w > self.kernel.w / 2 {
            return Err(FieldError::new(
                "padding",
                crate::msg!("err.pool_padding", self.padding.to_string(), self.kernel.to_string()),
            ));
        }
        let axis = |n, k, s, p, d| AxisWindows::sliding(n, k, s, p, d, self.ceil_mode);
        match (
            axis(input.h, self.kernel.h, stride.h, self.padding.h, self.dilation.h),
            axis(input.w, self.kernel.w, stride.w, self.padding.w, self.dilation.w),
        ) {
            (Some(y), Some(x)) => Ok((y, x)),
            _ => Err(FieldError::new(
                "kernel_size",
                crate::msg!("err.window_large", self.kernel.to_string(), input.h, input.w),
            )),
        }
    }

    /// Output shape (the shape rule).
    pub fn output(&self, input: Shape) -> Result<Shape, FieldError> {
        let (y, x) = self.windows(input)?;
        Ok(Shape::new(input.c, y.out(), x.out()))
    }
}

/// Max pooling layer.
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    windows: Windows,
    /// The common 2×2 stride-2 unpadded case takes a loop without per-tap bookkeeping.
    fast_2x2: bool,
}

impl MaxPool2d {
    /// Creates the layer for `input`.
    pub fn new(input: Shape, o: PoolOptions) -> Result<Self, FieldError> {
        let (y, x) = o.windows(input)?;
        let fast_2x2 = plain_2x2(&o, input, &y, &x);
        Ok(Self { windows: Windows::new(input, y, x, false, None), fast_2x2 })
    }
}

impl Layer for MaxPool2d {
    fn input_shape(&self) -> Shape {
        self.windows.input
    }

    fn output_shape(&self) -> Shape {
        self.windows.output()
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let w = &self.windows;
        let planes = n * w.input.c;
        // Argmax (index within the chunk) is kept for the backward pass.
        let argmax = take(&mut scratch.idx, planes * w.plane_out());
        if self.fast_2x2 {
            max_2x2(x, y, argmax, planes, w.input.w, w.input.h, w.y.out(), w.x.out());
        } else {
            w.max(x, y, argmax, planes);
        }
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let w = &self.windows;
        let planes = n * w.input.c;
        let outputs = planes * w.plane_out();
        dx[..planes * w.input.h * w.input.w].fill(0.0);
        scatter_argmax(&dy[..outputs], &scratch.idx[..outputs], dx);
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// 2×2 windows at stride 2, unpadded and undilated, each one wholly inside the input: the case
/// the fast loops handle (`ceil_mode` on an odd size adds a partial window; the general loop
/// takes that).
fn plain_2x2(o: &PoolOptions, input: Shape, y: &AxisWindows, x: &AxisWindows) -> bool {
    let two = Pair::square(2);
    o.kernel == two
        && o.stride.unwrap_or(o.kernel) == two
        && o.padding == Pair::square(0)
        && o.dilation == Pair::square(1)
        && 2 * y.out() <= input.h
        && 2 * x.out() <= input.w
}

/// Average pooling layer.
#[derive(Clone, Debug)]
pub struct AvgPool2d {
    windows: Windows,
    /// The 2×2 stride-2 case (LeNet-5's) takes loops without per-tap bookkeeping.
    fast_2x2: bool,
}

impl AvgPool2d {
    /// Creates the layer for `input` (`count_include_pad`: padded zeros count in the divisor;
    /// `divisor_override`: every window's sum is divided by this instead).
    pub fn new(input: Shape, o: PoolOptions, count_include_pad: bool, divisor_override: Option<usize>) -> Result<Self, FieldError> {
        let (y, x) = o.windows(input)?;
        // The fast loop divides by 4.
        let fast_2x2 = plain_2x2(&o, input, &y, &x) && divisor_override.is_none();
        Ok(Self { windows: Windows::new(input, y, x, count_include_pad, divisor_override), fast_2x2 })
    }

    /// Adaptive average pooling to `out` (AdaptiveAvgPool2d).
    pub fn adaptive(input: Shape, out: Pair) -> Self {
        let (y, x) = (AxisWindows::adaptive(input.h, out.h), AxisWindows::adaptive(input.w, out.w));
        Self { windows: Windows::new(input, y, x, true, None), fast_2x2: false }
    }
}

impl Layer for AvgPool2d {
    fn input_shape(&self) -> Shape {
        self.windows.input
    }

    fn output_shape(&self) -> Shape {
        self.windows.output()
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let w = &self.windows;
        let planes = n * w.input.c;
        if self.fast_2x2 {
            avg_2x2(x, y, planes, w.input.w, w.input.h, w.y.out(), w.x.out());
        } else {
            w.avg(x, y, planes);
        }
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        _scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let w = &self.windows;
        let planes = n * w.input.c;
        dx[..planes * w.input.h * w.input.w].fill(0.0);
        if self.fast_2x2 {
            avg_2x2_backward(dy, dx, planes, w.input.w, w.input.h, w.y.out(), w.x.out());
        } else {
            w.avg_backward(dy, dx, planes);
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// AdaptiveMaxPool2d (and global max pooling with output 1).
pub fn adaptive_max(input: Shape, out: Pair) -> MaxPool2d {
    let (y, x) = (AxisWindows::adaptive(input.h, out.h), AxisWindows::adaptive(input.w, out.w));
    MaxPool2d { windows: Windows::new(input, y, x, false, None), fast_2x2: false }
}

/// Spatial pyramid pooling: per level `l` an adaptive `l×l` pool, flattened and concatenated.
#[derive(Clone, Debug)]
pub struct SpatialPyramidPool {
    levels: Vec<Windows>,
    kind: PoolKind,
}

impl SpatialPyramidPool {
    /// Creates the layer for `input` (levels validated by the spec).
    pub fn new(input: Shape, levels: &[usize], kind: PoolKind) -> Self {
        let levels = levels
            .iter()
            .map(|&l| Windows::new(input, AxisWindows::adaptive(input.h, l), AxisWindows::adaptive(input.w, l), true, None))
            .collect();
        Self { levels, kind }
    }

    /// Features per sample: `C·Σl²`.
    pub fn features(input: Shape, levels: &[usize]) -> usize {
        input.c * levels.iter().map(|l| l * l).sum::<usize>()
    }

    fn input(&self) -> Shape {
        self.levels[0].input
    }
}

impl Layer for SpatialPyramidPool {
    fn input_shape(&self) -> Shape {
        self.input()
    }

    fn output_shape(&self) -> Shape {
        let c = self.input().c;
        Shape::flat(self.levels.iter().map(|w| c * w.plane_out()).sum())
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let (in_len, out_len, c) = (self.input().len(), self.output_shape().len(), self.input().c);
        let argmax = take(&mut scratch.idx, n * out_len);
        for s in 0..n {
            let xs = &x[s * in_len..(s + 1) * in_len];
            let mut off = s * out_len;
            for w in &self.levels {
                let len = c * w.plane_out();
                match self.kind {
                    PoolKind::Max => {
                        w.max(xs, &mut y[off..off + len], &mut argmax[off..off + len], c);
                    }
                    PoolKind::Avg => w.avg(xs, &mut y[off..off + len], c),
                }
                off += len;
            }
        }
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let (in_len, out_len, c) = (self.input().len(), self.output_shape().len(), self.input().c);
        dx[..n * in_len].fill(0.0);
        for s in 0..n {
            let dxs = &mut dx[s * in_len..(s + 1) * in_len];
            let mut off = s * out_len;
            for w in &self.levels {
                let len = c * w.plane_out();
                match self.kind {
                    PoolKind::Max => scatter_argmax(&dy[off..off + len], &scratch.idx[off..off + len], dxs),
                    PoolKind::Avg => w.avg_backward(&dy[off..off + len], dxs, c),
                }
                off += len;
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// 2×2 stride-2 average of every window (see [`plain_2x2`]): the general loop's sum in the same
/// order, so the same bits, without its tap lists (LeNet-5's first pool 10.8 µs per image).
fn avg_2x2(x: &[f32], y: &mut [f32], planes: usize, iw: usize, ih: usize, oh: usize, ow: usize) {
    for p in 0..planes {
        for oy in 0..oh {
            let top = p * ih * iw + 2 * oy * iw;
            let (r0, r1) = (&x[top..top + 2 * ow], &x[top + iw..top + iw + 2 * ow]);
            let out = (p * oh + oy) * ow;
            for (yv, (a, b)) in y[out..out + ow].iter_mut().zip(r0.chunks_exact(2).zip(r1.chunks_exact(2))) {
                *yv = (0.0 + a[0] + a[1] + b[0] + b[1]) * 0.25;
            }
        }
    }
}

/// Gradient of [`avg_2x2`] into a zeroed `dx` (`0.0 +` as the general loop adds into zeros).
fn avg_2x2_backward(dy: &[f32], dx: &mut [f32], planes: usize, iw: usize, ih: usize, oh: usize, ow: usize) {
    for p in 0..planes {
        for oy in 0..oh {
            let top = p * ih * iw + 2 * oy * iw;
            let out = (p * oh + oy) * ow;
            let (r0, rest) = dx[top..top + iw + 2 * ow].split_at_mut(iw);
            for ((&g, a), b) in dy[out..out + ow].iter().zip(r0[..2 * ow].chunks_exact_mut(2)).zip(rest.chunks_exact_mut(2)) {
                let v = 0.0 + g * 0.25;
                (a[0], a[1], b[0], b[1]) = (v, v, v, v);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    fn opts(k: usize, s: usize) -> PoolOptions {
        PoolOptions { kernel: Pair::square(k), stride: Some(Pair::square(s)), padding: Pair::square(0), dilation: Pair::square(1), ceil_mode: false }
    }

    /// Naive reference: max over each window, first maximum wins, first NaN wins.
    fn reference(x: &[f32], s: Shape, k: usize, st: usize) -> (Vec<f32>, Vec<u32>) {
        let (oh, ow) = ((s.h - k) / st + 1, (s.w - k) / st + 1);
        let (mut y, mut idx) = (vec![], vec![]);
        for c in 0..s.c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best: Option<(f32, usize)> = None;
                    for ky in 0..k {
                        for kx in 0..k {
                            let i = c * s.h * s.w + (oy * st + ky) * s.w + ox * st + kx;
                            let v = x[i];
                            best = match best {
                                None => Some((v, i)),
                                Some(b) if b.0.is_nan() => Some(b),
                                Some(b) if v.is_nan() || v > b.0 => Some((v, i)),
                                keep => keep,
                            };
                        }
                    }
                    let (v, i) = best.unwrap();
                    y.push(v);
                    idx.push(i as u32);
                }
            }
        }
        (y, idx)
    }

    #[test]
    fn both_paths_match_the_reference_with_ties_and_nan() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let shape = Shape::new(3, 6, 7);
        // Few distinct values (many ties) and some NaNs.
        let x: Vec<f32> = (0..shape.len())
            .map(|_| if rng.random_bool(0.05) { f32::NAN } else { rng.random_range(0..4) as f32 })
            .collect();
        for (k, st) in [(2, 2), (3, 2), (2, 1), (3, 3)] {
            let pool = MaxPool2d::new(shape, opts(k, st)).unwrap();
            let mut y = vec![0.0; pool.output_shape().len()];
            let mut scratch = Scratch::default();
            let mut r = ChaCha8Rng::seed_from_u64(0);
            pool.forward(&x, &mut y, 1, &mut scratch, &mut Pass { train: true, backward: true, rng: &mut r });
            let (ry, ridx) = reference(&x, shape, k, st);
            let bits = |v: &[f32]| v.iter().map(|f| if f.is_nan() { u32::MAX } else { f.to_bits() }).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&ry), "k{k} s{st} values");
            assert_eq!(&scratch.idx[..ridx.len()], &ridx[..], "k{k} s{st} argmax");
        }
    }

    /// Forward then backward of `layer` on a batch of `n`: the output and the input gradient.
    fn forward_backward(layer: &dyn Layer, x: &[f32], n: usize) -> (Vec<u32>, Vec<u32>) {
        let mut y = vec![0.0; n * layer.output_shape().len()];
        let mut scratch = Scratch::default();
        let mut r = ChaCha8Rng::seed_from_u64(0);
        layer.forward(x, &mut y, n, &mut scratch, &mut Pass { train: true, backward: true, rng: &mut r });
        // Negative zeros too: the fast loops must keep the general loops' signs of zero.
        let dy: Vec<f32> = (0..y.len()).map(|i| if i % 11 == 0 { -0.0 } else { (i % 7) as f32 - 3.5 }).collect();
        let mut dx = vec![f32::NAN; x.len()];
        layer.backward(x, &y, &dy, Some(&mut dx), &mut [], n, &mut scratch);
        let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect();
        (bits(&y), bits(&dx))
    }

    #[test]
    fn fast_2x2_loops_equal_the_general_loops_bit_for_bit() {
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        // (input, ceil_mode, whether the fast loop applies): ceil_mode on odd sizes adds partial
        // windows, which only the general loop handles.
        for (shape, ceil, fast) in [
            (Shape::new(3, 6, 8), false, true),
            (Shape::new(3, 6, 8), true, true),
            (Shape::new(2, 7, 5), false, true),
            (Shape::new(2, 7, 5), true, false),
        ] {
            let x: Vec<f32> = (0..2 * shape.len()).map(|_| rng.random_range(-2.0..2.0)).collect();
            let o = PoolOptions { ceil_mode: ceil, ..opts(2, 2) };
            let max = MaxPool2d::new(shape, o).unwrap();
            assert_eq!(max.fast_2x2, fast, "max {shape} ceil {ceil}");
            let general = MaxPool2d { fast_2x2: false, ..max.clone() };
            assert_eq!(forward_backward(&max, &x, 2), forward_backward(&general, &x, 2), "max {shape} ceil {ceil}");
            for include_pad in [false, true] {
                let avg = AvgPool2d::new(shape, o, include_pad, None).unwrap();
                assert_eq!(avg.fast_2x2, fast, "avg {shape} ceil {ceil}");
                let general = AvgPool2d { fast_2x2: false, ..avg.clone() };
                assert_eq!(forward_backward(&avg, &x, 2), forward_backward(&general, &x, 2), "avg {shape} ceil {ceil}");
            }
        }
    }

    #[test]
    fn hanging_windows_average_what_they_cover() {
        // AvgPool2d(4, ceil_mode=True) on a 3×3 plane of 1..9: one window, clipped to the input;
        // PyTorch divides by the clipped window (padding 0 adds nothing): mean 5.
        let o = PoolOptions { kernel: Pair::square(4), stride: None, padding: Pair::square(0), dilation: Pair::square(1), ceil_mode: true };
        let shape = Shape::new(1, 3, 3);
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut y = [0.0f32; 1];
        let mut scratch = Scratch::default();
        let mut rng = <rand_chacha::ChaCha8Rng as rand::SeedableRng>::seed_from_u64(0);
        let avg = AvgPool2d::new(shape, o, true, None).unwrap();
        avg.forward(&x, &mut y, 1, &mut scratch, &mut Pass { train: false, backward: false, rng: &mut rng });
        assert_eq!(y, [5.0]);
        let over = AvgPool2d::new(shape, o, true, Some(10)).unwrap();
        over.forward(&x, &mut y, 1, &mut scratch, &mut Pass { train: false, backward: false, rng: &mut rng });
        assert_eq!(y, [4.5]);
        let max = MaxPool2d::new(shape, o).unwrap();
        max.forward(&x, &mut y, 1, &mut scratch, &mut Pass { train: false, backward: false, rng: &mut rng });
        assert_eq!(y, [9.0]);
    }

    #[test]
    fn output_sizes_follow_pytorch() {
        let n = |size, k, s, p, d, ceil| AxisWindows::sliding(size, k, s, p, d, ceil).map(|w| w.out());
        // nn.MaxPool2d(3, 2, ceil_mode=True) on 6 → 3 (floor: 2); with padding 1 → 4.
        assert_eq!(n(6, 3, 2, 0, 1, false), Some(2));
        assert_eq!(n(6, 3, 2, 0, 1, true), Some(3));
        assert_eq!(n(6, 3, 2, 1, 1, true), Some(4));
        // Kernel 2 stride 2 pad 1 on 5 with ceil: ⌈5/2⌉+1 = 4, but the 4th window would start in
        // the right padding, so PyTorch drops it: 3.
        assert_eq!(n(5, 2, 2, 1, 1, true), Some(3));
        assert_eq!(n(7, 3, 1, 0, 2, false), Some(3));
        assert_eq!(n(2, 3, 1, 0, 1, false), None);
        // With ceil_mode the last window may hang over the edge (issue 13): MaxPool2d(29,
        // ceil_mode=True) on 28 → 1 (floor: none), AvgPool2d(4, ceil_mode=True) on 3 → 1.
        assert_eq!(n(28, 29, 29, 0, 1, true), Some(1));
        assert_eq!(n(28, 29, 29, 0, 1, false), None);
        assert_eq!(n(3, 4, 4, 0, 1, true), Some(1));
        assert_eq!(n(3, 4, 4, 0, 1, false), None);
        // A window larger than input and stride together still has no output.
        assert_eq!(n(3, 9, 2, 0, 1, true), None);
        // The largest sizes the spec's ranges allow do not wrap.
        // ⌈(65535 + 512 − 65281)/256⌉ + 1 = 4.
        assert_eq!(n(usize::from(u16::MAX), 256, 256, 256, 256, true), Some(4));
        // (2²⁴ + 2·128 − 256·255 − 1 + 0)/1 + 1.
        assert_eq!(n(1 << 24, 256, 1, 128, 256, true), Some((1 << 24) + 256 - 255 * 256));
        // Adaptive 5 → 3: windows [0,2), [1,4), [3,5).
        let a = AxisWindows::adaptive(5, 3);
        assert_eq!((a.taps(0), a.taps(1), a.taps(2)), (&[0u32, 1][..], &[1u32, 2, 3][..], &[3u32, 4][..]));
    }
}
