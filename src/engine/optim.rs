//! Optimizers with `torch.optim`'s update rules (SGD with momentum/dampening/Nesterov, Adam,
//! AdamW, RMSprop, Adagrad), and the learning-rate schedule as a pure function of the step.

use super::spec::{OptimizerSpec, Schedule, TrainingSpec};

/// Per-layer optimizer state, same layout as that layer's parameters (unused buffers stay empty).
#[derive(Clone, Debug, Default, PartialEq)]
struct State {
    /// Momentum buffer / first moment / squared-gradient average / Adagrad sum.
    a: Vec<f32>,
    /// Second moment / RMSprop gradient average.
    b: Vec<f32>,
    /// AMSGrad running maximum / RMSprop momentum buffer.
    c: Vec<f32>,
}

/// An optimizer over the layers of one network.
#[derive(Clone, Debug)]
pub struct Optimizer {
    spec: OptimizerSpec,
    /// Learning rate of the next step (set by the schedule or the user).
    pub lr: f32,
    /// Steps taken (PyTorch's `step` counter, starting at 1 for the first update).
    t: u64,
    state: Vec<State>,
}

impl Optimizer {
    /// Creates the optimizer for layers with the given parameter counts.
    pub fn new(spec: &OptimizerSpec, param_lens: &[usize]) -> Self {
        let state = param_lens
            .iter()
            .map(|&n| {
                let (a, b, c) = match *spec {
                    OptimizerSpec::Sgd { momentum, .. } => (momentum > 0.0, false, false),
                    OptimizerSpec::Adam { amsgrad, .. } | OptimizerSpec::AdamW { amsgrad, .. } => (true, true, amsgrad),
                    OptimizerSpec::RmsProp { centered, momentum, .. } => (true, centered, momentum > 0.0),
                    OptimizerSpec::Adagrad { .. } => (true, false, false),
                };
                let buf = |on: bool| if on { vec![0.0; n] } else { Vec::new() };
                let mut s = State { a: buf(a), b: buf(b), c: buf(c) };
                if let OptimizerSpec::Adagrad { initial_accumulator_value, .. } = *spec {
                    s.a.fill(initial_accumulator_value);
                }
                s
            })
            .collect();
        Self { lr: spec.lr(), spec: spec.clone(), t: 0, state }
    }

    /// The state to checkpoint: step counter and, per layer, its three buffers.
    pub fn export_state(&self) -> (u64, Vec<[Vec<f32>; 3]>) {
        (self.t, self.state.iter().map(|s| [s.a.clone(), s.b.clone(), s.c.clone()]).collect())
    }

    /// Restores [`Optimizer::export_state`]; false if the layout does not match this optimizer.
    pub fn import_state(&mut self, t: u64, state: Vec<[Vec<f32>; 3]>) -> bool {
        let fits = state.len() == self.state.len()
            && state.iter().zip(&self.state).all(|([a, b, c], s)| a.len() == s.a.len() && b.len() == s.b.len() && c.len() == s.c.len());
        if fits {
            self.t = t;
            self.state = state.into_iter().map(|[a, b, c]| State { a, b, c }).collect();
        }
        fits
    }

    /// Starts an optimizer step (call once before the layers' [`Optimizer::update`]).
    pub fn begin_step(&mut self) {
        self.t += 1;
    }

