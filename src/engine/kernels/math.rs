//! `exp`, `tanh` and `sigmoid` without branches or library calls, so that loops over them
//! vectorise: `f32::exp`/`tanh` are calls into libm, one element at a time (LeNet-5's Tanh
//! forward was 92 µs per image, more than both its convolutions). Accuracy within 1.5 ulp for
//! `exp` and `sigmoid`, 3 ulp for `tanh` (checked against f64 over the whole range in the
//! tests); NaN passes through, so a diverging run stays visible.
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

/// [`tanh`] clamps x to ± this (from 9.01 on, tanh(x) rounds to exactly 1 in f32).
const TANH_RANGE: f32 = 9.1;

/// [`sigmoid`] clamps −x to this: e^80 in the denominator keeps the result normal.
const SIGMOID_CLAMP: f32 = 80.0;

/// The arithmetic the formulas here are written in, on one value (`f32`, the scalar truth) or
/// on four lanes (`V4`, in the SIMD kernels of [`super::activation`]), so both run the same
/// operations in the same order and give the same bits. Constants come from [`Consts`], built
/// once per loop.
pub trait Lanes: Copy {
    /// `self + o`.
    fn add(self, o: Self) -> Self;
    /// `self − o`.
    fn sub(self, o: Self) -> Self;
    /// `self · o`.
    fn mul(self, o: Self) -> Self;
    /// `self / o`.
    fn div(self, o: Self) -> Self;
    /// `self + a·b`, rounded once where `FUSED`, else after the product and after the sum.
    fn mul_add<const FUSED: bool>(self, a: Self, b: Self) -> Self;
    /// −self.
    fn neg(self) -> Self;
    /// `limit` where `self > limit`, else `self`. A NaN may come out as `limit`: with relaxed
    /// SIMD, LLVM and Chromium turn such selects into x86's `minps`, which returns its second
    /// operand when either is NaN, so the formulas restore NaNs at the end ([`Lanes::or_nan_of`]).
    fn at_most(self, limit: Self) -> Self;
    /// `limit` where `self < limit`, else `self` (NaN: as [`Lanes::at_most`]).
    fn at_least(self, limit: Self) -> Self;
    /// `x` where `x` is NaN, else `self`: a NaN input gives a NaN output, so a diverging run
    /// stays visible.
    fn or_nan_of(self, x: Self) -> Self;
    /// 2^n, from `self` = n + [`ROUNDING_MAGIC`] (n integral, −127 < n < 128), given `one` =
    /// 1.0: the low mantissa bits hold n in two's complement, and shifted left by 23 they are
    /// n's exponent field (the magic's own bits above bit 8 fall off); adding 1.0's bits biases
    /// it by 127. A NaN gives some finite power.
    fn pow2_of_rounded(self, one: Self) -> Self;
}

impl Lanes for f32 {
    #[inline(always)]
    fn add(self, o: Self) -> Self {
        self + o
    }
    #[inline(always)]
    fn sub(self, o: Self) -> Self {
        self - o
    }
    #[inline(always)]
    fn mul(self, o: Self) -> Self {
        self * o
    }
    #[inline(always)]
    fn div(self, o: Self) -> Self {
        self / o
    }
    #[inline(always)]
    fn mul_add<const FUSED: bool>(self, a: Self, b: Self) -> Self {
        if FUSED {
            a.mul_add(b, self)
        } else {
            self + a * b
        }
    }
    #[inline(always)]
    fn neg(self) -> Self {
        -self
    }
    #[inline(always)]
    fn at_most(self, limit: Self) -> Self {
        if self > limit {
            limit
        } else {
            self
        }
    }
    #[inline(always)]
    fn at_least(self, limit: Self) -> Self {
        if self < limit {
            limit
        } else {
            self
        }
    }
    #[inline(always)]
    fn or_nan_of(self, x: Self) -> Self {
        if x.is_nan() {
            x
        } else {
            self
        }
    }
    #[inline(always)]
    fn pow2_of_rounded(self, one: Self) -> Self {
        f32::from_bits((self.to_bits() << 23).wrapping_add(one.to_bits()))
    }
}

