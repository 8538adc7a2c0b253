//! Weights in and out as safetensors with PyTorch `nn.Sequential` state_dict names and layouts
//! (`0.weight`, `0.bias`, `3.running_mean`, …; conv `[out, in/groups, kh, kw]`, linear
//! `[out, in]`), the spec as JSON in the file's metadata under `spec`.
//!
//! Loading checks every tensor (present, dtype, shape, nothing unexpected) before touching the
//! network, so a bad file leaves the current model as it was.

use super::layers::ParamTensor;
use super::network::Network;
use super::spec::Spec;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::collections::{BTreeSet, HashMap};
use crate::i18n::Message;
use crate::msg;

/// Why a weights file could not be read into a network.
#[derive(Debug, PartialEq, Eq)]
pub enum WeightsError {
    /// Not a safetensors file, or a corrupt / truncated one (the reader's words).
    Format(String),
    /// A tensor the model needs is not in the file.
    Missing(String),
    /// A tensor has the wrong shape.
    Shape {
        /// State-dict name.
        name: String,
        /// Shape in the file.
        found: Vec<usize>,
        /// Shape the model needs.
        expected: Vec<usize>,
    },
    /// A tensor has the wrong element type.
    Dtype {
        /// State-dict name.
        name: String,
        /// Dtype in the file.
        found: String,
        /// Dtype the model needs.
        expected: String,
    },
    /// The file has tensors the model does not know.
    Unexpected(String),
    /// The embedded spec is unreadable.
    Spec(Message),
    /// A tensor holds NaN or ±∞ (a model with one predicts nothing but NaN).
    NonFinite {
        /// State-dict name.
        name: String,
        /// Position of the first non-finite value.
        index: usize,
        /// The value, as text (NaN, inf or -inf).
        value: String,
    },
}

impl WeightsError {
    /// The error as a message of the tables.
    pub fn message(&self) -> Message {
        match self {
            WeightsError::Format(why) => msg!("err.safetensors", why),
            WeightsError::Missing(name) => msg!("err.tensor_missing", name),
            WeightsError::Shape { name, found, expected } => msg!("err.tensor_shape", name, format!("{found:?}"), format!("{expected:?}")),
            WeightsError::Dtype { name, found, expected } => msg!("err.tensor_dtype", name, found, expected),
            WeightsError::Unexpected(name) => msg!("err.tensor_foreign", name),
            WeightsError::Spec(why) => msg!("err.stored_spec", why),
            WeightsError::NonFinite { name, index, value } => msg!("err.non_finite_tensor", name, value, index),
        }
    }
}

crate::message_error!(WeightsError);

/// The first non-finite value of tensor `name`, as an error.
pub fn check_finite(name: &str, values: &[f32]) -> Result<(), WeightsError> {
    match values.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(WeightsError::NonFinite { name: name.to_string(), index, value: values[index].to_string() }),
        None => Ok(()),
    }
}

/// State-dict names of the network's tensors (parameters, then buffers, layer by layer).
pub fn tensor_names(network: &Network) -> Vec<String> {
    entries(network).into_iter().map(|e| e.name).collect()
}

