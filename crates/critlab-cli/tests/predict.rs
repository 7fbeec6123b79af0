//! `analyze predict` end to end on a tiny real sweep, and `sweep run --stop-hopeless` recording
//! hopeless runs as `stopped` with the reason and the predictor.
use critlab_core::RunStatus;
use critlab_store::Store;
use std::path::Path;
use std::process::{Command, Output};

#[path = "support/slurm.rs"]
mod slurm;

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "critlab failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const SWEEP: &str = r#"
name = "tiny-prediction"
seeds = 2
[base]
task = "modular-addition"
p = 23
width = 128
optimizer = "adamw"
lr = 1e-2
steps = 1500
eval-every = 20
repr-samples = 32
[axes]
weight-decay = [0.03, 1.0, 3.0]
train-frac = [0.5, 0.9]
"#;

#[test]
fn analyze_predict_scores_every_predictor_on_a_real_sweep() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("tiny.toml"), SWEEP).unwrap();
    ok(&critlab(dir.path(), &["sweep", "run", "tiny.toml", "--store", "p.db"]));
    let out = ok(&critlab(
        dir.path(),
        &[
            "analyze",
            "predict",
            "--store",
            "p.db",
            "--sweep",
            "tiny-prediction",
            "--bootstrap",
            "200",
            "--json",
            "--plot",
            "roc.svg",
            "--plot-predicted",
            "pv.svg",
        ],
    ));
    let r: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(r["runs"], 12);
    let preds = r["predictors"].as_array().unwrap();
    let names: Vec<&str> = preds.iter().map(|p| p["name"].as_str().unwrap()).collect();
    for n in [
        "weight-norm",
        "norm-delay",
        "early-loss-spectrum",
        "fourier-sparsity",
        "spectral-entropy",
        "commutator-defect",
        "variance",
        "charge-drift",
    ] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    for p in preds {
        for key in ["name", "auroc", "auroc_ci", "auroc_within_weight_decay", "lead_median", "lead_ci", "mape"] {
            assert!(p.get(key).is_some(), "{key} missing in {p}");
        }
    }
    let grokked = r["grokked"].as_u64().unwrap();
    // Measured: 4 of 12 grok (λ ≥ 1 at f = 0.9).
    assert!(grokked > 0 && grokked < 12, "the tiny sweep should have both outcomes: {grokked} of 12 grokked");
    let baseline = preds.iter().find(|p| p["name"] == "weight-norm").unwrap();
    let auc = baseline["auroc"].as_f64().unwrap();
    let ci = baseline["auroc_ci"].as_array().unwrap();
    assert!(ci[0].as_f64().unwrap() <= auc && auc <= ci[1].as_f64().unwrap(), "{baseline}");
    assert!(std::fs::read_to_string(dir.path().join("roc.svg")).unwrap().contains("<svg"));
    assert!(std::fs::read_to_string(dir.path().join("pv.svg")).unwrap().contains("<svg"));
    // Regression: the critical-slowing-down indicators were never scored (they waited for 30
    // indicator values); with a decision at t_mem + 0.3·τ (about 25 eval points) every
    // predictor has an AUROC with a finite interval.
    let later = ok(&critlab(
        dir.path(),
        &[
            "analyze",
            "predict",
            "--store",
            "p.db",
            "--sweep",
            "tiny-prediction",
            "--bootstrap",
            "100",
            "--decision-at",
            "0.3",
            "--json",
        ],
    ));
    let later: serde_json::Value = serde_json::from_str(&later).unwrap();
    for p in later["predictors"].as_array().unwrap() {
        let ci = p["auroc_ci"].as_array().unwrap_or_else(|| panic!("{} has no AUROC interval: {p}", p["name"]));
        assert!(p["auroc"].as_f64().is_some() && ci.iter().all(|v| v.as_f64().is_some_and(f64::is_finite)), "{p}");
    }
    let text = ok(&critlab(
        dir.path(),
        &["analyze", "predict", "--store", "p.db", "--sweep", "tiny-prediction", "--bootstrap", "50"],
    ));
    assert!(text.contains("AUROC within λ"), "{text}");
    let bad = critlab(
        dir.path(),
        &["analyze", "predict", "--store", "p.db", "--sweep", "tiny-prediction", "--predictors", "crystal-ball"],
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown predictor `crystal-ball`"));
}

/// Two weight decays × 2 seeds: λ = 1e-4 has no chance to grok within 400 steps by the
/// norm-delay law, λ = 3 has.
const HOPELESS: &str = r#"
name = "hopeless"
seeds = 2
[base]
task = "modular-addition"
p = 11
width = 32
optimizer = "adamw"
lr = 1e-2
steps = 400
eval-every = 20
[axes]
weight-decay = [0.0001, 3.0]
"#;

