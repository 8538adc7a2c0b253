//! Numeric kernels, separate from the layers that use them. Scalar references are the truth.

pub mod activation;
pub mod gemm;
pub mod im2col;
pub mod implicit;
pub mod math;
pub mod packed;
pub mod pool;
pub mod reduce;
pub mod simd;

/// Grows `v` to at least `len` elements and returns the first `len` (buffers only grow, so a
/// steady-state training step allocates nothing).
pub fn take<T: Clone + Default>(v: &mut Vec<T>, len: usize) -> &mut [T] {
    if v.len() < len {
        v.resize(len, T::default());
    }
    &mut v[..len]
}
