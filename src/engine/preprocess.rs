//! Turns a free-hand drawing into an MNIST-like 28×28 input, the way MNIST itself was made:
//! the ink's bounding box is scaled (area-averaged, so anti-aliased) to fit 20×20 keeping its
//! aspect ratio, then placed in a 28×28 frame so its centre of mass sits at the centre.

/// Side of the model input.
pub const SIDE: usize = 28;
/// Side of the box the digit is scaled into.
const BOX: usize = 20;
/// Intensity below which a canvas pixel does not count as ink.
const INK: f32 = 0.05;

/// Pixel intensities in [0, 1] as bytes 0–255 (how images are stored and painted).
pub fn to_bytes(pixels: &[f32]) -> Vec<u8> {
    pixels.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8).collect()
}

/// Converts `intensity` (`width × height`, row-major, 0 = background, 1 = ink) into a 28×28
/// image in [0, 1]. Returns `None` for an empty drawing.
pub fn drawing_to_mnist(intensity: &[f32], width: usize, height: usize) -> Option<Vec<f32>> {
    assert_eq!(intensity.len(), width * height, "intensity buffer does not match {width}×{height}");
    let (mut x0, mut y0, mut x1, mut y1) = (usize::MAX, usize::MAX, 0, 0);
    for y in 0..height {
        for x in 0..width {
            if intensity[y * width + x] > INK {
                (x0, y0, x1, y1) = (x0.min(x), y0.min(y), x1.max(x), y1.max(y));
            }
        }
    }
    if x0 == usize::MAX {
        return None;
    }
    let (bw, bh) = (x1 - x0 + 1, y1 - y0 + 1);
    // Source pixels per target pixel, the same on both axes to keep the aspect ratio.
    let scale = bw.max(bh) as f32 / BOX as f32;
    let tw = ((bw as f32 / scale).round() as usize).clamp(1, BOX);
    let th = ((bh as f32 / scale).round() as usize).clamp(1, BOX);
    let mut small = vec![0.0f32; tw * th];
    for ty in 0..th {
        for tx in 0..tw {
            small[ty * tw + tx] = area_average(intensity, width, x0, y0, bw, bh, tx, ty, scale);
        }
    }
    // Centre of mass of the scaled digit, moved to the centre of the 28×28 frame.
    let (mut mass, mut mx, mut my) = (0.0f32, 0.0f32, 0.0f32);
    for ty in 0..th {
        for tx in 0..tw {
            let v = small[ty * tw + tx];
            mass += v;
            mx += v * (tx as f32 + 0.5);
            my += v * (ty as f32 + 0.5);
        }
    }
    let (cx, cy) = if mass > 0.0 { (mx / mass, my / mass) } else { (tw as f32 / 2.0, th as f32 / 2.0) };
    let off_x = (SIDE as f32 / 2.0 - cx).round() as isize;
    let off_y = (SIDE as f32 / 2.0 - cy).round() as isize;
    let mut out = vec![0.0f32; SIDE * SIDE];
    for ty in 0..th {
        for tx in 0..tw {
            let (ox, oy) = (tx as isize + off_x, ty as isize + off_y);
            if (0..SIDE as isize).contains(&ox) && (0..SIDE as isize).contains(&oy) {
                out[oy as usize * SIDE + ox as usize] = small[ty * tw + tx].min(1.0);
            }
        }
    }
    Some(out)
}

/// Mean intensity of the source area covered by target pixel (tx, ty), weighting partly
/// covered source pixels by their overlap.
#[allow(clippy::too_many_arguments)]
fn area_average(src: &[f32], width: usize, x0: usize, y0: usize, bw: usize, bh: usize, tx: usize, ty: usize, scale: f32) -> f32 {
    let (sx0, sx1) = (tx as f32 * scale, ((tx + 1) as f32 * scale).min(bw as f32));
    let (sy0, sy1) = (ty as f32 * scale, ((ty + 1) as f32 * scale).min(bh as f32));
    let (mut sum, mut area) = (0.0f32, 0.0f32);
    let mut y = sy0.floor() as usize;
    while (y as f32) < sy1 && y < bh {
        let wy = (sy1.min(y as f32 + 1.0) - sy0.max(y as f32)).max(0.0);
        let mut x = sx0.floor() as usize;
        while (x as f32) < sx1 && x < bw {
            let wx = (sx1.min(x as f32 + 1.0) - sx0.max(x as f32)).max(0.0);
            sum += src[(y0 + y) * width + x0 + x] * wx * wy;
            area += wx * wy;
            x += 1;
        }
        y += 1;
    }
    if area > 0.0 {
        sum / area
    } else {
        0.0
    }
}

