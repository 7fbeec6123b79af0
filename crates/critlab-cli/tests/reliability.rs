//! Reliability through the real binary (issue 16): output to a closed pipe or a full disk,
//! the memory budget (also under `ulimit -v`), plan-size caps, and bad numeric options on
//! every subcommand. Each test is named after the finding it pins.
use std::fs::File;
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

const BIN: &str = env!("CARGO_BIN_EXE_critlab");

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN).current_dir(dir).args(args).output().expect("running critlab")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// Runs critlab with standard output connected to `stdout`; returns (exit code, stderr).
fn with_stdout(dir: &Path, args: &[&str], stdout: Stdio) -> (Option<i32>, String) {
    let out = Command::new(BIN)
        .current_dir(dir)
        .args(args)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .output()
        .expect("running critlab");
    (out.status.code(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// A pipe whose reader is already closed: every write to it fails with EPIPE.
fn closed_pipe() -> Stdio {
    let mut fds = [0; 2];
    // SAFETY: pipe fills two descriptors we then own; we close the reading end at once.
    unsafe {
        assert_eq!(libc::pipe(fds.as_mut_ptr()), 0);
        libc::close(fds[0]);
        Stdio::from(OwnedFd::from_raw_fd(fds[1]))
    }
}

fn dev_full() -> Stdio {
    Stdio::from(File::options().write(true).open("/dev/full").expect("/dev/full"))
}

/// A tiny store with two finished runs of a sweep `tiny` (ids 1 and 2), built once; each test
/// copies it.
fn tiny_store() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
        let out = critlab(dir.path(), &["sweep", "run", "tiny.toml", "--store", "s.db", "--jobs", "1"]);
        assert!(out.status.success(), "{}", text(&out));
        dir
    })
    .path()
}

const TINY: &str = "name = \"tiny\"\nseeds = 2\n[base]\np = 5\nwidth = 8\nsteps = 20\neval-every = 10\n";

fn copy_of_tiny() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for f in ["s.db", "tiny.toml"] {
        std::fs::copy(tiny_store().join(f), dir.path().join(f)).unwrap();
    }
    dir
}

/// Commands that print to standard output, on the tiny store.
const PRINTING: &[&[&str]] = &[
    &["runs", "list", "--store", "s.db"],
    &["runs", "list", "--store", "s.db", "--json"],
    &["runs", "show", "1", "--store", "s.db"],
    &["runs", "show", "1", "--store", "s.db", "--json"],
    &["sweep", "plan", "tiny.toml"],
    &["sweep", "plan", "tiny.toml", "--json"],
    &["sweep", "status", "tiny.toml", "--store", "s.db"],
    &["sweep", "run", "tiny.toml", "--store", "s.db"],
    &["export", "--format", "csv", "--store", "s.db"],
    &["export", "--format", "jsonl", "--store", "s.db"],
    &["analyze", "symmetry", "--store", "s.db", "--run", "1"],
    &["analyze", "early-warning", "--store", "s.db", "--run", "1"],
    &["train", "--store", "s.db", "--p", "5", "--width", "8", "--steps", "5", "--eval-every", "5"],
    &["train", "--store", "s.db", "--p", "5", "--width", "8", "--steps", "5", "--eval-every", "5", "--json"],
];

/// Regression: every printing command panicked on a closed pipe (`critlab runs show 1 | head -1`).
#[test]
fn a_closed_pipe_ends_every_printing_command_quietly_with_status_0() {
    let dir = copy_of_tiny();
    for args in PRINTING {
        let (code, stderr) = with_stdout(dir.path(), args, closed_pipe());
        assert_eq!(code, Some(0), "critlab {}: {stderr}", args.join(" "));
        assert!(!stderr.contains("panicked") && !stderr.contains("error"), "critlab {}: {stderr}", args.join(" "));
    }
}

/// Regression: every printing command panicked on `>/dev/full`; now it is an error naming
/// standard output (exit 2).
#[test]
fn a_full_disk_on_standard_output_is_a_clear_error() {
    let dir = copy_of_tiny();
    for args in PRINTING {
        let (code, stderr) = with_stdout(dir.path(), args, dev_full());
        assert_eq!(code, Some(2), "critlab {}: {stderr}", args.join(" "));
        assert!(
            stderr.contains("standard output") && !stderr.contains("panicked"),
            "critlab {}: {stderr}",
            args.join(" ")
        );
    }
}

