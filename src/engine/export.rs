//! PyTorch code for a spec: the `nn.Sequential` (same indices, so our safetensors load with
//! `load_state_dict`), the optimizer, the schedule and the loss, as a runnable script.

use super::augment::AugmentSpec;
use super::shape::Shape;
use super::spec::{GeluApproximate, LayerSpec, LossKind, OptimizerSpec, Padding, PaddingMode, PaddingWord, Pair, PoolKind, Schedule, Shortcut, Spec, SpecError};
use super::spec::flat::Step;

fn pair(p: Pair) -> String {
    if p.h == p.w { p.h.to_string() } else { format!("({}, {})", p.h, p.w) }
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// A float as Python reads it back exactly (shortest round-trip repr).
pub(crate) fn num(v: f32) -> String {
    let s = format!("{v:?}");
    if s.contains(['.', 'e', 'E']) || s.contains("inf") || s.contains("NaN") { s } else { format!("{s}.0") }
}

fn module(layer: &LayerSpec, input: Shape) -> String {
    let in_c = input.c;
    match layer {
        &LayerSpec::Conv2d { out_channels, kernel_size, stride, padding, padding_mode, dilation, groups, bias } => {
            let mut args = format!("{in_c}, {out_channels}, kernel_size={}", pair(kernel_size));
            if stride != Pair::square(1) {
                args += &format!(", stride={}", pair(stride));
            }
            match padding {
                Padding::Size(p) if p == Pair::square(0) => {}
                Padding::Size(p) => args += &format!(", padding={}", pair(p)),
                Padding::Word(PaddingWord::Same) => args += ", padding=\"same\"",
                Padding::Word(PaddingWord::Valid) => args += ", padding=\"valid\"",
            }
            if dilation != Pair::square(1) {
                args += &format!(", dilation={}", pair(dilation));
            }
            if groups != 1 {
                args += &format!(", groups={groups}");
            }
            if !bias {
                args += ", bias=False";
            }
            let mode = match padding_mode {
                PaddingMode::Zeros => None,
                PaddingMode::Reflect => Some("reflect"),
                PaddingMode::Replicate => Some("replicate"),
                PaddingMode::Circular => Some("circular"),
            };
            if let Some(m) = mode {
                args += &format!(", padding_mode=\"{m}\"");
            }
            format!("nn.Conv2d({args})")
        }
        LayerSpec::Relu => "nn.ReLU()".into(),
        &LayerSpec::LeakyRelu { negative_slope } => format!("nn.LeakyReLU({})", num(negative_slope)),
        LayerSpec::Sigmoid => "nn.Sigmoid()".into(),
        LayerSpec::Tanh => "nn.Tanh()".into(),
        LayerSpec::Silu => "nn.SiLU()".into(),
        LayerSpec::Mish => "nn.Mish()".into(),
        LayerSpec::Gelu { approximate: GeluApproximate::None } => "nn.GELU()".into(),
        LayerSpec::Gelu { approximate: GeluApproximate::Tanh } => "nn.GELU(approximate=\"tanh\")".into(),
        LayerSpec::Relu6 => "nn.ReLU6()".into(),
        LayerSpec::Hardswish => "nn.Hardswish()".into(),
        &LayerSpec::Prelu { num_parameters, init } => format!("nn.PReLU(num_parameters={num_parameters}, init={})", num(init)),
        &LayerSpec::Elu { alpha } => format!("nn.ELU(alpha={})", num(alpha)),
        LayerSpec::Softmax => "nn.Softmax(dim=1)".into(),
        &LayerSpec::MaxPool2d { kernel_size, stride, padding, dilation, ceil_mode } => {
            let mut args = format!("kernel_size={}", pair(kernel_size));
            if let Some(s) = stride {
                args += &format!(", stride={}", pair(s));
            }
            if padding != Pair::square(0) {
                args += &format!(", padding={}", pair(padding));
            }
            if dilation != Pair::square(1) {
                args += &format!(", dilation={}", pair(dilation));
            }
            if ceil_mode {
                args += ", ceil_mode=True";
            }
            format!("nn.MaxPool2d({args})")
        }
        &LayerSpec::AvgPool2d { kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override } => {
            let mut args = format!("kernel_size={}", pair(kernel_size));
            if let Some(s) = stride {
                args += &format!(", stride={}", pair(s));
            }
            if padding != Pair::square(0) {
                args += &format!(", padding={}", pair(padding));
            }
            if ceil_mode {
                args += ", ceil_mode=True";
            }
            if !count_include_pad {
                args += ", count_include_pad=False";
            }
            if let Some(d) = divisor_override {
                args += &format!(", divisor_override={d}");
            }
            format!("nn.AvgPool2d({args})")
        }
        &LayerSpec::AdaptiveAvgPool2d { output_size } => format!("nn.AdaptiveAvgPool2d({})", pair(output_size)),
        &LayerSpec::AdaptiveMaxPool2d { output_size } => format!("nn.AdaptiveMaxPool2d({})", pair(output_size)),
        LayerSpec::SpatialPyramidPool { levels, pool } => {
            let levels: Vec<String> = levels.iter().map(|l| l.to_string()).collect();
            format!("SpatialPyramidPool([{}], \"{}\")", levels.join(", "), if *pool == PoolKind::Max { "max" } else { "avg" })
        }
        LayerSpec::Flatten => "nn.Flatten()".into(),
        &LayerSpec::Linear { out_features, bias } => {
            format!("nn.Linear({in_c}, {out_features}{})", if bias { "" } else { ", bias=False" })
        }
        &LayerSpec::Dropout { p } => format!("nn.Dropout(p={})", num(p)),
        &LayerSpec::Dropout2d { p } => format!("nn.Dropout2d(p={})", num(p)),
        &LayerSpec::BatchNorm2d { eps, momentum, affine, track_running_stats }
        | &LayerSpec::BatchNorm1d { eps, momentum, affine, track_running_stats } => {
            let class = if matches!(layer, LayerSpec::BatchNorm2d { .. }) { "BatchNorm2d" } else { "BatchNorm1d" };
            let momentum = momentum.map_or("None".to_string(), num);
            let mut args = format!("{in_c}, eps={}, momentum={momentum}, affine={}", num(eps), py_bool(affine));
            if !track_running_stats {
                args += ", track_running_stats=False";
            }
            format!("nn.{class}({args})")
        }
        &LayerSpec::LayerNorm { eps, elementwise_affine, bias } => {
            let shape = if input.is_flat() { format!("[{}]", input.c) } else { format!("[{}, {}, {}]", input.c, input.h, input.w) };
            let bias = if bias { "" } else { ", bias=False" };
            format!("nn.LayerNorm({shape}, eps={}, elementwise_affine={}{bias})", num(eps), py_bool(elementwise_affine))
        }
        &LayerSpec::InstanceNorm2d { eps, affine } => format!("nn.InstanceNorm2d({in_c}, eps={}, affine={})", num(eps), py_bool(affine)),
        &LayerSpec::GroupNorm { num_groups, eps, affine } => {
            format!("nn.GroupNorm({num_groups}, {in_c}, eps={}, affine={})", num(eps), py_bool(affine))
        }
        &LayerSpec::LocalResponseNorm { size, alpha, beta, k } => {
            format!("nn.LocalResponseNorm({size}, alpha={}, beta={}, k={})", num(alpha), num(beta), num(k))
        }
        LayerSpec::Residual { layers, shortcut } => residual_module(layers, *shortcut, input),
    }
}

/// `Residual(nn.Sequential(…), shortcut)` over several lines, indented from its first line's
/// column (the spec was validated, so every body layer's shape rule holds).
fn residual_module(layers: &[LayerSpec], shortcut: Shortcut, input: Shape) -> String {
    let mut body = String::new();
    let mut shape = input;
    for (m, inner) in layers.iter().enumerate() {
        let out = super::spec::infer_layer(inner, shape).map_or(shape, |i| i.output);
        body += &format!("        {},  # body.{m}: → {out}\n", module(inner, shape));
        shape = out;
    }
    let shortcut = match shortcut {
        Shortcut::Identity => "nn.Identity()".to_string(),
        Shortcut::Conv1x1 => {
            let stride = super::spec::flat::projection_stride(input, shape).unwrap_or(Pair::square(1));
            module(&super::spec::flat::shortcut_conv(shape.c, stride), input)
        }
    };
    format!("Residual(\n    nn.Sequential(\n{body}    ),\n    {shortcut},\n)")
}

pub(crate) fn optimizer(o: &OptimizerSpec) -> String {
    match *o {
        OptimizerSpec::Sgd { lr, momentum, dampening, nesterov, weight_decay } => format!(
            "torch.optim.SGD(model.parameters(), lr={}, momentum={}, dampening={}, nesterov={}, weight_decay={})",
            num(lr), num(momentum), num(dampening), py_bool(nesterov), num(weight_decay)
        ),
        OptimizerSpec::Adam { lr, betas, eps, weight_decay, amsgrad } | OptimizerSpec::AdamW { lr, betas, eps, weight_decay, amsgrad } => {
            let class = if matches!(o, OptimizerSpec::Adam { .. }) { "Adam" } else { "AdamW" };
            format!(
                "torch.optim.{class}(model.parameters(), lr={}, betas=({}, {}), eps={}, weight_decay={}, amsgrad={})",
                num(lr), num(betas[0]), num(betas[1]), num(eps), num(weight_decay), py_bool(amsgrad)
            )
        }
        OptimizerSpec::RmsProp { lr, alpha, eps, weight_decay, momentum, centered } => format!(
            "torch.optim.RMSprop(model.parameters(), lr={}, alpha={}, eps={}, weight_decay={}, momentum={}, centered={})",
            num(lr), num(alpha), num(eps), num(weight_decay), num(momentum), py_bool(centered)
        ),
        OptimizerSpec::Adagrad { lr, lr_decay, weight_decay, initial_accumulator_value, eps } => format!(
            "torch.optim.Adagrad(model.parameters(), lr={}, lr_decay={}, weight_decay={}, initial_accumulator_value={}, eps={})",
            num(lr), num(lr_decay), num(weight_decay), num(initial_accumulator_value), num(eps)
        ),
    }
}

fn scheduler(spec: &Spec) -> String {
    let s = &spec.training.schedule;
    let main = match s.kind {
        Schedule::Constant => "torch.optim.lr_scheduler.ConstantLR(optimizer, factor=1.0)".to_string(),
        Schedule::Step { step_size, gamma } => format!("torch.optim.lr_scheduler.StepLR(optimizer, step_size={step_size}, gamma={})", num(gamma)),
        Schedule::Exponential { gamma } => format!("torch.optim.lr_scheduler.ExponentialLR(optimizer, gamma={})", num(gamma)),
        Schedule::Cosine { t_max, eta_min } => {
            format!("torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max={t_max}, eta_min={})", num(eta_min))
        }
        Schedule::ReduceOnPlateau { factor, patience, threshold, min_lr } => format!(
            "torch.optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor={}, patience={patience}, threshold={}, min_lr={})",
            num(factor), num(threshold), num(min_lr)
        ),
    };
    let unit = if s.per_step { "optimizer step" } else { "epoch" };
    let mut out = format!("# Stepped once per {unit} (warm-up, if any, is counted in optimizer steps).\n");
    if s.warmup_steps > 0 {
        out += &format!(
            "warmup = torch.optim.lr_scheduler.LinearLR(optimizer, start_factor={}, total_iters={})\n",
            num(s.warmup_start_factor),
            s.warmup_steps
        );
    }
    out + &format!("scheduler = {main}\n")
}

const RESIDUAL_CLASS: &str = r#"
class Residual(nn.Module):
    """A residual block (He et al. 2015): body(x) + shortcut(x)."""

    def __init__(self, body, shortcut):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)

