//! im2col / col2im for square-kernel convolutions with zero padding (one sample).
//!
//! The column matrix has `c·k·k` rows and `oh·ow` columns, so a convolution is
//! `W[oc × c·k·k] · cols` and its gradients are GEMMs too.

/// Geometry of one convolution over one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub c: usize,
    /// Input height.
    pub h: usize,
    /// Input width.
    pub w: usize,
    /// Square kernel size.
    pub k: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding per side.
    pub pad: usize,
    /// Output height.
    pub oh: usize,
    /// Output width.
    pub ow: usize,
}

impl ConvGeom {
    /// Rows of the column matrix (`c·k·k`).
    pub const fn col_rows(&self) -> usize {
        self.c * self.k * self.k
    }

    /// Columns of the column matrix (`oh·ow`).
    pub const fn col_cols(&self) -> usize {
        self.oh * self.ow
    }

    /// Input row/column for output position `o` and kernel offset `kk`, if inside the image.
    #[inline]
    fn src(&self, o: usize, kk: usize, size: usize) -> Option<usize> {
        (o * self.stride + kk).checked_sub(self.pad).filter(|&v| v < size)
    }

    /// Output positions `lo..hi` whose input index `o·stride + kk − pad` lies in `0..size`.
    #[inline]
    fn valid(&self, kk: usize, size: usize, outputs: usize) -> (usize, usize) {
        let s = self.stride;
        let lo = self.pad.saturating_sub(kk).div_ceil(s);
        let hi = (size + self.pad).saturating_sub(kk).div_ceil(s);
        (lo.min(outputs), hi.min(outputs).max(lo.min(outputs)))
    }
}

