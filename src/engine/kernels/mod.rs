//! Numeric kernels, separate from the layers that use them. Scalar references are the truth.

pub mod gemm;
pub mod im2col;
