//! Early warning of a transition (docs/theory.md §8): critical slowing down measured on a live
//! series, as in ewstools (Bury 2023) and R's `earlywarnings` (Dakos et al. 2012), plus the
//! framework's own signals, and the scoring of all of them over a sweep.
//!
//! ## Critical-slowing-down indicators
//! The order-parameter series (default the test loss) is detrended, then a rolling window
//! slides over the residuals:
//! * variance, lag-1 autocorrelation and skewness of the residuals in each window;
//! * the trend of each indicator is Kendall's τ_b between the indicator and time.
//!
//! | option | meaning | default (as ewstools / earlywarnings) |
//! |---|---|---|
//! | [`Window`] | rolling window: `Fraction(f)` of the points so far, or `Points(n)` | `Fraction(0.5)` |
//! | [`Detrend`] | `Gaussian { bandwidth }` kernel smoother (σ = bandwidth × points so far), `Linear`, `None` | `Gaussian { bandwidth: 0.2 }` |
//! | `tau_threshold` | Kendall τ at which a warning fires | 0.7 |
//! | `min_points` | indicator values needed before any warning | 30 |
//!
//! ## Framework signals (not detrended; their trend over the trailing window)
//! | indicator | series | fires when τ over the trailing window is |
//! |---|---|---|
//! | `kinetic-potential` | K̃ / \|U\| (`kinetic_displacement` / \|`potential_noise`\|) | ≥ threshold (motion overtakes noise) |
//! | `rank-growth` | `repr_effective_rank` | ≥ threshold (the seed's Dim(M) grows) |
//! | `weight-norm-decline` | `weight_norm` | ≤ −threshold |
//! | `charge-drift` | Σ of the `charge_rescale/*` aggregates | \|τ\| ≥ threshold |
//!
//! ## Rule
//! Everything is computed *online*: at each eval point k only points 0..=k are used
//! (detrending included), so a warning at step t could have been raised live at t. A warning
//! fires the first time the indicator has `min_points` values and its τ passes the threshold
//! (variance and autocorrelation: τ ≥ threshold; skewness: |τ| ≥ threshold, as its sign
//! depends on the direction of the approach).
//!
//! ## Scoring over a sweep
//! For a run that groks at t_grok, the first warning of an indicator is a hit if it comes
//! before t_grok (lead time t_grok − t_warn > 0), else a miss; for a run that never groks any
//! warning is a false alarm. Precision = hits / (hits + false alarms); recall = hits / runs
//! that grok. An indicator that warns on every run has the precision of chance, the fraction
//! of runs that grok, reported beside it as `base_rate`.
use serde::{Deserialize, Serialize};
use std::fmt;

/// Rolling-window size.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Window {
    /// This fraction of the points available so far (ewstools' `rolling_window = 0.5`).
    Fraction(f64),
    /// A fixed number of points.
    Points(usize),
}

impl Window {
    /// Points in the window when `n` points are available (at least 3, at most n).
    pub fn points(self, n: usize) -> usize {
        let w = match self {
            Window::Fraction(f) => (f * n as f64).round() as usize,
            Window::Points(p) => p,
        };
        w.max(3).min(n)
    }
}

/// How the series is detrended before the rolling statistics.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detrend {
    /// Gaussian kernel smoother with σ = `bandwidth` × (points so far), in index units
    /// (ewstools' `detrend(method='Gaussian', bandwidth=0.2)`).
    Gaussian {
        /// Bandwidth as a fraction of the series length.
        bandwidth: f64,
    },
    /// Least-squares straight line in index units.
    Linear,
    /// No detrending.
    None,
}

/// Options of the early-warning indicators; defaults as in the module table.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct EwsOptions {
    /// Rolling window (default `Fraction(0.5)`).
    pub window: Window,
    /// Detrending (default `Gaussian { bandwidth: 0.2 }`).
    pub detrend: Detrend,
    /// |Kendall τ| at which a warning fires (default 0.7).
    pub tau_threshold: f64,
    /// Indicator values needed before a warning can fire (default 30: with fewer, the online
    /// rule, which looks at every prefix, fires on stationary noise about as often as on
    /// slowing down).
    pub min_points: usize,
}

impl Default for EwsOptions {
    fn default() -> Self {
        Self {
            window: Window::Fraction(0.5),
            detrend: Detrend::Gaussian { bandwidth: 0.2 },
            tau_threshold: 0.7,
            min_points: 30,
        }
    }
}

