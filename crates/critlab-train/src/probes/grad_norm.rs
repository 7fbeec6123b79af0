//! `grad_norm`: ‖∇L(θ_t)‖, the Euclidean norm of the full training-set gradient.
use super::{Kind, Measurements, Probe};

/// The full-gradient norm.
pub struct GradNorm;

impl Probe for GradNorm {
    fn name(&self) -> &'static str {
        "grad_norm"
    }
    fn unit(&self) -> &'static str {
        "loss per parameter unit"
    }
    fn kind(&self) -> Kind {
        Kind::Noise
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.grad_sq.sqrt()));
    }
}
