//! A steady-state training step allocates nothing: every buffer (activations, im2col columns,
//! gradients, optimizer state, batch, per-chunk random streams, batch statistics) is made once
//! and reused. Checked with a counting global allocator around `train_steps`, for every preset
//! (BatchNorm's layer-by-layer path included), sequential and on a two-thread rayon pool.

use cnn_playground::engine::data::synthetic;
use cnn_playground::engine::spec::{Spec, PRESETS};
use cnn_playground::engine::train::Trainer;
use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// The system allocator, counting every allocation and reallocation.
struct Counting;

static ALLOCATIONS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout)
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCATIONS.fetch_add(1, Ordering::Relaxed);
        System.realloc(ptr, layout, new_size)
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// The counter is global: tests must not allocate beside each other while one counts.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// How the warm-up steps before counting run.
#[derive(Clone, Copy, Debug)]
enum Warmup {
    /// As in the page: the same mode as the counted steps.
    AsCounted,
    /// On the installing thread alone, as on a busy machine where the other pool thread got no
    /// work for a while; the pool's other threads meet the layers for the first time later.
    OneThread,
}

/// Allocations made by 5 training steps after 3 warm-up steps (augmentation on, so its buffers
/// are covered too).
fn allocations_in_steady_state(name: &str, parallel: bool, warmup: Warmup) -> usize {
    // Held from the start: building a trainer allocates, and must not land in another test's count.
    let _guard = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut spec = Spec::preset(name).unwrap();
    spec.training.batch_size = 40; // two full chunks and a partial one
    spec.training.epochs = 100;
    spec.training.augment.rotation = 10.0;
    spec.training.augment.elastic_alpha = 8.0;
    spec.training.augment.noise = 0.05;
    spec.training.augment.erasing = 0.5;
    spec.training.augment.crop_padding = 3;
    spec.training.augment.saturation = 0.4;
    spec.training.augment.hue = 0.1;
    spec.training.augment.cutout = 6;
    let data = Arc::new(synthetic::split_like(&spec, 4000, 10));
    let mut t = Trainer::new(spec, data).unwrap();
    t.parallel = parallel;
    // As in the browser worker, training runs as a job inside the pool: parallel loops started
    // from outside it go through rayon's injection queue, which allocates now and then.
    let pool = rayon::ThreadPoolBuilder::new().num_threads(2).build().unwrap();
    pool.install(|| {
        match warmup {
            Warmup::AsCounted => {
                t.train_steps(3);
            }
            Warmup::OneThread => {
                t.parallel = false;
                t.train_steps(3);
                t.parallel = parallel;
                t.prepare_threads();
            }
        }
        let before = ALLOCATIONS.load(Ordering::SeqCst);
        let report = t.train_steps(5);
        let after = ALLOCATIONS.load(Ordering::SeqCst);
        assert_eq!(report.steps, 5, "{name}");
        after - before
    })
}

#[test]
fn training_steps_allocate_nothing() {
    for name in PRESETS {
        for parallel in [false, true] {
            let n = allocations_in_steady_state(name, parallel, Warmup::AsCounted);
            assert_eq!(n, 0, "{name} (parallel: {parallel}): {n} allocations in 5 steady-state steps");
        }
    }
}

/// The busy-machine case (issue 13): a pool thread that did no work during the warm-up must not
/// allocate once it gets some, whichever chunks it happens to take.
#[test]
fn a_thread_idle_during_warmup_allocates_nothing_later() {
    for name in ["reference", "tiny-vgg", "keras-bn-cnn"] {
        let n = allocations_in_steady_state(name, true, Warmup::OneThread);
        assert_eq!(n, 0, "{name}: {n} allocations in 5 steady-state steps after a one-thread warm-up");
    }
}
