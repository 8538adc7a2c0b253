//! Data augmentation on the engine side, seeded per (seed, epoch, image) so the UI can show the
//! exact images a training step will see: affine (rotation, scale, translation) and elastic
//! distortion by bilinear resampling, random crop with zero padding, brightness and contrast
//! jitter, saturation and hue jitter (colour images), gaussian noise, random erasing
//! (torchvision's defaults for area and aspect), cutout, and horizontal flip (off for digits).
//! A colour image's channels share every geometric draw, so the planes stay aligned.

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};
use serde::{Deserialize, Serialize};
use crate::engine::shape::Shape;

/// Augmentation settings; every field at its default means "off".
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AugmentSpec {
    /// Largest rotation, degrees (uniform in ±rotation).
    pub rotation: f32,
    /// Largest shift as a fraction of the image size (uniform in ±translate, per axis).
    pub translate: f32,
    /// Scale factor range `[min, max]`.
    pub scale: [f32; 2],
    /// Elastic distortion strength in pixels (Simard et al. 2003: α≈34 with σ≈4 on 28×28).
    pub elastic_alpha: f32,
    /// Smoothness of the elastic displacement field (gaussian σ, pixels).
    pub elastic_sigma: f32,
    /// Brightness jitter: add uniform in ±brightness.
    pub brightness: f32,
    /// Contrast jitter: scale around the mean by uniform in 1 ± contrast.
    pub contrast: f32,
    /// Gaussian noise standard deviation.
    pub noise: f32,
    /// Probability of erasing one random rectangle (area 2–33%, aspect 0.3–3.3).
    pub erasing: f32,
    /// Flip left-right with probability 0.5 (wrong for digits; useful for Fashion-MNIST).
    pub hflip: bool,
    /// Random crop with zero padding (torchvision `RandomCrop(side, padding=p)`): pixels.
    pub crop_padding: u32,
    /// Saturation jitter: blend with the grey image by uniform in 1 ± saturation (colour only).
    pub saturation: f32,
    /// Hue jitter: rotate the hue by uniform in ±hue turns, at most 0.5 (colour only).
    pub hue: f32,
    /// Cutout (DeVries & Taylor 2017): zero one square of this side at a random centre, pixels.
    pub cutout: u32,
}

impl Default for AugmentSpec {
    fn default() -> Self {
        Self {
            rotation: 0.0,
            translate: 0.0,
            scale: [1.0, 1.0],
            elastic_alpha: 0.0,
            elastic_sigma: 4.0,
            brightness: 0.0,
            contrast: 0.0,
            noise: 0.0,
            erasing: 0.0,
            hflip: false,
            crop_padding: 0,
            saturation: 0.0,
            hue: 0.0,
            cutout: 0,
        }
    }
}

impl AugmentSpec {
    /// True when any transform is on.
    pub fn enabled(&self) -> bool {
        *self != AugmentSpec { elastic_sigma: self.elastic_sigma, ..AugmentSpec::default() }
    }

    /// Checks ranges; errors name the field (`training.augment.<field>`).
    pub fn check(&self) -> Result<(), (String, crate::i18n::Message)> {
        let field = |f: &str| format!("training.augment.{f}");
        let range = |f: &str, v: f32, lo: f32, hi: f32| {
            if v.is_finite() && (lo..=hi).contains(&v) { Ok(()) } else { Err((field(f), crate::msg!("err.in_range", format!("[{lo}, {hi}]"), v))) }
        };
        range("rotation", self.rotation, 0.0, 180.0)?;
        range("translate", self.translate, 0.0, 0.5)?;
        range("scale", self.scale[0], 0.25, 4.0)?;
        range("scale", self.scale[1], self.scale[0], 4.0)?;
        range("elastic_alpha", self.elastic_alpha, 0.0, 100.0)?;
        range("elastic_sigma", self.elastic_sigma, 0.5, 10.0)?;
        range("brightness", self.brightness, 0.0, 1.0)?;
        range("contrast", self.contrast, 0.0, 1.0)?;
        range("noise", self.noise, 0.0, 1.0)?;
        range("erasing", self.erasing, 0.0, 1.0)?;
        range("crop_padding", self.crop_padding as f32, 0.0, 16.0)?;
        range("saturation", self.saturation, 0.0, 1.0)?;
        range("hue", self.hue, 0.0, 0.5)?;
        range("cutout", self.cutout as f32, 0.0, 32.0)?;
        Ok(())
    }
}

