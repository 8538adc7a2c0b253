//! The Leptos single-page UI (main thread). It never computes: the engine worker does.

mod app;
mod augment;
mod bench;
mod builder;
mod charts;
mod client;
mod draw;
mod edit;
mod fields;
mod runs;
mod settings;
mod state;

use leptos::prelude::*;

/// Mounts the app and starts the engine worker.
pub fn start() {
    console_error_panic_hook::set_once();
    let (spec, notices) = edit::initial_spec();
    let state = state::AppState::new(spec);
    state.link_notices.set(notices);
    runs::load(state);
    bench::queue_from_url(state);
    leptos::mount::mount_to_body(move || view! { <app::App state=state /> });
    client::start_engine(state);
}
