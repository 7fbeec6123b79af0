//! `weight_norm`: ‖θ_t‖, the Euclidean norm of all parameters (biases included).
use super::Kind;

scalar_probe!(
    /// The parameter norm.
    WeightNorm, "weight_norm", "parameter units", Kind::Norm, |m| m.weight_sq.sqrt()
);
