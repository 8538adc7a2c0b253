//! MaxPool2d and AvgPool2d: square window, stride (default = window), no padding, floor mode
//! (PyTorch defaults).
//!
//! # Shapes
//! `[N, C, H, W] → [N, C, ⌊(H−k)/s⌋+1, ⌊(W−k)/s⌋+1]`; no parameters.

use super::{take, Layer, Pass, Scratch};
use crate::engine::shape::Shape;
use crate::engine::spec::window_out;

/// Window geometry shared by the pooling layers.
#[derive(Clone, Debug)]
struct PoolGeom {
    input: Shape,
    output: Shape,
    kernel: usize,
    stride: usize,
}

impl PoolGeom {
    fn new(input: Shape, kernel: usize, stride: usize) -> Self {
        let oh = window_out(input.h, kernel, stride, 0).expect("validated by Spec::infer");
        let ow = window_out(input.w, kernel, stride, 0).expect("validated by Spec::infer");
        Self { input, output: Shape::new(input.c, oh, ow), kernel, stride }
    }

    /// Calls `f(output index, input index)` for every element of every window (indices within the
    /// chunk), windows in output order, elements in row-major order.
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

/// Max pooling layer.
#[derive(Clone, Debug)]
pub struct MaxPool2d {
    geom: PoolGeom,
}

impl MaxPool2d {
    /// Creates the layer for `input`.
    pub fn new(input: Shape, kernel: usize, stride: usize) -> Self {
        Self { geom: PoolGeom::new(input, kernel, stride) }
    }
}

impl Layer for MaxPool2d {
    fn input_shape(&self) -> Shape {
        self.geom.input
    }

    fn output_shape(&self) -> Shape {
        self.geom.output
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, scratch: &mut Scratch, _pass: &mut Pass) {
        let g = &self.geom;
        let planes = n * g.input.c;
        let outputs = planes * g.output.h * g.output.w;
        // Argmax (index within the chunk) is kept for the backward pass.
        let argmax = take(&mut scratch.idx, outputs);
        if g.kernel == 2 && g.stride == 2 {
            return pool_2x2(x, y, argmax, planes, g.input.w, g.input.h, g.output.h, g.output.w);
        }
        argmax.fill(u32::MAX);
        // NaN propagates, as in PyTorch: the first NaN wins and stays; otherwise the first maximum.
        g.for_each_window(planes, |o, i| {
            if argmax[o] == u32::MAX || (!y[o].is_nan() && (x[i] > y[o] || x[i].is_nan())) {
                y[o] = x[i];
                argmax[o] = i as u32;
            }
        });
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
        let g = &self.geom;
        let planes = n * g.input.c;
        let outputs = planes * g.output.h * g.output.w;
        dx[..planes * g.input.h * g.input.w].fill(0.0);
        for (&grad, &i) in dy[..outputs].iter().zip(&scratch.idx[..outputs]) {
            dx[i as usize] += grad;
        }
    }

    fn clone_box(&self) -> Box<dyn Layer> {
        Box::new(self.clone())
    }
}

/// Average pooling layer (every window lies inside the input, so each divides by k²).
#[derive(Clone, Debug)]
pub struct AvgPool2d {
    geom: PoolGeom,
}

impl AvgPool2d {
    /// Creates the layer for `input`.
    pub fn new(input: Shape, kernel: usize, stride: usize) -> Self {
        Self { geom: PoolGeom::new(input, kernel, stride) }
    }
}

impl Layer for AvgPool2d {
    fn input_shape(&self) -> Shape {
        self.geom.input
    }

    fn output_shape(&self) -> Shape {
        self.geom.output
    }

    fn forward(&self, x: &[f32], y: &mut [f32], n: usize, _scratch: &mut Scratch, _pass: &mut Pass) {
        let g = &self.geom;
        let planes = n * g.input.c;
        let out = &mut y[..planes * g.output.h * g.output.w];
        out.fill(0.0);
        g.for_each_window(planes, |o, i| out[o] += x[i]);
        let scale = 1.0 / (g.kernel * g.kernel) as f32;
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
        let g = &self.geom;
        let planes = n * g.input.c;
        dx[..planes * g.input.h * g.input.w].fill(0.0);
        let scale = 1.0 / (g.kernel * g.kernel) as f32;
        g.for_each_window(planes, |o, i| dx[i] += dy[o] * scale);
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
        let base = p * ih * iw;
        for oy in 0..oh {
            let top = base + 2 * oy * iw;
            let (r0, r1) = (&x[top..top + iw], &x[top + iw..top + 2 * iw]);
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
                            let i = c * s.h * s.w + (oy * st + ky) * s.w + ox * st + kx;
                            let v = x[i];
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
