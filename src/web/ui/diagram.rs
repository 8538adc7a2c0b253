//! The network as a diagram: the input and every layer as a block drawn to the shape of its
//! output (C stacked H×W planes, a bar for a flat vector), with its type, output shape and
//! parameters; gaps with arrows between blocks. Each plane is a live thumbnail of that channel
//! for the drawing (or, with nothing drawn, a probe image), refreshed while training. Blocks are
//! selected by click or arrow keys, moved by dragging or Alt+arrows, removed with Delete,
//! duplicated with D; layers dragged from the palette land in the gap they are dropped on.

use super::builder::{fmt_count, layer_key};
use super::dnd::{self, DragGhost};
use super::dom::focus_soon;
use super::edit::{apply_spec, duplicate_layer, move_layer, remove_layer, Live};
use super::lang::{t, tf, tr};
use super::paint::{paint_rgb, sequential};
use super::state::{AppState, DragItem, RunState};
use crate::engine::inspect::Inspection;
use crate::engine::shape::Shape;
use crate::engine::spec::receptive::{receptive_field, Region};
use crate::engine::spec::{LayerSpec, Shortcut, Spec};
use leptos::html::Div;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlCanvasElement};

/// CSS pixels per output pixel of a plane.
const PX_PER_PIXEL: f64 = 2.0;
/// Smallest and largest side of a drawn plane (CSS px).
const SIDE_RANGE: (f64, f64) = (8.0, 60.0);
/// Diagonal step between stacked planes (CSS px).
const STEP: f64 = 5.0;
/// Most planes drawn for one block.
const MAX_PLANES: usize = 6;

/// How a block draws an output shape: `planes` planes of `w × h` CSS px, each `step` px behind
/// the one before; a flat vector is one thin bar.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Glyph {
    /// Planes drawn (channels shown as thumbnails).
    pub planes: usize,
    /// Plane width (CSS px).
    pub w: f64,
    /// Plane height (CSS px).
    pub h: f64,
    /// Output pixels across and down a plane's canvas.
    pub pixels: (usize, usize),
}

impl Glyph {
    /// The drawing of `shape`: sides to scale (clamped), one plane more per doubling of the
    /// channel count, so 1, 6, 16 and 64 channels look different.
    pub fn of(shape: Shape) -> Self {
        let side = |n: usize| (n as f64 * PX_PER_PIXEL).clamp(SIDE_RANGE.0, SIDE_RANGE.1);
        if shape.is_flat() || shape.h * shape.w == 1 {
            // A vector: a bar whose height grows with the log of its length.
            let h = (10.0 * ((shape.c + 1) as f64).log2()).clamp(12.0, 90.0);
            return Self { planes: 1, w: 12.0, h, pixels: (1, shape.c.max(1)) };
        }
        let planes = (1 + shape.c.max(1).ilog2() as usize).min(shape.c).clamp(1, MAX_PLANES);
        Self { planes, w: side(shape.w), h: side(shape.h), pixels: (shape.w, shape.h) }
    }

    /// The whole drawing's size (CSS px).
    pub fn size(&self) -> (f64, f64) {
        let depth = (self.planes - 1) as f64 * STEP;
        (self.w + depth, self.h + depth)
    }
}