/// The random stream of one image in one epoch (independent of batch and thread layout).
pub fn image_rng(seed: u64, epoch: usize, index: usize) -> ChaCha8Rng {
    crate::engine::streams::Purpose::Augment { epoch: epoch as u64, image: index as u64 }.rng(seed)
}

/// Bilinear sample of a `w×h` image at (x, y), zero outside.
fn sample(img: &[f32], w: usize, h: usize, x: f32, y: f32) -> f32 {
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let at = |xi: f32, yi: f32| {
        if xi < 0.0 || yi < 0.0 || xi >= w as f32 || yi >= h as f32 { 0.0 } else { img[yi as usize * w + xi as usize] }
    };
    let top = at(x0, y0) * (1.0 - fx) + at(x0 + 1.0, y0) * fx;
    let bottom = at(x0, y0 + 1.0) * (1.0 - fx) + at(x0 + 1.0, y0 + 1.0) * fx;
    top * (1.0 - fy) + bottom * fy
}

/// Reusable buffers of [`augment`], one set per thread, so augmenting a batch allocates nothing
/// once each thread has seen one image.
#[derive(Default)]
struct Buffers {
    /// Copy of the image being resampled.
    src: Vec<f32>,
    /// Elastic displacement along x and y.
    field_x: Vec<f32>,
    field_y: Vec<f32>,
    /// Gaussian taps and the blur's intermediate image.
    kernel: Vec<f32>,
    tmp: Vec<f32>,
}

thread_local! {
    static BUFFERS: std::cell::RefCell<Buffers> = std::cell::RefCell::new(Buffers::default());
}

/// Fills `out` (`w·h`) with a smooth random displacement field: uniform noise blurred by a
/// gaussian of σ, rescaled to unit maximum, times α. `kernel` and `tmp` are workspace.
#[allow(clippy::too_many_arguments)]
fn elastic_field(w: usize, h: usize, alpha: f32, sigma: f32, rng: &mut ChaCha8Rng, kernel: &mut Vec<f32>, tmp: &mut Vec<f32>, out: &mut Vec<f32>) {
    let radius = (3.0 * sigma).ceil() as usize;
    kernel.clear();
    kernel.extend((0..=2 * radius).map(|k| {
        let i = k as f32 - radius as f32;
        (-(i * i) / (2.0 * sigma * sigma)).exp()
    }));
    let ksum: f32 = kernel.iter().sum();
    out.clear();
    out.extend((0..w * h).map(|_| rng.random_range(-1.0f32..1.0)));
    // Horizontal blur out → tmp, vertical tmp → out. Only the taps inside the image are summed,
    // in increasing order (the result is that of a zero-padded blur).
    let blur = |src: &[f32], dst: &mut Vec<f32>, horizontal: bool| {
        dst.clear();
        dst.resize(w * h, 0.0);
        let (len, step) = if horizontal { (w, 1) } else { (h, w) };
        for y in 0..h {
            for x in 0..w {
                let pos = if horizontal { x } else { y };
                let (lo, hi) = (radius.saturating_sub(pos), (len + radius - pos).min(kernel.len()));
                let first = (y * w + x) as isize + (lo as isize - radius as isize) * step as isize;
                let mut acc = 0.0;
                for (t, &kv) in kernel[lo..hi].iter().enumerate() {
                    acc += kv * src[first as usize + t * step];
                }
                dst[y * w + x] = acc / ksum;
            }
        }
    };
    blur(out, tmp, true);
    blur(tmp, out, false);
    let peak = out.iter().fold(1e-6f32, |m, v| m.max(v.abs()));
    for v in out.iter_mut() {
        *v = *v / peak * alpha;
    }
}

