//! `critlab analyze early-warning`: critical-slowing-down and framework indicators on stored
//! runs ([`critlab_physics::early_warning`]), computed online; over a sweep, the score of
//! every indicator (hits before t_grok, false alarms on runs that never grok, precision,
//! recall, median lead time) as a table and a plot.
use super::common::OutputArgs;
use crate::args::StoreArg;
use crate::table;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use critlab_physics::early_warning::{
    self, Detrend, EwsOptions, Indicator, IndicatorScore, ScoredRun, Signals, Window,
};
use critlab_physics::transitions::{self, RunSeries, TransitionOptions};
use critlab_store::{RunId, Store};
use serde::Serialize;
use std::collections::BTreeMap;
use std::process::ExitCode;

/// Early-warning indicators of the transition on stored runs.
#[derive(Debug, Args)]
pub struct EarlyWarningCmd {
    #[command(flatten)]
    store: StoreArg,
    /// One run
    #[arg(long, conflicts_with = "sweep")]
    run: Option<RunId>,
    /// Every run of a sweep, scored
    #[arg(long)]
    sweep: Option<String>,
    #[command(flatten)]
    ews: EwsArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// The typed options of the indicators, shared with `critlab watch`.
#[derive(Debug, Clone, Args)]
pub struct EwsArgs {
    /// Series whose critical slowing down is measured
    #[arg(long, default_value = "test_loss")]
    pub column: String,
    /// Rolling window as a fraction of the points so far, in (0, 1] (ewstools' default 0.5)
    #[arg(long, default_value_t = 0.5, conflicts_with = "window_points", value_parser = crate::args::fraction)]
    pub window_fraction: f64,
    /// Rolling window as a number of points (≥ 2)
    #[arg(long, value_parser = crate::args::at_least::<2>)]
    pub window_points: Option<usize>,
    /// Detrending of the series before the rolling statistics
    #[arg(long, value_enum, default_value_t = DetrendArg::Gaussian)]
    pub detrend: DetrendArg,
    /// Bandwidth of the Gaussian detrending, as a fraction of the series length, in (0, 1]
    #[arg(long, default_value_t = 0.2, value_parser = crate::args::fraction)]
    pub bandwidth: f64,
    /// Kendall τ at which a warning fires, in (0, 1]
    #[arg(long, default_value_t = 0.7, value_parser = crate::args::fraction)]
    pub tau_threshold: f64,
    /// Indicator values needed before a warning can fire (≥ 2)
    #[arg(long, default_value_t = 30, value_parser = crate::args::at_least::<2>)]
    pub min_points: usize,
}

/// Detrending choices.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum DetrendArg {
    /// Gaussian kernel smoother
    Gaussian,
    /// Straight line
    Linear,
    /// None
    None,
}

impl EwsArgs {
    /// The physics options.
    pub fn options(&self) -> EwsOptions {
        EwsOptions {
            window: self.window_points.map(Window::Points).unwrap_or(Window::Fraction(self.window_fraction)),
            detrend: match self.detrend {
                DetrendArg::Gaussian => Detrend::Gaussian { bandwidth: self.bandwidth },
                DetrendArg::Linear => Detrend::Linear,
                DetrendArg::None => Detrend::None,
            },
            tau_threshold: self.tau_threshold,
            min_points: self.min_points,
        }
    }
}

fn as_f64(points: Vec<(i64, f64)>) -> Vec<(f64, f64)> {
    points.into_iter().map(|(s, v)| (s as f64, v)).collect()
}

/// Every early-warning signal of a stored run: the CSD series `column` and the framework's.
pub fn load_signals(store: &Store, run: RunId, column: &str) -> Result<Signals> {
    // A missing run or series is an error, not a quiet "no warning".
    store.run(run)?;
    let names = store.metric_names(run)?;
    if !names.iter().any(|n| n == column) {
        bail!(
            "run {run} in {} has no metric `{column}` (--column); it has: {}",
            store.path().display(),
            names.iter().filter(|n| !n.contains('/')).cloned().collect::<Vec<_>>().join(", ")
        );
    }
    let get = |name: &str| -> Result<Vec<(f64, f64)>> { Ok(as_f64(store.series(run, name)?)) };
    let kinetic: BTreeMap<i64, f64> = store.series(run, "kinetic_displacement")?.into_iter().collect();
    let kinetic_potential = store
        .series(run, "potential_noise")?
        .into_iter()
        .filter_map(|(s, u)| kinetic.get(&s).map(|k| (s as f64, k / u.abs())))
        .filter(|p| p.1.is_finite())
        .collect();
    let mut charge: BTreeMap<i64, f64> = BTreeMap::new();
    for name in names {
        if name.starts_with("charge_rescale/") && name.matches('/').count() == 1 {
            for (s, v) in store.series(run, &name)? {
                *charge.entry(s).or_default() += v;
            }
        }
    }
    Ok(Signals {
        order: get(column)?,
        kinetic_potential,
        rank: get("repr_effective_rank")?,
        weight_norm: get("weight_norm")?,
        charge: charge.into_iter().map(|(s, v)| (s as f64, v)).collect(),
    })
}