/// The stacked planes of one block; plane `k` (0 in front) is channel `k`'s thumbnail.
/// `field` is the part of the front plane in the chosen unit's receptive field, if any;
/// `pick(y, x)` is called with the output pixel clicked on the front plane.
fn planes(owner: String, glyph: Glyph, field: impl Fn() -> Option<Region> + Send + Sync + 'static, pick: impl Fn(usize, usize) + Send + Sync + 'static) -> impl IntoView {
    let (width, height) = glyph.size();
    let back = glyph.planes - 1;
    let top = back as f64 * STEP;
    let (sx, sy) = (glyph.w / glyph.pixels.0 as f64, glyph.h / glyph.pixels.1 as f64);
    let pick = std::sync::Arc::new(pick);
    view! {
        <div class="glyph" style:width=format!("{width}px") style:height=format!("{height}px")>
            {(0..glyph.planes).rev().map(|k| view! {
                <canvas class="plane" data-thumb=owner.clone() data-ch=k
                        width=glyph.pixels.0 height=glyph.pixels.1
                        style:left=format!("{}px", k as f64 * STEP) style:top=format!("{}px", (back - k) as f64 * STEP)
                        style:width=format!("{}px", glyph.w) style:height=format!("{}px", glyph.h)
                        on:click={
                            let pick = pick.clone();
                            move |ev| if let Some((y, x)) = (k == 0).then(|| pixel_of(&ev, glyph)).flatten() { pick(y, x) }
                        }></canvas>
            }).collect_view()}
            {move || field().map(|r| view! {
                <div class="rf" data-testid="rf" data-region=format!("{},{},{},{}", r.y0, r.y1, r.x0, r.x1)
                     style:left=format!("{}px", r.x0 as f64 * sx) style:top=format!("{}px", top + r.y0 as f64 * sy)
                     style:width=format!("{}px", r.size().1 as f64 * sx) style:height=format!("{}px", r.size().0 as f64 * sy)></div>
            })}
        </div>
    }
}

/// The output pixel (row, column) under a click on a plane's canvas.
fn pixel_of(ev: &web_sys::MouseEvent, glyph: Glyph) -> Option<(usize, usize)> {
    let target = ev.current_target()?.dyn_into::<Element>().ok()?;
    let r = target.get_bounding_client_rect();
    let fx = (ev.client_x() as f64 - r.left()) / r.width().max(1.0);
    let fy = (ev.client_y() as f64 - r.top()) / r.height().max(1.0);
    let inside = (0.0..1.0).contains(&fx) && (0.0..1.0).contains(&fy);
    inside.then(|| ((fy * glyph.pixels.1 as f64) as usize, (fx * glyph.pixels.0 as f64) as usize))
}

/// Paints every thumbnail under `root` from `inspection` (or blanks them without one).
fn paint_thumbs(root: &Element, inspection: Option<&Inspection>) {
    let Ok(list) = root.query_selector_all("canvas[data-thumb]") else { return };
    for n in 0..list.length() {
        let Some(c) = list.item(n).and_then(|e| e.dyn_into::<HtmlCanvasElement>().ok()) else { continue };
        let owner = c.get_attribute("data-thumb").unwrap_or_default();
        let ch: usize = c.get_attribute("data-ch").and_then(|v| v.parse().ok()).unwrap_or(0);
        let Some(inspection) = inspection else {
            c.set_width(c.width()); // clears it
            continue;
        };
        if owner == "saliency" {
            super::inside::paint_saliency(&c, inspection);
            continue;
        }
        if owner == "input" {
            // One plane per channel: grey, or each colour plane in its own colour.
            let (channels, side) = super::paint::image_dims(inspection.input.len());
            let plane = &inspection.input[(ch.min(channels - 1)) * side * side..][..side * side];
            paint_rgb(&c, side, side, plane.iter().map(|&v| {
                let g = (v.clamp(0.0, 1.0) * 255.0) as u8;
                match (channels, ch) {
                    (1, _) => [g, g, g],
                    (_, 0) => [g, 0, 0],
                    (_, 1) => [0, g, 0],
                    _ => [0, 0, g],
                }
            }));
            continue;
        }
        let Some(out) = owner.parse::<usize>().ok().and_then(|i| inspection.layers.iter().find(|o| o.layer == i)) else { continue };
        let [c_n, h, w] = out.shape;
        let [lo, hi] = out.range;
        if h * w == 1 {
            paint_rgb(&c, 1, c_n, out.values.iter().take(c_n).map(|&v| sequential(v, lo, hi)));
        } else if let Some(plane) = out.values.get(ch * h * w..(ch + 1) * h * w) {
            paint_rgb(&c, w, h, plane.iter().map(|&v| sequential(v, lo, hi)));
        }
    }
}

