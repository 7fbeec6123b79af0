//! The norm-delay law (Truong et al. 2026, arXiv 2603.13331, 2605.18845): once a run has
//! memorised, weight decay shrinks the parameters until the generalising solution is reached,
//! t_grok − t_mem ≈ (1/(ηλ))·ln(‖θ_mem‖²/‖θ_post‖²). Written K = ηλ·(t_grok − t_mem), the law
//! says K = ln(‖θ_mem‖²/‖θ_post‖²), the number of e-foldings of ‖θ‖² the decay must achieve.
//!
//! ‖θ_post‖ is not known before grokking, so K is calibrated: ln K ~ N(μ, σ²) fitted by
//! maximum likelihood on runs of other seeds ([`calibrate`]), runs that never grokked within
//! their budget entering as right-censored (K > ηλ·(τ − t_mem)); Truong et al. instead plug
//! in the measured norm ratio after the fact. Online, at step t after t_mem, with the elapsed
//! decay u = ηλ(t − t_mem) and the budget's U = ηλ(τ − t_mem):
//! * P(grok within τ) = P(K ≤ U | K > u) (a run that already grokked gets 1);
//! * predicted t_grok = t_mem + K_q/(ηλ) with K_q the 2.5 %, 50 % and 97.5 % quantiles of K
//!   given K > u.
//!
//! Before memorisation the law is applied as if t_mem were now (an upper bound on P). With
//! λ = 0 the law predicts no grokking (P = 0). η and λ are the spec's (decoupled AdamW decay
//! shrinks θ by (1 − ηλ) per step).
use super::{normal_cdf, normal_quantile, DelayCalibration, Prediction, RunHistory, StepInterval};
use crate::optimize::nelder_mead::{minimize, NelderMeadOptions};
use serde::Serialize;
use std::collections::BTreeMap;

/// Accuracy level of t_mem and t_grok (THEORY.md §4).
pub const LEVEL: f64 = 0.9;

/// The law's K = ηλ·(t_grok − t_mem) of a finished run: `Ok(K)` if it grokked after
/// memorising, `Err(lower bound)` if it memorised but never grokked within its budget (censored),
/// `None` otherwise. A run whose t_grok equals t_mem (comprehension) gets half an eval interval.
pub fn observed_k(h: &RunHistory) -> Option<Result<f64, f64>> {
    let rate = h.lr * h.weight_decay;
    let t_mem = h.t_mem(LEVEL)?;
    if rate <= 0.0 {
        return None;
    }
    let spacing = h.steps().windows(2).next().map_or(1.0, |w| w[1] - w[0]);
    match h.t_grok(LEVEL) {
        Some(g) => Some(Ok(rate * (g - t_mem).max(0.5 * spacing))),
        None => Some(Err(rate * (h.budget - t_mem).max(0.5 * spacing))),
    }
}

/// Censored log-normal maximum-likelihood fit of K over `runs` (their final histories).
/// `None` with fewer than 2 grokked runs.
pub fn calibrate<'a>(runs: impl IntoIterator<Item = &'a RunHistory>) -> Option<DelayCalibration> {
    let (mut exact, mut censored) = (Vec::new(), Vec::new());
    for h in runs {
        match observed_k(h) {
            Some(Ok(k)) => exact.push(k.ln()),
            Some(Err(k)) => censored.push(k.ln()),
            None => {}
        }
    }
    if exact.len() < 2 {
        return None;
    }
    let nll = |x: &[f64]| {
        let (mu, sd) = (x[0], x[1].exp());
        let mut v = 0.0;
        for &l in &exact {
            let z = (l - mu) / sd;
            v += 0.5 * z * z + sd.ln();
        }
        for &l in &censored {
            v -= normal_cdf(-(l - mu) / sd).max(1e-300).ln();
        }
        v
    };
    let m0 = crate::stats::mean(&exact);
    let s0 = crate::stats::std_dev(&exact).max(0.1);
    let best = minimize(nll, &[m0, s0.ln()], &[0.5, 0.3], NelderMeadOptions::default());
    Some(DelayCalibration { mu: best.x[0], sd: best.x[1].exp().clamp(0.05, 5.0), runs: exact.len() + censored.len() })
}

/// The law calibrated per class of runs (their settings without seed, η and λ: K =
/// ln(‖θ_mem‖²/‖θ_post‖²) depends on the data and the model, not on the decay rate), with a
/// calibration pooled over every class for classes with fewer than 2 grokked runs.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ClassCalibrations {
    /// Over every run (the wide default when fewer than 2 grokked).
    pub pooled: DelayCalibration,
    /// Per class key, for the classes with at least 2 grokked runs.
    pub by_class: BTreeMap<String, DelayCalibration>,
}