/// Applies `spec` to one image of `shape` (C×H×W, values in [0, 1]) in place, drawing from `rng`.
pub fn augment(spec: &AugmentSpec, img: &mut [f32], shape: Shape, rng: &mut ChaCha8Rng) {
    let (w, h) = (shape.w, shape.h);
    let angle = if spec.rotation > 0.0 { rng.random_range(-spec.rotation..=spec.rotation).to_radians() } else { 0.0 };
    let scale = if spec.scale[1] > spec.scale[0] { rng.random_range(spec.scale[0]..=spec.scale[1]) } else { spec.scale[0] };
    let (tx, ty) = if spec.translate > 0.0 {
        let t = spec.translate;
        (rng.random_range(-t..=t) * w as f32, rng.random_range(-t..=t) * h as f32)
    } else {
        (0.0, 0.0)
    };
    let flip = spec.hflip && rng.random_bool(0.5);
    let pad = spec.crop_padding as i32;
    let crop = if pad > 0 { (rng.random_range(-pad..=pad) as isize, rng.random_range(-pad..=pad) as isize) } else { (0, 0) };
    BUFFERS.with(|b| {
        let b = &mut *b.borrow_mut();
        let elastic = spec.elastic_alpha > 0.0;
        if elastic {
            let (a, s) = (spec.elastic_alpha, spec.elastic_sigma);
            elastic_field(w, h, a, s, rng, &mut b.kernel, &mut b.tmp, &mut b.field_x);
            elastic_field(w, h, a, s, rng, &mut b.kernel, &mut b.tmp, &mut b.field_y);
        }
        let field = elastic.then_some((&b.field_x[..], &b.field_y[..]));
        let warp = angle != 0.0 || scale != 1.0 || tx != 0.0 || ty != 0.0 || flip || elastic;
        for plane in img[..shape.len()].chunks_exact_mut(w * h) {
            if warp {
                b.src.clear();
                b.src.extend_from_slice(plane);
                resample(plane, &b.src, w, h, (angle, scale, tx, ty, flip), field);
            }
            if crop != (0, 0) {
                b.src.clear();
                b.src.extend_from_slice(plane);
                shift(plane, &b.src, w, h, crop);
            }
        }
    });
    photometric(spec, &mut img[..shape.len()], shape, rng);
}

/// Writes `src` moved by `(dx, dy)` pixels into `plane`, zero where nothing moves in: the same
/// as cropping the zero-padded image at offset (pad − dx, pad − dy).
fn shift(plane: &mut [f32], src: &[f32], w: usize, h: usize, (dx, dy): (isize, isize)) {
    for y in 0..h {
        for x in 0..w {
            let (sx, sy) = (x as isize - dx, y as isize - dy);
            let inside = (0..w as isize).contains(&sx) && (0..h as isize).contains(&sy);
            plane[y * w + x] = if inside { src[sy as usize * w + sx as usize] } else { 0.0 };
        }
    }
}

/// Writes the affine (+ elastic) warp of `src` into `img`: each output pixel samples the source
/// at the inverse-mapped position.
fn resample(img: &mut [f32], src: &[f32], w: usize, h: usize, (angle, scale, tx, ty, flip): (f32, f32, f32, f32, bool), field: Option<(&[f32], &[f32])>) {
    let (cx, cy) = ((w as f32 - 1.0) / 2.0, (h as f32 - 1.0) / 2.0);
    let (cos, sin) = (angle.cos(), angle.sin());
    for y in 0..h {
        for x in 0..w {
            // Inverse map: output pixel → source position.
            let (mut dx, dy) = (x as f32 - cx - tx, y as f32 - cy - ty);
            if flip {
                dx = -dx;
            }
            let sx = (cos * dx + sin * dy) / scale + cx;
            let sy = (-sin * dx + cos * dy) / scale + cy;
            let (ex, ey) = field.map_or((0.0, 0.0), |(fx, fy)| (fx[y * w + x], fy[y * w + x]));
            img[y * w + x] = sample(src, w, h, sx + ex, sy + ey);
        }
    }
}

/// Luma weights (ITU-R 601, as torchvision's `rgb_to_grayscale`).
const LUMA: [f32; 3] = [0.299, 0.587, 0.114];

