//! Dense linear algebra for small systems (n ≤ ~20) on nalgebra, behind row-major `&[f64]`
//! slices so that the fits need no matrix types of their own.
//!
//! Until issue 10 these were hand-written (Gaussian elimination, normal equations); measured
//! against nalgebra 0.33 (`bench/optimizers`, BENCHMARKS.md) nalgebra's LU inverts 3–6×
//! faster at n = 6–20 and its QR least squares is 1.2–1.9× faster at 6–12 columns and 10⁷×
//! more accurate on a degree-11 Vandermonde design (coefficient error 5·10⁻¹³ against
//! 8·10⁻⁶), so they now call nalgebra, already a dependency (the Bayesian scaling analysis'
//! Cholesky).

use nalgebra::{DMatrix, DVector};

/// Solve `A x = b` for square `A` (n×n, row-major) by LU decomposition with partial pivoting
/// (nalgebra). `None` when `A` is singular to working precision.
pub fn solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let m = DMatrix::from_row_slice(n, n, a);
    let scale = a.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(f64::MIN_POSITIVE);
    let lu = m.lu();
    if (0..n).any(|i| !(lu.u()[(i, i)].abs() > 1e-14 * scale)) {
        return None;
    }
    let x = lu.solve(&DVector::from_row_slice(b))?;
    x.iter().all(|v| v.is_finite()).then(|| x.as_slice().to_vec())
}

/// Inverse of a square matrix (n×n, row-major) by LU decomposition (nalgebra). `None` when
/// singular to working precision.
pub fn invert(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let scale = a.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(f64::MIN_POSITIVE);
    let lu = DMatrix::from_row_slice(n, n, a).lu();
    if (0..n).any(|i| !(lu.u()[(i, i)].abs() > 1e-14 * scale)) {
        return None;
    }
    let inv = lu.try_inverse()?;
    inv.iter().all(|v| v.is_finite()).then(|| inv.transpose().as_slice().to_vec())
}

/// True when the symmetric matrix `a` (n×n, row-major) is positive definite (its Cholesky
/// factorisation exists).
pub fn is_positive_definite(a: &[f64], n: usize) -> bool {
    a.iter().all(|v| v.is_finite()) && DMatrix::from_row_slice(n, n, a).cholesky().is_some()
}

