//! Critical exponents from a sweep of training runs (docs/theory.md §5), as pure functions over one
//! [`RunSummary`] per run. Every exponent is an [`Outcome`]: an estimate with its one-sigma
//! error and 95% interval, or "not determinable from this data" with the reason.
//!
//! The *main family* is the runs at the largest size, at the most common value of the field h
//! and of the crossover control; x is the control parameter, δx = x − x_c. Per distinct x the
//! seeds are averaged. Then:
//!
//! | exponent | estimate (main family unless said) |
//! |---|---|
//! | x_c | user-given, else the collapse over sizes, else the divergence of t_grok, else the peak of χ |
//! | ν, ζ | data collapse of the seed-mean order parameter over sizes ([`super::collapse`]), dy = seed standard error |
//! | β | slope of ln V vs ln \|δx\| on the ordered side (the side with the larger mean V) |
//! | γ | −slope of ln χ, χ = N_seeds · Var_seeds(V) (needs ≥ 2 seeds per x) |
//! | α | −slope of ln C, C = seed mean of Var_t(ΔL) (variance of the per-eval loss improvement) |
//! | z·ν, z | −slope of ln t_grok; z = (z·ν)/ν when ν is known |
//! | ν_M, μ | −slopes of ln Dim(M) (representation effective rank) and ln Complexity(M) (weight effective rank) vs \|δx\| (the seed's rank laws, measured along the chosen control) |
//! | δ | at the x nearest x_c, over the field h: 1/δ = slope of ln V vs ln h |
//! | φ | over the crossover control b: the boundary x_c(b) (half-height crossing of V) shifts as \|x_c(b) − x_c\| ~ \|b − b₀\|^{1/φ} (b₀ = the main family's value) |
//!
//! Power laws y = A \|δx\|^p are weighted least-squares lines in log–log (weights from the seed
//! scatter, 1/(σ_y/y)², or unit weights with a single seed); the error is the regression error
//! times max(1, √(χ²/dof)), combined in quadrature with the shift of the slope when x_c moves
//! by ±σ(x_c). Points at x_c (within [`AT_X_C`] relative) are excluded; each law needs [`MIN_POINTS`] distinct x.
//! All fits use the ordered side only, so that amplitudes from the two sides are not mixed.

use crate::error::{PhysicsError, Result};
use crate::exponents::collapse::{self, CollapseOptions};
use crate::optimize::linalg::weighted_least_squares;
use crate::stats;
use crate::CollapseData;
use serde::{Deserialize, Serialize};

/// Fewest distinct control values a power-law fit needs.
pub const MIN_POINTS: usize = 4;

/// Control values within this relative distance of x_c count as "at x_c" and are left out of
/// the power laws.
pub const AT_X_C: f64 = 1e-9;

/// A collapse whose quality S exceeds this is reported as "not determinable" (a good collapse
/// has S ≈ 1; the real sweeps gave S = 2.9 and 3.8 with confident-looking numbers).
pub const POOR_COLLAPSE_S: f64 = 2.0;

/// A fitted x_c within this fraction of the smallest grid spacing of its starting guess has not
/// moved from it, and is reported as such rather than as an estimate.
pub const ON_GUESS: f64 = 1e-3;

/// What one run contributes: its control values and the observables measured at its end.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct RunSummary {
    /// Value of the control parameter x.
    pub x: f64,
    /// System size L (model width or task size), if the sweep varies it.
    pub size: Option<f64>,
    /// Value of the field h (for δ), if the sweep varies it.
    pub field: Option<f64>,
    /// Value of the crossover control b (for φ), if the sweep varies it.
    pub crossover: Option<f64>,
    /// Seed of the run.
    pub seed: u64,
    /// Order parameter at the end of training (explained variance V or test accuracy).
    pub order_parameter: Option<f64>,
    /// First step at which test accuracy reached the threshold; `None` if never.
    pub t_grok: Option<f64>,
    /// Variance over the run of the per-eval loss improvement ΔL_t = L_{t−1} − L_t.
    pub loss_improvement_var: Option<f64>,
    /// Final effective rank of the hidden representation, Dim(M).
    pub repr_rank: Option<f64>,
    /// Final total effective rank of the weights, Complexity(M).
    pub weight_rank: Option<f64>,
}

/// Variance of the loss improvements ΔL_t = L_{t−1} − L_t of a series (steps ascending;
/// non-finite values skipped); `None` with fewer than 3 improvements.
pub fn loss_improvement_variance(loss: &[(i64, f64)]) -> Option<f64> {
    let v: Vec<f64> = loss.iter().map(|p| p.1).filter(|v| v.is_finite()).collect();
    let d: Vec<f64> = v.windows(2).map(|w| w[0] - w[1]).collect();
    (d.len() >= 3).then(|| stats::std_dev(&d).powi(2))
}

