//! What differs between two specs, for comparing runs.

use super::Spec;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// `path = value` for every leaf of a JSON value.
fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, String>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                flatten(&if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") }, x, out);
            }
        }
        Value::Array(items) if items.iter().any(Value::is_object) => {
            for (i, x) in items.iter().enumerate() {
                flatten(&format!("{prefix}[{i}]"), x, out);
            }
        }
        other => {
            out.insert(prefix.to_string(), other.to_string());
        }
    }
}

/// What differs between two specs, one `path: a → b` line each.
pub fn spec_diff(a: &Spec, b: &Spec) -> Vec<String> {
    let json = |s: &Spec| serde_json::from_str::<Value>(&serde_json::to_string(s).unwrap_or_default()).unwrap_or(Value::Null);
    let (mut fa, mut fb) = (BTreeMap::new(), BTreeMap::new());
    flatten("", &json(a), &mut fa);
    flatten("", &json(b), &mut fb);
    let keys: BTreeSet<&String> = fa.keys().chain(fb.keys()).collect();
    keys.into_iter()
        .filter(|k| fa.get(*k) != fb.get(*k))
        .map(|k| format!("{k}: {} → {}", fa.get(k).map_or("—", |v| v), fb.get(k).map_or("—", |v| v)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_names_changed_paths() {
        let a = Spec::default();
        let mut b = a.clone();
        b.training.epochs = 3;
        b.layers[0] = crate::engine::spec::LayerSpec::conv(12, 5, 2);
        assert_eq!(spec_diff(&a, &b), ["layers[0].out_channels: 8 → 12", "training.epochs: 1 → 3"]);
        assert!(spec_diff(&a, &a).is_empty());
    }
}
