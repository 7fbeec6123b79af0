//! `critlab analyze exponents`: every critical exponent of docs/theory.md §5 from the runs of a
//! sweep in the store. This file only loads: per run, the control values from its stored spec
//! and the end-of-training observables from its series, into
//! [`critlab_physics::exponents::sweep::RunSummary`]; the estimates are
//! [`critlab_physics::exponents::sweep::fit`].
use super::common::print_result;
use anyhow::{anyhow, bail, Context, Result};
use clap::{Args, ValueEnum};
use critlab_core::RunStatus;
use critlab_physics::exponents::sweep::{
    self, final_value, loss_improvement_variance, RunSummary, SweepExponents, SweepOptions,
};
use critlab_physics::{report, transitions};
use critlab_store::{RunRow, Store};
use std::path::PathBuf;
use std::process::ExitCode;

/// Where the sweep is and which spec keys play which role.
#[derive(Debug, Args)]
pub struct SweepArgs {
    /// SQLite store file holding the sweep
    #[arg(long, value_name = "FILE")]
    pub store: Option<PathBuf>,
    /// Name of the sweep (the runs' `sweep` column)
    #[arg(long, value_name = "NAME")]
    pub sweep: Option<String>,
    /// Spec key of the control parameter x (e.g. lr, weight-decay, train-frac)
    #[arg(long, value_name = "KEY")]
    pub control: Option<String>,
    /// Spec key of the system size L (e.g. width, p) for the collapse (ν)
    #[arg(long, value_name = "KEY")]
    pub size: Option<String>,
    /// Spec key of the field h for δ (no default: it must differ from the control)
    #[arg(long, value_name = "KEY")]
    pub field: Option<String>,
    /// Spec key of a second control b for the crossover exponent φ
    #[arg(long, value_name = "KEY")]
    pub crossover: Option<String>,
    /// Order parameter
    #[arg(long, value_enum, default_value_t = OrderParameter::ExplainedVariance)]
    pub order_parameter: OrderParameter,
    /// The critical point of the control, if known (otherwise fitted)
    #[arg(long = "x-c", value_name = "VALUE", allow_negative_numbers = true, value_parser = crate::args::finite)]
    pub x_c: Option<f64>,
    /// Bootstrap refits of the collapse over sizes
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub bootstrap: usize,
    /// Seed of the collapse's random starts and bootstrap
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}

/// Which stored series is the order parameter.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum OrderParameter {
    /// `explained_variance` (V, docs/theory.md §2)
    ExplainedVariance,
    /// `test_acc`
    TestAcc,
}

impl OrderParameter {
    fn series(self) -> &'static str {
        match self {
            OrderParameter::ExplainedVariance => "explained_variance",
            OrderParameter::TestAcc => "test_acc",
        }
    }
}

/// End-of-training values average the last this many evaluations.
const FINAL_EVALS: usize = 3;

/// A numeric spec value by key (kebab-case; `_` accepted for `-`).
fn spec_value(run: &RunRow, key: &str) -> Result<f64> {
    let spec = run.spec.as_object().ok_or_else(|| anyhow!("run {}: stored spec is not a JSON object", run.id))?;
    let v = spec.get(key).or_else(|| spec.get(&key.replace('_', "-"))).ok_or_else(|| {
        let numeric: Vec<&str> = spec.iter().filter(|(_, v)| v.is_number()).map(|(k, _)| k.as_str()).collect();
        anyhow!("run {}: its spec has no key `{key}`; numeric keys: {}", run.id, numeric.join(", "))
    })?;
    v.as_f64().ok_or_else(|| anyhow!("run {}: spec key `{key}` is {v}, not a number", run.id))
}

