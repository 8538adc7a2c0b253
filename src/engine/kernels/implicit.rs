//! Convolution as an implicit GEMM: the kernels read the zero-padded image itself instead of a
//! column matrix. With unit stride along x, the column-matrix entries of row `k = (c, ky, kx)`
//! for eight consecutive output pixels of one output row are eight consecutive floats of the
//! padded plane, at `offsets[k]` plus the pixel's own offset. So nothing the size of the column
//! matrix is ever written: in wasm, writing and re-reading it (and the chunk's copies kept for
//! the backward pass, which overflow L2) cost as much as the multiplications.
//!
//! The sums are those of [`forward_ref`] and [`weight_grad_ref`] on the column matrix that
//! `im2col_ref` builds, in the same order, so the kernels equal those references bit for bit.

use super::gemm::{rank1, Madd, Native};
use super::im2col::ConvGeom;
use super::packed::{packed_a_len, Start, MR, NR};
use super::simd::V4;

/// Floats of padding before and after a padded plane: a panel narrower than an output row
/// (`ow < 8`) reads up to 7 floats past the row.
const SLACK: usize = NR;

/// Where a convolution's inputs sit in its padded plane: `c × ph × pw` floats after [`SLACK`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlaneLayout {
    /// Rows of one padded channel.
    pub ph: usize,
    /// Columns of one padded channel.
    pub pw: usize,
    /// Offset in the plane buffer of each column row `(c, ky, kx)`, for output pixel (0, 0).
    pub offsets: Vec<usize>,
}

impl PlaneLayout {
    /// The layout for `g` (which must have unit stride along x).
    pub fn new(g: &ConvGeom) -> Self {
        assert_eq!(g.x.stride, 1, "implicit GEMM needs unit stride along x");
        let extent = |a: &super::im2col::Axis| (a.out - 1) * a.stride + (a.kernel - 1) * a.dilation + 1;
        let (ph, pw) = (extent(&g.y), extent(&g.x));
        let mut offsets = Vec::with_capacity(g.col_rows());
        for ch in 0..g.c {
            for ky in 0..g.y.kernel {
                for kx in 0..g.x.kernel {
                    offsets.push(SLACK + ch * ph * pw + ky * g.y.dilation * pw + kx * g.x.dilation);
                }
            }
        }
        Self { ph, pw, offsets }
    }

    /// Floats of one padded plane buffer, slack included.
    pub fn len(&self, channels: usize) -> usize {
        SLACK + channels * self.ph * self.pw + SLACK
    }

    /// Copies one sample (`c × h × w`) into `plane` (`len` floats), zero around it.
    pub fn pad(&self, g: &ConvGeom, x: &[f32], plane: &mut [f32]) {
        let (h, w, (ph, pw)) = (g.y.size, g.x.size, (self.ph, self.pw));
        let plane = &mut plane[..self.len(g.c)];
        plane.fill(0.0);
        let len = w.min(pw.saturating_sub(g.x.pad));
        for ch in 0..g.c {
            for iy in 0..h.min(ph.saturating_sub(g.y.pad)) {
                let dst = SLACK + (ch * ph + iy + g.y.pad) * pw + g.x.pad;
                plane[dst..dst + len].copy_from_slice(&x[(ch * h + iy) * w..(ch * h + iy) * w + len]);
            }
        }
    }
}

/// Column starts of the panels of one output row: every NR pixels, the last one moved back to
/// end at the row's end (it recomputes a few pixels, with identical results); one panel of the
/// whole row when it is narrower than NR.
fn panel_starts(ow: usize) -> impl Iterator<Item = usize> {
    let full = ow / NR;
    let tail = (ow % NR != 0).then(|| ow.saturating_sub(NR));
    (0..full).map(|p| p * NR).chain(tail)
}

/// `Y[m × oh·ow] = start + W·cols` for one sample, reading cols from `plane` (laid out by
/// `layout`); W packed by [`super::packed::pack_a`] (`m × k`, k = c·kh·kw).
#[allow(clippy::too_many_arguments)]
pub fn conv_forward(g: &ConvGeom, layout: &PlaneLayout, m: usize, a: &[f32], plane: &[f32], y: &mut [f32], start: Start) {
    conv_forward_with::<Native>(g, layout, m, a, plane, y, start)
}

