//! Fine-tuning on the user's own images, mixed with training images.

use super::*;

impl Trainer {
    /// Fine-tuning on the user's own images: `steps` optimizer steps, each on a batch of the
    /// user's images (cycled, at most half the batch, augmented like training) filled up with
    /// training images drawn from the seed. The position in the epoch and the step count stay
    /// as they were. Returns the accuracy on the user's images afterwards.
    pub fn fine_tune(&mut self, user: &Dataset, steps: usize) -> f64 {
        let batch = self.spec.training.batch_size;
        let px = self.network.input.len();
        let shape = self.network.input;
        let own = (batch / 2).max(1).min(batch);
        for s in 0..steps {
            let mut rng = Purpose::FineTune { step: self.step, sub: s as u64 }.rng(self.spec.seed);
            for k in 0..batch {
                let img = &mut self.batch_x[k * px..(k + 1) * px];
                let (set, idx) = if k < own && !user.is_empty() {
                    (user, (s * own + k) % user.len())
                } else {
                    let train = &self.data.train;
                    (train, self.train_idx[rng.random_range(0..self.train_idx.len())] as usize)
                };
                set.image_f32(idx, img);
                if self.spec.training.augment.enabled() {
                    crate::engine::augment::augment(&self.spec.training.augment, img, shape, &mut rng);
                }
                self.batch_y[k] = set.labels[idx];
            }
            // A step number far from training's keeps the dropout streams apart.
            self.step_on_batch(batch, u64::MAX / 2 + self.step + s as u64);
            if self.stop_reason.is_some() {
                break;
            }
        }
        self.evaluate(user).accuracy
    }
}