"#;

const SPP_CLASS: &str = r#"
class SpatialPyramidPool(nn.Module):
    """Adaptive pooling to l×l for each level l, flattened and concatenated."""

    def __init__(self, levels, pool):
        super().__init__()
        self.levels, self.pool = levels, pool

    def forward(self, x):
        f = nn.functional.adaptive_max_pool2d if self.pool == "max" else nn.functional.adaptive_avg_pool2d
        return torch.cat([f(x, l).flatten(1) for l in self.levels], dim=1)

"#;

/// The module classes the spec's model uses beyond `torch.nn`.
fn helper_classes(spec: &Spec) -> String {
    let mut out = String::new();
    if spec.flat().iter().any(|l| matches!(l.step, Step::Layer(LayerSpec::SpatialPyramidPool { .. }))) {
        out += SPP_CLASS;
    }
    if spec.layers.iter().any(|l| matches!(l, LayerSpec::Residual { .. })) {
        out += RESIDUAL_CLASS;
    }
    out
}

/// The items of the model's `nn.Sequential`, one per spec layer, indented by `indent`.
fn sequential_items(spec: &Spec, infos: &[super::spec::LayerInfo], indent: &str) -> String {
    let mut out = String::new();
    for (i, (layer, info)) in spec.layers.iter().zip(infos).enumerate() {
        // A module written over several lines (a residual block) moves in as a whole.
        let item = module(layer, info.input).replace('\n', &format!("\n{indent}"));
        out += &format!("{indent}{item},  # {i}: → {}\n", info.output);
    }
    out
}

