//! Controllers against fixed settings (docs/theory.md §10): per workload and arm (a controller, or
//! one fixed (η, λ)), the steps and examples processed to t_grok, the final test accuracy and
//! the wall time over seeds, with 95% bootstrap intervals; the best fixed arm of the workload;
//! and each arm's speed-up over it.
//!
//! A run that does not grok within its budget has t_grok = ∞ (censored): medians use the
//! nearest rank (no interpolation), so a median is finite exactly when more than half of the
//! resampled runs grokked, and "> budget" otherwise. The speed-up of an arm is
//! median t_grok(best fixed) / median t_grok(arm), resampling both arms independently. When the
//! fixed arm's median is censored and the arm's is not, the speed-up is a lower bound: the
//! fixed arm's runs that did not grok count as grokking at its budget ([`Speedup::at_least`]).
use crate::hypotheses::{bootstrap, BootstrapOptions};
use serde::Serialize;
use std::collections::BTreeMap;

/// What one run contributes.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ControlRun {
    /// The workload (task, model, p, f, budget), shared by the arms compared.
    pub workload: String,
    /// The arm: a controller with its parameters, or `fixed` with its (η, λ).
    pub arm: String,
    /// Whether the arm is a fixed setting (no controller).
    pub fixed: bool,
    /// The label of the fixed arm with the run's starting (η, λ) (its own label when fixed).
    pub start: String,
    /// Step budget τ.
    pub budget: f64,
    /// t_grok in steps, `None` if the run did not grok.
    pub t_grok: Option<f64>,
    /// Training examples processed up to t_grok (Σ_t B_t).
    pub examples_to_grok: Option<f64>,
    /// Training examples processed over the whole run.
    pub examples_total: f64,
    /// Test accuracy at the last eval step.
    pub final_test_acc: Option<f64>,
    /// Wall-clock seconds (of the replica group that trained it).
    pub wall_seconds: Option<f64>,
    /// Whether it diverged.
    pub diverged: bool,
}

/// A statistic over the seeds of an arm with its 95% bootstrap interval; `None` values are
/// infinite (not reached within the budget).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Interval {
    /// The statistic on all seeds.
    pub value: Option<f64>,
    /// 2.5% bootstrap quantile.
    pub low: Option<f64>,
    /// 97.5% bootstrap quantile.
    pub high: Option<f64>,
}

/// One arm of a workload.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ArmResult {
    /// The arm's label.
    pub arm: String,
    /// Whether it is a fixed setting.
    pub fixed: bool,
    /// Seeds (runs).
    pub runs: usize,
    /// Step budget τ (the largest of its runs).
    pub budget: f64,
    /// Runs that grokked.
    pub grokked: usize,
    /// Runs that diverged.
    pub diverged: usize,
    /// Median t_grok in steps.
    pub t_grok: Interval,
    /// Median training examples processed to t_grok.
    pub examples_to_grok: Interval,
    /// Mean final test accuracy.
    pub final_test_acc: Interval,
    /// Mean wall seconds.
    pub wall_seconds: Interval,
    /// Training examples processed by all its runs together (its compute).
    pub examples_total: f64,
    /// Median t_grok of the best fixed arm over this arm's (> 1: faster), with interval.
    pub speedup: Speedup,
    /// Median t_grok of the fixed arm at this arm's starting (η, λ) over this arm's: what the
    /// controller itself gained (Grokfast's paper compares this way), with interval.
    pub speedup_vs_start: Speedup,
}

/// A speed-up (ratio of median t_grok) with its interval, possibly only a lower bound.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Speedup {
    /// The ratio and its 95% bootstrap interval.
    #[serde(flatten)]
    pub ratio: Interval,
    /// Whether the ratio is a lower bound: the baseline's median t_grok lies beyond its budget,
    /// so its runs that did not grok were counted at the budget (value and interval are then
    /// lower bounds of the ratio and of its quantiles).
    pub at_least: bool,
}

/// One workload: its arms, the best fixed one first among the fixed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WorkloadResult {
    /// The workload.
    pub workload: String,
    /// The fixed arm with the smallest median t_grok (ties: higher final accuracy).
    pub best_fixed: Option<String>,
    /// Training examples processed by all fixed arms together (the tuning sweep's compute).
    pub fixed_compute: f64,
    /// Every arm, controllers first, then fixed arms by median t_grok.
    pub arms: Vec<ArmResult>,
}

/// The nearest-rank median of values where `None` is +∞: `None` if the median is infinite.
fn median(values: &[Option<f64>]) -> Option<f64> {
    let mut v: Vec<f64> = values.iter().map(|x| x.unwrap_or(f64::INFINITY)).collect();
    v.sort_by(f64::total_cmp);
    let m = v[(v.len() - 1) / 2];
    m.is_finite().then_some(m)
}

fn mean(values: &[Option<f64>]) -> Option<f64> {
    let v: Vec<f64> = values.iter().flatten().copied().collect();
    (!v.is_empty()).then(|| crate::stats::mean(&v))
}

