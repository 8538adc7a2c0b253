//! Throughput benchmark of training and inference, host-agnostic: the host supplies the clock.
//! Used by the native CLI (`cnn bench`) and by the browser bench page.

use super::data::synthetic;
use super::layers::Pass;
use super::loss::Loss;
use super::network::Network;
use super::profile::LayerTimer;
use super::spec::flat::Step;
use super::spec::{LayerSpec, Shortcut, Spec};
use super::train::{evaluate, Trainer};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Settings of one benchmark run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchConfig {
    /// Timed repetitions (min and median are reported).
    pub reps: usize,
    /// Minimum duration of one repetition, milliseconds.
    pub min_ms: f64,
    /// Untimed warm-up training steps.
    pub warmup_steps: usize,
}

impl Default for BenchConfig {
    fn default() -> Self {
        Self { reps: 3, min_ms: 2000.0, warmup_steps: 5 }
    }
}

/// Time per image of one layer, forward and backward (single thread, chunk of 16).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerTime {
    /// Layer name.
    pub name: String,
    /// Microseconds per image, forward.
    pub forward_us: f64,
    /// Microseconds per image, backward.
    pub backward_us: f64,
}

/// Benchmark results for one network.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct BenchReport {
    /// Preset or model name.
    pub name: String,
    /// Rayon threads used.
    pub threads: usize,
    /// Batch size.
    pub batch: usize,
    /// Training images/s of each repetition.
    pub train_img_s: Vec<f64>,
    /// Training images/s of each repetition on one thread (chunks one after another), for the
    /// scaling figure; empty when only one thread exists.
    #[serde(default)]
    pub train_img_s_one_thread: Vec<f64>,
    /// Inference images/s of each repetition.
    pub infer_img_s: Vec<f64>,
    /// Training FLOPs per image (conv/linear multiply-adds ×2: forward, dW, and dX but for layer 0).
    pub train_flops: f64,
    /// Forward FLOPs per image (conv/linear only).
    pub infer_flops: f64,
    /// Per-layer time.
    pub layers: Vec<LayerTime>,
    /// Memory in use after the run, bytes, when the host can tell (wasm linear memory size).
    pub memory_bytes: u64,
}

/// Minimum and median of a sample.
pub fn min_median(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(|a, b| a.total_cmp(b));
    (s.first().copied().unwrap_or(0.0), s.get(s.len() / 2).copied().unwrap_or(0.0))
}

impl BenchReport {
    /// Median training GFLOPS.
    pub fn train_gflops(&self) -> f64 {
        min_median(&self.train_img_s).1 * self.train_flops / 1e9
    }

    /// Training speed on all threads over that on one: the median of the ratios of adjacent
    /// repetitions (`None` without threads).
    pub fn scaling(&self) -> Option<f64> {
        let ratios: Vec<f64> = self.train_img_s.iter().zip(&self.train_img_s_one_thread).map(|(all, one)| all / one).collect();
        (!ratios.is_empty()).then(|| min_median(&ratios).1)
    }

    /// Median inference GFLOPS.
    pub fn infer_gflops(&self) -> f64 {
        min_median(&self.infer_img_s).1 * self.infer_flops / 1e9
    }
}

/// FLOPs per image as the peer harness counts them: (forward, training).
pub fn flop_counts(spec: &Spec) -> (f64, f64) {
    let Ok(infos) = spec.infer_flat() else { return (0.0, 0.0) };
    let (mut fwd, mut first) = (0.0, None);
    for (layer, info) in spec.flat().iter().zip(&infos) {
        // A projection shortcut is a convolution too (its sum's adds are counted with it).
        let weighted = match layer.step {
            Step::Layer(l) => matches!(l, LayerSpec::Conv2d { .. } | LayerSpec::Linear { .. }),
            Step::Join { shortcut, .. } => shortcut == Shortcut::Conv1x1,
        };
        if weighted {
            fwd += info.flops as f64;
            first.get_or_insert(info.flops as f64);
        }
    }
    (fwd, 3.0 * fwd - first.unwrap_or(0.0))
}

