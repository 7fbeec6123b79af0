//! `critlab watch`: follows a run being written (to the store, or as a CSV / JSON Lines log
//! appended by any program, e.g. a PyTorch script) and prints early warnings as they fire
//! ([`critlab_physics::early_warning::Monitor`]). Polls; stops on Ctrl-C, or with
//! `--until-done` when the run is no longer `running` (store) or the file has not grown for
//! `--idle` seconds (log). With a store, it also prints at every new eval step each grokking
//! predictor's view ([`critlab_physics::predict`]): the norm-delay law's probability of grokking
//! within the budget and its predicted t_grok with the 95 % interval, and the scores of the
//! others (they have no probability until `analyze predict` calibrates them on a sweep).
use crate::commands::analyze::early_warning::{load_signals, EwsArgs};
use crate::commands::analyze::predict::{calibration_from_sweep, labeled};
use crate::commands::train::interrupt_flag;
use anyhow::{bail, Context, Result};
use clap::Args;
use critlab_core::RunStatus;
use critlab_physics::early_warning::{Indicator, Monitor, Signals};
use critlab_physics::predict::norm_delay::ClassCalibrations;
use critlab_physics::predict::{DelayCalibration, PredictorKind, RunHistory};
use critlab_store::{RunId, Store};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Follow a live run and print early warnings as they fire.
#[derive(Debug, Args)]
pub struct WatchCmd {
    /// SQLite store the run is written to
    #[arg(long, requires = "run", conflicts_with = "input")]
    store: Option<PathBuf>,
    /// Run id in the store
    #[arg(long)]
    run: Option<RunId>,
    /// A CSV (header line) or JSON Lines log being appended
    #[arg(long, value_name = "FILE")]
    input: Option<PathBuf>,
    /// Column (CSV) or key (JSONL) of the step [default: `step` when the log has it, else the
    /// row number]; a column given here must exist
    #[arg(long)]
    step_column: Option<String>,
    /// Seconds between polls
    #[arg(long, default_value_t = 1.0, value_parser = crate::args::seconds)]
    interval: f64,
    /// Stop when the run is finished (store) or the log stopped growing
    #[arg(long)]
    until_done: bool,
    /// Seconds without growth after which a log counts as finished
    #[arg(long, default_value_t = 10.0, value_parser = crate::args::seconds)]
    idle: f64,
    /// Calibrate the norm-delay predictor on the finished runs of this sweep in the store
    #[arg(long, value_name = "SWEEP", requires = "store")]
    calibrate_from: Option<String>,
    #[command(flatten)]
    ews: EwsArgs,
}

/// One line: every predictor's view of the run now.
fn predictions_line(h: &RunHistory, cal: &DelayCalibration) -> Option<String> {
    let step = h.now()?;
    let mut parts = Vec::new();
    for kind in PredictorKind::all() {
        let Some(p) = kind.predict(h, cal) else { continue };
        let mut s = match p.probability {
            Some(q) => format!("{} P(grok) = {q:.2}", kind.name()),
            None => format!("{} {:.3}", kind.name(), p.score),
        };
        if let Some(t) = p.t_grok {
            s.push_str(&format!(", t_grok ≈ {:.0} [{:.0}, {:.0}]", t.value, t.lo, t.hi));
        }
        parts.push(s);
    }
    Some(format!("step {step:.0}: {}", parts.join("; ")))
}

