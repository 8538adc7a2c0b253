#!/usr/bin/env python3
"""The exported PyTorch code of a preset (default resnet-8) against our engine, outside CI:
PyTorch builds the model from `cnn export-pytorch`, randomises BatchNorm running statistics and
saves its weights; `cnn forward` runs our engine on them; outputs (evaluation and training mode),
the input gradient and every parameter gradient are compared.

    python tests/golden/check_export.py target/release/cnn target/export-check [preset]
"""
import json, subprocess, sys, os, torch
from safetensors.torch import save_file, load_file
cnn, d = sys.argv[1], sys.argv[2]
preset = sys.argv[3] if len(sys.argv) > 3 else "resnet-8"
os.makedirs(d, exist_ok=True)
spec = subprocess.check_output([cnn, "spec", "--preset", preset], text=True)
open(f"{d}/spec.json", "w").write(spec)
code = subprocess.check_output([cnn, "export-pytorch", f"{d}/spec.json"], text=True)
ns = {}
exec(code, ns)
model = ns["model"]
torch.manual_seed(3)
with torch.no_grad():
    for name, b in model.named_buffers():
        if "running_mean" in name: b.copy_(torch.randn_like(b) * 0.1)
        if "running_var" in name: b.copy_(torch.rand_like(b) + 0.5)
save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f"{d}/w.safetensors")
shape = json.loads(spec)
side, channels = (32, 3) if shape["dataset"].startswith("cifar") else (28, 1)
x = torch.rand(4, channels, side, side); dy = torch.randn(4, 10)
save_file({"input": x}, f"{d}/x.safetensors"); save_file({"grad_output": dy}, f"{d}/dy.safetensors")
subprocess.check_call([cnn, "forward", f"{d}/spec.json", f"{d}/w.safetensors", f"{d}/x.safetensors", f"{d}/eval.safetensors"])
model.eval()
with torch.no_grad():
    ref = model(x)
ours = load_file(f"{d}/eval.safetensors")["output"]
print(f"{preset}: evaluation output max abs diff", (ours - ref).abs().max().item(), "scale", ref.abs().max().item())
assert (ours - ref).abs().max().item() < 1e-4
if any(isinstance(m, (torch.nn.Dropout, torch.nn.Dropout2d)) for m in model.modules()):
    sys.exit(print("training mode not compared: dropout draws its own masks in each framework"))
subprocess.check_call([cnn, "forward", f"{d}/spec.json", f"{d}/w.safetensors", f"{d}/x.safetensors", f"{d}/train.safetensors", "--train", "--grad-out", f"{d}/dy.safetensors"])
model.train()
xg = x.clone().requires_grad_(True)
y = model(xg); y.backward(dy)
ours = load_file(f"{d}/train.safetensors")
print("train output max abs diff", (ours["output"] - y.detach()).abs().max().item())
print("input grad max abs diff", (ours["grad.input"] - xg.grad).abs().max().item(), "scale", xg.grad.abs().max().item())
worst = max(((ours[f"grad.{n}"] - p.grad).abs().max().item() / max(1e-6, p.grad.abs().max().item()), n) for n, p in model.named_parameters())
print("worst relative parameter-gradient diff", worst, "of", len(list(model.named_parameters())), "tensors")
assert worst[0] < 1e-3 and (ours["output"] - y.detach()).abs().max().item() < 1e-4
