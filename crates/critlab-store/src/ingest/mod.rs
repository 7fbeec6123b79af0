//! Runs critlab did not train: TensorBoard event files, MLflow tracking stores and CSV /
//! JSON Lines logs read into the store, so every analysis works on them.
//!
//! Each reader turns one *source* (a TensorBoard directory, an MLflow database, a log file)
//! into a [`Source`]: runs with their hyperparameters and scalar series, read completely
//! before anything is written. [`Store::ingest`] then writes the whole source in one
//! transaction: a bad file leaves the store as it was.
//!
//! * Hyperparameters become spec keys where a name maps onto one ([`names::spec_key`]:
//!   `learning_rate` → `lr`, `wd` → `weight-decay`, ...); the others are kept verbatim.
//! * Series whose name is a known alias of a critlab observable (`val/accuracy` →
//!   `test_acc`, `train/loss` → `train_loss`, see [`names::observable`]) or that the user
//!   maps (`--map test_acc=val/accuracy`) are stored under critlab's name, the others verbatim.
//! * Every ingested run records its `source` (`tensorboard:/abs/dir`, `mlflow:/abs/file.db#run`,
//!   `csv:/abs/file.csv#run`) and a digest of what was stored: re-ingesting an unchanged source
//!   adds nothing, a changed one (a log that grew) replaces its run.
use crate::{RunId, Store, StoreError};
use critlab_core::RunStatus;
use rusqlite::{params, OptionalExtension};
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub mod mlflow;
pub mod names;
pub mod table;
pub mod tensorboard;
pub mod tfrecord;

/// What can go wrong reading an outside log; every variant names the file and, where there
/// is one, the line or byte offset.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// A file or directory could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file or directory.
        path: PathBuf,
        /// The system's error.
        source: std::io::Error,
    },
    /// Nothing to ingest where something was expected.
    #[error("{path}: {reason}")]
    Empty {
        /// The file or directory.
        path: PathBuf,
        /// What was missing.
        reason: String,
    },
    /// A damaged binary record (bad checksum, undecodable protobuf).
    #[error("{path}, byte offset {offset}: {reason}")]
    Record {
        /// The file.
        path: PathBuf,
        /// Byte offset of the record.
        offset: u64,
        /// What is wrong.
        reason: String,
    },
    /// A bad line of a text log.
    #[error("{path}, line {line}: {reason}")]
    Line {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        reason: String,
    },
    /// An SQLite file that is not an MLflow tracking store, or a query on it failed.
    #[error("{path}: {reason}")]
    Mlflow {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A bad ingest option (`--map`, `--param`, a column name).
    #[error("{0}")]
    Option(String),
    /// Writing to the store failed (nothing of this source was kept).
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl IngestError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> Self {
        IngestError::Io { path: path.to_path_buf(), source }
    }
}

/// One run read from an outside log, before it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct ExternalRun {
    /// Unique key of the run's origin (`tensorboard:/abs/dir`, `mlflow:/abs/file.db#<run uuid>`).
    pub source: String,
    /// A readable name (the directory relative to the ingested one, MLflow's run name, ...).
    pub name: String,
    /// Sweep of this run when the user gives none (MLflow: its experiment); otherwise
    /// [`Source::default_sweep`].
    pub sweep: Option<String>,
    /// Hyperparameters as the source wrote them.
    pub params: BTreeMap<String, Value>,
    /// Scalar series by source name: step → value (a later value at the same step wins).
    pub series: BTreeMap<String, BTreeMap<i64, f64>>,
    /// Status, when the source knows it (MLflow); otherwise `Done`.
    pub status: RunStatus,
    /// Why it failed, when the source says.
    pub reason: Option<String>,
    /// Seconds from the first to the last logged point, when the source has wall times.
    pub wall_seconds: Option<f64>,
}

impl Default for ExternalRun {
    /// An empty finished run.
    fn default() -> Self {
        Self {
            source: String::new(),
            name: String::new(),
            sweep: None,
            params: BTreeMap::new(),
            series: BTreeMap::new(),
            status: RunStatus::Done,
            reason: None,
            wall_seconds: None,
        }
    }
}

