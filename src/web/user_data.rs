//! The user's own dataset files in the engine worker: CIFAR archives or batch files read from
//! `File`s a slice at a time (the engine decodes each slice as it arrives, so a 162 MB archive is
//! never held whole); the user's pictures decoded by the browser; both kept in IndexedDB as the
//! `File`s themselves so a reload finds them.

use crate::engine::data::cifar::CifarReader;
use crate::engine::data::DataSplit;
use crate::engine::spec::{DatasetKind, ImageSet};
use crate::i18n::Message;
use crate::msg;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::File;

/// Bytes read per slice: large enough that a 162 MB archive takes ~40 reads.
const SLICE: f64 = 4.0 * 1024.0 * 1024.0;

/// The IndexedDB key of a dataset's files.
fn key(kind: DatasetKind) -> String {
    format!("data:{}", kind.asset_dir())
}

/// The `File`s of a JS array (anything else in it is skipped).
pub fn files_of(array: &js_sys::Array) -> Vec<File> {
    array.iter().filter_map(|v| v.dyn_into::<File>().ok()).collect()
}

/// The `File`s travelling beside a message (its `files` array; none when it has none).
pub fn files_beside(message: &wasm_bindgen::JsValue) -> Vec<File> {
    let array = js_sys::Reflect::get(message, &"files".into()).ok().and_then(|f| f.dyn_into::<js_sys::Array>().ok());
    array.map(|a| files_of(&a)).unwrap_or_default()
}

/// Reads CIFAR files (archives or batch files, any number), calling `progress(read, total)`.
/// Errors name the file and what is wrong with it.
pub async fn read_cifar(files: &[File], mut progress: impl FnMut(u64, u64)) -> Result<(DatasetKind, DataSplit), Message> {
    let total: f64 = files.iter().map(|f| f.size()).sum();
    let mut reader = CifarReader::new();
    let mut read = 0.0;
    progress(0, total as u64);
    for file in files {
        let name = file.name();
        reader.begin(&name).map_err(|e| e.message())?;
        let mut offset = 0.0;
        while offset < file.size() {
            let end = (offset + SLICE).min(file.size());
            let slice = file.slice_with_f64_and_f64(offset, end).map_err(|e| msg!("err.file_read", &name, format!("{e:?}")))?;
            let buffer = JsFuture::from(slice.array_buffer()).await.map_err(|e| msg!("err.file_read", &name, format!("{e:?}")))?;
            reader.push(&js_sys::Uint8Array::new(&buffer).to_vec()).map_err(|e| e.message())?;
            read += end - offset;
            offset = end;
            progress(read as u64, total as u64);
        }
    }
    reader.finish().map_err(|e| e.message())
}

/// Keeps the files for the next visit (quota and permission errors are returned).
pub async fn keep(kind: DatasetKind, files: &[File]) -> Result<(), Message> {
    let array: js_sys::Array = files.iter().collect();
    crate::web::store::put_value(&key(kind), &array).await
}

/// The files kept for `kind`, if any.
pub async fn kept(kind: DatasetKind) -> Result<Vec<File>, Message> {
    let value = crate::web::store::get_value(&key(kind)).await?;
    Ok(value.and_then(|v| v.dyn_into::<js_sys::Array>().ok()).map(|a| files_of(&a)).unwrap_or_default())
}

/// Removes the kept files of `kind`.
pub async fn forget(kind: DatasetKind) -> Result<(), Message> {
    crate::web::store::delete(&key(kind)).await
}

/// How the user's pictures become a dataset (kept with the files, so a reload gives the same).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PictureOptions {
    /// Each file's path, in the order of the files.
    pub paths: Vec<String>,
    /// Pictures are resized to `side × side`.
    pub side: usize,
    /// 3 (colour) or 1 (grey).
    pub channels: usize,
    /// Share of each class held out for testing.
    pub test_split: f32,
}

/// Where a picture's bytes are: a file the user chose, or an entry of a zip archive.
enum Source {
    File(File),
    Bytes(Vec<u8>),
}