/// [`conv_forward`] with the multiply-add kind `M`.
#[allow(clippy::too_many_arguments)]
pub fn conv_forward_with<M: Madd>(g: &ConvGeom, layout: &PlaneLayout, m: usize, a: &[f32], plane: &[f32], y: &mut [f32], start: Start) {
    let (k, oh, ow, pixels) = (g.col_rows(), g.y.out, g.x.out, g.col_cols());
    assert!(a.len() >= packed_a_len(m, k) && layout.offsets.len() == k, "packed weights or layout do not match");
    assert!(plane.len() >= layout.len(g.c) && y.len() >= m * pixels, "plane or output too small");
    if let Start::Bias(bias) = start {
        assert!(bias.len() >= m, "bias shorter than {m}");
    }
    if flat_is_shorter(g, layout) {
        return forward_flat::<M>(g, layout, m, a, plane, y, start);
    }
    // A last tile of one or two rows would leave half of the 4×8 tile's multiply-adds unused
    // (LeNet-5's 6 channels: a quarter of the layer's work); a 2×16 tile does those rows with
    // the same eight accumulators, where the output rows are at least 16 pixels wide.
    let narrow_last = m % MR != 0 && m % MR <= 2 && ow >= 2 * NR;
    let tiles = if narrow_last { m / MR } else { m.div_ceil(MR) };
    for oy in 0..oh {
        for ox0 in panel_starts(ow) {
            let lanes = NR.min(ow - ox0);
            let base = oy * g.y.stride * layout.pw + ox0;
            for (tile, a_tile) in a[..tiles * MR * k].chunks_exact(MR * k).enumerate() {
                let i0 = tile * MR;
                let mut acc: [[V4; 2]; MR] = tile_start(start, i0, MR.min(m - i0));
                // SAFETY: every offset + base + 8 lies within the plane and its slack (the
                // asserts above and PlaneLayout's extents), a_tile holds k·MR floats.
                unsafe { forward_kernel::<M, MR, 2>(a_tile.as_ptr(), &layout.offsets, plane.as_ptr().add(base), &mut acc) };
                for (r, row) in acc.iter().enumerate().take(MR.min(m - i0)) {
                    let at = (i0 + r) * pixels + oy * ow + ox0;
                    let dst = &mut y[at..at + lanes];
                    if lanes == NR {
                        let (lo, hi) = dst.split_at_mut(4);
                        row[0].store(lo);
                        row[1].store(hi);
                    } else {
                        let mut tmp = [0.0f32; NR];
                        row[0].store(&mut tmp[..4]);
                        row[1].store(&mut tmp[4..]);
                        dst.copy_from_slice(&tmp[..lanes]);
                    }
                }
            }
        }
        if narrow_last {
            let i0 = tiles * MR;
            let a_tile = &a[i0 * k..(i0 + MR) * k];
            for ox0 in wide_starts(ow) {
                let mut acc: [[V4; 4]; 2] = tile_start(start, i0, m - i0);
                // SAFETY: ox0 + 16 <= ow, so every read is an output pixel's own column of the
                // plane; a_tile holds k·MR floats.
                unsafe { forward_kernel::<M, 2, 4>(a_tile.as_ptr(), &layout.offsets, plane.as_ptr().add(oy * g.y.stride * layout.pw + ox0), &mut acc) };
                for (r, row) in acc.iter().enumerate().take(m - i0) {
                    let at = (i0 + r) * pixels + oy * ow + ox0;
                    for (v, dst) in row.iter().zip(y[at..at + 2 * NR].chunks_exact_mut(4)) {
                        v.store(dst);
                    }
                }
            }
        }
    }
}

/// Whether [`forward_flat`] computes fewer pixels than panels per output row: only for unit
/// strides, and when rows are narrow beside the panel width (LeNet-5's conv2: rows of 10 output
/// pixels in panels of 8 make 160 computed pixels for 100, one run over the 14-wide plane rows
/// makes 136).
fn flat_is_shorter(g: &ConvGeom, layout: &PlaneLayout) -> bool {
    let (oh, ow) = (g.y.out, g.x.out);
    let per_row = oh * panel_starts(ow).count() * NR;
    g.y.stride == 1 && flat_span(oh, ow, layout.pw).div_ceil(NR) * NR < per_row
}

/// Plane positions from the first output pixel's to the last one's, row by row: output (oy, ox)
/// reads the plane at `oy·pw + ox` plus its taps' offsets when the strides are 1.
fn flat_span(oh: usize, ow: usize, pw: usize) -> usize {
    (oh - 1) * pw + ow
}

