//! Training settings: dataset, batch size, epochs, seed, optimizer and its parameters, schedule
//! with warm-up, loss, regularisation, validation split and early stopping — every change goes
//! through the spec (undo, link), and the learning rate can also change while training runs.

use super::client::send;
use super::edit::apply_spec;
use super::fields::{field_inputs, read, to_map};
use super::lang::t;
use super::state::{AppState, RunState};
use crate::engine::spec::{OptimizerSpec, Schedule, Spec, TrainingSpec};
use crate::protocol::Request;
use leptos::prelude::*;
use serde_json::{Map, Value};
use std::sync::Arc;


/// Sets `training.<path…>` in the spec's JSON; a value that does not fit is reported.
fn set_training(state: AppState, edit: impl FnOnce(&mut Map<String, Value>)) {
    let spec = state.spec.get_untracked();
    let mut training = to_map(&spec.training);
    edit(&mut training);
    let refused = match serde_json::from_value::<TrainingSpec>(Value::Object(training)) {
        Ok(t) => match t.check() {
            Ok(()) => return apply_spec(state, Spec { training: t, ..spec }),
            Err(e) => e.message(),
        },
        Err(e) => crate::msg!("msg.training_settings", e.to_string()),
    };
    state.error.set(Some(refused));
    // The inputs show the spec again, not the refused text.
    state.spec.update(|_| ());
}

/// A new object of `kind` keeping the fields of `old` that it also has.
fn switch_kind(old: &Value, kind: &str, fresh: &str) -> Value {
    let mut m: Map<String, Value> = serde_json::from_str(fresh).unwrap_or_default();
    m.insert("type".into(), Value::String(kind.into()));
    if let Value::Object(o) = old {
        if let Some(lr) = o.get("lr") {
            m.insert("lr".into(), lr.clone());
        }
    }
    Value::Object(m)
}

