use super::assert_ref;
use critlab_physics::exponents::divergence::{self, DivergenceOptions, Side};
use critlab_physics::validation::{reference::Reference, synthetic};

fn truth(name: &'static str, value: f64) -> Reference {
    Reference { name, value, systematic: 0.0, source: "synthetic truth" }
}

#[test]
fn synthetic_divergence_below_x_c_is_recovered_and_supported() {
    // gamma-like: y = 2 |x - 1|^-1.75 approached from below
    let d = synthetic::divergence_data(2.0, 1.0, 1.75, false, 0.01, 0.5, 30, 0.03, 5);
    let r = divergence::fit(&d, &DivergenceOptions::default()).unwrap();
    assert_eq!(r.side, Side::Below);
    assert_ref(&truth("x_c", 1.0), r.x_c, r.x_c_err);
    assert_ref(&truth("kappa", 1.75), r.kappa, r.kappa_err);
    assert_ref(&truth("amplitude", 2.0), r.amplitude, r.amplitude_err);
    assert!(r.supported, "{}", r.verdict);
    assert!(r.aic_smooth > r.aic_power_law + 4.0);
    assert!(r.chi2_dof < 2.0, "{}", r.chi2_dof);
    let json = serde_json::to_value(&r).unwrap();
    for key in
        ["x_c", "x_c_err", "kappa", "kappa_err", "aic_power_law", "aic_smooth", "supported", "amplitude", "chi2_dof"]
    {
        assert!(json.get(key).is_some(), "missing JSON key {key}");
    }
}

#[test]
fn synthetic_divergence_above_x_c_with_a_small_exponent() {
    let d = synthetic::divergence_data(0.5, 0.3, 0.6, true, 0.005, 2.0, 25, 0.02, 6);
    let r = divergence::fit(&d, &DivergenceOptions { seed: 3, ..Default::default() }).unwrap();
    assert_eq!(r.side, Side::Above);
    assert_ref(&truth("x_c", 0.3), r.x_c, r.x_c_err);
    assert_ref(&truth("kappa", 0.6), r.kappa, r.kappa_err);
    assert!(r.supported, "{}", r.verdict);
}

#[test]
fn smooth_data_do_not_support_a_divergence() {
    let d = synthetic::smooth_data(30, 0.02, 7);
    let r = divergence::fit(&d, &DivergenceOptions::default()).unwrap();
    assert!(!r.supported, "smooth data judged divergent: {}", r.verdict);
    assert!(r.x_c_err >= 0.0 && r.kappa_err >= 0.0 && r.x_c_err.is_finite());
}

#[test]
fn divergence_errors_are_calibrated() {
    let mut inside = 0;
    let draws = 40;
    for s in 0..draws {
        let d = synthetic::divergence_data(1.0, 0.0, 1.0, true, 0.02, 1.0, 20, 0.05, 200 + s);
        let r = divergence::fit(&d, &DivergenceOptions { bootstrap: 60, seed: s, side: Side::Above }).unwrap();
        inside += usize::from((r.kappa - 1.0).abs() <= r.kappa_err) + usize::from(r.x_c.abs() <= r.x_c_err);
    }
    let frac = inside as f64 / (2 * draws) as f64;
    assert!((0.5..=0.9).contains(&frac), "one-sigma coverage {frac:.2}");
}

#[test]
fn mixed_signs_and_short_series_are_rejected() {
    let d =
        critlab_physics::XyData::from_points(&[0.0, 1.0, 2.0, 3.0, 4.0], &[1.0, -1.0, 2.0, 3.0, 4.0], None).unwrap();
    assert!(divergence::fit(&d, &Default::default()).is_err());
    let d = critlab_physics::XyData::from_points(&[0.0, 1.0, 2.0], &[1.0, 2.0, 3.0], None).unwrap();
    assert!(divergence::fit(&d, &Default::default()).is_err());
}
