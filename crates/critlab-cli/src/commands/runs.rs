//! `critlab runs list`, `critlab runs show ID` and `critlab runs reap`.
use crate::args::StoreArg;
use crate::table;
use anyhow::Result;
use clap::{Args, Subcommand};
use critlab_store::{RunId, Store};
use serde_json::Value;
use std::process::ExitCode;

/// Inspect stored runs.
#[derive(Debug, Subcommand)]
pub enum RunsCmd {
    /// List runs as a table.
    List(ListCmd),
    /// Show one run: its spec, status and last value of every metric.
    Show(ShowCmd),
    /// Mark `failed` the runs left `running` by a process that is gone (killed by SIGKILL,
    /// the OOM killer or scancel); `runs list` shows them as `stale`. A resumed sweep retrains them.
    Reap(ReapCmd),
}

/// `runs reap`.
#[derive(Debug, Args)]
pub struct ReapCmd {
    #[command(flatten)]
    store: StoreArg,
    /// Only runs of this sweep
    #[arg(long)]
    sweep: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// `runs list`.
#[derive(Debug, Args)]
pub struct ListCmd {
    #[command(flatten)]
    store: StoreArg,
    /// Only runs of this sweep
    #[arg(long)]
    sweep: Option<String>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// `runs show`.
#[derive(Debug, Args)]
pub struct ShowCmd {
    /// Run id
    id: RunId,
    #[command(flatten)]
    store: StoreArg,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

/// Runs a `runs` subcommand.
pub fn run(cmd: RunsCmd) -> Result<ExitCode> {
    match cmd {
        RunsCmd::List(c) => list(c),
        RunsCmd::Show(c) => show(c),
        RunsCmd::Reap(c) => reap(c),
    }
}

fn spec_field(spec: &Value, key: &str) -> String {
    match spec.get(key) {
        Some(Value::String(s)) => s.clone(),
        // Whole numbers (p, width, steps, seed) print in full, not as 4.295e9.
        Some(Value::Number(n)) if n.is_u64() || n.is_i64() => n.to_string(),
        Some(Value::Number(n)) => table::num(n.as_f64()),
        Some(v) => v.to_string(),
        None => "-".into(),
    }
}

/// A run as JSON, its `status` the one word the table shows (`stale` for a `running` run
/// whose process is gone; the `stale` flag stays beside it).
fn json_run(run: &critlab_store::RunRow) -> Result<Value> {
    let mut obj = serde_json::to_value(run)?;
    obj["status"] = Value::from(run.shown_status());
    Ok(obj)
}

fn list(cmd: ListCmd) -> Result<ExitCode> {
    let store = Store::open_read_only(&cmd.store.store)?;
    let runs = store.runs(cmd.sweep.as_deref())?;
    if cmd.json {
        let shown = runs.iter().map(json_run).collect::<Result<Vec<_>>>()?;
        outln!("{}", serde_json::to_string_pretty(&shown)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    if runs.is_empty() {
        outln!("no runs in {}", cmd.store.store.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    let header = [
        "id",
        "status",
        "task",
        "model",
        "p",
        "width",
        "optimizer",
        "lr",
        "weight-decay",
        "train-frac",
        "seed",
        "steps",
        "last step",
        "wall s",
        "sweep",
    ];
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.to_string(),
                r.shown_status().to_string(),
                spec_field(&r.spec, "task"),
                spec_field(&r.spec, "model"),
                spec_field(&r.spec, "p"),
                spec_field(&r.spec, "width"),
                spec_field(&r.spec, "optimizer"),
                spec_field(&r.spec, "lr"),
                spec_field(&r.spec, "weight-decay"),
                spec_field(&r.spec, "train-frac"),
                r.seed.to_string(),
                spec_field(&r.spec, "steps"),
                r.last_step.map(|s| s.to_string()).unwrap_or_else(|| "-".into()),
                table::num(r.wall_seconds),
                r.sweep.clone().unwrap_or_else(|| "-".into()),
            ]
        })
        .collect();
    out!("{}", table::render(&header, &rows))?;
    Ok(ExitCode::SUCCESS)
}

fn show(cmd: ShowCmd) -> Result<ExitCode> {
    let store = Store::open_read_only(&cmd.store.store)?;
    let run = store.run(cmd.id)?;
    let mut last = serde_json::Map::new();
    for name in store.metric_names(cmd.id)? {
        let series = store.series(cmd.id, &name)?;
        if let Some((step, v)) = series.last() {
            last.insert(name, serde_json::json!({ "step": step, "value": Value::from(*v), "points": series.len() }));
        }
    }
    let transitions = store.transitions(Some(cmd.id))?;
    if cmd.json {
        let mut obj = json_run(&run)?;
        obj["last_metrics"] = Value::Object(last);
        obj["transitions"] = serde_json::to_value(&transitions)?;
        outln!("{}", serde_json::to_string_pretty(&obj)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    outln!(
        "run {}  status {}{}",
        run.id,
        run.shown_status(),
        run.reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default()
    )?;
    if let Some(p) = &run.process {
        let job = p.slurm_job.as_ref().map(|j| format!("  slurm job {j}")).unwrap_or_default();
        let gone =
            if run.stale { "  (gone: the run will never finish; `critlab runs reap` marks it failed)" } else { "" };
        outln!("process {} on {}{job}{gone}", p.pid, p.host)?;
    }
    outln!("spec hash {}  seed {}  critlab {}  backend {}", run.spec_hash, run.seed, run.critlab_version, run.backend)?;
    outln!(
        "created {}  finished {}  wall {} s",
        run.created_at,
        run.finished_at.as_deref().unwrap_or("-"),
        table::num(run.wall_seconds)
    )?;
    if let Some(s) = &run.sweep {
        outln!("sweep {s}")?;
    }
    if let Some(s) = &run.source {
        outln!("ingested from {s}")?;
    }
    let spec_rows: Vec<Vec<String>> = run
        .spec
        .as_object()
        .map(|o| {
            o.iter()
                .map(|(k, v)| {
                    vec![
                        k.clone(),
                        match v {
                            Value::String(s) => s.clone(),
                            v => v.to_string(),
                        },
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    outln!()?;
    out!("{}", table::render(&["setting", "value"], &spec_rows))?;
    let metric_rows: Vec<Vec<String>> = last
        .iter()
        .map(|(k, v)| vec![k.clone(), v["step"].to_string(), table::num(v["value"].as_f64()), v["points"].to_string()])
        .collect();
    outln!()?;
    out!("{}", table::render(&["metric", "last step", "value", "points"], &metric_rows))?;
    if !transitions.is_empty() {
        let rows: Vec<Vec<String>> = transitions
            .iter()
            .map(|t| {
                vec![
                    t.detector.clone(),
                    t.quantity.clone(),
                    table::num(t.t_mem),
                    table::num(t.t_grok),
                    table::num(t.delay),
                    table::num(t.width),
                    t.phase.clone().unwrap_or_else(|| "-".into()),
                ]
            })
            .collect();
        outln!()?;
        outln!("transitions (stored by `critlab analyze phases`)")?;
        out!("{}", table::render(&["detector", "quantity", "t_mem", "t_grok", "delay", "width", "phase"], &rows))?;
        if let Some(reason) = transitions.iter().find_map(|t| t.reason.as_deref()) {
            outln!("phase: {reason}")?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn reap(cmd: ReapCmd) -> Result<ExitCode> {
    let store = Store::open(&cmd.store.store)?;
    let reaped = store.reap(cmd.sweep.as_deref())?;
    if cmd.json {
        let ids: Vec<_> = reaped.iter().map(|r| r.id).collect();
        outln!("{}", serde_json::json!({ "reaped": ids }))?;
        return Ok(ExitCode::SUCCESS);
    }
    for r in &reaped {
        let p = r.process.as_ref().expect("a stale run has a process");
        outln!("run {}: failed (stale: process {} on {} is gone)", r.id, p.pid, p.host)?;
    }
    outln!("{} stale run(s) marked failed in {}", reaped.len(), cmd.store.store.display())?;
    Ok(ExitCode::SUCCESS)
}
