//! Versioned schema and migrations (`PRAGMA user_version`).
use crate::StoreError;
use rusqlite::{Connection, Transaction, TransactionBehavior};
use std::path::Path;

/// Migrations in order; migration i brings the schema from version i to i + 1. Append, never
/// edit: a store written by an older critlab is brought forward on open.
pub(crate) const MIGRATIONS: &[&str] = &[
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
    // v3: runs ingested from outside logs (`critlab ingest`): where each came from (`source`,
    // unique, e.g. `tensorboard:/abs/dir`) and a digest of what was read, so re-ingesting
    // an unchanged source adds nothing and a changed one replaces its run.
    "ALTER TABLE runs ADD COLUMN source TEXT;
    ALTER TABLE runs ADD COLUMN source_digest TEXT;
    CREATE UNIQUE INDEX runs_by_source ON runs (source) WHERE source IS NOT NULL;",
    // v4: the process that trains a run (host, pid, its start time, Slurm job), so that a run
    // whose process died (SIGKILL, OOM, scancel) can be told `stale` from one still running.
    "ALTER TABLE runs ADD COLUMN host TEXT;
    ALTER TABLE runs ADD COLUMN pid INTEGER;
    ALTER TABLE runs ADD COLUMN process_start TEXT;
    ALTER TABLE runs ADD COLUMN slurm_job TEXT;",
    // v5: status `stopped` (a run stopped early by a rule, e.g. `sweep run --stop-hopeless`).
    // SQLite cannot alter a CHECK constraint, so the runs table is rebuilt (the 12-step
    // procedure of the SQLite documentation; foreign keys are off around it, see `migrate`).
    "CREATE TABLE runs_v5 (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        spec_hash TEXT NOT NULL,
        spec_json TEXT NOT NULL,
        seed INTEGER NOT NULL,
        sweep TEXT,
        status TEXT NOT NULL CHECK (status IN ('running','done','diverged','failed','stopped')),
        reason TEXT,
        critlab_version TEXT NOT NULL,
        backend TEXT NOT NULL,
        created_at TEXT NOT NULL,
        finished_at TEXT,
        wall_seconds REAL,
        source TEXT,
        source_digest TEXT,
        host TEXT,
        pid INTEGER,
        process_start TEXT,
        slurm_job TEXT
    );
    INSERT INTO runs_v5 (id, spec_hash, spec_json, seed, sweep, status, reason, critlab_version, backend, created_at, finished_at, wall_seconds, source, source_digest, host, pid, process_start, slurm_job)
        SELECT id, spec_hash, spec_json, seed, sweep, status, reason, critlab_version, backend, created_at, finished_at, wall_seconds, source, source_digest, host, pid, process_start, slurm_job FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v5 RENAME TO runs;
    CREATE INDEX runs_by_hash ON runs (spec_hash);
    CREATE INDEX runs_by_sweep ON runs (sweep);
    CREATE UNIQUE INDEX runs_by_source ON runs (source) WHERE source IS NOT NULL;",
];

/// Migrations that rebuild a table others reference: foreign keys must be off while they run
/// (a DROP TABLE would otherwise cascade into the metrics).
const REBUILDS: &[usize] = &[4];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

fn user_version(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    conn.pragma_query_value(None, "user_version", |r| r.get(0)).map_err(|e| StoreError::open(path, e))
}

/// The schema version and the number of tables, read in one statement and so from one
/// snapshot: read apart, another process could create the store between the two reads, and a
/// version of 0 with tables would look like a foreign database.
fn version_and_tables(conn: &Connection, path: &Path) -> Result<(i64, i64), StoreError> {
    conn.query_row(
        "SELECT (SELECT user_version FROM pragma_user_version), (SELECT count(*) FROM sqlite_master WHERE type = 'table')",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .map_err(|e| StoreError::open(path, e))
}

fn foreign(path: &Path) -> StoreError {
    StoreError::Schema {
        path: path.to_path_buf(),
        reason: "is an SQLite database with tables but not a critlab store".into(),
    }
}

/// Refuses, before anything is written, a database critlab must not touch: one with tables
/// but no critlab schema, or a schema newer than this build.
pub(crate) fn refuse_foreign(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let (version, tables) = version_and_tables(conn, path)?;
    if check(version, path)? == 0 && tables > 0 {
        return Err(foreign(path));
    }
    Ok(())
}

/// The schema version of a store opened read-only, which must already be a critlab store
/// (of this or an older version; it is not migrated).
pub(crate) fn check_read_only(conn: &Connection, path: &Path) -> Result<i64, StoreError> {
    let (version, tables) = version_and_tables(conn, path)?;
    if check(version, path)? == 0 {
        return Err(if tables > 0 { foreign(path) } else { StoreError::Empty { path: path.to_path_buf() } });
    }
    Ok(version)
}

pub(crate) fn migrate(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let before = check(user_version(conn, path)?, path)?;
    if before == SCHEMA_VERSION {
        return Ok(());
    }
    // Another process may be creating or migrating the same file at this moment (a sweep and
    // a reader opening a new store together): take the write lock first (BEGIN IMMEDIATE
    // waits up to the busy timeout) and decide what to do inside it.
    let err = |e| StoreError::sql(path, "migrate", e);
    let rebuild = REBUILDS.iter().any(|&i| i as i64 >= before);
    // PRAGMA foreign_keys is a no-op inside a transaction: switch it off before.
    if rebuild {
        conn.pragma_update(None, "foreign_keys", "OFF").map_err(err)?;
    }
    let result = migrate_locked(conn, path);
    if rebuild {
        conn.pragma_update(None, "foreign_keys", "ON").map_err(err)?;
    }
    result
}

fn migrate_locked(conn: &Connection, path: &Path) -> Result<(), StoreError> {
    let err = |e| StoreError::sql(path, "migrate", e);
    let tx = Transaction::new_unchecked(conn, TransactionBehavior::Immediate).map_err(err)?;
    let (current, tables) = version_and_tables(&tx, path)?;
    if check(current, path)? == 0 && tables > 0 {
        return Err(foreign(path));
    }
    for sql in MIGRATIONS.iter().skip(current as usize) {
        tx.execute_batch(sql).map_err(err)?;
    }
    let broken: i64 = tx.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |r| r.get(0)).map_err(err)?;
    if broken > 0 {
        return Err(StoreError::Schema {
            path: path.to_path_buf(),
            reason: format!("{broken} rows break a foreign key after migrating"),
        });
    }
    tx.pragma_update(None, "user_version", SCHEMA_VERSION).map_err(err)?;
    tx.commit().map_err(err)
}

/// Refuses a schema newer than this build knows; returns the version.
fn check(version: i64, path: &Path) -> Result<i64, StoreError> {
    if version > SCHEMA_VERSION {
        return Err(StoreError::Schema {
            path: path.to_path_buf(),
            reason: format!(
                "schema version {version} was written by a newer critlab (this one knows up to {SCHEMA_VERSION})"
            ),
        });
    }
    Ok(version)
}
