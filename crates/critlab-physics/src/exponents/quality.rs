//! The Houdayer–Hartmann quality S of a data collapse (Houdayer & Hartmann 2004, PRB 70,
//! 014418; in the form implemented by pyfssa, Sorge 2015, which follows Melchert 2009,
//! arXiv:0910.5403).
//!
//! Given scaled curves (X_ij, Y_ij ± dY_ij) for sizes i, each point (i, j) is compared with a
//! local estimate of the master curve built from the *other* sizes only: for every other size
//! i' the two points j', j'+1 with X_i'j' ≤ X_ij < X_i'j'+1 are selected, and a weighted
//! (w = 1/dY²) straight line through all selected points is evaluated at X_ij, giving Ŷ_ij
//! with variance dŶ²_ij from the line's covariance. Then
//!
//! S = (1/𝒩) Σ_(i,j) (Y_ij − Ŷ_ij)² / (dY²_ij + dŶ²_ij),
//!
//! summed over the 𝒩 points that have at least one bracketing pair. S ≈ 1 for a collapse
//! consistent with the error bars, S ≫ 1 for a poor one, and S = 0 for noiseless data on a
//! straight master curve.
//!
//! Deviation from pyfssa: sizes may have different x grids (pyfssa needs a rectangular
//! array), and the line fit is centred on X_ij, which is numerically stabler. Cost:
//! O(K · N) per evaluation for K sizes and N points (one merge walk per pair of sizes
//! instead of pyfssa's per-point binary searches).

use rayon::prelude::*;

/// One scaled curve: X ascending.
#[derive(Debug, Clone, Default)]
pub struct ScaledCurve {
    /// Scaled abscissa L^{1/ν}(x − x_c), ascending.
    pub x: Vec<f64>,
    /// Scaled ordinate L^{−ζ/ν} y.
    pub y: Vec<f64>,
    /// Scaled uncertainty L^{−ζ/ν} dy.
    pub dy: Vec<f64>,
}

/// S and the number of points that entered it.
#[derive(Debug, Clone, Copy)]
pub struct Quality {
    /// The quality S (mean squared normalised residual); +∞ when no point has neighbours.
    pub s: f64,
    /// Points with at least one bracketing pair in another size.
    pub n_used: usize,
}

/// An unscaled curve seen through the affine scaling X = s_x (x − x₀), Y = s_y y,
/// dY = s_y dy, so that S can be evaluated without materialising scaled copies (for 10⁵
/// points the copies, not the arithmetic, dominated the cost).
#[derive(Debug, Clone, Copy)]
pub struct CurveView<'a> {
    /// Raw abscissa, ascending.
    pub x: &'a [f64],
    /// Raw ordinate.
    pub y: &'a [f64],
    /// Raw uncertainty.
    pub dy: &'a [f64],
    /// Raw weights 1/dy², precomputed once per fit (divisions dominated the inner loop).
    pub w: &'a [f64],
    /// Scale of x (> 0), L^{1/ν}.
    pub sx: f64,
    /// Shift of x, x_c (possibly size dependent).
    pub x0: f64,
    /// Scale of y and dy (> 0), L^{−ζ/ν}.
    pub sy: f64,
}

/// Σ over the bracketing pairs of the other curves, per point of one curve: Σw, Σw u, Σw Y,
/// Σw u², Σw u Y with u = X' − X_ij (the normal equations of the local straight line).
#[derive(Clone, Copy, Default)]
struct Sums {
    w: f64,
    wu: f64,
    wy: f64,
    wuu: f64,
    wuy: f64,
}

/// Contribution of curve `i`: (Σ residual², count). For every other curve one merge walk over
/// both ascending abscissae adds the bracketing pair of each point of `i` to that point's
/// sums (`xs` are the scaled abscissae of all curves, computed once per evaluation); the
/// points of `i` outside the other curve's range are skipped by binary search.
fn curve_terms(curves: &[CurveView], xs: &[Vec<f64>], i: usize, window: Option<(f64, f64)>) -> (f64, usize) {
    let c = &curves[i];
    let xi = &xs[i];
    let mut sums = vec![Sums::default(); xi.len()];
    for (k, o) in curves.iter().enumerate() {
        let xk = &xs[k];
        if k == i || xk.len() < 2 {
            continue;
        }
        // points X_ij with X_k0 ≤ X_ij < X_k,last have a bracketing pair in curve k
        let lo = xi.partition_point(|&v| v < xk[0]);
        let hi = xi.partition_point(|&v| v < xk[xk.len() - 1]);
        let (cw, cy) = (1.0 / (o.sy * o.sy), o.sy);
        let mut p = 0usize;
        for (j, s) in (lo..hi).zip(&mut sums[lo..hi]) {
            let x = xi[j];
            while xk[p + 1] <= x {
                p += 1;
            }
            let (u0, u1) = (xk[p] - x, xk[p + 1] - x);
            let (w0, w1) = (cw * o.w[p], cw * o.w[p + 1]);
            let (y0, y1) = (cy * o.y[p], cy * o.y[p + 1]);
            s.w += w0 + w1;
            s.wu += w0 * u0 + w1 * u1;
            s.wy += w0 * y0 + w1 * y1;
            s.wuu += w0 * u0 * u0 + w1 * u1 * u1;
            s.wuy += w0 * u0 * y0 + w1 * u1 * y1;
        }
    }
    let mut sum = 0.0;
    let mut count = 0usize;
    for (j, s) in sums.iter().enumerate() {
        if s.w == 0.0 || window.is_some_and(|(lo, hi)| xi[j] < lo || xi[j] > hi) {
            continue;
        }
        let delta = s.w * s.wuu - s.wu * s.wu;
        if !(delta > 1e-300) {
            continue;
        }
        let b = (s.wuu * s.wy - s.wu * s.wuy) / delta; // intercept at u = 0, i.e. at X_ij
        let b_var = s.wuu / delta;
        let e = c.sy * c.dy[j];
        let r = c.sy * c.y[j] - b;
        sum += r * r / (e * e + b_var);
        count += 1;
    }
    (sum, count)
}

