//! Finite-size-scaling data collapse: fit x_c, ν and ζ in
//!
//! A_L(x) = L^{ζ/ν} F(L^{1/ν} (x − x_c)),
//!
//! (pyfssa's convention, Sorge 2015: scaled X = L^{1/ν}(x − x_c), Y = L^{−ζ/ν} A, so an order
//! parameter with A ~ L^{−β/ν} has ζ = −β, a susceptibility ζ = γ, a Binder cumulant or a
//! spanning probability ζ = 0) by minimising the Houdayer–Hartmann quality S
//! ([`super::quality`]).
//!
//! * **Optimiser**: multi-start Nelder–Mead — the user's guess plus `starts − 1` seeded random
//!   starts around it (x_c within ±25% of the x range, ν within a factor 2, ζ within ±0.5·max(1,|ζ₀|)).
//!   Every start runs a coarse search (60 evaluations per parameter); the two best are polished
//!   to full tolerance and the better wins. Above 4 000 points the search runs on a thinned
//!   copy (every k-th point of each curve), and the optimum is refined coarse to fine: on a
//!   copy of ≤ 25 000 points, then on all points, with the simplex steps shrinking by 0.3
//!   per level (10⁵ points: 1.8–4 s → ~0.5 s, docs/physics.md). `starts_converged` counts the starts whose coarse
//!   search ended within 5% of the final S.
//! * **Errors, two ways**:
//!   - *curvature* (pyfssa): covariance 2·S_min·H⁻¹ with H the Hessian of S at the minimum,
//!     i.e. the region where S rises by S_min (≈ 1 for a good collapse) — see
//!     [`crate::optimize::curvature`];
//!   - *bootstrap*: `bootstrap` replicates y* = y + dy·N(0, 1) (parametric, each point
//!     independently; without dy the noise level is √S_min in units of y), each refitted from
//!     the best point; one sigma = half the 15.9–84.1% percentile range.
//!
//!   On large data (above 4 000 points) each refit is the same coarse-to-fine refinement as
//!   the fit (≤ 25 000 points, then all), so the bootstrap costs ~80 evaluations per
//!   parameter and replicate instead of up to 600.
//!
//!   Each bootstrap refit starts from the best point displaced by half a curvature error
//!   (seeded): S is rough on the scale of the neighbour switches, and refits started exactly
//!   at the optimum stay in its local basin and underestimate the spread (measured: RMS
//!   z-score 1.55 → 1.01 on synthetic data).
//!
//!   The reported `*_err` is the bootstrap error when available, else the curvature error
//!   ([`crate::stats::combine_errors`]); both are in `errors`. Measured on synthetic draws the
//!   bootstrap covers the truth at the nominal rate while pyfssa's curvature rule is several
//!   times too wide (docs/physics.md). Errors are never NaN or negative: a missing estimate
//!   is `null` in `errors` and ignored.
//! * **Corrections to scaling** (optional, ω fixed by the user, default ω = 1):
//!   [`Corrections::Amplitude`]: A_L(x) = L^{ζ/ν} (1 + a L^{−ω}) F(…), fitting a;
//!   [`Corrections::Shift`]: x_c(L) = x_c + b L^{−1/ν−ω} inside the scaling variable, fitting b.
//! * **Window**: `x_window` counts only points whose *scaled* X lies inside it (pyfssa's
//!   `x_bounds`).

use super::quality::{quality_views, CurveView, Quality, ScaledCurve};
use crate::data::CollapseData;
use crate::error::{PhysicsError, Result};
use crate::optimize::curvature::{curvature_errors, CurvatureMethod};
use crate::optimize::nelder_mead::{minimize, Minimum, NelderMeadOptions};
use crate::stats;
use rand::Rng;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// Corrections to scaling (Wegner 1972), one extra fitted amplitude with a fixed exponent ω.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Corrections {
    /// Pure scaling, no correction.
    #[default]
    None,
    /// A_L(x) = L^{ζ/ν} (1 + a L^{−ω}) F(L^{1/ν}(x − x_c)); fits `a`.
    Amplitude {
        /// Correction exponent ω (> 0).
        omega: f64,
    },
    /// A_L(x) = L^{ζ/ν} F(L^{1/ν}(x − x_c − b L^{−1/ν−ω})); fits `b` (a size-dependent
    /// pseudo-critical point).
    Shift {
        /// Correction exponent ω (> 0).
        omega: f64,
    },
    /// Both at once with one exponent ω: A_L(x) = L^{ζ/ν} (1 + a L^{−ω})
    /// F(L^{1/ν}(x − x_c − b L^{−1/ν−ω})); fits `a` and `b`.
    Both {
        /// Correction exponent ω (> 0).
        omega: f64,
    },
}

