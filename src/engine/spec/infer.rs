//! Shape inference on a spec: per layer output shape, parameters, FLOPs and memory, each with
//! the formula behind it, or an error naming the layer and the field.

use super::ranges::{MAX_LAYERS, MAX_VALUES};
use super::{FieldError, LayerSpec, Pair, Shortcut, Spec, SpecError, MEMORY_BUDGET_BYTES, SPEC_VERSION};
use crate::engine::layers::{ConvOptions, PoolOptions, SpatialPyramidPool};
use crate::engine::shape::Shape;
use serde::{Deserialize, Serialize};
use crate::i18n::Message;
use crate::msg;

/// What shape inference reports for one layer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerInfo {
    /// PyTorch-style layer name.
    pub name: String,
    /// Input shape per sample.
    pub input: Shape,
    /// Output shape per sample.
    pub output: Shape,
    /// Trainable parameter count.
    pub params: usize,
    /// Non-trainable values saved with the weights (BatchNorm running mean, variance, count).
    pub buffers: usize,
    /// Forward FLOPs per sample (a multiply-add counts as 2).
    pub flops: u64,
    /// Bytes of the output activation per sample (f32).
    pub activation_bytes: usize,
    /// How the output size is computed, e.g. `⌊(28+2·2−5)/1⌋+1 = 28`.
    pub output_formula: Message,
    /// How the parameter count is computed, e.g. `(5·5·1+1)·6 = 156`.
    pub params_formula: Message,
}

impl Spec {
    /// Parses a spec from JSON; errors name the layer and the field (`spec/json.rs`).
    pub fn from_json(text: &str) -> Result<Spec, Message> {
        super::json::from_json(text)
    }

    /// Validates the spec and infers every layer's shapes, parameters and FLOPs.
    pub fn infer(&self) -> Result<Vec<LayerInfo>, SpecError> {
        self.infer_both().map(|(top, _)| top)
    }

    /// [`Spec::infer`] for the flat list the network runs ([`Spec::flat`]): one info per body
    /// layer and per join of a residual block.
    pub fn infer_flat(&self) -> Result<Vec<LayerInfo>, SpecError> {
        self.infer_both().map(|(_, flat)| flat)
    }

    /// The infos of the spec's layers and of the flat list.
    pub fn infer_both(&self) -> Result<(Vec<LayerInfo>, Vec<LayerInfo>), SpecError> {
        if self.version != SPEC_VERSION {
            return Err(SpecError::top(
                "version",
                msg!("err.spec_version", self.version, SPEC_VERSION),
            ));
        }
        self.training.check()?;
        self.check_dataset()?;
        if self.layers.is_empty() {
            return Err(SpecError::top("layers", msg!("err.no_layers")));
        }
        let flat_len = self.flat().len();
        if flat_len > MAX_LAYERS {
            return Err(SpecError::top("layers", msg!("err.too_many_layers", flat_len, MAX_LAYERS)));
        }
        let mut shape = self.input_shape();
        let mut infos = Vec::with_capacity(self.layers.len());
        let mut flat = Vec::with_capacity(flat_len);
        for (i, layer) in self.layers.iter().enumerate() {
            let (info, parts) = infer_spec_layer(i, layer, shape)?;
            shape = info.output;
            infos.push(info);
            flat.extend(parts);
        }
        super::memory::check(self, &flat, MEMORY_BUDGET_BYTES as u64)?;
        let classes = self.classes();
        if shape != Shape::flat(classes) {
            return Err(SpecError::layer(
                self.layers.len() - 1,
                "output",
                msg!("err.class_scores", classes, shape),
            ));
        }
        Ok((infos, flat))
    }
}

