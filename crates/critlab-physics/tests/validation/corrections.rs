//! Corrections chosen from the data, the L_min-drift systematic error, the Bayesian scaling
//! analysis and the small coverage study.
use super::assert_ref;
use critlab_physics::bsa::{self, BsaOptions};
use critlab_physics::collapse::CollapseOptions;
use critlab_physics::corrections::{self, AnalysisOptions, CorrectionChoice};
use critlab_physics::validation::coverage::{self, CoverageDesign};
use critlab_physics::validation::percolation;
use critlab_physics::validation::reference::{self as refv, percolation_design as pd, Reference};
use critlab_physics::validation::synthetic::{self, FssTruth};

fn truth(name: &'static str, value: f64) -> Reference {
    Reference { name, value, systematic: 0.0, source: "synthetic truth" }
}

fn corrected(a: f64, b: f64, seed: u64) -> critlab_physics::CollapseData {
    let t = FssTruth {
        sizes: vec![8.0, 16.0, 32.0, 64.0],
        x_lo: -0.2,
        x_hi: 0.4,
        points: 25,
        x_c: 0.1,
        nu: 1.5,
        zeta: 0.5,
        sigma: 0.005,
        a,
        b,
        omega: 1.0,
    };
    synthetic::corrected_collapse_data(&t, seed)
}

fn opts(bootstrap: usize) -> AnalysisOptions {
    AnalysisOptions {
        collapse: CollapseOptions { x_c_guess: Some(0.05), bootstrap, starts: 8, ..Default::default() },
        ..Default::default()
    }
}

#[test]
fn an_amplitude_correction_in_the_data_is_chosen_and_removes_the_bias() {
    let d = corrected(0.8, 0.0, 11);
    let a = corrections::analyze(&d, &opts(40)).unwrap();
    assert!(
        a.model.correction == "amplitude" || a.model.correction == "both",
        "chose {} ({})",
        a.model.correction,
        a.model.reason
    );
    assert_eq!(a.candidates.len(), 4);
    assert_eq!(a.candidates.iter().filter(|c| c.chosen).count(), 1);
    let none = a.candidates.iter().find(|c| c.correction == "none").unwrap();
    let chosen = a.candidates.iter().find(|c| c.chosen).unwrap();
    assert!(none.aic > chosen.aic + 10.0, "AIC none {} vs chosen {}", none.aic, chosen.aic);
    assert!(chosen.held_out.unwrap() < none.held_out.unwrap());
    let p = &a.parameters;
    assert_ref(&truth("x_c", 0.1), p.x_c.value, p.x_c.err);
    assert_ref(&truth("nu", 1.5), p.nu.value, p.nu.err);
    assert_ref(&truth("zeta", 0.5), p.zeta.value, p.zeta.err);
    // the plain model alone is biased in zeta by many of its errors
    let plain = corrections::analyze(&d, &AnalysisOptions { correction: CorrectionChoice::None, ..opts(40) }).unwrap();
    assert_eq!(plain.candidates.len(), 1);
    let z = (plain.parameters.zeta.value - 0.5).abs() / plain.parameters.zeta.err_stat;
    assert!(
        z > 3.0,
        "plain zeta {} ± {} should be biased",
        plain.parameters.zeta.value,
        plain.parameters.zeta.err_stat
    );
}

