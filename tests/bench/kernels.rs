//! Native kernel benchmark for quick iteration: GFLOPS of the packed GEMM on the shapes the
//! reference net's convolutions produce (per chunk of 16 samples), beside the scalar reference.
//! Run with `cargo bench --bench kernels`. A plain timing loop instead of criterion: the figures
//! only guide kernel work (the product's benchmark is `make bench`), and it keeps the build lean.

use cnn_playground::engine::kernels::gemm::{gemm, gemm_ref, Trans};
use cnn_playground::engine::kernels::im2col::{col2im, im2col, Axis, ConvGeom};
use std::hint::black_box;
use std::time::Instant;

/// Times `f` for at least 300 ms after a warm-up; returns GFLOPS for `flops` per call.
fn gflops(flops: f64, mut f: impl FnMut()) -> f64 {
    for _ in 0..3 {
        f();
    }
    let start = Instant::now();
    let mut calls = 0u32;
    while start.elapsed().as_secs_f64() < 0.3 {
        f();
        calls += 1;
    }
    flops * calls as f64 / start.elapsed().as_secs_f64() / 1e9
}

fn main() {
    let shapes: &[(&str, Trans, usize, usize, usize)] = &[
        ("conv1 fwd   W·cols", Trans::NN, 8, 784, 25),
        ("conv1 dW  dY·colsᵀ", Trans::NT, 8, 25, 784),
        ("conv2 fwd   W·cols", Trans::NN, 16, 196, 200),
        ("conv2 dW  dY·colsᵀ", Trans::NT, 16, 200, 196),
        ("conv2 dX   Wᵀ·dY  ", Trans::TN, 200, 196, 16),
        ("conv1 dWᵀ cols·dYᵀ", Trans::NN, 25, 8, 784),
        ("conv2 dWᵀ cols·dYᵀ", Trans::NN, 200, 16, 196),
        ("conv1 fwd  16 smp ", Trans::NN, 8, 784 * 16, 25),
        ("conv1 dWᵀ  16 smp ", Trans::NN, 25, 8, 784 * 16),
        ("conv2 fwd  16 smp ", Trans::NN, 16, 196 * 16, 200),
        ("conv2 dWᵀ  16 smp ", Trans::NN, 200, 16, 196 * 16),
        ("conv2 dX   16 smp ", Trans::TN, 200, 196 * 16, 16),
        ("square 256        ", Trans::NN, 256, 256, 256),
    ];
    println!("{:<20} {:>6} {:>6} {:>6} {:>10} {:>10}", "shape", "m", "n", "k", "fast GF/s", "ref GF/s");
    for &(name, t, m, n, k) in shapes {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0.0f32; m * n];
        let flops = 2.0 * (m * n * k) as f64;
        let fast = gflops(flops, || gemm(t, m, n, k, black_box(&a), black_box(&b), black_box(&mut c)));
        let slow = gflops(flops, || gemm_ref(t, m, n, k, black_box(&a), black_box(&b), black_box(&mut c)));
        println!("{name:<20} {m:>6} {n:>6} {k:>6} {fast:>10.2} {slow:>10.2}");
    }
    println!();
    println!("{:<34} {:>12} {:>12}", "im2col / col2im (5×5, pad 2)", "im2col µs", "col2im µs");
    for (c, hw) in [(1usize, 28usize), (8, 14), (16, 7)] {
        let axis = Axis::new(hw, 5, 1, 2, 2, 1).expect("fits");
        let g = ConvGeom { c, y: axis, x: axis };
        let x: Vec<f32> = (0..c * hw * hw).map(|i| i as f32).collect();
        let mut cols = vec![0.0f32; g.col_rows() * g.col_cols()];
        let mut dx = vec![0.0f32; x.len()];
        // "GFLOPS" of one element per call, turned back into µs per call.
        let per_call = |rate: f64| 1e-3 / rate;
        let fwd = per_call(gflops(1.0, || im2col(&g, black_box(&x), black_box(&mut cols))));
        let bwd = per_call(gflops(1.0, || col2im(&g, black_box(&cols), black_box(&mut dx))));
        let floor = per_call(gflops(1.0, || black_box(&mut cols).fill(1.0)));
        println!("  (filling the column matrix alone: {floor:.2} µs)");
        println!("{:<34} {fwd:>12.2} {bwd:>12.2}", format!("{c}×{hw}×{hw} → {}×{}", g.col_rows(), g.col_cols()));
    }
}
