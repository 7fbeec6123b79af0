//! `critlab analyze collapse | divergence | crossing | relations | scaling-forms` end to end,
//! through the real binary on small tables written by the tests.
use critlab_physics::validation::reference::SIGMAS;
use critlab_physics::validation::synthetic;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn critlab(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_critlab")).current_dir(dir).args(args).output().expect("running critlab")
}

fn json(out: &Output) -> serde_json::Value {
    assert!(out.status.success(), "critlab failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON on stdout")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Writes `L,x,A,dA` rows of a synthetic collapse with x_c = 0.1, ν = 1.5, ζ = 0.5.
fn collapse_csv(dir: &Path) -> PathBuf {
    let d = synthetic::collapse_data(&[8.0, 16.0, 32.0], -0.3, 0.5, 25, 0.1, 1.5, 0.5, 0.01, 5);
    let mut s = String::from("L,x,A,dA\n");
    for c in &d.curves {
        for i in 0..c.x.len() {
            s.push_str(&format!("{},{},{},{}\n", c.size, c.x[i], c.y[i], c.dy[i]));
        }
    }
    let path = dir.join("fss.csv");
    std::fs::write(&path, s).unwrap();
    path
}

const COLLAPSE: &[&str] =
    &["analyze", "collapse", "--input", "fss.csv", "--size", "L", "--x", "x", "--y", "A", "--dy", "dA"];

fn with<'a>(base: &[&'a str], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().chain(extra).copied().collect()
}

#[test]
fn collapse_recovers_the_exponents_it_was_built_with_and_plots_both_panels() {
    let dir = tempfile::tempdir().unwrap();
    collapse_csv(dir.path());
    let out = critlab(
        dir.path(),
        &with(
            COLLAPSE,
            &[
                "--x-c",
                "0.05",
                "--nu",
                "1.2",
                "--zeta",
                "0.3",
                "--bootstrap",
                "40",
                "--seed",
                "3",
                "--json",
                "--plot",
                "c.svg",
            ],
        ),
    );
    let r = json(&out);
    for (key, truth) in [("x_c", 0.1), ("nu", 1.5), ("zeta", 0.5)] {
        let (v, e) = (r[key].as_f64().unwrap(), r[format!("{key}_err")].as_f64().unwrap());
        assert!(e > 0.0 && (v - truth).abs() <= SIGMAS * e, "{key} = {v} ± {e}, truth {truth}");
    }
    assert!(r["quality"].as_f64().unwrap() < 3.0, "{r}");
    let svg = std::fs::read_to_string(dir.path().join("c.svg")).unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "not an SVG document");
    assert!(svg.contains("collapse, S ="), "the collapsed panel is missing");
    // the text summary names the parameters
    let text = critlab(dir.path(), &with(COLLAPSE, &["--bootstrap", "0"]));
    assert!(text.status.success(), "{}", stderr(&text));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("x_c") && text.contains("quality S"), "{text}");
}

#[test]
fn collapse_reports_the_chosen_correction_candidates_and_stat_sys_errors_and_runs_bsa() {
    let dir = tempfile::tempdir().unwrap();
    collapse_csv(dir.path());
    let out = critlab(dir.path(), &with(COLLAPSE, &["--x-c", "0.05", "--bootstrap", "20", "--json"]));
    let r = json(&out);
    assert_eq!(r["candidates"].as_array().unwrap().len(), 4, "{r}");
    assert!(r["model"]["correction"].is_string() && r["model"]["reason"].is_string(), "{r}");
    for key in ["x_c", "nu", "zeta"] {
        let p = &r["parameters"][key];
        for k in ["value", "err", "err_stat", "err_sys"] {
            assert!(p[k].is_number(), "parameters.{key}.{k} missing: {r}");
        }
        assert_eq!(r[format!("{key}_err")].as_f64(), p["err"].as_f64(), "{key}_err is the total error");
    }
    let text = critlab(dir.path(), &with(COLLAPSE, &["--x-c", "0.05", "--bootstrap", "0", "--correction", "none"]));
    assert!(text.status.success(), "{}", stderr(&text));
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.contains("forced by the user") && text.contains("stat"), "{text}");
    let bsa = critlab(
        dir.path(),
        &with(
            COLLAPSE,
            &[
                "--x-c",
                "0.05",
                "--bootstrap",
                "20",
                "--method",
                "bsa",
                "--samples",
                "300",
                "--correction",
                "none",
                "--json",
            ],
        ),
    );
    let b = json(&bsa);
    for (key, truth) in [("x_c", 0.1), ("nu", 1.5), ("zeta", 0.5)] {
        let (v, e) = (b[key].as_f64().unwrap(), b[format!("{key}_err")].as_f64().unwrap());
        assert!(e > 0.0 && (v - truth).abs() <= SIGMAS * e, "BSA {key} = {v} ± {e}, truth {truth}");
    }
    assert!(b["default"]["model"].is_object() && b["posteriors"].is_array(), "{b}");
}

