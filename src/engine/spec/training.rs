//! Training settings of a spec: optimizer (PyTorch `torch.optim` names and defaults), learning-rate
//! schedule with warm-up, loss, regularisation.

use super::SpecError;
use crate::engine::augment::AugmentSpec;
use serde::{Deserialize, Serialize};

/// Optimizer settings; field names and defaults as in `torch.optim`. `EnumIter` walks the kinds
/// (with zeroed fields): the UI's choices come from it and serde's names, never from a copy.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, strum::EnumIter)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum OptimizerSpec {
    /// `torch.optim.SGD`: `v = μ·v + (1−dampening)·g` (first step `v = g`); Nesterov uses `g + μ·v`.
    Sgd {
        /// Learning rate.
        lr: f32,
        /// Momentum factor (0 disables it).
        #[serde(default)]
        momentum: f32,
        /// Dampening for momentum.
        #[serde(default)]
        dampening: f32,
        /// Nesterov momentum.
        #[serde(default)]
        nesterov: bool,
        /// L2 weight decay added to the gradient.
        #[serde(default)]
        weight_decay: f32,
    },
    /// `torch.optim.Adam`.
    Adam {
        /// Learning rate (default 1e-3).
        #[serde(default = "adam_lr")]
        lr: f32,
        /// Decay rates of the first and second moments.
        #[serde(default = "betas")]
        betas: [f32; 2],
        /// Denominator term.
        #[serde(default = "adam_eps")]
        eps: f32,
        /// L2 weight decay added to the gradient.
        #[serde(default)]
        weight_decay: f32,
        /// Use the maximum of past second moments.
        #[serde(default)]
        amsgrad: bool,
    },
    /// `torch.optim.AdamW` (decoupled weight decay).
    AdamW {
        /// Learning rate (default 1e-3).
        #[serde(default = "adam_lr")]
        lr: f32,
        /// Decay rates of the first and second moments.
        #[serde(default = "betas")]
        betas: [f32; 2],
        /// Denominator term.
        #[serde(default = "adam_eps")]
        eps: f32,
        /// Decoupled weight decay: `p −= lr·wd·p` (default 0.01).
        #[serde(default = "adamw_decay")]
        weight_decay: f32,
        /// Use the maximum of past second moments.
        #[serde(default)]
        amsgrad: bool,
    },
    /// `torch.optim.RMSprop`.
    #[serde(rename = "rmsprop")]
    RmsProp {
        /// Learning rate (default 1e-2).
        #[serde(default = "rms_lr")]
        lr: f32,
        /// Smoothing constant.
        #[serde(default = "rms_alpha")]
        alpha: f32,
        /// Denominator term.
        #[serde(default = "adam_eps")]
        eps: f32,
        /// L2 weight decay added to the gradient.
        #[serde(default)]
        weight_decay: f32,
        /// Momentum factor.
        #[serde(default)]
        momentum: f32,
        /// Normalise by the centred second moment (an estimate of the variance).
        #[serde(default)]
        centered: bool,
    },
    /// `torch.optim.Adagrad`.
    Adagrad {
        /// Learning rate (default 1e-2).
        #[serde(default = "rms_lr")]
        lr: f32,
        /// Learning-rate decay per step: `lr / (1 + (t−1)·lr_decay)`.
        #[serde(default)]
        lr_decay: f32,
        /// L2 weight decay added to the gradient.
        #[serde(default)]
        weight_decay: f32,
        /// Starting value of the squared-gradient sum.
        #[serde(default)]
        initial_accumulator_value: f32,
        /// Denominator term (default 1e-10).
        #[serde(default = "adagrad_eps")]
        eps: f32,
    },
}

fn adam_lr() -> f32 {
    1e-3
}
fn betas() -> [f32; 2] {
    [0.9, 0.999]
}
fn adam_eps() -> f32 {
    1e-8
}
fn adamw_decay() -> f32 {
    1e-2
}
fn rms_lr() -> f32 {
    1e-2
}
fn rms_alpha() -> f32 {
    0.99
}
fn adagrad_eps() -> f32 {
    1e-10
}

impl OptimizerSpec {
    /// Plain SGD with momentum.
    pub fn sgd(lr: f32, momentum: f32) -> Self {
        OptimizerSpec::Sgd { lr, momentum, dampening: 0.0, nesterov: false, weight_decay: 0.0 }
    }

