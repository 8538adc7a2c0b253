//! The tables agree with each other and with the source: same keys, same placeholders, every
//! key the UI uses exists, no text outside the tables, and every message renders in both
//! languages.

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

/// The `{n}` numbers of a template.
fn placeholders(template: &str) -> BTreeSet<usize> {
    template
        .split('{')
        .skip(1)
        .filter_map(|part| part.split_once('}').and_then(|(n, _)| n.parse().ok()))
        .collect()
}

#[test]
fn translations_keep_the_placeholders_and_are_not_empty() {
    for (key, en) in Lang::En.table() {
        let zh = text(Lang::Zh, key);
        assert!(!en.trim().is_empty() && !zh.trim().is_empty(), "{key} is empty");
        assert_eq!(placeholders(en), placeholders(zh), "{key}: {en} / {zh}");
        assert_eq!(holes(en), placeholders(en).len(), "{key}: holes numbered from 0 without gaps");
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
        for name in ["t", "tf"] {
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
    let machine = ["data-testid", "console::", "class=", "element(&doc", "element(doc", "ok_or(\"no ", "expect(", "sans-serif"];
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

fn spec_error(layers: &[&str]) -> Message {
    let mut spec = Spec::default();
    spec.layers = layers.iter().map(|j| serde_json::from_str::<LayerSpec>(j).expect(j)).collect();
    spec.infer().expect_err("an invalid spec").message()
}

/// A message is fully translated when its Chinese rendering contains Chinese and no English
/// prose word (names such as `kernel_size` and file names stay as they are).
fn fully_translated(message: &Message) -> String {
    let zh = message.render(Lang::Zh);
    assert!(zh.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)), "not translated: {message}");
    let words: Vec<&str> = zh.split(|c: char| !c.is_ascii_alphabetic()).filter(|w| w.len() >= 2).collect();
    let prose = ["the", "is", "must", "needs", "not", "be", "at", "least", "and", "of", "layer", "field", "could", "before"];
    let english_words = words.iter().filter(|w| prose.contains(&w.to_ascii_lowercase().as_str())).count();
    assert!(english_words == 0, "English left in the translation of {message}: {zh}");
    zh
}

#[test]
fn the_engines_spec_errors_render_in_both_languages() {
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
        vec![r#"{"type":"relu"}"#],
    ];
    for layers in cases {
        let message = spec_error(&layers);
        assert!(message.to_string().starts_with("layer "), "{message}");
        let zh = fully_translated(&message);
        assert!(zh.starts_with("第 0 层") || zh.starts_with("第 1 层"), "{message} → {zh}");
    }
    let mut spec = Spec::default();
    spec.training.batch_size = 0;
    fully_translated(&spec.training.check().expect_err("batch size 0").message());
    let mut spec = Spec::default();
    spec.training.optimizer.set_lr(20.0);
    fully_translated(&spec.training.check().expect_err("lr 20").message());
    spec.layers.clear();
    fully_translated(&spec.infer().expect_err("no layers").message());
}

#[test]
fn nested_messages_render_at_every_level() {
    let why = crate::engine::weights::WeightsError::Shape { name: "0.weight".into(), found: vec![4, 1, 5, 5], expected: vec![8, 1, 5, 5] };
    let message = crate::msg!("msg.not_opened", "small.safetensors", why);
    assert_eq!(
        message.to_string(),
        "small.safetensors was not opened, the model is unchanged: tensor `0.weight` has shape [4, 1, 5, 5], the model needs [8, 1, 5, 5]"
    );
    assert_eq!(
        message.render(Lang::Zh),
        "没有打开 small.safetensors，模型保持不变：张量 `0.weight` 的形状是 [4, 1, 5, 5]，模型需要 [8, 1, 5, 5]"
    );
    let link = crate::msg!("msg.loaded", 6, crate::msg!("err.the_link"));
    assert_eq!(link.render(Lang::Zh), "已从链接载入 6 个张量。");
    assert_eq!(link.render(Lang::En), "Loaded 6 tensors from the link.");
}

#[test]
fn link_notices_render_in_both_languages() {
    let decoded = crate::engine::spec::url::decode("#v=2&bogus=3&l=conv2d:k0&seed=1&seed=2&layers=conv2d(k=3,k=4);relu;flatten;linear(out_features=10)&lr=x(");
    assert!(decoded.notices.len() >= 4, "{:?}", decoded.notices);
    for notice in &decoded.notices {
        fully_translated(notice);
    }
}

/// Templates that only arrange values (`{0}`, `{0}: {1}`, `` `{0}` ``): nothing to translate.
fn arranges_values_only(template: &str) -> bool {
    let mut rest = template.to_string();
    for n in placeholders(template) {
        rest = rest.replace(&format!("{{{n}}}"), "");
    }
    !rest.chars().any(char::is_alphabetic)
}

#[test]
fn every_message_renders_in_both_languages() {
    let mut rendered = 0;
    for (key, english) in Lang::En.table().iter().filter(|(k, _)| k.starts_with("err.") || k.starts_with("msg.")) {
        let args = (0..holes(english)).map(|n| Arg::Text(format!("‹{n}›"))).collect();
        let message = Message { key: std::borrow::Cow::Borrowed(key), args };
        for lang in Lang::ALL {
            let text = message.render(lang);
            for n in 0..holes(english) {
                assert!(text.contains(&format!("‹{n}›")), "{key} in {lang:?} drops value {n}: {text}");
            }
            assert!(!text.contains('{'), "{key} in {lang:?} leaves a hole: {text}");
        }
        if !arranges_values_only(english) {
            fully_translated(&message);
        }
        rendered += 1;
    }
    assert!(rendered > 140, "only {rendered} messages");
}

/// Files whose messages reach the page: they build them with `msg!`, never as English text.
const MESSAGE_SOURCES: [&str; 8] =
    ["src/web", "src/engine/spec", "src/engine/train", "src/engine/data", "src/engine/weights.rs", "src/engine/weights_link.rs", "src/engine/inspect.rs", "src/engine/layers"];

#[test]
fn no_message_is_written_as_english_text() {
    // Lines that are for machines or developers: ids, CSS, console output, panics, test code.
    let machine = ["data-testid", "console::", "class=", "element(&doc", "element(doc", "ok_or(\"no ", "expect(", "panic!", "unreachable!", "sans-serif", "assert", "doc = ", "strip_prefix("];
    // serde's own words, read (json.rs) or written into serde's messages (the `expecting` of
    // the size and padding readers, shown inside `err.serde_invalid_type`), and the CLI's table.
    let serde_or_cli = ["unknown field `", "missing field `", " at line ", "a size: a number", "padding: a number", "act. bytes", "total params {params}"];
    let mut found = Vec::new();
    for dir in MESSAGE_SOURCES {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
        let files = if root.is_dir() { rust_files(&root) } else { vec![root] };
        for path in files {
            let source = std::fs::read_to_string(&path).expect("readable");
            let code = source.split("#[cfg(test)]").next().unwrap_or_default();
            for (n, line) in code.lines().enumerate() {
                let trimmed = line.trim_start();
                if trimmed.starts_with("//") || machine.iter().any(|m| line.contains(m)) {
                    continue;
                }
                if let Some(literal) = hard_coded_text(line).filter(|l| !serde_or_cli.iter().any(|s| l.contains(s))) {
                    found.push(format!("{}:{}: \"{literal}\"", path.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "message text outside the tables:\n{}", found.join("\n"));
}

#[test]
fn every_key_in_the_tables_is_used() {
    // Keys looked up by name (`layer.` + kind, …) are used without a literal call; every
    // message key is a literal in a `msg!` somewhere in the crate.
    let dynamic = ["layer.", "group.", "field.", "sched."];
    let tables = ["i18n/en.rs", "i18n/zh.rs", "i18n/tests.rs"];
    let source: String = sources("src").into_iter().filter(|(p, _)| !tables.iter().any(|t| p.ends_with(t))).map(|(_, s)| s).collect();
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