/// Every constant of the formulas, as lanes. A SIMD loop builds this once, outside the loop:
/// V8 re-materialises each `v128.const` inside a loop (several x86 instructions each), and
/// with fifteen of them the constants cost more than the arithmetic (tanh over 6×28² floats in
/// Chromium: 11.5 µs per sample with constants inline, 6.5 with this struct built once).
#[derive(Clone, Copy)]
pub struct Consts<L> {
    one: L,
    log2_e: L,
    magic: L,
    ln2_hi: L,
    ln2_lo: L,
    /// The Taylor coefficients of e^r − 1 from r² on: 1/2!, …, 1/7!.
    taylor: [L; 6],
    minus_one: L,
    /// [`tanh_lanes`]'s numerator: the coefficients of x³, x⁵, …, x¹³ (that of x is 1).
    tanh_numerator: [L; 6],
    /// Its denominator: the coefficients of x², x⁴, x⁶ (the constant is 1).
    tanh_denominator: [L; 3],
    /// Its input range.
    tanh_range: (L, L),
    sigmoid_clamp: L,
    exp_range: (L, L),
}

impl<L: Lanes> Consts<L> {
    /// Every constant splatted with `splat` (for SIMD, a splat the compiler cannot see through).
    #[inline(always)]
    pub fn new(splat: impl Fn(f32) -> L) -> Self {
        Self {
            one: splat(1.0),
            log2_e: splat(std::f32::consts::LOG2_E),
            magic: splat(ROUNDING_MAGIC),
            // ln 2 split so that n·ln2_hi is exact for every n the clamped inputs produce.
            ln2_hi: splat(0.693_359_4),
            ln2_lo: splat(-2.121_944_4e-4),
            taylor: [0.5, 1.0 / 6.0, 1.0 / 24.0, 1.0 / 120.0, 1.0 / 720.0, 1.0 / 5040.0].map(&splat),
            minus_one: splat(-1.0),
            tanh_numerator: [0.130_682_86, 0.003_086_202_8, 1.096_198e-5, -1.939_312_7e-8, 4.840_609_2e-11, -7.245_537e-14].map(&splat),
            tanh_denominator: [0.464_016_14, 0.024_425_017, 0.000_251_993_07].map(&splat),
            tanh_range: (splat(-TANH_RANGE), splat(TANH_RANGE)),
            sigmoid_clamp: splat(SIGMOID_CLAMP),
            exp_range: (splat(EXP_RANGE.0), splat(EXP_RANGE.1)),
        }
    }
}

impl Consts<f32> {
    /// The scalar constants (plain values: the compiler folds them into each use).
    #[inline(always)]
    pub fn scalar() -> Self {
        Consts::new(|v| v)
    }
}

/// Cody–Waite reduction, used by [`exp`]: x = n·ln2 + r with
/// |r| ≤ ln2/2 and n integral, ln2 split so that n·ln2_hi is exact. Returns (r, 2^n).
///
/// n is rounded by adding and subtracting [`ROUNDING_MAGIC`] rather than by `round_ties_even`
/// and a float-to-int conversion: the same n, but in wasm the saturating `i32x4.trunc_sat`
/// becomes a sequence of about eight x86 instructions in every lane group, and the magic sum
/// already holds n in its bits, so 2^n is one shift and one add away.
#[inline(always)]
fn reduce_ln2<L: Lanes, const FUSED: bool>(x: L, k: &Consts<L>) -> (L, L) {
    let shifted = k.magic.mul_add::<FUSED>(x, k.log2_e);
    let n = shifted.sub(k.magic);
    (x.sub(n.mul(k.ln2_hi)).sub(n.mul(k.ln2_lo)), shifted.pow2_of_rounded(k.one))
}

