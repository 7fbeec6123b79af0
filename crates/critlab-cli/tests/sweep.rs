//! End-to-end tests of `critlab sweep` and `critlab merge` through the real binary: plans,
//! spec errors, the local executor, SIGKILL and Ctrl-C followed by resume, shard workers and
//! merges, and (when `sbatch` is on PATH) the Slurm backend on a real cluster.
use critlab_core::RunStatus;
use critlab_store::Store;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

#[path = "support/slurm.rs"]
mod slurm;

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Every run of a sweep by spec hash: (status, every metric as (step, name, value bits)).
type Runs = BTreeMap<String, (RunStatus, Vec<(i64, String, u64)>)>;

/// Reads a store's runs of `sweep`, asserting one row per spec hash.
fn runs(db: &Path, sweep: &str) -> Runs {
    let store = Store::open(db).unwrap();
    let mut out = Runs::new();
    for r in store.runs(Some(sweep)).unwrap() {
        let metrics = store.metrics(r.id).unwrap().into_iter().map(|m| (m.step, m.name, m.value.to_bits())).collect();
        assert!(
            out.insert(r.spec_hash.clone(), (r.status, metrics)).is_none(),
            "run {} is duplicated in {}",
            r.spec_hash,
            db.display()
        );
    }
    out
}

fn plan_hashes(dir: &Path, spec: &str) -> Vec<String> {
    let out = critlab(dir, &["sweep", "plan", spec, "--json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["entries"].as_array().unwrap().iter().map(|e| e["hash"].as_str().unwrap().to_string()).collect()
}

/// 24 small runs: 4 learning rates × 3 weight decays × 2 seeds, one replica class.
const SMALL: &str = r#"name = "small"
seeds = 2
[base]
p = 11
width = 32
steps = 300
eval-every = 10
[axes]
lr = [1e-3, 2e-3, 3e-3, 5e-3]
weight-decay = { linspace = [0.0, 1.0, 3] }
"#;

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn plan_prints_the_resolved_runs_and_the_issue_example_resolves() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "wd.toml",
        "name = \"wd-frac\"\nseeds = 2\n[base]\ntask = \"modular-addition\"\np = 23\nsteps = 1500\n[axes]\n\
         weight-decay = { logspace = [-2.0, 0.5, 4] }\ntrain-frac = [0.3, 0.5, 0.7]\nlr = { linspace = [1e-3, 3e-3, 2] }\n",
    );
    let out = critlab(dir.path(), &["sweep", "plan", "wd.toml"]);
    assert!(out.status.success(), "{}", text(&out));
    let s = text(&out);
    assert!(s.contains("48 runs"), "{s}");
    assert!(s.contains("weight-decay") && s.contains("train-frac") && s.contains("seed"), "{s}");
    let hashes = plan_hashes(dir.path(), "wd.toml");
    assert_eq!(hashes.len(), 48);
    assert!(!dir.path().join("critlab.db").exists(), "plan must not create a store");
}

#[test]
fn invalid_specs_are_rejected_before_any_run_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("name = \"a\"\n[base]\np = 7\nwieght-decay = 1.0\n", "wieght-decay", "line 4"),
        ("name = \"a\"\n[base]\np = 7\n[axes]\nlr = []\n", "`lr`", "line 5"),
        ("name = \"a\"\n[base]\np = 7\n[axes]\nlr = [1e-3, -1e-3]\n", "`lr`", "line 5"),
        ("name = \"a\"\n[base]\np = 7\nbatch-size = 100\n", "`batch-size`", "line 4"),
        ("name = \"a\"\n[axes]\nwidht = [8, 16]\n", "widht", "line 3"),
    ];
    for (spec, key, line) in cases {
        write(dir.path(), "bad.toml", spec);
        let out = critlab(dir.path(), &["sweep", "run", "bad.toml", "--store", "s.db"]);
        assert_eq!(out.status.code(), Some(2), "{spec}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key) && err.contains(line) && err.contains("bad.toml"), "{spec}: {err}");
        assert!(!dir.path().join("s.db").exists(), "{spec}: the store was touched");
    }
}

#[test]
fn a_local_sweep_trains_every_run_once_and_a_rerun_skips_them() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let out =
        critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "s.db", "--max-group", "8", "--jobs", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("24 done"), "{}", text(&out));
    let first = runs(&dir.path().join("s.db"), "small");
    let hashes = plan_hashes(dir.path(), "small.toml");
    assert_eq!(first.keys().cloned().collect::<Vec<_>>(), {
        let mut h = hashes.clone();
        h.sort();
        h
    });
    assert!(first.values().all(|(s, m)| *s == RunStatus::Done && !m.is_empty()));
    let again = critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "s.db"]);
    assert!(again.status.success(), "{}", text(&again));
    assert!(text(&again).contains("24 already finished"), "{}", text(&again));
    assert_eq!(runs(&dir.path().join("s.db"), "small"), first);
    // Replica batching does not change a run: a lone run of one spec gives the same numbers.
    let lone =
        critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "lone.db", "--max-group", "1", "--jobs", "1"]);
    assert!(lone.status.success(), "{}", text(&lone));
    assert_eq!(runs(&dir.path().join("lone.db"), "small"), first);
}