/// Mean of the last `k` finite values of a series (the end-of-training value, robust to the
/// last evaluation's noise); `None` when the series has no finite value.
pub fn final_value(series: &[(i64, f64)], k: usize) -> Option<f64> {
    let v: Vec<f64> = series.iter().rev().map(|p| p.1).filter(|v| v.is_finite()).take(k.max(1)).collect();
    (!v.is_empty()).then(|| stats::mean(&v))
}

/// Options of [`fit`].
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepOptions {
    /// The critical point, if known (then it is not fitted); default: fitted.
    pub x_c: Option<f64>,
    /// Seed of the collapse's random starts and bootstrap; default 0.
    pub seed: u64,
    /// Bootstrap refits of the collapse over sizes (ν); 0 means the collapse default, 100.
    pub bootstrap: usize,
}

/// A fitted exponent.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Fitted {
    /// Central value.
    pub value: f64,
    /// One-sigma error (≥ 0).
    pub err: f64,
    /// value ± 1.96 σ.
    pub interval_95: (f64, f64),
    /// Distinct control values (or sizes) that entered the fit.
    pub n_points: usize,
    /// How it was obtained.
    pub method: String,
}

/// An exponent, or why it cannot be determined from the data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome {
    /// Estimated with an error.
    Estimated(Fitted),
    /// Not determinable from this data.
    NotDeterminable {
        /// Why, e.g. "only one size".
        reason: String,
    },
}

impl Outcome {
    fn fitted(value: f64, err: f64, n_points: usize, method: impl Into<String>) -> Self {
        let err = if err.is_finite() { err.abs() } else { f64::MAX };
        Outcome::Estimated(Fitted {
            value,
            err,
            interval_95: (value - 1.96 * err, value + 1.96 * err),
            n_points,
            method: method.into(),
        })
    }
    fn not(reason: impl Into<String>) -> Self {
        Outcome::NotDeterminable { reason: reason.into() }
    }
    /// (value, error) when estimated.
    pub fn parts(&self) -> Option<(f64, f64)> {
        match self {
            Outcome::Estimated(f) => Some((f.value, f.err)),
            Outcome::NotDeterminable { .. } => None,
        }
    }
}

/// Which side of x_c is ordered (larger order parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderedSide {
    /// x > x_c.
    Above,
    /// x < x_c.
    Below,
}

/// The main family: the runs the power laws use, and its grid of control values.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Family {
    /// Its size L (the largest), if sizes vary.
    pub size: Option<f64>,
    /// Its field h (the most common value), if a field is given.
    pub field: Option<f64>,
    /// Its crossover control b (the most common value), if given.
    pub crossover: Option<f64>,
    /// Distinct control values x, ascending.
    pub x: Vec<f64>,
    /// Runs (seeds) at each x.
    pub runs_per_x: Vec<usize>,
}

/// All exponents of one sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SweepExponents {
    /// Critical point of the control.
    pub x_c: Outcome,
    /// The ordered side, when x_c is known and V differs across it.
    pub ordered_side: Option<OrderedSide>,
    /// Order-parameter exponent β.
    pub beta: Outcome,
    /// Susceptibility (seed fluctuation) exponent γ.
    pub gamma: Outcome,
    /// Specific-heat (loss-improvement variance) exponent α.
    pub alpha: Outcome,
    /// Critical-isotherm exponent δ (over the field).
    pub delta: Outcome,
    /// Correlation-length exponent ν (collapse over sizes).
    pub nu: Outcome,
    /// Amplitude exponent ζ of the collapse (ζ = −β for an order parameter).
    pub zeta: Outcome,
    /// Critical slowing down: t_grok ~ |δx|^{−zν}.
    pub z_nu: Outcome,
    /// Dynamic exponent z = (zν)/ν.
    pub z: Outcome,
    /// Rank law Dim(M) ~ |δx|^{−ν_M}.
    pub nu_m: Outcome,
    /// Rank law Complexity(M) ~ |δx|^{−μ}.
    pub mu: Outcome,
    /// Crossover exponent φ.
    pub phi: Outcome,
    /// Runs used (with an order parameter).
    pub n_runs: usize,
    /// Distinct sizes.
    pub sizes: Vec<f64>,
    /// Runs in the main family.
    pub n_main: usize,
    /// The main family and its grid.
    #[serde(default)]
    pub family: Family,
}

impl SweepExponents {
    /// The exponents as a [`crate::ExponentSet`] for the scaling-relations test (the dimension
    /// d is not known here; add it before testing hyperscaling).
    pub fn exponent_set(&self) -> crate::ExponentSet {
        let v = |o: &Outcome| o.parts().map(|(value, err)| crate::ExponentValue::Measured { value, err });
        crate::ExponentSet {
            alpha: v(&self.alpha),
            beta: v(&self.beta),
            gamma: v(&self.gamma),
            delta: v(&self.delta),
            nu: v(&self.nu),
            eta: None,
            d: None,
        }
    }
}