/// Everything read from one source (one command-line argument), stored in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The format (`tensorboard`, `mlflow`, `csv`, `jsonl`), stored as the runs' backend.
    pub format: &'static str,
    /// The path given.
    pub path: PathBuf,
    /// Sweep name used when the user gives none (the directory's or file's name, MLflow's
    /// experiment).
    pub default_sweep: String,
    /// Runs, in a stable order.
    pub runs: Vec<ExternalRun>,
    /// What the reader skipped or repaired (a truncated last record, non-scalar summaries).
    pub notes: Vec<String>,
}

/// Options of one ingest.
#[derive(Debug, Clone, Default)]
pub struct IngestOptions {
    /// Sweep the runs are filed under (default: [`Source::default_sweep`]; MLflow: per experiment).
    pub sweep: Option<String>,
    /// Explicit series renames: (critlab name, source name).
    pub map: Vec<(String, String)>,
    /// Extra hyperparameters (KEY, VALUE) added to every run, overriding the source's.
    pub params: Vec<(String, String)>,
}

impl IngestOptions {
    /// Parses `critlab=source` pairs of `--map`.
    pub fn parse_map(items: &[String]) -> Result<Vec<(String, String)>, IngestError> {
        items.iter().map(|s| split_pair(s, "--map", "CRITLAB_NAME=SOURCE_NAME")).collect()
    }

    /// Parses `KEY=VALUE` pairs of `--param`.
    pub fn parse_params(items: &[String]) -> Result<Vec<(String, String)>, IngestError> {
        items.iter().map(|s| split_pair(s, "--param", "KEY=VALUE")).collect()
    }
}

fn split_pair(s: &str, flag: &str, form: &str) -> Result<(String, String), IngestError> {
    match s.split_once('=') {
        Some((a, b)) if !a.trim().is_empty() && !b.trim().is_empty() => {
            Ok((a.trim().to_string(), b.trim().to_string()))
        }
        _ => Err(IngestError::Option(format!("{flag} `{s}` is not of the form {form}"))),
    }
}

/// What happened to one run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// New in the store.
    Added,
    /// Already stored with the same content: nothing written.
    Unchanged,
    /// Stored before with different content (the log grew): replaced.
    Replaced,
}

/// One ingested run.
#[derive(Debug, Clone, Serialize)]
pub struct IngestedRun {
    /// Its id in the store.
    pub id: RunId,
    /// Its readable name.
    pub name: String,
    /// Its source key.
    pub source: String,
    /// Its sweep.
    pub sweep: String,
    /// Added, unchanged or replaced.
    pub outcome: Outcome,
    /// Hyperparameters that became spec keys: (source name, spec key).
    pub spec_keys: Vec<(String, String)>,
    /// Stored series: (stored name, source name, points).
    pub series: Vec<(String, String, usize)>,
}

/// What one source's ingest did.
#[derive(Debug, Clone, Serialize)]
pub struct IngestReport {
    /// The format.
    pub format: &'static str,
    /// The path given.
    pub path: PathBuf,
    /// Every run of the source.
    pub runs: Vec<IngestedRun>,
    /// The reader's and the mapping's notes.
    pub notes: Vec<String>,
}

impl IngestReport {
    /// Runs with this outcome.
    pub fn count(&self, outcome: Outcome) -> usize {
        self.runs.iter().filter(|r| r.outcome == outcome).count()
    }
}

/// A run in the form it is stored.
struct Prepared {
    spec: Map<String, Value>,
    spec_keys: Vec<(String, String)>,
    seed: u64,
    series: Vec<(String, String, Vec<(i64, f64)>)>,
}

