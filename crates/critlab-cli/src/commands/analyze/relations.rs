//! `critlab analyze relations`: test the scaling relations (Widom, Rushbrooke, hyperscaling,
//! Fisher; docs/theory.md §6) on a set of exponents ([`critlab_physics::relations::test`]), given
//! as JSON or estimated from a sweep in the store (as `critlab analyze exponents` does).
//!
//! Exit status: 0 when no relation is violated, 1 when at least one is violated at 2σ (the
//! analysis finished and found failures), 2 when the input is unusable.
use super::common::print_result;
use super::exponents::SweepArgs;
use anyhow::{Context, Result};
use clap::Args;
use critlab_physics::relations::{self, ExponentSet, ExponentValue};
use critlab_physics::report;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Test scaling relations between critical exponents.
#[derive(Debug, Args)]
pub struct RelationsCmd {
    /// JSON exponent set, e.g. {"alpha": 0, "beta": {"value": 0.125, "err": 0.01}, "d": 2};
    /// keys alpha, beta, gamma, delta, nu, eta, d
    #[arg(long, value_name = "FILE.json", conflicts_with_all = ["store", "sweep", "control"], required_unless_present = "store")]
    exponents: Option<PathBuf>,
    /// Or: estimate the exponents from a sweep
    #[command(flatten)]
    sweep: SweepArgs,
    /// Effective dimension d for hyperscaling (overrides the set's `d`)
    #[arg(long, value_name = "D", value_parser = crate::args::positive)]
    d: Option<f64>,
    /// Print the result as JSON instead of the text summary
    #[arg(long)]
    json: bool,
}

/// The exponents tested and the outcome.
#[derive(Serialize)]
struct Output<'a> {
    exponents: &'a ExponentSet,
    #[serde(flatten)]
    report: &'a relations::RelationsReport,
}

/// Runs `critlab analyze relations`.
pub fn run(cmd: RelationsCmd) -> Result<ExitCode> {
    let mut set = match &cmd.exponents {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
            ExponentSet::from_json(&text)
                .with_context(|| format!("cannot use {} as an exponent set", path.display()))?
        }
        None => cmd.sweep.exponents()?.exponent_set(),
    };
    if let Some(d) = cmd.d {
        set.d = Some(ExponentValue::Exact(d));
    }
    let result = relations::test(&set);
    print_result(cmd.json, &Output { exponents: &set, report: &result }, || report::relations_summary(&result))?;
    Ok(if result.violated > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
