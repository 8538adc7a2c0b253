//! The layer list: every layer as a row of fields with its live shape / parameters / FLOPs and
//! the formula behind them, reordering by drag-and-drop and by keyboard, and the shareable
//! links. (The same model as the diagram, as a table one can read and edit field by field.)

use super::dom::focus_soon;
use super::edit::{duplicate_layer, move_layer, remove_layer, set_field, Live};
use super::fields::{field_inputs, to_map};
use super::lang::{t, tf, tr};
use super::state::{AppState, RunState};
use super::client::send;
use crate::engine::spec::LayerSpec;
use crate::protocol::Request;
use leptos::prelude::*;
use serde_json::Value;
use std::sync::Arc;

/// The layer's JSON object (shortest decimals for f32 fields).
fn layer_json(layer: &LayerSpec) -> serde_json::Map<String, Value> {
    to_map(layer)
}

/// The table key of a layer's name in words.
pub fn layer_key(name: &str) -> &'static str {
    crate::i18n::key_for("layer.", name)
}

/// A count in a few characters: 980, 12.3k, 10.2M.
pub fn fmt_count(n: u64) -> String {
    match n {
        n if n >= 10_000_000 => format!("{:.1}M", n as f64 / 1e6),
        n if n >= 10_000 => format!("{:.1}k", n as f64 / 1e3),
        n => n.to_string(),
    }
}

/// The layer list, totals and share links.
#[component]
pub fn Builder(state: AppState) -> impl IntoView {
    let selected = state.selected;
    let field_errors = state.field_errors;
    let dragging = RwSignal::new(None::<usize>);
    let live = Memo::new(move |_| Live::of(&state.spec.get()));
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
    view! {
        <Show when=move || !state.link_notices.get().is_empty()>
            <div class="notice" role="status" data-testid="link-notice">
                <strong>{move || t("builder.link_ignored")}</strong>
                <ul>{move || state.link_notices.get().into_iter().map(|n| view! { <li>{move || tr(&n)}</li> }).collect_view()}</ul>
                <button class="secondary" on:click=move |_| state.link_notices.set(Vec::new())>{move || t("common.dismiss")}</button>
            </div>
        </Show>
        <fieldset class="plain" prop:disabled=move || matches!(state.run.get(), RunState::Running | RunState::Pausing)>
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
                        Arc::new(move |key: String, value: Value| set_field(state, i, &key, value)));
                    let name = layer.kind_name();
                    let (shape, detail, title) = match &info {
                        Some(inf) => (
                            format!("→ {}", inf.output),
                            tf("builder.detail", &[&fmt_count(inf.params as u64), &fmt_count(inf.flops)]),
                            tf("builder.formula", &[&tr(&inf.output_formula), &tr(&inf.params_formula), &inf.activation_bytes]),
                        ),
                        None => ("→ ?".into(), String::new(), String::new()),
                    };
                    let count = spec.layers.len();
                    let on_key = move |ev: web_sys::KeyboardEvent| {
                        let key = ev.key();
                        if ev.alt_key() && key == "ArrowUp" && i > 0 {
                            ev.prevent_default();
                            move_layer(state, i, i - 1);
                            focus_soon(format!("[data-testid=layer-{}]", i - 1));
                        } else if ev.alt_key() && key == "ArrowDown" && i + 1 < count {
                            ev.prevent_default();
                            move_layer(state, i, i + 1);
                            focus_soon(format!("[data-testid=layer-{}]", i + 1));
                        } else if key == "Delete" && ev.target() == ev.current_target() {
                            ev.prevent_default();
                            remove_layer(state, i);
                            focus_soon(format!("[data-testid=layer-{}]", i.min(count.saturating_sub(2))));
                        } else if (key == "d" || key == "D") && ev.target() == ev.current_target() {
                            ev.prevent_default();
                            duplicate_layer(state, i);
                            focus_soon(format!("[data-testid=layer-{i}]"));
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
                            on:drop=move |ev| { ev.prevent_default(); if let Some(from) = dragging.get_untracked() { move_layer(state, from, i); } dragging.set(None); }>
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
                                        on:click=move |ev| { ev.stop_propagation(); duplicate_layer(state, i); }>
                                        // Drawn, not a character: no common font has "⧉" (it showed as an empty box).
                                        <svg class="glyph" viewBox="0 0 16 16" width="14" height="14" aria-hidden="true">
                                            <rect x="1.5" y="4.5" width="9" height="10" rx="1" fill="none" stroke="currentColor" stroke-width="1.5"/>
                                            <rect x="5.5" y="1.5" width="9" height="10" rx="1" fill="none" stroke="currentColor" stroke-width="1.5"/>
                                        </svg>
                                    </button>
                                    <button class="icon" title=t("builder.remove") aria-label=t("builder.remove") data-testid="layer-remove"
                                        on:click=move |ev| { ev.stop_propagation(); remove_layer(state, i); }>"✕"</button>
                                </span>
                            </div>
                            <div class="fields">{fields}</div>
                            // A block's body is edited in the layer panel; here it is summed up.
                            {match layer {
                                LayerSpec::Residual { layers, .. } => Some(view! {
                                    <p class="hint" data-testid="layer-body">{layers.iter().map(LayerSpec::kind_name).collect::<Vec<_>>().join(" → ")}</p>
                                }),
                                _ => None,
                            }}
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