impl SweepArgs {
    /// Loads one summary per finished run of the sweep, and the fit options.
    pub fn load(&self) -> Result<(Vec<RunSummary>, SweepOptions)> {
        let (Some(path), Some(name), Some(control)) = (&self.store, &self.sweep, &self.control) else {
            bail!("--store FILE, --sweep NAME and --control KEY are all needed");
        };
        let roles = [("--size", &self.size), ("--field", &self.field), ("--crossover", &self.crossover)];
        for (flag, key) in roles {
            if key.as_deref().map(|k| k.replace('_', "-")) == Some(control.replace('_', "-")) {
                bail!("{flag} `{control}` is the control itself: each role needs its own spec key (the control varies within a family, {flag} across families)");
            }
        }
        let store = Store::open_read_only(path)?;
        let runs = store.runs(Some(name))?;
        if runs.is_empty() {
            bail!("no runs of sweep `{name}` in {}", path.display());
        }
        let done: Vec<&RunRow> = runs.iter().filter(|r| r.status == RunStatus::Done).collect();
        if done.len() < runs.len() {
            errln!("using the {} finished runs of {} (others are running, diverged or failed)", done.len(), runs.len());
        }
        let field_varies = self.field.as_deref().is_some_and(|field| {
            let vals: Vec<f64> = done.iter().filter_map(|r| spec_value(r, field).ok()).collect();
            vals.iter().any(|v| *v != vals[0])
        });
        let varying = varying_keys(&done);
        for (flag, key) in [("--control", Some(control)), ("--size", self.size.as_ref())] {
            if let Some(key) = key {
                if !varying.iter().any(|k| *k == key.replace('_', "-")) {
                    bail!(
                        "{flag} `{key}` does not vary across the {} finished runs of sweep `{name}`; the keys that vary are: {}",
                        done.len(),
                        if varying.is_empty() { "none".to_string() } else { varying.join(", ") }
                    );
                }
            }
        }
        errln!(
            "sweep `{name}`: {} finished runs; keys that vary: {}; control `{control}`{}{}{}",
            done.len(),
            varying.join(", "),
            self.size.as_deref().map(|k| format!(", size `{k}`")).unwrap_or_default(),
            self.field
                .as_deref()
                .map(|k| format!(
                    ", field `{k}`{}",
                    if field_varies { "" } else { " (does not vary: δ not estimated)" }
                ))
                .unwrap_or_default(),
            self.crossover.as_deref().map(|k| format!(", crossover `{k}`")).unwrap_or_default(),
        );
        let summaries = done
            .iter()
            .map(|run| {
                let series =
                    |n: &str| store.series(run.id, n).with_context(|| format!("reading `{n}` of run {}", run.id));
                Ok(RunSummary {
                    x: spec_value(run, control)?,
                    size: self.size.as_deref().map(|k| spec_value(run, k)).transpose()?,
                    field: match (&self.field, field_varies) {
                        (Some(k), true) => Some(spec_value(run, k)?),
                        _ => None,
                    },
                    crossover: self.crossover.as_deref().map(|k| spec_value(run, k)).transpose()?,
                    seed: run.seed,
                    order_parameter: final_value(&series(self.order_parameter.series())?, FINAL_EVALS),
                    t_grok: transitions::first_crossing(&series("test_acc")?, 0.9, 3),
                    loss_improvement_var: loss_improvement_variance(&series("train_loss")?),
                    repr_rank: final_value(&series("repr_effective_rank")?, 1),
                    weight_rank: final_value(&series("weight_effective_rank")?, 1),
                })
            })
            .collect::<Result<Vec<_>>>()
            .with_context(|| format!("loading sweep `{name}` from {}", path.display()))?;
        Ok((summaries, SweepOptions { x_c: self.x_c, seed: self.seed, bootstrap: self.bootstrap }))
    }

    /// Loads the sweep and estimates its exponents.
    pub fn exponents(&self) -> Result<SweepExponents> {
        let (runs, opts) = self.load()?;
        sweep::fit(&runs, &opts).with_context(|| {
            format!(
                "estimating exponents from the sweep (control `{}`, size {}, field {}, crossover {})",
                self.control.as_deref().unwrap_or("?"),
                self.size.as_deref().map(|k| format!("`{k}`")).unwrap_or_else(|| "none".into()),
                self.field.as_deref().map(|k| format!("`{k}`")).unwrap_or_else(|| "none".into()),
                self.crossover.as_deref().map(|k| format!("`{k}`")).unwrap_or_else(|| "none".into()),
            )
        })
    }
}

/// The spec keys whose values differ across `runs` (seed keys included), sorted.
fn varying_keys(runs: &[&RunRow]) -> Vec<String> {
    let mut out = Vec::new();
    let Some(first) = runs.first().and_then(|r| r.spec.as_object()) else { return out };
    for (k, v) in first {
        if runs.iter().any(|r| r.spec.get(k) != Some(v)) {
            out.push(k.clone());
        }
    }
    out.sort();
    out
}

/// Critical exponents from the runs of a sweep.
#[derive(Debug, Args)]
pub struct ExponentsCmd {
    #[command(flatten)]
    sweep: SweepArgs,
    /// Print the result as JSON instead of the text summary
    #[arg(long)]
    json: bool,
}

/// Runs `critlab analyze exponents`. An exponent the data cannot give is reported with the
/// reason (exit 0).
pub fn run(cmd: ExponentsCmd) -> Result<ExitCode> {
    let result = cmd.sweep.exponents()?;
    print_result(cmd.json, &result, || report::sweep_exponents_summary(&result))?;
    Ok(ExitCode::SUCCESS)
}
