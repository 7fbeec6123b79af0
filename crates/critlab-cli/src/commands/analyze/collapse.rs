//! `critlab analyze collapse`: finite-size data collapse A_L(x) = L^{ζ/ν} F(L^{1/ν}(x − x_c))
//! (docs/theory.md §5), with corrections to scaling chosen from the data and an L_min-drift
//! systematic error ([`critlab_physics::corrections::analyze`]), or by Bayesian scaling
//! analysis ([`critlab_physics::bsa::analyze`], `--method bsa`).
use super::common::{FssArgs, OutputArgs};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use critlab_physics::bsa::{self, BsaOptions};
use critlab_physics::collapse::CollapseOptions;
use critlab_physics::corrections::{self, AnalysisOptions, CorrectionChoice};
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
    /// Correction to scaling: auto (fit none, amplitude, shift and both; choose by AIC and
    /// leave-one-size-out error) | none | amplitude (1 + a L^-omega) | shift
    /// (x_c + b L^(-1/nu-omega)) | both
    #[arg(long, value_enum, default_value_t = Correction::Auto)]
    correction: Correction,
    /// Fix the correction exponent ω (> 0) [default: profiled over 0.5, 1, 1.5, 2]
    #[arg(long, value_name = "OMEGA", value_parser = crate::args::positive)]
    omega: Option<f64>,
    /// Skip the refits without the smallest sizes (no systematic error)
    #[arg(long)]
    no_drift: bool,
    /// quality: minimise the collapse quality S (default); bsa: Bayesian scaling analysis
    /// with a Gaussian-process scaling function (Harada 2011), started from the default
    #[arg(long, value_enum, default_value_t = Method::Quality)]
    method: Method,
    /// BSA: kept MCMC samples per chain (4 chains)
    #[arg(long, value_name = "N", default_value_t = 2000)]
    samples: usize,
    /// BSA: most points entering the Gaussian process (thinned evenly above)
    #[arg(long, value_name = "N", default_value_t = 200)]
    max_points: usize,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Correction {
    Auto,
    None,
    Amplitude,
    Shift,
    Both,
}

#[derive(Debug, Clone, Copy, ValueEnum, PartialEq, Eq)]
enum Method {
    Quality,
    Bsa,
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
        ..Default::default()
    };
    let opts = AnalysisOptions {
        collapse: opts,
        correction: match cmd.correction {
            Correction::Auto => CorrectionChoice::Auto,
            Correction::None => CorrectionChoice::None,
            Correction::Amplitude => CorrectionChoice::Amplitude,
            Correction::Shift => CorrectionChoice::Shift,
            Correction::Both => CorrectionChoice::Both,
        },
        omega: cmd.omega,
        drift: !cmd.no_drift,
        ..Default::default()
    };
    let input = cmd.data.input.display().to_string();
    if cmd.method == Method::Bsa {
        let b = BsaOptions {
            samples: cmd.samples,
            burn_in: cmd.samples.max(500),
            max_points: cmd.max_points,
            ..Default::default()
        };
        let result = bsa::analyze(&data, &opts, &b).with_context(|| format!("Bayesian scaling analysis of {input}"))?;
        cmd.out.emit(&result, || report::bsa_summary(&result), || plot::collapse_svg(&data, &result.default.fit))?;
    } else {
        let result = corrections::analyze(&data, &opts).with_context(|| format!("data collapse of {input}"))?;
        cmd.out.emit(
            &result,
            || report::collapse_analysis_summary(&result),
            || plot::collapse_svg(&data, &result.fit),
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
