//! Classification metrics beyond loss and accuracy: the confusion matrix and per-class accuracy.

use super::data::Dataset;
use super::layers::Pass;
use super::loss::argmax;
use super::network::Network;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Counts of (true class, predicted class) over a dataset.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Confusion {
    /// Number of classes.
    pub classes: usize,
    /// Row-major `classes × classes`: `counts[truth · classes + predicted]`.
    pub counts: Vec<u32>,
}

impl Confusion {
    /// Images of class `truth` predicted as `predicted`.
    pub fn get(&self, truth: usize, predicted: usize) -> u32 {
        self.counts[truth * self.classes + predicted]
    }

    /// Fraction of each class classified correctly (NaN-free: 0 for an absent class).
    pub fn per_class_accuracy(&self) -> Vec<f64> {
        (0..self.classes)
            .map(|c| {
                let row: u32 = (0..self.classes).map(|p| self.get(c, p)).sum();
                if row == 0 { 0.0 } else { self.get(c, c) as f64 / row as f64 }
            })
            .collect()
    }

    /// Overall accuracy.
    pub fn accuracy(&self) -> f64 {
        let total: u32 = self.counts.iter().sum();
        let right: u32 = (0..self.classes).map(|c| self.get(c, c)).sum();
        if total == 0 { 0.0 } else { right as f64 / total as f64 }
    }
}

/// Class probabilities of `network` (evaluation mode) for every image of `set`, `len × classes`.
pub fn probabilities(network: &Network, set: &Dataset, parallel: bool) -> Vec<f32> {
    const CHUNK: usize = super::spec::memory::EVAL_CHUNK;
    let (px, classes) = (set.pixels(), network.classes);
    let chunk = |state: &mut (super::network::Workspace, Vec<f32>), start: usize| -> Vec<f32> {
        let (ws, x) = state;
        let end = (start + CHUNK).min(set.len());
        for i in start..end {
            set.image_f32(i, &mut x[(i - start) * px..(i - start + 1) * px]);
        }
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        let logits = network.forward(x, end - start, ws, &mut Pass { train: false, backward: false, rng: &mut rng });
        let mut probs = vec![0.0; (end - start) * classes];
        for (p, l) in probs.chunks_exact_mut(classes).zip(logits.chunks_exact(classes)) {
            super::loss::softmax(l, p);
        }
        probs
    };
    let init = || (network.workspace(CHUNK), vec![0.0f32; CHUNK * px]);
    let starts: Vec<usize> = (0..set.len()).step_by(CHUNK).collect();
    super::lanes::map_in_lanes(&starts, parallel, init, chunk).concat()
}

/// The confusion matrix of class probabilities (`len × classes`) against `labels`.
pub fn confusion_of(probs: &[f32], labels: &[u8], classes: usize) -> Confusion {
    let mut counts = vec![0u32; classes * classes];
    for (p, &t) in probs.chunks_exact(classes).zip(labels) {
        counts[t as usize * classes + argmax(p)] += 1;
    }
    Confusion { classes, counts }
}

/// The confusion matrix of `network` (evaluation mode) on `set`.
pub fn confusion(network: &Network, set: &Dataset, parallel: bool) -> Confusion {
    confusion_of(&probabilities(network, set, parallel), &set.labels, network.classes)
}

/// One image of a dataset with what the model thought of it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// Index in the dataset.
    pub index: usize,
    /// True class.
    pub label: u8,
    /// Predicted class (arg-max).
    pub predicted: u8,
    /// Class probabilities.
    pub probs: Vec<f32>,
    /// The image, 0–255, row-major.
    #[serde(with = "crate::protocol::bulk")]
    pub pixels: Vec<u8>,
}

/// Up to `limit` images whose (true, predicted) classes pass `keep`, the most confident
/// predictions first (ties by index, so the order is stable).
pub fn examples(probs: &[f32], set: &Dataset, classes: usize, keep: impl Fn(u8, u8) -> bool, limit: usize) -> Vec<Example> {
    let mut chosen: Vec<(usize, u8, f32)> = probs
        .chunks_exact(classes)
        .enumerate()
        .filter_map(|(i, p)| {
            let predicted = argmax(p) as u8;
            keep(set.labels[i], predicted).then_some((i, predicted, p[predicted as usize]))
        })
        .collect();
    chosen.sort_by(|a, b| b.2.total_cmp(&a.2).then(a.0.cmp(&b.0)));
    let px = set.pixels();
    chosen
        .into_iter()
        .take(limit)
        .map(|(i, predicted, _)| Example {
            index: i,
            label: set.labels[i],
            predicted,
            probs: probs[i * classes..(i + 1) * classes].to_vec(),
            pixels: set.images[i * px..(i + 1) * px].to_vec(),
        })
        .collect()
}

/// Accuracy of an ensemble of saved runs: each network's class probabilities (evaluation mode)
/// are averaged and the ensemble predicts the arg-max. All networks must share input and classes.
pub fn ensemble_accuracy(networks: &[Network], set: &Dataset) -> f64 {
    let Some(first) = networks.first() else { return 0.0 };
    let (px, classes) = (set.pixels(), first.classes);
    let mut probs = vec![0.0f32; set.len() * classes];
    let mut x = vec![0.0f32; px];
    let mut p = vec![0.0f32; classes];
    for net in networks {
        let mut ws = net.workspace(1);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        for i in 0..set.len() {
            set.image_f32(i, &mut x);
            let logits = net.forward(&x, 1, &mut ws, &mut Pass { train: false, backward: false, rng: &mut rng });
            super::loss::softmax(logits, &mut p);
            for (acc, &v) in probs[i * classes..(i + 1) * classes].iter_mut().zip(&p) {
                *acc += v / networks.len() as f32;
            }
        }
    }
    let right = (0..set.len()).filter(|&i| argmax(&probs[i * classes..(i + 1) * classes]) == set.labels[i] as usize).count();
    right as f64 / set.len().max(1) as f64
}

