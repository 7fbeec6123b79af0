//! The scaling function F (docs/theory.md §7): fit the seed's five candidate forms to (collapsed)
//! data and rank them by AIC, BIC and held-out error.
//!
//! | form | two variables z = F(x, y) | one variable y = F(x) | parameters |
//! |---|---|---|---|
//! | power law | A x^a y^b | A x^a | needs x, y > 0 |
//! | exponential | A e^{bx + cy} | A e^{bx} | |
//! | logistic | L / (1 + e^{−k(x + y − x₀)}) | L / (1 + e^{−k(x − x₀)}) | |
//! | quadratic | a + bx + cy + dx² + ey² + fxy | a + bx + dx² | linear least squares |
//! | piecewise | two linear regimes in (x, y) split at x = t or y = t | two lines split at x = t | t by exhaustive scan |
//!
//! Nonlinear forms are fitted by Levenberg–Marquardt from data-driven starts (log-linear
//! regressions, several logistic slopes); parameter errors are sqrt(diag((JᵀWJ)⁻¹)), times
//! √(χ²/dof) when no uncertainties were given. The piecewise threshold is found by scanning
//! every midpoint between sorted values (each regime keeps ≥ p + 1 points for p line
//! parameters); its error is half the gap between the data values around it (the resolution
//! of the scan), the lines' errors are their least-squares errors.
//!
//! Ranking: AIC = χ² + 2k and BIC = χ² + k ln n (n ln(RSS/n) instead of χ² without
//! uncertainties; Akaike 1974, Schwarz 1978), and the RMS error on held-out points of a
//! seeded k-fold cross-validation (Stone 1974). The winner is the lowest AIC; `criteria_agree`
//! says whether BIC and cross-validation pick the same form.

use crate::error::{PhysicsError, Result};
use crate::optimize::levenberg_marquardt::{self as lm, LmOptions};
use crate::optimize::linalg;
use crate::stats;
use crate::table::Table;
use rand::seq::SliceRandom;
use serde::{Deserialize, Serialize};

/// The five candidate forms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// A x^a (y^b).
    PowerLaw,
    /// A e^{bx (+ cy)}.
    Exponential,
    /// L / (1 + e^{−k(x (+ y) − x₀)}).
    Logistic,
    /// Full quadratic polynomial.
    Quadratic,
    /// Two linear regimes split at a fitted threshold.
    Piecewise,
}

impl Form {
    /// All forms.
    pub const ALL: [Form; 5] = [Form::PowerLaw, Form::Exponential, Form::Logistic, Form::Quadratic, Form::Piecewise];

    fn formula(self, two: bool) -> &'static str {
        match (self, two) {
            (Form::PowerLaw, true) => "A x^a y^b",
            (Form::PowerLaw, false) => "A x^a",
            (Form::Exponential, true) => "A exp(b x + c y)",
            (Form::Exponential, false) => "A exp(b x)",
            (Form::Logistic, true) => "L / (1 + exp(-k (x + y - x0)))",
            (Form::Logistic, false) => "L / (1 + exp(-k (x - x0)))",
            (Form::Quadratic, true) => "a + b x + c y + d x^2 + e y^2 + f x y",
            (Form::Quadratic, false) => "a + b x + d x^2",
            (Form::Piecewise, true) => "x|y < t: a1 + b1 x + c1 y; else a2 + b2 x + c2 y",
            (Form::Piecewise, false) => "x < t: a1 + b1 x; else a2 + b2 x",
        }
    }

    fn names(self, two: bool) -> Vec<&'static str> {
        match (self, two) {
            (Form::PowerLaw, true) => vec!["A", "a", "b"],
            (Form::PowerLaw, false) => vec!["A", "a"],
            (Form::Exponential, true) => vec!["A", "b", "c"],
            (Form::Exponential, false) => vec!["A", "b"],
            (Form::Logistic, _) => vec!["L", "k", "x0"],
            (Form::Quadratic, true) => vec!["a", "b", "c", "d", "e", "f"],
            (Form::Quadratic, false) => vec!["a", "b", "d"],
            (Form::Piecewise, true) => vec!["t", "a1", "b1", "c1", "a2", "b2", "c2"],
            (Form::Piecewise, false) => vec!["t", "a1", "b1", "a2", "b2"],
        }
    }
}

/// Column names: response `z = F(x, y)` when `z` is given, else `y = F(x)`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormColumns {
    /// First variable.
    pub x: String,
    /// Second variable, or the response when `z` is absent.
    pub y: String,
    /// Response of a two-variable fit.
    pub z: Option<String>,
    /// One-sigma uncertainty of the response (> 0); optional.
    pub dz: Option<String>,
}