    /// Applies one update to `params` of layer `layer` given its gradient.
    pub fn update(&mut self, layer: usize, params: &mut [f32], grads: &[f32]) {
        let (lr, t) = (self.lr, self.t.max(1));
        let s = &mut self.state[layer];
        match self.spec {
            OptimizerSpec::Sgd { momentum, dampening, nesterov, weight_decay, .. } => {
                for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
                    let mut d = g + weight_decay * *p;
                    if momentum > 0.0 {
                        let v = &mut s.a[i];
                        // PyTorch starts the buffer at the first gradient (no dampening then).
                        *v = if t == 1 { d } else { momentum * *v + (1.0 - dampening) * d };
                        d = if nesterov { d + momentum * *v } else { *v };
                    }
                    *p -= lr * d;
                }
            }
            OptimizerSpec::Adam { betas, eps, weight_decay, amsgrad, .. }
            | OptimizerSpec::AdamW { betas, eps, weight_decay, amsgrad, .. } => {
                let decoupled = matches!(self.spec, OptimizerSpec::AdamW { .. });
                let [b1, b2] = betas;
                let bc1 = 1.0 - b1.powi(t as i32);
                let bc2_sqrt = (1.0 - b2.powi(t as i32)).sqrt();
                let step = lr / bc1;
                for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
                    let g = if decoupled {
                        *p *= 1.0 - lr * weight_decay;
                        g
                    } else {
                        g + weight_decay * *p
                    };
                    let m = &mut s.a[i];
                    *m += (g - *m) * (1.0 - b1);
                    let v = &mut s.b[i];
                    *v = b2 * *v + (1.0 - b2) * g * g;
                    let second = if amsgrad {
                        s.c[i] = s.c[i].max(*v);
                        s.c[i]
                    } else {
                        *v
                    };
                    *p -= step * *m / (second.sqrt() / bc2_sqrt + eps);
                }
            }
            OptimizerSpec::RmsProp { alpha, eps, weight_decay, momentum, centered, .. } => {
                for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
                    let g = g + weight_decay * *p;
                    let sq = &mut s.a[i];
                    *sq = alpha * *sq + (1.0 - alpha) * g * g;
                    let avg = if centered {
                        let ga = &mut s.b[i];
                        *ga += (g - *ga) * (1.0 - alpha);
                        (*sq - *ga * *ga).sqrt() + eps
                    } else {
                        sq.sqrt() + eps
                    };
                    if momentum > 0.0 {
                        let buf = &mut s.c[i];
                        *buf = momentum * *buf + g / avg;
                        *p -= lr * *buf;
                    } else {
                        *p -= lr * g / avg;
                    }
                }
            }
            OptimizerSpec::Adagrad { lr_decay, weight_decay, eps, .. } => {
                let clr = lr / (1.0 + (t - 1) as f32 * lr_decay);
                for (i, (p, &g)) in params.iter_mut().zip(grads).enumerate() {
                    let g = g + weight_decay * *p;
                    let sum = &mut s.a[i];
                    *sum += g * g;
                    *p -= clr * g / (sum.sqrt() + eps);
                }
            }
        }
    }
}

/// The learning rate of optimizer step `step` (0-based) from the spec alone: linear warm-up,
/// then the schedule counted in epochs (or steps with `per_step`). `ReduceOnPlateau` depends on
/// validation losses and is applied by the trainer on top; here it is the base rate.
pub fn lr_at(training: &TrainingSpec, step: u64, steps_per_epoch: usize) -> f32 {
    let base = training.optimizer.lr();
    let s = &training.schedule;
    let warm = s.warmup_steps as u64;
    if step < warm {
        let f = s.warmup_start_factor;
        return base * (f + (1.0 - f) * step as f32 / warm as f32);
    }
    let after = step - warm;
    let t = if s.per_step { after } else { after / steps_per_epoch.max(1) as u64 };
    match s.kind {
        Schedule::Constant | Schedule::ReduceOnPlateau { .. } => base,
        Schedule::Step { step_size, gamma } => base * gamma.powi((t / step_size as u64) as i32),
        Schedule::Exponential { gamma } => base * gamma.powi(t as i32),
        Schedule::Cosine { t_max, eta_min } => {
            let phase = std::f64::consts::PI * t as f64 / t_max as f64;
            (eta_min as f64 + (base - eta_min) as f64 * (1.0 + phase.cos()) / 2.0) as f32
        }
    }
}

