//! A number with its uncertainty.
use serde::{Deserialize, Serialize};

/// A point estimate with its standard error (one standard deviation, same unit as `value`).
///
/// Every fitted or averaged quantity in critlab is carried as an `Estimate`, never as a bare
/// number, so the uncertainty cannot be dropped on the way to a report.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Estimate {
    /// The best estimate.
    pub value: f64,
    /// Its standard error (≥ 0, never NaN).
    pub stderr: f64,
}

impl Estimate {
    /// An estimate with the given value and standard error.
    pub fn new(value: f64, stderr: f64) -> Self {
        Self { value, stderr }
    }

    /// Mean and standard error of the mean of a sample (stderr = s/√n with the n−1 variance;
    /// 0 for a single value).
    pub fn from_sample(xs: &[f64]) -> Option<Self> {
        if xs.is_empty() {
            return None;
        }
        let n = xs.len() as f64;
        let mean = xs.iter().sum::<f64>() / n;
        if xs.len() == 1 {
            return Some(Self::new(mean, 0.0));
        }
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (n - 1.0);
        Some(Self::new(mean, (var / n).sqrt()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_mean_and_error() {
        let e = Estimate::from_sample(&[1.0, 2.0, 3.0, 4.0]).unwrap();
        assert_eq!(e.value, 2.5);
        // s² = 5/3, stderr = sqrt(5/12)
        assert!((e.stderr - (5.0f64 / 12.0).sqrt()).abs() < 1e-12);
        assert!(Estimate::from_sample(&[]).is_none());
        assert_eq!(Estimate::from_sample(&[7.0]).unwrap().stderr, 0.0);
    }
}
