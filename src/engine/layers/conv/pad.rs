//! Padding modes other than zeros (reflect, replicate, circular), as PyTorch's `F.pad`: the
//! padded input is materialised, and its gradient folded back onto the input.

use crate::engine::shape::Shape;
use crate::engine::spec::PaddingMode;

/// For non-zero padding modes: the padded input is materialised, each padded position reading
/// the source index these tables give.
#[derive(Clone, Debug)]
pub(super) struct PadMap {
    input: Shape,
    /// Source row of each padded row.
    pub(super) rows: Vec<usize>,
    /// Source column of each padded column.
    pub(super) cols: Vec<usize>,
}

impl PadMap {
    /// The tables for `input` padded by (before, after) rows and columns in `mode`.
    pub(super) fn new(input: Shape, pad_y: (usize, usize), pad_x: (usize, usize), mode: PaddingMode) -> Self {
        let table = |size: usize, (before, after): (usize, usize)| -> Vec<usize> {
            (0..size + before + after)
                .map(|p| {
                    let i = p as isize - before as isize;
                    let n = size as isize;
                    let src = match mode {
                        PaddingMode::Reflect => {
                            let period = 2 * (n - 1).max(1);
                            let m = i.rem_euclid(period);
                            if m < n { m } else { period - m }
                        }
                        PaddingMode::Replicate => i.clamp(0, n - 1),
                        PaddingMode::Circular | PaddingMode::Zeros => i.rem_euclid(n),
                    };
                    src as usize
                })
                .collect()
        };
        Self { input, rows: table(input.h, pad_y), cols: table(input.w, pad_x) }
    }

    /// Floats of one padded sample.
    pub(super) fn padded_len(&self) -> usize {
        self.input.c * self.rows.len() * self.cols.len()
    }

    /// Copies one sample into its padded form.
    pub(super) fn pad(&self, x: &[f32], out: &mut [f32]) {
        let (h, w) = (self.input.h, self.input.w);
        let mut o = 0;
        for c in 0..self.input.c {
            for &r in &self.rows {
                let line = &x[(c * h + r) * w..(c * h + r + 1) * w];
                for &s in &self.cols {
                    out[o] = line[s];
                    o += 1;
                }
            }
        }
    }

    /// Adds a padded sample's gradient back to the source positions (the adjoint of [`PadMap::pad`]).
    pub(super) fn fold(&self, d_padded: &[f32], dx: &mut [f32]) {
        let (h, w) = (self.input.h, self.input.w);
        let mut o = 0;
        for c in 0..self.input.c {
            for &r in &self.rows {
                let line = &mut dx[(c * h + r) * w..(c * h + r + 1) * w];
                for &s in &self.cols {
                    line[s] += d_padded[o];
                    o += 1;
                }
            }
        }
    }
}


#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_modes_map_like_pytorch() {
        // F.pad([1,2,3,4], (3,3), mode) on a length-4 row.
        let row = |mode| PadMap::new(Shape::new(1, 1, 4), (0, 0), (3, 3), mode).cols;
        assert_eq!(row(PaddingMode::Reflect), [3, 2, 1, 0, 1, 2, 3, 2, 1, 0]);
        assert_eq!(row(PaddingMode::Replicate), [0, 0, 0, 0, 1, 2, 3, 3, 3, 3]);
        assert_eq!(row(PaddingMode::Circular), [1, 2, 3, 0, 1, 2, 3, 0, 1, 2]);
    }
}