/// Per-x seed statistics of one family of runs.
struct Point {
    x: f64,
    v: Vec<f64>,
    t_grok: Vec<f64>,
    c: Vec<f64>,
    repr: Vec<f64>,
    weight: Vec<f64>,
}

fn group_by<'a>(
    runs: impl Iterator<Item = &'a RunSummary>,
    key: impl Fn(&RunSummary) -> f64,
) -> Vec<(f64, Vec<&'a RunSummary>)> {
    let mut out: Vec<(f64, Vec<&RunSummary>)> = Vec::new();
    for r in runs {
        let k = key(r);
        match out.iter_mut().find(|(x, _)| *x == k) {
            Some((_, v)) => v.push(r),
            None => out.push((k, vec![r])),
        }
    }
    out.sort_by(|a, b| a.0.total_cmp(&b.0));
    out
}

fn points(runs: &[&RunSummary]) -> Vec<Point> {
    group_by(runs.iter().copied(), |r| r.x)
        .into_iter()
        .map(|(x, rs)| {
            let col = |f: fn(&RunSummary) -> Option<f64>| {
                rs.iter().filter_map(|r| f(r)).filter(|v| v.is_finite()).collect::<Vec<f64>>()
            };
            Point {
                x,
                v: col(|r| r.order_parameter),
                t_grok: col(|r| r.t_grok),
                c: col(|r| r.loss_improvement_var),
                repr: col(|r| r.repr_rank),
                weight: col(|r| r.weight_rank),
            }
        })
        .collect()
}

/// The most common value of an optional key (ties: the smallest), `None` if no run has it.
fn mode(runs: &[RunSummary], key: fn(&RunSummary) -> Option<f64>) -> Option<f64> {
    let mut counts: Vec<(f64, usize)> = Vec::new();
    for v in runs.iter().filter_map(key) {
        match counts.iter_mut().find(|c| c.0 == v) {
            Some(c) => c.1 += 1,
            None => counts.push((v, 1)),
        }
    }
    counts.into_iter().max_by(|a, b| a.1.cmp(&b.1).then(b.0.total_cmp(&a.0))).map(|c| c.0)
}

/// Slope of ln y vs ln u with its error: `(slope, err, n)`; points (u, y, σ_y) with u, y > 0.
fn log_slope(pts: &[(f64, f64, Option<f64>)]) -> Option<(f64, f64, usize)> {
    let pts: Vec<_> = pts.iter().filter(|p| p.0 > 0.0 && p.1 > 0.0 && p.0.is_finite() && p.1.is_finite()).collect();
    let n = pts.len();
    if n < MIN_POINTS {
        return None;
    }
    let x: Vec<f64> = pts.iter().flat_map(|p| [1.0, p.0.ln()]).collect();
    let y: Vec<f64> = pts.iter().map(|p| p.1.ln()).collect();
    let weighted = pts.iter().all(|p| p.2.is_some_and(|s| s > 0.0));
    let w: Vec<f64> = pts.iter().map(|p| if weighted { (p.1 / p.2.unwrap()).powi(2) } else { 1.0 }).collect();
    let (b, cov) = weighted_least_squares(&x, &y, &w, 2)?;
    let chi2: f64 = (0..n).map(|i| w[i] * (y[i] - b[0] - b[1] * x[2 * i + 1]).powi(2)).sum();
    let dof = (n - 2) as f64;
    let inflate = if weighted { (chi2 / dof).max(1.0) } else { chi2 / dof };
    Some((b[1], (cov[3].max(0.0) * inflate).sqrt(), n))
}

/// A power law y ~ |δx|^{sign·p} on the ordered side: `p` with its error including the x_c
/// uncertainty. `select` gives (y, σ_y) of a point, or `None` to skip it.
fn power_law(
    pts: &[Point],
    x_c: (f64, f64),
    side: OrderedSide,
    sign: f64,
    select: &dyn Fn(&Point) -> Option<(f64, Option<f64>)>,
    what: &str,
) -> Outcome {
    let at = |xc: f64| {
        let data: Vec<(f64, f64, Option<f64>)> = pts
            .iter()
            .filter(|p| match side {
                OrderedSide::Above => p.x > xc,
                OrderedSide::Below => p.x < xc,
            })
            // a grid value equal to x_c up to rounding would dominate the log-log fit
            .filter(|p| (p.x - xc).abs() > AT_X_C * (1.0 + xc.abs()))
            .filter_map(|p| select(p).map(|(y, s)| ((p.x - xc).abs(), y, s)))
            .collect();
        (log_slope(&data), data.iter().filter(|d| d.0 > 0.0 && d.1 > 0.0).count())
    };
    let (fit, found) = at(x_c.0);
    let Some((slope, err, n)) = fit else {
        return Outcome::not(format!(
            "fewer than {MIN_POINTS} control values with positive {what} on the ordered side of x_c (found {found})"
        ));
    };
    let shift = if x_c.1 > 0.0 {
        let s: Vec<f64> = [x_c.0 - x_c.1, x_c.0 + x_c.1].iter().filter_map(|&xc| at(xc).0.map(|f| f.0)).collect();
        s.iter().map(|v| (v - slope).abs()).fold(0.0, f64::max)
    } else {
        0.0
    };
    Outcome::fitted(
        sign * slope,
        err.hypot(shift),
        n,
        format!("log-log slope of {what} vs |x - x_c| on the ordered side (error includes x_c ± sigma)"),
    )
}