/// A runnable PyTorch script equivalent to `spec`.
pub fn pytorch_code(spec: &Spec) -> Result<String, SpecError> {
    let infos = spec.infer()?;
    let mut out = String::from("# Generated by CNN Playground: the same model, optimizer, schedule and loss in PyTorch.\n");
    out += "# Load exported weights with: model.load_state_dict(safetensors.torch.load_file(\"weights.safetensors\"))\n";
    out += "import torch\nfrom torch import nn\n";
    out += &helper_classes(spec);
    out += &format!("\ntorch.manual_seed({})\n\nmodel = nn.Sequential(\n", spec.seed);
    out += &sequential_items(spec, &infos, "    ");
    out += ")\n\n";
    out += &format!("optimizer = {}\n", optimizer(&spec.training.optimizer));
    out += &scheduler(spec);
    let t = &spec.training;
    out += &match t.loss {
        LossKind::CrossEntropy => format!("loss_fn = nn.CrossEntropyLoss(label_smoothing={})\n", num(t.label_smoothing)),
        LossKind::Mse => format!("loss_fn = lambda logits, labels: nn.functional.mse_loss(logits, nn.functional.one_hot(labels, {}).float())\n", spec.classes()),
    };
    if t.l1 > 0.0 || t.l2 > 0.0 {
        out += &format!(
            "# Penalties added to the loss: {} * Σ|w| + {} * Σw² over all parameters.\n",
            num(t.l1),
            num(t.l2)
        );
    }
    out += &format!("batch_size, epochs = {}, {}\n", t.batch_size, t.epochs);
    let input = spec.input_shape();
    out += &format!(
        "# Inputs: {} images scaled to [0, 1], shape [N, {}, {}, {}]; no mean/std normalisation.\n",
        spec.dataset.title(),
        input.c,
        input.h,
        input.w
    );
    Ok(out)
}

