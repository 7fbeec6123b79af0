//! Spectral entropy of the representation covariance (stored `repr_spectral_entropy`, see
//! `critlab-train/src/probes/spectral_entropy.rs`): as the generalising circuit forms the
//! representation compresses onto few directions and the entropy falls. Score = the drop from
//! its running maximum, max_{s ≤ t} S_s − S_t, in nats.
use super::{Prediction, RunHistory};

/// Drop of the entropy from its maximum so far.
pub fn predict(h: &RunHistory) -> Option<Prediction> {
    let now = h.spectral_entropy.last()?.1;
    let peak = h.spectral_entropy.iter().map(|p| p.1).filter(|v| v.is_finite()).fold(f64::NEG_INFINITY, f64::max);
    Prediction::score(peak - now)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_drop_from_the_peak() {
        let h = RunHistory { spectral_entropy: vec![(0.0, 3.0), (10.0, 4.0), (20.0, 2.5)], ..Default::default() };
        assert!((predict(&h).unwrap().score - 1.5).abs() < 1e-12);
    }
}
