//! Protocol messages on `postMessage`: `{ cnn: "<json>", bulk: [typed arrays] }`. The JSON is
//! the message with its bulk fields replaced by references ([`crate::protocol::bulk`]); each bulk
//! array is copied once out of wasm memory (shared memory cannot be transferred) into its own
//! `Float32Array`/`Uint8Array`, whose buffer is then transferred, not cloned, to the other side.
//! Anything without a string `cnn` is not ours (wasm-bindgen-rayon talks on the same scope).

use crate::i18n::Message;
use crate::msg;
use crate::protocol::bulk::{self, Chunk};
use js_sys::{Array, Float32Array, Object, Reflect, Uint8Array};
use serde::de::DeserializeOwned;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;

/// The JS message for `value` and the list of buffers to transfer with it.
pub fn encode<T: Serialize>(value: &T) -> serde_json::Result<(JsValue, Array)> {
    let (json, chunks) = bulk::to_wire(value)?;
    Ok(package(&json, &chunks))
}

/// The JS message for a message already written as JSON plus chunks.
pub fn package(json: &str, chunks: &[Chunk]) -> (JsValue, Array) {
    let arrays = Array::new();
    let transfer = Array::new();
    for chunk in chunks {
        let array: JsValue = match chunk {
            Chunk::F32(values) => {
                let a = Float32Array::new_with_length(values.len() as u32);
                a.copy_from(values);
                transfer.push(&a.buffer());
                a.into()
            }
            Chunk::U8(values) => {
                let a = Uint8Array::new_with_length(values.len() as u32);
                a.copy_from(values);
                transfer.push(&a.buffer());
                a.into()
            }
        };
        arrays.push(&array);
    }
    let message = Object::new();
    // Setting properties on a fresh plain object cannot fail.
    let _ = Reflect::set(&message, &"cnn".into(), &JsValue::from_str(json));
    let _ = Reflect::set(&message, &"bulk".into(), &arrays);
    (message.into(), transfer)
}

/// Reads a message; None when `data` is not one of ours, an error when it is ours but unreadable.
pub fn decode<T: DeserializeOwned>(data: &JsValue) -> Option<Result<T, Message>> {
    let json = Reflect::get(data, &"cnn".into()).ok()?.as_string()?;
    let arrays: Array = Reflect::get(data, &"bulk".into()).ok().and_then(|a| a.dyn_into().ok()).unwrap_or_default();
    let mut chunks = Vec::with_capacity(arrays.length() as usize);
    for array in arrays.iter() {
        if let Some(a) = array.dyn_ref::<Float32Array>() {
            chunks.push(Chunk::F32(a.to_vec()));
        } else if let Some(a) = array.dyn_ref::<Uint8Array>() {
            chunks.push(Chunk::U8(a.to_vec()));
        } else {
            return Some(Err(msg!("err.bulk_type", chunks.len())));
        }
    }
    Some(bulk::from_wire(&json, chunks).map_err(|e| Message::verbatim(e.to_string())))
}
