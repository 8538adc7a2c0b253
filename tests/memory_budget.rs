//! The memory budget (`spec::memory`) counts what training really holds, refuses what does not
//! fit before anything is allocated, and names the budget when it refuses (issue 13).

use cnn_playground::engine::data::synthetic;
use cnn_playground::engine::network::Network;
use cnn_playground::engine::layers::Pass;
use cnn_playground::engine::spec::memory::{self, EVAL_CHUNK};
use cnn_playground::engine::spec::{Spec, PRESETS};
use cnn_playground::engine::train::{Trainer, CHUNK};
use rand::SeedableRng;
use std::sync::Arc;

/// Specs beside the presets that take the other code paths (grouped and strided convolutions,
/// padding modes, dilation, every scratch-keeping layer).
fn extra_specs() -> Vec<Spec> {
    let layers = [
        r#"[{"type":"conv2d","out_channels":6,"kernel_size":3,"stride":2,"padding":1},{"type":"relu"},
            {"type":"conv2d","out_channels":6,"kernel_size":3,"groups":6,"padding":"same","padding_mode":"reflect"},
            {"type":"group_norm","num_groups":3},{"type":"local_response_norm","size":3},
            {"type":"max_pool2d","kernel_size":3,"stride":2,"ceil_mode":true},{"type":"dropout2d","p":0.2},
            {"type":"spatial_pyramid_pool","levels":[1,2]},{"type":"linear","out_features":10}]"#,
        r#"[{"type":"conv2d","out_channels":4,"kernel_size":[3,5],"dilation":[2,1],"padding":[2,3]},{"type":"instance_norm2d","affine":true},
            {"type":"avg_pool2d","kernel_size":4,"ceil_mode":true,"divisor_override":3},{"type":"layer_norm"},
            {"type":"flatten"},{"type":"dropout"},{"type":"linear","out_features":10},{"type":"softmax"}]"#,
    ];
    layers
        .iter()
        .map(|l| {
            let mut spec = Spec::default();
            spec.layers = serde_json::from_str(l).unwrap();
            spec.training.batch_size = 40;
            spec
        })
        .collect()
}

#[test]
fn the_estimate_covers_what_training_and_evaluation_hold() {
    let specs = PRESETS.iter().map(|n| Spec::preset(n).unwrap()).chain(extra_specs());
    for spec in specs {
        let infos = spec.infer_flat().unwrap();
        let data = Arc::new(synthetic::split_like(&spec, 200, 100));
        let estimate = memory::estimate(&spec, &infos);
        let mut trainer = Trainer::new(spec.clone(), data.clone()).unwrap();
        trainer.parallel = false;
        trainer.train_steps(2);
        let held = trainer.workspace_bytes();
        assert!(held <= estimate.training, "{:?}: training holds {held} bytes, estimate {}", spec.layers, estimate.training);
        // An evaluation workspace after a forward pass, and a training chunk's after a step.
        let network = Network::from_spec(&spec).unwrap();
        let mut ws = network.workspace(EVAL_CHUNK);
        let x = vec![0.5f32; EVAL_CHUNK * spec.input_shape().len()];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(1);
        network.forward(&x, EVAL_CHUNK, &mut ws, &mut Pass { train: false, backward: false, rng: &mut rng });
        assert!(ws.bytes() <= memory::workspace_bytes(&spec, &infos, EVAL_CHUNK as u64, false), "{:?}: eval", spec.layers);
        let chunk_estimate = memory::workspace_bytes(&spec, &infos, CHUNK as u64, true);
        assert!(held <= chunk_estimate * (spec.training.batch_size.div_ceil(CHUNK) as u64));
    }
}

#[test]
fn a_model_right_at_the_budget_passes_and_one_byte_more_is_refused() {
    let spec = Spec::default();
    let infos = spec.infer_flat().unwrap();
    let total = memory::estimate(&spec, &infos).total();
    assert!(memory::check(&spec, &infos, total).is_ok());
    let err = memory::check(&spec, &infos, total - 1).unwrap_err();
    assert_eq!(err.field, "layers");
    assert!(err.message.to_string().contains("memory budget"), "{}", err.message);
}

#[test]
fn deep_and_wide_models_are_refused_by_the_budget_before_any_allocation() {
    // A convolution followed by 1,000 ReLUs: every output is kept for backward.
    let mut spec = Spec::default();
    let mut layers = vec![spec.layers[0].clone()];
    layers.extend(std::iter::repeat_n(spec.layers[1].clone(), 1000));
    layers.extend(spec.layers[2..].iter().cloned());
    spec.layers = layers;
    let err = spec.infer().unwrap_err();
    assert_eq!(err.field, "layers");
    assert!(err.to_string().contains("over the 512 MB memory budget"), "{err}");
    // Deep but within the budget: it builds and trains.
    let mut ok = Spec::default();
    let mut layers = vec![ok.layers[0].clone()];
    layers.extend(std::iter::repeat_n(ok.layers[1].clone(), 20));
    layers.extend(ok.layers[2..].iter().cloned());
    ok.layers = layers;
    ok.infer().unwrap();
    let mut t = Trainer::new(ok, Arc::new(synthetic::bars_split(64, 16))).unwrap();
    assert_eq!(t.train_steps(1).steps, 1);
    // A Linear layer of 100,000 outputs on 784 inputs: 78 M parameters, refused by the budget.
    let spec: Spec = serde_json::from_value(serde_json::json!({
        "version": 1, "dataset": "mnist", "seed": 1, "training": serde_json::to_value(Spec::default().training).unwrap(),
        "layers": [{"type":"flatten"},{"type":"linear","out_features":100000},{"type":"linear","out_features":10}]
    }))
    .unwrap();
    let err = spec.infer().unwrap_err().to_string();
    assert_eq!(err, "layer 1, field `out_features`: gives more than 33554432 parameters, past what the 512 MB memory budget allows");
}
