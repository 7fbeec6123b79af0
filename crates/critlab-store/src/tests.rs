use super::*;
use critlab_core::RunSpec;

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("t.db")).unwrap();
    (dir, store)
}

fn rows(run: RunId, steps: std::ops::Range<i64>) -> Vec<MetricRow> {
    steps
        .flat_map(|s| {
            [("train_loss", 1.0 / (s + 1) as f64), ("test_acc", s as f64 / 10.0)].map(|(n, v)| MetricRow {
                run,
                step: s,
                name: n.into(),
                value: v,
            })
        })
        .collect()
}

#[test]
fn runs_and_metrics_round_trip_through_the_writer() {
    let (_dir, store) = temp_store();
    let spec = RunSpec::default();
    let id = store.create_run(&spec, Some("sw"), "flex").unwrap();
    let mut w = store.writer().unwrap();
    w.metrics(rows(id, 0..5)).unwrap();
    w.metrics(vec![MetricRow { run: id, step: 5, name: "train_loss".into(), value: f64::NAN }]).unwrap();
    w.finish(id, RunStatus::Diverged, Some("train_loss is NaN at step 5".into()), 1.5).unwrap();
    w.close().unwrap();
    let run = store.run(id).unwrap();
    assert_eq!(run.status, RunStatus::Diverged);
    assert_eq!(run.spec_hash, spec.hash());
    assert_eq!(run.sweep.as_deref(), Some("sw"));
    assert_eq!(run.last_step, Some(5));
    let s = store.series(id, "train_loss").unwrap();
    assert_eq!(s.len(), 6);
    assert!(s[5].1.is_nan());
    assert_eq!(store.metric_names(id).unwrap(), vec!["test_acc", "train_loss"]);
    assert_eq!(store.runs(Some("sw")).unwrap().len(), 1);
    assert_eq!(store.runs(Some("other")).unwrap().len(), 0);
}

#[test]
fn a_file_that_is_not_a_store_is_refused_and_left_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    let junk = vec![0x42u8; 8192];
    std::fs::write(&path, &junk).unwrap();
    let err = Store::open(&path).err().expect("garbage must not open").to_string();
    assert!(err.contains("garbage.db"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), junk);
}

#[test]
fn a_foreign_sqlite_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE x (a)").unwrap();
    let err = Store::open(&path).err().unwrap().to_string();
    assert!(err.contains("not a critlab store"), "{err}");
}

#[test]
fn a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    drop(Store::open(&path).unwrap());
    rusqlite::Connection::open(&path).unwrap().pragma_update(None, "user_version", 99).unwrap();
    let err = Store::open(&path).err().unwrap().to_string();
    assert!(err.contains("newer critlab"), "{err}");
}

#[test]
fn reopening_keeps_data_and_does_not_remigrate() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.db");
    let id = {
        let store = Store::open(&path).unwrap();
        let id = store.create_run(&RunSpec::default(), None, "flex").unwrap();
        let mut w = store.writer().unwrap();
        w.metrics(rows(id, 0..3)).unwrap();
        w.close().unwrap();
        id
    };
    let store = Store::open(&path).unwrap();
    assert_eq!(store.metrics(id).unwrap().len(), 6);
    assert_eq!(store.run(id).unwrap().status, RunStatus::Running);
}

#[test]
fn exports_agree_across_formats() {
    let (dir, store) = temp_store();
    let a = store.create_run(&RunSpec::default(), None, "flex").unwrap();
    let b = store.create_run(&RunSpec::default(), None, "flex").unwrap();
    let mut w = store.writer().unwrap();
    w.metrics(rows(a, 0..3)).unwrap();
    w.metrics(rows(b, 0..2)).unwrap();
    w.close().unwrap();
    let table = export::wide_table(&store, None).unwrap();
    assert_eq!(table.columns, vec!["test_acc", "train_loss"]);
    assert_eq!(table.rows.len(), 5);
    let mut csv = Vec::new();
    export::write_csv(&table, &mut csv).unwrap();
    let csv = String::from_utf8(csv).unwrap();
    assert_eq!(csv.lines().next().unwrap(), "run_id,step,test_acc,train_loss");
    assert_eq!(csv.lines().nth(2).unwrap(), format!("{a},1,0.1,0.5"));
    let mut jsonl = Vec::new();
    export::write_jsonl(&table, &mut jsonl).unwrap();
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8(jsonl).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first["train_loss"], 1.0);
    let only_b = export::wide_table(&store, Some(&[b])).unwrap();
    assert_eq!(only_b.rows.len(), 2);
    let pq = dir.path().join("m.parquet");
    export::write(&table, export::Format::Parquet, &pq).unwrap();
    let bytes = std::fs::read(&pq).unwrap();
    assert_eq!(&bytes[..4], b"PAR1");
    assert_eq!(&bytes[bytes.len() - 4..], b"PAR1");
    assert!(export::wide_table(&store, Some(&[999])).is_err());
}

