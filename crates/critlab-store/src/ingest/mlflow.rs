//! MLflow's SQLite tracking store (`mlflow ui --backend-store-uri sqlite:///mlflow.db`), opened
//! read-only. Tables read: `experiments` (name → sweep), `runs` (name, status, times,
//! lifecycle), `params` (key, value as text), `metrics` (key, value, timestamp, step, is_nan;
//! several values at one step: the latest timestamp wins). Deleted runs are skipped.
use super::{absolute, base_name, ExternalRun, IngestError, Source};
use critlab_core::RunStatus;
use rusqlite::{params, Connection, OpenFlags};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

fn query_err(path: &Path, what: &str, e: rusqlite::Error) -> IngestError {
    IngestError::Mlflow { path: path.to_path_buf(), reason: format!("{what}: {e}") }
}

/// Reads every (not deleted) run of the MLflow store `path`.
pub fn read(path: &Path) -> Result<Source, IngestError> {
    if !path.is_file() {
        return Err(IngestError::Empty { path: path.to_path_buf(), reason: "no such file".into() });
    }
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| query_err(path, "cannot open as SQLite", e))?;
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table'")
        .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
        .map_err(|e| query_err(path, "not an SQLite database", e))?;
    for t in ["experiments", "runs", "params", "metrics"] {
        if !tables.iter().any(|x| x == t) {
            return Err(IngestError::Mlflow {
                path: path.to_path_buf(),
                reason: format!("is not an MLflow tracking store (no `{t}` table; tables: {})", tables.join(", ")),
            });
        }
    }
    let err = |what: &str| {
        let what = what.to_string();
        move |e| query_err(path, &what, e)
    };
    let mut runs_stmt = conn
        .prepare(
            "SELECT r.run_uuid, r.name, r.status, r.start_time, r.end_time, r.lifecycle_stage, e.name
             FROM runs r LEFT JOIN experiments e ON e.experiment_id = r.experiment_id
             ORDER BY r.start_time, r.run_uuid",
        )
        .map_err(err("reading runs"))?;
    type Row = (String, Option<String>, Option<String>, Option<i64>, Option<i64>, Option<String>, Option<String>);
    let rows: Vec<Row> = runs_stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .and_then(|rows| rows.collect())
        .map_err(err("reading runs"))?;
    let mut params_stmt = conn
        .prepare("SELECT key, value FROM params WHERE run_uuid = ?1 ORDER BY key")
        .map_err(err("reading params"))?;
    let mut metrics_stmt = conn
        .prepare("SELECT key, step, value, is_nan FROM metrics WHERE run_uuid = ?1 ORDER BY key, step, timestamp")
        .map_err(err("reading metrics"))?;
    let abs = absolute(path);
    let mut runs = Vec::new();
    let mut notes = Vec::new();
    for (uuid, name, status, start, end, stage, experiment) in rows {
        let name = name.filter(|n| !n.is_empty()).unwrap_or_else(|| uuid.clone());
        if stage.as_deref() == Some("deleted") {
            notes.push(format!("run {name} ({uuid}) is deleted in MLflow; skipped"));
            continue;
        }
        let params: BTreeMap<String, Value> = params_stmt
            .query_map(params![uuid], |r| {
                Ok((r.get::<_, String>(0)?, Value::String(r.get::<_, Option<String>>(1)?.unwrap_or_default())))
            })
            .and_then(|rows| rows.collect())
            .map_err(err("reading params"))?;
        let mut series: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
        let points: Vec<(String, i64, Option<f64>, Option<bool>)> = metrics_stmt
            .query_map(params![uuid], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
            .and_then(|rows| rows.collect())
            .map_err(err("reading metrics"))?;
        for (key, step, value, is_nan) in points {
            let v = if is_nan.unwrap_or(false) { f64::NAN } else { value.unwrap_or(f64::NAN) };
            series.entry(key).or_default().insert(step, v);
        }
        if series.is_empty() {
            notes.push(format!("run {name} ({uuid}) has no metrics; skipped"));
            continue;
        }
        let (status, reason) = match status.as_deref() {
            Some("FINISHED") => (RunStatus::Done, None),
            Some("RUNNING") | Some("SCHEDULED") => (RunStatus::Running, None),
            Some(other) => (RunStatus::Failed, Some(format!("MLflow status {other}"))),
            None => (RunStatus::Done, None),
        };
        runs.push(ExternalRun {
            source: format!("mlflow:{}#{uuid}", abs.display()),
            name,
            sweep: experiment,
            params,
            series,
            status,
            reason,
            wall_seconds: start.zip(end).map(|(s, e)| (e - s) as f64 / 1000.0).filter(|w| *w >= 0.0),
        });
    }
    if runs.is_empty() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            reason: "the MLflow store has no runs with metrics".into(),
        });
    }
    let stem = base_name(path, "mlflow");
    let stem = stem.strip_suffix(".db").unwrap_or(&stem).to_string();
    Ok(Source { format: "mlflow", path: path.to_path_buf(), default_sweep: stem, runs, notes })
}
