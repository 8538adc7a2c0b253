//! The tables agree with each other and with the source: same keys, same placeholders, every
//! key the UI uses exists, no UI text outside the tables, and the engine's messages translate.

use super::*;
use crate::engine::spec::{LayerSpec, Spec};
use std::collections::BTreeSet;
use std::path::Path;

fn keys(lang: Lang) -> Vec<&'static str> {
    lang.table().iter().map(|(k, _)| *k).collect()
}

#[test]
fn both_tables_have_the_same_keys_once_each() {
    for lang in Lang::ALL {
        let k = keys(lang);
        let unique: BTreeSet<_> = k.iter().collect();
        assert_eq!(unique.len(), k.len(), "{lang:?} has a key twice");
    }
    let en: BTreeSet<_> = keys(Lang::En).into_iter().collect();
    let zh: BTreeSet<_> = keys(Lang::Zh).into_iter().collect();
    assert_eq!(en.difference(&zh).collect::<Vec<_>>(), Vec::<&&str>::new(), "keys missing from zh.rs");
    assert_eq!(zh.difference(&en).collect::<Vec<_>>(), Vec::<&&str>::new(), "keys missing from en.rs");
}

#[test]
fn translations_keep_the_placeholders_and_are_not_empty() {
    for (key, en) in Lang::En.table() {
        let zh = text(Lang::Zh, key);
        assert!(!en.trim().is_empty() && !zh.trim().is_empty(), "{key} is empty");
        assert_eq!(matcher::placeholders(en), matcher::placeholders(zh), "{key}: {en} / {zh}");
    }
    // Most of the Chinese table is Chinese (identifiers such as SIMD128 stay as they are).
    let chinese = Lang::Zh.table().iter().filter(|(_, v)| v.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c))).count();
    assert!(chinese * 10 >= Lang::Zh.table().len() * 9, "only {chinese} of {} zh texts contain Chinese", Lang::Zh.table().len());
}

#[test]
fn fills_placeholders_by_number_and_leaves_other_braces() {
    assert_eq!(fill("{1} of {0}", &[&3, &"x"]), "x of 3");
    assert_eq!(fill("{a} {0} {9}", &[&1]), "{a} 1 {9}");
    assert_eq!(text_with(Lang::Zh, "draw.prediction", &[&7]), "预测：7");
    assert_eq!(text(Lang::Zh, "no.such.key"), "no.such.key");
}

#[test]
fn reads_language_tags() {
    assert_eq!(Lang::from_tag("zh-CN"), Some(Lang::Zh));
    assert_eq!(Lang::from_tag("zh_TW"), Some(Lang::Zh));
    assert_eq!(Lang::from_tag("en-GB"), Some(Lang::En));
    assert_eq!(Lang::from_tag("fr"), None);
}

/// Every Rust file under `dir`, recursively.
fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("source directory") {
        let path = entry.expect("entry").path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out
}

/// The string literal right after each `name("` call in `source`.
fn call_keys<'a>(source: &'a str, name: &str) -> Vec<&'a str> {
    let pattern = format!("{name}(\"");
    let mut out = Vec::new();
    for (at, _) in source.match_indices(&pattern) {
        let before = source[..at].chars().last();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue; // part of a longer name
        }
        let rest = &source[at + pattern.len()..];
        if let Some(end) = rest.find('"') {
            out.push(&rest[..end]);
        }
    }
    out
}

fn sources(dir: &str) -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
    rust_files(&root).into_iter().map(|p| (p.display().to_string(), std::fs::read_to_string(&p).expect("readable"))).collect()
}

#[test]
fn every_key_the_page_uses_is_in_the_tables() {
    let known: BTreeSet<_> = keys(Lang::En).into_iter().collect();
    let mut used = 0;
    for (path, source) in sources("src/web") {
        for name in ["t", "tf", "msg"] {
            for key in call_keys(&source, name) {
                used += 1;
                assert!(known.contains(key), "{path} uses `{key}`, which is not in the tables");
            }
        }
    }
    assert!(used > 200, "only {used} keys found: is the scan still looking at the UI?");
}

