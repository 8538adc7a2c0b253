//! The spec as a URL fragment, readable and hand-editable in the style of TensorFlow Playground:
//!
//! `v=1&dataset=mnist&seed=42&layers=conv2d(out_channels=8,kernel_size=5,padding=2);relu;max_pool2d(kernel_size=2);flatten;linear(out_features=10)&optimizer=sgd(lr=0.05,momentum=0.9)&epochs=1`
//!
//! Keys are the spec's field names (training fields at the top level); layers are
//! `type(field=value,…)` joined by `;`; values are numbers, `true`/`false`, words, `AxB` for
//! `[A, B]`, and `(field=value,…)` / `type(…)` for nested settings. Fields at their default are
//! left out. Decoding never fails: whatever can be read is used, and every part that could not
//! be is listed in a notice with the reason.

use super::{LayerSpec, Shortcut, Spec, SPEC_VERSION};
use percent_encoding::utf8_percent_encode;
use serde_json::{Map, Value};
use crate::i18n::Message;
use crate::msg;

/// Training fields that appear as top-level keys.
const TRAINING_KEYS: [&str; 11] = [
    "batch_size", "epochs", "optimizer", "schedule", "loss", "label_smoothing", "l1", "l2",
    "validation_split", "early_stopping", "augment",
];

/// What is escaped in a class name (`,` separates the names, `&` the keys).
const NAME_ESCAPES: &percent_encoding::AsciiSet = &percent_encoding::CONTROLS.add(b' ').add(b',').add(b'&').add(b'#').add(b'%');

/// Spec fields that appear as top-level keys (besides `v` and `layers`).
const SPEC_KEYS: [&str; 3] = ["dataset", "seed", "init"];

/// A decoded fragment: the spec and what had to be ignored.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded {
    /// Everything that could be read, on top of the default spec.
    pub spec: Spec,
    /// One line per ignored part, naming it and saying why.
    pub notices: Vec<Message>,
    /// Weights carried by the link (`w=`, see `engine::weights_link`), still encoded.
    pub weights: Option<String>,
}

// ---------- encoding ----------

/// JSON of `x` through its text form, so f32 fields read as their shortest decimal (0.05, not
/// 0.05000000074505806).
fn json<T: serde::Serialize>(x: &T) -> Value {
    serde_json::from_str(&serde_json::to_string(x).expect("serialises")).expect("valid JSON")
}

fn scalar(v: &Value) -> String {
    match v {
        Value::Null => "none".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join("x"),
        Value::Object(m) => object(m),
    }
}

fn object(m: &Map<String, Value>) -> String {
    let args: Vec<String> = m.iter().filter(|(k, _)| *k != "type").map(|(k, v)| format!("{k}={}", scalar(v))).collect();
    let name = m.get("type").and_then(Value::as_str).unwrap_or("");
    format!("{name}({})", args.join(","))
}

/// Drops the fields of `value` (recursively) that are at the default `fresh` would give them.
/// `fresh` deserialises an object; a field is at its default when removing it deserialises to
/// the same value.
fn strip_defaults(value: &Value, fresh: &dyn Fn(&Value) -> Option<Value>) -> Value {
    let Value::Object(m) = value else { return value.clone() };
    let mut out = m.clone();
    for key in m.keys() {
        if key == "type" {
            continue;
        }
        let mut without = out.clone();
        without.shift_remove(key);
        if fresh(&Value::Object(without.clone())).as_ref() == Some(value) {
            out = without;
        }
    }
    Value::Object(out)
}

fn layer_text(layer: &LayerSpec) -> String {
    if let LayerSpec::Residual { layers, shortcut } = layer {
        let body: Vec<String> = layers.iter().map(layer_text).collect();
        let shortcut = if *shortcut == Shortcut::default() { String::new() } else { format!(",shortcut={}", scalar(&json(shortcut))) };
        return format!("residual(layers=[{}]{shortcut})", body.join(";"));
    }
    let v = json(layer);
    let fresh = |v: &Value| serde_json::from_value::<LayerSpec>(v.clone()).ok().map(|l| json(&l));
    let m = strip_defaults(&v, &fresh);
    let Value::Object(m) = m else { unreachable!("layers serialise to objects") };
    if m.len() == 1 { scalar(&m["type"]) } else { object(&m) }
}

