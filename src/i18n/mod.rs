//! The page's two languages: English and Simplified Chinese. Every piece of text is a key in
//! both tables (`en.rs`, `zh.rs`); messages (engine errors, worker reports, notices) travel as
//! [`Message`] values, a key and its arguments, and are rendered in the reader's language only
//! when shown. No web dependencies, so the tables are checked by native tests.

mod en;
mod message;
mod zh;

pub use message::{english, holes, Arg, Message, ToArg};

use std::fmt::Display;

/// A language of the page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Lang {
    /// English.
    #[default]
    En,
    /// Simplified Chinese.
    Zh,
}

impl Lang {
    /// Both languages, in the order the switch lists them.
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Zh];

    /// BCP 47 tag, as in `<html lang>`.
    pub fn tag(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Zh => "zh-CN",
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn native_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Zh => "简体中文",
        }
    }

    /// The language for a tag such as `zh`, `zh-CN`, `en-GB` (None for others).
    pub fn from_tag(tag: &str) -> Option<Lang> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default().to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Lang::En),
            "zh" => Some(Lang::Zh),
            _ => None,
        }
    }

    /// The table of this language: (key, text) pairs.
    pub fn table(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Lang::En => en::TABLE,
            Lang::Zh => zh::TABLE,
        }
    }
}

/// The text of `key` in `lang` (the English text if `lang` lacks it, the key itself if both do;
/// tests keep both tables complete, so a key showing means a key missing from them).
pub fn text(lang: Lang, key: &'static str) -> &'static str {
    let find = |table: &'static [(&'static str, &'static str)]| table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    find(lang.table()).or_else(|| find(en::TABLE)).unwrap_or(key)
}

/// The text of `key` in `lang`, falling back to English; None when neither table has it.
pub fn lookup(lang: Lang, key: &str) -> Option<&'static str> {
    let find = |table: &'static [(&'static str, &'static str)]| table.iter().find(|(k, _)| *k == key).map(|(_, v)| *v);
    find(lang.table()).or_else(|| find(en::TABLE))
}

/// The tables' key `prefix` + `name` (e.g. `layer.` + `Conv2d`), `""` when there is none.
pub fn key_for(prefix: &str, name: &str) -> &'static str {
    en::TABLE.iter().map(|(k, _)| *k).find(|k| k.strip_prefix(prefix) == Some(name)).unwrap_or("")
}

/// `template` with `{0}`, `{1}`, … replaced by `args`.
pub fn fill(template: &str, args: &[&dyn Display]) -> String {
    let mut out = String::with_capacity(template.len() + 16);
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| after[..close].parse::<usize>().ok().map(|n| (n, close))) {
            Some((n, close)) if n < args.len() => {
                out.push_str(&args[n].to_string());
                rest = &after[close + 1..];
            }
            _ => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The text of `key` in `lang` with its placeholders filled.
pub fn text_with(lang: Lang, key: &'static str, args: &[&dyn Display]) -> String {
    fill(text(lang, key), args)
}

#[cfg(test)]
mod tests;