/// Data for the scaling-form fits: one or two input variables and a response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormData {
    /// Input rows: `[x]` or `[x, y]`.
    pub inputs: Vec<Vec<f64>>,
    /// Response values.
    pub response: Vec<f64>,
    /// Response uncertainties, if known.
    pub sigma: Option<Vec<f64>>,
    /// Variable names (inputs…, response).
    pub labels: Vec<String>,
}

impl FormData {
    /// Read from a table by column names.
    pub fn from_table(table: &Table, cols: &FormColumns) -> Result<Self> {
        let x = table.numeric(&cols.x)?;
        let y = table.numeric(&cols.y)?;
        let z = cols.z.as_deref().map(|c| table.numeric(c)).transpose()?;
        let sigma = cols.dz.as_deref().map(|c| table.numeric(c)).transpose()?;
        if let (Some(s), Some(name)) = (&sigma, &cols.dz) {
            crate::data::require_positive_uncertainties(table, name, s)?;
        }
        Ok(match z {
            Some(z) => Self {
                inputs: x.iter().zip(&y).map(|(a, b)| vec![*a, *b]).collect(),
                response: z,
                sigma,
                labels: vec![cols.x.clone(), cols.y.clone(), cols.z.clone().unwrap_or_default()],
            },
            None => Self {
                inputs: x.iter().map(|a| vec![*a]).collect(),
                response: y,
                sigma,
                labels: vec![cols.x.clone(), cols.y.clone()],
            },
        })
    }

    /// One-variable data y = F(x) from vectors.
    pub fn one_variable(x: &[f64], y: &[f64], dy: Option<&[f64]>) -> Self {
        Self {
            inputs: x.iter().map(|v| vec![*v]).collect(),
            response: y.to_vec(),
            sigma: dy.map(<[f64]>::to_vec),
            labels: vec!["x".into(), "y".into()],
        }
    }

    fn two(&self) -> bool {
        self.inputs.first().is_some_and(|r| r.len() == 2)
    }
}

/// Options of [`fit`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FormOptions {
    /// Forms to try; default all five.
    pub forms: Vec<Form>,
    /// Cross-validation folds (≥ 2); default 5.
    pub folds: usize,
    /// Seed of the fold assignment; default 0.
    pub seed: u64,
}

impl Default for FormOptions {
    fn default() -> Self {
        Self { forms: Form::ALL.to_vec(), folds: 5, seed: 0 }
    }
}

/// A fitted parameter.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Param {
    /// Name as in the formula.
    pub name: String,
    /// Value.
    pub value: f64,
    /// One-sigma error (`null` when the fit's covariance is singular).
    pub err: Option<f64>,
}

/// One fitted form with its scores.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormFit {
    /// Which form.
    pub form: Form,
    /// Its formula.
    pub formula: String,
    /// Parameters with errors.
    pub params: Vec<Param>,
    /// For the piecewise form: the split variable (0 = x, 1 = y).
    pub split_variable: Option<usize>,
    /// χ² (RSS without uncertainties).
    pub chi2: f64,
    /// Number of parameters k.
    pub k: usize,
    /// AIC.
    pub aic: f64,
    /// BIC.
    pub bic: f64,
    /// AIC − min AIC.
    pub delta_aic: f64,
    /// Held-out RMS error (units of the response), `null` if a fold could not be fitted.
    pub cv_rmse: Option<f64>,
    /// Rank by AIC (1 = best).
    pub rank_aic: usize,
    /// Rank by BIC.
    pub rank_bic: usize,
    /// Rank by held-out error (`null` without one).
    pub rank_cv: Option<usize>,
}

/// A form that could not be fitted, and why.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Skipped {
    /// Which form.
    pub form: Form,
    /// Why.
    pub reason: String,
}

/// All forms fitted and ranked.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FormsReport {
    /// Points.
    pub n_points: usize,
    /// 1 (y = F(x)) or 2 (z = F(x, y)).
    pub variables: usize,
    /// Whether uncertainties weighted the fits.
    pub weighted: bool,
    /// Fits, best AIC first.
    pub fits: Vec<FormFit>,
    /// Forms not fitted.
    pub skipped: Vec<Skipped>,
    /// The lowest-AIC form.
    pub winner: Form,
    /// Whether AIC, BIC and cross-validation pick the same form.
    pub criteria_agree: bool,
    /// Folds used.
    pub folds: usize,
    /// Variable names.
    pub labels: Vec<String>,
}

