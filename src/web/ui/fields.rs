//! Inputs for the fields of a JSON object (a layer, an optimizer, a schedule): checkboxes for
//! booleans, selects for fields with a few named values, number inputs with their range for
//! plain numbers, text inputs in the link syntax (`5`, `3x5`, `same`) for fields that also take
//! pairs, lists or words. Used by the layer builder and the training settings.

use leptos::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;

/// Fields that take one of a few words (the names come from the spec's enums).
pub fn choices(field: &str) -> Option<&'static [&'static str]> {
    use crate::engine::spec::{GeluApproximate, PaddingMode, PoolKind, Shortcut};
    use strum::VariantNames;
    match field {
        "padding_mode" => Some(PaddingMode::VARIANTS),
        "pool" => Some(PoolKind::VARIANTS),
        "approximate" => Some(GeluApproximate::VARIANTS),
        "shortcut" => Some(Shortcut::VARIANTS),
        _ => None,
    }
}

/// (min, max, step) of a field that holds one number. The engine checks the exact rule (e.g.
/// dropout `p` < 1) and names the field when it is broken; this range guides the input.
pub fn range(field: &str) -> Option<(f64, f64, &'static str)> {
    Some(match field {
        "out_channels" | "out_features" => (1.0, 4096.0, "1"),
        "groups" | "num_groups" | "num_parameters" => (1.0, 4096.0, "1"),
        "init" => (-10.0, 10.0, "any"),
        "size" => (1.0, 64.0, "1"),
        "step_size" | "t_max" => (1.0, 100_000.0, "1"),
        "patience" => (0.0, 1000.0, "1"),
        "p" => (0.0, 1.0, "0.05"),
        "momentum" | "dampening" | "negative_slope" | "gamma" | "factor" => (0.0, 1.0, "0.01"),
        "eps" | "weight_decay" | "lr_decay" | "threshold" => (0.0, 1.0, "any"),
        "alpha" | "beta" | "k" | "initial_accumulator_value" => (0.0, 100.0, "any"),
        "lr" | "eta_min" | "min_lr" => (0.0, 10.0, "any"),
        _ => return None,
    })
}

/// A field value as an input shows it.
pub fn show(v: &Value) -> String {
    match v {
        Value::Array(items) => items.iter().map(show).collect::<Vec<_>>().join("x"),
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Parses what the user typed (empty = "default", i.e. null).
pub fn read(text: &str) -> Value {
    let t = text.trim();
    if t.is_empty() {
        return Value::Null;
    }
    if let Ok(n) = t.parse::<u64>() {
        return Value::from(n);
    }
    if let Ok(f) = t.parse::<f64>() {
        if let Some(n) = serde_json::Number::from_f64(f) {
            return Value::Number(n);
        }
    }
    let parts: Vec<&str> = t.split(['x', ',', ' ']).filter(|p| !p.is_empty()).collect();
    if parts.len() > 1 && parts.iter().all(|p| p.parse::<f64>().is_ok()) {
        return Value::Array(parts.iter().map(|p| read(p)).collect());
    }
    Value::String(t.to_string())
}

/// JSON of a value through its text form (shortest decimals for f32 fields).
pub fn to_map<T: serde::Serialize>(x: &T) -> Map<String, Value> {
    match serde_json::to_string(x).ok().and_then(|t| serde_json::from_str(&t).ok()) {
        Some(Value::Object(m)) => m,
        _ => Map::new(),
    }
}

/// One labelled input per field of `map` (except `type`); `on_set(field, value)` on change.
/// A residual block's body (a list of layers) is edited by `body_editor`, not typed.
pub fn field_inputs(map: Map<String, Value>, prefix: impl Into<String>, on_set: Arc<dyn Fn(String, Value) + Send + Sync>) -> impl IntoView {
    let prefix = prefix.into();
    map.into_iter()
        .filter(|(k, v)| k != "type" && !(k == "layers" && v.is_array()))
        .map(|(key, value)| {
            let testid = format!("{prefix}{key}");
            let set = on_set.clone();
            let k = key.clone();
            let input = if let Value::Bool(b) = value {
                view! { <input type="checkbox" data-testid=testid prop:checked=b
                    on:change=move |ev| set(k.clone(), Value::Bool(event_target_checked(&ev))) /> }
                .into_any()
            } else if let Some(options) = choices(&key) {
                let current = show(&value);
                view! { <select data-testid=testid on:change=move |ev| set(k.clone(), Value::String(event_target_value(&ev)))>
                    {options.iter().map(|o| view! { <option value=*o selected=current == *o>{*o}</option> }).collect_view()}
                </select> }
                .into_any()
            } else if let (Some((min, max, step)), Value::Number(_)) = (range(&key), &value) {
                view! { <input type="number" min=min max=max step=step data-testid=testid prop:value=show(&value)
                    on:change=move |ev| set(k.clone(), read(&event_target_value(&ev))) /> }
                .into_any()
            } else {
                // Pairs (`3x5`), lists (`1,2,4`) and words (`same`) are typed in the link syntax.
                view! { <input type="text" inputmode="decimal" size="6" placeholder=move || super::lang::t("fields.default") data-testid=testid prop:value=show(&value)
                    title=move || super::lang::t("fields.pair_title")
                    on:change=move |ev| set(k.clone(), read(&event_target_value(&ev))) /> }
                .into_any()
            };
            // The field keeps its PyTorch name; the tooltip says what it does.
            let name = key.clone();
            let help = move || super::lang::t(crate::i18n::key_for("field.", &name));
            view! { <label class="field" title=help>{key}" "{input}</label> }
        })
        .collect_view()
}
