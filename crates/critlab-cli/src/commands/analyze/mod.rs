//! `critlab analyze ...`: one file per analysis. Every analysis takes `--json` for
//! machine-readable output; plots are written where `--plot FILE` says.
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

/// The analyses.
#[derive(Debug, Subcommand)]
pub enum AnalyzeCmd {}

/// Runs an analysis.
pub fn run(cmd: AnalyzeCmd) -> Result<ExitCode> {
    match cmd {}
}