impl Corrections {
    /// Number of fitted correction amplitudes (0, 1 or 2).
    pub fn n_amplitudes(self) -> usize {
        match self {
            Corrections::None => 0,
            Corrections::Amplitude { .. } | Corrections::Shift { .. } => 1,
            Corrections::Both { .. } => 2,
        }
    }
    /// The correction exponent ω, `None` for pure scaling.
    pub fn omega(self) -> Option<f64> {
        match self {
            Corrections::None => None,
            Corrections::Amplitude { omega } | Corrections::Shift { omega } | Corrections::Both { omega } => {
                Some(omega)
            }
        }
    }
    /// Short name: `none`, `amplitude`, `shift`, `both`.
    pub fn name(self) -> &'static str {
        match self {
            Corrections::None => "none",
            Corrections::Amplitude { .. } => "amplitude",
            Corrections::Shift { .. } => "shift",
            Corrections::Both { .. } => "both",
        }
    }
}

/// Options of [`fit`]. All fields have defaults (`CollapseOptions::default()`); from JSON or
/// TOML unknown keys are rejected.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CollapseOptions {
    /// Guess for x_c; default: the middle of the x range common to all sizes.
    pub x_c_guess: Option<f64>,
    /// Guess for ν (> 0); default 1.
    pub nu_guess: f64,
    /// Guess for ζ; default 0.
    pub zeta_guess: f64,
    /// Fix ζ to this value instead of fitting it (e.g. 0 for a Binder cumulant or a spanning
    /// probability); default: fitted.
    pub fix_zeta: Option<f64>,
    /// Drop the `k` smallest sizes before fitting; default 0.
    pub drop_smallest: usize,
    /// Number of Nelder–Mead starts (the guess plus random ones); default 12.
    pub starts: usize,
    /// Bootstrap replicates for the errors (0 = curvature errors only); default 100.
    pub bootstrap: usize,
    /// Seed of all random draws (starts and bootstrap); default 0.
    pub seed: u64,
    /// Corrections to scaling; default none.
    pub corrections: Corrections,
    /// Count only points with scaled X in `[lo, hi]`; default: all points.
    pub x_window: Option<(f64, f64)>,
}

impl Default for CollapseOptions {
    fn default() -> Self {
        Self {
            x_c_guess: None,
            nu_guess: 1.0,
            zeta_guess: 0.0,
            fix_zeta: None,
            drop_smallest: 0,
            starts: 12,
            bootstrap: 100,
            seed: 0,
            corrections: Corrections::None,
            x_window: None,
        }
    }
}

/// Bootstrap and curvature errors of one parameter (`null` when that method gave none).
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
pub struct ErrorParts {
    /// One sigma from the bootstrap spread.
    pub bootstrap: Option<f64>,
    /// One sigma from the curvature of S (pyfssa convention).
    pub curvature: Option<f64>,
}

/// Both error estimates of every fitted parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollapseErrors {
    /// Errors of x_c.
    pub x_c: ErrorParts,
    /// Errors of ν.
    pub nu: ErrorParts,
    /// Errors of ζ (both `null` when ζ was fixed).
    pub zeta: ErrorParts,
    /// Errors of the correction amplitude, when fitted.
    pub correction: Option<ErrorParts>,
    /// Errors of the shift amplitude b of `both` corrections.
    #[serde(default)]
    pub correction_shift: Option<ErrorParts>,
    /// How the curvature errors were obtained.
    pub curvature_method: CurvatureMethod,
}

/// The fitted correction-to-scaling term.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CorrectionFit {
    /// Which correction.
    pub corrections: Corrections,
    /// Fitted amplitude (a for `amplitude` and `both`, b for `shift`).
    pub amplitude: f64,
    /// Its error (bootstrap, else curvature).
    pub amplitude_err: f64,
    /// The shift amplitude b of `both` (`null` otherwise).
    pub shift: Option<f64>,
    /// Its error.
    pub shift_err: Option<f64>,
}

