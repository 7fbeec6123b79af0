//! `commutator_defect`: how much two minibatch SGD steps fail to commute (Xu 2026, arXiv
//! 2602.16967: the defect rises before grokking, leading it in 15/15 and 11/11 grokking runs).
//! D = ‖δ‖ / (η² ‖g_A‖ ‖g_B‖) with δ the difference of the parameters after steps A then B and
//! after B then A, both from θ_t (δ ≈ η²(H_B g_A − H_A g_B)): a dimensionless measure of the
//! curvature the two batches see differently. Computed by the trainer (three extra gradients
//! per eval step on batches of the noise estimator's size).
use super::Kind;
#[cfg(doc)]
use super::Measurements;

scalar_probe!(
    /// The normalised commutator defect D.
    CommutatorDefect, "commutator_defect", "dimensionless", Kind::Noise, |m| m.commutator_defect
);
