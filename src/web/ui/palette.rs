//! The layer palette: one chip per layer kind, grouped. Click (or Enter) adds the layer after
//! the selected block; dragging a chip into the diagram puts it in the gap it is dropped on.

use super::builder::layer_key;
use super::dnd;
use super::lang::{t, tf};
use super::state::{AppState, DragItem, RunState};
use crate::engine::spec::{palette, LayerSpec};
use leptos::prelude::*;

/// The table key of a palette group.
fn group_key(group: &str) -> &'static str {
    crate::i18n::key_for("group.", group)
}

/// The `type` tag of a layer in the spec (`conv2d`, `max_pool2d`…).
fn type_tag(layer: &LayerSpec) -> String {
    super::fields::to_map(layer).get("type").and_then(|v| v.as_str()).unwrap_or_default().to_string()
}

/// The palette, as groups of chips.
#[component]
pub fn Palette(state: AppState) -> impl IntoView {
    let add = move |layer: LayerSpec| dnd::add_after_selected(state, layer);
    let mut groups: Vec<(&'static str, Vec<LayerSpec>)> = Vec::new();
    for (group, layer) in palette() {
        match groups.last_mut() {
            Some((name, layers)) if *name == group.name() => layers.push(layer),
            _ => groups.push((group.name(), vec![layer])),
        }
    }
    let chips = groups
        .into_iter()
        .map(|(group, layers)| {
            let chips = layers
                .into_iter()
                .map(|layer| {
                    let name = layer.kind_name();
                    let title = move || tf("builder.add_title", &[&name, &t(layer_key(name)), &t(group_key(group))]);
                    let pressed = layer.clone();
                    view! {
                        <button class="chip" data-testid=format!("add-{}", type_tag(&layer)) title=title
                                on:pointerdown=move |ev| dnd::press(DragItem::New(pressed.clone()), &ev)
                                on:click=move |ev| if !dnd::take_dropped(&ev) { add(layer.clone()) }>
                            {name}
                        </button>
                    }
                })
                .collect_view();
            view! {
                <div class="palette-group" role="group" aria-label=move || t(group_key(group))>
                    <p class="palette-head">{move || t(group_key(group))}</p>
                    <div class="chips">{chips}</div>
                </div>
            }
        })
        .collect_view();
    view! {
        <fieldset class="plain palette" data-testid="palette" aria-label=move || t("builder.palette")
                  prop:disabled=move || matches!(state.run.get(), RunState::Running | RunState::Pausing)>
            <legend class="sr-only">{move || t("builder.palette")}</legend>
            {chips}
        </fieldset>
        <p class="hint">{move || t("palette.hint")}</p>
    }
}
