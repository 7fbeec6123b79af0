//! `critlab analyze scaling-forms`: fit the five candidate forms of the scaling function F
//! (docs/theory.md §7) and rank them by AIC, BIC and held-out error
//! ([`critlab_physics::scaling_forms::fit`]). The data are either any table y = F(x) or
//! z = F(x, y), or — with `--size` — the master curve of a data collapse fitted first.
use super::common::{read_table, OutputArgs};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use critlab_physics::collapse::{self, CollapseOptions};
use critlab_physics::scaling_forms::{self, Form};
use critlab_physics::{report, CollapseData, FormColumns, FormData, FssColumns};
use critlab_report::plot;
use std::path::PathBuf;
use std::process::ExitCode;

/// Rank power law, exponential, logistic, quadratic and piecewise forms of F.
#[derive(Debug, Args)]
pub struct ScalingFormsCmd {
    /// CSV table (header line, comma or tab separated)
    #[arg(long, value_name = "FILE.csv")]
    input: PathBuf,
    /// Column of the first variable x
    #[arg(long, value_name = "COL")]
    x: String,
    /// Column of the response y = F(x), or of the second variable when --z is given
    #[arg(long, value_name = "COL")]
    y: String,
    /// Column of the response z = F(x, y) of a two-variable fit
    #[arg(long, value_name = "COL", conflicts_with = "size")]
    z: Option<String>,
    /// Column of the one-sigma uncertainty of the response (> 0)
    #[arg(long, value_name = "COL")]
    dy: Option<String>,
    /// Column of the system size L: collapse the curves first and fit F to the master curve
    #[arg(long, value_name = "COL")]
    size: Option<String>,
    /// With --size: guess for x_c
    #[arg(long = "x-c", value_name = "GUESS", requires = "size", allow_negative_numbers = true, value_parser = crate::args::finite)]
    x_c: Option<f64>,
    /// With --size: guess for ν
    #[arg(long, value_name = "GUESS", requires = "size", default_value_t = 1.0, value_parser = crate::args::positive)]
    nu: f64,
    /// With --size: guess for ζ
    #[arg(long, value_name = "GUESS", requires = "size", default_value_t = 0.0, allow_negative_numbers = true, value_parser = crate::args::finite)]
    zeta: f64,
    /// Forms to try (comma separated) [default: all five]
    #[arg(long, value_enum, value_delimiter = ',')]
    forms: Vec<FormArg>,
    /// Cross-validation folds (≥ 2)
    #[arg(long, default_value_t = 5, value_parser = crate::args::at_least::<2>)]
    folds: usize,
    /// Seed of the fold assignment (and of the collapse's starts)
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    out: OutputArgs,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum FormArg {
    PowerLaw,
    Exponential,
    Logistic,
    Quadratic,
    Piecewise,
}

impl From<FormArg> for Form {
    fn from(f: FormArg) -> Self {
        match f {
            FormArg::PowerLaw => Form::PowerLaw,
            FormArg::Exponential => Form::Exponential,
            FormArg::Logistic => Form::Logistic,
            FormArg::Quadratic => Form::Quadratic,
            FormArg::Piecewise => Form::Piecewise,
        }
    }
}

/// The master curve (L^{1/ν}(x − x_c), L^{−ζ/ν} y) of a collapse of the table.
fn master_curve(cmd: &ScalingFormsCmd, size: &str) -> Result<FormData> {
    let table = read_table(&cmd.input)?;
    let cols = FssColumns { size: size.to_string(), x: cmd.x.clone(), y: cmd.y.clone(), dy: cmd.dy.clone() };
    let data = CollapseData::from_table(&table, &cols)
        .with_context(|| format!("cannot read finite-size data from {}", cmd.input.display()))?;
    let opts = CollapseOptions {
        x_c_guess: cmd.x_c,
        nu_guess: cmd.nu,
        zeta_guess: cmd.zeta,
        bootstrap: 0,
        seed: cmd.seed,
        ..Default::default()
    };
    let fit = collapse::fit(&data, &opts).with_context(|| format!("data collapse of {}", cmd.input.display()))?;
    errln!("collapse: x_c = {:.6}, nu = {:.4}, zeta = {:.4}, S = {:.3}", fit.x_c, fit.nu, fit.zeta, fit.quality);
    let scaled = collapse::scaled_curves(&data, &fit);
    let (x, (y, dy)): (Vec<f64>, (Vec<f64>, Vec<f64>)) =
        scaled.iter().flat_map(|c| c.x.iter().zip(c.y.iter().zip(&c.dy)).map(|(&x, (&y, &d))| (x, (y, d)))).unzip();
    let mut form = FormData::one_variable(&x, &y, data.has_dy.then_some(dy.as_slice()));
    form.labels = vec![format!("L^(1/nu) ({} - x_c)", cmd.x), format!("L^(-zeta/nu) {}", cmd.y)];
    Ok(form)
}

/// Runs `critlab analyze scaling-forms`.
pub fn run(cmd: ScalingFormsCmd) -> Result<ExitCode> {
    let data = match &cmd.size {
        Some(size) => master_curve(&cmd, size)?,
        None => {
            let table = read_table(&cmd.input)?;
            let cols = FormColumns { x: cmd.x.clone(), y: cmd.y.clone(), z: cmd.z.clone(), dz: cmd.dy.clone() };
            FormData::from_table(&table, &cols)
                .with_context(|| format!("cannot read the scaling-form data from {}", cmd.input.display()))?
        }
    };
    let mut opts = scaling_forms::FormOptions { folds: cmd.folds, seed: cmd.seed, ..Default::default() };
    if !cmd.forms.is_empty() {
        opts.forms = cmd.forms.iter().map(|&f| f.into()).collect();
    }
    let result =
        scaling_forms::fit(&data, &opts).with_context(|| format!("scaling-form fits of {}", cmd.input.display()))?;
    cmd.out.emit(&result, || report::scaling_forms_summary(&result), || plot::scaling_forms_svg(&data, &result))?;
    Ok(ExitCode::SUCCESS)
}
