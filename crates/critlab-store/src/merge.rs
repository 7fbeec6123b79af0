//! Folding a shard store (one Slurm array task's file) into a main store, idempotently.
//!
//! Runs are keyed by (sweep, spec hash). Only finished runs (`done`, `diverged`) are copied,
//! with all their metrics, in one transaction; a run already finished in the main store is
//! skipped, so merging the same shard twice changes nothing. Unfinished runs of the shard
//! (`running` after a killed task, `failed`) are reported, not copied.
use crate::{RunId, Store, StoreError};
use critlab_core::RunStatus;
use rusqlite::params;
use serde::Serialize;
use std::path::Path;

/// A shard run that could not be merged because it did not finish.
#[derive(Debug, Clone, Serialize)]
pub struct UnfinishedRun {
    /// Spec hash.
    pub spec_hash: String,
    /// Sweep.
    pub sweep: Option<String>,
    /// `running` (its task was killed) or `failed`.
    pub status: RunStatus,
    /// Why it failed, when known.
    pub reason: Option<String>,
}

/// What one merge did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MergeReport {
    /// Finished runs copied into the main store.
    pub copied: usize,
    /// Metric rows copied with them.
    pub metrics_copied: usize,
    /// Finished runs the main store already had (skipped).
    pub already_present: usize,
    /// Shard runs that did not finish and are not finished in the main store either.
    pub unfinished: Vec<UnfinishedRun>,
}

impl Store {
    /// Copies the finished runs of the store file `shard` into this store (see the module
    /// docs). The shard must exist and be a critlab store; it is not modified.
    pub fn merge_from(&self, shard: &Path) -> Result<MergeReport, StoreError> {
        if !shard.is_file() {
            return Err(StoreError::Schema { path: shard.to_path_buf(), reason: "no such shard file".into() });
        }
        // An empty file (a sweep's `.lock`, a shard a killed task created) holds no store:
        // opening it read-write would make one there.
        if std::fs::metadata(shard).is_ok_and(|m| m.len() == 0) {
            return Err(StoreError::Schema {
                path: shard.to_path_buf(),
                reason: "is an empty file, not a store (nothing to merge)".into(),
            });
        }
        // Opening checks (and if needed migrates) the shard's schema before it is attached.
        drop(Store::open(shard)?);
        let err = |e| StoreError::sql(&self.path, "merge shard", e);
        let name = shard.to_str().ok_or_else(|| StoreError::Schema {
            path: shard.to_path_buf(),
            reason: "the path is not valid UTF-8".into(),
        })?;
        self.conn.execute("ATTACH DATABASE ?1 AS shard", params![name]).map_err(err)?;
        let result = self.merge_attached();
        let detach = self.conn.execute("DETACH DATABASE shard", []).map_err(err);
        let report = result?;
        detach?;
        Ok(report)
    }

    fn merge_attached(&self) -> Result<MergeReport, StoreError> {
        let err = |e| StoreError::sql(&self.path, "merge shard", e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        let mut report = MergeReport::default();
        {
            let mut shard_runs = tx
                .prepare(
                    "SELECT id, spec_hash, spec_json, seed, sweep, status, reason, critlab_version, backend,
                            created_at, finished_at, wall_seconds FROM shard.runs ORDER BY id",
                )
                .map_err(err)?;
            let mut finished_in_main = tx
                .prepare(
                    "SELECT EXISTS (SELECT 1 FROM main.runs WHERE spec_hash = ?1 AND sweep IS ?2
                                    AND status IN ('done', 'diverged', 'stopped'))",
                )
                .map_err(err)?;
            let mut delete_stale = tx
                .prepare(
                    "DELETE FROM main.runs WHERE spec_hash = ?1 AND sweep IS ?2 AND status IN ('running', 'failed')",
                )
                .map_err(err)?;
            let mut insert_run = tx
                .prepare(
                    "INSERT INTO main.runs (spec_hash, spec_json, seed, sweep, status, reason, critlab_version,
                                            backend, created_at, finished_at, wall_seconds)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                )
                .map_err(err)?;
            let mut copy_metrics = tx
                .prepare(
                    "INSERT INTO main.metrics (run_id, step, name, value)
                     SELECT ?1, step, name, value FROM shard.metrics WHERE run_id = ?2",
                )
                .map_err(err)?;
            let rows = shard_runs
                .query_map([], |r| {
                    Ok(ShardRun {
                        id: r.get(0)?,
                        hash: r.get(1)?,
                        spec_json: r.get(2)?,
                        seed: r.get(3)?,
                        sweep: r.get(4)?,
                        status: r.get(5)?,
                        reason: r.get(6)?,
                        version: r.get(7)?,
                        backend: r.get(8)?,
                        created_at: r.get(9)?,
                        finished_at: r.get(10)?,
                        wall_seconds: r.get(11)?,
                    })
                })
                .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
                .map_err(err)?;
            for run in rows {
                let present: bool =
                    finished_in_main.query_row(params![run.hash, run.sweep], |r| r.get(0)).map_err(err)?;
                let status = RunStatus::parse(&run.status).unwrap_or(RunStatus::Failed);
                if present {
                    if matches!(status, RunStatus::Done | RunStatus::Diverged | RunStatus::Stopped) {
                        report.already_present += 1;
                    }
                    continue;
                }
                if !matches!(status, RunStatus::Done | RunStatus::Diverged | RunStatus::Stopped) {
                    // A later attempt in the same shard may have finished it.
                    if !report.unfinished.iter().any(|u| u.spec_hash == run.hash && u.sweep == run.sweep) {
                        report.unfinished.push(UnfinishedRun {
                            spec_hash: run.hash,
                            sweep: run.sweep,
                            status,
                            reason: run.reason,
                        });
                    }
                    continue;
                }
                report.unfinished.retain(|u| !(u.spec_hash == run.hash && u.sweep == run.sweep));
                delete_stale.execute(params![run.hash, run.sweep]).map_err(err)?;
                insert_run
                    .execute(params![
                        run.hash,
                        run.spec_json,
                        run.seed,
                        run.sweep,
                        run.status,
                        run.reason,
                        run.version,
                        run.backend,
                        run.created_at,
                        run.finished_at,
                        run.wall_seconds
                    ])
                    .map_err(err)?;
                let new_id: RunId = tx.last_insert_rowid();
                report.metrics_copied += copy_metrics.execute(params![new_id, run.id]).map_err(err)?;
                report.copied += 1;
            }
        }
        tx.commit().map_err(err)?;
        Ok(report)
    }
}

