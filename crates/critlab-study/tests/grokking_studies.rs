//! The weight-decay, train-fraction and finite-size studies end to end at their tiny scale:
//! every undetermined quantity is written as `{"not_determined": reason}` (never a bare number,
//! never a serde `Ok`/`Err` wrapper), every determined one as its own object, and a rerun
//! trains nothing and writes the same results.json.
use critlab_study::{Backend, Scale, StudyOptions};
use serde_json::Value;
use std::sync::atomic::AtomicBool;

fn run(name: &str, dir: &std::path::Path) -> (Value, String) {
    let opts = StudyOptions {
        scale: Scale::Tiny,
        out: dir.join(name),
        store: dir.join("study.db"),
        backend: Backend::Local,
        jobs: 2,
        critlab: None,
    };
    let study = critlab_study::find(name).unwrap();
    let first = critlab_study::run(study, &opts, &AtomicBool::new(false), &mut |_| {}).unwrap();
    let text = std::fs::read_to_string(&first.results).unwrap();
    let again = critlab_study::run(study, &opts, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(again.runs_trained, 0, "{name}: the rerun trained");
    assert_eq!(std::fs::read_to_string(&again.results).unwrap(), text, "{name}: the rerun changed results.json");
    assert!(!text.contains("\"Ok\"") && !text.contains("\"Err\""), "{name}: serde Result wrappers in {text}");
    (serde_json::from_str(&text).unwrap(), std::fs::read_to_string(&first.readme).unwrap())
}

/// `v` is either `{"not_determined": "<reason>"}` or an object holding `key` as a number.
fn determined_or_reason(v: &Value, key: &str) {
    match v.get("not_determined") {
        Some(why) => assert!(why.as_str().is_some_and(|s| !s.is_empty()) && v.as_object().unwrap().len() == 1, "{v}"),
        None => assert!(v[key].is_number(), "neither {key} nor a reason: {v}"),
    }
}

#[test]
fn tiny_grokking_studies_write_values_or_reasons_and_resume_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();

    let (wd, readme) = run("weight-decay", dir.path());
    determined_or_reason(&wd["results"]["power_law"], "a");
    if let Some(why) = wd["results"]["power_law"]["not_determined"].as_str() {
        assert!(readme.contains(why), "the README must give the reason: {readme}");
    }

    let (tf, _) = run("train-fraction", dir.path());
    determined_or_reason(&tf["results"]["z_nu"], "value");
    determined_or_reason(&tf["results"]["f_c"], "value");

    let (fs, _) = run("finite-size", dir.path());
    let budgets = fs["results"]["budgets"].as_array().unwrap();
    assert_eq!(budgets.len(), 3, "T/4, T/2, T");
    for b in budgets {
        for s in b["f_c"].as_array().unwrap() {
            assert!(s["p"].is_u64(), "{s}");
            determined_or_reason(&s["f_c"], "value");
        }
        determined_or_reason(&b["f_c_extrapolated"], "f_inf");
        for k in ["u4_crossing", "nu", "collapse_x_c", "beta_over_nu", "gamma_over_nu"] {
            determined_or_reason(&b[k], "value");
        }
    }
}
