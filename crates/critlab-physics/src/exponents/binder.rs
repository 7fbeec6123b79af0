//! Critical point from crossings of Binder-type curves (Binder 1981): a dimensionless
//! quantity such as the Binder cumulant U_L = 1 − ⟨m⁴⟩/(3⟨m²⟩²) (or a spanning
//! probability) is size-independent at x_c, so curves y_L(x) for different L cross there.
//!
//! * **Pairwise crossings**: for each pair of sizes the difference y_a − y_b is formed on the
//!   union of their x grids over the common range (linear interpolation), and each sign
//!   change is located by linear interpolation. With several, the *principal* crossing is the
//!   one where the curves separate fastest (largest |slope of the difference|).
//! * **Combined estimate**: weighted mean (weights 1/σ²) of the crossings of consecutive
//!   sizes (L_k, L_k+1) — the pairs least affected by each other's noise — or of all pairs
//!   when no consecutive pair crosses.
//! * **Errors**: parametric bootstrap y* = y + dy·N(0,1) of every curve, recomputing every
//!   crossing (the one nearest the original) and the combination; one sigma = half the
//!   15.9–84.1% range. When the crossings scatter more than their errors allow (finite-size
//!   drift of the crossing point), the combined error is multiplied by √(χ²/dof) of their
//!   scatter (Birge ratio, only when > 1). Without dy there is no bootstrap and the error is
//!   the standard error of the mean of the crossings.
//! * When no pair crosses the result says so (`found: false`, `x_c: null`).
//! * **Corrections to scaling** (with ≥ 3 crossings of consecutive sizes): the crossing of
//!   sizes L_a < L_b drifts as x*(L) = x_c + c L^{−κ}, κ = 1/ν + ω (Binder 1981; the same
//!   shift correction as the collapse), with L = √(L_a L_b). `extrapolated` fits x_c and c by
//!   weighted least squares for κ on a grid 0.5, 0.75, …, 4 and keeps the κ of least χ²; its
//!   error is the bootstrap spread of the extrapolation at that κ (the replicates carry the
//!   correlation of crossings sharing a curve) ⊕ half the range of x_c over the κ with
//!   χ² ≤ χ²_min + 1 (κ is barely determined by 3–4 points).

use crate::data::CollapseData;
use crate::error::Result;
use crate::stats;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Options of [`fit`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BinderOptions {
    /// Bootstrap replicates (ignored without dy); default 200.
    pub bootstrap: usize,
    /// Seed; default 0.
    pub seed: u64,
    /// Drop the `k` smallest sizes; default 0.
    pub drop_smallest: usize,
}

impl Default for BinderOptions {
    fn default() -> Self {
        Self { bootstrap: 200, seed: 0, drop_smallest: 0 }
    }
}

/// The crossing of one pair of sizes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Crossing {
    /// Smaller size.
    pub size_a: f64,
    /// Larger size.
    pub size_b: f64,
    /// Crossing point (units of x).
    pub x: f64,
    /// Bootstrap error of `x` (0 without dy).
    pub x_err: f64,
    /// Value of the curves at the crossing (e.g. U* for the Binder cumulant).
    pub y: f64,
    /// Number of sign changes found for this pair (1 for clean data).
    pub n_sign_changes: usize,
}

/// Result of the crossing analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BinderResult {
    /// Whether any pair of curves crosses.
    pub found: bool,
    /// Combined critical point, `null` when no crossing was found.
    pub x_c: Option<f64>,
    /// Its one-sigma error.
    pub x_c_err: Option<f64>,
    /// Value of the curves at the combined crossing (mean of the pairs'), e.g. U*.
    pub y_c: Option<f64>,
    /// Every pair's principal crossing.
    pub crossings: Vec<Crossing>,
    /// Pairs of sizes whose curves do not cross in the common x range.
    pub pairs_without_crossing: Vec<(f64, f64)>,
    /// χ²/dof of the combined crossings around their mean (> 1: finite-size drift).
    pub scatter_chi2_dof: Option<f64>,
    /// Bootstrap replicates used.
    pub bootstrap_samples: usize,
    /// Sizes used.
    pub sizes: Vec<f64>,
    /// What was found, in words.
    pub message: String,
    /// The consecutive-pair crossings extrapolated to L → ∞ (`null` with fewer than 3).
    #[serde(default)]
    pub extrapolated: Option<CrossingExtrapolation>,
}