/// The name of class `c` of the spec's dataset (its number when it has none).
fn class_name(state: AppState, c: usize) -> String {
    state.spec.with_untracked(|s| s.class_names().get(c).cloned()).unwrap_or_else(|| c.to_string())
}

/// The block after the last layer: the class probabilities as small bars, the top class, and
/// the saliency map of the top class over the input.
fn output_block(state: AppState) -> impl IntoView {
    let probs = move || state.inspection.with(|i| i.as_ref().map(|i| i.probs.clone()));
    let top = move || probs().map(|p| {
        let c = crate::engine::loss::argmax(&p);
        (c, p[c])
    });
    view! {
        <div class="block output" data-testid="block-output" role="listitem"
             aria-label=move || top().map_or_else(|| t("diagram.output").to_string(), |(c, p)| tf("diagram.output_label", &[&class_name(state, c), &format!("{:.0}", p * 100.0)]))>
            <span class="block-name">{move || t("diagram.output")}</span>
            <div class="mini-probs" aria-hidden="true">
                // Every class up to ten; of more, the ten likeliest, likeliest first.
                {move || {
                    let p = probs().unwrap_or_default();
                    let mut shown: Vec<usize> = (0..p.len()).collect();
                    if p.len() > 10 {
                        shown.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
                        shown.truncate(10);
                    }
                    shown.into_iter().map(|c| view! {
                        <span class="mini-bar" class:top=move || top().is_some_and(|(t, _)| t == c)
                              style:height=format!("{:.1}px", 2.0 + p[c] * 38.0) title=format!("{}: {:.1}%", class_name(state, c), p[c] * 100.0)></span>
                    }).collect_view()
                }}
            </div>
            <span class="block-shape" data-testid="output-top">{move || top().map_or("–".into(), |(c, p)| format!("{} · {:.0}%", class_name(state, c), p * 100.0))}</span>
            <canvas class="saliency-thumb" data-thumb="saliency" width="28" height="28" title=move || t("diagram.saliency")></canvas>
        </div>
    }
}

/// What a residual block shows besides its output: the skip arrow from its input over the body
/// to the sum, labelled with the shortcut, and its body's layers in order.
fn residual_parts(layer: &LayerSpec) -> Option<impl IntoView> {
    let LayerSpec::Residual { layers, shortcut } = layer else { return None };
    let label = match shortcut {
        Shortcut::Identity => "residual.skip_identity",
        Shortcut::Conv1x1 => "residual.skip_conv1x1",
    };
    let names: Vec<&'static str> = layers.iter().map(LayerSpec::kind_name).collect();
    Some(view! {
        <svg class="skip" data-testid="skip-arrow" viewBox="0 0 100 24" preserveAspectRatio="none" aria-hidden="true">
            <path d="M1 23 C1 4 99 4 99 20" fill="none" stroke="currentColor" stroke-width="1.6" vector-effect="non-scaling-stroke"/>
            <path d="M96 16 L99 22 L100 15" fill="none" stroke="currentColor" stroke-width="1.6" vector-effect="non-scaling-stroke"/>
        </svg>
        <span class="skip-label" data-testid="skip-label" title=move || t("residual.skip_title")>{move || t(label)}</span>
        <ol class="body-chips" data-testid="body-chips">
            {names.into_iter().map(|n| view! { <li>{n}</li> }).collect_view()}
        </ol>
    })
}

/// Focuses block `i` (or the input block) after the next redraw.
fn focus_block(i: usize) {
    focus_soon(format!("[data-testid=block-{i}]"));
}