/// Result of a data collapse. JSON keys: `x_c, x_c_err, nu, nu_err, zeta, zeta_err, quality,
/// quality_err, …`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollapseResult {
    /// Critical point x_c (units of x).
    pub x_c: f64,
    /// One-sigma error of x_c.
    pub x_c_err: f64,
    /// Correlation-length exponent ν.
    pub nu: f64,
    /// One-sigma error of ν.
    pub nu_err: f64,
    /// Amplitude exponent ζ (pyfssa convention: A ~ L^{ζ/ν}).
    pub zeta: f64,
    /// One-sigma error of ζ (0 when fixed).
    pub zeta_err: f64,
    /// Whether ζ was fixed by the user.
    pub zeta_fixed: bool,
    /// Collapse quality S at the minimum (≈ 1 is good; see [`super::quality`]).
    pub quality: f64,
    /// Bootstrap spread of S (0 without bootstrap).
    pub quality_err: f64,
    /// Correction-to-scaling fit, if requested.
    pub correction: Option<CorrectionFit>,
    /// Points in the fit (after dropping sizes).
    pub n_points: usize,
    /// Points that had neighbours in other sizes at the minimum (entered S).
    pub n_points_used: usize,
    /// Sizes used, ascending.
    pub sizes: Vec<f64>,
    /// Nelder–Mead starts made.
    pub starts: usize,
    /// Starts whose coarse search ended within 5% of the best S.
    pub starts_converged: usize,
    /// Bootstrap replicates that gave a finite fit.
    pub bootstrap_samples: usize,
    /// Whether dy were given (without them S is in units of y² and errors are rescaled).
    pub has_dy: bool,
    /// Both error estimates per parameter.
    pub errors: CollapseErrors,
    /// Method in words.
    pub method: String,
    /// Warnings a reader should see (poor quality, x_c at the edge of the data, ...).
    pub notes: Vec<String>,
    /// The bootstrap replicates: (replicate index, parameters in layout order, S, points
    /// used), for the selection-aware errors of [`super::corrections`]; not serialised.
    #[serde(skip)]
    pub(crate) replicates: Vec<(usize, Vec<f64>, f64, usize)>,
}

impl CorrectionFit {
    /// The kind and the (a, b) amplitudes as the scaling uses them.
    fn amps(&self) -> (Corrections, (f64, f64)) {
        let ab = match self.corrections {
            Corrections::None => (0.0, 0.0),
            Corrections::Amplitude { .. } => (self.amplitude, 0.0),
            Corrections::Shift { .. } => (0.0, self.amplitude),
            Corrections::Both { .. } => (self.amplitude, self.shift.unwrap_or(0.0)),
        };
        (self.corrections, ab)
    }
}

impl CollapseResult {
    /// x_c as an [`crate::Estimate`].
    pub fn x_c_estimate(&self) -> crate::Estimate {
        crate::Estimate::new(self.x_c, self.x_c_err)
    }
    /// ν as an [`crate::Estimate`].
    pub fn nu_estimate(&self) -> crate::Estimate {
        crate::Estimate::new(self.nu, self.nu_err)
    }
    /// ζ as an [`crate::Estimate`].
    pub fn zeta_estimate(&self) -> crate::Estimate {
        crate::Estimate::new(self.zeta, self.zeta_err)
    }
}

/// The parameter vector layout: [x_c, ν, (ζ if free), (correction amplitude if any)].
#[derive(Debug, Clone, Copy)]
struct Layout {
    fixed_zeta: Option<f64>,
    corrections: Corrections,
}

impl Layout {
    fn n(&self) -> usize {
        2 + usize::from(self.fixed_zeta.is_none()) + self.corrections.n_amplitudes()
    }
    fn zeta(&self, p: &[f64]) -> f64 {
        self.fixed_zeta.unwrap_or_else(|| p[2])
    }
    /// Index of the first correction amplitude.
    fn first_amp(&self) -> usize {
        2 + usize::from(self.fixed_zeta.is_none())
    }
    fn amplitude(&self, p: &[f64]) -> Option<f64> {
        (self.corrections != Corrections::None).then(|| p[self.first_amp()])
    }
    /// The (a, b) pair the scaling uses: amplitude and shift amplitude.
    fn amps(&self, p: &[f64]) -> (f64, f64) {
        let i = self.first_amp();
        match self.corrections {
            Corrections::None => (0.0, 0.0),
            Corrections::Amplitude { .. } => (p[i], 0.0),
            Corrections::Shift { .. } => (0.0, p[i]),
            Corrections::Both { .. } => (p[i], p[i + 1]),
        }
    }
}