/// Little-endian f32 bytes, as safetensors stores F32 tensors.
pub fn f32_bytes(values: &[f32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// The f32 values of little-endian F32 tensor bytes.
pub fn f32_values(bytes: &[u8]) -> Vec<f32> {
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// One tensor of the state dict: layer index, where it lives, and whether it is a buffer.
struct Entry {
    name: String,
    layer: usize,
    tensor: ParamTensor,
    buffer: bool,
}

fn entries(network: &Network) -> Vec<Entry> {
    let mut out = Vec::new();
    for (i, layer) in network.layers.iter().enumerate() {
        for t in layer.param_tensors() {
            out.push(Entry { name: format!("{}.{}", network.prefixes[i], t.name), layer: i, tensor: t, buffer: false });
        }
        for t in layer.buffer_tensors() {
            out.push(Entry { name: format!("{}.{}", network.prefixes[i], t.name), layer: i, tensor: t, buffer: true });
        }
    }
    out
}

/// `num_batches_tracked` is an int64 scalar in PyTorch; everything else is f32.
fn is_counter(e: &Entry) -> bool {
    e.buffer && e.tensor.name == "num_batches_tracked"
}

/// The network's state dict as a safetensors file, with `spec` in the metadata.
pub fn save(network: &Network, spec: &Spec) -> Vec<u8> {
    save_with(network, spec, &[], &[])
}

/// [`save`] plus extra f32 tensors and metadata entries (training checkpoints).
pub fn save_with(network: &Network, spec: &Spec, extra: &[(String, Vec<f32>)], meta: &[(&str, String)]) -> Vec<u8> {
    let list = entries(network);
    let mut bytes: Vec<(String, Vec<usize>, Dtype, Vec<u8>)> = Vec::new();
    for e in &list {
        let layer = &network.layers[e.layer];
        let src = if e.buffer { layer.buffers() } else { layer.params() };
        let len: usize = e.tensor.shape.iter().product();
        let values = &src[e.tensor.offset..e.tensor.offset + len];
        let (dtype, data) = if is_counter(e) {
            (Dtype::I64, values.iter().flat_map(|&v| (v as i64).to_le_bytes()).collect())
        } else {
            (Dtype::F32, f32_bytes(values))
        };
        bytes.push((e.name.clone(), e.tensor.shape.clone(), dtype, data));
    }
    for (name, values) in extra {
        bytes.push((name.clone(), vec![values.len()], Dtype::F32, f32_bytes(values)));
    }
    let views: Vec<(String, TensorView)> = bytes
        .iter()
        .map(|(n, shape, dtype, data)| (n.clone(), TensorView::new(*dtype, shape.clone(), data).expect("consistent tensor")))
        .collect();
    let spec_json = serde_json::to_string(spec).expect("a spec serialises");
    let mut metadata = HashMap::from([("spec".to_string(), spec_json), ("format".to_string(), "pt".to_string())]);
    for (k, v) in meta {
        metadata.insert(k.to_string(), v.clone());
    }
    safetensors::serialize(views, Some(metadata)).expect("serialising in-memory tensors")
}

/// The spec stored in a weights file's metadata, if any.
pub fn stored_spec(bytes: &[u8]) -> Result<Option<Spec>, WeightsError> {
    match metadata(bytes, "spec")? {
        None => Ok(None),
        Some(json) => Spec::from_json(&json).map(Some).map_err(WeightsError::Spec),
    }
}

/// Number of tensors in a safetensors file (0 if it is not one).
pub fn tensor_count(bytes: &[u8]) -> usize {
    SafeTensors::deserialize(bytes).map_or(0, |st| st.len())
}

/// A metadata entry of a safetensors file.
pub fn metadata(bytes: &[u8], key: &str) -> Result<Option<String>, WeightsError> {
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    Ok(meta.metadata().as_ref().and_then(|m| m.get(key)).cloned())
}

/// Reads a state dict into `network`; on any error the network is unchanged.
pub fn load(network: &mut Network, bytes: &[u8]) -> Result<(), WeightsError> {
    load_with(network, bytes, &[]).map(|_| ())
}

/// [`load`], also accepting f32 tensors whose names start with one of `extra_prefixes` and
/// returning them.
pub fn load_with(network: &mut Network, bytes: &[u8], extra_prefixes: &[&str]) -> Result<Vec<(String, Vec<f32>)>, WeightsError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let list = entries(network);
    let known: BTreeSet<&str> = list.iter().map(|e| e.name.as_str()).collect();
    let mut names: Vec<String> = st.names().into_iter().map(str::to_string).collect();
    names.sort();
    let is_extra = |n: &str| extra_prefixes.iter().any(|p| n.starts_with(p));
    if let Some(extra) = names.iter().find(|n| !known.contains(n.as_str()) && !is_extra(n)) {
        return Err(WeightsError::Unexpected(extra.clone()));
    }
    let mut extras = Vec::new();
    for name in names.iter().filter(|n| !known.contains(n.as_str())) {
        let view = st.tensor(name).map_err(|_| WeightsError::Missing(name.clone()))?;
        if view.dtype() != Dtype::F32 {
            return Err(WeightsError::Dtype { name: name.clone(), found: format!("{:?}", view.dtype()), expected: "F32".into() });
        }
        let values = f32_values(view.data());
        check_finite(name, &values)?;
        extras.push((name.clone(), values));
    }
    // Validate and decode everything first.
    let mut decoded = Vec::with_capacity(list.len());
    for e in &list {
        let view = st.tensor(&e.name).map_err(|_| WeightsError::Missing(e.name.clone()))?;
        if view.shape() != e.tensor.shape.as_slice() {
            return Err(WeightsError::Shape { name: e.name.clone(), found: view.shape().to_vec(), expected: e.tensor.shape.clone() });
        }
        let values: Vec<f32> = match view.dtype() {
            Dtype::F32 => f32_values(view.data()),
            Dtype::I64 if is_counter(e) => {
                view.data().chunks_exact(8).map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")) as f32).collect()
            }
            other => {
                let expected = if is_counter(e) { "I64" } else { "F32" };
                return Err(WeightsError::Dtype { name: e.name.clone(), found: format!("{other:?}"), expected: expected.into() });
            }
        };
        check_finite(&e.name, &values)?;
        decoded.push(values);
    }
    for (e, values) in list.iter().zip(decoded) {
        let layer = &mut network.layers[e.layer];
        let dst = if e.buffer { layer.buffers_mut() } else { layer.params_mut() };
        dst[e.tensor.offset..e.tensor.offset + values.len()].copy_from_slice(&values);
    }
    Ok(extras)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bn_spec() -> Spec {
        let mut spec = Spec::default();
        spec.layers.insert(1, serde_json::from_str(r#"{"type":"batch_norm2d"}"#).unwrap());
        spec
    }

    #[test]
    fn round_trip_names_and_errors() {
        let spec = bn_spec();
        let net = Network::from_spec(&spec).unwrap();
        let bytes = save(&net, &spec);
        let st = SafeTensors::deserialize(&bytes).unwrap();
        let mut names: Vec<&str> = st.names();
        names.sort();
        assert_eq!(
            names,
            ["0.bias", "0.weight", "1.bias", "1.num_batches_tracked", "1.running_mean", "1.running_var", "1.weight", "4.bias", "4.weight", "8.bias", "8.weight"]
        );
        assert_eq!(st.tensor("0.weight").unwrap().shape(), [8, 1, 5, 5]);
        assert_eq!(st.tensor("1.num_batches_tracked").unwrap().dtype(), Dtype::I64);
        assert_eq!(stored_spec(&bytes).unwrap(), Some(spec.clone()));

        // A differently seeded net takes the saved weights exactly.
        let mut other = Network::from_spec(&Spec { seed: 7, ..spec.clone() }).unwrap();
        assert_ne!(other.layers[0].params(), net.layers[0].params());
        load(&mut other, &bytes).unwrap();
        for (a, b) in other.layers.iter().zip(&net.layers) {
            assert_eq!(a.params(), b.params());
            assert_eq!(a.buffers(), b.buffers());
        }

        // A mismatched model is refused by name and left untouched.
        let mut plain = Network::from_spec(&Spec::default()).unwrap();
        let before = plain.layers[0].params().to_vec();
        assert_eq!(load(&mut plain, &bytes).unwrap_err().to_string(), "tensor `1.bias` does not belong to this model");
        assert_eq!(plain.layers[0].params(), &before[..]);
        let mut wide = Spec::default();
        wide.layers[0] = crate::engine::spec::LayerSpec::conv(9, 5, 2);
        let wide_bytes = save(&Network::from_spec(&wide).unwrap(), &wide);
        assert_eq!(
            load(&mut plain, &wide_bytes).unwrap_err().to_string(),
            "tensor `0.weight` has shape [9, 1, 5, 5], the model needs [8, 1, 5, 5]"
        );
        assert!(load(&mut plain, &bytes[..bytes.len() / 2]).unwrap_err().to_string().starts_with("not a readable safetensors file"));
        assert!(load(&mut plain, b"{\"not\": \"weights\"}").is_err());
        assert_eq!(plain.layers[0].params(), &before[..]);
    }

    /// Issue 13, item 4: NaN or ∞ in a file's tensor (or a checkpoint's optimizer state) is
    /// refused naming the tensor; the model keeps its weights.
    #[test]
    fn non_finite_tensors_are_refused_by_name() {
        let spec = bn_spec();
        let mut net = Network::from_spec(&spec).unwrap();
        net.layers[0].params_mut()[7] = f32::NAN;
        let bytes = save(&net, &spec);
        let mut target = Network::from_spec(&spec).unwrap();
        let before = target.layers[0].params().to_vec();
        assert_eq!(load(&mut target, &bytes).unwrap_err().to_string(), "tensor `0.weight` holds NaN at index 7: weights must be finite numbers");
        assert_eq!(target.layers[0].params(), &before[..]);
        let good = Network::from_spec(&spec).unwrap();
        let bytes = save_with(&good, &spec, &[("optim.0.a".into(), vec![0.0, f32::NEG_INFINITY])], &[]);
        assert_eq!(
            load_with(&mut target, &bytes, &["optim."]).unwrap_err().to_string(),
            "tensor `optim.0.a` holds -inf at index 1: weights must be finite numbers"
        );
    }
}
