//! Losses on logits: softmax cross-entropy with optional label smoothing (PyTorch
//! `nn.CrossEntropyLoss`, mean reduction) and mean squared error against one-hot targets
//! (`nn.MSELoss`, mean over all elements).

use super::spec::{LossKind, TrainingSpec};

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

/// The training loss of a spec.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Loss {
    /// Cross-entropy or MSE.
    pub kind: LossKind,
    /// Cross-entropy label smoothing ε.
    pub label_smoothing: f32,
}

impl Loss {
    /// The loss a training spec asks for.
    pub fn of(training: &TrainingSpec) -> Self {
        Self { kind: training.loss, label_smoothing: training.label_smoothing }
    }

    /// Loss summed over `labels.len()` rows; `dlogits` (if given) receives the gradient of the
    /// sum times `scale` (1/batch for a mean).
    pub fn compute(&self, logits: &[f32], labels: &[u8], classes: usize, scale: f32, dlogits: Option<&mut [f32]>) -> LossSum {
        match self.kind {
            LossKind::CrossEntropy => smoothed_cross_entropy(logits, labels, classes, self.label_smoothing, scale, dlogits),
            LossKind::Mse => mse_one_hot(logits, labels, classes, scale, dlogits),
        }
    }
}

/// Mean squared error per sample `Σ_c (z_c − onehot_c)² / C` (so the batch mean equals
/// `nn.MSELoss()` over all elements); gradient `2(z − onehot)/C · scale`.
pub fn mse_one_hot(logits: &[f32], labels: &[u8], classes: usize, scale: f32, mut dlogits: Option<&mut [f32]>) -> LossSum {
    let mut total = LossSum::default();
    for (s, &label) in labels.iter().enumerate() {
        let row = &logits[s * classes..(s + 1) * classes];
        let mut sum = 0.0f64;
        for (c, &z) in row.iter().enumerate() {
            let diff = z - if c == label as usize { 1.0 } else { 0.0 };
            sum += (diff * diff) as f64;
            if let Some(d) = dlogits.as_deref_mut() {
                d[s * classes + c] = flush_tiny(2.0 * diff / classes as f32 * scale);
            }
        }
        total.loss += sum / classes as f64;
        total.correct += (argmax(row) == label as usize) as usize;
    }
    total
}

/// Cross-entropy of `n` rows of `classes` logits against `labels`.
/// When `dlogits` is given it receives `(softmax − onehot) · scale` (scale = 1/batch for a mean).
pub fn cross_entropy(logits: &[f32], labels: &[u8], classes: usize, scale: f32, dlogits: Option<&mut [f32]>) -> LossSum {
    smoothed_cross_entropy(logits, labels, classes, 0.0, scale, dlogits)
}

/// Cross-entropy against the smoothed target `(1−ε)·onehot + ε/C` (PyTorch `label_smoothing`);
/// the gradient is `(softmax − target) · scale`.
pub fn smoothed_cross_entropy(
    logits: &[f32],
    labels: &[u8],
    classes: usize,
    eps: f32,
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
        let nll = |c: usize| lse - (row[c] - max) as f64;
        total.loss += (1.0 - eps as f64) * nll(label);
        if eps > 0.0 {
            total.loss += eps as f64 / classes as f64 * (0..classes).map(nll).sum::<f64>();
        }
        if argmax(row) == label {
            total.correct += 1;
        }
        if let Some(d) = dlogits.as_deref_mut() {
            let drow = &mut d[s * classes..(s + 1) * classes];
            for (c, (g, &p)) in drow.iter_mut().zip(probs.iter()).enumerate() {
                let target = eps / classes as f32 + if c == label { 1.0 - eps } else { 0.0 };
                *g = flush_tiny((p - target) * scale);
            }
        }
    }
    total
}

/// Gradient entries below this magnitude are set to zero. A confident prediction gives
/// wrong-class probabilities far below it (e^-90 and less); their gradients, and everything the
/// backward pass derives from them, are then subnormal floats, which x86 CPUs handle in
/// microcode at ~100 cycles per operation (measured: conv backward 5× slower). WebAssembly
/// cannot switch on flush-to-zero, so the engine never lets them in. At 1e-30 the dropped
/// contributions are ~25 orders of magnitude below any weight update.
pub const GRAD_FLUSH: f32 = 1e-30;

/// `g`, or zero when it is too small to matter (see [`GRAD_FLUSH`]).
#[inline]
pub fn flush_tiny(g: f32) -> f32 {
    if g.abs() < GRAD_FLUSH {
        0.0
    } else {
        g
    }
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
    fn smoothing_and_mse_match_pytorch() {
        // F.cross_entropy(tensor([[1.,2.,3.]]), tensor([2]), label_smoothing=0.1) = 0.50760597
        let r = smoothed_cross_entropy(&[1.0, 2.0, 3.0], &[2], 3, 0.1, 1.0, None);
        assert!((r.loss - 0.507_605_97).abs() < 1e-6, "{}", r.loss);
        // F.mse_loss(tensor([[0.5, 2.0, -1.0]]), tensor([[0., 1., 0.]])) = (0.25+1+1)/3 = 0.75
        let mut d = [0.0; 3];
        let r = mse_one_hot(&[0.5, 2.0, -1.0], &[1], 3, 1.0, Some(&mut d));
        assert!((r.loss - 0.75).abs() < 1e-7);
        assert_eq!(d, [2.0 * 0.5 / 3.0, 2.0 / 3.0, -2.0 / 3.0]);
    }

    /// A confident prediction (wrong class at e^-90 ≈ 8e-40, a subnormal f32) gives an exact
    /// zero there, while ordinary gradients are untouched.
    #[test]
    fn negligible_gradients_are_zero_not_subnormal() {
        let mut d = [1.0; 4];
        cross_entropy(&[90.0, 0.0, 1.0, 2.0], &[0], 2, 1.0 / 64.0, Some(&mut d[..2]));
        assert_eq!(d[1].to_bits(), 0, "{:e}", d[1]);
        cross_entropy(&[1.0, 0.0], &[0], 2, 1.0 / 64.0, Some(&mut d[2..]));
        assert!(d[2] < 0.0 && d[3] > 0.0 && d.iter().all(|v| !v.is_subnormal()), "{d:?}");
        mse_one_hot(&[1.0 + 1e-36, 0.0], &[0], 2, 1.0, Some(&mut d[..2]));
        assert_eq!(d[..2], [0.0, 0.0]);
    }

    #[test]
    fn stable_for_huge_logits() {
        let r = cross_entropy(&[1000.0, 0.0], &[1], 2, 1.0, None);
        assert!((r.loss - 1000.0).abs() < 1e-3);
        assert_eq!(r.correct, 0);
    }
}
