//! What a trained network makes of one image, for the "see inside" views: every layer's output
//! (feature maps), the first convolution's filters, and a saliency map — the gradient of the
//! top class score with respect to the input pixels (Simonyan et al., 2014), in evaluation mode.

use super::loss::softmax;
use super::network::Network;
use super::layers::Pass;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// Channels per layer sent to the page: more would not be readable as a grid anyway.
pub const MAX_MAPS: usize = 64;

/// One layer's output for the image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LayerOutput {
    /// Index of the layer in the spec.
    pub layer: usize,
    /// Channels (features for a flat output), height, width.
    pub shape: [usize; 3],
    /// The first `min(c, MAX_MAPS)` channels, NCHW (all features of a flat output).
    #[serde(with = "crate::protocol::bulk")]
    pub values: Vec<f32>,
    /// Smallest and largest value over the whole output.
    pub range: [f32; 2],
}

/// Weights of one convolution, one kernel per (output channel, first input channel).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Filters {
    /// Index of the layer in the spec.
    pub layer: usize,
    /// Output channels shown, kernel height, kernel width.
    pub shape: [usize; 3],
    /// `shape[0]` kernels of `kh × kw`.
    #[serde(with = "crate::protocol::bulk")]
    pub values: Vec<f32>,
}

/// Everything the page shows about one image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Inspection {
    /// The image inspected.
    #[serde(with = "crate::protocol::bulk")]
    pub input: Vec<f32>,
    /// Class probabilities.
    #[serde(with = "crate::protocol::bulk")]
    pub probs: Vec<f32>,
    /// The most probable class.
    pub top: usize,
    /// Output of every layer.
    pub layers: Vec<LayerOutput>,
    /// The filters of every convolution, in layer order.
    pub filters: Vec<Filters>,
    /// d(top-class logit)/d(input), one value per input pixel.
    #[serde(with = "crate::protocol::bulk")]
    pub saliency: Vec<f32>,
}

impl Inspection {
    /// Where the first NaN or ±∞ is, if any ("the output of layer 3", "the probabilities"):
    /// weights that overflow give such numbers, which JSON cannot carry and the page cannot show.
    pub fn first_non_finite(&self) -> Option<crate::i18n::Message> {
        use crate::msg;
        let bad = |v: &[f32]| v.iter().any(|x| !x.is_finite());
        if let Some(l) = self.layers.iter().find(|l| bad(&l.values) || bad(&l.range)) {
            return Some(msg!("err.output_of_layer", l.layer));
        }
        if bad(&self.probs) {
            return Some(msg!("err.the_probabilities"));
        }
        if bad(&self.saliency) {
            return Some(msg!("err.the_saliency"));
        }
        self.filters.iter().find(|f| bad(&f.values)).map(|f| msg!("err.filters_of_layer", f.layer))
    }
}

fn range_of(values: &[f32]) -> [f32; 2] {
    values.iter().fold([f32::INFINITY, f32::NEG_INFINITY], |[lo, hi], &v| [lo.min(v), hi.max(v)])
}

