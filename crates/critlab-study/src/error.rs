//! What can stop a study.
use std::path::PathBuf;

/// Errors of a study; each names what failed and where.
#[derive(Debug, thiserror::Error)]
pub enum StudyError {
    /// No study of that name.
    #[error("no study named `{name}`; the studies are: {known}")]
    Unknown {
        /// The name asked for.
        name: String,
        /// The known names.
        known: String,
    },
    /// A sweep of the study could not be planned or run.
    #[error("sweep `{sweep}` of the study: {source}")]
    Sweep {
        /// The sweep's name.
        sweep: String,
        /// Why.
        #[source]
        source: critlab_sweep::SweepError,
    },
    /// The store could not be read.
    #[error("reading sweep `{sweep}` from the store: {source}")]
    Store {
        /// The sweep's name.
        sweep: String,
        /// Why.
        #[source]
        source: critlab_store::StoreError,
    },
    /// A sweep stopped before all its runs finished (interrupted, or runs failed).
    #[error("sweep `{sweep}` is incomplete: {detail}; run the same command again to resume")]
    Incomplete {
        /// The sweep's name.
        sweep: String,
        /// What is missing.
        detail: String,
    },
    /// The Slurm backend cannot be used here.
    #[error("--backend slurm: {0}")]
    Slurm(String),
    /// A file could not be written or read.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A figure could not be written.
    #[error(transparent)]
    Figure(#[from] critlab_report::ReportError),
    /// An analysis could not run on the study's data (a bug or too little data).
    #[error("analysis `{analysis}`: {reason}")]
    Analysis {
        /// Which analysis.
        analysis: &'static str,
        /// Why.
        reason: String,
    },
}

impl StudyError {
    pub(crate) fn io(op: &'static str, path: &std::path::Path, source: std::io::Error) -> Self {
        StudyError::Io { op, path: path.to_path_buf(), source }
    }
}
