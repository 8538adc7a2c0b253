#!/usr/bin/env python3
"""Generates the PyTorch golden files the Rust tests compare against.

Run once by hand (never in CI) from the repository root with a Python that has torch,
numpy and safetensors installed:

    python tests/golden/make_goldens.py

Writes, next to this script:
- layers.json + layers.safetensors: for every layer case, the layer spec (our JSON), the input
  shape, and tensors `<case>.x`, `<case>.dy` (inputs), `<case>.<param>` (parameters, PyTorch
  names and layouts), `<case>.y`, `<case>.dx`, `<case>.grad.<param>` (PyTorch's results).
- optim.json: 20-step parameter traces of every optimizer on a fixed quadratic, and learning-rate
  traces of the schedulers.
"""
import json
import math
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(20261123)
torch.set_default_dtype(torch.float32)


def pair(v):
    return tuple(v) if isinstance(v, list) else (v, v)


class Spp(nn.Module):
    """Spatial pyramid pooling as our engine defines it: adaptive pools, flattened, concatenated."""

    def __init__(self, levels, pool):
        super().__init__()
        self.levels, self.pool = levels, pool

    def forward(self, x):
        f = F.adaptive_max_pool2d if self.pool == "max" else F.adaptive_avg_pool2d
        return torch.cat([f(x, l).flatten(1) for l in self.levels], dim=1)


class Residual(nn.Module):
    """A residual block as our engine and export define it: body(x) + shortcut(x)."""

    def __init__(self, body, shortcut):
        super().__init__()
        self.body, self.shortcut = body, shortcut

    def forward(self, x):
        return self.body(x) + self.shortcut(x)


def out_shape(m, shape):
    """Per-sample output shape of module `m` on per-sample input `shape`."""
    with torch.no_grad():
        m.eval()
        out = list(m(torch.zeros(2, *shape)).shape[1:])
        m.train()
    return out


