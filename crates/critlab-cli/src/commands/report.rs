//! `critlab report`: one self-contained HTML page of the stored runs (critlab-report draws it).
use crate::args::StoreArg;
use anyhow::Result;
use clap::Args;
use critlab_core::files::{check_output, FileKind, Protected};
use critlab_report::page::{write_report, ReportOptions};
use critlab_store::RunId;
use std::path::PathBuf;
use std::process::ExitCode;

/// What goes into a report page.
#[derive(Debug, Clone, Args)]
pub struct PageArgs {
    /// Only the runs of this sweep (default: every run in the store)
    #[arg(long)]
    pub sweep: Option<String>,
    /// Only this run (repeat for several)
    #[arg(long = "run")]
    pub runs: Vec<RunId>,
    /// Phase diagram: horizontal spec key [default: weight-decay when it varies]
    #[arg(long)]
    pub x: Option<String>,
    /// Phase diagram: vertical spec key [default: train-frac when it varies]
    #[arg(long)]
    pub y: Option<String>,
    /// Keep at most this many eval steps per run, evenly spaced in log(1 + step)
    #[arg(long, default_value_t = 400, value_parser = clap::value_parser!(u64).range(2..))]
    pub max_points: u64,
    /// Page title
    #[arg(long)]
    pub title: Option<String>,
}

impl PageArgs {
    /// The report options.
    pub fn options(&self) -> ReportOptions {
        ReportOptions {
            sweep: self.sweep.clone(),
            runs: self.runs.clone(),
            x: self.x.clone(),
            y: self.y.clone(),
            max_points: self.max_points as usize,
            title: self.title.clone(),
        }
    }
}

/// Write an interactive HTML report of stored runs (opens offline, no network).
#[derive(Debug, Args)]
pub struct ReportCmd {
    #[command(flatten)]
    store: StoreArg,
    #[command(flatten)]
    page: PageArgs,
    /// Output file
    #[arg(short, long, default_value = "report.html")]
    output: PathBuf,
    /// Replace an existing output file that holds another kind of data, or whose name has
    /// another kind's extension (the store itself is never overwritten)
    #[arg(long)]
    force: bool,
}

/// Runs `critlab report`.
pub fn run(cmd: ReportCmd) -> Result<ExitCode> {
    let protected = Protected::new().store(&cmd.store.store);
    check_output("--output", &cmd.output, FileKind::Html, &protected, cmd.force)?;
    let data = write_report(&cmd.store.store, &cmd.page.options(), &cmd.output)?;
    let size = std::fs::metadata(&cmd.output).map(|m| m.len()).unwrap_or(0);
    outln!(
        "wrote {} ({} runs, {} metrics, {:.1} MB)",
        cmd.output.display(),
        data.runs.len(),
        data.metrics.len(),
        size as f64 / 1e6
    )?;
    for note in &data.notes {
        outln!("note: {note}")?;
    }
    Ok(ExitCode::SUCCESS)
}