/// A fit on some rows: parameters, their errors, the split variable (piecewise), χ².
#[derive(Debug, Clone)]
struct Fitted {
    params: Vec<f64>,
    errs: Vec<Option<f64>>,
    split: Option<usize>,
    chi2: f64,
}

fn linear_in(row: &[f64], c: &[f64]) -> f64 {
    c[0] + row.iter().zip(&c[1..]).map(|(a, b)| a * b).sum::<f64>()
}

/// Prediction of a fitted form at one input row.
fn predict(form: Form, f: &Fitted, row: &[f64]) -> f64 {
    let p = &f.params;
    let two = row.len() == 2;
    match form {
        Form::PowerLaw => p[0] * row[0].powf(p[1]) * if two { row[1].powf(p[2]) } else { 1.0 },
        Form::Exponential => p[0] * (p[1] * row[0] + if two { p[2] * row[1] } else { 0.0 }).exp(),
        Form::Logistic => p[0] / (1.0 + (-p[1] * (row.iter().sum::<f64>() - p[2])).exp()),
        Form::Quadratic => {
            if two {
                p[0] + p[1] * row[0]
                    + p[2] * row[1]
                    + p[3] * row[0] * row[0]
                    + p[4] * row[1] * row[1]
                    + p[5] * row[0] * row[1]
            } else {
                p[0] + p[1] * row[0] + p[2] * row[0] * row[0]
            }
        }
        Form::Piecewise => {
            let m = row.len() + 1;
            let s = f.split.unwrap_or(0);
            if row[s] < p[0] {
                linear_in(row, &p[1..1 + m])
            } else {
                linear_in(row, &p[1 + m..1 + 2 * m])
            }
        }
    }
}

fn lm_fit(form: Form, rows: &[&[f64]], z: &[f64], s: &[f64], start: &[f64]) -> Fitted {
    let probe = Fitted { params: vec![], errs: vec![], split: None, chi2: 0.0 };
    let f = lm::fit(
        |p: &[f64], i: usize| predict(form, &Fitted { params: p.to_vec(), ..probe.clone() }, rows[i]),
        z,
        s,
        start,
        LmOptions::default(),
    );
    Fitted { errs: f.stderr(1.0), params: f.params, split: None, chi2: f.chi2 }
}

fn fit_form(form: Form, rows: &[&[f64]], z: &[f64], s: &[f64]) -> std::result::Result<Fitted, String> {
    let n = rows.len();
    let m = rows[0].len();
    let w: Vec<f64> = s.iter().map(|e| 1.0 / (e * e)).collect();
    let k = form.names(m == 2).len();
    if n <= k {
        return Err(format!("needs more than {k} points, has {n}"));
    }
    let linear = |design: &[f64], kk: usize, yv: &[f64], wv: &[f64]| linalg::weighted_least_squares(design, yv, wv, kk);
    let fitted = match form {
        Form::PowerLaw | Form::Exponential => {
            if form == Form::PowerLaw && rows.iter().any(|r| r.iter().any(|&v| v <= 0.0)) {
                return Err("needs positive inputs".into());
            }
            // start: log-linear regression of |z| (sign from the data)
            let sign = if z.iter().filter(|v| **v < 0.0).count() * 2 > n { -1.0 } else { 1.0 };
            let pos: Vec<usize> = (0..n).filter(|&i| z[i] * sign > 0.0).collect();
            let mut start = vec![sign * stats::mean(z).abs().max(1e-12)];
            start.extend(std::iter::repeat_n(0.0, m));
            if pos.len() > m + 1 {
                let design: Vec<f64> = pos
                    .iter()
                    .flat_map(|&i| {
                        let mut r = vec![1.0];
                        r.extend(rows[i].iter().map(|&v| if form == Form::PowerLaw { v.ln() } else { v }));
                        r
                    })
                    .collect();
                let ly: Vec<f64> = pos.iter().map(|&i| (z[i] * sign).ln()).collect();
                let lw: Vec<f64> = pos.iter().map(|&i| (z[i] / s[i]).powi(2)).collect();
                if let Some((b, _)) = linear(&design, m + 1, &ly, &lw) {
                    start = vec![sign * b[0].exp()];
                    start.extend_from_slice(&b[1..]);
                }
            }
            lm_fit(form, rows, z, s, &start)
        }
        Form::Logistic => {
            let sums: Vec<f64> = rows.iter().map(|r| r.iter().sum()).collect();
            let (lo, hi) = sums.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
            let zmax = z.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b));
            let zmin = z.iter().fold(f64::INFINITY, |a, &b| a.min(b));
            let l0 = if zmax.abs() >= zmin.abs() { zmax } else { zmin };
            let span = (hi - lo).max(1e-12);
            let mut best: Option<Fitted> = None;
            for kk in [-8.0, -2.0, 2.0, 8.0] {
                for c in [0.25, 0.5, 0.75] {
                    let f = lm_fit(form, rows, z, s, &[l0 * 1.05, kk / span, lo + c * span]);
                    if f.chi2.is_finite() && best.as_ref().is_none_or(|b| f.chi2 < b.chi2) {
                        best = Some(f);
                    }
                }
            }
            best.ok_or("no logistic start converged")?
        }
        Form::Quadratic => {
            let design: Vec<f64> = rows
                .iter()
                .flat_map(|r| {
                    if m == 2 {
                        vec![1.0, r[0], r[1], r[0] * r[0], r[1] * r[1], r[0] * r[1]]
                    } else {
                        vec![1.0, r[0], r[0] * r[0]]
                    }
                })
                .collect();
            let (b, cov) = linear(&design, k, z, &w).ok_or("singular design")?;
            let chi2 = (0..n).map(|i| ((z[i] - linear_in(&design[i * k + 1..(i + 1) * k], &b)) / s[i]).powi(2)).sum();
            Fitted {
                errs: (0..k).map(|i| Some(cov[i * k + i].max(0.0).sqrt())).collect(),
                params: b,
                split: None,
                chi2,
            }
        }
        Form::Piecewise => piecewise(rows, z, s, &w).ok_or("no threshold leaves enough points in both regimes")?,
    };
    if !fitted.chi2.is_finite() || !fitted.params.iter().all(|v| v.is_finite()) {
        return Err("fit did not converge".into());
    }
    Ok(fitted)
}

