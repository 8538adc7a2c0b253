//! `exp`, `tanh` and `sigmoid` without branches or library calls, so that loops over them
//! vectorise: `f32::exp`/`tanh` are calls into libm, one element at a time (LeNet-5's Tanh
//! forward was 92 µs per image, more than both its convolutions). Accuracy within 1.5 ulp
//! (checked against f64 over the whole range in the tests); NaN passes through, so a diverging
//! run stays visible.
//!
//! Written here rather than taken from a crate: the point is code the compiler inlines into the
//! activation loops and turns into SIMD, which a call into a math library prevents.

/// Inputs of [`exp`] are clamped to this range: below it the result would be subnormal (slow in
/// every later operation on x86) and is returned as e^-87 instead; above it the exponent
/// assembly would overflow (e^88 ≈ 1.65e38).
const EXP_RANGE: (f32, f32) = (-87.0, 88.0);

/// 1.5·2^23: adding it to a float of magnitude below 2^22 rounds that float to an integer
/// (ties to even, the default rounding) and leaves the integer in the low mantissa bits.
const ROUNDING_MAGIC: f32 = 12_582_912.0;

/// Cody–Waite reduction, shared by [`exp`] and [`expm1_nonnegative`]: x = n·ln2 + r with
/// |r| ≤ ln2/2 and n integral, ln2 split so that n·LN2_HI is exact. Returns (r, 2^n).
///
/// n is rounded by adding and subtracting [`ROUNDING_MAGIC`] rather than by `round_ties_even`
/// and a float-to-int conversion: the same n, but in wasm the saturating `i32x4.trunc_sat`
/// becomes a sequence of about eight x86 instructions in every lane group, and the magic sum
/// already holds n in its bits, so 2^n is one shift and one add away.
#[inline(always)]
fn reduce_ln2(x: f32) -> (f32, f32) {
    const LN2_HI: f32 = 0.693_359_4;
    const LN2_LO: f32 = -2.121_944_4e-4;
    let shifted = x * std::f32::consts::LOG2_E + ROUNDING_MAGIC;
    let n = shifted - ROUNDING_MAGIC;
    // The low bits of `shifted` are n in two's complement; shifted left by 23 they are n's
    // exponent field (the magic's own bits above bit 8 fall off), and 127 biases it. A NaN x
    // gives some finite power: the NaN travels on in r.
    let scale = f32::from_bits((shifted.to_bits() << 23).wrapping_add(127 << 23));
    (x - n * LN2_HI - n * LN2_LO, scale)
}

/// e^r − 1 on |r| ≤ ln2/2: the Taylor polynomial of degree 7 (remainder below 7e-9 relative),
/// as r + r²·s(r), so that r, exact, carries most of the value and the rounding of s matters
/// only in proportion to r²·s/r ≤ 0.2.
///
/// s is evaluated in Estrin's scheme (pairs of terms, then r², then r⁴) rather than Horner's:
/// the same terms, but three dependent multiply-adds after r instead of six. In a loop over
/// L1-resident data the chain of dependent operations, not their count, sets the time: in wasm,
/// tanh over 6×28×28 floats took 13.3 µs with Estrin (on the earlier r·q(r) form, whose chain
/// is as long as this one's) instead of 16.4 with Horner (the same run, best of 5). Inside
/// LeNet-5's Tanh layer the difference was within the machine's noise.
#[inline(always)]
fn expm1_reduced(r: f32) -> f32 {
    let r2 = r * r;
    let s = ((0.5 + r * (1.0 / 6.0)) + r2 * (1.0 / 24.0 + r * (1.0 / 120.0)))
        + (r2 * r2) * (1.0 / 720.0 + r * (1.0 / 5040.0));
    r + r2 * s
}

/// e^x (to within 1 ulp on the clamped range; see [`EXP_RANGE`]).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let (r, scale) = reduce_ln2(x.clamp(EXP_RANGE.0, EXP_RANGE.1));
    let p = 1.0 + expm1_reduced(r);
    if x.is_nan() {
        x
    } else {
        p * scale
    }
}

/// e^x − 1 for 0 ≤ x ≤ 20 (NaN passes through), accurate near 0 as well: with x = n·ln2 + r,
/// e^x − 1 = 2^n·(e^r − 1) + (2^n − 1), where e^r − 1 keeps its relative accuracy for tiny r
/// ([`expm1_reduced`]) and 2^n − 1 is exact. One polynomial serves all of [`tanh`]'s range, so
/// its loop has no second polynomial and no select (LeNet-5's Tanh forward was 17.7 µs per image
/// in wasm with a small-|x| polynomial beside the exponential).
#[inline(always)]
fn expm1_nonnegative(x: f32) -> f32 {
    let (r, scale) = reduce_ln2(x);
    scale * expm1_reduced(r) + (scale - 1.0)
}

/// tanh(x) (within 1.5 ulp): (e^2|x| − 1)/(e^2|x| + 1) with the sign of x.
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    let a2 = 2.0 * x.abs();
    // From |x| = 10 on the quotient rounds to exactly 1. A comparison, not `min`, which would
    // replace a NaN.
    let a2 = if a2 > 20.0 { 20.0 } else { a2 };
    let e = expm1_nonnegative(a2);
    (e / (e + 2.0)).copysign(x)
}

/// 1 / (1 + e^−x) (within 1.5 ulp; at most e^80 in the denominator, so the result never
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
    fn exp_is_within_one_ulp() {
        let (err, at) = worst_ulps(exp, f64::exp, -87.0, 88.0, 400_000);
        assert!(err < 1.0, "exp: {err:.2} ulp at {at}");
        let (err, at) = worst_ulps(exp, f64::exp, -1.0, 1.0, 100_000);
        assert!(err < 1.0, "exp near 0: {err:.2} ulp at {at}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NAN).is_nan());
        assert!(exp(-1000.0) > 0.0 && !exp(-1000.0).is_subnormal());
        assert!(exp(1000.0).is_finite());
    }

    #[test]
    fn tanh_is_within_1_6_ulp() {
        for (lo, hi) in [(-20.0, 20.0), (-10.0, 10.0), (0.3, 2.0), (-0.7, 0.7), (-1e-3, 1e-3), (-1e-6, 1e-6)] {
            let (err, at) = worst_ulps(tanh, f64::tanh, lo, hi, 200_000);
            // 1.48 at worst since the r + r²·s form (1.87 with r·q(r)).
            assert!(err < 1.6, "tanh on [{lo}, {hi}]: {err:.2} ulp at {at}");
        }
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!((tanh(f32::INFINITY), tanh(f32::NEG_INFINITY)), (1.0, -1.0));
        assert!(tanh(f32::NAN).is_nan());
    }

    #[test]
    fn sigmoid_is_within_1_5_ulp() {
        let truth = |x: f64| 1.0 / (1.0 + (-x).exp());
        let (err, at) = worst_ulps(sigmoid, truth, -80.0, 40.0, 300_000);
        assert!(err < 1.5, "sigmoid: {err:.2} ulp at {at}");
        assert_eq!(sigmoid(f32::INFINITY), 1.0);
        assert!(sigmoid(f32::NEG_INFINITY) >= 0.0 && !sigmoid(f32::NEG_INFINITY).is_subnormal());
        assert!(sigmoid(f32::NAN).is_nan());
    }
}