/// The shape rule of spec layer `index`: its info and the infos of the flat layers it opens
/// into (itself, or a residual block's body and join); errors name the layer and the field
/// (`layers[1].kernel_size` inside a block).
pub fn infer_spec_layer(index: usize, layer: &LayerSpec, input: Shape) -> Result<(LayerInfo, Vec<LayerInfo>), SpecError> {
    let LayerSpec::Residual { layers, shortcut } = layer else {
        let info = infer_layer(layer, input).map_err(|e| e.at(index))?;
        return Ok((info.clone(), vec![info]));
    };
    if layers.is_empty() {
        return Err(SpecError::layer(index, "layers", msg!("err.residual_empty")));
    }
    let mut shape = input;
    let mut parts = Vec::with_capacity(layers.len() + 1);
    for (m, inner) in layers.iter().enumerate() {
        let info = infer_layer(inner, shape).map_err(|e| SpecError::layer(index, &format!("layers[{m}].{}", e.field), e.message))?;
        shape = info.output;
        parts.push(info);
    }
    let join = infer_join(input, shape, *shortcut).map_err(|e| e.at(index))?;
    let params: Vec<String> = parts.iter().chain([&join]).filter(|p| p.params > 0).map(|p| p.params.to_string()).collect();
    parts.push(join);
    let sum = |f: &dyn Fn(&LayerInfo) -> u64| parts.iter().map(f).fold(0u64, u64::saturating_add);
    let info = LayerInfo {
        name: layer.kind_name().to_string(),
        input,
        output: shape,
        params: sum(&|p| p.params as u64) as usize,
        buffers: sum(&|p| p.buffers as u64) as usize,
        flops: sum(&|p| p.flops),
        activation_bytes: sum(&|p| p.activation_bytes as u64) as usize,
        output_formula: msg!("info.residual_output", shape),
        params_formula: Message::verbatim(match params.len() {
            0 => "0".to_string(),
            1 => params[0].clone(),
            _ => format!("{} = {}", params.join("+"), sum(&|p| p.params as u64)),
        }),
    };
    Ok((info, parts))
}

/// The join of a residual block whose body takes `input` to `body`: the sum's shape rule and the
/// shortcut's parameters.
fn infer_join(input: Shape, body: Shape, shortcut: Shortcut) -> Result<LayerInfo, FieldError> {
    let add = body.len() as u64;
    let (params, flops, formula) = match shortcut {
        Shortcut::Identity => {
            if input != body {
                return Err(FieldError::new("shortcut", msg!("err.residual_identity", input, body)));
            }
            (0, add, Message::verbatim("0"))
        }
        Shortcut::Conv1x1 => {
            if input.is_flat() || body.is_flat() {
                return Err(FieldError::new("shortcut", msg!("err.residual_flat", input, body)));
            }
            let Some(stride) = super::flat::projection_stride(input, body) else {
                return Err(FieldError::new("shortcut", msg!("err.residual_stride", input, body)));
            };
            let conv = infer_layer(&super::flat::shortcut_conv(body.c, stride), input)?;
            (conv.params, conv.flops + add, conv.params_formula)
        }
    };
    Ok(LayerInfo {
        name: "Add".into(),
        input: body,
        output: body,
        params,
        buffers: 0,
        flops,
        activation_bytes: body.len() * 4,
        output_formula: msg!("info.same_as_input"),
        params_formula: formula,
    })
}

fn finite(field: &'static str, v: f32) -> Result<(), FieldError> {
    if v.is_finite() {
        Ok(())
    } else {
        Err(FieldError::new(field, msg!("err.finite", v)))
    }
}

/// `⌊(n+a+b−span)/s⌋+1 = out` for one axis, in the tutorials' notation.
fn axis_formula(n: usize, pad: (usize, usize), k: usize, d: usize, s: usize, out: usize) -> String {
    let padding = match pad {
        (0, 0) => String::new(),
        (a, b) if a == b => format!("+2·{a}"),
        (a, b) => format!("+{a}+{b}"),
    };
    let kernel = if d == 1 { format!("{k}") } else { format!("{d}·({k}−1)−1") };
    format!("⌊({n}{padding}−{kernel})/{s}⌋+1 = {out}")
}

fn pair_formula(h: String, w: String) -> String {
    if h == w { h } else { format!("h: {h}; w: {w}") }
}

/// `a·b·…` for sizes that may be large, or an error naming `field` when the product passes
/// `limit` (or would wrap).
fn product(field: &'static str, what: Message, factors: &[usize], limit: u64) -> Result<usize, FieldError> {
    let total = factors.iter().try_fold(1u64, |acc, &f| acc.checked_mul(f as u64)).filter(|&t| t <= limit);
    match total {
        Some(t) => Ok(t as usize),
        None => Err(FieldError::new(
            field,
            msg!("err.product_budget", limit, what, MEMORY_BUDGET_BYTES >> 20),
        )),
    }
}

