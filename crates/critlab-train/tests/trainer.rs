//! The trainer on every task and model, replicas, divergence and reproducibility.
use critlab_core::{BatchSize, ModelKind, OptimizerKind, RunSpec, RunStatus, TaskKind, ValidRunSpec};
use critlab_train::{train, Observer};
use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;

/// Collects every measurement: replica → name → [(step, value)].
#[derive(Default)]
struct Collect(BTreeMap<usize, BTreeMap<String, Vec<(usize, f64)>>>);

impl Observer for Collect {
    fn record(&mut self, replica: usize, step: usize, values: Vec<(String, f64)>) {
        for (k, v) in values {
            self.0.entry(replica).or_default().entry(k).or_default().push((step, v));
        }
    }
}

impl Collect {
    fn series(&self, r: usize, name: &str) -> Vec<f64> {
        self.0[&r][name].iter().map(|(_, v)| *v).collect()
    }
}

fn spec(f: impl FnOnce(&mut RunSpec)) -> ValidRunSpec {
    let mut s = RunSpec { p: 11, width: 32, steps: 60, eval_every: 20, ..RunSpec::default() };
    f(&mut s);
    s.validate().unwrap()
}

fn run(specs: &[ValidRunSpec]) -> (Vec<critlab_train::Outcome>, Collect) {
    let mut c = Collect::default();
    let out = train(specs, &critlab_train::cpu_device(), &mut c, &AtomicBool::new(false)).unwrap();
    (out, c)
}

fn falls(c: &Collect, r: usize, name: &str) -> bool {
    let s = c.series(r, name);
    s.last().unwrap() < &(0.7 * s[0])
}

#[test]
fn transformer_loss_falls() {
    let s = spec(|s| {
        s.model = ModelKind::Transformer;
        s.d_model = 32;
        s.heads = 4;
        s.d_mlp = 64;
        s.lr = 3e-3;
    });
    let (out, c) = run(&[s]);
    assert_eq!(out[0].status, RunStatus::Done);
    assert!(falls(&c, 0, "train_loss"), "{:?}", c.series(0, "train_loss"));
}

#[test]
fn the_trainer_counts_the_time_and_cpu_of_its_probes() {
    // Probes every step: a large share of the run, and never more than all of it.
    let (out, _) = run(&[spec(|s| s.eval_every = 1)]);
    let o = &out[0];
    assert!(o.probe_seconds > 0.0 && o.probe_seconds <= o.wall_seconds, "{o:?}");
    assert!(o.probe_cpu_seconds > 0.05 * o.cpu_seconds && o.probe_cpu_seconds <= o.cpu_seconds, "{o:?}");
}

#[test]
fn every_task_trains_and_measures() {
    for task in
        [TaskKind::SparseParity, TaskKind::TeacherStudent, TaskKind::ModularDivision, TaskKind::ModularQuadratic]
    {
        let s = spec(|s| {
            s.task = task;
            s.samples = 400;
            s.parity_bits = 10;
            s.input_dim = 8;
            s.lr = 3e-3;
            s.steps = 100;
        });
        let (out, c) = run(&[s]);
        assert_eq!(out[0].status, RunStatus::Done, "{task:?}");
        assert!(falls(&c, 0, "train_loss"), "{task:?}: {:?}", c.series(0, "train_loss"));
        let v = c.series(0, "explained_variance");
        assert!(v.iter().all(|x| x.is_finite()), "{task:?}: {v:?}");
    }
}

#[test]
fn minibatch_sgd_with_momentum_and_embeddings() {
    let s = spec(|s| {
        s.batch_size = BatchSize::Examples(16);
        s.optimizer = OptimizerKind::Sgd;
        s.momentum = 0.9;
        s.lr = 0.05;
        s.input = critlab_core::InputEncoding::Embedding;
        s.embed_dim = 16;
        s.depth = 2;
        s.warmup_steps = 10;
    });
    let (out, c) = run(&[s]);
    assert_eq!(out[0].status, RunStatus::Done);
    assert!(falls(&c, 0, "train_loss"), "{:?}", c.series(0, "train_loss"));
    // Noise is real for minibatches: the two-batch trace is measured, B = 16.
    assert!(c.series(0, "potential_noise").iter().all(|x| x.is_finite()));
}

#[test]
fn replicas_match_runs_trained_alone() {
    let a = spec(|s| s.seed = 1);
    let b = spec(|s| {
        s.seed = 2;
        s.lr = 3e-3;
        s.weight_decay = 1.0;
    });
    let (_, together) = run(&[a.clone(), b.clone()]);
    let (_, alone_a) = run(&[a]);
    let (_, alone_b) = run(&[b]);
    for (r, alone) in [(0, &alone_a), (1, &alone_b)] {
        let x = together.series(r, "train_loss");
        let y = alone.series(0, "train_loss");
        for (p, q) in x.iter().zip(&y) {
            assert!((p - q).abs() <= 1e-4 * q.abs().max(1.0), "replica {r}: {x:?} vs {y:?}");
        }
    }
}

