#![cfg(not(target_arch = "wasm32"))]
//! Hostile input beyond the URL (issue 13): spec JSON, safetensors files, weights links, IDX files
//! and engine messages. Each must be refused with a message naming the field or tensor, never
//! panic or abort. CI runs a few hundred cases per property; `make fuzz` runs them with
//! `FUZZ_CASES=200000` (over 1,000,000 inputs in all) and prints the counts.

use cnn_playground::engine::data::idx::{decode_idx, encode_idx};
use cnn_playground::engine::data::DataSplit;
use cnn_playground::engine::network::Network;
use cnn_playground::engine::spec::{Spec, PRESETS};
use cnn_playground::engine::{weights, weights_link};
use cnn_playground::protocol::bulk::{self, Chunk};
use cnn_playground::protocol::Request;
use proptest::prelude::*;
use std::sync::atomic::{AtomicU64, Ordering};

/// Cases per property: `FUZZ_CASES`, else a quick CI run.
fn cases() -> u32 {
    std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(300)
}

static INPUTS: AtomicU64 = AtomicU64::new(0);
static REFUSED: AtomicU64 = AtomicU64::new(0);

/// Counts one input (and whether it was refused); every 250,000 inputs a line of figures.
fn count(refused: bool) {
    let n = INPUTS.fetch_add(1, Ordering::Relaxed) + 1;
    let r = REFUSED.fetch_add(u64::from(refused), Ordering::Relaxed) + u64::from(refused);
    if n % 250_000 == 0 {
        println!("fuzz: {n} inputs, {r} refused with a message, 0 panics");
    }
}

/// A JSON value that replaces a field: numbers near the integer limits, NaN-ish strings,
/// wrong types, deep nesting.
fn hostile_value() -> impl Strategy<Value = serde_json::Value> {
    prop_oneof![
        Just(serde_json::json!(0)),
        Just(serde_json::json!(-1)),
        Just(serde_json::json!(u32::MAX)),
        Just(serde_json::json!(u64::MAX)),
        Just(serde_json::json!(1u64 << 31)),
        Just(serde_json::json!(1e308)),
        Just(serde_json::json!(-1e-45)),
        Just(serde_json::json!("NaN")),
        Just(serde_json::json!("same")),
        Just(serde_json::json!(null)),
        Just(serde_json::json!([u64::MAX, 2])),
        Just(serde_json::json!([3, 0])),
        Just(serde_json::json!({"type": "warp"})),
        Just(serde_json::json!([[[[[[]]]]]])),
        (0u64..300).prop_map(|v| serde_json::json!(v)),
        (-10.0f64..10.0).prop_map(|v| serde_json::json!(v)),
        any::<bool>().prop_map(|v| serde_json::json!(v)),
    ]
}

/// Every object path in a JSON value (as a list of keys and indices).
fn object_paths(v: &serde_json::Value, at: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
    match v {
        serde_json::Value::Object(m) => {
            for (k, inner) in m {
                out.push((at.clone(), k.clone()));
                let mut next = at.clone();
                next.push(k.clone());
                object_paths(inner, next, out);
            }
        }
        serde_json::Value::Array(items) => {
            for (i, inner) in items.iter().enumerate() {
                let mut next = at.clone();
                next.push(format!("#{i}"));
                object_paths(inner, next, out);
            }
        }
        _ => {}
    }
}

fn get_mut<'v>(v: &'v mut serde_json::Value, path: &[String]) -> Option<&'v mut serde_json::Value> {
    let mut v = v;
    for seg in path {
        v = match seg.strip_prefix('#') {
            Some(i) => v.get_mut(i.parse::<usize>().ok()?)?,
            None => v.get_mut(seg.as_str())?,
        };
    }
    Some(v)
}

/// A preset's JSON with one field replaced by a hostile value.
fn mutated_spec_json(preset: usize, which: usize, value: serde_json::Value, duplicate: bool) -> String {
    let spec = Spec::preset(PRESETS[preset % PRESETS.len()]).unwrap();
    let mut json = serde_json::to_value(&spec).unwrap();
    let mut paths = Vec::new();
    object_paths(&json, Vec::new(), &mut paths);
    let (path, key) = paths[which % paths.len()].clone();
    if let Some(serde_json::Value::Object(m)) = get_mut(&mut json, &path) {
        m.insert(key.clone(), value);
    }
    let text = json.to_string();
    if duplicate {
        // The same key twice in the top object.
        text.replacen('{', "{\"seed\":1,", 1)
    } else {
        text
    }
}

fn a_network(preset: usize) -> (Spec, Network) {
    let spec = Spec::preset(PRESETS[preset % PRESETS.len()]).unwrap();
    let net = Network::from_spec(&spec).unwrap();
    (spec, net)
}