/// Nested training values (optimizer, schedule, …) with their own defaults stripped.
fn training_value(key: &str, v: &Value) -> Value {
    let base = json(&Spec::default().training);
    let fresh = |candidate: &Value| {
        let mut t = base.clone();
        t[key] = candidate.clone();
        serde_json::from_value::<super::TrainingSpec>(t).ok().map(|t| json(&t)[key].clone())
    };
    strip_nested(v, &fresh)
}

/// Strips defaults at this level and inside nested objects.
fn strip_nested(v: &Value, fresh: &dyn Fn(&Value) -> Option<Value>) -> Value {
    let stripped = strip_defaults(v, fresh);
    let Value::Object(m) = &stripped else { return stripped };
    let mut out = m.clone();
    for (k, inner) in m {
        if inner.is_object() {
            let key = k.clone();
            let parent = stripped.clone();
            let fresh_inner = move |candidate: &Value| {
                let mut p = parent.clone();
                p[&key] = candidate.clone();
                fresh(&p).map(|p| p[&key].clone())
            };
            out.insert(k.clone(), strip_nested(inner, &fresh_inner));
        }
    }
    Value::Object(out)
}

/// The fragment (without `#`) for a spec.
pub fn encode(spec: &Spec) -> String {
    let default = json(&Spec::default());
    let value = json(spec);
    let mut parts = vec![format!("v={SPEC_VERSION}")];
    for key in SPEC_KEYS {
        parts.push(format!("{key}={}", scalar(&value[key])));
    }
    if let Some(set) = &spec.images {
        parts.push(format!("images={}x{}x{}", set.channels, set.side, set.side));
        let names: Vec<String> = set.classes.iter().map(|c| utf8_percent_encode(c, NAME_ESCAPES).to_string()).collect();
        parts.push(format!("classes={}", names.join(",")));
    }
    let layers: Vec<String> = spec.layers.iter().map(layer_text).collect();
    parts.push(format!("layers={}", layers.join(";")));
    for key in TRAINING_KEYS {
        let v = &value["training"][key];
        if *v != default["training"][key] || key == "batch_size" || key == "epochs" || key == "optimizer" {
            let v = if v.is_object() { training_value(key, v) } else { v.clone() };
            parts.push(format!("{key}={}", scalar(&v)));
        }
    }
    parts.join("&")
}

// ---------- decoding ----------

/// `%28` → `(` (browsers may escape what they copy); invalid escapes stay as they are.
fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s).decode_utf8_lossy().into_owned()
}

/// A recursive-descent reader of the compact value syntax.
struct Reader<'a> {
    s: &'a [u8],
    pos: usize,
    /// Fields given more than once inside one `(…)`: the first value is kept, these are listed.
    repeated: Vec<String>,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }

    fn word(&mut self) -> &'a str {
        let start = self.pos;
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-' | b'+') {
                self.pos += 1;
            } else {
                break;
            }
        }
        std::str::from_utf8(&self.s[start..self.pos]).unwrap_or("")
    }

    /// `word`, `word(args)`, `(args)` or a list of layers `[a;b(…);…]`.
    fn value(&mut self, depth: usize) -> Result<Value, Message> {
        if depth > 8 {
            return Err(msg!("err.url_nested"));
        }
        if self.peek() == Some(b'[') {
            self.pos += 1;
            let mut items = Vec::new();
            while self.peek() != Some(b']') {
                let item = match self.value(depth + 1)? {
                    Value::String(kind) => serde_json::json!({ "type": kind }),
                    other => other,
                };
                items.push(item);
                match self.peek() {
                    Some(b';') => self.pos += 1,
                    Some(b']') => {}
                    _ => return Err(msg!("err.url_expected_separator", self.pos + 1)),
                }
            }
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        let word = self.word();
        if self.peek() == Some(b'(') {
            self.pos += 1;
            let mut m = Map::new();
            if !word.is_empty() {
                m.insert("type".into(), Value::String(word.into()));
            }
            loop {
                if self.peek() == Some(b')') {
                    self.pos += 1;
                    break;
                }
                let key = self.word().to_string();
                if key.is_empty() || self.peek() != Some(b'=') {
                    return Err(msg!("err.url_expected_field", self.pos + 1));
                }
                self.pos += 1;
                let v = self.value(depth + 1)?;
                if m.contains_key(&key) {
                    self.repeated.push(key);
                } else {
                    m.insert(key, v);
                }
                match self.peek() {
                    Some(b',') => self.pos += 1,
                    Some(b')') => {}
                    _ => return Err(msg!("err.url_expected_separator", self.pos + 1)),
                }
            }
            return Ok(Value::Object(m));
        }
        if word.is_empty() {
            return Err(msg!("err.url_expected_value", self.pos + 1));
        }
        Ok(word_value(word))
    }
}

