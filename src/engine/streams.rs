//! Every random choice the engine makes, by purpose. Each purpose draws from its own ChaCha
//! stream (the cipher's 64-bit stream id), keyed by the seed and the purpose's counters, so two
//! purposes can never draw the same numbers whatever their counters (before, the step streams
//! `(2 + step, chunk)` met the validation split's `(3, 0)` at step 1). Within a purpose the key
//! is a SplitMix64 hash of (seed, counters): independent of batch size, threads and chunking.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Why random numbers are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// The initial weights (the seed itself, stream 0).
    Init,
    /// The order of the training images in one epoch.
    Shuffle {
        /// Epoch, from 0.
        epoch: u64,
    },
    /// Which training images are held out for validation.
    ValidationSplit,
    /// Dropout masks of one chunk of one optimizer step.
    Chunk {
        /// Optimizer step.
        step: u64,
        /// Chunk within the batch.
        chunk: u64,
    },
    /// The augmentation of one training image in one epoch.
    Augment {
        /// Epoch, from 0.
        epoch: u64,
        /// Index of the image in the training set.
        image: u64,
    },
    /// Which images one fine-tuning step mixes in.
    FineTune {
        /// The trainer's step count when fine-tuning began.
        step: u64,
        /// Fine-tuning step.
        sub: u64,
    },
}

/// SplitMix64 finaliser over (seed, a, b).
fn mix(seed: u64, a: u64, b: u64) -> u64 {
    let mut z = seed ^ a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Purpose {
    /// The purpose's stream id and its two counters.
    fn stream(self) -> (u64, u64, u64) {
        match self {
            Purpose::Init => (0, 0, 0),
            Purpose::Shuffle { epoch } => (1, epoch, 0),
            Purpose::ValidationSplit => (2, 0, 0),
            Purpose::Chunk { step, chunk } => (3, step, chunk),
            Purpose::Augment { epoch, image } => (4, epoch, image),
            Purpose::FineTune { step, sub } => (5, step, sub),
        }
    }

    /// The random generator for this purpose under `seed`.
    pub fn rng(self, seed: u64) -> ChaCha8Rng {
        if self == Purpose::Init {
            return ChaCha8Rng::seed_from_u64(seed);
        }
        let (stream, a, b) = self.stream();
        let mut rng = ChaCha8Rng::seed_from_u64(mix(seed, a, b));
        rng.set_stream(stream);
        rng
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn one_of_each() -> [Purpose; 6] {
        [
            Purpose::Init,
            Purpose::Shuffle { epoch: 1 },
            Purpose::ValidationSplit,
            Purpose::Chunk { step: 1, chunk: 0 },
            Purpose::Augment { epoch: 1, image: 0 },
            Purpose::FineTune { step: 1, sub: 0 },
        ]
    }

    #[test]
    fn every_purpose_has_its_own_stream() {
        let ids: std::collections::HashSet<u64> = one_of_each().iter().map(|p| p.stream().0).collect();
        assert_eq!(ids.len(), one_of_each().len());
    }

    #[test]
    fn purposes_with_equal_counters_draw_different_numbers() {
        let seed = 42;
        // Equal counters give equal keys; the stream ids keep the draws apart.
        let same_counters = [
            Purpose::Shuffle { epoch: 3 },
            Purpose::Chunk { step: 3, chunk: 0 },
            Purpose::Augment { epoch: 3, image: 0 },
            Purpose::FineTune { step: 3, sub: 0 },
        ];
        let firsts: Vec<u64> = same_counters.iter().map(|p| p.rng(seed).random()).collect();
        let unique: std::collections::HashSet<&u64> = firsts.iter().collect();
        assert_eq!(unique.len(), firsts.len(), "{firsts:?}");
        // The old overlap: step 1, chunk 0 drew the validation split's numbers.
        let chunk: u64 = Purpose::Chunk { step: 1, chunk: 0 }.rng(seed).random();
        let split: u64 = Purpose::ValidationSplit.rng(seed).random();
        assert_ne!(chunk, split);
        // And a purpose is reproducible.
        assert_eq!(Purpose::Chunk { step: 1, chunk: 0 }.rng(seed).random::<u64>(), chunk);
    }

    #[test]
    fn the_initial_weights_keep_the_seed_itself() {
        assert_eq!(Purpose::Init.rng(7).random::<u64>(), ChaCha8Rng::seed_from_u64(7).random::<u64>());
    }
}
