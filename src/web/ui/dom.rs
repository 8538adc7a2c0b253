//! Small DOM chores shared by the editors: focusing an element once Leptos has redrawn.

use wasm_bindgen::JsCast;

/// Puts the keyboard focus on the first element matching `selector` on the next frame: an edit
/// redraws the list, and the element that had the focus is gone (so Alt+→ twice would need a
/// click between).
pub fn focus_soon(selector: String) {
    focus_next_frame(selector, false);
}

/// Like [`focus_soon`], but only if the focus was lost meanwhile (it is on nothing or on the
/// page itself), so a redraw does not pull it back from where the user has moved it.
pub fn refocus_if_lost(selector: String) {
    focus_next_frame(selector, true);
}

fn focus_next_frame(selector: String, only_if_lost: bool) {
    let focus = wasm_bindgen::closure::Closure::once_into_js(move || {
        let doc = web_sys::window().and_then(|w| w.document());
        let lost = doc.as_ref().and_then(|d| d.active_element()).is_none_or(|e| e.tag_name() == "BODY");
        if only_if_lost && !lost {
            return;
        }
        let element = doc
            .and_then(|d| d.query_selector(&selector).ok().flatten())
            .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
        if let Some(element) = element {
            let _ = element.focus();
        }
    });
    if let Some(w) = web_sys::window() {
        let _ = w.request_animation_frame(focus.unchecked_ref());
    }
}

/// Scrolls the element with id `id` into view.
pub fn scroll_to(id: &str) {
    if let Some(e) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.get_element_by_id(id)) {
        e.scroll_into_view();
    }
}
