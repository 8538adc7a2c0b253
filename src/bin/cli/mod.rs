//! `cnn` subcommands: inspect a spec and train it on the bundled data, natively.

use clap::{Parser, Subcommand};
use cnn_playground::engine::data::{DataSplit, FILES};
use cnn_playground::engine::spec::Spec;
use cnn_playground::engine::train::Trainer;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

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
    /// A preset instead of a file: reference, lenet-5, pytorch-mnist-cnn.
    #[arg(long, conflicts_with = "spec")]
    preset: Option<String>,
}

impl SpecSource {
    fn load(&self) -> Result<Spec, String> {
        if let Some(name) = &self.preset {
            return Spec::preset(name).ok_or_else(|| {
                format!("unknown preset `{name}` (known: {})", cnn_playground::engine::spec::PRESETS.join(", "))
            });
        }
        let Some(path) = &self.spec else { return Ok(Spec::default()) };
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        Spec::from_json(&text).map_err(|e| format!("{}: {e}", path.display()))
    }
}

#[derive(Subcommand)]
enum Command {
    /// Print the layer table (shapes, parameters, FLOPs) of a spec.
    Summary {
        #[command(flatten)]
        spec: SpecSource,
    },
    /// Train a spec on the bundled dataset and report test accuracy per epoch.
    Train {
        #[command(flatten)]
        spec: SpecSource,
        /// Folder holding `<dataset>/*.idx.gz` (written by `make data`).
        #[arg(long, default_value = "static/data")]
        data: PathBuf,
        /// Override the spec's epoch count.
        #[arg(long)]
        epochs: Option<usize>,
        /// Rayon threads (default: all cores).
        #[arg(long)]
        threads: Option<usize>,
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
        Command::Summary { spec } => spec.load().and_then(|s| summary(&s)),
        Command::Train { spec, data, epochs, threads } => spec.load().and_then(|mut s| {
            if let Some(e) = epochs {
                s.training.epochs = e;
            }
            set_threads(threads)?;
            train(s, &data)
        }),
        Command::Bench { spec, reps, min_ms, threads, json } => spec.load().and_then(|s| {
            set_threads(threads)?;
            bench(&s, reps, min_ms, json.as_deref())
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

fn summary(spec: &Spec) -> Result<(), String> {
    let infos = spec.infer().map_err(|e| e.to_string())?;
    println!("{:<4} {:<12} {:>14} {:>10} {:>14}", "#", "layer", "output", "params", "FLOPs");
    for (i, info) in infos.iter().enumerate() {
        println!("{:<4} {:<12} {:>14} {:>10} {:>14}", i, info.name, info.output.to_string(), info.params, info.flops);
    }
    let params: usize = infos.iter().map(|i| i.params).sum();
    let flops: u64 = infos.iter().map(|i| i.flops).sum();
    println!("total: {params} parameters, {flops} forward FLOPs per image");
    Ok(())
}

fn load_data(spec: &Spec, root: &Path) -> Result<DataSplit, String> {
    let dir = root.join(spec.dataset.asset_dir());
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| format!("cannot read {} ({e}); run `make data` first", path.display()))
    };
    let files = [read(FILES[0])?, read(FILES[1])?, read(FILES[2])?, read(FILES[3])?];
    DataSplit::from_files([&files[0], &files[1], &files[2], &files[3]], spec.dataset.classes())
        .map_err(|e| e.to_string())
}

fn train(spec: Spec, data_root: &Path) -> Result<(), String> {
    let data = Arc::new(load_data(&spec, data_root)?);
    let mut trainer = Trainer::new(spec, data.clone()).map_err(|e| e.to_string())?;
    println!(
        "training {} parameters on {} images, {} threads",
        trainer.network.param_count(),
        data.train.len(),
        rayon::current_num_threads()
    );
    while !trainer.finished() {
        let start = Instant::now();
        let (mut images, mut loss_sum) = (0usize, 0.0f64);
        loop {
            let r = trainer.train_steps(100);
            images += r.images;
            loss_sum += r.loss * r.images as f64;
            if r.epoch_done || r.steps == 0 {
                break;
            }
        }
        let secs = start.elapsed().as_secs_f64();
        let test = trainer.evaluate(&data.test);
        println!(
            "epoch {}: train loss {:.4}, test loss {:.4}, test accuracy {:.2}%, {:.0} img/s",
            trainer.epoch,
            loss_sum / images.max(1) as f64,
            test.loss,
            test.accuracy * 100.0,
            images as f64 / secs
        );
    }
    Ok(())
}

fn bench(spec: &Spec, reps: usize, min_ms: f64, json: Option<&Path>) -> Result<(), String> {
    use cnn_playground::engine::bench::{min_median, run, BenchConfig};
    spec.infer().map_err(|e| e.to_string())?;
    let origin = Instant::now();
    let clock = || origin.elapsed().as_secs_f64() * 1000.0;
    let report = run(spec, &BenchConfig { reps, min_ms, ..BenchConfig::default() }, clock);
    let (tmin, tmed) = min_median(&report.train_img_s);
    let (imin, imed) = min_median(&report.infer_img_s);
    println!("threads {}, batch {}", report.threads, report.batch);
    println!("train  img/s min {tmin:>9.0}  median {tmed:>9.0}  {:>6.2} GFLOPS ({:.3} MFLOP/img)", report.train_gflops(), report.train_flops / 1e6);
    println!("infer  img/s min {imin:>9.0}  median {imed:>9.0}  {:>6.2} GFLOPS ({:.3} MFLOP/img)", report.infer_gflops(), report.infer_flops / 1e6);
    println!("per layer, one thread, µs per image:");
    for (i, l) in report.layers.iter().enumerate() {
        println!("  {i:<3} {:<10} forward {:>8.2}  backward {:>8.2}", l.name, l.forward_us, l.backward_us);
    }
    if let Some(path) = json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    }
    Ok(())
}
