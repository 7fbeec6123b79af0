//! Uncertainties from the curvature of an objective at its minimum.
//!
//! Near a minimum, f(x̂ + δ) ≈ f̂ + ½ δᵀ H δ. The parameter region where f rises by at most
//! `rise` above f̂ is the ellipsoid δᵀ (H / 2 rise) δ ≤ 1, whose projection on axis i has
//! half-width σ_i = sqrt((2 rise H⁻¹)_ii). With `rise = 1` and f = χ² this is the textbook
//! Δχ² = 1 rule; for the collapse quality S pyfssa uses `rise = S_min` (covariance
//! `2 S_min H⁻¹`, Nelder & Mead 1965 §"Estimation of the variance–covariance matrix").
//!
//! H is obtained by least-squares fitting a full quadratic surface to f on a small design
//! around the minimum (centre, ±h_i and ±h_i/2 on each axis, and the four (±h_i, ±h_j)
//! corners of every pair), with steps h_i tuned so that f rises by about `rise` on each axis.
//! Fitting a surface rather than taking finite differences tolerates the small jumps of
//! piecewise-smooth objectives such as the collapse quality.

use super::linalg;

/// Which curvature estimate produced the errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CurvatureMethod {
    /// Full Hessian, positive definite: marginal errors `sqrt((2 rise H⁻¹)_ii)`.
    Hessian,
    /// The Hessian was not positive definite: per-axis (conditional) errors
    /// `sqrt(2 rise / H_ii)`, which ignore correlations and so are lower bounds.
    Conditional,
}

/// Curvature errors at a minimum.
#[derive(Debug, Clone)]
pub struct CurvatureErrors {
    /// One-sigma error per parameter; `None` where f does not rise along that axis.
    pub errors: Vec<Option<f64>>,
    /// How they were obtained.
    pub method: CurvatureMethod,
}