/// Fills `cols` (`c·k·k × oh·ow`) from one sample `x` (`c × h × w`).
pub fn im2col(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    let n_cols = g.col_cols();
    for ch in 0..g.c {
        let plane = &x[ch * g.h * g.w..(ch + 1) * g.h * g.w];
        for ky in 0..g.k {
            let (y_lo, y_hi) = g.valid(ky, g.h, g.oh);
            for kx in 0..g.k {
                let (x_lo, x_hi) = g.valid(kx, g.w, g.ow);
                let row = (ch * g.k + ky) * g.k + kx;
                let dst = &mut cols[row * n_cols..(row + 1) * n_cols];
                dst[..y_lo * g.ow].fill(0.0);
                dst[y_hi * g.ow..].fill(0.0);
                for oy in y_lo..y_hi {
                    let iy = oy * g.stride + ky - g.pad;
                    let line = &plane[iy * g.w..(iy + 1) * g.w];
                    let out = &mut dst[oy * g.ow..(oy + 1) * g.ow];
                    out[..x_lo].fill(0.0);
                    out[x_hi..].fill(0.0);
                    if x_hi > x_lo {
                        let ix0 = x_lo * g.stride + kx - g.pad;
                        if g.stride == 1 {
                            out[x_lo..x_hi].copy_from_slice(&line[ix0..ix0 + (x_hi - x_lo)]);
                        } else {
                            for (o, v) in out[x_lo..x_hi].iter_mut().enumerate() {
                                *v = line[ix0 + o * g.stride];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Adds the column-matrix gradient `cols` back into the sample gradient `dx` (which it accumulates).
pub fn col2im(g: &ConvGeom, cols: &[f32], dx: &mut [f32]) {
    let n_cols = g.col_cols();
    for ch in 0..g.c {
        let plane = &mut dx[ch * g.h * g.w..(ch + 1) * g.h * g.w];
        for ky in 0..g.k {
            let (y_lo, y_hi) = g.valid(ky, g.h, g.oh);
            for kx in 0..g.k {
                let (x_lo, x_hi) = g.valid(kx, g.w, g.ow);
                if x_hi <= x_lo {
                    continue;
                }
                let row = (ch * g.k + ky) * g.k + kx;
                let src = &cols[row * n_cols..(row + 1) * n_cols];
                for oy in y_lo..y_hi {
                    let iy = oy * g.stride + ky - g.pad;
                    let line = &mut plane[iy * g.w..(iy + 1) * g.w];
                    let ix0 = x_lo * g.stride + kx - g.pad;
                    let from = &src[oy * g.ow + x_lo..oy * g.ow + x_hi];
                    if g.stride == 1 {
                        for (d, &v) in line[ix0..ix0 + from.len()].iter_mut().zip(from) {
                            *d += v;
                        }
                    } else {
                        for (o, &v) in from.iter().enumerate() {
                            line[ix0 + o * g.stride] += v;
                        }
                    }
                }
            }
        }
    }
}

/// Scalar reference im2col (per-element bounds checks), the truth for the fast version.
pub fn im2col_ref(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    let n_cols = g.col_cols();
    for ch in 0..g.c {
        for ky in 0..g.k {
            for kx in 0..g.k {
                let row = (ch * g.k + ky) * g.k + kx;
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        let v = match (g.src(oy, ky, g.h), g.src(ox, kx, g.w)) {
                            (Some(iy), Some(ix)) => x[(ch * g.h + iy) * g.w + ix],
                            _ => 0.0,
                        };
                        cols[row * n_cols + oy * g.ow + ox] = v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn im2col_pads_with_zeros_and_strides() {
        // 1×3×3 input 1..9, kernel 2, stride 2, pad 1 → 2×2 output.
        let g = ConvGeom { c: 1, h: 3, w: 3, k: 2, stride: 2, pad: 1, oh: 2, ow: 2 };
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut cols = vec![f32::NAN; 4 * 4];
        im2col(&g, &x, &mut cols);
        // Row (ky,kx)=(0,0): positions (-1,-1),(−1,1),(1,−1),(1,1) → 0,0,0,5.
        assert_eq!(&cols[0..4], &[0.0, 0.0, 0.0, 5.0]);
        // Row (1,1): positions (0,0),(0,2),(2,0),(2,2) → 1,3,7,9.
        assert_eq!(&cols[12..16], &[1.0, 3.0, 7.0, 9.0]);
    }

    #[test]
    fn fast_im2col_matches_reference_for_every_geometry() {
        for (h, w, k, stride, pad) in [(5, 4, 3, 2, 1), (6, 6, 5, 1, 2), (7, 5, 2, 3, 0), (4, 4, 3, 1, 3), (9, 7, 3, 2, 2)] {
            let window = |n: usize| (n + 2 * pad - k) / stride + 1;
            let g = ConvGeom { c: 2, h, w, k, stride, pad, oh: window(h), ow: window(w) };
            let x: Vec<f32> = (0..2 * h * w).map(|v| v as f32 + 1.0).collect();
            let (mut fast, mut slow) = (vec![f32::NAN; g.col_rows() * g.col_cols()], vec![0.0; g.col_rows() * g.col_cols()]);
            im2col(&g, &x, &mut fast);
            im2col_ref(&g, &x, &mut slow);
            assert_eq!(fast, slow, "{g:?}");
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), y> == <x, col2im(y)> for any x, y.
        let g = ConvGeom { c: 2, h: 5, w: 4, k: 3, stride: 2, pad: 1, oh: 3, ow: 2 };
        let x: Vec<f32> = (0..40).map(|v| (v as f32 * 0.37).sin()).collect();
        let y: Vec<f32> = (0..g.col_rows() * g.col_cols()).map(|v| (v as f32 * 0.11).cos()).collect();
        let mut cols = vec![0.0; y.len()];
        im2col(&g, &x, &mut cols);
        let lhs: f32 = cols.iter().zip(&y).map(|(a, b)| a * b).sum();
        let mut dx = vec![0.0; x.len()];
        col2im(&g, &y, &mut dx);
        let rhs: f32 = x.iter().zip(&dx).map(|(a, b)| a * b).sum();
        assert!((lhs - rhs).abs() < 1e-4, "{lhs} vs {rhs}");
    }
}
