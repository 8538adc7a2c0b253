//! GEMMs on packed operands, the layout convolutions use: the weights in row tiles
//! `[tile][k][MR]` ([`pack_a`]) and the column matrix in pixel panels `[panel][k][NR]` (written
//! directly by `im2col_panels`). Every load of the inner loop is then one pointer plus a
//! constant offset, which is what V8 compiles best: the in-place kernel of `gemm.rs` keeps four
//! row pointers and strides live, runs out of registers and spills its loop counter (seen in
//! V8's x64 code), and V8 puts a stack check on every loop iteration, which unrolling k by
//! [`UNROLL`] amortises.
//!
//! `*_ref` functions are the scalar references (the truth for parity tests): the same sums in
//! the same order.

use super::gemm::{Madd, Native};
use super::simd::V4;

/// Rows of a register tile (A values broadcast one at a time).
pub const MR: usize = 4;
/// Columns of a register tile (two vectors); also the pixels of a column panel.
pub const NR: usize = 8;
/// k steps per loop iteration of the micro-kernel.
const UNROLL: usize = 1;

/// Floats of `m × k` packed into row tiles.
pub const fn packed_a_len(m: usize, k: usize) -> usize {
    m.div_ceil(MR) * MR * k
}

/// Floats of a `k × n` column matrix in pixel panels.
pub const fn panels_len(k: usize, n: usize) -> usize {
    n.div_ceil(NR) * NR * k
}

/// Packs A (`m × k`, row `i` at `a[i·lda..]`) into row tiles `[tile][k][MR]`; rows past `m` are
/// zero.
pub fn pack_a(m: usize, k: usize, a: &[f32], lda: usize, out: &mut [f32]) {
    for (tile, block) in out[..packed_a_len(m, k)].chunks_exact_mut(MR * k).enumerate() {
        for (p, slot) in block.chunks_exact_mut(MR).enumerate() {
            for (r, v) in slot.iter_mut().enumerate() {
                let i = tile * MR + r;
                *v = if i < m { a[i * lda + p] } else { 0.0 };
            }
        }
    }
}

/// How [`gemm_panels`] starts each element of C.
#[derive(Clone, Copy, Debug)]
pub enum Start<'a> {
    /// From zero (C is overwritten).
    Zero,
    /// From `bias[row]` (C is overwritten).
    Bias(&'a [f32]),
}

/// `C[m × n] = start + A·B` with A packed by [`pack_a`] and B in pixel panels; row `i` of C at
/// `c[i·ldc..]`. Each element sums its k products in increasing order onto its start.
#[allow(clippy::too_many_arguments)]
pub fn gemm_panels(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, start: Start) {
    gemm_panels_with::<Native>(m, n, k, a, b, c, ldc, start)
}

/// [`gemm_panels`] with the multiply-add kind `M`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_panels_with<M: Madd>(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, start: Start) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(a.len() >= packed_a_len(m, k) && b.len() >= panels_len(k, n), "packed operands too small for {m}×{n}×{k}");
    assert!(ldc >= n && c.len() >= (m - 1) * ldc + n, "C too small for {m}×{n}");
    if let Start::Bias(bias) = start {
        assert!(bias.len() >= m, "bias shorter than {m}");
    }
    for (j, panel) in b[..panels_len(k, n)].chunks_exact(NR * k).enumerate() {
        let cols = NR.min(n - j * NR);
        for (tile, a_tile) in a[..packed_a_len(m, k)].chunks_exact(MR * k).enumerate() {
            let i0 = tile * MR;
            let mut acc = [[V4::zero(); 2]; MR];
            if let Start::Bias(bias) = start {
                for (r, row) in acc.iter_mut().enumerate().take(MR.min(m - i0)) {
                    *row = [V4::splat(bias[i0 + r]); 2];
                }
            }
            // SAFETY: both chunks hold exactly k steps of MR and NR floats.
            unsafe { micro_kernel::<M>(a_tile.as_ptr(), panel.as_ptr(), k, &mut acc) };
            for (r, row) in acc.iter().enumerate().take(MR.min(m - i0)) {
                let dst = &mut c[(i0 + r) * ldc + j * NR..(i0 + r) * ldc + j * NR + cols];
                if cols == NR {
                    let (lo, hi) = dst.split_at_mut(4);
                    row[0].store(lo);
                    row[1].store(hi);
                } else {
                    let mut tmp = [0.0f32; NR];
                    row[0].store(&mut tmp[..4]);
                    row[1].store(&mut tmp[4..]);
                    dst.copy_from_slice(&tmp[..cols]);
                }
            }
        }
    }
}

