//! `lagrangian` L_t = K_t − U_t (kinetic minus noise potential) and `action`
//! S(τ) = Σ_{t<τ} L_t (dt = 1 step).
//!
//! L is measured only at eval steps, so the action is integrated with the left Riemann rule
//! on the eval grid: S(t_k) = S(t_{k−1}) + L(t_{k−1})·(t_k − t_{k−1}), S(0) = 0. With
//! `eval-every = 1` it is the exact sum.
use super::{Kind, Measurements, Probe};

scalar_probe!(
    /// The Lagrangian.
    Lagrangian, "lagrangian", "squared parameter units per step²", Kind::Energy, |m| m.lagrangian()
);

/// The accumulated action (state per replica).
pub struct Action {
    last: Vec<Option<(usize, f64)>>,
    total: Vec<f64>,
}

impl Action {
    /// A fresh integrator for `replicas` replicas.
    pub fn new(replicas: usize) -> Self {
        Self { last: vec![None; replicas], total: vec![0.0; replicas] }
    }
}

impl Probe for Action {
    fn name(&self) -> &'static str {
        "action"
    }
    fn unit(&self) -> &'static str {
        "squared parameter units per step"
    }
    fn kind(&self) -> Kind {
        Kind::Energy
    }
    fn measure(&mut self, m: &Measurements, r: usize, out: &mut Vec<(String, f64)>) {
        if let Some((t, l)) = self.last[r] {
            self.total[r] += l * (m.step - t) as f64;
        }
        self.last[r] = Some((m.step, m.lagrangian()));
        out.push((self.name().into(), self.total[r]));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_is_a_left_riemann_sum() {
        let mut a = Action::new(1);
        let mut m = crate::probes::tests::sample();
        let mut out = Vec::new();
        m.step = 0;
        a.measure(&m, 0, &mut out);
        let l0 = m.lagrangian();
        m.step = 10;
        m.grad_sq = 8.0;
        a.measure(&m, 0, &mut out);
        assert_eq!(out[0].1, 0.0);
        assert!((out[1].1 - 10.0 * l0).abs() < 1e-12);
    }
}
