//! `cnn forward`: one forward (and optionally backward) pass on tensors from safetensors files.

use cnn_playground::engine::layers::Pass;
use cnn_playground::engine::network::Network;
use cnn_playground::engine::spec::Spec;
use cnn_playground::engine::weights;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use safetensors::tensor::{Dtype, TensorView};
use safetensors::SafeTensors;
use std::path::Path;

/// Reads f32 tensor `name` from a safetensors file, with a message naming file and tensor.
fn read_tensor(path: &Path, name: &str) -> Result<(Vec<usize>, Vec<f32>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let st = SafeTensors::deserialize(&bytes).map_err(|e| format!("{}: not a readable safetensors file: {e}", path.display()))?;
    let t = st.tensor(name).map_err(|_| format!("{}: no tensor `{name}`", path.display()))?;
    if t.dtype() != Dtype::F32 {
        return Err(format!("{}: tensor `{name}` is {:?}, expected F32", path.display(), t.dtype()));
    }
    let data = weights::f32_values(t.data());
    Ok((t.shape().to_vec(), data))
}

/// `cnn forward`: the output (and with `grad_out` the gradients) of one pass; with `train`, also
/// the running statistics that pass leaves behind (`<i>.running_mean`, `<i>.running_var`).
pub fn forward(spec: &Spec, weights_path: &Path, input: &Path, out: &Path, train: bool, grad_out: Option<&Path>) -> Result<(), String> {
    let mut network = Network::from_spec(spec).map_err(|e| e.to_string())?;
    let bytes = std::fs::read(weights_path).map_err(|e| format!("cannot read {}: {e}", weights_path.display()))?;
    weights::load(&mut network, &bytes).map_err(|e| format!("{}: {e}", weights_path.display()))?;
    let (shape, x) = read_tensor(input, "input")?;
    let per_sample = network.input.len();
    let n = shape.first().copied().unwrap_or(0);
    if n == 0 || shape.iter().product::<usize>() != n * per_sample || x.len() != n * per_sample {
        return Err(format!(
            "{}: tensor `input` has shape {shape:?}; expected [N, {}, {}, {}]",
            input.display(),
            network.input.c,
            network.input.h,
            network.input.w
        ));
    }
    let mut ws = network.workspace(n);
    let mut rng = ChaCha8Rng::seed_from_u64(spec.seed);
    let logits = network.forward(&x, n, &mut ws, &mut Pass { train, backward: grad_out.is_some(), rng: &mut rng }).to_vec();
    let classes = network.classes;
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = vec![("output".into(), vec![n, classes], weights::f32_bytes(&logits))];
    if let Some(dy_path) = grad_out {
        let (dy_shape, dy) = read_tensor(dy_path, "grad_output")?;
        if dy_shape != [n, classes] {
            return Err(format!("{}: tensor `grad_output` has shape {dy_shape:?}; expected [{n}, {classes}]", dy_path.display()));
        }
        let dx = network.backward_from(&dy, n, &mut ws, true).expect("input gradient requested").to_vec();
        tensors.push(("grad.input".into(), shape.clone(), weights::f32_bytes(&dx)));
        for (i, layer) in network.layers.iter().enumerate() {
            for t in layer.param_tensors() {
                let len: usize = t.shape.iter().product();
                tensors.push((format!("grad.{}.{}", network.prefixes[i], t.name), t.shape.clone(), weights::f32_bytes(&ws.grads[i][t.offset..t.offset + len])));
            }
        }
    }
    if train {
        // A training-mode pass moves BatchNorm's running statistics, as PyTorch's does: update
        // them from each layer's input over the whole batch and write them beside the output.
        for i in 0..network.layers.len() {
            let Some(coupled) = network.layers[i].coupled() else { continue };
            // A layer's input is the previous layer's output (a block's first body layer too).
            let input = if i == 0 { &x[..] } else { network.layer_output(i - 1, n, &ws) };
            let mut totals = vec![0.0f64; coupled.stat_len()];
            coupled.forward_stats(input, n, &mut totals);
            let count = n * coupled.per_sample();
            network.layers[i].coupled_mut().expect("coupled").update_running(&totals, count);
            let layer = &network.layers[i];
            for t in layer.buffer_tensors().iter().filter(|t| t.name.starts_with("running_")) {
                let len: usize = t.shape.iter().product();
                tensors.push((format!("{}.{}", network.prefixes[i], t.name), t.shape.clone(), weights::f32_bytes(&layer.buffers()[t.offset..t.offset + len])));
            }
        }
    }
    let views: Vec<(String, TensorView)> = tensors
        .iter()
        .map(|(name, shape, data)| (name.clone(), TensorView::new(Dtype::F32, shape.clone(), data).expect("consistent tensor")))
        .collect();
    let file = safetensors::serialize(views, None).map_err(|e| e.to_string())?;
    std::fs::write(out, file).map_err(|e| format!("cannot write {}: {e}", out.display()))?;
    println!("wrote {} tensors to {}", tensors.len(), out.display());
    Ok(())
}
