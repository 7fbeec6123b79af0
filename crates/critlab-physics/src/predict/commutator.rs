//! Commutator defect of two minibatch gradients (Xu 2026, arXiv 2602.16967: the defect rises
//! before grokking, with lead time Δt = C·t_grok^α, α ≈ 1.27). Reads the stored
//! `commutator_defect` D (see `critlab-train/src/probes/commutator.rs`); score =
//! ln D_t − min_{s ≤ t} ln D_s, its rise above the lowest value so far. Xu's threshold rule for
//! the alarm is replaced by the held-out logistic calibration of [`super::score`].
use super::{Prediction, RunHistory};

/// Rise of ln D above its minimum so far.
pub fn predict(h: &RunHistory) -> Option<Prediction> {
    let logs: Vec<f64> =
        h.commutator_defect.iter().map(|p| p.1).filter(|v| v.is_finite() && *v > 0.0).map(f64::ln).collect();
    let now = *logs.last()?;
    let low = logs.iter().copied().fold(f64::INFINITY, f64::min);
    Prediction::score(now - low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_rise_above_the_minimum() {
        let h = RunHistory {
            commutator_defect: vec![(0.0, 2.0), (10.0, 1.0), (20.0, std::f64::consts::E)],
            ..Default::default()
        };
        assert!((predict(&h).unwrap().score - 1.0).abs() < 1e-12);
    }
}