/// Most parameters one layer may have: a quarter of the memory budget in f32.
const MAX_LAYER_PARAMS: u64 = (MEMORY_BUDGET_BYTES / 16) as u64;

/// The shape rule of one layer. Every size field is checked against its range first
/// ([`super::ranges`]), so the arithmetic below cannot wrap; products that can still grow
/// large (parameters, FLOPs) are checked.
pub fn infer_layer(layer: &LayerSpec, input: Shape) -> Result<LayerInfo, FieldError> {
    super::ranges::check(layer)?;
    if input.checked_len().is_none_or(|v| v > MAX_VALUES) {
        return Err(FieldError::new("input", msg!("err.input_values", input, MAX_VALUES)));
    }
    if needs_image(layer) && input.is_flat() {
        let name = layer.kind_name();
        return Err(FieldError::new("input", msg!("err.image_input", name, input)));
    }
    let elementwise = (input, 0, input.len() as u64, msg!("info.same_as_input"), Message::verbatim("0"));
    let (output, params, flops, output_formula, params_formula) = match layer {
        &LayerSpec::Conv2d { out_channels, kernel_size, stride, padding, padding_mode, dilation, groups, bias } => {
            let o = ConvOptions {
                out_channels,
                kernel: kernel_size,
                stride,
                padding,
                mode: padding_mode,
                dilation,
                groups,
                bias,
            };
            let plan = o.plan(input)?;
            let fan_in = product("kernel_size", msg!("err.what_inputs"), &[input.c / groups, kernel_size.h, kernel_size.w], MAX_LAYER_PARAMS)?;
            let out = plan.output;
            let params = product("out_channels", msg!("err.what_parameters"), &[fan_in + bias as usize, out_channels], MAX_LAYER_PARAMS)?;
            let group_note = if groups == 1 { format!("{}", input.c) } else { format!("{}/{groups}", input.c) };
            let params_formula = format!(
                "({}·{}·{group_note}{})·{out_channels} = {params}",
                kernel_size.h,
                kernel_size.w,
                if bias { "+1" } else { "" }
            );
            let output_formula = pair_formula(
                axis_formula(input.h, plan.pad_y, kernel_size.h, dilation.h, stride.h, out.h),
                axis_formula(input.w, plan.pad_x, kernel_size.w, dilation.w, stride.w, out.w),
            );
            let flops = (2 * fan_in as u64).saturating_mul(out.len() as u64);
            (out, params, flops, Message::verbatim(output_formula), Message::verbatim(params_formula))
        }
        LayerSpec::Relu
        | LayerSpec::Sigmoid
        | LayerSpec::Tanh
        | LayerSpec::Silu
        | LayerSpec::Mish
        | LayerSpec::Gelu { .. }
        | LayerSpec::Relu6
        | LayerSpec::Hardswish => elementwise,
        &LayerSpec::Prelu { num_parameters, init } => {
            finite("init", init)?;
            if num_parameters != 1 && num_parameters != input.c {
                return Err(FieldError::new(
                    "num_parameters",
                    msg!("err.prelu_parameters", input.c, num_parameters),
                ));
            }
            (input, num_parameters, 2 * input.len() as u64, msg!("info.same_as_input"), Message::verbatim(num_parameters.to_string()))
        }
        &LayerSpec::LeakyRelu { negative_slope } => {
            finite("negative_slope", negative_slope)?;
            elementwise
        }
        &LayerSpec::Elu { alpha } => {
            finite("alpha", alpha)?;
            elementwise
        }
        LayerSpec::Softmax => {
            if !input.is_flat() {
                return Err(FieldError::new("input", msg!("err.softmax_flat", input)));
            }
            (input, 0, 3 * input.len() as u64, msg!("info.same_as_input"), Message::verbatim("0"))
        }
        &LayerSpec::MaxPool2d { kernel_size, stride, padding, dilation, ceil_mode } => {
            pool_info(input, PoolOptions { kernel: kernel_size, stride, padding, dilation, ceil_mode })?
        }
        &LayerSpec::AvgPool2d { kernel_size, stride, padding, ceil_mode, .. } => {
            pool_info(input, PoolOptions { kernel: kernel_size, stride, padding, dilation: Pair::square(1), ceil_mode })?
        }
        &LayerSpec::AdaptiveAvgPool2d { output_size } | &LayerSpec::AdaptiveMaxPool2d { output_size } => {
            let out = Shape::new(input.c, output_size.h, output_size.w);
            (out, 0, input.len() as u64, msg!("info.by_definition", output_size.h, output_size.w), Message::verbatim("0"))
        }
        LayerSpec::SpatialPyramidPool { levels, .. } => {
            let features = SpatialPyramidPool::features(input, levels);
            let squares: Vec<String> = levels.iter().map(|l| format!("{l}²")).collect();
            let formula = format!("{}·({}) = {features}", input.c, squares.join("+"));
            (Shape::flat(features), 0, input.len() as u64 * levels.len() as u64, Message::verbatim(formula), Message::verbatim("0"))
        }
        &LayerSpec::Dropout { p } | &LayerSpec::Dropout2d { p } => {
            if !(p.is_finite() && (0.0..1.0).contains(&p)) {
                return Err(FieldError::new("p", msg!("err.in_range", "[0, 1)", p)));
            }
            elementwise
        }
        &LayerSpec::BatchNorm2d { eps, momentum, affine, .. } | &LayerSpec::BatchNorm1d { eps, momentum, affine, .. } => {
            let two_d = matches!(layer, LayerSpec::BatchNorm2d { .. });
            if two_d == input.is_flat() {
                let why = if two_d {
                    msg!("err.bn2d_flat", input)
                } else {
                    msg!("err.bn1d_image", input)
                };
                return Err(FieldError::new("input", why));
            }
            norm_eps(eps)?;
            if let Some(m) = momentum.filter(|m| !(m.is_finite() && (0.0..=1.0).contains(m))) {
                return Err(FieldError::new("momentum", msg!("err.in_range", "[0, 1]", m)));
            }
            let params = if affine { 2 * input.c } else { 0 };
            (input, params, 4 * input.len() as u64, msg!("info.same_as_input"), Message::verbatim(affine_formula(affine, input.c, params)))
        }
        &LayerSpec::LayerNorm { eps, elementwise_affine, bias } => {
            norm_eps(eps)?;
            let (params, formula) = match (elementwise_affine, bias) {
                (false, _) => (0, Message::verbatim("0")),
                (true, true) => (2 * input.len(), Message::verbatim(affine_formula(true, input.len(), 2 * input.len()))),
                (true, false) => (input.len(), msg!("info.scale_only", input.len())),
            };
            (input, params, 5 * input.len() as u64, msg!("info.same_as_input"), formula)
        }
        &LayerSpec::InstanceNorm2d { eps, affine } => {
            norm_eps(eps)?;
            let params = if affine { 2 * input.c } else { 0 };
            (input, params, 5 * input.len() as u64, msg!("info.same_as_input"), Message::verbatim(affine_formula(affine, input.c, params)))
        }
        &LayerSpec::GroupNorm { num_groups, eps, affine } => {
            norm_eps(eps)?;
            if num_groups == 0 || input.c % num_groups != 0 {
                return Err(FieldError::new("num_groups", msg!("err.groups_divide", num_groups, input.c)));
            }
            let params = if affine { 2 * input.c } else { 0 };
            (input, params, 5 * input.len() as u64, msg!("info.same_as_input"), Message::verbatim(affine_formula(affine, input.c, params)))
        }
        &LayerSpec::LocalResponseNorm { size, alpha, beta, k } => {
            finite("alpha", alpha)?;
            finite("beta", beta)?;
            finite("k", k)?;
            (input, 0, (2 * size as u64 + 3) * input.len() as u64, msg!("info.same_as_input"), Message::verbatim("0"))
        }
        LayerSpec::Flatten => {
            let formula = format!("{}·{}·{} = {}", input.c, input.h, input.w, input.len());
            (Shape::flat(input.len()), 0, 0, Message::verbatim(formula), Message::verbatim("0"))
        }
        LayerSpec::Residual { .. } => return Err(FieldError::new("layers", msg!("err.residual_nested"))),
        &LayerSpec::Linear { out_features, bias } => {
            if !input.is_flat() {
                return Err(FieldError::new(
                    "input",
                    msg!("err.linear_flat", input),
                ));
            }
            let params = product("out_features", msg!("err.what_parameters"), &[input.c + bias as usize, out_features], MAX_LAYER_PARAMS)?;
            let formula = format!("({}{})·{out_features} = {params}", input.c, if bias { "+1" } else { "" });
            (Shape::flat(out_features), params, 2 * input.c as u64 * out_features as u64, Message::verbatim(out_features.to_string()), Message::verbatim(formula))
        }
    };
    // Checked first: the shape rules above keep each side in range, but their product may not be.
    if output.checked_len().is_none_or(|v| v > MAX_VALUES) {
        return Err(FieldError::new(
            "output",
            msg!("err.output_values", output.c, output.h, output.w, MAX_VALUES),
        ));
    }
    if output.is_empty() {
        return Err(FieldError::new("output", msg!("err.empty_output")));
    }
    let buffers = match layer {
        LayerSpec::BatchNorm2d { track_running_stats: true, .. } | LayerSpec::BatchNorm1d { track_running_stats: true, .. } => {
            2 * input.c + 1
        }
        _ => 0,
    };
    Ok(LayerInfo {
        name: layer.kind_name().to_string(),
        input,
        output,
        params,
        buffers,
        flops,
        activation_bytes: output.len() * 4,
        output_formula,
        params_formula,
    })
}

