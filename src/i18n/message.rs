//! Messages as typed values: a key of the tables and its arguments, rendered in a language only
//! when shown. The engine, the worker and the page build them with [`msg!`](crate::msg), which
//! checks at compile time that the key is in the English table and that the template has one
//! hole per argument; the page renders them in the current language, so a language switch
//! re-renders an error already on screen. English is one table among two, never the text another
//! language is derived from.

use super::{lookup, Lang};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::fmt;

/// A message: a table key and the values for its `{0}`, `{1}`… holes.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    /// Key in both tables, e.g. `err.groups_divide`.
    pub key: Cow<'static, str>,
    /// One value per hole, in hole order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub args: Vec<Arg>,
}

/// One value of a message: text shown as it is (a number, a file or field name) or a message
/// of its own, rendered in the same language ("x was not opened: <why>").
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Arg {
    /// A value shown verbatim in every language.
    Text(String),
    /// A nested message.
    Message(Message),
}

impl Message {
    /// A message with its arguments (prefer [`msg!`](crate::msg), which checks the key).
    pub fn new(key: &'static str, args: Vec<Arg>) -> Self {
        Self { key: Cow::Borrowed(key), args }
    }

    /// Text shown as it is in every language: a formula, or words from elsewhere (serde, the
    /// browser, a panic) that no table holds.
    pub fn verbatim(text: impl Into<String>) -> Self {
        crate::msg!("text.verbatim", text.into())
    }

    /// The message in `lang`. A key neither table has (only a foreign message can carry one)
    /// shows as the key followed by its values, so nothing is hidden.
    pub fn render(&self, lang: Lang) -> String {
        let args: Vec<String> = self.args.iter().map(|a| a.render(lang)).collect();
        match lookup(lang, &self.key) {
            Some(template) => fill_strings(template, &args),
            None if args.is_empty() => self.key.to_string(),
            None => format!("{}: {}", self.key, args.join(", ")),
        }
    }
}

impl Arg {
    /// The value in `lang`.
    pub fn render(&self, lang: Lang) -> String {
        match self {
            Arg::Text(text) => text.clone(),
            Arg::Message(message) => message.render(lang),
        }
    }
}

/// English, for logs, the CLI and `?` into other errors.
impl fmt::Display for Message {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.render(Lang::En))
    }
}

impl std::error::Error for Message {}

/// Tests compare messages with their English text.
#[cfg(test)]
impl PartialEq<&str> for Message {
    fn eq(&self, other: &&str) -> bool {
        self.to_string() == *other
    }
}

#[cfg(test)]
impl PartialEq<String> for Message {
    fn eq(&self, other: &String) -> bool {
        self.to_string() == *other
    }
}

fn fill_strings(template: &str, args: &[String]) -> String {
    let shown: Vec<&dyn fmt::Display> = args.iter().map(|a| a as &dyn fmt::Display).collect();
    super::fill(template, &shown)
}

/// What a message argument can be: plain values become text; messages and the engine's typed
/// errors stay messages, so they render in the reader's language. A type without this trait
/// cannot be passed to [`msg!`](crate::msg) by mistake (call `.to_string()` to show it verbatim).
pub trait ToArg {
    /// The argument.
    fn to_arg(&self) -> Arg;
}

macro_rules! verbatim_args {
    ($($t:ty),*) => {$(
        impl ToArg for $t {
            fn to_arg(&self) -> Arg {
                Arg::Text(self.to_string())
            }
        }
    )*};
}
verbatim_args!(str, String, u8, u16, u32, u64, usize, i32, i64, f32, f64, char);

impl<T: ToArg + ?Sized> ToArg for &T {
    fn to_arg(&self) -> Arg {
        (**self).to_arg()
    }
}

impl ToArg for Message {
    fn to_arg(&self) -> Arg {
        Arg::Message(self.clone())
    }
}

impl ToArg for Arg {
    fn to_arg(&self) -> Arg {
        self.clone()
    }
}

