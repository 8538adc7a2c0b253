//! The body of a residual block, edited in place: its layers in order with their output shapes
//! and fields, each moved, removed, or added from the palette's kinds (a block inside a block
//! is not offered: the engine refuses it).

use super::builder::layer_key;
use super::edit::{edit_body, set_body_field};
use super::fields::{field_inputs, to_map};
use super::lang::t;
use super::state::AppState;
use crate::engine::shape::Shape;
use crate::engine::spec::{infer_layer, palette, LayerKind, LayerSpec};
use leptos::prelude::*;
use std::sync::Arc;

/// The editor of residual block `i`'s body `layers`, whose input has shape `input` (if known).
pub fn body_editor(state: AppState, i: usize, layers: Vec<LayerSpec>, input: Option<Shape>) -> impl IntoView {
    let count = layers.len();
    // Each body layer's output shape, up to the first that does not fit.
    let mut shape = input;
    let rows = layers
        .into_iter()
        .enumerate()
        .map(|(m, layer)| {
            shape = shape.and_then(|s| infer_layer(&layer, s).ok()).map(|info| info.output);
            let out = shape.map_or("?".to_string(), |s| s.to_string());
            let name = layer.kind_name();
            let fields = field_inputs(to_map(&layer), format!("body-{m}-"), Arc::new(move |key: String, value| set_body_field(state, i, m, &key, value)));
            view! {
                <li class="body-layer" data-testid=format!("body-{m}")>
                    <div class="layer-head">
                        <span class="idx">{m}</span>
                        <strong title=t(layer_key(name))>{name}</strong>
                        <span class="shape" data-testid="body-shape">{format!("→ {out}")}</span>
                        <span class="tools">
                            <button class="icon" data-testid="body-up" title=t("builder.move_up") aria-label=t("builder.move_up") prop:disabled=m == 0
                                    on:click=move |_| edit_body(state, i, |b| b.swap(m - 1, m))>"↑"</button>
                            <button class="icon" data-testid="body-down" title=t("builder.move_down") aria-label=t("builder.move_down") prop:disabled=m + 1 == count
                                    on:click=move |_| edit_body(state, i, |b| b.swap(m, m + 1))>"↓"</button>
                            <button class="icon" data-testid="body-remove" title=t("builder.remove") aria-label=t("builder.remove") prop:disabled=count == 1
                                    on:click=move |_| edit_body(state, i, |b| { b.remove(m); })>"×"</button>
                        </span>
                    </div>
                    <div class="fields">{fields}</div>
                </li>
            }
        })
        .collect_view();
    let kinds: Vec<LayerSpec> = palette().into_iter().map(|(_, l)| l).filter(|l| LayerKind::from(l) != LayerKind::Residual).collect();
    let names: Vec<&'static str> = kinds.iter().map(LayerSpec::kind_name).collect();
    view! {
        <div class="body-editor" data-testid="body-editor">
            <h4>{move || t("residual.body")}</h4>
            <ol class="body-layers">{rows}</ol>
            <label class="field">{move || t("residual.add")}" "
                <select data-testid="body-add" on:change=move |ev| {
                    let choice = event_target_value(&ev);
                    if let Some(layer) = kinds.iter().find(|l| l.kind_name() == choice).cloned() {
                        edit_body(state, i, |b| b.push(layer));
                    }
                }>
                    <option value="" selected=true>"…"</option>
                    {names.into_iter().map(|n| view! { <option value=n>{n}</option> }).collect_view()}
                </select>
            </label>
        </div>
    }
}