fn mean_err(v: &[f64]) -> Option<(f64, Option<f64>)> {
    (!v.is_empty()).then(|| {
        (stats::mean(v), (v.len() > 1).then(|| stats::std_dev(v) / (v.len() as f64).sqrt()).filter(|s| *s > 0.0))
    })
}

/// The x where the seed-mean order parameter first crosses half of its range (linear
/// interpolation), for the crossover boundary.
fn half_height(pts: &[Point]) -> Option<f64> {
    let m: Vec<(f64, f64)> = pts.iter().filter(|p| !p.v.is_empty()).map(|p| (p.x, stats::mean(&p.v))).collect();
    let (lo, hi) = m.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), p| (a.min(p.1), b.max(p.1)));
    if m.len() < 3 || !(hi > lo) {
        return None;
    }
    let level = 0.5 * (lo + hi);
    m.windows(2)
        .find(|w| (w[0].1 - level) * (w[1].1 - level) <= 0.0 && w[0].1 != w[1].1)
        .map(|w| w[0].0 + (level - w[0].1) * (w[1].0 - w[0].0) / (w[1].1 - w[0].1))
}

/// Estimate every exponent of docs/theory.md §5 from the run summaries of one sweep. Errors only
/// for unusable input (no run with an order parameter, non-finite control values); an
/// exponent the data cannot give is an [`Outcome::NotDeterminable`] with the reason.
pub fn fit(runs: &[RunSummary], opts: &SweepOptions) -> Result<SweepExponents> {
    if let Some(r) = runs.iter().find(|r| !r.x.is_finite() || r.size.is_some_and(|s| !(s > 0.0 && s.is_finite()))) {
        return Err(PhysicsError::InvalidOption {
            option: "runs",
            reason: format!("run with seed {} has a non-finite control value or a non-positive size", r.seed),
        });
    }
    let runs: Vec<RunSummary> =
        runs.iter().filter(|r| r.order_parameter.is_some_and(f64::is_finite)).cloned().collect();
    if runs.is_empty() {
        return Err(PhysicsError::TooFewPoints {
            analysis: "exponents from a sweep",
            needed: 1,
            found: 0,
            context: " with a finite order parameter".into(),
        });
    }
    let mut sizes: Vec<f64> = runs.iter().filter_map(|r| r.size).collect();
    sizes.sort_by(f64::total_cmp);
    sizes.dedup();
    let (field0, cross0, size0) = (mode(&runs, |r| r.field), mode(&runs, |r| r.crossover), sizes.last().copied());
    let main: Vec<&RunSummary> =
        runs.iter().filter(|r| r.size == size0 && r.field == field0 && r.crossover == cross0).collect();
    let pts = points(&main);
    let family = Family {
        size: size0,
        field: field0,
        crossover: cross0,
        x: pts.iter().map(|p| p.x).collect(),
        runs_per_x: group_by(main.iter().copied(), |r| r.x).iter().map(|(_, rs)| rs.len()).collect(),
    };
    if pts.len() < 2 {
        let roles = [("size", size0), ("field", field0), ("crossover", cross0)];
        let at: Vec<String> = roles.iter().filter_map(|(k, v)| v.map(|v| format!("{k} = {v}"))).collect();
        return Err(PhysicsError::Unsuitable {
            analysis: "exponents from a sweep",
            reason: format!(
                "the main family ({}) has {} control value(s) {:?}: the control must vary within it \
                 (a field or crossover key that varies together with the control leaves one x per family)",
                if at.is_empty() { "all runs".to_string() } else { format!("runs at {}", at.join(", ")) },
                pts.len(),
                family.x
            ),
        });
    }

    // ν, ζ (and x_c) from the collapse over sizes of the seed-mean order parameter
    let (nu, zeta, collapse_xc) = collapse_over_sizes(&runs, &sizes, field0, cross0, opts);
    // x_c: given, collapse, divergence of t_grok, peak of χ
    let x_c: Outcome = if let Some(x) = opts.x_c {
        Outcome::fitted(x, 0.0, 0, "given")
    } else if let Some(o) = collapse_xc {
        o
    } else if let Some(o) = x_c_from_t_grok(&pts) {
        o
    } else if let Some(o) = x_c_from_chi_peak(&pts) {
        o
    } else {
        Outcome::not(format!(
            "one size only, and neither t_grok nor seed fluctuations locate a critical point ({} control values)",
            pts.len()
        ))
    };
    let no_xc = |what: &str| Outcome::not(format!("x_c not determinable, so no power law in {what}"));
    let side = x_c.parts().and_then(|(xc, _)| {
        let mean_of = |above: bool| {
            let v: Vec<f64> =
                pts.iter().filter(|p| if above { p.x > xc } else { p.x < xc }).flat_map(|p| p.v.clone()).collect();
            (!v.is_empty()).then(|| stats::mean(&v))
        };
        match (mean_of(true), mean_of(false)) {
            (Some(a), Some(b)) if a != b => Some(if a > b { OrderedSide::Above } else { OrderedSide::Below }),
            (Some(_), None) => Some(OrderedSide::Above),
            (None, Some(_)) => Some(OrderedSide::Below),
            _ => None,
        }
    });
    let law = |sign: f64, select: &dyn Fn(&Point) -> Option<(f64, Option<f64>)>, what: &str| match (x_c.parts(), side) {
        (Some(xc), Some(s)) => power_law(&pts, xc, s, sign, select, what),
        (Some(_), None) => Outcome::not("no control value on the ordered side: V does not differ across x_c"),
        (None, _) => no_xc(what),
    };
    let beta = law(1.0, &|p| mean_err(&p.v), "V");
    let gamma = law(-1.0, &|p| chi(&p.v), "chi = N Var_seeds(V)");
    let alpha = law(-1.0, &|p| mean_err(&p.c), "C = Var(loss improvement)");
    let z_nu = law(-1.0, &|p| (p.t_grok.len() * 2 > p.v.len()).then(|| mean_err(&p.t_grok)).flatten(), "t_grok");
    let nu_m = law(-1.0, &|p| mean_err(&p.repr), "Dim(M)");
    let mu = law(-1.0, &|p| mean_err(&p.weight), "Complexity(M)");
    let z = match (z_nu.parts(), nu.parts()) {
        (Some((a, ea)), Some((b, eb))) if b > 0.0 => {
            Outcome::fitted(a / b, (a / b) * ((ea / a).powi(2) + (eb / b).powi(2)).sqrt(), 0, "z = (z nu) / nu")
        }
        (None, _) => Outcome::not("z nu not determinable"),
        _ => Outcome::not("nu not determinable (needs several sizes)"),
    };
    let delta = delta_over_field(&runs, &x_c, size0, cross0, field0.is_some());
    let phi = phi_over_crossover(&runs, &x_c, size0, field0, cross0);
    Ok(SweepExponents {
        x_c,
        ordered_side: side,
        beta,
        gamma,
        alpha,
        delta,
        nu,
        zeta,
        z_nu,
        z,
        nu_m,
        mu,
        phi,
        n_runs: runs.len(),
        sizes,
        n_main: main.len(),
        family,
    })
}

