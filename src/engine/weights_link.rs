//! Small trained models inside a link: every parameter and buffer tensor quantised to int8 with
//! one f32 scale per tensor (symmetric, scale = max|v| / 127), deflated and base64url-encoded —
//! the fragment's `w=` key. Links stay under [`MAX_LINK_CHARS`] so they survive chat apps and
//! address bars; larger models are refused with the reason.

use super::network::Network;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use flate2::Compression;
use std::io::{Read, Write};
use crate::i18n::Message;
use crate::msg;

/// Longest `w=` value written (≈ 40,000 parameters for typical trained weights).
pub const MAX_LINK_CHARS: usize = 48_000;
/// First byte of the packed weights: the format version.
const FORMAT: u8 = 1;

/// Length of every tensor of the network (parameters, then buffers, layer by layer), in the
/// order shared by encoder and decoder.
fn tensor_lens(network: &Network) -> Vec<usize> {
    let mut lens = Vec::new();
    for layer in &network.layers {
        for t in layer.param_tensors().iter().chain(layer.buffer_tensors().iter()) {
            lens.push(t.shape.iter().product());
        }
    }
    lens
}

fn values(network: &Network) -> Vec<f32> {
    network.layers.iter().flat_map(|l| l.params().iter().chain(l.buffers()).copied().collect::<Vec<_>>()).collect()
}

/// The network's weights as a `w=` value, or why they do not fit in a link.
pub fn encode(network: &Network) -> Result<String, Message> {
    let all = values(network);
    let mut packed = vec![FORMAT];
    let mut at = 0;
    for len in tensor_lens(network) {
        let tensor = &all[at..at + len];
        at += len;
        let max = tensor.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let scale = if max > 0.0 && max.is_finite() { max / 127.0 } else { 1.0 };
        packed.extend_from_slice(&scale.to_le_bytes());
        packed.extend(tensor.iter().map(|&v| (v / scale).round().clamp(-127.0, 127.0) as i8 as u8));
    }
    let mut deflate = DeflateEncoder::new(Vec::new(), Compression::best());
    // Writing into a Vec cannot fail; a failure would still be reported, not unwrapped.
    deflate.write_all(&packed).map_err(|e| Message::verbatim(e.to_string()))?;
    let text = URL_SAFE_NO_PAD.encode(deflate.finish().map_err(|e| Message::verbatim(e.to_string()))?);
    if text.len() > MAX_LINK_CHARS {
        return Err(msg!("err.link_too_large", all.len(), text.len().div_ceil(1000), MAX_LINK_CHARS / 1000));
    }
    Ok(text)
}

