//! Single-precision matrix multiply, row-major, accumulating into C.
//!
//! `gemm_ref` is the scalar reference (the truth for parity tests); `gemm`/`gemm_ld` are the
//! SIMD versions, bit-identical to it. Both multiply-accumulate the [`Native`] way of the build:
//! with two roundings, or with one (fused) where the build has relaxed SIMD; the `_with`
//! variants take the kind as a type, so the benchmark can set the two side by side.

use super::packed::{channel_panels_len, pack_channels, MR, NR};
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

/// How a kernel multiplies and accumulates; each kind has a vector and a scalar form that round
/// alike, so kernels stay bit-identical to their scalar references.
pub trait Madd: Copy {
    /// `acc + a·b` on four lanes.
    fn vector(acc: V4, a: V4, b: V4) -> V4;
    /// `acc + a·b` on one value.
    fn scalar(acc: f32, a: f32, b: f32) -> f32;
}

/// Multiply, round, add, round (every build).
#[derive(Clone, Copy, Debug)]
pub struct Separate;

impl Madd for Separate {
    #[inline(always)]
    fn vector(acc: V4, a: V4, b: V4) -> V4 {
        acc.mul_add(a, b)
    }
    #[inline(always)]
    fn scalar(acc: f32, a: f32, b: f32) -> f32 {
        acc + a * b
    }
}

/// Fused multiply-add, one rounding (wasm builds with relaxed SIMD: Chromium emits FMA).
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
#[derive(Clone, Copy, Debug)]
pub struct Fused;

#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
impl Madd for Fused {
    #[inline(always)]
    fn vector(acc: V4, a: V4, b: V4) -> V4 {
        acc.fused_mul_add(a, b)
    }
    #[inline(always)]
    fn scalar(acc: f32, a: f32, b: f32) -> f32 {
        a.mul_add(b, acc)
    }
}

/// The kind this build's layers use.
#[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
pub type Native = Fused;
/// The kind this build's layers use.
#[cfg(not(all(target_arch = "wasm32", target_feature = "relaxed-simd")))]
pub type Native = Separate;

/// Scalar reference: `C[m×n] += op(A) · op(B)`, summing over k in increasing order.
pub fn gemm_ref(t: Trans, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    gemm_ref_with::<Native>(t, m, n, k, a, b, c)
}

/// [`gemm_ref`] with the multiply-add kind `M`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_ref_with<M: Madd>(t: Trans, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
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
                acc = M::scalar(acc, av, bv);
            }
            c[i * n + j] += acc;
        }
    }
}

/// Whether the product is added to C or replaces it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// `C += op(A)·op(B)`.
    Add,
    /// `C = op(A)·op(B)` (C's old contents are never read).
    Overwrite,
}

