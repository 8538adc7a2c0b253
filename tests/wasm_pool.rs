//! Runs in headless Chromium (wasm-bindgen-test, inside a dedicated worker, as the engine does):
//! the rayon pool really has two threads that both run work, threaded training gives exactly
//! the same loss and weights as one-at-a-time training, and the browser build's SIMD GEMM (fused
//! multiply-add where the build has relaxed SIMD) equals its scalar reference bit for bit.
#![cfg(target_arch = "wasm32")]

use cnn_playground::engine::data::synthetic;
use cnn_playground::engine::spec::Spec;
use cnn_playground::engine::train::Trainer;
use std::sync::Arc;
use wasm_bindgen_futures::JsFuture;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

fn train(parallel: bool) -> (u64, Vec<u32>) {
    let data = Arc::new(synthetic::bars_split(256, 64));
    let mut spec = Spec::default();
    spec.training.batch_size = 64;
    let mut trainer = Trainer::new(spec, data).unwrap();
    trainer.parallel = parallel;
    let loss = trainer.train_steps(3).loss;
    let weights = trainer.network.layers.iter().flat_map(|l| l.params().iter().map(|v| v.to_bits())).collect();
    (loss.to_bits(), weights)
}

#[wasm_bindgen_test]
async fn pool_has_two_working_threads_and_training_matches_sequential() {
    JsFuture::from(wasm_bindgen_rayon::init_thread_pool(2)).await.expect("pool starts");
    assert_eq!(rayon::current_num_threads(), 2);
    // broadcast runs the closure once on every pool thread: both must answer.
    let mut ids = rayon::broadcast(|ctx| ctx.index());
    ids.sort();
    assert_eq!(ids, vec![0, 1]);
    // Work spread by par_iter lands on both threads.
    use rayon::prelude::*;
    let used: std::collections::BTreeSet<usize> = (0..64)
        .into_par_iter()
        .map(|i| {
            let mut x = i as f64;
            for _ in 0..200_000 {
                x = (x * 1.000001).sin() + 1.0;
            }
            std::hint::black_box(x);
            rayon::current_thread_index().unwrap()
        })
        .collect();
    assert_eq!(used.len(), 2, "threads that did work: {used:?}");

    let (loss_seq, w_seq) = train(false);
    let (loss_par, w_par) = train(true);
    assert_eq!(loss_seq, loss_par, "threaded loss differs from sequential");
    assert!(w_seq == w_par, "threaded weights differ from sequential");
    assert!(f64::from_bits(loss_seq).is_finite());
}

#[wasm_bindgen_test]
fn simd_gemm_matches_its_scalar_reference_in_the_browser() {
    use cnn_playground::engine::kernels::gemm::{gemm_ld, gemm_ref, Trans, Write};
    use cnn_playground::engine::kernels::simd::HAS_FUSED;
    // This build is the threaded one, which has relaxed SIMD: the fused kernel is under test.
    assert!(HAS_FUSED, "the threaded build should use fused multiply-add");
    let value = |i: usize| ((i * 7919 % 1000) as f32 - 500.0) / 317.0;
    for &(m, n, k) in &[(1, 1, 1), (5, 9, 3), (16, 196, 200), (200, 16, 196), (13, 17, 31), (32, 120, 400)] {
        for t in [Trans::NN, Trans::NT, Trans::TN] {
            let a: Vec<f32> = (0..m * k).map(value).collect();
            let b: Vec<f32> = (0..k * n).map(|i| value(i + 3)).collect();
            let (lda, ldb) = (if t == Trans::TN { m } else { k }, if t == Trans::NT { k } else { n });
            let mut fast = vec![0.25; m * n];
            let mut slow = fast.clone();
            gemm_ld(t, m, n, k, (&a, lda), (&b, ldb), (&mut fast, n), Write::Add);
            gemm_ref(t, m, n, k, &a, &b, &mut slow);
            let same = fast.iter().zip(&slow).all(|(x, y)| x.to_bits() == y.to_bits());
            assert!(same, "{t:?} {m}x{n}x{k}");
        }
    }
}

#[wasm_bindgen_test]
fn simd_kernels_match_their_scalar_references_in_the_browser() {
    use cnn_playground::engine::kernels::pool::{max_2x2, max_2x2_ref};
    use cnn_playground::engine::kernels::reduce::{sum, sum_ref};
    // Max pooling: ties (values on a coarse grid), NaNs, rows of 14 and 7 outputs (the vector
    // loop's last step moved back) and of 4, 5 and 3 (the scalar loop), odd input widths.
    for &(planes, ih, iw) in &[(3, 28, 28), (2, 14, 14), (2, 8, 8), (1, 10, 11), (2, 6, 7)] {
        let x: Vec<f32> = (0..planes * ih * iw)
            .map(|i| if i % 37 == 5 { f32::NAN } else { (i * 7919 % 13) as f32 - 6.0 })
            .collect();
        let (oh, ow) = (ih / 2, iw / 2);
        let run = |kernel: fn(&[f32], &mut [f32], &mut [u32], usize, usize, usize, usize, usize)| {
            let (mut y, mut at) = (vec![0.0f32; planes * oh * ow], vec![u32::MAX; planes * oh * ow]);
            kernel(&x, &mut y, &mut at, planes, iw, ih, oh, ow);
            (y.iter().map(|v| v.to_bits()).collect::<Vec<_>>(), at)
        };
        assert_eq!(run(max_2x2), run(max_2x2_ref), "max pool {planes}×{ih}×{iw}");
    }
    for len in [0, 5, 16, 49, 196, 784, 1001] {
        let xs: Vec<f32> = (0..len).map(|i| ((i * 7919 % 1000) as f32 - 500.0) / 317.0).collect();
        assert_eq!(sum(&xs).to_bits(), sum_ref(&xs).to_bits(), "sum of {len}");
    }
}

