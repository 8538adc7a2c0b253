//! Kernel micro-benchmark, host-agnostic (the host supplies the clock): the GEMMs, im2col and
//! col2im that the reference net's layers run per sample, timed one by one. Used by
//! `cargo bench --bench kernels` natively and by the wasm kernel runner in headless Chromium
//! (`make bench-kernels`), so kernel work can be measured where it matters without a full build.

use super::kernels::gemm::{gemm_ld_with, gemm_ref_with, Madd, Separate, Trans, Write};
use super::kernels::im2col::{col2im, im2col, Axis, ConvGeom};
use std::hint::black_box;

/// One timed kernel.
#[derive(Clone, Debug)]
pub struct KernelTime {
    /// What was timed, with its shape.
    pub name: String,
    /// Microseconds per call.
    pub us: f64,
    /// GFLOPS (0 for data movement).
    pub gflops: f64,
    /// GFLOPS of the scalar reference on the same shape (GEMMs only).
    pub reference_gflops: f64,
}

/// Times `f` over at least `min_ms` after three warm-up calls, in batches of about 5 ms;
/// returns µs per call of the fastest batch. The machine is shared and noisy: interference
/// only ever adds time, so the best batch is the steadiest estimate of the kernel's own speed.
/// `f` is called through a pointer, never inlined: V8 moves a wasm function to its optimising
/// tier between calls only (there is no on-stack replacement), so a loop inlined into this
/// one long call would be timed in the baseline tier.
fn time(clock: &impl Fn() -> f64, min_ms: f64, mut f: impl FnMut()) -> f64 {
    let f: &mut dyn FnMut() = black_box(&mut f);
    for _ in 0..3 {
        f();
    }
    let start = clock();
    f();
    let per_batch = ((5.0 / (clock() - start).max(1e-3)) as u32).max(1);
    let (origin, mut best) = (clock(), f64::INFINITY);
    while clock() - origin < min_ms || best.is_infinite() {
        let t0 = clock();
        for _ in 0..per_batch {
            f();
        }
        best = best.min((clock() - t0) * 1000.0 / per_batch as f64);
    }
    best
}

/// `(name, trans, m, n, k)` of the reference net's GEMMs per sample.
const GEMMS: [(&str, Trans, usize, usize, usize); 7] = [
    ("conv1 forward  W·cols", Trans::NN, 8, 784, 25),
    ("conv1 dWᵀ  cols·dYᵀ", Trans::NN, 25, 8, 784),
    ("conv2 forward  W·cols", Trans::NN, 16, 196, 200),
    ("conv2 dWᵀ  cols·dYᵀ", Trans::NN, 200, 16, 196),
    ("conv2 dcols  Wᵀ·dY", Trans::TN, 200, 196, 16),
    ("conv2 dX  flipped W·cols(dY)", Trans::NN, 8, 196, 400),
    ("square 128", Trans::NN, 128, 128, 128),
];

