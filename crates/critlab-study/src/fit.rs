//! Small statistics the studies share: medians over seeds with bootstrap intervals, and
//! weighted straight-line fits (power laws in log–log coordinates) with both curvature and
//! bootstrap errors.
use crate::StudyError;
use critlab_physics::divergence::{self, DivergenceOptions, DivergenceResult, Side};
use critlab_physics::{stats, XyData};
use rand::Rng;
use serde::Serialize;

/// Median of finite values (`None` when there are none).
pub fn median(values: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    Some(stats::quantile_sorted(&v, 0.5))
}

/// A value with its one-sigma interval [lo, hi] (the 15.9–84.1 % bootstrap range).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The estimate.
    pub value: f64,
    /// Lower end of the one-sigma interval.
    pub lo: f64,
    /// Upper end of the one-sigma interval.
    pub hi: f64,
}

impl Interval {
    /// Half the interval's width: a symmetric one-sigma error.
    pub fn sigma(&self) -> f64 {
        0.5 * (self.hi - self.lo)
    }

    /// "1.23 [1.10, 1.31]".
    pub fn show(&self, digits: usize) -> String {
        format!("{:.d$} [{:.d$}, {:.d$}]", self.value, self.lo, self.hi, d = digits)
    }
}

/// Median of `values` with a bootstrap one-sigma interval (resampling the values with
/// replacement `reps` times, seeded).
pub fn median_interval(values: &[f64], reps: usize, seed: u64) -> Option<Interval> {
    let value = median(values)?;
    let mut rng = stats::rng(seed, 11);
    let mut meds: Vec<f64> = (0..reps)
        .filter_map(|_| {
            let sample: Vec<f64> = (0..values.len()).map(|_| values[rng.gen_range(0..values.len())]).collect();
            median(&sample)
        })
        .collect();
    meds.sort_by(f64::total_cmp);
    let (lo, hi) = if meds.is_empty() {
        (value, value)
    } else {
        (stats::quantile_sorted(&meds, 0.159), stats::quantile_sorted(&meds, 0.841))
    };
    Some(Interval { value, lo: lo.min(value), hi: hi.max(value) })
}

/// A weighted least-squares straight line y = a + b·x.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Line {
    /// Intercept a.
    pub intercept: f64,
    /// Its curvature (covariance) error.
    pub intercept_err: f64,
    /// Slope b.
    pub slope: f64,
    /// Its curvature (covariance) error, scaled by √(χ²/dof) when that exceeds 1.
    pub slope_err: f64,
    /// χ² with the given σ (RSS without).
    pub chi2: f64,
    /// Degrees of freedom n − 2.
    pub dof: usize,
}

/// Fits y = a + b·x by weighted least squares with one-sigma errors `sigma` (all 1 when
/// `None`). `None` with fewer than 3 points or no spread in x.
pub fn line(x: &[f64], y: &[f64], sigma: Option<&[f64]>) -> Option<Line> {
    let n = x.len();
    if n < 3 || y.len() != n {
        return None;
    }
    let w: Vec<f64> = (0..n).map(|i| sigma.map(|s| 1.0 / (s[i] * s[i]).max(1e-300)).unwrap_or(1.0)).collect();
    let sw: f64 = w.iter().sum();
    let sx: f64 = (0..n).map(|i| w[i] * x[i]).sum();
    let sy: f64 = (0..n).map(|i| w[i] * y[i]).sum();
    let sxx: f64 = (0..n).map(|i| w[i] * x[i] * x[i]).sum();
    let sxy: f64 = (0..n).map(|i| w[i] * x[i] * y[i]).sum();
    let det = sw * sxx - sx * sx;
    if !(det.abs() > 1e-300) {
        return None;
    }
    let slope = (sw * sxy - sx * sy) / det;
    let intercept = (sy - slope * sx) / sw;
    let chi2: f64 = (0..n).map(|i| w[i] * (y[i] - intercept - slope * x[i]).powi(2)).sum();
    let dof = n - 2;
    // Without σ the residuals set the scale; with σ, inflate only when the fit is poor.
    let scale = match sigma {
        None => chi2 / dof as f64,
        Some(_) => (chi2 / dof as f64).max(1.0),
    };
    Some(Line {
        intercept,
        intercept_err: (sxx / det * scale).sqrt(),
        slope,
        slope_err: (sw / det * scale).sqrt(),
        chi2,
        dof,
    })
}

/// One-sigma bootstrap spread (half the 15.9–84.1 % range) of `replicates`.
pub fn spread(replicates: &[f64]) -> Option<f64> {
    stats::bootstrap_spread(replicates)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_recovers_slope_and_errors_scale_with_noise() {
        let x: Vec<f64> = (0..20).map(|i| i as f64 / 4.0).collect();
        let y: Vec<f64> =
            x.iter().enumerate().map(|(i, v)| 1.0 + 2.0 * v + if i % 2 == 0 { 0.1 } else { -0.1 }).collect();
        let l = line(&x, &y, None).unwrap();
        assert!((l.slope - 2.0).abs() < 3.0 * l.slope_err, "{l:?}");
        assert!(l.slope_err > 0.0 && l.slope_err < 0.05, "{l:?}");
        assert!(line(&[1.0, 1.0, 1.0], &[1.0, 2.0, 3.0], None).is_none());
    }

    #[test]
    fn median_interval_brackets_the_median() {
        let v = [1.0, 2.0, 3.0, 4.0, 100.0];
        let m = median_interval(&v, 200, 1).unwrap();
        assert_eq!(m.value, 3.0);
        assert!(m.lo <= 3.0 && m.hi >= 3.0);
        assert_eq!(median_interval(&v, 200, 1).unwrap(), m, "seeded");
        assert!(median(&[]).is_none());
    }
}