fn prepare(run: &ExternalRun, opts: &IngestOptions, notes: &mut Vec<String>) -> Result<Prepared, IngestError> {
    // Hyperparameters: the source's, then --param, each through the spec-key table.
    let mut raw: Vec<(String, Value)> = run.params.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    for (k, v) in &opts.params {
        raw.retain(|(rk, _)| rk != k);
        raw.push((k.clone(), Value::String(v.clone())));
    }
    let (spec, spec_keys) = names::build_spec(&raw);
    let mut spec = spec;
    let seed = match spec.get("seed") {
        Some(v) => match v.as_u64() {
            Some(s) => s,
            None => {
                notes.push(format!("run {}: seed {v} is not a non-negative integer; stored as seed 0", run.name));
                0
            }
        },
        None => 0,
    };
    // Series: explicit maps first, then aliases; a critlab name is given at most once.
    let mut series: Vec<(String, String, Vec<(i64, f64)>)> = Vec::new();
    let mut taken: BTreeMap<String, String> = BTreeMap::new();
    for (target, from) in &opts.map {
        if run.series.contains_key(from) {
            if let Some(prev) = taken.get(target) {
                return Err(IngestError::Option(format!("--map gives `{target}` twice (from `{prev}` and `{from}`)")));
            }
            taken.insert(target.clone(), from.clone());
        }
    }
    let mapped_from: Vec<&String> = taken.values().collect::<Vec<_>>();
    let mut alias: BTreeMap<String, String> = BTreeMap::new();
    for name in run.series.keys() {
        if mapped_from.contains(&name) {
            continue;
        }
        if let Some(target) = names::observable(name) {
            if taken.contains_key(target) || alias.values().any(|t| t == target) {
                notes.push(format!("run {}: `{name}` would also be {target}; kept under its own name", run.name));
            } else if run.series.contains_key(target) && name != target {
                // The source has a series under critlab's own name: that one wins.
            } else {
                alias.insert(name.clone(), target.to_string());
            }
        }
    }
    for (name, points) in &run.series {
        let stored = taken
            .iter()
            .find(|(_, from)| *from == name)
            .map(|(t, _)| t.clone())
            .or_else(|| alias.get(name).cloned())
            .unwrap_or_else(|| name.clone());
        series.push((stored, name.clone(), points.iter().map(|(&s, &v)| (s, v)).collect()));
    }
    for (target, from) in &opts.map {
        if !run.series.contains_key(from) {
            notes.push(format!("run {}: --map {target}={from}: the run has no series `{from}`", run.name));
        }
    }
    series.sort_by(|a, b| a.0.cmp(&b.0));
    for w in series.windows(2) {
        if w[0].0 == w[1].0 {
            return Err(IngestError::Option(format!(
                "run {}: both `{}` and `{}` would be stored as `{}`; rename one with --map",
                run.name, w[0].1, w[1].1, w[0].0
            )));
        }
    }
    // The step budget of an outside run is its last logged step, unless a parameter says.
    if !spec.contains_key("steps") {
        if let Some(last) = series.iter().filter_map(|s| s.2.last().map(|p| p.0)).max() {
            spec.insert("steps".into(), Value::from(last));
        }
    }
    Ok(Prepared { spec, spec_keys, seed, series })
}