/// `stat` on `values` and its bootstrap interval; an infinite statistic is encoded as +∞ in
/// the replicates so that the quantiles of a censored median stay ordered.
fn interval(values: &[Option<f64>], opts: &BootstrapOptions, stat: fn(&[Option<f64>]) -> Option<f64>) -> Interval {
    let inf = |x: Option<f64>| x.unwrap_or(f64::INFINITY);
    let bounds = bootstrap(values, opts, |s| inf(stat(s)).min(f64::MAX));
    let finite = |x: f64| (x < f64::MAX).then_some(x);
    Interval { value: stat(values), low: bounds.and_then(|b| finite(b.0)), high: bounds.and_then(|b| finite(b.1)) }
}

/// Median of `base` over median of `arm`, resampling both (independent bootstraps). When the
/// median of `base` is censored and that of `arm` is not, `base`'s censored runs count at
/// `base_budget` and the result is a lower bound.
fn speedup(base: &[Option<f64>], base_budget: f64, arm: &[Option<f64>], opts: &BootstrapOptions) -> Speedup {
    let at_least = median(base).is_none() && median(arm).is_some();
    let bounded: Vec<Option<f64>> = base.iter().map(|t| t.or(Some(base_budget))).collect();
    let base = if at_least { &bounded[..] } else { base };
    Speedup { ratio: ratio_interval(base, arm, opts), at_least }
}

fn ratio_interval(base: &[Option<f64>], arm: &[Option<f64>], opts: &BootstrapOptions) -> Interval {
    let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
        (Some(a), Some(b)) if b > 0.0 => Some(a / b),
        _ => None,
    };
    // Resample each arm with its own stream: one bootstrap over index pairs would tie them.
    let resample = |v: &[Option<f64>], seed: u64| -> Vec<Option<f64>> {
        let mut reps = Vec::with_capacity(opts.resamples);
        let mut rng = crate::stats::rng(seed, 11);
        for _ in 0..opts.resamples {
            use rand::Rng;
            let s: Vec<Option<f64>> = (0..v.len()).map(|_| v[rng.gen_range(0..v.len())]).collect();
            reps.push(median(&s));
        }
        reps
    };
    let (rb, ra) = (resample(base, opts.seed), resample(arm, opts.seed.wrapping_add(1)));
    let mut reps: Vec<f64> = rb.iter().zip(&ra).filter_map(|(b, a)| ratio(*b, *a)).collect();
    let value = ratio(median(base), median(arm));
    if reps.len() * 2 < opts.resamples {
        return Interval { value, low: None, high: None };
    }
    reps.sort_by(f64::total_cmp);
    Interval {
        value,
        low: Some(crate::stats::quantile_sorted(&reps, 0.025)),
        high: Some(crate::stats::quantile_sorted(&reps, 0.975)),
    }
}