#[test]
fn a_missing_column_exits_2_naming_the_column_and_the_file() {
    let dir = tempfile::tempdir().unwrap();
    collapse_csv(dir.path());
    let out = critlab(
        dir.path(),
        &["analyze", "collapse", "--input", "fss.csv", "--size", "L", "--x", "x", "--y", "magnetisation"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("`magnetisation`") && err.contains("fss.csv") && err.contains("L, x, A, dA"), "{err}");
}

#[test]
fn bad_tables_exit_2_saying_what_and_where() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &[&str]); 4] = [
        ("one size only", "L,x,A,dA\n8,0.1,1,0.1\n8,0.2,2,0.1\n8,0.3,3,0.1\n", &["distinct system sizes", "found 1"]),
        ("non-positive dy", "L,x,A,dA\n8,0.1,1,0.1\n16,0.2,2,0\n", &["line 3", "`dA`", "must be > 0"]),
        ("NaN", "L,x,A,dA\n8,0.1,1,0.1\n16,NaN,2,0.1\n", &["line 3", "`x`", "not finite"]),
        ("text", "L,x,A,dA\n8,0.1,1,0.1\n16,abc,2,0.1\n", &["line 3", "`abc` is not a number"]),
    ];
    for (what, csv, needles) in cases {
        std::fs::write(dir.path().join("fss.csv"), csv).unwrap();
        let out = critlab(dir.path(), &with(COLLAPSE, &["--bootstrap", "0"]));
        assert_eq!(out.status.code(), Some(2), "{what}");
        let err = stderr(&out);
        for n in needles {
            assert!(err.contains(n), "{what}: `{n}` not in {err}");
        }
    }
    std::fs::write(dir.path().join("xy.csv"), "x,y\n0.1,1\n0.2,2\n").unwrap();
    let out = critlab(dir.path(), &["analyze", "divergence", "--input", "xy.csv", "--x", "x", "--y", "y"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("points"), "{}", stderr(&out));
}

#[test]
fn crossing_finds_the_critical_point_of_the_synthetic_family() {
    let dir = tempfile::tempdir().unwrap();
    // ζ = 0: the curves of all sizes cross at x_c = 0.1
    let d = synthetic::collapse_data(&[8.0, 16.0, 32.0], -0.3, 0.5, 25, 0.1, 1.5, 0.0, 0.005, 9);
    let mut s = String::from("L,x,U,dU\n");
    for c in &d.curves {
        for i in 0..c.x.len() {
            s.push_str(&format!("{},{},{},{}\n", c.size, c.x[i], c.y[i], c.dy[i]));
        }
    }
    std::fs::write(dir.path().join("u.csv"), s).unwrap();
    let out = critlab(
        dir.path(),
        &[
            "analyze",
            "crossing",
            "--input",
            "u.csv",
            "--size",
            "L",
            "--x",
            "x",
            "--y",
            "U",
            "--dy",
            "dU",
            "--bootstrap",
            "50",
            "--json",
            "--plot",
            "u.svg",
        ],
    );
    let r = json(&out);
    assert_eq!(r["found"], true, "{r}");
    let (x, e) = (r["x_c"].as_f64().unwrap(), r["x_c_err"].as_f64().unwrap());
    assert!((x - 0.1).abs() <= SIGMAS * e, "x_c = {x} ± {e}");
    assert!(std::fs::read_to_string(dir.path().join("u.svg")).unwrap().starts_with("<svg"));
}

