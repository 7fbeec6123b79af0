//! Gradient noise (McCandlish et al. 2018, "An empirical model of large-batch training"):
//! `grad_noise_trace` tr Σ by the two-batch estimator ([`Measurements::noise_trace`]),
//! `potential_noise` U = tr Σ / B (the seed's α/B), and `noise_scale`
//! B_simple = tr Σ / ‖G‖², the critical batch size the seed's "optimal balance" is tested
//! against.
use super::Kind;
#[cfg(doc)]
use super::Measurements;

scalar_probe!(
    /// tr Σ, the trace of the per-example gradient covariance.
    GradNoiseTrace, "grad_noise_trace", "squared gradient units", Kind::Noise, |m| m.noise_trace()
);
scalar_probe!(
    /// U = tr Σ / B.
    PotentialNoise, "potential_noise", "squared gradient units", Kind::Energy, |m| m.potential_noise()
);
scalar_probe!(
    /// B_simple = tr Σ / ‖G‖².
    NoiseScale, "noise_scale", "examples", Kind::Noise,
    |m| if m.grad_sq > 0.0 { m.noise_trace() / m.grad_sq } else { f64::NAN }
);
