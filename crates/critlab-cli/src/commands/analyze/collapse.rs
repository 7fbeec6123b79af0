//! `critlab analyze collapse`: finite-size data collapse A_L(x) = L^{ζ/ν} F(L^{1/ν}(x − x_c))
//! (THEORY.md §5), fitted by [`critlab_physics::collapse::fit`].
use super::common::{FssArgs, OutputArgs};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use critlab_physics::collapse::{self, CollapseOptions, Corrections};
use critlab_physics::report;
use critlab_report::plot;
use std::process::ExitCode;

/// Fit x_c, ν and ζ by data collapse of curves of several sizes.
#[derive(Debug, Args)]
pub struct CollapseCmd {
    #[command(flatten)]
    data: FssArgs,
    /// Guess for the critical point x_c [default: middle of the x range common to all sizes]
    #[arg(long = "x-c", value_name = "GUESS", allow_negative_numbers = true, value_parser = crate::args::finite)]
    x_c: Option<f64>,
    /// Guess for ν (> 0)
    #[arg(long, value_name = "GUESS", default_value_t = 1.0, value_parser = crate::args::positive)]
    nu: f64,
    /// Guess for ζ (A ~ L^{ζ/ν}: ζ = −β for an order parameter, γ for a susceptibility)
    #[arg(long, value_name = "GUESS", default_value_t = 0.0, allow_negative_numbers = true, value_parser = crate::args::finite)]
    zeta: f64,
    /// Fix ζ instead of fitting it (0 for a Binder cumulant or a spanning probability)
    #[arg(long, value_name = "VALUE", allow_negative_numbers = true, value_parser = crate::args::finite)]
    fix_zeta: Option<f64>,
    /// Drop the k smallest sizes before fitting
    #[arg(long, value_name = "K", default_value_t = 0)]
    drop_smallest: usize,
    /// Nelder–Mead starts (the guess plus random ones)
    #[arg(long, value_name = "N", default_value_t = 12, value_parser = crate::args::at_least::<1>)]
    starts: usize,
    /// Bootstrap refits for the errors (0: curvature errors only)
    #[arg(long, value_name = "N", default_value_t = 100)]
    bootstrap: usize,
    /// Seed of the random starts and the bootstrap
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Correction to scaling: none | amplitude (1 + a L^-omega) | shift (x_c + b L^(-1/nu-omega))
    #[arg(long, value_enum, default_value_t = Correction::None)]
    correction: Correction,
    /// Correction exponent ω (> 0) for --correction
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::positive)]
    omega: f64,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Correction {
    None,
    Amplitude,
    Shift,
}

/// Runs `critlab analyze collapse`.
pub fn run(cmd: CollapseCmd) -> Result<ExitCode> {
    let data = cmd.data.load()?;
    super::common::refuse_degenerate(&data, "data collapse", &cmd.data.input)?;
    let opts = CollapseOptions {
        x_c_guess: cmd.x_c,
        nu_guess: cmd.nu,
        zeta_guess: cmd.zeta,
        fix_zeta: cmd.fix_zeta,
        drop_smallest: cmd.drop_smallest,
        starts: cmd.starts,
        bootstrap: cmd.bootstrap,
        seed: cmd.seed,
        corrections: match cmd.correction {
            Correction::None => Corrections::None,
            Correction::Amplitude => Corrections::Amplitude { omega: cmd.omega },
            Correction::Shift => Corrections::Shift { omega: cmd.omega },
        },
        x_window: None,
    };
    let result = collapse::fit(&data, &opts).with_context(|| format!("data collapse of {}", cmd.data.input.display()))?;
    cmd.out.emit(&result, || report::collapse_summary(&result), || plot::collapse_svg(&data, &result))?;
    Ok(ExitCode::SUCCESS)
}
