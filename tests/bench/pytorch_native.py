"""Native PyTorch beside our engine: trains and runs the code `cnn export-pytorch` writes for each
bench preset, on synthetic MNIST-shaped batches of 64 (as our benchmark does), with 2 threads and
with 1, and prints one JSON object (img/s per rep) for tests/bench/run.mjs to put in its table.

    python tests/bench/pytorch_native.py --cnn target/release/cnn --nets reference,lenet-5 [--reps 3] [--min-ms 2000]

Outside CI: `make bench-pytorch` sets up a venv with torch from PyPI and runs `make bench` with it.
"""
import argparse
import json
import subprocess
import time

import torch


def exported(cnn, net):
    """The model, optimizer and loss of our PyTorch export for `net`."""
    code = subprocess.run([cnn, "export-pytorch", "--preset", net], check=True, capture_output=True, text=True).stdout
    scope = {}
    exec(compile(code, f"<export of {net}>", "exec"), scope)  # our own generated code
    return scope["model"], scope["optimizer"], scope["loss_fn"]


def rate(step, batch, min_ms):
    """Images per second of `step` over at least `min_ms` (after 5 warm-up calls)."""
    for _ in range(5):
        step()
    n, start = 0, time.perf_counter()
    while (time.perf_counter() - start) * 1000 < min_ms:
        step()
        n += 1
    return n * batch / (time.perf_counter() - start)


def measure(cnn, net, threads, reps, min_ms, batch=64):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model, optimizer, loss_fn = exported(cnn, net)
    x = torch.rand(batch, 1, 28, 28)
    y = torch.randint(0, 10, (batch,))

    def train_step():
        optimizer.zero_grad(set_to_none=True)
        loss_fn(model(x), y).backward()
        optimizer.step()

    def infer_step():
        with torch.inference_mode():
            model(x)

    train, infer = [], []
    for _ in range(reps):
        model.train()
        train.append(rate(train_step, batch, min_ms))
        model.eval()
        infer.append(rate(infer_step, batch, min_ms))
    return {"train_img_s": train, "infer_img_s": infer}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--cnn", required=True)
    p.add_argument("--nets", default="reference,lenet-5,pytorch-mnist-cnn")
    p.add_argument("--reps", type=int, default=3)
    p.add_argument("--min-ms", type=int, default=2000)
    a = p.parse_args()
    out = {"torch": torch.__version__, "results": []}
    for net in a.nets.split(","):
        two = measure(a.cnn, net, 2, a.reps, a.min_ms)
        one = measure(a.cnn, net, 1, a.reps, a.min_ms)
        out["results"].append({"name": net, **two, "train_img_s_one_thread": one["train_img_s"]})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
