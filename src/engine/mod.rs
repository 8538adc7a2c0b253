//! The CNN engine: tensors-as-slices, layers, losses, optimizers, data and training.
//! It has no web dependencies; the browser worker and the native CLI are two hosts of it.

pub mod augment;
pub mod class_names;
pub mod bench;
pub mod data;
pub mod export;
pub mod inspect;
pub mod kernel_bench;
pub mod kernels;
pub mod lanes;
pub mod layers;
pub mod loss;
pub mod metrics;
pub mod network;
pub mod optim;
pub mod preprocess;
pub mod profile;
pub mod script;
pub mod shape;
pub mod smoothing;
pub mod streams;
pub mod spec;
pub mod train;
pub mod weights;
pub mod weights_link;
