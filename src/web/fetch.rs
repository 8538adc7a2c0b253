//! Same-origin downloads with byte-level progress (used by the worker for the datasets).

use crate::i18n::Message;
use crate::msg;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use crate::engine::data::idx::MAX_INFLATED;
use web_sys::{ReadableStream, ReadableStreamDefaultReader, ReadableWritablePair, Response};

#[wasm_bindgen]
extern "C" {
    /// The browser's `DecompressionStream` (declared here: web-sys ships it only behind
    /// `--cfg=web_sys_unstable_apis`). It is its own `{readable, writable}` pair.
    #[wasm_bindgen(js_name = DecompressionStream)]
    type Inflater;
    #[wasm_bindgen(constructor, js_class = "DecompressionStream", catch)]
    fn new(format: &str) -> Result<Inflater, JsValue>;
}

fn describe(e: &JsValue) -> String {
    e.dyn_ref::<js_sys::Error>().map_or_else(|| format!("{e:?}"), |e| String::from(e.message()))
}

fn global_fetch(url: &str) -> js_sys::Promise {
    let global = js_sys::global();
    if let Some(w) = global.dyn_ref::<web_sys::WorkerGlobalScope>() {
        w.fetch_with_str(url)
    } else {
        global.unchecked_into::<web_sys::Window>().fetch_with_str(url)
    }
}

/// Downloads every URL (requests start together), calling `progress(loaded, total)` as bytes
/// arrive. Errors name the URL and say what happened.
pub async fn fetch_all(urls: &[String], mut progress: impl FnMut(u64, u64)) -> Result<Vec<Vec<u8>>, Message> {
    let pending: Vec<js_sys::Promise> = urls.iter().map(|u| global_fetch(u)).collect();
    let mut responses = Vec::with_capacity(urls.len());
    let mut total = 0u64;
    for (url, promise) in urls.iter().zip(pending) {
        let response: Response = JsFuture::from(promise)
            .await
            .map_err(|e| msg!("err.download", url, describe(&e)))?
            .unchecked_into();
        if !response.ok() {
            return Err(msg!("err.download_http", url, response.status(), response.status_text()));
        }
        let length = response.headers().get("content-length").ok().flatten().and_then(|v| v.parse::<u64>().ok());
        total += length.unwrap_or(0);
        responses.push((url, response));
    }
    let mut loaded = 0u64;
    let mut files = Vec::with_capacity(urls.len());
    progress(0, total);
    for (url, response) in responses {
        let body = response.body().ok_or_else(|| msg!("err.download_empty", url))?;
        // Two branches of the body: one inflated as it arrives, so that MNIST's 47 MB of
        // training images inflate while they download rather than after (the whole file took
        // 60–90 ms to arrive here, then 160–210 ms to inflate); the other read as it is, for the
        // progress and for files that are not gzip or that the browser cannot inflate.
        let branches = body.tee();
        let (as_is, to_inflate) = (branches.get(0).unchecked_into::<ReadableStream>(), branches.get(1).unchecked_into());
        let inflated = inflating(to_inflate);
        let chunks = read_chunks(&as_is, url, |n| {
            loaded += n;
            progress(loaded, total.max(loaded));
        })
        .await?;
        let inflated = match is_gzip(&chunks) {
            true => inflated.await.ok().flatten(),
            false => None,
        };
        files.push(inflated.unwrap_or_else(|| concat(&chunks)));
    }
    Ok(files)
}

/// The next chunk a stream's reader hands over; `None` at the end of the stream.
async fn next_chunk(reader: &ReadableStreamDefaultReader) -> Result<Option<js_sys::Uint8Array>, JsValue> {
    let chunk = JsFuture::from(reader.read()).await?;
    if js_sys::Reflect::get(&chunk, &"done".into())?.is_truthy() {
        return Ok(None);
    }
    Ok(Some(js_sys::Reflect::get(&chunk, &"value".into())?.unchecked_into()))
}

/// Every chunk of a body as the browser hands it over (kept in JS memory until needed).
async fn read_chunks(body: &ReadableStream, url: &str, mut arrived: impl FnMut(u64)) -> Result<js_sys::Array, Message> {
    let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
    let chunks = js_sys::Array::new();
    while let Some(value) = next_chunk(&reader).await.map_err(|e| msg!("err.download_failed", url, describe(&e)))? {
        arrived(value.length() as u64);
        chunks.push(&value);
    }
    Ok(chunks)
}

/// The chunks' bytes, one after the other (one allocation, one copy per chunk).
fn concat(chunks: &js_sys::Array) -> Vec<u8> {
    let chunks: Vec<js_sys::Uint8Array> = chunks.iter().map(JsCast::unchecked_into).collect();
    let mut bytes = vec![0; chunks.iter().map(|c| c.length() as usize).sum()];
    let mut at = 0;
    for chunk in chunks {
        let end = at + chunk.length() as usize;
        chunk.copy_to(&mut bytes[at..end]);
        at = end;
    }
    bytes
}

/// The gzip magic number starts the first chunk.
fn is_gzip(chunks: &js_sys::Array) -> bool {
    if chunks.length() == 0 {
        return false;
    }
    let first: js_sys::Uint8Array = chunks.get(0).unchecked_into();
    first.length() >= 2 && first.get_index(0) == 0x1f && first.get_index(1) == 0x8b
}

/// Starts inflating `stream` ([`inflate_natively`]) on the worker's event loop; the result
/// comes through the receiver.
fn inflating(stream: ReadableStream) -> futures_channel::oneshot::Receiver<Option<Vec<u8>>> {
    let (tx, rx) = futures_channel::oneshot::channel();
    wasm_bindgen_futures::spawn_local(async move {
        let _ = tx.send(inflate_natively(stream).await);
    });
    rx
}

/// Inflates a gzip stream with the browser's own `DecompressionStream`: native code, several
/// times faster than inflating in wasm (MNIST's 47 MB of training images are most of the time
/// to ready). `None` when the browser lacks it, the data is not valid gzip or it inflates past
/// [`MAX_INFLATED`]: the caller then hands over the compressed bytes and the engine's own
/// decoder (flate2) reports precisely what is wrong with the file.
async fn inflate_natively(stream: ReadableStream) -> Option<Vec<u8>> {
    let Ok(inflater) = Inflater::new("gzip") else {
        // Unread, the branch would keep every byte of the file buffered.
        let _ = stream.cancel();
        return None;
    };
    let stream = stream.pipe_through(inflater.unchecked_ref::<ReadableWritablePair>());
    let reader: ReadableStreamDefaultReader = stream.get_reader().unchecked_into();
    let inflated = js_sys::Array::new();
    let mut size = 0usize;
    while let Some(value) = next_chunk(&reader).await.ok()? {
        size += value.length() as usize;
        if size > MAX_INFLATED {
            let _ = reader.cancel();
            return None;
        }
        inflated.push(&value);
    }
    Some(concat(&inflated))
}