/// The settings card body.
#[component]
pub fn Settings(state: AppState) -> impl IntoView {
    let locked = move || matches!(state.run.get(), RunState::Running | RunState::Pausing);
    let training = move || state.spec.get().training;
    let number = move |key: &'static str| {
        move |ev| {
            let v = read(&event_target_value(&ev));
            set_training(state, |t| {
                t.insert(key.into(), v);
            })
        }
    };
    let optimizer_fields = move || {
        let map = to_map(&state.spec.get().training.optimizer);
        field_inputs(map, "opt-", Arc::new(move |k: String, v: Value| set_training(state, |t| {
            if let Some(Value::Object(o)) = t.get_mut("optimizer") {
                o.insert(k, v);
            }
        })))
    };
    let schedule_fields = move || {
        let map = to_map(&state.spec.get().training.schedule.kind);
        field_inputs(map, "sched-", Arc::new(move |k: String, v: Value| set_training(state, |t| {
            if let Some(Value::Object(kind)) = t.get_mut("schedule").and_then(|s| s.get_mut("kind")) {
                kind.insert(k, v);
            }
        })))
    };
    let live_lr = RwSignal::new(String::new());
    let send_lr = move |_| {
        if let Ok(lr) = live_lr.get_untracked().trim().parse::<f32>() {
            if lr.is_finite() && lr > 0.0 && lr <= 10.0 {
                send(Request::SetLr { lr });
                if !locked() {
                    let mut spec = state.spec.get_untracked();
                    spec.training.optimizer.set_lr(lr);
                    apply_spec(state, spec);
                }
                return;
            }
        }
        state.error.set(Some(crate::msg!("msg.lr_range")));
    };
    view! {
        <fieldset class="plain" prop:disabled=locked>
            <div class="settings">
                <label>{move || t("set.epochs")}" "<input type="number" min="1" max="1000" data-testid="epochs" prop:value=move || training().epochs on:change=number("epochs") /></label>
                <label>{move || t("set.batch_size")}" "<input type="number" min="1" max="4096" data-testid="batch-size" prop:value=move || training().batch_size on:change=number("batch_size") /></label>
                <label>{move || t("set.seed")}" "<input type="number" min="0" data-testid="seed" prop:value=move || state.spec.get().seed on:change=move |ev| {
                    if let Ok(seed) = event_target_value(&ev).trim().parse::<u64>() {
                        apply_spec(state, Spec { seed, ..state.spec.get_untracked() });
                    }
                } /></label>
                <label>{move || t("set.validation_split")}" "<input type="number" min="0" max="0.5" step="0.05" data-testid="validation-split" prop:value=move || training().validation_split.to_string() on:change=number("validation_split") /></label>
                <label>{move || t("set.loss")}" "
                    <select data-testid="loss" on:change=move |ev| { let v = Value::String(event_target_value(&ev)); set_training(state, |t| { t.insert("loss".into(), v); }) }>
                        <option value="cross_entropy" prop:selected=move || training().loss == crate::engine::spec::LossKind::CrossEntropy>{move || t("set.cross_entropy")}</option>
                        <option value="mse" prop:selected=move || training().loss == crate::engine::spec::LossKind::Mse>{move || t("set.mse")}</option>
                    </select>
                </label>
                <label>{move || t("set.label_smoothing")}" "<input type="number" min="0" max="1" step="0.05" data-testid="label-smoothing" prop:value=move || training().label_smoothing.to_string() on:change=number("label_smoothing") /></label>
                <label>{move || t("set.l1")}" "<input type="number" min="0" max="1" step="any" data-testid="l1" prop:value=move || training().l1.to_string() on:change=number("l1") /></label>
                <label>{move || t("set.l2")}" "<input type="number" min="0" max="1" step="any" data-testid="l2" prop:value=move || training().l2.to_string() on:change=number("l2") /></label>
                <label>{move || t("set.early_stopping")}" "
                    <input type="checkbox" data-testid="early-stopping" prop:checked=move || training().early_stopping.is_some() on:change=move |ev| {
                        let on = event_target_checked(&ev);
                        set_training(state, |t| { t.insert("early_stopping".into(), if on { serde_json::json!({"patience": 3}) } else { Value::Null }); })
                    } />
                </label>
                <Show when=move || training().early_stopping.is_some()>
                    <label>{move || t("set.patience")}" "<input type="number" min="1" data-testid="patience" prop:value=move || training().early_stopping.map_or(3, |e| e.patience)
                        on:change=move |ev| { let v = read(&event_target_value(&ev)); set_training(state, |t| {
                            if let Some(Value::Object(e)) = t.get_mut("early_stopping") { e.insert("patience".into(), v); }
                        }) } /></label>
                </Show>
            </div>
            <div class="settings">
                <label>{move || t("set.optimizer")}" "
                    <select data-testid="optimizer" on:change=move |ev| {
                        let kind = event_target_value(&ev);
                        set_training(state, |t| {
                            let old = t.get("optimizer").cloned().unwrap_or(Value::Null);
                            t.insert("optimizer".into(), switch_kind(&old, &kind, "{}"));
                        })
                    }>
                        {OptimizerSpec::kind_names().into_iter().map(|o| { let (name, label) = (o.clone(), o.clone()); view! { <option value=o prop:selected=move || to_map(&state.spec.get().training.optimizer).get("type").and_then(Value::as_str) == Some(name.as_str())>{label}</option> } }).collect_view()}
                    </select>
                </label>
                {optimizer_fields}
            </div>
            <div class="settings">
                <label>{move || t("set.schedule")}" "
                    <select data-testid="schedule" on:change=move |ev| {
                        let kind = event_target_value(&ev);
                        let fresh = match kind.as_str() { "step" => r#"{"step_size":1}"#, "exponential" => r#"{"gamma":0.9}"#, "cosine" => r#"{"t_max":10}"#, _ => "{}" };
                        set_training(state, |t| {
                            if let Some(Value::Object(s)) = t.get_mut("schedule") {
                                s.insert("kind".into(), switch_kind(&Value::Null, &kind, fresh));
                            }
                        })
                    }>
                        {Schedule::kind_names().into_iter().map(|o| { let (name, key) = (o.clone(), crate::i18n::key_for("sched.", &o)); view! { <option value=o prop:selected=move || to_map(&state.spec.get().training.schedule.kind).get("type").and_then(Value::as_str) == Some(name.as_str())>{move || t(key)}</option> } }).collect_view()}
                    </select>
                </label>
                {schedule_fields}
                <label>{move || t("set.warmup")}" "<input type="number" min="0" data-testid="warmup" prop:value=move || training().schedule.warmup_steps
                    on:change=move |ev| { let v = read(&event_target_value(&ev)); set_training(state, |t| {
                        if let Some(Value::Object(s)) = t.get_mut("schedule") { s.insert("warmup_steps".into(), if v.is_null() { Value::from(0) } else { v }); }
                    }) } /></label>
                <label>{move || t("set.per_step")}" "<input type="checkbox" data-testid="per-step" prop:checked=move || training().schedule.per_step
                    on:change=move |ev| { let on = event_target_checked(&ev); set_training(state, |t| {
                        if let Some(Value::Object(s)) = t.get_mut("schedule") { s.insert("per_step".into(), Value::Bool(on)); }
                    }) } /></label>
            </div>
        </fieldset>
        <div class="settings live">
            <label>{move || t("set.lr_now")}" "
                <input type="number" min="0" max="10" step="any" data-testid="live-lr" placeholder=move || state.progress.get().map_or_else(|| training().optimizer.lr().to_string(), |p| p.lr.to_string())
                    prop:value=move || live_lr.get() on:input=move |ev| live_lr.set(event_target_value(&ev)) />
            </label>
            <button class="secondary" data-testid="set-lr" on:click=send_lr>{move || t("set.apply")}</button>
            <span class="hint">{move || t("set.lr_hint")}</span>
        </div>
    }
}
