//! PyTorch golden tests: every layer case's forward output, input gradient and parameter
//! gradients, and every optimizer's and schedule's 20-step trace, against the files
//! `tests/golden/make_goldens.py` wrote with PyTorch (CI only reads the files).

use cnn_playground::engine::data::{DataSplit, Dataset};
use cnn_playground::engine::layers::{build_layer, Layer, Pass, Scratch};
use cnn_playground::engine::spec::Spec;
use cnn_playground::engine::train::Trainer;
use cnn_playground::engine::weights;
use std::sync::Arc;
use cnn_playground::engine::optim::{lr_at, Optimizer};
use cnn_playground::engine::shape::Shape;
use cnn_playground::engine::spec::{Init, LayerSpec, OptimizerSpec, ScheduleSpec, TrainingSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::SafeTensors;
use serde::Deserialize;

const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

#[derive(Deserialize)]
struct LayerCase {
    name: String,
    layer: LayerSpec,
    input: Vec<usize>,
    params: Vec<String>,
    /// BatchNorm cases: the buffers PyTorch keeps after training on `x` then `x2`, compared
    /// with ours with the evaluation-mode output `y_eval`.
    #[serde(default)]
    buffers: Option<Vec<String>>,
}

fn tensor(st: &SafeTensors, name: &str) -> (Vec<usize>, Vec<f32>) {
    let t = st.tensor(name).unwrap_or_else(|e| panic!("golden tensor {name}: {e}"));
    let data = t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    (t.shape().to_vec(), data)
}

/// Largest |ours − torch| relative to the largest |torch| (1 if that is below 1).
fn rel_err(ours: &[f32], torch: &[f32]) -> f64 {
    assert_eq!(ours.len(), torch.len(), "length");
    let scale = torch.iter().fold(1.0f64, |m, &v| m.max(v.abs() as f64));
    ours.iter().zip(torch).map(|(&a, &b)| (a as f64 - b as f64).abs()).fold(0.0, f64::max) / scale
}

#[test]
fn layers_match_pytorch() {
    let cases: Vec<LayerCase> = serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/layers.json")).unwrap()).unwrap();
    let bytes = std::fs::read(format!("{DIR}/layers.safetensors")).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut worst = (0.0f64, String::new());
    let mut failures = Vec::new();
    for case in &cases {
        let n = case.input[0];
        let input = match case.input.len() {
            2 => Shape::flat(case.input[1]),
            _ => Shape::new(case.input[1], case.input[2], case.input[3]),
        };
        let mut layer = build_layer(&case.layer, input, Init::Pytorch, &mut ChaCha8Rng::seed_from_u64(0))
            .unwrap_or_else(|e| panic!("{}: {e:?}", case.name));
        // Load PyTorch's parameters by state_dict name and check the layouts agree.
        let tensors = layer.param_tensors();
        assert_eq!(tensors.iter().map(|t| t.name).collect::<Vec<_>>(), case.params, "{}: parameter names", case.name);
        for t in &tensors {
            let (shape, data) = tensor(&st, &format!("{}.{}", case.name, t.name));
            assert_eq!(shape, t.shape, "{}: {} layout", case.name, t.name);
            layer.params_mut()[t.offset..t.offset + data.len()].copy_from_slice(&data);
        }
        let (_, x) = tensor(&st, &format!("{}.x", case.name));
        let (_, dy) = tensor(&st, &format!("{}.dy", case.name));
        let mut y = vec![f32::NAN; n * layer.output_shape().len()];
        let mut scratch = Scratch::default();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        layer.forward(&x, &mut y, n, &mut scratch, &mut Pass { train: true, backward: true, rng: &mut rng });
        let mut dx = vec![f32::NAN; x.len()];
        let mut grads = vec![0.0; layer.params().len()];
        layer.backward(&x, &y, &dy, Some(&mut dx), &mut grads, n, &mut scratch);

        let mut checks = vec![("y", rel_err(&y, &tensor(&st, &format!("{}.y", case.name)).1))];
        checks.push(("dx", rel_err(&dx, &tensor(&st, &format!("{}.dx", case.name)).1)));
        for t in &tensors {
            let (_, g) = tensor(&st, &format!("{}.grad.{}", case.name, t.name));
            checks.push((t.name, rel_err(&grads[t.offset..t.offset + g.len()], &g)));
        }
        if let Some(names) = &case.buffers {
            checks.extend(running_statistics(&st, case, layer.as_mut(), &x));
            let ours: Vec<&str> = layer.buffer_tensors().iter().map(|t| t.name).collect();
            assert_eq!(&ours, names, "{}: buffer names", case.name);
        }
        for (what, err) in checks {
            if err > worst.0 {
                worst = (err, format!("{} {what}", case.name));
            }
            if err > 1e-5 || err.is_nan() {
                failures.push(format!("{} {what}: relative error {err:e}", case.name));
            }
        }
    }
    println!("{} layer cases; largest relative error vs PyTorch {:e} ({})", cases.len(), worst.0, worst.1);
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(cases.len() >= 50, "golden file lost cases");
}

/// Trains the running statistics on the case's two batches (as the trainer does: batch totals,
/// then the update) and compares them and the evaluation-mode output with PyTorch's.
fn running_statistics(st: &SafeTensors, case: &LayerCase, layer: &mut dyn Layer, x: &[f32]) -> Vec<(&'static str, f64)> {
    let n = case.input[0];
    let (_, x2) = tensor(st, &format!("{}.x2", case.name));
    let coupled = layer.coupled_mut().expect("BatchNorm is batch-coupled");
    for batch in [x, &x2[..]] {
        let mut totals = vec![0.0; coupled.stat_len()];
        coupled.forward_stats(batch, n, &mut totals);
        coupled.update_running(&totals, n * coupled.per_sample());
    }
    let mut checks = Vec::new();
    for t in layer.buffer_tensors() {
        let (_, want) = tensor(st, &format!("{}.buffer.{}", case.name, t.name));
        checks.push((t.name, rel_err(&layer.buffers()[t.offset..t.offset + want.len()], &want)));
    }
    let mut y = vec![f32::NAN; n * layer.output_shape().len()];
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    layer.forward(x, &mut y, n, &mut Scratch::default(), &mut Pass { train: false, backward: false, rng: &mut rng });
    checks.push(("y_eval", rel_err(&y, &tensor(st, &format!("{}.y_eval", case.name)).1)));
    checks
}

#[derive(Deserialize)]
struct OptimGoldens {
    a: Vec<f32>,
    b: Vec<f32>,
    p0: Vec<f32>,
    optimizers: Vec<OptimTrace>,
    schedules: Vec<ScheduleTrace>,
}

#[derive(Deserialize)]
struct OptimTrace {
    name: String,
    optimizer: OptimizerSpec,
    trace: Vec<Vec<f32>>,
}

#[derive(Deserialize)]
struct ScheduleTrace {
    name: String,
    schedule: ScheduleSpec,
    lr: Vec<f32>,
}

fn optim_goldens() -> OptimGoldens {
    serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/optim.json")).unwrap()).unwrap()
}

#[test]
fn optimizers_match_pytorch_over_20_steps() {
    let g = optim_goldens();
    let mut worst = 0.0f64;
    for case in &g.optimizers {
        let mut opt = Optimizer::new(&case.optimizer, &[g.p0.len()]);
        let mut p = g.p0.clone();
        for (step, expected) in case.trace.iter().enumerate() {
            let grads: Vec<f32> = p.iter().zip(&g.a).zip(&g.b).map(|((&p, &a), &b)| 2.0 * a * p + b).collect();
            opt.begin_step();
            opt.update(0, &mut p, &grads);
            let err = rel_err(&p, expected);
            worst = worst.max(err);
            assert!(err < 1e-5, "{} step {}: {p:?} vs {expected:?}", case.name, step + 1);
        }
    }
    println!("{} optimizers × 20 steps; largest relative error {worst:e}", g.optimizers.len());
    assert!(g.optimizers.len() >= 11);
}

#[test]
fn schedules_match_pytorch() {
    let g = optim_goldens();
    for case in &g.schedules {
        let mut training = TrainingSpec::new(1, OptimizerSpec::sgd(0.1, 0.0));
        training.schedule = case.schedule.clone();
        for (step, &expected) in case.lr.iter().enumerate() {
            let ours = lr_at(&training, step as u64, 1);
            assert!((ours - expected).abs() <= 1e-6 * expected.abs().max(1e-3), "{} step {step}: {ours} vs {expected}", case.name);
        }
    }
    assert!(g.schedules.len() >= 4);
}

#[derive(Deserialize)]
struct NetStep {
    spec: Spec,
    losses: Vec<f64>,
}

/// Two SGD steps of a net with BatchNorm2d/1d on one batch of 40 (three chunks of ≤16 run in
/// parallel here): weights, running statistics and losses as PyTorch's, for 1 and 2 threads.
#[test]
fn batchnorm_net_training_steps_match_pytorch() {
    net_steps_match_pytorch("bn_net");
}

/// Issue 16: the same for a net with residual blocks (an identity block with BatchNorm inside,
/// a strided block with a 1×1 projection): the shortcut's gradient reaches the block's input in
/// both the layer-by-layer and the chunked passes.
#[test]
fn residual_net_training_steps_match_pytorch() {
    net_steps_match_pytorch("residual_net");
}

/// Two training steps of the golden net `name` from PyTorch's starting weights: weights, running
/// statistics and losses as PyTorch's, for 1 and 2 threads.
fn net_steps_match_pytorch(name: &str) {
    let mut step: NetStep = serde_json::from_str(&std::fs::read_to_string(format!("{DIR}/{name}.json")).unwrap()).unwrap();
    // One 40-image batch per epoch: two epochs give the two steps.
    step.spec.training.epochs = 2;
    let data_bytes = std::fs::read(format!("{DIR}/{name}_data.safetensors")).unwrap();
    let data = SafeTensors::deserialize(&data_bytes).unwrap();
    let set = Dataset {
        images: data.tensor("images").unwrap().data().to_vec(),
        labels: data.tensor("labels").unwrap().data().to_vec(),
        channels: 1,
        rows: 28,
        cols: 28,
    };
    let split = Arc::new(DataSplit { train: set.clone(), test: set });
    let before = std::fs::read(format!("{DIR}/{name}_before.safetensors")).unwrap();
    let after_bytes = std::fs::read(format!("{DIR}/{name}_after.safetensors")).unwrap();
    let after = SafeTensors::deserialize(&after_bytes).unwrap();
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let mut trainer = Trainer::new(step.spec.clone(), split.clone()).unwrap();
        weights::load(&mut trainer.network, &before).unwrap();
        let losses: Vec<f64> = pool.install(|| (0..2).map(|_| trainer.train_steps(1).loss).collect());
        let ours_bytes = weights::save(&trainer.network, &trainer.spec);
        let ours = SafeTensors::deserialize(&ours_bytes).unwrap();
        let mut worst = 0.0f64;
        for name in after.names() {
            let theirs = after.tensor(name).unwrap();
            let mine = ours.tensor(name).unwrap();
            if name.ends_with("num_batches_tracked") {
                assert_eq!(mine.data(), theirs.data(), "{name}");
                continue;
            }
            let err = rel_err(&tensor(&ours, name).1, &tensor(&after, name).1);
            assert!(err < 1e-4, "{threads} threads, {name}: relative error {err:e}");
            worst = worst.max(err);
        }
        for (a, b) in losses.iter().zip(&step.losses) {
            assert!((a - b).abs() < 1e-4 * b.abs(), "{threads} threads: losses {losses:?} vs {:?}", step.losses);
        }
        assert_eq!(ours.names().len(), after.names().len(), "{name}: the same tensors");
        println!("{name}, {threads} threads: after 2 steps, largest relative error {worst:e}; losses {losses:?}");
    }
}
