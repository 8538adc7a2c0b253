//! The dataset's status under the diagram: download or reading progress, and for the datasets
//! the user brings (CIFAR-10/100) a place to choose or drop the archive, and to forget it.

use super::client::{data_url, send, send_with_files};
use super::lang::{t, tf};
use super::state::AppState;
use crate::engine::spec::DatasetKind;
use crate::protocol::Request;
use leptos::prelude::*;
use wasm_bindgen::JsCast;

/// A dataset's name as the page shows it ("Your pictures" for the user's own).
pub fn dataset_title(kind: DatasetKind) -> String {
    if kind == DatasetKind::Images { t("data.images").to_string() } else { kind.title().to_string() }
}

fn mb(bytes: u64) -> String {
    tf("data.mb", &[&format!("{:.1}", bytes as f64 / 1e6)])
}

/// The status while the engine reads files the user gave: no error, no data yet, no progress.
fn reading(state: AppState) {
    state.data_error.set(None);
    state.error.set(None);
    state.data_missing.set(None);
    state.data_ready.set(None);
    state.data_progress.set((0, 0));
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
    reading(state);
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
    let name = move || dataset_title(state.spec.get().dataset);
    let pictures = move || state.spec.get().dataset == DatasetKind::Images;
    let label = move || match state.data_ready.get() {
        Some((train, test)) => tf("data.ready", &[&name(), &train, &test]),
        None => {
            let (loaded, total) = state.data_progress.get();
            match (total, bundled()) {
                (0, true) => tf("data.downloading", &[&name()]),
                (_, true) => tf("data.downloading_of", &[&name(), &mb(loaded), &mb(total)]),
                (0, false) => tf("data.waiting", &[&name()]),
                (_, false) if pictures() => tf("data.pictures_of", &[&loaded, &total]),
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
    let name = move || dataset_title(state.spec.get().dataset);
    if state.spec.get_untracked().dataset == DatasetKind::Images {
        return view! { <PictureFolders state=state /> }.into_any();
    }
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
    .into_any()
}

/// Sends the chosen pictures (files of class folders, or zip archives) with how to read them.
fn open_pictures(state: AppState, list: Option<web_sys::FileList>, side: usize, colour: bool, test_percent: f32) {
    let Some(list) = list.filter(|l| l.length() > 0) else { return };
    let files = js_sys::Array::new();
    let mut paths = Vec::new();
    for i in 0..list.length() {
        let Some(f) = list.get(i) else { continue };
        // A folder's files carry their path under it ("pets/cat/1.jpg"); a zip its name.
        let relative = js_sys::Reflect::get(&f, &"webkitRelativePath".into()).ok().and_then(|p| p.as_string()).filter(|p| !p.is_empty());
        paths.push(relative.unwrap_or_else(|| f.name()));
        files.push(&f);
    }
    reading(state);
    let request = Request::OpenImages { paths, side, channels: if colour { 3 } else { 1 }, test_split: test_percent / 100.0 };
    send_with_files(request, &files);
}

/// The user's pictures: a folder with one sub-folder per class, or a zip of one; the side they
/// are resized to, colour or grey, and the share held out for testing.
#[component]
fn PictureFolders(state: AppState) -> impl IntoView {
    let current = state.spec.get_untracked().images;
    let side = RwSignal::new(current.as_ref().map_or(32, |s| s.side));
    let colour = RwSignal::new(current.as_ref().is_none_or(|s| s.channels == 3));
    let test_percent = RwSignal::new(20.0f32);
    let folder = NodeRef::<leptos::html::Input>::new();
    // `webkitdirectory` (every browser's folder picker) is not an attribute the view knows.
    Effect::new(move |_| {
        if let Some(input) = folder.get() {
            let _ = input.set_attribute("webkitdirectory", "");
        }
    });
    let chosen = move |ev: web_sys::Event| {
        let input = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok());
        let (lo, hi) = crate::engine::spec::dataset::IMAGE_SIDES;
        open_pictures(state, input.as_ref().and_then(|i| i.files()), side.get_untracked().clamp(lo, hi), colour.get_untracked(), test_percent.get_untracked().clamp(5.0, 50.0));
        if let Some(i) = input {
            i.set_value("");
        }
    };
    view! {
        <div class="data-drop" data-testid="data-drop">
            <p>{move || t("data.pictures_bring")}</p>
            <div class="picture-options">
                <label>{move || t("data.pictures_side")}" "
                    <input type="number" min="8" max="64" data-testid="pictures-side" prop:value=move || side.get().to_string()
                           on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { side.set(v) } />
                </label>
                <label>
                    <input type="checkbox" data-testid="pictures-colour" prop:checked=move || colour.get() on:change=move |ev| colour.set(event_target_checked(&ev)) />
                    " "{move || t("data.pictures_colour")}
                </label>
                <label>{move || t("data.pictures_test")}" "
                    <input type="number" min="5" max="50" data-testid="pictures-test" prop:value=move || test_percent.get().to_string()
                           on:change=move |ev| if let Ok(v) = event_target_value(&ev).parse() { test_percent.set(v) } />
                </label>
            </div>
            <div class="picture-actions">
                <label class="button">
                    {move || t("data.pictures_folder")}
                    <input type="file" multiple node_ref=folder data-testid="pictures-folder" on:change=chosen />
                </label>
                <label class="button">
                    {move || t("data.pictures_zip")}
                    <input type="file" accept=".zip" data-testid="pictures-zip" on:change=chosen />
                </label>
            </div>
            <p class="hint">{move || t("data.pictures_hint")}</p>
        </div>
    }
}