#[test]
fn a_diverging_replica_does_not_stop_its_batch_mates() {
    let good = spec(|s| s.seed = 1);
    let bad = spec(|s| {
        s.optimizer = OptimizerKind::Sgd;
        s.lr = 1e7;
        s.seed = 2;
    });
    let err = train(
        &[good.clone(), bad.clone()],
        &critlab_train::cpu_device(),
        &mut Collect::default(),
        &AtomicBool::new(false),
    );
    // SGD and AdamW cannot share a group: the optimizer is a group setting.
    assert!(err.unwrap_err().to_string().contains("optimizer"));
    // Adam moves each parameter by about η per step: η = 1e30 overflows f32 at once.
    let bad = spec(|s| {
        s.lr = 1e30;
        s.seed = 2;
    });
    let (out, c) = run(&[good.clone(), bad]);
    assert_eq!(out[1].status, RunStatus::Diverged, "{:?}", out[1]);
    assert_eq!(out[0].status, RunStatus::Done);
    let (_, alone) = run(&[good]);
    assert_eq!(c.series(0, "train_loss").len(), alone.series(0, "train_loss").len());
}

#[test]
fn same_seed_same_numbers() {
    let s = spec(|s| s.seed = 5);
    let (_, a) = run(&[s.clone()]);
    let (_, b) = run(&[s]);
    assert_eq!(a.0, b.0);
}

#[test]
fn plain_full_batch_gd_displacement_equals_kinetic() {
    // docs/theory.md §2: K̃ = K for full-batch plain gradient descent.
    let s = spec(|s| {
        s.optimizer = OptimizerKind::Sgd;
        s.lr = 0.1;
    });
    let (_, c) = run(&[s]);
    let k = c.series(0, "kinetic");
    let kd = c.series(0, "kinetic_displacement");
    for (a, b) in k.iter().zip(&kd) {
        assert!((a - b).abs() <= 1e-3 * a.abs(), "{k:?} vs {kd:?}");
    }
}

#[path = "conservation/mod.rs"]
mod conservation;

#[test]
fn linear_student_on_linear_teacher_memorises_then_generalises() {
    // Levi, Beck, Bar-Sinai 2024: r = d/N_train = 0.5, plain GD, accuracy = fraction with
    // squared error below ε. Train accuracy reaches 0.9 before test accuracy does.
    let s = spec(|s| {
        s.task = TaskKind::TeacherStudent;
        s.teacher_width = 0;
        s.noise = 0.0;
        s.input_dim = 20;
        s.samples = 440;
        s.train_frac = 40.0 / 440.0;
        s.depth = 0;
        s.bias = false;
        s.init_scale = 3f64.sqrt();
        s.optimizer = OptimizerKind::Sgd;
        s.lr = 0.05;
        s.accuracy_threshold = Some(1e-3);
        s.steps = 1500;
        s.eval_every = 10;
    });
    assert_eq!(s.n_train(), 40);
    let (out, c) = run(&[s]);
    assert_eq!(out[0].status, RunStatus::Done);
    let first = |name: &str| c.0[&0][name].iter().find(|(_, v)| *v >= 0.9).map(|(t, _)| *t);
    let (t_mem, t_grok) = (first("train_acc").expect("memorises"), first("test_acc").expect("generalises"));
    assert!(t_mem < t_grok, "t_mem {t_mem}, t_grok {t_grok}");
    assert!(c.series(0, "train_acc")[0] < 0.5, "{:?}", c.series(0, "train_acc"));
}

// ---- adaptive controllers (issue 15) ----

mod controllers {
    use super::*;
    use critlab_core::control::{CriticalOptions, GrokfastOptions, Knob, NormOptions, Observable, TemperatureOptions};
    use critlab_core::Controller;

    fn group() -> Vec<ValidRunSpec> {
        let base = |c: Controller| {
            spec(|s| {
                s.batch_size = BatchSize::Examples(32);
                s.weight_decay = 1.0;
                s.lr = 3e-3;
                s.steps = 80;
                s.eval_every = 10;
                s.controller = c;
            })
        };
        vec![
            base(Controller::None),
            base(Controller::Grokfast(GrokfastOptions::default())),
            base(Controller::Norm(NormOptions { ratio: 0.7 })),
            base(Controller::Temperature(TemperatureOptions {
                temperature: Some(1e-4),
                b_min: 8,
                ..Default::default()
            })),
            base(Controller::Critical(CriticalOptions { min: 0.1, max: 3.0, ..Default::default() })),
        ]
    }