/// Reads a `w=` value into `network` (all or nothing); returns the number of tensors.
pub fn decode(network: &mut Network, text: &str) -> Result<usize, Message> {
    let compressed = URL_SAFE_NO_PAD.decode(text.trim()).map_err(|e| msg!("err.link_base64", e.to_string()))?;
    let mut packed = Vec::new();
    // Cap the inflated size: a crafted link must not exhaust memory.
    let cap = 5 * values(network).len() as u64 + 64;
    DeflateDecoder::new(&compressed[..]).take(cap + 1).read_to_end(&mut packed).map_err(|e| msg!("err.link_damaged", e.to_string()))?;
    match packed.first() {
        Some(&FORMAT) => {}
        Some(v) => return Err(msg!("err.link_format", v, FORMAT)),
        None => return Err(msg!("err.link_empty")),
    }
    let lens = tensor_lens(network);
    let expected = 1 + lens.iter().map(|l| 4 + l).sum::<usize>();
    if packed.len() != expected {
        return Err(msg!("err.link_other_model", packed.len(), expected));
    }
    let mut out = Vec::with_capacity(expected);
    let mut at = 1;
    for (len, name) in lens.iter().zip(crate::engine::weights::tensor_names(network)) {
        let scale = f32::from_le_bytes(packed[at..at + 4].try_into().expect("4 bytes"));
        if !scale.is_finite() {
            return Err(msg!("err.link_scale"));
        }
        at += 4;
        let start = out.len();
        out.extend(packed[at..at + len].iter().map(|&b| b as i8 as f32 * scale));
        // A finite scale times 127 can still overflow (3e38 · 127 = ∞).
        crate::engine::weights::check_finite(&name, &out[start..]).map_err(|e| msg!("err.link_unusable", e))?;
        at += len;
    }
    let mut rest = &out[..];
    for layer in &mut network.layers {
        let (p, tail) = rest.split_at(layer.params().len());
        layer.params_mut().copy_from_slice(p);
        let (b, tail) = tail.split_at(layer.buffers().len());
        layer.buffers_mut().copy_from_slice(b);
        rest = tail;
    }
    Ok(lens.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::Spec;

    fn preset(name: &str) -> Spec {
        Spec::preset(name).expect("preset")
    }

    #[test]
    fn round_trip_is_within_half_a_quantisation_step() {
        let spec = Spec::default();
        let network = Network::from_spec(&spec).unwrap();
        let text = encode(&network).unwrap();
        assert!(text.len() < MAX_LINK_CHARS && text.len() > 1000, "{} chars", text.len());
        assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'), "URL-safe");
        let mut back = Network::from_spec(&Spec { seed: spec.seed + 1, ..spec.clone() }).unwrap();
        assert_eq!(decode(&mut back, &text).unwrap(), 6);
        for (a, b) in network.layers.iter().zip(&back.layers) {
            let max = a.params().iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (x, y) in a.params().iter().zip(b.params()) {
                assert!((x - y).abs() <= max / 127.0 / 2.0 + 1e-6, "{x} vs {y}");
            }
        }
        // Decoding is deterministic: the same link gives the same model twice.
        let mut again = Network::from_spec(&spec).unwrap();
        decode(&mut again, &text).unwrap();
        assert_eq!(values(&again), values(&back));
    }

    #[test]
    fn buffers_travel_too() {
        let spec = preset("keras-bn-cnn");
        let mut network = Network::from_spec(&spec).unwrap();
        let has_buffers = network.layers.iter().any(|l| !l.buffers().is_empty());
        assert!(has_buffers);
        for l in &mut network.layers {
            for (k, v) in l.buffers_mut().iter_mut().enumerate() {
                *v = 0.25 + k as f32 * 0.01;
            }
        }
        match encode(&network) {
            Ok(text) => {
                let mut back = Network::from_spec(&spec).unwrap();
                decode(&mut back, &text).unwrap();
                let b: Vec<f32> = back.layers.iter().flat_map(|l| l.buffers().to_vec()).collect();
                assert!(b.iter().all(|&v| v > 0.2));
            }
            Err(e) => assert!(e.to_string().contains("download the weights file instead"), "{e}"),
        }
    }

    #[test]
    fn large_models_are_refused_with_the_reason() {
        let network = Network::from_spec(&preset("pytorch-mnist-cnn")).unwrap();
        let e = encode(&network).unwrap_err().to_string();
        assert!(e.contains("KB a link can safely carry") && e.contains("download the weights file instead"), "{e}");
    }

    #[test]
    fn bad_links_leave_the_model_untouched() {
        let spec = Spec::default();
        let network = Network::from_spec(&spec).unwrap();
        let text = encode(&network).unwrap();
        let mut target = Network::from_spec(&Spec { seed: 9, ..spec.clone() }).unwrap();
        let before = values(&target);
        for (bad, message) in [
            (&text[..text.len() / 2], "damaged"),
            ("not base64!", "base64url"),
            ("", "damaged"),
        ] {
            let e = decode(&mut target, bad).unwrap_err().to_string();
            assert!(e.contains(message), "{bad:.20}: {e}");
            assert_eq!(values(&target), before);
        }
        // Another model's weights.
        let other_spec = Spec { layers: serde_json::from_str(r#"[{"type":"flatten"},{"type":"linear","out_features":10}]"#).unwrap(), ..spec };
        let other = encode(&Network::from_spec(&other_spec).unwrap()).unwrap();
        assert!(decode(&mut target, &other).unwrap_err().to_string().contains("another model"));
        assert_eq!(values(&target), before);
    }

    /// Issue 13, item 4: a finite scale of 3e38 with every byte at 127 decodes to ∞; the link
    /// is refused naming the tensor, and the model stays as it was.
    #[test]
    fn links_whose_weights_overflow_are_refused_by_tensor() {
        let spec = Spec::default();
        let mut target = Network::from_spec(&spec).unwrap();
        let before = values(&target);
        let mut packed = vec![FORMAT];
        for len in tensor_lens(&target) {
            packed.extend_from_slice(&3e38f32.to_le_bytes());
            packed.extend(std::iter::repeat_n(127u8, len));
        }
        let mut z = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        std::io::Write::write_all(&mut z, &packed).unwrap();
        let text = URL_SAFE_NO_PAD.encode(z.finish().unwrap());
        let e = decode(&mut target, &text).unwrap_err();
        assert_eq!(e, "the weights in the link are unusable: tensor `0.weight` holds inf at index 0: weights must be finite numbers");
        assert_eq!(values(&target), before);
    }
}
