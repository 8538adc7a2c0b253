//! Browser hosts of the engine: the worker runtime and the Leptos UI (wasm32 only).

pub mod fetch;
pub mod js;
pub mod store;
pub mod ui;
pub mod user_data;
pub mod worker;
pub mod wire;
