//! Preset networks, all in the spec format. Layers are written as spec JSON: the same text a
//! user would write or find in a shared link.

use super::{OptimizerSpec, Spec};

/// Names accepted by [`Spec::preset`], with what each one is.
pub const PRESETS: [&str; 11] = [
    "reference",
    "lenet-5",
    "pytorch-mnist-cnn",
    "keras-bn-cnn",
    "depthwise-separable",
    "tiny-vgg",
    "spp-net",
    "fast-99",
    "best-99.5",
    "keras-cifar10",
    "resnet-8",
];

/// The presets the speed benchmarks run.
pub const BENCH_PRESETS: [&str; 3] = ["reference", "lenet-5", "pytorch-mnist-cnn"];

const LENET_5: &str = r#"[
  {"type":"conv2d","out_channels":6,"kernel_size":5,"padding":2}, {"type":"tanh"}, {"type":"avg_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":16,"kernel_size":5}, {"type":"tanh"}, {"type":"avg_pool2d","kernel_size":2},
  {"type":"flatten"}, {"type":"linear","out_features":120}, {"type":"tanh"},
  {"type":"linear","out_features":84}, {"type":"tanh"}, {"type":"linear","out_features":10}]"#;

const PYTORCH_MNIST_CNN: &str = r#"[
  {"type":"conv2d","out_channels":16,"kernel_size":5,"padding":2}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":32,"kernel_size":5,"padding":2}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":64,"kernel_size":5,"padding":2}, {"type":"relu"},
  {"type":"flatten"}, {"type":"linear","out_features":10}]"#;