/// Exhaustive threshold scan for two linear regimes.
fn piecewise(rows: &[&[f64]], z: &[f64], s: &[f64], w: &[f64]) -> Option<Fitted> {
    let n = rows.len();
    let m = rows[0].len();
    let lin = m + 1;
    let mut best: Option<(f64, usize, f64, Vec<f64>, Vec<f64>, f64)> = None; // chi2, var, t, params, errs, gap
    for var in 0..m {
        let mut vals: Vec<f64> = rows.iter().map(|r| r[var]).collect();
        vals.sort_by(f64::total_cmp);
        vals.dedup();
        for k in 1..vals.len() {
            let t = 0.5 * (vals[k - 1] + vals[k]);
            let mut pieces = Vec::new();
            for below in [true, false] {
                let idx: Vec<usize> = (0..n).filter(|&i| (rows[i][var] < t) == below).collect();
                if idx.len() < lin + 1 {
                    break;
                }
                let design: Vec<f64> =
                    idx.iter().flat_map(|&i| std::iter::once(1.0).chain(rows[i].iter().copied())).collect();
                let zz: Vec<f64> = idx.iter().map(|&i| z[i]).collect();
                let ww: Vec<f64> = idx.iter().map(|&i| w[i]).collect();
                let Some((b, cov)) = linalg::weighted_least_squares(&design, &zz, &ww, lin) else { break };
                let chi2: f64 = idx.iter().map(|&i| ((z[i] - linear_in(rows[i], &b)) / s[i]).powi(2)).sum();
                pieces.push((b, cov, chi2));
            }
            if pieces.len() < 2 {
                continue;
            }
            let chi2 = pieces[0].2 + pieces[1].2;
            if best.as_ref().is_none_or(|b| chi2 < b.0) {
                let mut params = vec![t];
                let mut errs = vec![0.5 * (vals[k] - vals[k - 1])];
                for (b, cov, _) in &pieces {
                    params.extend_from_slice(b);
                    errs.extend((0..lin).map(|i| cov[i * lin + i].max(0.0).sqrt()));
                }
                best = Some((chi2, var, t, params, errs, 0.0));
            }
        }
    }
    best.map(|(chi2, var, _, params, errs, _)| Fitted {
        params,
        errs: errs.into_iter().map(Some).collect(),
        split: Some(var),
        chi2,
    })
}