#[test]
fn pure_scaling_data_keep_the_plain_model_and_json_has_the_keys() {
    let d = corrected(0.0, 0.0, 12);
    let a = corrections::analyze(&d, &opts(30)).unwrap();
    assert_eq!(a.model.correction, "none", "{}", a.model.reason);
    let p = &a.parameters;
    assert_ref(&truth("x_c", 0.1), p.x_c.value, p.x_c.err);
    assert_ref(&truth("nu", 1.5), p.nu.value, p.nu.err);
    assert!(!a.drift.is_empty(), "4 sizes: L_min drift refits expected");
    for e in [p.x_c, p.nu, p.zeta] {
        assert!(e.err.is_finite() && e.err > 0.0);
        assert!((e.err - e.err_stat.hypot(e.err_sys)).abs() < 1e-12);
    }
    let json = serde_json::to_value(&a).unwrap();
    for key in ["x_c", "x_c_err", "nu", "nu_err", "zeta", "zeta_err", "quality", "candidates", "model", "drift"] {
        assert!(json.get(key).is_some(), "missing JSON key {key}");
    }
    for k in ["value", "err", "err_stat", "err_sys"] {
        assert!(json["parameters"]["nu"].get(k).is_some(), "missing parameters.nu.{k}");
    }
    assert_eq!(json["x_c_err"].as_f64().unwrap(), p.x_c.err, "x_c_err is the total error");
    assert!(json["candidates"][0].get("aic").is_some() && json["candidates"][0].get("held_out").is_some());
}

#[test]
fn an_l_min_drift_widens_the_errors() {
    // a strong shift correction fitted with the plain model: the estimates drift with L_min
    let d = corrected(0.0, 4.0, 13);
    let a = corrections::analyze(&d, &AnalysisOptions { correction: CorrectionChoice::None, ..opts(30) }).unwrap();
    let p = &a.parameters;
    assert!(p.x_c.err_sys > 0.0 || p.nu.err_sys > 0.0 || p.zeta.err_sys > 0.0, "{:?}", a.drift);
    assert!(a.fit.notes.iter().any(|n| n.contains("not yet asymptotic")), "{:?}", a.fit.notes);
}

#[test]
fn percolation_largest_cluster_default_analysis_recovers_pc_nu_beta() {
    let (_, big) = percolation::simulate(&pd::SIZES, &pd::ps(), pd::SAMPLES, pd::SEED);
    let a = corrections::analyze(
        &big,
        &AnalysisOptions {
            collapse: CollapseOptions { x_c_guess: Some(0.6), bootstrap: 40, ..Default::default() },
            ..Default::default()
        },
    )
    .unwrap();
    assert_ne!(a.model.correction, "none", "{}", a.model.reason);
    let p = &a.parameters;
    assert_ref(&refv::PERCOLATION_PC, p.x_c.value, p.x_c.err);
    assert_ref(&refv::PERCOLATION_NU, p.nu.value, p.nu.err);
    assert_ref(&refv::PERCOLATION_ZETA, p.zeta.value, p.zeta.err);
}

/// Issue 10, percolation across seeds: on a generated largest-cluster data set (L = 16, 32,
/// 64, seed 2025) the chosen model predicts the sizes it did not see at held-out S ≈ 2.8, so
/// its statistical errors are scaled by the out-of-sample Birge ratio √h (before: unscaled;
/// over 17 data sets at L = 16…128 this took the fraction with p_c, ν and β all within 2σ
/// from 49/68 to 57/68, docs/physics.md), and the exact values lie within 2σ.
#[test]
fn percolation_sizes_predicted_worse_than_their_errors_widen_the_statistical_error() {
    let (_, big) = percolation::simulate(&pd::SIZES, &pd::ps(), pd::SAMPLES, 2025);
    let a = corrections::analyze(
        &big,
        &AnalysisOptions {
            collapse: CollapseOptions { x_c_guess: Some(0.6), bootstrap: 40, ..Default::default() },
            ..Default::default()
        },
    )
    .unwrap();
    let chosen = a.candidates.iter().find(|c| c.chosen).unwrap();
    let h = chosen.held_out.expect("3 sizes: a held-out error");
    assert!(h > 1.5, "held-out S {h} of {} ({:?})", chosen.correction, chosen.held_out_per_size);
    let f = corrections::birge_factor(Some(h));
    assert!(
        (f - h.sqrt()).abs() < 1e-12
            && corrections::birge_factor(Some(0.7)) == 1.0
            && corrections::birge_factor(None) == 1.0
    );
    let p = &a.parameters;
    let e = &a.fit.errors;
    let sel = a.selection_err.expect("bootstrap on: a selection-aware error");
    for (name, pe, own, s) in [
        ("x_c", p.x_c, e.x_c.bootstrap, sel[0]),
        ("nu", p.nu, e.nu.bootstrap, sel[1]),
        ("zeta", p.zeta, e.zeta.bootstrap, sel[2]),
    ] {
        let unscaled = own.expect("bootstrap error").max(s);
        assert!(
            (pe.err_stat - f * unscaled).abs() <= 1e-12 * pe.err_stat,
            "{name}: err_stat {} vs √h · {unscaled}",
            pe.err_stat
        );
    }
    assert!(a.fit.notes.iter().any(|n| n.contains("Birge")), "{:?}", a.fit.notes);
    for (r, pe) in [(&refv::PERCOLATION_PC, p.x_c), (&refv::PERCOLATION_NU, p.nu), (&refv::PERCOLATION_ZETA, p.zeta)] {
        assert!(
            (pe.value - r.value).abs() <= 2.0 * pe.err,
            "{}: {} ± {} is more than 2σ from {}",
            r.name,
            pe.value,
            pe.err,
            r.value
        );
    }
}