/// The λ = 1e-4 runs of `HOPELESS` were stopped as hopeless (with the predictor and the step in
/// the reason), the others were not.
fn assert_hopeless_runs_stopped(db: &Path) {
    let store = Store::open(db).unwrap();
    let runs = store.runs(Some("hopeless")).unwrap();
    assert_eq!(runs.len(), 4);
    for r in &runs {
        let wd = r.spec["weight-decay"].as_f64().unwrap();
        if wd < 1e-3 {
            // ηλ·τ = 4e-4 e-foldings: the law gives no chance within the budget.
            assert_eq!(r.status, RunStatus::Stopped, "{r:?}");
            let reason = r.reason.as_deref().unwrap();
            assert!(reason.contains("hopeless") && reason.contains("norm-delay"), "{reason}");
            assert!(r.last_step.unwrap() < 400);
        } else {
            assert_ne!(r.status, RunStatus::Stopped, "{r:?}");
        }
    }
}

#[test]
fn stop_hopeless_records_stopped_runs_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.toml"), HOPELESS).unwrap();
    let out = ok(&critlab(dir.path(), &["sweep", "run", "h.toml", "--store", "h.db", "--stop-hopeless", "0.95"]));
    assert!(out.contains("stopped as hopeless"), "{out}");
    assert_hopeless_runs_stopped(&dir.path().join("h.db"));
    // A rerun skips the stopped runs as finished; a predictor without a probability is refused.
    let again = ok(&critlab(dir.path(), &["sweep", "run", "h.toml", "--store", "h.db"]));
    assert!(again.contains("4 already finished"), "{again}");
    let bad = critlab(
        dir.path(),
        &["sweep", "run", "h.toml", "--store", "h.db", "--stop-hopeless", "0.95", "--stop-predictor", "weight-norm"],
    );
    assert_eq!(bad.status.code(), Some(2));
    // A calibration store that does not exist is named with its flag, before any store is made.
    let args = [
        "sweep",
        "run",
        "h.toml",
        "--store",
        "new.db",
        "--stop-hopeless",
        "0.95",
        "--calibrate-from",
        "pilot",
        "--calibration-store",
        "missing.db",
    ];
    let missing = critlab(dir.path(), &args);
    let err = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(2), "{err}");
    assert!(err.contains("--calibrate-from pilot in missing.db") && err.contains("does not exist"), "{err}");
    assert!(!dir.path().join("new.db").exists() && !dir.path().join("missing.db").exists());
}

/// A calibration sweep whose two runs grok within their budget (K = ηλ·(t_grok − t_mem) ≈ 14).
const CALIBRATION: &str = r#"
name = "calibration"
seeds = 2
[base]
task = "modular-addition"
p = 23
train-frac = 0.8
width = 128
optimizer = "adamw"
lr = 3e-2
weight-decay = 1.0
steps = 800
eval-every = 20
"#;

/// Every run of `sweep` in `db` as (spec hash, status, reason, last step).
fn outcomes(db: &Path, sweep: &str) -> Vec<(String, RunStatus, Option<String>, Option<i64>)> {
    let mut v: Vec<_> = Store::open(db)
        .unwrap()
        .runs(Some(sweep))
        .unwrap()
        .into_iter()
        .map(|r| (r.spec_hash, r.status, r.reason, r.last_step))
        .collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v
}

/// The same rule through the Slurm workers (needs a running cluster: `scripts/slurm-up.sh`;
/// skipped with a message without one, unless `CRITLAB_REQUIRE_SLURM` is set, as
/// `scripts/test.sh` does), calibrated from a sweep of the main store: the same runs stop at
/// the same steps for the same reasons as in the local run.
#[test]
fn stop_hopeless_works_through_slurm_workers_as_locally() {
    if !slurm::running_or_skip("stop_hopeless_works_through_slurm_workers_as_locally") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.toml"), HOPELESS).unwrap();
    std::fs::write(dir.path().join("cal.toml"), CALIBRATION).unwrap();
    let rule = ["--stop-hopeless", "0.95", "--calibrate-from", "calibration"];
    for db in ["local.db", "slurm.db"] {
        ok(&critlab(dir.path(), &["sweep", "run", "cal.toml", "--store", db]));
    }
    ok(&critlab(dir.path(), &[&["sweep", "run", "h.toml", "--store", "local.db"][..], &rule].concat()));
    let out = ok(&critlab(
        dir.path(),
        &[&["sweep", "run", "h.toml", "--store", "slurm.db", "--backend", "slurm", "--wait"][..], &rule].concat(),
    ));
    let script = std::fs::read_to_string(dir.path().join("slurm-slurm/hopeless/array.sbatch")).unwrap();
    assert!(script.contains("'--stop-hopeless' '0.95'") && script.contains("'--calibration-store'"), "{script}");
    let (local, slurm) =
        (outcomes(&dir.path().join("local.db"), "hopeless"), outcomes(&dir.path().join("slurm.db"), "hopeless"));
    assert_eq!(slurm, local, "{out}");
    let stopped_early = slurm.iter().filter(|r| r.1 == RunStatus::Stopped && r.3.is_some_and(|t| t < 200)).count();
    assert_eq!(stopped_early, 2, "the λ = 1e-4 runs stop soon after memorising: {slurm:?}");
    assert!(slurm.iter().all(|r| r.2.as_deref().is_none_or(|why| why.contains("norm-delay"))), "{slurm:?}");
}
