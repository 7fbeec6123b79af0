//! `kinetic` K_t = ½ η² ‖∇L(θ_t)‖² (the seed's kinetic term) and `kinetic_displacement`
//! K̃_t = ½ ‖θ_{t+1} − θ_t‖², the realised displacement of update t, which equals K_t for
//! full-batch plain gradient descent and is the honest kinetic energy for SGD, momentum and
//! Adam (docs/theory.md §2). K̃ is not recorded at the final step, where no update follows.
use super::{Kind, Measurements, Probe};

scalar_probe!(
    /// The kinetic term K.
    Kinetic, "kinetic", "squared parameter units per step²", Kind::Energy, |m| m.kinetic()
);

/// The realised displacement K̃ (absent at the final step).
pub struct KineticDisplacement;

impl Probe for KineticDisplacement {
    fn name(&self) -> &'static str {
        "kinetic_displacement"
    }
    fn unit(&self) -> &'static str {
        "squared parameter units per step²"
    }
    fn kind(&self) -> Kind {
        Kind::Energy
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        if let Some(d) = m.displacement_sq {
            out.push((self.name().into(), 0.5 * d));
        }
    }
}
