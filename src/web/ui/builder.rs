//! The layer builder: palette, per-layer editors with live shapes / parameters / FLOPs and the
//! formula behind them, reordering by drag-and-drop and by keyboard, presets, undo/redo and the
//! shareable link.

use super::edit::{apply_spec, redo, undo, Live};
use super::fields::{field_inputs, to_map};
use super::lang::{t, tf, tr};
use super::state::{AppState, RunState};
use super::client::send;
use crate::engine::spec::{palette, LayerSpec, Spec, PRESETS};
use crate::i18n::Message;
use crate::protocol::Request;
use leptos::prelude::*;
use serde_json::Value;
use std::sync::Arc;

/// The layer's JSON object (shortest decimals for f32 fields).
fn layer_json(layer: &LayerSpec) -> serde_json::Map<String, Value> {
    to_map(layer)
}

/// Sets field `key` of layer `i` to `value`; a value of the wrong type is reported on the layer.
fn set_field(state: AppState, field_errors: RwSignal<Vec<(usize, Message)>>, i: usize, key: &str, value: Value) {
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
            errs.push((i, crate::msg!("msg.field_error", key, e.to_string())));
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

/// Puts the keyboard focus on layer `i` once the list has been drawn again: an edit redraws
/// every row, and the row that had the focus is gone (so Alt+↓ twice would need a click between).
fn focus_layer_soon(i: usize) {
    use wasm_bindgen::JsCast;
    let focus = wasm_bindgen::closure::Closure::once_into_js(move || {
        let row = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.query_selector(&format!("[data-testid=layer-{i}]")).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(row) = row {
            let _ = row.focus();
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(focus.unchecked_ref());
    }
}

/// The table key of a layer's name in words.
fn layer_key(name: &str) -> &'static str {
    crate::i18n::key_for("layer.", name)
}

/// The table key of a palette group.
fn group_key(group: &str) -> &'static str {
    crate::i18n::key_for("group.", group)
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
    let field_errors = RwSignal::new(Vec::<(usize, Message)>::new());
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
            let title = move || tf("builder.add_title", &[&name, &t(layer_key(name)), &t(group_key(group.name()))]);
            view! { <button class="chip" data-testid=testid title=title on:click=move |_| add(layer.clone())>{format!("+ {name}")}</button> }
        })
        .collect_view();
    view! {
        <div class="row toolbar">
            <label>{move || t("builder.preset")}" "
                <select data-testid="preset-select" on:change=load_preset>
                    <option value="" selected>{move || t("builder.choose")}</option>
                    {PRESETS.iter().map(|p| view! { <option value=*p>{*p}</option> }).collect_view()}
                </select>
            </label>
            <button class="secondary" data-testid="undo" prop:disabled=move || state.history.with(|h| h.0.is_empty()) on:click=move |_| undo(state)>{move || t("builder.undo")}</button>
            <button class="secondary" data-testid="redo" prop:disabled=move || state.history.with(|h| h.1.is_empty()) on:click=move |_| redo(state)>{move || t("builder.redo")}</button>
            <button class="secondary" data-testid="model-reset" on:click=move |_| { field_errors.set(Vec::new()); apply_spec(state, Spec::default()) }>{move || t("builder.reset_model")}</button>
        </div>
        <Show when=move || !state.link_notices.get().is_empty()>
            <div class="notice" role="status" data-testid="link-notice">
                <strong>{move || t("builder.link_ignored")}</strong>
                <ul>{move || state.link_notices.get().into_iter().map(|n| view! { <li>{move || tr(&n)}</li> }).collect_view()}</ul>
                <button class="secondary" on:click=move |_| state.link_notices.set(Vec::new())>{move || t("common.dismiss")}</button>
            </div>
        </Show>
        <fieldset class="plain" prop:disabled=move || matches!(state.run.get(), RunState::Running | RunState::Pausing)>
        <div class="palette" data-testid="palette" aria-label=move || t("builder.palette")>{palette_view}</div>
        <p class="hint">{move || t("builder.hint")}</p>
        <ol class="layers" data-testid="layers">
            {move || {
                let spec = state.spec.get();
                let lv = live.get();
                spec.layers.iter().enumerate().map(|(i, layer)| {
                    let info = lv.infos.get(i).cloned();
                    let error = lv.error.as_ref().filter(|(j, _)| *j == i).map(|(_, m)| tr(m))
                        .or_else(|| field_errors.get().into_iter().find(|(j, _)| *j == i).map(|(_, m)| tr(&m)));
                    let invalid = error.is_some();
                    let fields = field_inputs(layer_json(layer), "field-",
                        Arc::new(move |key: String, value: Value| set_field(state, field_errors, i, &key, value)));
                    let name = layer.kind_name();
                    let (shape, detail, title) = match &info {
                        Some(inf) => (
                            format!("→ {}", inf.output),
                            tf("builder.detail", &[&fmt_count(inf.params as u64), &fmt_count(inf.flops)]),
                            tf("builder.formula", &[&tr(&inf.output_formula), &tr(&inf.params_formula), &inf.activation_bytes]),
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
                            focus_layer_soon(i - 1);
                        } else if ev.alt_key() && key == "ArrowDown" && i + 1 < count {
                            ev.prevent_default();
                            move_layer(state, i, i + 1);
                            selected.set(Some(i + 1));
                            focus_layer_soon(i + 1);
                        } else if key == "Delete" && ev.target() == ev.current_target() {
                            ev.prevent_default();
                            edit_layers(state, |l| { l.remove(i); });
                            selected.set(None);
                            focus_layer_soon(i.min(count.saturating_sub(2)));
                        } else if (key == "d" || key == "D") && ev.target() == ev.current_target() {
                            ev.prevent_default();
                            let copy = state.spec.get_untracked().layers[i].clone();
                            edit_layers(state, |l| l.insert(i + 1, copy));
                            focus_layer_soon(i);
                        }
                    };
                    view! {
                        <li class="layer" class:invalid=invalid class:selected=move || selected.get() == Some(i)
                            data-testid=format!("layer-{i}") tabindex="0" draggable="true"
                            aria-label=tf("builder.layer_label", &[&i, &name, &t(layer_key(name))])
                            on:click=move |_| selected.set(Some(i))
                            on:keydown=on_key
                            on:dragstart=move |_| dragging.set(Some(i))
                            on:dragover=move |ev| ev.prevent_default()
                            on:drop=move |ev| { ev.prevent_default(); if let Some(from) = dragging.get_untracked() { move_layer(state, from, i); selected.set(Some(i)); } dragging.set(None); }>
                            <div class="layer-head">
                                <span class="idx">{i}</span>
                                <strong data-testid="layer-name" title=t(layer_key(name))>{name}</strong>
                                <span class="shape" data-testid="layer-shape" title=title.clone() tabindex="0" aria-label=title>{shape}</span>
                                <span class="detail" data-testid="layer-detail">{detail}</span>
                                <span class="tools">
                                    <button class="icon" title=t("builder.move_up") aria-label=t("builder.move_up") data-testid="layer-up" prop:disabled=i == 0
                                        on:click=move |ev| { ev.stop_propagation(); move_layer(state, i, i - 1); }>"↑"</button>
                                    <button class="icon" title=t("builder.move_down") aria-label=t("builder.move_down") data-testid="layer-down" prop:disabled=i + 1 == count
                                        on:click=move |ev| { ev.stop_propagation(); move_layer(state, i, i + 1); }>"↓"</button>
                                    <button class="icon" title=t("builder.duplicate") aria-label=t("builder.duplicate") data-testid="layer-duplicate"
                                        on:click=move |ev| { ev.stop_propagation(); let d = dup.clone(); edit_layers(state, |l| l.insert(i + 1, d)); }>
                                        // Drawn, not a character: no common font has "⧉" (it showed as an empty box).
                                        <svg class="glyph" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                                            <rect x="1.5" y="4.5" width="9" height="10" rx="1" fill="none" stroke="currentColor" stroke-width="1.5"/>
                                            <rect x="5.5" y="1.5" width="9" height="10" rx="1" fill="none" stroke="currentColor" stroke-width="1.5"/>
                                        </svg>
                                    </button>
                                    <button class="icon" title=t("builder.remove") aria-label=t("builder.remove") data-testid="layer-remove"
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
                None => tf("builder.totals", &[&lv.params, &fmt_count(lv.flops), &format!("{:.1}", lv.activation_bytes as f64 / 1024.0)]),
                Some((i, _)) => tf("builder.needs_fixing", &[i]),
            }
        }}</p>
        <div class="row share">
            <button class="secondary" data-testid="copy-link" on:click=copy_link>{move || t("builder.copy_link")}</button>
            <input type="text" readonly class="share-url" data-testid="share-url" aria-label=move || t("builder.link_label") prop:value=share_url />
            <Show when=move || copied.get()><span class="hint">{move || t("builder.copied")}</span></Show>
        </div>
        <div class="row share">
            <button class="secondary" data-testid="copy-link-weights" prop:disabled=move || state.model.get().is_none()
                    title=move || t("builder.copy_weights_title")
                    on:click=move |_| send(Request::WeightsLink)>{move || t("builder.copy_weights")}</button>
            {move || match state.weights_link.get() {
                Some(Ok(link)) => view! {
                    <input type="text" readonly class="share-url" data-testid="share-url-weights" aria-label=t("builder.weights_link_label") prop:value=link.clone() />
                    <span class="hint" data-testid="weights-link-size">{tf("builder.characters", &[&link.len()])}</span>
                }.into_any(),
                Some(Err(why)) => view! { <p class="hint" role="status" data-testid="weights-link-error">{tf("builder.cannot_link", &[&tr(&why)])}</p> }.into_any(),
                None => ().into_any(),
            }}
        </div>
    }
}
