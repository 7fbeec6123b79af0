//! Versioned schema and migrations (`PRAGMA user_version`).
use crate::StoreError;
use rusqlite::Connection;
use std::path::Path;

/// Migrations in order; migration i brings the schema from version i to i + 1. Append, never
/// edit: a store written by an older critlab is brought forward on open.
const MIGRATIONS: &[&str] = &[
    // v1: runs and metrics.
    "CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        spec_hash TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        seed INTEGER NOT NULL,
        sweep TEXT,
        status TEXT NOT NULL CHECK (status IN ('running','done','diverged','failed')),
        reason TEXT,
        critlab_version TEXT NOT NULL,
        backend TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        wall_seconds REAL
    );
    CREATE INDEX runs_by_hash ON runs (spec_hash);
    CREATE INDEX runs_by_sweep ON runs (sweep);
    CREATE TABLE metrics (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        step INTEGER NOT NULL,
        name TEXT NOT NULL,
        value REAL,
        PRIMARY KEY (run_id, name, step)
    ) WITHOUT ROWID;",
    // v2: per-run transitions and phases, written back by `critlab analyze phases`.
    "CREATE TABLE transitions (
        run_id INTEGER NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
        detector TEXT NOT NULL,
        quantity TEXT NOT NULL,
        t_mem REAL,
        t_grok REAL,
        delay REAL,
        width REAL,
        jump REAL,
        phase TEXT,
        reason TEXT,
        note TEXT NOT NULL,
        options_json TEXT NOT NULL,
        computed_at TEXT NOT NULL,
        PRIMARY KEY (run_id, detector, quantity)
    ) WITHOUT ROWID;",
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |r| r.get(0))
        .map_err(|e| StoreError::open(path, e))?;
    if version > SCHEMA_VERSION {
        return Err(StoreError::Schema {
            path: path.to_path_buf(),
            reason: format!(
                "schema version {version} was written by a newer critlab (this one knows up to {SCHEMA_VERSION})"
            ),
        });
    }
    if version == 0 {
        let foreign: i64 = conn
            .query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table'", [], |r| r.get(0))
            .map_err(|e| StoreError::open(path, e))?;
        if foreign > 0 {
            return Err(StoreError::Schema {
                path: path.to_path_buf(),
                reason: "is an SQLite database with tables but not a critlab store".into(),
            });
        }
    }
    for (i, sql) in MIGRATIONS.iter().enumerate().skip(version as usize) {
        let tx = conn.unchecked_transaction().map_err(|e| StoreError::sql(path, "migrate", e))?;
        tx.execute_batch(sql).map_err(|e| StoreError::sql(path, "migrate", e))?;
        tx.pragma_update(None, "user_version", (i + 1) as i64)
            .map_err(|e| StoreError::sql(path, "migrate", e))?;
        tx.commit().map_err(|e| StoreError::sql(path, "migrate", e))?;
    }
    Ok(())
}
