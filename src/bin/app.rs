//! The browser UI entry point (Leptos, main thread). Built for wasm32 by Trunk.

#[cfg(target_arch = "wasm32")]
fn main() {
    cnn_playground::web::ui::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the `app` binary runs in the browser: build it with `make run`");
    std::process::exit(2);
}
