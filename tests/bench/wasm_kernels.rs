//! The kernel benchmark in headless Chromium (wasm SIMD128, in a dedicated worker as the engine
//! runs): `make bench-kernels`. A benchmark, not a test: it prints figures and asserts only that
//! every kernel ran.
#![cfg(target_arch = "wasm32")]

use cnn_playground::engine::kernel_bench;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_dedicated_worker);

#[wasm_bindgen_test]
fn kernels() {
    let performance = js_sys::global().unchecked_into::<web_sys::WorkerGlobalScope>().performance().expect("performance");
    let times = kernel_bench::run(|| performance.now(), 150.0, 4);
    console_log!("{}", kernel_bench::table(&times));
    assert!(times.iter().all(|t| t.us > 0.0));
}
