//! `weight_norm`: ‖θ_t‖, the Euclidean norm of all parameters (biases included).
use super::{Kind, Measurements, Probe};

/// The parameter norm.
pub struct WeightNorm;

impl Probe for WeightNorm {
    fn name(&self) -> &'static str {
        "weight_norm"
    }
    fn unit(&self) -> &'static str {
        "parameter units"
    }
    fn kind(&self) -> Kind {
        Kind::Norm
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.weight_sq.sqrt()));
    }
}
