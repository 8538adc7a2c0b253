//! Dragging layers with any pointer (mouse, touch, pen): from the palette into the diagram, and
//! blocks within it. Pointer events rather than HTML drag-and-drop, which touch screens do not
//! fire. A press becomes a drag only after the pointer has moved a few pixels, so a tap or a
//! click still adds or selects.

use super::edit::{drop_at, insert_layer};
use crate::web::js::now_ms;
use super::state::{AppState, Drag, DragItem};
use leptos::ev;
use leptos::prelude::*;
use std::cell::{Cell, RefCell};
use web_sys::PointerEvent;

/// How far (CSS px) a pressed pointer moves before the press is a drag.
const DRAG_AFTER_PX: f64 = 6.0;

/// A press that may become a drag.
struct Press {
    item: DragItem,
    pointer: i32,
    from: (f64, f64),
}

thread_local! {
    static PRESS: RefCell<Option<Press>> = const { RefCell::new(None) };
    /// When a drag or a touch tap last ended (ms): the click the browser may send after it must
    /// not add or select a second time.
    static HANDLED_AT: Cell<f64> = const { Cell::new(f64::NEG_INFINITY) };
}

/// Remembers a press on something draggable (primary button, finger or pen).
pub fn press(item: DragItem, ev: &PointerEvent) {
    if ev.button() != 0 {
        return;
    }
    HANDLED_AT.set(f64::NEG_INFINITY);
    PRESS.with_borrow_mut(|p| *p = Some(Press { item, pointer: ev.pointer_id(), from: (ev.client_x() as f64, ev.client_y() as f64) }));
}

/// How long after a drag or tap a click is taken as its echo (ms).
const ECHO_MS: f64 = 800.0;

/// True once, for the click that echoes a drag or a tap just handled. A click from the keyboard
/// (Enter or Space: `detail` 0) is never an echo.
pub fn take_dropped(click: &web_sys::MouseEvent) -> bool {
    let echo = now_ms() - HANDLED_AT.replace(f64::NEG_INFINITY) < ECHO_MS;
    echo && click.detail() > 0
}

/// The gap under viewport point `(x, y)`: a gap element's own index, or, over a block, the gap
/// on the side of the block the point is on.
fn gap_at(x: f64, y: f64) -> Option<usize> {
    let doc = web_sys::window()?.document()?;
    let hit = doc.element_from_point(x as f32, y as f32)?;
    if let Some(gap) = hit.closest("[data-gap]").ok().flatten() {
        return gap.get_attribute("data-gap")?.parse().ok();
    }
    let block = hit.closest("[data-block]").ok().flatten()?;
    let i: usize = block.get_attribute("data-block")?.parse().ok()?;
    let r = block.get_bounding_client_rect();
    Some(if x < r.left() + r.width() / 2.0 { i } else { i + 1 })
}

/// Follows pointers over the whole window (installed once, by the diagram).
pub fn listen(state: AppState) {
    let moved = window_event_listener(ev::pointermove, move |ev| {
        let Some((item, from)) = PRESS.with_borrow(|p| p.as_ref().filter(|p| p.pointer == ev.pointer_id()).map(|p| (p.item.clone(), p.from))) else { return };
        let at = (ev.client_x() as f64, ev.client_y() as f64);
        let dragging = state.drag.with_untracked(Option::is_some);
        if !dragging && (at.0 - from.0).hypot(at.1 - from.1) < DRAG_AFTER_PX {
            return;
        }
        ev.prevent_default();
        state.drag.set(Some(Drag { item, at, gap: gap_at(at.0, at.1) }));
    });
    let released = window_event_listener(ev::pointerup, move |ev| finish(state, Some(&ev)));
    let cancelled = window_event_listener(ev::pointercancel, move |_| finish(state, None));
    // The listeners live as long as the page.
    std::mem::forget((moved, released, cancelled));
    // Escape drops nothing.
    let escaped = window_event_listener(ev::keydown, move |ev| {
        if ev.key() == "Escape" && state.drag.with_untracked(Option::is_some) {
            PRESS.with_borrow_mut(|p| *p = None);
            state.drag.set(None);
        }
    });
    std::mem::forget(escaped);
}

/// Ends a press: a drag that is over a gap lands there (`ev` is None when the browser took the
/// pointer away, which drops nothing).
fn finish(state: AppState, ev: Option<&PointerEvent>) {
    let press = PRESS.with_borrow_mut(Option::take);
    let Some(drag) = state.drag.get_untracked() else {
        // A finger or pen lifted without dragging is a tap: handled here, because Chromium
        // does not always follow a touch that comes soon after a drag with a click.
        if let (Some(press), Some(ev)) = (press, ev) {
            if ev.pointer_type() != "mouse" && ev.pointer_id() == press.pointer {
                HANDLED_AT.set(now_ms());
                tap(state, press.item);
            }
        }
        return;
    };
    state.drag.set(None);
    HANDLED_AT.set(now_ms());
    let Some(ev) = ev else { return };
    if let Some(gap) = gap_at(ev.client_x() as f64, ev.client_y() as f64) {
        drop_at(state, drag.item, gap);
    }
}

/// Adds `layer` after the selected block (at the end when none is selected).
pub fn add_after_selected(state: AppState, layer: crate::engine::spec::LayerSpec) {
    let at = state.selected.get_untracked().map_or(state.spec.with_untracked(|s| s.layers.len()), |i| i + 1);
    insert_layer(state, at, layer);
}

/// A tap: a palette layer is added after the selected block; a block is selected.
fn tap(state: AppState, item: DragItem) {
    match item {
        DragItem::New(layer) => add_after_selected(state, layer),
        DragItem::Move(i) => state.selected.set(Some(i)),
    }
}

/// The label that follows the pointer while dragging.
#[component]
pub fn DragGhost(state: AppState) -> impl IntoView {
    let label = move || {
        state.drag.with(|d| {
            d.as_ref().map(|d| match &d.item {
                DragItem::New(layer) => layer.kind_name().to_string(),
                DragItem::Move(i) => state.spec.with(|s| s.layers.get(*i).map_or("?", |l| l.kind_name())).to_string(),
            })
        })
    };
    view! {
        <Show when=move || state.drag.with(Option::is_some)>
            <div class="ghost" data-testid="drag-ghost" aria-hidden="true"
                 style:left=move || state.drag.with(|d| d.as_ref().map_or(0.0, |d| d.at.0)).to_string() + "px"
                 style:top=move || state.drag.with(|d| d.as_ref().map_or(0.0, |d| d.at.1)).to_string() + "px">
                {label}
            </div>
        </Show>
    }
}
