//! tanh, sigmoid and SiLU over slices. The `*_ref` functions are the scalar truth (the formulas
//! of [`math`] on one value at a time); [`tanh`], [`sigmoid`] and [`silu`] run the same formulas
//! four lanes at a time with wasm SIMD128 and give the same bits.
//!
//! The scalar loops do vectorise, but V8 re-materialises every `v128.const` inside the loop;
//! these kernels build the constants once ([`math::Consts`]) and, with relaxed SIMD, fuse the
//! multiply-adds. Kernel bench in Chromium, tanh over 6×28² floats: 11.5 µs per sample as the
//! vectorised scalar loop, 6.5 with the constants built once, 5.2 fused as well.

use super::math::{self, Consts, Lanes};

/// Whether this build's formulas fuse their multiply-adds: wasm builds with relaxed SIMD (whose
/// madd Chromium lowers to FMA). Native and other builds round each product.
pub const FUSED: bool = cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"));

/// An elementwise function, written once for one value and for lanes.
trait Formula {
    /// f(x) with this build's rounding.
    fn at<L: Lanes>(x: L, k: &Consts<L>) -> L;
}

/// tanh.
struct Tanh;
impl Formula for Tanh {
    #[inline(always)]
    fn at<L: Lanes>(x: L, k: &Consts<L>) -> L {
        math::tanh_lanes::<L, FUSED>(x, k)
    }
}

/// The logistic sigmoid.
struct Sigmoid;
impl Formula for Sigmoid {
    #[inline(always)]
    fn at<L: Lanes>(x: L, k: &Consts<L>) -> L {
        math::sigmoid_lanes::<L, FUSED>(x, k)
    }
}

/// x·sigmoid(x).
struct Silu;
impl Formula for Silu {
    #[inline(always)]
    fn at<L: Lanes>(x: L, k: &Consts<L>) -> L {
        x.mul(math::sigmoid_lanes::<L, FUSED>(x, k))
    }
}

/// `y[i] = F(x[i])` one value at a time.
#[inline(always)]
fn map_ref<F: Formula>(x: &[f32], y: &mut [f32]) {
    let k = Consts::new(|v| v);
    for (o, &v) in y.iter_mut().zip(x) {
        *o = F::at(v, &k);
    }
}

/// `y[i] = F(x[i])`: whole lane groups with SIMD128 where the build has it, the rest scalar.
#[inline(always)]
fn map<F: Formula>(x: &[f32], y: &mut [f32]) {
    let len = x.len().min(y.len());
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    let done = wasm::map::<F>(&x[..len], &mut y[..len]);
    #[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
    let done = 0;
    map_ref::<F>(&x[done..len], &mut y[done..len]);
}

/// tanh of each value, the scalar reference.
pub fn tanh_ref(x: &[f32], y: &mut [f32]) {
    map_ref::<Tanh>(x, y);
}

/// tanh of each value ([`tanh_ref`]'s bits).
pub fn tanh(x: &[f32], y: &mut [f32]) {
    map::<Tanh>(x, y);
}

/// 1 / (1 + e^−x) of each value, the scalar reference.
pub fn sigmoid_ref(x: &[f32], y: &mut [f32]) {
    map_ref::<Sigmoid>(x, y);
}

/// 1 / (1 + e^−x) of each value ([`sigmoid_ref`]'s bits).
pub fn sigmoid(x: &[f32], y: &mut [f32]) {
    map::<Sigmoid>(x, y);
}

/// x·sigmoid(x) of each value, the scalar reference.
pub fn silu_ref(x: &[f32], y: &mut [f32]) {
    map_ref::<Silu>(x, y);
}

/// x·sigmoid(x) of each value ([`silu_ref`]'s bits).
pub fn silu(x: &[f32], y: &mut [f32]) {
    map::<Silu>(x, y);
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod wasm {
    use super::{Consts, Formula, Lanes};
    use core::arch::wasm32::*;

    /// Four f32 lanes, with the operations [`Lanes`] asks for.
    #[derive(Clone, Copy)]
    pub struct L4(v128);

    impl Lanes for L4 {
        #[inline(always)]
        fn splat(v: f32) -> Self {
            L4(f32x4_splat(v))
        }
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            L4(f32x4_add(self.0, o.0))
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            L4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            L4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            L4(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        fn mul_add<const FUSED: bool>(self, a: Self, b: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            if FUSED {
                return L4(f32x4_relaxed_madd(a.0, b.0, self.0));
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            assert!(!FUSED, "fused multiply-add needs relaxed SIMD");
            L4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        #[inline(always)]
        fn neg(self) -> Self {
            L4(f32x4_neg(self.0))
        }
        #[inline(always)]
        fn abs(self) -> Self {
            L4(f32x4_abs(self.0))
        }
        #[inline(always)]
        fn at_most(self, limit: Self) -> Self {
            L4(f32x4_pmin(self.0, limit.0))
        }
        #[inline(always)]
        fn at_least(self, limit: Self) -> Self {
            L4(f32x4_pmax(self.0, limit.0))
        }
        #[inline(always)]
        fn or_nan_of(self, x: Self) -> Self {
            L4(v128_bitselect(x.0, self.0, f32x4_ne(x.0, x.0)))
        }
        #[inline(always)]
        fn with_sign_of(self, of: Self) -> Self {
            // `of`'s sign bit is `of` xor |of|: no mask constant to materialise.
            L4(v128_or(f32x4_abs(self.0), v128_xor(of.0, f32x4_abs(of.0))))
        }
        #[inline(always)]
        fn pow2_of_rounded(self, one: Self) -> Self {
            L4(i32x4_add(i32x4_shl(self.0, 23), one.0))
        }
    }

    /// `y[i] = F(x[i])` over the whole lane groups (`y` at least as long as `x`); returns how
    /// many values it did.
    #[inline(always)]
    pub fn map<F: Formula>(x: &[f32], y: &mut [f32]) -> usize {
        // Splats the optimiser cannot see through, so they stay out of the loop (module doc).
        let k = Consts::new(|v| L4(core::hint::black_box(f32x4_splat(v))));
        for (o, v) in y.chunks_exact_mut(4).zip(x.chunks_exact(4)) {
            // SAFETY: chunks of exactly four floats; v128 loads and stores need no alignment.
            unsafe { v128_store(o.as_mut_ptr() as *mut v128, F::at(L4(v128_load(v.as_ptr() as *const v128)), &k).0) }
        }
        x.len() / 4 * 4
    }
}
