//! The `cnn` binary end to end: forward/backward parity with PyTorch through files, train →
//! weights + metrics log → eval, summary formulas, PyTorch export and error messages.

use cnn_playground::engine::data::idx::encode_idx;
use cnn_playground::engine::data::synthetic;
use safetensors::SafeTensors;
use std::path::{Path, PathBuf};
use std::process::Command;

const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/golden");

fn cnn(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cnn")).args(args).output().expect("run cnn");
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cnn-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn floats(st: &SafeTensors, name: &str) -> Vec<f32> {
    let t = st.tensor(name).unwrap_or_else(|_| panic!("missing {name}"));
    t.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

fn compare_files(ours: &Path, theirs: &str) -> f64 {
    let (a, b) = (std::fs::read(ours).unwrap(), std::fs::read(format!("{GOLDEN}/{theirs}")).unwrap());
    let (a, b) = (SafeTensors::deserialize(&a).unwrap(), SafeTensors::deserialize(&b).unwrap());
    let mut worst = 0.0f64;
    for name in b.names() {
        let (x, y) = (floats(&a, name), floats(&b, name));
        let scale = y.iter().fold(1.0f64, |m, &v| m.max(v.abs() as f64));
        let err = x.iter().zip(&y).map(|(&p, &q)| (p as f64 - q as f64).abs()).fold(0.0, f64::max) / scale;
        assert!(err < 1e-4, "{theirs} {name}: relative error {err:e}");
        worst = worst.max(err);
    }
    assert!(b.names().len() >= 1);
    worst
}

#[test]
fn forward_and_backward_match_pytorch() {
    let dir = temp_dir("forward");
    let spec = format!("{GOLDEN}/bn_net.spec.json");
    let weights = format!("{GOLDEN}/bn_net_before.safetensors");
    let input = format!("{GOLDEN}/forward_input.safetensors");
    let out = dir.join("train.safetensors");
    let dy = format!("{GOLDEN}/forward_dy.safetensors");
    let (ok, _, err) = cnn(&["forward", &spec, &weights, &input, out.to_str().unwrap(), "--train", "--grad-out", &dy]);
    assert!(ok, "{err}");
    let train_err = compare_files(&out, "forward_train.safetensors");
    let eval_out = dir.join("eval.safetensors");
    let (ok, _, err) = cnn(&["forward", &spec, &weights, &input, eval_out.to_str().unwrap()]);
    assert!(ok, "{err}");
    let eval_err = compare_files(&eval_out, "forward_eval.safetensors");
    println!("forward parity: train-mode largest relative error {train_err:e}, eval-mode {eval_err:e}");
}

#[test]
fn forward_reports_bad_files_by_name() {
    let dir = temp_dir("bad");
    let spec = format!("{GOLDEN}/bn_net.spec.json");
    let weights = format!("{GOLDEN}/bn_net_before.safetensors");
    let out = dir.join("o.safetensors");
    let junk = dir.join("junk.safetensors");
    std::fs::write(&junk, b"definitely not safetensors").unwrap();
    let (ok, _, err) = cnn(&["forward", &spec, junk.to_str().unwrap(), &weights, out.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("junk.safetensors: not a readable safetensors file"), "{err}");
    // The weights file has no `input` tensor.
    let (ok, _, err) = cnn(&["forward", &spec, &weights, &weights, out.to_str().unwrap()]);
    assert!(!ok && err.contains("no tensor `input`"), "{err}");
    // Weights of another model.
    let (ok, _, err) = cnn(&["forward", &spec, &format!("{GOLDEN}/forward_eval.safetensors"), &weights, out.to_str().unwrap()]);
    assert!(!ok && err.contains("does not belong to this model"), "{err}");
    let bad_spec = dir.join("bad.json");
    std::fs::write(&bad_spec, r#"{"version":1,"dataset":"mnist","seed":1,"training":{"batch_size":8,"epochs":1,"optimizer":{"type":"sgd","lr":0.1}},
        "layers":[{"type":"conv2d","out_channels":6,"kernel_size":3,"groups":4},{"type":"flatten"},{"type":"linear","out_features":10}]}"#).unwrap();
    let (ok, _, err) = cnn(&["summary", bad_spec.to_str().unwrap()]);
    assert!(!ok);
    assert!(err.contains("layer 0, field `groups`: 4 must divide both the input channels (1) and out_channels (6)"), "{err}");
}

#[test]
fn summary_shows_formulas_and_export_is_pytorch() {
    let (ok, out, err) = cnn(&["summary", "--preset", "lenet-5"]);
    assert!(ok, "{err}");
    assert!(out.contains("(5·5·1+1)·6 = 156"), "{out}");
    assert!(out.contains("⌊(28+2·2−5)/1⌋+1 = 28"), "{out}");
    assert!(out.contains("total params 61706"), "{out}");
    let (ok, code, _) = cnn(&["export-pytorch", "--preset", "lenet-5"]);
    assert!(ok);
    assert!(code.contains("nn.Conv2d(1, 6, kernel_size=5, padding=2),  # 0"), "{code}");
    assert!(code.contains("nn.AvgPool2d(kernel_size=2)"), "{code}");
    assert!(code.contains("nn.Linear(84, 10)"), "{code}");
}

#[test]
fn train_writes_weights_and_log_then_eval_reads_them() {
    let dir = temp_dir("train");
    let data = dir.join("data/mnist");
    std::fs::create_dir_all(&data).unwrap();
    let (train, test) = (synthetic::bars(400, 1), synthetic::bars(100, 2));
    for (name, set) in [("train", &train), ("test", &test)] {
        std::fs::write(data.join(format!("{name}-images.idx.gz")), encode_idx(&[set.len() as u32, 28, 28], &set.images)).unwrap();
        std::fs::write(data.join(format!("{name}-labels.idx.gz")), encode_idx(&[set.len() as u32], &set.labels)).unwrap();
    }
    let (weights, log) = (dir.join("w.safetensors"), dir.join("m.jsonl"));
    let (ok, out, err) = cnn(&[
        "train", "--data", dir.join("data").to_str().unwrap(), "--epochs", "2", "--quiet",
        "--out", weights.to_str().unwrap(), "--log", log.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(out.contains("epoch 2:"), "{out}");
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2);
    let acc = lines[1]["test_accuracy"].as_f64().unwrap();
    assert!(acc > 0.8, "{lines:?}");
    let spec = dir.join("spec.json");
    std::fs::write(&spec, serde_json::to_string(&cnn_playground::engine::spec::Spec::default()).unwrap()).unwrap();
    let (ok, out, err) = cnn(&["eval", spec.to_str().unwrap(), weights.to_str().unwrap(), "--data", dir.join("data").to_str().unwrap()]);
    assert!(ok, "{err}");
    assert!(out.contains(&format!("test accuracy {:.2}%", acc * 100.0)), "{out} vs {acc}");
    assert!(out.contains("confusion matrix"), "{out}");
}

/// `cnn synthetic-cifar` writes a CIFAR-format archive that `cnn train --data` reads (streamed
/// in chunks, as the page reads it) and learns; a wrong file or dataset is refused by name.
#[test]
fn train_reads_a_cifar_archive() {
    let dir = temp_dir("cifar");
    let archive = dir.join("cifar-10-binary.tar.gz");
    let (ok, out, err) = cnn(&["synthetic-cifar", archive.to_str().unwrap(), "--train", "3000", "--test", "400"]);
    assert!(ok && out.contains("3000 training and 400 test images"), "{out}{err}");
    let (weights, log) = (dir.join("w.safetensors"), dir.join("m.jsonl"));
    let train = |dataset: &str, data: &Path| {
        cnn(&[
            "train", "--dataset", dataset, "--data", data.to_str().unwrap(), "--epochs", "3", "--quiet",
            "--out", weights.to_str().unwrap(), "--log", log.to_str().unwrap(),
        ])
    };
    let (ok, out, err) = train("cifar-10", &archive);
    assert!(ok, "{err}");
    assert!(out.contains("on 3000 images"), "{out}");
    let last: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    assert!(last["test_accuracy"].as_f64().unwrap() > 0.8, "{last}");
    let (ok, _, err) = train("cifar-100", &archive);
    assert!(!ok && err.contains("the spec trains on CIFAR-100 but") && err.contains("holds CIFAR-10"), "{err}");
    std::fs::write(dir.join("junk.tar.gz"), b"not an archive at all").unwrap();
    let (ok, _, err) = train("cifar-10", &dir.join("junk.tar.gz"));
    assert!(!ok && err.contains("junk.tar.gz: not a CIFAR archive"), "{err}");
}

/// A folder of pictures, one sub-folder per class (generated coloured shapes as PNG files, 40 px,
/// resized to 32 by the CLI), trains with its classes from the folder names; the same pictures
/// as a zip archive give the same data; a folder with one class is refused.
#[test]
fn train_reads_a_folder_of_pictures_and_a_zip() {
    use std::io::Write;
    let dir = temp_dir("pictures");
    let set = synthetic::colour_shapes(1500, 40, 5);
    let pictures = dir.join("shapes");
    let mut zip = zip::ZipWriter::new(std::fs::File::create(dir.join("shapes.zip")).unwrap());
    for (i, label) in set.labels.iter().enumerate() {
        let class = synthetic::SHAPES[*label as usize];
        std::fs::create_dir_all(pictures.join(class)).unwrap();
        let chw = &set.images[i * 4800..(i + 1) * 4800];
        let rgb: Vec<u8> = (0..1600).flat_map(|p| [chw[p], chw[1600 + p], chw[3200 + p]]).collect();
        let mut png = Vec::new();
        image::RgbImage::from_raw(40, 40, rgb).unwrap().write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png).unwrap();
        std::fs::write(pictures.join(class).join(format!("{i}.png")), &png).unwrap();
        zip.start_file(format!("shapes/{class}/{i}.png"), zip::write::SimpleFileOptions::default()).unwrap();
        zip.write_all(&png).unwrap();
    }
    zip.finish().unwrap();
    std::fs::write(pictures.join("notes.txt"), "not a picture").unwrap();
    let (weights, log) = (dir.join("w.safetensors"), dir.join("m.jsonl"));
    let train = |data: &Path, extra: &[&str]| {
        let mut args = vec!["train", "--dataset", "images", "--data", data.to_str().unwrap(), "--epochs", "4", "--quiet", "--out", weights.to_str().unwrap(), "--log", log.to_str().unwrap()];
        args.extend_from_slice(extra);
        cnn(&args)
    };
    let (ok, out, err) = train(&pictures, &[]);
    assert!(ok, "{err}");
    assert!(out.contains("1500 pictures of 10 classes (cross, diamond, disc, h-bar, ring, square, triangle, two-dots, v-bar, x), 3×32×32"), "{out}");
    let last: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    let folder_accuracy = last["test_accuracy"].as_f64().unwrap();
    assert!(folder_accuracy > 0.6, "{last}");
    let (ok, out, err) = train(&dir.join("shapes.zip"), &[]);
    assert!(ok, "{err}");
    assert!(out.contains("1500 pictures of 10 classes"), "{out}");
    let last: serde_json::Value = serde_json::from_str(std::fs::read_to_string(&log).unwrap().lines().last().unwrap()).unwrap();
    assert_eq!(last["test_accuracy"].as_f64().unwrap(), folder_accuracy, "same pictures, same split, same run");
    let (ok, out, err) = train(&pictures, &["--grey", "--side", "16"]);
    assert!(ok && out.contains("1×16×16"), "{out}{err}");
    let (ok, _, err) = train(&pictures.join("disc"), &[]);
    assert!(!ok && err.contains("images: 2 to 100 class folders are needed, found 0"), "{err}");
}
