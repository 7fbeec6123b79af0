//! `repr_spectral_entropy`: the spectral entropy of the covariance of the hidden
//! representation on the probe inputs, a predictor of grokking (ISSUE 11; the representation
//! compresses onto few directions as the generalising circuit forms).
//!
//! With H the `[samples, hidden]` representation, columns centred, the covariance eigenvalues
//! λ_i = σ_i² / n (σ the singular values of the centred H) are normalised, p_i = λ_i / Σλ, and
//! the entropy is S = −Σ p_i ln p_i in nats: ln(hidden) for an isotropic cloud, 0 for one
//! direction. Unlike `repr_effective_rank` (σ normalised, uncentred, docs/theory.md §5) this is
//! the variance spectrum (σ²) of the centred cloud.
use super::spectral_contrast::covariance_spectrum;
use super::{HostMatrix, Kind, Measurements, Probe};

/// Spectral entropy of the centred representation covariance, in nats (0 for a cloud without
/// variance, NaN with fewer than 2 samples).
pub fn covariance_spectral_entropy(h: &HostMatrix) -> f64 {
    if h.rows < 2 || h.cols == 0 {
        return f64::NAN;
    }
    spectrum_entropy(&covariance_spectrum(h))
}

/// The entropy −Σ p_i ln p_i of a spectrum normalised to p_i = λ_i / Σλ (0 without variance).
pub(crate) fn spectrum_entropy(lambda: &[f64]) -> f64 {
    let total: f64 = lambda.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    lambda.iter().filter(|&&l| l > 0.0).map(|&l| -(l / total) * (l / total).ln()).sum()
}

/// The probe.
pub struct ReprSpectralEntropy;

impl Probe for ReprSpectralEntropy {
    fn name(&self) -> &'static str {
        "repr_spectral_entropy"
    }
    fn unit(&self) -> &'static str {
        "nats"
    }
    fn kind(&self) -> Kind {
        Kind::Rank
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        let h = &m.hidden;
        let s = if h.rows < 2 || h.cols == 0 { f64::NAN } else { spectrum_entropy(m.hidden_covariance_spectrum()) };
        out.push((self.name().into(), s));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotropic_and_one_direction_clouds() {
        // Four points ±e1, ±e2: isotropic in 2 dimensions, S = ln 2.
        let iso = HostMatrix { rows: 4, cols: 2, values: vec![1., 0., -1., 0., 0., 1., 0., -1.] };
        assert!((covariance_spectral_entropy(&iso) - 2f64.ln()).abs() < 1e-6);
        // Points on a line (after centring): S = 0.
        let line = HostMatrix { rows: 3, cols: 2, values: vec![1., 2., 2., 4., 3., 6.] };
        assert!(covariance_spectral_entropy(&line).abs() < 1e-3);
        // A constant offset does not change it (the cloud is centred).
        let shifted = HostMatrix { rows: 4, cols: 2, values: vec![6., 5., 4., 5., 5., 6., 5., 4.] };
        assert!((covariance_spectral_entropy(&shifted) - 2f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn the_probe_reads_the_spectrum_the_measurement_keeps() {
        let mut m = crate::probes::tests::sample();
        m.hidden = HostMatrix { rows: 4, cols: 2, values: vec![1., 0., -1., 0., 0., 1., 0., -1.] };
        assert!(m.hidden_spectra.get().is_none());
        let mut out = Vec::new();
        ReprSpectralEntropy.measure(&m, 0, &mut out);
        assert!((out[0].1 - 2f64.ln()).abs() < 1e-6, "{out:?}");
        // Kept for spectral_contrast, which reads the same eigenvalues.
        assert_eq!(m.hidden_spectra.get().map(|s| s.covariance.len()), Some(2));
    }
}
