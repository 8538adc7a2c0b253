//! 2×2 stride-2 max pooling with the argmax kept for the backward pass. [`max_2x2_ref`] is the
//! scalar truth; [`max_2x2`] does four outputs per step with wasm SIMD128 (same bits, same
//! indices). The scalar loop's selects do not vectorise, and rows of 14 or 7 outputs would leave
//! scalar tails: the vector loop ends each row with a last step moved back to the row's end
//! (recomputing a few outputs, identically). Kernel bench in Chromium: the reference net's two
//! pools 2.50 → 2.08 µs and 2.01 → 1.21 µs per sample.

/// `c` replaces `best` unless best is NaN or c ≤ best (false when c is NaN): the first maximum
/// in row-major window order wins, and a NaN wins over everything (PyTorch's rule).
#[inline(always)]
fn wins(c: f32, best: f32) -> bool {
    !best.is_nan() & !(c <= best)
}

/// Scalar reference: `planes` planes of `ih × iw` in `x`; `oh × ow` outputs per plane into `y`
/// and, into `argmax`, each output's input index in `x`. Needs `2·oh ≤ ih` and `2·ow ≤ iw`.
/// Branch-free (selects): which of four values is largest is a coin toss on real data, and
/// mispredicted branches made this loop 12 ns per output.
#[allow(clippy::too_many_arguments)]
pub fn max_2x2_ref(x: &[f32], y: &mut [f32], argmax: &mut [u32], planes: usize, iw: usize, ih: usize, oh: usize, ow: usize) {
    for_each_row(x, y, argmax, planes, iw, ih, oh, ow, |Row { top, r0, r1, ys, idx }| {
        for (ox, ((yv, iv), (a, b))) in ys.iter_mut().zip(idx.iter_mut()).zip(r0.chunks_exact(2).zip(r1.chunks_exact(2))).enumerate() {
            let (mut best, mut at) = (a[0], 0u32);
            for (v, i) in [(a[1], 1u32), (b[0], 2), (b[1], 3)] {
                let w = wins(v, best);
                best = if w { v } else { best };
                at = if w { i } else { at };
            }
            *yv = best;
            *iv = (top + 2 * ox) as u32 + (at & 1) + (at >> 1) * iw as u32;
        }
    });
}

/// One output row: where its two input rows start in `x`, those rows, its outputs and their
/// argmax slots.
struct Row<'a> {
    top: usize,
    r0: &'a [f32],
    r1: &'a [f32],
    ys: &'a mut [f32],
    idx: &'a mut [u32],
}

/// Calls `f` on every output row of every plane, in order.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn for_each_row(x: &[f32], y: &mut [f32], argmax: &mut [u32], planes: usize, iw: usize, ih: usize, oh: usize, ow: usize, mut f: impl FnMut(Row)) {
    for p in 0..planes {
        for oy in 0..oh {
            let (top, out) = (p * ih * iw + 2 * oy * iw, (p * oh + oy) * ow);
            let (ys, idx) = (&mut y[out..out + ow], &mut argmax[out..out + ow]);
            f(Row { top, r0: &x[top..top + iw], r1: &x[top + iw..top + 2 * iw], ys, idx });
        }
    }
}

/// [`max_2x2_ref`], four outputs at a time where the build has SIMD128 and rows have at least
/// four outputs.
#[allow(clippy::too_many_arguments)]
pub fn max_2x2(x: &[f32], y: &mut [f32], argmax: &mut [u32], planes: usize, iw: usize, ih: usize, oh: usize, ow: usize) {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if ow >= 4 {
        return simd::max_2x2(x, y, argmax, planes, iw, ih, oh, ow);
    }
    max_2x2_ref(x, y, argmax, planes, iw, ih, oh, ow)
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod simd {
    use core::arch::wasm32::*;

    /// Loads `s[at..at + 4]` (bounds checked).
    #[inline(always)]
    fn load(s: &[f32], at: usize) -> v128 {
        let s = &s[at..at + 4];
        // SAFETY: four floats in bounds (checked above); v128_load needs no alignment.
        unsafe { v128_load(s.as_ptr() as *const v128) }
    }

    /// Stores four lanes at `s[at..at + 4]` (bounds checked).
    #[inline(always)]
    fn store<T>(s: &mut [T], at: usize, v: v128) {
        assert_eq!(core::mem::size_of::<T>(), 4);
        let s = &mut s[at..at + 4];
        // SAFETY: four 4-byte elements in bounds (checked above); no alignment needed.
        unsafe { v128_store(s.as_mut_ptr() as *mut v128, v) }
    }

    /// Of an earlier and a later (value, offset) pair, the later where it wins: the scalar
    /// `wins` per lane.
    #[inline(always)]
    fn later_wins(earlier: (v128, v128), later: (v128, v128)) -> (v128, v128) {
        // Keeps the earlier where later ≤ earlier or earlier is NaN.
        let keep = v128_or(f32x4_le(later.0, earlier.0), f32x4_ne(earlier.0, earlier.0));
        (v128_bitselect(earlier.0, later.0, keep), v128_bitselect(earlier.1, later.1, keep))
    }

    /// See [`super::max_2x2`]; `ow ≥ 4`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn max_2x2(x: &[f32], y: &mut [f32], argmax: &mut [u32], planes: usize, iw: usize, ih: usize, oh: usize, ow: usize) {
        assert!(ow >= 4 && 2 * ow <= iw && 2 * oh <= ih);
        // Where candidates 1, 2, 3 of a window sit relative to its first; lane l's window
        // starts 2·l floats after lane 0's.
        let offsets = [i32x4_splat(1), i32x4_splat(iw as i32), i32x4_splat(iw as i32 + 1)];
        let zero = i32x4_splat(0);
        let lane_starts = i32x4(0, 2, 4, 6);
        let starts = (0..ow / 4).map(|q| 4 * q).chain((ow % 4 != 0).then_some(ow - 4));
        super::for_each_row(x, y, argmax, planes, iw, ih, oh, ow, |super::Row { top, r0, r1, ys, idx }| {
            for ox in starts.clone() {
                let (a_lo, a_hi, b_lo, b_hi) = (load(r0, 2 * ox), load(r0, 2 * ox + 4), load(r1, 2 * ox), load(r1, 2 * ox + 4));
                let (a0, a1) = (i32x4_shuffle::<0, 2, 4, 6>(a_lo, a_hi), i32x4_shuffle::<1, 3, 5, 7>(a_lo, a_hi));
                let (b0, b1) = (i32x4_shuffle::<0, 2, 4, 6>(b_lo, b_hi), i32x4_shuffle::<1, 3, 5, 7>(b_lo, b_hi));
                // A tree instead of the scalar chain (two steps deep, not three): the rule
                // picks the first NaN, else the first maximum, so it can pair up in order.
                let (top_best, top_at) = later_wins((a0, zero), (a1, offsets[0]));
                let (bottom_best, bottom_at) = later_wins((b0, offsets[1]), (b1, offsets[2]));
                let (best, at) = later_wins((top_best, top_at), (bottom_best, bottom_at));
                store(ys, ox, best);
                store(idx, ox, i32x4_add(i32x4_splat((top + 2 * ox) as i32), i32x4_add(lane_starts, at)));
            }
        });
    }
}
