//! Dropout and Dropout2d (PyTorch semantics): in training, zero each element (Dropout) or each
//! whole channel of a sample (Dropout2d) with probability `p` and scale the rest by `1/(1−p)`;
//! identity in evaluation. The mask comes from the pass's seeded random stream.
//!
//! # Shapes
//! `[N, *] → [N, *]` (unchanged); no parameters.

use super::{take, Layer, Pass, Scratch};
use crate::engine::shape::Shape;
use rand::Rng;

/// Dropout layer; `channels` selects Dropout2d.
#[derive(Clone, Debug)]
pub struct Dropout {
    shape: Shape,
    p: f32,
    channels: bool,
}

impl Dropout {
    /// Creates the layer (`p` validated by the spec to lie in [0, 1)).
    pub fn new(shape: Shape, p: f32, channels: bool) -> Self {
        Self { shape, p, channels }
    }
}

impl Layer for Dropout {
    fn input_shape(&self) -> Shape {
        self.shape
    }

    fn output_shape(&self) -> Shape {
        self.shape
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, pass: &mut Pass) {
        let len = n * self.shape.len();
        let mask = take(&mut scratch.f, len);
        if !pass.train || self.p == 0.0 {
            // Evaluation: identity; the mask of ones keeps backward uniform.
            mask.fill(1.0);
            y[..len].copy_from_slice(&x[..len]);
            return;
        }
        let keep = 1.0 / (1.0 - self.p);
        // Dropout2d draws once per (sample, channel) and applies it to the whole plane.
        let unit = if self.channels { self.shape.h * self.shape.w } else { 1 };
        for block in mask.chunks_exact_mut(unit) {
            let m = if pass.rng.random::<f32>() < self.p { 0.0 } else { keep };
            block.fill(m);
        }
        for ((o, &v), &m) in y[..len].iter_mut().zip(&x[..len]).zip(mask.iter()) {
            *o = v * m;
        }
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let len = n * self.shape.len();
        for ((d, &g), &m) in dx[..len].iter_mut().zip(&dy[..len]).zip(&scratch.f[..len]) {
            *d = g * m;
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    fn run(layer: &Dropout, train: bool, seed: u64) -> Vec<f32> {
        let x = vec![1.0; 4 * layer.shape.len()];
        let mut y = vec![0.0; x.len()];
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        layer.forward(&x, &mut y, 4, &mut Scratch::default(), &mut Pass { train, backward: true, rng: &mut rng });
        y
    }

    #[test]
    fn drops_about_p_and_rescales_in_training_only() {
        let d = Dropout::new(Shape::new(8, 10, 10), 0.25, false);
        let y = run(&d, true, 1);
        let zeros = y.iter().filter(|&&v| v == 0.0).count() as f64 / y.len() as f64;
        assert!((zeros - 0.25).abs() < 0.03, "{zeros}");
        assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.75).abs() < 1e-6));
        assert_eq!(run(&d, true, 1), y, "same seed, same mask");
        assert_ne!(run(&d, true, 2), y, "another seed, another mask");
        assert!(run(&d, false, 1).iter().all(|&v| v == 1.0), "identity in eval");
    }

    #[test]
    fn dropout2d_drops_whole_channels() {
        let d = Dropout::new(Shape::new(16, 3, 3), 0.5, true);
        let y = run(&d, true, 3);
        let planes: Vec<&[f32]> = y.chunks_exact(9).collect();
        assert!(planes.iter().all(|p| p.iter().all(|&v| v == p[0])));
        let dropped = planes.iter().filter(|p| p[0] == 0.0).count();
        assert!((16..48).contains(&dropped), "{dropped} of 64 channels dropped");
    }
}
