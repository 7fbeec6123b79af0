//! The early training-loss spectral signature (Notsawo et al. 2023, arXiv 2306.13253: the
//! spectral energy of the low-pass-filtered training loss over the first few hundred steps
//! separates grokking from non-grokking hyperparameters).
//!
//! Here: the eval points of ln(train_loss) up to the horizon min(now, [`HORIZON`] × τ), low-pass
//! filtered by a Gaussian kernel smoother (σ = 0.1 × points), mean removed; the score is its
//! spectral energy per point, Σ_k |X̂_k|²/n² over k ≠ 0, which by Parseval is the variance of
//! the filtered series. Deviation: Notsawo et al. use the loss at every step; critlab stores it
//! at eval points only, so the horizon is a fraction of the budget (at least 8 points), not a
//! few hundred steps. Direction fixed in advance: more early energy (a faster, larger early
//! fall of the loss) scores higher.
use super::{Prediction, RunHistory};
use crate::early_warning::{detrend, Detrend};

/// Fraction of the budget the signature reads.
pub const HORIZON: f64 = 0.1;

/// Spectral energy per point of the low-pass-filtered, mean-removed series.
pub fn low_pass_energy(values: &[f64]) -> f64 {
    let n = values.len();
    let resid = detrend(values, Detrend::Gaussian { bandwidth: 0.1 });
    let smooth: Vec<f64> = values.iter().zip(&resid).map(|(v, r)| v - r).collect();
    let m = smooth.iter().sum::<f64>() / n as f64;
    smooth.iter().map(|s| (s - m).powi(2)).sum::<f64>() / n as f64
}

/// The signature now, once 8 points are in the horizon.
pub fn predict(h: &RunHistory) -> Option<Prediction> {
    let horizon = HORIZON * h.budget;
    let pts: Vec<f64> = h.train_loss.iter().filter(|p| p.0 <= horizon.max(0.0)).map(|p| p.1.max(1e-12).ln()).collect();
    let enough = h.train_loss.iter().take_while(|p| p.0 <= horizon).count().max(8);
    let pts: Vec<f64> =
        if pts.len() < 8 { h.train_loss.iter().take(enough).map(|p| p.1.max(1e-12).ln()).collect() } else { pts };
    if pts.len() < 8 || pts.iter().any(|v| !v.is_finite()) {
        return None;
    }
    Prediction::score(low_pass_energy(&pts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn energy_is_the_variance_of_the_smooth_part() {
        assert!(low_pass_energy(&[1.0; 20]).abs() < 1e-12);
        // A straight line keeps (nearly) its variance; white-ish alternation is filtered out.
        let line: Vec<f64> = (0..40).map(|i| i as f64 / 40.0).collect();
        let zigzag: Vec<f64> = (0..40).map(|i| if i % 2 == 0 { 0.5 } else { -0.5 }).collect();
        assert!(low_pass_energy(&line) > 0.05);
        assert!(low_pass_energy(&zigzag) < 0.01);
    }

    #[test]
    fn reads_only_the_early_horizon() {
        let mk = |late: f64| RunHistory {
            budget: 1000.0,
            train_loss: (0..100)
                .map(|i| (i as f64 * 10.0, if i <= 10 { 3.0 - 0.2 * i as f64 } else { late }))
                .collect(),
            ..Default::default()
        };
        assert_eq!(predict(&mk(0.1)).unwrap().score, predict(&mk(2.0)).unwrap().score);
    }
}