/// `(step, value)` pairs of `column` from a CSV or JSON Lines log; rows without the column
/// (or not yet complete: the last line of a file being written) are skipped. The step is
/// `step_column` (an error when the log lacks it), or without it `step` when present, else
/// the row number.
pub fn read_log(path: &Path, step_column: Option<&str>, column: &str) -> Result<Vec<(f64, f64)>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    let complete = match text.rfind('\n') {
        Some(i) => &text[..=i],
        None => "",
    };
    let jsonl = path.extension().is_some_and(|e| e == "jsonl" || e == "json") || complete.trim_start().starts_with('{');
    let mut out = Vec::new();
    if jsonl {
        for (i, line) in complete.lines().filter(|l| !l.trim().is_empty()).enumerate() {
            let Ok(v) = serde_json::from_str::<serde_json::Value>(line) else { continue };
            if let Some(c) = step_column.filter(|c| v.get(*c).is_none()) {
                bail!("line {} of {} has no key `{c}` (--step-column)", i + 1, path.display());
            }
            let step = v.get(step_column.unwrap_or("step")).and_then(|s| s.as_f64()).unwrap_or(i as f64);
            if let Some(y) = v.get(column).and_then(|y| y.as_f64()) {
                out.push((step, y));
            }
        }
        return Ok(out);
    }
    let mut lines = complete.lines();
    let Some(header) = lines.next() else { return Ok(out) };
    let sep = if header.contains('\t') { '\t' } else { ',' };
    // A UTF-8 byte-order mark is not part of the first column's name.
    let header = header.trim_start_matches('\u{feff}');
    let names: Vec<&str> = header.split(sep).map(str::trim).collect();
    let Some(col) = names.iter().position(|n| *n == column) else {
        bail!("{} has no column `{column}` (columns: {})", path.display(), names.join(", "))
    };
    let step_col = match step_column {
        Some(c) => Some(names.iter().position(|n| *n == c).with_context(|| {
            format!("{} has no column `{c}` (--step-column; columns: {})", path.display(), names.join(", "))
        })?),
        None => names.iter().position(|n| *n == "step"),
    };
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(sep).map(str::trim).collect();
        let y = cells.get(col).and_then(|c| c.parse::<f64>().ok());
        let step = step_col.and_then(|c| cells.get(c)).and_then(|c| c.parse::<f64>().ok()).unwrap_or(i as f64);
        if let Some(y) = y {
            out.push((step, y));
        }
    }
    Ok(out)
}

/// Runs `critlab watch`.
pub fn run(cmd: WatchCmd) -> Result<ExitCode> {
    let stop = interrupt_flag();
    let mut monitor = Monitor::new(&Indicator::ALL, cmd.ews.options());
    let store = match (&cmd.store, &cmd.input) {
        (Some(path), _) => Some(Store::open_read_only(path)?),
        (None, Some(_)) => None,
        (None, None) => bail!("give --store FILE --run ID, or --input LOG"),
    };
    let calibrations = match (&store, &cmd.calibrate_from) {
        (Some(s), Some(sweep)) => calibration_from_sweep(s, sweep)?,
        _ => ClassCalibrations::default(),
    };
    let mut last_predicted = f64::NEG_INFINITY;
    let (mut last_len, mut last_growth) = (0usize, Instant::now());
    let mut stale_noted = false;
    let mut out = crate::output::stdout();
    loop {
        let (signals, finished) = match (&store, &cmd.input) {
            (Some(store), _) => {
                let run = cmd.run.expect("clap requires --run with --store");
                let row = store.run(run)?;
                if row.stale && !stale_noted {
                    errln!("run {run} is stale: it is `running` but its process is gone; it will never finish");
                    stale_noted = true;
                }
                let done = row.status != RunStatus::Running || row.stale;
                let run_now = labeled(store, &row)?;
                let history = run_now.history;
                if history.now().is_some_and(|t| t > last_predicted) {
                    if let Some(line) = predictions_line(&history, &calibrations.get(&run_now.cell, &run_now.class)) {
                        writeln!(out, "{line}")?;
                        out.flush()?;
                    }
                    last_predicted = history.now().unwrap_or(last_predicted);
                }
                (load_signals(store, run, &cmd.ews.column)?, done)
            }
            (None, Some(path)) => {
                let order = read_log(path, cmd.step_column.as_deref(), &cmd.ews.column)?;
                if order.len() != last_len {
                    (last_len, last_growth) = (order.len(), Instant::now());
                }
                (Signals { order, ..Default::default() }, last_growth.elapsed().as_secs_f64() >= cmd.idle)
            }
            (None, None) => unreachable!("checked above"),
        };
        for w in monitor.update(&signals) {
            writeln!(out, "step {:.0}: {} warning (Kendall τ = {:.2})", w.step, w.indicator, w.tau)?;
            out.flush()?;
        }
        if stop.load(Ordering::Relaxed) || (cmd.until_done && finished) {
            break;
        }
        std::thread::sleep(Duration::from_secs_f64(cmd.interval));
    }
    errln!("watch ended: {} warning(s)", monitor.fired().len());
    Ok(ExitCode::SUCCESS)
}
