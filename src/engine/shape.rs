//! Per-sample activation shapes (the batch dimension is implicit).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Shape of one sample's activation in CHW order. A flat vector of `n` features (PyTorch's
/// `[N, n]`) is stored as `[n, 1, 1]` with `flat` set, so that it stays apart from an image of
/// `n` channels of 1×1 (`[N, n, 1, 1]`, what `AdaptiveAvgPool2d(1)` gives): PyTorch accepts
/// `BatchNorm2d` on the second and refuses it on the first.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Channels (or features, for a flat vector).
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
    /// A feature vector (`[N, c]` in PyTorch) rather than an image.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    flat: bool,
}

impl Shape {
    /// A CHW shape.
    pub const fn new(c: usize, h: usize, w: usize) -> Self {
        Self { c, h, w, flat: false }
    }

    /// A flat feature vector of `n` values.
    pub const fn flat(n: usize) -> Self {
        Self { c: n, h: 1, w: 1, flat: true }
    }

    /// Number of values per sample.
    pub const fn len(&self) -> usize {
        self.c * self.h * self.w
    }

    /// Number of values per sample, or `None` when `c·h·w` does not fit a `usize` (shapes from
    /// hostile specs, before their size is checked).
    pub const fn checked_len(&self) -> Option<usize> {
        match self.c.checked_mul(self.h) {
            Some(ch) => ch.checked_mul(self.w),
            None => None,
        }
    }

    /// True when the shape holds no values.
    pub const fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True for a feature vector (not for an image of 1×1 planes).
    pub const fn is_flat(&self) -> bool {
        self.flat
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_flat() {
            write!(f, "{}", self.c)
        } else {
            write!(f, "{}×{}×{}", self.c, self.h, self.w)
        }
    }
}

/// Shapes read the same in every language.
impl crate::i18n::ToArg for Shape {
    fn to_arg(&self) -> crate::i18n::Arg {
        crate::i18n::Arg::Text(self.to_string())
    }
}
