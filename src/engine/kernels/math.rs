//! `exp`, `tanh` and `sigmoid` without branches or library calls, so that loops over them
//! vectorise: `f32::exp`/`tanh` are calls into libm, one element at a time (LeNet-5's Tanh
//! forward was 92 µs per image, more than both its convolutions). Accuracy within about 2 ulp
//! (checked against f64 over the whole range in the tests); NaN passes through, so a diverging
//! run stays visible.
//!
//! Written here rather than taken from a crate: the point is code the compiler inlines into the
//! activation loops and turns into SIMD, which a call into a math library prevents.

/// Inputs of [`exp`] are clamped to this range: below it the result would be subnormal (slow in
/// every later operation on x86) and is returned as e^-87 instead; above it the exponent
/// assembly would overflow (e^88 ≈ 1.65e38).
const EXP_RANGE: (f32, f32) = (-87.0, 88.0);

/// Cody–Waite reduction, shared by [`exp`] and [`expm1_nonnegative`]: x = n·ln2 + r with
/// |r| ≤ ln2/2 and n integral, ln2 split so that n·LN2_HI is exact. Returns (n, r).
#[inline(always)]
fn reduce_ln2(x: f32) -> (f32, f32) {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let n = (x * std::f32::consts::LOG2_E).round_ties_even();
    (n, x - n * LN2_HI - n * LN2_LO)
}

/// (e^r − 1)/r on |r| ≤ ln2/2, Taylor to degree 6 (remainder below 2e-8 relative); e^r is
/// 1 + r·this (degree 7, remainder below 5e-9).
#[inline(always)]
fn expm1_over(r: f32) -> f32 {
    let mut q = 1.0 / 5040.0;
    for coef in [1.0 / 720.0, 1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0] {
        q = q * r + coef;
    }
    q
}

/// 2^n for an integral n of the normal exponent range, assembled from its bits (a NaN n casts
/// to 0, giving 1).
#[inline(always)]
fn pow2(n: f32) -> f32 {
    f32::from_bits(((n as i32 + 127) as u32) << 23)
}

/// e^x (to within 1 ulp on the clamped range; see [`EXP_RANGE`]).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let (n, r) = reduce_ln2(x.clamp(EXP_RANGE.0, EXP_RANGE.1));
    let p = expm1_over(r) * r + 1.0;
    if x.is_nan() {
        x
    } else {
        p * pow2(n)
    }
}

/// e^x − 1 for 0 ≤ x ≤ 20 (NaN passes through), accurate near 0 as well: with x = n·ln2 + r,
/// e^x − 1 = 2^n·(e^r − 1) + (2^n − 1), where e^r − 1 = r·q(r) keeps its relative accuracy for
/// tiny r and 2^n − 1 is exact. One polynomial serves all of [`tanh`]'s range, so its loop has
/// no second polynomial and no select (LeNet-5's Tanh forward was 17.7 µs per image in wasm with
/// a small-|x| polynomial beside the exponential).
#[inline(always)]
fn expm1_nonnegative(x: f32) -> f32 {
    let (n, r) = reduce_ln2(x);
    // A NaN x gives n = NaN: scale 1, and the NaN stays in r.
    let scale = pow2(n);
    scale * (r * expm1_over(r)) + (scale - 1.0)
}

/// tanh(x) (within about 2 ulp): (e^2|x| − 1)/(e^2|x| + 1) with the sign of x.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a2 = 2.0 * x.abs();
    // From |x| = 10 on the quotient rounds to exactly 1. A comparison, not `min`, which would
    // replace a NaN.
    let a2 = if a2 > 20.0 { 20.0 } else { a2 };
    let e = expm1_nonnegative(a2);
    (e / (e + 2.0)).copysign(x)
}

/// 1 / (1 + e^−x) (within about 2 ulp; at most e^80 in the denominator, so the result never
/// becomes subnormal).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    // A comparison, not `min`, which would replace a NaN.
    let e = if -x > 80.0 { 80.0 } else { -x };
    1.0 / (1.0 + exp(e))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Relative error in units of f32 epsilon at the true value, over `n` points of [lo, hi].
    fn worst_ulps(f: impl Fn(f32) -> f32, truth: impl Fn(f64) -> f64, lo: f32, hi: f32, n: usize) -> (f64, f32) {
        let mut worst = (0.0, lo);
        for i in 0..=n {
            let x = lo + (hi - lo) * i as f32 / n as f32;
            let (got, want) = (f(x) as f64, truth(x as f64));
            let err = (got - want).abs() / (want.abs().max(f32::MIN_POSITIVE as f64) * f32::EPSILON as f64);
            if err > worst.0 {
                worst = (err, x);
            }
        }
        worst
    }

    #[test]
    fn exp_is_within_two_ulp() {
        let (err, at) = worst_ulps(exp, f64::exp, -87.0, 88.0, 400_000);
        assert!(err < 2.0, "exp: {err:.2} ulp at {at}");
        let (err, at) = worst_ulps(exp, f64::exp, -1.0, 1.0, 100_000);
        assert!(err < 2.0, "exp near 0: {err:.2} ulp at {at}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(-1000.0) > 0.0 && !exp(-1000.0).is_subnormal());
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn tanh_is_within_two_ulp() {
        for (lo, hi) in [(-20.0, 20.0), (-10.0, 10.0), (0.3, 2.0), (-0.7, 0.7), (-1e-3, 1e-3), (-1e-6, 1e-6)] {
            let (err, at) = worst_ulps(tanh, f64::tanh, lo, hi, 200_000);
            assert!(err < 2.0, "tanh on [{lo}, {hi}]: {err:.2} ulp at {at}");
        }
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!((tanh(f32::INFINITY), tanh(f32::NEG_INFINITY)), (1.0, -1.0));
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_two_ulp() {
        let truth = |x: f64| 1.0 / (1.0 + (-x).exp());
        let (err, at) = worst_ulps(sigmoid, truth, -80.0, 40.0, 300_000);
        assert!(err < 2.5, "sigmoid: {err:.2} ulp at {at}");
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert!(sigmoid(f32::NEG_INFINITY) >= 0.0 && !sigmoid(f32::NEG_INFINITY).is_subnormal());
        assert!(sigmoid(f32::NAN).is_nan());
    }
}
