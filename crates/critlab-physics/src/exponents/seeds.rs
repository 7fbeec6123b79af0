//! Seed statistics of an order parameter m over replicas (docs/theory.md §9): at each (size L,
//! control x) point the seeds are the thermal ensemble, giving
//!
//! * the susceptibility χ = N · Var_seeds(m) (N = number of seeds, sample variance), and
//! * the Binder-like cumulant U₄ = 1 − ⟨m⁴⟩ / (3⟨m²⟩²), of m itself ([`Centering::Raw`]) or of
//!   m − ⟨m⟩ ([`Centering::Centered`], for an order parameter that is not symmetric about 0, as
//!   test accuracy is not). U₄ is undefined when ⟨m²⟩ = 0 (e.g. every seed at accuracy 0).
//!
//! Errors of χ and U₄ are bootstrap spreads over the seeds (resampled with replacement, seeded).
//! [`crossings`] locates x_c from the crossings of U₄(x) across sizes with
//! [`crate::binder::fit`], and reports the spread of the pairwise crossings.
use crate::binder::{self, BinderOptions, BinderResult};
use crate::data::CollapseData;
use crate::error::Result;
use crate::stats;
use rand::Rng;
use serde::{Deserialize, Serialize};

/// Whether U₄ is taken of m or of m − ⟨m⟩.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Centering {
    /// U₄ of m (a symmetric order parameter, as the magnetisation).
    Raw,
    /// U₄ of m − ⟨m⟩ (docs/theory.md §9's choice for accuracies and contrasts).
    #[default]
    Centered,
}

/// χ = N · Var(m) with the sample variance; `None` with fewer than 2 values.
pub fn susceptibility(m: &[f64]) -> Option<f64> {
    (m.len() >= 2).then(|| m.len() as f64 * stats::std_dev(m).powi(2))
}

/// U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²); `None` with fewer than 2 values or ⟨m²⟩ = 0.
pub fn binder_cumulant(m: &[f64], centering: Centering) -> Option<f64> {
    if m.len() < 2 {
        return None;
    }
    let mean = if centering == Centering::Centered { stats::mean(m) } else { 0.0 };
    let m2 = m.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / m.len() as f64;
    let m4 = m.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / m.len() as f64;
    (m2 > 0.0).then(|| 1.0 - m4 / (3.0 * m2 * m2))
}

/// The seed statistics of one (size, control) point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SeedPoint {
    /// Size L.
    pub size: f64,
    /// Control x.
    pub x: f64,
    /// Seeds.
    pub n: usize,
    /// Seed mean ⟨m⟩.
    pub mean: f64,
    /// Standard error of the mean.
    pub mean_err: f64,
    /// χ = N Var_seeds(m).
    pub chi: Option<f64>,
    /// Bootstrap error of χ.
    pub chi_err: Option<f64>,
    /// U₄.
    pub u4: Option<f64>,
    /// Bootstrap error of U₄.
    pub u4_err: Option<f64>,
}

/// Statistics of every (size, x) point of `samples` = (size, x, m) triples, one per seed;
/// sorted by size then x. `bootstrap` resamples per point (seeded).
pub fn statistics(samples: &[(f64, f64, f64)], centering: Centering, bootstrap: usize, seed: u64) -> Vec<SeedPoint> {
    let mut keys: Vec<(f64, f64)> = samples.iter().map(|s| (s.0, s.1)).collect();
    keys.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    keys.dedup();
    keys.iter()
        .enumerate()
        .map(|(k, &(size, x))| {
            let m: Vec<f64> =
                samples.iter().filter(|s| s.0 == size && s.1 == x && s.2.is_finite()).map(|s| s.2).collect();
            let mut rng = stats::rng(seed, k as u64);
            let (mut chis, mut u4s) = (Vec::new(), Vec::new());
            for _ in 0..bootstrap {
                let r: Vec<f64> = (0..m.len()).map(|_| m[rng.gen_range(0..m.len())]).collect();
                chis.extend(susceptibility(&r));
                u4s.extend(binder_cumulant(&r, centering));
            }
            let u4 = binder_cumulant(&m, centering);
            SeedPoint {
                size,
                x,
                n: m.len(),
                mean: stats::mean(&m),
                mean_err: if m.len() > 1 { stats::std_dev(&m) / (m.len() as f64).sqrt() } else { 0.0 },
                chi: susceptibility(&m),
                chi_err: stats::bootstrap_spread(&chis),
                u4,
                // a point whose resamples are mostly undefined has no usable error
                u4_err: u4.and(if u4s.len() * 2 > bootstrap { stats::bootstrap_spread(&u4s) } else { None }),
            }
        })
        .collect()
}