/// e^r − 1 on |r| ≤ ln2/2: the Taylor polynomial of degree 7 (remainder below 7e-9 relative),
/// as r + r²·s(r), so that r, exact, carries most of the value and the rounding of s matters
/// only in proportion to r²·s/r ≤ 0.2.
///
/// s is evaluated in Estrin's scheme (pairs of terms, then r², then r⁴) rather than Horner's:
/// the same terms, but three dependent multiply-adds after r instead of six. In a loop over
/// L1-resident data the chain of dependent operations, not their count, sets the time: in wasm,
/// tanh over 6×28×28 floats took 13.3 µs with Estrin (on the earlier r·q(r) form, whose chain
/// is as long as this one's) instead of 16.4 with Horner (the same run, best of 5).
#[inline(always)]
fn expm1_reduced<L: Lanes, const FUSED: bool>(r: L, k: &Consts<L>) -> L {
    let c = &k.taylor;
    let r2 = r.mul(r);
    let s01 = c[0].mul_add::<FUSED>(r, c[1]);
    let s23 = c[2].mul_add::<FUSED>(r, c[3]);
    let s45 = c[4].mul_add::<FUSED>(r, c[5]);
    let s = s01.mul_add::<FUSED>(r2, s23).mul_add::<FUSED>(r2.mul(r2), s45);
    r.mul_add::<FUSED>(r2, s)
}

/// e^x on the clamped range (see [`EXP_RANGE`]), within 1 ulp. A NaN gives that NaN.
#[inline(always)]
pub fn exp_lanes<L: Lanes, const FUSED: bool>(x: L, k: &Consts<L>) -> L {
    let (r, scale) = reduce_ln2::<L, FUSED>(x.at_least(k.exp_range.0).at_most(k.exp_range.1), k);
    k.one.add(expm1_reduced::<L, FUSED>(r, k)).mul(scale).or_nan_of(x)
}

/// e^x (to within 1 ulp on the clamped range; see [`EXP_RANGE`]).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    exp_lanes::<f32, false>(x, &Consts::scalar())
}

/// tanh(x) within 3 ulp (NaN passes through, −0 stays −0): x·P(x²)/Q(x²) on |x| ≤ 9.1,
/// ±1 beyond.
///
/// A rational function rather than (e^2x − 1)/(e^2x + 1): no range reduction, no exponent
/// assembly, no sign handling (the function is odd by construction), so about 18 operations
/// per lane group instead of 28. Tanh over 6×28² floats in Chromium: 3.2 µs per sample instead
/// of 5.9 (kernel bench, the same run), a tenth of LeNet-5's inference. The price is accuracy:
/// 2.9 ulp instead of 1.5, from rounding in the two polynomials (the fit itself is within
/// 1e-8). PyTorch's vectorised tanh is within 1 ulp; the difference is far below what training
/// notices (the goldens against PyTorch pass at their tolerances).
///
/// The coefficients are a least-squares fit of the relative error (iteratively reweighted
/// towards the worst points) made for this code: degree 13 over degree 6, odd over even, the
/// numerator's x coefficient and the denominator's constant fixed at 1 (so tanh(x) = x to the
/// last bit for tiny x). Over 8.5…9.1 the fit's target rises smoothly to 3e-7 above tanh, so the
/// quotient reaches 1 before the range's end and the clamp to ±1 joins it without a step
/// (true tanh is within an ulp of 1 there).
#[inline(always)]
pub fn tanh_lanes<L: Lanes, const FUSED: bool>(x: L, k: &Consts<L>) -> L {
    let c = x.at_least(k.tanh_range.0).at_most(k.tanh_range.1);
    let x2 = c.mul(c);
    let (n, d) = (&k.tanh_numerator, &k.tanh_denominator);
    // Horner's scheme: the two polynomials already run side by side, so Estrin's shorter chain
    // buys little here.
    let num = n[4].mul_add::<FUSED>(x2, n[5]);
    let num = n[3].mul_add::<FUSED>(x2, num);
    let num = n[2].mul_add::<FUSED>(x2, num);
    let num = n[1].mul_add::<FUSED>(x2, num);
    let num = n[0].mul_add::<FUSED>(x2, num);
    let num = k.one.mul_add::<FUSED>(x2, num);
    let den = d[1].mul_add::<FUSED>(x2, d[2]);
    let den = d[0].mul_add::<FUSED>(x2, den);
    let den = k.one.mul_add::<FUSED>(x2, den);
    // Rounding can take the quotient an ulp or two past 1 near the range's end.
    c.mul(num).div(den).at_most(k.one).at_least(k.minus_one).or_nan_of(x)
}