    /// The base learning rate.
    pub fn lr(&self) -> f32 {
        match *self {
            OptimizerSpec::Sgd { lr, .. }
            | OptimizerSpec::Adam { lr, .. }
            | OptimizerSpec::AdamW { lr, .. }
            | OptimizerSpec::RmsProp { lr, .. }
            | OptimizerSpec::Adagrad { lr, .. } => lr,
        }
    }

    /// Changes the base learning rate.
    pub fn set_lr(&mut self, value: f32) {
        match self {
            OptimizerSpec::Sgd { lr, .. }
            | OptimizerSpec::Adam { lr, .. }
            | OptimizerSpec::AdamW { lr, .. }
            | OptimizerSpec::RmsProp { lr, .. }
            | OptimizerSpec::Adagrad { lr, .. } => *lr = value,
        }
    }

    /// The `type` names of every optimizer, as serde writes them (`sgd`, `adam`, …).
    pub fn kind_names() -> Vec<String> {
        kind_names(<Self as strum::IntoEnumIterator>::iter())
    }

    fn check(&self) -> Result<(), SpecError> {
        let field = |name: &str| format!("training.optimizer.{name}");
        let range = |name: &str, v: f32, lo: f32, hi: f32, hi_open: bool, text: &str| {
            let ok = v.is_finite() && v >= lo && if hi_open { v < hi } else { v <= hi };
            if ok { Ok(()) } else { Err(SpecError::top(&field(name), crate::msg!("err.in_range", text, v))) }
        };
        let lr = self.lr();
        if !(lr.is_finite() && lr > 0.0 && lr <= 10.0) {
            return Err(SpecError::top(&field("lr"), crate::msg!("err.lr_range")));
        }
        match *self {
            OptimizerSpec::Sgd { momentum, dampening, nesterov, weight_decay, .. } => {
                range("momentum", momentum, 0.0, 1.0, true, "[0, 1)")?;
                range("dampening", dampening, 0.0, 1.0, false, "[0, 1]")?;
                range("weight_decay", weight_decay, 0.0, 1.0, false, "[0, 1]")?;
                if nesterov && (momentum == 0.0 || dampening != 0.0) {
                    return Err(SpecError::top(&field("nesterov"), crate::msg!("err.nesterov")));
                }
            }
            OptimizerSpec::Adam { betas, eps, weight_decay, .. } | OptimizerSpec::AdamW { betas, eps, weight_decay, .. } => {
                range("betas", betas[0], 0.0, 1.0, true, "[0, 1)")?;
                range("betas", betas[1], 0.0, 1.0, true, "[0, 1)")?;
                range("eps", eps, 0.0, 1.0, false, "[0, 1]")?;
                range("weight_decay", weight_decay, 0.0, 1.0, false, "[0, 1]")?;
            }
            OptimizerSpec::RmsProp { alpha, eps, weight_decay, momentum, .. } => {
                range("alpha", alpha, 0.0, 1.0, true, "[0, 1)")?;
                range("eps", eps, 0.0, 1.0, false, "[0, 1]")?;
                range("weight_decay", weight_decay, 0.0, 1.0, false, "[0, 1]")?;
                range("momentum", momentum, 0.0, 1.0, true, "[0, 1)")?;
            }
            OptimizerSpec::Adagrad { lr_decay, weight_decay, initial_accumulator_value, eps, .. } => {
                range("lr_decay", lr_decay, 0.0, 1.0, false, "[0, 1]")?;
                range("weight_decay", weight_decay, 0.0, 1.0, false, "[0, 1]")?;
                range("initial_accumulator_value", initial_accumulator_value, 0.0, 1e6, false, "[0, 1e6]")?;
                range("eps", eps, 0.0, 1.0, false, "[0, 1]")?;
            }
        }
        Ok(())
    }
}

