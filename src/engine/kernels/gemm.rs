//! Single-precision matrix multiply, row-major, accumulating into C.
//!
//! `gemm_ref` is the scalar reference (the truth for parity tests). The fast variants keep the
//! same summation order per output element as the reference where that is cheap, and are written
//! in a form LLVM auto-vectorises to SIMD128 (the hand-written SIMD micro-kernels of the speed
//! issue will replace them behind the same signature).

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

/// Fast `C[m×n] += op(A) · op(B)`.
pub fn gemm(t: Trans, m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    debug_assert_eq!(c.len(), m * n);
    match t {
        Trans::NN => {
            debug_assert_eq!((a.len(), b.len()), (m * k, k * n));
            gemm_nn(m, n, k, a, b, c)
        }
        Trans::TN => {
            debug_assert_eq!((a.len(), b.len()), (k * m, k * n));
            gemm_tn(m, n, k, a, b, c)
        }
        Trans::NT => {
            debug_assert_eq!((a.len(), b.len()), (m * k, n * k));
            gemm_nt(m, n, k, a, b, c)
        }
    }
}

/// Rows of C updated together so each loaded row of B feeds four accumulating rows.
const ROWS: usize = 4;

fn gemm_nn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    let mut i = 0;
    while i + ROWS <= m {
        let (c0, rest) = c[i * n..(i + ROWS) * n].split_at_mut(n);
        let (c1, rest) = rest.split_at_mut(n);
        let (c2, c3) = rest.split_at_mut(n);
        for p in 0..k {
            let brow = &b[p * n..(p + 1) * n];
            let (a0, a1, a2, a3) =
                (a[i * k + p], a[(i + 1) * k + p], a[(i + 2) * k + p], a[(i + 3) * k + p]);
            for j in 0..n {
                let bv = brow[j];
                c0[j] += a0 * bv;
                c1[j] += a1 * bv;
                c2[j] += a2 * bv;
                c3[j] += a3 * bv;
            }
        }
        i += ROWS;
    }
    for i in i..m {
        let crow = &mut c[i * n..(i + 1) * n];
        for p in 0..k {
            axpy(a[i * k + p], &b[p * n..(p + 1) * n], crow);
        }
    }
}

fn gemm_tn(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    for p in 0..k {
        let brow = &b[p * n..(p + 1) * n];
        let arow = &a[p * m..(p + 1) * m];
        for (i, &av) in arow.iter().enumerate() {
            if av != 0.0 {
                axpy(av, brow, &mut c[i * n..(i + 1) * n]);
            }
        }
    }
}

fn gemm_nt(m: usize, n: usize, k: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    for i in 0..m {
        let arow = &a[i * k..(i + 1) * k];
        for j in 0..n {
            c[i * n + j] += dot(arow, &b[j * k..(j + 1) * k]);
        }
    }
}

/// `y += alpha · x`.
#[inline]
pub fn axpy(alpha: f32, x: &[f32], y: &mut [f32]) {
    for (yv, &xv) in y.iter_mut().zip(x) {
        *yv += alpha * xv;
    }
}

/// Dot product with eight independent lanes (vectorisable; fixed order, so deterministic).
#[inline]
pub fn dot(x: &[f32], y: &[f32]) -> f32 {
    const L: usize = 8;
    let mut acc = [0.0f32; L];
    let mut xc = x.chunks_exact(L);
    let mut yc = y.chunks_exact(L);
    for (xs, ys) in (&mut xc).zip(&mut yc) {
        for l in 0..L {
            acc[l] += xs[l] * ys[l];
        }
    }
    let mut tail = 0.0;
    for (a, b) in xc.remainder().iter().zip(yc.remainder()) {
        tail += a * b;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
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
                for (x, y) in c_ref.iter().zip(&c_fast) {
                    assert!((x - y).abs() <= 1e-4 * (1.0 + x.abs()), "{t:?} {m}x{n}x{k}: {x} vs {y}");
                }
            }
        }
    }
}