/// The 4×8 register tile over k steps: `acc[r] += Σ_p a[p·MR + r] · b[p·NR .. p·NR + 8]`.
///
/// # Safety
/// `a` must hold `k·MR` floats and `b` `k·NR`.
#[inline(always)]
unsafe fn micro_kernel<M: Madd>(a: *const f32, b: *const f32, k: usize, acc: &mut [[V4; 2]; MR]) {
    let mut acc_local = *acc;
    let (mut ap, mut bp) = (a, b);
    let step = |acc: &mut [[V4; 2]; MR], ap: *const f32, bp: *const f32| {
        let (b0, b1) = (V4::load_at(bp), V4::load_at(bp.add(4)));
        for (r, row) in acc.iter_mut().enumerate() {
            let av = V4::splat_at(ap.add(r));
            row[0] = M::vector(row[0], av, b0);
            row[1] = M::vector(row[1], av, b1);
        }
    };
    for _ in 0..k / UNROLL {
        for u in 0..UNROLL {
            step(&mut acc_local, ap.add(u * MR), bp.add(u * NR));
        }
        ap = ap.add(UNROLL * MR);
        bp = bp.add(UNROLL * NR);
    }
    for _ in 0..k % UNROLL {
        step(&mut acc_local, ap, bp);
        ap = ap.add(MR);
        bp = bp.add(NR);
    }
    *acc = acc_local;
}

/// Floats a column-panel buffer needs past its panels when [`gemm_dw_panels`] reads it with a
/// `k` that is not a multiple of [`MR`] (the last row tile reads up to three rows further).
pub const DW_SLACK: usize = (MR - 1) * NR;

/// Floats of dY for `oc` channels over `n` pixels in channel panels `[panel][pixel][NR]`
/// (pixels rounded up to whole pixel panels).
pub const fn channel_panels_len(oc: usize, n: usize) -> usize {
    oc.div_ceil(NR) * n.div_ceil(NR) * NR * NR
}

/// Writes dY (`oc × n`, one channel after another) as channel panels `[panel][pixel][NR]`,
/// zero past `oc` channels and `n` pixels: the B operand of [`gemm_dw_panels`].
pub fn pack_channels(oc: usize, n: usize, dy: &[f32], out: &mut [f32]) {
    let pixels = n.div_ceil(NR) * NR;
    for (jo, panel) in out[..channel_panels_len(oc, n)].chunks_exact_mut(pixels * NR).enumerate() {
        for (p, slot) in panel.chunks_exact_mut(NR).enumerate() {
            for (t, v) in slot.iter_mut().enumerate() {
                let o = jo * NR + t;
                *v = if o < oc && p < n { dy[o * n + p] } else { 0.0 };
            }
        }
    }
}

/// `dWᵀ[i, o] += Σ_p cols[i, p] · dY[o, p]` over the `n` pixels in order (one sum per call,
/// added to C): `cols` (`k` rows) in pixel panels as `im2col_panels` writes them (with
/// [`DW_SLACK`] after them when `k % MR != 0`), dY in channel panels ([`pack_channels`]), C with
/// row length `ldc ≥ oc` rounded up to [`NR`].
pub fn gemm_dw_panels(k: usize, oc: usize, n: usize, cols: &[f32], dy: &[f32], c: &mut [f32], ldc: usize) {
    gemm_dw_panels_with::<Native>(k, oc, n, cols, dy, c, ldc)
}

/// [`gemm_dw_panels`] with the multiply-add kind `M`.
pub fn gemm_dw_panels_with<M: Madd>(k: usize, oc: usize, n: usize, cols: &[f32], dy: &[f32], c: &mut [f32], ldc: usize) {
    if k == 0 || oc == 0 || n == 0 {
        return;
    }
    let (pixel_panels, channel_panels) = (n.div_ceil(NR), oc.div_ceil(NR));
    let slack = if k % MR == 0 { 0 } else { DW_SLACK };
    assert!(cols.len() >= panels_len(k, n) + slack && dy.len() >= channel_panels_len(oc, n), "packed operands too small");
    assert!(ldc >= channel_panels * NR && c.len() >= (k - 1) * ldc + channel_panels * NR, "dWᵀ too small");
    for jo in 0..channel_panels {
        let dy_panel = &dy[jo * pixel_panels * NR * NR..(jo + 1) * pixel_panels * NR * NR];
        for i0 in (0..k).step_by(MR) {
            // SAFETY: the asserts above: rows i0..i0+MR of every panel (slack past the last) and
            // every pixel of this channel panel.
            let acc = unsafe { dw_kernel::<M>(cols.as_ptr().add(i0 * NR), k * NR, dy_panel.as_ptr(), pixel_panels) };
            for (r, row) in acc.iter().enumerate().take(MR.min(k - i0)) {
                let dst = &mut c[(i0 + r) * ldc + jo * NR..(i0 + r) * ldc + jo * NR + NR];
                let (lo, hi) = dst.split_at_mut(4);
                V4::load(lo).add(row[0]).store(lo);
                V4::load(hi).add(row[1]).store(hi);
            }
        }
    }
}

