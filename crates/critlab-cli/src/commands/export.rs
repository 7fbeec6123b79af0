//! `critlab export`: stored metrics as CSV, JSON Lines or Parquet (one row per run and step).
use crate::args::StoreArg;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
use critlab_core::files::{check_output, FileKind, Protected};
use critlab_store::export::{self, Format};
use critlab_store::{RunId, Store};
use std::path::PathBuf;
use std::process::ExitCode;

/// Export metrics.
#[derive(Debug, Args)]
pub struct ExportCmd {
    /// Output format
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// Only these runs (repeatable); all runs by default
    #[arg(long = "run")]
    runs: Vec<RunId>,
    /// Output file (required for parquet; standard output otherwise)
    #[arg(long, short)]
    output: Option<PathBuf>,
    /// Replace an existing output file that holds another kind of data, or whose name has
    /// another format's extension (the store itself is never overwritten)
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    store: StoreArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ExportFormat {
    Csv,
    Jsonl,
    Parquet,
}

/// Runs `critlab export`.
pub fn run(cmd: ExportCmd) -> Result<ExitCode> {
    if let Some(out) = &cmd.output {
        let kind = match cmd.format {
            ExportFormat::Csv => FileKind::Csv,
            ExportFormat::Jsonl => FileKind::Jsonl,
            ExportFormat::Parquet => FileKind::Parquet,
        };
        check_output("--output", out, kind, &Protected::new().store(&cmd.store.store), cmd.force)?;
    }
    let store = Store::open_read_only(&cmd.store.store)?;
    let runs = (!cmd.runs.is_empty()).then_some(cmd.runs.as_slice());
    let table = export::wide_table(&store, runs)?;
    let format = match cmd.format {
        ExportFormat::Csv => Format::Csv,
        ExportFormat::Jsonl => Format::Jsonl,
        ExportFormat::Parquet => Format::Parquet,
    };
    match (&cmd.output, format) {
        (Some(path), f) => {
            export::write(&table, f, path)?;
            errln!(
                "wrote {} rows × {} metrics as {:?} to {}",
                table.rows.len(),
                table.columns.len(),
                cmd.format,
                path.display()
            );
        }
        (None, Format::Csv) => export::write_csv(&table, std::io::BufWriter::new(crate::output::stdout()))?,
        (None, Format::Jsonl) => export::write_jsonl(&table, std::io::BufWriter::new(crate::output::stdout()))?,
        (None, Format::Parquet) => bail!("--format parquet needs --output FILE"),
    }
    Ok(ExitCode::SUCCESS)
}
