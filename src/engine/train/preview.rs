//! The augmentation preview: the next training images as training will see them.

use super::*;

impl Trainer {
    /// The next `count` training images of the current epoch as training will see them:
    /// (original, augmented, label), pixels in [0, 1].
    pub fn preview(&self, count: usize) -> Vec<(Vec<f32>, Vec<f32>, u8)> {
        let shape = self.network.input;
        let augment = &self.spec.training.augment;
        self.order[self.position.min(self.order.len())..]
            .iter()
            .chain(self.order.iter())
            .take(count)
            .map(|&idx| {
                let mut original = vec![0.0; shape.len()];
                self.data.train.image_f32(idx as usize, &mut original);
                let mut augmented = original.clone();
                if augment.enabled() {
                    crate::engine::augment::augment(augment, &mut augmented, shape, &mut image_rng(self.spec.seed, self.epoch, idx as usize));
                }
                (original, augmented, self.data.train.labels[idx as usize])
            })
            .collect()
    }
}
