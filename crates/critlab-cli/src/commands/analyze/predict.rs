//! `critlab analyze predict`: every grokking predictor ([`critlab_physics::predict`]) scored
//! over the runs of a sweep: AUROC of "groks within the budget" at the decision time
//! t_mem + F·τ, overall and within each weight decay, with bootstrap intervals; median lead
//! time; MAPE of the predicted t_grok on held-out seeds; and what `--stop-hopeless P` would
//! have saved. Everything a predictor learns is fitted on the other seeds.
use super::common::print_result;
use super::early_warning::load_signals;
use crate::args::StoreArg;
use crate::table;
use anyhow::{bail, Context, Result};
use clap::Args;
use critlab_core::{spec_key, RunStatus, NOT_CLASS_FIELDS, SEED_FIELDS};
use critlab_physics::predict::norm_delay::ClassCalibrations;
use critlab_physics::predict::score::{self, LabeledRun, PredictReport, ScoreOptions};
use critlab_physics::predict::{PredictorKind, RunHistory};
use critlab_store::{RunRow, Store};
use std::path::PathBuf;
use std::process::ExitCode;

/// Score the grokking predictors over a sweep.
#[derive(Debug, Args)]
pub struct PredictCmd {
    #[command(flatten)]
    store: StoreArg,
    /// The sweep whose runs are scored
    #[arg(long)]
    sweep: String,
    /// Decision time t_mem + F·budget, F as a fraction of the step budget
    #[arg(long, value_name = "F", default_value_t = 0.1, value_parser = crate::args::non_negative)]
    decision_at: f64,
    /// Bootstrap replicates of the intervals
    #[arg(long, default_value_t = 1000, value_parser = crate::args::at_least::<10>)]
    bootstrap: usize,
    /// Seed of the bootstrap
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// P of the stop-hopeless replay (a run stops once P(grok) < 1 − P)
    #[arg(long, value_name = "P", default_value_t = 0.95, value_parser = crate::args::fraction)]
    stop_hopeless: f64,
    /// Only these predictors (comma-separated names; default all)
    #[arg(long, value_delimiter = ',')]
    predictors: Vec<String>,
    /// Print the result as JSON instead of the tables
    #[arg(long)]
    json: bool,
    /// Write the ROC figure to this SVG file
    #[arg(long, value_name = "FILE.svg", value_parser = crate::args::figure_path)]
    plot: Option<PathBuf>,
    /// Write the predicted-against-actual t_grok figure (norm-delay law) to this SVG file
    #[arg(long, value_name = "FILE.svg", value_parser = crate::args::figure_path)]
    plot_predicted: Option<PathBuf>,
}

/// A number of the spec (kebab-case key), or an error naming the run and the key.
fn spec_number(row: &RunRow, key: &str) -> Result<f64> {
    row.spec
        .get(key)
        .and_then(|v| v.as_f64())
        .with_context(|| format!("run {} has no numeric `{key}` in its stored spec", row.id))
}

/// Everything the predictors read about a stored run.
pub fn load_history(store: &Store, row: &RunRow) -> Result<RunHistory> {
    let get = |name: &str| -> Result<Vec<(f64, f64)>> {
        Ok(store.series(row.id, name)?.into_iter().map(|(s, v)| (s as f64, v)).collect())
    };
    Ok(RunHistory {
        run: row.id,
        seed: row.seed,
        lr: spec_number(row, "lr")?,
        weight_decay: spec_number(row, "weight-decay")?,
        budget: spec_number(row, "steps")?,
        train_acc: get("train_acc")?,
        test_acc: get("test_acc")?,
        train_loss: get("train_loss")?,
        weight_norm: get("weight_norm")?,
        fourier_sparsity: get("fourier_sparsity")?,
        restricted_loss: get("restricted_loss")?,
        excluded_loss: get("excluded_loss")?,
        spectral_entropy: get("repr_spectral_entropy")?,
        commutator_defect: get("commutator_defect")?,
        signals: load_signals(store, row.id, "test_loss")?,
    })
}

/// The norm-delay law calibrated per cell, per class and pooled on the finished (done or stopped)
/// runs of `sweep`; an error when fewer than 2 of them grokked.
pub fn calibration_from_sweep(store: &Store, sweep: &str) -> Result<ClassCalibrations> {
    let mut runs = Vec::new();
    for row in store.runs(Some(sweep))?.iter().filter(|r| matches!(r.status, RunStatus::Done | RunStatus::Stopped)) {
        runs.push(labeled(store, row)?);
    }
    let calibrations = ClassCalibrations::fit(runs.iter().map(|r| (r.cell.as_str(), r.class.as_str(), &r.history)));
    // The pooled calibration exists (and counts its grokked runs) once 2 runs grokked.
    if calibrations.pooled.grokked < 2 {
        bail!("sweep `{sweep}` has fewer than 2 grokked runs to calibrate norm-delay on");
    }
    Ok(calibrations)
}

/// The run as scored: its cell of the phase diagram (the spec without seeds) and its class
/// (without seeds, η and λ: what the norm-delay law is calibrated over).
pub fn labeled(store: &Store, row: &RunRow) -> Result<LabeledRun> {
    Ok(LabeledRun {
        history: load_history(store, row)?,
        cell: spec_key(&row.spec, SEED_FIELDS),
        class: spec_key(&row.spec, NOT_CLASS_FIELDS),
    })
}

