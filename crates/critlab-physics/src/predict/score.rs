//! Scoring the predictors over a sweep (docs/theory.md §10).
//!
//! * **Labels.** t_mem and t_grok are the first eval steps with train / test accuracy ≥ 0.9;
//!   a run is positive if it grokked within its budget τ.
//! * **Decision time** of a run: t_dec = t_mem + F·τ (F = `decision_at`; t_mem = 0 for a run
//!   that never memorised), snapped to the last eval step at or before it. A run is *eligible*
//!   if t_dec ≤ τ and it has not grokked by t_dec (after that there is nothing to predict).
//! * **Held-out by seed.** Everything a predictor learns (the norm-delay calibration, the
//!   logistic map from score to probability) is fitted on the runs of the other seeds and
//!   applied to the runs of the held-out seed, in turn for every seed (never split by step).
//!   The norm-delay law is calibrated on the other seeds' runs of the same phase-diagram *cell*
//!   (equal settings but for the seed), falling back to the runs of the same *class* (settings
//!   without seed, η and λ: task, p, training fraction, width, ...) and then to all other
//!   seeds' runs when fewer than 2 of them grokked ([`norm_delay::ClassCalibrations`]).
//! * **AUROC** of the score at t_dec over the eligible runs (Mann–Whitney, ties count ½), with a
//!   percentile bootstrap 95 % interval over runs; **within weight decay**: per λ, and pooled
//!   over the pairs (grokking, non-grokking) that share λ, bootstrap stratified by λ; **within
//!   cell**: pooled over the pairs that share every setting but the seed (the cells where seeds
//!   disagree), which no hyperparameter can separate, so only what the run shows can.
//! * **Lead**: the alarm is the first eval step at which P(grok) ≥ 0.5 (the predictor's own
//!   probability or the held-out logistic one); for a run that groks, lead = t_grok − t_alarm if
//!   the alarm came first. Median with a bootstrap interval; also as a fraction of t_grok.
//! * **MAPE** of the predicted t_grok (predictors that give one) at t_dec, and at t_mem, over the
//!   eligible grokking runs, held out by seed.
//! * **Stop-hopeless replay** (predictors with their own probability, as `sweep run
//!   --stop-hopeless` needs): a run would be stopped at the first eval step, after it has
//!   memorised and before its last, with P < 1 − P ([`super::hopeless`]);
//!   steps saved = Σ(τ − t_stop)/Σ τ; the phase of every run is recomputed from its truncated
//!   history, and a cell of the phase diagram (runs equal but for the seed) changes if its
//!   majority phase changes.
use super::norm_delay::{self, ClassCalibrations};
use super::{DelayCalibration, Prediction, PredictorKind, RunHistory, StepInterval};
use critlab_core::Phase;
use rayon::prelude::*;
use serde::Serialize;
use std::collections::BTreeMap;

/// A run with the key of its phase-diagram cell (its settings without the seed) and of its
/// class (its settings without the seed, η and λ).
#[derive(Debug, Clone)]
pub struct LabeledRun {
    /// The full history.
    pub history: RunHistory,
    /// Cell key.
    pub cell: String,
    /// Class key: the norm-delay law is calibrated per class.
    pub class: String,
}

/// The norm-delay calibrations used for the runs of one held-out seed (fitted on the others).
#[derive(Debug, Clone, Serialize)]
pub struct SeedCalibration {
    /// The held-out seed.
    pub seed: u64,
    /// Per cell, per class, and pooled.
    pub calibrations: ClassCalibrations,
}

/// Options of the scoring.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct ScoreOptions {
    /// F of the decision time t_mem + F·τ (default 0.1).
    pub decision_at: f64,
    /// Bootstrap replicates (default 1000).
    pub bootstrap: usize,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// P of the stop-hopeless replay (default 0.95).
    pub stop_hopeless: f64,
}

impl Default for ScoreOptions {
    fn default() -> Self {
        Self { decision_at: 0.1, bootstrap: 1000, seed: 0, stop_hopeless: 0.95 }
    }
}

/// AUROC within one weight decay.
#[derive(Debug, Clone, Serialize)]
pub struct StratumAuroc {
    /// λ.
    pub weight_decay: f64,
    /// Eligible runs that grokked.
    pub positives: usize,
    /// Eligible runs that did not.
    pub negatives: usize,
    /// AUROC (`None` when one class is empty).
    pub auroc: Option<f64>,
    /// Bootstrap 95 % interval.
    pub auroc_ci: Option<[f64; 2]>,
}