/// Runs one image (`network.input` sized) through the network in evaluation mode.
pub fn inspect(network: &Network, x: &[f32]) -> Inspection {
    let mut ws = network.workspace(1);
    let mut rng = ChaCha8Rng::seed_from_u64(0);
    let logits = network.forward(x, 1, &mut ws, &mut Pass { train: false, backward: true, rng: &mut rng }).to_vec();
    let mut probs = vec![0.0; network.classes];
    softmax(&logits, &mut probs);
    let top = probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).map_or(0, |(i, _)| i);
    // One output per spec layer: a residual block shows its sum.
    let layers = network
        .ends
        .iter()
        .enumerate()
        .map(|(k, &i)| {
            let shape = network.layers[i].output_shape();
            let all = network.layer_output(i, 1, &ws);
            let shown = if shape.h * shape.w == 1 { shape.c } else { shape.c.min(MAX_MAPS) };
            LayerOutput { layer: k, shape: [shape.c, shape.h, shape.w], values: all[..shown * shape.h * shape.w].to_vec(), range: range_of(all) }
        })
        .collect();
    // The filters of the spec's own convolutions (not those inside blocks).
    let filters = network.ends.iter().enumerate().filter_map(|(k, &i)| {
        let layer = &network.layers[i];
        if layer.join().is_some() {
            return None;
        }
        let weight = layer.param_tensors().into_iter().find(|t| t.name == "weight" && t.shape.len() == 4)?;
        let [out, per_group_in, kh, kw] = weight.shape[..] else { return None };
        let shown = out.min(MAX_MAPS);
        let params = &layer.params()[weight.offset..];
        let values = (0..shown).flat_map(|o| params[o * per_group_in * kh * kw..][..kh * kw].iter().copied()).collect();
        Some(Filters { layer: k, shape: [shown, kh, kw], values })
    }).collect();
    let mut dy = vec![0.0; network.classes];
    dy[top] = 1.0;
    let saliency = network.backward_from(&dy, 1, &mut ws, true).map(<[f32]>::to_vec).unwrap_or_default();
    Inspection { input: x[..network.input.len()].to_vec(), probs, top, layers, filters, saliency }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::spec::{LayerSpec, Spec};

    /// The default spec with these layers.
    fn spec(layers: &str) -> Spec {
        Spec { layers: serde_json::from_str(layers).unwrap(), ..Spec::default() }
    }

    fn image(seed: u32) -> Vec<f32> {
        (0..784).map(|i| ((i as u32 * 2654435761u32 ^ seed) % 1000) as f32 / 1000.0).collect()
    }

    /// Top logit of the network on `x`, evaluation mode.
    fn top_logit(network: &Network, x: &[f32], top: usize) -> f64 {
        let mut ws = network.workspace(1);
        let mut rng = ChaCha8Rng::seed_from_u64(0);
        network.forward(x, 1, &mut ws, &mut Pass { train: false, backward: false, rng: &mut rng })[top] as f64
    }

    /// The saliency map is the true gradient of the top logit, checked by central differences
    /// on a net with BatchNorm (running statistics made non-trivial) and Dropout.
    #[test]
    fn saliency_is_the_gradient_of_the_top_logit_in_eval_mode() {
        let s = spec(r#"[
            {"type":"conv2d","out_channels":4,"kernel_size":3,"padding":1},
            {"type":"batch_norm2d"},{"type":"tanh"},{"type":"max_pool2d","kernel_size":2},
            {"type":"dropout","p":0.5},{"type":"flatten"},{"type":"linear","out_features":10}]"#);
        let mut network = Network::from_spec(&s).unwrap();
        for (k, v) in network.layers[1].buffers_mut().iter_mut().enumerate() {
            *v = if k < 4 { 0.1 * k as f32 } else { 0.5 + 0.3 * (k - 4) as f32 };
        }
        let x = image(7);
        let inspection = inspect(&network, &x);
        assert_eq!(inspection.saliency.len(), 784);
        let h = 1e-3f32;
        let mut worst = 0.0f64;
        for &p in &[0usize, 100, 300, 406, 407, 500, 783] {
            let (mut up, mut down) = (x.clone(), x.clone());
            up[p] += h;
            down[p] -= h;
            let numeric = (top_logit(&network, &up, inspection.top) - top_logit(&network, &down, inspection.top)) / (2.0 * h as f64);
            let analytic = inspection.saliency[p] as f64;
            worst = worst.max((numeric - analytic).abs() / numeric.abs().max(1e-2));
        }
        assert!(worst < 2e-2, "relative error {worst}");
        assert!(inspection.saliency.iter().any(|&g| g != 0.0));
    }

    #[test]
    fn reports_every_layer_the_filters_and_probabilities() {
        let s = Spec::default();
        let network = Network::from_spec(&s).unwrap();
        let inspection = inspect(&network, &image(3));
        assert_eq!(inspection.layers.len(), s.layers.len());
        assert_eq!(inspection.layers[0].shape, [8, 28, 28]);
        assert_eq!(inspection.layers[0].values.len(), 8 * 28 * 28);
        let last = inspection.layers.last().unwrap();
        assert_eq!(last.shape, [10, 1, 1]);
        assert!((inspection.probs.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(inspection.top, inspection.probs.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).unwrap().0);
        let [lo, hi] = inspection.layers[1].range; // after ReLU
        assert!(lo >= 0.0 && hi > 0.0);
        let filters = &inspection.filters[0];
        assert_eq!((filters.layer, filters.shape), (0, [8, 5, 5]));
        assert_eq!(filters.values[..25], network.layers[0].params()[..25]);
        // The second convolution's too: 16 kernels of 5×5 over 8 input channels, the first shown.
        assert_eq!(inspection.filters.len(), 2);
        let second = &inspection.filters[1];
        assert_eq!((second.layer, second.shape), (3, [16.min(MAX_MAPS), 5, 5]));
        let weights = network.layers[3].params();
        assert_eq!(second.values[25..50], weights[8 * 25..9 * 25], "kernel 1 starts after kernel 0's 8 input channels");
        assert!(matches!(s.layers[0], LayerSpec::Conv2d { .. }));
    }

    #[test]
    fn wide_layers_are_capped_and_flat_ones_are_not() {
        let s = spec(r#"[{"type":"conv2d","out_channels":80,"kernel_size":3},{"type":"max_pool2d","kernel_size":2},{"type":"flatten"},{"type":"linear","out_features":100},{"type":"linear","out_features":10}]"#);
        let network = Network::from_spec(&s).unwrap();
        let inspection = inspect(&network, &image(1));
        assert_eq!(inspection.layers[0].values.len(), MAX_MAPS * 26 * 26);
        assert_eq!(inspection.layers[3].values.len(), 100);
        assert_eq!(inspection.filters[0].shape, [MAX_MAPS, 3, 3]);
    }

    /// Issue 13, item 4: weights that overflow make every output NaN or ∞; the inspection says
    /// where, so the worker can answer with a message instead of a `null` in JSON.
    #[test]
    fn overflowing_weights_are_located() {
        let s = spec(r#"[{"type":"conv2d","out_channels":2,"kernel_size":3},{"type":"flatten"},{"type":"linear","out_features":10}]"#);
        let mut network = Network::from_spec(&s).unwrap();
        assert_eq!(inspect(&network, &image(1)).first_non_finite(), None);
        for w in network.layers[0].params_mut() {
            *w = 3e38;
        }
        assert_eq!(inspect(&network, &image(1)).first_non_finite().map(|m| m.to_string()).as_deref(), Some("the output of layer 0"));
    }
}
