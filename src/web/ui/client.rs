//! The UI side of the worker protocol: starts the engine worker and exchanges messages with it.

use super::state::AppState;
use leptos::prelude::Set;
use crate::i18n::Message;
use crate::protocol::{Event, Request};
use std::cell::{Cell, RefCell};
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{ErrorEvent, MessageEvent, Worker, WorkerOptions, WorkerType};

/// What the page does with an engine event: update the state and answer with requests. Given
/// by the caller (`events::apply`) so that this module knows only the state, not the modules
/// that act on it.
pub type EventHandler = fn(AppState, Event, &str) -> Vec<Request>;

thread_local! {
    static WORKER: RefCell<Option<Worker>> = const { RefCell::new(None) };
    /// The handler of the page's events, kept for the workers started after a failure.
    static HANDLER: Cell<Option<EventHandler>> = const { Cell::new(None) };
    /// When the current worker last said anything (ms), and which worker that was.
    static LAST_HEARD: Cell<f64> = const { Cell::new(0.0) };
    static GENERATION: Cell<u32> = const { Cell::new(0) };
}

/// A ready worker that has not answered anything (pings included) for this long is dead.
const DEADLINE_MS: f64 = 15_000.0;
/// How often a ready worker is pinged.
const PING_EVERY_MS: i32 = 2_000;

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
    let (message, transfer) = crate::web::wire::encode(&request).expect("requests serialise");
    WORKER.with(|w| match w.borrow().as_ref() {
        Some(worker) => {
            if let Err(e) = worker.post_message_with_transfer(&message, &transfer) {
                web_sys::console::error_2(&"cannot post to the engine".into(), &e);
            }
        }
        None => web_sys::console::warn_1(&"engine worker not started".into()),
    });
}

/// Sends a request with `File`s beside it (in the message's `files`; files are cloned by
/// reference, not copied).
pub fn send_with_files(request: Request, files: &js_sys::Array) {
    let (message, transfer) = crate::web::wire::encode(&request).expect("requests serialise");
    let _ = js_sys::Reflect::set(&message, &"files".into(), files);
    WORKER.with(|w| match w.borrow().as_ref() {
        Some(worker) => {
            if let Err(e) = worker.post_message_with_transfer(&message, &transfer) {
                web_sys::console::error_2(&"cannot post to the engine".into(), &e);
            }
        }
        None => web_sys::console::warn_1(&"engine worker not started".into()),
    });
}

/// Starts the engine worker and routes its events into `state`; a worker that fails (a panic
/// aborts the wasm instance and fires `error`) or stops answering is replaced by a new one,
/// which loads the data and continues from the last checkpoint as on page load.
pub fn start_engine(state: AppState, handler: EventHandler) {
    HANDLER.with(|h| h.set(Some(handler)));
    let generation = GENERATION.with(|g| {
        g.set(g.get() + 1);
        g.get()
    });
    LAST_HEARD.with(|h| h.set(crate::web::js::now_ms()));
    let options = WorkerOptions::new();
    options.set_type(WorkerType::Module);
    let worker = match Worker::new_with_options("./engine_worker_loader.js", &options) {
        Ok(w) => w,
        Err(e) => {
            state.error.set(Some(crate::msg!("msg.worker_start", format!("{e:?}"))));
            return;
        }
    };
    let data_url = data_url();
    let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |event: MessageEvent| {
        LAST_HEARD.with(|h| h.set(crate::web::js::now_ms()));
        let Some(decoded) = crate::web::wire::decode::<Event>(&event.data()) else { return };
        match decoded {
            Ok(Event::ThreadDied { message }) => {
                restart(state, generation, crate::msg!("msg.engine_thread_died", message));
            }
            Ok(event) => {
                for request in handler(state, event, &data_url) {
                    send(request);
                }
            }
            Err(e) => state.error.set(Some(crate::msg!("msg.worker_message", e))),
        }
    });
    worker.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
    on_message.forget();
    let on_error = Closure::<dyn FnMut(web_sys::Event)>::new(move |event: web_sys::Event| {
        event.prevent_default();
        // An uncaught error is an ErrorEvent with a message; a failed module load is a plain Event.
        let message = event.dyn_ref::<ErrorEvent>().map(ErrorEvent::message).filter(|m| !m.is_empty());
        restart(state, generation, Message::verbatim(message.unwrap_or_else(|| event.type_())));
    });
    worker.set_onerror(Some(on_error.as_ref().unchecked_ref()));
    on_error.forget();
    WORKER.with(|w| *w.borrow_mut() = Some(worker));
    wasm_bindgen_futures::spawn_local(watch(state, generation));
}

/// Pings the worker of `generation` while it is ready; restarts it past the deadline.
async fn watch(state: AppState, generation: u32) {
    use leptos::prelude::GetUntracked;
    loop {
        crate::web::js::sleep_ms(PING_EVERY_MS).await;
        if GENERATION.with(Cell::get) != generation {
            return;
        }
        // Before Ready nothing can be sent (messages would be lost) and nothing is owed.
        if state.mode.get_untracked().is_none() {
            LAST_HEARD.with(|h| h.set(crate::web::js::now_ms()));
            continue;
        }
        let silent = crate::web::js::now_ms() - LAST_HEARD.with(Cell::get);
        if silent > DEADLINE_MS {
            restart(state, generation, crate::msg!("msg.engine_silent", format!("{:.0}", silent / 1000.0)));
            return;
        }
        send(Request::Ping);
    }
}

/// Replaces the worker of `generation` (once: later reports of the same failure are ignored).
fn restart(state: AppState, generation: u32, reason: Message) {
    if GENERATION.with(Cell::get) != generation {
        return;
    }
    if let Some(old) = WORKER.with(|w| w.borrow_mut().take()) {
        old.terminate();
    }
    web_sys::console::warn_1(&format!("engine worker stopped ({reason}); starting a new one").into());
    state.engine_lost(reason);
    if let Some(handler) = HANDLER.with(Cell::get) {
        start_engine(state, handler);
    }
}

/// Test only: asks the engine to panic, to check that the page restarts it (the e2e tests call
/// it as `window.wasmBindings.test_panic_engine()`).
#[wasm_bindgen]
pub fn test_panic_engine() {
    send(Request::Panic { in_pool: false });
}

/// Test only: asks one of the engine's pool threads to panic
/// (`window.wasmBindings.test_panic_engine_thread()`).
#[wasm_bindgen]
pub fn test_panic_engine_thread() {
    send(Request::Panic { in_pool: true });
}