/// Accuracy of the average of several models' test-set probabilities (`probs[k]` holds model
/// `k`'s, `labels.len() × classes`, as [`probabilities`] gives them): the arg-max of the mean.
/// Members whose length does not match are left out; None when none is left.
pub fn ensemble_of_probabilities(probs: &[&[f32]], labels: &[u8], classes: usize) -> Option<f64> {
    let members: Vec<&[f32]> = probs.iter().copied().filter(|p| p.len() == labels.len() * classes).collect();
    if members.is_empty() || classes == 0 {
        return None;
    }
    let mut mean = vec![0.0f32; classes];
    let right = labels.iter().enumerate().filter(|&(i, &label)| {
        mean.fill(0.0);
        for p in &members {
            for (m, &v) in mean.iter_mut().zip(&p[i * classes..(i + 1) * classes]) {
                *m += v;
            }
        }
        argmax(&mean) == label as usize
    });
    Some(right.count() as f64 / labels.len().max(1) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ensemble_of_probabilities_matches_the_network_ensemble() {
        let data = std::sync::Arc::new(synthetic::bars_split(320, 200));
        let nets: Vec<Network> = (1..=3)
            .map(|seed| {
                let mut spec = Spec { seed, ..Spec::default() };
                spec.training.batch_size = 32;
                let mut t = crate::engine::train::Trainer::new(spec, data.clone()).unwrap();
                t.train_steps(3);
                t.network
            })
            .collect();
        let probs: Vec<Vec<f32>> = nets.iter().map(|n| probabilities(n, &data.test, false)).collect();
        let views: Vec<&[f32]> = probs.iter().map(Vec::as_slice).collect();
        let from_probs = ensemble_of_probabilities(&views, &data.test.labels, 10).unwrap();
        assert!((from_probs - ensemble_accuracy(&nets, &data.test)).abs() < 1e-9, "{from_probs}");
        let one = ensemble_of_probabilities(&views[..1], &data.test.labels, 10).unwrap();
        assert!((one - confusion(&nets[0], &data.test, false).accuracy()).abs() < 1e-9);
        // A member of the wrong size is left out; none left is None.
        let short = [0.5f32; 10];
        assert_eq!(ensemble_of_probabilities(&[&short[..], views[0]], &data.test.labels, 10), Some(one));
        assert_eq!(ensemble_of_probabilities(&[&short[..]], &data.test.labels, 10), None);
    }

    fn tiny_set() -> Dataset {
        Dataset { images: (0..4 * 4).map(|v| v as u8).collect(), labels: vec![0, 1, 1, 2], channels: 1, rows: 2, cols: 2 }
    }

    #[test]
    fn confusion_and_galleries_from_probabilities() {
        let set = tiny_set();
        // image 0: 0→0 (0.9); image 1: 1→2 (0.6); image 2: 1→1 (0.7); image 3: 2→0 (0.8).
        let probs = [0.9, 0.05, 0.05, 0.1, 0.3, 0.6, 0.2, 0.7, 0.1, 0.8, 0.1, 0.1];
        let c = confusion_of(&probs, &set.labels, 3);
        assert_eq!(c.counts, vec![1, 0, 0, 0, 1, 1, 1, 0, 0]);
        assert_eq!(c.per_class_accuracy(), vec![1.0, 0.5, 0.0]);
        let wrong = examples(&probs, &set, 3, |t, p| t != p, 10);
        assert_eq!(wrong.iter().map(|e| e.index).collect::<Vec<_>>(), vec![3, 1], "most confident mistake first");
        assert_eq!((wrong[0].label, wrong[0].predicted), (2, 0));
        assert_eq!(wrong[0].pixels, vec![12, 13, 14, 15]);
        assert_eq!(wrong[0].probs, vec![0.8, 0.1, 0.1]);
        let cell = examples(&probs, &set, 3, |t, p| (t, p) == (1, 1), 10);
        assert_eq!(cell.iter().map(|e| e.index).collect::<Vec<_>>(), vec![2]);
        assert_eq!(examples(&probs, &set, 3, |_, _| true, 2).len(), 2, "limit");
    }
    use crate::engine::data::synthetic;
    use crate::engine::spec::Spec;

    #[test]
    fn ensemble_of_one_is_the_network_and_averaging_helps_weak_members() {
        let data = std::sync::Arc::new(synthetic::bars_split(320, 200));
        let train = |seed| {
            let mut spec = Spec { seed, ..Spec::default() };
            spec.training.batch_size = 32;
            let mut t = crate::engine::train::Trainer::new(spec, data.clone()).unwrap();
            t.train_steps(3);
            t.network
        };
        let nets: Vec<Network> = (1..=5).map(train).collect();
        let single = confusion(&nets[0], &data.test, false).accuracy();
        assert!((ensemble_accuracy(&nets[..1], &data.test) - single).abs() < 1e-12);
        let members: Vec<f64> = nets.iter().map(|n| confusion(n, &data.test, false).accuracy()).collect();
        let mean = members.iter().sum::<f64>() / members.len() as f64;
        let ensemble = ensemble_accuracy(&nets, &data.test);
        assert!(ensemble >= mean, "ensemble {ensemble} vs members {members:?}");
    }

    #[test]
    fn per_class_and_overall() {
        let c = Confusion { classes: 2, counts: vec![3, 1, 0, 4] };
        assert_eq!(c.per_class_accuracy(), [0.75, 1.0]);
        assert!((c.accuracy() - 7.0 / 8.0).abs() < 1e-12);
    }
}
