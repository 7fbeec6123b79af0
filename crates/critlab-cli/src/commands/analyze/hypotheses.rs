//! `critlab analyze hypotheses`: the seed's hypotheses (action invariance, temperature
//! symmetry, optimal balance) tested on the runs of a sweep, with verdicts
//! ([`critlab_physics::hypotheses`]).
use super::common::print_result;
use super::early_warning::t_grok;
use crate::args::StoreArg;
use crate::table;
use anyhow::{bail, Context, Result};
use clap::Args;
use critlab_core::RunSpec;
use critlab_physics::hypotheses::{self, BootstrapOptions, HypothesisResult, RunSummary};
use critlab_store::Store;
use serde::Serialize;
use std::process::ExitCode;

/// Test the seed's hypotheses on a sweep.
#[derive(Debug, Args)]
pub struct HypothesesCmd {
    #[command(flatten)]
    store: StoreArg,
    /// The sweep
    #[arg(long)]
    sweep: String,
    /// Bootstrap resamples
    #[arg(long, default_value_t = 1000, value_parser = crate::args::at_least::<1>)]
    resamples: usize,
    /// Bootstrap seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    sweep: String,
    runs: usize,
    grokked: usize,
    results: Vec<HypothesisResult>,
}

/// The value at the last point at or before `t`.
fn at(points: &[(i64, f64)], t: f64) -> Option<f64> {
    points.iter().take_while(|p| p.0 as f64 <= t).last().map(|p| p.1)
}

/// Runs `critlab analyze hypotheses`.
pub fn run(cmd: HypothesesCmd) -> Result<ExitCode> {
    let store = Store::open_read_only(&cmd.store.store)?;
    let rows = store.runs(Some(&cmd.sweep))?;
    if rows.is_empty() {
        bail!("no runs in sweep {}", cmd.sweep);
    }
    let mut summaries = Vec::new();
    for row in &rows {
        let spec: RunSpec =
            serde_json::from_value(row.spec.clone()).with_context(|| format!("reading the spec of run {}", row.id))?;
        let spec = spec.validate().with_context(|| format!("run {}'s stored spec no longer validates", row.id))?;
        let t = t_grok(&store, row.id)?;
        let horizon = t.unwrap_or(f64::INFINITY);
        let mut noise: Vec<f64> = store
            .series(row.id, "noise_scale")?
            .into_iter()
            .filter(|p| p.0 as f64 <= horizon && p.1.is_finite())
            .map(|p| p.1)
            .collect();
        noise.sort_by(f64::total_cmp);
        summaries.push(RunSummary {
            lr: spec.lr,
            batch: spec.batch() as f64,
            n_train: spec.n_train() as f64,
            t_grok: t,
            action_at_grok: t.and_then(|t| at(&store.series(row.id, "action").ok()?, t)),
            noise_scale: (!noise.is_empty()).then(|| critlab_physics::stats::quantile_sorted(&noise, 0.5)),
        });
    }
    let opts = BootstrapOptions { resamples: cmd.resamples, seed: cmd.seed };
    let report = Report {
        sweep: cmd.sweep.clone(),
        runs: summaries.len(),
        grokked: summaries.iter().filter(|s| s.t_grok.is_some()).count(),
        results: hypotheses::test_all(&summaries, &opts),
    };
    print_result(cmd.json, &report, || {
        let rows: Vec<Vec<String>> = report
            .results
            .iter()
            .map(|r| {
                let ci = r
                    .interval
                    .map(|(a, b)| format!("[{}, {}]", table::num(Some(a)), table::num(Some(b))))
                    .unwrap_or_else(|| "–".into());
                vec![
                    r.hypothesis.to_string(),
                    table::num(r.statistic),
                    ci,
                    serde_json::to_value(r.verdict).map(|v| v.as_str().unwrap_or("").to_string()).unwrap_or_default(),
                ]
            })
            .collect();
        let mut out = format!("sweep {}: {} runs, {} grokked\n", report.sweep, report.runs, report.grokked);
        out.push_str(&table::render(&["hypothesis", "statistic", "95% interval", "verdict"], &rows));
        for r in &report.results {
            out.push_str(&format!("  {}: {}\n", r.hypothesis, r.note));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}