/// The scaling of each curve for parameters `(x_c, ν, ζ)` and an optional correction, as
/// (s_x, x₀, s_y) with X = s_x (x − x₀), Y = s_y y; `None` if the parameters are outside their
/// domain (ν ≤ 0, non-positive amplitude factor).
fn scalings(
    data: &CollapseData,
    x_c: f64,
    nu: f64,
    zeta: f64,
    corr: Corrections,
    amps: (f64, f64),
) -> Option<Vec<(f64, f64, f64)>> {
    if !(nu > 1e-3) || !x_c.is_finite() || !zeta.is_finite() {
        return None;
    }
    data.curves
        .iter()
        .map(|c| {
            let l = c.size;
            let sx = l.powf(1.0 / nu);
            let mut sy = l.powf(-zeta / nu);
            let mut xc = x_c;
            if let Some(omega) = corr.omega() {
                let (a, b) = amps;
                let f = 1.0 + a * l.powf(-omega);
                if !(f > 1e-6) {
                    return None;
                }
                sy /= f;
                xc += b * l.powf(-1.0 / nu - omega);
            }
            (sx.is_finite() && sy.is_finite() && sy > 0.0 && sx > 0.0 && xc.is_finite()).then_some((sx, xc, sy))
        })
        .collect()
}

/// Scaled copies of the curves (for plots and scaling-function fits).
fn scale(
    data: &CollapseData,
    x_c: f64,
    nu: f64,
    zeta: f64,
    corr: Corrections,
    amps: (f64, f64),
) -> Option<Vec<ScaledCurve>> {
    let sc = scalings(data, x_c, nu, zeta, corr, amps)?;
    Some(
        data.curves
            .iter()
            .zip(sc)
            .map(|(c, (sx, xc, sy))| ScaledCurve {
                x: c.x.iter().map(|x| sx * (x - xc)).collect(),
                y: c.y.iter().map(|y| sy * y).collect(),
                dy: c.dy.iter().map(|d| sy * d).collect(),
            })
            .collect(),
    )
}

/// Fewest points that must enter S for a parameter set to count: `max(6, 3k, ⌈N/5⌉)` for k
/// fitted parameters and N points; below it S = +∞. Without this floor the optimiser can
/// shrink the overlap of the sizes (or the points inside `x_window`) to a handful and make S
/// arbitrarily small.
fn min_points_used(k: usize, n_points: usize) -> usize {
    (3 * k).max(6).max(n_points.div_ceil(5))
}

/// Thinning ladder for large data: the multi-start search runs on a copy thinned to at most
/// the first size, the optimum is refined on the next and finally on all points.
const THIN_LADDER: [usize; 2] = [4_000, 25_000];

/// Factor by which the simplex steps shrink from one level of the ladder to the next.
const REFINE_STEP: f64 = 0.3;

/// Evaluations per parameter for the refinement on an intermediate level and on all points.
/// On 10⁵ points S is rough at the scale of single neighbour switches (S jumps by ~10⁻³
/// between points 10⁻⁴ apart), so longer refinements move the parameters by < 10⁻⁴ while
/// costing a full evaluation each (measured: 20 vs 40 evaluations per parameter on all
/// points agree to 2·10⁻⁵ in x_c, ν, ζ).
const REFINE_EVALS: usize = 60;
const REFINE_EVALS_ALL: usize = 20;

/// Every k-th point of each curve so that at most `target` points remain; `None` when the data
/// are small enough already.
pub(crate) fn thinned(data: &CollapseData, target: usize) -> Option<CollapseData> {
    let n = data.n_points();
    if n <= target {
        return None;
    }
    let k = n.div_ceil(target);
    let pick = |v: &Vec<f64>| v.iter().step_by(k).copied().collect::<Vec<f64>>();
    Some(CollapseData {
        curves: data
            .curves
            .iter()
            .map(|c| crate::data::SizeCurve { size: c.size, x: pick(&c.x), y: pick(&c.y), dy: pick(&c.dy) })
            .collect(),
        has_dy: data.has_dy,
        labels: data.labels.clone(),
    })
}

/// Data with the weights 1/dy² precomputed.
#[derive(Clone)]
struct Prepared {
    curves: CollapseData,
    weights: Vec<Vec<f64>>,
}

impl Prepared {
    fn new(data: &CollapseData) -> Self {
        Self {
            weights: data.curves.iter().map(|c| c.dy.iter().map(|d| 1.0 / (d * d)).collect()).collect(),
            curves: data.clone(),
        }
    }

