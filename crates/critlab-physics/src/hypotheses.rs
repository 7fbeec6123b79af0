//! The seed's hypotheses (docs/theory.md §2) as tests with verdicts, over per-run summaries of a
//! sweep. Whatever the data says is the answer; each verdict carries a bootstrap interval
//! (95%, percentile, `resamples` draws over runs) and says when the sweep cannot test it.
//!
//! 1. *Action invariance*: across runs that grok, CV(S(t_grok)) < CV(t_grok), with
//!    CV = sd/|mean|. Verdict from the interval of CV(t_grok) − CV(S): above 0 supported,
//!    below 0 contradicted, else inconclusive. Needs ≥ 2 distinct (η, B).
//! 2. *Temperature symmetry*: runs with equal T = η/B grok at equal epochs. Collapse quality
//!    = pooled within-group variance of ln(epochs at t_grok) grouping by T, divided by the same
//!    grouping by η alone. Ratio < 1: T collapses the data better than η. Verdict from the
//!    interval of the ratio against 1. Needs a T shared by runs of different η.
//! 3. *Optimal balance*: runs whose batch B is closer to the measured gradient noise scale
//!    B_simple = tr Σ/‖G‖² grok sooner. Kendall τ between |ln(B/B_simple)| and ln(epochs at
//!    t_grok); τ > 0 supported. Needs ≥ 2 distinct B.
use crate::early_warning::kendall_tau;
use crate::stats;
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeMap;

/// What a run contributes.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct RunSummary {
    /// Learning rate η.
    pub lr: f64,
    /// Batch size B (N_train for full batch).
    pub batch: f64,
    /// Training examples N_train.
    pub n_train: f64,
    /// t_grok in steps, if the run grokked.
    pub t_grok: Option<f64>,
    /// The action S at t_grok.
    pub action_at_grok: Option<f64>,
    /// Median gradient noise scale B_simple before t_grok (or over the run).
    pub noise_scale: Option<f64>,
}

impl RunSummary {
    fn epochs(&self) -> Option<f64> {
        self.t_grok.map(|t| t * self.batch / self.n_train)
    }
}

/// Supported, contradicted, or not decided by the data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The interval lies on the hypothesis' side.
    Supported,
    /// The interval lies on the other side.
    Contradicted,
    /// The interval covers the boundary.
    Inconclusive,
    /// The sweep cannot test it (the reason is in `note`).
    NotTestable,
}

/// One hypothesis' result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HypothesisResult {
    /// Name.
    pub hypothesis: &'static str,
    /// The statistic (see the module table).
    pub statistic: Option<f64>,
    /// 95% bootstrap interval of the statistic.
    pub interval: Option<(f64, f64)>,
    /// Verdict.
    pub verdict: Verdict,
    /// Numbers behind it, in words.
    pub note: String,
}

/// Bootstrap options.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BootstrapOptions {
    /// Resamples (default 1000).
    pub resamples: usize,
    /// Seed (default 0).
    pub seed: u64,
}

impl Default for BootstrapOptions {
    fn default() -> Self {
        Self { resamples: 1000, seed: 0 }
    }
}

fn cv(v: &[f64]) -> f64 {
    stats::std_dev(v) / stats::mean(v).abs()
}

/// 95% percentile interval of `stat` over bootstrap resamples of `items` (non-finite
/// replicates dropped; `None` if fewer than half are finite).
pub(crate) fn bootstrap<T: Copy>(
    items: &[T],
    opts: &BootstrapOptions,
    stat: impl Fn(&[T]) -> f64,
) -> Option<(f64, f64)> {
    let mut rng = stats::rng(opts.seed, 7);
    let mut reps: Vec<f64> = (0..opts.resamples)
        .map(|_| {
            let sample: Vec<T> = (0..items.len()).map(|_| items[rng.gen_range(0..items.len())]).collect();
            stat(&sample)
        })
        .filter(|v| v.is_finite())
        .collect();
    if reps.len() * 2 < opts.resamples {
        return None;
    }
    reps.sort_by(f64::total_cmp);
    Some((stats::quantile_sorted(&reps, 0.025), stats::quantile_sorted(&reps, 0.975)))
}

fn verdict_above(interval: Option<(f64, f64)>, boundary: f64) -> Verdict {
    match interval {
        Some((lo, _)) if lo > boundary => Verdict::Supported,
        Some((_, hi)) if hi < boundary => Verdict::Contradicted,
        Some(_) => Verdict::Inconclusive,
        None => Verdict::NotTestable,
    }
}

