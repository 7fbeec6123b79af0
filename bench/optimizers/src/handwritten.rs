//! The hand-written linear algebra of critlab-physics before issue 10 (commit 542d82f), kept here to benchmark against what replaced it.
#![allow(dead_code)]

/// Solve `A x = b` for square `A` (n×n, row-major) by Gaussian elimination with partial
/// pivoting. `None` when `A` is singular to working precision.
pub fn solve(a: &[f64], b: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut m = a.to_vec();
    let mut x = b.to_vec();
    let scale = m.iter().fold(0.0f64, |s, v| s.max(v.abs())).max(f64::MIN_POSITIVE);
    for col in 0..n {
        let piv = (col..n).max_by(|&i, &j| m[i * n + col].abs().total_cmp(&m[j * n + col].abs()))?;
        if m[piv * n + col].abs() <= 1e-14 * scale || !m[piv * n + col].is_finite() {
            return None;
        }
        if piv != col {
            for k in 0..n {
                m.swap(piv * n + k, col * n + k);
            }
            x.swap(piv, col);
        }
        for row in col + 1..n {
            let f = m[row * n + col] / m[col * n + col];
            if f != 0.0 {
                for k in col..n {
                    m[row * n + k] -= f * m[col * n + k];
                }
                x[row] -= f * x[col];
            }
        }
    }
    for col in (0..n).rev() {
        let mut s = x[col];
        for k in col + 1..n {
            s -= m[col * n + k] * x[k];
        }
        x[col] = s / m[col * n + col];
    }
    x.iter().all(|v| v.is_finite()).then_some(x)
}

/// Inverse of a square matrix (n×n, row-major), column by column with [`solve`].
pub fn invert(a: &[f64], n: usize) -> Option<Vec<f64>> {
    let mut inv = vec![0.0; n * n];
    for j in 0..n {
        let mut e = vec![0.0; n];
        e[j] = 1.0;
        let col = solve(a, &e, n)?;
        for i in 0..n {
            inv[i * n + j] = col[i];
        }
    }
    Some(inv)
}

/// True when the symmetric matrix `a` is positive definite (Cholesky succeeds).
pub fn is_positive_definite(a: &[f64], n: usize) -> bool {
    let mut l = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..=i {
            let mut s = a[i * n + j];
            for k in 0..j {
                s -= l[i * n + k] * l[j * n + k];
            }
            if i == j {
                if s <= 0.0 || !s.is_finite() {
                    return false;
                }
                l[i * n + i] = s.sqrt();
            } else {
                l[i * n + j] = s / l[j * n + j];
            }
        }
    }
    true
}

/// Weighted linear least squares: minimise Σ_i w_i (y_i − Σ_k X_ik β_k)² for a design matrix
/// `x` with `k` columns (row-major, one row per observation). Columns are scaled to unit norm
/// before forming the normal equations, which keeps polynomial designs well conditioned.
/// Returns `(β, (XᵀWX)⁻¹)`, or `None` when the design is rank deficient.
pub fn weighted_least_squares(x: &[f64], y: &[f64], w: &[f64], k: usize) -> Option<(Vec<f64>, Vec<f64>)> {
    let n = y.len();
    let mut scale = vec![0.0; k];
    for i in 0..n {
        for c in 0..k {
            scale[c] += w[i] * x[i * k + c] * x[i * k + c];
        }
    }
    for s in &mut scale {
        *s = if *s > 0.0 { s.sqrt() } else { 1.0 };
    }
    let mut ata = vec![0.0; k * k];
    let mut atb = vec![0.0; k];
    for i in 0..n {
        for a in 0..k {
            let xa = x[i * k + a] / scale[a];
            atb[a] += w[i] * xa * y[i];
            for b in 0..k {
                ata[a * k + b] += w[i] * xa * x[i * k + b] / scale[b];
            }
        }
    }
    let inv = invert(&ata, k)?;
    let mut beta = vec![0.0; k];
    let mut cov = vec![0.0; k * k];
    for a in 0..k {
        beta[a] = (0..k).map(|b| inv[a * k + b] * atb[b]).sum::<f64>() / scale[a];
        for b in 0..k {
            cov[a * k + b] = inv[a * k + b] / (scale[a] * scale[b]);
        }
    }
    Some((beta, cov))
}

