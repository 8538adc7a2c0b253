//! Same-origin downloads with byte-level progress (used by the worker for the datasets).

use crate::i18n::Message;
use crate::msg;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{ReadableStreamDefaultReader, Response};

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
        let reader: ReadableStreamDefaultReader = body.get_reader().unchecked_into();
        let mut bytes = Vec::new();
        loop {
            let chunk = JsFuture::from(reader.read())
                .await
                .map_err(|e| msg!("err.download_failed", url, describe(&e)))?;
            let done = js_sys::Reflect::get(&chunk, &"done".into()).map(|d| d.is_truthy()).unwrap_or(true);
            if done {
                break;
            }
            let value: js_sys::Uint8Array = js_sys::Reflect::get(&chunk, &"value".into())
                .map_err(|e| msg!("err.download_failed", url, describe(&e)))?
                .unchecked_into();
            let start = bytes.len();
            bytes.resize(start + value.length() as usize, 0);
            value.copy_to(&mut bytes[start..]);
            loaded += value.length() as u64;
            progress(loaded, total.max(loaded));
        }
        files.push(bytes);
    }
    Ok(files)
}
