//! `critlab study list | run` end to end through the binary: the linear-estimator study at its
//! tiny scale, SIGKILLed mid-study and rerun, writes the same results.json as an uninterrupted
//! run.
use critlab_store::Store;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

const RUN: &[&str] = &["study", "run", "linear-estimator", "--tiny", "--jobs", "1"];

#[test]
fn study_list_names_the_studies_and_an_unknown_one_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = critlab(dir.path(), &["study", "list"]);
    assert!(out.status.success() && text(&out).contains("linear-estimator"), "{}", text(&out));
    let out = critlab(dir.path(), &["study", "run", "nope"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("no study named `nope`") && text(&out).contains("linear-estimator"), "{}", text(&out));
}

#[test]
fn a_sigkilled_study_resumes_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    // Uninterrupted reference.
    let reference = critlab(dir.path(), &[RUN, &["--out", "ref", "--store", "ref.db"]].concat());
    assert!(reference.status.success(), "{}", text(&reference));
    let expected = std::fs::read_to_string(dir.path().join("ref/results.json")).unwrap();

    // Killed once the first sweep is finished, then rerun.
    let child = Command::new(env!("CARGO_BIN_EXE_critlab"))
        .current_dir(dir.path())
        .args([RUN, &["--out", "killed", "--store", "k.db"]].concat())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let start = Instant::now();
    loop {
        assert!(start.elapsed() < Duration::from_secs(60), "the study made no progress");
        let finished = Store::open(dir.path().join("k.db"))
            .and_then(|s| s.finished_runs("linear-estimator-tiny-r0.30"))
            .map(|f| f.len())
            .unwrap_or(0);
        if finished >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap().success());
    let killed = child.wait_with_output().unwrap();
    assert_eq!(killed.status.code(), None, "the study ended before the kill: {}", text(&killed));
    assert!(!dir.path().join("killed/results.json").exists());
    let resumed = critlab(dir.path(), &[RUN, &["--out", "killed", "--store", "k.db"]].concat());
    assert!(resumed.status.success(), "{}", text(&resumed));
    // The runs finished before the kill are not trained again.
    assert!(!text(&resumed).contains(": 20 runs trained"), "{}", text(&resumed));
    assert_eq!(std::fs::read_to_string(dir.path().join("killed/results.json")).unwrap(), expected);
    for f in ["README.md", "delay.svg", "delay.png", "sweeps/linear-estimator-tiny-r0.80.toml"] {
        assert!(dir.path().join("killed").join(f).is_file(), "{f} missing");
    }
}