/// Layers PyTorch runs on `[N, C, H, W]` only; a flat `[N, F]` input is refused.
fn needs_image(layer: &LayerSpec) -> bool {
    matches!(
        layer,
        LayerSpec::Conv2d { .. }
            | LayerSpec::MaxPool2d { .. }
            | LayerSpec::AvgPool2d { .. }
            | LayerSpec::AdaptiveAvgPool2d { .. }
            | LayerSpec::AdaptiveMaxPool2d { .. }
            | LayerSpec::SpatialPyramidPool { .. }
            | LayerSpec::Dropout2d { .. }
            | LayerSpec::InstanceNorm2d { .. }
            | LayerSpec::LocalResponseNorm { .. }
    )
}

fn norm_eps(eps: f32) -> Result<(), FieldError> {
    if eps.is_finite() && eps > 0.0 && eps <= 1.0 {
        Ok(())
    } else {
        Err(FieldError::new("eps", msg!("err.in_range", "(0, 1]", eps)))
    }
}

fn affine_formula(affine: bool, per: usize, params: usize) -> String {
    if affine { format!("2·{per} = {params}") } else { "0".into() }
}

fn pool_info(input: Shape, o: PoolOptions) -> Result<(Shape, usize, u64, Message, Message), FieldError> {
    let out = o.output(input)?;
    let s = o.stride.unwrap_or(o.kernel);
    let formula = pair_formula(
        axis_formula(input.h, (o.padding.h, o.padding.h), o.kernel.h, o.dilation.h, s.h, out.h),
        axis_formula(input.w, (o.padding.w, o.padding.w), o.kernel.w, o.dilation.w, s.w, out.w),
    );
    let formula = if o.ceil_mode { formula.replace('⌊', "⌈").replace('⌋', "⌉") } else { formula };
    Ok((out, 0, out.len() as u64 * (o.kernel.h * o.kernel.w) as u64, Message::verbatim(formula), Message::verbatim("0")))
}

/// A Keras-style summary table of a valid spec's layers.
pub fn summary_table(infos: &[LayerInfo]) -> String {
    let mut out = format!(
        "{:<4} {:<20} {:<14} {:>10} {:>10} {:>12} {:>12}\n",
        "#", "layer", "output", "params", "buffers", "MFLOPs", "act. bytes"
    );
    for (i, info) in infos.iter().enumerate() {
        out += &format!(
            "{i:<4} {:<20} {:<14} {:>10} {:>10} {:>12.3} {:>12}\n",
            info.name,
            info.output.to_string(),
            info.params,
            info.buffers,
            info.flops as f64 / 1e6,
            info.activation_bytes
        );
    }
    let params: usize = infos.iter().map(|i| i.params).sum();
    let buffers: usize = infos.iter().map(|i| i.buffers).sum();
    let flops: u64 = infos.iter().map(|i| i.flops).sum();
    let act: usize = infos.iter().map(|i| i.activation_bytes).sum();
    out + &format!(
        "total params {params} (non-trainable {buffers}), forward {:.3} MFLOPs and {:.1} KB of activations per image\n",
        flops as f64 / 1e6,
        act as f64 / 1024.0
    )
}