/// The `;`-separated layers of `layers=`, keeping a residual block's `[…;…]` body whole. Only
/// brackets count (a broken `(` must not swallow the layers after it); with unbalanced brackets
/// every `;` separates, so each piece is read or named on its own.
fn split_layers(text: &str) -> Vec<&str> {
    let (mut parts, mut depth, mut start) = (Vec::new(), 0i64, 0);
    for (i, c) in text.bytes().enumerate() {
        match c {
            b'[' => depth += 1,
            b']' => depth -= 1,
            b';' if depth == 0 => {
                parts.push(&text[start..i]);
                start = i + 1;
            }
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    if depth != 0 {
        return text.split(';').collect();
    }
    parts.push(&text[start..]);
    parts
}

/// A bare word as JSON: number, bool, `none`, `AxB` array, or a string.
fn word_value(word: &str) -> Value {
    match word {
        "true" => return Value::Bool(true),
        "false" => return Value::Bool(false),
        "none" => return Value::Null,
        _ => {}
    }
    if let Ok(n) = word.parse::<u64>() {
        return Value::from(n);
    }
    if let Ok(f) = word.parse::<f64>() {
        if f.is_finite() {
            return serde_json::Number::from_f64(f).map_or(Value::String(word.into()), Value::Number);
        }
    }
    if word.contains('x') && word.split('x').all(|p| p.parse::<f64>().is_ok()) {
        return Value::Array(word.split('x').map(word_value).collect());
    }
    Value::String(word.into())
}

/// Parses one value; also returns the fields that were given more than once (first kept).
fn parse_value_noting(text: &str) -> Result<(Value, Vec<String>), Message> {
    let mut r = Reader { s: text.as_bytes(), pos: 0, repeated: Vec::new() };
    let v = r.value(0)?;
    if r.pos != text.len() {
        return Err(msg!("err.url_unexpected", short(&text[r.pos..]), r.pos + 1));
    }
    Ok((v, r.repeated))
}

fn repeated_notice(place: Message, repeated: &[String]) -> Option<Message> {
    (!repeated.is_empty()).then(|| {
        let names: Vec<String> = repeated.iter().map(|k| format!("`{}`", short(k))).collect();
        msg!("err.url_repeated_field", place, names.join(", "))
    })
}

fn short(text: &str) -> String {
    if text.chars().count() > 40 { format!("{}…", text.chars().take(40).collect::<String>()) } else { text.into() }
}

/// Reads a fragment (with or without `#`); never fails.
pub fn decode(fragment: &str) -> Decoded {
    let fragment = percent_decode(fragment.trim_start_matches('#'));
    let mut spec = Spec::default();
    let mut notices = Vec::new();
    let mut weights = None;
    let mut current = json(&spec);
    // Keys in order of first appearance, with how often each was given.
    let mut seen: Vec<(&str, usize)> = Vec::new();
    // The user's images: `images=CxSxS` and `classes=a,b,…`, put together after the loop.
    let (mut image_shape, mut class_names) = (None, None);
    for part in fragment.split('&').filter(|p| !p.is_empty()) {
        let Some((key, text)) = part.split_once('=') else {
            notices.push(msg!("err.url_ignored_pair", short(part)));
            continue;
        };
        // A key given twice keeps its first value, as URLSearchParams.get does.
        if let Some((_, count)) = seen.iter_mut().find(|(k, _)| *k == key) {
            *count += 1;
            continue;
        }
        seen.push((key, 1));
        match key {
            "w" => weights = Some(text.to_string()),
            "images" => match text.split('x').map(str::parse::<usize>).collect::<Result<Vec<_>, _>>().as_deref() {
                Ok(&[c, h, w]) if h == w => image_shape = Some((c, h)),
                _ => notices.push(msg!("err.url_ignored_value", format!("images={}", short(text)), msg!("err.url_images_shape"))),
            },
            "classes" => class_names = Some(text.split(',').map(str::to_owned).collect::<Vec<_>>()),
            "v" => {
                if text != SPEC_VERSION.to_string() {
                    notices.push(msg!("err.url_version", short(text), SPEC_VERSION));
                }
            }
            "layers" => {
                let mut layers = Vec::new();
                for (i, layer_text) in split_layers(text).into_iter().enumerate().filter(|(_, t)| !t.is_empty()) {
                    let parsed = parse_value_noting(layer_text).and_then(|(v, repeated)| {
                        let v = if let Value::String(s) = v { serde_json::json!({ "type": s }) } else { v };
                        serde_json::from_value::<LayerSpec>(v).map(|l| (l, repeated)).map_err(|e| super::json::serde_message(&e.to_string()))
                    });
                    match parsed {
                        Ok((l, repeated)) => {
                            notices.extend(repeated_notice(msg!("err.url_layer", i + 1), &repeated));
                            layers.push(l);
                        }
                        Err(e) => notices.push(msg!("err.url_ignored_layer", i + 1, short(layer_text), e)),
                    }
                }
                if layers.is_empty() {
                    notices.push(msg!("err.url_no_layers"));
                } else {
                    spec.layers = layers;
                    current["layers"] = json(&spec.layers);
                }
            }
            _ => {
                let path_is_training = TRAINING_KEYS.contains(&key);
                if !path_is_training && !SPEC_KEYS.contains(&key) {
                    notices.push(msg!("err.url_unknown_key", short(key)));
                    continue;
                }
                let applied = parse_value_noting(text).and_then(|(mut v, repeated)| {
                    notices.extend(repeated_notice(msg!("err.url_key", short(key)), &repeated));
                    // A number where a word-valued enum or string is expected stays a word.
                    if key == "dataset" || key == "init" || key == "loss" {
                        v = Value::String(text.into());
                    }
                    let mut candidate = current.clone();
                    if path_is_training {
                        candidate["training"][key] = v;
                    } else {
                        candidate[key] = v;
                    }
                    let s: Spec = serde_json::from_value(candidate.clone()).map_err(|e| super::json::serde_message(&e.to_string()))?;
                    s.training.check().map_err(|e| e.message())?;
                    Ok((s, candidate))
                });
                match applied {
                    Ok((s, candidate)) => {
                        spec = s;
                        current = candidate;
                    }
                    Err(e) => notices.push(msg!("err.url_ignored_value", format!("{key}={}", short(text)), e)),
                }
            }
        }
    }
    match (image_shape, class_names) {
        (Some((channels, side)), Some(classes)) => {
            let set = super::ImageSet { channels, side, classes };
            match set.check() {
                Ok(()) => spec.images = Some(set),
                Err(e) => notices.push(msg!("err.url_ignored_value", "images", e.message())),
            }
        }
        (None, None) => {}
        _ => notices.push(msg!("err.url_images_half")),
    }
    for (key, count) in seen.into_iter().filter(|(_, n)| *n > 1) {
        notices.push(msg!("err.url_repeated_key", short(key), count));
    }
    Decoded { spec, notices, weights }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::PRESETS;

    #[test]
    fn reference_net_reads_like_a_sentence() {
        assert_eq!(
            encode(&Spec::default()),
            "v=1&dataset=mnist&seed=42&init=pytorch&layers=conv2d(out_channels=8,kernel_size=5,padding=2);relu;\
             max_pool2d(kernel_size=2);conv2d(out_channels=16,kernel_size=5,padding=2);relu;max_pool2d(kernel_size=2);\
             flatten;linear(out_features=10)&batch_size=64&epochs=1&optimizer=sgd(lr=0.05,momentum=0.9)"
        );
    }

    #[test]
    fn every_preset_and_rich_settings_round_trip() {
        for name in PRESETS {
            let spec = Spec::preset(name).unwrap();
            let d = decode(&encode(&spec));
            assert_eq!(d.notices, Vec::<String>::new(), "{name}");
            assert_eq!(d.spec, spec, "{name}: {}", encode(&spec));
        }
        let mut spec = Spec::preset("keras-bn-cnn").unwrap();
        spec.training = serde_json::from_str(
            r#"{"batch_size":32,"epochs":7,"optimizer":{"type":"adam_w","lr":0.002,"betas":[0.8,0.95]},
                "schedule":{"kind":{"type":"cosine","t_max":7},"warmup_steps":100},"label_smoothing":0.1,"l2":0.0001,
                "validation_split":0.1,"early_stopping":{"patience":3},"augment":{"rotation":10,"elastic_alpha":2.5}}"#,
        )
        .unwrap();
        spec.layers[0] = serde_json::from_str(r#"{"type":"conv2d","out_channels":32,"kernel_size":[3,5],"padding":"same","padding_mode":"reflect","dilation":[1,2],"bias":false}"#).unwrap();
        spec.seed = 123456789012;
        spec.dataset = crate::engine::spec::DatasetKind::FashionMnist;
        let text = encode(&spec);
        let d = decode(&text);
        assert_eq!(d.notices, Vec::<String>::new());
        assert_eq!(d.spec.training, spec.training, "{text}");
        assert_eq!(d.spec.layers, spec.layers, "{text}");
        assert_eq!(d.spec, spec, "{text}");
        assert!(text.contains("kernel_size=3x5,padding=same,padding_mode=reflect,dilation=1x2,bias=false"), "{text}");
        assert!(text.contains("schedule=(kind=cosine(t_max=7),warmup_steps=100)"), "{text}");
        // Browsers may percent-encode what they copy.
        let escaped = text.replace('(', "%28").replace(')', "%29").replace(';', "%3B");
        assert_eq!(decode(&format!("#{escaped}")).spec, spec);
    }

    #[test]
    fn datasets_and_the_users_images_round_trip() {
        let mut spec = Spec { dataset: crate::engine::spec::DatasetKind::Cifar100, ..Spec::default() };
        spec.layers.last_mut().map(|l| *l = LayerSpec::linear(100));
        let text = encode(&spec);
        assert!(text.contains("dataset=cifar-100&"), "{text}");
        assert_eq!(decode(&text).spec, spec);
        spec.dataset = crate::engine::spec::DatasetKind::Images;
        spec.layers.last_mut().map(|l| *l = LayerSpec::linear(3));
        let classes = ["cat", "big dog", "x/y"].map(String::from).to_vec();
        spec.images = Some(crate::engine::spec::ImageSet { channels: 3, side: 48, classes });
        let text = encode(&spec);
        assert!(text.contains("&images=3x48x48&classes=cat,big%20dog,x/y&"), "{text}");
        let d = decode(&text);
        assert_eq!(d.notices, Vec::<String>::new());
        assert_eq!(d.spec, spec);
        assert!(d.spec.infer().is_ok());
        let half = decode("images=3x48x48&dataset=images");
        assert_eq!(half.notices[0].to_string(), "`images` and `classes` go together; the images' shape and classes were ignored");
        let bad = decode("images=3x48x40&classes=a,b");
        assert!(bad.notices[0].to_string().starts_with("ignored `images=3x48x40`"), "{:?}", bad.notices);
        let many = decode("images=2x48x48&classes=a,b");
        assert!(many.notices[0].to_string().contains("must be in {1, 3}, not 2"), "{:?}", many.notices);
    }

    #[test]
    fn pytorch_options_of_the_norms_round_trip() {
        let layers = "conv2d(out_channels=4,kernel_size=3);batch_norm2d(momentum=none,track_running_stats=false);\
                      adaptive_avg_pool2d(output_size=1);batch_norm2d(momentum=0.3);layer_norm(bias=false);flatten;\
                      linear(out_features=10);batch_norm1d(momentum=none)";
        let d = decode(&format!("#v=1&layers={layers}"));
        assert_eq!(d.notices, Vec::<String>::new());
        let expected: Vec<LayerSpec> = serde_json::from_str(
            r#"[{"type":"conv2d","out_channels":4,"kernel_size":3},{"type":"batch_norm2d","momentum":null,"track_running_stats":false},
                {"type":"adaptive_avg_pool2d","output_size":1},{"type":"batch_norm2d","momentum":0.3},{"type":"layer_norm","bias":false},
                {"type":"flatten"},{"type":"linear","out_features":10},{"type":"batch_norm1d","momentum":null}]"#,
        )
        .unwrap();
        assert_eq!(d.spec.layers, expected);
        assert!(matches!(d.spec.layers[1], LayerSpec::BatchNorm2d { momentum: None, track_running_stats: false, .. }));
        assert!(d.spec.infer().is_ok(), "{:?}", d.spec.infer());
        let text = encode(&d.spec);
        assert!(text.contains(&layers.replace(' ', "")), "{text}");
        assert_eq!(decode(&text).spec, d.spec);
    }

    #[test]
    fn broken_links_keep_what_can_be_read() {
        let d = decode("v=9&layers=conv2d(out_channels=4,kernel_size=3);warp_drive;relu;conv2d(out_channels=;flatten;linear(out_features=10)&lr=3&epochs=0&batch_size=abc&optimizer=sgd(lr=0.2)&seed=7&junk");
        assert_eq!(d.spec.seed, 7);
        assert_eq!(d.spec.training.optimizer, crate::engine::spec::OptimizerSpec::sgd(0.2, 0.0));
        assert_eq!(d.spec.layers.len(), 4, "{:?}", d.spec.layers);
        let all = d.notices.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n");
        for expected in [
            "link version `9` is not 1",
            "ignored layer 2 `warp_drive`: unknown variant `warp_drive`",
            "ignored layer 4 `conv2d(out_channels=`: expected a value at character 21",
            "ignored unknown key `lr`",
            "ignored `epochs=0`: field `training.epochs`: must be between 1 and 1000",
            "ignored `batch_size=abc`: invalid type: string \"abc\", expected usize",
            "ignored `junk`: expected key=value",
        ] {
            assert!(all.contains(expected), "missing `{expected}` in:\n{all}");
        }
        assert_eq!(decode("").spec, Spec::default());
    }

    /// Issue 13, item 5: a repeated key or field keeps its first value and says so by name.
    #[test]
    fn repeated_keys_keep_the_first_value_and_say_so() {
        let d = decode("seed=1&seed=2");
        assert_eq!(d.spec.seed, 1);
        assert_eq!(d.notices, ["`seed=` given 2 times: the first one is used"]);
        let d = decode("layers=conv2d(out_channels=4,kernel_size=3,kernel_size=5);relu;flatten;linear(out_features=10)&layers=flatten;linear(out_features=10)");
        assert_eq!(d.spec.layers.len(), 4);
        assert_eq!(d.spec.layers[0], LayerSpec::conv(4, 3, 0));
        assert_eq!(
            d.notices,
            [
                "layer 1: field `kernel_size` given more than once: kept the first value",
                "`layers=` given 2 times: the first one is used",
            ]
        );
        // The case the issue found: an empty second `layers=` used to claim the default model was kept.
        let d = decode("layers=flatten;linear(out_features=10)&layers=");
        assert_eq!(d.spec.layers.len(), 2);
        assert_eq!(d.notices, ["`layers=` given 2 times: the first one is used"]);
        let d = decode("optimizer=sgd(lr=0.2,lr=0.3)");
        assert_eq!(d.spec.training.optimizer, crate::engine::spec::OptimizerSpec::sgd(0.2, 0.0));
        assert_eq!(d.notices, ["`optimizer`: field `lr` given more than once: kept the first value"]);
        // A thousand repeats: one notice, nothing else changes.
        let many = vec!["seed=3"; 1000].join("&");
        assert_eq!(decode(&many).notices, ["`seed=` given 1000 times: the first one is used"]);
        assert_eq!(decode("layers=").notices, ["no readable layers: kept the default model"]);
    }

    /// Issue 16: a residual block's body travels as a bracketed list inside `layers=`.
    #[test]
    fn residual_blocks_read_as_nested_lists() {
        let text = "layers=conv2d(out_channels=4,kernel_size=3,padding=1);residual(layers=[conv2d(out_channels=4,kernel_size=3,padding=1);relu;\
                    conv2d(out_channels=8,kernel_size=3,stride=2,padding=1)],shortcut=conv1x1);relu;flatten;linear(out_features=10)";
        let d = decode(text);
        assert_eq!(d.notices, Vec::<String>::new());
        assert_eq!(d.spec.layers.len(), 5);
        let LayerSpec::Residual { layers, shortcut } = &d.spec.layers[1] else { panic!("{:?}", d.spec.layers[1]) };
        assert_eq!((layers.len(), *shortcut), (3, Shortcut::Conv1x1));
        assert_eq!(layers[1], LayerSpec::Relu);
        assert!(encode(&d.spec).contains("residual(layers=[conv2d(out_channels=4,kernel_size=3,padding=1);relu;conv2d("));
        assert_eq!(decode(&encode(&d.spec)).spec, d.spec);
        d.spec.infer().unwrap();
        // The identity shortcut is the default and is left out; a broken body is named.
        let d = decode("layers=residual(layers=[relu;sigmoid]);flatten;linear(out_features=10)");
        assert_eq!(encode(&d.spec).split('&').find(|p| p.starts_with("layers=")).unwrap(), "layers=residual(layers=[relu;sigmoid]);flatten;linear(out_features=10)");
        let d = decode("layers=residual(layers=[relu;conv2d(out_channels=4]);flatten;linear(out_features=10)");
        assert_eq!(d.spec.layers.len(), 2);
        assert_eq!(d.notices.len(), 1, "{:?}", d.notices);
        assert!(d.notices[0].to_string().starts_with("ignored layer 1 `residual(layers=[relu;conv2d("), "{}", d.notices[0]);
    }
}
