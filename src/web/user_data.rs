//! The user's own dataset files in the engine worker: CIFAR archives or batch files read from
//! `File`s a slice at a time (the engine decodes each slice as it arrives, so a 162 MB archive is
//! never held whole), and kept in IndexedDB as the `File`s themselves so a reload finds them.

use crate::engine::data::cifar::CifarReader;
use crate::engine::data::DataSplit;
use crate::engine::spec::DatasetKind;
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
