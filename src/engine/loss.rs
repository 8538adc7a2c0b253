//! Softmax cross-entropy on logits (PyTorch `nn.CrossEntropyLoss`, mean reduction).

/// Softmax of one row of logits into `out` (max-subtracted, so large logits do not overflow).
pub fn softmax(logits: &[f32], out: &mut [f32]) {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for (o, &z) in out.iter_mut().zip(logits) {
        *o = (z - max).exp();
        sum += *o;
    }
    for o in out.iter_mut() {
        *o /= sum;
    }
}

/// Loss summed over the rows and how many rows were classified right.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct LossSum {
    /// Sum of per-sample losses (f64 so long sums stay exact enough).
    pub loss: f64,
    /// Samples whose arg-max matched the label.
    pub correct: usize,
}

impl LossSum {
    /// Adds another partial sum.
    pub fn add(&mut self, other: LossSum) {
        self.loss += other.loss;
        self.correct += other.correct;
    }
}

/// Cross-entropy of `n` rows of `classes` logits against `labels`.
/// When `dlogits` is given it receives `(softmax − onehot) · scale` (scale = 1/batch for a mean).
pub fn cross_entropy(
    logits: &[f32],
    labels: &[u8],
    classes: usize,
    scale: f32,
    mut dlogits: Option<&mut [f32]>,
) -> LossSum {
    let mut total = LossSum::default();
    let mut probs = [0.0f32; 64];
    let mut probs_vec;
    let probs: &mut [f32] = if classes <= probs.len() {
        &mut probs[..classes]
    } else {
        probs_vec = vec![0.0; classes];
        &mut probs_vec
    };
    for (s, &label) in labels.iter().enumerate() {
        let row = &logits[s * classes..(s + 1) * classes];
        let label = label as usize;
        softmax(row, probs);
        // log-softmax computed directly for accuracy: z_y − max − ln Σ exp(z − max).
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let lse = row.iter().map(|&z| ((z - max) as f64).exp()).sum::<f64>().ln();
        total.loss += lse - (row[label] - max) as f64;
        if argmax(row) == label {
            total.correct += 1;
        }
        if let Some(d) = dlogits.as_deref_mut() {
            let drow = &mut d[s * classes..(s + 1) * classes];
            for (c, (g, &p)) in drow.iter_mut().zip(probs.iter()).enumerate() {
                *g = (p - if c == label { 1.0 } else { 0.0 }) * scale;
            }
        }
    }
    total
}

/// Index of the largest value (first one on ties; NaN never wins).
pub fn argmax(row: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in row.iter().enumerate() {
        if v > row[best] {
            best = i;
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_hand_computed_values() {
        // logits [1, 2, 3], label 2: loss = ln(e¹+e²+e³) − 3 = 0.40760596
        let mut d = [0.0; 3];
        let r = cross_entropy(&[1.0, 2.0, 3.0], &[2], 3, 1.0, Some(&mut d));
        assert!((r.loss - 0.407_605_96).abs() < 1e-6, "{}", r.loss);
        assert_eq!(r.correct, 1);
        let p = [0.090_030_57, 0.244_728_48, 0.665_240_94];
        assert!((d[0] - p[0]).abs() < 1e-6 && (d[1] - p[1]).abs() < 1e-6 && (d[2] - (p[2] - 1.0)).abs() < 1e-6);
    }

    #[test]
    fn stable_for_huge_logits() {
        let r = cross_entropy(&[1000.0, 0.0], &[1], 2, 1.0, None);
        assert!((r.loss - 1000.0).abs() < 1e-3);
        assert_eq!(r.correct, 0);
    }
}
