//! "Inside the network": for the drawn digit, every layer's output as a grid of feature maps
//! (colour-scaled per layer, min/max shown), the first convolution's filters, and the saliency
//! map over the drawing. Clicking (or Enter on) a map enlarges it.

use super::paint::{diverging, paint_rgb, sequential};
use super::lang::{t, tf};
use super::state::{AppState, RunState};
use crate::engine::inspect::Inspection;
use leptos::html::{Canvas, Div};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{Document, Element, HtmlCanvasElement};

/// A map chosen to enlarge: (layer, channel).
type Focus = Option<(usize, usize)>;

fn element(doc: &Document, tag: &str, class: &str) -> Option<Element> {
    let e = doc.create_element(tag).ok()?;
    e.set_class_name(class);
    Some(e)
}

fn canvas(doc: &Document, class: &str) -> Option<HtmlCanvasElement> {
    element(doc, "canvas", class)?.dyn_into().ok()
}

/// Paints channel `ch` of a layer output on its layer's scale.
fn paint_map(c: &HtmlCanvasElement, inspection: &Inspection, layer: usize, ch: usize) {
    let out = &inspection.layers[layer];
    let [_, h, w] = out.shape;
    let [lo, hi] = out.range;
    let plane = &out.values[ch * h * w..(ch + 1) * h * w];
    paint_rgb(c, w, h, plane.iter().map(|&v| sequential(v, lo, hi)));
}

/// The first convolution's filters as a titled grid; `testid` names the block.
pub fn filters_block(doc: &Document, f: &crate::engine::inspect::Filters, name: &str, testid: &str) -> Option<Element> {
    let block = element(doc, "div", "layer-maps")?;
    block.set_attribute("data-testid", testid).ok()?;
    let [count, kh, kw] = f.shape;
    let bound = f.values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let head = element(doc, "p", "maps-head")?;
    head.set_text_content(Some(&tf("inside.filters", &[&f.layer, &name, &count, &kh, &kw, &format!("{bound:.3}")])));
    block.append_child(&head).ok()?;
    let grid = element(doc, "div", "maps filters")?;
    for k in 0..count {
        let c = canvas(doc, "filter")?;
        c.set_attribute("aria-label", &tf("inside.filter", &[&k])).ok()?;
        paint_rgb(&c, kw, kh, f.values[k * kh * kw..(k + 1) * kh * kw].iter().map(|&v| diverging(v, bound)));
        grid.append_child(&c).ok()?;
    }
    block.append_child(&grid).ok()?;
    Some(block)
}

/// Layer `i`'s output as a titled grid of feature maps (a strip for a flat output); `testid`
/// names the block, `head_testid` its heading.
pub fn maps_block(doc: &Document, inspection: &Inspection, i: usize, name: &str, testid: &str, head_testid: &str) -> Option<Element> {
    let out = inspection.layers.get(i)?;
    let [c_n, h, w] = out.shape;
    let block = element(doc, "div", "layer-maps")?;
    block.set_attribute("data-testid", testid).ok()?;
    let head = element(doc, "p", "maps-head")?;
    let shown = out.values.len() / (h * w).max(1);
    let more = if shown < c_n { tf("inside.first_shown", &[&shown]) } else { String::new() };
    let (lo, hi) = (format!("{:.3}", out.range[0]), format!("{:.3}", out.range[1]));
    head.set_text_content(Some(&tf("inside.head", &[&i, &name, &c_n, &h, &w, &more, &lo, &hi])));
    head.set_attribute("data-testid", head_testid).ok()?;
    block.append_child(&head).ok()?;
    let grid = element(doc, "div", "maps")?;
    if h * w == 1 {
        // A flat output: one strip, a cell per feature.
        let c = canvas(doc, "strip")?;
        c.set_attribute("aria-label", &tf("inside.strip", &[&i, &name, &c_n])).ok()?;
        paint_rgb(&c, c_n, 1, out.values.iter().map(|&v| sequential(v, out.range[0], out.range[1])));
        grid.append_child(&c).ok()?;
    } else {
        for ch in 0..shown {
            let c = canvas(doc, "map")?;
            let label = tf("inside.map", &[&i, &name, &ch]);
            for (k, v) in [("data-layer", i.to_string().as_str()), ("data-channel", &ch.to_string()), ("tabindex", "0"), ("role", "button"), ("aria-label", &label)] {
                c.set_attribute(k, v).ok()?;
            }
            paint_map(&c, inspection, i, ch);
            grid.append_child(&c).ok()?;
        }
    }
    block.append_child(&grid).ok()?;
    Some(block)
}

