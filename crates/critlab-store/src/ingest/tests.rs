use super::*;

fn run(source: &str, steps: i64, params: &[(&str, &str)]) -> ExternalRun {
    let curve = |f: fn(i64) -> f64| (0..steps).map(|s| (s * 10, f(s))).collect::<BTreeMap<_, _>>();
    ExternalRun {
        source: source.into(),
        name: source.into(),
        params: params.iter().map(|(k, v)| (k.to_string(), Value::from(*v))).collect(),
        series: [
            ("train/accuracy".to_string(), curve(|s| (s as f64 / 3.0).min(1.0))),
            ("val/acc".to_string(), curve(|s| if s > 6 { 1.0 } else { 0.1 })),
            ("grad_norm".to_string(), curve(|s| 1.0 / (1 + s) as f64)),
        ]
        .into_iter()
        .collect(),
        ..Default::default()
    }
}

fn source(runs: Vec<ExternalRun>) -> Source {
    Source { format: "csv", path: "log.csv".into(), default_sweep: "log".into(), runs, notes: vec![] }
}

fn temp_store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.db")).unwrap();
    (dir, store)
}

#[test]
fn runs_are_stored_with_spec_keys_critlab_names_and_their_source() {
    let (_dir, store) = temp_store();
    let src = source(vec![run("csv:a", 10, &[("learning_rate", "0.01"), ("wd", "1"), ("dataset", "mod97")])]);
    let report = store.ingest(&src, &IngestOptions::default()).unwrap();
    assert_eq!(report.count(Outcome::Added), 1);
    let r = store.run(report.runs[0].id).unwrap();
    assert_eq!(r.source.as_deref(), Some("csv:a"));
    assert_eq!(r.sweep.as_deref(), Some("log"));
    assert_eq!(r.backend, "csv");
    assert_eq!(r.status, RunStatus::Done);
    assert_eq!(r.spec["lr"], Value::from(0.01));
    assert_eq!(r.spec["weight-decay"], Value::from(1.0));
    assert_eq!(r.spec["dataset"], Value::from("mod97"));
    assert_eq!(r.spec["steps"], Value::from(90), "the budget of an outside run is its last step");
    assert_eq!(store.metric_names(r.id).unwrap(), vec!["grad_norm", "test_acc", "train_acc"]);
    assert_eq!(store.series(r.id, "test_acc").unwrap().len(), 10);
}

#[test]
fn re_ingesting_adds_nothing_and_a_grown_log_replaces_its_run() {
    let (_dir, store) = temp_store();
    let opts = IngestOptions::default();
    let first = store.ingest(&source(vec![run("csv:a", 5, &[]), run("csv:b", 5, &[])]), &opts).unwrap();
    let again = store.ingest(&source(vec![run("csv:a", 5, &[]), run("csv:b", 5, &[])]), &opts).unwrap();
    assert_eq!(again.count(Outcome::Unchanged), 2);
    assert_eq!(again.runs[0].id, first.runs[0].id);
    assert_eq!(store.runs(None).unwrap().len(), 2);
    let grown = store.ingest(&source(vec![run("csv:a", 8, &[]), run("csv:b", 5, &[])]), &opts).unwrap();
    assert_eq!((grown.count(Outcome::Replaced), grown.count(Outcome::Unchanged)), (1, 1));
    let runs = store.runs(None).unwrap();
    assert_eq!(runs.len(), 2);
    let a = runs.iter().find(|r| r.source.as_deref() == Some("csv:a")).unwrap();
    assert_eq!(store.series(a.id, "grad_norm").unwrap().len(), 8);
    // Another sweep name is a change too.
    let moved = store
        .ingest(&source(vec![run("csv:b", 5, &[])]), &IngestOptions { sweep: Some("other".into()), ..opts })
        .unwrap();
    assert_eq!(moved.count(Outcome::Replaced), 1);
    assert_eq!(store.runs(Some("other")).unwrap().len(), 1);
}

#[test]
fn a_failure_while_writing_leaves_nothing_of_the_source() {
    // Regression guard for "nothing half-written": the second run's metrics fail inside the
    // transaction (a trigger stands in for a full disk); the first run must not remain.
    let (_dir, store) = temp_store();
    store
        .connection()
        .execute_batch(
            "CREATE TRIGGER boom BEFORE INSERT ON metrics WHEN NEW.name = 'boom'
             BEGIN SELECT RAISE(ABORT, 'disk full'); END;",
        )
        .unwrap();
    let mut bad = run("csv:b", 3, &[]);
    bad.series.insert("boom".into(), [(0, 1.0)].into_iter().collect());
    let e = store.ingest(&source(vec![run("csv:a", 3, &[]), bad]), &IngestOptions::default()).unwrap_err();
    assert!(e.to_string().contains("disk full"), "{e}");
    assert!(store.runs(None).unwrap().is_empty());
    assert_eq!(store.connection().query_row("SELECT count(*) FROM metrics", [], |r| r.get::<_, i64>(0)).unwrap(), 0);
}

