//! What a resumed sweep asks the store: which runs of a sweep are finished, and discarding
//! the runs a killed or interrupted process left unfinished.
use crate::{RunId, Store, StoreError};
use rusqlite::params;
use std::collections::HashMap;

impl Store {
    /// Finished runs (`done` or `diverged`, so with every metric committed) of a sweep, by
    /// spec hash. A resumed sweep skips these.
    pub fn finished_runs(&self, sweep: &str) -> Result<HashMap<String, RunId>, StoreError> {
        let err = |e| StoreError::sql(&self.path, "list finished runs", e);
        let mut stmt = self
            .conn
            .prepare("SELECT spec_hash, MIN(id) FROM runs WHERE sweep = ?1 AND status IN ('done', 'diverged', 'stopped') GROUP BY spec_hash")
            .map_err(err)?;
        let rows = stmt
            .query_map(params![sweep], |r| Ok((r.get::<_, String>(0)?, r.get::<_, RunId>(1)?)))
            .and_then(|rows| rows.collect::<Result<HashMap<_, _>, _>>())
            .map_err(err)?;
        Ok(rows)
    }

    /// Whether a finished run with this spec hash exists in the sweep.
    pub fn has_finished(&self, sweep: &str, spec_hash: &str) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM runs WHERE sweep = ?1 AND spec_hash = ?2 AND status IN ('done', 'diverged', 'stopped'))",
                params![sweep, spec_hash],
                |r| r.get(0),
            )
            .map_err(|e| StoreError::sql(&self.path, "look up a finished run", e))
    }

    /// Deletes the runs of a sweep that are not finished, with their partial metrics:
    /// `running` ones (left by a killed process) and `failed` ones (interrupted or broken),
    /// so that re-running them leaves one row per spec hash. Returns how many were deleted.
    /// Only call this while no other process trains runs of this sweep in this store.
    pub fn discard_unfinished(&self, sweep: &str) -> Result<usize, StoreError> {
        let err = |e| StoreError::sql(&self.path, "discard unfinished runs", e);
        let tx = self.conn.unchecked_transaction().map_err(err)?;
        tx.execute(
            "DELETE FROM metrics WHERE run_id IN (SELECT id FROM runs WHERE sweep = ?1 AND status IN ('running', 'failed'))",
            params![sweep],
        )
        .map_err(err)?;
        let n = tx
            .execute("DELETE FROM runs WHERE sweep = ?1 AND status IN ('running', 'failed')", params![sweep])
            .map_err(err)?;
        tx.commit().map_err(err)?;
        Ok(n)
    }
}
