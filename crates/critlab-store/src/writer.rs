//! The single store writer: a thread that owns the write connection and commits batches.
use crate::{connect, RunId, StoreError};
use critlab_core::RunStatus;
use rusqlite::{params, Connection};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One stored measurement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// The run.
    pub run: RunId,
    /// Optimizer step at which it was measured.
    pub step: i64,
    /// Observable name (e.g. `test_acc`).
    pub name: String,
    /// Value; NaN when not finite.
    pub value: f64,
}

enum Msg {
    Metrics(Vec<MetricRow>),
    Finish { run: RunId, status: RunStatus, reason: Option<String>, wall_seconds: f64 },
    Flush(Sender<()>),
}

/// Commit at least this often while metrics arrive.
const MAX_LATENCY: Duration = Duration::from_millis(500);
/// Commit when this many rows are pending.
const MAX_PENDING: usize = 20_000;

/// Handle to the writer thread. Sending never blocks on the database; errors surface on
/// [`Writer::flush`] or [`Writer::close`].
pub struct Writer {
    tx: Option<Sender<Msg>>,
    handle: Option<JoinHandle<Result<(), StoreError>>>,
    path: PathBuf,
}

impl Writer {
    pub(crate) fn start(path: &Path) -> Result<Self, StoreError> {
        let conn = connect(path)?;
        let (tx, rx) = channel();
        let owned = path.to_path_buf();
        let handle = std::thread::Builder::new()
            .name("critlab-store-writer".into())
            .spawn(move || run_writer(conn, rx, &owned))
            .expect("spawning the store writer thread");
        Ok(Self { tx: Some(tx), handle: Some(handle), path: path.to_path_buf() })
    }

    fn send(&mut self, msg: Msg) -> Result<(), StoreError> {
        let sent = self.tx.as_ref().map(|tx| tx.send(msg).is_ok()).unwrap_or(false);
        if sent {
            Ok(())
        } else {
            Err(self.join_error())
        }
    }

    /// Queues measurements.
    pub fn metrics(&mut self, rows: Vec<MetricRow>) -> Result<(), StoreError> {
        self.send(Msg::Metrics(rows))
    }

    /// Queues the end of a run; it is committed together with every metric queued before it.
    pub fn finish(
        &mut self,
        run: RunId,
        status: RunStatus,
        reason: Option<String>,
        wall_seconds: f64,
    ) -> Result<(), StoreError> {
        self.send(Msg::Finish { run, status, reason, wall_seconds })
    }

    /// Blocks until everything queued so far is committed.
    pub fn flush(&mut self) -> Result<(), StoreError> {
        let (tx, rx) = channel();
        self.send(Msg::Flush(tx))?;
        rx.recv().map_err(|_| self.join_error())
    }

    /// Commits everything and stops the thread.
    pub fn close(mut self) -> Result<(), StoreError> {
        self.tx.take();
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(StoreError::WriterGone { path: self.path.clone(), reason: "panicked".into() }),
            None => Ok(()),
        }
    }

    fn join_error(&mut self) -> StoreError {
        self.tx.take();
        match self.handle.take().map(|h| h.join()) {
            Some(Ok(Err(e))) => e,
            _ => StoreError::WriterGone { path: self.path.clone(), reason: "channel closed".into() },
        }
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.tx.take();
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

fn run_writer(mut conn: Connection, rx: Receiver<Msg>, path: &Path) -> Result<(), StoreError> {
    let mut pending: Vec<Msg> = Vec::new();
    let mut rows = 0usize;
    let mut oldest: Option<Instant> = None;
    loop {
        let timeout = oldest.map(|t| MAX_LATENCY.saturating_sub(t.elapsed())).unwrap_or(Duration::from_secs(3600));
        match rx.recv_timeout(timeout) {
            Ok(msg) => {
                let urgent = !matches!(msg, Msg::Metrics(_));
                if let Msg::Metrics(m) = &msg {
                    rows += m.len();
                }
                pending.push(msg);
                oldest.get_or_insert_with(Instant::now);
                if urgent || rows >= MAX_PENDING {
                    commit(&mut conn, &mut pending, path)?;
                    rows = 0;
                    oldest = None;
                }
            }
            Err(RecvTimeoutError::Timeout) => {
                commit(&mut conn, &mut pending, path)?;
                rows = 0;
                oldest = None;
            }
            Err(RecvTimeoutError::Disconnected) => {
                return commit(&mut conn, &mut pending, path);
            }
        }
    }
}

fn commit(conn: &mut Connection, pending: &mut Vec<Msg>, path: &Path) -> Result<(), StoreError> {
    if pending.is_empty() {
        return Ok(());
    }
    let err = |e| StoreError::sql(path, "commit metrics", e);
    let tx = conn.transaction().map_err(err)?;
    let mut replies = Vec::new();
    {
        let mut insert = tx
            .prepare_cached("INSERT OR REPLACE INTO metrics (run_id, step, name, value) VALUES (?1, ?2, ?3, ?4)")
            .map_err(err)?;
        for msg in pending.drain(..) {
            match msg {
                Msg::Metrics(rows) => {
                    for r in rows {
                        let v = r.value.is_finite().then_some(r.value);
                        insert.execute(params![r.run, r.step, r.name, v]).map_err(err)?;
                    }
                }
                Msg::Finish { run, status, reason, wall_seconds } => {
                    finish(&tx, run, status, reason.as_deref(), wall_seconds).map_err(err)?;
                }
                Msg::Flush(reply) => replies.push(reply),
            }
        }
    }
    tx.commit().map_err(err)?;
    for r in replies {
        let _ = r.send(());
    }
    Ok(())
}

pub(crate) fn finish(
    conn: &Connection,
    run: RunId,
    status: RunStatus,
    reason: Option<&str>,
    wall_seconds: f64,
) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE runs SET status = ?2, reason = ?3, wall_seconds = ?4,
                         finished_at = strftime('%Y-%m-%dT%H:%M:%fZ','now') WHERE id = ?1",
        params![run, status.as_str(), reason, wall_seconds],
    )?;
    Ok(())
}