/// An early-warning indicator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Indicator {
    /// Rolling variance of the detrended order parameter.
    Variance,
    /// Rolling lag-1 autocorrelation.
    Autocorrelation,
    /// Rolling skewness.
    Skewness,
    /// Kinetic / potential balance K̃/|U|.
    KineticPotential,
    /// Effective rank of the representation.
    RankGrowth,
    /// Weight norm.
    WeightNormDecline,
    /// Total rescale charge.
    ChargeDrift,
}

impl Indicator {
    /// All indicators, critical slowing down first.
    pub const ALL: [Indicator; 7] = [
        Indicator::Variance,
        Indicator::Autocorrelation,
        Indicator::Skewness,
        Indicator::KineticPotential,
        Indicator::RankGrowth,
        Indicator::WeightNormDecline,
        Indicator::ChargeDrift,
    ];

    /// The kebab-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Indicator::Variance => "variance",
            Indicator::Autocorrelation => "autocorrelation",
            Indicator::Skewness => "skewness",
            Indicator::KineticPotential => "kinetic-potential",
            Indicator::RankGrowth => "rank-growth",
            Indicator::WeightNormDecline => "weight-norm-decline",
            Indicator::ChargeDrift => "charge-drift",
        }
    }

    /// Whether τ passes the rule of this indicator.
    fn fires(self, tau: f64, threshold: f64) -> bool {
        match self {
            Indicator::Skewness | Indicator::ChargeDrift => tau.abs() >= threshold,
            Indicator::WeightNormDecline => tau <= -threshold,
            _ => tau >= threshold,
        }
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A fired warning.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Warning {
    /// The indicator.
    pub indicator: Indicator,
    /// Step at which it fired (the last point used).
    pub step: f64,
    /// Kendall τ at that step.
    pub tau: f64,
}

/// The series an early-warning monitor reads; any may be empty (that indicator is skipped).
/// Points are `(step, value)` in step order; the framework series are aligned to the order
/// parameter's steps by step.
#[derive(Debug, Clone, Default)]
pub struct Signals {
    /// Order parameter for critical slowing down (default the test loss).
    pub order: Vec<(f64, f64)>,
    /// K̃/|U|.
    pub kinetic_potential: Vec<(f64, f64)>,
    /// Representation effective rank.
    pub rank: Vec<(f64, f64)>,
    /// Weight norm.
    pub weight_norm: Vec<(f64, f64)>,
    /// Total rescale charge.
    pub charge: Vec<(f64, f64)>,
}

impl Signals {
    fn series(&self, i: Indicator) -> &[(f64, f64)] {
        match i {
            Indicator::Variance | Indicator::Autocorrelation | Indicator::Skewness => &self.order,
            Indicator::KineticPotential => &self.kinetic_potential,
            Indicator::RankGrowth => &self.rank,
            Indicator::WeightNormDecline => &self.weight_norm,
            Indicator::ChargeDrift => &self.charge,
        }
    }

    /// The prefix of every series up to and including `step`.
    pub fn until(&self, step: f64) -> Signals {
        let cut = |s: &[(f64, f64)]| s.iter().copied().take_while(|p| p.0 <= step).collect();
        Signals {
            order: cut(&self.order),
            kinetic_potential: cut(&self.kinetic_potential),
            rank: cut(&self.rank),
            weight_norm: cut(&self.weight_norm),
            charge: cut(&self.charge),
        }
    }
}

/// Kendall's τ_b between `x` and `y` (ties corrected); `None` with fewer than 3 points or
/// when either is constant.
pub fn kendall_tau(x: &[f64], y: &[f64]) -> Option<f64> {
    let n = x.len().min(y.len());
    if n < 3 {
        return None;
    }
    let (mut s, mut tx, mut ty, mut pairs) = (0.0, 0.0, 0.0, 0.0);
    for i in 0..n {
        for j in i + 1..n {
            let (dx, dy) =
                ((x[j] - x[i]).signum() * f64::from(x[j] != x[i]), (y[j] - y[i]).signum() * f64::from(y[j] != y[i]));
            s += dx * dy;
            tx += f64::from(dx == 0.0);
            ty += f64::from(dy == 0.0);
            pairs += 1.0;
        }
    }
    let denom = ((pairs - tx) * (pairs - ty)).sqrt();
    (denom > 0.0).then(|| s / denom)
}

/// Residuals of `values` after removing the trend.
pub fn detrend(values: &[f64], how: Detrend) -> Vec<f64> {
    let n = values.len();
    match how {
        Detrend::None => values.to_vec(),
        Detrend::Linear => {
            let nf = n as f64;
            let mx = (nf - 1.0) / 2.0;
            let my = values.iter().sum::<f64>() / nf;
            let sxx: f64 = (0..n).map(|i| (i as f64 - mx).powi(2)).sum();
            let sxy: f64 = values.iter().enumerate().map(|(i, v)| (i as f64 - mx) * (v - my)).sum();
            let b = if sxx > 0.0 { sxy / sxx } else { 0.0 };
            values.iter().enumerate().map(|(i, v)| v - (my + b * (i as f64 - mx))).collect()
        }
        Detrend::Gaussian { bandwidth } => {
            let sigma = (bandwidth * n as f64).max(1e-9);
            (0..n)
                .map(|i| {
                    let (mut num, mut den) = (0.0, 0.0);
                    for (j, v) in values.iter().enumerate() {
                        let w = (-0.5 * ((i as f64 - j as f64) / sigma).powi(2)).exp();
                        num += w * v;
                        den += w;
                    }
                    values[i] - num / den
                })
                .collect()
        }
    }
}

fn moments(w: &[f64]) -> (f64, f64, f64) {
    let n = w.len() as f64;
    let m = w.iter().sum::<f64>() / n;
    let m2 = w.iter().map(|v| (v - m).powi(2)).sum::<f64>() / n;
    let m3 = w.iter().map(|v| (v - m).powi(3)).sum::<f64>() / n;
    (m, m2, m3)
}

/// The value of a rolling statistic on one window of residuals (NaN when undefined).
fn window_stat(i: Indicator, w: &[f64]) -> f64 {
    let (m, m2, m3) = moments(w);
    match i {
        Indicator::Variance => m2,
        Indicator::Skewness if m2 > 0.0 => m3 / m2.powf(1.5),
        Indicator::Autocorrelation if m2 > 0.0 => {
            let c: f64 = w.windows(2).map(|p| (p[0] - m) * (p[1] - m)).sum::<f64>() / w.len() as f64;
            c / m2
        }
        _ => f64::NAN,
    }
}

/// One indicator over a series: its values `(step, value)` and their Kendall τ against time.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorSeries {
    /// Which.
    pub indicator: Indicator,
    /// Values at the end step of each window (CSD) or the raw series (framework signals).
    pub points: Vec<(f64, f64)>,
    /// Kendall τ of the values against time.
    pub tau: Option<f64>,
}

