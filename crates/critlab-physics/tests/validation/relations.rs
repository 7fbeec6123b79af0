use critlab_physics::relations::{self, ExponentSet, Verdict};

fn verdicts(json: &str) -> Vec<(String, Verdict)> {
    let rep = relations::test(&ExponentSet::from_json(json).unwrap());
    rep.relations.into_iter().map(|r| (r.name, r.verdict)).collect()
}

fn verdict_of(json: &str, name: &str) -> Verdict {
    verdicts(json).into_iter().find(|(n, _)| n == name).unwrap().1
}

#[test]
fn exact_ising_2d_passes_every_relation() {
    let j = r#"{"alpha": 0, "beta": 0.125, "gamma": 1.75, "delta": 15, "nu": 1, "eta": 0.25, "d": 2}"#;
    for (name, v) in verdicts(j) {
        assert_eq!(v, Verdict::Consistent, "{name}");
    }
}

#[test]
fn exact_mean_field_passes_at_d4() {
    let j = r#"{"alpha": 0, "beta": 0.5, "gamma": 1, "delta": 3, "nu": 0.5, "d": 4}"#;
    assert_eq!(verdict_of(j, "widom"), Verdict::Consistent);
    assert_eq!(verdict_of(j, "rushbrooke"), Verdict::Consistent);
    assert_eq!(verdict_of(j, "hyperscaling"), Verdict::Consistent);
    assert_eq!(verdict_of(j, "fisher"), Verdict::NotTestable);
}

#[test]
fn mean_field_breaks_hyperscaling_below_d4() {
    let j = r#"{"alpha": 0, "beta": 0.5, "gamma": 1, "delta": 3, "nu": 0.5, "d": 3}"#;
    assert_eq!(verdict_of(j, "hyperscaling"), Verdict::Violated);
}

#[test]
fn broken_sets_fail_and_errors_rescue_them_only_when_large() {
    let broken = r#"{"alpha": 0, "beta": 0.125, "gamma": 1.5, "delta": 15}"#;
    assert_eq!(verdict_of(broken, "widom"), Verdict::Violated);
    assert_eq!(verdict_of(broken, "rushbrooke"), Verdict::Violated);
    let measured = r#"{"alpha": {"value": 0.02, "err": 0.05}, "beta": {"value": 0.13, "err": 0.01},
                       "gamma": {"value": 1.70, "err": 0.06}, "delta": {"value": 14.0, "err": 1.5}}"#;
    assert_eq!(verdict_of(measured, "widom"), Verdict::Consistent);
    assert_eq!(verdict_of(measured, "rushbrooke"), Verdict::Consistent);
    let precise_but_off = r#"{"alpha": {"value": 0.1, "err": 0.01}, "beta": {"value": 0.125, "err": 0.001},
                              "gamma": {"value": 1.75, "err": 0.01}}"#;
    assert_eq!(verdict_of(precise_but_off, "rushbrooke"), Verdict::Violated);
}

#[test]
fn missing_exponents_are_not_testable_and_typos_are_rejected() {
    let rep = relations::test(&ExponentSet::from_json(r#"{"beta": 0.125}"#).unwrap());
    assert_eq!(rep.not_testable, 4);
    assert!(rep.relations.iter().all(|r| !r.missing.is_empty() && r.residual.is_none()));
    assert!(ExponentSet::from_json(r#"{"gama": 1.75}"#).is_err());
    assert!(ExponentSet::from_json(r#"{"beta": {"value": 0.1, "err": -1}}"#).is_err());
}

#[test]
fn intervals_reflect_input_errors() {
    let j = r#"{"alpha": {"value": 0, "err": 0.03}, "beta": {"value": 0.125, "err": 0.01}, "gamma": {"value": 1.75, "err": 0.04}}"#;
    let rep = relations::test(&ExponentSet::from_json(j).unwrap());
    let r = rep.relations.iter().find(|r| r.name == "rushbrooke").unwrap();
    let expect = (0.03f64.powi(2) + 0.02f64.powi(2) + 0.04f64.powi(2)).sqrt();
    assert!((r.residual_err.unwrap() - expect).abs() < 1e-6);
    let (lo, hi) = r.interval_95.unwrap();
    assert!((hi - lo - 2.0 * 1.96 * expect).abs() < 0.1 * expect, "{lo} {hi}");
}
