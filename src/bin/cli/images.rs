//! The user's own pictures for the CLI: a folder (or zip archive) with one sub-folder per class,
//! decoded by the `image` crate, cut to a centred square and resized to the chosen side.

use cnn_playground::engine::data::folders::{assemble, plan, zip_pictures};
use cnn_playground::engine::data::DataSplit;
use cnn_playground::engine::spec::ImageSet;
use image::imageops::FilterType;
use std::path::Path;

/// How pictures become a dataset: their side, channels and the share held out for testing.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// Pictures are resized to `side × side`.
    pub side: usize,
    /// 3 (colour) or 1 (grey).
    pub channels: usize,
    /// Share of each class held out for testing.
    pub test_split: f32,
}

/// Every file under `dir`, as (path relative to `dir` with `/` separators, bytes).
fn read_tree(dir: &Path, prefix: &str, out: &mut Vec<(String, Vec<u8>)>) -> Result<(), String> {
    let mut entries: Vec<_> = std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?.filter_map(Result::ok).collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let kind = entry.file_type().map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?;
        if kind.is_dir() {
            read_tree(&entry.path(), &path, out)?;
        } else if cnn_playground::engine::data::folders::is_picture(&path) {
            out.push((path, std::fs::read(entry.path()).map_err(|e| format!("cannot read {}: {e}", entry.path().display()))?));
        }
    }
    Ok(())
}

/// One picture as C×S×S bytes: cut to a centred square, resized, colour planes or luma.
fn decode(path: &str, bytes: &[u8], o: Options) -> Result<Vec<u8>, String> {
    let picture = image::load_from_memory(bytes).map_err(|e| format!("{path}: not a picture the decoder reads ({e})"))?;
    let (w, h) = (picture.width(), picture.height());
    let side = w.min(h);
    let square = picture.crop_imm((w - side) / 2, (h - side) / 2, side, side);
    let small = square.resize_exact(o.side as u32, o.side as u32, FilterType::Triangle);
    if o.channels == 1 {
        return Ok(small.to_luma8().into_raw());
    }
    let rgb = small.to_rgb8().into_raw();
    let plane = o.side * o.side;
    Ok((0..3).flat_map(|c| (0..plane).map(move |p| (c, p))).map(|(c, p)| rgb[p * 3 + c]).collect())
}

/// The pictures at `path` (a folder, or a `.zip`) as a dataset, and the spec's description of it.
pub fn load(path: &Path, o: Options, seed: u64) -> Result<(ImageSet, DataSplit), String> {
    let mut files = Vec::new();
    if path.is_dir() {
        read_tree(path, "", &mut files)?;
    } else {
        let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        files = zip_pictures(&name, &bytes).map_err(|e| e.to_string())?;
    }
    let paths: Vec<String> = files.iter().map(|(p, _)| p.clone()).collect();
    let (classes, labels) = plan(&paths).map_err(|e| e.to_string())?;
    let set = ImageSet { channels: o.channels, side: o.side, classes };
    set.check().map_err(|e| e.to_string())?;
    let mut pictures = Vec::new();
    for ((path, bytes), label) in files.iter().zip(labels) {
        if let Some(label) = label {
            pictures.push((path.clone(), label, decode(path, bytes, o)?));
        }
    }
    let split = assemble(&set, pictures, o.test_split, seed).map_err(|e| e.to_string())?;
    Ok((set, split))
}
