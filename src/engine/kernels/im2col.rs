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
}

/// Fills `cols` (`c·k·k × oh·ow`) from one sample `x` (`c × h × w`).
pub fn im2col(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    let n_cols = g.col_cols();
    for ch in 0..g.c {
        let plane = &x[ch * g.h * g.w..(ch + 1) * g.h * g.w];
        for ky in 0..g.k {
            for kx in 0..g.k {
                let row = (ch * g.k + ky) * g.k + kx;
                let dst = &mut cols[row * n_cols..(row + 1) * n_cols];
                for oy in 0..g.oh {
                    let out = &mut dst[oy * g.ow..(oy + 1) * g.ow];
                    match g.src(oy, ky, g.h) {
                        None => out.fill(0.0),
                        Some(iy) => {
                            let line = &plane[iy * g.w..(iy + 1) * g.w];
                            for (ox, v) in out.iter_mut().enumerate() {
                                *v = g.src(ox, kx, g.w).map_or(0.0, |ix| line[ix]);
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
            for kx in 0..g.k {
                let row = (ch * g.k + ky) * g.k + kx;
                let src = &cols[row * n_cols..(row + 1) * n_cols];
                for oy in 0..g.oh {
                    let Some(iy) = g.src(oy, ky, g.h) else { continue };
                    let line = &mut plane[iy * g.w..(iy + 1) * g.w];
                    for (ox, &v) in src[oy * g.ow..(oy + 1) * g.ow].iter().enumerate() {
                        if let Some(ix) = g.src(ox, kx, g.w) {
                            line[ix] += v;
                        }
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