/// Crossings extrapolated in size: x*(L) = x_c + c L^{−κ} (module docs).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CrossingExtrapolation {
    /// Extrapolated critical point.
    pub x_c: f64,
    /// Its error: bootstrap ⊕ κ uncertainty.
    pub x_c_err: f64,
    /// Statistical (bootstrap) part.
    pub x_c_err_stat: f64,
    /// Part from the uncertainty of κ.
    pub x_c_err_sys: f64,
    /// κ = 1/ν + ω of least χ².
    pub kappa: f64,
    /// Amplitude c.
    pub c: f64,
    /// χ² at the best κ.
    pub chi2: f64,
    /// Degrees of freedom (crossings − 2).
    pub dof: usize,
    /// (κ, χ², x_c) over the grid.
    pub profile: Vec<(f64, f64, f64)>,
}

/// Weighted straight line x = x_c + c u: (x_c, c, χ²).
fn line(u: &[f64], x: &[f64], w: &[f64]) -> Option<(f64, f64, f64)> {
    let (mut sw, mut su, mut sx, mut suu, mut sux) = (0.0, 0.0, 0.0, 0.0, 0.0);
    for ((u, x), w) in u.iter().zip(x).zip(w) {
        sw += w;
        su += w * u;
        sx += w * x;
        suu += w * u * u;
        sux += w * u * x;
    }
    let det = sw * suu - su * su;
    if !(det.abs() > 1e-300) {
        return None;
    }
    let c = (sw * sux - su * sx) / det;
    let x_c = (sx - c * su) / sw;
    let chi2 = u.iter().zip(x).zip(w).map(|((u, x), w)| w * (x - x_c - c * u).powi(2)).sum();
    Some((x_c, c, chi2))
}

/// Extrapolate consecutive-pair crossings `(L_a, L_b, x, err)`; `reps` are bootstrap
/// replicates of the same crossings (`None` where a replicate lost one).
fn extrapolate(cross: &[(f64, f64, f64, f64)], reps: &[Vec<Option<f64>>]) -> Option<CrossingExtrapolation> {
    if cross.len() < 3 {
        return None;
    }
    let l: Vec<f64> = cross.iter().map(|c| (c.0 * c.1).sqrt()).collect();
    let x: Vec<f64> = cross.iter().map(|c| c.2).collect();
    let w: Vec<f64> = if cross.iter().all(|c| c.3 > 0.0) {
        cross.iter().map(|c| 1.0 / (c.3 * c.3)).collect()
    } else {
        vec![1.0; cross.len()]
    };
    let profile: Vec<(f64, f64, f64)> = (0..15)
        .filter_map(|i| {
            let kappa = 0.5 + 0.25 * i as f64;
            let u: Vec<f64> = l.iter().map(|l| l.powf(-kappa)).collect();
            line(&u, &x, &w).map(|(xc, _, chi2)| (kappa, chi2, xc))
        })
        .collect();
    let best = profile.iter().min_by(|a, b| a.1.total_cmp(&b.1))?;
    let kappa = best.0;
    let u: Vec<f64> = l.iter().map(|l| l.powf(-kappa)).collect();
    let (x_c, c, chi2) = line(&u, &x, &w)?;
    let boot: Vec<f64> = reps
        .iter()
        .filter_map(|r| {
            let xr: Option<Vec<f64>> = r.iter().copied().collect();
            xr.and_then(|xr| line(&u, &xr, &w)).map(|f| f.0)
        })
        .collect();
    let stat = stats::bootstrap_spread(&boot).unwrap_or(0.0);
    let near: Vec<f64> = profile.iter().filter(|p| p.1 <= best.1 + 1.0).map(|p| p.2).collect();
    let sys = 0.5
        * (near.iter().cloned().fold(f64::NEG_INFINITY, f64::max) - near.iter().cloned().fold(f64::INFINITY, f64::min));
    Some(CrossingExtrapolation {
        x_c,
        x_c_err: stat.hypot(sys),
        x_c_err_stat: stat,
        x_c_err_sys: sys,
        kappa,
        c,
        chi2,
        dof: cross.len() - 2,
        profile,
    })
}

