//! Sharpness λ_max: the largest eigenvalue of the Hessian of the training loss as critlab defines
//! it (its MSE has no ½), by Lanczos on finite-difference Hessian-vector products
//! ([`crate::curvature`]), every `sharpness-every` steps (docs/theory.md §11).
//!
//! Stored: `sharpness` (λ_max), `sharpness_ratio` = λ_max·η/2 (1 at the edge of stability,
//! Cohen et al. 2021: plain GD on a quadratic diverges above η = 2/λ_max), and with
//! `sharpness-top` k > 1 `sharpness/<i>` for i = 1..k, the i-th largest eigenvalue
//! (`sharpness/1` = `sharpness`). The Hessian is the loss's only: coupled weight decay λ adds λ to
//! every eigenvalue of the loss the optimizer sees, and is not included.
use super::{Kind, Measurements, Probe};

/// λ_max of the training loss's Hessian, its edge-of-stability ratio and the top k.
pub struct Sharpness;

impl Probe for Sharpness {
    fn name(&self) -> &'static str {
        "sharpness"
    }
    fn unit(&self) -> &'static str {
        "loss per squared parameter"
    }
    fn kind(&self) -> Kind {
        Kind::Curvature
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        let Some(c) = &m.curvature else { return };
        let top = c.eigenvalues.first().copied().unwrap_or(f64::NAN);
        out.push(("sharpness".into(), top));
        out.push(("sharpness_ratio".into(), top * m.lr / 2.0));
        if c.eigenvalues.len() > 1 {
            for (i, v) in c.eigenvalues.iter().enumerate() {
                out.push((format!("sharpness/{}", i + 1), *v));
            }
        }
    }
}
