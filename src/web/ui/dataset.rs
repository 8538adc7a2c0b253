//! The dataset's status under the diagram: download or reading progress, and for the datasets
//! the user brings (CIFAR-10/100) a place to choose or drop the archive, and to forget it.

use super::client::{data_url, send, send_with_files};
use super::lang::{t, tf};
use super::state::AppState;
use crate::protocol::Request;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

fn mb(bytes: u64) -> String {
    tf("data.mb", &[&format!("{:.1}", bytes as f64 / 1e6)])
}

/// Sends the chosen or dropped files to the engine, which reads and keeps them.
fn open_files(state: AppState, list: Option<web_sys::FileList>) {
    let Some(list) = list.filter(|l| l.length() > 0) else { return };
    let files = js_sys::Array::new();
    let mut names = Vec::new();
    for i in 0..list.length() {
        if let Some(f) = list.get(i) {
            names.push(f.name());
            files.push(&f);
        }
    }
    state.data_error.set(None);
    state.error.set(None);
    state.data_missing.set(None);
    state.data_ready.set(None);
    state.data_progress.set((0, 0));
    send_with_files(Request::OpenFiles { names }, &files);
}

/// Progress bar and one line of status; a retry button after a failed download.
#[component]
pub fn DataStatus(state: AppState) -> impl IntoView {
    let fraction = move || {
        let (loaded, total) = state.data_progress.get();
        if state.data_ready.get().is_some() {
            1.0
        } else if total > 0 {
            loaded as f64 / total as f64
        } else {
            0.0
        }
    };
    let retry = move |_| {
        state.data_error.set(None);
        state.error.set(None);
        state.data_progress.set((0, 0));
        send(state.load_data_request(&data_url()));
    };
    let bundled = move || state.spec.get().dataset.bundled();
    let name = move || state.spec.get().dataset.title();
    let label = move || match state.data_ready.get() {
        Some((train, test)) => tf("data.ready", &[&name(), &train, &test]),
        None => {
            let (loaded, total) = state.data_progress.get();
            match (total, bundled()) {
                (0, true) => tf("data.downloading", &[&name()]),
                (_, true) => tf("data.downloading_of", &[&name(), &mb(loaded), &mb(total)]),
                (0, false) => tf("data.waiting", &[&name()]),
                (_, false) => tf("data.reading_of", &[&name(), &mb(loaded), &mb(total)]),
            }
        }
    };
    view! {
        <div class="data-status">
            <div class="bar" role="progressbar" aria-label=move || t("data.progress")
                 aria-valuemin="0" aria-valuemax="100" aria-valuenow=move || format!("{:.0}", fraction() * 100.0)
                 data-testid="data-progress">
                <div class="fill" style:width=move || format!("{:.1}%", fraction() * 100.0)></div>
            </div>
            <Show when=move || state.data_error.get().is_none()
                  fallback=move || view! {
                      <p data-testid="data-status" class="failed">{move || tf("data.failed", &[&name()])}</p>
                      <Show when=bundled fallback=move || view! { <DataFiles state=state /> }>
                          <button data-testid="data-retry" on:click=retry>{move || t("data.retry")}</button>
                      </Show>
                  }>
                <Show when=move || state.data_missing.get().is_none() fallback=move || view! { <DataFiles state=state /> }>
                    <p data-testid="data-status">{label}</p>
                    <Show when=move || !bundled() && state.data_ready.get().is_some()>
                        <button class="secondary small" data-testid="data-forget"
                                on:click=move |_| send(Request::ForgetData { dataset: state.spec.get_untracked().dataset })>
                            {move || t("data.forget")}
                        </button>
                    </Show>
                </Show>
            </Show>
        </div>
    }
}

/// Where the user gives a dataset the app does not bundle: a file button and a drop zone.
#[component]
fn DataFiles(state: AppState) -> impl IntoView {
    let hover = RwSignal::new(false);
    let chosen = move |ev: web_sys::Event| {
        let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        open_files(state, input.as_ref().and_then(|i| i.files()));
        if let Some(i) = input {
            i.set_value(""); // The same file chosen again is read again.
        }
    };
    let dropped = move |ev: web_sys::DragEvent| {
        ev.prevent_default();
        hover.set(false);
        open_files(state, ev.data_transfer().and_then(|d| d.files()));
    };
    let name = move || state.spec.get().dataset.title();
    view! {
        <div class="data-drop" class:hover=move || hover.get() data-testid="data-drop"
             on:dragover=move |ev: web_sys::DragEvent| { ev.prevent_default(); hover.set(true); }
             on:dragleave=move |_| hover.set(false)
             on:drop=dropped>
            <p>{move || tf("data.bring", &[&name()])}</p>
            <label class="button">
                {move || t("data.choose")}
                <input type="file" multiple accept=".gz,.tgz,.tar,.bin" data-testid="data-files" on:change=chosen />
            </label>
            <p class="hint">{move || t("data.bring_hint")}</p>
        </div>
    }
}
