//! `potential_info` U_info = I(D)·(1 − V), with I(D) = N_train·H(Y) nats (the seed's
//! extended potential U(I(D), V)): the information still unexplained. Zero for regression,
//! where H(Y) is not defined as a label entropy.
use super::{Kind, Measurements, Probe};

/// The information potential.
pub struct PotentialInfo;

impl Probe for PotentialInfo {
    fn name(&self) -> &'static str {
        "potential_info"
    }
    fn unit(&self) -> &'static str {
        "nats"
    }
    fn kind(&self) -> Kind {
        Kind::Energy
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        let info = m.n_train as f64 * m.label_entropy;
        let v = m.explained_variance();
        out.push((self.name().into(), if info > 0.0 { info * (1.0 - v) } else { 0.0 }));
    }
}
