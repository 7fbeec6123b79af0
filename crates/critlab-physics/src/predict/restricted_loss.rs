//! Restricted loss (Nanda et al. 2023, "Progress measures for grokking via mechanistic
//! interpretability", §5.1): the loss of the logits kept to their key-frequency terms
//! cos(w_k(s − c)), sin(w_k(s − c)), over the whole data set. It falls while the generalising
//! circuit forms, before the test loss does. Reads the stored `restricted_loss` R (see
//! `critlab-train/src/probes/fourier_losses.rs`); score = ln(R_0 / R_t), its fall since the
//! first eval point (R_0 ≈ ln p at initialisation).
use super::{Prediction, RunHistory};

/// Fall of ln R since the first eval point.
pub fn predict(h: &RunHistory) -> Option<Prediction> {
    Prediction::score(-super::log_change_since_first(&h.restricted_loss)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_falling_restricted_loss_scores_higher() {
        let h = |v: f64| RunHistory { restricted_loss: vec![(0.0, 3.0), (10.0, v)], ..Default::default() };
        assert!((predict(&h(1.0)).unwrap().score - 3f64.ln()).abs() < 1e-12);
        assert!(predict(&h(3.0)).unwrap().score.abs() < 1e-12);
        assert!(predict(&RunHistory::default()).is_none());
    }
}
