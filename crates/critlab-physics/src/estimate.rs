//! A measured number with its one-sigma uncertainty.

use serde::{Deserialize, Serialize};

/// A value with its standard error: `value ± stderr` (one standard deviation, same units as
/// `value`). `stderr` is never negative and never NaN; an exact number has `stderr = 0`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The central value.
    pub value: f64,
    /// The one-sigma standard error, `>= 0`.
    pub stderr: f64,
}

impl Estimate {
    /// A value with a standard error; a negative or non-finite error is stored as its absolute
    /// value or as `f64::MAX` so that the invariant `stderr >= 0` always holds.
    pub fn new(value: f64, stderr: f64) -> Self {
        let stderr = if stderr.is_finite() { stderr.abs() } else { f64::MAX };
        Self { value, stderr }
    }

    /// An exact value (`stderr = 0`).
    pub fn exact(value: f64) -> Self {
        Self { value, stderr: 0.0 }
    }

    /// Distance to `reference` in units of the standard error, `|value − reference| / stderr`
    /// (infinite when the error is zero and the values differ, zero when both are equal).
    pub fn z_score(&self, reference: f64) -> f64 {
        let d = (self.value - reference).abs();
        if d == 0.0 {
            0.0
        } else if self.stderr > 0.0 {
            d / self.stderr
        } else {
            f64::INFINITY
        }
    }
}

impl std::fmt::Display for Estimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", crate::report::format_estimate(self.value, self.stderr))
    }
}
