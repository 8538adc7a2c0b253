//! Predict on a picture: a file (chosen or dropped), one pasted from the clipboard, or a frame of
//! the camera where the browser has one. The picture is cut to the model's aspect (centre),
//! scaled to its input by the browser, and turned into C×H×W values in [0, 1] (grey for a
//! one-channel model); the preview shows exactly what the model is given.

use super::client::send;
use super::lang::{t, tr};
use super::state::AppState;
use crate::engine::preprocess::{centre_crop, rgba_to_chw};
use crate::engine::shape::Shape;
use crate::i18n::Message;
use leptos::html::{Canvas, Video};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::{spawn_local, JsFuture};

/// Draws `source` (an image bitmap or a video) cut and scaled onto `canvas` (the model's size)
/// and returns the model's input.
fn take(canvas: &web_sys::HtmlCanvasElement, shape: Shape, draw: impl Fn(&web_sys::CanvasRenderingContext2d, (f64, f64, f64, f64)) -> Result<(), JsValue>, size: (f64, f64)) -> Result<Vec<f32>, JsValue> {
    canvas.set_width(shape.w as u32);
    canvas.set_height(shape.h as u32);
    let ctx: web_sys::CanvasRenderingContext2d = canvas.get_context("2d")?.ok_or("no 2d context")?.dyn_into()?;
    ctx.set_image_smoothing_enabled(true);
    draw(&ctx, centre_crop(size.0, size.1, shape))?;
    let data = ctx.get_image_data(0.0, 0.0, shape.w as f64, shape.h as f64)?.data();
    let values = rgba_to_chw(&data, shape.c);
    if shape.c == 1 {
        // Show the grey image the model sees, not the colour one drawn.
        let grey: Vec<u8> = values.iter().flat_map(|&v| { let b = (v * 255.0).round() as u8; [b, b, b, 255] }).collect();
        let image = web_sys::ImageData::new_with_u8_clamped_array_and_sh(wasm_bindgen::Clamped(&grey), shape.w as u32, shape.h as u32)?;
        ctx.put_image_data(&image, 0.0, 0.0)?;
    }
    Ok(values)
}

/// Asks the engine about `pixels` (kept as the input to predict again when the weights change).
fn predict(state: AppState, pixels: Vec<f32>) {
    state.last_input.set(Some(pixels.clone()));
    if state.model.get_untracked().is_some() {
        send(crate::protocol::Request::Predict { pixels });
    }
}

/// Decodes an image file with the browser and predicts on it.
async fn from_blob(state: AppState, canvas: web_sys::HtmlCanvasElement, blob: web_sys::Blob, problem: RwSignal<Option<Message>>) {
    let name = blob.dyn_ref::<web_sys::File>().map_or_else(|| t("picture.pasted").to_string(), |f| f.name());
    let Some(window) = web_sys::window() else { return };
    let bitmap = match window.create_image_bitmap_with_blob(&blob) {
        Ok(promise) => JsFuture::from(promise).await,
        Err(e) => Err(e),
    };
    let bitmap: web_sys::ImageBitmap = match bitmap.and_then(|b| b.dyn_into()) {
        Ok(b) => b,
        Err(_) => return problem.set(Some(crate::msg!("err.picture_unreadable", name))),
    };
    let shape = state.spec.with_untracked(|s| s.input_shape());
    let size = (f64::from(bitmap.width()), f64::from(bitmap.height()));
    let drawn = take(&canvas, shape, |ctx, (x, y, w, h)| {
        ctx.draw_image_with_image_bitmap_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(&bitmap, x, y, w, h, 0.0, 0.0, shape.w as f64, shape.h as f64)
    }, size);
    match drawn {
        Ok(pixels) => {
            problem.set(None);
            predict(state, pixels);
        }
        Err(_) => problem.set(Some(crate::msg!("err.picture_unreadable", name))),
    }
}