    /// The curves under the per-size scalings `(sx, x0, sy)` of [`scalings`].
    fn views(&self, sc: Vec<(f64, f64, f64)>) -> Vec<CurveView<'_>> {
        self.curves
            .curves
            .iter()
            .zip(sc)
            .zip(&self.weights)
            .map(|((c, (sx, x0, sy)), w)| CurveView { x: &c.x, y: &c.y, dy: &c.dy, w, sx, x0, sy })
            .collect()
    }
}

fn objective(prep: &Prepared, layout: Layout, window: Option<(f64, f64)>, p: &[f64]) -> Quality {
    let data = &prep.curves;
    match scalings(data, p[0], p[1], layout.zeta(p), layout.corrections, layout.amps(p)) {
        Some(sc) => {
            let views = prep.views(sc);
            let q = quality_views(&views, window);
            if q.n_used < min_points_used(layout.n(), data.n_points()) {
                Quality { s: f64::INFINITY, n_used: q.n_used }
            } else {
                q
            }
        }
        None => Quality { s: f64::INFINITY, n_used: 0 },
    }
}

/// Refine a minimum on successively finer `levels` (the last holds all points), starting with
/// simplex `steps` and shrinking them by [`REFINE_STEP`] per level, with the bounded budgets
/// [`REFINE_EVALS`] and [`REFINE_EVALS_ALL`].
fn refine(
    levels: &[&Prepared],
    layout: Layout,
    window: Option<(f64, f64)>,
    mut best: Minimum,
    mut steps: Vec<f64>,
) -> Minimum {
    let n = steps.len();
    for (i, level) in levels.iter().enumerate() {
        let g = |p: &[f64]| objective(level, layout, window, p).s;
        let budget = if i + 1 == levels.len() { REFINE_EVALS_ALL } else { REFINE_EVALS };
        best = minimize(
            g,
            &best.x,
            &steps,
            NelderMeadOptions { max_evals: budget * n, f_tol: 1e-8, x_tol: 1e-3, restarts: 1 },
        );
        steps.iter_mut().for_each(|s| *s *= REFINE_STEP);
    }
    best
}

/// The quality S of the collapse at given parameters, without fitting (to compare a
/// hypothesis, e.g. exact exponents, with the fitted minimum).
pub fn quality_at(data: &CollapseData, x_c: f64, nu: f64, zeta: f64, x_window: Option<(f64, f64)>) -> Quality {
    let layout = Layout { fixed_zeta: Some(zeta), corrections: Corrections::None };
    objective(&Prepared::new(data), layout, x_window, &[x_c, nu])
}

/// The data scaled with the fitted parameters, one curve per size (for plots and for fitting
/// the scaling function F): x → L^{1/ν}(x − x_c), y → L^{−ζ/ν} y, dy likewise.
pub fn scaled_curves(data: &CollapseData, result: &CollapseResult) -> Vec<crate::data::SizeCurve> {
    let data = restrict(data, &result.sizes);
    let (corr, amps) = result.correction.as_ref().map_or((Corrections::None, (0.0, 0.0)), CorrectionFit::amps);
    let scaled = scale(&data, result.x_c, result.nu, result.zeta, corr, amps).unwrap_or_default();
    data.curves
        .iter()
        .zip(scaled)
        .map(|(c, s)| crate::data::SizeCurve { size: c.size, x: s.x, y: s.y, dy: s.dy })
        .collect()
}

/// How well the curve of size `held` (which need not have been in the fit) collapses onto the
/// curves of the other sizes of `data` under the parameters of `result` (its correction
/// included): the held-out part of S, i.e. the mean normalised squared residual of its points
/// against the master curve built from the other sizes ([`super::quality::curve_quality`]).
/// `None` when the size is absent or no point of it overlaps the others.
pub fn held_out_quality(
    data: &CollapseData,
    result: &CollapseResult,
    held: f64,
    x_window: Option<(f64, f64)>,
) -> Option<Quality> {
    let i = data.curves.iter().position(|c| c.size == held)?;
    let (corr, amps) = result.correction.as_ref().map_or((Corrections::None, (0.0, 0.0)), CorrectionFit::amps);
    let sc = scalings(data, result.x_c, result.nu, result.zeta, corr, amps)?;
    let prep = Prepared::new(data);
    let views = prep.views(sc);
    let q = super::quality::curve_quality(&views, i, x_window);
    q.s.is_finite().then_some(q)
}