fn distinct(v: impl Iterator<Item = f64>) -> usize {
    let mut v: Vec<f64> = v.collect();
    v.sort_by(f64::total_cmp);
    v.dedup_by(|a, b| (*a - *b).abs() <= 1e-9 * b.abs().max(1e-300));
    v.len()
}

fn not_testable(hypothesis: &'static str, note: String) -> HypothesisResult {
    HypothesisResult { hypothesis, statistic: None, interval: None, verdict: Verdict::NotTestable, note }
}

/// Hypothesis 1: S(t_grok) varies less than t_grok.
pub fn action_invariance(runs: &[RunSummary], opts: &BootstrapOptions) -> HypothesisResult {
    const H: &str = "action invariance";
    let pairs: Vec<(f64, f64)> = runs.iter().filter_map(|r| Some((r.t_grok?, r.action_at_grok?))).collect();
    let settings = distinct(runs.iter().filter(|r| r.t_grok.is_some()).map(|r| r.lr * 1e6 + r.batch));
    if pairs.len() < 4 || settings < 2 {
        return not_testable(
            H,
            format!("{} grokking runs over {settings} (η, B) settings; needs ≥ 4 runs and ≥ 2 settings", pairs.len()),
        );
    }
    let diff = |p: &[(f64, f64)]| {
        let (t, s): (Vec<f64>, Vec<f64>) = p.iter().copied().unzip();
        cv(&t) - cv(&s)
    };
    let (t, s): (Vec<f64>, Vec<f64>) = pairs.iter().copied().unzip();
    let interval = bootstrap(&pairs, opts, diff);
    HypothesisResult {
        hypothesis: H,
        statistic: Some(diff(&pairs)),
        interval,
        verdict: verdict_above(interval, 0.0),
        note: format!("CV(t_grok) = {:.3}, CV(S(t_grok)) = {:.3} over {} grokking runs, {settings} (η, B) settings; statistic CV(t) − CV(S)", cv(&t), cv(&s), pairs.len()),
    }
}

/// Pooled within-group variance of ln(epochs), grouping by `key`; groups of one run add nothing.
fn within_variance(runs: &[(f64, f64, f64)], key: impl Fn(&(f64, f64, f64)) -> f64) -> f64 {
    let mut groups: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for r in runs {
        groups.entry((key(r).ln() * 1e6).round() as i64).or_default().push(r.2.ln());
    }
    let (mut ss, mut dof) = (0.0, 0.0);
    for g in groups.values().filter(|g| g.len() > 1) {
        let m = stats::mean(g);
        ss += g.iter().map(|v| (v - m).powi(2)).sum::<f64>();
        dof += (g.len() - 1) as f64;
    }
    if dof > 0.0 {
        ss / dof
    } else {
        f64::NAN
    }
}

/// Hypothesis 2: equal η/B, equal epochs at t_grok.
pub fn temperature_symmetry(runs: &[RunSummary], opts: &BootstrapOptions) -> HypothesisResult {
    const H: &str = "temperature symmetry";
    let data: Vec<(f64, f64, f64)> = runs.iter().filter_map(|r| Some((r.lr, r.lr / r.batch, r.epochs()?))).collect();
    let mut by_t: BTreeMap<i64, Vec<f64>> = BTreeMap::new();
    for d in &data {
        by_t.entry((d.1.ln() * 1e6).round() as i64).or_default().push(d.0);
    }
    let shared = by_t.values().filter(|lrs| distinct(lrs.iter().copied()) > 1).count();
    if shared == 0 {
        return not_testable(
            H,
            format!("{} grokking runs; no temperature η/B is shared by runs of different η", data.len()),
        );
    }
    let ratio = |d: &[(f64, f64, f64)]| within_variance(d, |r| r.1) / within_variance(d, |r| r.0);
    let interval = bootstrap(&data, opts, ratio);
    // Supported when the ratio is below 1: flip the sign to reuse the "above" rule.
    let verdict = verdict_above(interval.map(|(lo, hi)| (-hi, -lo)), -1.0);
    HypothesisResult {
        hypothesis: H,
        statistic: Some(ratio(&data)),
        interval,
        verdict,
        note: format!(
            "within-group variance of ln(epochs at t_grok): grouped by T = η/B {:.4}, by η alone {:.4} ({} grokking runs, {shared} temperatures shared across η); statistic = their ratio, < 1 supports",
            within_variance(&data, |r| r.1),
            within_variance(&data, |r| r.0),
            data.len()
        ),
    }
}

