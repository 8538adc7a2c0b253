//! Convolution without groups on packed operands (`kernels::packed`): the column matrix of each
//! sample in pixel panels straight from the image, the weights in row tiles. Forward is one GEMM
//! per sample; the weight gradient reads the same panels; the input gradient, for unit strides,
//! is the convolution of dY with the flipped kernel (panels of dY's columns), otherwise col2im of
//! `Wᵀ·dY`. Measured in Chromium against the per-group path's GEMMs on the reference net's
//! shapes: 38–40 GFLOPS instead of 31–36 (fused multiply-add).

use super::{take, Conv2d, Scratch};
use crate::engine::kernels::gemm::{gemm_ld, Trans, Write};
use crate::engine::kernels::im2col::{col2im, im2col_panels};
use crate::engine::kernels::packed::{
    channel_panels_len, gemm_dw_panels, gemm_panels, pack_a, pack_channels, packed_a_len, panels_len, Start, DW_SLACK, NR,
};

impl Conv2d {
    /// Floats of one sample's column panels in `scratch.f` (slack for the dW kernel included).
    fn panel_stride(&self) -> usize {
        panels_len(self.geom.col_rows(), self.geom.col_cols()) + DW_SLACK
    }

    /// Per sample: its column panels, then `Y = bias + W·cols`. The panels of every sample are
    /// kept for the backward pass when one follows; otherwise one sample's buffer is reused,
    /// which stays in cache (a chunk's panels overflow L2).
    pub(super) fn forward_panels(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, keep: bool) {
        let (k, pixels, oc) = (self.geom.col_rows(), self.geom.col_cols(), self.out_channels);
        let (weight, bias) = self.params.split_at(self.weight_len());
        let packed_w = take(&mut scratch.g, packed_a_len(oc, k));
        pack_a(oc, k, weight, k, packed_w);
        let stride = self.panel_stride();
        let all = take(&mut scratch.f, if keep { n } else { 1 } * stride);
        let start = if self.has_bias { Start::Bias(bias) } else { Start::Zero };
        for s in 0..n {
            let panels = &mut all[if keep { s * stride } else { 0 }..][..stride];
            im2col_panels(&self.geom, self.sample(x, s, &mut scratch.h), panels);
            gemm_panels(oc, pixels, k, packed_w, panels, &mut y[s * oc * pixels..(s + 1) * oc * pixels], pixels, start);
        }
    }

    /// Per sample: dY in channel panels, `dWᵀ += cols·dYᵀ` on the forward pass's panels, and the
    /// input gradient (see the module notes).
    pub(super) fn backward_panels(&self, dy: &[f32], mut dx: Option<&mut [f32]>, grads: &mut [f32], n: usize, scratch: &mut Scratch) {
        let (k, pixels, oc, c) = (self.geom.col_rows(), self.geom.col_cols(), self.out_channels, self.geom.c);
        let in_len = self.input.len();
        let oc_padded = oc.div_ceil(NR) * NR;
        let (dw, db) = grads.split_at_mut(self.weight_len());
        let dx_work = match (&self.transposed, dx.is_some()) {
            (_, false) => 0,
            // The flipped kernel, packed, and the panels of dY's columns.
            (Some(t), true) => self.weight_len() + packed_a_len(c, t.col_rows()) + panels_len(t.col_rows(), t.col_cols()),
            (None, true) => k * pixels,
        };
        let work = take(&mut scratch.g, channel_panels_len(oc, pixels) + k * oc_padded + dx_work);
        let (dy_panels, rest) = work.split_at_mut(channel_panels_len(oc, pixels));
        let (dw_t, dx_work) = rest.split_at_mut(k * oc_padded);
        dw_t.fill(0.0);
        if let (Some(t), true) = (&self.transposed, dx.is_some()) {
            let (flipped, packed) = dx_work.split_at_mut(self.weight_len());
            self.flip_kernel(flipped);
            pack_a(c, t.col_rows(), flipped, t.col_rows(), packed);
        }
        let stride = self.panel_stride();
        for (s, panels) in scratch.f[..n * stride].chunks_exact(stride).enumerate() {
            let dys = &dy[s * oc * pixels..(s + 1) * oc * pixels];
            pack_channels(oc, pixels, dys, dy_panels);
            gemm_dw_panels(k, oc, pixels, panels, dy_panels, dw_t, oc_padded);
            if self.has_bias {
                for (d, plane) in db.iter_mut().zip(dys.chunks_exact(pixels)) {
                    *d += plane.iter().sum::<f32>();
                }
            }
            let Some(dx) = dx.as_deref_mut() else { continue };
            self.write_input_gradient(&mut dx[s * in_len..(s + 1) * in_len], &mut scratch.h, |d| match &self.transposed {
                Some(t) => {
                    let (kt, hw) = (t.col_rows(), t.col_cols());
                    let (packed, dy_cols) = dx_work[self.weight_len()..].split_at_mut(packed_a_len(c, kt));
                    im2col_panels(t, dys, dy_cols);
                    gemm_panels(c, hw, kt, packed, dy_cols, d, hw, Start::Zero);
                }
                None => {
                    let dcols = &mut dx_work[..k * pixels];
                    let weight = &self.params[..self.weight_len()];
                    gemm_ld(Trans::TN, k, pixels, oc, (weight, k), (dys, pixels), (dcols, pixels), Write::Overwrite);
                    d.fill(0.0);
                    col2im(&self.geom, dcols, d);
                }
            });
        }
        // dW[o, i] += dWᵀ[i, o]
        for (o, row) in dw.chunks_exact_mut(k).enumerate() {
            for (i, d) in row.iter_mut().enumerate() {
                *d += dw_t[i * oc_padded + o];
            }
        }
    }

    /// Writes the flipped kernel `Wf[c, (o, ky, kx)] = W[o, c, kh−1−ky, kw−1−kx]`: the weights of
    /// the input gradient as a convolution of dY.
    fn flip_kernel(&self, out: &mut [f32]) {
        let taps = self.geom.y.kernel * self.geom.x.kernel;
        let (c, oc) = (self.geom.c, self.out_channels);
        for o in 0..oc {
            for ch in 0..c {
                let src = &self.params[(o * c + ch) * taps..][..taps];
                let dst = &mut out[ch * oc * taps + o * taps..][..taps];
                for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                    *d = *s;
                }
            }
        }
    }
}
