//! Training behaviour on small synthetic data: learning happens, runs are reproducible, and the
//! thread count never changes the result.

use cnn_playground::engine::data::{synthetic, DataSplit};
use cnn_playground::engine::spec::{OptimizerSpec, Spec};
use cnn_playground::engine::train::Trainer;
use std::sync::Arc;

fn data() -> Arc<DataSplit> {
    Arc::new(synthetic::bars_split(640, 200))
}

fn small_spec() -> Spec {
    let mut spec = Spec::default();
    spec.training.batch_size = 50; // not a multiple of the chunk size: exercises the partial chunk
    spec.training.optimizer = OptimizerSpec::sgd(0.05, 0.9);
    spec
}

fn weights(t: &Trainer) -> Vec<u32> {
    t.network.layers.iter().flat_map(|l| l.params().iter().map(|v| v.to_bits())).collect()
}

#[test]
fn learns_a_separable_problem() {
    let data = data();
    let mut t = Trainer::new(small_spec(), data.clone()).unwrap();
    let before = t.evaluate(&data.test);
    let report = t.train_steps(1000);
    assert!(report.epoch_done && t.finished());
    assert_eq!(report.steps, 13, "640 images in batches of 50 = 12 full + 1 partial");
    let after = t.evaluate(&data.test);
    assert!(after.loss < before.loss * 0.5, "loss {} -> {}", before.loss, after.loss);
    assert!(after.accuracy > 0.9, "accuracy {}", after.accuracy);
}

#[test]
fn same_seed_same_weights_different_seed_different_weights() {
    let data = data();
    let run = |seed| {
        let mut spec = small_spec();
        spec.seed = seed;
        let mut t = Trainer::new(spec, data.clone()).unwrap();
        t.train_steps(5);
        weights(&t)
    };
    assert_eq!(run(7), run(7));
    assert_ne!(run(7), run(8));
}