/// The GEMM cases with multiply-add kind `M`, named with `tag`.
fn gemms<M: Madd>(clock: &impl Fn() -> f64, min_ms: f64, tag: &str, out: &mut Vec<KernelTime>) {
    for (name, t, m, n, k) in GEMMS {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let mut c = vec![0.0f32; m * n];
        let (lda, ldb) = (if t == Trans::TN { m } else { k }, if t == Trans::NT { k } else { n });
        let flops = 2.0 * (m * n * k) as f64;
        let us = time(clock, min_ms, || {
            gemm_ld_with::<M>(t, m, n, k, (black_box(&a), lda), (black_box(&b), ldb), (black_box(&mut c), n), Write::Add)
        });
        let ref_us = time(clock, min_ms / 4.0, || gemm_ref_with::<M>(t, m, n, k, black_box(&a), black_box(&b), black_box(&mut c)));
        out.push(KernelTime { name: format!("{name} {m}×{n}×{k} {tag}"), us, gflops: flops / us / 1e3, reference_gflops: flops / ref_us / 1e3 });
    }
    use super::kernels::packed::{gemm_panels_with, pack_a, pack_panels, packed_a_len, panels_len, Start};
    for (m, n, k) in [(8, 784, 25), (16, 196, 200), (8, 196, 400)] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let (mut pa, mut pb) = (vec![0.0; packed_a_len(m, k)], vec![0.0; panels_len(k, n)]);
        pack_a(m, k, &a, k, &mut pa);
        pack_panels(k, n, &b, &mut pb);
        let mut c = vec![0.0f32; m * n];
        let us = time(clock, min_ms, || gemm_panels_with::<M>(m, n, k, black_box(&pa), black_box(&pb), black_box(&mut c), n, Start::Zero));
        let flops = 2.0 * (m * n * k) as f64;
        out.push(KernelTime { name: format!("PANELS {m}×{n}×{k} {tag}"), us, gflops: flops / us / 1e3, reference_gflops: 0.0 });
    }
    use super::kernels::packed::{channel_panels_len, gemm_dw_panels_with, pack_channels, DW_SLACK};
    for (k, oc, n) in [(25, 8, 784), (200, 16, 196)] {
        let cols: Vec<f32> = (0..k * n).map(|i| (i % 7) as f32 * 0.1).collect();
        let dy: Vec<f32> = (0..oc * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let (mut pc, mut pd) = (vec![0.0; panels_len(k, n) + DW_SLACK], vec![0.0; channel_panels_len(oc, n)]);
        pack_panels(k, n, &cols, &mut pc);
        let ldc = oc.div_ceil(8) * 8;
        let mut c = vec![0.0f32; k * ldc];
        let us = time(clock, min_ms, || pack_channels(oc, n, black_box(&dy), black_box(&mut pd)));
        out.push(KernelTime { name: format!("pack_channels {oc}×{n} {tag}"), us, gflops: 0.0, reference_gflops: 0.0 });
        let us = time(clock, min_ms, || gemm_dw_panels_with::<M>(k, oc, n, black_box(&pc), black_box(&pd), black_box(&mut c), ldc));
        let flops = 2.0 * (k * oc * n) as f64;
        out.push(KernelTime { name: format!("DW PANELS {k}×{oc}×{n} {tag}"), us, gflops: flops / us / 1e3, reference_gflops: 0.0 });
    }
}

/// Runs every kernel case `rounds` times for at least `min_ms` each and keeps each case's best
/// (rounds interleave the cases, so a slow spell of the machine touches them all alike);
/// `clock` returns milliseconds. GEMMs run with separate multiply and add and, in builds that
/// have it, fused.
pub fn run(clock: impl Fn() -> f64, min_ms: f64, rounds: usize) -> Vec<KernelTime> {
    let mut best = run_once(&clock, min_ms);
    for _ in 1..rounds {
        for (b, t) in best.iter_mut().zip(run_once(&clock, min_ms)) {
            if t.us < b.us {
                *b = t;
            }
        }
    }
    best
}