def matching_stride(n, out):
    """The smallest stride taking n positions to out with a 1×1 window."""
    return next(s for s in range(1, max(n, 1) + 1) if (max(n, 1) - 1) // s + 1 == out)


def module(spec, in_shape):
    """The PyTorch module for one of our layer specs (per-sample input shape C,H,W or F)."""
    t = spec["type"]
    c = in_shape[0]
    if t == "residual":
        body, shape = [], list(in_shape)
        for inner in spec["layers"]:
            body.append(module(inner, shape))
            shape = out_shape(body[-1], shape)
        if spec.get("shortcut", "identity") == "conv1x1":
            stride = (matching_stride(in_shape[1], shape[1]), matching_stride(in_shape[2], shape[2]))
            shortcut = nn.Conv2d(c, shape[0], 1, stride=stride)
        else:
            shortcut = nn.Identity()
        return Residual(nn.Sequential(*body), shortcut)
    if t == "conv2d":
        pad = spec.get("padding", 0)
        return nn.Conv2d(c, spec["out_channels"], pair(spec["kernel_size"]), stride=pair(spec.get("stride", 1)),
                         padding=pad if isinstance(pad, str) else pair(pad), dilation=pair(spec.get("dilation", 1)),
                         groups=spec.get("groups", 1), bias=spec.get("bias", True),
                         padding_mode=spec.get("padding_mode", "zeros"))
    if t == "linear":
        return nn.Linear(in_shape[0], spec["out_features"], bias=spec.get("bias", True))
    if t == "max_pool2d":
        return nn.MaxPool2d(pair(spec["kernel_size"]), stride=pair(spec["stride"]) if "stride" in spec else None,
                            padding=pair(spec.get("padding", 0)), dilation=pair(spec.get("dilation", 1)),
                            ceil_mode=spec.get("ceil_mode", False))
    if t == "avg_pool2d":
        return nn.AvgPool2d(pair(spec["kernel_size"]), stride=pair(spec["stride"]) if "stride" in spec else None,
                            padding=pair(spec.get("padding", 0)), ceil_mode=spec.get("ceil_mode", False),
                            count_include_pad=spec.get("count_include_pad", True),
                            divisor_override=spec.get("divisor_override"))
    if t == "adaptive_avg_pool2d":
        return nn.AdaptiveAvgPool2d(pair(spec["output_size"]))
    if t == "adaptive_max_pool2d":
        return nn.AdaptiveMaxPool2d(pair(spec["output_size"]))
    if t == "spatial_pyramid_pool":
        return Spp(spec["levels"], spec.get("pool", "max"))
    if t in ("dropout", "dropout2d"):
        return (nn.Dropout if t == "dropout" else nn.Dropout2d)(spec.get("p", 0.5))
    if t in ("batch_norm2d", "batch_norm1d"):
        cls = nn.BatchNorm2d if t == "batch_norm2d" else nn.BatchNorm1d
        return cls(c, eps=spec.get("eps", 1e-5), momentum=spec.get("momentum", 0.1), affine=spec.get("affine", True),
                   track_running_stats=spec.get("track_running_stats", True))
    if t == "layer_norm":
        return nn.LayerNorm(in_shape, eps=spec.get("eps", 1e-5), elementwise_affine=spec.get("elementwise_affine", True),
                            bias=spec.get("bias", True))
    if t == "instance_norm2d":
        return nn.InstanceNorm2d(c, eps=spec.get("eps", 1e-5), affine=spec.get("affine", False))
    if t == "group_norm":
        return nn.GroupNorm(spec["num_groups"], c, eps=spec.get("eps", 1e-5), affine=spec.get("affine", True))
    if t == "local_response_norm":
        return nn.LocalResponseNorm(spec["size"], alpha=spec.get("alpha", 1e-4), beta=spec.get("beta", 0.75), k=spec.get("k", 1.0))
    simple = {
        "relu": nn.ReLU(), "sigmoid": nn.Sigmoid(), "tanh": nn.Tanh(), "silu": nn.SiLU(), "mish": nn.Mish(),
        "flatten": nn.Flatten(), "softmax": nn.Softmax(dim=1),
    }
    if t in simple:
        return simple[t]
    if t == "leaky_relu":
        return nn.LeakyReLU(spec.get("negative_slope", 0.01))
    if t == "elu":
        return nn.ELU(spec.get("alpha", 1.0))
    if t == "gelu":
        return nn.GELU(approximate=spec.get("approximate", "none"))
    if t == "relu6":
        return nn.ReLU6()
    if t == "hardswish":
        return nn.Hardswish()
    if t == "prelu":
        return nn.PReLU(num_parameters=spec.get("num_parameters", 1), init=spec.get("init", 0.25))
    raise ValueError(f"no PyTorch module for {t}")


N = 3
IMG = [3, 7, 6]
LAYER_CASES = [
    ("conv_k3_p1", {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1}, IMG),
    ("conv_k5_s2", {"type": "conv2d", "out_channels": 2, "kernel_size": 5, "stride": 2, "padding": 2}, IMG),
    ("conv_rect", {"type": "conv2d", "out_channels": 3, "kernel_size": [3, 2], "stride": [2, 1], "padding": [1, 0]}, IMG),
    ("conv_dilated", {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "dilation": 2, "padding": 2}, IMG),
    ("conv_dilation_rect", {"type": "conv2d", "out_channels": 2, "kernel_size": 2, "dilation": [2, 3]}, IMG),
    ("conv_groups", {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "groups": 3, "padding": 1}, IMG),
    ("conv_depthwise", {"type": "conv2d", "out_channels": 3, "kernel_size": 3, "groups": 3, "padding": "same", "bias": False}, IMG),
    ("conv_pointwise", {"type": "conv2d", "out_channels": 5, "kernel_size": 1}, IMG),
    ("conv_same_even", {"type": "conv2d", "out_channels": 2, "kernel_size": 4, "padding": "same"}, IMG),
    ("conv_valid", {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": "valid"}, IMG),
    ("conv_reflect", {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 2, "padding_mode": "reflect"}, IMG),
    ("conv_replicate", {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": [1, 2], "stride": 2, "padding_mode": "replicate"}, IMG),
    ("conv_circular", {"type": "conv2d", "out_channels": 2, "kernel_size": 3, "padding": 2, "dilation": [1, 2], "padding_mode": "circular"}, IMG),
    ("linear", {"type": "linear", "out_features": 5}, [11]),
    ("linear_nobias", {"type": "linear", "out_features": 4, "bias": False}, [9]),
    ("relu", {"type": "relu"}, IMG),
    ("leaky_relu", {"type": "leaky_relu", "negative_slope": 0.2}, IMG),
    ("sigmoid", {"type": "sigmoid"}, IMG),
    ("tanh", {"type": "tanh"}, IMG),
    ("silu", {"type": "silu"}, IMG),
    ("mish", {"type": "mish"}, IMG),
    ("elu", {"type": "elu", "alpha": 0.7}, IMG),
    ("softmax", {"type": "softmax"}, [10]),
    ("flatten", {"type": "flatten"}, IMG),
    ("maxpool_2", {"type": "max_pool2d", "kernel_size": 2}, IMG),
    ("maxpool_overlap", {"type": "max_pool2d", "kernel_size": 3, "stride": 2}, IMG),
    ("maxpool_pad_ceil", {"type": "max_pool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True}, IMG),
    ("maxpool_dilated", {"type": "max_pool2d", "kernel_size": 2, "stride": 1, "dilation": 2}, IMG),
    ("maxpool_rect", {"type": "max_pool2d", "kernel_size": [2, 3], "stride": [1, 2]}, IMG),
    ("avgpool_2", {"type": "avg_pool2d", "kernel_size": 2}, IMG),
    ("avgpool_pad", {"type": "avg_pool2d", "kernel_size": 3, "stride": 2, "padding": 1}, IMG),
    ("avgpool_pad_excl_ceil", {"type": "avg_pool2d", "kernel_size": 3, "stride": 2, "padding": 1, "ceil_mode": True, "count_include_pad": False}, IMG),
    ("avgpool_ceil", {"type": "avg_pool2d", "kernel_size": 2, "ceil_mode": True}, IMG),
    ("adaptive_avg", {"type": "adaptive_avg_pool2d", "output_size": [3, 4]}, IMG),
    ("global_avg", {"type": "adaptive_avg_pool2d", "output_size": 1}, IMG),
    ("adaptive_max", {"type": "adaptive_max_pool2d", "output_size": [4, 3]}, IMG),
    ("spp_max", {"type": "spatial_pyramid_pool", "levels": [1, 2, 4]}, IMG),
    ("spp_avg", {"type": "spatial_pyramid_pool", "levels": [1, 3], "pool": "avg"}, IMG),
    ("batchnorm2d", {"type": "batch_norm2d"}, IMG),
    ("batchnorm2d_plain", {"type": "batch_norm2d", "affine": False, "eps": 0.01}, IMG),
    ("batchnorm1d", {"type": "batch_norm1d"}, [9]),
    ("layernorm", {"type": "layer_norm"}, IMG),
    ("layernorm_flat", {"type": "layer_norm", "eps": 0.001}, [12]),
    ("layernorm_plain", {"type": "layer_norm", "elementwise_affine": False}, IMG),
    ("instancenorm", {"type": "instance_norm2d"}, IMG),
    ("instancenorm_affine", {"type": "instance_norm2d", "affine": True}, IMG),
    ("groupnorm", {"type": "group_norm", "num_groups": 3}, [6, 5, 4]),
    ("groupnorm_one", {"type": "group_norm", "num_groups": 1, "affine": False}, IMG),
    ("lrn", {"type": "local_response_norm", "size": 3, "alpha": 0.1, "beta": 0.75, "k": 2.0}, [5, 4, 3]),
    ("lrn_even", {"type": "local_response_norm", "size": 4, "alpha": 0.05}, [6, 3, 3]),
    # Issue 13: windows that hang over the edge with ceil_mode, and divisor_override (appended so
    # the random inputs of the cases above stay as they were).
    ("maxpool_hang_ceil", {"type": "max_pool2d", "kernel_size": 8, "ceil_mode": True}, IMG),
    ("avgpool_hang_ceil", {"type": "avg_pool2d", "kernel_size": 4, "ceil_mode": True}, [2, 3, 3]),
    ("avgpool_hang_stride", {"type": "avg_pool2d", "kernel_size": 4, "stride": 3, "padding": 1, "ceil_mode": True, "count_include_pad": False}, IMG),
    ("avgpool_divisor", {"type": "avg_pool2d", "kernel_size": 3, "stride": 2, "padding": 1, "divisor_override": 5}, IMG),
    ("avgpool_divisor_ceil", {"type": "avg_pool2d", "kernel_size": 2, "ceil_mode": True, "divisor_override": 3}, IMG),
    # Issue 13: BatchNorm without running statistics or with a cumulative average, LayerNorm
    # without bias, and images of 1×1 planes (after AdaptiveAvgPool2d(1)).
    ("batchnorm2d_untracked", {"type": "batch_norm2d", "track_running_stats": False}, IMG),
    ("batchnorm2d_cumulative", {"type": "batch_norm2d", "momentum": None, "affine": False}, IMG),
    ("batchnorm1d_cumulative", {"type": "batch_norm1d", "momentum": None}, [9]),
    ("batchnorm1d_untracked", {"type": "batch_norm1d", "track_running_stats": False, "eps": 0.1}, [7]),
    ("batchnorm2d_1x1", {"type": "batch_norm2d", "momentum": 0.3}, [5, 1, 1]),
    ("layernorm_nobias", {"type": "layer_norm", "bias": False}, IMG),
    ("layernorm_1x1", {"type": "layer_norm"}, [4, 1, 1]),
    ("layernorm_flat_nobias", {"type": "layer_norm", "bias": False}, [6]),
    # Issue 14: activations added through the layer registry.
    ("gelu", {"type": "gelu"}, IMG),
    ("gelu_tanh", {"type": "gelu", "approximate": "tanh"}, IMG),
    ("relu6", {"type": "relu6"}, IMG),
    ("hardswish", {"type": "hardswish"}, IMG),
    ("prelu", {"type": "prelu"}, IMG),
    ("prelu_channels", {"type": "prelu", "num_parameters": 3, "init": 0.1}, IMG),
    ("prelu_flat", {"type": "prelu", "num_parameters": 9}, [9]),
]

# Inputs spread wider for the functions whose kinks lie away from 0 (ReLU6 at 6, Hardswish at ±3).
WIDE = {"relu6": 4.0, "hardswish": 3.0}


def make_layers():
    tensors, cases = {}, []
    for name, spec, in_shape in LAYER_CASES:
        m = module(spec, in_shape)
        m.train()
        if "norm" in spec["type"] or spec["type"] == "prelu":
            with torch.no_grad():
                # Away from the ones/zeros start, so a swapped weight and bias would show.
                for p in m.parameters():
                    p.add_(torch.randn_like(p) * 0.5)
        x = (torch.randn(N, *in_shape) * WIDE.get(name, 1.0)).requires_grad_(True)
        y = m(x)
        dy = torch.randn_like(y)
        y.backward(dy)
        tensors[f"{name}.x"] = x.detach()
        tensors[f"{name}.dy"] = dy
        tensors[f"{name}.y"] = y.detach()
        tensors[f"{name}.dx"] = x.grad
        params = []
        for pname, p in m.named_parameters():
            tensors[f"{name}.{pname}"] = p.detach()
            tensors[f"{name}.grad.{pname}"] = p.grad
            params.append(pname)
        case = {"name": name, "layer": spec, "input": [N] + in_shape, "params": params}
        if spec["type"].startswith("batch_norm"):
            # Running statistics after a second training batch (its own generator, so the inputs
            # of the other cases stay as they were), and the evaluation-mode output on x.
            g = torch.Generator().manual_seed(len(cases))
            x2 = torch.randn(N, *in_shape, generator=g) * 2 + 0.5
            with torch.no_grad():
                m(x2)
                m.eval()
                tensors[f"{name}.x2"] = x2
                tensors[f"{name}.y_eval"] = m(x.detach())
            case["buffers"] = []
            for bname, b in m.named_buffers():
                tensors[f"{name}.buffer.{bname}"] = b.detach().float().clone()
                case["buffers"].append(bname)
        cases.append(case)
    save_file({k: v.clone().contiguous() for k, v in tensors.items()}, os.path.join(HERE, "layers.safetensors"))
    with open(os.path.join(HERE, "layers.json"), "w") as f:
        json.dump(cases, f, indent=1)
    print(f"{len(cases)} layer cases, {len(tensors)} tensors")


STEPS = 20
OPTIMIZERS = [
    ("sgd", {"type": "sgd", "lr": 0.05}, lambda p: torch.optim.SGD(p, lr=0.05)),
    ("sgd_momentum", {"type": "sgd", "lr": 0.05, "momentum": 0.9}, lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9)),
    ("sgd_nesterov_wd", {"type": "sgd", "lr": 0.05, "momentum": 0.8, "nesterov": True, "weight_decay": 0.01},
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.8, nesterov=True, weight_decay=0.01)),
    ("sgd_dampening", {"type": "sgd", "lr": 0.05, "momentum": 0.9, "dampening": 0.3},
     lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.3)),
    ("adam", {"type": "adam", "lr": 0.01}, lambda p: torch.optim.Adam(p, lr=0.01)),
    ("adam_wd_amsgrad", {"type": "adam", "lr": 0.02, "betas": [0.8, 0.99], "weight_decay": 0.05, "amsgrad": True},
     lambda p: torch.optim.Adam(p, lr=0.02, betas=(0.8, 0.99), weight_decay=0.05, amsgrad=True)),
    ("adamw", {"type": "adam_w", "lr": 0.01, "weight_decay": 0.1}, lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1)),
    ("rmsprop", {"type": "rmsprop", "lr": 0.01}, lambda p: torch.optim.RMSprop(p, lr=0.01)),
    ("rmsprop_centered_momentum", {"type": "rmsprop", "lr": 0.005, "alpha": 0.9, "momentum": 0.5, "centered": True, "weight_decay": 0.01},
     lambda p: torch.optim.RMSprop(p, lr=0.005, alpha=0.9, momentum=0.5, centered=True, weight_decay=0.01)),
    ("adagrad", {"type": "adagrad", "lr": 0.1}, lambda p: torch.optim.Adagrad(p, lr=0.1)),
    ("adagrad_decay", {"type": "adagrad", "lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.02, "initial_accumulator_value": 0.1},
     lambda p: torch.optim.Adagrad(p, lr=0.1, lr_decay=0.05, weight_decay=0.02, initial_accumulator_value=0.1)),
]

SCHEDULES = [
    ("step", {"kind": {"type": "step", "step_size": 3, "gamma": 0.5}, "per_step": True},
     lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
    ("exponential", {"kind": {"type": "exponential", "gamma": 0.9}, "per_step": True},
     lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9)),
    ("cosine", {"kind": {"type": "cosine", "t_max": 10, "eta_min": 0.001}, "per_step": True},
     lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("warmup_cosine", {"kind": {"type": "cosine", "t_max": 15}, "per_step": True, "warmup_steps": 5, "warmup_start_factor": 0.1},
     lambda o: torch.optim.lr_scheduler.SequentialLR(o, [
         torch.optim.lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=5),
         torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=15)], milestones=[5])),
]


def make_optim():
    a = torch.tensor([0.5, 1.0, 2.0, 0.1, 3.0])
    b = torch.tensor([0.3, -0.2, 0.0, 1.0, -0.5])
    p0 = torch.tensor([1.0, -2.0, 0.5, 3.0, -0.7])
    traces = []
    for name, spec, make in OPTIMIZERS:
        p = p0.clone().requires_grad_(True)
        opt = make([p])
        steps = []
        for _ in range(STEPS):
            opt.zero_grad()
            # L = Σ a·p² + b·p → grad 2a·p + b, computed the same way in the Rust test.
            loss = (a * p * p + b * p).sum()
            loss.backward()
            opt.step()
            steps.append(p.detach().tolist())
        traces.append({"name": name, "optimizer": spec, "trace": steps})
    schedules = []
    for name, spec, make in SCHEDULES:
        p = torch.zeros(1, requires_grad=True)
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make(opt)
        lrs = []
        for _ in range(STEPS):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        schedules.append({"name": name, "schedule": spec, "lr": lrs})
    out = {"a": a.tolist(), "b": b.tolist(), "p0": p0.tolist(), "optimizers": traces, "schedules": schedules,
           "torch": torch.__version__}
    with open(os.path.join(HERE, "optim.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(f"{len(traces)} optimizer traces, {len(schedules)} schedule traces")


def sequential(layers):
    """nn.Sequential for our spec layers on a 1×28×28 input (state_dict names 0.weight, …)."""
    mods, shape = [], [1, 28, 28]
    for spec in layers:
        m = module(spec, shape)
        mods.append(m)
        with torch.no_grad():
            m.eval()
            shape = list(m(torch.zeros(2, *shape)).shape[1:])
            m.train()
    return nn.Sequential(*mods)


BN_NET = [
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "batch_norm2d"},
    {"type": "relu"},
    {"type": "max_pool2d", "kernel_size": 2},
    {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "bias": False},
    {"type": "batch_norm2d", "momentum": 0.3},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 24},
    {"type": "batch_norm1d"},
    {"type": "tanh"},
    {"type": "linear", "out_features": 10},
]


def make_net_step(name="bn_net", layers=BN_NET, double=False):
    """Two SGD steps of a net with BatchNorm on one 40-image batch (3 chunks in our engine).
    `double` trains in float64 (saved as float32): PyTorch's own float32 result is then no
    reference, it is as far from float64 as our engine (whose BatchNorm sums in f64) is."""
    net = sequential(layers)
    images = torch.randint(0, 256, (40, 28, 28), dtype=torch.uint8)
    labels = torch.randint(0, 10, (40,), dtype=torch.uint8)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    if double:
        net = net.double()
    opt = torch.optim.SGD(net.parameters(), lr=0.1, momentum=0.9)
    x = images.float().div(255).unsqueeze(1)
    if double:
        x = x.double()
    losses = []
    for _ in range(2):
        opt.zero_grad()
        loss = F.cross_entropy(net(x), labels.long())
        loss.backward()
        opt.step()
        losses.append(loss.item())
    save_file({k: v.contiguous() for k, v in before.items()}, os.path.join(HERE, f"{name}_before.safetensors"))
    after = {k: v.float() if v.is_floating_point() else v for k, v in net.state_dict().items()}
    save_file({k: v.contiguous() for k, v in after.items()}, os.path.join(HERE, f"{name}_after.safetensors"))
    save_file({"images": images, "labels": labels}, os.path.join(HERE, f"{name}_data.safetensors"))
    spec = {"version": 1, "dataset": "mnist", "layers": layers, "seed": 1,
            "training": {"batch_size": 40, "epochs": 2, "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9}}}
    with open(os.path.join(HERE, f"{name}.json"), "w") as f:
        json.dump({"spec": spec, "losses": losses}, f, indent=1)
    print(f"{name}: losses {losses}")
    if name == "bn_net":
        with open(os.path.join(HERE, "bn_net.spec.json"), "w") as f:
            json.dump(spec, f, indent=1)
        make_forward(spec, before)


# Residual blocks (issue 16): an identity block with BatchNorm inside, then a strided block with
# a 1×1 projection shortcut.
RESIDUAL_NET = [
    {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    {"type": "batch_norm2d"},
    {"type": "relu"},
    {"type": "residual", "layers": [
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1, "bias": False},
        {"type": "batch_norm2d"},
        {"type": "relu"},
        {"type": "conv2d", "out_channels": 4, "kernel_size": 3, "padding": 1},
    ]},
    {"type": "relu"},
    {"type": "max_pool2d", "kernel_size": 2},
    {"type": "residual", "shortcut": "conv1x1", "layers": [
        {"type": "conv2d", "out_channels": 6, "kernel_size": 3, "stride": 2, "padding": 1},
        {"type": "batch_norm2d"},
        {"type": "tanh"},
    ]},
    {"type": "relu"},
    {"type": "flatten"},
    {"type": "linear", "out_features": 10},
]


def make_forward(spec, state):
    """`cnn forward` parity: outputs, input gradient and parameter gradients of the BatchNorm net."""
    net = sequential(BN_NET)
    net.load_state_dict(state)
    x = torch.rand(5, 1, 28, 28)
    dy = torch.randn(5, 10)
    save_file({"input": x}, os.path.join(HERE, "forward_input.safetensors"))
    save_file({"grad_output": dy}, os.path.join(HERE, "forward_dy.safetensors"))
    net.eval()
    with torch.no_grad():
        save_file({"output": net(x)}, os.path.join(HERE, "forward_eval.safetensors"))
    net.train()
    xg = x.clone().requires_grad_(True)
    y = net(xg)
    y.backward(dy)
    out = {"output": y.detach(), "grad.input": xg.grad}
    for name, p in net.named_parameters():
        out[f"grad.{name}"] = p.grad
    # The running statistics after the training-mode pass (`cnn forward --train` writes them too).
    for name, b in net.named_buffers():
        if "running_" in name:
            out[name] = b.detach().clone()
    save_file({k: v.contiguous() for k, v in out.items()}, os.path.join(HERE, "forward_train.safetensors"))
    print(f"forward parity files: {len(out)} tensors")


if __name__ == "__main__":
    import sys
    # `residual` makes only the residual net's files (added later, with its own seed, so the
    # other files stay as they were).
    if sys.argv[1:] != ["residual"]:
        make_layers()
        make_optim()
        make_net_step()
    torch.manual_seed(20261204)
    make_net_step("residual_net", RESIDUAL_NET, double=True)