/// The quality S of curves seen through their scalings, optionally counting only points with
/// X in `window` (pyfssa's `x_bounds`; neighbours may lie outside it). Parallel over curves
/// for large data.
pub fn quality_views(curves: &[CurveView], window: Option<(f64, f64)>) -> Quality {
    let n_total: usize = curves.iter().map(|c| c.x.len()).sum();
    let xs: Vec<Vec<f64>> = curves.iter().map(|c| c.x.iter().map(|x| c.sx * (x - c.x0)).collect()).collect();
    let terms: Vec<(f64, usize)> = if n_total > 20_000 {
        (0..curves.len()).into_par_iter().map(|i| curve_terms(curves, &xs, i, window)).collect()
    } else {
        (0..curves.len()).map(|i| curve_terms(curves, &xs, i, window)).collect()
    };
    let (sum, n_used) = terms.iter().fold((0.0, 0usize), |(s, n), (a, b)| (s + a, n + b));
    let s = if n_used == 0 { f64::INFINITY } else { sum / n_used as f64 };
    Quality { s: if s.is_finite() { s } else { f64::INFINITY }, n_used }
}

/// The part of S contributed by curve `i` alone: its points against the master curve built
/// from the other curves (used for leave-one-size-out prediction errors).
pub fn curve_quality(curves: &[CurveView], i: usize, window: Option<(f64, f64)>) -> Quality {
    let xs: Vec<Vec<f64>> = curves.iter().map(|c| c.x.iter().map(|x| c.sx * (x - c.x0)).collect()).collect();
    let (sum, n_used) = curve_terms(curves, &xs, i, window);
    let s = if n_used == 0 { f64::INFINITY } else { sum / n_used as f64 };
    Quality { s: if s.is_finite() { s } else { f64::INFINITY }, n_used }
}

/// The quality S of already scaled curves (see [`quality_views`]).
pub fn quality(curves: &[ScaledCurve], window: Option<(f64, f64)>) -> Quality {
    let w: Vec<Vec<f64>> = curves.iter().map(|c| c.dy.iter().map(|d| 1.0 / (d * d)).collect()).collect();
    let views: Vec<CurveView> = curves
        .iter()
        .zip(&w)
        .map(|(c, w)| CurveView { x: &c.x, y: &c.y, dy: &c.dy, w, sx: 1.0, x0: 0.0, sy: 1.0 })
        .collect();
    quality_views(&views, window)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(x: &[f64], f: impl Fn(f64) -> f64, dy: f64) -> ScaledCurve {
        ScaledCurve { x: x.to_vec(), y: x.iter().map(|&v| f(v)).collect(), dy: vec![dy; x.len()] }
    }

    #[test]
    fn perfect_linear_collapse_scores_zero() {
        let a = curve(&[0.0, 1.0, 2.0, 3.0], |x| 2.0 * x + 1.0, 0.1);
        let b = curve(&[0.5, 1.5, 2.5], |x| 2.0 * x + 1.0, 0.1);
        let q = quality(&[a, b], None);
        assert!(q.s < 1e-20, "{}", q.s);
        // b's three points and a's two interior points are bracketed
        assert_eq!(q.n_used, 5);
    }

    #[test]
    fn offset_curves_score_badly_and_disjoint_curves_are_infinite() {
        let a = curve(&[0.0, 1.0, 2.0, 3.0], |x| x, 0.1);
        let b = curve(&[0.5, 1.5, 2.5], |x| x + 1.0, 0.1);
        assert!(quality(&[a.clone(), b], None).s > 10.0);
        let c = curve(&[10.0, 11.0], |x| x, 0.1);
        assert!(quality(&[a, c], None).s.is_infinite());
    }

    #[test]
    fn matches_a_hand_computed_value() {
        // point (b, 0) at X = 0.5 sees a's points (0, 0) and (1, 1) → Ŷ = 0.5,
        // var(Ŷ) = 0.5² var(y0) + 0.5² var(y1) = 0.5 · 0.01; residual 0.7 − 0.5 = 0.2.
        let a = ScaledCurve { x: vec![0.0, 1.0], y: vec![0.0, 1.0], dy: vec![0.1, 0.1] };
        let b = ScaledCurve { x: vec![0.5], y: vec![0.7], dy: vec![0.1] };
        let q = quality(&[a, b], None);
        let expect = 0.04 / (0.01 + 0.005);
        assert!((q.s - expect).abs() < 1e-12, "{} vs {}", q.s, expect);
    }
}
