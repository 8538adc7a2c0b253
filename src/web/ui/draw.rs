//! Drawing pad: pointer input (mouse, touch, pen), MNIST-style preprocessing, the 28×28 input
//! as the model sees it, and the ten class probabilities.

use super::client::send;
use super::state::AppState;
use crate::engine::preprocess::{drawing_to_mnist, SIDE};
use crate::protocol::Request;
use crate::web::js::now_ms;
use leptos::html::Canvas;
use super::lang::{t, tf};
use leptos::prelude::*;
use super::paint::context;
use web_sys::{HtmlCanvasElement, PointerEvent};

/// Drawing canvas side in pixels.
const PAD: u32 = 280;
/// Default brush width in canvas pixels (≈2 MNIST pixels after scaling).
const BRUSH: f64 = 20.0;

/// One pointer-down-to-up line, kept so strokes can be undone.
#[derive(Clone)]
struct Stroke {
    width: f64,
    points: Vec<(f64, f64)>,
}

/// Draws a stroke from point `from` on: a dot at its start (so a tap leaves ink) and one
/// round-capped segment per pair of points — the same canvas operations whether drawn live or
/// replayed after an undo, so a replay gives identical pixels.
fn paint_stroke(canvas: &HtmlCanvasElement, stroke: &Stroke, from: usize) {
    let Some(ctx) = context(canvas) else { return };
    let pts = &stroke.points;
    if from == 0 {
        if let Some(&(x, y)) = pts.first() {
            ctx.set_fill_style_str("#fff");
            ctx.begin_path();
            let _ = ctx.arc(x, y, stroke.width / 2.0, 0.0, std::f64::consts::TAU);
            ctx.fill();
        }
    }
    ctx.set_stroke_style_str("#fff");
    ctx.set_line_width(stroke.width);
    ctx.set_line_cap("round");
    ctx.set_line_join("round");
    for i in from.max(1)..pts.len() {
        ctx.begin_path();
        ctx.move_to(pts[i - 1].0, pts[i - 1].1);
        ctx.line_to(pts[i].0, pts[i].1);
        ctx.stroke();
    }
}

/// Minimum interval between predictions while drawing.
const PREDICT_EVERY_MS: f64 = 150.0;

/// Canvas coordinates of a pointer event (the canvas may be scaled by CSS).
fn position(canvas: &HtmlCanvasElement, ev: &PointerEvent) -> (f64, f64) {
    let rect = canvas.get_bounding_client_rect();
    let sx = canvas.width() as f64 / rect.width().max(1.0);
    let sy = canvas.height() as f64 / rect.height().max(1.0);
    ((ev.client_x() as f64 - rect.left()) * sx, (ev.client_y() as f64 - rect.top()) * sy)
}

fn clear(canvas: &HtmlCanvasElement) {
    if let Some(ctx) = context(canvas) {
        ctx.set_fill_style_str("#000");
        ctx.fill_rect(0.0, 0.0, canvas.width() as f64, canvas.height() as f64);
    }
}

/// Preprocesses the drawing, shows the 28×28 input and asks the engine for a prediction.
fn classify(pad: &HtmlCanvasElement, preview: Option<HtmlCanvasElement>, state: AppState) {
    let Some(ctx) = context(pad) else { return };
    let (w, h) = (pad.width(), pad.height());
    let Ok(image) = ctx.get_image_data(0.0, 0.0, w as f64, h as f64) else { return };
    let rgba = image.data();
    let intensity: Vec<f32> = rgba.chunks_exact(4).map(|px| px[0] as f32 / 255.0).collect();
    let Some(pixels) = drawing_to_mnist(&intensity, w as usize, h as usize) else { return };
    if let Some(preview) = preview {
        show_input(&preview, &pixels);
    }
    state.last_input.set(Some(pixels.clone()));
    if state.model.get_untracked().is_some() {
        send(Request::Predict { pixels });
    }
}

/// Draws the 28×28 input, one canvas pixel per input pixel (CSS scales it up, pixelated).
fn show_input(preview: &HtmlCanvasElement, pixels: &[f32]) {
    super::paint::paint_grey(preview, &crate::engine::preprocess::to_bytes(pixels));
}

