//! Critical control: drive a measured observable toward a target by moving λ or η (docs/theory.md
//! §8, "approach or avoid the critical region"). With x = ln(observable/target), at each eval
//! step
//!
//!   knob ← clamp(knob · exp(−clamp(gain·x, −rate, rate)), min, max),
//!
//! a proportional controller in log space with a rate limit. It assumes the observable grows
//! with the knob: the training loss with λ (too much decay un-memorises the training set) or η,
//! K/U with η (K = ½η²‖G‖²). A target just above zero for the training loss and λ as knob
//! raises λ, which shortens the norm-decay delay t_grok − t_mem ≈ ln(‖θ_mem‖²/‖θ_post‖²)/(ηλ)
//! (docs/theory.md §10), for as long as the run stays memorised. A measurement that is not a positive
//! finite number leaves the knob where it is.
use crate::probes::Measurements;
use critlab_core::control::{CriticalOptions, Observable};

/// The state of one replica's critical controller.
#[derive(Debug, Clone)]
pub struct Law {
    opts: CriticalOptions,
}

impl Law {
    /// The law of options `o`.
    pub fn new(o: &CriticalOptions) -> Self {
        Self { opts: o.clone() }
    }

    /// The observable's value in a measurement.
    pub fn observe(&self, m: &Measurements) -> f64 {
        match self.opts.observable {
            Observable::TrainLoss => m.train_loss,
            Observable::KuBalance => m.kinetic() / m.potential_noise(),
        }
    }

    /// The next knob value from the current one and an observed value.
    pub fn update(&self, knob: f64, observed: f64) -> f64 {
        let o = &self.opts;
        let knob = knob.clamp(o.min, o.max);
        if !(observed.is_finite() && observed > 0.0) {
            return knob;
        }
        let x = (observed / o.target).ln();
        (knob * (-(o.gain * x).clamp(-o.rate, o.rate)).exp()).clamp(o.min, o.max)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever is observed, the knob stays in [min, max] and moves by at most e^rate.
    #[test]
    fn cannot_leave_its_bounds() {
        let o = CriticalOptions { min: 0.1, max: 4.0, rate: 0.25, gain: 3.0, target: 0.05, ..Default::default() };
        let law = Law::new(&o);
        let mut k = 1.0;
        let inputs = [1e-30, 1e-30, 1e300, f64::NAN, -1.0, 0.0, f64::INFINITY, 0.05, 0.5, 1e-6];
        for x in inputs.iter().cycle().take(300) {
            let n = law.update(k, *x);
            assert!((0.1..=4.0).contains(&n), "{n}");
            assert!((n / k).ln().abs() <= 0.25 + 1e-12, "{k} → {n}");
            k = n;
        }
        // Far below target the knob rises to its ceiling, far above it falls to its floor.
        let mut k = 1.0;
        for _ in 0..100 {
            k = law.update(k, 1e-9);
        }
        assert_eq!(k, 4.0);
        for _ in 0..100 {
            k = law.update(k, 10.0);
        }
        assert_eq!(k, 0.1);
        assert_eq!(law.update(0.5, 0.05), 0.5, "on target the knob holds");
    }
}
