//! Runs in headless Chromium (wasm-bindgen-test, inside a dedicated worker, as the engine does):
//! the rayon pool really has two threads that both run work, and threaded training gives exactly
//! the same loss and weights as one-at-a-time training.
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
