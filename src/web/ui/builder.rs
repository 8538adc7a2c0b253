//! The layer builder: palette, per-layer editors with live shapes / parameters / FLOPs and the
//! formula behind them, reordering by drag-and-drop and by keyboard, presets, undo/redo and the
//! shareable link.

use super::edit::{apply_spec, redo, undo, Live};
use super::fields::{field_inputs, to_map};
use super::state::{AppState, RunState};
use super::client::send;
use crate::engine::spec::{palette, LayerSpec, Spec, PRESETS};
use crate::protocol::Request;
use leptos::prelude::*;
use serde_json::Value;
use std::sync::Arc;

/// The layer's JSON object (shortest decimals for f32 fields).
fn layer_json(layer: &LayerSpec) -> serde_json::Map<String, Value> {
    to_map(layer)
}

/// Sets field `key` of layer `i` to `value`; a value of the wrong type is reported on the layer.
fn set_field(state: AppState, field_errors: RwSignal<Vec<(usize, String)>>, i: usize, key: &str, value: Value) {
    let spec = state.spec.get_untracked();
    let Some(layer) = spec.layers.get(i) else { return };
    let mut m = layer_json(layer);
    if value.is_null() {
        m.remove(key);
    } else {
        m.insert(key.to_string(), value);
    }
    match serde_json::from_value::<LayerSpec>(Value::Object(m)) {
        Ok(new_layer) => {
            field_errors.update(|e| e.retain(|(j, _)| *j != i));
            let mut next = spec;
            next.layers[i] = new_layer;
            apply_spec(state, next);
        }
        Err(e) => field_errors.update(|errs| {
            errs.retain(|(j, _)| *j != i);
            errs.push((i, format!("field `{key}`: {e}")));
        }),
    }
}

fn edit_layers(state: AppState, f: impl FnOnce(&mut Vec<LayerSpec>)) {
    let mut next = state.spec.get_untracked();
    f(&mut next.layers);
    apply_spec(state, next);
}

/// Moves layer `from` to position `to`.
fn move_layer(state: AppState, from: usize, to: usize) {
    edit_layers(state, |layers| {
        if from < layers.len() && to < layers.len() && from != to {
            let l = layers.remove(from);
            layers.insert(to, l);
        }
    });
}