impl ClassCalibrations {
    /// Fits the pooled and the per-class calibrations on `(class, history)` pairs.
    pub fn fit<'a>(runs: impl IntoIterator<Item = (&'a str, &'a RunHistory)>) -> Self {
        let runs: Vec<(&str, &RunHistory)> = runs.into_iter().collect();
        let mut classes: Vec<&str> = runs.iter().map(|r| r.0).collect();
        classes.sort_unstable();
        classes.dedup();
        Self {
            pooled: calibrate(runs.iter().map(|r| r.1)).unwrap_or_default(),
            by_class: classes
                .into_iter()
                .filter_map(|c| Some((c.to_string(), calibrate(runs.iter().filter(|r| r.0 == c).map(|r| r.1))?)))
                .collect(),
        }
    }

    /// The calibration of `class` (the pooled one when the class has none).
    pub fn get(&self, class: &str) -> DelayCalibration {
        self.by_class.get(class).copied().unwrap_or(self.pooled)
    }
}

/// F(K ≤ x) under the calibration.
fn cdf(x: f64, cal: &DelayCalibration) -> f64 {
    if x <= 0.0 {
        0.0
    } else {
        normal_cdf((x.ln() - cal.mu) / cal.sd)
    }
}

/// The K with F(K) = q.
fn quantile(q: f64, cal: &DelayCalibration) -> f64 {
    (cal.mu + cal.sd * normal_quantile(q.clamp(1e-12, 1.0 - 1e-12))).exp()
}

/// The law's prediction now (see the module documentation).
pub fn predict(h: &RunHistory, cal: &DelayCalibration) -> Option<Prediction> {
    let now = h.now()?;
    if let Some(g) = h.t_grok(LEVEL) {
        return Some(Prediction { score: 1.0, probability: Some(1.0), t_grok: Some(StepInterval { value: g, lo: g, hi: g }) });
    }
    let rate = h.lr * h.weight_decay;
    if rate <= 0.0 {
        return Some(Prediction { score: 0.0, probability: Some(0.0), t_grok: None });
    }
    let t_mem = h.t_mem(LEVEL).unwrap_or(now);
    let (u, big_u) = (rate * (now - t_mem), rate * (h.budget - t_mem));
    let (fu, f_budget) = (cdf(u, cal), cdf(big_u, cal));
    let survive = (1.0 - fu).max(1e-12);
    let p = ((f_budget - fu) / survive).clamp(0.0, 1.0);
    let at = |q: f64| t_mem + quantile(fu + q * (1.0 - fu), cal) / rate;
    Some(Prediction { score: p, probability: Some(p), t_grok: Some(StepInterval { value: at(0.5), lo: at(0.025), hi: at(0.975) }) })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A run that memorises at `t_mem` and groks `delay` steps later (or never), eval every 10.
    fn run(lr: f64, wd: f64, t_mem: f64, delay: Option<f64>, budget: f64) -> RunHistory {
        let steps: Vec<f64> = (0..=(budget / 10.0) as usize).map(|i| i as f64 * 10.0).collect();
        RunHistory {
            lr,
            weight_decay: wd,
            budget,
            train_acc: steps.iter().map(|&t| (t, if t >= t_mem { 1.0 } else { 0.1 })).collect(),
            test_acc: steps.iter().map(|&t| (t, if delay.is_some_and(|d| t >= t_mem + d) { 1.0 } else { 0.05 })).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn a_known_decay_gives_the_known_delay() {
        // Every run has K = ηλΔ = 2 exactly (ln of a norm ratio e²): the calibration recovers
        // μ = ln 2 and the law predicts Δ = 2/(ηλ) for a new (η, λ).
        let train: Vec<RunHistory> = [(1e-2, 1.0), (1e-2, 0.5), (3e-3, 1.0), (3e-3, 2.0)]
            .iter()
            .map(|&(lr, wd)| run(lr, wd, 100.0, Some(2.0 / (lr * wd)), 5000.0))
            .collect();
        let cal = calibrate(&train).unwrap();
        assert!((cal.mu - 2f64.ln()).abs() < 0.05, "{cal:?}");
        let new = run(5e-3, 1.0, 300.0, Some(400.0), 5000.0).until(300.0);
        let p = predict(&new, &cal).unwrap();
        let t = p.t_grok.unwrap();
        assert!((t.value - 700.0).abs() < 30.0, "{t:?}");
        assert!(t.lo <= t.value && t.value <= t.hi);
        assert!(p.probability.unwrap() > 0.95);
        // The same run with a budget too short for the predicted delay is hopeless.
        let short = RunHistory { budget: 450.0, ..new };
        assert!(predict(&short, &cal).unwrap().probability.unwrap() < 0.05);
    }

    #[test]
    fn censored_runs_push_the_calibration_up() {
        let grokked: Vec<RunHistory> = (0..4).map(|i| run(1e-2, 1.0, 100.0, Some(100.0 + 20.0 * i as f64), 3000.0)).collect();
        let without = calibrate(&grokked).unwrap();
        let mut with = grokked.clone();
        with.extend((0..4).map(|_| run(1e-2, 1.0, 100.0, None, 3000.0)));
        let censored = calibrate(&with).unwrap();
        assert!(censored.mu > without.mu + 0.1, "{without:?} {censored:?}");
    }

    #[test]
    fn no_weight_decay_never_groks_by_the_law() {
        let h = run(1e-2, 0.0, 100.0, None, 3000.0).until(500.0);
        assert_eq!(predict(&h, &DelayCalibration::default()).unwrap().probability, Some(0.0));
    }
}