#[test]
fn a_diverging_replica_is_marked_without_stopping_its_batch_mates() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "div.toml",
        "name = \"div\"\n[base]\np = 11\nwidth = 32\nsteps = 60\neval-every = 10\n[axes]\nlr = [1e-3, 1e30, 2e-3]\n",
    );
    let out = critlab(dir.path(), &["sweep", "run", "div.toml", "--store", "s.db"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let store = Store::open(dir.path().join("s.db")).unwrap();
    let rows = store.runs(Some("div")).unwrap();
    let status = |lr: f64| rows.iter().find(|r| r.spec["lr"].as_f64() == Some(lr)).map(|r| r.status);
    assert_eq!(status(1e30), Some(RunStatus::Diverged));
    assert_eq!(status(1e-3), Some(RunStatus::Done));
    assert_eq!(status(2e-3), Some(RunStatus::Done));
    assert!(rows.iter().filter(|r| r.status == RunStatus::Done).all(|r| r.last_step == Some(60)));
}

/// Starts a sweep, waits until the store shows `at_least` finished runs, then signals it.
fn interrupt_after(dir: &Path, spec: &str, db: &str, at_least: usize, signal: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_critlab"))
        .current_dir(dir)
        .args(["sweep", "run", spec, "--store", db, "--max-group", "2", "--jobs", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        // A sweep that ended (an error, a crash) before reaching `at_least` is reported with
        // its own output, not as a timeout.
        if child.try_wait().unwrap().is_some() {
            let out = child.wait_with_output().unwrap();
            panic!("the sweep ended before {at_least} runs finished: {:?}\n{}", out.status, text(&out));
        }
        assert!(start.elapsed() < Duration::from_secs(120), "the sweep made no progress in 120 s (still running)");
        if dir.join(db).exists() {
            // Read-only: the poll must never create, migrate or lock the file the sweep is creating.
            if let Ok(store) = Store::open_read_only(dir.join(db)) {
                let finished = store.finished_runs("small").map(|f| f.len()).unwrap_or(0);
                if finished >= at_least {
                    break;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let kill = Command::new("kill").args([signal, &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    child.wait_with_output().unwrap()
}

#[test]
fn a_sigkilled_sweep_resumes_with_nothing_lost_or_duplicated() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let killed = interrupt_after(dir.path(), "small.toml", "s.db", 6, "-KILL");
    assert_eq!(killed.status.code(), None, "the sweep ended before the kill: {}", text(&killed));
    let before = runs(&dir.path().join("s.db"), "small");
    let committed: Runs =
        before.iter().filter(|(_, (s, _))| *s == RunStatus::Done).map(|(k, v)| (k.clone(), v.clone())).collect();
    assert!(committed.len() >= 6 && committed.len() < 24, "{} runs done at the kill", committed.len());

    let resumed =
        critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "s.db", "--max-group", "2", "--jobs", "1"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let log = text(&resumed);
    assert!(log.contains(&format!("{} already finished", committed.len())), "{log}");
    let after = runs(&dir.path().join("s.db"), "small");
    assert_eq!(after.len(), 24);
    assert!(after.values().all(|(s, _)| *s == RunStatus::Done));
    // Nothing committed was lost or changed.
    for (hash, run) in &committed {
        assert_eq!(&after[hash], run, "run {hash} changed across the resume");
    }
    // Restarted runs equal an uninterrupted sweep, bit for bit.
    let reference = critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "ref.db"]);
    assert!(reference.status.success(), "{}", text(&reference));
    assert_eq!(runs(&dir.path().join("ref.db"), "small"), after);
}

#[test]
fn ctrl_c_stops_gracefully_and_the_sweep_resumes() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let stopped = interrupt_after(dir.path(), "small.toml", "s.db", 4, "-INT");
    assert_eq!(stopped.status.code(), Some(1), "{}", text(&stopped));
    assert!(text(&stopped).contains("interrupted"), "{}", text(&stopped));
    let store = Store::open(dir.path().join("s.db")).unwrap();
    assert!(
        store.runs(Some("small")).unwrap().iter().all(|r| r.status != RunStatus::Running),
        "a graceful stop leaves no running run"
    );
    let resumed = critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "s.db"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let after = runs(&dir.path().join("s.db"), "small");
    assert_eq!(after.len(), 24);
    assert!(after.values().all(|(s, _)| *s == RunStatus::Done));
}

#[test]
fn shard_workers_and_merge_give_the_local_results_idempotently_and_report_missing_shards() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let local = critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "local.db", "--max-group", "4"]);
    assert!(local.status.success(), "{}", text(&local));
    // The work directory of a Slurm sweep, written but not submitted: 6 groups of 4, 6 shards.
    let dry = critlab(
        dir.path(),
        &["sweep", "run", "small.toml", "--store", "main.db", "--backend", "slurm", "--dry-run", "--max-group", "4"],
    );
    assert!(dry.status.success(), "{}", text(&dry));
    let work = dir.path().join("main-slurm/small");
    let shard_db = |i: usize| work.join(format!("shards/shard-{i}.db")).display().to_string();
    // What the array tasks run, by hand; shards 4 and 5 have not run yet.
    for i in 0..4 {
        let shard = format!("{i}/6");
        let out = critlab(
            dir.path(),
            &["sweep", "worker", "small.toml", "--shard", &shard, "--store", &shard_db(i), "--max-group", "4"],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    let partial = critlab(dir.path(), &["merge", "--store", "main.db", "main-slurm/small"]);
    assert_eq!(partial.status.code(), Some(1), "{}", text(&partial));
    assert!(
        text(&partial).contains("shard 4: missing") && text(&partial).contains("shard 5: missing"),
        "{}",
        text(&partial)
    );
    assert_eq!(runs(&dir.path().join("main.db"), "small").len(), 16);
    for i in 4..6 {
        let shard = format!("{i}/6");
        let out = critlab(
            dir.path(),
            &["sweep", "worker", "small.toml", "--shard", &shard, "--store", &shard_db(i), "--max-group", "4"],
        );
        assert!(out.status.success(), "{}", text(&out));
    }
    for _ in 0..2 {
        let merged = critlab(dir.path(), &["merge", "--store", "main.db", "main-slurm/small"]);
        assert!(merged.status.success(), "{}", text(&merged));
    }
    // A shard file merged on its own again changes nothing either.
    let file = critlab(dir.path(), &["merge", "--store", "main.db", &shard_db(0)]);
    assert!(file.status.success() && text(&file).contains("0 runs copied"), "{}", text(&file));
    assert_eq!(runs(&dir.path().join("main.db"), "small"), runs(&dir.path().join("local.db"), "small"));
    let status = critlab(dir.path(), &["sweep", "status", "small.toml", "--store", "main.db"]);
    assert!(text(&status).contains("24 runs: 24 done"), "{}", text(&status));
}

#[test]
fn slurm_dry_run_writes_an_array_script_without_submitting() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let out = critlab(
        dir.path(),
        &[
            "sweep",
            "run",
            "small.toml",
            "--store",
            "s.db",
            "--backend",
            "slurm",
            "--dry-run",
            "--max-group",
            "4",
            "--array-limit",
            "2",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    let script = std::fs::read_to_string(dir.path().join("s-slurm/small/array.sbatch")).unwrap();
    assert!(script.contains("#SBATCH --array=0-5%2"), "{script}");
    assert!(script.contains(env!("CARGO_BIN_EXE_critlab")), "{script}");
    assert!(text(&out).contains("would run: sbatch --parsable"), "{}", text(&out));
    assert!(!dir.path().join("s.db").exists());
}

/// Needs a running Slurm cluster (`scripts/slurm-up.sh`); skipped with a message when
/// `sbatch` is missing or no controller answers `scontrol ping`, unless
/// `CRITLAB_REQUIRE_SLURM` is set (as `scripts/test.sh` does). The same spec through Slurm
/// gives the local results run for run.
#[test]
fn slurm_sweep_matches_the_local_sweep_run_for_run() {
    if !slurm::running_or_skip("slurm_sweep_matches_the_local_sweep_run_for_run") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "small.toml", SMALL);
    let local = critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "local.db", "--max-group", "4"]);
    assert!(local.status.success(), "{}", text(&local));
    let out = critlab(
        dir.path(),
        &[
            "sweep",
            "run",
            "small.toml",
            "--store",
            "slurm.db",
            "--backend",
            "slurm",
            "--max-group",
            "4",
            "--array-limit",
            "2",
            "--wait",
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("24 runs: 24 done"), "{}", text(&out));
    assert_eq!(runs(&dir.path().join("slurm.db"), "small"), runs(&dir.path().join("local.db"), "small"));
    // Re-running the merge changes nothing; submitting again finds nothing to do.
    let merge = critlab(dir.path(), &["merge", "--store", "slurm.db", "slurm-slurm/small"]);
    assert!(merge.status.success(), "{}", text(&merge));
    let again = critlab(dir.path(), &["sweep", "run", "small.toml", "--store", "slurm.db", "--backend", "slurm"]);
    assert!(again.status.success() && text(&again).contains("nothing to submit"), "{}", text(&again));
    assert_eq!(runs(&dir.path().join("slurm.db"), "small"), runs(&dir.path().join("local.db"), "small"));
}
