//! im2col / col2im for 2-D convolutions with zero padding (one sample): rectangular kernels,
//! per-axis stride, dilation and padding (the padding after may differ from the padding before,
//! as PyTorch's `"same"` needs for even kernels).
//!
//! The column matrix has `c·kh·kw` rows and `oh·ow` columns, so a convolution is
//! `W[oc × c·kh·kw] · cols` and its gradients are GEMMs too.

use super::simd::V4;

/// The geometry of a convolution along one spatial axis.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Axis {
    /// Input length.
    pub size: usize,
    /// Kernel taps.
    pub kernel: usize,
    /// Stride.
    pub stride: usize,
    /// Zero padding before the input (the padding after only shows in `out`).
    pub pad: usize,
    /// Spacing between taps.
    pub dilation: usize,
    /// Output length.
    pub out: usize,
}

impl Axis {
    /// The axis for the given sizes, or `None` when the (dilated) kernel does not fit the padded
    /// input or a size is zero: out = ⌊(size + before + after − dilation·(kernel−1) − 1)/stride⌋ + 1.
    pub fn new(size: usize, kernel: usize, stride: usize, before: usize, after: usize, dilation: usize) -> Option<Self> {
        if kernel == 0 || stride == 0 || dilation == 0 {
            return None;
        }
        let span = dilation * (kernel - 1) + 1;
        let padded = size + before + after;
        (padded >= span).then(|| Axis { size, kernel, stride, pad: before, dilation, out: (padded - span) / stride + 1 })
    }

    /// Input index for output `o` and tap `t`, if inside the input.
    #[inline]
    fn src(&self, o: usize, t: usize) -> Option<usize> {
        (o * self.stride + t * self.dilation).checked_sub(self.pad).filter(|&v| v < self.size)
    }

    /// Output positions `lo..hi` whose input index `o·stride + t·dilation − pad` lies in the input.
    #[inline]
    fn valid(&self, t: usize) -> (usize, usize) {
        let (s, off) = (self.stride, t * self.dilation);
        let lo = self.pad.saturating_sub(off).div_ceil(s).min(self.out);
        let hi = (self.size + self.pad).saturating_sub(off).div_ceil(s).min(self.out);
        (lo, hi.max(lo))
    }

    /// First input index for output `lo` and tap `t` (only for `lo` inside [`Axis::valid`]).
    #[inline]
    fn first(&self, lo: usize, t: usize) -> usize {
        lo * self.stride + t * self.dilation - self.pad
    }
}

/// Geometry of one convolution over one sample.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    /// Input channels.
    pub c: usize,
    /// Along the height.
    pub y: Axis,
    /// Along the width.
    pub x: Axis,
}

impl ConvGeom {
    /// Rows of the column matrix (`c·kh·kw`).
    pub const fn col_rows(&self) -> usize {
        self.c * self.y.kernel * self.x.kernel
    }

    /// Columns of the column matrix (`oh·ow`).
    pub const fn col_cols(&self) -> usize {
        self.y.out * self.x.out
    }
}