/// Weighted linear least squares: minimise Σ_i w_i (y_i − Σ_k X_ik β_k)² for a design matrix
/// `x` with `k` columns (row-major, one row per observation), by the QR decomposition of
/// √W X with its columns scaled to unit norm (Golub & Van Loan 2013, §5.3: no normal
/// equations, so the condition number enters once, not squared). Returns `(β, (XᵀWX)⁻¹)`
/// (row-major), or `None` when the design is rank deficient (a diagonal element of R below
/// 10⁻¹³ of the largest) or has fewer rows than columns.
pub fn weighted_least_squares(x: &[f64], y: &[f64], w: &[f64], k: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = y.len();
    if n < k || k == 0 {
        return None;
    }
    let sw: Vec<f64> = w.iter().map(|v| v.max(0.0).sqrt()).collect();
    let mut a = DMatrix::from_fn(n, k, |i, j| sw[i] * x[i * k + j]);
    let scale: Vec<f64> = (0..k).map(|j| a.column(j).norm()).map(|s| if s > 0.0 { s } else { 1.0 }).collect();
    for j in 0..k {
        a.column_mut(j).scale_mut(1.0 / scale[j]);
    }
    let b = DVector::from_iterator(n, y.iter().zip(&sw).map(|(v, s)| v * s));
    let qr = a.qr();
    let r = qr.r();
    let rmax = (0..k).map(|i| r[(i, i)].abs()).fold(0.0, f64::max);
    if !(rmax > 0.0) || (0..k).any(|i| !(r[(i, i)].abs() > 1e-13 * rmax)) {
        return None;
    }
    let qtb = qr.q().transpose() * b;
    let beta = r.solve_upper_triangular(&qtb)?;
    let rinv = r.solve_upper_triangular(&DMatrix::identity(k, k))?;
    let cov = &rinv * rinv.transpose();
    let beta: Vec<f64> = (0..k).map(|a| beta[a] / scale[a]).collect();
    let cov: Vec<f64> = (0..k * k).map(|i| cov[(i / k, i % k)] / (scale[i / k] * scale[i % k])).collect();
    (beta.iter().chain(&cov).all(|v| v.is_finite())).then_some((beta, cov))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn solves_and_inverts() {
        let a = [4.0, 1.0, 0.0, 1.0, 3.0, 1.0, 0.0, 1.0, 2.0];
        let x = solve(&a, &[1.0, 2.0, 3.0], 3).unwrap();
        for i in 0..3 {
            let r: f64 = (0..3).map(|k| a[i * 3 + k] * x[k]).sum();
            assert!((r - [1.0, 2.0, 3.0][i]).abs() < 1e-12);
        }
        assert!(is_positive_definite(&a, 3));
        assert!(!is_positive_definite(&[1.0, 2.0, 2.0, 1.0], 2));
        assert!(solve(&[1.0, 2.0, 2.0, 4.0], &[1.0, 1.0], 2).is_none());
        let inv = invert(&a, 3).unwrap();
        assert!((inv[0] * a[0] + inv[1] * a[3] + inv[2] * a[6] - 1.0).abs() < 1e-12);
    }

    #[test]
    fn least_squares_recovers_a_line() {
        let xs: Vec<f64> = (0..10).map(|i| i as f64).collect();
        let design: Vec<f64> = xs.iter().flat_map(|&x| [1.0, x]).collect();
        let y: Vec<f64> = xs.iter().map(|x| 2.0 + 3.0 * x).collect();
        let (b, _) = weighted_least_squares(&design, &y, &[1.0; 10], 2).unwrap();
        assert!((b[0] - 2.0).abs() < 1e-10 && (b[1] - 3.0).abs() < 1e-10);
    }

    #[test]
    fn least_squares_is_accurate_on_an_ill_conditioned_design_and_gives_the_covariance() {
        // degree-11 polynomial on [-1, 2]: the normal equations lost 8·10⁻⁶ here
        let xs: Vec<f64> = (0..200).map(|i| -1.0 + 3.0 * i as f64 / 199.0).collect();
        let k = 12;
        let design: Vec<f64> = xs.iter().flat_map(|&x| (0..k).map(move |j| x.powi(j as i32))).collect();
        let y: Vec<f64> = xs.iter().map(|&x| (0..k).map(|j| x.powi(j as i32) / (j + 1) as f64).sum()).collect();
        let (b, _) = weighted_least_squares(&design, &y, &vec![1.0; 200], k).unwrap();
        for (j, v) in b.iter().enumerate() {
            assert!((v - 1.0 / (j + 1) as f64).abs() < 1e-9, "coefficient {j}: {v}");
        }
        // straight line with weights: cov = (XᵀWX)⁻¹ in closed form
        let design: Vec<f64> = [0.0, 1.0, 2.0, 3.0].iter().flat_map(|&x| [1.0, x]).collect();
        let w = [1.0, 2.0, 3.0, 4.0];
        let (_, cov) = weighted_least_squares(&design, &[1.0, 2.0, 2.0, 5.0], &w, 2).unwrap();
        let (s0, s1, s2) = (10.0, 20.0, 50.0); // Σw, Σwx, Σwx²
        let det = s0 * s2 - s1 * s1;
        let expect = [s2 / det, -s1 / det, -s1 / det, s0 / det];
        for (c, e) in cov.iter().zip(expect) {
            assert!((c - e).abs() < 1e-12, "{cov:?}");
        }
        // rank deficient: two equal columns
        let design: Vec<f64> = [0.0, 1.0, 2.0].iter().flat_map(|&x| [x, x]).collect();
        assert!(weighted_least_squares(&design, &[0.0, 1.0, 2.0], &[1.0; 3], 2).is_none());
    }
}