/// t_grok of a stored run by the accuracy threshold (docs/theory.md §4).
pub fn t_grok(store: &Store, run: RunId) -> Result<Option<f64>> {
    let mut s = RunSeries::default();
    for (slot, name) in
        [&mut s.train_acc, &mut s.test_acc, &mut s.train_loss, &mut s.test_loss, &mut s.explained_variance]
            .into_iter()
            .zip(RunSeries::NAMES)
    {
        *slot = store.series(run, name)?;
    }
    Ok(transitions::accuracy(&s, &TransitionOptions::default()).t_grok)
}

#[derive(Serialize)]
struct Report {
    options: EwsOptions,
    runs: Vec<ScoredRun>,
    scores: Option<Vec<IndicatorScore>>,
}

/// Runs `critlab analyze early-warning`.
pub fn run(cmd: EarlyWarningCmd) -> Result<ExitCode> {
    let store = Store::open_read_only(&cmd.store.store)?;
    let ids: Vec<RunId> = match (&cmd.run, &cmd.sweep) {
        (Some(id), _) => vec![*id],
        (None, Some(sweep)) => store.runs(Some(sweep))?.into_iter().map(|r| r.id).collect(),
        (None, None) => bail!("give --run ID or --sweep NAME"),
    };
    if ids.is_empty() {
        bail!("no runs in sweep {}", cmd.sweep.as_deref().unwrap_or(""));
    }
    let opts = cmd.ews.options();
    let mut runs = Vec::new();
    for id in ids {
        let signals = load_signals(&store, id, &cmd.ews.column)?;
        let warnings = early_warning::first_warnings(&signals, &Indicator::ALL, &opts);
        runs.push(ScoredRun { run: id, t_grok: t_grok(&store, id)?, warnings });
    }
    let scores = cmd.sweep.is_some().then(|| early_warning::score(&runs, &Indicator::ALL));
    let report = Report { options: opts, runs, scores };
    cmd.out.emit(&report, || summary(&report), || figure(&report))?;
    Ok(ExitCode::SUCCESS)
}

fn summary(r: &Report) -> String {
    let step = |t: Option<f64>| t.map(|t| format!("{t:.0}")).unwrap_or_else(|| "never".into());
    let mut out = String::new();
    for run in &r.runs {
        out.push_str(&format!("run {}: t_grok {}\n", run.run, step(run.t_grok)));
        for w in &run.warnings {
            let lead = run.t_grok.map(|t| format!(" (lead {:.0})", t - w.step)).unwrap_or_default();
            out.push_str(&format!(
                "  {:<20} fires at step {:.0}, τ = {:.2}{lead}\n",
                w.indicator.as_str(),
                w.step,
                w.tau
            ));
        }
        if run.warnings.is_empty() {
            out.push_str("  no warning\n");
        }
    }
    if let Some(scores) = &r.scores {
        let rows: Vec<Vec<String>> = scores
            .iter()
            .map(|s| {
                vec![
                    s.indicator.to_string(),
                    s.hits.to_string(),
                    s.misses.to_string(),
                    s.false_alarms.to_string(),
                    s.quiet.to_string(),
                    table::num(s.precision),
                    table::num(s.base_rate),
                    table::num(s.recall),
                    table::num(s.median_lead),
                ]
            })
            .collect();
        out.push_str(&table::render(
            &["indicator", "hits", "misses", "false alarms", "quiet", "precision", "chance", "recall", "median lead"],
            &rows,
        ));
    }
    out
}

fn figure(r: &Report) -> String {
    critlab_report::plot::early_warning::early_warning_svg(&r.runs, r.scores.as_deref())
}
