//! Editing the spec: live shape inference, undo/redo history, the URL fragment, and rebuilding
//! the engine's model when (and only when) the spec is valid.

use super::client::send;
use super::state::{AppState, RunState};
use crate::engine::spec::{infer_spec_layer, url, LayerInfo, LayerSpec, Spec};
use crate::i18n::Message;
use crate::protocol::Request;
use leptos::prelude::*;

/// Shape inference of the spec being edited, carried on past nothing: layers after the first
/// invalid one have no info.
#[derive(Clone, Debug, PartialEq)]
pub struct Live {
    /// Infos of the layers up to the first invalid one.
    pub infos: Vec<LayerInfo>,
    /// The first problem: (layer index, message); a spec-level problem uses the last index.
    pub error: Option<(usize, Message)>,
    /// Totals over `infos`.
    pub params: usize,
    /// Forward FLOPs per image.
    pub flops: u64,
    /// Activation bytes per image.
    pub activation_bytes: usize,
}

impl Live {
    /// Runs the shape rules layer by layer, then the whole-spec checks.
    pub fn of(spec: &Spec) -> Self {
        let mut infos = Vec::new();
        let mut shape = spec.input_shape();
        let mut error = None;
        for (i, layer) in spec.layers.iter().enumerate() {
            match infer_spec_layer(i, layer, shape) {
                Ok((info, _)) => {
                    shape = info.output;
                    infos.push(info);
                }
                Err(e) => {
                    error = Some((i, crate::msg!("msg.field_error", e.field, e.message)));
                    break;
                }
            }
        }
        if error.is_none() {
            if let Err(e) = spec.infer() {
                let at = e.layer.unwrap_or(spec.layers.len().saturating_sub(1));
                error = Some((at, e.message()));
            }
        }
        let params = infos.iter().map(|i| i.params).sum();
        let flops = infos.iter().map(|i| i.flops).sum();
        let activation_bytes = infos.iter().map(|i| i.activation_bytes).sum();
        Self { infos, error, params, flops, activation_bytes }
    }
}

/// The page's address with `spec` as its fragment.
pub fn share_url(spec: &Spec) -> String {
    let base = web_sys::window().and_then(|w| w.location().href().ok()).unwrap_or_default();
    let base = base.split('#').next().unwrap_or_default().to_string();
    format!("{base}#{}", url::encode(spec))
}

/// Writes the spec into the address bar's fragment without adding a history entry.
fn write_fragment(spec: &Spec) {
    let Some(window) = web_sys::window() else { return };
    let fragment = format!("#{}", url::encode(spec));
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&fragment));
    }
}

/// Makes `spec` current: fragment, fresh model in the engine when valid (training stops and
/// its figures clear), none when not.
fn make_current(state: AppState, spec: Spec) {
    write_fragment(&spec);
    let dataset_changed = state.spec.get_untracked().dataset != spec.dataset;
    clear_run(state);
    let valid = spec.infer().is_ok();
    state.spec.set(spec.clone());
    super::persist::save(state);
    if dataset_changed {
        state.data_ready.set(None);
        state.data_error.set(None);
        state.data_missing.set(None);
        state.data_progress.set((0, 0));
        send(state.load_data_request(&super::client::data_url()));
    }
    if valid {
        send(Request::Build { spec });
    } else {
        state.model.set(None);
    }
}

/// Ends the shown run: archives it in the run history and clears its figures, curves and
/// notices (the one place for Reset, a model change and a loaded spec).
pub fn clear_run(state: AppState) {
    super::pace::show(state); // the archived run keeps its last points
    super::runs::archive(state);
    state.restored.set(None);
    state.progress.set(None);
    state.evals.set(Vec::new());
    state.epoch_times.set(Vec::new());
    state.validations.set(Vec::new());
    state.curve.set(Vec::new());
    state.run.set(RunState::Idle);
}

/// Rebuilds the model from the current spec (fresh weights) and clears the figures (Reset, and a
/// queued variant whose spec is already current).
pub fn rebuild(state: AppState) {
    clear_run(state);
    let spec = state.spec.get_untracked();
    if spec.infer().is_ok() {
        send(Request::Build { spec });
    } else {
        state.model.set(None);
    }
}

/// True while training runs: the model cannot change under it.
pub fn locked(state: AppState) -> bool {
    matches!(state.run.get_untracked(), RunState::Running | RunState::Pausing)
}

/// Applies an edit: remembers the previous spec for undo and clears redo.
pub fn apply_spec(state: AppState, spec: Spec) {
    let previous = state.spec.get_untracked();
    if previous == spec {
        return;
    }
    if locked(state) {
        state.error.set(Some(crate::msg!("msg.pause_before_change")));
        return;
    }
    state.history.update(|(past, future)| {
        past.push(previous);
        if past.len() > 100 {
            past.remove(0);
        }
        future.clear();
    });
    make_current(state, spec);
}

/// Steps back one edit.
pub fn undo(state: AppState) {
    if locked(state) {
        return;
    }
    let Some(prev) = state.history.try_update(|(past, _)| past.pop()).flatten() else { return };
    let current = state.spec.get_untracked();
    state.history.update(|(_, future)| future.push(current));
    make_current(state, prev);
}

/// Re-applies an undone edit.
pub fn redo(state: AppState) {
    if locked(state) {
        return;
    }
    let Some(next) = state.history.try_update(|(_, future)| future.pop()).flatten() else { return };
    let current = state.spec.get_untracked();
    state.history.update(|(past, _)| past.push(current));
    make_current(state, next);
}