#[test]
fn divergence_recovers_kappa_and_reports_both_aics() {
    let dir = tempfile::tempdir().unwrap();
    let d = synthetic::divergence_data(2.0, 1.0, 1.75, true, 0.01, 0.5, 30, 0.03, 4);
    let mut s = String::from("x,chi,dchi\n");
    for i in 0..d.x.len() {
        s.push_str(&format!("{},{},{}\n", d.x[i], d.y[i], d.dy.as_ref().unwrap()[i]));
    }
    std::fs::write(dir.path().join("chi.csv"), s).unwrap();
    let out = critlab(
        dir.path(),
        &[
            "analyze",
            "divergence",
            "--input",
            "chi.csv",
            "--x",
            "x",
            "--y",
            "chi",
            "--dy",
            "dchi",
            "--side",
            "above",
            "--bootstrap",
            "60",
            "--json",
        ],
    );
    let r = json(&out);
    let (k, e) = (r["kappa"].as_f64().unwrap(), r["kappa_err"].as_f64().unwrap());
    assert!((k - 1.75).abs() <= SIGMAS * e, "kappa = {k} ± {e}");
    assert!(r["x_c_err"].as_f64().unwrap() > 0.0);
    assert!(r["aic_power_law"].as_f64().unwrap() < r["aic_smooth"].as_f64().unwrap(), "{r}");
    assert_eq!(r["supported"], true);
}