/// Regression: `train --p 99991` and `--width 100000000` allocated until the OOM killer fired.
#[test]
fn runs_above_the_memory_budget_are_refused_before_allocating() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [&["--p", "99991", "--width", "32"][..], &["--width", "100000000"]] {
        let mut args = vec!["train", "--store", "s.db", "--steps", "50"];
        args.extend_from_slice(extra);
        let out = critlab(dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let msg = text(&out);
        assert!(msg.contains("memory budget") && msg.contains("--max-memory"), "{msg}");
        // Refused before the store was even created.
        assert!(!dir.path().join("s.db").exists());
    }
    // --max-memory lowers the limit below a small run, and rejects nonsense.
    let out = critlab(dir.path(), &["train", "--store", "s.db", "--p", "5", "--steps", "2", "--max-memory", "1M"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("--max-memory 1.0 MiB"), "{}", text(&out));
    for bad in ["nan", "-1G", "0", "150%", "lots"] {
        let out = critlab(dir.path(), &["train", "--store", "s.db", &format!("--max-memory={bad}")]);
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(text(&out).contains("--max-memory"), "{bad}: {}", text(&out));
    }
}

/// Under `ulimit -v` the default budget is what the limit leaves: `--p 1009` aborted with
/// "memory allocation of 2054489488 bytes failed"; now it is refused, and a small run still
/// trains under the same limit.
#[test]
fn the_budget_follows_ulimit_v() {
    let dir = tempfile::tempdir().unwrap();
    let under_limit = |args: &str| {
        Command::new("sh")
            .current_dir(dir.path())
            .arg("-c")
            .arg(format!("ulimit -v 1500000 && exec '{BIN}' {args}"))
            .output()
            .unwrap()
    };
    let big = under_limit("train --store s.db --p 1009 --width 32 --steps 2");
    assert_eq!(big.status.code(), Some(2), "{}", text(&big));
    assert!(text(&big).contains("ulimit -v") && !text(&big).contains("allocation"), "{}", text(&big));
    let small = under_limit("train --store s.db --p 11 --width 16 --steps 4 --eval-every 2");
    assert_eq!(small.status.code(), Some(0), "{}", text(&small));
}

/// Regression: a replica group too big for memory was only found out by the OOM killer.
#[test]
fn sweeps_above_the_memory_budget_are_refused_before_any_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("big.toml"), "name = \"big\"\nseeds = 4\n[base]\np = 1009\nwidth = 64\nsteps = 2\n")
        .unwrap();
    let out = critlab(dir.path(), &["sweep", "run", "big.toml", "--store", "s.db", "--max-memory", "2G"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("replica group") && text(&out).contains("--max-memory 2.0 GiB"), "{}", text(&out));
}