/// All sign changes of y_a − y_b on the common range: (x, y, |slope|).
fn pair_crossings(xa: &[f64], ya: &[f64], xb: &[f64], yb: &[f64]) -> Vec<(f64, f64, f64)> {
    let lo = xa[0].max(xb[0]);
    let hi = xa[xa.len() - 1].min(xb[xb.len() - 1]);
    if !(lo < hi) {
        return Vec::new();
    }
    let mut grid: Vec<f64> = xa.iter().chain(xb).copied().filter(|&x| x >= lo && x <= hi).collect();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let interp = |xs: &[f64], ys: &[f64], x: f64| {
        let k = xs.partition_point(|&v| v <= x).clamp(1, xs.len() - 1);
        let (x0, x1) = (xs[k - 1], xs[k]);
        if x1 == x0 {
            ys[k]
        } else {
            ys[k - 1] + (ys[k] - ys[k - 1]) * (x - x0) / (x1 - x0)
        }
    };
    let d: Vec<(f64, f64)> = grid.iter().map(|&x| (interp(xa, ya, x) - interp(xb, yb, x), interp(xa, ya, x))).collect();
    let mut out = Vec::new();
    for k in 1..grid.len() {
        let (d0, d1) = (d[k - 1].0, d[k].0);
        if d0 == 0.0 {
            out.push((grid[k - 1], d[k - 1].1, ((d1 - d0) / (grid[k] - grid[k - 1])).abs()));
        } else if d0 * d1 < 0.0 {
            let f = d0 / (d0 - d1);
            let x = grid[k - 1] + f * (grid[k] - grid[k - 1]);
            let y = d[k - 1].1 + f * (d[k].1 - d[k - 1].1);
            out.push((x, y, ((d1 - d0) / (grid[k] - grid[k - 1])).abs()));
        }
    }
    out
}

/// Principal crossing of every pair (i < j): `None` where the pair does not cross; `near`
/// selects the crossing closest to a given x instead of the steepest.
fn all_pairs(data: &CollapseData, ys: &[Vec<f64>], near: Option<&[Option<f64>]>) -> Vec<Option<(f64, f64, usize)>> {
    let k = data.curves.len();
    let mut out = Vec::new();
    let mut p = 0;
    for i in 0..k {
        for j in i + 1..k {
            let c = pair_crossings(&data.curves[i].x, &ys[i], &data.curves[j].x, &ys[j]);
            let n = c.len();
            let chosen = match near.and_then(|v| v[p]) {
                Some(x0) => c.iter().min_by(|a, b| (a.0 - x0).abs().total_cmp(&(b.0 - x0).abs())),
                None => c.iter().max_by(|a, b| a.2.total_cmp(&b.2)),
            };
            out.push(chosen.map(|c| (c.0, c.1, n)));
            p += 1;
        }
    }
    out
}

/// Weighted mean over the chosen pairs, returning (mean, mean y, χ²/dof).
fn combine(values: &[(f64, f64)], errs: &[f64]) -> (f64, f64, Option<f64>) {
    let use_w = errs.iter().all(|&e| e > 0.0);
    let w: Vec<f64> = errs.iter().map(|&e| if use_w { 1.0 / (e * e) } else { 1.0 }).collect();
    let sw: f64 = w.iter().sum();
    let m = values.iter().zip(&w).map(|(v, w)| v.0 * w).sum::<f64>() / sw;
    let my = values.iter().zip(&w).map(|(v, w)| v.1 * w).sum::<f64>() / sw;
    let chi = (use_w && values.len() > 1)
        .then(|| values.iter().zip(&w).map(|(v, w)| (v.0 - m).powi(2) * w).sum::<f64>() / (values.len() - 1) as f64);
    (m, my, chi)
}