/// The English template of `key`; a compile-time error (inside [`msg!`](crate::msg)) when the
/// table has no such key.
pub const fn english(key: &str) -> &'static str {
    let table = super::en::TABLE;
    let mut i = 0;
    while i < table.len() {
        if same(table[i].0, key) {
            return table[i].1;
        }
        i += 1;
    }
    panic!("a message key that is not in the English table (src/i18n/en.rs)")
}

/// Number of values `template` takes: one more than its highest `{n}`.
pub const fn holes(template: &str) -> usize {
    let bytes = template.as_bytes();
    let (mut i, mut count) = (0, 0);
    while i < bytes.len() {
        if bytes[i] == b'{' {
            let (mut j, mut n, mut digits) = (i + 1, 0usize, 0);
            while j < bytes.len() && bytes[j].is_ascii_digit() {
                n = n * 10 + (bytes[j] - b'0') as usize;
                j += 1;
                digits += 1;
            }
            if digits > 0 && j < bytes.len() && bytes[j] == b'}' && n + 1 > count {
                count = n + 1;
            }
        }
        i += 1;
    }
    count
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// For an error type with `fn message(&self) -> Message`: `Display` in English (the CLI, logs),
/// `std::error::Error`, and [`ToArg`], so it nests in other messages in the reader's language.
#[macro_export]
macro_rules! message_error {
    ($t:ty) => {
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(&self.message(), f)
            }
        }

        impl std::error::Error for $t {}

        impl $crate::i18n::ToArg for $t {
            fn to_arg(&self) -> $crate::i18n::Arg {
                $crate::i18n::Arg::Message(self.message())
            }
        }
    };
}

/// Counts macro arguments (a helper of [`msg!`](crate::msg)).
#[doc(hidden)]
#[macro_export]
macro_rules! __count_args {
    () => { 0usize };
    ($head:expr $(, $tail:expr)*) => { 1usize + $crate::__count_args!($($tail),*) };
}

/// A [`Message`](crate::i18n::Message): `msg!("err.groups_divide", groups, channels)`. Fails to
/// compile when the key is not in the English table or the argument count differs from the
/// template's holes; both tables having the same keys and holes is a test.
#[macro_export]
macro_rules! msg {
    ($key:literal $(, $arg:expr)* $(,)?) => {{
        const _: () = assert!(
            $crate::i18n::holes($crate::i18n::english($key)) == $crate::__count_args!($($arg),*),
            concat!("the number of values differs from the holes of ", $key)
        );
        $crate::i18n::Message::new($key, vec![$($crate::i18n::ToArg::to_arg(&$arg)),*])
    }};
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holes_count_the_highest_placeholder() {
        assert_eq!(holes("no values"), 0);
        assert_eq!(holes("{0} and {1}"), 2);
        assert_eq!(holes("{1} before {0}, {1} again"), 2);
        assert_eq!(holes("a {brace} and {12}"), 13);
    }

    #[test]
    fn renders_nested_messages_in_each_language() {
        let why = crate::msg!("err.tensor_missing", "0.weight");
        let message = crate::msg!("msg.not_opened", "small.safetensors", why);
        assert_eq!(message.to_string(), "small.safetensors was not opened, the model is unchanged: tensor `0.weight` is missing from the file");
        let zh = message.render(Lang::Zh);
        assert!(zh.contains("small.safetensors") && zh.contains("0.weight") && !zh.contains("missing"), "{zh}");
    }

    #[test]
    fn crosses_the_wire_and_back() {
        let message = crate::msg!("err.groups_divide", 3usize, 8usize);
        let json = serde_json::to_string(&message).expect("serializes");
        assert_eq!(json, r#"{"key":"err.groups_divide","args":["3","8"]}"#);
        assert_eq!(serde_json::from_str::<Message>(&json).expect("reads back"), message);
    }

    #[test]
    fn a_foreign_key_shows_as_itself_with_its_values() {
        let message: Message = serde_json::from_str(r#"{"key":"err.nobody_wrote","args":["7"]}"#).expect("reads");
        assert_eq!(message.render(Lang::Zh), "err.nobody_wrote: 7");
    }
}