#[test]
fn explicit_maps_win_over_aliases_and_collisions_are_refused() {
    let (_dir, store) = temp_store();
    let mut r = run("csv:a", 4, &[]);
    r.series.insert("acc_holdout".into(), [(0, 0.5)].into_iter().collect());
    let opts = IngestOptions {
        map: IngestOptions::parse_map(&["test_acc=acc_holdout".into()]).unwrap(),
        ..Default::default()
    };
    let report = store.ingest(&source(vec![r.clone()]), &opts).unwrap();
    let id = report.runs[0].id;
    assert_eq!(store.series(id, "test_acc").unwrap(), vec![(0, 0.5)]);
    assert_eq!(store.series(id, "val/acc").unwrap().len(), 4, "the alias stays verbatim when the name is taken");
    let clash =
        IngestOptions { map: IngestOptions::parse_map(&["grad_norm=val/acc".into()]).unwrap(), ..Default::default() };
    let e = store.ingest(&source(vec![run("csv:c", 4, &[])]), &clash).unwrap_err().to_string();
    assert!(e.contains("would be stored as `grad_norm`"), "{e}");
    assert!(IngestOptions::parse_map(&["nonsense".into()]).is_err());
    assert!(IngestOptions::parse_params(&["seed=".into()]).is_err());
}

#[test]
fn params_from_the_command_line_override_the_source_and_set_the_seed() {
    let (_dir, store) = temp_store();
    let opts = IngestOptions {
        params: IngestOptions::parse_params(&["seed=7".into(), "lr=0.5".into()]).unwrap(),
        ..Default::default()
    };
    let report = store.ingest(&source(vec![run("csv:a", 3, &[("lr", "0.1")])]), &opts).unwrap();
    let r = store.run(report.runs[0].id).unwrap();
    assert_eq!(r.seed, 7);
    assert_eq!(r.spec["lr"], Value::from(0.5));
}

#[test]
fn wide_and_long_csv_and_nested_jsonl_read_the_same_series() {
    let dir = tempfile::tempdir().unwrap();
    let wide = dir.path().join("wide.csv");
    std::fs::write(
        &wide,
        "run,step,lr,optimizer,train_acc,val_loss\nr1,0,0.1,adam,0.5,2\nr1,10,0.1,adam,,1.5\nr2,0,0.2,sgd,0.25,3\n",
    )
    .unwrap();
    let long = dir.path().join("long.csv");
    std::fs::write(&long, "run,step,metric,value,lr\nr1,0,train_acc,0.5,0.1\nr1,0,val_loss,2,0.1\nr1,10,val_loss,1.5,0.1\nr2,0,train_acc,0.25,0.2\nr2,0,val_loss,3,0.2\n").unwrap();
    let jsonl = dir.path().join("log.jsonl");
    std::fs::write(&jsonl, "{\"run\":\"r1\",\"step\":0,\"train\":{\"acc\":0.5},\"val_loss\":2}\n{\"run\":\"r1\",\"step\":10,\"val_loss\":1.5}\n{\"run\":\"r2\",\"step\":0,\"train\":{\"acc\":0.25},\"val_loss\":3}\n{\"run\":\"r2\",\"st").unwrap();
    let opts = table::TableOptions { run_col: Some("run".into()), ..Default::default() };
    let w = table::read(&wide, false, &opts).unwrap();
    let l = table::read(&long, false, &opts).unwrap();
    let j = table::read(&jsonl, true, &opts).unwrap();
    assert!(j.notes.iter().any(|n| n.contains("line 4")), "{:?}", j.notes);
    for src in [&w, &l, &j] {
        assert_eq!(src.runs.len(), 2);
        let r1 = &src.runs[0];
        assert_eq!(r1.name, "r1");
        let loss: Vec<(i64, f64)> = r1.series["val_loss"].iter().map(|(&s, &v)| (s, v)).collect();
        assert_eq!(loss, vec![(0, 2.0), (10, 1.5)]);
        let acc = r1.series.get("train_acc").or_else(|| r1.series.get("train/acc")).unwrap();
        assert_eq!(acc.len(), 1);
    }
    assert_eq!(w.runs[1].params["optimizer"], Value::from("sgd"));
    assert_eq!(l.runs[1].params["lr"], Value::from("0.2"));
    assert!(w.runs[0].series.contains_key("lr"), "a numeric column is a series unless --param-col says otherwise");
    let as_param = table::TableOptions { param_cols: vec!["lr".into()], ..opts.clone() };
    let w2 = table::read(&wide, false, &as_param).unwrap();
    assert!(!w2.runs[0].series.contains_key("lr"));
    assert_eq!(w2.runs[0].params["lr"], Value::from("0.1"));
}