/// The shape of a learning-rate schedule (PyTorch `lr_scheduler` names). Counted in epochs
/// (PyTorch's usual `scheduler.step()` once per epoch) unless `per_step` is set in
/// [`ScheduleSpec`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, Default, strum::EnumIter)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum Schedule {
    /// The base learning rate throughout.
    #[default]
    Constant,
    /// `StepLR`: multiply by `gamma` every `step_size` periods.
    Step {
        /// Periods between decays.
        step_size: usize,
        /// Decay factor (default 0.1).
        #[serde(default = "gamma_tenth")]
        gamma: f32,
    },
    /// `ExponentialLR`: multiply by `gamma` every period.
    Exponential {
        /// Decay factor.
        gamma: f32,
    },
    /// `CosineAnnealingLR`: `η_min + (η−η_min)(1+cos(π·t/T_max))/2`.
    Cosine {
        /// Half period.
        t_max: usize,
        /// Floor (default 0).
        #[serde(default)]
        eta_min: f32,
    },
    /// `ReduceLROnPlateau` (mode min on the validation loss, relative threshold).
    ReduceOnPlateau {
        /// Multiply by this when the loss stalls (default 0.1).
        #[serde(default = "gamma_tenth")]
        factor: f32,
        /// Evaluations without improvement before reducing (default 10).
        #[serde(default = "ten")]
        patience: usize,
        /// Relative improvement that counts (default 1e-4).
        #[serde(default = "plateau_threshold")]
        threshold: f32,
        /// Lower bound (default 0).
        #[serde(default)]
        min_lr: f32,
    },
}

impl Schedule {
    /// The `type` names of every schedule, as serde writes them (`constant`, `step`, …).
    pub fn kind_names() -> Vec<String> {
        kind_names(<Self as strum::IntoEnumIterator>::iter())
    }
}

/// The serde `type` tag of each value.
fn kind_names<T: Serialize>(kinds: impl Iterator<Item = T>) -> Vec<String> {
    kinds.filter_map(|k| serde_json::to_value(k).ok()?.get("type")?.as_str().map(str::to_string)).collect()
}

fn gamma_tenth() -> f32 {
    0.1
}
fn ten() -> usize {
    10
}
fn plateau_threshold() -> f32 {
    1e-4
}

/// A learning-rate schedule with optional linear warm-up before it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleSpec {
    /// The schedule after warm-up.
    #[serde(default)]
    pub kind: Schedule,
    /// Count the schedule in optimizer steps instead of epochs.
    #[serde(default)]
    pub per_step: bool,
    /// Optimizer steps of linear warm-up from `warmup_start_factor·lr` to `lr` (0: none).
    #[serde(default)]
    pub warmup_steps: usize,
    /// Factor of the base rate the warm-up starts from (PyTorch `LinearLR` start_factor; default 0.1).
    #[serde(default = "warmup_start")]
    pub warmup_start_factor: f32,
}

fn warmup_start() -> f32 {
    0.1
}

impl Default for ScheduleSpec {
    /// Constant, counted in epochs, no warm-up (a warm-up would start from 0.1 × the rate).
    fn default() -> Self {
        Self { kind: Schedule::Constant, per_step: false, warmup_steps: 0, warmup_start_factor: warmup_start() }
    }
}

/// Which loss the model is trained with.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum LossKind {
    /// Softmax cross-entropy on the logits (`nn.CrossEntropyLoss`).
    #[default]
    CrossEntropy,
    /// Mean squared error between the logits and one-hot targets (`nn.MSELoss`, mean over all).
    Mse,
}

/// Training settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrainingSpec {
    /// Mini-batch size.
    pub batch_size: usize,
    /// Passes over the training set.
    pub epochs: usize,
    /// Optimizer and its parameters.
    pub optimizer: OptimizerSpec,
    /// Learning-rate schedule.
    #[serde(default)]
    pub schedule: ScheduleSpec,
    /// Loss function.
    #[serde(default)]
    pub loss: LossKind,
    /// Cross-entropy label smoothing ε (PyTorch `label_smoothing`).
    #[serde(default)]
    pub label_smoothing: f32,
    /// L1 penalty λ₁·Σ|w| added to the loss (all trainable parameters).
    #[serde(default)]
    pub l1: f32,
    /// L2 penalty λ₂·Σw² added to the loss (all trainable parameters).
    #[serde(default)]
    pub l2: f32,
    /// Fraction of the training set held out for validation (seeded split; test set untouched).
    #[serde(default)]
    pub validation_split: f32,
    /// Stop when the validation loss stops improving.
    #[serde(default)]
    pub early_stopping: Option<EarlyStopping>,
    /// Data augmentation applied to training images.
    #[serde(default)]
    pub augment: AugmentSpec,
}