const KERAS_BN_CNN: &str = r#"[
  {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":"same","bias":false}, {"type":"batch_norm2d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":"same","bias":false}, {"type":"batch_norm2d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"max_pool2d","kernel_size":2}, {"type":"dropout","p":0.25},
  {"type":"conv2d","out_channels":64,"kernel_size":3,"padding":"same","bias":false}, {"type":"batch_norm2d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"max_pool2d","kernel_size":2}, {"type":"dropout","p":0.25},
  {"type":"flatten"}, {"type":"linear","out_features":128}, {"type":"batch_norm1d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"dropout","p":0.5}, {"type":"linear","out_features":10}]"#;

const DEPTHWISE_SEPARABLE: &str = r#"[
  {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
  {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1,"groups":16,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
  {"type":"conv2d","out_channels":32,"kernel_size":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
  {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":1,"groups":32,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
  {"type":"conv2d","out_channels":64,"kernel_size":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
  {"type":"max_pool2d","kernel_size":2},
  {"type":"adaptive_avg_pool2d","output_size":1}, {"type":"flatten"}, {"type":"linear","out_features":10}]"#;

/// The CIFAR-10 tutorial's Keras net: "same" 3×3 convs with BatchNorm and LeakyReLU, a stride-2
/// conv instead of pooling, Dropout, Dense 256.
const KERAS_CIFAR10: &str = r#"[
  {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":"same","bias":false}, {"type":"batch_norm2d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"conv2d","out_channels":32,"kernel_size":3,"stride":2,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"dropout","p":0.25},
  {"type":"conv2d","out_channels":64,"kernel_size":3,"padding":"same","bias":false}, {"type":"batch_norm2d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"conv2d","out_channels":64,"kernel_size":3,"stride":2,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"dropout","p":0.25},
  {"type":"flatten"}, {"type":"linear","out_features":256}, {"type":"leaky_relu","negative_slope":0.1},
  {"type":"dropout","p":0.5}, {"type":"linear","out_features":10}]"#;

/// He et al. 2015's CIFAR ResNet with one block per stage (6n+2 weighted layers, n = 1): a
/// 3×3 stem, residual blocks of two 3×3 conv-BatchNorm at 16, 32 and 64 channels (the last two
/// halve the side, their shortcut a 1×1 projection), ReLU after each sum, global average pooling.
const RESNET_8: &str = r#"[
  {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
  {"type":"residual","layers":[
    {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
    {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}]}, {"type":"relu"},
  {"type":"residual","shortcut":"conv1x1","layers":[
    {"type":"conv2d","out_channels":32,"kernel_size":3,"stride":2,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
    {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}]}, {"type":"relu"},
  {"type":"residual","shortcut":"conv1x1","layers":[
    {"type":"conv2d","out_channels":64,"kernel_size":3,"stride":2,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"},
    {"type":"conv2d","out_channels":64,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}]}, {"type":"relu"},
  {"type":"adaptive_avg_pool2d","output_size":1}, {"type":"flatten"}, {"type":"linear","out_features":10}]"#;

const TINY_VGG: &str = r#"[
  {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1}, {"type":"relu"},
  {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":1}, {"type":"relu"},
  {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":1}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"flatten"}, {"type":"linear","out_features":64}, {"type":"relu"}, {"type":"linear","out_features":10}]"#;

const FAST_99: &str = r#"[
  {"type":"conv2d","out_channels":16,"kernel_size":5,"padding":2,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":32,"kernel_size":5,"padding":2,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"flatten"}, {"type":"linear","out_features":10}]"#;

/// One epoch of MNIST at batch 64, in optimizer steps: the fast presets' cosines count in them.
const FAST_99_STEPS: usize = 60_000usize.div_ceil(64);

const BEST_99_5: &str = r#"[
  {"type":"conv2d","out_channels":32,"kernel_size":5,"padding":2,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":64,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":128,"kernel_size":3,"padding":1,"bias":false}, {"type":"batch_norm2d"}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"flatten"}, {"type":"dropout","p":0.25}, {"type":"linear","out_features":10}]"#;

/// Epochs of the best preset: its cosine runs down over all of them (per step).
const BEST_99_5_EPOCHS: usize = 8;

const SPP_NET: &str = r#"[
  {"type":"conv2d","out_channels":16,"kernel_size":3,"padding":1}, {"type":"relu"}, {"type":"max_pool2d","kernel_size":2},
  {"type":"conv2d","out_channels":32,"kernel_size":3,"padding":1}, {"type":"relu"},
  {"type":"spatial_pyramid_pool","levels":[1,2,4]}, {"type":"linear","out_features":10}]"#;

impl Spec {
    /// A named preset (see [`PRESETS`]):
    /// - `reference`: the classic small net ([`Spec::default`]);
    /// - `lenet-5`: LeCun et al. 1998 as the tutorials teach it: tanh, average pooling, 120-84-10;
    /// - `pytorch-mnist-cnn`: conv 16/32/64 5×5 with ReLU and two max-pools, linear 10;
    /// - `keras-bn-cnn`: conv-BatchNorm-LeakyReLU blocks with Dropout, trained with Adam;
    /// - `depthwise-separable`: MobileNet-style depthwise 3×3 + pointwise 1×1 blocks, global pooling;
    /// - `tiny-vgg`: two VGG blocks of two 3×3 convs each;
    /// - `spp-net`: spatial pyramid pooling (levels 1, 2, 4) before the classifier;
    /// - `fast-99`: built to pass 99 % test accuracy in one epoch: two conv-BatchNorm-ReLU-pool
    ///   blocks (16 and 32 channels), Nesterov SGD with a 100-step warm-up and a per-step cosine
    ///   over the epoch, label smoothing 0.1.
    /// - `best-99.5`: built to pass 99.5 % within ten minutes in the page: three
    ///   conv-BatchNorm-ReLU-pool blocks (32, 64, 128 channels), dropout, eight epochs of Nesterov
    ///   SGD with weight decay, warm-up and a per-step cosine, label smoothing 0.1 and light
    ///   augmentation (±8° rotation, ±8 % shift, ±8 % scale).
    /// - `keras-cifar10`: the CIFAR-10 tutorial's Keras net (conv-BatchNorm-LeakyReLU, stride-2
    ///   convs, Dropout, Dense 256) on CIFAR-10, Adam, random crop with 4 px padding and flips.
    /// - `resnet-8`: He et al.'s CIFAR ResNet with one residual block per stage (16, 32, 64
    ///   channels), SGD with momentum and weight decay, a cosine over the epochs, crop and flips.
    pub fn preset(name: &str) -> Option<Spec> {
        let layers = |json: &str| serde_json::from_str(json).expect("preset layers are valid JSON");
        let with = |json: &str| Spec { layers: layers(json), ..Spec::default() };
        Some(match name {
            "reference" => Spec::default(),
            "lenet-5" => with(LENET_5),
            "pytorch-mnist-cnn" => with(PYTORCH_MNIST_CNN),
            "keras-bn-cnn" => {
                let mut s = with(KERAS_BN_CNN);
                s.training.optimizer = serde_json::from_str(r#"{"type":"adam","lr":0.001}"#).expect("valid optimizer");
                s
            }
            "depthwise-separable" => {
                let mut s = with(DEPTHWISE_SEPARABLE);
                s.training.optimizer = OptimizerSpec::sgd(0.1, 0.9);
                s
            }
            "tiny-vgg" => with(TINY_VGG),
            "spp-net" => with(SPP_NET),
            "fast-99" => {
                let mut s = with(FAST_99);
                s.training = serde_json::from_value(serde_json::json!({
                    "batch_size": 64, "epochs": 1,
                    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true},
                    "schedule": {"kind": {"type": "cosine", "t_max": FAST_99_STEPS}, "per_step": true, "warmup_steps": 100, "warmup_start_factor": 0.1},
                    "label_smoothing": 0.1
                }))
                .expect("valid training spec");
                s
            }
            "best-99.5" => {
                let mut s = with(BEST_99_5);
                s.training = serde_json::from_value(serde_json::json!({
                    "batch_size": 64, "epochs": BEST_99_5_EPOCHS,
                    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "nesterov": true, "weight_decay": 5e-4},
                    "schedule": {"kind": {"type": "cosine", "t_max": BEST_99_5_EPOCHS * FAST_99_STEPS}, "per_step": true, "warmup_steps": 300, "warmup_start_factor": 0.1},
                    "label_smoothing": 0.1,
                    "augment": {"rotation": 8.0, "translate": 0.08, "scale": [0.92, 1.08]}
                }))
                .expect("valid training spec");
                s
            }
            "keras-cifar10" => {
                let mut s = with(KERAS_CIFAR10);
                s.dataset = super::DatasetKind::Cifar10;
                s.training = serde_json::from_value(serde_json::json!({
                    "batch_size": 64, "epochs": 10,
                    "optimizer": {"type": "adam", "lr": 0.001},
                    "augment": {"crop_padding": 4, "hflip": true}
                }))
                .expect("valid training spec");
                s
            }
            "resnet-8" => {
                let mut s = with(RESNET_8);
                s.dataset = super::DatasetKind::Cifar10;
                s.training = serde_json::from_value(serde_json::json!({
                    "batch_size": 64, "epochs": 15,
                    "optimizer": {"type": "sgd", "lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4},
                    "schedule": {"kind": {"type": "cosine", "t_max": 15}},
                    "augment": {"crop_padding": 4, "hflip": true}
                }))
                .expect("valid training spec");
                s
            }
            _ => return None,
        })
    }
}
