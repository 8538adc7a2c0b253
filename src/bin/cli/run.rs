//! Summary, training, evaluation and benchmark subcommands.

use cnn_playground::engine::data::cifar::CifarReader;
use cnn_playground::engine::data::{DataSplit, FILES};
use cnn_playground::engine::metrics::confusion;
use cnn_playground::engine::network::Network;
use cnn_playground::engine::spec::{summary_table, DatasetKind, Spec};
use cnn_playground::engine::train::Trainer;
use cnn_playground::engine::weights;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub fn summary(spec: &Spec) -> Result<(), String> {
    let infos = spec.infer().map_err(|e| e.to_string())?;
    print!("{}", summary_table(&infos));
    println!("\nformulas:");
    for (i, info) in infos.iter().enumerate() {
        println!("  {i:<3} {:<18} output {}   params {}", info.name, info.output_formula, info.params_formula);
    }
    Ok(())
}

/// The data of `spec`: the bundled IDX files under `root/<dataset>/`, or for CIFAR the archive
/// or batch files at `path` (a file, or a folder holding them, or `root/cifar-10/`).
fn load_data(spec: &Spec, root: &Path) -> Result<DataSplit, String> {
    match spec.dataset {
        DatasetKind::Mnist | DatasetKind::FashionMnist => {
            let dir = root.join(spec.dataset.asset_dir());
            let read = |name: &str| {
                let path = dir.join(name);
                std::fs::read(&path).map_err(|e| format!("cannot read {} ({e}); run `make data` first", path.display()))
            };
            let files = [read(FILES[0])?, read(FILES[1])?, read(FILES[2])?, read(FILES[3])?];
            DataSplit::from_files([&files[0], &files[1], &files[2], &files[3]], spec.classes()).map_err(|e| e.to_string())
        }
        DatasetKind::Cifar10 | DatasetKind::Cifar100 => load_cifar(spec.dataset, root),
        DatasetKind::Images => Err("`dataset: images` needs --data FOLDER (or .zip) with one sub-folder per class".into()),
    }
}

/// Reads CIFAR files chunk by chunk, as the page does (the archive is never inflated whole).
fn load_cifar(kind: DatasetKind, path: &Path) -> Result<DataSplit, String> {
    let folder = if path.join(kind.asset_dir()).is_dir() { path.join(kind.asset_dir()) } else { path.to_path_buf() };
    let files: Vec<std::path::PathBuf> = if folder.is_file() {
        vec![folder.clone()]
    } else {
        let entries = std::fs::read_dir(&folder).map_err(|e| format!("cannot read {} ({e}); give the CIFAR archive with --data", folder.display()))?;
        let mut files: Vec<_> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.to_str().is_some_and(|n| [".bin", ".tar", ".gz", ".tgz"].iter().any(|x| n.ends_with(x))))
            .collect();
        files.sort();
        files
    };
    if files.is_empty() {
        return Err(format!("no CIFAR archive or batch files in {}", folder.display()));
    }
    let mut reader = CifarReader::new();
    for file in &files {
        let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("?");
        reader.begin(name).map_err(|e| e.to_string())?;
        let mut f = std::fs::File::open(file).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = std::io::Read::read(&mut f, &mut buf).map_err(|e| format!("cannot read {}: {e}", file.display()))?;
            if n == 0 {
                break;
            }
            reader.push(&buf[..n]).map_err(|e| e.to_string())?;
        }
    }
    let (found, split) = reader.finish().map_err(|e| e.to_string())?;
    if found != kind {
        return Err(format!("the spec trains on {} but {} holds {}; set the spec's dataset to `{}`", kind.title(), path.display(), found.title(), found.word()));
    }
    Ok(split)
}

/// The data of `spec`, and the spec itself, which for the user's pictures takes their classes
/// (and the side and channels asked for).
pub fn spec_and_data(mut spec: Spec, data_root: &Path, images: Option<super::images::Options>) -> Result<(Spec, DataSplit), String> {
    if spec.dataset != DatasetKind::Images {
        let data = load_data(&spec, data_root)?;
        return Ok((spec, data));
    }
    let defaults = spec.images.as_ref().map_or((32, 3), |s| (s.side, s.channels));
    let o = images.unwrap_or(super::images::Options { side: defaults.0, channels: defaults.1, test_split: 0.2 });
    let (set, data) = super::images::load(data_root, o, spec.seed)?;
    println!("{} pictures of {} classes ({}), {}×{}×{}", data.train.len() + data.test.len(), set.classes.len(), set.classes.join(", "), set.channels, set.side, set.side);
    spec.switch_dataset(DatasetKind::Images, Some(set));
    spec.infer().map_err(|e| format!("with the pictures' classes: {e}"))?;
    Ok((spec, data))
}

