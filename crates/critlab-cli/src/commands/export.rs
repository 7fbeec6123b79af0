//! `critlab export`: stored metrics as CSV, JSON Lines or Parquet (one row per run and step).
use crate::args::StoreArg;
use anyhow::{bail, Result};
use clap::{Args, ValueEnum};
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
        crate::args::refuse_overwriting_input("--output", out, &[&cmd.store.store])?;
        check_extension(out, cmd.format)?;
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
            eprintln!(
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

/// Refuses an output file whose extension names another format (`-o runs.csv --format
/// parquet`); any other extension, or none, is written in the format asked for.
fn check_extension(path: &std::path::Path, format: ExportFormat) -> Result<()> {
    let ext = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
    let implied = match ext.as_deref() {
        Some("csv" | "tsv") => Some(ExportFormat::Csv),
        Some("jsonl" | "ndjson" | "json") => Some(ExportFormat::Jsonl),
        Some("parquet" | "pq") => Some(ExportFormat::Parquet),
        _ => None,
    };
    match implied {
        Some(f) if f != format => bail!(
            "--output {} has the extension of {f:?} but --format is {format:?}; rename the file or change --format",
            path.display()
        ),
        _ => Ok(()),
    }
}
