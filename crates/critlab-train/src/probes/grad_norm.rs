//! `grad_norm`: ‖∇L(θ_t)‖, the Euclidean norm of the full training-set gradient.
use super::Kind;

scalar_probe!(
    /// The full-gradient norm.
    GradNorm, "grad_norm", "loss per parameter unit", Kind::Noise, |m| m.grad_sq.sqrt()
);