thread_local! {
    /// Buffer for B panels that cannot be read in place (NT, or the ragged last columns); reused
    /// by every call on this thread, so a steady-state training step allocates nothing.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// `C[m×n] += op(A) · op(B)` on tightly stored operands (leading dimensions k or m, n, n).
pub fn gemm(t: Trans, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let lda = if t == Trans::TN { m } else { k };
    let ldb = if t == Trans::NT { k } else { n };
    gemm_ld(t, m, n, k, (a, lda), (b, ldb), (c, n), Write::Add);
}

/// Fast GEMM on strided operands `(storage, leading dimension)`: A stored m×k (k×m for TN), B
/// stored k×n (n×k for NT), C m×n, each row `ld` elements apart.
///
/// A is read in place, one broadcast per row and k step (so either storage order streams). B is
/// read in place in panels of [`NR`] columns when stored k×n, and packed otherwise. A 4×8
/// register tile sums all of k before it meets C; each element sums its k products in increasing
/// order from zero, exactly like [`gemm_ref`], so the two agree bit for bit.
#[allow(clippy::too_many_arguments)]
pub fn gemm_ld(t: Trans, m: usize, n: usize, k: usize, a: (&[f32], usize), b: (&[f32], usize), c: (&mut [f32], usize), write: Write) {
    gemm_ld_with::<Native>(t, m, n, k, a, b, c, write)
}

/// [`gemm_ld`] with the multiply-add kind `M`.
#[allow(clippy::too_many_arguments)]
pub fn gemm_ld_with<M: Madd>(t: Trans, m: usize, n: usize, k: usize, a: (&[f32], usize), b: (&[f32], usize), c: (&mut [f32], usize), write: Write) {
    let ((a, lda), (b, ldb), (c, ldc)) = (a, b, c);
    if m == 0 || n == 0 {
        return;
    }
    assert!(c.len() >= (m - 1) * ldc + n && ldc >= n, "C too small for {m}×{n}");
    if k == 0 {
        if write == Write::Overwrite {
            c.chunks_mut(ldc).take(m).for_each(|row| row[..n].fill(0.0));
        }
        return;
    }
    let a_need = if t == Trans::TN { (k - 1) * lda + m } else { (m - 1) * lda + k };
    let b_need = if t == Trans::NT { (n - 1) * ldb + k } else { (k - 1) * ldb + n };
    assert!(a.len() >= a_need && b.len() >= b_need, "A or B too small for {m}×{n}×{k}");
    // Row i of op(A) at a[i·a_rs + p·a_ks].
    let (a_rs, a_ks) = if t == Trans::TN { (1, lda) } else { (lda, 1) };
    PANEL.with(|panel| {
        let mut panel = panel.borrow_mut();
        // op(B) = Bᵀ with B's rows contiguous (Linear's forward: the weights): every column panel
        // at once as channel panels, which SIMD transposes four by four; `pack_b` gathers one
        // float per row (LeNet-5's 400→120 Linear spent ~40 % of its forward there).
        let all_packed = t == Trans::NT && ldb == k;
        if all_packed {
            pack_channels(n, k, b, take(&mut panel, channel_panels_len(n, k)));
        }
        for j0 in (0..n).step_by(NR) {
            let cols = NR.min(n - j0);
            let (bp, b_ks) = if all_packed {
                (&panel[j0 * k.div_ceil(NR) * NR..], NR)
            } else if t != Trans::NT && cols == NR && in_place_b(m, k, ldb) {
                (&b[j0..], ldb)
            } else {
                let pb = take(&mut panel, NR * k);
                pack_b(t, k, b, ldb, j0, cols, pb);
                (&pb[..], NR)
            };
            for i0 in (0..m).step_by(MR) {
                let rows = MR.min(m - i0);
                // Rows past m repeat the last one (their results are dropped), keeping the
                // kernel free of branches.
                let offsets = std::array::from_fn(|r| (i0 + r.min(rows - 1)) * a_rs);
                // SAFETY: the asserts above bound every index the kernel reads: rows < m,
                // k steps < k, and B columns within the panel (in place: j0 + 8 <= n).
                let tile = unsafe { micro_tile::<M>(a.as_ptr(), offsets, a_ks, bp.as_ptr(), b_ks, k) };
                store_tile(&tile, c, ldc, i0, j0, rows, cols, write);
            }
        }
    });
}

/// Whether a k×n B panel is better read where it lies than packed. In place saves a copy, but a
/// panel's k rows are `ldb` apart, and a stride that is a multiple of 128 bytes or more maps them
/// to a fraction of the L1 sets: past a few dozen rows, re-reading the panel for every A tile
/// then misses (measured: 3,136-float rows 28 GFLOPS in place, 196-float rows 37). Packed, the
/// panel is contiguous. A single A tile reads the panel once: nothing to gain from a copy.
fn in_place_b(m: usize, k: usize, ldb: usize) -> bool {
    m <= MR || k <= 32 || ldb <= 2 * NR || (ldb * 4).trailing_zeros() <= 6
}

/// Copies columns j0..j0+cols of op(B) into a k-major panel of NR; columns past n are zero.
fn pack_b(t: Trans, k: usize, b: &[f32], ldb: usize, j0: usize, cols: usize, out: &mut [f32]) {
    for (p, slot) in out.chunks_exact_mut(NR).take(k).enumerate() {
        if t == Trans::NT {
            for (jj, v) in slot.iter_mut().enumerate() {
                *v = if jj < cols { b[(j0 + jj) * ldb + p] } else { 0.0 };
            }
        } else if cols == NR {
            // Two vector moves; a slice copy of a run-time length would call memcpy per row.
            let src = &b[p * ldb + j0..p * ldb + j0 + NR];
            V4::load(&src[..4]).store(&mut slot[..4]);
            V4::load(&src[4..]).store(&mut slot[4..]);
        } else {
            slot[..cols].copy_from_slice(&b[p * ldb + j0..p * ldb + j0 + cols]);
            slot[cols..].fill(0.0);
        }
    }
}

/// One rank-1 step of an `R × 4·V` tile, `acc[r] += a[r] ⊗ b[0..4·V]`: the inner step every
/// tile kernel (this GEMM's 4×8 and the implicit convolutions' 4×8 and 2×16) is made of.
///
/// # Safety
/// `b ..+4·V` must be readable.
#[inline(always)]
pub(super) unsafe fn rank1<M: Madd, const R: usize, const V: usize>(acc: &mut [[V4; V]; R], a: [V4; R], b: *const f32) {
    let bs: [V4; V] = std::array::from_fn(|j| V4::load_at(b.add(4 * j)));
    for (row, av) in acc.iter_mut().zip(a) {
        for (v, bv) in row.iter_mut().zip(bs) {
            *v = M::vector(*v, av, bv);
        }
    }
}

/// The 4×8 micro-kernel: Σ_p A[rows, p] ⊗ B[p, 0..8], held in eight registers.
///
/// # Safety
/// For every p < k: `a + offsets[r] + p·a_ks` (r < 4) and `b + p·b_ks + 0..8` must be readable.
#[inline(always)]
unsafe fn micro_tile<M: Madd>(a: *const f32, offsets: [usize; MR], a_ks: usize, b: *const f32, b_ks: usize, k: usize) -> [[V4; 2]; MR] {
    let mut acc = [[V4::zero(); 2]; MR];
    let mut rows = offsets.map(|o| a.add(o));
    let mut bp = b;
    for _ in 0..k {
        rank1::<M, MR, 2>(&mut acc, rows.map(|p| V4::splat_at(p)), bp);
        rows = rows.map(|p| p.add(a_ks));
        bp = bp.add(b_ks);
    }
    acc
}

/// Writes (or adds) the valid `rows × cols` part of a tile into C at (i0, j0).
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn store_tile(tile: &[[V4; 2]; MR], c: &mut [f32], ldc: usize, i0: usize, j0: usize, rows: usize, cols: usize, write: Write) {
    for (r, row) in tile.iter().enumerate().take(rows) {
        let dst = &mut c[(i0 + r) * ldc + j0..(i0 + r) * ldc + j0 + cols];
        if cols == NR {
            let (lo, hi) = dst.split_at_mut(4);
            match write {
                Write::Add => {
                    V4::load(lo).add(row[0]).store(lo);
                    V4::load(hi).add(row[1]).store(hi);
                }
                Write::Overwrite => {
                    row[0].store(lo);
                    row[1].store(hi);
                }
            }
        } else {
            let mut tmp = [0.0f32; NR];
            row[0].store(&mut tmp[..4]);
            row[1].store(&mut tmp[4..]);
            for (d, v) in dst.iter_mut().zip(tmp) {
                *d = if write == Write::Add { *d + v } else { v };
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

    /// Strided operands (sub-matrices of wider storage) and overwrite mode, against the reference
    /// on copies of the same sub-matrices; C's padding columns must stay untouched.
    #[test]
    fn strided_operands_and_overwrite_match_reference() {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        for &(m, n, k) in &[(1, 1, 1), (5, 9, 3), (13, 17, 31), (4, 24, 16), (200, 16, 49)] {
            for t in [Trans::NN, Trans::NT, Trans::TN] {
                let (a_rows, a_cols) = if t == Trans::TN { (k, m) } else { (m, k) };
                let (b_rows, b_cols) = if t == Trans::NT { (n, k) } else { (k, n) };
                let (lda, ldb, ldc) = (a_cols + 3, b_cols + 5, n + 2);
                let a = random(a_rows * lda, &mut rng);
                let b = random(b_rows * ldb, &mut rng);
                let tight = |v: &[f32], rows: usize, cols: usize, ld: usize| -> Vec<f32> {
                    (0..rows).flat_map(|r| v[r * ld..r * ld + cols].to_vec()).collect()
                };
                let (at, bt) = (tight(&a, a_rows, a_cols, lda), tight(&b, b_rows, b_cols, ldb));
                for write in [Write::Add, Write::Overwrite] {
                    let init = random(m * ldc, &mut rng);
                    let mut c_fast = init.clone();
                    gemm_ld(t, m, n, k, (&a, lda), (&b, ldb), (&mut c_fast, ldc), write);
                    let mut c_ref = if write == Write::Add { tight(&init, m, n, ldc) } else { vec![0.0; m * n] };
                    gemm_ref(t, m, n, k, &at, &bt, &mut c_ref);
                    for i in 0..m {
                        for j in 0..ldc {
                            let got = c_fast[i * ldc + j];
                            let want = if j < n { c_ref[i * n + j] } else { init[i * ldc + j] };
                            assert_eq!(got.to_bits(), want.to_bits(), "{t:?} {write:?} {m}x{n}x{k} at ({i},{j})");
                        }
                    }
                }
            }
        }
    }
}