/// Compares the arms of every workload.
pub fn compare(runs: &[ControlRun], opts: &BootstrapOptions) -> Vec<WorkloadResult> {
    let mut workloads: BTreeMap<&str, BTreeMap<(bool, &str), Vec<&ControlRun>>> = BTreeMap::new();
    for r in runs {
        workloads.entry(&r.workload).or_default().entry((r.fixed, &r.arm)).or_default().push(r);
    }
    workloads
        .into_iter()
        .map(|(workload, arms)| {
            let col =
                |rs: &[&ControlRun], f: fn(&ControlRun) -> Option<f64>| rs.iter().map(|r| f(r)).collect::<Vec<_>>();
            let fixed_rank = |rs: &[&ControlRun]| {
                let t = median(&col(rs, |r| r.t_grok)).unwrap_or(f64::INFINITY);
                let acc = mean(&col(rs, |r| r.final_test_acc)).unwrap_or(0.0);
                (t, -acc)
            };
            let budget = |rs: &[&ControlRun]| rs.iter().map(|r| r.budget).fold(0.0, f64::max);
            let best = arms
                .iter()
                .filter(|((fixed, _), _)| *fixed)
                .min_by(|a, b| fixed_rank(a.1).partial_cmp(&fixed_rank(b.1)).expect("finite or ∞, never NaN"))
                .map(|((_, arm), rs)| (arm.to_string(), col(rs, |r| r.t_grok), budget(rs)));
            let fixed_times = |label: &str| {
                arms.iter().find(|((f, a), _)| *f && *a == label).map(|(_, rs)| (col(rs, |r| r.t_grok), budget(rs)))
            };
            let none = Speedup { ratio: Interval { value: None, low: None, high: None }, at_least: false };
            let fixed_compute = arms
                .iter()
                .filter(|((f, _), _)| *f)
                .flat_map(|(_, rs)| rs.iter().map(|r| r.examples_total))
                .fold(0.0, |a, b| a + b);
            let mut results: Vec<ArmResult> = arms
                .iter()
                .map(|((fixed, arm), rs)| {
                    let t = col(rs, |r| r.t_grok);
                    ArmResult {
                        arm: arm.to_string(),
                        fixed: *fixed,
                        runs: rs.len(),
                        budget: budget(rs),
                        grokked: rs.iter().filter(|r| r.t_grok.is_some()).count(),
                        diverged: rs.iter().filter(|r| r.diverged).count(),
                        t_grok: interval(&t, opts, median),
                        examples_to_grok: interval(&col(rs, |r| r.examples_to_grok), opts, median),
                        final_test_acc: interval(&col(rs, |r| r.final_test_acc), opts, mean),
                        wall_seconds: interval(&col(rs, |r| r.wall_seconds), opts, mean),
                        examples_total: rs.iter().map(|r| r.examples_total).sum(),
                        speedup: match &best {
                            Some((_, base, b)) => speedup(base, *b, &t, opts),
                            None => none,
                        },
                        speedup_vs_start: match fixed_times(&rs[0].start) {
                            Some((base, b)) => speedup(&base, b, &t, opts),
                            None => none,
                        },
                    }
                })
                .collect();
            results.sort_by(|a, b| {
                let key = |r: &ArmResult| (r.fixed, r.t_grok.value.unwrap_or(f64::INFINITY));
                key(a).partial_cmp(&key(b)).expect("never NaN")
            });
            WorkloadResult {
                workload: workload.to_string(),
                best_fixed: best.map(|b| b.0),
                fixed_compute,
                arms: results,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(arm: &str, fixed: bool, t: Option<f64>) -> ControlRun {
        ControlRun {
            workload: "w".into(),
            arm: arm.into(),
            fixed,
            start: if fixed { arm.into() } else { "fixed slow".into() },
            budget: 1000.0,
            t_grok: t,
            examples_to_grok: t.map(|t| 10.0 * t),
            examples_total: 10_000.0,
            final_test_acc: Some(if t.is_some() { 1.0 } else { 0.1 }),
            wall_seconds: Some(2.0),
            diverged: false,
        }
    }

    /// The best fixed arm is the fastest; a controller grokking 5× sooner shows a speed-up of 5
    /// whose interval contains it; an arm that mostly never groks has no finite median.
    #[test]
    fn speedups_over_the_best_fixed_setting() {
        let mut runs = Vec::new();
        for (k, s) in [0.9, 1.0, 1.1, 0.95, 1.05].iter().enumerate() {
            runs.push(run("fixed slow", true, Some(900.0 * s)));
            runs.push(run("fixed fast", true, Some(500.0 * s)));
            runs.push(run("ctl", false, Some(100.0 * s)));
            runs.push(run("never", false, (k == 0).then_some(50.0)));
        }
        let out = compare(&runs, &BootstrapOptions::default());
        assert_eq!(out.len(), 1);
        let w = &out[0];
        assert_eq!(w.best_fixed.as_deref(), Some("fixed fast"));
        assert_eq!(w.fixed_compute, 100_000.0);
        let ctl = w.arms.iter().find(|a| a.arm == "ctl").unwrap();
        assert_eq!(ctl.t_grok.value, Some(100.0));
        assert_eq!(ctl.examples_to_grok.value, Some(1000.0));
        assert_eq!(ctl.speedup.ratio.value, Some(5.0));
        assert!(!ctl.speedup.at_least);
        assert_eq!(ctl.speedup_vs_start.ratio.value, Some(9.0), "against its own start (η, λ)");
        let (lo, hi) = (ctl.speedup.ratio.low.unwrap(), ctl.speedup.ratio.high.unwrap());
        assert!(lo <= 5.0 && 5.0 <= hi && lo > 3.0 && hi < 8.0, "[{lo}, {hi}]");
        let never = w.arms.iter().find(|a| a.arm == "never").unwrap();
        assert_eq!((never.grokked, never.t_grok.value, never.speedup.ratio.value), (1, None, None));
        assert!((never.final_test_acc.value.unwrap() - 0.28).abs() < 1e-12);
        assert!(!w.arms[0].fixed, "controllers listed first");
    }

    /// A baseline that does not grok within its budget gives a lower bound on the speed-up
    /// (its runs counted at the budget), flagged as such; an arm that does not grok either
    /// gives none.
    #[test]
    fn a_censored_baseline_bounds_the_speedup_from_below() {
        let mut runs = Vec::new();
        for (k, s) in [0.9, 1.0, 1.1, 0.95, 1.05].iter().enumerate() {
            runs.push(run("fixed slow", true, (k == 0).then_some(800.0)));
            runs.push(run("ctl", false, Some(200.0 * s)));
            runs.push(run("never", false, None));
        }
        let out = compare(&runs, &BootstrapOptions::default());
        let ctl = out[0].arms.iter().find(|a| a.arm == "ctl").unwrap();
        assert!(ctl.speedup.at_least && ctl.speedup_vs_start.at_least);
        assert_eq!(ctl.speedup.ratio.value, Some(5.0), "budget 1000 over median 200");
        let (lo, hi) = (ctl.speedup.ratio.low.unwrap(), ctl.speedup.ratio.high.unwrap());
        assert!(lo <= 5.0 && 5.0 <= hi && lo > 3.0 && hi <= 1000.0 / 180.0 + 1e-9, "[{lo}, {hi}]");
        let never = out[0].arms.iter().find(|a| a.arm == "never").unwrap();
        assert_eq!((never.speedup.ratio.value, never.speedup.at_least), (None, false));
    }
}