/// What stopping runs by this predictor would have done.
#[derive(Debug, Clone, Serialize)]
pub struct StopReplay {
    /// P of the rule (stop when P(grok) < 1 − P).
    pub threshold: f64,
    /// Fraction of all budgeted steps not trained.
    pub steps_saved: f64,
    /// Runs stopped.
    pub runs_stopped: usize,
    /// Runs that grokked in full but were stopped before t_grok.
    pub grokking_runs_lost: usize,
    /// Phase-diagram cells (settings without seed).
    pub cells: usize,
    /// Cells whose majority phase changes.
    pub cells_changed: usize,
}

/// The score of one predictor.
#[derive(Debug, Clone, Serialize)]
pub struct PredictorScore {
    /// Predictor name.
    pub name: &'static str,
    /// Eligible runs with a score at t_dec.
    pub scored: usize,
    /// AUROC over all eligible runs.
    pub auroc: Option<f64>,
    /// Its bootstrap 95 % interval.
    pub auroc_ci: Option<[f64; 2]>,
    /// Pooled AUROC over pairs that share the weight decay.
    pub auroc_within_weight_decay: Option<f64>,
    /// Its bootstrap 95 % interval (stratified by λ).
    pub auroc_within_weight_decay_ci: Option<[f64; 2]>,
    /// Per weight decay.
    pub auroc_by_weight_decay: Vec<StratumAuroc>,
    /// Pooled AUROC over pairs in the same phase-diagram cell (equal settings but the seed).
    pub auroc_within_cell: Option<f64>,
    /// Its bootstrap 95 % interval (stratified by cell).
    pub auroc_within_cell_ci: Option<[f64; 2]>,
    /// (grokking, non-grokking) pairs that share a cell.
    pub within_cell_pairs: usize,
    /// Grokking runs alarmed before t_grok.
    pub hits: usize,
    /// Non-grokking runs alarmed.
    pub false_alarms: usize,
    /// Median lead t_grok − t_alarm over hits, in steps.
    pub lead_median: Option<f64>,
    /// Its bootstrap 95 % interval.
    pub lead_ci: Option<[f64; 2]>,
    /// Median lead as a fraction of t_grok.
    pub lead_fraction_median: Option<f64>,
    /// MAPE of the predicted t_grok at t_dec (held out by seed).
    pub mape: Option<f64>,
    /// Its bootstrap 95 % interval.
    pub mape_ci: Option<[f64; 2]>,
    /// MAPE of the predicted t_grok at t_mem.
    pub mape_at_t_mem: Option<f64>,
    /// MAPE of the predicted delay t_grok − t_mem at t_mem (Truong et al.'s measure).
    pub mape_delay_at_t_mem: Option<f64>,
    /// Runs in the MAPE.
    pub mape_runs: usize,
    /// Stop-hopeless replay.
    pub stop_hopeless: Option<StopReplay>,
}

/// A run's label and decision time.
#[derive(Debug, Clone, Serialize)]
pub struct RunLabel {
    /// Run id.
    pub run: i64,
    /// Seed.
    pub seed: u64,
    /// λ.
    pub weight_decay: f64,
    /// t_mem.
    pub t_mem: Option<f64>,
    /// t_grok.
    pub t_grok: Option<f64>,
    /// Decision step.
    pub t_decision: f64,
    /// Whether it enters the AUROC.
    pub eligible: bool,
}

/// A point of a predicted-against-actual figure.
#[derive(Debug, Clone, Serialize)]
pub struct PredictedStep {
    /// Run id.
    pub run: i64,
    /// Actual t_grok.
    pub actual: f64,
    /// Predicted at t_dec.
    pub predicted: StepInterval,
}

