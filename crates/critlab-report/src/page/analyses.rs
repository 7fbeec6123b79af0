//! The analyses the page adds where the store holds their inputs: each Noether charge against
//! the theory for the run's optimizer ([`critlab_physics::conservation`]), and the score of
//! every early-warning indicator over the runs ([`critlab_physics::early_warning`]).
use super::data::Rounded;
use critlab_core::{OptimizerKind, RunSpec};
use critlab_physics::conservation::{self, Dynamics};
use critlab_physics::early_warning::{self, EwsOptions, Indicator, IndicatorScore, ScoredRun, Signals};
use serde::Serialize;
use std::collections::BTreeMap;

/// A run's metrics as name → (step, value).
pub type Metrics = BTreeMap<String, Vec<(i64, f64)>>;

/// One stored charge of one run against its theory.
#[derive(Debug, Clone, Serialize)]
pub struct ChargeView {
    /// Run id.
    pub run: i64,
    /// Metric name (`charge_translation`, `charge_rescale/<layer>`, ...).
    pub name: String,
    /// The law applied, in words.
    pub theory: String,
    /// (Q(T) − Q(0)) / |Q(0)|.
    pub relative_drift: Rounded,
    /// max |measured − predicted| / max |measured|, where a closed form exists.
    pub residual: Option<Rounded>,
    /// Fitted decay rate per unit t = η·step and its standard error.
    pub fitted_rate: Option<[Rounded; 2]>,
    /// The rate the theory expects.
    pub expected_rate: Option<Rounded>,
    /// Predicted Q at the run's kept steps (absent for Adam/AdamW: no closed form).
    pub predicted: Option<Vec<(i64, Rounded)>>,
}

/// The optimizer dynamics of a stored spec, if it parses.
fn dynamics(spec: &serde_json::Value) -> Option<Dynamics> {
    let spec: RunSpec = serde_json::from_value(spec.clone()).ok()?;
    Some(match spec.optimizer {
        OptimizerKind::Sgd => Dynamics::Sgd { lr: spec.lr, weight_decay: spec.weight_decay, momentum: spec.momentum },
        OptimizerKind::Adam | OptimizerKind::Adamw => {
            Dynamics::Adaptive { lr: spec.lr, weight_decay: spec.weight_decay }
        }
    })
}

fn as_f64(points: &[(i64, f64)]) -> Vec<(f64, f64)> {
    points.iter().map(|&(s, v)| (s as f64, v)).collect()
}

/// Every aggregate charge of a run against theory. A charge is linear in θ for translation and
/// quadratic for the others (critlab-train's probes/noether.rs); its `_source` series, when
/// stored, feeds the finite-step term.
pub fn charges(run: i64, spec: &serde_json::Value, m: &Metrics, kept: &[i64]) -> Vec<ChargeView> {
    let Some(dyn_) = dynamics(spec) else { return Vec::new() };
    m.iter()
        .filter(|(name, _)| name.starts_with("charge_") && !name.contains("_source"))
        .filter_map(|(name, pts)| {
            let measured = as_f64(pts);
            let source_name = name.replacen('/', "_source/", 1);
            let source = m.get(&source_name).filter(|_| source_name != *name).map(|s| as_f64(s));
            let quadratic = name != "charge_translation";
            let c = conservation::compare(name, &measured, source.as_deref(), quadratic, dyn_)?;
            let predicted = c.predicted.map(|p| {
                let at: BTreeMap<i64, f64> = p.into_iter().map(|(s, q)| (s as i64, q)).collect();
                kept.iter().filter_map(|s| at.get(s).map(|q| (*s, Rounded(*q)))).collect()
            });
            Some(ChargeView {
                run,
                name: name.clone(),
                theory: c.theory,
                relative_drift: Rounded(c.relative_drift),
                residual: c.residual.map(Rounded),
                fitted_rate: c.fitted_rate.map(|r| [Rounded(r.value), Rounded(r.stderr)]),
                expected_rate: c.expected_rate.map(Rounded),
                predicted,
            })
        })
        .collect()
}

/// The early-warning signals of a run, built as `critlab analyze early-warning` builds them
/// (order parameter: the test loss).
pub fn signals(m: &Metrics) -> Signals {
    let get = |n: &str| m.get(n).map(|p| as_f64(p)).unwrap_or_default();
    let kinetic: BTreeMap<i64, f64> =
        m.get("kinetic_displacement").map(|p| p.iter().copied().collect()).unwrap_or_default();
    let kinetic_potential = m
        .get("potential_noise")
        .map(|p| {
            p.iter()
                .filter_map(|(s, u)| kinetic.get(s).map(|k| (*s as f64, k / u.abs())))
                .filter(|p| p.1.is_finite())
                .collect()
        })
        .unwrap_or_default();
    let mut charge: BTreeMap<i64, f64> = BTreeMap::new();
    for (name, pts) in m {
        if name.starts_with("charge_rescale/") && name.matches('/').count() == 1 {
            for (s, v) in pts {
                *charge.entry(*s).or_default() += v;
            }
        }
    }
    Signals {
        order: get("test_loss"),
        kinetic_potential,
        rank: get("repr_effective_rank"),
        weight_norm: get("weight_norm"),
        charge: charge.into_iter().map(|(s, v)| (s as f64, v)).collect(),
    }
}

/// The early-warning score over the runs, with each run's first warnings.
#[derive(Debug, Clone, Serialize)]
pub struct EarlyWarningView {
    /// The options used (the defaults of `critlab analyze early-warning`).
    pub options: EwsOptions,
    /// Per indicator: hits, misses, false alarms, precision, recall, median lead.
    pub scores: Vec<IndicatorScore>,
    /// Per run: t_grok and the first warning of each indicator.
    pub runs: Vec<ScoredRun>,
}

/// Scores every indicator over `runs` (id, t_grok, signals); `None` for fewer than two runs.
pub fn early_warning(runs: Vec<(i64, Option<f64>, Signals)>) -> Option<EarlyWarningView> {
    if runs.len() < 2 {
        return None;
    }
    let options = EwsOptions::default();
    let scored: Vec<ScoredRun> = runs
        .into_iter()
        .map(|(run, t_grok, s)| ScoredRun {
            run,
            t_grok,
            warnings: early_warning::first_warnings(&s, &Indicator::ALL, &options),
        })
        .collect();
    let scores = early_warning::score(&scored, &Indicator::ALL);
    Some(EarlyWarningView { options, scores, runs: scored })
}
