//! MaxPool2d and AvgPool2d: square window, stride (default = window), no padding, floor mode
//! (PyTorch defaults).
//!
//! # Shapes
//! `[N, C, H, W] → [N, C, ⌊(H−k)/s⌋+1, ⌊(W−k)/s⌋+1]`; no parameters.

use super::{take, Layer, Pass, Scratch};
use crate::engine::shape::Shape;
use crate::engine::spec::window_out;

/// Max pooling layer.
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    input: Shape,
    output: Shape,
    kernel: usize,
    stride: usize,
}

impl MaxPool2d {
    /// Creates the layer for `input`.
    pub fn new(input: Shape, kernel: usize, stride: usize) -> Self {
        let oh = window_out(input.h, kernel, stride, 0).expect("validated by Spec::infer");
        let ow = window_out(input.w, kernel, stride, 0).expect("validated by Spec::infer");
        Self { input, output: Shape::new(input.c, oh, ow), kernel, stride }
    }
}

impl Layer for MaxPool2d {
    fn input_shape(&self) -> Shape {
        self.input
    }

    fn output_shape(&self) -> Shape {
        self.output
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let (ih, iw, oh, ow) = (self.input.h, self.input.w, self.output.h, self.output.w);
        let planes = n * self.input.c;
        // Argmax (index within the input plane) is kept for the backward pass.
        let argmax = take(&mut scratch.idx, planes * oh * ow);
        if self.kernel == 2 && self.stride == 2 {
            return pool_2x2(x, y, argmax, planes, iw, ih, oh, ow);
        }
        for p in 0..planes {
            let plane = &x[p * ih * iw..(p + 1) * ih * iw];
            for oy in 0..oh {
                for ox in 0..ow {
                    let (mut best, mut best_i) = (f32::NEG_INFINITY, oy * self.stride * iw + ox * self.stride);
                    for ky in 0..self.kernel {
                        let row = (oy * self.stride + ky) * iw + ox * self.stride;
                        for i in row..row + self.kernel {
                            // NaN propagates, as in PyTorch: the first NaN wins and stays.
                            if !best.is_nan() && (plane[i] > best || plane[i].is_nan()) {
                                best = plane[i];
                                best_i = i;
                            }
                        }
                    }
                    let o = (p * oh + oy) * ow + ox;
                    y[o] = best;
                    argmax[o] = best_i as u32;
                }
            }
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
        let (in_plane, out_plane) = (self.input.h * self.input.w, self.output.h * self.output.w);
        let planes = n * self.input.c;
        dx[..planes * in_plane].fill(0.0);
        for p in 0..planes {
            let dxp = &mut dx[p * in_plane..(p + 1) * in_plane];
            let range = p * out_plane..(p + 1) * out_plane;
            for (&g, &i) in dy[range.clone()].iter().zip(&scratch.idx[range]) {
                dxp[i as usize] += g;
            }
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Average pooling layer (every window lies inside the input, so each divides by k²).
#[derive(Clone, Debug)]
pub struct AvgPool2d {
    input: Shape,
    output: Shape,
    kernel: usize,
    stride: usize,
}

impl AvgPool2d {
    /// Creates the layer for `input`.
    pub fn new(input: Shape, kernel: usize, stride: usize) -> Self {
        let oh = window_out(input.h, kernel, stride, 0).expect("validated by Spec::infer");
        let ow = window_out(input.w, kernel, stride, 0).expect("validated by Spec::infer");
        Self { input, output: Shape::new(input.c, oh, ow), kernel, stride }
    }

    /// Calls `f(output index, input index)` for every window element, output by output.
    fn for_each_window(&self, planes: usize, mut f: impl FnMut(usize, usize)) {
        let (ih, iw, oh, ow) = (self.input.h, self.input.w, self.output.h, self.output.w);
        for p in 0..planes {
            for oy in 0..oh {
                for ox in 0..ow {
                    let o = (p * oh + oy) * ow + ox;
                    for ky in 0..self.kernel {
                        let row = p * ih * iw + (oy * self.stride + ky) * iw + ox * self.stride;
                        for i in row..row + self.kernel {
                            f(o, i);
                        }
                    }
                }
            }
        }
    }
}

impl Layer for AvgPool2d {
    fn input_shape(&self) -> Shape {
        self.input
    }

    fn output_shape(&self) -> Shape {
        self.output
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let planes = n * self.input.c;
        let out = &mut y[..planes * self.output.h * self.output.w];
        out.fill(0.0);
        self.for_each_window(planes, |o, i| out[o] += x[i]);
        let scale = 1.0 / (self.kernel * self.kernel) as f32;
        out.iter_mut().for_each(|v| *v *= scale);
    }

    fn backward(
        &self,
        _x: &[f32],
        _y: &[f32],
        dy: &[f32],
        dx: Option<&mut [f32]>,
        _grads: &mut [f32],
        n: usize,
        _scratch: &mut Scratch,
    ) {
        let Some(dx) = dx else { return };
        let planes = n * self.input.c;
        dx[..planes * self.input.h * self.input.w].fill(0.0);
        let scale = 1.0 / (self.kernel * self.kernel) as f32;
        self.for_each_window(planes, |o, i| dx[i] += dy[o] * scale);
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// The common 2×2, stride-2 case without the general loop's bookkeeping. Same result: the first
/// maximum in row-major window order wins, and a NaN wins over everything.
#[allow(clippy::too_many_arguments)]
fn pool_2x2(x: &[f32], y: &mut [f32], argmax: &mut [u32], planes: usize, iw: usize, ih: usize, oh: usize, ow: usize) {
    for p in 0..planes {
        let plane = &x[p * ih * iw..(p + 1) * ih * iw];
        for oy in 0..oh {
            let top = 2 * oy * iw;
            let (r0, r1) = (&plane[top..top + iw], &plane[top + iw..top + 2 * iw]);
            let out = (p * oh + oy) * ow;
            for ox in 0..ow {
                let candidates = [(r0[2 * ox], top + 2 * ox), (r0[2 * ox + 1], top + 2 * ox + 1),
                    (r1[2 * ox], top + iw + 2 * ox), (r1[2 * ox + 1], top + iw + 2 * ox + 1)];
                let mut best = candidates[0];
                for c in &candidates[1..] {
                    if !best.0.is_nan() && (c.0 > best.0 || c.0.is_nan()) {
                        best = *c;
                    }
                }
                y[out + ox] = best.0;
                argmax[out + ox] = best.1 as u32;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    /// Naive reference: max over each window, first maximum wins, first NaN wins.
    fn reference(x: &[f32], s: Shape, k: usize, st: usize) -> (Vec<f32>, Vec<u32>) {
        let (oh, ow) = ((s.h - k) / st + 1, (s.w - k) / st + 1);
        let (mut y, mut idx) = (vec![], vec![]);
        for c in 0..s.c {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut best: Option<(f32, usize)> = None;
                    for ky in 0..k {
                        for kx in 0..k {
                            let i = (oy * st + ky) * s.w + ox * st + kx;
                            let v = x[c * s.h * s.w + i];
                            best = match best {
                                None => Some((v, i)),
                                Some(b) if b.0.is_nan() => Some(b),
                                Some(b) if v.is_nan() || v > b.0 => Some((v, i)),
                                keep => keep,
                            };
                        }
                    }
                    let (v, i) = best.unwrap();
                    y.push(v);
                    idx.push(i as u32);
                }
            }
        }
        (y, idx)
    }

    #[test]
    fn both_paths_match_the_reference_with_ties_and_nan() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let shape = Shape::new(3, 6, 7);
        // Few distinct values (many ties) and some NaNs.
        let x: Vec<f32> = (0..shape.len())
            .map(|_| if rng.random_bool(0.05) { f32::NAN } else { rng.random_range(0..4) as f32 })
            .collect();
        for (k, st) in [(2, 2), (3, 2), (2, 1), (3, 3)] {
            let pool = MaxPool2d::new(shape, k, st);
            let mut y = vec![0.0; pool.output_shape().len()];
            let mut scratch = Scratch::default();
            let mut r = ChaCha8Rng::seed_from_u64(0);
            pool.forward(&x, &mut y, 1, &mut scratch, &mut Pass { train: true, rng: &mut r });
            let (ry, ridx) = reference(&x, shape, k, st);
            let bits = |v: &[f32]| v.iter().map(|f| if f.is_nan() { u32::MAX } else { f.to_bits() }).collect::<Vec<_>>();
            assert_eq!(bits(&y), bits(&ry), "k{k} s{st} values");
            assert_eq!(&scratch.idx[..ridx.len()], &ridx[..], "k{k} s{st} argmax");
        }
    }
}