/// A net with BatchNorm (whole-batch statistics across chunks), Dropout, Adam and a schedule.
fn coupled_spec() -> Spec {
    let mut spec = small_spec();
    spec.layers = serde_json::from_str(
        r#"[{"type":"conv2d","out_channels":6,"kernel_size":5,"padding":2},{"type":"batch_norm2d"},{"type":"relu"},
            {"type":"max_pool2d","kernel_size":2},{"type":"dropout2d","p":0.2},{"type":"flatten"},
            {"type":"linear","out_features":32},{"type":"batch_norm1d"},{"type":"relu"},{"type":"dropout","p":0.3},
            {"type":"linear","out_features":10}]"#,
    )
    .unwrap();
    spec.training.optimizer = serde_json::from_str(r#"{"type":"adam","lr":0.01}"#).unwrap();
    spec.training.schedule = serde_json::from_str(r#"{"kind":{"type":"cosine","t_max":40},"per_step":true,"warmup_steps":3}"#).unwrap();
    spec
}

#[test]
fn batchnorm_dropout_adam_net_learns() {
    let data = data();
    let mut spec = coupled_spec();
    spec.training.epochs = 3;
    let mut t = Trainer::new(spec, data.clone()).unwrap();
    while !t.finished() {
        t.train_steps(1000);
    }
    let after = t.evaluate(&data.test);
    assert!(after.accuracy > 0.9, "accuracy {}", after.accuracy);
    // Running statistics moved away from their start (mean 0, var 1).
    let bn = &t.network.layers[1];
    assert!(bn.buffers()[..6].iter().any(|&m| m.abs() > 1e-3), "{:?}", bn.buffers());
    assert_eq!(bn.buffers()[12], 39.0, "num_batches_tracked counts the steps");
}

#[test]
fn bit_identical_across_thread_counts() {
    for spec in [small_spec(), coupled_spec()] {
        check_thread_counts(spec);
    }
}

fn check_thread_counts(spec: Spec) {
    let data = data();
    let run = |threads: Option<usize>| {
        let mut t = Trainer::new(spec.clone(), data.clone()).unwrap();
        let loss = match threads {
            None => {
                t.parallel = false;
                t.train_steps(8).loss
            }
            Some(n) => {
                let pool = rayon::ThreadPoolBuilder::new().num_threads(n).build().unwrap();
                pool.install(|| t.train_steps(8).loss)
            }
        };
        let buffers: Vec<u32> = t.network.layers.iter().flat_map(|l| l.buffers().iter().map(|v| v.to_bits())).collect();
        (loss.to_bits(), weights(&t), buffers)
    };
    let sequential = run(None);
    for threads in [1, 2, 4] {
        assert_eq!(run(Some(threads)), sequential, "{threads} threads differ from the sequential run");
    }
}

#[test]
fn every_preset_trains_a_few_steps() {
    use cnn_playground::engine::spec::PRESETS;
    for name in PRESETS {
        let mut spec = Spec::preset(name).unwrap();
        let data = Arc::new(synthetic::split_like(&spec, 96, 64));
        spec.training.batch_size = 32;
        let mut t = Trainer::new(spec, data.clone()).unwrap();
        let r = t.train_steps(3);
        assert_eq!(r.steps, 3, "{name}");
        assert!(r.loss.is_finite() && r.loss > 0.0, "{name}: loss {}", r.loss);
        let e = t.evaluate(&data.test);
        assert!(e.loss.is_finite(), "{name}: eval loss {}", e.loss);
    }
}

/// A CIFAR-format archive of generated colour shapes, decoded as the page and CLI decode it, is
/// learned by the reference net (which adapts to 3×32×32 by shape inference) with colour
/// augmentation on; data of another shape is refused naming both shapes.
#[test]
fn a_generated_cifar_archive_is_learned() {
    use cnn_playground::engine::data::cifar::read_files;
    use cnn_playground::engine::spec::DatasetKind;
    let archive = synthetic::cifar_archive(false, 3000, 500, 11);
    let (kind, split) = read_files(&[("cifar-10-binary.tar.gz", &archive)], 1 << 16).unwrap();
    assert_eq!(kind, DatasetKind::Cifar10);
    let data = Arc::new(split);
    let mut spec = Spec { dataset: DatasetKind::Cifar10, ..Spec::default() };
    spec.training.epochs = 3;
    spec.training.augment.crop_padding = 2;
    spec.training.augment.saturation = 0.3;
    spec.training.augment.hue = 0.05;
    let mut t = Trainer::new(spec.clone(), data.clone()).unwrap();
    let before = t.evaluate(&data.test).accuracy;
    while !t.finished() {
        t.train_steps(50);
    }
    let after = t.evaluate(&data.test).accuracy;
    assert!(before < 0.3 && after > 0.9, "test accuracy {before} → {after}");
    let grey = Arc::new(synthetic::bars_split(64, 16));
    let e = Trainer::new(spec, grey).err().expect("refused");
    assert_eq!(e.to_string(), "field `dataset`: the loaded images are 1×28×28, the model takes 3×32×32");
}

#[test]
fn validation_split_is_held_out_and_seeded() {
    let data = data();
    let mut spec = small_spec();
    spec.training.validation_split = 0.25;
    let t = Trainer::new(spec.clone(), data.clone()).unwrap();
    assert_eq!(t.validation.as_ref().unwrap().len(), 160);
    assert_eq!(t.steps_per_epoch(), 480usize.div_ceil(50));
    let again = Trainer::new(spec, data).unwrap();
    assert_eq!(t.validation, again.validation, "same seed, same split");
}

#[test]
fn early_stopping_restores_the_best_weights() {
    let data = data();
    let mut spec = small_spec();
    spec.training.epochs = 10;
    spec.training.optimizer = OptimizerSpec::sgd(1e-7, 0.0);
    spec.training.validation_split = 0.2;
    spec.training.early_stopping = serde_json::from_str(r#"{"patience":2,"min_delta":0.01}"#).unwrap();
    let mut t = Trainer::new(spec, data).unwrap();
    let mut after_first = None;
    while !t.finished() {
        t.train_steps(1000);
        t.validate();
        after_first.get_or_insert_with(|| weights(&t));
    }
    assert_eq!(t.epoch, 3);
    let reason = t.stop_reason.clone().unwrap().to_string();
    assert!(reason.starts_with("early stopping after epoch 3") && reason.ends_with("best weights restored"), "{reason}");
    assert_eq!(weights(&t), after_first.unwrap());
}

#[test]
fn divergence_stops_and_keeps_the_last_weights() {
    let data = data();
    let mut t = Trainer::new(small_spec(), data).unwrap();
    t.train_steps(2);
    t.network.layers[7].params_mut()[0] = f32::NAN;
    let before = weights(&t);
    let r = t.train_steps(5);
    assert!(r.diverged && t.finished());
    assert_eq!(r.steps, 0, "the diverging step is not applied");
    assert_eq!(weights(&t), before);
    assert!(t.stop_reason.clone().unwrap().to_string().starts_with("training diverged at step 3 (non-finite loss)"), "{:?}", t.stop_reason);
}

#[test]
fn augmentation_changes_training_reproducibly() {
    let data = data();
    let run = |augment: &str| {
        let mut spec = small_spec();
        spec.training.augment = serde_json::from_str(augment).unwrap();
        let mut t = Trainer::new(spec, data.clone()).unwrap();
        t.train_steps(4);
        weights(&t)
    };
    let plain = run("{}");
    let augmented = run(r#"{"rotation":15,"translate":0.1,"elastic_alpha":2,"noise":0.05,"erasing":0.5}"#);
    assert_ne!(plain, augmented);
    assert_eq!(augmented, run(r#"{"rotation":15,"translate":0.1,"elastic_alpha":2,"noise":0.05,"erasing":0.5}"#));
}

#[test]
fn preview_shows_exactly_the_next_batch_as_trained() {
    let data = data();
    let mut spec = small_spec();
    spec.training.augment = serde_json::from_str(r#"{"rotation":20,"noise":0.1}"#).unwrap();
    let mut t = Trainer::new(spec.clone(), data.clone()).unwrap();
    let preview = t.preview(4);
    assert_eq!(preview.len(), 4);
    assert!(preview.iter().all(|(o, a, _)| o != a), "augmentation shows");
    // Training on exactly those images: a trainer with batch 4 steps on the same pixels, so the
    // preview's first images are the ones the first step uses (same labels, same augmentation).
    let mut small = spec.clone();
    small.training.batch_size = 4;
    let t4 = Trainer::new(small, data).unwrap();
    let p4 = t4.preview(4);
    assert_eq!(p4, preview, "the preview depends on the seed and epoch, not the batch size");
    t.train_steps(1);
    assert_ne!(t.preview(4), preview, "after a step the preview moves on to the next images");
}

#[test]
fn checkpoint_resumes_bit_identically() {
    let data = data();
    for spec in [small_spec(), coupled_spec()] {
        let mut spec = spec;
        spec.training.epochs = 2;
        spec.training.validation_split = 0.1;
        spec.training.early_stopping = serde_json::from_str(r#"{"patience":5}"#).unwrap();
        let mut straight = Trainer::new(spec.clone(), data.clone()).unwrap();
        straight.train_steps(7);
        straight.set_lr(0.01);
        let r1 = straight.train_steps(100);
        assert!(r1.epoch_done);
        straight.validate();
        straight.train_steps(3);
        let bytes = straight.checkpoint();
        straight.train_steps(6);

        let mut again = Trainer::new(spec.clone(), data.clone()).unwrap();
        again.train_steps(7);
        again.set_lr(0.01);
        again.train_steps(100);
        again.validate();
        again.train_steps(3);
        let mut resumed = Trainer::restore(&again.checkpoint(), data.clone()).unwrap();
        assert_eq!((resumed.epoch, resumed.step), (1, straight.step - 6));
        resumed.train_steps(6);
        assert_eq!(weights(&resumed), weights(&straight), "resumed run equals the uninterrupted one");
        assert_eq!(resumed.lr(), straight.lr());
        assert_eq!(Trainer::restore(&bytes, data.clone()).unwrap().step, straight.step - 6);
    }
    let plain = cnn_playground::engine::weights::save(&Trainer::new(small_spec(), data.clone()).unwrap().network, &small_spec());
    assert_eq!(Trainer::restore(&plain, data).err().unwrap().to_string(), "the file is weights, not a training checkpoint");
}

/// Fine-tuning on the user's own images: a few mislabelled images (class 0 images labelled 1)
/// are learned, the epoch position and step count do not move, and it is reproducible.
#[test]
fn fine_tuning_learns_the_users_images_without_moving_the_epoch() {
    let data = data();
    let mut t = Trainer::new(small_spec(), data.clone()).unwrap();
    t.train_steps(1000);
    let zeros: Vec<usize> = (0..data.test.len()).filter(|&i| data.test.labels[i] == 0).take(4).collect();
    let px = data.test.pixels();
    let user = cnn_playground::engine::data::Dataset {
        images: zeros.iter().flat_map(|&i| data.test.images[i * px..(i + 1) * px].to_vec()).collect(),
        labels: vec![1; zeros.len()],
        channels: 1,
        rows: data.test.rows,
        cols: data.test.cols,
    };
    let before = t.evaluate(&user).accuracy;
    let (step, epoch) = (t.step, t.epoch);
    let run = |mut t: Trainer| {
        let acc = t.fine_tune(&user, 30);
        (acc, weights(&t), t.step, t.epoch)
    };
    let copy = Trainer::restore(&t.checkpoint(), data.clone()).unwrap();
    let (after, w, s, e) = run(t);
    assert!(before < 0.5 && after == 1.0, "accuracy on the user's images {before} -> {after}");
    assert_eq!((s, e), (step, epoch));
    assert_eq!(run(copy).1, w, "reproducible");
}
