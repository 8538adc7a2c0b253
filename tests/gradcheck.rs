//! Numeric gradient checks: every layer's backward pass against central differences of
//! `L = Σ r·y` for a random upstream gradient `r`, and the whole network with its loss.

use cnn_playground::engine::layers::{build_layer, Act, Activation, Layer, Pass, Scratch};
use cnn_playground::engine::loss::Loss;
use cnn_playground::engine::network::Network;
use cnn_playground::engine::shape::Shape;
use cnn_playground::engine::spec::{Init, LayerSpec, Spec};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const N: usize = 2;

fn rng() -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(1234)
}

/// Distinct values in ±[0.1, 1], at least 0.9/len apart in magnitude: far enough from 0 that
/// ReLU kinks are not crossed, and no two are within ε of a max-pool tie.
fn away_from_zero(len: usize, rng: &mut ChaCha8Rng) -> Vec<f32> {
    use rand::seq::SliceRandom;
    let mut v: Vec<f32> = (0..len)
        .map(|k| {
            let m = 0.1 + 0.9 * k as f32 / len as f32;
            if rng.random_bool(0.5) { m } else { -m }
        })
        .collect();
    v.shuffle(rng);
    v
}

fn objective(layer: &dyn Layer, x: &[f32], r: &[f32]) -> f64 {
    let mut y = vec![0.0; r.len()];
    let mut g = rng();
    layer.forward(x, &mut y, N, &mut Scratch::default(), &mut Pass { train: true, backward: true, rng: &mut g });
    y.iter().zip(r).map(|(&a, &b)| a as f64 * b as f64).sum()
}

fn close(numeric: f64, analytic: f32, what: &str) {
    let err = (numeric - analytic as f64).abs();
    assert!(err <= 2e-3 + 2e-2 * numeric.abs(), "{what}: numeric {numeric} vs analytic {analytic}");
}

/// Checks d(Σ r·y)/dx and d/dparams of `layer` against central differences.
fn check_layer(mut layer: Box<dyn Layer>, name: &str) {
    let mut g = rng();
    let x = away_from_zero(N * layer.input_shape().len(), &mut g);
    let r = away_from_zero(N * layer.output_shape().len(), &mut g);
    // Analytic gradients.
    let mut y = vec![0.0; r.len()];
    let mut scratch = Scratch::default();
    let mut pass_rng = rng();
    layer.forward(&x, &mut y, N, &mut scratch, &mut Pass { train: true, backward: true, rng: &mut pass_rng });
    let mut dx = vec![f32::NAN; x.len()];
    let mut grads = vec![0.0; layer.params().len()];
    layer.backward(&x, &y, &r, Some(&mut dx), &mut grads, N, &mut scratch);

    let eps = 1e-3f32;
    for i in 0..x.len() {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += eps;
        xm[i] -= eps;
        let num = (objective(&*layer, &xp, &r) - objective(&*layer, &xm, &r)) / (2.0 * eps as f64);
        close(num, dx[i], &format!("{name} dx[{i}]"));
    }
    for p in 0..grads.len() {
        let orig = layer.params()[p];
        layer.params_mut()[p] = orig + eps;
        let plus = objective(&*layer, &x, &r);
        layer.params_mut()[p] = orig - eps;
        let minus = objective(&*layer, &x, &r);
        layer.params_mut()[p] = orig;
        close((plus - minus) / (2.0 * eps as f64), grads[p], &format!("{name} dparam[{p}]"));
    }
}

/// Builds a layer from its spec JSON for a per-sample `input`.
fn layer(json: &str, input: Shape) -> Box<dyn Layer> {
    let spec: LayerSpec = serde_json::from_str(json).unwrap_or_else(|e| panic!("{json}: {e}"));
    build_layer(&spec, input, Init::Pytorch, &mut rng()).unwrap_or_else(|e| panic!("{json}: {e:?}"))
}

fn check_spec(json: &str, input: Shape) {
    check_layer(layer(json, input), json);
}

