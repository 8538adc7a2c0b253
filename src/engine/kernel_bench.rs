//! Kernel micro-benchmark, host-agnostic (the host supplies the clock): the reference net's two
//! convolution layers whole, their implicit-GEMM kernels, the in-place GEMM (grouped layers,
//! Linear) on the same shapes, and im2col / col2im. Used by `cargo bench --bench kernels`
//! natively and by the wasm kernel runner in headless Chromium (`make bench-kernels`), so kernel
//! work can be measured where it matters without a full build. Where the build has relaxed
//! SIMD, every kernel runs with separate and with fused multiply-add, side by side.

use super::kernels::gemm::{gemm_ld_with, gemm_ref_with, Madd, Separate, Trans, Write};
use super::kernels::im2col::{col2im, im2col, Axis, ConvGeom};
use super::kernels::implicit::{conv_forward_with, conv_weight_grad_with, PlaneLayout};
use super::kernels::packed::{channel_panels_len, pack_a, pack_channels, pack_channels_ref, packed_a_len, Start, NR};
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
    /// GFLOPS of the scalar reference on the same shape (in-place GEMMs only).
    pub reference_gflops: f64,
}

impl KernelTime {
    fn new(name: String, us: f64, flops: f64) -> Self {
        Self { name, us, gflops: flops / us / 1e3, reference_gflops: 0.0 }
    }
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

/// The reference net's convolutions (and the second one's input gradient as a convolution of dY),
/// and LeNet-5's second (no padding: 10×10 outputs):
/// (name, input channels, size, output channels, padding).
const CONVS: [(&str, usize, usize, usize, usize); 4] =
    [("conv1 1→8 28²", 1, 28, 8, 2), ("conv2 8→16 14²", 8, 14, 16, 2), ("conv2 dX 16→8 14²", 16, 14, 8, 2), ("LeNet-5 conv2 6→16 14² valid", 6, 14, 16, 0)];

/// The 5×5 stride-1 geometry of one of [`CONVS`].
fn geometry(c: usize, hw: usize, pad: usize) -> ConvGeom {
    let axis = Axis::new(hw, 5, 1, pad, pad, 1).expect("fits");
    ConvGeom { c, y: axis, x: axis }
}

fn values(len: usize, modulo: usize) -> Vec<f32> {
    (0..len).map(|i| (i % modulo) as f32 * 0.1 - 0.2).collect()
}

/// The kernels with multiply-add kind `M`, named with `tag`.
fn kernels<M: Madd>(clock: &impl Fn() -> f64, min_ms: f64, tag: &str, out: &mut Vec<KernelTime>) {
    for (name, c, hw, oc, pad) in CONVS {
        let g = geometry(c, hw, pad);
        let (k, pixels) = (g.col_rows(), g.col_cols());
        let layout = PlaneLayout::new(&g);
        let mut plane = vec![0.0; layout.len(c)];
        layout.pad(&g, &values(c * hw * hw, 11), &mut plane);
        let mut packed = vec![0.0; packed_a_len(oc, k)];
        pack_a(oc, k, &values(oc * k, 7), k, &mut packed);
        let mut y = vec![0.0; oc * pixels];
        let flops = 2.0 * (oc * pixels * k) as f64;
        let us = time(clock, min_ms, || conv_forward_with::<M>(&g, &layout, oc, black_box(&packed), black_box(&plane), &mut y, Start::Zero));
        out.push(KernelTime::new(format!("{name} implicit forward {oc}×{pixels}×{k} {tag}"), us, flops));
        let mut dy = vec![0.0; channel_panels_len(oc, pixels)];
        pack_channels(oc, pixels, &values(oc * pixels, 5), &mut dy);
        let mut dw = vec![0.0; k * oc.div_ceil(NR) * NR];
        let us = time(clock, min_ms, || conv_weight_grad_with::<M>(&g, &layout, oc, black_box(&plane), black_box(&dy), &mut dw, oc.div_ceil(NR) * NR));
        out.push(KernelTime::new(format!("{name} implicit dWᵀ {k}×{oc}×{pixels} {tag}"), us, flops));
    }
    // The in-place GEMM (grouped convolutions, Linear) on conv2's shapes.
    for (name, t, m, n, k) in [("in-place GEMM W·cols", Trans::NN, 16, 196, 200), ("in-place GEMM cols·dYᵀ", Trans::NN, 200, 16, 196), ("in-place GEMM Wᵀ·dY", Trans::TN, 200, 196, 16)] {
        let (a, b, mut c) = (values(m * k, 7), values(k * n, 5), vec![0.0f32; m * n]);
        let (lda, ldb) = (if t == Trans::TN { m } else { k }, n);
        let flops = 2.0 * (m * n * k) as f64;
        let us = time(clock, min_ms, || gemm_ld_with::<M>(t, m, n, k, (black_box(&a), lda), (black_box(&b), ldb), (&mut c, n), Write::Add));
        let ref_us = time(clock, min_ms / 4.0, || gemm_ref_with::<M>(t, m, n, k, black_box(&a), black_box(&b), &mut c));
        out.push(KernelTime { reference_gflops: flops / ref_us / 1e3, ..KernelTime::new(format!("{name} {m}×{n}×{k} {tag}"), us, flops) });
    }
}

/// Forward and backward of the reference net's two convolution layers on a chunk of 16
/// samples, µs per sample, as training runs them (planes kept; the second computes dX), and
/// the forward as inference runs it.
fn conv_layers(clock: &impl Fn() -> f64, min_ms: f64, out: &mut Vec<KernelTime>) {
    use super::layers::{build_layer, Pass, Scratch};
    use super::shape::Shape;
    use super::spec::{Init, LayerSpec};
    use rand::SeedableRng;
    const N: usize = 16;
    for (name, c, hw, oc, dx) in [("conv1 layer", 1, 28, 8, false), ("conv2 layer", 8, 14, 16, true)] {
        let spec: LayerSpec = serde_json::from_str(&format!(r#"{{"type":"conv2d","out_channels":{oc},"kernel_size":5,"padding":2}}"#)).expect("spec");
        let input = Shape::new(c, hw, hw);
        let layer = build_layer(&spec, input, Init::Pytorch, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)).expect("layer");
        let out_len = layer.output_shape().len();
        let (x, dy) = (values(N * input.len(), 11), values(N * out_len, 13));
        let (mut y, mut dxs, mut grads) = (vec![0.0; N * out_len], vec![0.0; N * input.len()], vec![0.0; layer.params().len()]);
        let (mut scratch, mut rng) = (Scratch::default(), rand_chacha::ChaCha8Rng::seed_from_u64(0));
        let fwd = time(clock, min_ms, || layer.forward(black_box(&x), &mut y, N, &mut scratch, &mut Pass { train: true, backward: true, rng: &mut rng }));
        let bwd = time(clock, min_ms, || layer.backward(&x, &y, black_box(&dy), dx.then_some(&mut dxs[..]), &mut grads, N, &mut scratch));
        let infer = time(clock, min_ms, || layer.forward(black_box(&x), &mut y, N, &mut scratch, &mut Pass { train: false, backward: false, rng: &mut rng }));
        for (what, us) in [("training forward", fwd), ("backward", bwd), ("inference forward", infer)] {
            out.push(KernelTime::new(format!("{name} {what} (µs per sample)"), us / N as f64, 0.0));
        }
    }
}

/// im2col and col2im (the grouped path) on the reference net's convolutions.
fn columns(clock: &impl Fn() -> f64, min_ms: f64, out: &mut Vec<KernelTime>) {
    for (name, c, hw, _, pad) in &CONVS[..2] {
        let g = geometry(*c, *hw, *pad);
        let x = values(c * hw * hw, 11);
        let (mut cols, mut dx) = (vec![0.0f32; g.col_rows() * g.col_cols()], vec![0.0f32; x.len()]);
        let us = time(clock, min_ms, || im2col(&g, black_box(&x), &mut cols));
        out.push(KernelTime::new(format!("{name} im2col → {}×{}", g.col_rows(), g.col_cols()), us, 0.0));
        let us = time(clock, min_ms, || col2im(&g, black_box(&cols), &mut dx));
        out.push(KernelTime::new(format!("{name} col2im ← {}×{}", g.col_rows(), g.col_cols()), us, 0.0));
    }
}

/// Runs every case `rounds` times for at least `min_ms` each and keeps each case's best (rounds
/// interleave the cases, so a slow spell of the machine touches them all alike); `clock`
/// returns milliseconds.
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
    kernels::<Separate>(clock, min_ms, "mul+add", &mut out);
    #[cfg(all(target_arch = "wasm32", target_feature = "relaxed-simd"))]
    kernels::<super::kernels::gemm::Fused>(clock, min_ms, "fused", &mut out);
    columns(clock, min_ms, &mut out);
    reshuffles(clock, min_ms, &mut out);
    activations(clock, min_ms, &mut out);
    out
}

/// The exponential activations over LeNet-5's first convolution output (6×28² per sample): the
/// SIMD kernels and their scalar references, µs per sample.
fn activations(clock: &impl Fn() -> f64, min_ms: f64, out: &mut Vec<KernelTime>) {
    use super::kernels::activation::{sigmoid, sigmoid_ref, tanh, tanh_ref};
    const N: usize = 16;
    let len = 6 * 28 * 28;
    let (x, mut y) = (values(N * len, 37), vec![0.0; N * len]);
    type Kernel = fn(&[f32], &mut [f32]);
    // The scalar formula in a plain loop, as the layer ran it before the kernels (vectorised by
    // LLVM, constants inside the loop, no fused multiply-adds).
    let plain: Kernel = |x, y| y.iter_mut().zip(x).for_each(|(o, &v)| *o = super::kernels::math::tanh(v));
    for (name, f) in [("tanh", tanh as Kernel), ("tanh (plain loop)", plain), ("tanh (scalar)", tanh_ref), ("sigmoid", sigmoid), ("sigmoid (scalar)", sigmoid_ref)] {
        let us = time(clock, min_ms, || f(black_box(&x), &mut y));
        out.push(KernelTime::new(format!("{name} 6×28² (µs per sample)"), us / N as f64, 0.0));
    }
}

/// The data movement around the reference net's convolutions: dY into channel panels (each
/// conv's backward, per sample) and the 2×2 max pool after each conv (per sample).
fn reshuffles(clock: &impl Fn() -> f64, min_ms: f64, out: &mut Vec<KernelTime>) {
    use super::kernels::pool::{max_2x2, max_2x2_ref};
    for (name, oc, hw) in [("conv1", 8, 28), ("conv2", 16, 14)] {
        let pixels = hw * hw;
        let (dy, mut panels) = (values(oc * pixels, 13), vec![0.0; channel_panels_len(oc, pixels)]);
        for (kind, pack) in [("", pack_channels as fn(usize, usize, &[f32], &mut [f32])), (" (scalar)", pack_channels_ref)] {
            let us = time(clock, min_ms, || pack(oc, pixels, black_box(&dy), &mut panels));
            out.push(KernelTime::new(format!("{name} dY {oc}×{pixels} → channel panels{kind}"), us, 0.0));
        }
        let (mut y, mut at) = (vec![0.0; oc * pixels / 4], vec![0u32; oc * pixels / 4]);
        for (kind, pool) in [("", max_2x2 as fn(&[f32], &mut [f32], &mut [u32], usize, usize, usize, usize, usize)), (" (scalar)", max_2x2_ref)] {
            let us = time(clock, min_ms, || pool(black_box(&dy), &mut y, &mut at, oc, hw, hw, hw / 2, hw / 2));
            out.push(KernelTime::new(format!("max pool 2×2 after {name}, {oc}×{hw}²{kind}"), us, 0.0));
        }
    }
}

/// The results as a text table.
pub fn table(times: &[KernelTime]) -> String {
    let mut s = format!("{:<58} {:>9} {:>9} {:>9}\n", "kernel", "µs", "GFLOPS", "ref GF");
    for t in times {
        s += &format!("{:<58} {:>9.2} {:>9.2} {:>9.2}\n", t.name, t.us, t.gflops, t.reference_gflops);
    }
    s
}