/// The predictors named on the command line (all by default); an unknown name is an error
/// that lists the known ones.
pub fn parse_predictors(names: &[String]) -> Result<Vec<PredictorKind>> {
    if names.is_empty() {
        return Ok(PredictorKind::all());
    }
    names
        .iter()
        .map(|n| {
            PredictorKind::parse(n.trim()).with_context(|| {
                let known: Vec<&str> = PredictorKind::all().iter().map(|k| k.name()).collect();
                format!("unknown predictor `{n}` (known: {})", known.join(", "))
            })
        })
        .collect()
}

/// Runs `critlab analyze predict`.
pub fn run(cmd: PredictCmd) -> Result<ExitCode> {
    if !(cmd.decision_at >= 0.0 && cmd.decision_at < 1.0) {
        bail!("--decision-at must be in [0, 1), got {}", cmd.decision_at);
    }
    if !(cmd.stop_hopeless > 0.5 && cmd.stop_hopeless < 1.0) {
        bail!("--stop-hopeless must be in (0.5, 1), got {}", cmd.stop_hopeless);
    }
    let kinds = parse_predictors(&cmd.predictors)?;
    let store = Store::open_read_only(&cmd.store.store)?;
    let rows: Vec<RunRow> = store
        .runs(Some(&cmd.sweep))?
        .into_iter()
        .filter(|r| r.status.as_str() != "running" && r.status.as_str() != "failed")
        .collect();
    if rows.len() < 4 {
        bail!(
            "sweep `{}` in {} has {} finished runs; scoring needs at least 4",
            cmd.sweep,
            cmd.store.store.display(),
            rows.len()
        );
    }
    let bar = indicatif::ProgressBar::new(rows.len() as u64).with_message("loading runs");
    let mut runs = Vec::with_capacity(rows.len());
    for row in &rows {
        runs.push(labeled(&store, row)?);
        bar.inc(1);
    }
    bar.finish_and_clear();
    let opts = ScoreOptions {
        decision_at: cmd.decision_at,
        bootstrap: cmd.bootstrap,
        seed: cmd.seed,
        stop_hopeless: cmd.stop_hopeless,
    };
    let report = score::score(&runs, &kinds, &opts);
    if let Some(path) = &cmd.plot {
        std::fs::write(path, critlab_report::plot::predict::roc_svg(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
        errln!("wrote {}", path.display());
    }
    if let Some(path) = &cmd.plot_predicted {
        std::fs::write(path, critlab_report::plot::predict::predicted_svg(&report))
            .with_context(|| format!("cannot write {}", path.display()))?;
        errln!("wrote {}", path.display());
    }
    print_result(cmd.json, &JsonReport::from(&report), || summary(&report))?;
    Ok(ExitCode::SUCCESS)
}

/// The JSON: the report, whose `predictors` carry `name`, `auroc`, `auroc_ci`,
/// `auroc_within_weight_decay`, `lead_median`, `lead_ci`, `mape` (and more).
type JsonReport<'a> = &'a PredictReport;

fn ci(c: Option<[f64; 2]>) -> String {
    c.map(|c| format!("[{:.2}, {:.2}]", c[0], c[1])).unwrap_or_else(|| "–".into())
}

fn summary(r: &PredictReport) -> String {
    let mut out = format!(
        "{} runs, {} grokked within their budget; {} eligible at t_mem + {}·budget ({} of them grok later)\n",
        r.runs, r.grokked, r.eligible, r.options.decision_at, r.eligible_grokked
    );
    let rows: Vec<Vec<String>> = r
        .predictors
        .iter()
        .map(|p| {
            vec![
                p.name.to_string(),
                table::num(p.auroc),
                ci(p.auroc_ci),
                table::num(p.auroc_within_weight_decay),
                ci(p.auroc_within_weight_decay_ci),
                format!("{}/{}", p.hits, p.false_alarms),
                table::num(p.lead_median),
                ci(p.lead_ci),
                table::num(p.mape),
                p.stop_hopeless.as_ref().map_or("–".into(), |s| {
                    format!(
                        "{:.0}% / {} lost / {} of {}",
                        100.0 * s.steps_saved,
                        s.grokking_runs_lost,
                        s.cells_changed,
                        s.cells
                    )
                }),
            ]
        })
        .collect();
    out.push_str(&table::render(
        &[
            "predictor",
            "AUROC",
            "95% CI",
            "AUROC within λ",
            "95% CI",
            "hits/false alarms",
            "median lead",
            "95% CI",
            "MAPE",
            "stop: saved / lost / cells changed",
        ],
        &rows,
    ));
    for p in &r.predictors {
        let strata: Vec<String> = p
            .auroc_by_weight_decay
            .iter()
            .map(|s| format!("λ={}: {} ({}+/{}−)", s.weight_decay, table::num(s.auroc), s.positives, s.negatives))
            .collect();
        let cell = match (p.auroc_within_cell, p.auroc_within_cell_ci) {
            (Some(a), Some([lo, hi])) => format!("{} [{lo:.2}, {hi:.2}]", table::num(Some(a))),
            (a, _) => table::num(a),
        };
        out.push_str(&format!(
            "  {}: {}; within a cell (seeds only differ): {cell} over {} pairs\n",
            p.name,
            strata.join("; "),
            p.within_cell_pairs
        ));
    }
    if let Some(best) = r.best_within_weight_decay {
        out.push_str(&format!("best within a fixed weight decay: {best}\n"));
    }
    out
}