/// Everything `critlab analyze predict` reports.
#[derive(Debug, Clone, Serialize)]
pub struct PredictReport {
    /// Options.
    pub options: ScoreOptions,
    /// Runs.
    pub runs: usize,
    /// Runs that grokked within their budget.
    pub grokked: usize,
    /// Runs that enter the AUROC.
    pub eligible: usize,
    /// Eligible runs that grokked.
    pub eligible_grokked: usize,
    /// Per predictor.
    pub predictors: Vec<PredictorScore>,
    /// The predictor with the highest within-weight-decay AUROC.
    pub best_within_weight_decay: Option<&'static str>,
    /// Norm-delay calibrations per held-out seed.
    pub calibrations: Vec<SeedCalibration>,
    /// Labels.
    pub labels: Vec<RunLabel>,
    /// ROC curve per predictor (false-positive rate, true-positive rate).
    pub roc: Vec<(&'static str, Vec<(f64, f64)>)>,
    /// Norm-delay predictions at t_dec against the actual t_grok.
    pub predicted_vs_actual: Vec<PredictedStep>,
}

/// Mann–Whitney AUROC of `(score, label)` pairs; `None` if a class is empty.
pub fn auroc(pairs: &[(f64, bool)]) -> Option<f64> {
    let pos: Vec<f64> = pairs.iter().filter(|p| p.1).map(|p| p.0).collect();
    let neg: Vec<f64> = pairs.iter().filter(|p| !p.1).map(|p| p.0).collect();
    if pos.is_empty() || neg.is_empty() {
        return None;
    }
    let (c, n) = concordance(&pos, &neg);
    Some(c / n)
}

/// (concordant + ½ ties, pairs).
fn concordance(pos: &[f64], neg: &[f64]) -> (f64, f64) {
    let mut c = 0.0;
    for &p in pos {
        for &q in neg {
            c += if p > q {
                1.0
            } else if p == q {
                0.5
            } else {
                0.0
            };
        }
    }
    (c, (pos.len() * neg.len()) as f64)
}

/// Pooled AUROC over the pairs within the same stratum: `(stratum, score, label)`.
pub fn stratified_auroc(items: &[(u64, f64, bool)]) -> Option<f64> {
    let mut groups: BTreeMap<u64, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for &(s, x, y) in items {
        let g = groups.entry(s).or_default();
        if y {
            g.0.push(x)
        } else {
            g.1.push(x)
        }
    }
    let (mut c, mut n) = (0.0, 0.0);
    for (pos, neg) in groups.values() {
        let (a, b) = concordance(pos, neg);
        c += a;
        n += b;
    }
    (n > 0.0).then(|| c / n)
}

/// ROC curve points (FPR, TPR) from the highest threshold down.
pub fn roc_curve(pairs: &[(f64, bool)]) -> Vec<(f64, f64)> {
    let (np, nn) = (pairs.iter().filter(|p| p.1).count() as f64, pairs.iter().filter(|p| !p.1).count() as f64);
    if np == 0.0 || nn == 0.0 {
        return Vec::new();
    }
    let mut sorted = pairs.to_vec();
    sorted.sort_by(|a, b| b.0.total_cmp(&a.0));
    let mut pts = vec![(0.0, 0.0)];
    let (mut tp, mut fp) = (0.0, 0.0);
    for (i, p) in sorted.iter().enumerate() {
        if p.1 {
            tp += 1.0
        } else {
            fp += 1.0
        }
        if i + 1 == sorted.len() || sorted[i + 1].0 != p.0 {
            pts.push((fp / nn, tp / np));
        }
    }
    pts
}

/// Percentile 95 % interval of a statistic over bootstrap resamples of `n` items (resampled
/// within each stratum of `strata`); `None` if fewer than half the replicates are defined.
fn bootstrap_ci(
    n: usize,
    strata: &[u64],
    reps: usize,
    seed: u64,
    stat: impl Fn(&[usize]) -> Option<f64> + Sync,
) -> Option<[f64; 2]> {
    use rand::Rng;
    if n == 0 || reps == 0 {
        return None;
    }
    let mut by: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    for (i, &s) in strata.iter().enumerate().take(n) {
        by.entry(s).or_default().push(i);
    }
    let mut values: Vec<f64> = (0..reps)
        .into_par_iter()
        .filter_map(|r| {
            let mut rng = crate::stats::rng(seed, r as u64);
            let idx: Vec<usize> = by
                .values()
                .flat_map(|g| (0..g.len()).map(|_| g[rng.gen_range(0..g.len())]).collect::<Vec<_>>())
                .collect();
            stat(&idx).filter(|v| v.is_finite())
        })
        .collect();
    if values.len() * 2 < reps {
        return None;
    }
    values.sort_by(f64::total_cmp);
    Some([crate::stats::quantile_sorted(&values, 0.025), crate::stats::quantile_sorted(&values, 0.975)])
}

fn median(v: &[f64]) -> Option<f64> {
    let mut s: Vec<f64> = v.iter().copied().filter(|x| x.is_finite()).collect();
    if s.is_empty() {
        return None;
    }
    s.sort_by(f64::total_cmp);
    Some(crate::stats::quantile_sorted(&s, 0.5))
}

/// Logistic map score → P(grok), fitted by Newton's method with a small ridge (finite even
/// for separable data); scores are standardised first.
#[derive(Debug, Clone, Copy)]
pub struct Logistic {
    a: f64,
    b: f64,
    mean: f64,
    scale: f64,
}

impl Logistic {
    /// Fits P(y | x) = σ(a + b·(x − m)/s); `None` with one class or fewer than 4 points.
    pub fn fit(pairs: &[(f64, bool)]) -> Option<Logistic> {
        let pts: Vec<(f64, f64)> =
            pairs.iter().filter(|p| p.0.is_finite()).map(|p| (p.0, f64::from(u8::from(p.1)))).collect();
        let pos = pts.iter().filter(|p| p.1 > 0.5).count();
        if pts.len() < 4 || pos == 0 || pos == pts.len() {
            return None;
        }
        let xs: Vec<f64> = pts.iter().map(|p| p.0).collect();
        let mean = crate::stats::mean(&xs);
        let scale = crate::stats::std_dev(&xs).max(1e-12);
        let (mut a, mut b) = (0.0, 0.0);
        let ridge = 1e-2;
        for _ in 0..50 {
            let (mut ga, mut gb, mut haa, mut hab, mut hbb) = (0.0, -ridge * b, 0.0, ridge, ridge);
            for &(x, y) in &pts {
                let z = (x - mean) / scale;
                let p = 1.0 / (1.0 + (-(a + b * z)).exp());
                let w = p * (1.0 - p);
                ga += y - p;
                gb += (y - p) * z;
                haa += w;
                hab += w * z;
                hbb += w * z * z;
            }
            let det = haa * hbb - hab * hab;
            if det.abs() < 1e-300 {
                break;
            }
            let (da, db) = ((hbb * ga - hab * gb) / det, (haa * gb - hab * ga) / det);
            a += da;
            b += db;
            if da.abs() + db.abs() < 1e-10 {
                break;
            }
        }
        Some(Logistic { a, b, mean, scale })
    }

