//! A sequential network: layers plus per-chunk workspaces for forward and backward passes.

use super::layers::{self, Layer, Pass, Scratch};
use super::loss::{Loss, LossSum};
use super::profile::{NoProfiler, Phase, Profiler};
use super::shape::Shape;
use super::spec::{Spec, SpecError};

/// The layers of a model, built from a [`Spec`].
#[derive(Clone)]
pub struct Network {
    /// Layers in order.
    pub layers: Vec<Box<dyn Layer>>,
    /// Per-sample input shape.
    pub input: Shape,
    /// Number of output classes.
    pub classes: usize,
    /// Each layer's tensor-name prefix in PyTorch's `state_dict` (`3`, `3.body.1`, `3.shortcut`).
    pub prefixes: Vec<String>,
    /// For each spec layer, the index of the layer giving its output (a residual block opens
    /// into several layers).
    pub ends: Vec<usize>,
}

/// Buffers for running `capacity` samples through a network (reused across steps).
#[derive(Clone)]
pub struct Workspace {
    capacity: usize,
    /// `acts[0]` is the input, `acts[i + 1]` the output of layer `i`.
    acts: Vec<Vec<f32>>,
    /// Ping-pong buffers for activation gradients.
    grad_a: Vec<f32>,
    grad_b: Vec<f32>,
    scratch: Vec<Scratch>,
    /// Parameter gradients per layer (accumulated by backward).
    pub grads: Vec<Vec<f32>>,
    /// Loss and correct count of the last chunk trained with this workspace.
    pub last: LossSum,
    /// Partial sums of a batch-coupled layer (BatchNorm) for this chunk.
    pub stats: Vec<f64>,
    /// Per layer: a residual join's gradient for its block's input, added when the backward pass
    /// reaches that input (empty for other layers).
    skip_grads: Vec<Vec<f32>>,
}

impl Workspace {
    /// Bytes the workspace holds (capacities, scratch included): what the memory budget of
    /// `spec::memory` must cover.
    pub fn bytes(&self) -> u64 {
        let f32s = |v: &Vec<f32>| v.capacity() as u64 * 4;
        let acts: u64 = self.acts.iter().map(f32s).sum();
        let grads: u64 = self.grads.iter().map(f32s).sum();
        let scratch: u64 = self.scratch.iter().map(|s| f32s(&s.f) + f32s(&s.g) + f32s(&s.h) + s.idx.capacity() as u64 * 4).sum();
        let skips: u64 = self.skip_grads.iter().map(f32s).sum();
        acts + grads + scratch + skips + f32s(&self.grad_a) + f32s(&self.grad_b) + self.stats.capacity() as u64 * 8
    }
}

impl Network {
    /// Builds and initialises the network of a spec from `seed`.
    pub fn from_spec(spec: &Spec) -> Result<Self, SpecError> {
        let mut rng = crate::engine::streams::Purpose::Init.rng(spec.seed);
        let layers = layers::build(spec, &mut rng)?;
        let prefixes = spec.flat().iter().map(|f| f.state_prefix()).collect();
        Ok(Self { layers, input: spec.input_shape(), classes: spec.classes(), prefixes, ends: spec.flat_ends() })
    }

    /// Parameter count of each layer.
    pub fn param_lens(&self) -> Vec<usize> {
        self.layers.iter().map(|l| l.params().len()).collect()
    }

    /// Total trainable parameters.
    pub fn param_count(&self) -> usize {
        self.param_lens().iter().sum()
    }

    /// A workspace able to hold `capacity` samples.
    pub fn workspace(&self, capacity: usize) -> Workspace {
        let mut acts = vec![vec![0.0; capacity * self.input.len()]];
        let mut widest = self.input.len();
        for layer in &self.layers {
            let len = layer.output_shape().len();
            widest = widest.max(len);
            acts.push(vec![0.0; capacity * len]);
        }
        Workspace {
            capacity,
            acts,
            grad_a: vec![0.0; capacity * widest],
            grad_b: vec![0.0; capacity * widest],
            scratch: vec![Scratch::default(); self.layers.len()],
            grads: self.param_lens().into_iter().map(|n| vec![0.0; n]).collect(),
            last: LossSum::default(),
            stats: Vec::new(),
            skip_grads: self.layers.iter().map(|l| l.join().map_or_else(Vec::new, |j| vec![0.0; capacity * j.skip_len()])).collect(),
        }
    }