#[test]
fn relations_pass_on_2d_ising_and_fail_on_a_broken_set() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("ising.json"),
        r#"{"alpha": 0, "beta": 0.125, "gamma": 1.75, "delta": 15, "nu": 1, "eta": 0.25, "d": 2}"#,
    )
    .unwrap();
    let r = json(&critlab(dir.path(), &["analyze", "relations", "--exponents", "ising.json", "--json"]));
    assert_eq!(r["violated"], 0, "{r}");
    assert_eq!(r["consistent"], 4, "{r}");
    std::fs::write(
        dir.path().join("broken.json"),
        r#"{"beta": {"value": 0.125, "err": 0.005}, "gamma": {"value": 1.5, "err": 0.02}, "delta": 15, "alpha": 0}"#,
    )
    .unwrap();
    let out = critlab(dir.path(), &["analyze", "relations", "--exponents", "broken.json"]);
    assert_eq!(out.status.code(), Some(1), "a violated relation finishes with failures");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Violated") && text.contains("not testable"), "{text}");
    std::fs::write(dir.path().join("typo.json"), r#"{"betta": 0.125}"#).unwrap();
    let out = critlab(dir.path(), &["analyze", "relations", "--exponents", "typo.json"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("betta"), "{}", stderr(&out));
}

#[test]
fn scaling_forms_rank_the_master_curve_of_a_collapse_and_a_plain_table() {
    let dir = tempfile::tempdir().unwrap();
    collapse_csv(dir.path());
    let out = critlab(
        dir.path(),
        &[
            "analyze",
            "scaling-forms",
            "--input",
            "fss.csv",
            "--size",
            "L",
            "--x",
            "x",
            "--y",
            "A",
            "--dy",
            "dA",
            "--x-c",
            "0.05",
            "--nu",
            "1.2",
            "--zeta",
            "0.3",
            "--json",
            "--plot",
            "f.svg",
        ],
    );
    let r = json(&out);
    assert_eq!(r["n_points"], 75);
    let fits = r["fits"].as_array().unwrap();
    assert!(fits.len() >= 4, "{r}");
    assert_eq!(fits[0]["rank_aic"], 1);
    assert!(std::fs::read_to_string(dir.path().join("f.svg")).unwrap().contains("scaling function"));
    // a plain logistic table: the logistic form wins
    let mut s = String::from("x,y\n");
    for i in 0..40 {
        let x = -4.0 + 0.2 * i as f64;
        s.push_str(&format!(
            "{x},{}\n",
            2.0 / (1.0 + (-1.5 * (x - 0.3f64)).exp()) + 0.002 * ((i * 7919 % 13) as f64 - 6.0)
        ));
    }
    std::fs::write(dir.path().join("l.csv"), s).unwrap();
    let r =
        json(&critlab(dir.path(), &["analyze", "scaling-forms", "--input", "l.csv", "--x", "x", "--y", "y", "--json"]));
    assert_eq!(r["winner"], "logistic", "{r}");
}

/// A sweep over weight decay x with x_c = 0.3: V = (x − 0.3)^0.5 + seed noise above x_c and
/// 0.02 below, test accuracy jumping to 0.95 at t_grok = 100 (x − 0.3)^−1.2 (never below x_c).
fn sweep_store(dir: &Path) {
    use critlab_core::{RunSpec, RunStatus};
    use critlab_store::{MetricRow, Store};
    let store = Store::open(dir.join("s.db")).unwrap();
    let mut w = store.writer().unwrap();
    let mut noise = 0.37f64;
    for i in 0..10 {
        let x = 0.15 + 0.05 * i as f64;
        let dx: f64 = x - 0.3;
        for seed in 0..6u64 {
            let spec = RunSpec { weight_decay: x, seed, ..RunSpec::default() };
            let id = store.create_run(&spec, Some("wd"), "synthetic").unwrap();
            noise = (noise * 9301.0 + 0.49297).fract(); // deterministic pseudo-noise in [0, 1)
            let v_end = if dx > 1e-9 { dx.powf(0.5) + 0.01 * (noise - 0.5) } else { 0.02 };
            let t_grok = (dx > 1e-9).then(|| 100.0 * dx.powf(-1.2));
            let mut rows = Vec::new();
            for step in (0..6000).step_by(10) {
                let acc = if t_grok.is_some_and(|t| step as f64 >= t) { 0.95 } else { 0.1 };
                let loss = 2.0 * (-(step as f64) / 800.0).exp() * (1.0 + 0.05 * ((step / 10 % 7) as f64 - 3.0) / 3.0);
                for (name, v) in [
                    ("explained_variance", v_end * (step as f64 / 6000.0).min(1.0)),
                    ("test_acc", acc),
                    ("train_loss", loss),
                ] {
                    rows.push(MetricRow { run: id, step, name: name.into(), value: v });
                }
            }
            rows.extend(["explained_variance"].map(|n| MetricRow {
                run: id,
                step: 6000,
                name: n.into(),
                value: v_end,
            }));
            w.metrics(rows).unwrap();
            w.finish(id, RunStatus::Done, None, 1.0).unwrap();
        }
    }
    w.close().unwrap();
}

#[test]
fn exponents_from_a_stored_sweep_recover_beta_and_z_nu_and_feed_the_relations() {
    let dir = tempfile::tempdir().unwrap();
    sweep_store(dir.path());
    let r = json(&critlab(
        dir.path(),
        &["analyze", "exponents", "--store", "s.db", "--sweep", "wd", "--control", "weight-decay", "--json"],
    ));
    let est =
        |k: &str| (r[k]["value"].as_f64().unwrap_or_else(|| panic!("{k}: {}", r[k])), r[k]["err"].as_f64().unwrap());
    let (xc, xe) = est("x_c");
    assert!((xc - 0.3).abs() <= SIGMAS * xe.max(1e-3), "x_c = {xc} ± {xe}");
    assert_eq!(r["ordered_side"], "above");
    let (b, be) = est("beta");
    assert!((b - 0.5).abs() <= SIGMAS * be, "beta = {b} ± {be}");
    let (zn, ze) = est("z_nu");
    assert!((zn - 1.2).abs() <= SIGMAS * ze, "z nu = {zn} ± {ze}");
    for (k, why) in [("nu", "one size"), ("delta", "field"), ("nu_m", "Dim(M)"), ("phi", "crossover")] {
        assert_eq!(r[k]["status"], "not_determinable", "{k}: {}", r[k]);
        assert!(r[k]["reason"].as_str().unwrap().contains(why), "{k}: {}", r[k]);
    }
    let text = critlab(
        dir.path(),
        &["analyze", "exponents", "--store", "s.db", "--sweep", "wd", "--control", "weight-decay", "--x-c", "0.3"],
    );
    assert!(String::from_utf8_lossy(&text.stdout).contains("not determinable from this data"));
    // relations from the same sweep: beta, gamma, alpha measured; Widom needs delta
    let out = critlab(
        dir.path(),
        &["analyze", "relations", "--store", "s.db", "--sweep", "wd", "--control", "weight-decay", "--json"],
    );
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    let rel: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(rel["exponents"]["beta"]["value"].is_number(), "{rel}");
    let widom = rel["relations"].as_array().unwrap().iter().find(|t| t["name"] == "widom").unwrap();
    assert_eq!(widom["verdict"], "not_testable");
    // a control key the specs do not have, and an unknown sweep
    let out =
        critlab(dir.path(), &["analyze", "exponents", "--store", "s.db", "--sweep", "wd", "--control", "temperature"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("`temperature`") && stderr(&out).contains("weight-decay"), "{}", stderr(&out));
    let out = critlab(dir.path(), &["analyze", "exponents", "--store", "s.db", "--sweep", "nope", "--control", "lr"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no runs of sweep `nope`"), "{}", stderr(&out));
}

#[test]
fn exponents_refuse_a_degenerate_family_and_print_the_family_and_grid() {
    let dir = tempfile::tempdir().unwrap();
    sweep_store(dir.path());
    let base = ["analyze", "exponents", "--store", "s.db", "--sweep", "wd", "--control", "weight-decay"];
    // the field (or size) must not be the control: that family has one x
    let out = critlab(dir.path(), &[&base[..], &["--field", "weight-decay"]].concat());
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("is the control itself"), "{}", stderr(&out));
    // a control that does not vary names the keys that do
    let out = critlab(dir.path(), &["analyze", "exponents", "--store", "s.db", "--sweep", "wd", "--control", "lr"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not vary") && stderr(&out).contains("seed, weight-decay"), "{}", stderr(&out));
    // the text report prints the family and its grid
    let out = critlab(dir.path(), &base);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("main family: all runs; control grid (10 values)"), "{text}");
}

/// The four controllers and a fixed grid run through the sweep executor (controllers share one
/// replica group), and `analyze controllers` pools the two sweeps into one table with
/// intervals and a figure; `--controller` takes a name or a table and refuses nonsense.
#[test]
fn controllers_run_through_sweeps_and_are_compared_with_the_fixed_grid() {
    let dir = tempfile::tempdir().unwrap();
    let base = "seeds = 2\n[base]\np = 11\nwidth = 32\nlr = 3e-3\nweight-decay = 1.0\nsteps = 200\neval-every = 20\n";
    std::fs::write(
        dir.path().join("ctl.toml"),
        format!(
            "name = \"ctl\"\n{base}[axes]\ncontroller = [\"grokfast\", {{ kind = \"norm\", ratio = 0.5 }}, {{ kind = \"temperature\", b-min = 8 }}, {{ kind = \"critical\", min = 0.3 }}]\n"
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("fixed.toml"), format!("name = \"fixed\"\n{base}[axes]\nlr = [1e-3, 3e-3]\n"))
        .unwrap();
    for f in ["ctl.toml", "fixed.toml"] {
        let out = critlab(dir.path(), &["sweep", "run", f, "--store", "s.db", "--jobs", "1"]);
        assert!(out.status.success(), "{}", stderr(&out));
    }
    let r = json(&critlab(
        dir.path(),
        &[
            "analyze",
            "controllers",
            "--store",
            "s.db",
            "--sweep",
            "ctl",
            "--sweep",
            "fixed",
            "--json",
            "--resamples",
            "200",
            "--plot",
            "c.svg",
        ],
    ));
    let w = &r.as_array().unwrap()[0];
    let arms = w["arms"].as_array().unwrap();
    assert_eq!(arms.len(), 6, "{w}");
    assert!(arms.iter().all(|a| a["runs"] == 2), "{w}");
    for name in ["grokfast", "norm", "temperature", "critical"] {
        assert!(arms.iter().any(|a| a["arm"].as_str().unwrap().starts_with(name)), "{name}: {w}");
    }
    assert!(w["best_fixed"].as_str().unwrap().starts_with("fixed η="), "{w}");
    assert!(std::fs::read_to_string(dir.path().join("c.svg")).unwrap().contains("batch size B"));
    let text =
        critlab(dir.path(), &["analyze", "controllers", "--store", "s.db", "--sweep", "ctl", "--sweep", "fixed"]);
    assert!(String::from_utf8_lossy(&text.stdout).contains("speed-up vs best fixed"));

    let ok = critlab(
        dir.path(),
        &[
            "train",
            "--store",
            "t.db",
            "--p",
            "11",
            "--steps",
            "20",
            "--controller",
            "{ kind = \"grokfast\", lambda = 5 }",
        ],
    );
    assert!(ok.status.success(), "{}", stderr(&ok));
    let bad =
        critlab(dir.path(), &["train", "--store", "t.db", "--p", "11", "--steps", "20", "--controller", "grokfats"]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(stderr(&bad).contains("grokfats"), "{}", stderr(&bad));
}