/// [`conv_forward_with`] over the output as one run of plane positions (unit strides only):
/// panels of [`NR`] consecutive positions, whose positions past a row's end (`ox ≥ ow`) are
/// computed and dropped. Each output pixel gets the same sum in the same order as in the
/// per-row form.
#[allow(clippy::too_many_arguments)]
fn forward_flat<M: Madd>(g: &ConvGeom, layout: &PlaneLayout, m: usize, a: &[f32], plane: &[f32], y: &mut [f32], start: Start) {
    let (k, ow, pw, pixels) = (g.col_rows(), g.x.out, layout.pw, g.col_cols());
    let span = flat_span(g.y.out, ow, pw);
    for p0 in (0..span).step_by(NR) {
        // Where this panel's lanes go: (lane, output pixel) for the lanes on an output pixel.
        let mut dest = [(0usize, 0usize); NR];
        let mut count = 0;
        for lane in 0..NR.min(span - p0) {
            let (oy, ox) = ((p0 + lane) / pw, (p0 + lane) % pw);
            if ox < ow {
                dest[count] = (lane, oy * ow + ox);
                count += 1;
            }
        }
        for (tile, a_tile) in a[..m.div_ceil(MR) * MR * k].chunks_exact(MR * k).enumerate() {
            let i0 = tile * MR;
            let mut acc: [[V4; 2]; MR] = tile_start(start, i0, MR.min(m - i0));
            // SAFETY: the last panel reads at most NR − 1 floats past the last output pixel's
            // last tap, the plane's last float, into its trailing slack; a_tile holds k·MR floats.
            unsafe { forward_kernel::<M, MR, 2>(a_tile.as_ptr(), &layout.offsets, plane.as_ptr().add(p0), &mut acc) };
            for (r, row) in acc.iter().enumerate().take(MR.min(m - i0)) {
                let mut lanes = [0.0f32; NR];
                row[0].store(&mut lanes[..4]);
                row[1].store(&mut lanes[4..]);
                let out = &mut y[(i0 + r) * pixels..(i0 + r + 1) * pixels];
                for &(lane, at) in &dest[..count] {
                    out[at] = lanes[lane];
                }
            }
        }
    }
}

/// Column starts of 16-pixel spans of one output row (`ow ≥ 16`), the last one moved back to
/// end at the row's end like [`panel_starts`].
fn wide_starts(ow: usize) -> impl Iterator<Item = usize> {
    let full = ow / (2 * NR);
    let tail = (ow % (2 * NR) != 0).then(|| ow - 2 * NR);
    (0..full).map(|p| p * 2 * NR).chain(tail)
}

/// A tile of `R` output channels × `4·V` pixels, started from zero or, for its first `rows`
/// channels, from their biases.
#[inline(always)]
fn tile_start<const R: usize, const V: usize>(start: Start, i0: usize, rows: usize) -> [[V4; V]; R] {
    let mut acc = [[V4::zero(); V]; R];
    if let Start::Bias(bias) = start {
        for (r, row) in acc.iter_mut().enumerate().take(rows) {
            *row = [V4::splat(bias[i0 + r]); V];
        }
    }
    acc
}

/// The `R × 4·V` tile: `acc[r] += Σ_k a[k·MR + r] · b[offsets[k] ..+4·V]`, k in order, for the
/// first `R` rows of a packed tile: 4×8 for whole tiles, 2×16 for a last tile of one or two rows
/// (both eight accumulators).
///
/// # Safety
/// `a` must hold `offsets.len()·MR` floats and `b + offsets[k] ..+4·V` be readable for every k.
#[inline(always)]
unsafe fn forward_kernel<M: Madd, const R: usize, const V: usize>(a: *const f32, offsets: &[usize], b: *const f32, acc: &mut [[V4; V]; R]) {
    let mut local = *acc;
    let mut ap = a;
    for &off in offsets {
        rank1::<M, R, V>(&mut local, std::array::from_fn(|r| V4::splat_at(ap.add(r))), b.add(off));
        ap = ap.add(MR);
    }
    *acc = local;
}

/// `dWᵀ[i, o] += Σ_p cols[i, p] · dY[o, p]` for one sample, pixels in order (one sum per call
/// added to C), reading cols from `plane`; dY in channel panels
/// ([`super::packed::pack_channels`]), C with row length `ldc ≥ oc` rounded up to [`NR`].
#[allow(clippy::too_many_arguments)]
pub fn conv_weight_grad(g: &ConvGeom, layout: &PlaneLayout, oc: usize, plane: &[f32], dy: &[f32], c: &mut [f32], ldc: usize) {
    conv_weight_grad_with::<Native>(g, layout, oc, plane, dy, c, ldc)
}

