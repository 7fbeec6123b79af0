//! Sweep errors: each names the file, and the key and line where one is at fault.
use std::path::PathBuf;

/// Everything that stops a sweep from being planned, run, submitted or merged. Runs that fail
/// inside a sweep are not errors: they are recorded with their reason and counted.
#[derive(Debug, thiserror::Error)]
pub enum SweepError {
    /// The sweep spec breaks a rule; `key` names the offending key when there is one.
    #[error("{source_name}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Spec {
        /// The spec file.
        source_name: String,
        /// 1-based line of the offending key, when known.
        line: Option<usize>,
        /// The offending key (`lr`, `axes.lr`, `seeds`, ...), when there is one.
        key: Option<String>,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A file could not be read or written.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] critlab_store::StoreError),
    /// The sweep's replica groups would not fit in the memory budget.
    #[error(transparent)]
    Budget(#[from] critlab_train::budget::BudgetError),
    /// The device the sweep was to train on cannot be used.
    #[error("--device {device}")]
    Device {
        /// The device asked for.
        device: critlab_train::DeviceChoice,
        /// Why it cannot be used.
        source: critlab_train::DeviceError,
    },
    /// The store holds runs of a sweep of this name made from a different spec.
    #[error("sweep `{name}` in {store} was run with a different spec: {differences}; keys outside the axes must not change under one sweep name (analyses would mix them): give the changed sweep a new `name`, or use another store")]
    Changed {
        /// The sweep's name.
        name: String,
        /// The store.
        store: PathBuf,
        /// `key = old there, new here`, for each differing key.
        differences: String,
    },
    /// Another sweep process holds the store.
    #[error("another critlab sweep is running on this store (lock {lock} is held); wait for it or stop it first")]
    Locked {
        /// The lock file.
        lock: PathBuf,
    },
    /// Slurm refused or could not be reached.
    #[error("slurm: {op}: {reason}")]
    Slurm {
        /// What was being done (`sbatch`, `scontrol show config`, ...).
        op: String,
        /// Why it failed.
        reason: String,
    },
    /// A Slurm work directory is unusable.
    #[error("sweep work directory {path}: {reason}")]
    WorkDir {
        /// The directory or manifest.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

impl SweepError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        SweepError::Io { op, path: path.into(), source }
    }
}
