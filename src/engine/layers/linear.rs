//! Linear (fully connected): `y = x·Wᵀ + b` (PyTorch `nn.Linear`).
//!
//! # Shapes
//! `[N, in] → [N, out]`; weight `[out, in]`, bias `[out]`.

use super::{init_params, Layer, ParamTensor, Pass, Scratch};
use crate::engine::kernels::gemm::{gemm, Trans};
use crate::engine::shape::Shape;
use crate::engine::spec::Init;
use rand_chacha::ChaCha8Rng;

/// Fully connected layer.
#[derive(Clone, Debug)]
pub struct Linear {
    in_features: usize,
    out_features: usize,
    has_bias: bool,
    /// `[weight (out·in) | bias (out, if any)]`.
    params: Vec<f32>,
}

impl Linear {
    /// Creates the layer and initialises its parameters.
    pub fn new(in_features: usize, out_features: usize, bias: bool, init: Init, rng: &mut ChaCha8Rng) -> Self {
        let mut params = vec![0.0; (in_features + bias as usize) * out_features];
        let (w, b) = params.split_at_mut(in_features * out_features);
        init_params(init, in_features, out_features, w, b, rng);
        Self { in_features, out_features, has_bias: bias, params }
    }

    fn weight_len(&self) -> usize {
        self.in_features * self.out_features
    }
}

impl Layer for Linear {
    fn input_shape(&self) -> Shape {
        Shape::flat(self.in_features)
    }

    fn output_shape(&self) -> Shape {
        Shape::flat(self.out_features)
    }

    fn params(&self) -> &[f32] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    fn param_tensors(&self) -> Vec<ParamTensor> {
        let mut t = vec![ParamTensor { name: "weight", shape: vec![self.out_features, self.in_features], offset: 0 }];
        if self.has_bias {
            t.push(ParamTensor { name: "bias", shape: vec![self.out_features], offset: self.weight_len() });
        }
        t
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let (weight, bias) = self.params.split_at(self.weight_len());
        for row in y[..n * self.out_features].chunks_exact_mut(self.out_features) {
            if self.has_bias {
                row.copy_from_slice(bias);
            } else {
                row.fill(0.0);
            }
        }
        gemm(Trans::NT, n, self.out_features, self.in_features, x, weight, &mut y[..n * self.out_features]);
    }

    fn backward(
        &self,
        x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        grads: &mut [f32],
        n: usize,
        _scratch: &mut Scratch,
    ) {
        let (out_f, in_f) = (self.out_features, self.in_features);
        let (dw, db) = grads.split_at_mut(self.weight_len());
        // dW[o, i] += Σ_s dY[s, o] · X[s, i]
        gemm(Trans::TN, out_f, in_f, n, &dy[..n * out_f], &x[..n * in_f], dw);
        for row in dy[..n * out_f].chunks_exact(out_f).filter(|_| self.has_bias) {
            for (d, &v) in db.iter_mut().zip(row) {
                *d += v;
            }
        }
        if let Some(dx) = dx {
            let dx = &mut dx[..n * in_f];
            dx.fill(0.0);
            gemm(Trans::NN, n, in_f, out_f, &dy[..n * out_f], &self.params[..self.weight_len()], dx);
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