struct ShardRun {
    id: RunId,
    hash: String,
    spec_json: String,
    seed: i64,
    sweep: Option<String>,
    status: String,
    reason: Option<String>,
    version: String,
    backend: String,
    created_at: String,
    finished_at: Option<String>,
    wall_seconds: Option<f64>,
}

#[cfg(test)]
mod tests {
    use crate::{MetricRow, Store};
    use critlab_core::{RunSpec, RunStatus};

    #[test]
    fn merging_copies_finished_runs_once_and_reports_unfinished_ones() {
        let dir = tempfile::tempdir().unwrap();
        let shard = Store::open(dir.path().join("shard.db")).unwrap();
        let mut spec = RunSpec::default();
        let done = shard.create_run(&spec, Some("sw"), "flex").unwrap();
        spec.seed = 1;
        let killed = shard.create_run(&spec, Some("sw"), "flex").unwrap();
        let mut w = shard.writer().unwrap();
        let rows =
            |run, n: i64| (0..n).map(|s| MetricRow { run, step: s, name: "loss".into(), value: s as f64 }).collect();
        w.metrics(rows(done, 4)).unwrap();
        w.metrics(rows(killed, 2)).unwrap();
        w.finish(done, RunStatus::Done, None, 1.0).unwrap();
        w.close().unwrap();

        let main = Store::open(dir.path().join("main.db")).unwrap();
        // A stale interrupted row of the finished run in the main store is replaced.
        let stale = main.create_run(&RunSpec::default(), Some("sw"), "flex").unwrap();
        let r = main.merge_from(&dir.path().join("shard.db")).unwrap();
        assert_eq!((r.copied, r.metrics_copied, r.already_present), (1, 4, 0));
        assert_eq!(r.unfinished.len(), 1);
        assert_eq!(r.unfinished[0].spec_hash, spec.hash());
        let runs = main.runs(Some("sw")).unwrap();
        assert_eq!(runs.len(), 1);
        assert_ne!(runs[0].id, stale);
        assert_eq!(runs[0].status, RunStatus::Done);
        assert_eq!(main.series(runs[0].id, "loss").unwrap().len(), 4);
        let again = main.merge_from(&dir.path().join("shard.db")).unwrap();
        assert_eq!((again.copied, again.already_present), (0, 1));
        assert_eq!(main.runs(None).unwrap().len(), 1);
        assert!(main.merge_from(&dir.path().join("missing.db")).is_err());
        assert!(!dir.path().join("missing.db").exists());
    }

    #[test]
    fn resume_queries_see_finished_runs_and_discard_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("s.db")).unwrap();
        let a = RunSpec::default();
        let b = RunSpec { seed: 9, ..RunSpec::default() };
        let done = store.create_run(&a, Some("sw"), "flex").unwrap();
        store.finish_run(done, RunStatus::Done, None, 1.0).unwrap();
        let running = store.create_run(&b, Some("sw"), "flex").unwrap();
        let mut w = store.writer().unwrap();
        w.metrics(vec![MetricRow { run: running, step: 0, name: "loss".into(), value: 1.0 }]).unwrap();
        w.close().unwrap();
        store.create_run(&b, Some("other"), "flex").unwrap();
        assert!(store.has_finished("sw", &a.hash()).unwrap());
        assert!(!store.has_finished("sw", &b.hash()).unwrap());
        assert_eq!(store.finished_runs("sw").unwrap().get(&a.hash()), Some(&done));
        assert_eq!(store.discard_unfinished("sw").unwrap(), 1);
        assert_eq!(store.runs(Some("sw")).unwrap().len(), 1);
        assert_eq!(store.runs(Some("other")).unwrap().len(), 1);
        assert!(store.metrics(running).unwrap().is_empty());
    }
}