/// Crossings of U₄(x) across sizes.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct U4Crossings {
    /// The crossing analysis (combined x_c, every pair's crossing).
    pub binder: BinderResult,
    /// Standard deviation of the pairwise crossing points (the "crossing spread").
    pub spread: Option<f64>,
    /// Points left out because U₄ or its error is undefined there.
    pub points_without_u4: usize,
}

/// x_c from the crossings of U₄ across sizes (points with a defined U₄ and a positive error;
/// errors floored at 10⁻³ so a point where all seeds agree does not get infinite weight).
pub fn crossings(points: &[SeedPoint], opts: &BinderOptions) -> Result<U4Crossings> {
    let ok: Vec<&SeedPoint> = points.iter().filter(|p| p.u4.is_some()).collect();
    let size: Vec<f64> = ok.iter().map(|p| p.size).collect();
    let x: Vec<f64> = ok.iter().map(|p| p.x).collect();
    let y: Vec<f64> = ok.iter().map(|p| p.u4.unwrap_or(f64::NAN)).collect();
    let dy: Vec<f64> = ok.iter().map(|p| p.u4_err.unwrap_or(0.0).max(1e-3)).collect();
    let data = CollapseData::from_points(&size, &x, &y, Some(&dy))?;
    let binder = binder::fit(&data, opts)?;
    let xs: Vec<f64> = binder.crossings.iter().map(|c| c.x).collect();
    let spread = (xs.len() >= 2).then(|| stats::std_dev(&xs));
    Ok(U4Crossings { binder, spread, points_without_u4: points.len() - ok.len() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gaussian_seeds_give_u4_near_zero_and_chi_n_var() {
        let mut rng = stats::rng(3, 0);
        let m: Vec<f64> = (0..4000).map(|_| 2.0 + 0.5 * stats::standard_normal(&mut rng)).collect();
        let u = binder_cumulant(&m, Centering::Centered).unwrap();
        assert!(u.abs() < 0.05, "U4 of a Gaussian = {u}");
        let chi = susceptibility(&m).unwrap();
        assert!((chi / 4000.0 - 0.25).abs() < 0.02, "chi = {chi}");
        // An ordered, symmetric two-state m = ±1 has raw U4 = 2/3.
        assert!((binder_cumulant(&[1.0, -1.0, 1.0, -1.0], Centering::Raw).unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!(binder_cumulant(&[0.0, 0.0, 0.0], Centering::Raw).is_none());
    }

    #[test]
    fn crossings_of_u4_find_the_critical_point() {
        // A magnetisation-like m = ±A(x, L) + noise with A = 1/(1 + e^{−(x − 0.5)L}): the
        // distribution of m is the same for every L at x_c = 0.5, so raw U₄ curves cross there.
        let mut samples = Vec::new();
        let mut rng = stats::rng(9, 1);
        for l in [8.0f64, 16.0, 32.0] {
            for i in 0..11 {
                let x = 0.4 + 0.02 * i as f64;
                let a = 1.0 / (1.0 + (-(x - 0.5) * l).exp());
                for _ in 0..400 {
                    let sign = if rng.gen::<bool>() { 1.0 } else { -1.0 };
                    samples.push((l, x, sign * a + 0.1 * stats::standard_normal(&mut rng)));
                }
            }
        }
        let pts = statistics(&samples, Centering::Raw, 100, 0);
        assert_eq!(pts.len(), 33);
        let c = crossings(&pts, &BinderOptions { bootstrap: 50, ..Default::default() }).unwrap();
        let xc = c.binder.x_c.expect("a crossing");
        assert!((xc - 0.5).abs() < 0.03, "x_c = {xc}: {}", c.binder.message);
        assert!(c.spread.is_some());
        assert_eq!(statistics(&samples, Centering::Raw, 100, 0)[5].u4, pts[5].u4, "seeded");
    }
}
