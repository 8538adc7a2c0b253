//! A four-lane f32 vector over the target's SIMD: wasm SIMD128 in the browser builds, SSE on
//! x86-64, plain arrays elsewhere. `mul_add` multiplies and adds as two roundings, exactly like
//! scalar `a + b * c`; builds with relaxed SIMD also have `fused_mul_add` (one rounding, like
//! `f32::mul_add`), so each has a scalar twin that rounds the same way.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod imp {
    use core::arch::wasm32::*;

    /// Four f32 lanes.
    #[derive(Clone, Copy)]
    pub struct V4(v128);

    impl V4 {
        /// Loads four lanes from `p` (no alignment needed).
        ///
        /// # Safety
        /// `p..p+4` must be readable.
        #[inline(always)]
        pub unsafe fn load_at(p: *const f32) -> Self {
            V4(v128_load(p as *const v128))
        }
        /// Loads `*p` into all lanes (`v128.load32_splat`: one load, no shuffle).
        ///
        /// # Safety
        /// `p` must be readable.
        #[inline(always)]
        pub unsafe fn splat_at(p: *const f32) -> Self {
            V4(v128_load32_splat(p as *const u32))
        }
        /// Stores four lanes at `p`.
        ///
        /// # Safety
        /// `p..p+4` must be writable.
        #[inline(always)]
        pub unsafe fn store_at(self, p: *mut f32) {
            v128_store(p as *mut v128, self.0)
        }
        /// All lanes zero.
        #[inline(always)]
        pub fn zero() -> Self {
            V4(f32x4_splat(0.0))
        }
        /// All lanes `v`.
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            V4(f32x4_splat(v))
        }
        /// Loads `s[0..4]`.
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 4);
            // SAFETY: bounds checked above; v128_load has no alignment requirement.
            V4(unsafe { v128_load(s.as_ptr() as *const v128) })
        }
        /// Stores into `s[0..4]`.
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            assert!(s.len() >= 4);
            // SAFETY: bounds checked above; v128_store has no alignment requirement.
            unsafe { v128_store(s.as_mut_ptr() as *mut v128, self.0) }
        }
        /// `self + a·b` (multiply, then add).
        #[inline(always)]
        pub fn mul_add(self, a: V4, b: V4) -> Self {
            V4(f32x4_add(self.0, f32x4_mul(a.0, b.0)))
        }
        /// `self + a·b` rounded once (relaxed madd, which Chromium lowers to an FMA
        /// instruction); only in builds with relaxed SIMD.
        #[cfg(target_feature = "relaxed-simd")]
        #[inline(always)]
        pub fn fused_mul_add(self, a: V4, b: V4) -> Self {
            V4(f32x4_relaxed_madd(a.0, b.0, self.0))
        }
        /// Lane-wise sum.
        #[inline(always)]
        pub fn add(self, o: V4) -> Self {
            V4(f32x4_add(self.0, o.0))
        }
    }

    /// The operations of `math`'s formulas (tanh, sigmoid, exp) on four lanes, for the SIMD
    /// activation kernels.
    impl crate::engine::kernels::math::Lanes for V4 {
        #[inline(always)]
        fn add(self, o: Self) -> Self {
            V4::add(self, o)
        }
        #[inline(always)]
        fn sub(self, o: Self) -> Self {
            V4(f32x4_sub(self.0, o.0))
        }
        #[inline(always)]
        fn mul(self, o: Self) -> Self {
            V4(f32x4_mul(self.0, o.0))
        }
        #[inline(always)]
        fn div(self, o: Self) -> Self {
            V4(f32x4_div(self.0, o.0))
        }
        #[inline(always)]
        fn mul_add<const FUSED: bool>(self, a: Self, b: Self) -> Self {
            #[cfg(target_feature = "relaxed-simd")]
            if FUSED {
                return self.fused_mul_add(a, b);
            }
            #[cfg(not(target_feature = "relaxed-simd"))]
            assert!(!FUSED, "fused multiply-add needs relaxed SIMD");
            V4::mul_add(self, a, b)
        }
        #[inline(always)]
        fn neg(self) -> Self {
            V4(f32x4_neg(self.0))
        }
        #[inline(always)]
        fn at_most(self, limit: Self) -> Self {
            V4(f32x4_pmin(self.0, limit.0))
        }
        #[inline(always)]
        fn at_least(self, limit: Self) -> Self {
            V4(f32x4_pmax(self.0, limit.0))
        }
        #[inline(always)]
        fn or_nan_of(self, x: Self) -> Self {
            V4(v128_bitselect(x.0, self.0, f32x4_ne(x.0, x.0)))
        }
        #[inline(always)]
        fn pow2_of_rounded(self, one: Self) -> Self {
            V4(i32x4_add(i32x4_shl(self.0, 23), one.0))
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use core::arch::x86_64::*;

    /// Four f32 lanes.
    #[derive(Clone, Copy)]
    pub struct V4(__m128);

    impl V4 {
        /// Loads four lanes from `p` (no alignment needed).
        ///
        /// # Safety
        /// `p..p+4` must be readable.
        #[inline(always)]
        pub unsafe fn load_at(p: *const f32) -> Self {
            V4(_mm_loadu_ps(p))
        }
        /// Loads `*p` into all lanes.
        ///
        /// # Safety
        /// `p` must be readable.
        #[inline(always)]
        pub unsafe fn splat_at(p: *const f32) -> Self {
            V4(_mm_load1_ps(p))
        }
        /// Stores four lanes at `p`.
        ///
        /// # Safety
        /// `p..p+4` must be writable.
        #[inline(always)]
        pub unsafe fn store_at(self, p: *mut f32) {
            _mm_storeu_ps(p, self.0)
        }
        /// All lanes zero.
        #[inline(always)]
        pub fn zero() -> Self {
            // SAFETY: SSE is part of the x86-64 baseline.
            V4(unsafe { _mm_setzero_ps() })
        }
        /// All lanes `v`.
        #[inline(always)]
        pub fn splat(v: f32) -> Self {
            // SAFETY: SSE is part of the x86-64 baseline.
            V4(unsafe { _mm_set1_ps(v) })
        }
        /// Loads `s[0..4]`.
        #[inline(always)]
        pub fn load(s: &[f32]) -> Self {
            assert!(s.len() >= 4);
            // SAFETY: bounds checked above; unaligned load.
            V4(unsafe { _mm_loadu_ps(s.as_ptr()) })
        }
        /// Stores into `s[0..4]`.
        #[inline(always)]
        pub fn store(self, s: &mut [f32]) {
            assert!(s.len() >= 4);
            // SAFETY: bounds checked above; unaligned store.
            unsafe { _mm_storeu_ps(s.as_mut_ptr(), self.0) }
        }
        /// `self + a·b` (multiply, then add).
        #[inline(always)]
        pub fn mul_add(self, a: V4, b: V4) -> Self {
            // SAFETY: SSE is part of the x86-64 baseline.
            V4(unsafe { _mm_add_ps(self.0, _mm_mul_ps(a.0, b.0)) })
        }
        /// Lane-wise sum.
        #[inline(always)]
        pub fn add(self, o: V4) -> Self {
            // SAFETY: SSE is part of the x86-64 baseline.
            V4(unsafe { _mm_add_ps(self.0, o.0) })
        }
    }
}

#[cfg(not(any(all(target_arch = "wasm32", target_feature = "simd128"), target_arch = "x86_64")))]
mod imp {
    /// Four f32 lanes (portable fallback).
    #[derive(Clone, Copy)]
    pub struct V4([f32; 4]);

    impl V4 {
        /// Loads four lanes from `p`.
        ///
        /// # Safety
        /// `p..p+4` must be readable.
        pub unsafe fn load_at(p: *const f32) -> Self {
            V4([*p, *p.add(1), *p.add(2), *p.add(3)])
        }
        /// Loads `*p` into all lanes.
        ///
        /// # Safety
        /// `p` must be readable.
        pub unsafe fn splat_at(p: *const f32) -> Self {
            V4([*p; 4])
        }
        /// Stores four lanes at `p`.
        ///
        /// # Safety
        /// `p..p+4` must be writable.
        pub unsafe fn store_at(self, p: *mut f32) {
            for (i, v) in self.0.into_iter().enumerate() {
                *p.add(i) = v;
            }
        }
        /// All lanes zero.
        pub fn zero() -> Self {
            V4([0.0; 4])
        }
        /// All lanes `v`.
        pub fn splat(v: f32) -> Self {
            V4([v; 4])
        }
        /// Loads `s[0..4]`.
        pub fn load(s: &[f32]) -> Self {
            V4([s[0], s[1], s[2], s[3]])
        }
        /// Stores into `s[0..4]`.
        pub fn store(self, s: &mut [f32]) {
            s[..4].copy_from_slice(&self.0);
        }
        /// `self + a·b` (multiply, then add).
        pub fn mul_add(self, a: V4, b: V4) -> Self {
            V4(std::array::from_fn(|i| self.0[i] + a.0[i] * b.0[i]))
        }
        /// Lane-wise sum.
        pub fn add(self, o: V4) -> Self {
            V4(std::array::from_fn(|i| self.0[i] + o.0[i]))
        }
    }
}

pub use imp::V4;

/// True when this build has the fused multiply-add ([`V4::fused_mul_add`]).
pub const HAS_FUSED: bool = cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd"));