/// Rebuilds the per-layer grids and the filters inside `root`.
fn build(root: &Element, inspection: &Inspection, names: &[&'static str]) -> Option<()> {
    let doc = web_sys::window()?.document()?;
    root.set_inner_html("");
    if let Some(f) = inspection.filters.first() {
        let name = names.get(f.layer).copied().unwrap_or("?");
        let block = filters_block(&doc, f, name, "filters")?;
        root.append_child(&block).ok()?;
    }
    for i in 0..inspection.layers.len() {
        let name = names.get(i).copied().unwrap_or("?");
        let block = maps_block(&doc, inspection, i, name, &format!("maps-{i}"), "maps-head")?;
        root.append_child(&block).ok()?;
    }
    Some(())
}

/// The saliency map over the input: the input in grey, tinted orange where raising a pixel
/// raises the top class score and blue where it lowers it, more strongly the larger the gradient.
/// For a colour input a pixel's gradient is the sum over its three channels (the effect of
/// brightening it) and its grey is its luma.
pub fn paint_saliency(c: &HtmlCanvasElement, inspection: &Inspection) {
    let (channels, side) = super::paint::image_dims(inspection.input.len());
    let plane = side * side;
    let at = |v: &[f32], p: usize| -> (f32, f32) {
        if channels == 3 {
            (0.299 * v[p] + 0.587 * v[plane + p] + 0.114 * v[2 * plane + p], v[p] + v[plane + p] + v[2 * plane + p])
        } else {
            (v[p], v[p])
        }
    };
    if inspection.saliency.len() != inspection.input.len() {
        return;
    }
    let gradient: Vec<f32> = (0..plane).map(|p| at(&inspection.saliency, p).1).collect();
    let bound = gradient.iter().fold(0.0f32, |m, v| m.max(v.abs()));
    let colours = (0..plane).map(|p| {
        let (x, g) = (at(&inspection.input, p).0, gradient[p]);
        let grey = x.clamp(0.0, 1.0) * 160.0;
        // The pure hue at the end of the diverging scale, so small gradients stay the input.
        let tint = diverging(g.signum() * bound, bound);
        let a = if bound > 0.0 { (g.abs() / bound).powf(0.6) } else { 0.0 };
        let mix = |k: usize| (grey * (1.0 - a) + tint[k] as f32 * a).round() as u8;
        [mix(0), mix(1), mix(2)]
    });
    paint_rgb(c, side, side, colours);
}

/// The map chosen from a click or key on a grid (`data-layer` / `data-channel` attributes).
fn chosen(target: Option<web_sys::EventTarget>) -> Focus {
    let e: Element = target?.dyn_into().ok()?;
    Some((e.get_attribute("data-layer")?.parse().ok()?, e.get_attribute("data-channel")?.parse().ok()?))
}

/// The "Inside the network" card body.
#[component]
pub fn Inside(state: AppState) -> impl IntoView {
    let grids = NodeRef::<Div>::new();
    let saliency = NodeRef::<Canvas>::new();
    let big = NodeRef::<Canvas>::new();
    let focus = RwSignal::new(None::<(usize, usize)>);
    Effect::new(move |_| {
        let inspection = state.inspection.get();
        // While training runs, the diagram's thumbnails follow the weights; this grid (hundreds
        // of canvases, below the fold) is rebuilt when the run pauses or ends, so that the page
        // does not take time from the training threads.
        let built = grids.get().is_some_and(|g| g.child_element_count() > 0);
        if built && inspection.is_some() && state.run.get_untracked() == RunState::Running {
            return;
        }
        let (Some(root), Some(sal)) = (grids.get(), saliency.get()) else { return };
        let Some(inspection) = inspection else {
            root.set_inner_html("");
            return;
        };
        let names: Vec<&'static str> = state.spec.get_untracked().layers.iter().map(|l| l.kind_name()).collect();
        build(&root, &inspection, &names);
        paint_saliency(&sal, &inspection);
    });
    Effect::new(move |_| {
        let (Some(c), Some((layer, ch)), Some(inspection)) = (big.get(), focus.get(), state.inspection.get()) else { return };
        if inspection.layers.get(layer).is_some_and(|o| ch * o.shape[1] * o.shape[2] < o.values.len()) {
            paint_map(&c, &inspection, layer, ch);
        }
    });
    let pick = move |target| {
        if let Some(f) = chosen(target) {
            focus.set(Some(f));
        }
    };
    let caption = move || {
        let (layer, ch) = focus.get()?;
        let inspection = state.inspection.get()?;
        let out = inspection.layers.get(layer)?;
        let plane = out.values.get(ch * out.shape[1] * out.shape[2]..(ch + 1) * out.shape[1] * out.shape[2])?;
        let (lo, hi) = plane.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
        let name = state.spec.get_untracked().layers.get(layer).map_or("?", |l| l.kind_name());
        Some(tf("inside.caption", &[&layer, &name, &ch, &out.shape[1], &out.shape[2], &format!("{lo:.3}"), &format!("{hi:.3}")]))
    };
    view! {
        <Show when=move || state.inspection.get().is_some()
              fallback=|| view! { <p class="hint" data-testid="inside-empty">{move || t("inside.empty")}</p> }>
            <div class="inside-top">
                <figure>
                    <canvas class="saliency" node_ref=saliency width="28" height="28" data-testid="saliency" role="img"
                            aria-label=move || tf("inside.saliency_label", &[&state.inspection.get().map_or(0, |i| i.top)])></canvas>
                    <figcaption class="hint">{move || tf("inside.saliency", &[&state.inspection.get().map_or(0, |i| i.top)])}</figcaption>
                </figure>
                <Show when=move || focus.get().is_some()>
                    <figure>
                        <canvas class="enlarged" node_ref=big width="28" height="28" data-testid="map-enlarged" role="img"
                                aria-label=move || caption().unwrap_or_default()></canvas>
                        <figcaption class="hint" data-testid="map-caption">{move || caption().unwrap_or_default()}</figcaption>
                        <button class="secondary" data-testid="map-close" on:click=move |_| focus.set(None)>{move || t("common.close")}</button>
                    </figure>
                </Show>
            </div>
            <p class="hint">{move || t("inside.hint")}</p>
        </Show>
        <div class="grids" node_ref=grids data-testid="inside-grids"
             on:click=move |ev| pick(ev.target())
             on:keydown=move |ev: web_sys::KeyboardEvent| if ev.key() == "Enter" || ev.key() == " " { ev.prevent_default(); pick(ev.target()) }></div>
    }
}