/// Estimate errors from the curvature of `f` at `x_min` (where `f(x_min) = f_min`), starting
/// the step search from `steps`, for an error criterion "f rises by `rise`".
pub fn curvature_errors<F: Fn(&[f64]) -> f64 + Sync>(
    f: F,
    x_min: &[f64],
    f_min: f64,
    steps: &[f64],
    rise: f64,
) -> CurvatureErrors {
    let n = x_min.len();
    let rise = if rise.is_finite() && rise > 0.0 { rise } else { 1.0 };
    let at = |i: usize, t: f64| {
        let mut x = x_min.to_vec();
        x[i] += t;
        f(&x)
    };
    // 1. tune the step per axis so that the mean rise of the two sides is about `rise`.
    let mut h = vec![0.0; n];
    let mut usable = vec![true; n];
    for i in 0..n {
        let mut hi = steps[i].abs().max(1e-12);
        let mut ok = false;
        for _ in 0..40 {
            let r = 0.5 * (at(i, hi) + at(i, -hi)) - f_min;
            if !r.is_finite() {
                hi *= 0.5;
                continue;
            }
            if r > 0.0 && (0.3 * rise..=3.0 * rise).contains(&r) {
                ok = true;
                break;
            }
            let factor = if r > 0.0 { (rise / r).sqrt().clamp(0.25, 4.0) } else { 4.0 };
            hi *= factor;
            if hi > 1e6 * steps[i].abs().max(1e-12) {
                break;
            }
        }
        h[i] = hi;
        usable[i] = ok;
    }
    // 2. quadratic surface in scaled coordinates u = δ / h.
    let n_pairs = n * (n - 1) / 2;
    let k = 1 + 2 * n + n_pairs;
    let mut points: Vec<Vec<f64>> = vec![vec![0.0; n]];
    for i in 0..n {
        for t in [1.0, -1.0, 0.5, -0.5] {
            let mut u = vec![0.0; n];
            u[i] = t;
            points.push(u);
        }
        for j in i + 1..n {
            for (a, b) in [(1.0, 1.0), (1.0, -1.0), (-1.0, 1.0), (-1.0, -1.0)] {
                let mut u = vec![0.0; n];
                u[i] = a;
                u[j] = b;
                points.push(u);
            }
        }
    }
    let values: Vec<f64> = {
        use rayon::prelude::*;
        points
            .par_iter()
            .map(|u| {
                let x: Vec<f64> = (0..n).map(|i| x_min[i] + u[i] * h[i]).collect();
                f(&x) - f_min
            })
            .collect()
    };
    let finite = values.iter().all(|v| v.is_finite());
    let mut design = Vec::with_capacity(points.len() * k);
    for u in &points {
        design.push(1.0);
        design.extend(u.iter().copied());
        design.extend(u.iter().map(|v| 0.5 * v * v));
        for i in 0..n {
            for j in i + 1..n {
                design.push(u[i] * u[j]);
            }
        }
    }
    let fit = if finite { linalg::weighted_least_squares(&design, &values, &vec![1.0; values.len()], k) } else { None };
    let mut hess = vec![0.0; n * n];
    if let Some((beta, _)) = &fit {
        let mut c = 1 + 2 * n;
        for i in 0..n {
            hess[i * n + i] = beta[1 + n + i] / (h[i] * h[i]);
            for j in i + 1..n {
                hess[i * n + j] = beta[c] / (h[i] * h[j]);
                hess[j * n + i] = hess[i * n + j];
                c += 1;
            }
        }
    }
    // 3. marginal errors when H is positive definite on the usable axes, else conditional.
    if fit.is_some() && usable.iter().all(|&u| u) && linalg::is_positive_definite(&hess, n) {
        if let Some(inv) = linalg::invert(&hess, n) {
            let errors: Vec<Option<f64>> = (0..n)
                .map(|i| Some(2.0 * rise * inv[i * n + i]).filter(|v| v.is_finite() && *v > 0.0).map(f64::sqrt))
                .collect();
            if errors.iter().all(|e| e.is_some()) {
                return CurvatureErrors { errors, method: CurvatureMethod::Hessian };
            }
        }
    }
    let errors = (0..n)
        .map(|i| {
            if !usable[i] {
                return None;
            }
            let hii = if fit.is_some() && hess[i * n + i] > 0.0 {
                hess[i * n + i]
            } else {
                // rise r at step h on a parabola: r = ½ H h²
                let r = 0.5 * (at(i, h[i]) + at(i, -h[i])) - f_min;
                2.0 * r / (h[i] * h[i])
            };
            Some(2.0 * rise / hii).filter(|v| v.is_finite() && *v > 0.0).map(f64::sqrt)
        })
        .collect();
    CurvatureErrors { errors, method: CurvatureMethod::Conditional }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recovers_a_known_covariance() {
        // f = ½ δᵀ H δ with H = [[4, 1], [1, 2]]: marginal σ² = 2 (H⁻¹)_ii for rise 1.
        let f = |x: &[f64]| 0.5 * (4.0 * x[0] * x[0] + 2.0 * x[0] * x[1] + 2.0 * x[1] * x[1]);
        let c = curvature_errors(f, &[0.0, 0.0], 0.0, &[0.01, 0.01], 1.0);
        assert_eq!(c.method, CurvatureMethod::Hessian);
        let det: f64 = 4.0 * 2.0 - 1.0;
        let s0 = (2.0f64 * 2.0 / det).sqrt();
        let s1 = (2.0f64 * 4.0 / det).sqrt();
        assert!((c.errors[0].unwrap() - s0).abs() < 1e-6);
        assert!((c.errors[1].unwrap() - s1).abs() < 1e-6);
    }

    #[test]
    fn flat_direction_has_no_curvature_error() {
        let f = |x: &[f64]| x[0] * x[0];
        let c = curvature_errors(f, &[0.0, 0.0], 0.0, &[0.1, 0.1], 1.0);
        assert!(c.errors[0].is_some());
        assert!(c.errors[1].is_none());
    }
}