/// Regression: `seeds = 1000000000` or a logspace of 10⁸ points allocated gigabytes (or ran for
/// minutes) in `sweep plan`; a 65,536-character name broke `runs list` for good.
#[test]
fn plan_sizes_and_names_are_capped_in_the_spec() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("name = \"s\"\nseeds = 1000000000\n", "max-runs"),
        ("name = \"s\"\n[axes]\nlr = { logspace = [-3, 1, 100000000] }\n", "max-runs"),
        ("name = \"s\"\nsampling = \"random\"\nsamples = 100000000\n[axes]\nlr = [1e-3]\n", "max-runs"),
        ("name = \"s\"\nmax-runs = 10\nseeds = 11\n", "max-runs"),
        ("name = \"s\"\nmax-runs = 0\n", "max-runs"),
    ];
    for (spec, needle) in cases {
        std::fs::write(dir.path().join("s.toml"), spec).unwrap();
        let started = std::time::Instant::now();
        let out = critlab(dir.path(), &["sweep", "plan", "s.toml"]);
        assert_eq!(out.status.code(), Some(2), "{spec}: {}", text(&out));
        assert!(text(&out).contains(needle), "{spec}: {}", text(&out));
        assert!(started.elapsed().as_secs_f64() < 10.0, "{spec}: took {:?}", started.elapsed());
    }
    std::fs::write(dir.path().join("s.toml"), "name = \"s\"\nmax-runs = 11\nseeds = 11\n[base]\np = 5\n").unwrap();
    let out = critlab(dir.path(), &["sweep", "plan", "s.toml"]);
    assert!(out.status.success(), "{}", text(&out));
    std::fs::write(dir.path().join("s.toml"), format!("name = \"{}\"\n", "n".repeat(65_536))).unwrap();
    let out = critlab(dir.path(), &["sweep", "plan", "s.toml"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`name` has 65536 characters"), "{}", &text(&out)[..300.min(text(&out).len())]);
}

#[test]
fn plan_prints_the_memory_its_largest_group_needs() {
    let dir = tempfile::tempdir().unwrap();
    let estimate = |spec: &str| {
        std::fs::write(dir.path().join("s.toml"), spec).unwrap();
        let out = critlab(dir.path(), &["sweep", "plan", "s.toml", "--json"]);
        assert!(out.status.success(), "{}", text(&out));
        let plan: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        plan["memory_largest_group"]["total"].as_f64().unwrap()
    };
    let small = estimate("name = \"s\"\nseeds = 2\n[base]\np = 5\nwidth = 8\n");
    let large = estimate("name = \"s\"\nseeds = 2\n[base]\np = 97\nwidth = 512\n");
    assert!(small > 96.0 * 1024.0 * 1024.0 && large > small + 1e6, "{small} {large}");
    let out = critlab(dir.path(), &["sweep", "plan", "s.toml"]);
    assert!(text(&out).contains("estimated peak"), "{}", text(&out));
}

const FSS: &str = "L,x,y\n8,0.1,0.2\n8,0.2,0.4\n8,0.3,0.5\n16,0.1,0.1\n16,0.2,0.45\n16,0.3,0.7\n";

/// Every subcommand with nonsense numeric values (nan, inf, negative or zero where that means
/// nothing), standard output a closed pipe: each exits 2 naming the flag, none panics, none
/// creates a file. The numeric options themselves are enumerated from the parser by the unit
/// test `every_numeric_option_refuses_non_finite_values_naming_the_flag`.
#[test]
fn every_subcommand_refuses_bad_numbers_naming_the_flag_without_panicking() {
    let dir = copy_of_tiny();
    std::fs::write(dir.path().join("g.csv"), FSS).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (&["train", "--store", "new.db", "--lr", "nan"], "--lr"),
        (&["train", "--store", "new.db", "--lr", "1e400"], "--lr"),
        (&["train", "--store", "new.db", "--weight-decay", "inf"], "--weight-decay"),
        (&["train", "--store", "new.db", "--steps=-1"], "--steps"),
        (&["train", "--store", "new.db", "--divergence-factor", "0.5"], "divergence-factor"),
        (&["bench", "step", "--replicas", "0"], "--replicas"),
        (&["demo", "--store", "new.db", "--jobs", "0"], "--jobs"),
        (&["sweep", "plan", "tiny.toml", "--max-group", "0"], "--max-group"),
        (&["sweep", "run", "tiny.toml", "--store", "new.db", "--jobs", "0"], "--jobs"),
        (&["sweep", "run", "tiny.toml", "--store", "new.db", "--max-memory", "nan"], "--max-memory"),
        (
            &[
                "sweep",
                "run",
                "tiny.toml",
                "--store",
                "new.db",
                "--backend",
                "slurm",
                "--dry-run",
                "--array-limit",
                "0",
            ],
            "--array-limit",
        ),
        (&["sweep", "worker", "tiny.toml", "--shard", "0/1", "--store", "new.db", "--max-group", "0"], "--max-group"),
        (&["sweep", "status", "tiny.toml", "--store", "s.db", "--work-dir", "w", "--json", "--bogus", "1"], "--bogus"),
        (&["merge", "--store", "s.db", "s.db"], "into itself"),
        (&["runs", "show", "nan", "--store", "s.db"], "ID"),
        (&["runs", "list", "--store", "typo.db"], "no store at"),
        (&["export", "--format", "csv", "--store", "s.db", "--run", "nan"], "--run"),
        (&["export", "--format", "parquet", "--store", "s.db", "-o", "s.db"], "same file"),
        (&["export", "--format", "parquet", "--store", "s.db", "-o", "m.csv"], "extension"),
        (&["analyze", "collapse", "--input", "g.csv", "--size", "L", "--x", "x", "--y", "y", "--nu", "nan"], "--nu"),
        (&["analyze", "collapse", "--input", "g.csv", "--size", "L", "--x", "x", "--y", "y", "--nu=-1"], "--nu"),
        (
            &["analyze", "collapse", "--input", "g.csv", "--size", "L", "--x", "x", "--y", "y", "--plot", "g.csv"],
            "--plot",
        ),
        (
            &["analyze", "collapse", "--input", "g.csv", "--size", "L", "--x", "x", "--y", "y", "--omega", "0"],
            "--omega",
        ),
        (&["analyze", "divergence", "--input", "g.csv", "--x", "x", "--y", "y", "--bootstrap=-3"], "--bootstrap"),
        (
            &["analyze", "crossing", "--input", "g.csv", "--size", "L", "--x", "x", "--y", "y", "--seed", "inf"],
            "--seed",
        ),
        (&["analyze", "exponents", "--store", "s.db", "--sweep", "tiny", "--control", "lr", "--x-c", "nan"], "--x-c"),
        (
            &[
                "analyze",
                "phases",
                "--store",
                "s.db",
                "--sweep",
                "tiny",
                "--x",
                "lr",
                "--y",
                "seed",
                "--test-threshold",
                "5",
            ],
            "--test-threshold",
        ),
        (
            &["analyze", "phases", "--store", "s.db", "--sweep", "tiny", "--x", "lr", "--y", "seed", "--smooth", "0"],
            "--smooth",
        ),
        (&["analyze", "relations", "--store", "s.db", "--sweep", "tiny", "--control", "lr", "--d", "nan"], "--d"),
        (&["analyze", "relations", "--store", "s.db", "--sweep", "tiny", "--control", "lr", "--d=-3"], "--d"),
        (&["analyze", "scaling-forms", "--input", "g.csv", "--x", "x", "--y", "y", "--folds", "0"], "--folds"),
        (&["analyze", "symmetry", "--store", "s.db", "--run", "inf"], "--run"),
        (&["analyze", "early-warning", "--store", "s.db", "--run", "1", "--window-fraction", "2"], "--window-fraction"),
        (&["analyze", "early-warning", "--store", "s.db", "--run", "1", "--window-fraction", "0"], "--window-fraction"),
        (&["analyze", "early-warning", "--store", "s.db", "--run", "1", "--window-points", "0"], "--window-points"),
        (&["analyze", "early-warning", "--store", "s.db", "--run", "1", "--bandwidth=-1"], "--bandwidth"),
        (&["analyze", "early-warning", "--store", "s.db", "--run", "1", "--tau-threshold", "5"], "--tau-threshold"),
        (&["analyze", "early-warning", "--store", "s.db", "--run", "1", "--column", "nosuch"], "--column"),
        (&["analyze", "early-warning", "--store", "s.db", "--run", "999"], "no run with id 999"),
        (&["analyze", "hypotheses", "--store", "s.db", "--sweep", "tiny", "--resamples", "0"], "--resamples"),
        (&["watch", "--store", "s.db", "--run", "1", "--interval", "nan"], "--interval"),
        (&["watch", "--store", "s.db", "--run", "1", "--interval=-1"], "--interval"),
        (&["watch", "--store", "s.db", "--run", "1", "--interval", "inf"], "--interval"),
        (&["watch", "--store", "s.db", "--run", "1", "--interval", "1e30"], "--interval"),
        (&["watch", "--store", "s.db", "--run", "1", "--interval", "0"], "--interval"),
        (
            &[
                "watch",
                "--input",
                "g.csv",
                "--column",
                "y",
                "--step-column",
                "nosuch",
                "--until-done",
                "--idle",
                "0.01",
                "--interval",
                "0.01",
            ],
            "--step-column",
        ),
    ];
    let before: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    let db = std::fs::read(dir.path().join("s.db")).unwrap();
    for (args, needle) in cases {
        let (code, stderr) = with_stdout(dir.path(), args, closed_pipe());
        let shown = format!("critlab {}", args.join(" "));
        assert_eq!(code, Some(2), "{shown}: {stderr}");
        assert!(stderr.contains(needle), "{shown}: {stderr}");
        assert!(!stderr.contains("panicked"), "{shown}: {stderr}");
    }
    let mut after: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    // SQLite's transient companions of a store being read are not new files of ours.
    after.retain(|n| !n.to_string_lossy().starts_with("s.db-"));
    assert_eq!(after.len(), before.len(), "files created: {after:?} (before: {before:?})");
    assert_eq!(std::fs::read(dir.path().join("s.db")).unwrap(), db, "the store changed");
    assert_eq!(std::fs::read_to_string(dir.path().join("g.csv")).unwrap(), FSS);
}