/// The diagram with its header (totals, reset, clear) and the drag label.
#[component]
pub fn Diagram(state: AppState) -> impl IntoView {
    let live = Memo::new(move |_| Live::of(&state.spec.get()));
    let root = NodeRef::<Div>::new();
    dnd::listen(state);
    // The unit whose receptive field is shown: (layer, row, column).
    let unit = RwSignal::new(None::<(usize, usize, usize)>);
    Effect::new(move |_| {
        state.spec.track();
        unit.set(None);
    });
    let fields = Memo::new(move |_| unit.get().and_then(|(l, y, x)| receptive_field(&state.spec.get(), l, y, x)));
    // Region `k` is in the input (0) or the output of layer `k − 1`.
    let field_of = move |k: usize| move || fields.with(|f| f.as_ref().and_then(|f| f.get(k).copied()));
    Effect::new(move |_| {
        let inspection = state.inspection.get();
        live.track(); // blocks are drawn anew when the spec changes
        let Some(root) = root.get() else { return };
        let paint = wasm_bindgen::closure::Closure::once_into_js(move || paint_thumbs(&root, inspection.as_ref()));
        if let Some(w) = web_sys::window() {
            let _ = w.request_animation_frame(paint.unchecked_ref());
        }
    });
    let locked = move || matches!(state.run.get(), RunState::Running | RunState::Pausing);
    let on_key = move |i: usize, ev: web_sys::KeyboardEvent| {
        if locked() && !matches!(ev.key().as_str(), "ArrowLeft" | "ArrowRight" | "ArrowUp" | "ArrowDown" | "Home" | "End" | "Enter") {
            return;
        }
        let count = state.spec.with_untracked(|s| s.layers.len());
        let back = matches!(ev.key().as_str(), "ArrowLeft" | "ArrowUp");
        let on = matches!(ev.key().as_str(), "ArrowRight" | "ArrowDown");
        let go = |to: usize| {
            state.selected.set(Some(to));
            focus_block(to);
        };
        match ev.key().as_str() {
            _ if ev.alt_key() && back && i > 0 => {
                move_layer(state, i, i - 1);
                focus_block(i - 1);
            }
            _ if ev.alt_key() && on && i + 1 < count => {
                move_layer(state, i, i + 1);
                focus_block(i + 1);
            }
            _ if back && !ev.alt_key() && i > 0 => go(i - 1),
            _ if on && !ev.alt_key() && i + 1 < count => go(i + 1),
            "Home" if count > 0 => go(0),
            "End" if count > 0 => go(count - 1),
            "Enter" | " " => {
                state.selected.set(Some(i));
                focus_soon("[data-testid=layer-panel] input, [data-testid=layer-panel] select".into());
            }
            "Delete" | "Backspace" => {
                remove_layer(state, i);
                if count > 1 {
                    focus_block(i.min(count - 2));
                }
            }
            "d" | "D" if !ev.ctrl_key() && !ev.meta_key() => {
                duplicate_layer(state, i);
                focus_block(i + 1);
            }
            _ => return,
        }
        ev.prevent_default();
    };
    let gap = move |k: usize| {
        view! {
            <div class="gap" data-gap=k data-testid=format!("gap-{k}") aria-hidden="true"
                 class:target=move || state.drag.with(|d| d.as_ref().is_some_and(|d| d.gap == Some(k)))>
                <svg viewBox="0 0 24 12" width="24" height="12"><path d="M1 6h18M15 2l5 4-5 4" fill="none" stroke="currentColor" stroke-width="1.6"/></svg>
            </div>
        }
    };
    let blocks = move || {
        let spec = state.spec.get();
        let lv = live.get();
        let input = spec.input_shape();
        let dragged = state.drag.with(|d| d.as_ref().and_then(|d| if let DragItem::Move(i) = d.item { Some(i) } else { None }));
        let first = view! {
            <div class="block input" data-testid="block-input" role="listitem" aria-label=move || tf("diagram.input_label", &[&input])>
                <span class="block-name">{move || t("diagram.input")}</span>
                {planes("input".into(), Glyph::of(input), field_of(0), |_, _| {})}
                <span class="block-shape">{input.to_string()}</span>
            </div>
        }
        .into_any();
        let rest = spec.layers.iter().enumerate().map(|(i, layer)| {
            let info = lv.infos.get(i).cloned();
            let error = lv.error.as_ref().filter(|(j, _)| *j == i).map(|(_, m)| tr(m))
                .or_else(|| state.field_errors.with(|e| e.iter().find(|(j, _)| *j == i).map(|(_, m)| tr(m))));
            let invalid = error.is_some();
            let name = layer.kind_name();
            let label = tf("diagram.block_label", &[&i, &name, &t(layer_key(name)),
                &info.as_ref().map_or("?".to_string(), |inf| inf.output.to_string())]);
            let glyph = match &info {
                Some(inf) => planes(i.to_string(), Glyph::of(inf.output), field_of(i + 1), move |y, x| unit.set(Some((i, y, x)))).into_any(),
                None => view! { <div class="glyph missing">"?"</div> }.into_any(),
            };
            let residual = residual_parts(layer);
            let is_residual = residual.is_some();
            view! {
                {gap(i)}
                <div class="block" class:residual=is_residual data-block=i data-testid=format!("block-{i}") role="listitem" tabindex="0"
                     class:selected=move || state.selected.get() == Some(i) class:invalid=invalid
                     class:unknown=info.is_none() class:dragged=dragged == Some(i)
                     aria-label=label aria-current=move || (state.selected.get() == Some(i)).then_some("true")
                     on:pointerdown=move |ev| if !locked() { dnd::press(DragItem::Move(i), &ev) }
                     on:click=move |ev| if !dnd::take_dropped(&ev) { state.selected.set(Some(i)) }
                     on:keydown=move |ev| on_key(i, ev)>
                    <span class="block-name" title=t(layer_key(name))>{name}</span>
                    {residual}
                    {glyph}
                    <span class="block-shape" data-testid="block-shape">{info.as_ref().map_or("?".into(), |inf| inf.output.to_string())}</span>
                    <span class="block-params">{info.as_ref().filter(|inf| inf.params > 0).map(|inf| tf("diagram.params", &[&fmt_count(inf.params as u64)]))}</span>
                    {error.map(|m| view! { <span class="block-error" role="alert" data-testid="block-error">{m}</span> })}
                </div>
            }
            .into_any()
        });
        std::iter::once(first).chain(rest).chain([gap(spec.layers.len()).into_any(), output_block(state).into_any()]).collect_view()
    };
    let spec_error = move || {
        let lv = live.get();
        let count = state.spec.with(|s| s.layers.len());
        lv.error.filter(|(i, _)| count == 0 || *i >= count).map(|(_, m)| tr(&m))
    };
    view! {
        <div class="diagram-head">
            <h2>{move || t("diagram.title")}</h2>
            <span class="totals" data-testid="diagram-totals">{move || {
                let lv = live.get();
                match &lv.error {
                    None => tf("diagram.totals", &[&fmt_count(lv.params as u64), &fmt_count(lv.flops)]),
                    Some((i, _)) => tf("builder.needs_fixing", &[i]),
                }
            }}</span>
            <span class="tools">
                <button class="secondary small" data-testid="model-reset" prop:disabled=locked
                        on:click=move |_| { state.selected.set(None); apply_spec(state, Spec::default()) }>{move || t("builder.reset_model")}</button>
                <button class="secondary small" data-testid="diagram-clear" prop:disabled=locked
                        on:click=move |_| { state.selected.set(None); apply_spec(state, Spec { layers: Vec::new(), ..state.spec.get_untracked() }) }>{move || t("diagram.clear")}</button>
            </span>
        </div>
        <div class="diagram" node_ref=root role="list" data-testid="diagram" aria-label=move || t("diagram.label")
             class:dropping=move || state.drag.with(Option::is_some)>
            {blocks}
        </div>
        {move || spec_error().map(|m| view! { <p class="layer-error" role="alert" data-testid="diagram-error">{m}</p> })}
        {move || unit.get().zip(fields.get()).map(|((l, y, x), f)| {
            let (h, w) = f[0].size();
            view! {
                <p class="rf-caption" data-testid="rf-caption">
                    {tf("diagram.rf", &[&l, &y, &x, &h, &w])}" "
                    <button class="secondary small" data-testid="rf-clear" on:click=move |_| unit.set(None)>{t("common.close")}</button>
                </p>
            }
        })}
        <p class="hint">{move || t("diagram.hint")}</p>
        <DragGhost state=state />
    }
}
