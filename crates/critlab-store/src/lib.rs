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
mod resume;
mod schema;
mod transitions;
mod writer;

pub use error::StoreError;
pub use merge::{MergeReport, UnfinishedRun};
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
}

impl Store {
    /// Opens (creating if needed) the store at `path`, enables WAL and migrates the schema.
    ///
    /// A file that is not a critlab store (or is corrupt) is an error naming the path; the
    /// file is never modified in that case.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        let conn = connect(&path)?;
        schema::migrate(&conn, &path)?;
        Ok(Self { conn, path })
    }

    /// Opens an existing store for reading only (SQLite's read-only mode, `query_only` on):
    /// nothing is created, migrated or written, so a report or a dashboard can read a store
    /// while a sweep writes it. A missing file, a file that is not a critlab store, or a
    /// schema newer or older than this build is an error naming the path.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        use rusqlite::OpenFlags;
        let path = path.as_ref().to_path_buf();
        if !path.is_file() {
            return Err(StoreError::Schema { path, reason: "does not exist (a store is created by `critlab train` or `critlab sweep run`)".into() });
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
        let conn = Connection::open_with_flags(&path, flags).map_err(|e| StoreError::open(&path, e))?;
        conn.busy_timeout(Duration::from_secs(10)).map_err(|e| StoreError::open(&path, e))?;
        conn.pragma_update(None, "query_only", "ON").map_err(|e| StoreError::open(&path, e))?;
        let version: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| StoreError::open(&path, e))?;
        if version != schema::SCHEMA_VERSION {
            let reason = if version == 0 {
                "is not a critlab store (no schema version)".to_string()
            } else {
                format!("has schema version {version}, this critlab reads version {} (open it once with a writing command to migrate it)", schema::SCHEMA_VERSION)
            };
            return Err(StoreError::Schema { path, reason });
        }
        Ok(Self { conn, path })
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
    pub fn create_run(
        &self,
        spec: &RunSpec,
        sweep: Option<&str>,
        backend: &str,
    ) -> Result<RunId, StoreError> {
        self.conn
            .execute(
                "INSERT INTO runs (spec_hash, spec_json, seed, sweep, status, critlab_version, backend, created_at)
                 VALUES (?1, ?2, ?3, ?4, 'running', ?5, ?6, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                params![
                    spec.hash(),
                    spec.to_json(),
                    spec.seed as i64,
                    sweep,
                    critlab_core::VERSION,
                    backend
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
        let sql = format!(
            "{RUN_SELECT} WHERE (?1 IS NULL OR r.sweep = ?1) ORDER BY r.id"
        );
        let mut stmt = self.conn.prepare(&sql).map_err(|e| StoreError::sql(&self.path, "list runs", e))?;
        let rows = stmt
            .query_map(params![sweep], run_row)
            .map_err(|e| StoreError::sql(&self.path, "list runs", e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| StoreError::sql(&self.path, "list runs", e))
    }

    /// One run by id.
    pub fn run(&self, id: RunId) -> Result<RunRow, StoreError> {
        let sql = format!("{RUN_SELECT} WHERE r.id = ?1");
        self.conn
            .query_row(&sql, params![id], run_row)
            .optional()
            .map_err(|e| StoreError::sql(&self.path, "read run", e))?
            .ok_or(StoreError::NoSuchRun { id, path: self.path.clone() })
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

const RUN_SELECT: &str = "SELECT r.id, r.spec_hash, r.spec_json, r.seed, r.sweep, r.status, r.reason,
        r.critlab_version, r.backend, r.created_at, r.finished_at, r.wall_seconds,
        (SELECT MAX(step) FROM metrics m WHERE m.run_id = r.id), r.source
 FROM runs r";

fn run_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RunRow> {
    let spec_json: String = r.get(2)?;
    let status: String = r.get(5)?;
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
    })
}

/// Opens a connection with critlab's settings: WAL, NORMAL sync, foreign keys, 10 s busy wait.
pub(crate) fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path).map_err(|e| StoreError::open(path, e))?;
    conn.busy_timeout(Duration::from_secs(10)).map_err(|e| StoreError::open(path, e))?;
    // Reading the schema fails on a file that is not a database, before anything is written.
    conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get::<_, i64>(0))
        .map_err(|e| StoreError::open(path, e))?;
    conn.pragma_update(None, "journal_mode", "WAL").map_err(|e| StoreError::open(path, e))?;
    conn.pragma_update(None, "synchronous", "NORMAL").map_err(|e| StoreError::open(path, e))?;
    conn.pragma_update(None, "foreign_keys", "ON").map_err(|e| StoreError::open(path, e))?;
    Ok(conn)
}

#[cfg(test)]
mod tests;
