//! The `transitions` table: per-run transitions and phases computed by the analyses
//! (`critlab analyze phases`), stored so later analyses and the report reuse them.
//! One row per (run, detector, quantity); writing a run's rows replaces its old ones.
use crate::{RunId, Store, StoreError};
use rusqlite::params;
use serde::Serialize;

/// One stored transition of one run (field meanings: docs/theory.md §4 and
/// `critlab_physics::transitions`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TransitionRow {
    /// The run.
    pub run_id: RunId,
    /// How it was located (`threshold`, `steepest-log-time`).
    pub detector: String,
    /// The order parameter (`accuracy`, `explained_variance`, `test_loss`).
    pub quantity: String,
    /// Memorisation step.
    pub t_mem: Option<f64>,
    /// Generalisation step.
    pub t_grok: Option<f64>,
    /// t_grok − t_mem.
    pub delay: Option<f64>,
    /// Steps from 10% to 90% of the jump.
    pub width: Option<f64>,
    /// Signed size of the jump.
    pub jump: Option<f64>,
    /// The run's phase (or `running`, `failed`, `no-data`).
    pub phase: Option<String>,
    /// Why it has that phase.
    pub reason: Option<String>,
    /// What the detector found, in words.
    pub note: String,
    /// The analysis options used, as JSON.
    pub options_json: String,
}

impl Store {
    /// Replaces the stored transitions of `run` by `rows` (in one transaction).
    pub fn write_transitions(&self, run: RunId, rows: &[TransitionRow]) -> Result<(), StoreError> {
        let err = |e| StoreError::sql(&self.path, "write transitions", e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        tx.execute("DELETE FROM transitions WHERE run_id = ?1", params![run]).map_err(err)?;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT INTO transitions (run_id, detector, quantity, t_mem, t_grok, delay, width, jump, phase, reason, note, options_json, computed_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, strftime('%Y-%m-%dT%H:%M:%fZ','now'))",
                )
                .map_err(err)?;
            let finite = |v: Option<f64>| v.filter(|x| x.is_finite());
            for r in rows {
                insert
                    .execute(params![
                        run,
                        r.detector,
                        r.quantity,
                        finite(r.t_mem),
                        finite(r.t_grok),
                        finite(r.delay),
                        finite(r.width),
                        finite(r.jump),
                        r.phase,
                        r.reason,
                        r.note,
                        r.options_json
                    ])
                    .map_err(err)?;
            }
        }
        tx.commit().map_err(err)
    }

    /// Stored transitions, of one run or of every run, ordered by run, detector, quantity.
    pub fn transitions(&self, run: Option<RunId>) -> Result<Vec<TransitionRow>, StoreError> {
        let err = |e| StoreError::sql(&self.path, "read transitions", e);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT run_id, detector, quantity, t_mem, t_grok, delay, width, jump, phase, reason, note, options_json
                 FROM transitions WHERE (?1 IS NULL OR run_id = ?1) ORDER BY run_id, detector, quantity",
            )
            .map_err(err)?;
        let rows = stmt
            .query_map(params![run], |r| {
                Ok(TransitionRow {
                    run_id: r.get(0)?,
                    detector: r.get(1)?,
                    quantity: r.get(2)?,
                    t_mem: r.get(3)?,
                    t_grok: r.get(4)?,
                    delay: r.get(5)?,
                    width: r.get(6)?,
                    jump: r.get(7)?,
                    phase: r.get(8)?,
                    reason: r.get(9)?,
                    note: r.get(10)?,
                    options_json: r.get(11)?,
                })
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(err)?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use critlab_core::RunSpec;

    #[test]
    fn transitions_round_trip_and_are_replaced_per_run() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("t.db")).unwrap();
        let a = store.create_run(&RunSpec::default(), Some("s"), "flex").unwrap();
        let b = store.create_run(&RunSpec::default(), Some("s"), "flex").unwrap();
        let row = |run, q: &str, t: Option<f64>| TransitionRow {
            run_id: run,
            detector: "threshold".into(),
            quantity: q.into(),
            t_mem: Some(20.0),
            t_grok: t,
            delay: t.map(|t| t - 20.0),
            width: Some(f64::NAN),
            jump: None,
            phase: Some("grokking".into()),
            reason: Some("delay".into()),
            note: "n".into(),
            options_json: "{}".into(),
        };
        store.write_transitions(a, &[row(a, "accuracy", Some(900.0)), row(a, "test_loss", None)]).unwrap();
        store.write_transitions(b, &[row(b, "accuracy", None)]).unwrap();
        store.write_transitions(a, &[row(a, "accuracy", Some(800.0))]).unwrap();
        let all = store.transitions(None).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].t_grok, Some(800.0));
        assert_eq!(all[0].width, None, "non-finite values are stored as NULL");
        assert_eq!(store.transitions(Some(b)).unwrap()[0].delay, None);
    }
}