/// Saturation (blend with grey by `s`) and hue (rotate by `turns` in YIQ space, where the hue is
/// the angle of the (I, Q) chroma) of an RGB image, clamped to [0, 1].
fn colour(img: &mut [f32], pixels: usize, s: f32, turns: f32) {
    let (cos, sin) = ((turns * std::f32::consts::TAU).cos(), (turns * std::f32::consts::TAU).sin());
    let (r, rest) = img.split_at_mut(pixels);
    let (g, b) = rest.split_at_mut(pixels);
    for p in 0..pixels {
        let grey = LUMA[0] * r[p] + LUMA[1] * g[p] + LUMA[2] * b[p];
        let (rs, gs, bs) = (grey + (r[p] - grey) * s, grey + (g[p] - grey) * s, grey + (b[p] - grey) * s);
        // RGB → YIQ, rotate (I, Q), back.
        let y = 0.299 * rs + 0.587 * gs + 0.114 * bs;
        let i = 0.596 * rs - 0.274 * gs - 0.322 * bs;
        let q = 0.211 * rs - 0.523 * gs + 0.312 * bs;
        let (i, q) = (i * cos - q * sin, i * sin + q * cos);
        r[p] = (y + 0.956 * i + 0.621 * q).clamp(0.0, 1.0);
        g[p] = (y - 0.272 * i - 0.647 * q).clamp(0.0, 1.0);
        b[p] = (y - 1.106 * i + 1.703 * q).clamp(0.0, 1.0);
    }
}

/// Brightness, contrast, saturation, hue, noise, erasing and cutout, in that order, drawing
/// from `rng` (saturation and hue draw for greyscale images too, and change nothing there).
fn photometric(spec: &AugmentSpec, img: &mut [f32], shape: Shape, rng: &mut ChaCha8Rng) {
    let (w, h) = (shape.w, shape.h);
    if spec.brightness > 0.0 || spec.contrast > 0.0 {
        let b = if spec.brightness > 0.0 { rng.random_range(-spec.brightness..=spec.brightness) } else { 0.0 };
        let c = if spec.contrast > 0.0 { rng.random_range(1.0 - spec.contrast..=1.0 + spec.contrast) } else { 1.0 };
        let mean = img.iter().sum::<f32>() / img.len() as f32;
        for v in img.iter_mut() {
            *v = ((*v - mean) * c + mean + b).clamp(0.0, 1.0);
        }
    }
    if spec.saturation > 0.0 || spec.hue > 0.0 {
        let s = if spec.saturation > 0.0 { rng.random_range(1.0 - spec.saturation..=1.0 + spec.saturation) } else { 1.0 };
        let turns = if spec.hue > 0.0 { rng.random_range(-spec.hue..=spec.hue) } else { 0.0 };
        if shape.c == 3 {
            colour(img, w * h, s, turns);
        }
    }
    if spec.noise > 0.0 {
        let normal = Normal::new(0.0, spec.noise).expect("checked σ");
        for v in img.iter_mut() {
            *v = (*v + normal.sample(rng)).clamp(0.0, 1.0);
        }
    }
    if spec.erasing > 0.0 && rng.random_bool(spec.erasing as f64) {
        // torchvision RandomErasing: area 2–33 %, log-uniform aspect 0.3–3.3, up to 10 tries.
        for _ in 0..10 {
            let area = rng.random_range(0.02f32..0.33) * (w * h) as f32;
            let aspect = rng.random_range(0.3f32.ln()..3.3f32.ln()).exp();
            let (eh, ew) = ((area * aspect).sqrt().round() as usize, (area / aspect).sqrt().round() as usize);
            if eh == 0 || ew == 0 || eh >= h || ew >= w {
                continue;
            }
            let (y0, x0) = (rng.random_range(0..=h - eh), rng.random_range(0..=w - ew));
            fill_rect(img, shape, (y0, y0 + eh), (x0, x0 + ew));
            break;
        }
    }
    if spec.cutout > 0 {
        // The square's centre is any pixel, so the square may hang over the edge (as in the paper).
        let half = spec.cutout as usize / 2;
        let (cy, cx) = (rng.random_range(0..h), rng.random_range(0..w));
        let rows = (cy.saturating_sub(half), (cy + spec.cutout as usize - half).min(h));
        let cols = (cx.saturating_sub(half), (cx + spec.cutout as usize - half).min(w));
        fill_rect(img, shape, rows, cols);
    }
}