fn restrict(data: &CollapseData, sizes: &[f64]) -> CollapseData {
    CollapseData {
        curves: data.curves.iter().filter(|c| sizes.contains(&c.size)).cloned().collect(),
        has_dy: data.has_dy,
        labels: data.labels.clone(),
    }
}

fn validate(opts: &CollapseOptions) -> Result<()> {
    let bad = |option, reason: &str| Err(PhysicsError::InvalidOption { option, reason: reason.to_string() });
    if !(opts.nu_guess > 0.0 && opts.nu_guess.is_finite()) {
        return bad("nu_guess", "must be a positive number");
    }
    if !opts.zeta_guess.is_finite()
        || opts.x_c_guess.is_some_and(|v| !v.is_finite())
        || opts.fix_zeta.is_some_and(|v| !v.is_finite())
    {
        return bad("guesses", "must be finite numbers");
    }
    if opts.starts == 0 {
        return bad("starts", "must be at least 1");
    }
    match opts.corrections {
        Corrections::Amplitude { omega } | Corrections::Shift { omega } | Corrections::Both { omega }
            if !(omega > 0.0 && omega.is_finite()) =>
        {
            return bad("corrections.omega", "must be a positive number");
        }
        _ => {}
    }
    if let Some((lo, hi)) = opts.x_window {
        if !(lo < hi) {
            return bad("x_window", "needs lo < hi");
        }
    }
    Ok(())
}

/// Fit x_c, ν, ζ by data collapse. Errors: too few sizes (< 2 after `drop_smallest`), fewer
/// than 3 points per size, invalid options. A collapse that is poor is *not* an error: it is
/// reported with its quality S and a note.
pub fn fit(data: &CollapseData, opts: &CollapseOptions) -> Result<CollapseResult> {
    fit_with(data, opts, &Control::default())
}

/// Internal knobs of [`fit`] used by the model selection ([`super::corrections`]): a warm
/// start for the correction amplitudes and whether to skip the curvature errors (screening
/// fits only need S).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Control {
    /// Starting values of the correction amplitudes in parameter order (a, b).
    pub amp_guess: [f64; 2],
    /// Skip the curvature errors (the bootstrap then starts with the default steps).
    pub skip_curvature: bool,
}

