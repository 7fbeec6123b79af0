//! `critlab analyze phases` end to end: a small real weight-decay × training-fraction sweep of
//! modular addition trained by the binary, plus a still-running and a diverged run written
//! through the store, classified and drawn.
use critlab_core::{RunSpec, RunStatus};
use critlab_store::{MetricRow, Store};
use std::path::Path;
use std::process::{Command, Output};

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn ok(out: &Output) -> String {
    assert!(out.status.success(), "critlab failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Memorises within ~20 steps everywhere it can; generalises only at a high training
/// fraction with moderate weight decay; cannot fit its training set at λ = 20.
const SWEEP: &str = r#"
name = "small"
[base]
task = "modular-addition"
p = 23
width = 128
lr = 0.03
steps = 1500
eval-every = 20
[axes]
weight-decay = [0.01, 1.0, 20.0]
train-frac = [0.4, 0.9]
"#;

/// Adds two runs of the sweep at train-frac 0.65: one left `running` without metrics, one
/// `diverged` with a NaN loss.
fn add_unfinished_runs(path: &Path) {
    let store = Store::open(path).unwrap();
    let spec = |wd: f64| RunSpec { p: 23, train_frac: 0.65, weight_decay: wd, steps: 1500, ..RunSpec::default() };
    store.create_run(&spec(20.0), Some("small"), "test").unwrap();
    let diverged = store.create_run(&spec(0.01), Some("small"), "test").unwrap();
    let mut w = store.writer().unwrap();
    let row = |step, name: &str, value| MetricRow { run: diverged, step, name: name.into(), value };
    w.metrics(vec![row(0, "train_loss", 3.1), row(0, "train_acc", 0.05), row(20, "train_loss", f64::NAN)]).unwrap();
    w.finish(diverged, RunStatus::Diverged, Some("train_loss is NaN at step 20".into()), 0.1).unwrap();
    w.close().unwrap();
}

fn cell(v: &serde_json::Value, x: f64, y: f64) -> &serde_json::Value {
    v["diagram"]["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["x"] == x && c["y"] == y)
        .unwrap_or_else(|| panic!("no cell ({x}, {y})"))
}

#[test]
fn a_weight_decay_by_fraction_sweep_shows_phases_in_their_places() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("small.toml"), SWEEP).unwrap();
    ok(&critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "s.db"]));
    // The demo on the same spec resumes (nothing left to train) and draws its figures.
    let demo = ok(&critlab(dir.path(), &["demo", "--spec", "small.toml", "--store", "s.db", "--out", "figs"]));
    assert!(demo.contains("6 already stored") && demo.contains("figs/phase-diagram.png"), "{demo}");
    for f in ["phase-diagram.svg", "phase-diagram.png", "grokking-run.svg", "grokking-run.png"] {
        assert!(dir.path().join("figs").join(f).exists(), "{f}: {demo}");
    }
    add_unfinished_runs(&dir.path().join("s.db"));

    let args = ["analyze", "phases", "--store", "s.db", "--sweep", "small", "--x", "weight-decay", "--y", "train-frac"];
    let v: serde_json::Value =
        serde_json::from_str(&ok(&critlab(dir.path(), &[&args[..], &["--json", "--plot", "fig"]].concat()))).unwrap();
    let label = |x, y| cell(&v, x, y)["label"].as_str().unwrap().to_string();
    assert_eq!(label(0.01, 0.4), "memorization", "low weight decay, low fraction");
    assert_eq!(label(1.0, 0.4), "memorization");
    assert_eq!(label(20.0, 0.4), "confusion", "too much weight decay to fit");
    assert_eq!(label(20.0, 0.9), "confusion");
    let high = label(1.0, 0.9);
    assert!(high == "grokking" || high == "comprehension", "high fraction generalises, got {high}");
    assert_eq!(label(20.0, 0.65), "running");
    assert_eq!(label(0.01, 0.65), "diverged");
    assert!(v["diagram"]["x"]["log"].as_bool().unwrap() && !v["diagram"]["y"]["log"].as_bool().unwrap());
    assert!(!v["diagram"]["boundaries"].as_array().unwrap().is_empty());
    let generalised = v["runs"].as_array().unwrap().iter().find(|r| r["x"] == 1.0 && r["y"] == 0.9).unwrap();
    let acc = &generalised["transitions"][0];
    assert!(acc["t_mem"].as_f64().unwrap() < acc["t_grok"].as_f64().unwrap(), "{acc}");
    assert!(generalised["reason"].as_str().unwrap().contains("delay"), "{generalised}");

    // A longer grokking delay criterion turns the high-fraction run into comprehension.
    let lenient: serde_json::Value =
        serde_json::from_str(&ok(&critlab(dir.path(), &[&args[..], &["--json", "--grokking-delay", "0.5"]].concat())))
            .unwrap();
    assert_eq!(cell(&lenient, 1.0, 0.9)["label"], "comprehension");

    // Transitions are stored back: three detectors for each of the 8 runs.
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let rows = store.transitions(None).unwrap();
    assert_eq!(rows.len(), 8 * 3);
    assert!(rows.iter().any(|r| r.phase.as_deref() == Some("running")));

    // Figures: both formats for a bare name, one for an extension.
    for f in ["fig.svg", "fig.png"] {
        assert!(dir.path().join(f).metadata().unwrap().len() > 1000, "{f}");
    }
    let text = ok(&critlab(dir.path(), &[&args[..], &["--plot", "only.png"]].concat()));
    assert!(text.contains("memorization") && text.contains("confusion") && text.contains("running"), "{text}");
    assert_eq!(&std::fs::read(dir.path().join("only.png")).unwrap()[1..4], b"PNG");
    assert!(!dir.path().join("only.svg").exists());
}

#[test]
fn bad_axes_and_unknown_sweeps_exit_2_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.db")).unwrap();
    for wd in [0.1, 1.0] {
        store.create_run(&RunSpec { weight_decay: wd, ..RunSpec::default() }, Some("sw"), "test").unwrap();
    }
    drop(store);
    let out = critlab(
        dir.path(),
        &["analyze", "phases", "--store", "s.db", "--sweep", "sw", "--x", "weight-decay", "--y", "nonsense"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`nonsense`") && err.contains("keys that vary: weight-decay"), "{err}");
    let out = critlab(
        dir.path(),
        &["analyze", "phases", "--store", "s.db", "--sweep", "other", "--x", "weight-decay", "--y", "train-frac"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no runs of sweep `other`"));
    // Runs without any metrics are shown, not a crash.
    let text = ok(&critlab(
        dir.path(),
        &["analyze", "phases", "--store", "s.db", "--sweep", "sw", "--x", "weight-decay", "--y", "train-frac"],
    ));
    assert!(text.contains("running 2"), "{text}");
}