fn digest(sweep: &str, run: &ExternalRun, p: &Prepared) -> String {
    let mut h = Sha256::new();
    h.update(sweep.as_bytes());
    h.update([0]);
    h.update(Value::Object(p.spec.clone()).to_string().as_bytes());
    h.update(run.status.as_str().as_bytes());
    h.update(run.reason.as_deref().unwrap_or("").as_bytes());
    for (name, _, points) in &p.series {
        h.update([0]);
        h.update(name.as_bytes());
        for (s, v) in points {
            h.update(s.to_le_bytes());
            h.update(v.to_bits().to_le_bytes());
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

impl Store {
    /// Writes every run of `source` (module docs), all in one transaction: on any error
    /// nothing of this source is kept.
    pub fn ingest(&self, source: &Source, opts: &IngestOptions) -> Result<IngestReport, IngestError> {
        let err = |e| IngestError::Store(StoreError::sql(&self.path, "ingest", e));
        let mut notes = source.notes.clone();
        let mut prepared = Vec::with_capacity(source.runs.len());
        for run in &source.runs {
            prepared.push(prepare(run, opts, &mut notes)?);
        }
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let mut out = Vec::with_capacity(source.runs.len());
        {
            let mut find = tx.prepare("SELECT id, source_digest FROM runs WHERE source = ?1").map_err(err)?;
            let mut delete = tx.prepare("DELETE FROM runs WHERE id = ?1").map_err(err)?;
            let mut insert_run = tx
                .prepare(
                    "INSERT INTO runs (spec_hash, spec_json, seed, sweep, status, reason, critlab_version, backend,
                                       created_at, finished_at, wall_seconds, source, source_digest)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, strftime('%Y-%m-%dT%H:%M:%fZ','now'),
                             CASE WHEN ?5 = 'running' THEN NULL ELSE strftime('%Y-%m-%dT%H:%M:%fZ','now') END,
                             ?9, ?10, ?11)",
                )
                .map_err(err)?;
            let mut insert_metric =
                tx.prepare("INSERT INTO metrics (run_id, step, name, value) VALUES (?1, ?2, ?3, ?4)").map_err(err)?;
            for (run, p) in source.runs.iter().zip(&prepared) {
                let sweep =
                    opts.sweep.clone().or_else(|| run.sweep.clone()).unwrap_or_else(|| source.default_sweep.clone());
                let digest = digest(&sweep, run, p);
                let existing: Option<(RunId, Option<String>)> =
                    find.query_row(params![run.source], |r| Ok((r.get(0)?, r.get(1)?))).optional().map_err(err)?;
                let outcome = match &existing {
                    Some((_, Some(d))) if *d == digest => Outcome::Unchanged,
                    Some(_) => Outcome::Replaced,
                    None => Outcome::Added,
                };
                let id = match (outcome, existing) {
                    (Outcome::Unchanged, Some((id, _))) => id,
                    (_, existing) => {
                        if let Some((old, _)) = existing {
                            delete.execute(params![old]).map_err(err)?;
                        }
                        let spec_json = Value::Object(p.spec.clone()).to_string();
                        let spec_hash: String =
                            Sha256::digest(spec_json.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
                        insert_run
                            .execute(params![
                                spec_hash,
                                spec_json,
                                p.seed as i64,
                                sweep,
                                run.status.as_str(),
                                run.reason,
                                critlab_core::VERSION,
                                source.format,
                                run.wall_seconds,
                                run.source,
                                digest
                            ])
                            .map_err(err)?;
                        let id = tx.last_insert_rowid();
                        for (name, _, points) in &p.series {
                            for &(step, v) in points {
                                insert_metric
                                    .execute(params![id, step, name, v.is_finite().then_some(v)])
                                    .map_err(err)?;
                            }
                        }
                        id
                    }
                };
                out.push(IngestedRun {
                    id,
                    name: run.name.clone(),
                    source: run.source.clone(),
                    sweep,
                    outcome,
                    spec_keys: p.spec_keys.clone(),
                    series: p.series.iter().map(|(n, from, pts)| (n.clone(), from.clone(), pts.len())).collect(),
                });
            }
        }
        tx.commit().map_err(err)?;
        Ok(IngestReport { format: source.format, path: source.path.clone(), runs: out, notes })
    }
}

impl Store {
    /// Records a new `running` run measured outside critlab's trainer (the Python package's
    /// `critlab.torch.Recorder`) with `spec` as its stored spec (seed from its `seed` key, 0
    /// without), owned by the calling process like a trained run; its metrics then go through a [`crate::Writer`] like any run's.
    pub fn create_external_run(
        &self,
        spec: &Map<String, Value>,
        sweep: Option<&str>,
        backend: &str,
    ) -> Result<RunId, StoreError> {
        let spec_json = Value::Object(spec.clone()).to_string();
        let hash: String = Sha256::digest(spec_json.as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        let seed = spec.get("seed").and_then(Value::as_u64).unwrap_or(0);
        self.insert_running_run(&hash, &spec_json, seed, sweep, backend)
    }
}

/// The absolute form of a path for source keys (the path itself when it cannot be resolved).
pub(crate) fn absolute(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// The last component of a path as a name (`fallback` when there is none).
pub(crate) fn base_name(path: &Path, fallback: &str) -> String {
    absolute(path).file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| fallback.to_string())
}

#[cfg(test)]
mod tests;
