//! The sharpness probe against known answers (docs/theory.md §11): the linear student's exact
//! Hessian (2/n)XᵀX from the exported data, and a tiny MLP's dense finite-difference Hessian.
use burn::tensor::{Tensor, TensorData};
use critlab_core::{LossKind, OptimizerKind, RunSpec, RunStatus, TaskKind, ValidRunSpec};
use critlab_train::batch::Batch;
use critlab_train::curvature::{self, Surface};
use critlab_train::export::initial_state;
use critlab_train::tasks::{Dataset, Inputs};
use critlab_train::{models, train, Observer};
use nalgebra::{DMatrix, SymmetricEigen};
use rand::SeedableRng;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

#[derive(Default)]
struct Collect(BTreeMap<String, Vec<(usize, f64)>>);

impl Observer for Collect {
    fn record(&mut self, _: usize, step: usize, values: Vec<(String, f64)>) {
        for (k, v) in values {
            self.0.entry(k).or_default().push((step, v));
        }
    }
}

fn run(spec: &ValidRunSpec) -> (RunStatus, Collect) {
    let mut c = Collect::default();
    let out = train(std::slice::from_ref(spec), &critlab_train::cpu_device(), &mut c, &AtomicBool::new(false)).unwrap();
    (out[0].status, c)
}

fn linear_student(f: impl FnOnce(&mut RunSpec)) -> ValidRunSpec {
    let mut s = RunSpec {
        task: TaskKind::TeacherStudent,
        teacher_width: 0,
        depth: 0,
        bias: false,
        loss: LossKind::Mse,
        optimizer: OptimizerKind::Sgd,
        input_dim: 8,
        samples: 300,
        lr: 0.05,
        steps: 40,
        eval_every: 10,
        sharpness_every: Some(10),
        repr_samples: 16,
        ..RunSpec::default()
    };
    f(&mut s);
    s.validate().unwrap()
}

/// λ_max of (2/n)XᵀX over the training rows of the exported data, in f64.
fn exact_top(spec: &ValidRunSpec) -> Vec<f64> {
    let state = initial_state(spec);
    let Inputs::Dense { values, dim } = &state.inputs else { panic!("dense inputs") };
    let n = state.train.len();
    let x = DMatrix::from_fn(n, *dim, |i, j| f64::from(values[state.train[i] * dim + j]));
    let h = x.transpose() * &x * (2.0 / n as f64);
    let mut e: Vec<f64> = SymmetricEigen::new(h).eigenvalues.iter().copied().collect();
    e.sort_by(|a, b| b.total_cmp(a));
    e
}

#[test]
fn on_the_linear_student_the_sharpness_is_the_top_eigenvalue_of_2_over_n_xtx_at_every_step() {
    let spec = linear_student(|s| s.sharpness_top = Some(3));
    let want = exact_top(&spec);
    let (status, c) = run(&spec);
    assert_eq!(status, RunStatus::Done);
    let got = &c.0["sharpness"];
    assert_eq!(got.iter().map(|p| p.0).collect::<Vec<_>>(), [0, 10, 20, 30, 40]);
    for &(t, v) in got {
        assert!((v - want[0]).abs() <= 1e-4 * want[0], "step {t}: {v} against {}", want[0]);
    }
    for (i, w) in want.iter().take(3).enumerate() {
        for &(t, v) in &c.0[&format!("sharpness/{}", i + 1)] {
            assert!((v - w).abs() <= 1e-4 * want[0], "λ_{} at step {t}: {v} against {w}", i + 1);
        }
    }
    for (&(_, r), &(_, v)) in c.0["sharpness_ratio"].iter().zip(got) {
        assert!((r - v * 0.05 / 2.0).abs() < 1e-12);
    }
    assert!(!c.0.contains_key("sharpness_preconditioned"), "SGD has no preconditioner");
}

#[test]
fn the_probe_leaves_every_other_metric_bit_identical_and_off_stores_nothing() {
    let on = run(&linear_student(|_| {})).1;
    let off = run(&linear_student(|s| s.sharpness_every = None)).1;
    assert!(!off.0.keys().any(|k| k.starts_with("sharpness")));
    for (k, v) in &off.0 {
        let a: Vec<u64> = v.iter().map(|p| p.1.to_bits()).collect();
        let b: Vec<u64> = on.0[k].iter().map(|p| p.1.to_bits()).collect();
        assert_eq!(a, b, "{k}");
    }
}

