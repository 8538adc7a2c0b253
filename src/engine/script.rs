//! `cnn export-pytorch --script`: the whole run as a PyTorch training script — the same data
//! files, augmentation, learning-rate schedule (our `lr_at`, step for step), loss, seed,
//! evaluation and safetensors save — that runs as one process or, unchanged, under `torchrun`
//! on several (DistributedDataParallel; the spec's batch is split over the processes).

use super::export::{augment_code, model_code, num};
use super::spec::{DatasetKind, LossKind, Schedule, Spec, SpecError};

/// Python reading the spec's dataset into uint8 tensors `(train_x, train_y, test_x, test_y)`,
/// images `[N, C, H, W]`.
fn data_code(spec: &Spec) -> String {
    let mut out = String::from(DATA_READERS);
    out += &match spec.dataset {
        DatasetKind::Mnist | DatasetKind::FashionMnist => "def load(path):\n    return load_idx_folder(path)\n".to_string(),
        DatasetKind::Cifar10 | DatasetKind::Cifar100 => format!("def load(path):\n    return load_cifar(path, {})\n", if spec.dataset == DatasetKind::Cifar100 { "True" } else { "False" }),
        DatasetKind::Images => {
            let set = spec.images.as_ref();
            let (side, channels) = set.map_or((32, 3), |s| (s.side, s.channels));
            let classes = set.map(|s| s.classes.iter().map(|c| format!("{c:?}")).collect::<Vec<_>>().join(", ")).unwrap_or_default();
            format!("CLASS_NAMES = [{classes}]\n\ndef load(path):\n    return load_picture_folders(path, CLASS_NAMES, side={side}, channels={channels}, test_split=0.2, seed=SEED)\n")
        }
    };
    out
}

const DATA_READERS: &str = r#"
def read_idx(path):
    """An IDX file (gzip or raw) as a uint8 tensor of its shape."""
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4:4 + 4 * dims])
    return torch.frombuffer(bytearray(data[4 + 4 * dims:]), dtype=torch.uint8).reshape(shape)


def load_idx_folder(path):
    """MNIST or Fashion-MNIST as the app bundles it: <path>/{train,test}-{images,labels}.idx.gz."""
    f = lambda name: read_idx(os.path.join(path, name + ".idx.gz"))
    return (f("train-images").unsqueeze(1), f("train-labels").long(), f("test-images").unsqueeze(1), f("test-labels").long())


def load_cifar(path, cifar100):
    """CIFAR-10/100 from the official binary archive (or a folder of its .bin batch files)."""
    record = 3074 if cifar100 else 3073
    parts = {"train": [], "test": []}
    def take(name, data):
        base = os.path.basename(name)
        split = "test" if base in ("test_batch.bin", "test.bin") else "train" if base.startswith("data_batch_") or base == "train.bin" else None
        if split:
            parts[split].append(torch.frombuffer(bytearray(data), dtype=torch.uint8).reshape(-1, record))
    if os.path.isdir(path):
        for name in sorted(os.listdir(path)):
            take(name, open(os.path.join(path, name), "rb").read())
    else:
        with tarfile.open(path) as archive:
            for member in archive.getmembers():
                if member.isfile():
                    take(member.name, archive.extractfile(member).read())
    def split(name):
        rows = torch.cat(parts[name])
        return rows[:, record - 3072:].reshape(-1, 3, 32, 32), rows[:, record - 3073].long()
    (train_x, train_y), (test_x, test_y) = split("train"), split("test")
    return train_x, train_y, test_x, test_y