/// Computes one indicator on all of `signals` (the online rule uses prefixes of this).
pub fn indicator(i: Indicator, signals: &Signals, opts: &EwsOptions) -> IndicatorSeries {
    let s = signals.series(i);
    let points: Vec<(f64, f64)> = match i {
        Indicator::Variance | Indicator::Autocorrelation | Indicator::Skewness => {
            let values: Vec<f64> = s.iter().map(|p| p.1).collect();
            let resid = detrend(&values, opts.detrend);
            let w = opts.window.points(s.len());
            if s.len() < 3 {
                Vec::new()
            } else {
                (w - 1..s.len())
                    .map(|k| (s[k].0, window_stat(i, &resid[k + 1 - w..=k])))
                    .filter(|p| p.1.is_finite())
                    .collect()
            }
        }
        _ => {
            // Trailing window of the raw signal.
            let w = opts.window.points(s.len().max(1));
            s[s.len().saturating_sub(w)..].iter().copied().filter(|p| p.1.is_finite()).collect()
        }
    };
    let (t, v): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    let tau = kendall_tau(&t, &v);
    IndicatorSeries { indicator: i, points, tau }
}

/// τ of an indicator at the last point of `signals`, if the rule's `min_points` is met.
pub fn tau_now(i: Indicator, signals: &Signals, opts: &EwsOptions) -> Option<f64> {
    let s = indicator(i, signals, opts);
    (s.points.len() >= opts.min_points).then_some(s.tau).flatten()
}

/// Follows a growing series and reports warnings as they fire (each indicator once).
#[derive(Debug, Clone)]
pub struct Monitor {
    opts: EwsOptions,
    indicators: Vec<Indicator>,
    fired: Vec<Warning>,
}

impl Monitor {
    /// A monitor of `indicators`.
    pub fn new(indicators: &[Indicator], opts: EwsOptions) -> Self {
        Self { opts, indicators: indicators.to_vec(), fired: Vec::new() }
    }