/// Text a person reads, written straight into the UI code: a literal holding two words.
fn hard_coded_text(line: &str) -> Option<&str> {
    let code = line.split("//").next().unwrap_or_default();
    let mut rest = code;
    while let Some(open) = rest.find('"') {
        let after = &rest[open + 1..];
        let close = after.find('"')?;
        let literal = &after[..close];
        rest = &after[close + 1..];
        let words: Vec<&str> = literal.split_whitespace().filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2).collect();
        let machine = literal.contains('/') || literal.contains('=') || literal.starts_with("application") || literal.contains('_');
        if words.len() >= 2 && !machine {
            return Some(literal);
        }
    }
    None
}

#[test]
fn the_page_code_holds_no_text_outside_the_tables() {
    // Lines that name things for machines (ids, CSS, MIME types, storage keys, console output).
    let machine = ["data-testid", "console::", "class=", "element(&doc", "ok_or(\"no ", "expect(", "sans-serif"];
    let mut found = Vec::new();
    for (path, source) in sources("src/web/ui") {
        for (n, line) in source.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("//") || trimmed.starts_with("///") || trimmed.starts_with("//!") || machine.iter().any(|m| line.contains(m)) {
                continue;
            }
            if let Some(literal) = hard_coded_text(line) {
                found.push(format!("{path}:{}: \"{literal}\"", n + 1));
            }
        }
    }
    assert!(found.is_empty(), "UI text outside the translation tables:\n{}", found.join("\n"));
    assert_eq!(hard_coded_text(r#"<p>"Draw a digit"</p>"#), Some("Draw a digit"), "the scan finds text");
}

fn spec_error(layers: &[&str]) -> String {
    let mut spec = Spec::default();
    spec.layers = layers.iter().map(|j| serde_json::from_str::<LayerSpec>(j).expect(j)).collect();
    spec.infer().expect_err("an invalid spec").to_string()
}

/// Messages translate when no English sentence is left: the result contains Chinese and no
/// run of three English words.
fn fully_translated(english: &str) -> String {
    let zh = translate(Lang::Zh, english);
    assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "not translated: {english}");
    let words: Vec<&str> = zh.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 2).collect();
    let prose = ["the", "is", "must", "needs", "not", "be", "at", "least", "and", "of", "layer", "field", "could", "before"];
    let english_words = words.iter().filter(|w| prose.contains(&w.to_ascii_lowercase().as_str())).count();
    assert!(english_words == 0, "English left in the translation of {english:?}: {zh}");
    zh
}