/// The spec a page load starts from: the fragment's if there is one (with notices for what was
/// ignored, and the weights it carries), else the one saved in this browser, else the default.
pub fn initial_spec(saved: Option<Spec>) -> url::Decoded {
    let hash = web_sys::window().and_then(|w| w.location().hash().ok()).unwrap_or_default();
    if hash.len() <= 1 {
        let spec = saved.unwrap_or_default();
        write_fragment(&spec);
        return url::Decoded { spec, notices: Vec::new(), weights: None };
    }
    let decoded = url::decode(&hash);
    // The weights are taken once; the address bar keeps the (short) spec link.
    write_fragment(&decoded.spec);
    decoded
}

/// `layer` with field `key` set to `value` (removed, i.e. back to its default, when null).
fn with_field(layer: &LayerSpec, key: &str, value: serde_json::Value) -> Result<LayerSpec, serde_json::Error> {
    let mut m = super::fields::to_map(layer);
    if value.is_null() {
        m.remove(key);
    } else {
        m.insert(key.to_string(), value);
    }
    serde_json::from_value::<LayerSpec>(serde_json::Value::Object(m))
}

/// Records (in place of any earlier one) that `field` of layer `i` could not take its value.
fn field_error(state: AppState, i: usize, field: &str, e: serde_json::Error) {
    state.field_errors.update(|errs| {
        errs.retain(|(j, _)| *j != i);
        errs.push((i, crate::msg!("msg.field_error", field, e.to_string())));
    });
}

/// Sets field `key` of layer `i` to `value`; a value of the wrong type is reported on the
/// layer (in `state.field_errors`) and the spec is left as it was.
pub fn set_field(state: AppState, i: usize, key: &str, value: serde_json::Value) {
    let spec = state.spec.get_untracked();
    let Some(layer) = spec.layers.get(i) else { return };
    match with_field(layer, key, value) {
        Ok(new_layer) => {
            state.field_errors.update(|e| e.retain(|(j, _)| *j != i));
            let mut next = spec;
            next.layers[i] = new_layer;
            apply_spec(state, next);
        }
        Err(e) => field_error(state, i, key, e),
    }
}

/// Sets field `key` of layer `m` in the body of residual block `i` (as [`set_field`]).
pub fn set_body_field(state: AppState, i: usize, m: usize, key: &str, value: serde_json::Value) {
    let spec = state.spec.get_untracked();
    let Some(LayerSpec::Residual { layers, .. }) = spec.layers.get(i) else { return };
    let Some(inner) = layers.get(m) else { return };
    match with_field(inner, key, value) {
        Ok(new_layer) => edit_body(state, i, |body| body[m] = new_layer),
        Err(e) => field_error(state, i, &format!("layers[{m}].{key}"), e),
    }
}

/// Applies `f` to a copy of the body of residual block `i` and makes the result current.
pub fn edit_body(state: AppState, i: usize, f: impl FnOnce(&mut Vec<LayerSpec>)) {
    edit_layers(state, |layers| {
        if let Some(LayerSpec::Residual { layers: body, .. }) = layers.get_mut(i) {
            f(body);
        }
    });
}

/// Applies `f` to a copy of the layer list and makes the result current (one undo step).
pub fn edit_layers(state: AppState, f: impl FnOnce(&mut Vec<crate::engine::spec::LayerSpec>)) {
    let mut next = state.spec.get_untracked();
    f(&mut next.layers);
    // Field errors are per index: after a structural edit they no longer point at their layer.
    state.field_errors.set(Vec::new());
    apply_spec(state, next);
}

/// Moves layer `from` to position `to` (indices of the list as it is now); selects it there.
pub fn move_layer(state: AppState, from: usize, to: usize) {
    let count = state.spec.with_untracked(|s| s.layers.len());
    if from >= count || to >= count || from == to || locked(state) {
        return;
    }
    edit_layers(state, |layers| {
        let l = layers.remove(from);
        layers.insert(to, l);
    });
    state.selected.set(Some(to));
}

/// Inserts `layer` at `at` (clamped to the end) and selects it.
pub fn insert_layer(state: AppState, at: usize, layer: crate::engine::spec::LayerSpec) {
    if locked(state) {
        state.error.set(Some(crate::msg!("msg.pause_before_change")));
        return;
    }
    let at = at.min(state.spec.with_untracked(|s| s.layers.len()));
    edit_layers(state, |layers| layers.insert(at, layer));
    state.selected.set(Some(at));
}

/// Removes layer `i`; the selection moves to the layer that takes its place (or the new last).
pub fn remove_layer(state: AppState, i: usize) {
    let count = state.spec.with_untracked(|s| s.layers.len());
    if i >= count || locked(state) {
        return;
    }
    edit_layers(state, |layers| {
        layers.remove(i);
    });
    state.selected.set(if count > 1 { Some(i.min(count - 2)) } else { None });
}

/// Inserts a copy of layer `i` after it and selects the copy.
pub fn duplicate_layer(state: AppState, i: usize) {
    let Some(copy) = state.spec.with_untracked(|s| s.layers.get(i).cloned()) else { return };
    insert_layer(state, i + 1, copy);
}

/// Where a dragged item lands when dropped in gap `gap` (before layer `gap`): a new layer is
/// inserted there; a moved block goes there, counted after it has been taken out.
pub fn drop_at(state: AppState, item: super::state::DragItem, gap: usize) {
    match item {
        super::state::DragItem::New(layer) => insert_layer(state, gap, layer),
        super::state::DragItem::Move(from) => {
            let to = if gap > from { gap - 1 } else { gap };
            move_layer(state, from, to);
        }
    }
}