    /// Re-evaluates the rule on `signals` (everything recorded so far) and returns the
    /// warnings that fire now for the first time.
    pub fn update(&mut self, signals: &Signals) -> Vec<Warning> {
        let mut new = Vec::new();
        for &i in &self.indicators {
            if self.fired.iter().any(|w| w.indicator == i) {
                continue;
            }
            let s = signals.series(i);
            let Some(&(step, _)) = s.last() else { continue };
            if let Some(tau) = tau_now(i, signals, &self.opts) {
                if i.fires(tau, self.opts.tau_threshold) {
                    let w = Warning { indicator: i, step, tau };
                    self.fired.push(w);
                    new.push(w);
                }
            }
        }
        new
    }

    /// Warnings fired so far.
    pub fn fired(&self) -> &[Warning] {
        &self.fired
    }
}

/// First warning of each indicator, computed online over a stored run: the monitor is fed
/// every prefix of the steps of all signals in turn.
pub fn first_warnings(signals: &Signals, indicators: &[Indicator], opts: &EwsOptions) -> Vec<Warning> {
    let mut steps: Vec<f64> = Indicator::ALL.iter().flat_map(|&i| signals.series(i).iter().map(|p| p.0)).collect();
    steps.sort_by(f64::total_cmp);
    steps.dedup();
    let mut monitor = Monitor::new(indicators, *opts);
    for &t in &steps {
        monitor.update(&signals.until(t));
    }
    monitor.fired
}

/// A run's ground truth and warnings, for scoring.
#[derive(Debug, Clone, Serialize)]
pub struct ScoredRun {
    /// Run identifier.
    pub run: i64,
    /// Step of generalisation, if the run grokked.
    pub t_grok: Option<f64>,
    /// First warning per indicator.
    pub warnings: Vec<Warning>,
}

/// The score of one indicator over a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IndicatorScore {
    /// Which.
    pub indicator: Indicator,
    /// Grokking runs warned before t_grok.
    pub hits: usize,
    /// Grokking runs not warned (or warned at or after t_grok).
    pub misses: usize,
    /// Non-grokking runs warned.
    pub false_alarms: usize,
    /// Non-grokking runs not warned.
    pub quiet: usize,
    /// hits / (hits + false alarms).
    pub precision: Option<f64>,
    /// hits / grokking runs.
    pub recall: Option<f64>,
    /// Fraction of runs that grok: the precision of an indicator that always warns.
    pub base_rate: Option<f64>,
    /// Median of t_grok − t_warn over hits, in steps.
    pub median_lead: Option<f64>,
}