/// Zeroes rows `y0..y1`, columns `x0..x1` of every channel.
fn fill_rect(img: &mut [f32], shape: Shape, (y0, y1): (usize, usize), (x0, x1): (usize, usize)) {
    for plane in img.chunks_exact_mut(shape.h * shape.w) {
        for y in y0..y1 {
            plane[y * shape.w + x0..y * shape.w + x1].fill(0.0);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    const MNIST: Shape = Shape::new(1, 28, 28);

    /// A stroke on a grey background, so that erasing anywhere shows.
    fn digit() -> Vec<f32> {
        let mut img = vec![0.2; 784];
        for y in 6..22 {
            img[y * 28 + 13] = 1.0;
            img[y * 28 + 14] = 1.0;
        }
        img
    }

    #[test]
    fn off_means_identity_and_each_transform_changes_the_image() {
        let spec = AugmentSpec::default();
        assert!(!spec.enabled());
        let mut img = digit();
        augment(&spec, &mut img, MNIST, &mut image_rng(1, 0, 0));
        assert_eq!(img, digit());
        let transforms = [
            AugmentSpec { rotation: 30.0, ..Default::default() },
            AugmentSpec { translate: 0.2, ..Default::default() },
            AugmentSpec { scale: [0.6, 0.8], ..Default::default() },
            AugmentSpec { elastic_alpha: 3.0, ..Default::default() },
            AugmentSpec { brightness: 0.3, ..Default::default() },
            AugmentSpec { contrast: 0.5, ..Default::default() },
            AugmentSpec { noise: 0.1, ..Default::default() },
            AugmentSpec { erasing: 1.0, ..Default::default() },
        ];
        for t in transforms {
            assert!(t.enabled() && t.check().is_ok(), "{t:?}");
            let mut img = digit();
            augment(&t, &mut img, MNIST, &mut image_rng(1, 0, 0));
            assert_ne!(img, digit(), "{t:?}");
            assert!(img.iter().all(|v| (0.0..=1.0).contains(v)), "{t:?}");
        }
    }

    #[test]
    fn seeded_per_epoch_and_image() {
        let spec = AugmentSpec { rotation: 20.0, translate: 0.1, noise: 0.05, ..Default::default() };
        let run = |seed, epoch, index| {
            let mut img = digit();
            augment(&spec, &mut img, MNIST, &mut image_rng(seed, epoch, index));
            img
        };
        assert_eq!(run(5, 1, 7), run(5, 1, 7));
        assert_ne!(run(5, 1, 7), run(5, 2, 7));
        assert_ne!(run(5, 1, 7), run(5, 1, 8));
        assert_ne!(run(5, 1, 7), run(6, 1, 7));
    }

    #[test]
    fn rotation_by_180_turns_the_image_over() {
        let spec = AugmentSpec { rotation: 180.0, ..Default::default() };
        // Find a seed whose angle is within a hair of ±180°, then compare with the flipped image.
        let mut img: Vec<f32> = (0..784).map(|i| (i % 28) as f32 / 27.0 * ((i / 28) % 2) as f32).collect();
        let original = img.clone();
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        // Rotation draws first: craft an rng whose first draw is the extreme by searching.
        for s in 0..10_000u64 {
            let mut r = ChaCha8Rng::seed_from_u64(s);
            if rng_first_angle(&mut r).abs() > 179.9 {
                rng = ChaCha8Rng::seed_from_u64(s);
                break;
            }
        }
        augment(&spec, &mut img, MNIST, &mut rng);
        let turned: Vec<f32> = (0..784).map(|i| original[783 - i]).collect();
        let err = img.iter().zip(&turned).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 0.1, "max difference {err}");
    }

    /// A 3×8×8 colour image: red gradient, green stripes, blue constant.
    fn colour_image() -> Vec<f32> {
        let mut img = vec![0.0; 3 * 64];
        for p in 0..64 {
            img[p] = (p % 8) as f32 / 7.0;
            img[64 + p] = ((p / 8) % 2) as f32 * 0.8;
            img[128 + p] = 0.4;
        }
        img
    }

    const RGB8: Shape = Shape::new(3, 8, 8);

    #[test]
    fn colour_transforms_change_the_image_and_stay_in_range() {
        let transforms = [
            AugmentSpec { crop_padding: 2, ..Default::default() },
            AugmentSpec { saturation: 0.8, ..Default::default() },
            AugmentSpec { hue: 0.3, ..Default::default() },
            AugmentSpec { cutout: 4, ..Default::default() },
            AugmentSpec { hflip: true, rotation: 10.0, ..Default::default() },
        ];
        for t in transforms {
            assert!(t.enabled() && t.check().is_ok(), "{t:?}");
            // Some draws leave an image as it is (a zero shift): look for a change over seeds.
            let changed = (0..8).any(|seed| {
                let mut img = colour_image();
                augment(&t, &mut img, RGB8, &mut image_rng(seed, 0, 0));
                assert!(img.iter().all(|v| (0.0..=1.0).contains(v)), "{t:?}");
                img != colour_image()
            });
            assert!(changed, "{t:?}");
        }
        let bad = AugmentSpec { hue: 0.6, ..Default::default() }.check().unwrap_err();
        assert_eq!(bad.0, "training.augment.hue");
    }

    #[test]
    fn channels_share_every_geometric_draw() {
        // Three equal planes stay equal after rotation, shift, flip, crop and cutout.
        let spec = AugmentSpec { rotation: 25.0, translate: 0.1, hflip: true, crop_padding: 2, cutout: 3, ..Default::default() };
        let plane: Vec<f32> = (0..64).map(|p| (p * 7 % 64) as f32 / 63.0).collect();
        for seed in 0..5 {
            let mut img: Vec<f32> = plane.iter().chain(&plane).chain(&plane).copied().collect();
            augment(&spec, &mut img, RGB8, &mut image_rng(seed, 1, 2));
            assert_eq!(img[..64], img[64..128]);
            assert_eq!(img[..64], img[128..]);
        }
    }

    #[test]
    fn crop_shifts_by_whole_pixels_and_fills_with_zeros() {
        let plane: Vec<f32> = (0..64).map(|p| 0.1 + (p % 8) as f32 * 0.1).collect();
        let mut out = vec![0.0; 64];
        shift(&mut out, &plane, 8, 8, (2, -1));
        assert_eq!(out[0..2], [0.0, 0.0], "columns moved in from the left are zero");
        assert_eq!(out[2], plane[8]);
        assert!(out[56..].iter().all(|&v| v == 0.0), "the bottom row moved in is zero");
    }

    #[test]
    fn saturation_zero_gives_grey_and_hue_zero_keeps_colours() {
        let mut img = colour_image();
        colour(&mut img, 64, 0.0, 0.0);
        for p in 0..64 {
            assert!((img[p] - img[64 + p]).abs() < 1e-3 && (img[p] - img[128 + p]).abs() < 1e-3, "pixel {p} is grey");
        }
        let mut img = colour_image();
        colour(&mut img, 64, 1.0, 0.0);
        let err = img.iter().zip(colour_image()).map(|(a, b)| (a - b).abs()).fold(0.0, f32::max);
        assert!(err < 2e-3, "YIQ round trip error {err}");
    }

    #[test]
    fn greyscale_images_ignore_colour_jitter() {
        let spec = AugmentSpec { saturation: 0.9, hue: 0.4, ..Default::default() };
        let mut img = digit();
        augment(&spec, &mut img, MNIST, &mut image_rng(3, 0, 0));
        assert_eq!(img, digit());
    }

    fn rng_first_angle(r: &mut ChaCha8Rng) -> f32 {
        r.random_range(-180.0f32..=180.0)
    }
}
