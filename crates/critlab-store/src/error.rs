//! Store errors.
use std::path::{Path, PathBuf};

/// Everything that can go wrong with the store; each variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The file could not be opened as an SQLite database (missing directory, no permission,
    /// not a database, corrupt). Nothing was written to it.
    #[error("cannot open store {path}: {source}{}", open_hint(source))]
    Open {
        /// The file.
        path: PathBuf,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// A command that only reads was given a store file that does not exist.
    #[error("no store at {path}: the file does not exist (check --store; commands that only read never create one)")]
    Missing {
        /// The file.
        path: PathBuf,
    },
    /// A command that only reads was given an empty file (or one being created right now).
    #[error("store {path} is empty, not a critlab store")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file is an SQLite database but not one critlab can use.
    #[error("store {path}: {reason}")]
    Schema {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A statement failed.
    #[error("store {path}: {op} failed: {source}")]
    Sql {
        /// The file.
        path: PathBuf,
        /// What was being done.
        op: &'static str,
        /// SQLite's error.
        source: rusqlite::Error,
    },
    /// No run with this id.
    #[error("store {path} has no run with id {id}")]
    NoSuchRun {
        /// The id asked for.
        id: i64,
        /// The file.
        path: PathBuf,
    },
    /// The writer thread stopped (its error, if any, is reported by `Writer::close`).
    #[error("the store writer for {path} has stopped: {reason}")]
    WriterGone {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// Writing an export file failed.
    #[error("export to {path}: {reason}")]
    Export {
        /// The output file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
}

impl StoreError {
    pub(crate) fn open(path: &Path, source: rusqlite::Error) -> Self {
        StoreError::Open { path: path.to_path_buf(), source }
    }

    /// Whether opening failed only because another connection held the lock (SQLITE_BUSY).
    pub(crate) fn is_busy(&self) -> bool {
        matches!(self, StoreError::Open { source: rusqlite::Error::SqliteFailure(e, _), .. } if e.code == rusqlite::ErrorCode::DatabaseBusy)
    }

    pub(crate) fn sql(path: &Path, op: &'static str, source: rusqlite::Error) -> Self {
        StoreError::Sql { path: path.to_path_buf(), op, source }
    }
}

/// What to check after SQLite's own message.
fn open_hint(e: &rusqlite::Error) -> &'static str {
    use rusqlite::ErrorCode;
    match e.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => " (is it a critlab store, and is it intact?)",
        Some(ErrorCode::CannotOpen | ErrorCode::PermissionDenied | ErrorCode::ReadOnly) => {
            " (does its directory exist, and may this user read and write there?)"
        }
        _ => "",
    }
}