/// Decodes one picture with the browser (`createImageBitmap`, available in workers), cut to a
/// centred square and drawn at `side × side` on an `OffscreenCanvas`: C×S×S bytes.
async fn decode_picture(path: &str, source: &Source, side: usize, channels: usize) -> Result<Vec<u8>, Message> {
    let unreadable = || msg!("err.picture_unreadable", path);
    let blob: web_sys::Blob = match source {
        Source::File(f) => f.clone().into(),
        Source::Bytes(b) => {
            let parts = js_sys::Array::of1(&js_sys::Uint8Array::from(&b[..]));
            web_sys::Blob::new_with_u8_array_sequence(&parts).map_err(|_| unreadable())?
        }
    };
    let scope: web_sys::WorkerGlobalScope = js_sys::global().dyn_into().map_err(|_| unreadable())?;
    let promise = scope.create_image_bitmap_with_blob(&blob).map_err(|_| unreadable())?;
    let bitmap: web_sys::ImageBitmap = JsFuture::from(promise).await.and_then(|b| b.dyn_into()).map_err(|_| unreadable())?;
    let shape = crate::engine::shape::Shape::new(channels, side, side);
    let (x, y, w, h) = crate::engine::preprocess::centre_crop(f64::from(bitmap.width()), f64::from(bitmap.height()), shape);
    let canvas = web_sys::OffscreenCanvas::new(side as u32, side as u32).map_err(|_| unreadable())?;
    let ctx: web_sys::OffscreenCanvasRenderingContext2d =
        canvas.get_context("2d").ok().flatten().and_then(|c| c.dyn_into().ok()).ok_or_else(unreadable)?;
    ctx.draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(&bitmap, x, y, w, h, 0.0, 0.0, side as f64, side as f64)
        .map_err(|_| unreadable())?;
    bitmap.close();
    let rgba = ctx.get_image_data(0.0, 0.0, side as f64, side as f64).map_err(|_| unreadable())?.data();
    Ok(crate::engine::preprocess::rgba_to_chw_bytes(&rgba, channels))
}

/// Reads the user's pictures (files in class folders, or zip archives of them) into a dataset,
/// calling `progress(done, total)` in pictures.
pub async fn read_pictures(files: &[File], o: &PictureOptions, seed: u64, mut progress: impl FnMut(u64, u64)) -> Result<(ImageSet, DataSplit), Message> {
    use crate::engine::data::folders::{assemble, plan, zip_pictures};
    let mut entries: Vec<(String, Source)> = Vec::new();
    for (file, path) in files.iter().zip(&o.paths) {
        if path.to_ascii_lowercase().ends_with(".zip") {
            let buffer = JsFuture::from(file.array_buffer()).await.map_err(|e| msg!("err.file_read", path, format!("{e:?}")))?;
            let bytes = js_sys::Uint8Array::new(&buffer).to_vec();
            entries.extend(zip_pictures(path, &bytes).map_err(|e| e.message())?.into_iter().map(|(p, b)| (p, Source::Bytes(b))));
        } else {
            entries.push((path.clone(), Source::File(file.clone())));
        }
    }
    let paths: Vec<String> = entries.iter().map(|(p, _)| p.clone()).collect();
    let (classes, labels) = plan(&paths).map_err(|e| e.message())?;
    let set = ImageSet { channels: o.channels, side: o.side, classes };
    set.check().map_err(|e| e.message())?;
    let total = labels.iter().flatten().count() as u64;
    let mut pictures = Vec::with_capacity(total as usize);
    progress(0, total);
    for ((path, source), label) in entries.iter().zip(labels) {
        let Some(label) = label else { continue };
        pictures.push((path.clone(), label, decode_picture(path, source, o.side, o.channels).await?));
        progress(pictures.len() as u64, total);
    }
    let split = assemble(&set, pictures, o.test_split, seed).map_err(|e| e.message())?;
    Ok((set, split))
}

/// Keeps the pictures and how they were read, for the next visit.
pub async fn keep_pictures(files: &[File], o: &PictureOptions) -> Result<(), Message> {
    let record = js_sys::Object::new();
    let array: js_sys::Array = files.iter().collect();
    let _ = js_sys::Reflect::set(&record, &"files".into(), &array);
    let _ = js_sys::Reflect::set(&record, &"options".into(), &serde_json::to_string(o).unwrap_or_default().into());
    crate::web::store::put_value(&key(DatasetKind::Images), &record).await
}

/// The pictures kept, and how they were read, if any.
pub async fn kept_pictures() -> Result<Option<(Vec<File>, PictureOptions)>, Message> {
    let Some(record) = crate::web::store::get_value(&key(DatasetKind::Images)).await? else { return Ok(None) };
    let files = js_sys::Reflect::get(&record, &"files".into()).ok().and_then(|f| f.dyn_into::<js_sys::Array>().ok()).map(|a| files_of(&a)).unwrap_or_default();
    let options = js_sys::Reflect::get(&record, &"options".into()).ok().and_then(|o| o.as_string()).and_then(|o| serde_json::from_str(&o).ok());
    Ok(options.filter(|o: &PictureOptions| o.paths.len() == files.len() && !files.is_empty()).map(|o| (files, o)))
}