pub fn train(spec: Spec, data_root: &Path, out: &Path, log: &Path, quiet: bool, images: Option<super::images::Options>) -> Result<(), String> {
    let (spec, data) = spec_and_data(spec, data_root, images)?;
    let data = Arc::new(data);
    let mut trainer = Trainer::new(spec, data.clone()).map_err(|e| e.to_string())?;
    let mut log_file = std::fs::File::create(log).map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    println!(
        "training {} parameters on {} images, {} threads",
        trainer.network.param_count(),
        data.train.len(),
        rayon::current_num_threads()
    );
    let steps = trainer.steps_per_epoch() as u64;
    while !trainer.finished() {
        let start = Instant::now();
        let bar = if quiet { ProgressBar::hidden() } else { ProgressBar::new(steps) };
        bar.set_style(
            ProgressStyle::with_template("epoch {prefix} [{bar:30}] {pos}/{len} steps, {msg} ({eta} left)")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_prefix((trainer.epoch + 1).to_string());
        let (mut images, mut loss_sum) = (0usize, 0.0f64);
        loop {
            let r = trainer.train_steps(20);
            images += r.images;
            loss_sum += r.loss * r.images as f64;
            bar.inc(r.steps as u64);
            bar.set_message(format!("loss {:.4}, {:.0} img/s", loss_sum / images.max(1) as f64, images as f64 / start.elapsed().as_secs_f64()));
            if r.diverged {
                bar.abandon();
                let reason = trainer.stop_reason.as_ref().map(ToString::to_string).unwrap_or_default();
                std::fs::write(out, weights::save(&trainer.network, &trainer.spec)).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
                return Err(format!("{reason}; last good weights written to {}", out.display()));
            }
            if r.epoch_done || r.steps == 0 {
                break;
            }
        }
        bar.finish_and_clear();
        let secs = start.elapsed().as_secs_f64();
        let validation = trainer.validate();
        let test = if trainer.validation.is_some() { trainer.evaluate(&data.test) } else { validation };
        let train_loss = loss_sum / images.max(1) as f64;
        println!(
            "epoch {}: train loss {train_loss:.4}, test loss {:.4}, test accuracy {:.2}%, {:.0} img/s, lr {}",
            trainer.epoch,
            test.loss,
            test.accuracy * 100.0,
            images as f64 / secs,
            trainer.lr()
        );
        if trainer.validation.is_some() {
            println!("  validation loss {:.4}, accuracy {:.2}%", validation.loss, validation.accuracy * 100.0);
        }
        if let Some(reason) = &trainer.stop_reason {
            println!("{reason}");
        }
        let line = serde_json::json!({
            "epoch": trainer.epoch, "train_loss": train_loss, "test_loss": test.loss,
            "validation_loss": validation.loss, "validation_accuracy": validation.accuracy,
            "test_accuracy": test.accuracy, "images_per_second": images as f64 / secs, "seconds": secs,
        });
        writeln!(log_file, "{line}").map_err(|e| format!("cannot write {}: {e}", log.display()))?;
    }
    std::fs::write(out, weights::save(&trainer.network, &trainer.spec)).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("weights written to {}, metrics to {}", out.display(), log.display());
    Ok(())
}

pub fn eval(spec: &Spec, weights_path: &Path, data_root: &Path) -> Result<(), String> {
    let (spec, data) = spec_and_data(spec.clone(), data_root, None)?;
    let spec = &spec;
    let mut network = Network::from_spec(spec).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(weights_path).map_err(|e| format!("cannot read {}: {e}", weights_path.display()))?;
    weights::load(&mut network, &bytes).map_err(|e| format!("{}: {e}", weights_path.display()))?;
    let report = cnn_playground::engine::train::evaluate(&network, &data.test, true);
    let c = confusion(&network, &data.test, true);
    println!("test loss {:.4}, test accuracy {:.2}% on {} images", report.loss, report.accuracy * 100.0, report.images);
    println!("per-class accuracy:");
    for (k, acc) in c.per_class_accuracy().iter().enumerate() {
        println!("  {k}: {:.2}%", acc * 100.0);
    }
    println!("confusion matrix (rows: true class, columns: predicted):");
    for t in 0..c.classes {
        let row: Vec<String> = (0..c.classes).map(|p| format!("{:>5}", c.get(t, p))).collect();
        println!("  {t}: {}", row.join(""));
    }
    Ok(())
}

pub fn bench(spec: &Spec, reps: usize, min_ms: f64, json: Option<&Path>) -> Result<(), String> {
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
    if let Some(scaling) = report.scaling() {
        let (omin, omed) = min_median(&report.train_img_s_one_thread);
        println!("train  img/s min {omin:>9.0}  median {omed:>9.0}  on one thread: {} threads are {scaling:.2}× one", report.threads);
    }
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