def load_picture_folders(path, classes, side, channels, test_split, seed):
    """Pictures in class folders: cut to a centred square, resized, a seeded split per class."""
    from PIL import Image
    xs, ys = {"train": [], "test": []}, {"train": [], "test": []}
    generator = torch.Generator().manual_seed(seed)
    for label, name in enumerate(classes):
        folder = os.path.join(path, name)
        files = sorted(f for f in os.listdir(folder) if f.lower().endswith((".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp")))
        order = torch.randperm(len(files), generator=generator).tolist()
        held = max(1, round(len(files) * test_split)) if len(files) > 1 else 0
        for rank, i in enumerate(order):
            picture = Image.open(os.path.join(folder, files[i])).convert("RGB" if channels == 3 else "L")
            w, h = picture.size
            s = min(w, h)
            picture = picture.crop(((w - s) // 2, (h - s) // 2, (w - s) // 2 + s, (h - s) // 2 + s)).resize((side, side), Image.BILINEAR)
            x = torch.frombuffer(bytearray(picture.tobytes()), dtype=torch.uint8).reshape(side, side, channels).permute(2, 0, 1)
            part = "test" if rank < held else "train"
            xs[part].append(x)
            ys[part].append(label)
    return torch.stack(xs["train"]), torch.tensor(ys["train"]), torch.stack(xs["test"]), torch.tensor(ys["test"])
"#;

/// Python for the learning rate of optimizer step `step`: the engine's `lr_at` (linear warm-up,
/// then the schedule in epochs or steps), times the plateau factor.
fn lr_code(spec: &Spec) -> String {
    let s = &spec.training.schedule;
    let base = num(spec.training.optimizer.lr());
    let unit = if s.per_step { "after" } else { "after // steps_per_epoch" };
    let main = match s.kind {
        Schedule::Constant | Schedule::ReduceOnPlateau { .. } => format!("{base}"),
        Schedule::Step { step_size, gamma } => format!("{base} * {} ** (t // {step_size})", num(gamma)),
        Schedule::Exponential { gamma } => format!("{base} * {} ** t", num(gamma)),
        Schedule::Cosine { t_max, eta_min } => {
            let eta = num(eta_min);
            format!("{eta} + ({base} - {eta}) * (1 + math.cos(math.pi * t / {t_max})) / 2")
        }
    };
    let warm = s.warmup_steps;
    let warmup = if warm > 0 {
        let f = num(s.warmup_start_factor);
        format!("    if step < {warm}:\n        return {base} * ({f} + (1 - {f}) * step / {warm})\n")
    } else {
        String::new()
    };
    let mut out = format!(
        "def lr_at(step, steps_per_epoch):\n    \"\"\"The engine's learning rate of optimizer step `step` (0-based), before any plateau factor.\"\"\"\n{warmup}    after = step - {warm}\n    t = {unit}\n    return {main}\n\n"
    );
    out += &match s.kind {
        Schedule::ReduceOnPlateau { factor, patience, threshold, min_lr } => format!(
            "class Plateau:\n    \"\"\"ReduceLROnPlateau (mode min, relative threshold) as the engine applies it.\"\"\"\n    def __init__(self):\n        self.best, self.bad, self.factor = None, 0, 1.0\n\n    def observe(self, loss):\n        if self.best is None or loss < self.best * (1 - {threshold}):\n            self.best, self.bad = loss, 0\n        else:\n            self.bad += 1\n            if self.bad > {patience}:\n                self.factor *= {factor}\n                self.bad = 0\n\n    def apply(self, lr):\n        return max(lr * self.factor, {min_lr})\n\n",
            threshold = num(threshold), factor = num(factor), min_lr = num(min_lr)
        ),
        _ => "class Plateau:\n    \"\"\"No plateau schedule: the scheduled rate as it is.\"\"\"\n    def observe(self, loss):\n        pass\n\n    def apply(self, lr):\n        return lr\n\n".into(),
    };
    out
}

/// A complete PyTorch training script for `spec` (see the module docs).
pub fn pytorch_script(spec: &Spec) -> Result<String, SpecError> {
    spec.infer()?;
    let t = &spec.training;
    let input = spec.input_shape();
    let mut out = format!(
        "# Generated by CNN Playground: the whole run in PyTorch: data, augmentation, schedule, loss, seed,\n\
         # evaluation after every epoch and a safetensors save of the weights (loadable in the app).\n\
         #\n\
         #   pip install torch torchvision safetensors numpy pillow\n\
         #   python train.py --data DATA                                # one process\n\
         #   torchrun --nproc_per_node=2 train.py --data DATA           # DistributedDataParallel\n\
         #\n\
         # DATA: {}.\n\
         # Under torchrun the batch of {} is split over the processes (the same global batch; BatchNorm\n\
         # statistics are each process's own) and one process saves; on GPUs add --backend nccl.\n\
         # Inputs are {} images scaled to [0, 1], shape [N, {}, {}, {}].\n",
        match spec.dataset {
            DatasetKind::Mnist | DatasetKind::FashionMnist => format!("the folder of the four IDX files (the app's static/data/{})", spec.dataset.asset_dir()),
            DatasetKind::Cifar10 | DatasetKind::Cifar100 => format!("the {} binary archive (.tar.gz) or a folder of its .bin files", spec.dataset.title()),
            DatasetKind::Images => "the folder with one sub-folder per class".into(),
        },
        t.batch_size,
        spec.dataset.title(),
        input.c,
        input.h,
        input.w,
    );
    out += "import argparse\nimport gzip\nimport math\nimport os\nimport struct\nimport tarfile\n\nimport torch\nimport torch.distributed as dist\nfrom torch import nn\nfrom safetensors.torch import save_file\n";
    out += &format!("\nSEED = {}\nBATCH_SIZE = {}\nEPOCHS = {}\nCLASSES = {}\n", spec.seed, t.batch_size, t.epochs, spec.classes());
    out += &model_code(spec)?;
    out += &data_code(spec);
    out += "\n";
    out += &augment_code(&t.augment, input);
    out += &lr_code(spec);
    out += &format!("def make_optimizer(model):\n    return {}\n\n", super::export::optimizer(&t.optimizer));
    out += &match t.loss {
        LossKind::CrossEntropy => format!("loss_fn = nn.CrossEntropyLoss(label_smoothing={})\n\n", num(t.label_smoothing)),
        LossKind::Mse => "def loss_fn(logits, labels):\n    return nn.functional.mse_loss(logits, nn.functional.one_hot(labels, CLASSES).float())\n\n".into(),
    };
    out += &format!("L1, L2 = {}, {}\n", num(t.l1), num(t.l2));
    out += MAIN;
    Ok(out)
}

const MAIN: &str = r#"

def evaluate(model, x, y, batch=1000):
    """Mean loss and accuracy (evaluation mode, no augmentation)."""
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for i in range(0, len(x), batch):
            logits = model(x[i:i + batch].float() / 255)
            total += nn.functional.cross_entropy(logits, y[i:i + batch], reduction="sum").item()
            correct += (logits.argmax(1) == y[i:i + batch]).sum().item()
    model.train()
    return total / len(x), correct / len(x)


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", required=True)
    parser.add_argument("--epochs", type=int, default=EPOCHS)
    parser.add_argument("--out", default="weights.safetensors")
    parser.add_argument("--backend", default="gloo", help="gloo (CPU) or nccl (GPUs) under torchrun")
    args = parser.parse_args()
    distributed = "WORLD_SIZE" in os.environ
    rank, world = 0, 1
    if distributed:
        dist.init_process_group(args.backend)
        rank, world = dist.get_rank(), dist.get_world_size()
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    device = torch.device(f"cuda:{rank % torch.cuda.device_count()}") if args.backend == "nccl" else torch.device("cpu")
    torch.manual_seed(SEED)
    train_x, train_y, test_x, test_y = load(args.data)
    model = make_model().to(device)
    if distributed:
        model = nn.parallel.DistributedDataParallel(model)
    optimizer = make_optimizer(model)
    plateau = Plateau()
    steps_per_epoch = math.ceil(len(train_x) / BATCH_SIZE)
    step = 0
    if rank == 0:
        print(f"training {sum(p.numel() for p in model.parameters())} parameters on {len(train_x)} images, {world} process(es)")
    for epoch in range(args.epochs):
        # Every process draws the same permutation and takes its share of each global batch.
        order = torch.randperm(len(train_x), generator=torch.Generator().manual_seed(SEED + epoch))
        seen, loss_sum = 0, 0.0
        for start in range(0, len(order), BATCH_SIZE):
            whole = order[start:start + BATCH_SIZE]
            if len(whole) < world:
                continue  # every process skips it alike: each must take part in every step
            batch = torch.tensor_split(whole, world)[rank]
            x = augment(train_x[batch].float() / 255).to(device)
            y = train_y[batch].to(device)
            lr = plateau.apply(lr_at(step, steps_per_epoch))
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss = loss_fn(model(x), y)
            if L1 or L2:
                params = [p for p in model.parameters()]
                loss = loss + L1 * sum(p.abs().sum() for p in params) + L2 * sum((p * p).sum() for p in params)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step += 1
            seen += len(batch)
            loss_sum += loss.item() * len(batch)
        net = model.module if distributed else model
        test_loss, test_accuracy = evaluate(net, test_x.to(device), test_y.to(device))
        plateau.observe(test_loss)
        if rank == 0:
            print(f"epoch {epoch + 1}: train loss {loss_sum / max(seen, 1):.4f}, test loss {test_loss:.4f}, test accuracy {100 * test_accuracy:.2f}%, lr {lr:.6g}")
    if rank == 0:
        net = model.module if distributed else model
        save_file({k: v.contiguous().cpu() for k, v in net.state_dict().items()}, args.out)
        print(f"weights written to {args.out}")
    if distributed:
        dist.destroy_process_group()


if __name__ == "__main__":
    main()
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{ImageSet, PRESETS};
    use std::process::Command;

    /// Runs Python source with python3 (no torch needed), returning what it prints.
    fn python(source: &str) -> String {
        let out = Command::new("python3").arg("-c").arg(source).output().expect("python3 runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn specs() -> Vec<Spec> {
        let mut specs: Vec<Spec> = PRESETS.iter().map(|p| Spec::preset(p).unwrap()).collect();
        let mut cifar100 = Spec::default();
        cifar100.switch_dataset(DatasetKind::Cifar100, None);
        cifar100.training.augment = serde_json::from_str(r#"{"rotation":5,"elastic_alpha":2,"brightness":0.2,"noise":0.05,"erasing":0.3,"cutout":6,"saturation":0.2,"hue":0.05}"#).unwrap();
        cifar100.training.loss = LossKind::Mse;
        cifar100.training.l2 = 1e-4;
        specs.push(cifar100);
        let mut pictures = Spec::default();
        pictures.switch_dataset(DatasetKind::Images, Some(ImageSet { channels: 1, side: 24, classes: vec!["cat".into(), "big dog".into()] }));
        specs.push(pictures);
        specs
    }

    /// Every script is valid Python (compiled by python3 itself, torch not needed) and has
    /// the parts a run needs.
    #[test]
    fn scripts_compile_and_hold_a_whole_run() {
        let dir = std::env::temp_dir().join(format!("cnn-script-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for (i, spec) in specs().into_iter().enumerate() {
            let script = pytorch_script(&spec).unwrap();
            let file = dir.join(format!("train{i}.py"));
            std::fs::write(&file, &script).unwrap();
            let compiled = Command::new("python3").args(["-m", "py_compile"]).arg(&file).output().expect("python3 runs");
            assert!(compiled.status.success(), "{:?}: {}", spec.dataset, String::from_utf8_lossy(&compiled.stderr));
            for part in ["def make_model():", "def load(path):", "def augment(x):", "def lr_at(step, steps_per_epoch):", "DistributedDataParallel", "save_file(", "torch.manual_seed(SEED)"] {
                assert!(script.contains(part), "{part} missing for {:?}", spec.dataset);
            }
        }
    }

    /// The script's `lr_at` gives the engine's learning rate at every step (warm-up, per-step
    /// and per-epoch schedules), run by python3.
    #[test]
    fn the_scripts_learning_rate_is_the_engines() {
        for name in ["fast-99", "best-99.5", "reference"] {
            let mut spec = Spec::preset(name).unwrap();
            if name == "reference" {
                spec.training.schedule = serde_json::from_str(r#"{"kind":{"type":"step","step_size":2,"gamma":0.5},"warmup_steps":10}"#).unwrap();
            }
            let script = pytorch_script(&spec).unwrap();
            let start = script.find("def lr_at").unwrap();
            let end = script[start..].find("\nclass Plateau").unwrap() + start;
            let steps = [0u64, 1, 5, 99, 100, 101, 500, 937, 938, 2000, 7000];
            let code = format!("import math\n{}\nfor s in {steps:?}:\n    print(repr(lr_at(s, 938)))", &script[start..end]);
            let theirs: Vec<f64> = python(&code).lines().map(|l| l.parse().unwrap()).collect();
            for (s, t) in steps.iter().zip(theirs) {
                let ours = crate::engine::optim::lr_at(&spec.training, *s, 938) as f64;
                assert!((ours - t).abs() <= 1e-6 * ours.abs().max(1e-3), "{name} step {s}: engine {ours}, script {t}");
            }
        }
    }
}
