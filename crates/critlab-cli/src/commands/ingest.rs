//! `critlab ingest`: runs critlab did not train (TensorBoard event files, an MLflow SQLite
//! store, CSV / JSON Lines logs such as W&B's history export) into the store, so every
//! analysis works on them. Every source is read completely before anything is written, and
//! each is written in one transaction (critlab_store::ingest).
use crate::args::StoreArg;
use anyhow::Result;
use clap::{Args, Subcommand};
use critlab_store::ingest::{self, table::TableOptions, IngestOptions, IngestReport, Outcome, Source};
use critlab_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

/// Read outside logs into the store.
#[derive(Debug, Subcommand)]
pub enum IngestCmd {
    /// TensorBoard event files (events.out.tfevents.*): every directory holding some is one run
    Tensorboard(TensorboardCmd),
    /// An MLflow SQLite tracking store (tables runs, params, metrics), opened read-only
    Mlflow(MlflowCmd),
    /// A CSV log (wide: a column per series; long: --name-col/--value-col; W&B history export)
    Csv(TableCmd),
    /// A JSON Lines log (one object per line; nested objects give `a/b` names)
    Jsonl(TableCmd),
}

/// Flags shared by every format.
#[derive(Debug, Args)]
pub struct CommonArgs {
    #[command(flatten)]
    store: StoreArg,
    /// File the runs under this sweep [default: the directory's or file's name; MLflow: the experiment]
    #[arg(long)]
    sweep: Option<String>,
    /// Store a source series under a critlab name, e.g. --map test_acc=val/accuracy (repeatable)
    #[arg(long = "map", value_name = "CRITLAB=SOURCE")]
    map: Vec<String>,
    /// Add or override a hyperparameter of every run, e.g. --param weight_decay=1 (repeatable)
    #[arg(long = "param", value_name = "KEY=VALUE")]
    param: Vec<String>,
    /// Print what was ingested as JSON
    #[arg(long)]
    json: bool,
}

/// `ingest tensorboard`.
#[derive(Debug, Args)]
pub struct TensorboardCmd {
    /// Log directories (searched recursively)
    #[arg(required = true, value_name = "DIR")]
    dirs: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// `ingest mlflow`.
#[derive(Debug, Args)]
pub struct MlflowCmd {
    /// MLflow SQLite files (the path of sqlite:///PATH)
    #[arg(required = true, value_name = "FILE.db")]
    files: Vec<PathBuf>,
    #[command(flatten)]
    common: CommonArgs,
}

/// `ingest csv` / `ingest jsonl`.
#[derive(Debug, Args)]
pub struct TableCmd {
    /// Log files
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Column naming the run [default: none, one run per file]
    #[arg(long, value_name = "COL")]
    run_col: Option<String>,
    /// Column of the step [default: step, else W&B's _step, else the row number]
    #[arg(long, value_name = "COL")]
    step_col: Option<String>,
    /// Long layout: column naming the series [default: metric, name, key or tag when a value column exists]
    #[arg(long, value_name = "COL")]
    name_col: Option<String>,
    /// Long layout: column of the value [default: value]
    #[arg(long, value_name = "COL")]
    value_col: Option<String>,
    /// Column holding a hyperparameter, constant within each run (repeatable)
    #[arg(long = "param-col", value_name = "COL")]
    param_col: Vec<String>,
    /// Skip rows that cannot be read faithfully (a text cell in a numeric column, a step out of
    /// range or repeated within a run) instead of refusing the file; the summary counts them
    #[arg(long)]
    skip_bad_rows: bool,
    #[command(flatten)]
    common: CommonArgs,
}

/// Runs `critlab ingest`.
pub fn run(cmd: IngestCmd) -> Result<ExitCode> {
    // Read every source first: a bad file stops the command before the store is touched.
    let (sources, common): (Vec<Source>, CommonArgs) = match cmd {
        IngestCmd::Tensorboard(c) => {
            (c.dirs.iter().map(|d| ingest::tensorboard::read(d)).collect::<Result<_, _>>()?, c.common)
        }
        IngestCmd::Mlflow(c) => (c.files.iter().map(|f| ingest::mlflow::read(f)).collect::<Result<_, _>>()?, c.common),
        IngestCmd::Csv(c) => table_sources(c, false)?,
        IngestCmd::Jsonl(c) => table_sources(c, true)?,
    };
    let opts = IngestOptions {
        sweep: common.sweep.clone(),
        map: IngestOptions::parse_map(&common.map)?,
        params: IngestOptions::parse_params(&common.param)?,
    };
    let path = &common.store.store;
    let existed = path.exists();
    let mut reports = Vec::with_capacity(sources.len());
    let ingested = (|| -> Result<()> {
        let store = Store::open(path)?;
        for source in &sources {
            let report = store.ingest(source, &opts)?;
            if !common.json {
                out!("{}", summary(&report))?;
            }
            reports.push(report);
        }
        Ok(())
    })();
    if let Err(e) = ingested {
        // A store this command created and could not fill (a full disk) is removed, not left
        // as an empty file that later commands would call an empty store.
        if !existed && reports.is_empty() {
            for suffix in ["", "-wal", "-shm", "-journal"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
            }
        }
        return Err(e);
    }
    if common.json {
        outln!("{}", serde_json::to_string_pretty(&reports)?)?;
    } else {
        outln!("store {}", common.store.store.display())?;
    }
    Ok(ExitCode::SUCCESS)
}

fn table_sources(c: TableCmd, jsonl: bool) -> Result<(Vec<Source>, CommonArgs)> {
    let opts = TableOptions {
        run_col: c.run_col,
        step_col: c.step_col,
        name_col: c.name_col,
        value_col: c.value_col,
        param_cols: c.param_col,
        skip_bad_rows: c.skip_bad_rows,
    };
    let sources = c.files.iter().map(|f| ingest::table::read(f, jsonl, &opts)).collect::<Result<_, _>>()?;
    Ok((sources, c.common))
}

/// The text summary of one source.
fn summary(r: &IngestReport) -> String {
    let mut out = format!(
        "{} {}: {} run(s): {} added, {} unchanged, {} replaced\n",
        r.format,
        r.path.display(),
        r.runs.len(),
        r.count(Outcome::Added),
        r.count(Outcome::Unchanged),
        r.count(Outcome::Replaced)
    );
    for run in &r.runs {
        let renamed: Vec<String> =
            run.series.iter().filter(|(n, from, _)| n != from).map(|(n, from, _)| format!("{from} → {n}")).collect();
        let points: usize = run.series.iter().map(|s| s.2).sum();
        out.push_str(&format!(
            "  run {} {} (sweep {}): {}; {} series, {} points{}\n",
            run.id,
            run.name,
            run.sweep,
            match run.outcome {
                Outcome::Added => "added",
                Outcome::Unchanged => "unchanged",
                Outcome::Replaced => "replaced",
            },
            run.series.len(),
            points,
            if renamed.is_empty() { String::new() } else { format!("; {}", renamed.join(", ")) }
        ));
        if !run.spec_keys.is_empty() {
            let keys: Vec<String> = run
                .spec_keys
                .iter()
                .map(|(from, k)| if from == k { k.clone() } else { format!("{from} → {k}") })
                .collect();
            out.push_str(&format!("    spec keys: {}\n", keys.join(", ")));
        }
    }
    for n in &r.notes {
        out.push_str(&format!("  note: {n}\n"));
    }
    out
}
