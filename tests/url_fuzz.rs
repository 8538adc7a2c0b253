#![cfg(not(target_arch = "wasm32"))]
//! The URL fragment decoder under hostile input: it must never panic, and whatever it returns
//! must be a spec that serialises (the page then shows shape errors, never a blank page).

use cnn_playground::engine::spec::url::{decode, encode};
use cnn_playground::engine::spec::{Spec, PRESETS};
use proptest::prelude::*;

fn check(fragment: &str) {
    let d = decode(fragment);
    serde_json::to_string(&d.spec).expect("decoded spec serialises");
    assert!(d.spec.training.check().is_ok(), "training settings are always in range: {fragment}");
}

#[test]
fn every_truncation_of_every_preset_link_decodes() {
    for name in PRESETS {
        let link = encode(&Spec::preset(name).unwrap());
        for end in 0..=link.len() {
            if link.is_char_boundary(end) {
                check(&link[..end]);
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(std::env::var("FUZZ_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(3000)))]

    #[test]
    fn random_fragments_never_panic(s in "[a-z_0-9=&;(),.x%+-]{0,120}") {
        check(&s);
    }

    #[test]
    fn arbitrary_unicode_never_panics(s in "\\PC{0,80}") {
        check(&s);
    }

    #[test]
    fn mutated_links_never_panic(preset in 0..PRESETS.len(), pos in 0usize..400, c in "[a-z0-9=&;(),.x%#-]") {
        let link = encode(&Spec::preset(PRESETS[preset]).unwrap());
        let mut chars: Vec<char> = link.chars().collect();
        let i = pos % chars.len();
        chars[i] = c.chars().next().unwrap();
        check(&chars.into_iter().collect::<String>());
    }
}
