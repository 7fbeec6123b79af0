//! Fourier sparsity of the token weights (Nanda et al. 2023, "Progress measures for grokking
//! via mechanistic interpretability": the weights concentrate on a few key frequencies during
//! the "circuit formation" that precedes the jump in test accuracy). Reads the stored
//! `fourier_sparsity` (the inverse participation ratio of the frequency power, see
//! `critlab-train/src/probes/fourier.rs`); score = ln(IPR_t / IPR_0), its growth since
//! initialisation. Nanda et al.'s restricted and excluded losses are [`super::restricted_loss`] and
//! [`super::excluded_loss`].
use super::{Prediction, RunHistory};

/// Growth of the Fourier sparsity since the first eval point.
pub fn predict(h: &RunHistory) -> Option<Prediction> {
    Prediction::score(super::log_change_since_first(&h.fourier_sparsity)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sparser_than_at_init_scores_higher() {
        let h = |v: f64| RunHistory { fourier_sparsity: vec![(0.0, 0.1), (10.0, v)], ..Default::default() };
        assert!(predict(&h(0.5)).unwrap().score > 0.0);
        assert!(predict(&h(0.1)).unwrap().score.abs() < 1e-12);
    }
}
