//! critlab's run store: one SQLite file in WAL mode.
//!
//! * `runs`: one row per run with its resolved spec (JSON), spec hash, seed, status
//!   (`running | done | diverged | failed`) with a reason, timings, critlab version and backend.
//! * `metrics`: `(run_id, step, name, value)`, one row per observable per eval step.
//! * `transitions`: per-run transitions and phases written back by the analyses.
//! * runs from outside logs ([`ingest`]: TensorBoard, MLflow, CSV/JSONL) carry their `source`.
//!
//! Metrics are written by one writer thread ([`Writer`]) fed by a channel, in batched
//! transactions. A run becomes `done` only in the transaction that commits its last metrics,
//! so a killed process leaves either a finished run or a `running` one, never a `done` run
//! with missing data. The schema is versioned with `PRAGMA user_version` and migrated on open.
#![warn(missing_docs)]

mod error;
pub mod export;
pub mod ingest;
mod merge;
mod process;
mod resume;
mod schema;
mod transitions;
mod writer;

pub use error::StoreError;
pub use merge::{MergeReport, UnfinishedRun};
pub use process::ProcessInfo;
pub use transitions::TransitionRow;
pub use writer::{MetricRow, Writer};

use critlab_core::{RunSpec, RunStatus};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The default store file in the working directory.
pub const DEFAULT_STORE: &str = "critlab.db";

/// Identifier of a stored run.
pub type RunId = i64;

/// An open store (a reader/admin connection; metrics go through a [`Writer`]).
pub struct Store {
    conn: Connection,
    path: PathBuf,
    /// Schema version of the file (older stores opened read-only are not migrated).
    version: i64,
}

/// One row of the `runs` table.
#[derive(Debug, Clone, Serialize)]
pub struct RunRow {
    /// Run id.
    pub id: RunId,
    /// Hash of the resolved spec.
    pub spec_hash: String,
    /// The resolved spec.
    pub spec: serde_json::Value,
    /// Seed.
    pub seed: u64,
    /// Sweep this run belongs to, if any.
    pub sweep: Option<String>,
    /// Status.
    pub status: RunStatus,
    /// Why it failed or diverged (or how it stopped early).
    pub reason: Option<String>,
    /// critlab version that trained it.
    pub critlab_version: String,
    /// Tensor backend that trained it.
    pub backend: String,
    /// Creation time (UTC, ISO 8601).
    pub created_at: String,
    /// Finish time (UTC, ISO 8601).
    pub finished_at: Option<String>,
    /// Wall-clock training time in seconds.
    pub wall_seconds: Option<f64>,
    /// Last step with committed metrics.
    pub last_step: Option<i64>,
    /// Where an ingested run came from (`tensorboard:/abs/dir`, ...); `None` for runs critlab trained.
    pub source: Option<String>,
    /// The process that trained (or trains) it; `None` for runs stored before schema v4 and
    /// for ingested runs.
    pub process: Option<ProcessInfo>,
    /// Whether the run is `running` but its process is gone (killed): it will never finish.
    /// `critlab runs reap` marks such runs failed.
    pub stale: bool,
}

impl RunRow {
    /// The status to show: `stale` for a `running` run whose process is gone.
    pub fn shown_status(&self) -> &'static str {
        if self.stale {
            "stale"
        } else {
            self.status.as_str()
        }
    }
}