    /// Runs layer `i` forward on the workspace's activations (a join also reads its block's input).
    fn run_forward(&self, i: usize, n: usize, ws: &mut Workspace, pass: &mut Pass) {
        let (before, after) = ws.acts.split_at_mut(i + 1);
        match self.layers[i].join() {
            Some(j) => j.forward_join(&before[i], &before[j.from], &mut after[0], n, &mut ws.scratch[i], pass),
            None => self.layers[i].forward(&before[i], &mut after[0], n, &mut ws.scratch[i], pass),
        }
    }

    /// Runs layer `i` backward from `ws.grad_a` (its output's gradient); afterwards `ws.grad_a`
    /// holds its input's gradient when `input_grad`, residual shortcuts' shares included.
    fn run_backward(&self, i: usize, n: usize, ws: &mut Workspace, input_grad: bool) {
        let dx = if input_grad { Some(&mut ws.grad_b[..]) } else { None };
        match self.layers[i].join() {
            Some(j) => j.backward_join(&ws.acts[j.from], &ws.grad_a, dx, &mut ws.skip_grads[i], &mut ws.grads[i], n, &mut ws.scratch[i]),
            None => self.layers[i].backward(&ws.acts[i], &ws.acts[i + 1], &ws.grad_a, dx, &mut ws.grads[i], n, &mut ws.scratch[i]),
        }
        std::mem::swap(&mut ws.grad_a, &mut ws.grad_b);
        if input_grad {
            self.add_skip_grads(i, n, ws);
        }
    }

    /// Adds the shortcut gradients of the blocks whose input is activation `i` into `ws.grad_a`.
    fn add_skip_grads(&self, i: usize, n: usize, ws: &mut Workspace) {
        for (k, layer) in self.layers.iter().enumerate().skip(i) {
            if let Some(j) = layer.join().filter(|j| j.from == i) {
                let len = n * j.skip_len();
                for (g, &s) in ws.grad_a[..len].iter_mut().zip(&ws.skip_grads[k][..len]) {
                    *g += s;
                }
            }
        }
    }

