//! Conv2d: square kernel, stride, zero padding (PyTorch `nn.Conv2d` semantics, cross-correlation).
//!
//! # Shapes
//! `[N, C, H, W] → [N, OC, ⌊(H+2p−k)/s⌋+1, ⌊(W+2p−k)/s⌋+1]`; weight `[OC, C, k, k]`, bias `[OC]`.

use super::{init_params, take, Layer, ParamTensor, Pass, Scratch};
use crate::engine::kernels::gemm::{gemm, Trans};
use crate::engine::kernels::im2col::{col2im, im2col, ConvGeom};
use crate::engine::shape::Shape;
use crate::engine::spec::{window_out, Init};
use rand_chacha::ChaCha8Rng;

/// 2-D convolution layer.
#[derive(Clone, Debug)]
pub struct Conv2d {
    geom: ConvGeom,
    out_channels: usize,
    /// `[weight (OC·C·k·k) | bias (OC)]`.
    params: Vec<f32>,
}

impl Conv2d {
    /// Creates the layer for `input` and initialises its parameters.
    pub fn new(
        input: Shape,
        out_channels: usize,
        kernel: usize,
        stride: usize,
        pad: usize,
        init: Init,
        rng: &mut ChaCha8Rng,
    ) -> Self {
        let oh = window_out(input.h, kernel, stride, pad).expect("validated by Spec::infer");
        let ow = window_out(input.w, kernel, stride, pad).expect("validated by Spec::infer");
        let geom = ConvGeom { c: input.c, h: input.h, w: input.w, k: kernel, stride, pad, oh, ow };
        let fan_in = geom.col_rows();
        let mut params = vec![0.0; fan_in * out_channels + out_channels];
        let (w, b) = params.split_at_mut(fan_in * out_channels);
        init_params(init, fan_in, out_channels * kernel * kernel, w, b, rng);
        Self { geom, out_channels, params }
    }

    fn weight_len(&self) -> usize {
        self.out_channels * self.geom.col_rows()
    }
}

impl Layer for Conv2d {
    fn input_shape(&self) -> Shape {
        Shape::new(self.geom.c, self.geom.h, self.geom.w)
    }

    fn output_shape(&self) -> Shape {
        Shape::new(self.out_channels, self.geom.oh, self.geom.ow)
    }

    fn params(&self) -> &[f32] {
        &self.params
    }

    fn params_mut(&mut self) -> &mut [f32] {
        &mut self.params
    }

    fn param_tensors(&self) -> Vec<ParamTensor> {
        let g = &self.geom;
        vec![
            ParamTensor { name: "weight", shape: vec![self.out_channels, g.c, g.k, g.k], offset: 0 },
            ParamTensor { name: "bias", shape: vec![self.out_channels], offset: self.weight_len() },
        ]
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let g = &self.geom;
        let (in_len, out_len, pixels) = (self.input_shape().len(), self.output_shape().len(), g.col_cols());
        let (weight, bias) = self.params.split_at(self.weight_len());
        let cols = take(&mut scratch.f, g.col_rows() * pixels);
        for s in 0..n {
            im2col(g, &x[s * in_len..(s + 1) * in_len], cols);
            let ys = &mut y[s * out_len..(s + 1) * out_len];
            for (plane, &b) in ys.chunks_exact_mut(pixels).zip(bias) {
                plane.fill(b);
            }
            gemm(Trans::NN, self.out_channels, pixels, g.col_rows(), weight, cols, ys);
        }
    }

    fn backward(
        &self,
        x: &[f32],
        _y: &[f32],
        dy: &[f32],
        mut dx: Option<&mut [f32]>,
        grads: &mut [f32],
        n: usize,
        scratch: &mut Scratch,
    ) {
        let g = &self.geom;
        let (in_len, out_len, pixels, rows) =
            (self.input_shape().len(), self.output_shape().len(), g.col_cols(), g.col_rows());
        let weight = &self.params[..self.weight_len()];
        let (dw, db) = grads.split_at_mut(self.weight_len());
        let cols = take(&mut scratch.f, rows * pixels);
        let dcols = take(&mut scratch.g, rows * pixels);
        for s in 0..n {
            let dys = &dy[s * out_len..(s + 1) * out_len];
            im2col(g, &x[s * in_len..(s + 1) * in_len], cols);
            // dW[oc, r] += Σ_p dY[oc, p] · cols[r, p]
            gemm(Trans::NT, self.out_channels, rows, pixels, dys, cols, dw);
            for (d, plane) in db.iter_mut().zip(dys.chunks_exact(pixels)) {
                *d += plane.iter().sum::<f32>();
            }
            if let Some(dx) = dx.as_deref_mut() {
                // dcols = Wᵀ · dY, then scattered back to the input positions.
                dcols.fill(0.0);
                gemm(Trans::TN, rows, pixels, self.out_channels, weight, dys, dcols);
                let dxs = &mut dx[s * in_len..(s + 1) * in_len];
                dxs.fill(0.0);
                col2im(g, dcols, dxs);
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}