#[test]
fn a_subset_probe_measures_its_own_examples() {
    // The top eigenvalue of a 40-example subset differs from the full set's.
    let spec = linear_student(|s| s.sharpness_examples = Some(40));
    let full = exact_top(&spec)[0];
    let (_, c) = run(&spec);
    let v = c.0["sharpness"][0].1;
    assert!(v.is_finite() && (v - full).abs() > 1e-3 * full, "{v} vs {full}");
}

#[test]
fn adam_stores_the_preconditioned_sharpness_after_its_first_update() {
    let spec = linear_student(|s| s.optimizer = OptimizerKind::Adam);
    let (_, c) = run(&spec);
    let p = &c.0["sharpness_preconditioned"];
    assert_eq!(p.iter().map(|p| p.0).collect::<Vec<_>>(), [10, 20, 30, 40]);
    let r = &c.0["sharpness_preconditioned_ratio"];
    for (a, b) in p.iter().zip(r) {
        assert!(a.1 > 0.0 && (b.1 - a.1 * 0.05 * 0.1 / 3.8).abs() < 1e-9 * a.1, "{a:?} {b:?}");
    }
}

#[test]
fn a_diverging_run_with_the_probe_ends_diverged_without_a_panic() {
    // η = 4/λ_max: twice the stability limit.
    let spec = linear_student(|s| s.lr = 1.0);
    let lr = 4.0 / exact_top(&spec)[0];
    let (status, c) = run(&linear_student(|s| {
        s.lr = lr;
        s.steps = 200;
    }));
    assert_eq!(status, RunStatus::Diverged);
    assert!(c.0["sharpness"].iter().all(|p| p.1.is_nan() || p.1 > 0.0));
}

#[test]
fn a_tiny_mlps_top_three_eigenvalues_match_its_dense_finite_difference_hessian() {
    let spec = RunSpec { p: 5, width: 8, sharpness_every: Some(100), sharpness_top: Some(3), ..RunSpec::default() };
    let spec = spec.validate().unwrap();
    let device = critlab_train::cpu_device();
    let state = initial_state(&spec);
    let params: Vec<Tensor<3>> = state
        .params
        .iter()
        .map(|p| Tensor::from_data(TensorData::new(p.values.clone(), [1, p.rows, p.cols]), &device))
        .collect();
    let data = Dataset::generate(&spec);
    let batch = Batch::gather(&[&data], &[state.train.as_slice()], &device);
    let model = models::build(&spec, critlab_train::budget::task_shape(&spec).0, data.outputs());
    let surface = Surface { model: model.as_ref(), params: &params, batch: &batch, loss: spec.effective_loss() };
    let n = surface.dim();
    assert_eq!(n, 10 * 8 + 8 + 8 * 5 + 5);
    // Dense H by central differences of the gradient along each coordinate (own step 1e-2).
    let theta = surface.theta();
    let h = 1e-2;
    let grad_at = |j: usize, s: f64| {
        let mut t = theta.clone();
        t[0][j] += s * h;
        let shifted = curvature::unflatten(&t, &params, &device);
        Surface { params: &shifted, ..surface }.gradient().remove(0)
    };
    let mut dense = DMatrix::zeros(n, n);
    for j in 0..n {
        let (a, b) = (grad_at(j, 1.0), grad_at(j, -1.0));
        for i in 0..n {
            dense[(i, j)] = (a[i] - b[i]) / (2.0 * h);
        }
    }
    let asym = (&dense - dense.transpose()).abs().max();
    let dense = (&dense + dense.transpose()) * 0.5;
    let mut want: Vec<f64> = SymmetricEigen::new(dense).eigenvalues.iter().copied().collect();
    want.sort_by(|a, b| b.total_cmp(a));
    let mut rngs = vec![rand_chacha::ChaCha8Rng::seed_from_u64(3)];
    let got = curvature::top_eigenvalues(&surface, 3, &mut rngs).remove(0);
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-3 * w.abs(), "{got:?} against {:?} (asymmetry {asym})", &want[..3]);
    }
    assert!(asym <= 1e-3 * want[0], "finite-difference asymmetry {asym} against λ_max {}", want[0]);
}
