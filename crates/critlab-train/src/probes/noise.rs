//! Gradient noise (McCandlish et al. 2018, "An empirical model of large-batch training"):
//! `grad_noise_trace` tr Σ by the two-batch estimator ([`Measurements::noise_trace`]),
//! `potential_noise` U = tr Σ / B (the seed's α/B), and `noise_scale`
//! B_simple = tr Σ / ‖G‖², the critical batch size the seed's "optimal balance" is tested
//! against.
use super::{Kind, Measurements, Probe};

/// tr Σ, the trace of the per-example gradient covariance.
pub struct GradNoiseTrace;
/// U = tr Σ / B.
pub struct PotentialNoise;
/// B_simple = tr Σ / ‖G‖².
pub struct NoiseScale;

impl Probe for GradNoiseTrace {
    fn name(&self) -> &'static str {
        "grad_noise_trace"
    }
    fn unit(&self) -> &'static str {
        "squared gradient units"
    }
    fn kind(&self) -> Kind {
        Kind::Noise
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.noise_trace()));
    }
}

impl Probe for PotentialNoise {
    fn name(&self) -> &'static str {
        "potential_noise"
    }
    fn unit(&self) -> &'static str {
        "squared gradient units"
    }
    fn kind(&self) -> Kind {
        Kind::Energy
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.potential_noise()));
    }
}

impl Probe for NoiseScale {
    fn name(&self) -> &'static str {
        "noise_scale"
    }
    fn unit(&self) -> &'static str {
        "examples"
    }
    fn kind(&self) -> Kind {
        Kind::Noise
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        let v = if m.grad_sq > 0.0 { m.noise_trace() / m.grad_sq } else { f64::NAN };
        out.push((self.name().into(), v));
    }
}