/// χ = N_seeds · Var_seeds(V), with the error of a sample variance, σ²·√(2/(n−1)).
fn chi(v: &[f64]) -> Option<(f64, Option<f64>)> {
    if v.len() < 2 {
        return None;
    }
    let n = v.len() as f64;
    let var = stats::std_dev(v).powi(2);
    Some((n * var, Some(n * var * (2.0 / (n - 1.0)).sqrt()).filter(|s| *s > 0.0)))
}

fn collapse_over_sizes(
    runs: &[RunSummary],
    sizes: &[f64],
    field0: Option<f64>,
    cross0: Option<f64>,
    opts: &SweepOptions,
) -> (Outcome, Outcome, Option<Outcome>) {
    if sizes.len() < 2 {
        let why = if sizes.is_empty() { "no size given (one size only)" } else { "only one size" };
        return (Outcome::not(why), Outcome::not(why), None);
    }
    let (mut l, mut x, mut y, mut dy) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for &s in sizes {
        let fam: Vec<&RunSummary> =
            runs.iter().filter(|r| r.size == Some(s) && r.field == field0 && r.crossover == cross0).collect();
        for p in points(&fam) {
            if let Some((m, e)) = mean_err(&p.v) {
                l.push(s);
                x.push(p.x);
                y.push(m);
                dy.push(e);
            }
        }
    }
    // seed standard errors, floored at a tenth of the median so a single-seed point does not
    // carry infinite weight
    let known: Vec<f64> = dy.iter().flatten().copied().collect();
    let floor = if known.is_empty() {
        None
    } else {
        let mut k = known.clone();
        k.sort_by(f64::total_cmp);
        Some(0.1 * k[k.len() / 2])
    };
    let dys: Option<Vec<f64>> = floor.map(|f| dy.iter().map(|d| d.unwrap_or(f).max(f)).collect());
    let data = match CollapseData::from_points(&l, &x, &y, dys.as_deref()) {
        Ok(d) => d,
        Err(e) => return (Outcome::not(e.to_string()), Outcome::not(e.to_string()), None),
    };
    let copts = CollapseOptions {
        x_c_guess: opts.x_c,
        bootstrap: if opts.bootstrap == 0 { 100 } else { opts.bootstrap },
        seed: opts.seed,
        ..Default::default()
    };
    // The collapse's own default start: the middle of the x range common to all sizes.
    let guess = opts.x_c.unwrap_or_else(|| {
        let (lo, hi) = data.curves.iter().fold((f64::NEG_INFINITY, f64::INFINITY), |(lo, hi), c| {
            (
                lo.max(c.x.iter().copied().fold(f64::INFINITY, f64::min)),
                hi.min(c.x.iter().copied().fold(f64::NEG_INFINITY, f64::max)),
            )
        });
        0.5 * (lo + hi)
    });
    let mut grid = x.clone();
    grid.sort_by(f64::total_cmp);
    grid.dedup();
    let spacing = grid.windows(2).map(|w| w[1] - w[0]).fold(f64::INFINITY, f64::min);
    match collapse::fit(&data, &copts) {
        Ok(r) if r.quality > POOR_COLLAPSE_S => {
            let why = format!(
                "poor collapse: quality S = {:.2} > {POOR_COLLAPSE_S} (a good collapse has S ≈ 1), so no single (x_c, nu, zeta) \
                 collapses the {} sizes; the best it found, not an estimate: x_c = {:.4}, nu = {:.3}",
                r.quality,
                r.sizes.len(),
                r.x_c,
                r.nu
            );
            (Outcome::not(why.clone()), Outcome::not(why), None)
        }
        Ok(r) if opts.x_c.is_none() && spacing.is_finite() && (r.x_c - guess).abs() < ON_GUESS * spacing => {
            let why = format!(
                "the collapse's x_c = {:.4} sits on its starting guess (the middle of the common x range, {guess:.4}): \
                 the fit did not move, so it measured nothing (S = {:.2})",
                r.x_c, r.quality
            );
            (Outcome::not(why.clone()), Outcome::not(why), None)
        }
        Ok(r) => {
            let m = |what: &str| {
                format!("data collapse of the seed-mean V over {} sizes ({what}), S = {:.2}", r.sizes.len(), r.quality)
            };
            (
                Outcome::fitted(r.nu, r.nu_err, r.sizes.len(), m("nu")),
                Outcome::fitted(r.zeta, r.zeta_err, r.sizes.len(), m("zeta = -beta")),
                Some(Outcome::fitted(r.x_c, r.x_c_err, data.n_points(), m("x_c"))),
            )
        }
        Err(e) => (Outcome::not(format!("collapse failed: {e}")), Outcome::not(format!("collapse failed: {e}")), None),
    }
}