/// [`conv_weight_grad`] with the multiply-add kind `M`.
#[allow(clippy::too_many_arguments)]
pub fn conv_weight_grad_with<M: Madd>(g: &ConvGeom, layout: &PlaneLayout, oc: usize, plane: &[f32], dy: &[f32], c: &mut [f32], ldc: usize) {
    let (k, pixels) = (g.col_rows(), g.col_cols());
    let (pixel_panels, channel_panels) = (pixels.div_ceil(NR), oc.div_ceil(NR));
    assert!(plane.len() >= layout.len(g.c) && layout.offsets.len() == k, "plane or layout do not match");
    assert!(dy.len() >= channel_panels * pixel_panels * NR * NR, "dY panels too small");
    assert!(ldc >= channel_panels * NR && c.len() >= (k - 1) * ldc + channel_panels * NR, "dWᵀ too small");
    let rows = Rows { ow: g.x.out, oh: g.y.out, row_step: g.y.stride * layout.pw };
    for jo in 0..channel_panels {
        let dy_panel = &dy[jo * pixel_panels * NR * NR..];
        for i0 in (0..k).step_by(MR) {
            // Rows past k repeat the last one (results dropped), keeping the kernel branch-free.
            let a: [usize; MR] = std::array::from_fn(|r| layout.offsets[(i0 + r).min(k - 1)]);
            // SAFETY: each row pointer walks the output pixels' positions inside the plane;
            // dy_panel holds NR floats per pixel.
            let acc = unsafe { weight_grad_kernel::<M>(plane.as_ptr(), a, rows, dy_panel.as_ptr()) };
            for (r, row) in acc.iter().enumerate().take(MR.min(k - i0)) {
                let dst = &mut c[(i0 + r) * ldc + jo * NR..(i0 + r) * ldc + jo * NR + NR];
                let (lo, hi) = dst.split_at_mut(4);
                V4::load(lo).add(row[0]).store(lo);
                V4::load(hi).add(row[1]).store(hi);
            }
        }
    }
}

/// How the output pixels step through the plane: `oh` rows of `ow`, rows `row_step` apart.
#[derive(Clone, Copy)]
struct Rows {
    ow: usize,
    oh: usize,
    row_step: usize,
}

/// The dW tile over every output pixel: `acc[r] += plane[a[r] + pos(p)] · b[p·NR ..+8]`.
///
/// # Safety
/// `plane + a[r] + pos(p)` must be readable for every pixel and `b` hold NR floats per pixel.
#[inline(always)]
unsafe fn weight_grad_kernel<M: Madd>(plane: *const f32, a: [usize; MR], rows: Rows, b: *const f32) -> [[V4; 2]; MR] {
    let mut acc = [[V4::zero(); 2]; MR];
    let mut bp = b;
    let mut line = a.map(|o| plane.add(o));
    for _ in 0..rows.oh {
        let mut at = line;
        for _ in 0..rows.ow {
            rank1::<M, MR, 2>(&mut acc, at.map(|p| V4::splat_at(p)), bp);
            at = at.map(|p| p.add(1));
            bp = bp.add(NR);
        }
        line = line.map(|p| p.add(rows.row_step));
    }
    acc
}

/// Scalar reference of [`conv_forward`] on the column matrix: A `m × k` (row-major), B `k × n`
/// (`im2col_ref`), C rows `ldc` apart.
#[allow(clippy::too_many_arguments)]
pub fn forward_ref<M: Madd>(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, start: Start) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = match start {
                Start::Zero => 0.0,
                Start::Bias(bias) => bias[i],
            };
            for p in 0..k {
                acc = M::scalar(acc, a[i * k + p], b[p * n + j]);
            }
            c[i * ldc + j] = acc;
        }
    }
}

