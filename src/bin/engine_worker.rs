//! The engine Web Worker entry point (owns the rayon pool). Built for wasm32 by Trunk.

#[cfg(target_arch = "wasm32")]
fn main() {
    cnn_playground::web::worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("the `engine_worker` binary runs in a browser Web Worker: build it with `make run`");
    std::process::exit(2);
}