#[test]
fn concurrent_openers_of_a_new_store_migrate_once() {
    // Regression: a sweep creating its store while a reader opened the same new file could
    // both run the migrations and one failed ("table runs already exists").
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("new.db");
    let threads: Vec<_> = (0..8)
        .map(|_| {
            let p = path.clone();
            std::thread::spawn(move || Store::open(&p).map(|_| ()).map_err(|e| e.to_string()))
        })
        .collect();
    for t in threads {
        t.join().unwrap().unwrap();
    }
    let store = Store::open(&path).unwrap();
    store.create_run(&RunSpec::default(), None, "flex").unwrap();
}

#[test]
fn a_read_only_store_reads_while_a_writer_writes_and_writes_nothing() {
    let (dir, store) = temp_store();
    let id = store.create_run(&RunSpec::default(), Some("sw"), "flex").unwrap();
    let mut w = store.writer().unwrap();
    w.metrics(rows(id, 0..3)).unwrap();
    w.flush().unwrap();
    let ro = Store::open_read_only(dir.path().join("t.db")).unwrap();
    assert_eq!(ro.series(id, "test_acc").unwrap().len(), 3);
    // a run added after the reader opened is seen by its next query
    let second = store.create_run(&RunSpec::default(), Some("sw"), "flex").unwrap();
    assert_eq!(ro.runs(Some("sw")).unwrap().last().map(|r| r.id), Some(second));
    assert!(ro.create_run(&RunSpec::default(), None, "flex").is_err(), "a read-only store must refuse writes");
    w.close().unwrap();
    let missing = Store::open_read_only(dir.path().join("none.db")).err().unwrap().to_string();
    assert!(missing.contains("none.db") && missing.contains("does not exist"), "{missing}");
    assert!(!dir.path().join("none.db").exists());
    let foreign = dir.path().join("other.db");
    rusqlite::Connection::open(&foreign).unwrap().execute_batch("CREATE TABLE x (a)").unwrap();
    let err = Store::open_read_only(&foreign).err().unwrap().to_string();
    assert!(err.contains("not a critlab store"), "{err}");
}

/// The journal mode byte pair of an SQLite header (1, 1: rollback journal; 2, 2: WAL).
fn header_journal(path: &std::path::Path) -> (u8, u8) {
    let bytes = std::fs::read(path).unwrap();
    (bytes[18], bytes[19])
}

/// Regression: a foreign SQLite file was switched to WAL mode before it was rejected.
#[test]
fn a_foreign_database_is_rejected_without_being_changed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE x (a); INSERT INTO x VALUES (1);").unwrap();
    let before = std::fs::read(&path).unwrap();
    assert_eq!(header_journal(&path), (1, 1));
    for err in [Store::open(&path).err().unwrap(), Store::open_read_only(&path).err().unwrap()] {
        assert!(err.to_string().contains("not a critlab store"), "{err}");
    }
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["other.db"]);
}

/// Regression: read-only commands created an empty store at a mistyped `--store` path.
#[test]
fn read_only_opening_never_creates_or_changes_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("typo.db");
    let err = Store::open_read_only(&missing).err().unwrap();
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("typo.db"));
    assert!(!missing.exists());
    let empty = dir.path().join("empty.db");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(Store::open_read_only(&empty).err().unwrap(), StoreError::Empty { .. }));
    assert_eq!(std::fs::read(&empty).unwrap(), b"");

    let path = dir.path().join("s.db");
    let id = {
        let store = Store::open(&path).unwrap();
        let id = store.create_run(&RunSpec::default(), Some("sw"), "flex").unwrap();
        let mut w = store.writer().unwrap();
        w.metrics(rows(id, 0..3)).unwrap();
        w.finish(id, RunStatus::Done, None, 1.0).unwrap();
        w.close().unwrap();
        id
    };
    let before = std::fs::read(&path).unwrap();
    let store = Store::open_read_only(&path).unwrap();
    assert!(store.is_read_only());
    assert_eq!(store.run(id).unwrap().status, RunStatus::Done);
    assert_eq!(store.series(id, "train_loss").unwrap().len(), 3);
    assert!(store.create_run(&RunSpec::default(), None, "flex").is_err());
    drop(store);
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

/// Regression: `--store /dev/null` left `/dev/null-journal` behind; a device is no store.
#[test]
fn a_device_is_not_a_store() {
    let err = Store::open("/dev/null").err().unwrap().to_string();
    assert!(err.contains("not a regular file"), "{err}");
    let err = Store::open_read_only("/dev/null").err().unwrap().to_string();
    assert!(err.contains("/dev/null"), "{err}");
    assert!(!std::path::Path::new("/dev/null-journal").exists());
}

/// A store written by schema v2 (before process columns) opens read-only as it is and is
/// migrated to the current version when opened for writing, keeping its runs.
#[test]
fn a_version_2_store_reads_and_migrates_to_the_current_version() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v2.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..2] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 2).unwrap();
        conn.execute(
            "INSERT INTO runs (spec_hash, spec_json, seed, status, critlab_version, backend, created_at)
             VALUES ('h', '{}', 0, 'running', '0.1.0', 'flex', 'now')",
            [],
        )
        .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let ro = Store::open_read_only(&path).unwrap();
    let runs = ro.runs(None).unwrap();
    assert_eq!(runs.len(), 1);
    assert!(runs[0].process.is_none() && !runs[0].stale);
    drop(ro);
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let rw = Store::open(&path).unwrap();
    let v: i64 = rw.connection().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(v, schema::SCHEMA_VERSION);
    assert_eq!(rw.runs(None).unwrap().len(), 1);
    let id = rw.create_run(&RunSpec::default(), None, "flex").unwrap();
    assert_eq!(rw.run(id).unwrap().process.unwrap().pid, std::process::id());
}