/// Power-law divergence of the median t_grok against a control, `t_grok ~ |x − x_c|^(−κ)`
/// approached from above, fitted by `critlab_physics::divergence` (bootstrap 200, seed 0) on the
/// points whose t_grok was determined; errors are the intervals' one sigma, floored at 2 % of the
/// value. `None` below 5 usable points.
pub fn t_grok_divergence(
    points: &[(f64, Interval)],
    x_label: &str,
) -> Result<Option<(XyData, DivergenceResult)>, StudyError> {
    if points.len() < 5 {
        return Ok(None);
    }
    let x: Vec<f64> = points.iter().map(|(x, _)| *x).collect();
    let y: Vec<f64> = points.iter().map(|(_, t)| t.value).collect();
    let dy: Vec<f64> = points.iter().map(|(_, t)| t.sigma().max(0.02 * t.value)).collect();
    let err = |e: critlab_physics::PhysicsError| StudyError::Analysis { analysis: "divergence", reason: e.to_string() };
    let mut data = XyData::from_points(&x, &y, Some(&dy)).map_err(err)?;
    data.labels = (x_label.into(), "t_grok".into());
    let r = divergence::fit(&data, &DivergenceOptions { side: Side::Above, bootstrap: 200, seed: 0 }).map_err(err)?;
    Ok(Some((data, r)))
}

/// A number with its one-sigma error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    /// The estimate.
    pub value: f64,
    /// Its one-sigma error.
    pub error: f64,
}

/// A result the data determine, or the reason they do not. In results.json it is the result's
/// own object (`{value, error}` for an [`Estimate`]) or `{"not_determined": reason}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Determined<T> {
    /// Determined.
    Value(T),
    /// Not determined, and why.
    NotDetermined {
        /// The reason, in words.
        not_determined: String,
    },
}

impl<T> Determined<T> {
    /// Not determined because of `reason`.
    pub fn not(reason: impl Into<String>) -> Self {
        Determined::NotDetermined { not_determined: reason.into() }
    }

    /// The value, if determined.
    pub fn value(&self) -> Option<&T> {
        match self {
            Determined::Value(v) => Some(v),
            Determined::NotDetermined { .. } => None,
        }
    }
}

impl<T> From<Result<T, String>> for Determined<T> {
    fn from(r: Result<T, String>) -> Self {
        r.map_or_else(Determined::not, Determined::Value)
    }
}

/// A power-law fit whose χ²/dof is above this does not describe its points (with the few
/// points a study has, χ²/dof > 3 has a p-value of about 3 % at 3 degrees of freedom and far
/// less at more): its exponent is not reported as a measurement.
pub const MAX_CHI2_DOF: f64 = 3.0;

/// A power law fitted over less than this many decades of its variable is not a measured
/// exponent: over a shorter span a curved function looks straight in log–log.
pub const MIN_DECADES: f64 = 1.0;

/// The reason a power-law exponent fitted with `chi2_dof` over `decades` of its variable is not
/// a measurement, or `None` when it passes both rules ([`MAX_CHI2_DOF`], [`MIN_DECADES`]).
pub fn refuse_power_law(chi2_dof: f64, decades: f64) -> Option<String> {
    let mut why = Vec::new();
    if !(chi2_dof <= MAX_CHI2_DOF) {
        why.push(format!("χ²/dof = {chi2_dof:.1} > {MAX_CHI2_DOF} (the power law does not describe the points)"));
    }
    if !(decades >= MIN_DECADES) {
        why.push(format!("the fit spans {decades:.2} decades of its variable, fewer than {MIN_DECADES}"));
    }
    (!why.is_empty()).then(|| why.join("; "))
}

#[cfg(test)]
mod honesty {
    use super::*;

    #[test]
    fn a_power_law_that_misfits_or_spans_under_a_decade_is_refused() {
        assert_eq!(refuse_power_law(1.2, 2.0), None);
        assert!(refuse_power_law(16.0, 2.0).unwrap().contains("χ²/dof = 16.0"));
        assert!(refuse_power_law(1.0, 0.5).unwrap().contains("0.50 decades"));
        assert!(refuse_power_law(f64::NAN, 2.0).is_some(), "a NaN χ² is no fit");
        let r: Determined<Estimate> = Determined::not("too few sizes");
        assert_eq!(serde_json::to_string(&r).unwrap(), r#"{"not_determined":"too few sizes"}"#);
        let v = Determined::Value(Estimate { value: 1.5, error: 0.25 });
        assert_eq!(serde_json::to_string(&v).unwrap(), r#"{"value":1.5,"error":0.25}"#);
    }
}
