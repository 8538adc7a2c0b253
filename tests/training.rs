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

#[test]
fn bit_identical_across_thread_counts() {
    let data = data();
    let run = |threads: Option<usize>| {
        let mut t = Trainer::new(small_spec(), data.clone()).unwrap();
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
        (loss.to_bits(), weights(&t))
    };
    let sequential = run(None);
    for threads in [1, 2, 4] {
        assert_eq!(run(Some(threads)), sequential, "{threads} threads differ from the sequential run");
    }
}
