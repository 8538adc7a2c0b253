//! Reading a spec from JSON with errors that name the layer and the field, as shape inference's
//! do ("layer 3, field `kernel_size`: invalid type: …"), instead of serde's "at line 11 column 2".
//!
//! serde_path_to_error gives the path of the failing value, but inside a layer (an internally
//! tagged enum, which serde buffers before it knows the variant) the path stops at the layer.
//! The field is then found by elimination: the one whose removal makes the error go away or turn
//! into "missing field".

use super::{Spec, SpecError};
use serde_json::Value;
use serde_path_to_error::{Path, Segment};
use crate::i18n::Message;
use crate::msg;

/// Where a deserialisation error points, in the spec's words.
#[derive(Debug, PartialEq)]
struct Located {
    /// The layer, when the error is inside `layers[i]`.
    layer: Option<usize>,
    /// Dotted path of the field (within the layer for layer errors).
    field: String,
    /// serde's explanation.
    message: String,
}

fn segments(path: &Path) -> Vec<String> {
    path.iter()
        .filter_map(|s| match s {
            Segment::Seq { index } => Some(format!("[{index}]")),
            Segment::Map { key } => Some(key.clone()),
            Segment::Enum { variant } => Some(variant.clone()),
            Segment::Unknown => None,
        })
        .collect()
}

fn deserialize(value: &Value) -> Result<Spec, (Vec<String>, String)> {
    serde_path_to_error::deserialize::<_, Spec>(value).map_err(|e| (segments(e.path()), without_position(e.inner().to_string())))
}

/// The object at `path` (map keys and `[i]` indices) inside `value`.
fn object_at<'v>(value: &'v mut Value, path: &[String]) -> Option<&'v mut serde_json::Map<String, Value>> {
    let mut v = value;
    for seg in path {
        v = match seg.strip_prefix('[').and_then(|s| s.strip_suffix(']')).and_then(|i| i.parse::<usize>().ok()) {
            Some(i) => v.get_mut(i)?,
            None => v.get_mut(seg.as_str())?,
        };
    }
    v.as_object_mut()
}

/// The field of the object at `path` that causes `message`: the one whose removal makes the
/// error go away or become "missing field" there.
fn culprit(value: &Value, path: &[String], message: &str) -> Option<String> {
    if let Some(rest) = message.strip_prefix("unknown field `") {
        return rest.split('`').next().map(str::to_string);
    }
    if let Some(rest) = message.strip_prefix("missing field `") {
        return rest.split('`').next().map(str::to_string);
    }
    let keys: Vec<String> = object_at(&mut value.clone(), path)?.keys().filter(|k| *k != "type").cloned().collect();
    keys.into_iter().find(|key| {
        let mut without = value.clone();
        let Some(obj) = object_at(&mut without, path) else { return false };
        obj.remove(key);
        match deserialize(&without) {
            Ok(_) => true,
            Err((p, m)) => p.as_slice() == path && m == format!("missing field `{key}`"),
        }
    })
}

fn locate(value: &Value, path: Vec<String>, message: String) -> Located {
    let layer = match path.as_slice() {
        [first, index, ..] if first == "layers" => index.trim_matches(['[', ']']).parse::<usize>().ok(),
        _ => None,
    };
    let (object_path, mut field_path) = match layer {
        // Within a layer: the field path below `layers[i]`.
        Some(_) => (path.clone(), path[2..].to_vec()),
        None => (path.clone(), path.clone()),
    };
    // The path ends at an object when serde could not see inside it (tagged enums).
    if object_at(&mut value.clone(), &object_path).is_some() {
        if let Some(field) = culprit(value, &object_path, &message) {
            field_path.push(field);
        }
    }
    let field = if field_path.is_empty() { "type".to_string() } else { field_path.join(".").replace(".[", "[") };
    Located { layer, field, message }
}

/// serde_json's message without its " at line 3 column 7" (the layer and field say where).
fn without_position(message: String) -> String {
    match message.rfind(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message,
    }
}

/// serde's error words as a message of the tables: its common shapes (unknown, missing or
/// duplicate field, unknown variant, invalid type or value) are keyed so they read in the page's
/// language, with serde's names and expectations inside them; anything else is shown verbatim.
pub fn serde_message(text: &str) -> Message {
    // The `{unexpected}, expected {expected}` tail that serde's messages share.
    let split = |rest: &str| rest.split_once(", expected ").map(|(a, b)| (a.to_string(), b.to_string()));
    let ticked = |rest: &str| rest.strip_prefix('`').and_then(|r| r.split_once('`')).map(|(name, tail)| (name.to_string(), tail.to_string()));
    if let Some((field, tail)) = text.strip_prefix("unknown field ").and_then(ticked) {
        return match tail.strip_prefix(", expected one of ").or_else(|| tail.strip_prefix(", expected ")) {
            Some(known) => msg!("err.serde_unknown_field", field, known),
            None => msg!("err.serde_no_fields", field),
        };
    }
    if let Some((variant, tail)) = text.strip_prefix("unknown variant ").and_then(ticked) {
        let known = tail.strip_prefix(", expected one of ").or_else(|| tail.strip_prefix(", expected ")).unwrap_or("");
        return msg!("err.serde_unknown_variant", variant, known);
    }
    if let Some((field, _)) = text.strip_prefix("missing field ").and_then(ticked) {
        return msg!("err.serde_missing_field", field);
    }
    if let Some((field, _)) = text.strip_prefix("duplicate field ").and_then(ticked) {
        return msg!("err.serde_duplicate_field", field);
    }
    if let Some((found, expected)) = text.strip_prefix("invalid type: ").and_then(split) {
        return msg!("err.serde_invalid_type", found, expected);
    }
    if let Some((found, expected)) = text.strip_prefix("invalid value: ").and_then(split) {
        return msg!("err.serde_invalid_value", found, expected);
    }
    Message::verbatim(text)
}

