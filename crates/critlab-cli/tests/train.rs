//! `critlab train`, `runs` and `export` end to end, through the real binary and a real SQLite
//! store.
use std::path::Path;
use std::process::{Command, Output};

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "critlab failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

const SMALL: &[&str] = &["--p", "11", "--width", "32", "--steps", "60", "--eval-every", "20", "--weight-decay", "0.5"];

fn train(dir: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["train", "--store", "s.db", "--json"];
    args.extend_from_slice(SMALL);
    args.extend_from_slice(extra);
    critlab(dir, &args)
}

#[test]
fn same_spec_and_seed_give_identical_stored_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let a = json(&train(dir.path(), &["--seed", "3"]));
    let b = json(&train(dir.path(), &["--seed", "3"]));
    let c = json(&train(dir.path(), &["--seed", "4"]));
    assert_eq!(a["spec_hash"], b["spec_hash"]);
    assert_ne!(a["spec_hash"], c["spec_hash"]);
    let export = |run: &serde_json::Value| {
        let out =
            critlab(dir.path(), &["export", "--store", "s.db", "--format", "csv", "--run", &run["run_id"].to_string()]);
        assert!(out.status.success());
        // Drop the run id column: everything else must agree bit for bit.
        String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .map(|l| l.split_once(',').unwrap().1.to_string())
            .collect::<Vec<_>>()
    };
    let (ea, eb, ec) = (export(&a), export(&b), export(&c));
    assert!(ea.len() > 3, "{ea:?}");
    assert_eq!(ea, eb);
    assert_ne!(ea, ec);
    // Every documented observable is stored.
    let header = &ea[0];
    for name in critlab_train::probes::PROBE_NAMES {
        assert!(header.split(',').any(|c| c == *name), "{name} missing from {header}");
    }
}

#[test]
fn a_huge_learning_rate_diverges_and_keeps_what_came_before() {
    let dir = tempfile::tempdir().unwrap();
    let out = critlab(
        dir.path(),
        &[
            "train",
            "--store",
            "s.db",
            "--json",
            "--p",
            "11",
            "--width",
            "32",
            "--steps",
            "60",
            "--eval-every",
            "1",
            "--lr",
            "1e30",
        ],
    );
    let summary = json(&out);
    assert_eq!(summary["status"], "diverged");
    let reason = summary["reason"].as_str().unwrap();
    assert!(reason.contains("train_loss"), "{reason}");
    let run = summary["run_id"].to_string();
    let show = json(&critlab(dir.path(), &["runs", "show", &run, "--store", "s.db", "--json"]));
    assert_eq!(show["status"], "diverged");
    // Measurements of the steps before the divergence are stored.
    assert!(show["last_metrics"]["train_loss"]["points"].as_u64().unwrap() >= 1, "{show}");
}

#[test]
fn a_bad_config_key_is_named_and_exits_2_without_touching_the_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.toml"), "p = 11\nwieght-decay = 1.0\n").unwrap();
    let out = critlab(dir.path(), &["train", "--store", "s.db", "--config", "run.toml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("wieght-decay") && err.contains("line 2") && err.contains("run.toml"), "{err}");
    assert!(!dir.path().join("s.db").exists());

    let out = critlab(dir.path(), &["train", "--store", "s.db", "--lr=-1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`lr`"));

    let out = critlab(dir.path(), &["train", "--store", "s.db", "--p", "11", "--batch-size", "100000"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("`batch-size`"));
}

#[test]
fn a_corrupt_store_is_refused_with_its_name_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("s.db"), vec![7u8; 4096]).unwrap();
    let out = train(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("s.db"));
    assert_eq!(std::fs::read(dir.path().join("s.db")).unwrap(), vec![7u8; 4096]);
}

#[test]
fn config_file_and_flags_combine_and_runs_list_shows_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("run.toml"), "p = 11\nwidth = 32\nsteps = 20\neval-every = 10\nlr = 0.002\n")
        .unwrap();
    let s =
        json(&critlab(dir.path(), &["train", "--store", "s.db", "--config", "run.toml", "--lr", "0.003", "--json"]));
    let show = json(&critlab(dir.path(), &["runs", "show", &s["run_id"].to_string(), "--store", "s.db", "--json"]));
    assert_eq!(show["spec"]["p"], 11);
    assert_eq!(show["spec"]["lr"], 0.003);
    let list = critlab(dir.path(), &["runs", "list", "--store", "s.db"]);
    let text = String::from_utf8(list.stdout).unwrap();
    assert!(text.contains("modular-addition") && text.contains("done"), "{text}");
    let listed = json(&critlab(dir.path(), &["runs", "list", "--store", "s.db", "--json"]));
    assert_eq!(listed.as_array().unwrap().len(), 1);
}

