//! `spectral_contrast`: the spectral head–tail contrast of the penultimate representation
//! (Bi et al. 2026, "Grokking as a falsifiable finite-size transition"; docs/theory.md §9), an order
//! parameter of grokking.
//!
//! On the fixed probe set (the first `repr-samples` test inputs) the representation H
//! (`[n, hidden]`) is centred per feature, its covariance C = HᵀH/n has eigenvalues λ₁ ≥ λ₂ ≥ …,
//! normalised p_i = λ_i/Σλ, and the contrast is
//!
//! ln( Σ_{i ≤ 5} p_i / Σ_{i > 5} p_i ),
//!
//! large when a few directions carry the representation (the structured, generalising phase),
//! near ln(5/(k−5)) for an isotropic one of k directions. NaN when the representation has at
//! most 5 directions or no variance beyond the top 5.
use super::spectrum::symmetric_eigenvalues;
use super::{HostMatrix, Kind, Measurements, Probe};
use nalgebra::DMatrix;

/// Number of leading eigenvalues in the head (Bi et al.).
pub const HEAD: usize = 5;

/// Eigenvalues of the covariance of the centred rows of `m`, descending (the probes read the
/// same numbers from [`super::spectrum::gram_spectra`], which shares one product with the
/// singular values).
pub fn covariance_spectrum(m: &HostMatrix) -> Vec<f64> {
    let (n, k) = (m.rows, m.cols);
    if n < 2 {
        return Vec::new();
    }
    let mut a = DMatrix::from_row_iterator(n, k, m.values.iter().map(|&v| v as f64));
    for j in 0..k {
        let mean = a.column(j).mean();
        a.column_mut(j).add_scalar_mut(-mean);
    }
    // The non-zero spectrum of AᵀA/n equals that of AAᵀ/n: use the smaller one.
    let gram = if n <= k { &a * a.transpose() } else { a.transpose() * &a };
    symmetric_eigenvalues(gram).into_iter().map(|x| x.max(0.0) / n as f64).collect()
}

/// ln(head/tail) of a descending spectrum; NaN when undefined.
pub fn head_tail_contrast(spectrum: &[f64]) -> f64 {
    if spectrum.len() <= HEAD {
        return f64::NAN;
    }
    let head: f64 = spectrum[..HEAD].iter().sum();
    let tail: f64 = spectrum[HEAD..].iter().sum();
    if tail > 0.0 && head > 0.0 {
        (head / tail).ln()
    } else {
        f64::NAN
    }
}

/// The probe.
pub struct SpectralContrast;

impl Probe for SpectralContrast {
    fn name(&self) -> &'static str {
        "spectral_contrast"
    }
    fn unit(&self) -> &'static str {
        "nats"
    }
    fn kind(&self) -> Kind {
        Kind::OrderParameter
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), head_tail_contrast(m.hidden_covariance_spectrum())));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isotropic_and_low_rank_representations() {
        // Isotropic spectrum of 20 equal eigenvalues: ln(5/15).
        let flat = vec![1.0; 20];
        assert!((head_tail_contrast(&flat) - (5.0f64 / 15.0).ln()).abs() < 1e-12);
        // Rank-3 data plus a little noise: the head dominates.
        let (n, k) = (200, 16);
        let mut values = Vec::with_capacity(n * k);
        for i in 0..n {
            for j in 0..k {
                let t = i as f64;
                let signal = (t * 0.1).sin() * (j % 3 == 0) as u8 as f64
                    + (t * 0.37).cos() * (j % 3 == 1) as u8 as f64
                    + (t * 0.71).sin() * (j % 3 == 2) as u8 as f64;
                let noise = 1e-3 * (((i * 31 + j * 17) % 13) as f64 - 6.0);
                values.push((signal + noise) as f32);
            }
        }
        let c = head_tail_contrast(&covariance_spectrum(&HostMatrix { rows: n, cols: k, values }));
        assert!(c > 5.0, "contrast {c}");
        assert!(head_tail_contrast(&[1.0, 1.0]).is_nan());
    }
}
