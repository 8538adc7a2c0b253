//! What training a spec needs in memory, estimated from shape inference before anything is
//! allocated, so that a model too large for a browser tab is refused with a message instead of
//! crashing the engine.
//!
//! Counted (f32 = 4 bytes): the parameters with their gradients (one per chunk workspace), the
//! copy predictions read, a checkpoint being written, the copy weights are imported into and the
//! early-stopping copy; the optimizer
//! state (two arrays per parameter, Adam's); for every chunk of the batch a workspace holding
//! every layer's output, two gradient buffers as wide as the widest layer and the layers'
//! scratch; [`LANES`] evaluation workspaces of [`EVAL_CHUNK`] images (inference runs in that many
//! lanes whatever the thread count); the batch itself. `tests/memory_budget.rs` checks the estimate against what
//! the trainer really holds.

use super::flat::{projection_stride, shortcut_conv, FlatLayer, Step};
use super::{LayerInfo, LayerSpec, Padding, Pair, Shortcut, Spec, SpecError};
use crate::engine::lanes::LANES;
use crate::engine::train::CHUNK;

/// Images per evaluation workspace (as `train::evaluate`).
pub const EVAL_CHUNK: usize = 64;


/// The estimate, by part, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemoryEstimate {
    /// Parameters, their per-chunk gradients, copies, running statistics.
    pub parameters: u64,
    /// Optimizer state.
    pub optimizer: u64,
    /// Training workspaces: outputs, gradients and scratch of every chunk of a batch.
    pub training: u64,
    /// Evaluation workspaces.
    pub evaluation: u64,
    /// The batch of images being trained on.
    pub batch: u64,
}

impl MemoryEstimate {
    /// Everything, in bytes (saturating: a total past `u64::MAX` is over any budget anyway).
    pub fn total(&self) -> u64 {
        [self.parameters, self.optimizer, self.training, self.evaluation, self.batch]
            .iter()
            .fold(0u64, |a, &b| a.saturating_add(b))
    }

    /// "about 700 MB (training workspaces 650 MB, …)" for messages.
    pub fn describe(&self) -> crate::i18n::Message {
        let mb = |b: u64| b.div_ceil(1 << 20);
        crate::msg!(
            "err.memory_parts",
            mb(self.total()),
            mb(self.training),
            mb(self.evaluation),
            mb(self.parameters),
            mb(self.optimizer)
        )
    }
}

/// Scratch values one layer keeps for `n` images (an upper bound of what the layer takes);
/// without a `backward` pass to follow, a convolution keeps one image's planes, not `n`.
fn scratch_values(layer: &LayerSpec, info: &LayerInfo, n: u64, backward: bool) -> u64 {
    let (input, output) = (info.input.len() as u64, info.output.len() as u64);
    match layer {
        LayerSpec::Conv2d { kernel_size: k, stride, padding, dilation: d, groups, .. } => {
            let pad = match padding {
                Padding::Size(p) => (p.h as u64, p.w as u64),
                // "same" pads at most the dilated kernel span.
                Padding::Word(_) => ((d.h * k.h) as u64, (d.w * k.w) as u64),
            };
            let span = ((d.h * k.h) as u64, (d.w * k.w) as u64);
            let (c, h, w) = (info.input.c as u64, info.input.h as u64, info.input.w as u64);
            let (oc, oh, ow) = (info.output.c as u64, info.output.h as u64, info.output.w as u64);
            let padded_in = c * (h + 2 * pad.0 + span.0) * (w + 2 * pad.1 + span.1);
            let padded_out = oc * (oh + 2 * span.0) * (ow + 2 * span.1);
            let grouped = *groups > 1 || stride.w != 1;
            // The grouped path keeps every group's columns: C·kh·kw rows of oh·ow.
            let cols = if grouped { c * (k.h * k.w) as u64 * oh * ow } else { 0 };
            let kept = if backward { n } else { 1 };
            kept * (padded_in + cols) + 2 * (padded_in + padded_out + cols + info.params as u64) + 64
        }
        LayerSpec::MaxPool2d { .. } | LayerSpec::AdaptiveMaxPool2d { .. } | LayerSpec::SpatialPyramidPool { .. } => n * output,
        LayerSpec::Dropout { .. } | LayerSpec::Dropout2d { .. } | LayerSpec::LocalResponseNorm { .. } => n * input,
        LayerSpec::LayerNorm { .. } | LayerSpec::InstanceNorm2d { .. } | LayerSpec::GroupNorm { .. } => {
            n * input + 2 * n * info.input.c as u64
        }
        LayerSpec::BatchNorm2d { .. } | LayerSpec::BatchNorm1d { .. } => 2 * info.input.c as u64,
        // No scratch (named, so that a new kind has to be placed here or above).
        LayerSpec::Relu
        | LayerSpec::LeakyRelu { .. }
        | LayerSpec::Sigmoid
        | LayerSpec::Tanh
        | LayerSpec::Silu
        | LayerSpec::Mish
        | LayerSpec::Elu { .. }
        | LayerSpec::Gelu { .. }
        | LayerSpec::Relu6
        | LayerSpec::Hardswish
        | LayerSpec::Prelu { .. }
        | LayerSpec::Softmax
        | LayerSpec::AvgPool2d { .. }
        | LayerSpec::AdaptiveAvgPool2d { .. }
        | LayerSpec::Flatten
        | LayerSpec::Linear { .. } => 0,
        // Opened into its body and a join before this is asked (`flat_scratch_values`).
        LayerSpec::Residual { .. } => 0,
    }
}