/// tanh(x) (within 3.5 ulp).
#[inline(always)]
pub fn tanh(x: f32) -> f32 {
    tanh_lanes::<f32, false>(x, &Consts::scalar())
}

/// 1 / (1 + e^−x) (within 1.5 ulp; at most e^80 in the denominator, so the result never
/// becomes subnormal).
#[inline(always)]
pub fn sigmoid_lanes<L: Lanes, const FUSED: bool>(x: L, k: &Consts<L>) -> L {
    let e = exp_lanes::<L, FUSED>(x.neg().at_most(k.sigmoid_clamp), k);
    k.one.div(k.one.add(e)).or_nan_of(x)
}

/// 1 / (1 + e^−x) (within 1.5 ulp).
#[inline(always)]
pub fn sigmoid(x: f32) -> f32 {
    sigmoid_lanes::<f32, false>(x, &Consts::scalar())
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

    /// The fused-multiply-add forms (the wasm SIMD kernels' rounding) are as accurate.
    #[test]
    fn fused_forms_are_as_accurate() {
        let k = Consts::scalar();
        let exp_fused = |x| exp_lanes::<f32, true>(x, &k);
        let (err, at) = worst_ulps(exp_fused, f64::exp, -87.0, 88.0, 400_000);
        assert!(err < 1.0, "fused exp: {err:.2} ulp at {at}");
        for (lo, hi) in TANH_INTERVALS {
            let (err, at) = worst_ulps(|x| tanh_lanes::<f32, true>(x, &k), f64::tanh, lo, hi, 200_000);
            assert!(err < 3.0, "fused tanh on [{lo}, {hi}]: {err:.2} ulp at {at}");
        }
        let (err, at) = worst_ulps(|x| sigmoid_lanes::<f32, true>(x, &k), |x: f64| 1.0 / (1.0 + (-x).exp()), -80.0, 40.0, 300_000);
        assert!(err < 1.5, "fused sigmoid: {err:.2} ulp at {at}");
        // Fused and separate differ somewhere (else the fused form is not what runs).
        let differ = (0..10_000).map(|i| i as f32 * 1e-3 - 5.0).filter(|&x| tanh_lanes::<f32, true>(x, &k) != tanh(x)).count();
        assert!(differ > 0);
        assert!(tanh_lanes::<f32, true>(f32::NAN, &k).is_nan() && sigmoid_lanes::<f32, true>(f32::NAN, &k).is_nan());
        assert_eq!(tanh_lanes::<f32, true>(-0.0, &k).to_bits(), (-0.0f32).to_bits());
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

    /// Where tanh's accuracy is checked: the whole range, the middle, where its polynomials'
    /// rounding is worst (5 to 8), the range's end, and near 0.
    const TANH_INTERVALS: [(f32, f32); 7] = [(-20.0, 20.0), (-10.0, 10.0), (0.3, 2.0), (5.0, 8.0), (8.4, 9.5), (-1e-3, 1e-3), (-1e-6, 1e-6)];

    #[test]
    fn tanh_is_within_3_ulp() {
        for (lo, hi) in TANH_INTERVALS {
            let (err, at) = worst_ulps(tanh, f64::tanh, lo, hi, 200_000);
            assert!(err < 3.0, "tanh on [{lo}, {hi}]: {err:.2} ulp at {at}");
        }
        // Never past ±1, although the quotient can round past it near the range's end.
        let k = Consts::scalar();
        for i in 0..=200_000 {
            let x = 7.0 + 3.0 * i as f32 / 200_000.0;
            assert!(tanh(x) <= 1.0 && tanh_lanes::<f32, true>(x, &k) <= 1.0 && tanh(-x) >= -1.0, "tanh({x}) = {}", tanh(x));
        }
        assert_eq!((tanh(9.5), tanh(-100.0)), (1.0, -1.0));
        assert_eq!(tanh(1e-20), 1e-20);
        assert_eq!(tanh(0.0), 0.0);
        assert_eq!(tanh(-0.0).to_bits(), (-0.0f32).to_bits());
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
