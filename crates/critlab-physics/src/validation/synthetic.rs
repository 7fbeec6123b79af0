//! Synthetic data with known answers: finite-size scaling curves, power-law divergences and
//! smooth (non-divergent) series, with Gaussian noise of known size.

use crate::data::{CollapseData, SizeCurve, XyData};
use crate::stats::{rng, standard_normal};

/// The master curve used by the synthetic collapses: a smooth sigmoid with curvature on both
/// sides, F(X) = 1 / (1 + e^{−X}) + 0.2 e^{−X²/2}.
pub fn master_curve(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp()) + 0.2 * (-0.5 * x * x).exp()
}

/// Finite-size data A_L(x) = L^{ζ/ν} [F(L^{1/ν}(x − x_c)) + σ ε] with ε ~ N(0, 1) and
/// dy = σ L^{ζ/ν}, on `points` equally spaced x in `[x_lo, x_hi]` for every size.
#[allow(clippy::too_many_arguments)]
pub fn collapse_data(
    sizes: &[f64],
    x_lo: f64,
    x_hi: f64,
    points: usize,
    x_c: f64,
    nu: f64,
    zeta: f64,
    sigma: f64,
    seed: u64,
) -> CollapseData {
    let mut r = rng(seed, 7);
    let curves = sizes
        .iter()
        .map(|&l| {
            let amp = l.powf(zeta / nu);
            let x: Vec<f64> =
                (0..points).map(|i| x_lo + (x_hi - x_lo) * i as f64 / (points - 1).max(1) as f64).collect();
            let y = x
                .iter()
                .map(|&v| amp * (master_curve(l.powf(1.0 / nu) * (v - x_c)) + sigma * standard_normal(&mut r)))
                .collect();
            SizeCurve { size: l, x, y, dy: vec![sigma * amp; points] }
        })
        .collect();
    CollapseData { curves, has_dy: true, labels: ("L".into(), "x".into(), "A".into()) }
}

/// A synthetic finite-size data set with known answers and corrections to scaling.
#[derive(Debug, Clone)]
pub struct FssTruth {
    /// Sizes.
    pub sizes: Vec<f64>,
    /// x range and points per size.
    pub x_lo: f64,
    /// Upper end of the x range.
    pub x_hi: f64,
    /// Points per size.
    pub points: usize,
    /// True x_c.
    pub x_c: f64,
    /// True ν.
    pub nu: f64,
    /// True ζ.
    pub zeta: f64,
    /// Relative noise σ (dy = σ · L^{ζ/ν} (1 + a L^{−ω})).
    pub sigma: f64,
    /// Amplitude correction a (0: none).
    pub a: f64,
    /// Shift correction b (0: none).
    pub b: f64,
    /// Correction exponent ω.
    pub omega: f64,
}

/// Data A_L(x) = L^{ζ/ν} (1 + a L^{−ω}) [F(L^{1/ν}(x − x_c − b L^{−1/ν−ω})) + σ ε] with the
/// master curve [`master_curve`], on `points` equally spaced x per size.
pub fn corrected_collapse_data(t: &FssTruth, seed: u64) -> CollapseData {
    let mut r = rng(seed, 17);
    let curves = t
        .sizes
        .iter()
        .map(|&l| {
            let amp = l.powf(t.zeta / t.nu) * (1.0 + t.a * l.powf(-t.omega));
            let xc = t.x_c + t.b * l.powf(-1.0 / t.nu - t.omega);
            let x: Vec<f64> =
                (0..t.points).map(|i| t.x_lo + (t.x_hi - t.x_lo) * i as f64 / (t.points - 1).max(1) as f64).collect();
            let y = x
                .iter()
                .map(|&v| amp * (master_curve(l.powf(1.0 / t.nu) * (v - xc)) + t.sigma * standard_normal(&mut r)))
                .collect();
            SizeCurve { size: l, x, y, dy: vec![t.sigma * amp; t.points] }
        })
        .collect();
    CollapseData { curves, has_dy: true, labels: ("L".into(), "x".into(), "A".into()) }
}

/// y = A |x − x_c|^{−κ} (1 + σ_rel ε) on `points` values of x on one side of x_c, spaced
/// geometrically in |x − x_c| from `d_min` to `d_max`; dy = σ_rel · y.
#[allow(clippy::too_many_arguments)]
pub fn divergence_data(
    amplitude: f64,
    x_c: f64,
    kappa: f64,
    above: bool,
    d_min: f64,
    d_max: f64,
    points: usize,
    sigma_rel: f64,
    seed: u64,
) -> XyData {
    let mut r = rng(seed, 11);
    let mut x = Vec::new();
    let mut y = Vec::new();
    let mut dy = Vec::new();
    for i in 0..points {
        let d = d_min * (d_max / d_min).powf(i as f64 / (points - 1) as f64);
        let truth = amplitude * d.powf(-kappa);
        x.push(if above { x_c + d } else { x_c - d });
        y.push(truth * (1.0 + sigma_rel * standard_normal(&mut r)));
        dy.push(sigma_rel * truth);
    }
    XyData::from_points(&x, &y, Some(&dy)).expect("synthetic divergence data are valid")
}

/// Smooth data with no divergence: y = 1 + 0.5 x + 0.3 x² (x in `[0, 2]`), noise σ.
pub fn smooth_data(points: usize, sigma: f64, seed: u64) -> XyData {
    let mut r = rng(seed, 13);
    let x: Vec<f64> = (0..points).map(|i| 2.0 * i as f64 / (points - 1) as f64).collect();
    let y: Vec<f64> = x.iter().map(|v| 1.0 + 0.5 * v + 0.3 * v * v + sigma * standard_normal(&mut r)).collect();
    XyData::from_points(&x, &y, Some(&vec![sigma; points])).expect("synthetic smooth data are valid")
}
