//! A small, seeded synthetic dataset for tests and benchmarks that must not depend on MNIST files.

use super::{DataSplit, Dataset};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` noisy 28×28 images of ten classes: class `c` is a bright horizontal bar at row `2c + 4`.
pub fn bars(n: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut images = vec![0u8; n * 784];
    let mut labels = vec![0u8; n];
    for (label, img) in labels.iter_mut().zip(images.chunks_exact_mut(784)) {
        let c = rng.random_range(0..10u8);
        *label = c;
        for px in img.iter_mut() {
            *px = rng.random_range(0..60);
        }
        let row = 2 * c as usize + 4;
        img[row * 28 + 4..row * 28 + 24].fill(255);
    }
    Dataset { images, labels, channels: 1, rows: 28, cols: 28 }
}

/// A train/test split of [`bars`] with different seeds.
pub fn bars_split(train: usize, test: usize) -> DataSplit {
    DataSplit { train: bars(train, 1), test: bars(test, 2) }
}

/// Shape names of [`colour_shapes`], in label order.
pub const SHAPES: [&str; 10] = ["disc", "square", "triangle", "cross", "ring", "h-bar", "v-bar", "diamond", "x", "two-dots"];

/// True when pixel (x, y) belongs to shape `class` centred at (cx, cy) with radius `r`.
fn inside(class: u8, x: f32, y: f32, cx: f32, cy: f32, r: f32) -> bool {
    let (dx, dy) = (x - cx, y - cy);
    let d = (dx * dx + dy * dy).sqrt();
    let t = r * 0.3;
    match class {
        0 => d <= r,
        1 => dx.abs() <= r * 0.8 && dy.abs() <= r * 0.8,
        2 => dy <= r * 0.7 && dy >= -r * 0.9 && dx.abs() <= (dy + r * 0.9) * 0.6,
        3 => (dx.abs() <= t && dy.abs() <= r) || (dy.abs() <= t && dx.abs() <= r),
        4 => d <= r && d >= r * 0.55,
        5 => dy.abs() <= t && dx.abs() <= r,
        6 => dx.abs() <= t && dy.abs() <= r,
        7 => dx.abs() + dy.abs() <= r,
        8 => ((dx - dy).abs() <= t * 1.4 || (dx + dy).abs() <= t * 1.4) && dx.abs() <= r && dy.abs() <= r,
        _ => ((dx - r * 0.55).powi(2) + dy * dy).sqrt() <= r * 0.4 || ((dx + r * 0.55).powi(2) + dy * dy).sqrt() <= r * 0.4,
    }
}

/// `n` seeded `side`×`side` RGB images of ten classes: the class is the shape ([`SHAPES`]),
/// drawn in a random bright colour at a random place and size on a random dark background with
/// noise, so that colour says nothing about the class. A test set a CNN learns in an epoch or two.
pub fn colour_shapes(n: usize, side: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let plane = side * side;
    let mut images = vec![0u8; n * 3 * plane];
    let mut labels = vec![0u8; n];
    for (label, img) in labels.iter_mut().zip(images.chunks_exact_mut(3 * plane)) {
        let class = rng.random_range(0..10u8);
        *label = class;
        let s = side as f32;
        let r = rng.random_range(0.22 * s..0.34 * s);
        let (cx, cy) = (rng.random_range(r..s - r), rng.random_range(r..s - r));
        let fg: [u8; 3] = std::array::from_fn(|_| rng.random_range(120..=255));
        let bg: [u8; 3] = std::array::from_fn(|_| rng.random_range(0..70));
        for y in 0..side {
            for x in 0..side {
                let on = inside(class, x as f32 + 0.5, y as f32 + 0.5, cx, cy, r);
                for c in 0..3 {
                    let base = if on { fg[c] } else { bg[c] } as i32;
                    img[c * plane + y * side + x] = (base + rng.random_range(-20..=20)).clamp(0, 255) as u8;
                }
            }
        }
    }
    Dataset { images, labels, channels: 3, rows: side, cols: side }
}

/// A CIFAR-format `.tar.gz` like the official one (`cifar-10-batches-bin/data_batch_1.bin` …
/// `test_batch.bin`, `batches.meta.txt`; or CIFAR-100's `train.bin`, `test.bin`) holding `train`
/// and `test` images of [`colour_shapes`] at 32×32. CIFAR-10's training images are spread over
/// its five batch files. For tests, benchmarks and trying the page without the real archive.
pub fn cifar_archive(cifar100: bool, train: usize, test: usize, seed: u64) -> Vec<u8> {
    let record = |set: &Dataset, i: usize| {
        let label = set.labels[i];
        let mut r = if cifar100 { vec![label / 5, label * 10 % 100] } else { vec![label] };
        r.extend_from_slice(&set.images[i * 3072..(i + 1) * 3072]);
        r
    };
    let batch = |set: &Dataset, range: std::ops::Range<usize>| range.flat_map(|i| record(set, i)).collect::<Vec<u8>>();
    let (tr, te) = (colour_shapes(train, 32, seed), colour_shapes(test, 32, seed + 1));
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    if cifar100 {
        files.push(("cifar-100-binary/train.bin".into(), batch(&tr, 0..train)));
        files.push(("cifar-100-binary/test.bin".into(), batch(&te, 0..test)));
    } else {
        files.push(("cifar-10-batches-bin/batches.meta.txt".into(), SHAPES.join("\n").into_bytes()));
        for b in 0..5 {
            let range = train * b / 5..train * (b + 1) / 5;
            files.push((format!("cifar-10-batches-bin/data_batch_{}.bin", b + 1), batch(&tr, range)));
        }
        files.push(("cifar-10-batches-bin/test_batch.bin".into(), batch(&te, 0..test)));
    }
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (name, data) in files {
        let mut header = tar::Header::new_ustar();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, name, &data[..]).expect("writing to memory");
    }
    tar.into_inner().and_then(|gz| gz.finish()).expect("writing to memory")
}

/// Synthetic data shaped like `spec`'s dataset: [`bars_split`] for 1×28×28, else a
/// [`colour_shapes`] split (colour or greyscale at the spec's side, classes cycled into range).
pub fn split_like(spec: &crate::engine::spec::Spec, train: usize, test: usize) -> DataSplit {
    let shape = spec.input_shape();
    if shape == crate::engine::shape::Shape::new(1, 28, 28) {
        return bars_split(train, test);
    }
    let classes = spec.classes() as u8;
    let make = |n, seed| {
        let mut set = colour_shapes(n, shape.h, seed);
        if shape.c == 1 {
            // Keep the first plane (the shape still shows: it is brighter than the background).
            let plane = shape.h * shape.w;
            set.images = set.images.chunks_exact(3 * plane).flat_map(|img| img[..plane].to_vec()).collect();
            set.channels = 1;
        }
        set.labels.iter_mut().for_each(|l| *l %= classes);
        set
    };
    DataSplit { train: make(train, 1), test: make(test, 2) }
}