/// Scratch of flat layer `k` of `infos`; a residual join keeps the gradient of its block's
/// input (`n` of them) and, with a projection, its 1×1 convolution's scratch.
fn flat_scratch_values(flat: &[FlatLayer], infos: &[LayerInfo], k: usize, n: u64, backward: bool) -> u64 {
    match flat[k].step {
        Step::Layer(l) => scratch_values(l, &infos[k], n, backward),
        Step::Join { from, shortcut } => {
            let skip = infos[from].input;
            let conv = match shortcut {
                Shortcut::Identity => 0,
                Shortcut::Conv1x1 => {
                    let out = infos[k].output;
                    let stride = projection_stride(skip, out).unwrap_or(Pair::square(1));
                    let conv_info = LayerInfo { input: skip, ..infos[k].clone() };
                    scratch_values(&shortcut_conv(out.c, stride), &conv_info, n, backward)
                }
            };
            n * skip.len() as u64 + conv
        }
    }
}

/// Bytes of one workspace for `n` images (outputs, two gradient buffers, scratch), for training
/// (`backward`) or evaluation.
pub fn workspace_bytes(spec: &Spec, infos: &[LayerInfo], n: u64, backward: bool) -> u64 {
    let input = spec.input_shape().len() as u64;
    let outputs: u64 = infos.iter().map(|i| i.output.len() as u64).sum();
    let widest = infos.iter().map(|i| i.output.len() as u64).max().unwrap_or(0).max(input);
    let flat = spec.flat();
    let scratch: u64 = (0..flat.len().min(infos.len())).map(|k| flat_scratch_values(&flat, infos, k, n, backward)).sum();
    let params: u64 = infos.iter().map(|i| i.params as u64).sum();
    4 * (n * (input + outputs + 2 * widest) + scratch + params)
}

/// The memory estimate of a spec whose layers inferred to `infos`.
pub fn estimate(spec: &Spec, infos: &[LayerInfo]) -> MemoryEstimate {
    let params: u64 = infos.iter().map(|i| i.params as u64).sum();
    let buffers: u64 = infos.iter().map(|i| i.buffers as u64).sum();
    let batch = spec.training.batch_size as u64;
    let chunks = batch.div_ceil(CHUNK as u64);
    let input = spec.input_shape().len() as u64;
    // The network, the copy predictions read, a checkpoint being written and the copy weights are
    // imported into; the early-stopping copy when there is one (gradients are in the workspaces).
    let copies = 4 + u64::from(spec.training.early_stopping.is_some());
    MemoryEstimate {
        parameters: 4 * (params + buffers) * copies,
        optimizer: 4 * params * 2,
        training: chunks * workspace_bytes(spec, infos, CHUNK as u64, true),
        evaluation: LANES as u64 * workspace_bytes(spec, infos, EVAL_CHUNK as u64, false),
        batch: batch * (4 * input + 1),
    }
}

/// The estimate, or an error naming the budget when it is over `budget` bytes.
pub fn check(spec: &Spec, infos: &[LayerInfo], budget: u64) -> Result<MemoryEstimate, SpecError> {
    let memory = estimate(spec, infos);
    if memory.total() > budget {
        return Err(SpecError::top(
            "layers",
            crate::msg!("err.memory_budget", memory.describe(), budget >> 20),
        ));
    }
    Ok(memory)
}
