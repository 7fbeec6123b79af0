//! The existing early-warning indicators ([`crate::early_warning`]: critical slowing down of
//! the test loss and the framework's signals) as predictors: the score is the indicator's
//! Kendall τ at the latest eval point under the default options, signed so that the direction
//! in which the indicator warns scores higher (weight-norm decline: −τ; skewness and charge
//! drift: |τ|). No score before the indicator has `min_points` values.
use super::{Prediction, RunHistory};
use crate::early_warning::{self, EwsOptions, Indicator};

/// The signed τ of `indicator` now.
pub fn predict(indicator: Indicator, h: &RunHistory) -> Option<Prediction> {
    let tau = early_warning::tau_now(indicator, &h.signals, &EwsOptions::default())?;
    let signed = match indicator {
        Indicator::WeightNormDecline => -tau,
        Indicator::Skewness | Indicator::ChargeDrift => tau.abs(),
        _ => tau,
    };
    Prediction::score(signed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::early_warning::Signals;

    #[test]
    fn a_falling_norm_scores_as_a_warning() {
        let falling: Vec<(f64, f64)> = (0..80).map(|i| (i as f64, 100.0 - i as f64)).collect();
        let h = RunHistory { signals: Signals { weight_norm: falling, ..Default::default() }, ..Default::default() };
        assert!((predict(Indicator::WeightNormDecline, &h).unwrap().score - 1.0).abs() < 1e-12);
        assert!(predict(Indicator::Variance, &h).is_none());
    }
}
