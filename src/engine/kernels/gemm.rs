//! Single-precision matrix multiply, row-major, accumulating into C.
//!
//! `gemm_ref` is the scalar reference (the truth for parity tests); `gemm` is the packed SIMD
//! version, bit-identical to it.

use super::simd::V4;
use super::take;
use std::cell::RefCell;

/// Which operands are transposed: `C[m×n] += op(A) · op(B)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trans {
    /// A is m×k, B is k×n.
    NN,
    /// A is m×k, B is stored n×k (B transposed).
    NT,
    /// A is stored k×m (A transposed), B is k×n.
    TN,
}

/// Scalar reference: `C[m×n] += op(A) · op(B)`, summing over k in increasing order.
#[allow(clippy::too_many_arguments)]
pub fn gemm_ref(t: Trans, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    for i in 0..m {
        for j in 0..n {
            let mut acc = 0.0f32;
            for p in 0..k {
                let av = match t {
                    Trans::TN => a[p * m + i],
                    _ => a[i * k + p],
                };
                let bv = match t {
                    Trans::NT => b[j * k + p],
                    _ => b[p * n + j],
                };
                acc += av * bv;
            }
            c[i * n + j] += acc;
        }
    }
}

/// Rows of a packed A panel (micro-tile height).
const MR: usize = 4;
/// Columns of a packed B panel (micro-tile width: two 4-lane vectors).
const NR: usize = 8;

thread_local! {
    /// Packing buffers, reused by every call on this thread (no allocation in steady state).
    static PACK: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Fast `C[m×n] += op(A) · op(B)`: A and B are packed into MR-row and NR-column panels and a
/// 4×8 register tile accumulates over all of k before being added to C. Each element sums its
/// k products in increasing order from zero, like [`gemm_ref`], so the two agree bit for bit.
pub fn gemm(t: Trans, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    assert_eq!(c.len(), m * n, "C is not {m}×{n}");
    assert!(a.len() >= m * k && b.len() >= k * n, "A or B too small for {m}×{n}×{k}");
    if m == 0 || n == 0 || k == 0 {
        return;
    }
    PACK.with(|bufs| {
        let (pa, pb) = &mut *bufs.borrow_mut();
        let panels_a = m.div_ceil(MR);
        pack_a(t, m, k, a, take(pa, panels_a * MR * k));
        let pb = take(pb, NR * k);
        for j0 in (0..n).step_by(NR) {
            let cols = NR.min(n - j0);
            pack_b(t, n, k, b, j0, cols, pb);
            for pi in 0..panels_a {
                let i0 = pi * MR;
                let tile = micro_tile(&pa[pi * MR * k..(pi + 1) * MR * k], pb);
                add_tile(&tile, c, n, i0, j0, MR.min(m - i0), cols);
            }
        }
    });
}

/// Packs op(A) into panels of MR rows, k-major inside a panel; rows past m are zero.
fn pack_a(t: Trans, m: usize, k: usize, a: &[f32], out: &mut [f32]) {
    for (pi, panel) in out.chunks_exact_mut(MR * k).enumerate() {
        for (p, slot) in panel.chunks_exact_mut(MR).enumerate() {
            for (r, v) in slot.iter_mut().enumerate() {
                let i = pi * MR + r;
                *v = if i >= m {
                    0.0
                } else if t == Trans::TN {
                    a[p * m + i]
                } else {
                    a[i * k + p]
                };
            }
        }
    }
}

/// Packs columns j0..j0+cols of op(B) into one k-major panel of NR; columns past n are zero.
fn pack_b(t: Trans, n: usize, k: usize, b: &[f32], j0: usize, cols: usize, out: &mut [f32]) {
    for (p, slot) in out.chunks_exact_mut(NR).enumerate() {
        if t == Trans::NT {
            for (jj, v) in slot.iter_mut().enumerate() {
                *v = if jj < cols { b[(j0 + jj) * k + p] } else { 0.0 };
            }
        } else {
            slot[..cols].copy_from_slice(&b[p * n + j0..p * n + j0 + cols]);
            slot[cols..].fill(0.0);
        }
    }
}

/// The 4×8 micro-kernel: Σ_p A[:, p] ⊗ B[p, :] over packed panels, held in eight registers.
#[inline(always)]
fn micro_tile(ap: &[f32], bp: &[f32]) -> [[V4; 2]; MR] {
    let mut acc = [[V4::zero(); 2]; MR];
    for (a4, b8) in ap.chunks_exact(MR).zip(bp.chunks_exact(NR)) {
        let (b0, b1) = (V4::load(&b8[..4]), V4::load(&b8[4..]));
        for (row, &av) in acc.iter_mut().zip(a4) {
            let a = V4::splat(av);
            row[0] = row[0].mul_add(a, b0);
            row[1] = row[1].mul_add(a, b1);
        }
    }
    acc
}

/// Adds the valid `rows × cols` part of a tile into C at (i0, j0).
#[inline(always)]
fn add_tile(tile: &[[V4; 2]; MR], c: &mut [f32], ldc: usize, i0: usize, j0: usize, rows: usize, cols: usize) {
    for (r, row) in tile.iter().enumerate().take(rows) {
        let dst = &mut c[(i0 + r) * ldc + j0..(i0 + r) * ldc + j0 + cols];
        if cols == NR {
            V4::load(&dst[..4]).add(row[0]).store(&mut dst[..4]);
            V4::load(&dst[4..]).add(row[1]).store(&mut dst[4..]);
        } else {
            let mut tmp = [0.0f32; NR];
            row[0].store(&mut tmp[..4]);
            row[1].store(&mut tmp[4..]);
            for (d, v) in dst.iter_mut().zip(tmp) {
                *d += v;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn random(len: usize, rng: &mut rand_chacha::ChaCha8Rng) -> Vec<f32> {
        (0..len).map(|_| rng.random_range(-1.0..1.0)).collect()
    }

    #[test]
    fn fast_matches_reference_on_odd_sizes() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        for &(m, n, k) in &[(1, 1, 1), (3, 5, 7), (4, 8, 16), (9, 13, 25), (16, 196, 200), (7, 1, 33)] {
            for t in [Trans::NN, Trans::NT, Trans::TN] {
                let a = random(m * k, &mut rng);
                let b = random(k * n, &mut rng);
                let init = random(m * n, &mut rng);
                let (mut c_ref, mut c_fast) = (init.clone(), init);
                gemm_ref(t, m, n, k, &a, &b, &mut c_ref);
                gemm(t, m, n, k, &a, &b, &mut c_fast);
                // Same summation order as the reference: equal to the bit.
                assert!(c_ref.iter().zip(&c_fast).all(|(x, y)| x.to_bits() == y.to_bits()), "{t:?} {m}x{n}x{k}");
            }
        }
    }
}