#[wasm_bindgen_test]
fn channel_panels_match_their_scalar_reference_in_the_browser() {
    use cnn_playground::engine::kernels::packed::{channel_panels_len, pack_channels, pack_channels_ref};
    // Whole panels (8, 16 channels), a part panel after whole ones (13, 20), fewer than a panel
    // (3), pixel counts with and without a tail of fewer than four.
    for &(oc, n) in &[(8, 784), (16, 196), (13, 49), (20, 7), (3, 10), (8, 3)] {
        let dy: Vec<f32> = (0..oc * n).map(|i| i as f32 + 0.5).collect();
        let (mut fast, mut slow) = (vec![f32::NAN; channel_panels_len(oc, n)], vec![f32::NAN; channel_panels_len(oc, n)]);
        pack_channels(oc, n, &dy, &mut fast);
        pack_channels_ref(oc, n, &dy, &mut slow);
        assert!(fast.iter().zip(&slow).all(|(a, b)| a.to_bits() == b.to_bits()), "{oc} channels × {n} pixels");
    }
}

#[wasm_bindgen_test]
fn activation_kernels_match_their_scalar_references_in_the_browser() {
    use cnn_playground::engine::kernels::activation::{sigmoid, sigmoid_ref, silu, silu_ref, tanh, tanh_ref};
    use cnn_playground::engine::kernels::simd::HAS_FUSED;
    // This build fuses its multiply-adds (relaxed SIMD), so the references do too.
    assert!(HAS_FUSED);
    // Ordinary values, the clamps' edges (|x| = 9.1 for tanh, −x = 80 and the exp range for
    // sigmoid), tiny values, signed zeros, infinities and NaN; lengths with tails of 1–3.
    let mut x: Vec<f32> = (0..2000).map(|i| (i as f32 - 1000.0) * 0.0173).collect();
    x.extend([9.1, -9.1, 9.09, 10.0, -10.0, 9.99, 80.0, -80.0, -80.01, 88.0, -87.0, 1e-7, -1e-7, 1e-30, 0.0, -0.0, f32::INFINITY, f32::NEG_INFINITY, f32::NAN, -f32::NAN]);
    type Kernel = fn(&[f32], &mut [f32]);
    for (name, fast, slow) in [("tanh", tanh as Kernel, tanh_ref as Kernel), ("sigmoid", sigmoid, sigmoid_ref), ("silu", silu, silu_ref)] {
        for len in [x.len(), x.len() - 1, x.len() - 2, x.len() - 3, 3, 0] {
            let (mut a, mut b) = (vec![0.5f32; len], vec![0.25f32; len]);
            fast(&x[..len], &mut a);
            slow(&x[..len], &mut b);
            for i in 0..len {
                let same = a[i].to_bits() == b[i].to_bits() || (a[i].is_nan() && b[i].is_nan());
                assert!(same, "{name}({}) = {} in SIMD, {} in the reference (length {len})", x[i], a[i], b[i]);
            }
        }
    }
}

/// NaN passes through every activation in the browser (PyTorch's behaviour; a diverging run stays
/// visible). In this build a clamp can run as x86 `minps`/`maxps` (relaxed SIMD; `f32x4_pmin(NaN,
/// 20)` gives 20 in Chromium), which drops NaNs: the SIMD tanh gave tanh(NaN) = 1 before it
/// restored them, and one probe saw ReLU6 give 6.
#[wasm_bindgen_test]
fn activations_keep_nan_in_the_browser() {
    use cnn_playground::engine::layers::{build_layer, Pass, Scratch};
    use cnn_playground::engine::shape::Shape;
    use cnn_playground::engine::spec::{Init, LayerSpec};
    use rand::SeedableRng;
    for kind in ["relu", "leaky_relu", "relu6", "hardswish", "elu", "silu", "sigmoid", "tanh", "mish", "gelu"] {
        let spec: LayerSpec = serde_json::from_str(&format!(r#"{{"type":"{kind}"}}"#)).expect("spec");
        // All NaN, and NaNs in every lane position and in the scalar tail between ordinary values.
        let mixed: Vec<f32> = (0..70).map(|i| if i % 3 == 0 { f32::NAN } else { i as f32 * 0.3 - 9.5 }).collect();
        for (shape, x) in [(Shape::new(1, 4, 4), vec![f32::NAN; 16]), (Shape::new(2, 7, 5), mixed)] {
            let layer = build_layer(&spec, shape, Init::Pytorch, &mut rand_chacha::ChaCha8Rng::seed_from_u64(1)).expect("layer");
            let mut y = vec![0.0; x.len()];
            let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
            layer.forward(&x, &mut y, 1, &mut Scratch::default(), &mut Pass { train: false, backward: false, rng: &mut rng });
            for (i, (xv, yv)) in x.iter().zip(&y).enumerate() {
                assert_eq!(xv.is_nan(), yv.is_nan(), "{kind}({xv}) = {yv} at {i} of {}", x.len());
            }
        }
    }
}