/// Locate x_c from the crossings of curves of different sizes. Errors only for unusable
/// input (fewer than 2 sizes or 2 points per size); "no crossing" is a result, not an error.
pub fn fit(data: &CollapseData, opts: &BinderOptions) -> Result<BinderResult> {
    let data = data.drop_smallest(opts.drop_smallest);
    data.require("Binder crossing", 2, 2)?;
    let k = data.curves.len();
    let pairs: Vec<(usize, usize)> = (0..k).flat_map(|i| (i + 1..k).map(move |j| (i, j))).collect();
    let ys: Vec<Vec<f64>> = data.curves.iter().map(|c| c.y.clone()).collect();
    let base = all_pairs(&data, &ys, None);
    let consecutive: Vec<usize> =
        (0..pairs.len()).filter(|&p| pairs[p].1 == pairs[p].0 + 1 && base[p].is_some()).collect();
    let chosen: Vec<usize> =
        if consecutive.is_empty() { (0..pairs.len()).filter(|&p| base[p].is_some()).collect() } else { consecutive };
    let without: Vec<(f64, f64)> = (0..pairs.len())
        .filter(|&p| base[p].is_none())
        .map(|p| (data.curves[pairs[p].0].size, data.curves[pairs[p].1].size))
        .collect();
    if chosen.is_empty() {
        return Ok(BinderResult {
            found: false,
            x_c: None,
            x_c_err: None,
            y_c: None,
            crossings: Vec::new(),
            pairs_without_crossing: without,
            scatter_chi2_dof: None,
            bootstrap_samples: 0,
            sizes: data.sizes(),
            message: "no crossing found: no pair of sizes crosses within their common x range".into(),
            extrapolated: None,
        });
    }
    // bootstrap
    let near: Vec<Option<f64>> = base.iter().map(|c| c.map(|c| c.0)).collect();
    let reps: Vec<Vec<Option<(f64, f64, usize)>>> = if data.has_dy {
        (0..opts.bootstrap)
            .into_par_iter()
            .map(|b| {
                let mut r = stats::rng(opts.seed, b as u64);
                let ys: Vec<Vec<f64>> = data
                    .curves
                    .iter()
                    .map(|c| c.y.iter().zip(&c.dy).map(|(y, e)| y + e * stats::standard_normal(&mut r)).collect())
                    .collect();
                all_pairs(&data, &ys, Some(&near))
            })
            .collect()
    } else {
        Vec::new()
    };
    let pair_err = |p: usize| {
        stats::bootstrap_spread(&reps.iter().filter_map(|r| r[p].map(|c| c.0)).collect::<Vec<_>>()).unwrap_or(0.0)
    };
    let crossings: Vec<Crossing> = (0..pairs.len())
        .filter_map(|p| {
            base[p].map(|c| Crossing {
                size_a: data.curves[pairs[p].0].size,
                size_b: data.curves[pairs[p].1].size,
                x: c.0,
                x_err: pair_err(p),
                y: c.1,
                n_sign_changes: c.2,
            })
        })
        .collect();
    let err_of = |p: usize| {
        crossings
            .iter()
            .find(|c| c.size_a == data.curves[pairs[p].0].size && c.size_b == data.curves[pairs[p].1].size)
            .map_or(0.0, |c| c.x_err)
    };
    let values: Vec<(f64, f64)> = chosen.iter().map(|&p| base[p].map(|c| (c.0, c.1)).unwrap()).collect();
    let errs: Vec<f64> = chosen.iter().map(|&p| err_of(p)).collect();
    let (x_c, y_c, chi) = combine(&values, &errs);
    // bootstrap of the combination (replicates where every chosen pair still crosses)
    let combined_reps: Vec<f64> = reps
        .iter()
        .filter_map(|r| {
            let v: Option<Vec<(f64, f64)>> = chosen.iter().map(|&p| r[p].map(|c| (c.0, c.1))).collect();
            v.map(|v| combine(&v, &errs).0)
        })
        .collect();
    let mut x_c_err = match stats::bootstrap_spread(&combined_reps) {
        Some(e) => e,
        None if values.len() > 1 => {
            stats::std_dev(&values.iter().map(|v| v.0).collect::<Vec<_>>()) / (values.len() as f64).sqrt()
        }
        None => 0.0,
    };
    if let Some(c) = chi {
        if c > 1.0 {
            x_c_err *= c.sqrt();
        }
    }
    // consecutive-pair crossings extrapolated in L
    let consec: Vec<usize> = (0..pairs.len()).filter(|&p| pairs[p].1 == pairs[p].0 + 1 && base[p].is_some()).collect();
    let cross: Vec<(f64, f64, f64, f64)> = consec
        .iter()
        .map(|&p| {
            (data.curves[pairs[p].0].size, data.curves[pairs[p].1].size, base[p].map_or(f64::NAN, |c| c.0), err_of(p))
        })
        .collect();
    let rep_cross: Vec<Vec<Option<f64>>> =
        reps.iter().map(|r| consec.iter().map(|&p| r[p].map(|c| c.0)).collect()).collect();
    let extrapolated = extrapolate(&cross, &rep_cross);
    let message = format!(
        "x_c from {} crossing(s) of {} size pair(s){}",
        chosen.len(),
        pairs.len(),
        if without.is_empty() { String::new() } else { format!("; {} pair(s) do not cross", without.len()) }
    );
    Ok(BinderResult {
        found: true,
        x_c: Some(x_c),
        x_c_err: Some(x_c_err),
        y_c: Some(y_c),
        crossings,
        pairs_without_crossing: without,
        scatter_chi2_dof: chi,
        bootstrap_samples: combined_reps.len(),
        sizes: data.sizes(),
        message,
        extrapolated,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn straight_lines_cross_where_expected() {
        let c = pair_crossings(&[0.0, 1.0, 2.0], &[0.0, 1.0, 2.0], &[0.0, 2.0], &[1.5, 0.5]);
        assert_eq!(c.len(), 1);
        assert!((c[0].0 - 1.0).abs() < 1e-12);
    }
}