/// Fit every requested form, score and rank them. Errors: fewer than 6 points, fewer than 2
/// folds, or no form could be fitted.
pub fn fit(data: &FormData, opts: &FormOptions) -> Result<FormsReport> {
    let n = data.response.len();
    if n < 6 {
        return Err(PhysicsError::TooFewPoints {
            analysis: "scaling forms",
            needed: 6,
            found: n,
            context: String::new(),
        });
    }
    if opts.folds < 2 {
        return Err(PhysicsError::InvalidOption { option: "folds", reason: "needs at least 2 folds".into() });
    }
    let two = data.two();
    let weighted = data.sigma.is_some();
    let s = data.sigma.clone().unwrap_or_else(|| vec![1.0; n]);
    let rows: Vec<&[f64]> = data.inputs.iter().map(Vec::as_slice).collect();
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut stats::rng(opts.seed, 0xf01d));
    let folds = opts.folds.min(n);
    let mut fits = Vec::new();
    let mut skipped = Vec::new();
    for &form in &opts.forms {
        let f = match fit_form(form, &rows, &data.response, &s) {
            Ok(f) => f,
            Err(reason) => {
                skipped.push(Skipped { form, reason });
                continue;
            }
        };
        let k = f.params.len();
        let dof = n.saturating_sub(k).max(1);
        let scale = if weighted { 1.0 } else { (f.chi2 / dof as f64).sqrt() };
        // k-fold cross-validation
        let mut sq = 0.0;
        let mut ok = true;
        for fold in 0..folds {
            let test: Vec<usize> =
                order.iter().enumerate().filter(|(j, _)| j % folds == fold).map(|(_, &i)| i).collect();
            let train: Vec<usize> =
                order.iter().enumerate().filter(|(j, _)| j % folds != fold).map(|(_, &i)| i).collect();
            let tr: Vec<&[f64]> = train.iter().map(|&i| rows[i]).collect();
            let tz: Vec<f64> = train.iter().map(|&i| data.response[i]).collect();
            let ts: Vec<f64> = train.iter().map(|&i| s[i]).collect();
            match fit_form(form, &tr, &tz, &ts) {
                Ok(g) => {
                    sq += test.iter().map(|&i| (data.response[i] - predict(form, &g, rows[i])).powi(2)).sum::<f64>()
                }
                Err(_) => ok = false,
            }
        }
        let cv = (ok && sq.is_finite()).then(|| (sq / n as f64).sqrt());
        fits.push(FormFit {
            form,
            formula: form.formula(two).into(),
            params: form
                .names(two)
                .iter()
                .zip(&f.params)
                .zip(&f.errs)
                .map(|((name, v), e)| Param {
                    name: name.to_string(),
                    value: *v,
                    err: e.map(|e| if form == Form::Piecewise && name == &"t" { e } else { e * scale }),
                })
                .collect(),
            split_variable: f.split,
            chi2: f.chi2,
            k,
            aic: stats::aic(f.chi2, n, k, weighted),
            bic: stats::bic(f.chi2, n, k, weighted),
            delta_aic: 0.0,
            cv_rmse: cv,
            rank_aic: 0,
            rank_bic: 0,
            rank_cv: None,
        });
    }
    if fits.is_empty() {
        return Err(PhysicsError::Unsuitable {
            analysis: "scaling forms",
            reason: skipped.iter().map(|s| format!("{:?}: {}", s.form, s.reason)).collect::<Vec<_>>().join("; "),
        });
    }
    let rank = |key: &dyn Fn(&FormFit) -> Option<f64>, fits: &[FormFit]| -> Vec<Option<usize>> {
        fits.iter().map(|f| key(f).map(|v| 1 + fits.iter().filter(|g| key(g).is_some_and(|w| w < v)).count())).collect()
    };
    let ra = rank(&|f| Some(f.aic), &fits);
    let rb = rank(&|f| Some(f.bic), &fits);
    let rc = rank(&|f| f.cv_rmse, &fits);
    let min_aic = fits.iter().map(|f| f.aic).fold(f64::INFINITY, f64::min);
    for (i, f) in fits.iter_mut().enumerate() {
        f.rank_aic = ra[i].unwrap_or(0);
        f.rank_bic = rb[i].unwrap_or(0);
        f.rank_cv = rc[i];
        f.delta_aic = f.aic - min_aic;
    }
    fits.sort_by(|a, b| a.aic.total_cmp(&b.aic));
    let winner = fits[0].form;
    let criteria_agree = fits[0].rank_bic == 1 && fits[0].rank_cv == Some(1);
    Ok(FormsReport {
        n_points: n,
        variables: if two { 2 } else { 1 },
        weighted,
        fits,
        skipped,
        winner,
        criteria_agree,
        folds,
        labels: data.labels.clone(),
    })
}

/// Evaluate a fitted form at an input row (for plots): `row` is `[x]` or `[x, y]`.
pub fn evaluate(fit: &FormFit, row: &[f64]) -> f64 {
    let f = Fitted {
        params: fit.params.iter().map(|p| p.value).collect(),
        errs: vec![],
        split: fit.split_variable,
        chi2: 0.0,
    };
    predict(fit.form, &f, row)
}
