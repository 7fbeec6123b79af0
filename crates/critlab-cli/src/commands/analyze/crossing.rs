//! `critlab analyze crossing`: the critical point from crossings of Binder-type curves of
//! different sizes ([`critlab_physics::binder::fit`]).
use super::common::{BootstrapArgs, FssArgs, OutputArgs};
use anyhow::{Context, Result};
use clap::Args;
use critlab_physics::binder::{self, BinderOptions};
use critlab_physics::report;
use critlab_report::plot;
use std::process::ExitCode;

/// Locate x_c where curves of different sizes cross (Binder cumulant, spanning probability...).
#[derive(Debug, Args)]
pub struct CrossingCmd {
    #[command(flatten)]
    data: FssArgs,
    /// Drop the k smallest sizes
    #[arg(long, value_name = "K", default_value_t = 0)]
    drop_smallest: usize,
    #[command(flatten)]
    boot: BootstrapArgs,
    #[command(flatten)]
    out: OutputArgs,
}

/// Runs `critlab analyze crossing`. "No crossing found" is a result (exit 0).
pub fn run(cmd: CrossingCmd) -> Result<ExitCode> {
    let data = cmd.data.load()?;
    super::common::refuse_degenerate(&data, "crossing analysis", &cmd.data.input)?;
    let opts = BinderOptions { bootstrap: cmd.boot.bootstrap, seed: cmd.boot.seed, drop_smallest: cmd.drop_smallest };
    let result =
        binder::fit(&data, &opts).with_context(|| format!("crossing analysis of {}", cmd.data.input.display()))?;
    cmd.out.emit(&result, || report::binder_summary(&result), || plot::binder_svg(&data, &result))?;
    Ok(ExitCode::SUCCESS)
}
