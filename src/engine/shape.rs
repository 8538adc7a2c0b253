//! Per-sample activation shapes (the batch dimension is implicit).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Shape of one sample's activation in CHW order; a flat vector of `n` features is `[n, 1, 1]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shape {
    /// Channels (or features, for a flat vector).
    pub c: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl Shape {
    /// A CHW shape.
    pub const fn new(c: usize, h: usize, w: usize) -> Self {
        Self { c, h, w }
    }

    /// A flat feature vector of `n` values.
    pub const fn flat(n: usize) -> Self {
        Self { c: n, h: 1, w: 1 }
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

    /// True for a `[n, 1, 1]` feature vector.
    pub const fn is_flat(&self) -> bool {
        self.h == 1 && self.w == 1
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
