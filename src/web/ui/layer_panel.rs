//! The side panel of the selected block: what the layer is, its output / parameters / FLOPs
//! with the formulas behind them, its fields with inline validation, and the block's tools.

use super::body_editor::body_editor;
use super::builder::{fmt_count, layer_key};
use crate::engine::spec::LayerSpec;
use super::dom::refocus_if_lost;
use super::edit::{duplicate_layer, move_layer, remove_layer, set_field, Live};
use super::fields::{field_inputs, to_map};
use super::inside::{filters_block, maps_block};
use super::lang::{t, tr};
use super::state::{AppState, RunState};
use leptos::prelude::*;
use std::sync::Arc;

/// The editor of the selected layer (a hint when none is selected).
#[component]
pub fn LayerPanel(state: AppState) -> impl IntoView {
    let live = Memo::new(move |_| Live::of(&state.spec.get()));
    let locked = move || matches!(state.run.get(), RunState::Running | RunState::Pausing);
    let body = move || {
        let spec = state.spec.get();
        let Some((i, layer)) = state.selected.get().and_then(|i| spec.layers.get(i).map(|l| (i, l.clone()))) else {
            return view! { <p class="hint" data-testid="layer-panel-empty">{move || t("panel.empty")}</p> }.into_any();
        };
        let count = spec.layers.len();
        let lv = live.get();
        let info = lv.infos.get(i).cloned();
        // The block's input: the previous layer's output (known up to the first invalid layer).
        let info_input = if i == 0 { Some(spec.input_shape()) } else { lv.infos.get(i - 1).map(|p| p.output) };
        let error = lv.error.as_ref().filter(|(j, _)| *j == i).map(|(_, m)| tr(m))
            .or_else(|| state.field_errors.with(|e| e.iter().find(|(j, _)| *j == i).map(|(_, m)| tr(m))));
        let name = layer.kind_name();
        let fields = field_inputs(to_map(&layer), "edit-", Arc::new(move |key: String, value| set_field(state, i, &key, value)));
        view! {
            <h3 class="panel-title"><span class="idx">{i}</span>" "<strong>{name}</strong>" "<span class="hint">{t(layer_key(name))}</span></h3>
            {info.map(|inf| view! {
                <dl class="facts" data-testid="panel-facts">
                    <dt>{t("panel.output")}</dt><dd data-testid="panel-output">{inf.output.to_string()}</dd>
                    <dt>{t("panel.how")}</dt><dd class="formula">{tr(&inf.output_formula)}</dd>
                    <dt>{t("panel.params")}</dt><dd data-testid="panel-params">{inf.params}</dd>
                    <dt>{t("panel.how")}</dt><dd class="formula">{tr(&inf.params_formula)}</dd>
                    <dt>{t("panel.flops")}</dt><dd>{fmt_count(inf.flops)}</dd>
                </dl>
            })}
            <fieldset class="plain" prop:disabled=locked>
                <div class="fields panel-fields">{fields}</div>
                {match &layer {
                    LayerSpec::Residual { layers, .. } => Some(body_editor(state, i, layers.clone(), info_input)),
                    _ => None,
                }}
                {error.map(|m| view! { <p class="layer-error" role="alert" data-testid="panel-error">{m}</p> })}
                <div class="row buttons panel-tools">
                    <button class="secondary small" data-testid="panel-left" prop:disabled=i == 0 on:click=move |_| move_layer(state, i, i - 1)>{t("panel.earlier")}</button>
                    <button class="secondary small" data-testid="panel-right" prop:disabled=i + 1 == count on:click=move |_| move_layer(state, i, i + 1)>{t("panel.later")}</button>
                    <button class="secondary small" data-testid="panel-duplicate" on:click=move |_| duplicate_layer(state, i)>{t("builder.duplicate")}</button>
                    <button class="secondary small" data-testid="panel-remove" on:click=move |_| remove_layer(state, i)>{t("builder.remove")}</button>
                </div>
            </fieldset>
        }
        .into_any()
    };
    // An edit redraws the fields; the one that had the keyboard focus gets it back (or the one
    // Tab moved to while the edit was applied), so a keyboard user can type field after field.
    let focused = StoredValue::new(None::<String>);
    // The selected layer's feature maps for the drawing (or probe), and its filters when it is
    // a convolution.
    let maps = NodeRef::<leptos::html::Div>::new();
    Effect::new(move |_| {
        let inspection = state.inspection.get();
        let selected = state.selected.get();
        let spec = state.spec.get();
        let Some(root) = maps.get() else { return };
        root.set_inner_html("");
        let (Some(inspection), Some(i), Some(doc)) = (inspection, selected, web_sys::window().and_then(|w| w.document())) else { return };
        let Some(name) = spec.layers.get(i).map(|l| l.kind_name()) else { return };
        if let Some(f) = inspection.filters.iter().find(|f| f.layer == i) {
            if let Some(block) = filters_block(&doc, f, name, "panel-filters") {
                let _ = root.append_child(&block);
            }
        }
        if let Some(block) = maps_block(&doc, &inspection, i, name, "panel-maps", "panel-maps-head") {
            let _ = root.append_child(&block);
        }
    });
    Effect::new(move |_| {
        state.spec.track();
        if let Some(testid) = focused.get_value() {
            refocus_if_lost(format!("[data-testid=layer-panel] [data-testid={testid}]"));
        }
    });
    view! {
        <section class="layer-panel" data-testid="layer-panel" aria-label=move || t("panel.label")
                 on:focusin=move |ev| {
                     use wasm_bindgen::JsCast;
                     let id = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()).and_then(|e| e.get_attribute("data-testid"));
                     focused.set_value(id);
                 }>
            {body}
            <div class="panel-maps" node_ref=maps></div>
        </section>
    }
}
