//! The one error type of the crate: every variant says what is wrong and where.

use std::path::PathBuf;

/// Errors from reading tables and running analyses. Row numbers are 1-based *lines of the
/// file* (the header is line 1), so `line 7` is what a text editor shows as line 7.
#[derive(Debug, thiserror::Error)]
pub enum PhysicsError {
    /// The table file could not be read.
    #[error("cannot read table {path}: {source}")]
    Io {
        /// The file that failed.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The table has no header or no data rows.
    #[error("table {source_name} is empty: {what}")]
    EmptyTable {
        /// Where the table came from (a path or `<string>`).
        source_name: String,
        /// What is missing: the header or the data rows.
        what: &'static str,
    },
    /// A row has a different number of fields than the header.
    #[error("{source_name}, line {line}: {found} fields, but the header has {expected}")]
    RaggedRow {
        /// Where the table came from.
        source_name: String,
        /// 1-based line of the file.
        line: usize,
        /// Fields found on that line.
        found: usize,
        /// Fields in the header.
        expected: usize,
    },
    /// A column asked for by name is not in the table.
    #[error("no column named `{name}`; available columns: {}", available.join(", "))]
    MissingColumn {
        /// The name asked for.
        name: String,
        /// The columns the table has.
        available: Vec<String>,
    },
    /// A cell that should hold a number does not parse as one.
    #[error("line {line}, column `{column}`: `{value}` is not a number")]
    NotANumber {
        /// 1-based line of the file.
        line: usize,
        /// Column name.
        column: String,
        /// The offending text.
        value: String,
    },
    /// A cell holds NaN or ±infinity.
    #[error("line {line}, column `{column}`: value {value} is not finite")]
    NonFinite {
        /// 1-based line of the file.
        line: usize,
        /// Column name.
        column: String,
        /// The value (NaN or ±inf).
        value: f64,
    },
    /// An uncertainty that must be strictly positive is zero or negative.
    #[error("line {line}, column `{column}`: uncertainty {value} must be > 0")]
    NonPositiveUncertainty {
        /// 1-based line of the file (0 when the data did not come from a file).
        line: usize,
        /// Column name.
        column: String,
        /// The offending value.
        value: f64,
    },
    /// A system size that must be strictly positive is zero or negative.
    #[error("line {line}, column `{column}`: system size {value} must be > 0")]
    NonPositiveSize {
        /// 1-based line of the file (0 when the data did not come from a file).
        line: usize,
        /// Column name.
        column: String,
        /// The offending value.
        value: f64,
    },
    /// A finite-size analysis needs more distinct system sizes than the data has.
    #[error("{analysis} needs at least {needed} distinct system sizes, found {found}{}",
        if sizes.is_empty() { String::new() } else { format!(" ({})", sizes.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ")) })]
    TooFewSizes {
        /// Which analysis.
        analysis: &'static str,
        /// Sizes needed.
        needed: usize,
        /// Sizes found (after dropping any the options asked to drop).
        found: usize,
        /// The sizes that were found.
        sizes: Vec<f64>,
    },
    /// Not enough data points for the requested fit.
    #[error("{analysis} needs at least {needed} points{context}, found {found}")]
    TooFewPoints {
        /// Which analysis.
        analysis: &'static str,
        /// Points needed.
        needed: usize,
        /// Points found.
        found: usize,
        /// Extra context, e.g. " for size L = 16" (may be empty).
        context: String,
    },
    /// An option has a value the analysis cannot use.
    #[error("invalid option `{option}`: {reason}")]
    InvalidOption {
        /// The option's name.
        option: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// The data cannot be described by the requested model at all (e.g. a power law with
    /// values of both signs).
    #[error("{analysis}: {reason}")]
    Unsuitable {
        /// Which analysis.
        analysis: &'static str,
        /// Why the data do not fit the model's assumptions.
        reason: String,
    },
    /// An exponent set (JSON) could not be parsed.
    #[error("cannot parse exponent set: {0}")]
    ExponentJson(#[from] serde_json::Error),
}

/// Shorthand for results of this crate.
pub type Result<T> = std::result::Result<T, PhysicsError>;
