//! `critlab analyze divergence`: a power-law divergence y = A |x − x_c|^{−κ} with an AIC
//! verdict against smooth alternatives ([`critlab_physics::divergence::fit`]).
use super::common::{read_table, BootstrapArgs, OutputArgs};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use critlab_physics::divergence::{self, DivergenceOptions, Side};
use critlab_physics::{report, XyColumns, XyData};
use critlab_report::plot;
use std::path::PathBuf;
use std::process::ExitCode;

/// Fit y = A |x − x_c|^(−κ) (susceptibility, relaxation time t_grok...).
#[derive(Debug, Args)]
pub struct DivergenceCmd {
    /// CSV table (header line, comma or tab separated)
    #[arg(long, value_name = "FILE.csv")]
    input: PathBuf,
    /// Column of the control parameter x
    #[arg(long, value_name = "COL")]
    x: String,
    /// Column of the diverging quantity y
    #[arg(long, value_name = "COL")]
    y: String,
    /// Column of the one-sigma uncertainty of y (> 0)
    #[arg(long, value_name = "COL")]
    dy: Option<String>,
    /// Side of x_c the data lie on
    #[arg(long, value_enum, default_value_t = SideArg::Auto)]
    side: SideArg,
    #[command(flatten)]
    boot: BootstrapArgs,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SideArg {
    /// the end where |y| is larger
    Auto,
    /// data at x > x_c
    Above,
    /// data at x < x_c
    Below,
}

/// Runs `critlab analyze divergence`. "No divergence" is a verdict (exit 0).
pub fn run(cmd: DivergenceCmd) -> Result<ExitCode> {
    let table = read_table(&cmd.input)?;
    let cols = XyColumns { x: cmd.x.clone(), y: cmd.y.clone(), dy: cmd.dy.clone() };
    let data =
        XyData::from_table(&table, &cols).with_context(|| format!("cannot read x, y from {}", cmd.input.display()))?;
    let side = match cmd.side {
        SideArg::Auto => Side::Auto,
        SideArg::Above => Side::Above,
        SideArg::Below => Side::Below,
    };
    let opts = DivergenceOptions { side, bootstrap: cmd.boot.bootstrap, seed: cmd.boot.seed };
    let result = divergence::fit(&data, &opts).with_context(|| format!("divergence fit of {}", cmd.input.display()))?;
    cmd.out.emit(&result, || report::divergence_summary(&result), || plot::divergence_svg(&data, &result))?;
    Ok(ExitCode::SUCCESS)
}