/// The dW tile over all pixels: for pixel panel j and its NR pixels t,
/// `acc[r] += a[j·a_step + r·NR + t] · b[(j·NR + t)·NR ..+8]`. The accumulators live in
/// registers for the whole loop (a call per panel would store and reload them each time).
///
/// # Safety
/// `a + j·a_step + MR·NR` and `b + panels·NR·NR` floats must be readable for every panel j.
#[inline(always)]
unsafe fn dw_kernel<M: Madd>(a: *const f32, a_step: usize, b: *const f32, panels: usize) -> [[V4; 2]; MR] {
    let mut acc = [[V4::zero(); 2]; MR];
    // One flat loop over the pixels: a nested loop of NR steps gets fully unrolled by LLVM and
    // regrouped per accumulator, and V8 then spills (seen in its code).
    for p in 0..panels * NR {
        let ap = a.add((p / NR) * a_step + p % NR);
        let bp = b.add(p * NR);
        let (b0, b1) = (V4::load_at(bp), V4::load_at(bp.add(4)));
        for (r, row) in acc.iter_mut().enumerate() {
            let av = V4::splat_at(ap.add(r * NR));
            row[0] = M::vector(row[0], av, b0);
            row[1] = M::vector(row[1], av, b1);
        }
    }
    acc
}

/// Scalar reference of [`gemm_dw_panels`] on the logical matrices: cols `k × n`, dY `oc × n`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_dw_panels_ref<M: Madd>(k: usize, oc: usize, n: usize, cols: &[f32], dy: &[f32], c: &mut [f32], ldc: usize) {
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

/// Scalar reference of [`gemm_panels`] on the logical matrices: A `m × k` (row-major), B `k × n`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_panels_ref<M: Madd>(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32], ldc: usize, start: Start) {
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

/// Packs a `k × n` row-major B into pixel panels (tests and benchmarks; convolutions write
/// panels directly from the image).
pub fn pack_panels(k: usize, n: usize, b: &[f32], out: &mut [f32]) {
    for (j, panel) in out[..panels_len(k, n)].chunks_exact_mut(NR * k).enumerate() {
        for (p, slot) in panel.chunks_exact_mut(NR).enumerate() {
            for (t, v) in slot.iter_mut().enumerate() {
                let col = j * NR + t;
                *v = if col < n { b[p * n + col] } else { 0.0 };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dw_panels_match_reference_on_odd_sizes() {
        for &(k, oc, n) in &[(1, 1, 1), (25, 8, 784), (200, 16, 196), (7, 13, 9), (4, 8, 16), (27, 6, 100)] {
            let (cols, dy) = (values(k * n, 4), values(oc * n, 5));
            let mut pc = vec![f32::NAN; panels_len(k, n) + DW_SLACK];
            pack_panels(k, n, &cols, &mut pc);
            pc[panels_len(k, n)..].fill(-3.0);
            let mut pd = vec![f32::NAN; channel_panels_len(oc, n)];
            pack_channels(oc, n, &dy, &mut pd);
            let ldc = oc.div_ceil(NR) * NR;
            let init = values(k * ldc, 6);
            let (mut fast, mut slow) = (init.clone(), init);
            gemm_dw_panels_with::<Separate>(k, oc, n, &pc, &pd, &mut fast, ldc);
            gemm_dw_panels_ref::<Separate>(k, oc, n, &cols, &dy, &mut slow, ldc);
            for i in 0..k {
                for o in 0..oc {
                    assert_eq!(fast[i * ldc + o].to_bits(), slow[i * ldc + o].to_bits(), "{k}×{oc}×{n} at ({i},{o})");
                }
            }
        }
    }

    use super::*;
    use crate::engine::kernels::gemm::Separate;

    fn values(len: usize, seed: usize) -> Vec<f32> {
        (0..len).map(|i| (((i + seed) * 7919 % 1000) as f32 - 500.0) / 317.0).collect()
    }

    #[test]
    fn panels_match_reference_on_odd_sizes() {
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (4, 8, 16), (9, 13, 25), (16, 196, 200), (8, 784, 25), (7, 9, 3)] {
            let (a, b, bias) = (values(m * k, 1), values(k * n, 2), values(m, 3));
            let (mut pa, mut pb) = (vec![f32::NAN; packed_a_len(m, k)], vec![f32::NAN; panels_len(k, n)]);
            pack_a(m, k, &a, k, &mut pa);
            pack_panels(k, n, &b, &mut pb);
            for start in [Start::Zero, Start::Bias(&bias)] {
                let ldc = n + 3;
                let (mut fast, mut slow) = (vec![7.0; m * ldc], vec![7.0; m * ldc]);
                gemm_panels_with::<Separate>(m, n, k, &pa, &pb, &mut fast, ldc, start);
                gemm_panels_ref::<Separate>(m, n, k, &a, &b, &mut slow, ldc, start);
                assert!(fast.iter().zip(&slow).all(|(x, y)| x.to_bits() == y.to_bits()), "{m}×{n}×{k} {start:?}");
            }
        }
    }
}
