//! Noether charges (docs/theory.md §3): conserved by plain gradient descent with a tiny step, and
//! decaying as e^{−2λt} (rescale) and e^{−λt} (translation) under SGD with weight decay λ.
use super::{run, spec};
use critlab_core::{Activation, ModelKind, OptimizerKind, RunSpec};

/// Plain full-batch gradient descent with a tiny step: the discrete-time correction to
/// gradient flow is η²(‖g_in‖² − k‖g_out‖²) per step. What remains is f32 rounding of the
/// parameters: the translation charge, conserved exactly at any step size, drifts by about
/// 1e-4 of its size over these 3000 steps, and so do the rescale charges (worst neuron).
fn plain_gd(s: &mut RunSpec) {
    s.optimizer = OptimizerKind::Sgd;
    s.momentum = 0.0;
    s.weight_decay = 0.0;
    s.lr = 1e-3;
    s.steps = 3000;
    s.eval_every = 1000;
    s.neuron_charges = true;
}

/// max_j |Q_j(T) − Q_j(0)| / mean_j |Q_j(0)| over the metrics whose names start with `prefix`.
fn relative_drift(c: &super::Collect, prefix: &str) -> (usize, f64) {
    let names: Vec<&String> = c.0[&0].keys().filter(|k| k.starts_with(prefix)).collect();
    let first: Vec<f64> = names.iter().map(|n| c.series(0, n)[0]).collect();
    let last: Vec<f64> = names.iter().map(|n| *c.series(0, n).last().unwrap()).collect();
    let scale = first.iter().map(|v| v.abs()).sum::<f64>() / first.len() as f64;
    let worst = first.iter().zip(&last).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    (names.len(), worst / scale)
}

#[test]
fn gradient_descent_with_a_tiny_step_conserves_every_rescale_charge_with_its_degree() {
    for activation in [Activation::Relu, Activation::Quadratic] {
        let s = spec(|s| {
            plain_gd(s);
            s.depth = 2;
            s.activation = activation;
        });
        let (_, c) = run(&[s]);
        for layer in ["layer0", "layer1"] {
            let (n, drift) = relative_drift(&c, &format!("charge_rescale/{layer}/n"));
            assert_eq!(n, 32, "{activation:?} {layer}: one charge per neuron");
            assert!(drift < 5e-4, "{activation:?} {layer}: relative drift {drift:e}");
        }
        // The parameters did move: the squared weight norm changed far more than any charge.
        let w = c.series(0, "weight_norm");
        let moved = (w.last().unwrap().powi(2) - w[0].powi(2)).abs() / w[0].powi(2);
        assert!(moved > 3e-3, "{activation:?}: weights barely moved ({moved:e})");
        let (_, translation) = relative_drift(&c, "charge_translation/r");
        assert!(translation < 5e-4, "translation drift {translation:e}");
    }
}

/// Least-squares slope of ln y against x.
fn log_slope(points: &[(f64, f64)]) -> f64 {
    let n = points.len() as f64;
    let (mx, my) = points.iter().fold((0.0, 0.0), |(a, b), (x, y)| (a + x / n, b + y.ln() / n));
    let sxy: f64 = points.iter().map(|(x, y)| (x - mx) * (y.ln() - my)).sum();
    let sxx: f64 = points.iter().map(|(x, _)| (x - mx) * (x - mx)).sum();
    sxy / sxx
}

#[test]
fn weight_decay_makes_charges_decay_at_the_predicted_rates() {
    let (lr, lambda) = (0.01, 0.5);
    let s = spec(|s| {
        s.optimizer = OptimizerKind::Sgd;
        s.lr = lr;
        s.weight_decay = lambda;
        s.steps = 400;
        s.eval_every = 40;
    });
    let (_, c) = run(&[s]);
    let t = |name: &str| -> Vec<(f64, f64)> { c.0[&0][name].iter().map(|&(step, v)| (lr * step as f64, v)).collect() };
    let rescale = -log_slope(&t("charge_rescale/layer0"));
    let translation = -log_slope(&t("charge_translation"));
    assert!(
        (rescale / (2.0 * lambda) - 1.0).abs() < 0.02,
        "rescale decay rate {rescale}, expected 2λ = {}",
        2.0 * lambda
    );
    assert!((translation / lambda - 1.0).abs() < 0.01, "translation decay rate {translation}, expected λ = {lambda}");
}

#[test]
fn transformer_conserves_its_attention_gl_charges_per_head() {
    let s = spec(|s| {
        plain_gd(s);
        s.model = ModelKind::Transformer;
        s.p = 7;
        s.d_model = 16;
        s.heads = 2;
        s.d_mlp = 32;
        s.lr = 1e-2;
        s.steps = 100;
        s.eval_every = 50;
    });
    let (_, c) = run(&[s]);
    for name in
        ["charge_gl/head0", "charge_gl/head1", "charge_gl_vo/head0", "charge_gl_vo/head1", "charge_rescale/mlp.in"]
    {
        let v = c.series(0, name);
        let drift = (v.last().unwrap() - v[0]).abs() / v[0].abs();
        assert!(drift < 1e-3, "{name}: relative drift {drift:e} ({v:?})");
    }
}