    /// Runs `n` samples (`x`, NCHW) forward; returns the logits (`n × classes`).
    pub fn forward<'w>(&self, x: &[f32], n: usize, ws: &'w mut Workspace, pass: &mut Pass) -> &'w [f32] {
        self.forward_profiled(x, n, ws, pass, &mut NoProfiler)
    }

    /// [`Network::forward`] reporting each layer to `prof`.
    pub fn forward_profiled<'w>(
        &self,
        x: &[f32],
        n: usize,
        ws: &'w mut Workspace,
        pass: &mut Pass,
        prof: &mut impl Profiler,
    ) -> &'w [f32] {
        assert!(n <= ws.capacity, "workspace holds {} samples, asked for {n}", ws.capacity);
        let in_len = n * self.input.len();
        ws.acts[0][..in_len].copy_from_slice(&x[..in_len]);
        for i in 0..self.layers.len() {
            prof.enter(i, Phase::Forward);
            self.run_forward(i, n, ws, pass);
            prof.exit(i, Phase::Forward);
        }
        &ws.acts[self.layers.len()][..n * self.classes]
    }

    /// Forward, loss and backward for `n` samples; parameter gradients (scaled by `scale`, i.e.
    /// 1/batch) are added into `ws.grads`.
    pub fn train_chunk(&self, x: &[f32], labels: &[u8], loss: &Loss, scale: f32, ws: &mut Workspace, pass: &mut Pass) -> LossSum {
        self.train_chunk_profiled(x, labels, loss, scale, ws, pass, &mut NoProfiler)
    }

    /// [`Network::train_chunk`] reporting each layer pass to `prof`.
    #[allow(clippy::too_many_arguments)]
    pub fn train_chunk_profiled(
        &self,
        x: &[f32],
        labels: &[u8],
        loss: &Loss,
        scale: f32,
        ws: &mut Workspace,
        pass: &mut Pass,
        prof: &mut impl Profiler,
    ) -> LossSum {
        let n = labels.len();
        self.forward_profiled(x, n, ws, pass, prof);
        let last = self.layers.len();
        let logits = &ws.acts[last][..n * self.classes];
        let result = loss.compute(logits, labels, self.classes, scale, Some(&mut ws.grad_a[..n * self.classes]));
        for i in (0..last).rev() {
            prof.enter(i, Phase::Backward);
            // The first layer's input gradient is never needed.
            self.run_backward(i, n, ws, i > 0);
            prof.exit(i, Phase::Backward);
        }
        result
    }

    /// Backward pass from a given gradient of the `n` outputs (after [`Network::forward`] on the
    /// same workspace): parameter gradients are added into `ws.grads`; returns the input
    /// gradient when `input_grad` is set.
    pub fn backward_from<'w>(&self, dy: &[f32], n: usize, ws: &'w mut Workspace, input_grad: bool) -> Option<&'w [f32]> {
        let out_len = n * self.classes;
        ws.grad_a[..out_len].copy_from_slice(&dy[..out_len]);
        for i in (0..self.layers.len()).rev() {
            self.run_backward(i, n, ws, i > 0 || input_grad);
        }
        input_grad.then(|| &ws.grad_a[..n * self.input.len()])
    }

    /// True when some layer needs whole-batch statistics in training (BatchNorm).
    pub fn has_coupled(&self) -> bool {
        self.layers.iter().any(|l| l.coupled().is_some())
    }

    /// Copies `n` samples into the workspace's input slot (layer-by-layer training).
    pub fn load(&self, x: &[f32], n: usize, ws: &mut Workspace) {
        let len = n * self.input.len();
        ws.acts[0][..len].copy_from_slice(&x[..len]);
    }

    /// Forward of layer `i` alone on the workspace's `n` samples.
    pub fn forward_layer(&self, i: usize, n: usize, ws: &mut Workspace, pass: &mut Pass) {
        self.run_forward(i, n, ws, pass);
    }

    /// Batch-coupled layer `i`: this chunk's forward partial sums into `ws.stats`.
    pub fn coupled_forward_stats(&self, i: usize, n: usize, ws: &mut Workspace) {
        let c = self.layers[i].coupled().expect("coupled layer");
        let acc = super::kernels::take(&mut ws.stats, c.stat_len());
        acc.fill(0.0);
        c.forward_stats(&ws.acts[i], n, acc);
    }

    /// Batch-coupled layer `i`: forward with the batch totals.
    pub fn coupled_forward_apply(&self, i: usize, n: usize, ws: &mut Workspace, totals: &[f64], count: usize) {
        let c = self.layers[i].coupled().expect("coupled layer");
        let (before, after) = ws.acts.split_at_mut(i + 1);
        c.forward_apply(&before[i], &mut after[0], n, totals, count, &mut ws.scratch[i]);
    }

    /// Loss of the workspace's logits; its gradient (times `scale`) seeds the backward pass.
    pub fn loss_gradient(&self, labels: &[u8], loss: &Loss, scale: f32, ws: &mut Workspace) -> LossSum {
        let n = labels.len();
        let logits = &ws.acts[self.layers.len()][..n * self.classes];
        loss.compute(logits, labels, self.classes, scale, Some(&mut ws.grad_a[..n * self.classes]))
    }

    /// Backward of layer `i` alone (layers are visited last to first).
    pub fn backward_layer(&self, i: usize, n: usize, ws: &mut Workspace) {
        self.run_backward(i, n, ws, i > 0);
    }

    /// Batch-coupled layer `i`: this chunk's backward partial sums (and parameter gradients).
    pub fn coupled_backward_stats(&self, i: usize, n: usize, ws: &mut Workspace) {
        let c = self.layers[i].coupled().expect("coupled layer");
        let acc = super::kernels::take(&mut ws.stats, c.stat_len());
        acc.fill(0.0);
        c.backward_stats(&ws.acts[i], &ws.grad_a, n, &ws.scratch[i], &mut ws.grads[i], acc);
    }

    /// Batch-coupled layer `i`: input gradient with the batch totals.
    pub fn coupled_backward_apply(&self, i: usize, n: usize, ws: &mut Workspace, totals: &[f64], count: usize) {
        let c = self.layers[i].coupled().expect("coupled layer");
        if i > 0 {
            c.backward_apply(&ws.acts[i], &ws.grad_a, &mut ws.grad_b, n, &ws.scratch[i], totals, count);
        }
        std::mem::swap(&mut ws.grad_a, &mut ws.grad_b);
        if i > 0 {
            self.add_skip_grads(i, n, ws);
        }
    }

    /// Output of layer `i` for the first `n` samples of the last forward pass on `ws`.
    pub fn layer_output<'w>(&self, i: usize, n: usize, ws: &'w Workspace) -> &'w [f32] {
        &ws.acts[i + 1][..n * self.layers[i].output_shape().len()]
    }

}