/// A run whose process died while `running` is stale, and `reap` marks it failed.
#[test]
fn runs_of_a_dead_process_are_stale_and_reaped() {
    let (_dir, store) = temp_store();
    let alive = store.create_run(&RunSpec::default(), Some("sw"), "flex").unwrap();
    let dead = store.create_run(&RunSpec { seed: 1, ..RunSpec::default() }, Some("sw"), "flex").unwrap();
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    store
        .connection()
        .execute("UPDATE runs SET pid = ?1, process_start = NULL WHERE id = ?2", rusqlite::params![pid, dead])
        .unwrap();
    let runs = store.runs(Some("sw")).unwrap();
    assert!(!runs[0].stale && runs[1].stale);
    assert_eq!(runs[1].shown_status(), "stale");
    let reaped = store.reap(None).unwrap();
    assert_eq!(reaped.iter().map(|r| r.id).collect::<Vec<_>>(), [dead]);
    let row = store.run(dead).unwrap();
    assert_eq!(row.status, RunStatus::Failed);
    assert!(row.reason.unwrap().contains("stale"));
    assert_eq!(store.run(alive).unwrap().status, RunStatus::Running);
    assert!(store.reap(None).unwrap().is_empty());
}

/// Regression: a missing directory or a permission problem was reported as "is it a critlab
/// store, and is it intact?".
#[test]
fn an_unopenable_path_says_to_check_the_directory_not_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(dir.path().join("no-such-dir").join("s.db")).err().unwrap().to_string();
    assert!(err.contains("does its directory exist") && !err.contains("intact"), "{err}");
}

/// A store of schema v4 (process columns, before status `stopped`) with runs, metrics and
/// transitions upgrades to v5 keeping every column (v3's source, v4's process) and row, and
/// then takes `stopped`; foreign keys are back on afterwards.
#[test]
fn a_version_4_store_migrates_to_stopped_status_keeping_everything() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("v4.db");
    {
        let conn = rusqlite::Connection::open(&path).unwrap();
        for sql in &schema::MIGRATIONS[..4] {
            conn.execute_batch(sql).unwrap();
        }
        conn.pragma_update(None, "user_version", 4).unwrap();
        conn.execute_batch(
            "INSERT INTO runs (spec_hash, spec_json, seed, sweep, status, critlab_version, backend, created_at, source, source_digest, host, pid, process_start, slurm_job)
                 VALUES ('h', '{}', 3, 'sw', 'done', 'v', 'flex', 'now', 'csv:/x', 'd1', 'node7', 4242, '12345', '99');
             INSERT INTO metrics VALUES (1, 0, 'train_loss', 2.0), (1, 10, 'train_loss', 1.0);
             INSERT INTO transitions (run_id, detector, quantity, t_grok, note, options_json, computed_at) VALUES (1, 'd', 'q', 10.0, '', '{}', 'now');",
        )
        .unwrap();
    }
    let store = Store::open(&path).unwrap();
    let v: i64 = store.connection().pragma_query_value(None, "user_version", |r| r.get(0)).unwrap();
    assert_eq!(v, schema::SCHEMA_VERSION);
    let runs = store.runs(Some("sw")).unwrap();
    assert_eq!((runs.len(), runs[0].seed, runs[0].status), (1, 3, RunStatus::Done));
    let kept: (String, String, String, i64, String, String) = store
        .connection()
        .query_row(
            "SELECT source, source_digest, host, pid, process_start, slurm_job FROM runs WHERE id = 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?)),
        )
        .unwrap();
    assert_eq!(kept, ("csv:/x".into(), "d1".into(), "node7".into(), 4242, "12345".into(), "99".into()));
    assert_eq!(store.series(runs[0].id, "train_loss").unwrap(), vec![(0, 2.0), (10, 1.0)]);
    let transitions: i64 = store.connection().query_row("SELECT count(*) FROM transitions", [], |r| r.get(0)).unwrap();
    assert_eq!(transitions, 1);
    store.finish_run(runs[0].id, RunStatus::Stopped, Some("hopeless"), 1.0).unwrap();
    assert_eq!(store.run(runs[0].id).unwrap().status, RunStatus::Stopped);
    assert!(store.finished_runs("sw").unwrap().contains_key("h"), "a stopped run is finished");
    // Foreign keys are back on: deleting the run cascades into its metrics.
    store.connection().execute("DELETE FROM runs", []).unwrap();
    let left: i64 = store.connection().query_row("SELECT count(*) FROM metrics", [], |r| r.get(0)).unwrap();
    assert_eq!(left, 0);
}
