//! `potential_info` U_info = I(D)·(1 − V), with I(D) = N_train·H(Y) nats (the seed's
//! extended potential U(I(D), V)): the information still unexplained. Zero for regression,
//! where H(Y) is not defined as a label entropy.
use super::{Kind, Measurements};

scalar_probe!(
    /// The information potential.
    PotentialInfo, "potential_info", "nats", Kind::Energy, |m| info_potential(m)
);

fn info_potential(m: &Measurements) -> f64 {
    let info = m.n_train as f64 * m.label_entropy;
    if info > 0.0 {
        info * (1.0 - m.explained_variance())
    } else {
        0.0
    }
}