fn x_c_from_t_grok(pts: &[Point]) -> Option<Outcome> {
    let (x, y): (Vec<f64>, Vec<f64>) =
        pts.iter().filter(|p| p.t_grok.len() * 2 > p.v.len()).map(|p| (p.x, stats::mean(&p.t_grok))).unzip();
    if x.len() < MIN_POINTS + 1 {
        return None;
    }
    let data = crate::XyData::from_points(&x, &y, None).ok()?;
    let r =
        crate::divergence::fit(&data, &crate::divergence::DivergenceOptions { bootstrap: 100, ..Default::default() })
            .ok()?;
    r.supported.then(|| Outcome::fitted(r.x_c, r.x_c_err, x.len(), "power-law divergence of the seed-mean t_grok"))
}

fn x_c_from_chi_peak(pts: &[Point]) -> Option<Outcome> {
    let c: Vec<(f64, f64)> = pts.iter().filter_map(|p| chi(&p.v).map(|c| (p.x, c.0))).collect();
    if c.len() < 3 {
        return None;
    }
    let i = (0..c.len()).max_by(|&a, &b| c[a].1.total_cmp(&c[b].1))?;
    if i == 0 || i == c.len() - 1 {
        return None;
    }
    Some(Outcome::fitted(
        c[i].0,
        0.25 * (c[i + 1].0 - c[i - 1].0),
        c.len(),
        "peak of the seed fluctuations chi (error: half the grid spacing)",
    ))
}

fn delta_over_field(
    runs: &[RunSummary],
    x_c: &Outcome,
    size0: Option<f64>,
    cross0: Option<f64>,
    has_field: bool,
) -> Outcome {
    let Some((xc, _)) = x_c.parts() else { return Outcome::not("x_c not determinable") };
    if !has_field {
        return Outcome::not("no field control given (the sweep must vary the field h at x_c)");
    }
    let fam: Vec<&RunSummary> =
        runs.iter().filter(|r| r.size == size0 && r.crossover == cross0 && r.field.is_some()).collect();
    let Some(x_near) = fam.iter().map(|r| r.x).min_by(|a, b| (a - xc).abs().total_cmp(&(b - xc).abs())) else {
        return Outcome::not("no run with a field value");
    };
    let at: Vec<&RunSummary> = fam.into_iter().filter(|r| r.x == x_near).collect();
    let pts: Vec<(f64, f64, Option<f64>)> = group_by(at.into_iter(), |r| r.field.unwrap_or(f64::NAN))
        .into_iter()
        .filter_map(|(h, rs)| {
            mean_err(&rs.iter().filter_map(|r| r.order_parameter).collect::<Vec<_>>()).map(|(m, e)| (h, m, e))
        })
        .collect();
    match log_slope(&pts) {
        Some((s, e, n)) if s > 0.0 => {
            Outcome::fitted(1.0 / s, e / (s * s), n, format!("1/slope of ln V vs ln h at x = {x_near} (nearest x_c)"))
        }
        Some(_) => Outcome::not(format!("V does not grow with the field at x = {x_near}")),
        None => Outcome::not(format!("fewer than {MIN_POINTS} field values with V > 0 at x = {x_near} (nearest x_c)")),
    }
}