/// The source rectangle (x, y, w, h) of a `width × height` picture cut to the aspect of `shape`.
pub fn centre_crop(width: f64, height: f64, shape: crate::engine::shape::Shape) -> (f64, f64, f64, f64) {
    let aspect = shape.w as f64 / shape.h as f64;
    if width / height > aspect {
        let w = height * aspect;
        ((width - w) / 2.0, 0.0, w, height)
    } else {
        let h = width / aspect;
        (0.0, (height - h) / 2.0, width, h)
    }
}

/// RGBA pixels (`w·h·4`) as C×H×W bytes: the three colour planes, or their luma (rounded).
pub fn rgba_to_chw_bytes(rgba: &[u8], channels: usize) -> Vec<u8> {
    let pixels = rgba.len() / 4;
    let mut out = vec![0u8; channels * pixels];
    for (p, px) in rgba.chunks_exact(4).enumerate() {
        if channels == 3 {
            out[p] = px[0];
            out[pixels + p] = px[1];
            out[2 * pixels + p] = px[2];
        } else {
            out[p] = (0.299 * f32::from(px[0]) + 0.587 * f32::from(px[1]) + 0.114 * f32::from(px[2])).round() as u8;
        }
    }
    out
}

/// RGBA pixels (`w·h·4`) as C×H×W values in [0, 1]: the three colour planes, or their luma.
pub fn rgba_to_chw(rgba: &[u8], channels: usize) -> Vec<f32> {
    let pixels = rgba.len() / 4;
    let mut out = vec![0.0; channels * pixels];
    for (p, px) in rgba.chunks_exact(4).enumerate() {
        let [r, g, b] = [px[0], px[1], px[2]].map(|v| f32::from(v) / 255.0);
        if channels == 3 {
            out[p] = r;
            out[pixels + p] = g;
            out[2 * pixels + p] = b;
        } else {
            out[p] = 0.299 * r + 0.587 * g + 0.114 * b;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_drawing_gives_none() {
        assert_eq!(drawing_to_mnist(&[0.0; 100], 10, 10), None);
    }

    #[test]
    fn vertical_bar_is_scaled_to_20_rows_and_centred() {
        // A 4-wide, 200-tall bar near the left edge of a 280×280 canvas.
        let (w, h) = (280, 280);
        let mut img = vec![0.0; w * h];
        for y in 40..240 {
            for x in 10..14 {
                img[y * w + x] = 1.0;
            }
        }
        let out = drawing_to_mnist(&img, w, h).unwrap();
        let rows: Vec<usize> = (0..SIDE).filter(|&y| (0..SIDE).any(|x| out[y * SIDE + x] > 0.0)).collect();
        assert_eq!(rows.len(), 20, "the bar's height fills the 20-pixel box");
        assert_eq!((rows[0], rows[19]), (4, 23), "vertically centred");
        let cols: Vec<usize> = (0..SIDE).filter(|&x| (0..SIDE).any(|y| out[y * SIDE + x] > 0.0)).collect();
        assert!(cols.iter().all(|&c| (13..=14).contains(&c)), "horizontally centred: {cols:?}");
        assert!(out.iter().all(|&v| (0.0..=1.0).contains(&v)));
    }

    #[test]
    fn thin_stroke_is_antialiased() {
        // A 1-pixel diagonal on a 100×100 canvas becomes grey, not binary.
        let mut img = vec![0.0; 100 * 100];
        for i in 0..100 {
            img[i * 100 + i] = 1.0;
        }
        let out = drawing_to_mnist(&img, 100, 100).unwrap();
        assert!(out.iter().any(|&v| v > 0.0 && v < 0.5));
    }

    #[test]
    fn pictures_are_cut_to_the_models_aspect_and_split_into_colour_planes() {
        use crate::engine::shape::Shape;
        assert_eq!(centre_crop(400.0, 200.0, Shape::new(3, 32, 32)), (100.0, 0.0, 200.0, 200.0));
        assert_eq!(centre_crop(200.0, 400.0, Shape::new(3, 32, 32)), (0.0, 100.0, 200.0, 200.0));
        let rgba = [255, 0, 0, 255, 0, 255, 0, 255];
        assert_eq!(rgba_to_chw(&rgba, 3), [1.0, 0.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(rgba_to_chw_bytes(&rgba, 3), [255, 0, 0, 255, 0, 0]);
        assert_eq!(rgba_to_chw_bytes(&rgba, 1), [76, 150]);
        let grey = rgba_to_chw(&rgba, 1);
        assert!((grey[0] - 0.299).abs() < 1e-6 && (grey[1] - 0.587).abs() < 1e-6);
    }
}
