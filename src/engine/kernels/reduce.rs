//! Sums of f32 slices in sixteen interleaved running sums. One running sum is a chain of
//! dependent adds (a few cycles each) that the compiler must not reorder: a conv layer's bias
//! gradient (the reference net's first conv: 6,272 floats per image) took ~4 µs of that layer's
//! 15 µs backward pass in wasm. Four vectors of independent sums keep the adder busy.
//! [`sum_ref`] is the same order in scalar.

use super::simd::V4;

/// Running sums: element `i` goes into sum `i % LANES`.
const LANES: usize = 16;

/// `Σ xs`, in the order of [`sum_ref`] (same bits).
pub fn sum(xs: &[f32]) -> f32 {
    let mut acc = [V4::zero(); LANES / 4];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (j, a) in acc.iter_mut().enumerate() {
            *a = a.add(V4::load(&chunk[4 * j..]));
        }
    }
    let mut lanes = [0.0f32; LANES];
    for (a, dst) in acc.iter().zip(lanes.chunks_exact_mut(4)) {
        a.store(dst);
    }
    combine(lanes, chunks.remainder())
}

/// Scalar reference of [`sum`]: sixteen running sums, the tail added into the first ones, then
/// halves added pairwise.
pub fn sum_ref(xs: &[f32]) -> f32 {
    let mut lanes = [0.0f32; LANES];
    let mut chunks = xs.chunks_exact(LANES);
    for chunk in &mut chunks {
        for (l, v) in lanes.iter_mut().zip(chunk) {
            *l += v;
        }
    }
    combine(lanes, chunks.remainder())
}

/// Adds the tail (< LANES floats) into the first sums, then folds the sums in halves.
fn combine(mut lanes: [f32; LANES], tail: &[f32]) -> f32 {
    for (l, v) in lanes.iter_mut().zip(tail) {
        *l += v;
    }
    let mut width = LANES;
    while width > 1 {
        width /= 2;
        for i in 0..width {
            lanes[i] += lanes[i + width];
        }
    }
    lanes[0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vector_sum_equals_its_reference_and_the_exact_sum() {
        for len in [0, 1, 3, 15, 16, 17, 49, 196, 784, 1000] {
            let xs: Vec<f32> = (0..len).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 317.0).collect();
            let (fast, slow) = (sum(&xs), sum_ref(&xs));
            assert_eq!(fast.to_bits(), slow.to_bits(), "length {len}");
            let exact: f64 = xs.iter().map(|&v| v as f64).sum();
            assert!((fast as f64 - exact).abs() <= 1e-5 * (1.0 + exact.abs()), "length {len}: {fast} vs {exact}");
        }
        assert!(sum(&[1.0, f32::NAN, 2.0]).is_nan());
    }
}