#[test]
fn the_engines_spec_errors_translate() {
    let cases = [
        vec![r#"{"type":"conv2d","out_channels":0,"kernel_size":3}"#],
        vec![r#"{"type":"conv2d","out_channels":8,"kernel_size":3,"groups":3}"#],
        vec![r#"{"type":"conv2d","out_channels":8,"kernel_size":3,"stride":2,"padding":"same"}"#],
        vec![r#"{"type":"conv2d","out_channels":8,"kernel_size":40}"#],
        vec![r#"{"type":"conv2d","out_channels":8,"kernel_size":15,"dilation":2}"#],
        vec![r#"{"type":"max_pool2d","kernel_size":40}"#],
        vec![r#"{"type":"max_pool2d","kernel_size":2,"padding":2}"#],
        vec![r#"{"type":"linear","out_features":10}"#],
        vec![r#"{"type":"softmax"}"#],
        vec![r#"{"type":"dropout","p":1.0}"#],
        vec![r#"{"type":"flatten"}"#, r#"{"type":"dropout2d"}"#],
        vec![r#"{"type":"flatten"}"#, r#"{"type":"batch_norm2d"}"#],
        vec![r#"{"type":"batch_norm1d"}"#],
        vec![r#"{"type":"flatten"}"#, r#"{"type":"instance_norm2d"}"#],
        vec![r#"{"type":"group_norm","num_groups":3}"#],
        vec![r#"{"type":"spatial_pyramid_pool","levels":[]}"#],
        vec![r#"{"type":"batch_norm2d","momentum":2.0}"#],
        vec![r#"{"type":"prelu","num_parameters":3}"#],
        vec![r#"{"type":"flatten"}"#, r#"{"type":"local_response_norm","size":2}"#],
    ];
    for layers in cases {
        let english = spec_error(&layers);
        let zh = fully_translated(&english);
        assert!(zh.starts_with("第 0 层") || zh.starts_with("第 1 层"), "{english} → {zh}");
    }
    let mut spec = Spec::default();
    spec.training.batch_size = 0;
    fully_translated(&spec.training.check().expect_err("batch size 0").to_string());
    let mut spec = Spec::default();
    spec.training.optimizer.set_lr(20.0);
    fully_translated(&spec.training.check().expect_err("lr 20").to_string());
}

#[test]
fn nested_messages_translate_at_every_level() {
    let english = "small.safetensors was not opened, the model is unchanged: tensor `0.weight` has shape [4, 1, 5, 5], the model needs [8, 1, 5, 5]";
    assert_eq!(
        translate(Lang::Zh, english),
        "没有打开 small.safetensors，模型保持不变：张量 `0.weight` 的形状是 [4, 1, 5, 5]，模型需要 [8, 1, 5, 5]"
    );
    assert_eq!(translate(Lang::Zh, "Loaded 6 tensors from the link."), "已从链接载入 6 个张量。");
    assert_eq!(translate(Lang::En, english), english);
    assert_eq!(translate(Lang::Zh, "something nobody wrote a template for"), "something nobody wrote a template for");
}

#[test]
fn link_notices_translate() {
    let decoded = crate::engine::spec::url::decode("#v=1&bogus=3&l=conv2d:k0");
    assert!(!decoded.notices.is_empty());
    for notice in &decoded.notices {
        fully_translated(notice);
    }
}

/// The worker's and the browser glue's messages, with each `{…}` value replaced by a sample.
fn worker_messages() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for file in ["src/web/worker.rs", "src/web/store.rs", "src/web/fetch.rs", "src/engine/weights_link.rs"] {
        let source = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(file)).expect("readable");
        let code = source.split("#[cfg(test)]").next().unwrap_or_default();
        for (n, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") || line.contains("expect(") || line.contains("console::") {
                continue;
            }
            let Some(literal) = hard_coded_text(line) else { continue };
            let mut sample = String::new();
            let mut depth = 0;
            for c in literal.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        if depth == 1 {
                            sample.push_str("7");
                        }
                    }
                    '}' => depth -= 1,
                    _ if depth == 0 => sample.push(c),
                    _ => {}
                }
            }
            out.push((format!("{file}:{}", n + 1), sample));
        }
    }
    out
}

#[test]
fn the_workers_messages_translate() {
    let messages = worker_messages();
    assert!(messages.len() > 20, "only {} messages found", messages.len());
    let untranslated: Vec<String> = messages
        .iter()
        .filter(|(_, m)| std::panic::catch_unwind(|| fully_translated(m)).is_err())
        .map(|(at, m)| format!("{at}: {m}"))
        .collect();
    assert!(untranslated.is_empty(), "no template for:\n{}", untranslated.join("\n"));
}

#[test]
fn every_key_in_the_tables_is_used() {
    // Keys looked up by name (`layer.` + kind, …) and the engine's templates are used without
    // a literal call.
    let dynamic = ["layer.", "group.", "field.", "sched.", "err."];
    let source: String = sources("src/web").into_iter().map(|(_, s)| s).collect();
    let unused: Vec<&str> = keys(Lang::En)
        .into_iter()
        .filter(|k| !dynamic.iter().any(|d| k.starts_with(d)))
        .filter(|k| !source.contains(&format!("\"{k}\"")))
        .collect();
    assert!(unused.is_empty(), "keys nothing uses: {unused:?}");
}

#[test]
fn every_layer_kind_group_and_field_has_words_in_both_languages() {
    use crate::engine::spec::{LayerKind, PaletteGroup};
    use strum::IntoEnumIterator;
    let mut missing = Vec::new();
    let mut need = |prefix: &str, name: &str| {
        let key = key_for(prefix, name);
        if key.is_empty() || Lang::ALL.iter().any(|&l| text(l, key).trim().is_empty()) {
            missing.push(format!("{prefix}{name}"));
        }
    };
    for group in PaletteGroup::iter() {
        need("group.", group.name());
    }
    for kind in LayerKind::all() {
        need("layer.", kind.name());
        let Ok(serde_json::Value::Object(fields)) = serde_json::to_value(kind.example()) else { panic!("{kind:?}") };
        for field in fields.keys().filter(|k| *k != "type") {
            need("field.", field);
        }
    }
    assert!(missing.is_empty(), "keys missing from the tables: {missing:?}");
}