fn fmt_count(n: u64) -> String {
    match n {
        n if n >= 10_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// The whole builder card.
#[component]
pub fn Builder(state: AppState) -> impl IntoView {
    let selected = RwSignal::new(None::<usize>);
    let field_errors = RwSignal::new(Vec::<(usize, String)>::new());
    let dragging = RwSignal::new(None::<usize>);
    let live = Memo::new(move |_| Live::of(&state.spec.get()));
    let add = move |layer: LayerSpec| {
        let at = selected.get_untracked().map_or(state.spec.get_untracked().layers.len(), |i| i + 1);
        edit_layers(state, |layers| layers.insert(at.min(layers.len()), layer));
        selected.set(Some(at));
    };
    let load_preset = move |ev| {
        let name = event_target_value(&ev);
        if let Some(spec) = Spec::preset(&name) {
            field_errors.set(Vec::new());
            selected.set(None);
            apply_spec(state, spec);
        }
    };
    let share_url = move || super::edit::share_url(&state.spec.get());
    let copied = RwSignal::new(false);
    let copy_link = move |_| {
        let text = share_url();
        if let Some(w) = web_sys::window() {
            // The clipboard may be refused (permissions, insecure context): the link stays
            // visible in the field below either way.
            let _ = w.navigator().clipboard().write_text(&text);
        }
        copied.set(true);
    };
    let palette_view = palette()
        .into_iter()
        .map(|(group, layer)| {
            let name = layer.kind_name();
            let testid = format!("add-{}", layer_json(&layer).get("type").and_then(Value::as_str).unwrap_or_default());
            let title = format!("Add {name} ({group}) after the selected layer");
            view! { <button class="chip" data-testid=testid title=title on:click=move |_| add(layer.clone())>{format!("+ {name}")}</button> }
        })
        .collect_view();
    view! {
        <div class="row toolbar">
            <label>"Preset "
                <select data-testid="preset-select" on:change=load_preset>
                    <option value="" selected>"choose…"</option>
                    {PRESETS.iter().map(|p| view! { <option value=*p>{*p}</option> }).collect_view()}
                </select>
            </label>
            <button class="secondary" data-testid="undo" prop:disabled=move || state.history.with(|h| h.0.is_empty()) on:click=move |_| undo(state)>"Undo"</button>
            <button class="secondary" data-testid="redo" prop:disabled=move || state.history.with(|h| h.1.is_empty()) on:click=move |_| redo(state)>"Redo"</button>
            <button class="secondary" data-testid="model-reset" on:click=move |_| { field_errors.set(Vec::new()); apply_spec(state, Spec::default()) }>"Reset model"</button>
        </div>
        <Show when=move || !state.link_notices.get().is_empty()>
            <div class="notice" role="status" data-testid="link-notice">
                <strong>"Parts of the link were ignored:"</strong>
                <ul>{move || state.link_notices.get().into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}</ul>
                <button class="secondary" on:click=move |_| state.link_notices.set(Vec::new())>"Dismiss"</button>
            </div>
        </Show>
        <fieldset class="plain" prop:disabled=move || matches!(state.run.get(), RunState::Running | RunState::Pausing)>
        <div class="palette" data-testid="palette" aria-label="Layer palette">{palette_view}</div>
        <p class="hint">"Click a layer to select it (new layers go after it). Keyboard: Alt+↑/↓ moves, Delete removes, D duplicates."</p>
        <ol class="layers" data-testid="layers">
            {move || {
                let spec = state.spec.get();
                let lv = live.get();
                spec.layers.iter().enumerate().map(|(i, layer)| {
                    let info = lv.infos.get(i).cloned();
                    let error = lv.error.as_ref().filter(|(j, _)| *j == i).map(|(_, m)| m.clone())
                        .or_else(|| field_errors.get().into_iter().find(|(j, _)| *j == i).map(|(_, m)| m));
                    let invalid = error.is_some();
                    let fields = field_inputs(layer_json(layer), "field-",
                        Arc::new(move |key: String, value: Value| set_field(state, field_errors, i, &key, value)));
                    let name = layer.kind_name();
                    let (shape, detail, title) = match &info {
                        Some(inf) => (
                            format!("→ {}", inf.output),
                            format!("{} params · {} FLOPs", fmt_count(inf.params as u64), fmt_count(inf.flops)),
                            format!("output: {}\nparameters: {}\nactivation: {} bytes per image", inf.output_formula, inf.params_formula, inf.activation_bytes),
                        ),
                        None => ("→ ?".into(), String::new(), String::new()),
                    };
                    let dup = layer.clone();
                    let count = spec.layers.len();
                    let on_key = move |ev: web_sys::KeyboardEvent| {
                        let key = ev.key();
                        if ev.alt_key() && key == "ArrowUp" && i > 0 {
                            ev.prevent_default();
                            move_layer(state, i, i - 1);
                            selected.set(Some(i - 1));
                        } else if ev.alt_key() && key == "ArrowDown" && i + 1 < count {
                            ev.prevent_default();
                            move_layer(state, i, i + 1);
                            selected.set(Some(i + 1));
                        } else if key == "Delete" && ev.target() == ev.current_target() {
                            ev.prevent_default();
                            edit_layers(state, |l| { l.remove(i); });
                            selected.set(None);
                        } else if (key == "d" || key == "D") && ev.target() == ev.current_target() {
                            ev.prevent_default();
                            let copy = state.spec.get_untracked().layers[i].clone();
                            edit_layers(state, |l| l.insert(i + 1, copy));
                        }
                    };
                    view! {
                        <li class="layer" class:invalid=invalid class:selected=move || selected.get() == Some(i)
                            data-testid=format!("layer-{i}") tabindex="0" draggable="true"
                            aria-label=format!("Layer {i}: {name}")
                            on:click=move |_| selected.set(Some(i))
                            on:keydown=on_key
                            on:dragstart=move |_| dragging.set(Some(i))
                            on:dragover=move |ev| ev.prevent_default()
                            on:drop=move |ev| { ev.prevent_default(); if let Some(from) = dragging.get_untracked() { move_layer(state, from, i); selected.set(Some(i)); } dragging.set(None); }>
                            <div class="layer-head">
                                <span class="idx">{i}</span>
                                <strong data-testid="layer-name">{name}</strong>
                                <span class="shape" data-testid="layer-shape" title=title.clone() tabindex="0" aria-label=title>{shape}</span>
                                <span class="detail" data-testid="layer-detail">{detail}</span>
                                <span class="tools">
                                    <button class="icon" title="Move up" aria-label="Move up" data-testid="layer-up" prop:disabled=i == 0
                                        on:click=move |ev| { ev.stop_propagation(); move_layer(state, i, i - 1); }>"↑"</button>
                                    <button class="icon" title="Move down" aria-label="Move down" data-testid="layer-down" prop:disabled=i + 1 == count
                                        on:click=move |ev| { ev.stop_propagation(); move_layer(state, i, i + 1); }>"↓"</button>
                                    <button class="icon" title="Duplicate" aria-label="Duplicate" data-testid="layer-duplicate"
                                        on:click=move |ev| { ev.stop_propagation(); let d = dup.clone(); edit_layers(state, |l| l.insert(i + 1, d)); }>"Dup"</button>
                                    <button class="icon" title="Remove" aria-label="Remove" data-testid="layer-remove"
                                        on:click=move |ev| { ev.stop_propagation(); edit_layers(state, |l| { l.remove(i); }); selected.set(None); }>"✕"</button>
                                </span>
                            </div>
                            <div class="fields">{fields}</div>
                            {error.map(|m| view! { <p class="layer-error" role="alert" data-testid="layer-error">{m}</p> })}
                        </li>
                    }
                }).collect_view()
            }}
        </ol>
        </fieldset>
        <p class="totals" data-testid="model-totals">{move || {
            let lv = live.get();
            match &lv.error {
                None => format!("{} trainable parameters · {} FLOPs forward per image · {:.1} KB activations",
                    lv.params, fmt_count(lv.flops), lv.activation_bytes as f64 / 1024.0),
                Some((i, _)) => format!("Layer {i} needs fixing before training."),
            }
        }}</p>
        <div class="row share">
            <button class="secondary" data-testid="copy-link" on:click=copy_link>"Copy link"</button>
            <input type="text" readonly class="share-url" data-testid="share-url" aria-label="Link to this configuration" prop:value=share_url />
            <Show when=move || copied.get()><span class="hint">"Copied."</span></Show>
        </div>
        <div class="row share">
            <button class="secondary" data-testid="copy-link-weights" prop:disabled=move || state.model.get().is_none()
                    title="The link also carries the trained weights (8-bit, compressed) when they fit"
                    on:click=move |_| send(Request::WeightsLink)>"Copy link with weights"</button>
            {move || match state.weights_link.get() {
                Some(Ok(link)) => view! {
                    <input type="text" readonly class="share-url" data-testid="share-url-weights" aria-label="Link with the trained weights" prop:value=link.clone() />
                    <span class="hint" data-testid="weights-link-size">{format!("{} characters", link.len())}</span>
                }.into_any(),
                Some(Err(why)) => view! { <p class="hint" role="status" data-testid="weights-link-error">{format!("This model cannot travel in a link: {why}.")}</p> }.into_any(),
                None => ().into_any(),
            }}
        </div>
    }
}
