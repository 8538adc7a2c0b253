//! `cnn` subcommands: inspect a spec, train and evaluate it on the bundled data, export it to
//! PyTorch, and run single forward/backward passes for parity checks, natively.

mod images;
mod run;
mod tensors;

use clap::{Parser, Subcommand};
use cnn_playground::engine::spec::{Spec, PRESETS};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "cnn", about = "CNN Playground engine on the command line")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Where the spec comes from: a JSON file, a preset name, or the default net.
#[derive(clap::Args)]
struct SpecSource {
    /// Spec JSON file.
    spec: Option<PathBuf>,
    /// A preset instead of a file (see `cnn presets`).
    #[arg(long, conflicts_with = "spec")]
    preset: Option<String>,
}

impl SpecSource {
    fn load(&self) -> Result<Spec, String> {
        if let Some(name) = &self.preset {
            return Spec::preset(name).ok_or_else(|| format!("unknown preset `{name}` (known: {})", PRESETS.join(", ")));
        }
        let Some(path) = &self.spec else { return Ok(Spec::default()) };
        load_spec(path)
    }
}

fn load_spec(path: &std::path::Path) -> Result<Spec, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let spec = Spec::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    spec.infer().map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(spec)
}

#[derive(Subcommand)]
enum Command {
    /// Print the layer table of a spec: shapes, parameters, FLOPs and the formulas behind them.
    Summary {
        #[command(flatten)]
        spec: SpecSource,
    },
    /// List the preset names.
    Presets,
    /// Print a spec (e.g. a preset) as JSON, to edit or to pass to other subcommands.
    Spec {
        #[command(flatten)]
        spec: SpecSource,
    },
    /// Train a spec on its dataset; writes the weights (safetensors) and a metrics log.
    Train {
        #[command(flatten)]
        spec: SpecSource,
        /// Folder holding `<dataset>/*.idx.gz` (written by `make data`); for CIFAR the archive
        /// (`cifar-10-binary.tar.gz`) or a folder of its batch files.
        #[arg(long, default_value = "static/data")]
        data: PathBuf,
        /// Train on this dataset instead of the spec's (mnist, fashion-mnist, cifar-10, cifar-100,
        /// images: your pictures, `--data` a folder or .zip with one sub-folder per class).
        #[arg(long)]
        dataset: Option<String>,
        /// Your pictures: resized to this side (8–64).
        #[arg(long, default_value_t = 32)]
        side: usize,
        /// Your pictures: as greyscale (one channel) instead of colour.
        #[arg(long)]
        grey: bool,
        /// Your pictures: share of each class held out for testing (0.05–0.5).
        #[arg(long, default_value_t = 0.2)]
        test_split: f32,
        /// Override the spec's epoch count.
        #[arg(long)]
        epochs: Option<usize>,
        /// Rayon threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Where to write the trained weights.
        #[arg(long, default_value = "weights.safetensors")]
        out: PathBuf,
        /// Where to write one JSON line of metrics per epoch.
        #[arg(long, default_value = "metrics.jsonl")]
        log: PathBuf,
        /// No progress bar (e.g. in CI logs).
        #[arg(long)]
        quiet: bool,
    },
    /// Evaluate weights on the test set: loss, accuracy, per-class accuracy, confusion matrix.
    Eval {
        /// Spec JSON file.
        spec: PathBuf,
        /// Weights (safetensors).
        weights: PathBuf,
        /// Folder holding `<dataset>/*.idx.gz`; for CIFAR the archive or its batch files.
        #[arg(long, default_value = "static/data")]
        data: PathBuf,
    },
    /// Write a CIFAR-format archive of generated coloured shapes (ten classes), to try CIFAR
    /// training without the real archive.
    SyntheticCifar {
        /// Where to write the `.tar.gz`.
        out: PathBuf,
        /// Training images.
        #[arg(long, default_value_t = 5000)]
        train: usize,
        /// Test images.
        #[arg(long, default_value_t = 1000)]
        test: usize,
        /// CIFAR-100's format (two label bytes, `train.bin`/`test.bin`) instead of CIFAR-10's.
        #[arg(long)]
        cifar100: bool,
        /// Seed of the generated images.
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
    /// Print the equivalent PyTorch code (nn.Sequential, optimizer, schedule, loss); with
    /// --script a complete training script (data, augmentation, schedule, evaluation, save) that
    /// also runs under `torchrun --nproc_per_node=N` (DistributedDataParallel).
    ExportPytorch {
        #[command(flatten)]
        spec: SpecSource,
        /// The whole training run as a script, not only the model and its optimizer.
        #[arg(long)]
        script: bool,
    },
    /// One forward pass (and, with --grad-out, one backward pass) on tensors from a file.
    Forward {
        /// Spec JSON file.
        spec: PathBuf,
        /// Weights (safetensors).
        weights: PathBuf,
        /// Input: safetensors with `input` [N, C, H, W] f32 (the spec's input shape).
        input: PathBuf,
        /// Output: safetensors receiving `output` [N, classes], and with --grad-out also
        /// `grad.input` and `grad.<layer>.<param>` for every parameter.
        out: PathBuf,
        /// Training mode (batch statistics, dropout) instead of evaluation mode.
        #[arg(long)]
        train: bool,
        /// Gradient of the output: safetensors with `grad_output` [N, classes] f32.
        #[arg(long)]
        grad_out: Option<PathBuf>,
    },
    /// Measure training and inference throughput (synthetic data) and time per layer.
    Bench {
        #[command(flatten)]
        spec: SpecSource,
        /// Timed repetitions.
        #[arg(long, default_value_t = 3)]
        reps: usize,
        /// Minimum milliseconds per repetition.
        #[arg(long, default_value_t = 2000.0)]
        min_ms: f64,
        /// Rayon threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
        /// Also write the report as JSON to this file.
        #[arg(long)]
        json: Option<PathBuf>,
    },
}

fn set_threads(threads: Option<usize>) -> Result<(), String> {
    if let Some(t) = threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(t)
            .build_global()
            .map_err(|e| format!("cannot start {t} threads: {e}"))?;
    }
    Ok(())
}

