//! The Leptos single-page UI (main thread). It never computes: the engine worker does.

mod app;
mod augment;
mod bench;
mod body_editor;
mod builder;
mod chart_canvas;
mod charts;
mod client;
mod compare;
mod dataset;
mod diagram;
mod dnd;
mod dom;
mod draw;
mod edit;
mod evaluate;
mod events;
mod fields;
mod inside;
mod lang;
mod layer_panel;
mod mine;
mod pace;
mod paint;
mod palette;
mod persist;
mod picture;
mod probs;
mod runs;
mod settings;
mod state;
mod toolbar;
mod transfer;

use leptos::prelude::*;

/// Reads what this browser saved, then mounts the app and starts the engine worker.
pub fn start() {
    console_error_panic_hook::set_once();
    lang::init();
    wasm_bindgen_futures::spawn_local(async {
        let (saved, storage_error) = match persist::load().await {
            Ok(saved) => (saved.unwrap_or_default(), None),
            Err(e) => (persist::Saved::default(), Some(crate::msg!("msg.storage_unreadable", e))),
        };
        let opened = edit::initial_spec(saved.spec.clone());
        let state = state::AppState::new(opened.spec);
        state.link_notices.set(opened.notices);
        state.link_weights.set(opened.weights);
        state.storage_error.set(storage_error);
        persist::adopt(state, saved);
        if state.storage_error.get_untracked().is_none() {
            persist::save(state); // a spec opened from a link becomes the saved one
        }
        bench::queue_from_url(state);
        leptos::mount::mount_to_body(move || view! { <app::App state=state /> });
        client::start_engine(state, events::apply);
    });
}