/// [`fit`] with internal knobs.
pub(crate) fn fit_with(data: &CollapseData, opts: &CollapseOptions, ctl: &Control) -> Result<CollapseResult> {
    validate(opts)?;
    let data = data.drop_smallest(opts.drop_smallest);
    data.require("data collapse", 2, 3)?;
    let layout = Layout { fixed_zeta: opts.fix_zeta, corrections: opts.corrections };
    let n = layout.n();
    if data.n_points() <= n + 1 {
        return Err(PhysicsError::TooFewPoints {
            analysis: "data collapse",
            needed: n + 2,
            found: data.n_points(),
            context: String::new(),
        });
    }
    let (x_min, x_max) = data
        .curves
        .iter()
        .flat_map(|c| c.x.iter())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &x| (a.min(x), b.max(x)));
    let range = if x_max > x_min { x_max - x_min } else { 1.0 };
    let common_lo = data.curves.iter().map(|c| c.x[0]).fold(f64::NEG_INFINITY, f64::max);
    let common_hi = data.curves.iter().map(|c| *c.x.last().unwrap()).fold(f64::INFINITY, f64::min);
    let x_c0 = opts.x_c_guess.unwrap_or(if common_lo < common_hi {
        0.5 * (common_lo + common_hi)
    } else {
        0.5 * (x_min + x_max)
    });

    let mut p0 = vec![x_c0, opts.nu_guess];
    let mut steps = vec![0.05 * range, 0.2 * opts.nu_guess];
    if opts.fix_zeta.is_none() {
        p0.push(opts.zeta_guess);
        steps.push(0.2 * opts.zeta_guess.abs().max(0.5));
    }
    for k in 0..opts.corrections.n_amplitudes() {
        p0.push(ctl.amp_guess[k]);
        steps.push(0.2);
    }
    let prep = Prepared::new(&data);
    let f = |p: &[f64]| objective(&prep, layout, opts.x_window, p).s;

    // 1. multi-start Nelder–Mead
    let starts: Vec<Vec<f64>> = (0..opts.starts)
        .map(|k| {
            if k == 0 {
                return p0.clone();
            }
            let mut r = stats::rng(opts.seed, 1_000_000 + k as u64);
            let mut p = p0.clone();
            p[0] = (x_c0 + r.gen_range(-0.25..0.25) * range).clamp(x_min, x_max);
            p[1] = opts.nu_guess * r.gen_range(-std::f64::consts::LN_2..std::f64::consts::LN_2).exp();
            if opts.fix_zeta.is_none() {
                p[2] = opts.zeta_guess + r.gen_range(-0.5..0.5) * opts.zeta_guess.abs().max(1.0);
            }
            for v in &mut p[layout.first_amp()..] {
                *v += r.gen_range(-0.5..0.5);
            }
            p
        })
        .collect();
    // coarse search from every start, then polish the two best to full tolerance. On large
    // data this runs on the coarsest level of a thinning ladder (every k-th point of each
    // curve, ≤ THIN_LADDER[0] points), and the best point is refined on each finer level down
    // to all points with shrinking simplex steps (coarse to fine).
    let ladder: Vec<Prepared> =
        THIN_LADDER.iter().filter_map(|&t| thinned(&data, t)).map(|d| Prepared::new(&d)).collect();
    let search = ladder.first().unwrap_or(&prep);
    let fs = |p: &[f64]| objective(search, layout, opts.x_window, p).s;
    let coarse_opts = NelderMeadOptions { max_evals: 60 * n, f_tol: 1e-4, x_tol: 1e-2, restarts: 0 };
    let mut minima: Vec<_> = starts.par_iter().map(|s| minimize(fs, s, &steps, coarse_opts)).collect();
    minima.sort_by(|a, b| a.f.total_cmp(&b.f));
    let polish = NelderMeadOptions { max_evals: 400 * n, ..Default::default() };
    let polished: Vec<_> =
        minima.iter().take(2).collect::<Vec<_>>().par_iter().map(|m| minimize(fs, &m.x, &steps, polish)).collect();
    let mut best = polished.into_iter().min_by(|a, b| a.f.total_cmp(&b.f)).expect("at least one start");
    if !ladder.is_empty() {
        let levels: Vec<&Prepared> = ladder.iter().skip(1).chain([&prep]).collect();
        best = refine(&levels, layout, opts.x_window, best, steps.iter().map(|s| s * REFINE_STEP).collect());
    }
    if !ladder.is_empty() {
        for m in &mut minima {
            m.f = f(&m.x);
        }
    }
    let s_min = best.f;
    let mut notes = Vec::new();
    if !s_min.is_finite() {
        return Err(PhysicsError::Unsuitable {
            analysis: "data collapse",
            reason:
                "no parameters put curves of different sizes over a common scaled range (S infinite from every start)"
                    .into(),
        });
    }
    let starts_converged = minima.iter().filter(|m| m.f <= s_min + 0.05 * s_min.abs() + 1e-12).count();
    let used = objective(&prep, layout, opts.x_window, &best.x).n_used;

    // 2. curvature errors (pyfssa: S rises by S_min); zero S (noiseless data) uses rise 1e-12.
    let curv = if ctl.skip_curvature {
        crate::optimize::curvature::CurvatureErrors { errors: vec![None; n], method: CurvatureMethod::Conditional }
    } else {
        curvature_errors(f, &best.x, s_min, &steps.iter().map(|s| s * 0.1).collect::<Vec<_>>(), s_min.max(1e-12))
    };

    // 3. parametric bootstrap
    let noise_scale = if data.has_dy { 1.0 } else { s_min.sqrt() };
    let boot_steps: Vec<f64> = (0..n)
        .map(|i| curv.errors[i].unwrap_or(steps[i]).max(1e-9 * steps[i].abs()).min(steps[i].abs() * 2.0))
        .collect();
    let replicates: Vec<(usize, Vec<f64>, f64, usize)> = (0..opts.bootstrap)
        .into_par_iter()
        .filter_map(|b| {
            let mut r = stats::rng(opts.seed, b as u64);
            let mut d = prep.clone();
            for c in &mut d.curves.curves {
                for (y, dy) in c.y.iter_mut().zip(&c.dy) {
                    *y += noise_scale * dy * stats::standard_normal(&mut r);
                }
            }
            let start: Vec<f64> =
                (0..n).map(|i| best.x[i] + 0.5 * boot_steps[i] * stats::standard_normal(&mut r)).collect();
            let m = if ladder.is_empty() {
                let g = |p: &[f64]| objective(&d, layout, opts.x_window, p).s;
                minimize(
                    g,
                    &start,
                    &boot_steps,
                    NelderMeadOptions { max_evals: 600 * n, restarts: 2, ..Default::default() },
                )
            } else {
                // large data: the same coarse-to-fine refinement as the fit, on the replicate
                let mid = thinned(&d.curves, THIN_LADDER[1]).map(|t| Prepared::new(&t));
                let levels: Vec<&Prepared> = mid.iter().chain([&d]).collect();
                refine(
                    &levels,
                    layout,
                    opts.x_window,
                    Minimum { x: start, f: f64::INFINITY, evals: 0, converged: false },
                    boot_steps.clone(),
                )
            };
            if !(m.f.is_finite() && m.x.iter().all(|v| v.is_finite())) {
                return None;
            }
            let used = objective(&d, layout, opts.x_window, &m.x).n_used;
            Some((b, m.x, m.f, used))
        })
        .collect();
    let boot_err = |i: usize| stats::bootstrap_spread(&replicates.iter().map(|r| r.1[i]).collect::<Vec<_>>());
    let parts = |i: usize| ErrorParts { bootstrap: boot_err(i), curvature: curv.errors[i] };
    let quality_err = stats::bootstrap_spread(&replicates.iter().map(|r| r.2).collect::<Vec<_>>()).unwrap_or(0.0);

    let x_c_parts = parts(0);
    let nu_parts = parts(1);
    let zeta_parts = if opts.fix_zeta.is_none() { parts(2) } else { ErrorParts { bootstrap: None, curvature: None } };
    let corr_parts = (opts.corrections != Corrections::None).then(|| parts(layout.first_amp()));
    let shift_parts = matches!(opts.corrections, Corrections::Both { .. }).then(|| parts(layout.first_amp() + 1));
    let comb = |e: &ErrorParts| stats::combine_errors(e.bootstrap, e.curvature);
    if x_c_parts.bootstrap.is_none() && x_c_parts.curvature.is_none() {
        let why = if opts.bootstrap == 0 {
            "bootstrap off".to_string()
        } else {
            format!("fewer than two of the {} bootstrap replicates converged", opts.bootstrap)
        };
        notes.push(format!("no error estimate available ({why}, and S flat at the minimum): errors reported as 0"));
    }
    let zeta = layout.zeta(&best.x);
    if data.has_dy && s_min > 3.0 {
        notes.push(format!(
            "poor collapse: S = {s_min:.3} ≫ 1; the scaling form or the sizes may not be in the scaling regime"
        ));
    }
    if best.x[0] <= x_min || best.x[0] >= x_max {
        notes.push("x_c lies at or beyond the edge of the data range: no transition located inside the data".into());
    }
    if starts_converged * 2 < opts.starts {
        notes.push(format!(
            "only {starts_converged} of {} starts reached the best minimum: S may have several minima",
            opts.starts
        ));
    }
    if !data.has_dy {
        notes.push("no dy given: unit weights, S in units of y², errors scaled by √S_min".into());
    }
    Ok(CollapseResult {
        x_c: best.x[0],
        x_c_err: comb(&x_c_parts),
        nu: best.x[1],
        nu_err: comb(&nu_parts),
        zeta,
        zeta_err: comb(&zeta_parts),
        zeta_fixed: opts.fix_zeta.is_some(),
        quality: s_min,
        quality_err,
        correction: layout.amplitude(&best.x).map(|a| CorrectionFit {
            corrections: opts.corrections,
            amplitude: a,
            amplitude_err: corr_parts.as_ref().map_or(0.0, comb),
            shift: shift_parts.map(|_| best.x[layout.first_amp() + 1]),
            shift_err: shift_parts.as_ref().map(comb),
        }),
        n_points: data.n_points(),
        n_points_used: used,
        sizes: data.sizes(),
        starts: opts.starts,
        starts_converged,
        bootstrap_samples: replicates.len(),
        has_dy: data.has_dy,
        errors: CollapseErrors {
            x_c: x_c_parts,
            nu: nu_parts,
            zeta: zeta_parts,
            correction: corr_parts,
            correction_shift: shift_parts,
            curvature_method: curv.method,
        },
        method: "Houdayer-Hartmann quality S minimised by multi-start Nelder-Mead; errors: parametric bootstrap (curvature 2 S_min H^-1 reported alongside)".into(),
        notes,
        replicates,
    })
}