/// Parses a spec from JSON; errors name the layer and the field, or the line and column of a
/// syntax error. A key given twice in one object is refused ("duplicate field"), not resolved.
pub fn from_json(text: &str) -> Result<Spec, Message> {
    let mut de = serde_json::Deserializer::from_str(text);
    let (path, message) = match serde_path_to_error::deserialize::<_, Spec>(&mut de) {
        Ok(spec) => return de.end().map(|()| spec).map_err(|e| msg!("err.not_json", e.to_string())),
        Err(e) if e.inner().is_syntax() || e.inner().is_eof() => return Err(msg!("err.not_json", e.inner().to_string())),
        Err(e) => (segments(e.path()), without_position(e.inner().to_string())),
    };
    let value: Value = serde_json::from_str(text).map_err(|e| msg!("err.not_json", e.to_string()))?;
    let at = locate(&value, path, message);
    Err(SpecError { layer: at.layer, field: at.field, message: serde_message(&at.message) }.message())
}

#[cfg(test)]
mod tests {
    use super::*;

    impl Spec {
        fn default_json() -> String {
            serde_json::to_string(&Spec::default()).unwrap()
        }
    }

    fn with_layer(layer: &str) -> String {
        let mut v = serde_json::to_value(Spec::default()).unwrap();
        v["layers"][3] = serde_json::from_str(layer).unwrap();
        v.to_string()
    }

    #[test]
    fn errors_name_the_layer_and_the_field() {
        for (layer, expected) in [
            (r#"{"type":"warp_drive"}"#, "layer 3, field `type`: unknown variant `warp_drive`"),
            (r#"{"type":"conv2d","out_channels":16,"kernel_size":"five"}"#, "layer 3, field `kernel_size`: a size: a number such as 5"),
            (r#"{"type":"conv2d","out_channels":-1,"kernel_size":5}"#, "layer 3, field `out_channels`: invalid value: integer `-1`"),
            (r#"{"type":"conv2d","out_channels":16,"kernel_size":5,"padding":true}"#, "layer 3, field `padding`: padding: a number"),
            (r#"{"type":"conv2d","kernel_size":5}"#, "layer 3, field `out_channels`: missing field `out_channels`"),
            (r#"{"type":"dropout","inplace":true}"#, "layer 3, field `inplace`: unknown field `inplace`"),
            (r#"{"type":"dropout","p":"half"}"#, "layer 3, field `p`: invalid type: string \"half\""),
            (r#"{"kernel_size":5}"#, "layer 3, field `type`: missing field `type`"),
            (r#"7"#, "layer 3, field `type`: invalid type: integer `7`"),
        ] {
            let err = from_json(&with_layer(layer)).unwrap_err().to_string();
            assert!(err.starts_with(expected), "{layer}: {err}");
        }
    }

    #[test]
    fn errors_outside_layers_name_the_path() {
        let mut v = serde_json::to_value(Spec::default()).unwrap();
        v["training"]["optimizer"] = serde_json::json!({"type": "adam", "lr": "fast"});
        let err = from_json(&v.to_string()).unwrap_err().to_string();
        assert!(err.starts_with("field `training.optimizer.lr`: invalid type: string \"fast\""), "{err}");
        v["training"]["optimizer"] = serde_json::json!({"type": "sgd", "lr": 0.1});
        v["seed"] = serde_json::json!("forty-two");
        assert!(from_json(&v.to_string()).unwrap_err().to_string().starts_with("field `seed`: invalid type: string"));
        assert!(from_json("{\"version\": 1,").unwrap_err().to_string().starts_with("not valid JSON: EOF while parsing"));
        let mut dup = serde_json::to_value(Spec::default()).unwrap().to_string();
        dup.insert_str(1, "\"seed\": 5, ");
        assert_eq!(from_json(&dup).unwrap_err().to_string(), "field `seed`: duplicate field `seed`");
        let dup_in_layer = with_layer(r#"{"type":"dropout","p":0.1}"#).replace("\"p\":0.1", "\"p\":0.1,\"p\":0.2");
        assert_eq!(from_json(&dup_in_layer).unwrap_err().to_string(), "layer 3, field `p`: duplicate field `p`");
        assert!(from_json(&format!("{} x", Spec::default_json())).unwrap_err().to_string().starts_with("not valid JSON: trailing characters"));
    }
}