/// The drawing pad with its input preview and probability bars.
#[component]
pub fn DrawPad(state: AppState) -> impl IntoView {
    let pad = NodeRef::<Canvas>::new();
    let preview = NodeRef::<Canvas>::new();
    let strokes = StoredValue::new(Vec::<Stroke>::new());
    let drawing = StoredValue::new(false);
    let brush = RwSignal::new(BRUSH);
    let last_predict = StoredValue::new(0.0f64);
    // Strokes finished so far: lets a test (or assistive code) know the pad has taken a stroke in.
    let finished = RwSignal::new(0u32);

    Effect::new(move |_| {
        if let Some(c) = pad.get() {
            clear(&c);
        }
    });

    let down = move |ev: PointerEvent| {
        let Some(c) = pad.get() else { return };
        ev.prevent_default();
        let _ = c.set_pointer_capture(ev.pointer_id());
        let stroke = Stroke { width: brush.get_untracked(), points: vec![position(&c, &ev)] };
        paint_stroke(&c, &stroke, 0);
        strokes.update_value(|s| s.push(stroke));
        drawing.set_value(true);
    };
    let moved = move |ev: PointerEvent| {
        let Some(c) = pad.get() else { return };
        if !drawing.get_value() {
            return;
        }
        ev.prevent_default();
        let to = position(&c, &ev);
        strokes.update_value(|s| {
            if let Some(stroke) = s.last_mut() {
                stroke.points.push(to);
                paint_stroke(&c, stroke, stroke.points.len() - 1);
            }
        });
        if now_ms() - last_predict.get_value() > PREDICT_EVERY_MS {
            last_predict.set_value(now_ms());
            classify(&c, preview.get(), state);
        }
    };
    let up = move |_ev: PointerEvent| {
        if drawing.get_value() {
            drawing.set_value(false);
            finished.update(|n| *n += 1);
            if let Some(c) = pad.get() {
                classify(&c, preview.get(), state);
            }
        }
    };
    let clear_all = move |_: ()| {
        if let Some(c) = pad.get() {
            clear(&c);
        }
        if let Some(p) = preview.get() {
            show_input(&p, &[0.0; SIDE * SIDE]);
        }
        state.prediction.set(None);
        state.inspection.set(None);
        state.last_input.set(None);
        strokes.set_value(Vec::new());
        // The diagram goes back to showing the probe image.
        if state.model.with_untracked(Option::is_some) {
            if let Some(request) = state.inspect_request() {
                send(request);
            }
        }
    };
    // Takes the last stroke back: the pad is redrawn from the strokes left.
    let undo_stroke = move |_| {
        let Some(c) = pad.get() else { return };
        strokes.update_value(|s| {
            s.pop();
        });
        let left = strokes.get_value();
        if left.is_empty() {
            clear_all(());
            return;
        }
        clear(&c);
        for stroke in &left {
            paint_stroke(&c, stroke, 0);
        }
        classify(&c, preview.get(), state);
    };

    let waiting = move || {
        state.model.with(Option::is_some)
            && state.last_input.with(|last| {
                last.as_ref().is_some_and(|x| state.inspection.with(|i| i.as_ref().map(|i| &i.input) != Some(x)))
            })
    };
    let top = move || {
        state.prediction.get().map(|p| crate::engine::loss::argmax(&p))
    };
    view! {
        <div class="draw">
            <canvas class="pad" node_ref=pad width=PAD height=PAD data-testid="draw-canvas" role="img" data-strokes=move || finished.get()
                    aria-label=move || t("draw.pad_label")
                    on:pointerdown=down on:pointermove=moved on:pointerup=up on:pointercancel=up></canvas>
            <div class="side">
                <p class="hint">{move || t("draw.input")}</p>
                <canvas class="preview" node_ref=preview width=SIDE as u32 height=SIDE as u32
                        data-testid="input-preview" role="img" aria-label=move || t("draw.input_label")></canvas>
                <div class="row buttons">
                    <button data-testid="draw-clear" on:click=move |_| clear_all(())>{move || t("draw.clear")}</button>
                    <button class="secondary" data-testid="draw-undo" on:click=undo_stroke>{move || t("draw.undo")}</button>
                </div>
                <label class="brush">{move || t("draw.brush")}" "
                    <input type="range" min="8" max="40" step="2" data-testid="brush" aria-label=move || t("draw.brush_label")
                           prop:value=move || brush.get().to_string()
                           on:input=move |ev| if let Ok(w) = event_target_value(&ev).parse() { brush.set(w) } />
                    <span>{move || tf("draw.px", &[&format!("{:.0}", brush.get())])}</span>
                </label>
            </div>
        </div>
        // Busy while the engine has not yet answered for the latest drawing (mid-stroke answers are older).
        <p class="prediction" data-testid="prediction" aria-live="polite" aria-busy=move || waiting().to_string()>
            {move || match top() {
                Some(c) => tf("draw.prediction", &[&state.spec.with(|s| s.class_names().get(c).cloned().unwrap_or_default())]),
                None => t("draw.empty").to_string(),
            }}
        </p>
        <super::probs::ProbabilityBars state=state />
    }
}
