//! Optimizers (PyTorch `torch.optim` update rules).

use super::spec::OptimizerSpec;

/// SGD with momentum, as `torch.optim.SGD` (dampening 0): `v = μ·v + g; p −= lr·v`.
#[derive(Clone, Debug)]
pub struct Sgd {
    /// Learning rate (changeable between steps).
    pub lr: f32,
    /// Momentum factor.
    pub momentum: f32,
    /// Velocity per layer, same layout as that layer's parameters.
    velocity: Vec<Vec<f32>>,
}

impl Sgd {
    /// Creates the optimizer for layers with the given parameter counts.
    pub fn new(spec: &OptimizerSpec, param_lens: &[usize]) -> Self {
        let OptimizerSpec::Sgd { lr, momentum } = *spec;
        let velocity = param_lens.iter().map(|&n| if momentum > 0.0 { vec![0.0; n] } else { Vec::new() }).collect();
        Self { lr, momentum, velocity }
    }

    /// Applies one update to `params` of layer `layer` given its gradient.
    pub fn step(&mut self, layer: usize, params: &mut [f32], grads: &[f32]) {
        let lr = self.lr;
        if self.momentum == 0.0 {
            for (p, &g) in params.iter_mut().zip(grads) {
                *p -= lr * g;
            }
            return;
        }
        let mu = self.momentum;
        for ((p, &g), v) in params.iter_mut().zip(grads).zip(self.velocity[layer].iter_mut()) {
            *v = mu * *v + g;
            *p -= lr * *v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn momentum_trace_matches_pytorch_rule() {
        // torch.optim.SGD([p], lr=0.1, momentum=0.9) with constant grad 1 from p=0:
        // v: 1, 1.9, 2.71 → p: −0.1, −0.29, −0.561
        let mut opt = Sgd::new(&OptimizerSpec::Sgd { lr: 0.1, momentum: 0.9 }, &[1]);
        let mut p = [0.0f32];
        let mut seen = vec![];
        for _ in 0..3 {
            opt.step(0, &mut p, &[1.0]);
            seen.push(p[0]);
        }
        for (a, b) in seen.iter().zip([-0.1, -0.29, -0.561]) {
            assert!((a - b).abs() < 1e-6, "{seen:?}");
        }
    }
}