fn run_once(clock: &impl Fn() -> f64, min_ms: f64) -> Vec<KernelTime> {
    let mut out = Vec::new();
    conv_layers(clock, min_ms, &mut out);
    gemms::<Separate>(clock, min_ms, "mul+add", &mut out);
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    gemms::<super::kernels::gemm::Fused>(clock, min_ms, "fused", &mut out);
    for (c, hw) in [(1usize, 28usize), (8, 14), (16, 14)] {
        let axis = Axis::new(hw, 5, 1, 2, 2, 1).expect("fits");
        let g = ConvGeom { c, y: axis, x: axis };
        let x: Vec<f32> = (0..c * hw * hw).map(|i| i as f32).collect();
        let mut cols = vec![0.0f32; g.col_rows() * g.col_cols()];
        let mut dx = vec![0.0f32; x.len()];
        let shape = format!("{c}×{hw}×{hw} → {}×{}", g.col_rows(), g.col_cols());
        let us = time(clock, min_ms, || im2col(&g, black_box(&x), black_box(&mut cols)));
        out.push(KernelTime { name: format!("im2col 5×5 pad 2 {shape}"), us, gflops: 0.0, reference_gflops: 0.0 });
        let mut panels = vec![0.0f32; super::kernels::packed::panels_len(g.col_rows(), g.col_cols())];
        let us = time(clock, min_ms, || super::kernels::im2col::im2col_panels(&g, black_box(&x), black_box(&mut panels)));
        out.push(KernelTime { name: format!("im2col PANELS {shape}"), us, gflops: 0.0, reference_gflops: 0.0 });
        let us = time(clock, min_ms, || black_box(&mut cols).fill(1.0));
        out.push(KernelTime { name: format!("fill {shape}"), us, gflops: 0.0, reference_gflops: 0.0 });
        let us = time(clock, min_ms, || col2im(&g, black_box(&cols), black_box(&mut dx)));
        out.push(KernelTime { name: format!("col2im 5×5 pad 2 {shape}"), us, gflops: 0.0, reference_gflops: 0.0 });
    }
    out
}

/// Forward and backward of the reference net's two convolutions on a chunk of 16 samples, in
/// µs per sample (the layer as training runs it: columns kept, input gradient for the second).
fn conv_layers(clock: &impl Fn() -> f64, min_ms: f64, out: &mut Vec<KernelTime>) {
    use super::layers::{build_layer, Pass, Scratch};
    use super::shape::Shape;
    use super::spec::{Init, LayerSpec};
    use rand::SeedableRng;
    const N: usize = 16;
    let conv = |c: usize, hw: usize, oc: usize| {
        let spec: LayerSpec = serde_json::from_str(&format!(r#"{{"type":"conv2d","out_channels":{oc},"kernel_size":5,"padding":2}}"#)).expect("spec");
        let layer = build_layer(&spec, Shape::new(c, hw, hw), Init::Pytorch, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)).expect("layer");
        (layer, Shape::new(c, hw, hw))
    };
    for (name, (layer, input), dx) in [("conv1 layer", conv(1, 28, 8), false), ("conv2 layer", conv(8, 14, 16), true)] {
        let out_len = layer.output_shape().len();
        let x: Vec<f32> = (0..N * input.len()).map(|i| (i % 11) as f32 * 0.1).collect();
        let dy: Vec<f32> = (0..N * out_len).map(|i| (i % 13) as f32 * 0.01 - 0.06).collect();
        let (mut y, mut dxs, mut grads) = (vec![0.0; N * out_len], vec![0.0; N * input.len()], vec![0.0; layer.params().len()]);
        let mut scratch = Scratch::default();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let fwd = time(clock, min_ms, || layer.forward(black_box(&x), &mut y, N, &mut scratch, &mut Pass { train: true, backward: true, rng: &mut rng }));
        let bwd = time(clock, min_ms, || layer.backward(&x, &y, black_box(&dy), dx.then_some(&mut dxs[..]), &mut grads, N, &mut scratch));
        let infer = time(clock, min_ms, || layer.forward(black_box(&x), &mut y, N, &mut scratch, &mut Pass { train: false, backward: false, rng: &mut rng }));
        for (what, us) in [("forward", fwd), ("backward", bwd), ("inference forward", infer)] {
            out.push(KernelTime { name: format!("{name} {what} (per sample)"), us: us / N as f64, gflops: 0.0, reference_gflops: 0.0 });
        }
    }
}

/// The results as a text table.
pub fn table(times: &[KernelTime]) -> String {
    let mut s = format!("{:<44} {:>9} {:>9} {:>9}\n", "kernel", "µs", "GFLOPS", "ref GF");
    for t in times {
        s += &format!("{:<44} {:>9.2} {:>9.2} {:>9.2}\n", t.name, t.us, t.gflops, t.reference_gflops);
    }
    s
}