#[test]
fn exports_in_every_format() {
    let dir = tempfile::tempdir().unwrap();
    json(&train(dir.path(), &[]));
    let jsonl = critlab(dir.path(), &["export", "--store", "s.db", "--format", "jsonl"]);
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8(jsonl.stdout).unwrap().lines().next().unwrap()).unwrap();
    assert_eq!(first["step"], 0);
    assert!(first["train_loss"].as_f64().unwrap() > 0.0);
    let out = critlab(dir.path(), &["export", "--store", "s.db", "--format", "parquet", "-o", "m.parquet"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(std::fs::read(dir.path().join("m.parquet")).unwrap().starts_with(b"PAR1"));
    let out = critlab(dir.path(), &["export", "--store", "s.db", "--format", "parquet"]);
    assert_eq!(out.status.code(), Some(2));
}

/// `--device cuda` (and `wgpu`, in a build without it) is refused before anything is trained or
/// stored, with exit status 2, the flag named and no panic: without the backend's feature the
/// message says how to build a binary that has it; with the `cuda` feature it names what is
/// missing on this machine, the driver or the GPU (`cuda:99` is missing even on a GPU machine).
#[test]
fn a_gpu_device_is_refused_clearly_where_it_cannot_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("one.toml"), "name = \"one\"\n[base]\np = 7\nsteps = 2\n").unwrap();
    // (as given, as the error names it, what the error says: one of these lists of phrases)
    type Says = &'static [&'static [&'static str]];
    let mut devices: Vec<(&str, &str, Says)> = Vec::new();
    if cfg!(feature = "cuda") {
        devices.push(("cuda:99", "cuda:99", &[&["no NVIDIA driver"], &["GPU(s), so there is no `cuda:99`"]]));
    } else {
        for (device, shown) in [("cuda", "cuda:0"), ("cuda:1", "cuda:1")] {
            devices.push((device, shown, &[&["built without the `cuda` feature", "--features cuda"]]));
        }
    }
    if !cfg!(feature = "wgpu") {
        devices.push(("wgpu", "wgpu", &[&["built without the `wgpu` feature", "--features wgpu"]]));
    }
    for &(device, shown, expected) in &devices {
        let attempts: [Vec<&str>; 4] = [
            vec!["train", "--store", "s.db", "--p", "7", "--steps", "2", "--device", device],
            vec!["bench", "step", "--p", "7", "--steps", "8", "--device", device],
            vec!["sweep", "run", "one.toml", "--store", "s.db", "--device", device],
            vec!["demo", "--store", "s.db", "--out", "figs", "--device", device],
        ];
        for args in attempts {
            let out = critlab(dir.path(), &args);
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            assert!(err.contains(&format!("error: --device {shown}\n")), "{args:?}: {err}");
            assert!(!err.contains("panicked"), "{args:?}: {err}");
            assert!(expected.iter().any(|phrases| phrases.iter().all(|p| err.contains(p))), "{args:?}: {err}");
            assert!(!dir.path().join("s.db").exists(), "{args:?}: the store was touched");
        }
    }
    // A name that is no device is refused by the parser, naming the accepted forms.
    let out = critlab(dir.path(), &["train", "--store", "s.db", "--device", "gpu"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--device") && err.contains("use cpu, cuda or cuda:N"), "{err}");
    // The default device stores its backend with the run.
    let s = json(&critlab(
        dir.path(),
        &["train", "--store", "s.db", "--p", "7", "--steps", "2", "--json", "--device", "cpu"],
    ));
    let show = critlab(dir.path(), &["runs", "show", &s["run_id"].to_string(), "--store", "s.db"]);
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("backend burn-flex"),
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );
}

/// The `wgpu` build (scripts/test-wgpu.sh, which installs Mesa's software Vulkan driver where
/// there is no GPU): `--device wgpu` trains the run the CPU backend trains. burn's wgpu backend
/// and the CPU's hand-written MLP step are independent implementations of the same maths, so
/// the training and test losses at every eval step agree to f32 rounding (relative 1e-5; 3e-7
/// measured on lavapipe), the stored backend is `burn-wgpu`, and a sweep runs there too. Where
/// no adapter can be opened the device is refused clearly (exit 2, no panic, no store), which is
/// also checked by hiding the Vulkan drivers; without an adapter at all the test passes on that
/// refusal alone, unless CRITLAB_REQUIRE_WGPU=1 says the machine must have one.
#[cfg(feature = "wgpu")]
#[test]
fn wgpu_trains_the_cpu_backends_run() {
    let dir = tempfile::tempdir().unwrap();
    let extra = ["--optimizer", "adamw", "--lr", "3e-3", "--seed", "5"];
    let cpu = json(&train(dir.path(), &[&extra[..], &["--device", "cpu"]].concat()));
    let out = train(dir.path(), &[&extra[..], &["--device", "wgpu"]].concat());
    if !out.status.success() && std::env::var_os("CRITLAB_REQUIRE_WGPU").is_none() {
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains("error: --device wgpu\n") && !err.contains("panicked"), "{err}");
        eprintln!("skipped: no wgpu adapter here ({err}); scripts/test-wgpu.sh installs a software one");
        return;
    }
    let gpu = json(&out);
    assert_eq!(cpu["spec_hash"], gpu["spec_hash"], "the device is not part of the run's settings");
    let show = critlab(dir.path(), &["runs", "show", &gpu["run_id"].to_string(), "--store", "s.db"]);
    assert!(
        String::from_utf8_lossy(&show.stdout).contains("backend burn-wgpu"),
        "{}",
        String::from_utf8_lossy(&show.stdout)
    );
    // (step, train_loss, test_loss) per eval step of a run, from its CSV export.
    let losses = |run: &serde_json::Value| -> Vec<(String, f64, f64)> {
        let out =
            critlab(dir.path(), &["export", "--store", "s.db", "--format", "csv", "--run", &run["run_id"].to_string()]);
        let text = String::from_utf8(out.stdout).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
        let col = |name: &str| header.iter().position(|h| *h == name).unwrap_or_else(|| panic!("no {name} column"));
        let (step, train, test) = (col("step"), col("train_loss"), col("test_loss"));
        lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (f[step].to_string(), f[train].parse().unwrap(), f[test].parse().unwrap())
            })
            .collect()
    };
    let (a, b) = (losses(&cpu), losses(&gpu));
    assert_eq!(a.len(), 4, "{a:?}");
    assert_eq!(a.iter().map(|r| &r.0).collect::<Vec<_>>(), b.iter().map(|r| &r.0).collect::<Vec<_>>());
    for ((step, train_cpu, test_cpu), (_, train_gpu, test_gpu)) in a.iter().zip(&b) {
        for (what, x, y) in [("train_loss", train_cpu, train_gpu), ("test_loss", test_cpu, test_gpu)] {
            assert!((x - y).abs() <= 1e-5 * x.abs(), "step {step}: {what} {x} on the CPU, {y} on wgpu");
        }
    }
    assert!(a[3].1 < 0.9 * a[0].1, "the run trains: {a:?}");
    // The sweep executor on the same device: a replica group of two seeds.
    std::fs::write(
        dir.path().join("two.toml"),
        "name = \"two\"\nseeds = 2\n[base]\np = 7\nsteps = 20\neval-every = 10\n",
    )
    .unwrap();
    let out = critlab(dir.path(), &["sweep", "run", "two.toml", "--store", "sweep.db", "--device", "wgpu"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let status = critlab(dir.path(), &["sweep", "status", "two.toml", "--store", "sweep.db"]);
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(text.contains("2 runs: 2 done"), "{text}");
    // With every Vulkan driver hidden from the loader there is no adapter (and no fall back to
    // an OpenGL one whose kernels would fail mid-run): refused before the store is touched.
    let out = Command::new(env!("CARGO_BIN_EXE_critlab"))
        .current_dir(dir.path())
        .env("VK_ICD_FILENAMES", "/nonexistent.json")
        .env("VK_DRIVER_FILES", "/nonexistent.json")
        .args(["train", "--store", "none.db", "--p", "7", "--steps", "2", "--device", "wgpu"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("error: --device wgpu\n") && err.contains("no usable wgpu adapter") && !err.contains("panicked"),
        "{err}"
    );
    assert!(!dir.path().join("none.db").exists());
}

/// The CPU's hand-written MLP step against burn's autodiff over a whole run (the unit test pins
/// one step; this, 60 AdamW steps with minibatches and full-batch evals through the real
/// binary): `CRITLAB_BURN_AUTODIFF=1` sends every step through burn's autodiff, and the stored
/// training and test losses agree with the default run's to f32 rounding.
#[test]
fn the_hand_written_step_trains_as_burns_autodiff_does() {
    let dir = tempfile::tempdir().unwrap();
    let run = |autodiff: bool, batch: &str| -> Vec<Vec<String>> {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_critlab"));
        cmd.current_dir(dir.path())
            .args(["train", "--store", "s.db", "--json", "--batch-size", batch, "--optimizer", "adamw", "--lr", "3e-3"])
            .args(SMALL);
        if autodiff {
            cmd.env("CRITLAB_BURN_AUTODIFF", "1");
        }
        let summary = json(&cmd.output().unwrap());
        let out = critlab(
            dir.path(),
            &["export", "--store", "s.db", "--format", "csv", "--run", &summary["run_id"].to_string()],
        );
        String::from_utf8(out.stdout).unwrap().lines().map(|l| l.split(',').map(str::to_string).collect()).collect()
    };
    for batch in ["full", "16"] {
        let (fast, slow) = (run(false, batch), run(true, batch));
        let header = &fast[0];
        assert_eq!(header, &slow[0]);
        assert_eq!(fast.len(), 5, "batch {batch}: a header and 4 eval steps: {fast:?}");
        // Two implementations sum in different orders: equal bits would mean one ran twice.
        assert_ne!(fast[1..], slow[1..], "batch {batch}: CRITLAB_BURN_AUTODIFF changed nothing");
        for name in ["train_loss", "test_loss", "grad_norm"] {
            let c = header.iter().position(|h| h == name).unwrap();
            for (a, b) in fast[1..].iter().zip(&slow[1..]) {
                let (x, y): (f64, f64) = (a[c].parse().unwrap(), b[c].parse().unwrap());
                assert!(
                    (x - y).abs() <= 1e-4 * y.abs(),
                    "batch {batch}, step {}: {name} {x} hand-written, {y} autodiff",
                    a[1]
                );
            }
        }
    }
}