#[test]
fn bsa_recovers_synthetic_exponents_and_agrees_with_the_default() {
    let t = FssTruth {
        sizes: vec![8.0, 16.0, 32.0],
        x_lo: -0.2,
        x_hi: 0.4,
        points: 25,
        x_c: 0.1,
        nu: 1.5,
        zeta: 0.5,
        sigma: 0.01,
        a: 0.0,
        b: 0.0,
        omega: 1.0,
    };
    let d = synthetic::corrected_collapse_data(&t, 21);
    let o = AnalysisOptions { correction: CorrectionChoice::None, ..opts(30) };
    let r = bsa::analyze(&d, &o, &BsaOptions { samples: 600, burn_in: 600, ..Default::default() }).unwrap();
    assert_ref(&truth("x_c", 0.1), r.bsa.x_c, r.bsa.x_c_err);
    assert_ref(&truth("nu", 1.5), r.bsa.nu, r.bsa.nu_err);
    assert_ref(&truth("zeta", 0.5), r.bsa.zeta, r.bsa.zeta_err);
    assert!(r.agreement_sigmas.iter().all(|z| *z < 2.0), "BSA vs default: {:?}", r.agreement_sigmas);
    assert!(r.bsa.posteriors.iter().all(|p| p.1.r_hat < 1.2), "{:?}", r.bsa.posteriors);
    assert!(r.bsa.acceptance > 0.05 && r.bsa.acceptance < 0.8, "{}", r.bsa.acceptance);
    // the fixed-model posterior carries the default's systematic error in `parameters`
    for (b, d, post) in [
        (r.parameters.x_c, r.default.parameters.x_c, r.bsa.x_c_err),
        (r.parameters.nu, r.default.parameters.nu, r.bsa.nu_err),
        (r.parameters.zeta, r.default.parameters.zeta, r.bsa.zeta_err),
    ] {
        assert_eq!((b.err_stat, b.err_sys), (post, d.err_sys));
        assert!((b.err - post.hypot(d.err_sys)).abs() <= 1e-15 * b.err.max(1.0));
    }
}

/// The small version of `cargo run --release -p critlab-physics --example coverage`: 12
/// synthetic sets (all noise levels and size ranges, none and amplitude corrections).
#[test]
fn coverage_study_small_version() {
    let design = CoverageDesign { sets: 12, bootstrap: 30, starts: 6, bsa_every: 6, bsa_samples: 300, seed: 5 };
    let cases: Vec<_> = (0..design.sets).map(|i| coverage::synthetic_case(i, design.seed)).collect();
    let r = coverage::run(&cases, &design, &|_| {});
    let default = &r.methods[0];
    assert!(default.method.starts_with("default"));
    assert_eq!(default.n, 36);
    assert!((0.4..=1.0).contains(&default.within_1sigma), "{:?}", r.methods);
    assert!(default.within_2sigma >= 0.75, "{:?}", r.methods);
    assert!(r.methods.iter().any(|m| m.method.starts_with("BSA")), "{:?}", r.methods);
}
