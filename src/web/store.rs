//! A tiny IndexedDB key → bytes store, usable from the page and from the engine worker (training
//! checkpoints, the spec and the run history survive a reload). Every failure comes back as a
//! message to show, never silently.

use crate::i18n::Message;
use crate::msg;
use js_sys::{Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{IdbDatabase, IdbFactory, IdbOpenDbRequest, IdbRequest, IdbTransactionMode};

const DB: &str = "cnn-playground";
/// Version 2 replaced version 1's "checkpoints" store with this general one.
const VERSION: u32 = 2;
const STORE: &str = "kv";

/// Rejection reasons of [`done`] that are ours (the browser's own errors carry their words).
const FAILED: &str = "failed";
const BLOCKED: &str = "blocked";

fn describe(e: JsValue) -> Message {
    // DOMException first: it is also an Error, whose message alone drops the name.
    let browser = e
        .dyn_ref::<web_sys::DomException>()
        .map(|d| format!("{}: {}", d.name(), d.message()))
        .or_else(|| e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())));
    match (browser, e.as_string().as_deref()) {
        (Some(words), _) => Message::verbatim(words),
        (None, Some(FAILED)) => msg!("err.idb_failed"),
        (None, Some(BLOCKED)) => msg!("err.idb_blocked"),
        (None, Some(other)) => Message::verbatim(other),
        (None, None) => Message::verbatim(format!("{e:?}")),
    }
}

/// Resolves with the request's result when it succeeds; an open request that another tab
/// blocks (it holds the old version) fails with a message instead of waiting silently.
async fn done(request: &IdbRequest) -> Result<JsValue, Message> {
    let req = request.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let r = req.clone();
        let on_success = Closure::once_into_js(move || {
            let _ = resolve.call1(&JsValue::NULL, &r.result().unwrap_or(JsValue::UNDEFINED));
        });
        let r2 = req.clone();
        let fail = reject.clone();
        let on_error = Closure::once_into_js(move || {
            let err = r2.error().ok().flatten().map_or(JsValue::from_str(FAILED), JsValue::from);
            let _ = fail.call1(&JsValue::NULL, &err);
        });
        req.set_onsuccess(Some(on_success.unchecked_ref()));
        req.set_onerror(Some(on_error.unchecked_ref()));
        if let Some(open) = req.dyn_ref::<IdbOpenDbRequest>() {
            let on_blocked = Closure::once_into_js(move || {
                let _ = reject.call1(&JsValue::NULL, &JsValue::from_str(BLOCKED));
            });
            open.set_onblocked(Some(on_blocked.unchecked_ref()));
        }
    });
    JsFuture::from(promise).await.map_err(describe)
}

async fn open() -> Result<IdbDatabase, Message> {
    // `indexedDB` of whichever global this runs in (window or worker).
    let factory = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB")).map_err(describe)?;
    let factory: IdbFactory = factory.dyn_into().map_err(|_| msg!("err.idb_missing"))?;
    let request: IdbOpenDbRequest = factory.open_with_u32(DB, VERSION).map_err(describe)?;
    let upgrade_req = request.clone();
    let on_upgrade = Closure::once_into_js(move || {
        if let Ok(db) = upgrade_req.result().and_then(|r| r.dyn_into::<IdbDatabase>().map_err(JsValue::from)) {
            let names = db.object_store_names();
            if names.contains("checkpoints") {
                let _ = db.delete_object_store("checkpoints");
            }
            if !names.contains(STORE) {
                let _ = db.create_object_store(STORE);
            }
        }
    });
    request.set_onupgradeneeded(Some(on_upgrade.unchecked_ref()));
    let db = done(&request).await?;
    db.dyn_into::<IdbDatabase>().map_err(describe)
}

fn store(db: &IdbDatabase, mode: IdbTransactionMode) -> Result<web_sys::IdbObjectStore, Message> {
    db.transaction_with_str_and_mode(STORE, mode).and_then(|t| t.object_store(STORE)).map_err(describe)
}

/// Saves `bytes` under `key` (quota and permission errors are returned).
pub async fn put(key: &str, bytes: &[u8]) -> Result<(), Message> {
    // A copy outside wasm memory: IndexedDB cannot store views of shared memory.
    let array = Uint8Array::new_with_length(bytes.len() as u32);
    array.copy_from(bytes);
    put_value(key, &array).await
}

/// Saves any structured-cloneable value (e.g. an array of `File`s) under `key`.
pub async fn put_value(key: &str, value: &JsValue) -> Result<(), Message> {
    let db = open().await?;
    let request = store(&db, IdbTransactionMode::Readwrite)?.put_with_key(value, &JsValue::from_str(key)).map_err(describe);
    // Closing waits for the queued transaction; an open connection would block later upgrades.
    db.close();
    done(&request?).await.map(|_| ())
}

/// The bytes under `key`, if any.
pub async fn get(key: &str) -> Result<Option<Vec<u8>>, Message> {
    match get_value(key).await? {
        None => Ok(None),
        Some(value) => Ok(Some(value.dyn_into::<Uint8Array>().map_err(|_| msg!("err.idb_not_bytes"))?.to_vec())),
    }
}

/// The value under `key`, if any.
pub async fn get_value(key: &str) -> Result<Option<JsValue>, Message> {
    let db = open().await?;
    let request = store(&db, IdbTransactionMode::Readonly)?.get(&JsValue::from_str(key)).map_err(describe);
    db.close();
    let value = done(&request?).await?;
    Ok((!value.is_undefined() && !value.is_null()).then_some(value))
}

/// Removes `key`.
pub async fn delete(key: &str) -> Result<(), Message> {
    let db = open().await?;
    let request = store(&db, IdbTransactionMode::Readwrite)?.delete(&JsValue::from_str(key)).map_err(describe);
    db.close();
    done(&request?).await.map(|_| ())
}
