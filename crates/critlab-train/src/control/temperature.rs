//! Temperature control (docs/theory.md §8): hold the noise temperature T = η/B fixed while the
//! batch follows the measured gradient-noise scale B_simple = tr Σ/‖G‖² (McCandlish et al.
//! 2018, "An empirical model of large-batch training"; Smith, Kindermans, Ying, Le 2018,
//! "Don't decay the learning rate, increase the batch size").
//!
//! At each eval step: ℓ ← (1 − s) ℓ + s ln B_simple (the first positive measurement starts
//! ℓ; non-positive or non-finite ones are skipped: the two-batch estimate is noisy and can be
//! negative), B* = clamp(e^ℓ, b_min, b_max), then B moves toward B* by at most a factor
//! e^rate (rounded toward the current B, so the limit holds for integers too), and η = T·B.
//! T = η/B is the SGD temperature; for Adam-type optimizers it is a convention, not the SDE
//! temperature (their noise scales differently with B).
use critlab_core::control::TemperatureOptions;

/// The state of one replica's temperature controller.
#[derive(Debug, Clone)]
pub struct Law {
    /// Target T = η/B.
    pub temperature: f64,
    b_min: usize,
    b_max: usize,
    rate: f64,
    smoothing: f64,
    log_noise_scale: Option<f64>,
}

impl Law {
    /// The law of a run with options `o`, initial η `lr` and B `batch`, and `n_train` examples.
    pub fn new(o: &TemperatureOptions, lr: f64, batch: usize, n_train: usize) -> Self {
        Self {
            temperature: o.temperature.unwrap_or(lr / batch as f64),
            b_min: o.b_min,
            b_max: o.b_max.unwrap_or(n_train),
            rate: o.rate,
            smoothing: o.smoothing,
            log_noise_scale: None,
        }
    }

    /// The next (B, η) from the current B and a measured B_simple.
    pub fn update(&mut self, batch: usize, noise_scale: f64) -> (usize, f64) {
        if noise_scale.is_finite() && noise_scale > 0.0 {
            let x = noise_scale.ln();
            let s = self.smoothing;
            self.log_noise_scale = Some(self.log_noise_scale.map_or(x, |l| (1.0 - s) * l + s * x));
        }
        let b = batch.clamp(self.b_min, self.b_max);
        let next = match self.log_noise_scale {
            None => b,
            Some(l) => {
                let goal = l.exp().clamp(self.b_min as f64, self.b_max as f64);
                let (lo, hi) = (b as f64 * (-self.rate).exp(), b as f64 * self.rate.exp());
                let step = goal.clamp(lo, hi);
                let rounded = if step >= b as f64 { step.floor() } else { step.ceil() };
                (rounded as usize).clamp(self.b_min, self.b_max)
            }
        };
        (next, self.temperature * next as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever B_simple is measured (noise, negatives, NaN, huge), B stays in [b_min, b_max],
    /// changes by at most e^rate per eval step, and η/B stays at T.
    #[test]
    fn cannot_leave_its_bounds() {
        let o = TemperatureOptions { b_min: 8, b_max: Some(512), rate: 0.5, ..Default::default() };
        let mut law = Law::new(&o, 0.01, 64, 1000);
        assert_eq!(law.temperature, 0.01 / 64.0);
        let mut b = 64;
        let inputs = [1e9, 1e9, f64::NAN, -5.0, 0.0, 1e-9, 1e-9, 1e-9, 1e-9, f64::INFINITY, 3.0, 700.0, 1e300];
        for (k, x) in inputs.iter().cycle().take(200).enumerate() {
            let (nb, lr) = law.update(b, *x * (1.0 + k as f64 % 3.0));
            assert!((8..=512).contains(&nb), "B = {nb}");
            assert!((nb as f64 / b as f64).ln().abs() <= 0.5 + 1e-12, "{b} → {nb}");
            assert!((lr / nb as f64 - law.temperature).abs() < 1e-15);
            b = nb;
        }
    }

    #[test]
    fn follows_a_steady_noise_scale_and_holds_without_data() {
        let o = TemperatureOptions { b_min: 1, rate: std::f64::consts::LN_2, smoothing: 1.0, ..Default::default() };
        let mut law = Law::new(&o, 0.1, 10, 1000);
        assert_eq!(law.update(10, f64::NAN), (10, 0.1 * 10.0 / 10.0));
        let mut b = 10;
        for _ in 0..10 {
            b = law.update(b, 100.0).0;
        }
        assert_eq!(b, 100);
    }
}
