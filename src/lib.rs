//! CNN Playground: a CNN engine (native and WebAssembly) and its browser front end.

pub mod engine;
pub mod i18n;
pub mod protocol;

#[cfg(target_arch = "wasm32")]
pub mod web;