/// Runs the CLI; returns the process exit code.
pub fn main() -> i32 {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Summary { spec } => spec.load().and_then(|s| run::summary(&s)),
        Command::Presets => {
            println!("{}", PRESETS.join("\n"));
            Ok(())
        }
        Command::Spec { spec } => spec.load().map(|s| println!("{}", serde_json::to_string_pretty(&s).expect("spec serialises"))),
        Command::Train { spec, data, dataset, side, grey, test_split, epochs, threads, out, log, quiet } => spec.load().and_then(|mut s| {
            if let Some(e) = epochs {
                s.training.epochs = e;
            }
            if let Some(d) = dataset {
                let kind = serde_json::from_value(serde_json::Value::String(d.clone()))
                    .map_err(|_| format!("--dataset {d}: expected mnist, fashion-mnist, cifar-10, cifar-100 or images"))?;
                s.switch_dataset(kind, None);
                if kind != cnn_playground::engine::spec::DatasetKind::Images {
                    s.infer().map_err(|e| format!("with --dataset {d}: {e}"))?;
                }
            }
            set_threads(threads)?;
            let images = images::Options { side, channels: if grey { 1 } else { 3 }, test_split };
            run::train(s, &data, &out, &log, quiet, Some(images))
        }),
        Command::Eval { spec, weights, data } => load_spec(&spec).and_then(|s| run::eval(&s, &weights, &data)),
        Command::SyntheticCifar { out, train, test, cifar100, seed } => {
            let bytes = cnn_playground::engine::data::synthetic::cifar_archive(cifar100, train, test, seed);
            std::fs::write(&out, &bytes).map_err(|e| format!("cannot write {}: {e}", out.display())).map(|()| {
                println!("wrote {} ({} bytes): {train} training and {test} test images", out.display(), bytes.len());
            })
        }
        Command::ExportPytorch { spec, script } => spec.load().and_then(|s| {
            let code = if script { cnn_playground::engine::script::pytorch_script(&s) } else { cnn_playground::engine::export::pytorch_code(&s) };
            print!("{}", code.map_err(|e| e.to_string())?);
            Ok(())
        }),
        Command::Forward { spec, weights, input, out, train, grad_out } => {
            load_spec(&spec).and_then(|s| tensors::forward(&s, &weights, &input, &out, train, grad_out.as_deref()))
        }
        Command::Bench { spec, reps, min_ms, threads, json } => spec.load().and_then(|s| {
            set_threads(threads)?;
            run::bench(&s, reps, min_ms, json.as_deref())
        }),
    };
    match result {
        Ok(()) => 0,
        Err(message) => {
            eprintln!("error: {message}");
            1
        }
    }
}