#[test]
fn wandb_history_uses_underscore_step_and_drops_its_bookkeeping_columns() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wandb_export.csv");
    std::fs::write(&path, "_step,_runtime,_timestamp,train/loss,val/accuracy\n0,1.2,1700000000,2.3,\n1,2.2,1700000001,2.0,0.1\n2,3.1,1700000002,1.0,0.4\n").unwrap();
    let src = table::read(&path, false, &table::TableOptions::default()).unwrap();
    assert_eq!(src.runs.len(), 1);
    let r = &src.runs[0];
    assert_eq!(r.series.keys().collect::<Vec<_>>(), vec!["train/loss", "val/accuracy"]);
    assert_eq!(r.series["val/accuracy"].len(), 2);
    assert_eq!(r.name, "wandb_export");
}

#[test]
fn bad_lines_are_errors_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let csv = dir.path().join("bad.csv");
    std::fs::write(&csv, "step,loss\n0,1.0\n1,2.0,3\n").unwrap();
    let e = table::read(&csv, false, &table::TableOptions::default()).unwrap_err().to_string();
    assert!(e.contains("bad.csv") && e.contains("line 3"), "{e}");
    std::fs::write(&csv, "step,loss\n0,1.0\nx,2.0\n").unwrap();
    let e = table::read(&csv, false, &table::TableOptions::default()).unwrap_err().to_string();
    assert!(e.contains("line 3") && e.contains("step `x`"), "{e}");
    let jsonl = dir.path().join("bad.jsonl");
    std::fs::write(&jsonl, "{\"step\":0,\"loss\":1}\n{oops}\n{\"step\":2,\"loss\":1}\n").unwrap();
    let e = table::read(&jsonl, true, &table::TableOptions::default()).unwrap_err().to_string();
    assert!(e.contains("bad.jsonl, line 2"), "{e}");
    let e = table::read(&csv, false, &table::TableOptions { run_col: Some("nope".into()), ..Default::default() })
        .unwrap_err()
        .to_string();
    assert!(e.contains("--run-col `nope`"), "{e}");
}

#[test]
fn an_sqlite_file_that_is_not_mlflow_is_refused_by_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.db");
    rusqlite::Connection::open(&path).unwrap().execute_batch("CREATE TABLE runs (x)").unwrap();
    let e = mlflow::read(&path).unwrap_err().to_string();
    assert!(e.contains("other.db") && e.contains("not an MLflow tracking store"), "{e}");
    let e = mlflow::read(&dir.path().join("missing.db")).unwrap_err().to_string();
    assert!(e.contains("missing.db"), "{e}");
    assert!(!dir.path().join("missing.db").exists());
}

#[test]
fn an_external_run_takes_its_spec_and_seed_and_is_written_like_any_run() {
    let (_dir, store) = temp_store();
    let spec: Map<String, Value> = serde_json::from_str(r#"{"lr": 0.1, "seed": 3, "model": "resnet"}"#).unwrap();
    let id = store.create_external_run(&spec, Some("mine"), "pytorch").unwrap();
    let mut w = store.writer().unwrap();
    w.metrics(vec![crate::MetricRow { run: id, step: 0, name: "kinetic".into(), value: 0.5 }]).unwrap();
    w.finish(id, RunStatus::Done, None, 1.0).unwrap();
    w.close().unwrap();
    let r = store.run(id).unwrap();
    assert_eq!(
        (r.seed, r.status, r.backend.as_str(), r.sweep.as_deref()),
        (3, RunStatus::Done, "pytorch", Some("mine"))
    );
    assert_eq!(r.spec["model"], Value::from("resnet"));
    assert_eq!(store.series(id, "kinetic").unwrap(), vec![(0, 0.5)]);
}
