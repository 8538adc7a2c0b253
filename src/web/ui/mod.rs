//! The Leptos single-page UI (main thread). It never computes: the engine worker does.

mod app;
mod bench;
mod client;
mod draw;
mod state;

use crate::engine::spec::Spec;
use leptos::prelude::*;

/// Mounts the app and starts the engine worker.
pub fn start() {
    console_error_panic_hook::set_once();
    let state = state::AppState::new(Spec::default());
    bench::queue_from_url(state);
    leptos::mount::mount_to_body(move || view! { <app::App state=state /> });
    client::start_engine(state);
}
