//! Excluded loss (Nanda et al. 2023, §5.1): the training loss of the logits with their
//! key-frequency terms removed. During circuit formation and cleanup it rises above the
//! training loss, as the circuit takes over from memorisation. Reads the stored
//! `excluded_loss` E and `train_loss` L (see `critlab-train/src/probes/fourier_losses.rs`);
//! score = ln(E_t / L_t), how much of the training set's fit the key frequencies carry now.
use super::{Prediction, RunHistory};

/// ln(E_t / L_t) at the latest eval point with both.
pub fn predict(h: &RunHistory) -> Option<Prediction> {
    let (t, e) = *h.excluded_loss.last()?;
    let l = h.train_loss.iter().rev().find(|p| p.0 == t)?.1;
    (e > 0.0 && l > 0.0).then(|| Prediction::score((e / l).ln())).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_excluded_loss_above_the_training_loss() {
        let h = RunHistory {
            excluded_loss: vec![(0.0, 3.0), (10.0, 0.5)],
            train_loss: vec![(0.0, 3.0), (10.0, 0.05)],
            ..Default::default()
        };
        assert!((predict(&h).unwrap().score - 10f64.ln()).abs() < 1e-12);
        let unmatched =
            RunHistory { excluded_loss: vec![(10.0, 0.5)], train_loss: vec![(0.0, 3.0)], ..Default::default() };
        assert!(predict(&unmatched).is_none());
    }
}