fn params(net: &Network) -> Vec<Vec<f32>> {
    net.layers.iter().map(|l| [l.params(), l.buffers()].concat()).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    /// A spec with any field replaced parses or is refused naming the layer and field; a spec that
    /// parses is validated without panicking, and one that validates builds.
    #[test]
    fn spec_json_with_hostile_fields(preset in 0usize..16, which in 0usize..400, value in hostile_value(), dup in any::<bool>()) {
        let text = mutated_spec_json(preset, which, value, dup);
        match Spec::from_json(&text) {
            Err(e) => {
                count(true);
                prop_assert!(["err.layer_field", "msg.field_error", "err.not_json"].contains(&&*e.key), "{e}");
            }
            Ok(spec) => match spec.infer() {
                Err(e) => {
                    count(true);
                    prop_assert!(!e.field.is_empty());
                }
                Ok(infos) => {
                    count(false);
                    if infos.iter().map(|i| i.params).sum::<usize>() < 2_000_000 {
                        Network::from_spec(&spec).unwrap();
                    }
                }
            },
        }
    }

    /// Arbitrary text as spec JSON.
    #[test]
    fn spec_json_arbitrary_text(text in "\\PC{0,200}") {
        count(Spec::from_json(&text).is_err());
    }

    /// A weights file with bytes flipped, truncated or extended is refused or loads; a refused
    /// file leaves the model as it was; a loaded one holds only finite numbers.
    #[test]
    fn safetensors_mutations(preset in 0usize..3, pos in any::<usize>(), byte in any::<u8>(), cut in any::<bool>(), nan in any::<bool>()) {
        let (spec, mut net) = a_network(preset);
        let mut bytes = weights::save(&net, &spec);
        if nan {
            // A NaN or ∞ pattern somewhere in the data.
            let at = 8 + (pos % (bytes.len() - 12));
            bytes[at..at + 4].copy_from_slice(&[0x00, 0x00, 0xc0, 0x7f]);
        } else {
            let at = pos % bytes.len();
            bytes[at] = byte;
        }
        if cut {
            bytes.truncate(pos % bytes.len());
        }
        let before = params(&net);
        match weights::load(&mut net, &bytes) {
            Err(_) => {
                count(true);
                prop_assert_eq!(params(&net), before);
            }
            Ok(()) => {
                count(false);
                prop_assert!(params(&net).iter().flatten().all(|v| v.is_finite()));
            }
        }
    }

    /// Random bytes as a safetensors file.
    #[test]
    fn safetensors_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let (_, mut net) = a_network(0);
        count(weights::load(&mut net, &bytes).is_err());
    }

    /// A weights link with characters changed is refused (model untouched) or loads finite weights.
    #[test]
    fn weights_link_mutations(pos in any::<usize>(), c in "[A-Za-z0-9_-]", cut in any::<bool>()) {
        let (_, mut net) = a_network(0);
        let link = weights_link::encode(&net).unwrap();
        let mut chars: Vec<char> = link.chars().collect();
        let at = pos % chars.len();
        chars[at] = c.chars().next().unwrap();
        if cut {
            chars.truncate(at);
        }
        let text: String = chars.into_iter().collect();
        let before = params(&net);
        match weights_link::decode(&mut net, &text) {
            Err(e) => {
                count(true);
                prop_assert!(e.key.starts_with("err.link_"), "{e}");
                prop_assert_eq!(params(&net), before);
            }
            Ok(_) => {
                count(false);
                prop_assert!(params(&net).iter().flatten().all(|v| v.is_finite()));
            }
        }
    }

    /// IDX files with hostile headers (dimensions near 2³², wrong magic, truncation) are refused
    /// naming the file; valid ones decode.
    #[test]
    fn idx_headers(dims in proptest::collection::vec(prop_oneof![Just(u32::MAX), Just(1u32 << 31), 0u32..40], 0..5),
                   magic in any::<[u8; 4]>(), keep_magic in any::<bool>(), extra in 0usize..64, cut in any::<usize>()) {
        let n: usize = dims.iter().map(|&d| d as usize).try_fold(1usize, |a, d| a.checked_mul(d)).unwrap_or(usize::MAX).min(4096);
        let mut bytes = encode_idx(&dims, &vec![7u8; n]);
        if !keep_magic {
            bytes[..4].copy_from_slice(&magic);
        }
        bytes.extend(std::iter::repeat_n(0u8, extra));
        if cut % 3 == 0 {
            bytes.truncate(cut % (bytes.len() + 1));
        }
        match decode_idx("fuzz.idx", &bytes) {
            Err(e) => {
                count(true);
                prop_assert!(e.to_string().contains("fuzz.idx"), "{e}");
            }
            Ok(a) => {
                count(false);
                prop_assert_eq!(a.data.len(), a.dims.iter().product::<usize>());
            }
        }
    }

    /// Four random files as a dataset.
    #[test]
    fn dataset_random_files(files in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..64), 4)) {
        count(DataSplit::from_files([&files[0], &files[1], &files[2], &files[3]], 10).is_err());
    }

    /// Engine requests as they arrive from the page (JSON plus bulk arrays): any text either
    /// parses into a request or is refused, bulk references included (missing, repeated or of
    /// the wrong type); a parsed Build's spec validates without panicking.
    #[test]
    fn engine_messages(preset in 0usize..16, which in 0usize..400, value in hostile_value(), raw in "\\PC{0,80}", bulk in 0usize..4) {
        let spec_json = mutated_spec_json(preset, which, value, false);
        let chunks = vec![Chunk::F32(vec![0.5; 784]), Chunk::U8(vec![7; 784])];
        for text in [
            format!("{{\"Build\":{{\"spec\":{spec_json}}}}}"),
            raw.clone(),
            format!("{{\"Predict\":{{\"pixels\":{{\"bulk\":{bulk}}}}}}}"),
            format!("{{\"Predict\":{{\"pixels\":{raw}}}}}"),
        ] {
            match bulk::from_wire::<Request>(&text, chunks.clone()) {
                Ok(Request::Build { spec }) => {
                    count(spec.infer().is_err());
                }
                Ok(_) => count(false),
                Err(_) => count(true),
            }
        }
    }
}
