//! Painting small images onto canvases: greyscale digits, feature maps on a colour-blind-safe
//! sequential scale (viridis), weights and gradients on a diverging blue–white–orange scale.

use wasm_bindgen::JsCast;
use web_sys::{CanvasRenderingContext2d, HtmlCanvasElement, ImageData};

/// Viridis at five stops (matplotlib's values), interpolated: readable with the common
/// colour-vision deficiencies and in greyscale.
const VIRIDIS: [[f32; 3]; 5] = [[68.0, 1.0, 84.0], [59.0, 82.0, 139.0], [33.0, 145.0, 140.0], [94.0, 201.0, 98.0], [253.0, 231.0, 37.0]];
/// Blue (negative) – white (zero) – orange (positive), Okabe–Ito hues.
const DIVERGING: [[f32; 3]; 3] = [[0.0, 114.0, 178.0], [255.0, 255.0, 255.0], [230.0, 120.0, 0.0]];

fn ramp(stops: &[[f32; 3]], t: f32) -> [u8; 3] {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let x = t * (stops.len() - 1) as f32;
    let i = (x.floor() as usize).min(stops.len() - 2);
    let f = x - i as f32;
    let mix = |k: usize| (stops[i][k] + (stops[i + 1][k] - stops[i][k]) * f).round() as u8;
    [mix(0), mix(1), mix(2)]
}

/// Colour of `v` on the sequential scale from `lo` (dark purple) to `hi` (yellow).
pub fn sequential(v: f32, lo: f32, hi: f32) -> [u8; 3] {
    ramp(&VIRIDIS, if hi > lo { (v - lo) / (hi - lo) } else { 0.0 })
}

/// Colour of `v` on the diverging scale, ±`bound` at the ends.
pub fn diverging(v: f32, bound: f32) -> [u8; 3] {
    ramp(&DIVERGING, if bound > 0.0 { 0.5 + 0.5 * v / bound } else { 0.5 })
}

/// The 2D context of a canvas.
pub fn context(canvas: &HtmlCanvasElement) -> Option<CanvasRenderingContext2d> {
    canvas.get_context("2d").ok()??.dyn_into().ok()
}

/// Paints `w × h` colours onto `canvas` (resized to that), one canvas pixel per value.
pub fn paint_rgb(canvas: &HtmlCanvasElement, w: usize, h: usize, colours: impl Iterator<Item = [u8; 3]>) {
    if canvas.width() != w as u32 || canvas.height() != h as u32 {
        canvas.set_width(w as u32);
        canvas.set_height(h as u32);
    }
    let Some(ctx) = context(canvas) else { return };
    let mut rgba = vec![255u8; w * h * 4];
    for (px, c) in rgba.chunks_exact_mut(4).zip(colours) {
        px[..3].copy_from_slice(&c);
    }
    // ImageData refuses views into shared memory (the threaded build's wasm memory): copy first.
    let array = js_sys::Uint8ClampedArray::new_with_length(rgba.len() as u32);
    array.copy_from(&rgba);
    match ImageData::new_with_js_u8_clamped_array_and_sh(&array, w as u32, h as u32) {
        Ok(data) => {
            let _ = ctx.put_image_data(&data, 0.0, 0.0);
        }
        Err(e) => web_sys::console::error_2(&"cannot paint an image".into(), &e),
    }
}

/// Paints a square greyscale image (bytes, row-major).
pub fn paint_grey(canvas: &HtmlCanvasElement, grey: &[u8]) {
    let side = (grey.len() as f64).sqrt() as usize;
    paint_rgb(canvas, side, side, grey.iter().map(|&g| [g, g, g]));
}

/// Channels and side of a square image of `len` values: 1×S×S (grey) or 3×S×S (RGB planes).
/// The two cannot be confused: 3·S² is never a square.
pub fn image_dims(len: usize) -> (usize, usize) {
    let side = |n: usize| (n as f64).sqrt().round() as usize;
    let (one, three) = (side(len), side(len / 3));
    if one * one == len || 3 * three * three != len { (1, one) } else { (3, three) }
}

/// Paints a square image of bytes, grey (S×S) or colour (3×S×S, channel planes in order).
pub fn paint_image(canvas: &HtmlCanvasElement, image: &[u8]) {
    let (channels, side) = image_dims(image.len());
    if channels == 1 {
        return paint_grey(canvas, image);
    }
    let plane = side * side;
    paint_rgb(canvas, side, side, (0..plane).map(|p| [image[p], image[plane + p], image[2 * plane + p]]));
}