/// `make_model()` building the spec's `nn.Sequential` (and the helper module classes it uses).
pub(crate) fn model_code(spec: &Spec) -> Result<String, SpecError> {
    let infos = spec.infer()?;
    let mut out = helper_classes(spec);
    out += "\n\ndef make_model():\n    return nn.Sequential(\n";
    out += &sequential_items(spec, &infos, "        ");
    out += "    )\n\n";
    Ok(out)
}

/// `augment(x)` for a batch `[N, C, H, W]` in [0, 1], each image drawn on its own, in the
/// engine's order: affine (+ elastic) and flip, crop with padding, then brightness and contrast
/// (the engine's additive brightness and contrast about the mean), saturation and hue
/// (torchvision's, HSV-based where the engine rotates YIQ: close, not identical), noise,
/// erasing (torchvision's defaults, as the engine's) and cutout.
pub(crate) fn augment_code(a: &AugmentSpec, input: Shape) -> String {
    if !a.enabled() {
        return "def augment(x):\n    \"\"\"No augmentation in this run.\"\"\"\n    return x\n\n".into();
    }
    let mut geometry = Vec::new();
    if a.rotation > 0.0 || a.translate > 0.0 || a.scale != [1.0, 1.0] {
        geometry.push(format!(
            "T.RandomAffine(degrees={}, translate=({t}, {t}), scale=({}, {}))",
            num(a.rotation), num(a.scale[0]), num(a.scale[1]), t = num(a.translate)
        ));
    }
    if a.elastic_alpha > 0.0 {
        geometry.push(format!("T.ElasticTransform(alpha={}, sigma={})", num(a.elastic_alpha), num(a.elastic_sigma)));
    }
    if a.hflip {
        geometry.push("T.RandomHorizontalFlip()".into());
    }
    if a.crop_padding > 0 {
        geometry.push(format!("T.RandomCrop(({}, {}), padding={})", input.h, input.w, a.crop_padding));
    }
    if input.c == 3 && (a.saturation > 0.0 || a.hue > 0.0) {
        geometry.push(format!("T.ColorJitter(saturation={}, hue={})", num(a.saturation), num(a.hue)));
    }
    let mut out = String::from("import torchvision.transforms.v2 as T\n\n");
    out += &format!("TRANSFORMS = T.Compose([{}])\n", geometry.join(", "));
    out += &format!("ERASING = T.RandomErasing(p={}) if {} else None\n\n", num(a.erasing), if a.erasing > 0.0 { "True" } else { "False" });
    out += "def augment(x):\n    out = []\n    for img in x:\n        img = TRANSFORMS(img)\n";
    if a.brightness > 0.0 || a.contrast > 0.0 {
        out += &format!(
            "        b = (torch.rand(()) * 2 - 1) * {}\n        c = 1 + (torch.rand(()) * 2 - 1) * {}\n        img = ((img - img.mean()) * c + img.mean() + b).clamp(0, 1)\n",
            num(a.brightness), num(a.contrast)
        );
    }
    if a.noise > 0.0 {
        out += &format!("        img = (img + torch.randn_like(img) * {}).clamp(0, 1)\n", num(a.noise));
    }
    out += "        if ERASING is not None:\n            img = ERASING(img)\n";
    if a.cutout > 0 {
        out += &format!(
            "        k, h, w = {}, img.shape[1], img.shape[2]\n        cy, cx = int(torch.randint(h, ())), int(torch.randint(w, ()))\n        img = img.clone()\n        img[:, max(cy - k // 2, 0):min(cy + k - k // 2, h), max(cx - k // 2, 0):min(cx + k - k // 2, w)] = 0\n",
            a.cutout
        );
    }
    out += "        out.append(img)\n    return torch.stack(out)\n\n";
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reference_net_code() {
        let code = pytorch_code(&Spec::default()).unwrap();
        assert!(code.contains("    nn.Conv2d(1, 8, kernel_size=5, padding=2),  # 0: → 8×28×28\n"), "{code}");
        assert!(code.contains("    nn.Linear(784, 10),  # 7: → 10\n"), "{code}");
        assert!(code.contains("optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, dampening=0.0, nesterov=False, weight_decay=0.0)"));
        assert!(code.contains("loss_fn = nn.CrossEntropyLoss(label_smoothing=0.0)"));
    }

    #[test]
    fn norm_options_are_written_as_pytorch_takes_them() {
        let mut spec = Spec::default();
        spec.layers = serde_json::from_str(
            r#"[{"type":"conv2d","out_channels":4,"kernel_size":3},{"type":"batch_norm2d","momentum":null,"track_running_stats":false},
                {"type":"adaptive_avg_pool2d","output_size":1},{"type":"layer_norm","bias":false},{"type":"flatten"},
                {"type":"layer_norm"},{"type":"linear","out_features":10}]"#,
        )
        .unwrap();
        let code = pytorch_code(&spec).unwrap();
        for line in [
            "    nn.BatchNorm2d(4, eps=1e-5, momentum=None, affine=True, track_running_stats=False),  # 1: → 4×26×26\n",
            "    nn.LayerNorm([4, 1, 1], eps=1e-5, elementwise_affine=True, bias=False),  # 3: → 4×1×1\n",
            "    nn.LayerNorm([4], eps=1e-5, elementwise_affine=True),  # 5: → 4\n",
        ] {
            assert!(code.contains(line), "{line}\n{code}");
        }
    }
}