thread_local! {
    /// The zero-padded copy of a sample that [`im2col`]'s fast path reads (reused per thread).
    static PADDED: std::cell::RefCell<Vec<f32>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Fills `cols` (`c·kh·kw × oh·ow`) from one sample `x` (`c × h × w`). `cols` may be longer
/// than the matrix: the fast path then writes whole vectors past a segment's end (into space
/// written afterwards, or left over), which saves the ragged tail of every segment.
pub fn im2col(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    if g.x.stride == 1 {
        PADDED.with(|p| im2col_padded(g, x, cols, &mut p.borrow_mut()));
    } else {
        im2col_clipped(g, x, cols);
    }
}

/// Rows and columns of the padded plane that a convolution reads: `(out−1)·stride + span`.
fn padded_extent(a: &Axis) -> usize {
    (a.out - 1) * a.stride + (a.kernel - 1) * a.dilation + 1
}

/// Fast path for unit stride along x: copy the sample once into a zero-padded plane, so that
/// every segment of every column row is one unclipped run `ow` long, copied with whole vectors.
fn im2col_padded(g: &ConvGeom, x: &[f32], cols: &mut [f32], padded: &mut Vec<f32>) {
    let (h, w, ow, n_cols) = (g.y.size, g.x.size, g.x.out, g.col_cols());
    let (ph, pw) = (padded_extent(&g.y), padded_extent(&g.x));
    let plane = ph * pw;
    // Slack of one vector: the last run of a row may read past the plane's end.
    let buf = super::take(padded, g.c * plane + 4);
    buf.fill(0.0);
    for ch in 0..g.c {
        for iy in 0..h {
            let py = iy + g.y.pad;
            if py >= ph {
                break;
            }
            let px0 = g.x.pad;
            let len = w.min(pw.saturating_sub(px0));
            let dst = ch * plane + py * pw + px0;
            buf[dst..dst + len].copy_from_slice(&x[(ch * h + iy) * w..(ch * h + iy) * w + len]);
        }
    }
    let vectors = ow.div_ceil(4);
    let total = cols.len();
    assert!(total >= g.col_rows() * n_cols, "column matrix too small");
    let (src, dst) = (buf.as_ptr(), cols.as_mut_ptr());
    let mut out = 0;
    for ch in 0..g.c {
        for ky in 0..g.y.kernel {
            for kx in 0..g.x.kernel {
                let mut from = ch * plane + ky * g.y.dilation * pw + kx * g.x.dilation;
                for _ in 0..g.y.out {
                    // SAFETY: reads stay below c·plane + 4 (a run starts inside the plane and
                    // is at most 3 floats longer than ow ≤ pw); writes are checked against
                    // `total` here, with the exact tail below for the matrix's very end.
                    unsafe {
                        if out + 4 * vectors <= total {
                            for v in 0..vectors {
                                V4::load_at(src.add(from + 4 * v)).store_at(dst.add(out + 4 * v));
                            }
                        } else {
                            for i in 0..ow {
                                *dst.add(out + i) = *src.add(from + i);
                            }
                        }
                    }
                    out += ow;
                    from += g.y.stride * pw;
                }
            }
        }
    }
}

/// The general path (any stride): clipped segments, zeros written where taps fall outside.
fn im2col_clipped(g: &ConvGeom, x: &[f32], cols: &mut [f32]) {
    let n_cols = g.col_cols();
    let (h, w, ow) = (g.y.size, g.x.size, g.x.out);
    for ch in 0..g.c {
        let plane = &x[ch * h * w..(ch + 1) * h * w];
        for ky in 0..g.y.kernel {
            let (y_lo, y_hi) = g.y.valid(ky);
            for kx in 0..g.x.kernel {
                let (x_lo, x_hi) = g.x.valid(kx);
                let row = (ch * g.y.kernel + ky) * g.x.kernel + kx;
                let dst = &mut cols[row * n_cols..(row + 1) * n_cols];
                zero_run(&mut dst[..y_lo * ow]);
                zero_run(&mut dst[y_hi * ow..]);
                for oy in y_lo..y_hi {
                    let iy = g.y.first(oy, ky);
                    let line = &plane[iy * w..(iy + 1) * w];
                    let out = &mut dst[oy * ow..(oy + 1) * ow];
                    zero_run(&mut out[..x_lo]);
                    zero_run(&mut out[x_hi..]);
                    if x_hi > x_lo {
                        let ix0 = g.x.first(x_lo, kx);
                        if g.x.stride == 1 {
                            copy_run(&mut out[x_lo..x_hi], &line[ix0..ix0 + (x_hi - x_lo)]);
                        } else {
                            for (o, v) in out[x_lo..x_hi].iter_mut().enumerate() {
                                *v = line[ix0 + o * g.x.stride];
                            }
                        }
                    }
                }
            }
        }
    }
}

/// Copies a short run (a row segment, typically 10–30 floats) with vector moves, the last one
/// overlapping: `copy_from_slice` of a run-time length calls memcpy (`memory.copy` in wasm), and
/// that fixed cost per call, with bounds checks per vector, made im2col ~1.5 cycles per float.
#[inline(always)]
fn copy_run(dst: &mut [f32], src: &[f32]) {
    let len = dst.len();
    assert!(src.len() >= len);
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    // SAFETY: every access below is at an index < len, checked against both slices above.
    unsafe {
        match len {
            0 => {}
            1 => *d = *s,
            2 => (*d, *d.add(1)) = (*s, *s.add(1)),
            3 => (*d, *d.add(1), *d.add(2)) = (*s, *s.add(1), *s.add(2)),
            _ => {
                let mut i = 0;
                while i + 4 <= len {
                    V4::load_at(s.add(i)).store_at(d.add(i));
                    i += 4;
                }
                if i < len {
                    V4::load_at(s.add(len - 4)).store_at(d.add(len - 4));
                }
            }
        }
    }
}

/// Zeroes a short run (the padding part of a row segment, usually 0–2 floats) without a memset call.
#[inline(always)]
fn zero_run(dst: &mut [f32]) {
    match dst.len() {
        0 => {}
        1 => dst[0] = 0.0,
        2 => dst[..2].copy_from_slice(&[0.0; 2]),
        3 => dst[..3].copy_from_slice(&[0.0; 3]),
        _ => dst.fill(0.0),
    }
}

/// `dst += src` over a short run: vectors, then at most three scalars.
#[inline(always)]
fn add_run(dst: &mut [f32], src: &[f32]) {
    let len = dst.len();
    assert!(src.len() >= len);
    let (d, s) = (dst.as_mut_ptr(), src.as_ptr());
    // SAFETY: every access below is at an index < len, checked against both slices above.
    unsafe {
        let mut i = 0;
        while i + 4 <= len {
            V4::load_at(d.add(i)).add(V4::load_at(s.add(i))).store_at(d.add(i));
            i += 4;
        }
        while i < len {
            *d.add(i) += *s.add(i);
            i += 1;
        }
    }
}

/// Adds the column-matrix gradient `cols` back into the sample gradient `dx` (which it accumulates).
pub fn col2im(g: &ConvGeom, cols: &[f32], dx: &mut [f32]) {
    let n_cols = g.col_cols();
    let (h, w, ow) = (g.y.size, g.x.size, g.x.out);
    for ch in 0..g.c {
        let plane = &mut dx[ch * h * w..(ch + 1) * h * w];
        for ky in 0..g.y.kernel {
            let (y_lo, y_hi) = g.y.valid(ky);
            for kx in 0..g.x.kernel {
                let (x_lo, x_hi) = g.x.valid(kx);
                if x_hi <= x_lo {
                    continue;
                }
                let row = (ch * g.y.kernel + ky) * g.x.kernel + kx;
                let src = &cols[row * n_cols..(row + 1) * n_cols];
                for oy in y_lo..y_hi {
                    let iy = g.y.first(oy, ky);
                    let line = &mut plane[iy * w..(iy + 1) * w];
                    let ix0 = g.x.first(x_lo, kx);
                    let from = &src[oy * ow + x_lo..oy * ow + x_hi];
                    if g.x.stride == 1 {
                        add_run(&mut line[ix0..ix0 + from.len()], from);
                    } else {
                        for (o, &v) in from.iter().enumerate() {
                            line[ix0 + o * g.x.stride] += v;
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
        for ky in 0..g.y.kernel {
            for kx in 0..g.x.kernel {
                let row = (ch * g.y.kernel + ky) * g.x.kernel + kx;
                for oy in 0..g.y.out {
                    for ox in 0..g.x.out {
                        let v = match (g.y.src(oy, ky), g.x.src(ox, kx)) {
                            (Some(iy), Some(ix)) => x[(ch * g.y.size + iy) * g.x.size + ix],
                            _ => 0.0,
                        };
                        cols[row * n_cols + oy * g.x.out + ox] = v;
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geom(c: usize, (h, w): (usize, usize), (kh, kw): (usize, usize), stride: (usize, usize), pad: (usize, usize, usize, usize), dil: (usize, usize)) -> ConvGeom {
        ConvGeom {
            c,
            y: Axis::new(h, kh, stride.0, pad.0, pad.1, dil.0).unwrap(),
            x: Axis::new(w, kw, stride.1, pad.2, pad.3, dil.1).unwrap(),
        }
    }

    #[test]
    fn im2col_pads_with_zeros_and_strides() {
        // 1×3×3 input 1..9, kernel 2, stride 2, pad 1 → 2×2 output.
        let g = geom(1, (3, 3), (2, 2), (2, 2), (1, 1, 1, 1), (1, 1));
        assert_eq!((g.y.out, g.x.out), (2, 2));
        let x: Vec<f32> = (1..=9).map(|v| v as f32).collect();
        let mut cols = vec![f32::NAN; 4 * 4];
        im2col(&g, &x, &mut cols);
        // Row (ky,kx)=(0,0): positions (-1,-1),(−1,1),(1,−1),(1,1) → 0,0,0,5.
        assert_eq!(&cols[0..4], &[0.0, 0.0, 0.0, 5.0]);
        // Row (1,1): positions (0,0),(0,2),(2,0),(2,2) → 1,3,7,9.
        assert_eq!(&cols[12..16], &[1.0, 3.0, 7.0, 9.0]);
    }

    #[test]
    fn dilation_spaces_the_taps() {
        // 1×1×5 input, kernel 2 dilation 3 → taps (0,3) and (1,4).
        let g = geom(1, (1, 5), (1, 2), (1, 1), (0, 0, 0, 0), (1, 3));
        assert_eq!(g.x.out, 2);
        let x = [10.0, 11.0, 12.0, 13.0, 14.0];
        let mut cols = vec![f32::NAN; 4];
        im2col(&g, &x, &mut cols);
        assert_eq!(cols, [10.0, 11.0, 13.0, 14.0]);
    }

    #[test]
    fn fast_im2col_matches_reference_for_every_geometry() {
        let cases = [
            ((5, 4), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)),
            ((6, 6), (5, 5), (1, 1), (2, 2, 2, 2), (1, 1)),
            ((7, 5), (2, 2), (3, 3), (0, 0, 0, 0), (1, 1)),
            ((4, 4), (3, 3), (1, 1), (3, 3, 3, 3), (1, 1)),
            ((9, 7), (3, 2), (2, 1), (2, 2, 0, 1), (2, 3)),
            ((8, 6), (4, 3), (1, 2), (1, 2, 0, 0), (2, 1)),
            // Unit stride along x (the padded fast path): odd widths, dilation, asymmetric
            // padding, row stride 2, a kernel as wide as the input, padding beyond the kernel.
            ((14, 14), (5, 5), (1, 1), (2, 2, 2, 2), (1, 1)),
            ((28, 28), (5, 5), (1, 1), (2, 2, 2, 2), (1, 1)),
            ((7, 7), (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),
            ((9, 11), (3, 4), (2, 1), (1, 2, 1, 2), (1, 2)),
            ((6, 5), (2, 5), (1, 1), (0, 0, 0, 0), (1, 1)),
            ((5, 3), (1, 1), (1, 1), (3, 2, 3, 1), (1, 1)),
            ((10, 13), (3, 3), (3, 1), (0, 1, 2, 0), (2, 2)),
        ];
        for (size, k, stride, pad, dil) in cases {
            let g = geom(2, size, k, stride, pad, dil);
            let x: Vec<f32> = (0..2 * size.0 * size.1).map(|v| v as f32 + 1.0).collect();
            let len = g.col_rows() * g.col_cols();
            let mut slow = vec![0.0; len];
            im2col_ref(&g, &x, &mut slow);
            // Exactly sized, and with slack that the fast path may scribble on.
            for slack in [0, 5] {
                let mut fast = vec![f32::NAN; len + slack];
                im2col(&g, &x, &mut fast);
                assert_eq!(fast[..len], slow[..], "{g:?} slack {slack}");
            }
        }
    }

    #[test]
    fn col2im_is_the_adjoint_of_im2col() {
        // <im2col(x), y> == <x, col2im(y)> for any x, y.
        for g in [geom(2, (5, 4), (3, 3), (2, 2), (1, 1, 1, 1), (1, 1)), geom(2, (7, 6), (2, 3), (1, 2), (1, 2, 2, 0), (2, 2))] {
            let len = g.c * g.y.size * g.x.size;
            let x: Vec<f32> = (0..len).map(|v| (v as f32 * 0.37).sin()).collect();
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
}