/// Scores every indicator over the runs of a sweep.
pub fn score(runs: &[ScoredRun], indicators: &[Indicator]) -> Vec<IndicatorScore> {
    let grokked = runs.iter().filter(|r| r.t_grok.is_some()).count();
    let base_rate = (!runs.is_empty()).then(|| grokked as f64 / runs.len() as f64);
    indicators
        .iter()
        .map(|&i| {
            let (mut hits, mut misses, mut false_alarms, mut quiet) = (0, 0, 0, 0);
            let mut leads = Vec::new();
            for r in runs {
                let warn = r.warnings.iter().find(|w| w.indicator == i);
                match (r.t_grok, warn) {
                    (Some(t), Some(w)) if w.step < t => {
                        hits += 1;
                        leads.push(t - w.step);
                    }
                    (Some(_), _) => misses += 1,
                    (None, Some(_)) => false_alarms += 1,
                    (None, None) => quiet += 1,
                }
            }
            leads.sort_by(f64::total_cmp);
            let ratio = |a: usize, b: usize| (b > 0).then(|| a as f64 / b as f64);
            IndicatorScore {
                indicator: i,
                hits,
                misses,
                false_alarms,
                quiet,
                precision: ratio(hits, hits + false_alarms),
                recall: ratio(hits, grokked),
                base_rate,
                median_lead: (!leads.is_empty()).then(|| crate::stats::quantile_sorted(&leads, 0.5)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    /// An AR(1) process x_{t+1} = a_t x_t + ε whose a_t rises from 0.1 to 0.95: critical
    /// slowing down by construction (variance and autocorrelation grow).
    fn slowing(n: usize, seed: u64, slows: bool) -> Vec<(f64, f64)> {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
        let mut x = 0.0;
        (0..n)
            .map(|t| {
                let a = if slows { 0.1 + 0.85 * t as f64 / n as f64 } else { 0.1 };
                x = a * x + crate::stats::standard_normal(&mut rng);
                (t as f64 * 10.0, 5.0 - 0.01 * t as f64 + 0.1 * x)
            })
            .collect()
    }

    #[test]
    fn kendall_tau_of_monotone_and_reversed_series() {
        let x = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(kendall_tau(&x, &[2.0, 3.0, 5.0, 9.0]), Some(1.0));
        assert_eq!(kendall_tau(&x, &[9.0, 5.0, 3.0, 2.0]), Some(-1.0));
        assert_eq!(kendall_tau(&x, &[1.0, 1.0, 1.0, 1.0]), None);
    }

    #[test]
    fn detrending_removes_a_line_and_a_smooth_trend() {
        let v: Vec<f64> = (0..50).map(|i| 3.0 + 0.5 * i as f64).collect();
        assert!(detrend(&v, Detrend::Linear).iter().all(|r| r.abs() < 1e-9));
        let g = detrend(&v, Detrend::Gaussian { bandwidth: 0.05 });
        assert!(g[15..35].iter().all(|r| r.abs() < 1e-6), "interior residuals of a line vanish");
    }

    #[test]
    fn slowing_down_warns_and_a_stationary_series_does_not() {
        let opts = EwsOptions::default();
        let csd = [Indicator::Variance, Indicator::Autocorrelation];
        let mut warned = 0;
        let mut false_alarms = 0;
        for seed in 0..10 {
            let s = Signals { order: slowing(300, seed, true), ..Default::default() };
            warned +=
                usize::from(first_warnings(&s, &csd, &opts).iter().any(|w| w.indicator == Indicator::Autocorrelation));
            let q = Signals { order: slowing(300, seed + 100, false), ..Default::default() };
            false_alarms +=
                usize::from(first_warnings(&q, &csd, &opts).iter().any(|w| w.indicator == Indicator::Autocorrelation));
        }
        // Measured with the defaults: 4/10 and 1/10 (with min_points = 8: 6/10 and 6/10).
        assert!(
            warned >= false_alarms + 2,
            "autocorrelation warned on {warned}/10 slowing series, {false_alarms}/10 stationary"
        );
        assert!(false_alarms <= 2, "autocorrelation warned on {false_alarms}/10 stationary series");
    }

    #[test]
    fn warnings_are_online_they_never_use_later_points() {
        let s = Signals { order: slowing(200, 3, true), ..Default::default() };
        let opts = EwsOptions::default();
        for w in first_warnings(&s, &[Indicator::Variance, Indicator::Autocorrelation], &opts) {
            let again = first_warnings(&s.until(w.step), &[w.indicator], &opts);
            assert_eq!(again[0].step, w.step);
        }
    }

    #[test]
    fn scoring_counts_hits_misses_false_alarms_and_leads() {
        let w = |step| Warning { indicator: Indicator::Variance, step, tau: 0.9 };
        let runs = vec![
            ScoredRun { run: 1, t_grok: Some(100.0), warnings: vec![w(60.0)] },
            ScoredRun { run: 2, t_grok: Some(200.0), warnings: vec![w(100.0)] },
            ScoredRun { run: 3, t_grok: Some(50.0), warnings: vec![w(80.0)] },
            ScoredRun { run: 4, t_grok: None, warnings: vec![w(10.0)] },
            ScoredRun { run: 5, t_grok: None, warnings: vec![] },
        ];
        let s = &score(&runs, &[Indicator::Variance])[0];
        assert_eq!((s.hits, s.misses, s.false_alarms, s.quiet), (2, 1, 1, 1));
        assert_eq!(s.precision, Some(2.0 / 3.0));
        assert_eq!(s.recall, Some(2.0 / 3.0));
        assert_eq!(s.base_rate, Some(0.6));
        assert_eq!(s.median_lead, Some(70.0));
    }

    #[test]
    fn framework_signals_follow_their_direction() {
        let falling: Vec<(f64, f64)> = (0..80).map(|i| (i as f64, 100.0 - i as f64)).collect();
        let s = Signals { weight_norm: falling.clone(), rank: falling, ..Default::default() };
        let w = first_warnings(&s, &[Indicator::WeightNormDecline, Indicator::RankGrowth], &EwsOptions::default());
        assert_eq!(w.len(), 1);
        assert_eq!(w[0].indicator, Indicator::WeightNormDecline);
    }
}
