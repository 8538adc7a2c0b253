//! Augmentation settings with a live preview: the next training images as stored and as the
//! engine will augment them (same seed, epoch and image index as training), updated as the
//! sliders move.

use super::paint::paint_image;
use super::edit::apply_spec;
use super::lang::t;
use super::state::{AppState, RunState};
use crate::engine::augment::AugmentSpec;
use leptos::html::Canvas;
use leptos::prelude::*;

/// Images in the preview grid.
pub const PREVIEW_COUNT: usize = 8;

/// One slider: label, range, and how it reads/writes the settings.
struct Slider {
    key: &'static str,
    /// Table key of the label.
    label: &'static str,
    max: f32,
    step: f32,
    get: fn(&AugmentSpec) -> f32,
    set: fn(&mut AugmentSpec, f32),
}

const SLIDERS: [Slider; 13] = [
    Slider { key: "rotation", label: "aug.rotation", max: 45.0, step: 1.0, get: |a| a.rotation, set: |a, v| a.rotation = v },
    Slider { key: "translate", label: "aug.translate", max: 0.3, step: 0.01, get: |a| a.translate, set: |a, v| a.translate = v },
    Slider { key: "scale-min", label: "aug.scale_min", max: 1.0, step: 0.05, get: |a| a.scale[0], set: |a, v| { a.scale[0] = v.max(0.25); a.scale[1] = a.scale[1].max(a.scale[0]); } },
    Slider { key: "scale-max", label: "aug.scale_max", max: 2.0, step: 0.05, get: |a| a.scale[1], set: |a, v| { a.scale[1] = v.max(a.scale[0]); } },
    Slider { key: "elastic", label: "aug.elastic", max: 8.0, step: 0.25, get: |a| a.elastic_alpha, set: |a, v| a.elastic_alpha = v },
    Slider { key: "brightness", label: "aug.brightness", max: 0.5, step: 0.05, get: |a| a.brightness, set: |a, v| a.brightness = v },
    Slider { key: "contrast", label: "aug.contrast", max: 0.8, step: 0.05, get: |a| a.contrast, set: |a, v| a.contrast = v },
    Slider { key: "noise", label: "aug.noise", max: 0.5, step: 0.01, get: |a| a.noise, set: |a, v| a.noise = v },
    Slider { key: "erasing", label: "aug.erasing", max: 1.0, step: 0.05, get: |a| a.erasing, set: |a, v| a.erasing = v },
    Slider { key: "crop", label: "aug.crop", max: 8.0, step: 1.0, get: |a| a.crop_padding as f32, set: |a, v| a.crop_padding = v as u32 },
    Slider { key: "cutout", label: "aug.cutout", max: 16.0, step: 1.0, get: |a| a.cutout as f32, set: |a, v| a.cutout = v as u32 },
    Slider { key: "saturation", label: "aug.saturation", max: 1.0, step: 0.05, get: |a| a.saturation, set: |a, v| a.saturation = v },
    Slider { key: "hue", label: "aug.hue", max: 0.5, step: 0.01, get: |a| a.hue, set: |a, v| a.hue = v },
];

#[component]
fn Tile(state: AppState, index: usize, augmented: bool) -> impl IntoView {
    let canvas = NodeRef::<Canvas>::new();
    Effect::new(move |_| {
        let images = state.augment_preview.get();
        let (Some(c), Some((originals, augmented_imgs, _))) = (canvas.get(), images) else { return };
        let list = if augmented { &augmented_imgs } else { &originals };
        if let Some(img) = list.get(index) {
            paint_image(&c, img);
        }
    });
    let testid = format!("aug-{}-{index}", if augmented { "after" } else { "before" });
    view! { <canvas node_ref=canvas width="28" height="28" class="tile" data-testid=testid></canvas> }
}

/// The augmentation card body.
#[component]
pub fn Augmentation(state: AppState) -> impl IntoView {
    let locked = move || matches!(state.run.get(), RunState::Running | RunState::Pausing);
    let sliders = SLIDERS
        .iter()
        .map(|s| {
            let (get, set, label) = (s.get, s.set, s.label);
            let value = move || get(&state.spec.get().training.augment);
            let on_change = move |ev| {
                let Ok(v) = event_target_value(&ev).parse::<f32>() else { return };
                let mut spec = state.spec.get_untracked();
                set(&mut spec.training.augment, v);
                apply_spec(state, spec);
            };
            view! {
                <label class="slider">{move || t(label)}
                    <input type="range" min="0" max=s.max.to_string() step=s.step.to_string() data-testid=format!("aug-{}", s.key)
                        prop:value=move || value().to_string() on:change=on_change />
                    <span class="val">{move || format!("{:.2}", value())}</span>
                </label>
            }
        })
        .collect_view();
    let hflip = move |ev| {
        let mut spec = state.spec.get_untracked();
        spec.training.augment.hflip = event_target_checked(&ev);
        apply_spec(state, spec);
    };
    view! {
        <fieldset class="plain" prop:disabled=locked>
            <div class="sliders">{sliders}
                <label class="slider">{move || t("aug.hflip")}
                    <input type="checkbox" data-testid="aug-hflip" prop:checked=move || state.spec.get().training.augment.hflip on:change=hflip />
                </label>
            </div>
        </fieldset>
        <p class="hint">{move || t("aug.hint")}</p>
        <div class="tiles" data-testid="aug-preview" data-version=move || state.augment_version.get().to_string()>
            {(0..PREVIEW_COUNT).map(|i| view! { <Tile state=state index=i augmented=false /> }).collect_view()}
            {(0..PREVIEW_COUNT).map(|i| view! { <Tile state=state index=i augmented=true /> }).collect_view()}
        </div>
    }
}
