//! Convolution with channel groups (depthwise when `groups = in_channels`): per sample and group,
//! GEMMs on a plain column matrix `c·kh·kw × oh·ow`, the input gradient by col2im. Grouped
//! layers are small (a group sees few channels), so the packed panels of `panels.rs`, whose
//! tiles are 8 output channels wide, would mostly multiply padding.

use super::{take, Conv2d, Scratch};
use crate::engine::kernels::gemm::{gemm, gemm_ld, Trans, Write};
use crate::engine::kernels::im2col::{col2im, im2col};
use crate::engine::kernels::reduce::sum;

impl Conv2d {
    /// Each sample is one GEMM per group, `W_g · cols_g`, added onto the bias. Every sample's
    /// columns are kept for the backward pass when one follows (`keep`), else one is reused.
    pub(super) fn forward_grouped(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, keep: bool) {
        let out_len = self.output_shape_len();
        let (pixels, rows) = (self.geom.col_cols(), self.geom.col_rows());
        let (weight, bias) = self.params.split_at(self.weight_len());
        let (ocg, rows_g) = (self.out_channels / self.groups, rows / self.groups);
        let all_cols = take(&mut scratch.f, if keep { n } else { 1 } * rows * pixels);
        for s in 0..n {
            let cols = &mut all_cols[if keep { s * rows * pixels } else { 0 }..][..rows * pixels];
            im2col(&self.geom, self.sample(x, s, &mut scratch.h), cols);
            let ys = &mut y[s * out_len..(s + 1) * out_len];
            if self.has_bias {
                for (plane, &b) in ys.chunks_exact_mut(pixels).zip(bias) {
                    plane.fill(b);
                }
            } else {
                ys.fill(0.0);
            }
            for g in 0..self.groups {
                let w_g = &weight[g * ocg * rows_g..(g + 1) * ocg * rows_g];
                let c_g = &cols[g * rows_g * pixels..(g + 1) * rows_g * pixels];
                gemm(Trans::NN, ocg, pixels, rows_g, w_g, c_g, &mut ys[g * ocg * pixels..(g + 1) * ocg * pixels]);
            }
        }
    }

    /// Per sample and group: `dWᵀ_g += cols_g · dY_gᵀ` (dY transposed first, so both GEMMs stream
    /// their B operand along its rows) with the forward pass's columns, and `dcols_g = W_gᵀ · dY_g`
    /// scattered back by col2im.
    pub(super) fn backward_grouped(&self, dy: &[f32], mut dx: Option<&mut [f32]>, grads: &mut [f32], n: usize, scratch: &mut Scratch) {
        let (in_len, out_len) = (self.input.len(), self.output_shape_len());
        let (pixels, rows) = (self.geom.col_cols(), self.geom.col_rows());
        let (oc, ocg, rows_g) = (self.out_channels, self.out_channels / self.groups, rows / self.groups);
        let weight = &self.params[..self.weight_len()];
        let (dw, db) = grads.split_at_mut(self.weight_len());
        let all_cols = &scratch.f[..n * rows * pixels];
        let work = take(&mut scratch.g, pixels * oc + self.weight_len() + rows * pixels);
        let (dy_t, rest) = work.split_at_mut(pixels * oc);
        let (dw_t, dcols) = rest.split_at_mut(self.weight_len());
        dw_t.fill(0.0);
        for (s, cols) in all_cols.chunks_exact(rows * pixels).enumerate() {
            let dys = &dy[s * out_len..(s + 1) * out_len];
            for (c, plane) in dys.chunks_exact(pixels).enumerate() {
                for (p, &v) in plane.iter().enumerate() {
                    dy_t[p * oc + c] = v;
                }
            }
            for g in 0..self.groups {
                // dWᵀ_g[r, oc] += Σ_p cols_g[r, p] · dYᵀ[p, g·ocg + oc]
                let c_g = &cols[g * rows_g * pixels..];
                let dw_tg = &mut dw_t[g * rows_g * ocg..(g + 1) * rows_g * ocg];
                gemm_ld(Trans::NN, rows_g, ocg, pixels, (c_g, pixels), (&dy_t[g * ocg..], oc), (dw_tg, ocg), Write::Add);
            }
            if self.has_bias {
                for (d, plane) in db.iter_mut().zip(dys.chunks_exact(pixels)) {
                    *d += sum(plane);
                }
            }
            let Some(dx) = dx.as_deref_mut() else { continue };
            for g in 0..self.groups {
                let w_g = &weight[g * ocg * rows_g..(g + 1) * ocg * rows_g];
                let dy_g = &dys[g * ocg * pixels..(g + 1) * ocg * pixels];
                let dcols_g = &mut dcols[g * rows_g * pixels..(g + 1) * rows_g * pixels];
                gemm_ld(Trans::TN, rows_g, pixels, ocg, (w_g, rows_g), (dy_g, pixels), (dcols_g, pixels), Write::Overwrite);
            }
            self.write_input_gradient(&mut dx[s * in_len..(s + 1) * in_len], &mut scratch.h, |d| {
                d.fill(0.0);
                col2im(&self.geom, dcols, d);
            });
        }
        // dW_g[oc, r] += dWᵀ_g[r, oc]
        for (dw_g, dw_tg) in dw.chunks_exact_mut(ocg * rows_g).zip(dw_t.chunks_exact(ocg * rows_g)) {
            for (o, row) in dw_g.chunks_exact_mut(rows_g).enumerate() {
                for (r, d) in row.iter_mut().enumerate() {
                    *d += dw_tg[r * ocg + o];
                }
            }
        }
    }
}