impl Store {
    /// Opens (creating if needed) the store at `path`, enables WAL and migrates the schema.
    ///
    /// A file that is not a critlab store (or is corrupt) is an error naming the path; the
    /// file is never modified in that case.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Ok(meta) = std::fs::metadata(&path) {
            if !meta.is_file() {
                return Err(StoreError::Schema {
                    path,
                    reason: "is not a regular file (a device or a directory cannot hold a store)".into(),
                });
            }
        }
        // Switching a new file to WAL needs an exclusive lock, and SQLite answers "database is
        // locked" there without waiting on the busy timeout when another process is opening
        // the same new store at that moment: retry the open for as long as the busy timeout.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        loop {
            match connect(&path).and_then(|conn| schema::migrate(&conn, &path).map(|()| conn)) {
                Ok(conn) => return Ok(Self { conn, path, version: schema::SCHEMA_VERSION }),
                Err(e) if e.is_busy() && std::time::Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Opens an existing store for reading only: never creates, migrates or changes the file
    /// (what `runs`, `export`, the analyses and `watch` use). A missing file, an empty file
    /// and a database that is not a critlab store are errors naming the path. A store in a
    /// directory this process cannot write to is read as an immutable snapshot.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        match std::fs::metadata(&path) {
            Err(_) => return Err(StoreError::Missing { path }),
            Ok(meta) if !meta.is_file() => {
                let what = if meta.is_dir() { "a directory" } else { "not a regular file" };
                return Err(StoreError::Schema { path, reason: format!("is {what}, not a store") });
            }
            Ok(_) => {}
        }
        let conn = match connect_read_only(&path, false) {
            // A WAL store needs its shared-memory file, which an unwritable directory cannot
            // hold: read the file as it is.
            Err(StoreError::Open { source, .. }) if can_retry_immutable(&source) => connect_read_only(&path, true)?,
            other => other?,
        };
        let version = schema::check_read_only(&conn, &path)?;
        Ok(Self { conn, path, version })
    }

    /// Whether this store was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.conn.is_readonly(rusqlite::DatabaseName::Main).unwrap_or(false)
    }

    /// The file this store lives in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Starts a [`Writer`] thread on this store's file.
    pub fn writer(&self) -> Result<Writer, StoreError> {
        Writer::start(&self.path)
    }

    /// Records a new run as `running` and returns its id.
    pub fn create_run(&self, spec: &RunSpec, sweep: Option<&str>, backend: &str) -> Result<RunId, StoreError> {
        self.insert_running_run(&spec.hash(), &spec.to_json(), spec.seed, sweep, backend)
    }

    /// Inserts a `running` run owned by this process (host, pid and start time, so a run
    /// whose process dies shows as `stale`).
    pub(crate) fn insert_running_run(
        &self,
        spec_hash: &str,
        spec_json: &str,
        seed: u64,
        sweep: Option<&str>,
        backend: &str,
    ) -> Result<RunId, StoreError> {
        let process = ProcessInfo::current();
        self.conn
            .execute(
                "INSERT INTO runs (spec_hash, spec_json, seed, sweep, status, critlab_version, backend, created_at,
                                   host, pid, process_start, slurm_job)
                 VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, strftime('%Y-%m-%dT%H:%M:%fZ','now'), ?7, ?8, ?9, ?10)",
                params![
                    spec_hash,
                    spec_json,
                    seed as i64,
                    sweep,
                    critlab_core::VERSION,
                    backend,
                    process.host,
                    process.pid,
                    process.start,
                    process.slurm_job
                ],
            )
            .map_err(|e| StoreError::sql(&self.path, "create run", e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Marks a run finished (used when no writer is involved, e.g. a run that failed before
    /// its first step).
    pub fn finish_run(
        &self,
        id: RunId,
        status: RunStatus,
        reason: Option<&str>,
        wall_seconds: f64,
    ) -> Result<(), StoreError> {
        writer::finish(&self.conn, id, status, reason, wall_seconds)
            .map_err(|e| StoreError::sql(&self.path, "finish run", e))
    }

    /// All runs, optionally of one sweep, in id order.
    pub fn runs(&self, sweep: Option<&str>) -> Result<Vec<RunRow>, StoreError> {
        let sql = format!("{} WHERE (?1 IS NULL OR r.sweep = ?1) ORDER BY r.id", run_select(self.version));
        let mut stmt = self.conn.prepare(&sql).map_err(|e| StoreError::sql(&self.path, "list runs", e))?;
        let rows = stmt.query_map(params![sweep], run_row).map_err(|e| StoreError::sql(&self.path, "list runs", e))?;
        rows.collect::<Result<Vec<_>, _>>().map_err(|e| StoreError::sql(&self.path, "list runs", e))
    }

    /// One run by id.
    pub fn run(&self, id: RunId) -> Result<RunRow, StoreError> {
        let sql = format!("{} WHERE r.id = ?1", run_select(self.version));
        self.conn
            .query_row(&sql, params![id], run_row)
            .optional()
            .map_err(|e| StoreError::sql(&self.path, "read run", e))?
            .ok_or(StoreError::NoSuchRun { id, path: self.path.clone() })
    }

    /// Marks `failed` every `running` run (of `sweep`, or all) whose process is gone, with the
    /// reason; returns them. They are retrained when their sweep resumes.
    pub fn reap(&self, sweep: Option<&str>) -> Result<Vec<RunRow>, StoreError> {
        let stale: Vec<RunRow> = self.runs(sweep)?.into_iter().filter(|r| r.stale).collect();
        for r in &stale {
            let p = r.process.as_ref().expect("a stale run has a process");
            let reason = format!(
                "stale: its process {} on {} ended without finishing the run (killed: SIGKILL, out of memory, scancel?)",
                p.pid, p.host
            );
            self.conn
                .execute(
                    "UPDATE runs SET status = 'failed', reason = ?2, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now')
                     WHERE id = ?1 AND status = 'running'",
                    params![r.id, reason],
                )
                .map_err(|e| StoreError::sql(&self.path, "reap stale runs", e))?;
        }
        Ok(stale)
    }

    /// Names of the metrics stored for a run, sorted.
    pub fn metric_names(&self, run: RunId) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT name FROM metrics WHERE run_id = ?1 ORDER BY name")
            .map_err(|e| StoreError::sql(&self.path, "list metric names", e))?;
        let names = stmt
            .query_map(params![run], |r| r.get::<_, String>(0))
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoreError::sql(&self.path, "list metric names", e))?;
        Ok(names)
    }

    /// The series (step, value) of one metric of one run, in step order. Non-finite values
    /// are stored as NULL and read back as NaN.
    pub fn series(&self, run: RunId, name: &str) -> Result<Vec<(i64, f64)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT step, value FROM metrics WHERE run_id = ?1 AND name = ?2 ORDER BY step")
            .map_err(|e| StoreError::sql(&self.path, "read series", e))?;
        let rows = stmt
            .query_map(params![run, name], |r| {
                Ok((r.get::<_, i64>(0)?, r.get::<_, Option<f64>>(1)?.unwrap_or(f64::NAN)))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoreError::sql(&self.path, "read series", e))?;
        Ok(rows)
    }

    /// Every metric row of a run, ordered by step then name.
    pub fn metrics(&self, run: RunId) -> Result<Vec<MetricRow>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT step, name, value FROM metrics WHERE run_id = ?1 ORDER BY step, name")
            .map_err(|e| StoreError::sql(&self.path, "read metrics", e))?;
        let rows = stmt
            .query_map(params![run], |r| {
                Ok(MetricRow {
                    run,
                    step: r.get(0)?,
                    name: r.get(1)?,
                    value: r.get::<_, Option<f64>>(2)?.unwrap_or(f64::NAN),
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|e| StoreError::sql(&self.path, "read metrics", e))?;
        Ok(rows)
    }

    /// The underlying connection, for crates that add their own tables (analyses).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

/// The run columns of a store of schema `version` (`source` from v3 on, the process columns
/// from v4 on; older stores opened read-only are not migrated).
fn run_select(version: i64) -> String {
    let source = if version >= 3 { "r.source" } else { "NULL" };
    let process = if version >= 4 { "r.host, r.pid, r.process_start, r.slurm_job" } else { "NULL, NULL, NULL, NULL" };
    format!(
        "SELECT r.id, r.spec_hash, r.spec_json, r.seed, r.sweep, r.status, r.reason,
        r.critlab_version, r.backend, r.created_at, r.finished_at, r.wall_seconds,
        (SELECT MAX(step) FROM metrics m WHERE m.run_id = r.id), {source}, {process}
 FROM runs r"
    )
}

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let spec_json: String = r.get(2)?;
    let status: String = r.get(5)?;
    let process = match (r.get::<_, Option<String>>(14)?, r.get::<_, Option<i64>>(15)?) {
        (Some(host), Some(pid)) => {
            Some(ProcessInfo { host, pid: pid as u32, start: r.get(16)?, slurm_job: r.get(17)? })
        }
        _ => None,
    };
    Ok(RunRow {
        id: r.get(0)?,
        spec_hash: r.get(1)?,
        spec: serde_json::from_str(&spec_json).unwrap_or(serde_json::Value::String(spec_json)),
        seed: r.get::<_, i64>(3)? as u64,
        sweep: r.get(4)?,
        status: RunStatus::parse(&status).unwrap_or(RunStatus::Failed),
        reason: r.get(6)?,
        critlab_version: r.get(7)?,
        backend: r.get(8)?,
        created_at: r.get(9)?,
        finished_at: r.get(10)?,
        wall_seconds: r.get(11)?,
        last_step: r.get(12)?,
        source: r.get(13)?,
        process: process.clone(),
        stale: status == "running" && process.as_ref().is_some_and(|p| p.gone() == Some(true)),
    })
}

/// Opens a connection with critlab's settings: WAL, NORMAL sync, foreign keys, 10 s busy wait.
pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::open(path, e))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(|e| StoreError::open(path, e))?;
    // Reading the schema fails on a file that is not a database, before anything is written;
    // a database that is not a critlab store is refused before WAL mode changes its header.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .map_err(|e| StoreError::open(path, e))?;
    schema::refuse_foreign(&conn, path)?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| StoreError::open(path, e))?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| StoreError::open(path, e))?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| StoreError::open(path, e))?;
    Ok(conn)
}

/// A read-only connection; `immutable` reads the file without locks or companion files.
fn connect_read_only(path: &Path, immutable: bool) -> Result<Connection, StoreError> {
    use rusqlite::OpenFlags;
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let uri = format!("file:{}?mode=ro{}", uri_path(path), if immutable { "&immutable=1" } else { "" });
    let conn = Connection::open_with_flags(uri, flags).map_err(|e| StoreError::open(path, e))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(|e| StoreError::open(path, e))?;
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .map_err(|e| StoreError::open(path, e))?;
    Ok(conn)
}

/// Whether a read-only open failed only for want of the WAL companion files.
fn can_retry_immutable(e: &rusqlite::Error) -> bool {
    use rusqlite::ErrorCode;
    matches!(e.sqlite_error_code(), Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly | ErrorCode::PermissionDenied))
}

/// A path as the path part of an SQLite URI (`%`, `?` and `#` escaped).
fn uri_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.to_string_lossy().chars() {
        match c {
            '%' => out.push_str("%25"),
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
