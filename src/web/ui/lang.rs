//! The page's language: one signal every text follows, remembered in this browser
//! (localStorage, read before the first paint so the page never flashes the other language).

use crate::i18n::{self, Lang, Message};
use leptos::prelude::*;
use std::cell::Cell;
use std::fmt::Display;

/// Where the choice is remembered.
const STORAGE_KEY: &str = "cnn-playground-lang";

thread_local! {
    static CURRENT: Cell<Option<RwSignal<Lang>>> = const { Cell::new(None) };
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// The remembered language, else the browser's if it is one of ours, else English.
fn initial() -> Lang {
    let remembered = storage().and_then(|s| s.get_item(STORAGE_KEY).ok().flatten()).and_then(|tag| Lang::from_tag(&tag));
    let browser = || web_sys::window().and_then(|w| w.navigator().language()).and_then(|tag| Lang::from_tag(&tag));
    remembered.or_else(browser).unwrap_or_default()
}

/// Creates the language signal; called once before the app mounts (outside any component, so
/// no component owns it).
pub fn init() {
    let lang = initial();
    set_document_lang(lang);
    CURRENT.with(|c| c.set(Some(RwSignal::new(lang))));
}

fn signal() -> RwSignal<Lang> {
    CURRENT.with(|c| match c.get() {
        Some(s) => s,
        None => {
            let s = RwSignal::new(Lang::default());
            c.set(Some(s));
            s
        }
    })
}

fn set_document_lang(lang: Lang) {
    if let Some(html) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.document_element()) {
        let _ = html.set_attribute("lang", lang.tag());
    }
}

/// The current language (tracked: a view that calls it follows a switch).
pub fn lang() -> Lang {
    signal().get()
}

/// Switches the page to `lang` and remembers it.
pub fn set(lang: Lang) {
    if let Some(s) = storage() {
        // Private modes may refuse; the switch still applies to this page.
        let _ = s.set_item(STORAGE_KEY, lang.tag());
    }
    set_document_lang(lang);
    signal().set(lang);
}

/// The text of `key` in the current language.
pub fn t(key: &'static str) -> &'static str {
    i18n::text(lang(), key)
}

/// The text of `key` in the current language, placeholders filled.
pub fn tf(key: &'static str, args: &[&dyn Display]) -> String {
    i18n::text_with(lang(), key, args)
}

/// A kept message (the page's or the engine's) in the current language (tracked: a language
/// switch re-renders it).
pub fn tr(message: &Message) -> String {
    message.render(lang())
}

/// The language switch.
#[component]
pub fn LangSwitch() -> impl IntoView {
    view! {
        <label class="lang">
            <select data-testid="lang" aria-label=move || t("lang.label")
                    on:change=move |ev| if let Some(l) = Lang::from_tag(&event_target_value(&ev)) { set(l) }>
                {Lang::ALL.iter().map(|l| view! {
                    <option value=l.tag() lang=l.tag() selected=move || lang() == *l>{l.native_name()}</option>
                }).collect_view()}
            </select>
        </label>
    }
}
