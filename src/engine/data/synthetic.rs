//! A small, seeded synthetic dataset for tests and benchmarks that must not depend on MNIST files.

use super::{DataSplit, Dataset};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` noisy 28×28 images of ten classes: class `c` is a bright horizontal bar at row `2c + 4`.
pub fn bars(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut images = vec![0u8; n * 784];
    let mut labels = vec![0u8; n];
    for (label, img) in labels.iter_mut().zip(images.chunks_exact_mut(784)) {
        let c = rng.random_range(0..10u8);
        *label = c;
        for px in img.iter_mut() {
            *px = rng.random_range(0..60);
        }
        let row = 2 * c as usize + 4;
        img[row * 28 + 4..row * 28 + 24].fill(255);
    }
    Dataset { images, labels, rows: 28, cols: 28 }
}

/// A train/test split of [`bars`] with different seeds.
pub fn bars_split(train: usize, test: usize) -> DataSplit {
    DataSplit { train: bars(train, 1), test: bars(test, 2) }
}
