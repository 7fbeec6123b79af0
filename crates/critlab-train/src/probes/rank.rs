//! Effective ranks (docs/theory.md §5): `weight_effective_rank`, the seed's Complexity(M), is the
//! sum over weight matrices (biases excluded) of their effective rank, with per-matrix
//! variants `weight_effective_rank/<name>`; `repr_effective_rank`, the seed's Dim(M), is the
//! effective rank of the hidden representation on test inputs (uncentred).
//!
//! Effective rank (Roy & Vetterli 2007) = exp(H(p)), p_i = σ_i / Σ_j σ_j, with the singular
//! values σ (not σ²) normalised. Singular values come from the eigenvalues of the smaller
//! Gram matrix (AᵀA or AAᵀ), computed in f64.
use super::spectrum::symmetric_eigenvalues;
use super::{HostMatrix, Kind, Measurements, Probe};
use nalgebra::DMatrix;

/// Singular values of a matrix, descending.
pub fn singular_values(m: &HostMatrix) -> Vec<f64> {
    let (r, c) = (m.rows, m.cols);
    let a = DMatrix::from_row_iterator(r, c, m.values.iter().map(|&v| v as f64));
    let gram = if r <= c { &a * a.transpose() } else { a.transpose() * &a };
    symmetric_eigenvalues(gram).into_iter().map(|l| l.max(0.0).sqrt()).collect()
}

/// Effective rank exp(H(σ/Σσ)); 0 for the zero matrix.
pub fn effective_rank(sigma: &[f64]) -> f64 {
    let total: f64 = sigma.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return 0.0;
    }
    let h: f64 = sigma
        .iter()
        .filter(|&&s| s > 0.0)
        .map(|&s| {
            let p = s / total;
            -p * p.ln()
        })
        .sum();
    h.exp()
}

/// Complexity(M): total effective rank of the weight matrices.
pub struct WeightEffectiveRank;
/// Dim(M): effective rank of the hidden representation.
pub struct ReprEffectiveRank;

impl Probe for WeightEffectiveRank {
    fn name(&self) -> &'static str {
        "weight_effective_rank"
    }
    fn unit(&self) -> &'static str {
        "dimensions"
    }
    fn kind(&self) -> Kind {
        Kind::Rank
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        let mut total = 0.0;
        let mut layers = Vec::with_capacity(m.weights.len());
        for (name, w) in &m.weights {
            let r = effective_rank(&singular_values(w));
            total += r;
            layers.push((format!("{}/{name}", self.name()), r));
        }
        out.push((self.name().into(), total));
        out.extend(layers);
    }
}

impl Probe for ReprEffectiveRank {
    fn name(&self) -> &'static str {
        "repr_effective_rank"
    }
    fn unit(&self) -> &'static str {
        "dimensions"
    }
    fn kind(&self) -> Kind {
        Kind::Rank
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), effective_rank(&m.hidden_spectra().singular_values)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_spectra() {
        let id = HostMatrix { rows: 3, cols: 3, values: vec![1., 0., 0., 0., 1., 0., 0., 0., 1.] };
        assert!((effective_rank(&singular_values(&id)) - 3.0).abs() < 1e-9);
        let rank1 = HostMatrix { rows: 2, cols: 3, values: vec![1., 2., 3., 2., 4., 6.] };
        let s = singular_values(&rank1);
        assert!((s[0] - 70f64.sqrt()).abs() < 1e-5);
        assert!((effective_rank(&s) - 1.0).abs() < 1e-3);
        assert_eq!(effective_rank(&[0.0, 0.0]), 0.0);
    }
}