/// `ReduceLROnPlateau` state (mode `min`, relative threshold): call [`Plateau::observe`] with
/// each validation loss; it returns the factor to apply to the learning rate from now on.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Plateau {
    /// Best loss seen (none before the first observation).
    best: Option<f64>,
    bad: usize,
    /// Current multiplier of the scheduled learning rate.
    pub factor: f32,
}

impl Default for Plateau {
    fn default() -> Self {
        Self { best: None, bad: 0, factor: 1.0 }
    }
}

impl Plateau {
    /// Records a validation loss under `schedule` (no effect for other schedules).
    pub fn observe(&mut self, schedule: &Schedule, loss: f64) -> f32 {
        if let Schedule::ReduceOnPlateau { factor, patience, threshold, .. } = *schedule {
            if self.best.is_none_or(|best| loss < best * (1.0 - threshold as f64)) {
                self.best = Some(loss);
                self.bad = 0;
            } else {
                self.bad += 1;
                if self.bad > patience {
                    self.factor *= factor;
                    self.bad = 0;
                }
            }
        }
        self.factor
    }

    /// The learning rate after applying the plateau factor, bounded below by `min_lr`.
    pub fn apply(&self, schedule: &Schedule, lr: f32) -> f32 {
        match *schedule {
            Schedule::ReduceOnPlateau { min_lr, .. } => (lr * self.factor).max(min_lr),
            _ => lr,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::ScheduleSpec;

    #[test]
    fn momentum_trace_matches_pytorch_rule() {
        // torch.optim.SGD([p], lr=0.1, momentum=0.9) with constant grad 1 from p=0:
        // v: 1, 1.9, 2.71 → p: −0.1, −0.29, −0.561
        let mut opt = Optimizer::new(&OptimizerSpec::sgd(0.1, 0.9), &[1]);
        let mut p = [0.0f32];
        let mut seen = vec![];
        for _ in 0..3 {
            opt.begin_step();
            opt.update(0, &mut p, &[1.0]);
            seen.push(p[0]);
        }
        for (a, b) in seen.iter().zip([-0.1, -0.29, -0.561]) {
            assert!((a - b).abs() < 1e-6, "{seen:?}");
        }
    }

    #[test]
    fn schedules_as_pytorch_computes_them() {
        let mut t = TrainingSpec::new(10, OptimizerSpec::sgd(0.1, 0.0));
        t.schedule = ScheduleSpec { kind: Schedule::Step { step_size: 2, gamma: 0.5 }, ..Default::default() };
        let per_epoch: Vec<f32> = (0..5).map(|e| lr_at(&t, e * 100, 100)).collect();
        assert_eq!(per_epoch, [0.1, 0.1, 0.05, 0.05, 0.025]);
        t.schedule = ScheduleSpec { kind: Schedule::Cosine { t_max: 4, eta_min: 0.0 }, per_step: true, ..Default::default() };
        assert!((lr_at(&t, 2, 1) - 0.05).abs() < 1e-7);
        assert!(lr_at(&t, 4, 1).abs() < 1e-7);
        t.schedule = ScheduleSpec { warmup_steps: 4, warmup_start_factor: 0.2, ..Default::default() };
        let warm: Vec<f32> = (0..6).map(|s| lr_at(&t, s, 100)).collect();
        for (a, b) in warm.iter().zip([0.02, 0.04, 0.06, 0.08, 0.1, 0.1]) {
            assert!((a - b).abs() < 1e-7, "{warm:?}");
        }
    }

    #[test]
    fn plateau_reduces_after_patience() {
        let s = Schedule::ReduceOnPlateau { factor: 0.5, patience: 1, threshold: 0.0, min_lr: 0.0 };
        let mut p = Plateau::default();
        let factors: Vec<f32> = [1.0, 0.9, 0.95, 0.95, 0.8, 0.9, 0.9].iter().map(|&l| p.observe(&s, l)).collect();
        assert_eq!(factors, [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25]);
    }
}
