//! Noether charges against theory (`analyze symmetry`), early warnings scored over a sweep
//! (`analyze early-warning`), `watch` on a log appended by another writer, and
//! `train --stop-after-transition`, end to end through the binary.
use critlab_core::{RunSpec, RunStatus};
use critlab_physics::stats;
use critlab_store::{MetricRow, Store};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Output};

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "critlab failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

#[test]
fn symmetry_report_recovers_the_weight_decay_rate_and_lists_attention_charges() {
    let dir = tempfile::tempdir().unwrap();
    let train = |extra: &[&str]| {
        let base =
            ["train", "--store", "s.db", "--p", "11", "--optimizer", "sgd", "--steps", "400", "--eval-every", "40"];
        let args: Vec<&str> = base.iter().chain(extra).copied().collect();
        assert!(critlab(dir.path(), &args).status.success());
    };
    train(&["--width", "32", "--lr", "0.05", "--weight-decay", "0.5"]);
    let r = json(&critlab(dir.path(), &["analyze", "symmetry", "--store", "s.db", "--run", "1", "--json"]));
    let charge = |name: &str| r["charges"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone();
    let rescale = charge("charge_rescale/layer0");
    let fitted = rescale["fitted_rate"]["value"].as_f64().unwrap();
    // Under SGD the charge decays as (1 − ηλ)^{2·step} ≈ e^{−2λt}: rate 2λ = 1 (1.0127 exactly).
    assert!((fitted - 1.0).abs() < 0.02, "fitted rate {fitted}");
    assert!(rescale["residual"].as_f64().unwrap() < 1e-3, "{rescale}");
    assert!(charge("charge_translation")["residual"].as_f64().unwrap() < 1e-3);

    train(&[
        "--model",
        "transformer",
        "--d-model",
        "16",
        "--heads",
        "2",
        "--d-mlp",
        "32",
        "--lr",
        "0.1",
        "--momentum",
        "0.9",
    ]);
    let t = json(&critlab(dir.path(), &["analyze", "symmetry", "--store", "s.db", "--run", "2", "--json"]));
    let kinds: Vec<&str> = t["symmetries"].as_array().unwrap().iter().map(|s| s["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["gl-query-key", "gl-value-output", "rescale", "translation"]);
    let names: Vec<&str> = t["charges"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    for n in ["charge_gl/head0", "charge_gl/head1", "charge_gl_vo/head1", "charge_rescale/mlp.in"] {
        assert!(names.contains(&n), "{n} missing from {names:?}");
    }
    let text = String::from_utf8(critlab(dir.path(), &["analyze", "symmetry", "--store", "s.db", "--run", "2"]).stdout)
        .unwrap();
    assert!(text.contains("GL(d_head) of each of 2 heads"), "{text}");
}

/// A test-loss series of `n` points: a slow decline plus noise whose amplitude grows tenfold
/// towards the end when `warns` (rising variance), constant otherwise.
fn loss_series(n: usize, seed: u64, warns: bool) -> Vec<f64> {
    let mut rng = stats::rng(seed, 0);
    (0..n)
        .map(|i| {
            let amp = if warns { 0.01 * (1.0 + 9.0 * i as f64 / n as f64) } else { 0.01 };
            let e = stats::standard_normal(&mut rng);
            3.0 - 0.001 * i as f64 + amp * e
        })
        .collect()
}

#[test]
fn early_warning_scores_a_sweep_where_some_runs_grok() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let mut w = store.writer().unwrap();
    for k in 0..6u64 {
        let groks = k < 3;
        let run = store.create_run(&RunSpec { seed: k, ..RunSpec::default() }, Some("ew"), "test").unwrap();
        let losses = loss_series(120, k, groks);
        let mut rows = Vec::new();
        for (i, loss) in losses.iter().enumerate() {
            let step = 10 * i as i64;
            let acc = if groks && i >= 110 { 0.95 } else { 0.1 };
            rows.push(MetricRow { run, step, name: "test_loss".into(), value: *loss });
            rows.push(MetricRow { run, step, name: "test_acc".into(), value: acc });
            rows.push(MetricRow { run, step, name: "train_acc".into(), value: 1.0 });
        }
        w.metrics(rows).unwrap();
        w.finish(run, RunStatus::Done, None, 1.0).unwrap();
    }
    w.close().unwrap();
    let svg = dir.path().join("ew.svg");
    let out = critlab(
        dir.path(),
        &["analyze", "early-warning", "--store", "s.db", "--sweep", "ew", "--json", "--plot", svg.to_str().unwrap()],
    );
    let r = json(&out);
    let variance = r["scores"].as_array().unwrap().iter().find(|s| s["indicator"] == "variance").unwrap().clone();
    assert_eq!(variance["base_rate"], 0.5);
    assert_eq!(variance["hits"], 3, "{variance}");
    assert!(variance["precision"].as_f64().unwrap() > 0.5, "{variance}");
    assert!(variance["median_lead"].as_f64().unwrap() > 0.0);
    assert!(std::fs::read_to_string(svg).unwrap().contains("<svg"));
    let text = String::from_utf8(
        critlab(dir.path(), &["analyze", "early-warning", "--store", "s.db", "--sweep", "ew"]).stdout,
    )
    .unwrap();
    assert!(text.contains("median lead") && text.contains("variance"), "{text}");
}

#[test]
fn watch_follows_a_csv_appended_by_another_writer_and_prints_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("log.csv");
    std::fs::write(&log, "step,test_loss\n").unwrap();
    let writer_path = log.clone();
    let writer = std::thread::spawn(move || {
        let mut f = std::fs::OpenOptions::new().append(true).open(writer_path).unwrap();
        for (i, v) in loss_series(120, 7, true).iter().enumerate() {
            writeln!(f, "{},{v}", 10 * i).unwrap();
            f.flush().unwrap();
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    });
    let out = critlab(
        dir.path(),
        &["watch", "--input", "log.csv", "--column", "test_loss", "--interval", "0.05", "--until-done", "--idle", "1"],
    );
    writer.join().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.lines().any(|l| l.contains("variance warning")), "{text}");
}

#[test]
fn training_stops_once_the_transition_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--store",
        "s.db",
        "--json",
        "--p",
        "23",
        "--width",
        "128",
        "--train-frac",
        "0.9",
        "--lr",
        "1e-2",
        "--weight-decay",
        "1",
        "--steps",
        "3000",
        "--eval-every",
        "50",
        "--stop-after-transition",
    ];
    let r = json(&critlab(dir.path(), &args));
    assert_eq!(r["status"], "done");
    let t_grok = r["t_test_acc_0_9"].as_u64().expect("this run generalises");
    // At least the 3 settling eval steps after t_grok, and well before the budget.
    let steps = r["steps"].as_u64().unwrap();
    assert!(steps >= t_grok + 3 * 50 && steps < 3000, "{r}");
    assert!(r["reason"].as_str().unwrap().contains("stopped after the transition"));
}