/// Scalar reference of [`conv_weight_grad`] on the column matrix: cols `k × n`, dY `oc × n`,
/// `dWᵀ[i, o] += Σ_p cols[i, p] · dY[o, p]`.
#[allow(clippy::too_many_arguments)]
pub fn weight_grad_ref<M: Madd>(k: usize, oc: usize, n: usize, cols: &[f32], dy: &[f32], c: &mut [f32], ldc: usize) {
    for i in 0..k {
        for o in 0..oc {
            let mut acc = 0.0;
            for p in 0..n {
                acc = M::scalar(acc, cols[i * n + p], dy[o * n + p]);
            }
            c[i * ldc + o] += acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::kernels::gemm::Separate;
    use crate::engine::kernels::im2col::{im2col_ref, Axis};
    use crate::engine::kernels::packed::{channel_panels_len, pack_a, pack_channels};

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| (((i + seed) * 7919 % 1000) as f32 - 500.0) / 317.0).collect()
    }

    #[test]
    fn the_flat_form_is_taken_where_it_computes_fewer_pixels() {
        let geom = |c, hw, k, pad, sy| ConvGeom { c, y: Axis::new(hw, k, sy, pad, pad, 1).unwrap(), x: Axis::new(hw, k, 1, pad, pad, 1).unwrap() };
        for (g, flat) in [(geom(6, 14, 5, 0, 1), true), (geom(1, 5, 3, 0, 1), true), (geom(8, 14, 5, 2, 1), false), (geom(1, 28, 5, 2, 1), false), (geom(6, 14, 5, 0, 2), false)] {
            assert_eq!(flat_is_shorter(&g, &PlaneLayout::new(&g)), flat, "{g:?}");
        }
    }

    /// Unit stride along x; any stride along y, dilation, asymmetric and wide padding, outputs
    /// narrower and wider than a panel.
    #[test]
    fn implicit_kernels_equal_the_column_matrix_references() {
        let cases = [
            (8, (14, 14), (5, 5), 1, (2, 2, 2, 2), (1, 1), 16),
            (1, (28, 28), (5, 5), 1, (2, 2, 2, 2), (1, 1), 8),
            (3, (7, 7), (3, 3), 1, (1, 1, 1, 1), (1, 1), 5),
            (2, (9, 11), (3, 4), 2, (1, 2, 1, 2), (1, 2), 6),
            (2, (5, 3), (1, 1), 1, (3, 2, 3, 1), (1, 1), 3),
            (3, (4, 20), (2, 3), 1, (0, 0, 0, 0), (2, 1), 9),
            // Last tiles of two and one rows on rows of 28 and 21 pixels (the 2×16 tile, with
            // its last span moved back), stride 2 along y.
            (1, (28, 28), (5, 5), 1, (2, 2, 2, 2), (1, 1), 6),
            (2, (12, 23), (3, 3), 2, (1, 1, 0, 0), (1, 1), 5),
            // One run over the plane's rows (`forward_flat`): LeNet-5's conv2 (rows of 10 in a
            // 14-wide plane), and rows of 3 in a 5-wide plane (a panel spans three rows).
            (6, (14, 14), (5, 5), 1, (0, 0, 0, 0), (1, 1), 16),
            (1, (5, 5), (3, 3), 1, (0, 0, 0, 0), (1, 1), 7),
        ];
        for (c, (h, w), (kh, kw), sy, pad, dil, m) in cases {
            let g = ConvGeom {
                c,
                y: Axis::new(h, kh, sy, pad.0, pad.1, dil.0).unwrap(),
                x: Axis::new(w, kw, 1, pad.2, pad.3, dil.1).unwrap(),
            };
            let (k, pixels) = (g.col_rows(), g.col_cols());
            let layout = PlaneLayout::new(&g);
            let x = values(c * h * w, 1);
            let mut plane = vec![f32::NAN; layout.len(c)];
            layout.pad(&g, &x, &mut plane);
            let mut cols = vec![0.0; k * pixels];
            im2col_ref(&g, &x, &mut cols);
            // Forward, with and without bias.
            let (weights, bias) = (values(m * k, 2), values(m, 3));
            let mut packed = vec![0.0; packed_a_len(m, k)];
            pack_a(m, k, &weights, k, &mut packed);
            for start in [Start::Zero, Start::Bias(&bias)] {
                let (mut fast, mut slow) = (vec![f32::NAN; m * pixels], vec![0.0; m * pixels]);
                conv_forward_with::<Separate>(&g, &layout, m, &packed, &plane, &mut fast, start);
                forward_ref::<Separate>(m, pixels, k, &weights, &cols, &mut slow, pixels, start);
                assert!(fast.iter().zip(&slow).all(|(a, b)| a.to_bits() == b.to_bits()), "forward {g:?} {start:?}");
            }
            // Weight gradient, added onto C.
            let dy = values(m * pixels, 4);
            let mut dy_panels = vec![0.0; channel_panels_len(m, pixels)];
            pack_channels(m, pixels, &dy, &mut dy_panels);
            let ldc = m.div_ceil(NR) * NR;
            let init = values(k * ldc, 5);
            let (mut fast, mut slow) = (init.clone(), init);
            conv_weight_grad_with::<Separate>(&g, &layout, m, &plane, &dy_panels, &mut fast, ldc);
            weight_grad_ref::<Separate>(k, m, pixels, &cols, &dy, &mut slow, ldc);
            for i in 0..k {
                for o in 0..m {
                    assert_eq!(fast[i * ldc + o].to_bits(), slow[i * ldc + o].to_bits(), "weight gradient {g:?} at ({i},{o})");
                }
            }
        }
    }
}