fn phi_over_crossover(
    runs: &[RunSummary],
    x_c: &Outcome,
    size0: Option<f64>,
    field0: Option<f64>,
    cross0: Option<f64>,
) -> Outcome {
    let (Some((xc, _)), Some(b0)) = (x_c.parts(), cross0) else {
        return Outcome::not(if cross0.is_none() {
            "no crossover control given (the sweep must vary a second control)"
        } else {
            "x_c not determinable"
        });
    };
    let fam = runs.iter().filter(|r| r.size == size0 && r.field == field0 && r.crossover.is_some());
    let pts: Vec<(f64, f64, Option<f64>)> = group_by(fam, |r| r.crossover.unwrap_or(f64::NAN))
        .into_iter()
        .filter(|(b, _)| *b != b0)
        .filter_map(|(b, rs)| half_height(&points(&rs)).map(|x| ((b - b0).abs(), (x - xc).abs(), None)))
        .collect();
    match log_slope(&pts) {
        Some((s, e, n)) if s > 0.0 => Outcome::fitted(
            1.0 / s,
            e / (s * s),
            n,
            "1/slope of ln |x_c(b) - x_c| vs ln |b - b0| (half-height boundary)",
        ),
        Some(_) => Outcome::not("the boundary x_c(b) does not move away from x_c with |b - b0|"),
        None => Outcome::not(format!("fewer than {MIN_POINTS} other crossover values with a located boundary")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs with V = (x − 0.3)^β above x_c, 0 below, seed noise with Var ∝ |δx|^{−γ}/n,
    /// t_grok = 100 |δx|^{−zν}, C = |δx|^{−α}.
    fn sweep(beta: f64, gamma: f64, z_nu: f64, seeds: u64) -> Vec<RunSummary> {
        let mut rng = stats::rng(42, 1);
        let mut out = Vec::new();
        for i in 0..12 {
            let x = 0.1 + 0.05 * i as f64;
            let dx: f64 = x - 0.3;
            for seed in 0..seeds {
                let base = if dx > 0.0 { dx.powf(beta) } else { 0.0 };
                let sd = 0.02 * dx.abs().max(0.01).powf(-gamma / 2.0) / (seeds as f64).sqrt();
                out.push(RunSummary {
                    x,
                    seed,
                    order_parameter: Some(base + if dx > 0.0 { sd * stats::standard_normal(&mut rng) } else { 0.0 }),
                    t_grok: (dx > 0.0)
                        .then(|| 100.0 * dx.powf(-z_nu) * (1.0 + 0.02 * stats::standard_normal(&mut rng))),
                    loss_improvement_var: Some(
                        dx.abs().max(0.01).powf(-0.3) * (1.0 + 0.02 * stats::standard_normal(&mut rng)),
                    ),
                    ..Default::default()
                });
            }
        }
        out
    }

    #[test]
    fn recovers_beta_gamma_and_z_nu_with_known_x_c() {
        let r = fit(&sweep(0.5, 1.0, 1.2, 16), &SweepOptions { x_c: Some(0.3), ..Default::default() }).unwrap();
        assert_eq!(r.ordered_side, Some(OrderedSide::Above));
        for (name, o, truth) in
            [("beta", &r.beta, 0.5), ("gamma", &r.gamma, 1.0), ("z nu", &r.z_nu, 1.2), ("alpha", &r.alpha, 0.3)]
        {
            let (v, e) = o.parts().unwrap_or_else(|| panic!("{name}: {o:?}"));
            assert!(e > 0.0 && (v - truth).abs() <= 3.0 * e, "{name} = {v} ± {e}, truth {truth}");
        }
        for (name, o, why) in [
            ("nu", &r.nu, "one size"),
            ("delta", &r.delta, "no field"),
            ("phi", &r.phi, "no crossover"),
            ("mu", &r.mu, "fewer than 4"),
        ] {
            match o {
                Outcome::NotDeterminable { reason } => assert!(reason.contains(why), "{name}: {reason}"),
                o => panic!("{name} should not be determinable: {o:?}"),
            }
        }
    }

    #[test]
    fn collapse_over_sizes_gives_nu_x_c_and_z() {
        // V_L(x) = L^{ζ/ν} F(L^{1/ν}(x − 0.3)) with ν = 1.5, ζ = −0.2; t_grok ~ |δx|^{−1.2}
        let mut rng = stats::rng(7, 2);
        let mut runs = Vec::new();
        for l in [8.0f64, 16.0, 32.0] {
            for i in 0..25 {
                let x = 0.1 + 0.4 * i as f64 / 24.0;
                for seed in 0..4 {
                    let v = l.powf(-0.2 / 1.5)
                        * (crate::validation::synthetic::master_curve(l.powf(1.0 / 1.5) * (x - 0.3))
                            + 0.01 * stats::standard_normal(&mut rng));
                    let dx: f64 = x - 0.3;
                    runs.push(RunSummary {
                        x,
                        size: Some(l),
                        seed,
                        order_parameter: Some(v),
                        t_grok: (dx > 0.01).then(|| 50.0 * dx.powf(-1.2)),
                        ..Default::default()
                    });
                }
            }
        }
        let r = fit(&runs, &SweepOptions { bootstrap: 30, ..Default::default() }).unwrap();
        let (xc, xe) = r.x_c.parts().unwrap();
        let (nu, ne) = r.nu.parts().unwrap();
        assert!((xc - 0.3).abs() <= 3.0 * xe && (nu - 1.5).abs() <= 3.0 * ne, "x_c = {xc} ± {xe}, nu = {nu} ± {ne}");
        let (z, ze) = r.z.parts().unwrap();
        assert!((z - 1.2 / 1.5).abs() <= 3.0 * ze, "z = {z} ± {ze}");
        assert_eq!(r.n_main, 100);
    }

    #[test]
    fn locates_x_c_from_t_grok_when_not_given() {
        let r = fit(&sweep(0.5, 1.0, 1.2, 8), &SweepOptions::default()).unwrap();
        let (xc, e) = r.x_c.parts().expect("x_c from the divergence of t_grok");
        assert!((xc - 0.3).abs() <= 3.0 * e.max(1e-3), "x_c = {xc} ± {e}");
        assert!(r.beta.parts().is_some());
    }

    #[test]
    fn a_single_seed_gives_no_gamma_and_no_order_parameter_is_an_error() {
        let r = fit(&sweep(0.5, 1.0, 1.2, 1), &SweepOptions { x_c: Some(0.3), ..Default::default() }).unwrap();
        assert!(matches!(&r.gamma, Outcome::NotDeterminable { reason } if reason.contains("chi")), "{:?}", r.gamma);
        let empty = vec![RunSummary { x: 0.1, ..Default::default() }];
        assert!(fit(&empty, &SweepOptions::default()).is_err());
    }

    #[test]
    fn a_field_that_varies_with_the_control_is_a_degenerate_family_error() {
        // The bug of the shipped finite-size example: `--field train-frac` with control
        // train-frac leaves one x per family.
        let runs: Vec<RunSummary> =
            sweep(0.5, 1.0, 1.2, 2).into_iter().map(|r| RunSummary { field: Some(r.x), ..r }).collect();
        let e = fit(&runs, &SweepOptions::default()).unwrap_err().to_string();
        assert!(e.contains("main family") && e.contains("1 control value"), "{e}");
    }

    #[test]
    fn a_poor_collapse_is_not_an_estimate_and_the_family_is_reported() {
        // Curves that do not collapse: the transition moves the wrong way and changes shape.
        let mut runs = Vec::new();
        for (k, l) in [8.0f64, 16.0, 32.0].into_iter().enumerate() {
            for i in 0..15 {
                let x = 0.1 + 0.05 * i as f64;
                for seed in 0..3 {
                    let v = if k == 1 {
                        (x * 7.0).sin().abs()
                    } else {
                        1.0 / (1.0 + (-(x - 0.2 * (k + 1) as f64) * 10.0 * l).exp())
                    };
                    runs.push(RunSummary {
                        x,
                        size: Some(l),
                        seed,
                        order_parameter: Some(v + 0.001 * seed as f64),
                        ..Default::default()
                    });
                }
            }
        }
        let r = fit(&runs, &SweepOptions { bootstrap: 10, ..Default::default() }).unwrap();
        match &r.nu {
            Outcome::NotDeterminable { reason } => {
                assert!(reason.contains("poor collapse") || reason.contains("starting guess"), "{reason}")
            }
            o => panic!("a collapse of curves that do not collapse gave {o:?}"),
        }
        assert_eq!(r.family.size, Some(32.0));
        assert_eq!(r.family.x.len(), 15);
        assert_eq!(r.family.runs_per_x, vec![3; 15]);
    }

    #[test]
    fn loss_improvement_variance_and_final_value() {
        let s = [(0, 4.0), (1, 3.0), (2, 1.0), (3, 0.0), (4, f64::NAN)];
        // improvements 1, 2, 1: variance 1/3
        assert!((loss_improvement_variance(&s).unwrap() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(final_value(&s, 2), Some(0.5));
        assert_eq!(final_value(&[], 3), None);
    }
}
