//! The parameter-norm baseline (Wang, Ying, Kanamori 2026, arXiv 2605.08237: the total
//! parameter norm alone separates their grokking and non-grokking runs with AUROC 0.98,
//! because the runs differ in weight decay). Score = −ln ‖θ_t‖ at the latest eval point: a
//! smaller norm means more likely to grok. A predictor is only interesting if it beats this
//! one within a fixed weight decay.
use super::{Prediction, RunHistory};

/// −ln ‖θ_t‖ now.
pub fn predict(h: &RunHistory) -> Option<Prediction> {
    let &(_, norm) = h.weight_norm.last()?;
    (norm > 0.0).then(|| Prediction::score(-norm.ln())).flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_smaller_norm_scores_higher() {
        let h = |n: f64| RunHistory { weight_norm: vec![(0.0, 10.0), (10.0, n)], ..Default::default() };
        assert!(predict(&h(2.0)).unwrap().score > predict(&h(5.0)).unwrap().score);
        assert!(predict(&RunHistory::default()).is_none());
    }
}
