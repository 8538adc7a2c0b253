//! Validation: the seeded held-out split, the end-of-epoch check that feeds reduce-on-plateau
//! and early stopping.

use super::*;

impl Trainer {
    /// Evaluates on the validation split (the test set without one), then feeds the loss to a
    /// reduce-on-plateau schedule and to early stopping, which may end training and put back
    /// the best weights. Call once at the end of each epoch.
    pub fn validate(&mut self) -> EvalReport {
        let report = match &self.validation {
            Some(v) => evaluate(&self.network, v, self.parallel),
            None => evaluate(&self.network, &self.data.test, self.parallel),
        };
        self.observe_validation(report.loss);
        if let Some(es) = self.spec.training.early_stopping.clone() {
            let improved = self.best.as_ref().is_none_or(|(best, ..)| report.loss < best - es.min_delta as f64);
            if improved {
                let params = self.network.layers.iter().map(|l| l.params().to_vec()).collect();
                let buffers = self.network.layers.iter().map(|l| l.buffers().to_vec()).collect();
                self.best = Some((report.loss, params, buffers));
                self.bad_epochs = 0;
            } else {
                self.bad_epochs += 1;
                if self.bad_epochs >= es.patience && !self.finished() {
                    let (best_loss, params, buffers) = self.best.as_ref().expect("set on the first epoch");
                    let mut reason = crate::msg!("err.early_stop", self.epoch, format!("{best_loss:.4}"), es.patience);
                    if es.restore_best {
                        for ((layer, p), b) in self.network.layers.iter_mut().zip(params).zip(buffers) {
                            layer.params_mut().copy_from_slice(p);
                            layer.buffers_mut().copy_from_slice(b);
                        }
                        reason = crate::msg!("err.early_stop_restored", reason);
                    }
                    self.stop_reason = Some(reason);
                }
            }
        }
        report
    }

    /// Feeds a validation loss to a reduce-on-plateau schedule.
    pub fn observe_validation(&mut self, loss: f64) {
        self.plateau.observe(&self.spec.training.schedule.kind, loss);
    }
}

/// A seeded split of the training set: (indices to train on, validation images).
pub(super) fn split_validation(train: &Dataset, fraction: f32, seed: u64) -> (Vec<u32>, Option<Dataset>) {
    let mut idx: Vec<u32> = (0..train.len() as u32).collect();
    let held = (train.len() as f64 * fraction as f64).round() as usize;
    if held == 0 {
        return (idx, None);
    }
    idx.shuffle(&mut Purpose::ValidationSplit.rng(seed));
    let (val, rest) = idx.split_at(held);
    let px = train.pixels();
    let mut set = Dataset { images: Vec::with_capacity(held * px), labels: Vec::with_capacity(held), channels: train.channels, rows: train.rows, cols: train.cols };
    for &i in val {
        set.images.extend_from_slice(&train.images[i as usize * px..(i as usize + 1) * px]);
        set.labels.push(train.labels[i as usize]);
    }
    let mut rest = rest.to_vec();
    rest.sort_unstable();
    (rest, Some(set))
}
