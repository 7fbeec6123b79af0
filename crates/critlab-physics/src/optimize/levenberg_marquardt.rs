//! Levenberg–Marquardt nonlinear least squares (Levenberg 1944, Marquardt 1963) with
//! Marquardt's diagonal scaling and a central-difference Jacobian.
//!
//! Minimises χ²(p) = Σ_i ((y_i − f(p, i)) / σ_i)².

use super::linalg;

/// Stopping rules for [`fit`].
#[derive(Debug, Clone, Copy)]
pub struct LmOptions {
    /// Maximum number of accepted + rejected steps.
    pub max_iter: usize,
    /// Stop when a step lowers χ² by less than `chi2_tol · (χ² + 1e-300)` (relative).
    pub chi2_tol: f64,
}

impl Default for LmOptions {
    fn default() -> Self {
        Self { max_iter: 300, chi2_tol: 1e-12 }
    }
}

/// A converged (or exhausted) least-squares fit.
#[derive(Debug, Clone)]
pub struct LmFit {
    /// Best parameters.
    pub params: Vec<f64>,
    /// χ² at `params` (weighted residual sum of squares).
    pub chi2: f64,
    /// Covariance `(Jᵀ W J)⁻¹` at `params` (k×k, row-major), *not* rescaled by χ²/dof;
    /// `None` when singular.
    pub cov: Option<Vec<f64>>,
    /// Number of iterations used.
    pub iterations: usize,
    /// Whether the relative χ² change fell below tolerance.
    pub converged: bool,
}

impl LmFit {
    /// Standard errors `sqrt(diag(cov) · scale)`; `scale` is 1 for known σ, or χ²/dof when the
    /// σ were unit placeholders. Missing or negative variances give `None`.
    pub fn stderr(&self, scale: f64) -> Vec<Option<f64>> {
        let k = self.params.len();
        (0..k)
            .map(|i| {
                self.cov.as_ref().map(|c| c[i * k + i] * scale).filter(|v| v.is_finite() && *v >= 0.0).map(f64::sqrt)
            })
            .collect()
    }
}

fn chi2_of<M: Fn(&[f64], usize) -> f64>(model: &M, p: &[f64], y: &[f64], sigma: &[f64]) -> f64 {
    let mut s = 0.0;
    for i in 0..y.len() {
        let r = (y[i] - model(p, i)) / sigma[i];
        s += r * r;
    }
    if s.is_finite() {
        s
    } else {
        f64::INFINITY
    }
}

fn jacobian<M: Fn(&[f64], usize) -> f64>(model: &M, p: &[f64], n: usize) -> Vec<f64> {
    let k = p.len();
    let mut j = vec![0.0; n * k];
    let mut q = p.to_vec();
    for a in 0..k {
        let h = 1e-6 * p[a].abs().max(1e-4);
        q[a] = p[a] + h;
        let up: Vec<f64> = (0..n).map(|i| model(&q, i)).collect();
        q[a] = p[a] - h;
        for i in 0..n {
            j[i * k + a] = (up[i] - model(&q, i)) / (2.0 * h);
        }
        q[a] = p[a];
    }
    j
}

/// Fit `model(p, i)` (the prediction for observation `i`) to `y` with uncertainties `sigma`
/// starting from `p0`.
pub fn fit<M: Fn(&[f64], usize) -> f64>(model: M, y: &[f64], sigma: &[f64], p0: &[f64], opts: LmOptions) -> LmFit {
    let n = y.len();
    let k = p0.len();
    let mut p = p0.to_vec();
    let mut chi2 = chi2_of(&model, &p, y, sigma);
    let mut lambda = 1e-3;
    let mut converged = false;
    let mut iterations = 0;
    let normal = |p: &[f64]| -> (Vec<f64>, Vec<f64>) {
        let j = jacobian(&model, p, n);
        let mut jtj = vec![0.0; k * k];
        let mut jtr = vec![0.0; k];
        for i in 0..n {
            let w = 1.0 / (sigma[i] * sigma[i]);
            let r = y[i] - model(p, i);
            for a in 0..k {
                jtr[a] += w * j[i * k + a] * r;
                for b in 0..k {
                    jtj[a * k + b] += w * j[i * k + a] * j[i * k + b];
                }
            }
        }
        (jtj, jtr)
    };
    if chi2.is_finite() {
        let (mut jtj, mut jtr) = normal(&p);
        while iterations < opts.max_iter {
            iterations += 1;
            let mut a = jtj.clone();
            for d in 0..k {
                a[d * k + d] += lambda * jtj[d * k + d].max(1e-12);
            }
            let Some(step) = linalg::solve(&a, &jtr, k) else {
                lambda *= 10.0;
                if lambda > 1e12 {
                    break;
                }
                continue;
            };
            let trial: Vec<f64> = p.iter().zip(&step).map(|(a, b)| a + b).collect();
            let c = chi2_of(&model, &trial, y, sigma);
            if c < chi2 {
                let rel = (chi2 - c) / (chi2 + 1e-300);
                p = trial;
                chi2 = c;
                lambda = (lambda / 10.0).max(1e-12);
                (jtj, jtr) = normal(&p);
                if rel < opts.chi2_tol {
                    converged = true;
                    break;
                }
            } else {
                lambda *= 10.0;
                if lambda > 1e12 {
                    converged = true; // no direction lowers χ² any more: a (local) minimum
                    break;
                }
            }
        }
    }
    let cov = if chi2.is_finite() { linalg::invert(&normal(&p).0, k) } else { None };
    LmFit { params: p, chi2, cov, iterations, converged }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_an_exponential_with_sensible_errors() {
        let xs: Vec<f64> = (0..40).map(|i| i as f64 * 0.1).collect();
        let mut r = crate::stats::rng(3, 0);
        let y: Vec<f64> =
            xs.iter().map(|x| 2.0 * (-0.7 * x).exp() + 0.01 * crate::stats::standard_normal(&mut r)).collect();
        let s = vec![0.01; xs.len()];
        let f = fit(|p, i| p[0] * (p[1] * xs[i]).exp(), &y, &s, &[1.0, -0.1], LmOptions::default());
        assert!(f.converged);
        let e = f.stderr(1.0);
        assert!((f.params[0] - 2.0).abs() < 4.0 * e[0].unwrap());
        assert!((f.params[1] + 0.7).abs() < 4.0 * e[1].unwrap());
        assert!(f.chi2 / 38.0 < 2.0);
    }
}
