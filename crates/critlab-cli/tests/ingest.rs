//! `critlab ingest` end to end on real files written by PyTorch, tensorboardX and MLflow
//! (crates/critlab-store/tests/fixtures/ingest, made by scripts/fixtures/make_ingest_fixtures.sh):
//! a PyTorch grokking run is ingested, `analyze phases` finds its transition, `runs show`
//! shows it, re-ingesting adds nothing, and bad files exit 2 naming where, leaving the store
//! as it was.
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "critlab failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../critlab-store/tests/fixtures/ingest")
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_str(&ok(out)).expect("JSON output")
}

fn run_count(dir: &Path) -> usize {
    json(&critlab(dir, &["runs", "list", "--store", "s.db", "--json"])).as_array().unwrap().len()
}

#[test]
fn a_pytorch_grokking_run_from_tensorboard_shows_its_transition() {
    let dir = tempfile::tempdir().unwrap();
    let logs = fixtures().join("tensorboard");
    let logs = logs.to_str().unwrap();
    let out = ok(&critlab(dir.path(), &["ingest", "tensorboard", logs, "--store", "s.db"]));
    assert!(out.contains("2 run(s): 2 added, 0 unchanged, 0 replaced"), "{out}");
    assert!(out.contains("val/accuracy → test_acc") && out.contains("weight_decay → weight-decay"), "{out}");
    let again = ok(&critlab(dir.path(), &["ingest", "tensorboard", logs, "--store", "s.db"]));
    assert!(again.contains("0 added, 2 unchanged"), "{again}");
    assert_eq!(run_count(dir.path()), 2);

    let phases = json(&critlab(
        dir.path(),
        &[
            "analyze",
            "phases",
            "--store",
            "s.db",
            "--sweep",
            "tensorboard",
            "--x",
            "weight-decay",
            "--y",
            "train-frac",
            "--json",
        ],
    ));
    let runs = phases["runs"].as_array().unwrap();
    let grok = runs.iter().find(|r| r["x"] == 1.0).expect("the weight-decay-1 run");
    assert_eq!(grok["label"], "grokking", "{grok}");
    let t = &grok["transitions"][0];
    let (t_mem, t_grok) = (t["t_mem"].as_f64().unwrap(), t["t_grok"].as_f64().unwrap());
    assert!(t_mem <= 100.0 && t_grok > 500.0 && t_grok < 3000.0, "t_mem {t_mem}, t_grok {t_grok}");
    let no_wd = runs.iter().find(|r| r["x"] == 0.0).expect("the weight-decay-0 run");
    assert_ne!(no_wd["label"], "grokking", "{no_wd}");

    let id = grok["run_id"].as_i64().unwrap().to_string();
    let show = ok(&critlab(dir.path(), &["runs", "show", &id, "--store", "s.db"]));
    assert!(
        show.contains("ingested from tensorboard:") && show.contains("transitions") && show.contains("grokking"),
        "{show}"
    );
    let shown = json(&critlab(dir.path(), &["runs", "show", &id, "--store", "s.db", "--json"]));
    let stored = shown["transitions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["detector"] == "threshold" && r["quantity"] == "accuracy")
        .unwrap();
    assert_eq!(stored["t_grok"], t["t_grok"]);
    assert_eq!(shown["backend"], "tensorboard");
}

#[test]
fn mlflow_and_a_wandb_history_csv_come_in_with_their_parameters() {
    let dir = tempfile::tempdir().unwrap();
    let gz = std::fs::File::open(fixtures().join("mlflow.db.gz")).unwrap();
    let mut db = std::fs::File::create(dir.path().join("mlflow.db")).unwrap();
    std::io::copy(&mut flate2::read::GzDecoder::new(gz), &mut db).unwrap();
    let before = std::fs::read(dir.path().join("mlflow.db")).unwrap();
    let out = json(&critlab(dir.path(), &["ingest", "mlflow", "mlflow.db", "--store", "s.db", "--json"]));
    assert_eq!(out[0]["runs"].as_array().unwrap().len(), 2);
    assert_eq!(std::fs::read(dir.path().join("mlflow.db")).unwrap(), before, "MLflow's file is only read");
    let wandb = fixtures().join("wandb_history.csv");
    let out = ok(&critlab(
        dir.path(),
        &[
            "ingest",
            "csv",
            wandb.to_str().unwrap(),
            "--store",
            "s.db",
            "--sweep",
            "wandb",
            "--param",
            "weight_decay=1",
            "--param",
            "train_frac=0.7",
        ],
    ));
    assert!(out.contains("1 added") && out.contains("weight_decay → weight-decay"), "{out}");
    let runs = json(&critlab(dir.path(), &["runs", "list", "--store", "s.db", "--json"]));
    let runs = runs.as_array().unwrap();
    assert_eq!(runs.len(), 3);
    let ml = runs
        .iter()
        .find(|r| r["sweep"] == "grokking" && r["spec"]["weight-decay"] == 1.0)
        .expect("the MLflow grokking run");
    assert_eq!(ml["spec"]["width"], 128);
    assert_eq!(ml["spec"]["optimizer"], "adamw");
    assert_eq!(ml["status"], "done");
    let wb = runs.iter().find(|r| r["sweep"] == "wandb").unwrap();
    assert_eq!(wb["spec"]["train-frac"], 0.7);
    assert_eq!(wb["last_step"], 3000);
    // The two sources of the same run give the same transition.
    let phases = |sweep: &str| {
        json(&critlab(
            dir.path(),
            &[
                "analyze",
                "phases",
                "--store",
                "s.db",
                "--sweep",
                sweep,
                "--x",
                "weight-decay",
                "--y",
                "train-frac",
                "--json",
            ],
        ))
    };
    let a = phases("grokking");
    let b = phases("wandb");
    let grok = a["runs"].as_array().unwrap().iter().find(|r| r["x"] == 1.0).unwrap();
    assert_eq!(grok["label"], "grokking");
    assert_eq!(b["runs"][0]["label"], "grokking");
}

#[test]
fn bad_files_exit_2_naming_where_and_leave_the_store_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.csv");
    std::fs::write(&good, "step,loss\n0,1\n1,0.5\n").unwrap();
    ok(&critlab(dir.path(), &["ingest", "csv", "good.csv", "--store", "s.db"]));
    let bad = dir.path().join("bad.csv");
    std::fs::write(&bad, "step,loss\n0,1\n1,0.5,7\n").unwrap();
    std::fs::write(&good, "step,loss\n0,1\n1,0.5\n2,0.25\n").unwrap();
    // The good file grew, the bad one is broken: nothing of either is written.
    let out = critlab(dir.path(), &["ingest", "csv", "good.csv", "bad.csv", "--store", "s.db"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("bad.csv, line 3"), "{err}");
    let runs = json(&critlab(dir.path(), &["runs", "list", "--store", "s.db", "--json"]));
    assert_eq!(runs.as_array().unwrap().len(), 1);
    assert_eq!(runs[0]["last_step"], 1);

    std::fs::create_dir(dir.path().join("tb")).unwrap();
    let mut event = std::fs::read(
        std::fs::read_dir(fixtures().join("tensorboard/tbx_no_wd"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.is_file())
            .unwrap(),
    )
    .unwrap();
    event[100] ^= 1;
    std::fs::write(dir.path().join("tb/events.out.tfevents.1.x"), &event).unwrap();
    let out = critlab(dir.path(), &["ingest", "tensorboard", "tb", "--store", "s.db"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("events.out.tfevents.1.x, byte offset") && err.contains("checksum"), "{err}");
    let out = critlab(dir.path(), &["ingest", "mlflow", "good.csv", "--store", "s.db"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("good.csv"));
    let out = critlab(dir.path(), &["ingest", "csv", "good.csv", "--map", "oops", "--store", "s.db"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--map `oops`"));
    assert_eq!(run_count(dir.path()), 1);
}