/// Hypothesis 3: B near the noise scale B_simple groks sooner.
pub fn optimal_balance(runs: &[RunSummary], opts: &BootstrapOptions) -> HypothesisResult {
    const H: &str = "optimal balance (B ≈ B_simple)";
    let data: Vec<(f64, f64)> = runs
        .iter()
        .filter_map(|r| {
            let b = r.noise_scale.filter(|b| *b > 0.0)?;
            Some(((r.batch / b).ln().abs(), r.epochs()?.ln()))
        })
        .collect();
    let batches = distinct(runs.iter().filter(|r| r.t_grok.is_some()).map(|r| r.batch));
    if data.len() < 4 || batches < 2 {
        return not_testable(
            H,
            format!(
                "{} grokking runs with a positive noise scale over {batches} batch sizes; needs ≥ 4 and ≥ 2",
                data.len()
            ),
        );
    }
    let tau = |d: &[(f64, f64)]| {
        let (x, y): (Vec<f64>, Vec<f64>) = d.iter().copied().unzip();
        kendall_tau(&x, &y).unwrap_or(f64::NAN)
    };
    let interval = bootstrap(&data, opts, tau);
    HypothesisResult {
        hypothesis: H,
        statistic: Some(tau(&data)),
        interval,
        verdict: verdict_above(interval, 0.0),
        note: format!("Kendall τ between |ln(B/B_simple)| and ln(epochs at t_grok) over {} runs, {batches} batch sizes; τ > 0 supports", data.len()),
    }
}

/// All three.
pub fn test_all(runs: &[RunSummary], opts: &BootstrapOptions) -> Vec<HypothesisResult> {
    vec![action_invariance(runs, opts), temperature_symmetry(runs, opts), optimal_balance(runs, opts)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(lr: f64, batch: f64, t: f64, s: f64, noise: f64) -> RunSummary {
        RunSummary { lr, batch, n_train: 256.0, t_grok: Some(t), action_at_grok: Some(s), noise_scale: Some(noise) }
    }

    #[test]
    fn an_invariant_action_is_supported_and_a_varying_one_contradicted() {
        let mut rng = stats::rng(1, 0);
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for k in 0..12 {
            let lr = [0.05, 0.1, 0.2, 0.4][k % 4];
            let t = 100.0 / lr * (1.0 + 0.05 * stats::standard_normal(&mut rng));
            good.push(run(lr, 32.0, t, 50.0 * (1.0 + 0.01 * stats::standard_normal(&mut rng)), 32.0));
            bad.push(run(lr, 32.0, 1000.0 * (1.0 + 0.02 * stats::standard_normal(&mut rng)), t * t, 32.0));
        }
        let o = BootstrapOptions::default();
        assert_eq!(action_invariance(&good, &o).verdict, Verdict::Supported);
        assert_eq!(action_invariance(&bad, &o).verdict, Verdict::Contradicted);
        assert_eq!(action_invariance(&good[..2], &o).verdict, Verdict::NotTestable);
    }

    #[test]
    fn epochs_set_by_temperature_collapse_along_t_and_the_balance_is_found() {
        let mut rng = stats::rng(2, 0);
        let mut sym = Vec::new();
        for &lr in &[0.05, 0.1, 0.2, 0.4] {
            for &b in &[16.0, 32.0, 64.0, 128.0] {
                for _ in 0..2 {
                    // Epochs depend on T = η/B only (and grow away from B = 40).
                    let epochs = 10.0 * (1.0 + (lr / b) * 100.0) * (1.0 + 0.02 * stats::standard_normal(&mut rng));
                    let epochs = epochs * (1.0 + (b / 40.0f64).ln().abs());
                    sym.push(run(lr, b, epochs * 256.0 / b, 1.0, 40.0));
                }
            }
        }
        let o = BootstrapOptions { resamples: 300, seed: 1 };
        let t = temperature_symmetry(&sym, &o);
        assert_eq!(t.verdict, Verdict::Supported, "{t:?}");
        assert_eq!(optimal_balance(&sym, &o).verdict, Verdict::Supported);
        let one_batch: Vec<RunSummary> = sym.iter().filter(|r| r.batch == 32.0).copied().collect();
        assert_eq!(temperature_symmetry(&one_batch, &o).verdict, Verdict::NotTestable);
    }
}