/// Early stopping on the validation loss (the test loss when there is no validation split).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EarlyStopping {
    /// Epochs without improvement before stopping.
    pub patience: usize,
    /// Smallest decrease that counts as an improvement.
    #[serde(default)]
    pub min_delta: f32,
    /// Put back the weights of the best epoch when stopping (default true).
    #[serde(default = "restore_default")]
    pub restore_best: bool,
}

fn restore_default() -> bool {
    true
}

impl TrainingSpec {
    /// Batch 64, `epochs`, the given optimizer, constant schedule, cross-entropy, no penalties.
    pub fn new(epochs: usize, optimizer: OptimizerSpec) -> Self {
        Self {
            batch_size: 64,
            epochs,
            optimizer,
            schedule: ScheduleSpec::default(),
            loss: LossKind::CrossEntropy,
            label_smoothing: 0.0,
            l1: 0.0,
            l2: 0.0,
            validation_split: 0.0,
            early_stopping: None,
            augment: AugmentSpec::default(),
        }
    }

    /// Checks every field's range; errors name the field.
    pub fn check(&self) -> Result<(), SpecError> {
        if self.batch_size == 0 || self.batch_size > 4096 {
            return Err(SpecError::top("training.batch_size", crate::msg!("err.batch_range")));
        }
        if self.epochs == 0 || self.epochs > 1000 {
            return Err(SpecError::top("training.epochs", crate::msg!("err.epochs_range")));
        }
        self.optimizer.check()?;
        let unit = |name: &str, v: f32, hi: f32| {
            if v.is_finite() && (0.0..=hi).contains(&v) {
                Ok(())
            } else {
                Err(SpecError::top(&format!("training.{name}"), crate::msg!("err.in_range", format!("[0, {hi}]"), v)))
            }
        };
        unit("label_smoothing", self.label_smoothing, 1.0)?;
        unit("validation_split", self.validation_split, 0.5)?;
        if let Some(e) = &self.early_stopping {
            if e.patience == 0 {
                return Err(SpecError::top("training.early_stopping.patience", crate::msg!("err.at_least_1")));
            }
            unit("early_stopping.min_delta", e.min_delta, 10.0)?;
        }
        self.augment.check().map_err(|(field, message)| SpecError::top(&field, message))?;
        unit("l1", self.l1, 1.0)?;
        unit("l2", self.l2, 1.0)?;
        let s = &self.schedule;
        unit("schedule.warmup_start_factor", s.warmup_start_factor, 1.0)?;
        match s.kind {
            Schedule::Constant => {}
            Schedule::Step { step_size, gamma } => {
                if step_size == 0 {
                    return Err(SpecError::top("training.schedule.step_size", crate::msg!("err.at_least_1")));
                }
                unit("schedule.gamma", gamma, 1.0)?;
            }
            Schedule::Exponential { gamma } => unit("schedule.gamma", gamma, 1.0)?,
            Schedule::Cosine { t_max, eta_min } => {
                if t_max == 0 {
                    return Err(SpecError::top("training.schedule.t_max", crate::msg!("err.at_least_1")));
                }
                unit("schedule.eta_min", eta_min, 10.0)?;
            }
            Schedule::ReduceOnPlateau { factor, threshold, min_lr, .. } => {
                if !(factor.is_finite() && factor > 0.0 && factor < 1.0) {
                    return Err(SpecError::top("training.schedule.factor", crate::msg!("err.factor_range")));
                }
                unit("schedule.threshold", threshold, 1.0)?;
                unit("schedule.min_lr", min_lr, 10.0)?;
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_are_serdes_and_read_back() {
        assert_eq!(OptimizerSpec::kind_names(), ["sgd", "adam", "adam_w", "rmsprop", "adagrad"]);
        assert_eq!(Schedule::kind_names(), ["constant", "step", "exponential", "cosine", "reduce_on_plateau"]);
        // Each kind, written by serde, reads back as the same kind.
        for o in <OptimizerSpec as strum::IntoEnumIterator>::iter() {
            let json = serde_json::to_value(&o).unwrap();
            assert_eq!(serde_json::from_value::<OptimizerSpec>(json.clone()).expect("reads"), o, "{json}");
        }
        for s in <Schedule as strum::IntoEnumIterator>::iter() {
            let json = serde_json::to_value(&s).unwrap();
            assert_eq!(serde_json::from_value::<Schedule>(json.clone()).expect("reads"), s, "{json}");
        }
    }
}
