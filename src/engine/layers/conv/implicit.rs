//! Convolution without groups and with unit stride along x, as an implicit GEMM
//! (`kernels::implicit`): the kernels read each sample's zero-padded plane, and no column matrix
//! is written. Forward is one kernel call per sample; the weight gradient reads the planes the
//! forward pass kept; the input gradient, for unit strides, is the forward kernel again on dY's
//! padded plane with the flipped kernel, otherwise (and where the output has far fewer pixels
//! than the input, as after a "valid" convolution) col2im of `Wᵀ·dY`.

use super::{take, Conv2d, Scratch};
use crate::engine::kernels::gemm::{gemm_ld, Trans, Write};
use crate::engine::kernels::im2col::col2im;
use crate::engine::kernels::implicit::{conv_forward, conv_weight_grad};
use crate::engine::kernels::packed::{channel_panels_len, pack_a, pack_channels, packed_a_len, Start, NR};
use crate::engine::kernels::reduce::sum;

impl Conv2d {
    /// Per sample: its padded plane, then `Y = bias + W·cols`. Every sample's plane is kept for
    /// the backward pass when one follows (`keep`); otherwise one buffer is reused.
    pub(super) fn forward_implicit(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, keep: bool) {
        let layout = self.layout.as_ref().expect("implicit layout");
        let (k, pixels, oc) = (self.geom.col_rows(), self.geom.col_cols(), self.out_channels);
        let (weight, bias) = self.params.split_at(self.weight_len());
        let packed_w = take(&mut scratch.g, packed_a_len(oc, k));
        pack_a(oc, k, weight, k, packed_w);
        let len = layout.len(self.geom.c);
        let planes = take(&mut scratch.f, if keep { n } else { 1 } * len);
        let start = if self.has_bias { Start::Bias(bias) } else { Start::Zero };
        for s in 0..n {
            let plane = &mut planes[if keep { s * len } else { 0 }..][..len];
            layout.pad(&self.geom, self.sample(x, s, &mut scratch.h), plane);
            conv_forward(&self.geom, layout, oc, packed_w, plane, &mut y[s * oc * pixels..(s + 1) * oc * pixels], start);
        }
    }

    /// Per sample: dY in channel panels, `dWᵀ += cols·dYᵀ` on the kept plane, and the input
    /// gradient (see the module notes).
    pub(super) fn backward_implicit(&self, dy: &[f32], mut dx: Option<&mut [f32]>, grads: &mut [f32], n: usize, scratch: &mut Scratch) {
        let layout = self.layout.as_ref().expect("implicit layout");
        let (k, pixels, oc, c) = (self.geom.col_rows(), self.geom.col_cols(), self.out_channels, self.geom.c);
        let in_len = self.input.len();
        let oc_padded = oc.div_ceil(NR) * NR;
        let (dw, db) = grads.split_at_mut(self.weight_len());
        let dx_work = match (&self.transposed, dx.is_some()) {
            (_, false) => 0,
            // The flipped kernel, packed, and dY's padded plane.
            (Some((t, tl)), true) => self.weight_len() + packed_a_len(c, t.col_rows()) + tl.len(t.c),
            (None, true) => k * pixels,
        };
        let work = take(&mut scratch.g, channel_panels_len(oc, pixels) + k * oc_padded + dx_work);
        let (dy_panels, rest) = work.split_at_mut(channel_panels_len(oc, pixels));
        let (dw_t, dx_work) = rest.split_at_mut(k * oc_padded);
        dw_t.fill(0.0);
        if let (Some((t, _)), true) = (&self.transposed, dx.is_some()) {
            let (flipped, packed) = dx_work.split_at_mut(self.weight_len());
            self.flip_kernel(flipped);
            pack_a(c, t.col_rows(), flipped, t.col_rows(), packed);
        }
        let len = layout.len(c);
        for (s, plane) in scratch.f[..n * len].chunks_exact(len).enumerate() {
            let dys = &dy[s * oc * pixels..(s + 1) * oc * pixels];
            pack_channels(oc, pixels, dys, dy_panels);
            conv_weight_grad(&self.geom, layout, oc, plane, dy_panels, dw_t, oc_padded);
            if self.has_bias {
                for (d, plane) in db.iter_mut().zip(dys.chunks_exact(pixels)) {
                    *d += sum(plane);
                }
            }
            let Some(dx) = dx.as_deref_mut() else { continue };
            self.write_input_gradient(&mut dx[s * in_len..(s + 1) * in_len], &mut scratch.h, |d| match &self.transposed {
                Some((t, tl)) => {
                    let (packed, dy_plane) = dx_work[self.weight_len()..].split_at_mut(packed_a_len(c, t.col_rows()));
                    tl.pad(t, dys, dy_plane);
                    conv_forward(t, tl, c, packed, dy_plane, d, Start::Zero);
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
