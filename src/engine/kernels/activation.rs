//! tanh, sigmoid and SiLU over slices. The `*_ref` functions are the scalar truth (the formulas
//! of [`math`] on one value at a time); [`tanh`], [`sigmoid`] and [`silu`] run the same formulas
//! four lanes at a time with wasm SIMD128 and give the same bits.
//!
//! The scalar loops do vectorise, but V8 re-materialises every `v128.const` inside the loop;
//! these kernels build the constants once ([`math::Consts`]) and, with relaxed SIMD, fuse the
//! multiply-adds. Kernel bench in Chromium, tanh over 6×28² floats: 11.5 µs per sample as the
//! vectorised scalar loop, 6.5 with the constants built once, 5.2 fused as well.

use super::math::{self, Consts, Lanes};
// The formulas fuse their multiply-adds where the build has the fused multiply-add (wasm with
// relaxed SIMD, which Chromium lowers to FMA), like the GEMM; other builds round each product.
use super::simd::HAS_FUSED as FUSED;

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
    let k = Consts::scalar();
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
    use super::{Consts, Formula};
    use crate::engine::kernels::simd::V4;

    /// `y[i] = F(x[i])` over the whole lane groups (`y` at least as long as `x`); returns how
    /// many values it did.
    #[inline(always)]
    pub fn map<F: Formula>(x: &[f32], y: &mut [f32]) -> usize {
        // Splats the optimiser cannot see through, so they stay out of the loop (module doc).
        let k = Consts::new(|v| core::hint::black_box(V4::splat(v)));
        for (o, v) in y.chunks_exact_mut(4).zip(x.chunks_exact(4)) {
            F::at(V4::load(v), &k).store(o);
        }
        x.len() / 4 * 4
    }
}
