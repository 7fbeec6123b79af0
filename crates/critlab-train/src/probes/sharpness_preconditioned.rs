//! Preconditioned sharpness λ_max(P⁻¹H) of Adam-type optimizers, P = (1 − β₁ᵗ)·diag(√v̂ + ε) of
//! the last update t (Cohen et al. 2022, "Adaptive gradient methods at the edge of stability"),
//! measured with the sharpness (docs/theory.md §11; [`crate::curvature::top_preconditioned`]).
//!
//! Stored: `sharpness_preconditioned` and `sharpness_preconditioned_ratio` =
//! λ_max(P⁻¹H) / ((2 + 2β₁)/((1 − β₁)η)), 1 where Adam with momentum β₁ is at its edge of
//! stability (38/η at β₁ = 0.9). Nothing at step 0 (no update yet) or for SGD.
use super::{Kind, Measurements, Probe};

/// λ_max(P⁻¹H) and its ratio to Adam's stability threshold.
pub struct PreconditionedSharpness;

impl Probe for PreconditionedSharpness {
    fn name(&self) -> &'static str {
        "sharpness_preconditioned"
    }
    fn unit(&self) -> &'static str {
        "1 / learning rate"
    }
    fn kind(&self) -> Kind {
        Kind::Curvature
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        let Some((value, beta1)) = m.curvature.as_ref().and_then(|c| Some((c.preconditioned?, c.beta1))) else {
            return;
        };
        let threshold = (2.0 + 2.0 * beta1) / ((1.0 - beta1) * m.lr);
        out.push(("sharpness_preconditioned".into(), value));
        out.push(("sharpness_preconditioned_ratio".into(), value / threshold));
    }
}
