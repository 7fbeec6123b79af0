//! The linear-estimator study end to end at its tiny scale: sweeps through the executor into
//! a real store, results.json, figures, README; a rerun trains nothing and writes the same file.
use critlab_study::{Backend, Scale, StudyOptions};
use std::sync::atomic::AtomicBool;

fn options(dir: &std::path::Path) -> StudyOptions {
    StudyOptions {
        scale: Scale::Tiny,
        out: dir.join("out"),
        store: dir.join("study.db"),
        backend: Backend::Local,
        jobs: 2,
        critlab: None,
    }
}

#[test]
fn tiny_linear_estimator_runs_measures_the_delay_and_resumes_to_the_same_results() {
    let dir = tempfile::tempdir().unwrap();
    let opts = options(dir.path());
    let study = critlab_study::find("linear-estimator").unwrap();
    let first = critlab_study::run(study, &opts, &AtomicBool::new(false), &mut |_| {}).unwrap();
    let text = std::fs::read_to_string(&first.results).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let points = json["results"]["points"].as_array().unwrap();
    assert_eq!(points.len(), 5, "{json}");
    for p in points {
        for key in ["ratio", "n_train", "input_dim", "t_mem", "t_grok", "delay", "theory_delay"] {
            assert!(p[key].is_number(), "{key} missing: {p}");
        }
        // d = 40 is small and noisy; the quick version is the one held to the bands.
        let ratio = p["delay_over_theory"]["value"].as_f64().unwrap();
        assert!((0.3..3.0).contains(&ratio), "delay / theory = {ratio} at r = {}", p["ratio"]);
        assert!(p["t_mem"].as_f64().unwrap() < p["t_grok"].as_f64().unwrap(), "{p}");
    }
    assert!(json["results"]["log_corrected"]["k"].is_number(), "{json}");
    assert!(json["results"]["divergence"]["exponent"].is_number(), "{json}");
    let readme = std::fs::read_to_string(&first.readme).unwrap();
    assert!(
        readme.contains("critlab study run linear-estimator --tiny") && readme.contains("critlab sweep run"),
        "{readme}"
    );
    assert!(first.figures.iter().any(|f| f.extension().is_some_and(|e| e == "png")));
    assert_eq!(first.runs_trained, 20);

    // A rerun finds every run in the store and writes the same results.json.
    let second = critlab_study::run(study, &opts, &AtomicBool::new(false), &mut |_| {}).unwrap();
    assert_eq!(second.runs_trained, 0);
    assert_eq!(second.runs_skipped, 20);
    assert_eq!(std::fs::read_to_string(&second.results).unwrap(), text);
}

#[test]
fn an_unknown_study_names_the_known_ones() {
    let e = critlab_study::find("nope").err().unwrap().to_string();
    assert!(e.contains("linear-estimator"), "{e}");
}