    /// One replica group compares all four controllers with a fixed run; the same seeds give
    /// the same numbers, controllers log the knobs in effect, and each keeps its promise.
    #[test]
    fn one_group_compares_controllers_reproducibly() {
        let specs = group();
        let (out, a) = run(&specs);
        let (_, b) = run(&specs);
        assert!(out.iter().all(|o| o.status == RunStatus::Done), "{out:?}");
        assert_eq!(a.0, b.0, "same seeds, same numbers");
        assert!(!a.0[&0].contains_key("lr"), "a fixed run logs no knobs");
        for r in 1..5 {
            for k in ["lr", "batch_size", "weight_decay"] {
                assert_eq!(
                    a.series(r, k).len(),
                    a.series(r, "train_loss").len(),
                    "replica {r} logs {k} every eval step"
                );
            }
        }
        // Omnigrok: the norm sits on its sphere.
        let norm = a.series(2, "weight_norm");
        assert!(norm.iter().all(|n| (n / norm[0] - 1.0).abs() < 1e-4), "{norm:?}");
        // Temperature: η/B is held at its target from the first update on (η starts at T·B,
        // not at the spec's lr) while B moves within its bounds.
        let (lr, bs) = (a.series(3, "lr"), a.series(3, "batch_size"));
        assert!(lr.iter().zip(&bs).all(|(l, b)| (l / b - 1e-4).abs() < 1e-12), "{lr:?} {bs:?}");
        assert!(bs.iter().all(|b| (8.0..=264.0).contains(b)) && bs.iter().any(|b| *b != 32.0), "{bs:?}");
        // Critical: λ moves within [0.1, 3].
        let wd = a.series(4, "weight_decay");
        assert!(wd.iter().all(|w| (0.1..=3.0).contains(w)) && wd.iter().any(|w| *w != 1.0), "{wd:?}");
        // Grokfast changed the trajectory of an otherwise identical run.
        assert_ne!(a.series(0, "train_loss"), a.series(1, "train_loss"));
    }

    /// A controller that pushes η up until the run blows up: the run is recorded as diverged
    /// with the controller's last action in its reason, and its batch-mates go on.
    #[test]
    fn a_run_that_diverges_under_control_names_the_last_action() {
        let wild = Controller::Critical(CriticalOptions {
            observable: Observable::TrainLoss,
            knob: Knob::Lr,
            target: 1e6,
            min: 0.01,
            max: 1e6,
            rate: 3.0,
            gain: 10.0,
        });
        let mk = |c: Controller| {
            spec(|s| {
                s.optimizer = OptimizerKind::Sgd;
                s.lr = 0.1;
                s.steps = 100;
                s.eval_every = 5;
                s.divergence_factor = 3.0;
                s.controller = c;
            })
        };
        let (out, _) = run(&[mk(wild), mk(Controller::None)]);
        assert_eq!(out[0].status, RunStatus::Diverged, "{out:?}");
        let reason = out[0].reason.as_deref().unwrap();
        assert!(reason.contains("last controller action: critical"), "{reason}");
        assert_eq!(out[1].status, RunStatus::Done);
    }
}

/// Nanda et al.'s restricted and excluded losses read every example's logits in data-set
/// order, gathered from the training and test passes of each replica's own split: once two
/// replicas with different splits have memorised (a + b) mod 23, the excluded loss on their
/// training rows is far below ln p (a row put at the wrong example would be scored against the
/// wrong answer, about ln p or worse), and the restricted loss has fallen from ln p.
#[test]
fn restricted_and_excluded_losses_follow_each_replicas_split() {
    let specs: Vec<ValidRunSpec> = (0..2)
        .map(|seed| {
            spec(|s| {
                s.p = 23;
                s.width = 64;
                s.train_frac = 0.6;
                s.lr = 1e-2;
                s.steps = 300;
                s.eval_every = 100;
                s.seed = seed;
            })
        })
        .collect();
    let (out, c) = run(&specs);
    let ln_p = 23f64.ln();
    for r in 0..2 {
        assert_eq!(out[r].status, RunStatus::Done);
        assert_eq!(*c.series(r, "train_acc").last().unwrap(), 1.0);
        let (restricted, excluded) = (c.series(r, "restricted_loss"), c.series(r, "excluded_loss"));
        assert!((restricted[0] - ln_p).abs() < 0.1 && (excluded[0] - ln_p).abs() < 0.1, "{restricted:?} {excluded:?}");
        assert!(*excluded.last().unwrap() < 0.3 * ln_p, "replica {r}: {excluded:?}");
        assert!(*restricted.last().unwrap() < 0.9 * ln_p, "replica {r}: {restricted:?}");
    }
}