#[test]
fn conv2d_gradients() {
    let input = Shape::new(2, 6, 5);
    for (k, stride, pad) in [(3, 1, 1), (3, 2, 0), (2, 2, 1), (5, 1, 2)] {
        check_spec(&format!(r#"{{"type":"conv2d","out_channels":3,"kernel_size":{k},"stride":{stride},"padding":{pad}}}"#), input);
    }
}

#[test]
fn conv2d_option_gradients() {
    let input = Shape::new(4, 7, 6);
    for json in [
        r#"{"type":"conv2d","out_channels":2,"kernel_size":[3,2],"stride":[2,1],"padding":[1,0]}"#,
        r#"{"type":"conv2d","out_channels":3,"kernel_size":3,"dilation":2,"padding":2}"#,
        r#"{"type":"conv2d","out_channels":6,"kernel_size":3,"groups":2,"padding":1}"#,
        r#"{"type":"conv2d","out_channels":4,"kernel_size":3,"groups":4,"padding":"same","bias":false}"#,
        r#"{"type":"conv2d","out_channels":2,"kernel_size":4,"padding":"same"}"#,
        r#"{"type":"conv2d","out_channels":2,"kernel_size":3,"padding":2,"padding_mode":"reflect"}"#,
        r#"{"type":"conv2d","out_channels":2,"kernel_size":3,"padding":[1,2],"padding_mode":"replicate","stride":2}"#,
        r#"{"type":"conv2d","out_channels":2,"kernel_size":3,"padding":2,"padding_mode":"circular","dilation":[1,2]}"#,
        // Unit stride, padding wider than the kernel's span: the input gradient keeps col2im.
        r#"{"type":"conv2d","out_channels":3,"kernel_size":[1,3],"padding":[2,3]}"#,
    ] {
        check_spec(json, input);
    }
}

#[test]
fn linear_gradients() {
    check_spec(r#"{"type":"linear","out_features":4}"#, Shape::flat(7));
    check_spec(r#"{"type":"linear","out_features":3,"bias":false}"#, Shape::flat(5));
}

#[test]
fn activation_gradients() {
    for act in [
        Act::Relu,
        Act::LeakyRelu(0.1),
        Act::Sigmoid,
        Act::Tanh,
        Act::Silu,
        Act::Mish,
        Act::Elu(1.3),
        Act::Gelu { tanh: false },
        Act::Gelu { tanh: true },
        Act::Relu6,
        Act::Hardswish,
    ] {
        check_layer(Box::new(Activation::new(Shape::new(2, 3, 3), act)), &format!("{act:?}"));
    }
    check_spec(r#"{"type":"softmax"}"#, Shape::flat(6));
    check_spec(r#"{"type":"prelu"}"#, Shape::new(2, 3, 3));
    check_spec(r#"{"type":"prelu","num_parameters":2,"init":-0.3}"#, Shape::new(2, 3, 3));
    check_spec(r#"{"type":"prelu","num_parameters":5}"#, Shape::flat(5));
}

#[test]
fn avgpool_gradients() {
    for json in [
        r#"{"type":"avg_pool2d","kernel_size":2}"#,
        r#"{"type":"avg_pool2d","kernel_size":3,"stride":1}"#,
        r#"{"type":"avg_pool2d","kernel_size":3,"stride":2,"padding":1,"ceil_mode":true}"#,
        r#"{"type":"avg_pool2d","kernel_size":[3,2],"stride":2,"padding":1,"count_include_pad":false,"ceil_mode":true}"#,
        r#"{"type":"adaptive_avg_pool2d","output_size":[3,2]}"#,
        r#"{"type":"adaptive_avg_pool2d","output_size":1}"#,
        r#"{"type":"spatial_pyramid_pool","levels":[1,2,3],"pool":"avg"}"#,
    ] {
        check_spec(json, Shape::new(2, 5, 6));
    }
}

#[test]
fn maxpool_gradients() {
    for json in [
        r#"{"type":"max_pool2d","kernel_size":2}"#,
        r#"{"type":"max_pool2d","kernel_size":3,"stride":1}"#,
        r#"{"type":"max_pool2d","kernel_size":3,"stride":2,"padding":1,"ceil_mode":true}"#,
        r#"{"type":"max_pool2d","kernel_size":2,"stride":1,"dilation":2}"#,
        r#"{"type":"adaptive_max_pool2d","output_size":[2,3]}"#,
        r#"{"type":"spatial_pyramid_pool","levels":[1,2]}"#,
    ] {
        check_spec(json, Shape::new(2, 5, 6));
    }
}

#[test]
fn normalisation_gradients() {
    for (json, input) in [
        (r#"{"type":"batch_norm2d"}"#, Shape::new(3, 4, 3)),
        (r#"{"type":"batch_norm2d","affine":false}"#, Shape::new(2, 3, 3)),
        (r#"{"type":"batch_norm1d"}"#, Shape::flat(5)),
        (r#"{"type":"layer_norm"}"#, Shape::new(2, 3, 3)),
        (r#"{"type":"instance_norm2d","affine":true}"#, Shape::new(3, 3, 2)),
        (r#"{"type":"group_norm","num_groups":2}"#, Shape::new(4, 2, 3)),
        (r#"{"type":"local_response_norm","size":3,"alpha":0.5,"k":1.5}"#, Shape::new(5, 2, 2)),
        (r#"{"type":"local_response_norm","size":2,"alpha":0.3}"#, Shape::new(4, 2, 2)),
    ] {
        check_spec(json, input);
    }
}

#[test]
fn dropout_gradients_with_a_fixed_mask() {
    // The objective re-seeds the pass, so every evaluation sees the same mask.
    check_spec(r#"{"type":"dropout","p":0.3}"#, Shape::new(2, 3, 3));
    check_spec(r#"{"type":"dropout2d","p":0.5}"#, Shape::new(4, 2, 2));
}

#[test]
fn flatten_gradients() {
    check_spec(r#"{"type":"flatten"}"#, Shape::new(2, 2, 3));
}

#[test]
fn whole_network_with_cross_entropy() {
    // Strided convs instead of max-pooling: random inputs put max-pool windows within ε of a tie,
    // and crossing a tie makes the numeric derivative meaningless (max-pool has its own check).
    let mut spec = Spec::default();
    spec.init = Init::He;
    spec.layers = serde_json::from_str(
        r#"[{"type":"conv2d","out_channels":4,"kernel_size":3,"stride":2,"padding":1},{"type":"relu"},
            {"type":"conv2d","out_channels":6,"kernel_size":3,"stride":2},{"type":"relu"},
            {"type":"flatten"},{"type":"linear","out_features":10}]"#,
    )
    .unwrap();
    let mut net = Network::from_spec(&spec).unwrap();
    let x = random_images(&mut rng());
    check_network_params(&mut net, &x, 13, "net");
}

/// `N` random 1×28×28 images.
fn random_images(g: &mut ChaCha8Rng) -> Vec<f32> {
    (0..N * 784).map(|_| g.random_range(0.0..1.0)).collect()
}

/// The cross-entropy loss's parameter gradients of `net` on `x` (labels 3 and 7) against
/// central differences, for about `per_layer` parameters spread over every trainable layer (all
/// of them would take minutes).
fn check_network_params(net: &mut Network, x: &[f32], per_layer: usize, what: &str) -> Vec<Vec<f32>> {
    let labels = [3u8, 7];
    let mut ws = net.workspace(N);
    let mut pass_rng = rng();
    net.train_chunk(x, &labels, &Loss::default(), 1.0 / N as f32, &mut ws, &mut Pass { train: true, backward: true, rng: &mut pass_rng });
    let analytic = ws.grads.clone();
    let mean_loss = |net: &Network| -> f64 {
        let mut ws = net.workspace(N);
        let mut r = rng();
        net.train_chunk(x, &labels, &Loss::default(), 1.0, &mut ws, &mut Pass { train: true, backward: true, rng: &mut r }).loss / N as f64
    };
    // Small enough that few ReLU kinks or pooling switches are crossed.
    let eps = 1e-3f32;
    for (li, grads) in analytic.iter().enumerate() {
        for p in (0..grads.len()).step_by(grads.len() / per_layer + 1) {
            let orig = net.layers[li].params()[p];
            net.layers[li].params_mut()[p] = orig + eps;
            let plus = mean_loss(net);
            net.layers[li].params_mut()[p] = orig - eps;
            let minus = mean_loss(net);
            net.layers[li].params_mut()[p] = orig;
            close((plus - minus) / (2.0 * eps as f64), grads[p], &format!("{what} layer {li} param {p}"));
        }
    }
    analytic
}

/// Issue 16: residual blocks — a block at the very input (its shortcut's share must reach the
/// input gradient), an identity block, and a strided block with a 1×1 projection — against
/// central differences of the loss (parameters) and of `Σ r·logits` (input).
#[test]
fn residual_network_gradients() {
    let mut spec = Spec::default();
    spec.layers = serde_json::from_str(
        r#"[{"type":"residual","layers":[{"type":"conv2d","out_channels":1,"kernel_size":3,"padding":1},{"type":"tanh"}]},
            {"type":"conv2d","out_channels":3,"kernel_size":3,"stride":2,"padding":1},{"type":"tanh"},
            {"type":"residual","layers":[{"type":"conv2d","out_channels":3,"kernel_size":3,"padding":1},{"type":"tanh"},
                                          {"type":"conv2d","out_channels":3,"kernel_size":3,"padding":1}]},
            {"type":"residual","shortcut":"conv1x1","layers":[{"type":"conv2d","out_channels":4,"kernel_size":3,"stride":2,"padding":1},{"type":"sigmoid"}]},
            {"type":"adaptive_avg_pool2d","output_size":2},{"type":"flatten"},{"type":"linear","out_features":10}]"#,
    )
    .unwrap();
    let mut net = Network::from_spec(&spec).unwrap();
    assert_eq!(net.layers.len(), 15, "three blocks open into their bodies and a join each");
    let mut g = rng();
    let x = random_images(&mut g);
    let analytic = check_network_params(&mut net, &x, 9, "residual net");
    assert!(analytic.iter().filter(|g| !g.is_empty()).count() >= 6);
    let eps = 1e-3f32;
    // The input gradient of Σ r·logits.
    let r = away_from_zero(N * 10, &mut g);
    let objective = |x: &[f32]| -> f64 {
        let mut ws = net.workspace(N);
        let mut p = rng();
        let y = net.forward(x, N, &mut ws, &mut Pass { train: true, backward: true, rng: &mut p });
        y.iter().zip(&r).map(|(&a, &b)| a as f64 * b as f64).sum()
    };
    let mut ws = net.workspace(N);
    let mut p = rng();
    net.forward(&x, N, &mut ws, &mut Pass { train: true, backward: true, rng: &mut p });
    let dx = net.backward_from(&r, N, &mut ws, true).unwrap().to_vec();
    for i in (0..x.len()).step_by(37) {
        let (mut xp, mut xm) = (x.clone(), x.clone());
        xp[i] += eps;
        xm[i] -= eps;
        close((objective(&xp) - objective(&xm)) / (2.0 * eps as f64), dx[i], &format!("residual net dx[{i}]"));
    }
}