const LONG: &str = "name = \"long\"\nseeds = 4\n[base]\np = 11\nwidth = 32\nsteps = 20000\neval-every = 100\n";

/// Starts `sweep run` on LONG and returns once a run is `running` with metrics committed.
/// LONG must last several of the writer's 500 ms commit intervals on a quiet machine (4000 steps
/// took 0.5 s and finished before a `running` row with metrics was ever committed).
fn sweep_in_flight(dir: &Path) -> std::process::Child {
    std::fs::write(dir.join("long.toml"), LONG).unwrap();
    let child = Command::new(BIN)
        .current_dir(dir)
        .args(["sweep", "run", "long.toml", "--store", "s.db", "--max-group", "2", "--jobs", "1"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = std::time::Instant::now();
    loop {
        assert!(start.elapsed().as_secs() < 60, "the sweep made no progress");
        if let Ok(store) = critlab_store::Store::open_read_only(dir.join("s.db")) {
            if let Ok(runs) = store.runs(Some("long")) {
                if runs
                    .iter()
                    .any(|r| r.status == critlab_core::RunStatus::Running && r.last_step.is_some_and(|s| s >= 200))
                {
                    return child;
                }
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

fn signal(child: &std::process::Child, sig: &str) {
    assert!(Command::new("kill").args([sig, &child.id().to_string()]).status().unwrap().success());
}

/// Regression: after SIGKILL (or OOM, or a full disk) runs stayed `running` forever:
/// `sweep status` counted them running, `watch --until-done` never returned, nothing could
/// clean them up. Now they show as `stale`, `runs reap` marks them failed with the reason,
/// and the sweep resumes.
#[test]
fn a_sigkilled_sweep_leaves_stale_runs_that_are_reaped_and_retrained() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = sweep_in_flight(dir.path());
    signal(&child, "-KILL");
    child.wait().unwrap();
    let list = critlab(dir.path(), &["runs", "list", "--store", "s.db", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let stale: Vec<i64> =
        runs.as_array().unwrap().iter().filter(|r| r["stale"] == true).map(|r| r["id"].as_i64().unwrap()).collect();
    assert!(!stale.is_empty(), "{runs}");
    let table = text(&critlab(dir.path(), &["runs", "list", "--store", "s.db"]));
    assert!(table.contains("stale"), "{table}");
    let status = text(&critlab(dir.path(), &["sweep", "status", "long.toml", "--store", "s.db"]));
    assert!(status.contains(&format!("0 running, {} stale", stale.len())), "{status}");
    // watch --until-done ends on a stale run instead of waiting forever.
    let started = std::time::Instant::now();
    let watch = critlab(
        dir.path(),
        &["watch", "--store", "s.db", "--run", &stale[0].to_string(), "--until-done", "--interval", "0.05"],
    );
    assert!(watch.status.success() && started.elapsed().as_secs() < 20, "{}", text(&watch));
    assert!(text(&watch).contains("stale"), "{}", text(&watch));
    let reap = critlab(dir.path(), &["runs", "reap", "--store", "s.db"]);
    assert!(
        reap.status.success() && text(&reap).contains(&format!("{} stale run(s) marked failed", stale.len())),
        "{}",
        text(&reap)
    );
    let show = text(&critlab(dir.path(), &["runs", "show", &stale[0].to_string(), "--store", "s.db"]));
    assert!(show.contains("status failed") && show.contains("stale: its process"), "{show}");
    let resumed =
        critlab(dir.path(), &["sweep", "run", "long.toml", "--store", "s.db", "--max-group", "2", "--jobs", "1"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
    let status = text(&critlab(dir.path(), &["sweep", "status", "long.toml", "--store", "s.db"]));
    assert!(status.contains("4 runs: 4 done"), "{status}");
}

/// Regression: SIGTERM (`kill`, Slurm's `scancel`) killed a sweep outright (exit 143) and left
/// its runs `running`; now it stops like Ctrl-C: runs in flight end `failed`
/// ("interrupted"), everything measured is committed, and the sweep resumes.
#[test]
fn sigterm_stops_a_sweep_like_ctrl_c() {
    let dir = tempfile::tempdir().unwrap();
    let child = sweep_in_flight(dir.path());
    signal(&child, "-TERM");
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("interrupted"), "{}", text(&out));
    let store = critlab_store::Store::open_read_only(dir.path().join("s.db")).unwrap();
    let runs = store.runs(Some("long")).unwrap();
    assert!(runs.iter().all(|r| r.status != critlab_core::RunStatus::Running), "{runs:?}");
    assert!(runs.iter().any(|r| r.reason.as_deref().is_some_and(|w| w.contains("interrupted"))));
    let resumed =
        critlab(dir.path(), &["sweep", "run", "long.toml", "--store", "s.db", "--max-group", "2", "--jobs", "1"]);
    assert!(resumed.status.success(), "{}", text(&resumed));
}

/// Regression: changing `steps` in a spec and rerunning kept the old runs under the same
/// name, so `sweep status` showed only the new ones pending and analyses mixed budgets.
#[test]
fn a_changed_spec_under_the_same_sweep_name_is_refused_with_the_difference() {
    let dir = copy_of_tiny();
    std::fs::write(dir.path().join("tiny.toml"), TINY.replace("steps = 20", "steps = 40")).unwrap();
    let out = critlab(dir.path(), &["sweep", "run", "tiny.toml", "--store", "s.db"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("`steps` = 20 there, 40 in tiny.toml"), "{}", text(&out));
    let status = critlab(dir.path(), &["sweep", "status", "tiny.toml", "--store", "s.db"]);
    assert!(text(&status).contains("different spec"), "{}", text(&status));
    // More seeds (an axis) extend the sweep.
    std::fs::write(dir.path().join("tiny.toml"), TINY.replace("seeds = 2", "seeds = 3")).unwrap();
    let out = critlab(dir.path(), &["sweep", "run", "tiny.toml", "--store", "s.db"]);
    assert!(out.status.success(), "{}", text(&out));
}

/// Regression: SGD at `--lr 1e6` on a ReLU MLP ended `done` with test loss 5.4e5 and weight
/// norm 6.7e14. The loss-explosion rule marks it `diverged` with the reason.
#[test]
fn an_exploding_loss_is_diverged_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let args = [
        "train",
        "--store",
        "s.db",
        "--json",
        "--p",
        "23",
        "--width",
        "64",
        "--optimizer",
        "sgd",
        "--lr",
        "1e6",
        "--steps",
        "200",
        "--eval-every",
        "20",
    ];
    let out = critlab(dir.path(), &args);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["status"], "diverged", "{v}");
    let reason = v["reason"].as_str().unwrap();
    assert!(reason.contains("loss explosion") && reason.contains("divergence-factor"), "{reason}");
    // The factor is configurable; 0 turns the factor rule off.
    let mut off = args.to_vec();
    off.extend(["--divergence-factor", "0"]);
    let v: serde_json::Value = serde_json::from_slice(&critlab(dir.path(), &off).stdout).unwrap();
    assert!(v["reason"].as_str().is_none_or(|r| !r.contains("loss explosion")), "{v}");
}

/// Regression: `analyze collapse` on a constant observable and `analyze crossing` on curves
/// identical for every size reported their starting guesses (x_c = 4.5, ν = 1, S = 0) as results.
#[test]
fn degenerate_finite_size_data_is_refused_not_fitted() {
    let dir = tempfile::tempdir().unwrap();
    let constant = "L,x,y\n8,1,0.5\n8,2,0.5\n8,3,0.5\n8,4,0.5\n16,1,0.5\n16,2,0.5\n16,3,0.5\n16,4,0.5\n";
    let identical = "L,x,y\n8,1,0.1\n8,2,0.3\n8,3,0.6\n8,4,0.9\n16,1,0.1\n16,2,0.3\n16,3,0.6\n16,4,0.9\n";
    std::fs::write(dir.path().join("c.csv"), constant).unwrap();
    std::fs::write(dir.path().join("i.csv"), identical).unwrap();
    let fss = |cmd: &str, file: &str| {
        critlab(dir.path(), &["analyze", cmd, "--input", file, "--size", "L", "--x", "x", "--y", "y"])
    };
    for (cmd, file, needle) in
        [("collapse", "c.csv", "constant"), ("crossing", "c.csv", "constant"), ("crossing", "i.csv", "identical")]
    {
        let out = fss(cmd, file);
        assert_eq!(out.status.code(), Some(2), "{cmd} {file}: {}", text(&out));
        assert!(text(&out).contains(needle), "{cmd} {file}: {}", text(&out));
    }
}

/// Regression: `runs list|show`, `export`, the analyses and `sweep status` opened the store
/// for writing (migrating it, switching modes); now they leave it byte-identical.
#[test]
fn read_only_commands_leave_the_store_byte_identical() {
    let dir = copy_of_tiny();
    let db = std::fs::read(dir.path().join("s.db")).unwrap();
    for args in [
        &["runs", "list", "--store", "s.db"][..],
        &["runs", "show", "2", "--store", "s.db", "--json"],
        &["export", "--format", "jsonl", "--store", "s.db"],
        &["analyze", "symmetry", "--store", "s.db", "--run", "1"],
        &["sweep", "status", "tiny.toml", "--store", "s.db"],
    ] {
        let out = critlab(dir.path(), args);
        assert!(out.status.success(), "{args:?}: {}", text(&out));
        assert_eq!(std::fs::read(dir.path().join("s.db")).unwrap(), db, "{args:?} changed the store");
    }
}

/// Regression: a backend failing mid-run (burn panics: a GPU lost, a kernel its adapter cannot
/// compile) crashed `critlab train` with a panic, leaving the run `running`. Now the run ends
/// `failed` with the step and the backend's message, keeps every metric measured before, and
/// the command exits 1 like any failed run; in a sweep the group's runs fail and the rest go
/// on. The failure is injected with `CRITLAB_FAULT_AT_STEP`, a panic at the top of that step.
#[test]
fn a_backend_failure_mid_run_is_a_failed_run_with_its_metrics_kept() {
    let dir = tempfile::tempdir().unwrap();
    let args =
        ["train", "--store", "s.db", "--p", "5", "--width", "8", "--steps", "100", "--eval-every", "10", "--json"];
    let out = Command::new(BIN).current_dir(dir.path()).args(args).env("CRITLAB_FAULT_AT_STEP", "35").output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let summary: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
    assert_eq!(summary["status"], "failed", "{summary}");
    assert_eq!(summary["steps"], 35, "{summary}");
    let reason = summary["reason"].as_str().unwrap();
    assert!(reason.contains("training failed at step 35") && reason.contains("fault injected"), "{reason}");
    let store = critlab_store::Store::open_read_only(dir.path().join("s.db")).unwrap();
    let run = store.run(summary["run_id"].as_i64().unwrap()).unwrap();
    assert_eq!((run.status, run.reason.as_deref()), (critlab_core::RunStatus::Failed, Some(reason)), "{run:?}");
    let steps: Vec<i64> = store.series(run.id, "test_acc").unwrap().into_iter().map(|(t, _)| t).collect();
    assert_eq!(steps, [0, 10, 20, 30], "the metrics measured before the failure are kept");
    let check: String = store.connection().query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(check, "ok");

    // A sweep: every group fails the same way, and the sweep reports failures (exit 1).
    std::fs::write(dir.path().join("tiny.toml"), TINY).unwrap();
    let sweep = Command::new(BIN)
        .current_dir(dir.path())
        .args(["sweep", "run", "tiny.toml", "--store", "s.db", "--jobs", "1"])
        .env("CRITLAB_FAULT_AT_STEP", "15")
        .output()
        .unwrap();
    assert_eq!(sweep.status.code(), Some(1), "{}", text(&sweep));
    let runs = store.runs(Some("tiny")).unwrap();
    assert_eq!(runs.len(), 2, "{runs:?}");
    for r in &runs {
        assert_eq!(r.status, critlab_core::RunStatus::Failed, "{r:?}");
        assert!(r.reason.as_deref().is_some_and(|w| w.contains("training failed at step 15")), "{r:?}");
        assert_eq!(store.series(r.id, "test_acc").unwrap().len(), 2, "steps 0 and 10 kept: {r:?}");
    }
}

/// The bytes of every file in `dir` (names and contents), to show a command changed nothing.
fn snapshot(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_file() && !p.to_string_lossy().ends_with("-shm") && !p.to_string_lossy().ends_with("-wal"))
        .map(|p| (p.file_name().unwrap().to_string_lossy().into_owned(), std::fs::read(&p).unwrap()))
        .collect();
    files.sort();
    files
}

/// Issue 26, item 1: `report -o s.db` (also through a symlink), `--export-init s.db`,
/// `--export-init` onto the config, `report -o existing.csv` and `merge` of an empty lock file
/// overwrote the store or the user's files. Each is refused (exit 2) and every file is
/// byte-identical afterwards; `--force` replaces a file of another kind, never the store.
#[test]
fn no_command_overwrites_the_store_the_config_or_a_file_of_another_kind() {
    let dir = copy_of_tiny();
    let d = dir.path();
    std::os::unix::fs::symlink(d.join("s.db"), d.join("link.db")).unwrap();
    std::fs::write(d.join("c.toml"), "p = 5\nwidth = 8\n").unwrap();
    std::fs::write(d.join("existing.csv"), "a,b\n1,2\n").unwrap();
    std::fs::write(d.join("k.toml"), "x = 1\n").unwrap();
    std::fs::write(d.join("x.db.lock"), "").unwrap();
    let before = snapshot(d);
    let train = ["train", "--store", "s.db", "--steps", "5", "--eval-every", "5", "--p", "5", "--width", "8"];
    let cases: Vec<(Vec<&str>, &str)> = vec![
        (vec!["report", "--store", "s.db", "-o", "s.db"], "same file as the store"),
        (vec!["report", "--store", "s.db", "-o", "link.db"], "same file as the store"),
        (vec!["report", "--store", "s.db", "-o", "s.db", "--force"], "same file as the store"),
        (vec!["report", "--store", "s.db", "-o", "existing.csv"], "extension of a CSV file"),
        (vec!["report", "--store", "s.db", "-o", "k.toml"], "extension of a TOML file"),
        (vec!["export", "--store", "s.db", "--format", "csv", "-o", "link.db"], "same file as the store"),
        (vec!["export", "--store", "s.db", "--format", "parquet", "-o", "existing.csv"], "extension of a CSV file"),
        ([&train[..], &["--export-init", "s.db"]].concat(), "same file as the store"),
        ([&train[..], &["--export-init", "link.db", "--force"]].concat(), "same file as the store"),
        (
            vec!["train", "--store", "s.db", "--config", "c.toml", "--steps", "5", "--export-init", "c.toml"],
            "same file as the config",
        ),
        (vec!["merge", "--store", "m.db", "x.db.lock"], "empty file, not a store"),
    ];
    for (args, want) in &cases {
        let out = critlab(d, args);
        assert_eq!(out.status.code(), Some(2), "critlab {}: {}", args.join(" "), text(&out));
        assert!(text(&out).contains(want), "critlab {}: {}", args.join(" "), text(&out));
        let now: Vec<_> = snapshot(d).into_iter().filter(|f| f.0 != "m.db" && !f.0.starts_with("m.db")).collect();
        assert!(now == before, "critlab {} changed a file", args.join(" "));
    }
    // --force replaces a file of another kind (not the store), atomically.
    let out = critlab(d, &["report", "--store", "s.db", "-o", "existing.csv", "--force"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read_to_string(d.join("existing.csv")).unwrap().contains("<html"));
    assert_eq!(std::fs::read(d.join("s.db")).unwrap(), before.iter().find(|f| f.0 == "s.db").unwrap().1);
}

/// Issue 26, item 5: on a full disk `export -o` and `report -o` left partial files. Writes go
/// to a temporary file renamed on success: the old file stays, and no debris is left.
#[test]
fn a_write_that_fails_leaves_the_old_output_and_no_debris() {
    let dir = copy_of_tiny();
    let d = dir.path();
    // A directory the process cannot create files in stands for a full disk (root ignores
    // permissions, so the output goes through a path whose parent is a file).
    std::fs::write(d.join("plain"), "x").unwrap();
    for args in [
        &["export", "--store", "s.db", "--format", "csv", "-o", "plain/out.csv"][..],
        &["report", "--store", "s.db", "-o", "plain/out.html"],
    ] {
        let out = critlab(d, args);
        assert_eq!(out.status.code(), Some(2), "critlab {}: {}", args.join(" "), text(&out));
    }
    std::fs::write(d.join("old.csv"), "old\n").unwrap();
    let out = critlab(d, &["export", "--store", "s.db", "--format", "csv", "-o", "old.csv"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(std::fs::read_to_string(d.join("old.csv")).unwrap().starts_with("run_id,step"));
    let debris: Vec<_> = snapshot(d).into_iter().filter(|f| f.0.contains("critlab-tmp")).collect();
    assert!(debris.is_empty(), "temporary files left: {:?}", debris.iter().map(|f| &f.0).collect::<Vec<_>>());
}

/// Issue 26, item 3: a second `sweep run` through a symlink or a hard link to a store in use
/// restarted the first sweep's live runs. The lock belongs to the file.
#[test]
fn a_second_sweep_through_a_link_to_a_store_in_use_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let mut first = sweep_in_flight(d);
    std::os::unix::fs::symlink(d.join("s.db"), d.join("sym.db")).unwrap();
    std::fs::hard_link(d.join("s.db"), d.join("hard.db")).unwrap();
    for other in ["sym.db", "hard.db"] {
        let out = critlab(d, &["sweep", "run", "long.toml", "--store", other, "--jobs", "1"]);
        assert_eq!(out.status.code(), Some(2), "{other}: {}", text(&out));
        assert!(text(&out).contains("lock"), "{other}: {}", text(&out));
    }
    first.kill().unwrap();
    first.wait().unwrap();
    let out = critlab(d, &["runs", "list", "--store", "s.db"]);
    assert!(out.status.success(), "the store is intact: {}", text(&out));
}

/// Issue 26, item 4: a plan of 10^12 runs aborted at 3.9 GB under `ulimit -v`, and
/// `train --steps 1000000000000 --eval-every 10` grew the store without bound. Both are
/// refused from the estimate, exit 2, before anything is allocated or stored.
#[test]
fn plans_and_runs_too_big_to_hold_or_store_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(
        d.join("huge.toml"),
        "name = \"huge\"\nseeds = 1000\nmax-runs = 1000000000000\n[base]\np = 5\n[axes]\nlr = { logspace = [1e-4, 1e-2, 1000] }\nweight-decay = { linspace = [0.0, 1.0, 1000] }\n",
    )
    .unwrap();
    for args in [&["sweep", "plan", "huge.toml"][..], &["sweep", "run", "huge.toml", "--store", "s.db"]] {
        let out = Command::new("bash")
            .current_dir(d)
            .arg("-c")
            .arg(format!("ulimit -v 4000000; exec {BIN} {}", args.join(" ")))
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "critlab {}: {}", args.join(" "), text(&out));
        assert!(text(&out).contains("memory budget"), "{}", text(&out));
    }
    let out = critlab(d, &["train", "--store", "s.db", "--steps", "1000000000000", "--eval-every", "10"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("of metrics") && text(&out).contains("free"), "{}", text(&out));
    assert!(!d.join("s.db").exists(), "nothing was stored");
}

/// Issue 26, item 6: ingest changed data without saying so. Each case is refused, exit 2,
/// naming the file and line (or byte offset), and the store is not created; with
/// `--skip-bad-rows` the bad rows are skipped and counted.
#[test]
fn ingest_refuses_what_it_cannot_read_faithfully() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let cases: &[(&str, &[u8], &str)] = &[
        ("two_runs.csv", b"step,test_acc\n0,0.1\n10,0.2\n0,0.3\n10,0.4\n", "line 4: step 0 appears again"),
        (
            "abc.csv",
            b"step,test_acc\n0,0.1\n10,abc\n20,0.3\n30,0.4\n",
            "line 3: `abc` in the numeric column `test_acc`",
        ),
        ("big_step.csv", b"step,loss\n0,1\n99999999999999999999999,2\n", "line 3: step"),
        ("quote.csv", b"step,loss\n0,1\n1,\"2\n2,3\n", "line 3: a quoted field"),
        ("nul.csv", b"step,loss\n0,1\x00\n", "byte offset 13"),
    ];
    for (name, bytes, want) in cases {
        std::fs::write(d.join(name), bytes).unwrap();
        let out = critlab(d, &["ingest", "csv", name, "--store", "s.db"]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out));
        assert!(text(&out).contains(name) && text(&out).contains(want), "{name}: {}", text(&out));
        assert!(!d.join("s.db").exists(), "{name}: no store is left behind");
    }
    let out = critlab(d, &["ingest", "csv", "/dev/zero", "--store", "s.db"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("not a regular file"), "{}", text(&out));
    let out = critlab(d, &["ingest", "csv", "abc.csv", "--store", "s.db", "--skip-bad-rows"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("1 bad row(s) skipped"), "{}", text(&out));
    let out = critlab(d, &["ingest", "csv", "two_runs.csv", "--store", "s.db", "--skip-bad-rows"]);
    assert!(text(&out).contains("2 bad row(s) skipped"), "{}", text(&out));
}

/// Issue 26, item 7: `2>/dev/full` panicked (exit 101); `--beta2 -0.1` and `--max-memory -5G`
/// were parsed as flags; a range error in a config file did not name the file; a directory
/// as `--store` gave "disk I/O error"; `runs list --json` said "running" where the table
/// said "stale".
#[test]
fn small_hostile_inputs_get_clear_errors() {
    let dir = copy_of_tiny();
    let d = dir.path();
    let out = Command::new(BIN)
        .current_dir(d)
        .args(["runs", "list", "--store", "missing.db"])
        .stderr(dev_full())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "an unwritable stderr is not a panic");
    let out = critlab(d, &["train", "--store", "t.db", "--beta2", "-0.1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("beta2") && text(&out).contains("[0, 1)"), "{}", text(&out));
    let out = critlab(d, &["train", "--store", "t.db", "--max-memory", "-5G"]);
    assert!(text(&out).contains("positive"), "{}", text(&out));
    std::fs::write(d.join("bad.toml"), "train-frac = 1.5\n").unwrap();
    let out = critlab(d, &["train", "--store", "t.db", "--config", "bad.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("bad.toml") && text(&out).contains("train-frac"), "{}", text(&out));
    std::fs::create_dir(d.join("dir.db")).unwrap();
    let out = critlab(d, &["runs", "list", "--store", "dir.db"]);
    assert!(text(&out).contains("is a directory"), "{}", text(&out));
    // A run whose process is gone: the table and the JSON say the same word.
    let stale = killed_train(d);
    let out = critlab(d, &["runs", "list", "--store", "s.db", "--json"]);
    let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let run = runs.as_array().unwrap().iter().find(|r| r["id"] == stale).unwrap();
    assert_eq!(run["status"], "stale", "{run}");
}

/// Leaves a `running` run whose process is gone in the store at `dir/s.db` (a SIGKILLed
/// train); returns its id.
fn killed_train(dir: &Path) -> i64 {
    let mut child = Command::new(BIN)
        .current_dir(dir)
        .args([
            "train",
            "--store",
            "s.db",
            "--p",
            "5",
            "--width",
            "8",
            "--steps",
            "100000000",
            "--eval-every",
            "100000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let out = critlab(dir, &["runs", "list", "--store", "s.db", "--json"]);
        let runs: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if let Some(r) = runs.as_array().and_then(|a| a.iter().find(|r| r["status"] == "running")) {
            let id = r["id"].as_i64().unwrap();
            child.kill().unwrap();
            child.wait().unwrap();
            return id;
        }
        assert!(std::time::Instant::now() < deadline, "the run never started");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
}