#[test]
fn hypotheses_give_verdicts_on_a_sweep() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let mut w = store.writer().unwrap();
    let mut rng = stats::rng(3, 0);
    for (k, &(lr, b)) in
        [(0.05, 16), (0.1, 32), (0.2, 64), (0.1, 16), (0.2, 32), (0.4, 64)].iter().cycle().take(18).enumerate()
    {
        let spec =
            RunSpec { lr, batch_size: critlab_core::BatchSize::Examples(b), seed: k as u64, ..RunSpec::default() };
        let run = store.create_run(&spec, Some("h"), "test").unwrap();
        // Grokking after a number of epochs set by η/B alone; the action there varies freely.
        let epochs = 2000.0 * lr / b as f64 * (1.0 + 0.05 * stats::standard_normal(&mut rng));
        let t_grok = (epochs * spec.clone().validate().unwrap().n_train() as f64 / b as f64 / 10.0).round() as i64 * 10;
        let mut rows = Vec::new();
        for step in (0..=t_grok + 50).step_by(10) {
            let acc = if step >= t_grok { 0.95 } else { 0.1 };
            for (name, value) in
                [("test_acc", acc), ("train_acc", 1.0), ("action", (step as f64).powf(1.5)), ("noise_scale", 30.0)]
            {
                rows.push(MetricRow { run, step, name: name.into(), value });
            }
        }
        w.metrics(rows).unwrap();
        w.finish(run, RunStatus::Done, None, 1.0).unwrap();
    }
    w.close().unwrap();
    let r = json(&critlab(
        dir.path(),
        &["analyze", "hypotheses", "--store", "s.db", "--sweep", "h", "--json", "--resamples", "300"],
    ));
    assert_eq!(r["grokked"], 18);
    let verdict = |h: &str| {
        r["results"].as_array().unwrap().iter().find(|x| x["hypothesis"].as_str().unwrap().starts_with(h)).unwrap()
            ["verdict"]
            .clone()
    };
    assert_eq!(verdict("temperature symmetry"), "supported", "{r}");
    assert_eq!(verdict("action invariance"), "contradicted", "{r}");
}