/// Runs the benchmark for `spec` on synthetic data; `clock` returns milliseconds.
pub fn run(spec: &Spec, config: &BenchConfig, clock: impl Fn() -> f64) -> BenchReport {
    let batch = spec.training.batch_size;
    let data = Arc::new(synthetic::split_like(spec, batch * 64, 2048));
    let mut trainer = Trainer::new(spec.clone(), data.clone()).expect("benchmark spec is valid");
    trainer.train_steps(config.warmup_steps);
    let train_rate = |trainer: &mut Trainer| {
        let (start, mut images) = (clock(), 0usize);
        while clock() - start < config.min_ms {
            if trainer.finished() {
                trainer.spec.training.epochs += 1;
            }
            images += trainer.train_steps(4).images;
        }
        images as f64 * 1000.0 / (clock() - start)
    };
    // One-thread repetitions alternate with the threaded ones, so that drift on a noisy
    // machine touches both figures of the scaling ratio alike.
    let threads = rayon::current_num_threads();
    let one_thread_too = trainer.parallel && threads > 1;
    let (mut train_img_s, mut train_img_s_one_thread) = (Vec::new(), Vec::new());
    for _ in 0..config.reps {
        train_img_s.push(train_rate(&mut trainer));
        if one_thread_too {
            trainer.parallel = false;
            train_img_s_one_thread.push(train_rate(&mut trainer));
            trainer.parallel = true;
        }
    }
    let mut infer_img_s = Vec::new();
    for _ in 0..config.reps {
        let (start, mut images) = (clock(), 0usize);
        while clock() - start < config.min_ms {
            images += evaluate(&trainer.network, &data.test, trainer.parallel).images;
        }
        infer_img_s.push(images as f64 * 1000.0 / (clock() - start));
    }
    let (infer_flops, train_flops) = flop_counts(spec);
    BenchReport {
        name: String::new(),
        threads,
        batch,
        train_img_s,
        train_img_s_one_thread,
        infer_img_s,
        train_flops,
        infer_flops,
        layers: layer_times(&trainer.network, spec, &data.train, &clock),
        memory_bytes: 0,
    }
}

fn layer_times(network: &Network, spec: &Spec, set: &super::data::Dataset, clock: &impl Fn() -> f64) -> Vec<LayerTime> {
    const N: usize = 16;
    const ITERS: usize = 20;
    let mut ws = network.workspace(N);
    let px = network.input.len();
    let mut x = vec![0.0; N * px];
    for i in 0..N {
        set.image_f32(i, &mut x[i * px..(i + 1) * px]);
    }
    let mut timer = LayerTimer::new(network.layers.len(), clock);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    for _ in 0..ITERS {
        let mut pass = Pass { train: true, backward: true, rng: &mut rng };
        network.train_chunk_profiled(&x, &set.labels[..N], &Loss::default(), 1.0 / N as f32, &mut ws, &mut pass, &mut timer);
    }
    let per_image = 1000.0 / (N * ITERS) as f64;
    // One row per layer the network runs: a residual block's body layers and its sum ("Add").
    let names: Vec<String> = spec.infer_flat().map(|infos| infos.into_iter().map(|i| i.name).collect()).unwrap_or_default();
    names
        .into_iter()
        .enumerate()
        .map(|(i, name)| LayerTime {
            name,
            forward_us: timer.forward_ms[i] * per_image,
            backward_us: timer.backward_ms[i] * per_image,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every preset is benchmarked on synthetic data of its own input shape (the CIFAR preset
    /// on 3×32×32, not on MNIST-shaped bars), with a clock that makes each repetition short.
    #[test]
    fn every_preset_benchmarks_on_data_of_its_shape() {
        let ticks = std::cell::Cell::new(0.0);
        let clock = || {
            ticks.set(ticks.get() + 1.0);
            ticks.get()
        };
        for name in crate::engine::spec::PRESETS {
            let spec = Spec::preset(name).unwrap();
            let report = run(&spec, &BenchConfig { reps: 1, min_ms: 3.0, warmup_steps: 1 }, clock);
            assert!(report.train_img_s.iter().all(|r| r.is_finite() && *r > 0.0), "{name}: {report:?}");
        }
    }
}