/// The picture input: choose, drop or paste a picture, or take one with the camera.
#[component]
pub fn PicturePad(state: AppState) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    let video = NodeRef::<Video>::new();
    let problem = RwSignal::new(None::<Message>);
    let camera_on = RwSignal::new(false);
    let use_blob = move |blob: web_sys::Blob| {
        if let Some(c) = canvas.get_untracked() {
            spawn_local(from_blob(state, c, blob, problem));
        }
    };
    let chosen = move |ev: web_sys::Event| {
        let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        if let Some(file) = input.as_ref().and_then(|i| i.files()).and_then(|f| f.get(0)) {
            use_blob(file.into());
        }
        if let Some(i) = input {
            i.set_value("");
        }
    };
    let dropped = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        if let Some(file) = ev.data_transfer().and_then(|d| d.files()).and_then(|f| f.get(0)) {
            use_blob(file.into());
        }
    };
    let pasted = move |ev: web_sys::ClipboardEvent| {
        let file = ev.clipboard_data().and_then(|d| d.files()).and_then(|f| f.get(0));
        if let Some(file) = file {
            ev.prevent_default();
            use_blob(file.into());
        }
    };
    let start_camera = move |_| {
        let Some(v) = video.get_untracked() else { return };
        spawn_local(async move {
            let devices = web_sys::window().and_then(|w| w.navigator().media_devices().ok());
            let Some(devices) = devices else { return problem.set(Some(crate::msg!("err.camera_none"))) };
            let constraints = web_sys::MediaStreamConstraints::new();
            constraints.set_video(&JsValue::TRUE);
            let stream = match devices.get_user_media_with_constraints(&constraints) {
                Ok(p) => JsFuture::from(p).await,
                Err(e) => Err(e),
            };
            match stream.and_then(|s| s.dyn_into::<web_sys::MediaStream>()) {
                Ok(stream) => {
                    v.set_src_object(Some(&stream));
                    let _ = v.play();
                    camera_on.set(true);
                    problem.set(None);
                }
                Err(e) => {
                    let why = e.dyn_ref::<web_sys::DomException>().map_or_else(|| format!("{e:?}"), |d| format!("{}: {}", d.name(), d.message()));
                    problem.set(Some(crate::msg!("err.camera_refused", why)));
                }
            }
        });
    };
    let snap = move |_| {
        let (Some(v), Some(c)) = (video.get_untracked(), canvas.get_untracked()) else { return };
        let shape = state.spec.with_untracked(|s| s.input_shape());
        let size = (f64::from(v.video_width()), f64::from(v.video_height()));
        if size.0 < 1.0 || size.1 < 1.0 {
            return;
        }
        let drawn = take(&c, shape, |ctx, (x, y, w, h)| {
            ctx.draw_image_with_html_video_element_and_sw_and_sh_and_dx_and_dy_and_dw_and_dh(&v, x, y, w, h, 0.0, 0.0, shape.w as f64, shape.h as f64)
        }, size);
        if let Ok(pixels) = drawn {
            predict(state, pixels);
        }
    };
    let stop_camera = move |_| {
        if let Some(v) = video.get_untracked() {
            if let Some(stream) = v.src_object().and_then(|s| s.dyn_into::<web_sys::MediaStream>().ok()) {
                stream.get_tracks().iter().filter_map(|t| t.dyn_into::<web_sys::MediaStreamTrack>().ok()).for_each(|t| t.stop());
            }
            v.set_src_object(None);
        }
        camera_on.set(false);
    };
    let has_camera = web_sys::window().is_some_and(|w| w.navigator().media_devices().is_ok());
    view! {
        <div class="picture-pad" data-testid="picture-pad" tabindex="0" aria-label=move || t("picture.title")
             on:dragover=move |ev: web_sys::DragEvent| ev.prevent_default() on:drop=dropped on:paste=pasted>
            <p class="hint">{move || t("picture.hint")}</p>
            <div class="picture-row">
                <canvas class="picture-preview" node_ref=canvas width="32" height="32" data-testid="picture-preview"
                        role="img" aria-label=move || t("picture.preview")></canvas>
                <video class="camera" node_ref=video autoplay muted playsinline hidden=move || !camera_on.get()></video>
            </div>
            <div class="picture-actions">
                <label class="button">
                    {move || t("picture.choose")}
                    <input type="file" accept="image/*" data-testid="picture-file" on:change=chosen />
                </label>
                <Show when=move || has_camera>
                    <Show when=move || camera_on.get()
                          fallback=move || view! { <button class="secondary" data-testid="camera-start" on:click=start_camera>{move || t("picture.camera")}</button> }>
                        <button data-testid="camera-snap" on:click=snap>{move || t("picture.snap")}</button>
                        <button class="secondary" data-testid="camera-stop" on:click=stop_camera>{move || t("picture.camera_off")}</button>
                    </Show>
                </Show>
            </div>
            <Show when=move || problem.get().is_some()>
                <p class="failed" role="alert" data-testid="picture-problem">{move || problem.get().map(|m| tr(&m)).unwrap_or_default()}</p>
            </Show>
        </div>
        <p class="prediction" data-testid="prediction" aria-live="polite">
            {move || match state.prediction.get().map(|p| crate::engine::loss::argmax(&p)) {
                Some(c) => super::lang::tf("draw.prediction", &[&state.spec.with(|s| s.class_names().get(c).cloned().unwrap_or_default())]),
                None => t("picture.empty").to_string(),
            }}
        </p>
        <super::probs::ProbabilityBars state=state />
    }
}
