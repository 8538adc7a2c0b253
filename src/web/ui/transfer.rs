//! Take the model away and bring it back: download the spec (JSON), the weights (safetensors,
//! PyTorch `state_dict` layout) and the equivalent PyTorch code; open a spec or a weights file
//! (e.g. trained in PyTorch). A file that does not fit is refused by name and the current model
//! stays as it was.

use super::client::send;
use super::edit::{apply_spec, locked};
use super::lang::{t, tr};
use super::state::AppState;
use crate::engine::network::Network;
use crate::i18n::Message;
use crate::engine::spec::Spec;
use crate::engine::{export, weights};
use crate::protocol::Request;
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

/// Offers `bytes` to the user as a file download.
pub fn download(state: &AppState, file_name: &str, mime: &str, bytes: &[u8]) {
    if let Err(e) = try_download(file_name, mime, bytes) {
        state.error.set(Some(crate::msg!("msg.download_failed", file_name, format!("{e:?}"))));
    }
}

fn try_download(file_name: &str, mime: &str, bytes: &[u8]) -> Result<(), wasm_bindgen::JsValue> {
    // A copy outside wasm memory: a Blob cannot be made from a view of shared memory.
    let array = js_sys::Uint8Array::new_with_length(bytes.len() as u32);
    array.copy_from(bytes);
    let options = web_sys::BlobPropertyBag::new();
    options.set_type(mime);
    let blob = web_sys::Blob::new_with_u8_array_sequence_and_options(&js_sys::Array::of1(&array), &options)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob)?;
    let document = web_sys::window().and_then(|w| w.document()).ok_or("no document")?;
    let a: web_sys::HtmlAnchorElement = document.create_element("a")?.dyn_into()?;
    a.set_href(&url);
    a.set_download(file_name);
    a.click();
    web_sys::Url::revoke_object_url(&url)
}

/// What an opened file turned out to be, checked in full before anything changes.
enum Opened {
    Spec(Spec),
    /// Weights, with the spec they belong to when it differs from the current one.
    Weights(Option<Spec>),
}

/// Checks a file's bytes: a spec as JSON, or safetensors weights that load into the model of
/// their stored spec (or of the current spec when they carry none, as PyTorch's do).
fn check(name: &str, bytes: &[u8], current: &Spec) -> Result<Opened, Message> {
    let looks_like_json = name.ends_with(".json") || bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if looks_like_json {
        let text = std::str::from_utf8(bytes).map_err(|_| crate::msg!("msg.not_utf8"))?;
        return Spec::from_json(text).map(Opened::Spec);
    }
    let stored = weights::stored_spec(bytes).map_err(|e| crate::msg!("msg.not_safetensors", e))?;
    let target = stored.clone().unwrap_or_else(|| current.clone());
    let mut network = Network::from_spec(&target).map_err(|e| crate::msg!("msg.model_invalid", e))?;
    weights::load(&mut network, bytes).map_err(|e| e.message())?;
    Ok(Opened::Weights(stored.filter(|s| s != current)))
}

async fn open_file(state: AppState, file: web_sys::File) {
    let name = file.name();
    let bytes = match JsFuture::from(file.array_buffer()).await {
        Ok(buffer) => js_sys::Uint8Array::new(&buffer).to_vec(),
        Err(e) => return state.error.set(Some(crate::msg!("msg.file_unreadable", name, format!("{e:?}")))),
    };
    if locked(state) {
        return state.error.set(Some(crate::msg!("msg.pause_before_open")));
    }
    match check(&name, &bytes, &state.spec.get_untracked()) {
        Ok(Opened::Spec(spec)) => {
            apply_spec(state, spec);
            state.notice.set(Some(crate::msg!("msg.opened_spec", name)));
        }
        Ok(Opened::Weights(spec)) => {
            if let Some(spec) = spec {
                apply_spec(state, spec); // the Build goes out before the weights
            }
            send(Request::ImportWeights { bytes, name });
        }
        Err(e) => state.error.set(Some(crate::msg!("msg.not_opened", name, e))),
    }
}

/// The export / import controls.
#[component]
pub fn Transfer(state: AppState) -> impl IntoView {
    let spec_json = move |_| {
        let spec = state.spec.get_untracked();
        let text = serde_json::to_string_pretty(&spec).unwrap_or_default();
        download(&state, "cnn-playground-spec.json", "application/json", text.as_bytes());
    };
    let code = move |_| match export::pytorch_code(&state.spec.get_untracked()) {
        Ok(code) => download(&state, "cnn_playground_model.py", "text/x-python", code.as_bytes()),
        Err(e) => state.error.set(Some(crate::msg!("msg.no_code", e))),
    };
    let on_file = move |ev: web_sys::Event| {
        let Some(input) = ev.target().and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok()) else { return };
        let files: Vec<web_sys::File> = input.files().map_or(Vec::new(), |list| (0..list.length()).filter_map(|i| list.get(i)).collect());
        input.set_value(""); // the same file can be opened again
        wasm_bindgen_futures::spawn_local(async move {
            // A spec first, so weights that go with it find their model.
            let (specs, rest): (Vec<_>, Vec<_>) = files.into_iter().partition(|f| f.name().ends_with(".json"));
            for file in specs.into_iter().chain(rest) {
                open_file(state, file).await;
            }
        });
    };
    view! {
        <div class="row buttons">
            <button class="secondary" data-testid="download-spec" on:click=spec_json>{move || t("transfer.spec")}</button>
            <button class="secondary" data-testid="download-weights" prop:disabled=move || state.model.get().is_none()
                    on:click=move |_| send(Request::ExportWeights)>{move || t("transfer.weights")}</button>
            <button class="secondary" data-testid="download-code" on:click=code>{move || t("transfer.code")}</button>
            <label class="file">{move || t("transfer.open")}" "
                <input type="file" multiple accept=".json,.safetensors,application/json" data-testid="open-file" on:change=on_file />
            </label>
        </div>
        <p class="hint">{move || t("transfer.hint_before")}" "
            <code>"model.load_state_dict(safetensors.torch.load_file(path))"</code>" "{move || t("transfer.hint_after")}</p>
        <Show when=move || state.notice.get().is_some()>
            <p class="notice" role="status" data-testid="notice">{move || state.notice.get().map(|n| tr(&n)).unwrap_or_default()}</p>
        </Show>
    }
}
