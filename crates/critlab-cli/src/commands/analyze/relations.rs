//! `critlab analyze relations`: test the scaling relations (Widom, Rushbrooke, hyperscaling,
//! Fisher; THEORY.md §6) on a set of exponents ([`critlab_physics::relations::test`]).
//!
//! Exit status: 0 when no relation is violated, 1 when at least one is violated at 2σ (the
//! analysis finished and found failures), 2 when the input is unusable.
use super::common::print_result;
use anyhow::{Context, Result};
use clap::Args;
use critlab_physics::relations::{self, ExponentSet};
use critlab_physics::report;
use std::path::PathBuf;
use std::process::ExitCode;

/// Test scaling relations between critical exponents.
#[derive(Debug, Args)]
pub struct RelationsCmd {
    /// JSON exponent set, e.g. {"alpha": 0, "beta": {"value": 0.125, "err": 0.01}, "d": 2};
    /// keys alpha, beta, gamma, delta, nu, eta, d
    #[arg(long, value_name = "FILE.json")]
    exponents: PathBuf,
    /// Print the result as JSON instead of the text summary
    #[arg(long)]
    json: bool,
}

/// Runs `critlab analyze relations`.
pub fn run(cmd: RelationsCmd) -> Result<ExitCode> {
    let text = std::fs::read_to_string(&cmd.exponents).with_context(|| format!("cannot read {}", cmd.exponents.display()))?;
    let set = ExponentSet::from_json(&text).with_context(|| format!("cannot use {} as an exponent set", cmd.exponents.display()))?;
    let result = relations::test(&set);
    print_result(cmd.json, &result, || report::relations_summary(&result))?;
    Ok(if result.violated > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}
