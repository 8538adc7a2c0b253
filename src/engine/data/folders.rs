//! The user's own images, one sub-folder per class (as torchvision's `ImageFolder` and Teachable
//! Machine take them): class names from the folder names, a seeded test split per class, and the
//! pictures of a zip archive. Decoding and resizing a picture is the host's (the browser's image
//! decoder in the page, the `image` crate in the CLI); this module only sees paths and pixels.

use super::{DataError, DataSplit, Dataset};
use crate::engine::spec::dataset::{valid_class_name, ImageSet, CLASS_COUNT, CLASS_NAME_CHARS};
use crate::msg;
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::io::Read;

/// File name endings taken as pictures (anything else in the folders is skipped).
pub const PICTURE_ENDINGS: [&str; 7] = [".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".avif"];
/// Most pictures read from one folder or archive.
pub const MAX_PICTURES: usize = 100_000;
/// Most bytes the pictures of a zip archive may inflate to.
pub const MAX_ZIP_BYTES: u64 = 1 << 30;

/// True for a path whose name ends like a picture and that is not hidden (`.DS_Store`, `._x`).
pub fn is_picture(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    let lower = name.to_ascii_lowercase();
    !name.starts_with('.') && !path.contains("__MACOSX") && PICTURE_ENDINGS.iter().any(|e| lower.ends_with(e))
}

/// The class folder of a picture's path: the folder it is in (`pets/cat/1.jpg` → `cat`).
pub fn class_folder(path: &str) -> Option<&str> {
    let mut parts = path.rsplit('/');
    parts.next()?;
    parts.next().filter(|f| !f.is_empty())
}

/// A folder name as a class name the spec accepts: other characters become `_`, cut to 32.
pub fn class_name(folder: &str) -> String {
    let cleaned: String = folder
        .trim()
        .chars()
        .map(|c| if c.is_alphanumeric() || matches!(c, ' ' | '_' | '-' | '.') { c } else { '_' })
        .take(CLASS_NAME_CHARS)
        .collect();
    let cleaned = cleaned.trim().to_string();
    if valid_class_name(&cleaned) { cleaned } else { "_".into() }
}

/// The classes of a set of picture paths (sorted by name, as `ImageFolder` does) and each
/// path's label (`None`: not a picture in a class folder, skipped).
pub fn plan(paths: &[String]) -> Result<(Vec<String>, Vec<Option<u8>>), DataError> {
    let err = |reason| DataError::Shape { file: "images".into(), reason };
    let folder_of = |p: &String| if is_picture(p) { class_folder(p).map(class_name) } else { None };
    let mut classes: Vec<String> = paths.iter().filter_map(folder_of).collect();
    classes.sort();
    classes.dedup();
    let (lo, hi) = CLASS_COUNT;
    if classes.len() < lo || classes.len() > hi {
        return Err(err(msg!("err.images_classes", lo, hi, classes.len())));
    }
    let labels: Vec<Option<u8>> = paths
        .iter()
        .map(|p| folder_of(p).and_then(|c| classes.iter().position(|k| *k == c)).map(|i| i as u8))
        .collect();
    let count = labels.iter().flatten().count();
    if count > MAX_PICTURES {
        return Err(err(msg!("err.images_too_many", count, MAX_PICTURES)));
    }
    Ok((classes, labels))
}

/// Puts decoded pictures (path, label, C×S×S bytes) into a train/test split: in every class, in
/// path order (so the split does not depend on how the files were listed: a folder, a zip, a
/// browser's file list), a seeded shuffle, and the first `test_fraction` (at least one picture
/// of a class with two) held out.
pub fn assemble(set: &ImageSet, mut pictures: Vec<(String, u8, Vec<u8>)>, test_fraction: f32, seed: u64) -> Result<DataSplit, DataError> {
    pictures.sort_by(|a, b| a.0.cmp(&b.0));
    let err = |reason| DataError::Shape { file: "images".into(), reason };
    if !(0.05..=0.5).contains(&test_fraction) {
        return Err(err(msg!("err.in_range", "[0.05, 0.5]", test_fraction)));
    }
    let len = set.channels * set.side * set.side;
    let empty = || Dataset { images: Vec::new(), labels: Vec::new(), channels: set.channels, rows: set.side, cols: set.side };
    let (mut train, mut test) = (empty(), empty());
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    for class in 0..set.classes.len() as u8 {
        let mut of_class: Vec<&Vec<u8>> = pictures.iter().filter(|(_, l, _)| *l == class).map(|(_, _, p)| p).collect();
        if of_class.is_empty() {
            return Err(err(msg!("err.images_empty_class", &set.classes[class as usize])));
        }
        of_class.shuffle(&mut rng);
        let held = if of_class.len() < 2 { 0 } else { ((of_class.len() as f32 * test_fraction).round() as usize).max(1) };
        for (i, pixels) in of_class.into_iter().enumerate() {
            if pixels.len() != len {
                return Err(err(msg!("err.images_size", pixels.len(), len)));
            }
            let to = if i < held { &mut test } else { &mut train };
            to.images.extend_from_slice(pixels);
            to.labels.push(class);
        }
    }
    if test.is_empty() {
        return Err(err(msg!("err.images_no_test")));
    }
    Ok(DataSplit { train, test })
}

/// The pictures inside a zip archive: (path, bytes) of every entry that [`is_picture`].
pub fn zip_pictures(name: &str, bytes: &[u8]) -> Result<Vec<(String, Vec<u8>)>, DataError> {
    let err = |reason| DataError::Shape { file: name.into(), reason };
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| err(msg!("err.zip_unreadable", e.to_string())))?;
    let mut out = Vec::new();
    let mut total = 0u64;
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(|e| err(msg!("err.zip_unreadable", e.to_string())))?;
        let path = entry.name().map_err(|e| err(msg!("err.zip_unreadable", e.to_string())))?.to_string();
        if !entry.is_file() || !is_picture(&path) {
            continue;
        }
        if out.len() >= MAX_PICTURES {
            return Err(err(msg!("err.images_too_many", out.len() + 1, MAX_PICTURES)));
        }
        let mut data = Vec::new();
        // Capped by what is read, not by what the entry claims.
        (&mut entry).take(MAX_ZIP_BYTES - total + 1).read_to_end(&mut data).map_err(|e| err(msg!("err.zip_entry", &path, e.to_string())))?;
        total += data.len() as u64;
        if total > MAX_ZIP_BYTES {
            return Err(err(msg!("err.data_inflates", MAX_ZIP_BYTES >> 20)));
        }
        out.push((path, data));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn classes_come_from_folders_sorted_and_cleaned() {
        let (classes, labels) = plan(&paths(&["pets/dog/1.JPG", "pets/cat/a.png", "pets/cat/notes.txt", "pets/.DS_Store", "loose.png", "pets/bird&co/x.webp", "__MACOSX/pets/cat/._a.png"])).unwrap();
        assert_eq!(classes, ["bird_co", "cat", "dog"]);
        assert_eq!(labels, [Some(2), Some(1), None, None, None, Some(0), None]);
        let one = plan(&paths(&["a/cat/1.png", "a/cat/2.png"])).unwrap_err();
        assert_eq!(one.to_string(), "images: 2 to 100 class folders are needed, found 1");
    }

    #[test]
    fn the_test_split_is_per_class_seeded_and_checked() {
        let set = ImageSet { channels: 1, side: 2, classes: paths(&["a", "b"]) };
        let pictures: Vec<(String, u8, Vec<u8>)> = (0..20u8).map(|i| (format!("{i:02}"), i % 2, vec![i; 4])).collect();
        let split = assemble(&set, pictures.clone(), 0.2, 7).unwrap();
        assert_eq!((split.train.len(), split.test.len()), (16, 4));
        assert_eq!(split.test.labels.iter().filter(|&&l| l == 0).count(), 2, "two of each class held out");
        assert_eq!(assemble(&set, pictures.clone(), 0.2, 7).unwrap(), split, "seeded");
        assert_ne!(assemble(&set, pictures.clone(), 0.2, 8).unwrap().test, split.test);
        let reversed: Vec<_> = pictures.iter().rev().cloned().collect();
        assert_eq!(assemble(&set, reversed, 0.2, 7).unwrap(), split, "whatever the listing order");
        let wrong = vec![("x".into(), 0, vec![0; 4]), ("y".into(), 1, vec![0; 5])];
        assert_eq!(assemble(&set, wrong, 0.2, 1).unwrap_err().to_string(), "images: a picture has 5 values, the set's shape needs 4");
        let missing = vec![("x".into(), 0, vec![0; 4]), ("y".into(), 0, vec![0; 4])];
        assert_eq!(assemble(&set, missing, 0.2, 1).unwrap_err().to_string(), "images: the class \"b\" has no pictures");
    }

    #[test]
    fn zip_archives_give_their_pictures() {
        use std::io::Write;
        let mut buf = std::io::Cursor::new(Vec::new());
        {
            let mut zip = zip::ZipWriter::new(&mut buf);
            let options = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
            zip.start_file("set/cat/1.png", options).unwrap();
            zip.write_all(b"png bytes").unwrap();
            zip.start_file("set/readme.md", options).unwrap();
            zip.write_all(b"hi").unwrap();
            zip.finish().unwrap();
        }
        let pictures = zip_pictures("set.zip", &buf.into_inner()).unwrap();
        assert_eq!(pictures, [("set/cat/1.png".to_string(), b"png bytes".to_vec())]);
        let e = zip_pictures("photo.zip", b"not a zip").unwrap_err().to_string();
        assert!(e.starts_with("photo.zip: not a readable zip archive"), "{e}");
    }
}
