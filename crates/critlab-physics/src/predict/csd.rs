//! The existing early-warning indicators ([`crate::early_warning`]: critical slowing down of
//! the test loss and the framework's signals) as predictors: the score is the indicator's
//! Kendall τ at the latest eval point under the default options, signed so that the direction
//! in which the indicator warns scores higher (weight-norm decline: −τ; skewness and charge
//! drift: |τ|). No score before the indicator has [`MIN_POINTS`] values.
//!
//! Deviation from the early-warning rule: its default `min_points` (30) guards a fixed alarm
//! threshold (τ ≥ 0.7) against false alarms; here τ is only ranked and mapped to a probability
//! by a logistic fit on other seeds, so a shorter past is enough. With the rule's 30, a run
//! probed every 20–25 steps has too few values at the decision time t_mem + 0.1·τ and the
//! indicators could not be scored at all.
use super::{Prediction, RunHistory};
use crate::early_warning::{self, EwsOptions, Indicator};

/// Indicator values needed before a score: below 10 points Kendall τ takes too few distinct
/// values to rank runs (its null standard deviation is √(2(2n+5)/(9n(n−1))) ≈ 0.25 at n = 10).
pub const MIN_POINTS: usize = 10;

/// The signed τ of `indicator` now.
pub fn predict(indicator: Indicator, h: &RunHistory) -> Option<Prediction> {
    let opts = EwsOptions { min_points: MIN_POINTS, ..EwsOptions::default() };
    let tau = early_warning::tau_now(indicator, &h.signals, &opts)?;
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

    /// Regression: with the alarm rule's 30 values the indicators had no score at the decision
    /// time of a run probed every 25 steps; a trailing window of 10 values is enough now, 9 not.
    #[test]
    fn a_short_past_scores_from_min_points_on() {
        let norm = |n: usize| -> Vec<(f64, f64)> { (0..n).map(|i| (25.0 * i as f64, 100.0 - i as f64)).collect() };
        // The trailing window is half the points (Window::Fraction(0.5)).
        let h =
            |n| RunHistory { signals: Signals { weight_norm: norm(n), ..Default::default() }, ..Default::default() };
        assert!(predict(Indicator::WeightNormDecline, &h(2 * MIN_POINTS)).is_some());
        assert!(predict(Indicator::WeightNormDecline, &h(2 * MIN_POINTS - 2)).is_none());
    }
}
