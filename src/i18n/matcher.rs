//! Translation of English messages by template: "{0} must divide the {1} channels" matches
//! "3 must divide the 8 channels" with captures ["3", "8"], and the other language's template
//! for the same key is filled with the (recursively translated) captures. Written here rather
//! than with `regex` because it is a few lines and keeps the wasm binary small.

use super::{en, is_message_key};

/// One piece of a template.
#[derive(Debug, PartialEq)]
enum Piece<'a> {
    Literal(&'a str),
    Hole(usize),
}

fn pieces(template: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let hole = after.find('}').and_then(|close| after[..close].parse::<usize>().ok().map(|n| (n, close)));
        match hole {
            Some((n, close)) => {
                if open > 0 {
                    out.push(Piece::Literal(&rest[..open]));
                }
                out.push(Piece::Hole(n));
                rest = &after[close + 1..];
            }
            None => {
                out.push(Piece::Literal(&rest[..=open]));
                rest = after;
            }
        }
    }
    if !rest.is_empty() {
        out.push(Piece::Literal(rest));
    }
    out
}

/// Matches `text` against `pieces` (holes take at least one character, shortest first),
/// writing captures into `captures` by hole number.
fn matches<'t>(text: &'t str, pieces: &[Piece<'_>], captures: &mut Vec<(usize, &'t str)>) -> bool {
    match pieces.split_first() {
        None => text.is_empty(),
        Some((Piece::Literal(lit), rest)) => text.strip_prefix(lit).is_some_and(|tail| matches(tail, rest, captures)),
        Some((Piece::Hole(n), rest)) => {
            let ends = text.char_indices().map(|(i, _)| i).skip(1).chain([text.len()]);
            for end in ends {
                captures.push((*n, &text[..end]));
                if matches(&text[end..], rest, captures) {
                    return true;
                }
                captures.pop();
            }
            false
        }
    }
}

/// Characters of literal text in a template: the more, the more specific the template.
fn literal_len(pieces: &[Piece<'_>]) -> usize {
    pieces.iter().map(|p| if let Piece::Literal(l) = p { l.len() } else { 0 }).sum()
}

/// Translates `english` with the templates of the English table, the target text coming from
/// `target(key)`; captures are translated too, up to `depth` levels.
pub fn translate(english: &str, target: &dyn Fn(&'static str) -> &'static str, depth: usize) -> String {
    let mut best: Option<(usize, &'static str, Vec<(usize, &str)>)> = None;
    for (key, template) in en::TABLE.iter().filter(|(k, _)| is_message_key(k)) {
        let parts = pieces(template);
        let mut captures = Vec::new();
        if matches(english, &parts, &mut captures) {
            let score = literal_len(&parts);
            if best.as_ref().is_none_or(|(s, _, _)| score > *s) {
                best = Some((score, key, captures));
            }
        }
    }
    let Some((_, key, captures)) = best else { return english.to_string() };
    let holes = captures.iter().map(|(n, _)| n + 1).max().unwrap_or(0);
    let args: Vec<String> = (0..holes)
        .map(|n| {
            let captured = captures.iter().find(|(k, _)| *k == n).map_or("", |(_, c)| c);
            if depth > 0 { translate(captured, target, depth - 1) } else { captured.to_string() }
        })
        .collect();
    let refs: Vec<&dyn std::fmt::Display> = args.iter().map(|a| a as &dyn std::fmt::Display).collect();
    super::fill(target(key), &refs)
}

/// The placeholders of a template, sorted (for the tables' parity test).
#[cfg(test)]
pub fn placeholders(template: &str) -> Vec<usize> {
    let mut holes: Vec<usize> = pieces(template).iter().filter_map(|p| if let Piece::Hole(n) = p { Some(*n) } else { None }).collect();
    holes.sort_unstable();
    holes.dedup();
    holes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_templates_into_literals_and_holes() {
        assert_eq!(pieces("a {0} b {1}"), vec![Piece::Literal("a "), Piece::Hole(0), Piece::Literal(" b "), Piece::Hole(1)]);
        assert_eq!(pieces("{x} {0}"), vec![Piece::Literal("{"), Piece::Literal("x} "), Piece::Hole(0)]);
    }

    #[test]
    fn holes_take_the_shortest_text_that_lets_the_rest_match() {
        let mut c = Vec::new();
        assert!(matches("3 must divide the 8 channels", &pieces("{0} must divide the {1} channels"), &mut c));
        assert_eq!(c, vec![(0, "3"), (1, "8")]);
        let mut c = Vec::new();
        assert!(!matches("must divide the 8 channels", &pieces("{0} must divide the {1} channels"), &mut c), "holes are never empty");
    }
}