    /// P at score `x`.
    pub fn probability(&self, x: f64) -> f64 {
        1.0 / (1.0 + (-(self.a + self.b * (x - self.mean) / self.scale)).exp())
    }
}

/// The prediction series of one run: `(step, prediction)` at every eval step.
type Trace = Vec<(f64, Option<Prediction>)>;

/// The prediction series of every kind for one run (each prefix is built once).
fn traces(kinds: &[PredictorKind], h: &RunHistory, cal: &DelayCalibration) -> Vec<Trace> {
    let mut out: Vec<Trace> = vec![Vec::new(); kinds.len()];
    for t in h.steps() {
        let past = h.until(t);
        for (k, kind) in kinds.iter().enumerate() {
            out[k].push((t, kind.predict(&past, cal)));
        }
    }
    out
}

fn at_step(tr: &Trace, t: f64) -> Option<Prediction> {
    tr.iter().take_while(|p| p.0 <= t).last().and_then(|p| p.1)
}

fn phase(t_mem: Option<f64>, t_grok: Option<f64>, budget: f64) -> Phase {
    match (t_mem, t_grok) {
        (Some(m), Some(g)) if g - m > 0.01 * budget => Phase::Grokking,
        (Some(_), Some(_)) => Phase::Comprehension,
        (Some(_), None) => Phase::Memorization,
        (None, _) => Phase::Confusion,
    }
}

fn majority(phases: &[Phase]) -> Option<Phase> {
    let order = [Phase::Comprehension, Phase::Grokking, Phase::Memorization, Phase::Confusion];
    order
        .iter()
        .copied()
        .max_by_key(|p| {
            (phases.iter().filter(|q| *q == p).count(), std::cmp::Reverse(order.iter().position(|o| o == p)))
        })
        .filter(|p| phases.contains(p))
}

/// Scores `kinds` over `runs`.
pub fn score(runs: &[LabeledRun], kinds: &[PredictorKind], opts: &ScoreOptions) -> PredictReport {
    let level = norm_delay::LEVEL;
    let labels: Vec<RunLabel> = runs
        .iter()
        .map(|r| {
            let h = &r.history;
            let (t_mem, t_grok) = (h.t_mem(level), h.t_grok(level));
            let target = t_mem.unwrap_or(0.0) + opts.decision_at * h.budget;
            let t_decision = h.steps().into_iter().take_while(|&t| t <= target).last().unwrap_or(0.0);
            let eligible = target <= h.budget && t_grok.is_none_or(|g| g > t_decision);
            RunLabel { run: h.run, seed: h.seed, weight_decay: h.weight_decay, t_mem, t_grok, t_decision, eligible }
        })
        .collect();
    let mut seeds: Vec<u64> = runs.iter().map(|r| r.history.seed).collect();
    seeds.sort_unstable();
    seeds.dedup();
    let calibrations: Vec<SeedCalibration> = seeds
        .iter()
        .map(|&s| SeedCalibration {
            seed: s,
            calibrations: ClassCalibrations::fit(
                runs.iter().filter(|r| r.history.seed != s).map(|r| (r.cell.as_str(), r.class.as_str(), &r.history)),
            ),
        })
        .collect();
    let cal_of = |r: &LabeledRun| {
        calibrations
            .iter()
            .find(|c| c.seed == r.history.seed)
            .map(|c| c.calibrations.get(&r.cell, &r.class))
            .unwrap_or_default()
    };
    let strata: Vec<u64> = labels.iter().map(|l| l.weight_decay.to_bits()).collect();
    let cell_ids: BTreeMap<&str, u64> =
        runs.iter().map(|r| r.cell.as_str()).collect::<std::collections::BTreeSet<_>>().into_iter().zip(0..).collect();
    let cell_strata: Vec<u64> = runs.iter().map(|r| cell_ids[r.cell.as_str()]).collect();

    let mut predictors = Vec::new();
    let mut roc = Vec::new();
    let mut predicted_vs_actual = Vec::new();
    let mut all_traces: Vec<Vec<Trace>> = runs.par_iter().map(|r| traces(kinds, &r.history, &cal_of(r))).collect();
    for (k, &kind) in kinds.iter().enumerate() {
        let traces: Vec<Trace> = all_traces.iter_mut().map(|t| std::mem::take(&mut t[k])).collect();
        let at_dec: Vec<Option<Prediction>> =
            traces.iter().zip(&labels).map(|(tr, l)| at_step(tr, l.t_decision)).collect();
        let score_of = |i: usize| at_dec[i].map_or(f64::NEG_INFINITY, |p| p.score);
        let elig: Vec<usize> = (0..runs.len()).filter(|&i| labels[i].eligible).collect();
        let y = |i: usize| labels[i].t_grok.is_some();
        // Held-out logistic maps, one per seed, for predictors without their own probability.
        let own_probability = at_dec.iter().flatten().any(|p| p.probability.is_some());
        let logistic: BTreeMap<u64, Option<Logistic>> = seeds
            .iter()
            .map(|&s| {
                let pairs: Vec<(f64, bool)> =
                    elig.iter().filter(|&&i| labels[i].seed != s).map(|&i| (score_of(i), y(i))).collect();
                (s, Logistic::fit(&pairs))
            })
            .collect();
        let prob = |i: usize, p: &Prediction| -> Option<f64> {
            if own_probability {
                p.probability
            } else {
                logistic.get(&labels[i].seed).copied().flatten().map(|l| l.probability(p.score))
            }
        };
        // AUROC.
        let pairs_of =
            |idx: &[usize]| -> Vec<(f64, bool)> { idx.iter().map(|&j| (score_of(elig[j]), y(elig[j]))).collect() };
        // A predictor that has nothing to say at t_dec for any run is not scored (rather than
        // 0.5 from all-tied scores).
        let all: Vec<usize> =
            if elig.iter().any(|&i| at_dec[i].is_some()) { (0..elig.len()).collect() } else { Vec::new() };
        let auc = auroc(&pairs_of(&all));
        let auc_ci = bootstrap_ci(all.len(), &vec![0; all.len()], opts.bootstrap, opts.seed + k as u64, |idx| {
            auroc(&pairs_of(idx))
        });
        let strat_of = |idx: &[usize]| -> Vec<(u64, f64, bool)> {
            idx.iter().map(|&j| (strata[elig[j]], score_of(elig[j]), y(elig[j]))).collect()
        };
        let elig_strata: Vec<u64> = elig.iter().map(|&i| strata[i]).collect();
        let within = stratified_auroc(&strat_of(&all));
        let within_ci = bootstrap_ci(all.len(), &elig_strata, opts.bootstrap, opts.seed + 1000 + k as u64, |idx| {
            stratified_auroc(&strat_of(idx))
        });
        let cell_of = |idx: &[usize]| -> Vec<(u64, f64, bool)> {
            idx.iter().map(|&j| (cell_strata[elig[j]], score_of(elig[j]), y(elig[j]))).collect()
        };
        let elig_cells: Vec<u64> = elig.iter().map(|&i| cell_strata[i]).collect();
        let within_cell = stratified_auroc(&cell_of(&all));
        let within_cell_ci = bootstrap_ci(all.len(), &elig_cells, opts.bootstrap, opts.seed + 3000 + k as u64, |idx| {
            stratified_auroc(&cell_of(idx))
        });
        let within_cell_pairs = {
            let mut count: BTreeMap<u64, (usize, usize)> = BTreeMap::new();
            for &(c, _, pos) in &cell_of(&all) {
                let e = count.entry(c).or_default();
                if pos {
                    e.0 += 1
                } else {
                    e.1 += 1
                }
            }
            count.values().map(|(a, b)| a * b).sum()
        };
        let mut wds: Vec<f64> = elig.iter().map(|&i| labels[i].weight_decay).collect();
        wds.sort_by(f64::total_cmp);
        wds.dedup();
        let by_wd = wds
            .iter()
            .map(|&wd| {
                let sub: Vec<usize> = all.iter().copied().filter(|&j| labels[elig[j]].weight_decay == wd).collect();
                let pairs = pairs_of(&sub);
                let positives = pairs.iter().filter(|p| p.1).count();
                let ci =
                    bootstrap_ci(sub.len(), &vec![0; sub.len()], opts.bootstrap, opts.seed + 2000 + k as u64, |idx| {
                        auroc(&idx.iter().map(|&m| pairs[m]).collect::<Vec<_>>())
                    });
                StratumAuroc {
                    weight_decay: wd,
                    positives,
                    negatives: pairs.len() - positives,
                    auroc: auroc(&pairs),
                    auroc_ci: ci,
                }
            })
            .collect();
        roc.push((kind.name(), roc_curve(&pairs_of(&all))));
        // Alarms and leads over every run.
        let (mut hits, mut false_alarms, mut leads, mut fracs) = (0, 0, Vec::new(), Vec::new());
        for (i, tr) in traces.iter().enumerate() {
            let alarm = tr.iter().find(|(_, p)| p.is_some_and(|p| prob(i, &p).is_some_and(|q| q >= 0.5))).map(|x| x.0);
            match (labels[i].t_grok, alarm) {
                (Some(g), Some(a)) if a < g => {
                    hits += 1;
                    leads.push(g - a);
                    fracs.push((g - a) / g);
                }
                (None, Some(_)) => false_alarms += 1,
                _ => {}
            }
        }
        let lead_ci =
            bootstrap_ci(leads.len(), &vec![0; leads.len()], opts.bootstrap, opts.seed + 3000 + k as u64, |idx| {
                median(&idx.iter().map(|&m| leads[m]).collect::<Vec<_>>())
            });
        // MAPE of predicted t_grok.
        let (mut ape, mut ape_mem, mut ape_delay) = (Vec::new(), Vec::new(), Vec::new());
        for &i in &elig {
            let (Some(g), Some(p)) = (labels[i].t_grok, at_dec[i]) else { continue };
            let Some(t) = p.t_grok else { continue };
            ape.push((t.value - g).abs() / g);
            if k == kinds.iter().position(|&q| q == PredictorKind::NormDelay).unwrap_or(usize::MAX) {
                predicted_vs_actual.push(PredictedStep { run: labels[i].run, actual: g, predicted: t });
            }
            if let Some(m) = labels[i].t_mem {
                if let Some(tm) = at_step(&traces[i], m).and_then(|p| p.t_grok) {
                    ape_mem.push((tm.value - g).abs() / g);
                    if g > m {
                        ape_delay.push(((tm.value - m) - (g - m)).abs() / (g - m));
                    }
                }
            }
        }
        let mean = |v: &[f64]| (!v.is_empty()).then(|| crate::stats::mean(v));
        let mape_ci =
            bootstrap_ci(ape.len(), &vec![0; ape.len()], opts.bootstrap, opts.seed + 4000 + k as u64, |idx| {
                mean(&idx.iter().map(|&m| ape[m]).collect::<Vec<_>>())
            });
        // Stop-hopeless replay, for predictors with their own probability (as live: a logistic map
        // fitted at t_dec says nothing about early steps).
        let stop_hopeless = own_probability.then(|| {
            let (mut saved, mut total, mut stopped, mut lost) = (0.0, 0.0, 0, 0);
            let mut cells: BTreeMap<&str, (Vec<Phase>, Vec<Phase>)> = BTreeMap::new();
            for (i, tr) in traces.iter().enumerate() {
                let budget = runs[i].history.budget;
                let l = &labels[i];
                let memorised = |t: f64| l.t_mem.is_some_and(|m| m <= t);
                let stop = tr
                    .iter()
                    .find(|(t, p)| {
                        *t < budget
                            && p.is_some_and(|p| {
                                prob(i, &p).is_some_and(|q| super::hopeless(q, opts.stop_hopeless, memorised(*t)))
                            })
                    })
                    .map(|x| x.0);
                total += budget;
                let full = phase(l.t_mem, l.t_grok, budget);
                let cut_phase = match stop {
                    Some(s) => {
                        stopped += 1;
                        saved += budget - s;
                        if l.t_grok.is_some_and(|g| g > s) {
                            lost += 1;
                        }
                        phase(l.t_mem.filter(|&m| m <= s), l.t_grok.filter(|&g| g <= s), budget)
                    }
                    None => full,
                };
                let c = cells.entry(runs[i].cell.as_str()).or_default();
                c.0.push(full);
                c.1.push(cut_phase);
            }
            let cells_changed = cells.values().filter(|(a, b)| majority(a) != majority(b)).count();
            StopReplay {
                threshold: opts.stop_hopeless,
                steps_saved: saved / total.max(1.0),
                runs_stopped: stopped,
                grokking_runs_lost: lost,
                cells: cells.len(),
                cells_changed,
            }
        });
        predictors.push(PredictorScore {
            name: kind.name(),
            scored: elig.iter().filter(|&&i| at_dec[i].is_some()).count(),
            auroc: auc,
            auroc_ci: auc_ci,
            auroc_within_weight_decay: within,
            auroc_within_weight_decay_ci: within_ci,
            auroc_by_weight_decay: by_wd,
            auroc_within_cell: within_cell,
            auroc_within_cell_ci: within_cell_ci,
            within_cell_pairs,
            hits,
            false_alarms,
            lead_median: median(&leads),
            lead_ci,
            lead_fraction_median: median(&fracs),
            mape: mean(&ape),
            mape_ci,
            mape_at_t_mem: mean(&ape_mem),
            mape_delay_at_t_mem: mean(&ape_delay),
            mape_runs: ape.len(),
            stop_hopeless,
        });
    }
    let best_within_weight_decay = predictors
        .iter()
        .filter_map(|p| Some((p.name, p.auroc_within_weight_decay?)))
        .max_by(|a, b| a.1.total_cmp(&b.1))
        .map(|p| p.0);
    PredictReport {
        options: *opts,
        runs: runs.len(),
        grokked: labels.iter().filter(|l| l.t_grok.is_some()).count(),
        eligible: labels.iter().filter(|l| l.eligible).count(),
        eligible_grokked: labels.iter().filter(|l| l.eligible && l.t_grok.is_some()).count(),
        predictors,
        best_within_weight_decay,
        calibrations,
        labels,
        roc,
        predicted_vs_actual,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auroc_of_perfect_random_and_reversed_scores() {
        let perfect = [(0.9, true), (0.8, true), (0.2, false), (0.1, false)];
        assert_eq!(auroc(&perfect), Some(1.0));
        let reversed: Vec<(f64, bool)> = perfect.iter().map(|p| (-p.0, p.1)).collect();
        assert_eq!(auroc(&reversed), Some(0.0));
        assert_eq!(auroc(&[(0.5, true), (0.5, false)]), Some(0.5));
        assert_eq!(auroc(&[(0.5, true)]), None);
        let roc = roc_curve(&perfect);
        assert_eq!(roc.first(), Some(&(0.0, 0.0)));
        assert_eq!(roc.last(), Some(&(1.0, 1.0)));
    }

    #[test]
    fn within_stratum_auroc_ignores_between_stratum_separation() {
        // The score separates the strata perfectly but is random within them.
        let items = [(1, 10.0, true), (1, 10.0, false), (2, 0.0, true), (2, 0.0, false)];
        let pairs: Vec<(f64, bool)> = items.iter().map(|i| (i.1, i.2)).collect();
        assert_eq!(auroc(&pairs), Some(0.5));
        assert_eq!(stratified_auroc(&items), Some(0.5));
        let skewed =
            [(1, 10.0, true), (1, 10.0, true), (1, 10.0, false), (2, 0.0, false), (2, 0.0, false), (2, 0.0, true)];
        let p2: Vec<(f64, bool)> = skewed.iter().map(|i| (i.1, i.2)).collect();
        assert!(auroc(&p2).unwrap() > 0.6);
        assert_eq!(stratified_auroc(&skewed), Some(0.5));
    }

    #[test]
    fn logistic_follows_the_score() {
        let pairs: Vec<(f64, bool)> = (0..40).map(|i| (i as f64, i >= 20 || i % 7 == 0)).collect();
        let l = Logistic::fit(&pairs).unwrap();
        assert!(l.probability(39.0) > 0.8 && l.probability(0.0) < 0.4);
    }

    /// Within a cell only the seeds differ: a score that follows the seed's outcome gets
    /// within-cell AUROC 1 over every (grokking, non-grokking) pair of a cell; a score that
    /// only tells the cells apart gets 0.5 there, however well it ranks across cells.
    #[test]
    fn within_cell_auroc_scores_only_seeds_of_one_cell() {
        let runs_with = |norm: &dyn Fn(usize, u64, bool) -> f64| -> Vec<LabeledRun> {
            let mut out = Vec::new();
            for cell in 0..2usize {
                for seed in 0..6u64 {
                    let groks = seed % 2 == 1;
                    let steps: Vec<f64> = (0..=100).map(|i| i as f64 * 20.0).collect();
                    let history = RunHistory {
                        run: (cell * 10) as i64 + seed as i64,
                        seed,
                        lr: 1e-3,
                        weight_decay: 1.0,
                        budget: 2000.0,
                        train_acc: steps.iter().map(|&t| (t, if t >= 100.0 { 1.0 } else { 0.0 })).collect(),
                        test_acc: steps.iter().map(|&t| (t, if groks && t >= 1500.0 { 1.0 } else { 0.0 })).collect(),
                        weight_norm: steps.iter().map(|&t| (t, norm(cell, seed, groks))).collect(),
                        ..Default::default()
                    };
                    out.push(LabeledRun { history, cell: format!("cell{cell}"), class: String::new() });
                }
            }
            out
        };
        let opts = ScoreOptions { bootstrap: 50, ..Default::default() };
        // The norm is lower for the runs that grok (score −ln‖θ‖ higher).
        let by_seed =
            score(&runs_with(&|_, _, groks| if groks { 1.0 } else { 2.0 }), &[PredictorKind::WeightNorm], &opts);
        let p = &by_seed.predictors[0];
        assert_eq!(p.within_cell_pairs, 2 * 3 * 3);
        assert_eq!(p.auroc_within_cell, Some(1.0));
        // The norm tells only the cells apart.
        let by_cell = score(&runs_with(&|cell, _, _| 1.0 + cell as f64), &[PredictorKind::WeightNorm], &opts);
        assert_eq!(by_cell.predictors[0].auroc_within_cell, Some(0.5));
    }

    /// A synthetic sweep in which the norm-delay law holds with K = e^{±0.1}: λ ∈ {0.5, 1}, η
    /// such that the delay K/(ηλ) fits the 4000-step budget (ηλ ≥ 5e-4) or not (ηλ ≤ 1e-4).
    /// Runs for which the law holds with K = `k_class`·e^{±0.1} (by seed).
    fn law_runs(k_class: f64, class: &str, first_id: i64) -> Vec<LabeledRun> {
        let mut out = Vec::new();
        let mut id = first_id;
        for &wd in &[0.5, 1.0] {
            for &lr in &[2e-3, 1e-3, 1e-4] {
                for seed in 0..5u64 {
                    let k = k_class * (0.05 * (seed as f64 - 2.0)).exp();
                    let t_mem = 100.0;
                    let g = t_mem + k / (lr * wd);
                    let budget = 4000.0;
                    let steps: Vec<f64> = (0..=200).map(|i| i as f64 * 20.0).collect();
                    let history = RunHistory {
                        run: id,
                        seed,
                        lr,
                        weight_decay: wd,
                        budget,
                        train_acc: steps.iter().map(|&t| (t, if t >= t_mem { 1.0 } else { 0.0 })).collect(),
                        test_acc: steps.iter().map(|&t| (t, if t >= g { 1.0 } else { 0.0 })).collect(),
                        weight_norm: steps.iter().map(|&t| (t, 10.0 * (-(lr * wd) * t).exp())).collect(),
                        ..Default::default()
                    };
                    id += 1;
                    out.push(LabeledRun { history, cell: format!("{class}/{wd}/{lr}"), class: class.to_string() });
                }
            }
        }
        out
    }

    fn law_sweep() -> Vec<LabeledRun> {
        law_runs(1.0, "", 0)
    }

    /// Two classes (say two training fractions) whose K differ by e²: one calibration per
    /// class predicts t_grok as well as in one class; a pooled one would miss by a factor ~e.
    #[test]
    fn the_law_is_calibrated_per_class() {
        let mut runs = law_runs(0.4, "f=0.8", 0);
        runs.extend(law_runs(0.4 * std::f64::consts::E.powi(2), "f=0.7", 1000));
        let r = score(&runs, &[PredictorKind::NormDelay], &ScoreOptions { bootstrap: 50, ..Default::default() });
        assert!(r.calibrations.iter().all(|c| c.calibrations.by_class.len() == 2), "{:?}", r.calibrations);
        let nd = &r.predictors[0];
        assert!(nd.mape_runs > 10 && nd.mape.unwrap() < 0.3, "{nd:?}");
    }

    #[test]
    fn the_law_scores_a_sweep_where_it_holds() {
        let runs = law_sweep();
        let opts = ScoreOptions { bootstrap: 200, ..Default::default() };
        let r = score(&runs, &[PredictorKind::WeightNorm, PredictorKind::NormDelay], &opts);
        let nd = &r.predictors[1];
        assert!(r.eligible_grokked > 0 && r.eligible > r.eligible_grokked, "{} {}", r.eligible, r.eligible_grokked);
        assert!(nd.auroc_within_weight_decay.unwrap() > 0.95, "{nd:?}");
        assert!(nd.mape.unwrap() < 0.3, "{nd:?}");
        let ci = nd.auroc_ci.unwrap();
        assert!(ci[0] <= nd.auroc.unwrap() && nd.auroc.unwrap() <= ci[1]);
        let stop = nd.stop_hopeless.as_ref().unwrap();
        assert!(stop.steps_saved > 0.1 && stop.grokking_runs_lost == 0, "{stop:?}");
        assert_eq!(r.best_within_weight_decay, Some("norm-delay"));
    }
}
