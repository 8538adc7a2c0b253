//! The UI side of the worker protocol: starts the engine worker and exchanges messages with it.

use super::state::AppState;
use leptos::prelude::Set;
use crate::protocol::{Envelope, Event, Request};
use std::cell::RefCell;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
}

/// Folder holding the datasets: `data/` next to the threaded app (the other builds live in
/// `st/` and `plain/` below it).
pub fn data_url() -> String {
    let href = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    let path_end = href.find(['?', '#']).unwrap_or(href.len());
    let mut base = href[..path_end].rsplit_once('/').map_or(String::new(), |(b, _)| format!("{b}/"));
    for sub in ["/st/", "/plain/"] {
        if base.ends_with(sub) {
            base.truncate(base.len() - sub.len() + 1);
        }
    }
    format!("{base}data/")
}

/// Sends a request to the engine (dropped with a console warning if the worker is not up).
pub fn send(request: Request) {
    let text = serde_json::to_string(&Envelope { cnn: request }).expect("requests serialise");
    WORKER.with(|w| match w.borrow().as_ref() {
        Some(worker) => {
            if let Err(e) = worker.post_message(&JsValue::from_str(&text)) {
                web_sys::console::error_2(&"cannot post to the engine".into(), &e);
            }
        }
        None => web_sys::console::warn_1(&"engine worker not started".into()),
    });
}

/// Starts the engine worker and routes its events into `state`.
pub fn start_engine(state: AppState) {
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = match Worker::new_with_options("./engine_worker_loader.js", &options) {
        Ok(w) => w,
        Err(e) => {
            state.error.set(Some(super::lang::msg("msg.worker_start", &[&format!("{e:?}")])));
            return;
        }
    };
    let data_url = data_url();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        let Some(text) = event.data().as_string() else { return };
        match serde_json::from_str::<Envelope<Event>>(&text) {
            Ok(Envelope { cnn }) => {
                for request in state.apply(cnn, &data_url) {
                    send(request);
                }
            }
            Err(e) => state.error.set(Some(super::lang::msg("msg.worker_message", &[&e]))),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn FnMut(ErrorEvent)>::new(move |event: ErrorEvent| {
        event.prevent_default();
        state.error.set(Some(super::lang::msg("msg.worker_failed", &[&event.message()])));
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
}
