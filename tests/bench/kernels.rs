//! Native kernel benchmark for quick iteration (`cargo bench --bench kernels`): the GEMM,
//! im2col and col2im shapes of the reference net, beside the scalar reference. The same cases
//! run in headless Chromium with `make bench-kernels`. A plain timing loop instead of criterion:
//! the figures only guide kernel work (the product's benchmark is `make bench`).

use std::time::Instant;

fn main() {
    let origin = Instant::now();
    let times = cnn_playground::engine::kernel_bench::run(|| origin.elapsed().as_secs_f64() * 1000.0, 100.0, 3);
    print!("{}", cnn_playground::engine::kernel_bench::table(&times));
}
