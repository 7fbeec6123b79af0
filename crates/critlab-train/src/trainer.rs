//! The trainer: moves the parameters of R replicas at once and hands measurements to probes.
//!
//! Roles are kept apart (STYLE.md): the task and model say what is learned, the trainer how
//! parameters move, probes what is measured, and the [`Observer`] (the store writer, a
//! progress bar) what happens to the measurements.
//!
//! Step convention: metrics recorded at step t describe θ_t, the parameters before update t;
//! eval steps are t = 0, e, 2e, … and the final t = τ (after the last update).
use crate::batch::Batch;
use crate::control::{Controllers, Knobs};
use crate::curvature;
use crate::loss;
use crate::models::{self, Init, InputShape, LossAndGrad, Model, Role};
use crate::optim::Optimizer;
use crate::probes::{self, HostMatrix, Measurements};
use crate::symmetry::{self, Topology};
use crate::tasks::{Dataset, Inputs, Split, Targets};
use burn::tensor::{Device, Tensor, TensorData};
use critlab_core::{BatchSize, LossKind, RunStatus, ValidRunSpec};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Receives what the trainer measures.
pub trait Observer {
    /// Measurements of replica `replica` at step `step`.
    fn record(&mut self, replica: usize, step: usize, values: Vec<(String, f64)>);
    /// Called after every optimizer step (for progress bars).
    fn on_step(&mut self, _step: usize) {}
    /// Whether a replica should stop now (e.g. its transition is complete); the default never
    /// stops.
    fn should_stop(&mut self, _replica: usize) -> bool {
        false
    }
    /// Whether a replica should stop now, with the status and reason to record; polled after
    /// every eval step. The default stops as `done` when [`Observer::should_stop`] says so
    /// ("stopped after the transition"); an observer that stops hopeless runs returns
    /// [`RunStatus::Stopped`] with its own reason.
    fn stop(&mut self, replica: usize, step: usize) -> Option<(RunStatus, String)> {
        self.should_stop(replica).then(|| (RunStatus::Done, format!("stopped after the transition at step {step}")))
    }
}

/// How a replica's training ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// `done`, `diverged` or `failed` (interrupted, or the backend failed mid-run).
    pub status: RunStatus,
    /// Why it diverged or stopped.
    pub reason: Option<String>,
    /// Optimizer steps taken.
    pub steps: usize,
    /// Wall-clock seconds of the whole group.
    pub wall_seconds: f64,
    /// Seconds of that spent in probes (eval work beyond the training step).
    pub probe_seconds: f64,
    /// CPU seconds (user + system, all threads) the process used while the group trained: the
    /// group's own where it is the process's only work (`critlab train`, `critlab bench`);
    /// in a sweep, whose workers share one process, it counts theirs too.
    pub cpu_seconds: f64,
    /// CPU seconds of that used in probes, counted like `cpu_seconds` (steadier than
    /// `probe_seconds` where other processes share the cores: it does not count waiting).
    pub probe_cpu_seconds: f64,
}

/// Errors that stop a whole replica group before it starts.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    /// Replicas that cannot share one batched computation.
    #[error("run specs cannot train as one replica group: they differ in `{key}`")]
    Incompatible {
        /// The first differing key.
        key: String,
    },
    /// No spec given.
    #[error("no run spec to train")]
    Empty,
}

/// A panic's message (`panic!` gives a `String` or a `&str`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Environment variable that makes the loop panic at the start of that step, as a backend
/// failing mid-run would: how the tests check that such a failure ends as a failed run with its
/// metrics kept, not as a crash.
pub const FAULT_AT_STEP: &str = "CRITLAB_FAULT_AT_STEP";

/// The part of a spec that replicas of one group must share: the spec's JSON with the
/// per-replica keys (`lr`, `weight-decay`, `seed`, `data-seed`, `init-scale`, `divergence-factor`,
/// `controller`) removed.
pub fn group_key(spec: &ValidRunSpec) -> String {
    let mut v = serde_json::to_value(spec.spec()).expect("a spec serializes");
    if let Some(obj) = v.as_object_mut() {
        for k in PER_REPLICA_KEYS {
            obj.remove(*k);
        }
    }
    v.to_string()
}

/// Keys that may differ between the replicas of one group.
pub const PER_REPLICA_KEYS: &[&str] =
    &["lr", "weight-decay", "seed", "data-seed", "init-scale", "divergence-factor", "controller"];

fn check_group(specs: &[ValidRunSpec]) -> Result<(), TrainError> {
    let first = serde_json::to_value(specs.first().ok_or(TrainError::Empty)?.spec()).expect("serializes");
    for s in &specs[1..] {
        let other = serde_json::to_value(s.spec()).expect("serializes");
        for (k, v) in first.as_object().expect("object") {
            if !PER_REPLICA_KEYS.contains(&k.as_str()) && other.get(k) != Some(v) {
                return Err(TrainError::Incompatible { key: k.clone() });
            }
        }
    }
    Ok(())
}

/// Per-replica data: its dataset and split.
struct ReplicaData {
    data: Dataset,
    split: Split,
}

/// Trains a group of compatible runs as replicas of one batched computation.
///
/// A replica is marked `diverged` at the step where its training loss becomes non-finite or
/// exceeds `divergence-factor` times its initial loss (loss explosion), or, at an eval step,
/// where its weights are not finite; it is then frozen and its batch-mates go on. `stop` is polled every step: when set, unfinished replicas
/// end as `failed` with reason "interrupted".
pub fn train(
    specs: &[ValidRunSpec],
    device: &Device,
    observer: &mut dyn Observer,
    stop: &AtomicBool,
) -> Result<Vec<Outcome>, TrainError> {
    check_group(specs)?;
    let started = Instant::now();
    let mut clock = Progress { step: 0, cpu_start: process_cpu_seconds(), probe_seconds: 0.0, probe_cpu_seconds: 0.0 };
    // A backend failing mid-run (a GPU lost, a kernel its adapter cannot compile) panics in
    // burn: the group's runs end `failed` at that step, like interrupted ones, and what the
    // observer was given before stays recorded.
    let status = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        train_group(specs, device, observer, stop, &mut clock)
    }))
    .unwrap_or_else(|panic| {
        let reason = format!("training failed at step {}: {}", clock.step, panic_message(panic.as_ref()));
        vec![Some((RunStatus::Failed, reason, clock.step)); specs.len()]
    });
    let wall = started.elapsed().as_secs_f64();
    let cpu_seconds = process_cpu_seconds() - clock.cpu_start;
    let Progress { probe_seconds, probe_cpu_seconds, .. } = clock;
    Ok(status
        .into_iter()
        .map(|s| {
            let (status, reason, steps) = match s {
                Some((st, reason, t)) => (st, Some(reason), t),
                None => (RunStatus::Done, None, specs[0].steps),
            };
            Outcome { status, reason, steps, wall_seconds: wall, probe_seconds, cpu_seconds, probe_cpu_seconds }
        })
        .collect())
}

/// Where [`train_group`] is and the clocks it keeps, readable after it panics.
struct Progress {
    /// The step the loop is in.
    step: usize,
    /// The process's CPU seconds when the loop started.
    cpu_start: f64,
    /// Wall seconds spent in probes so far.
    probe_seconds: f64,
    /// CPU seconds spent in probes so far.
    probe_cpu_seconds: f64,
}

/// How each replica ended, where it ended before the last step: status, reason, step.
type Ended = Option<(RunStatus, String, usize)>;

/// [`train`]'s loop: each replica's end (`None`: it ran all its steps).
fn train_group(
    specs: &[ValidRunSpec],
    device: &Device,
    observer: &mut dyn Observer,
    stop: &AtomicBool,
    clock: &mut Progress,
) -> Vec<Ended> {
    let fault_at: Option<usize> = std::env::var(FAULT_AT_STEP).ok().and_then(|v| v.parse().ok());
    let spec = &specs[0];
    let r = specs.len();
    let replicas: Vec<ReplicaData> = specs
        .iter()
        .map(|s| {
            let data = Dataset::generate(s);
            let split = data.split(s.train_frac, s.data_seed());
            ReplicaData { data, split }
        })
        .collect();
    let data_refs: Vec<&Dataset> = replicas.iter().map(|d| &d.data).collect();
    let input = input_shape(&replicas[0].data.inputs);
    let model = models::build(spec, input, replicas[0].data.outputs());
    let mut params = init_params(model.as_ref(), specs, device);
    let mut optimizer = Optimizer::new(specs, params.len(), device);
    let mut control = Controllers::new(specs, params.len(), device);
    control.project(&mut params, None);
    let loss_kind = spec.effective_loss();
    let regression = spec.task.is_regression();

    let train_idx: Vec<&[usize]> = replicas.iter().map(|d| d.split.train.as_slice()).collect();
    let test_idx: Vec<&[usize]> = replicas.iter().map(|d| d.split.test.as_slice()).collect();
    let full_train = Batch::gather(&data_refs, &train_idx, device);
    let test = Batch::gather(&data_refs, &test_idx, device);
    let n_train = spec.n_train();
    // Per-replica B: equal at the start (batch-size is shared by a group); a temperature
    // controller changes its replica's.
    let mut batch_sizes: Vec<usize> = specs.iter().map(|s| s.batch()).collect();
    for (i, s) in specs.iter().enumerate() {
        let k = control.start(i, Knobs { lr: s.lr, batch: batch_sizes[i], weight_decay: s.weight_decay });
        optimizer.set_knobs(i, k.lr, k.weight_decay);
        batch_sizes[i] = k.batch;
    }
    let minibatch = control.variable_batch() || matches!(spec.batch_size, BatchSize::Examples(b) if b < n_train);
    let label_entropy: Vec<f64> = replicas.iter().map(|d| d.data.label_entropy()).collect();
    let test_variance: Vec<f64> = replicas.iter().map(|d| d.data.target_variance(&d.split.test)).collect();
    let repr_samples = spec.repr_samples.min(spec.n_test());

    let mut batch_rngs: Vec<ChaCha8Rng> = specs.iter().map(|s| stream(s.seed, 1)).collect();
    let mut noise_rngs: Vec<ChaCha8Rng> = specs.iter().map(|s| stream(s.seed, 2)).collect();
    let mut commutator_rngs: Vec<ChaCha8Rng> = specs.iter().map(|s| stream(s.seed, 3)).collect();
    let mut orders: Vec<Vec<usize>> = vec![Vec::new(); r];
    let mut cursors = vec![0usize; r];

    let mut probes = probes::default_probes(r);
    let topology = Topology { layers: model.layers(), softmax_output: loss_kind == LossKind::CrossEntropy };
    probes.push(Box::new(probes::noether::Charges::new(symmetry::detect(&topology), spec.neuron_charges)));
    if let (InputShape::Tokens { vocab, positions }, true) = (input, spec.task.is_modular()) {
        probes.push(Box::new(probes::fourier::FourierSparsity::new(vocab, positions)));
    }
    // Restricted and excluded loss read every example's logits: recorded for modular
    // classification only.
    let modular_classes = spec.task.is_modular() && loss_kind == LossKind::CrossEntropy;
    if let (true, Targets::Classes { labels, .. }) = (modular_classes, &replicas[0].data.targets) {
        let masks = replicas.iter().map(|d| d.split.train_mask(labels.len())).collect();
        probes.push(Box::new(probes::fourier_losses::FourierLosses::new(spec.p, labels.clone(), masks)));
    }
    // The sharpness probe (docs/theory.md §11), on its own cadence and its own random streams.
    let mut sharpness = spec.sharpness_every.map(|_| curvature::Meter::new(specs, &data_refs, &train_idx, device));
    if sharpness.is_some() {
        probes.extend(probes::sharpness_probes());
    }
    let param_names: Vec<String> = model.params().iter().map(|p| p.name.clone()).collect();
    let mut status: Vec<Ended> = vec![None; r];
    // CPU time counts the loop, not the data and probes set up above.
    clock.cpu_start = process_cpu_seconds();
    let mut initial_loss: Vec<f64> = Vec::new();
    let steps = spec.steps;

    for t in 0..=steps {
        clock.step = t;
        if fault_at == Some(t) {
            panic!("fault injected at step {t} by {FAULT_AT_STEP}");
        }
        let eval = t % spec.eval_every == 0 || t == steps;
        if stop.load(Ordering::Relaxed) {
            for s in status.iter_mut().filter(|s| s.is_none()) {
                *s = Some((RunStatus::Failed, format!("interrupted at step {t}"), t));
            }
            break;
        }
        // The batch of this step.
        // When every replica's B is the whole training set (a temperature controller at its
        // ceiling), the step is a full-batch step: no permutation is drawn or gathered.
        let whole = batch_sizes.iter().all(|&b| b == n_train);
        let step_batch = if minibatch && !whole && t < steps {
            // Each replica walks its own seeded permutation of its training set in steps of its
            // B, reshuffling when fewer than B examples are left (so a changing B keeps the
            // order reproducible); smaller batches are padded to the largest with weight 0.
            let n_max = *batch_sizes.iter().max().expect("one replica at least");
            let mut idx: Vec<Vec<usize>> = Vec::with_capacity(r);
            for i in 0..r {
                let b = batch_sizes[i];
                if cursors[i] + b > n_train || orders[i].is_empty() {
                    orders[i] = replicas[i].split.train.clone();
                    orders[i].shuffle(&mut batch_rngs[i]);
                    cursors[i] = 0;
                }
                let own = &orders[i][cursors[i]..cursors[i] + b];
                idx.push(own.iter().cycle().take(n_max).copied().collect());
                cursors[i] += b;
            }
            let refs: Vec<&[usize]> = idx.iter().map(Vec::as_slice).collect();
            Some(Batch::gather_weighted(&data_refs, &refs, &batch_sizes, device))
        } else {
            None
        };
        let batch = step_batch.as_ref().unwrap_or(&full_train);

        let (losses, grads, logits) = loss_and_grad(model.as_ref(), &params, batch, loss_kind);
        let losses_host = host(losses);
        if t == 0 {
            initial_loss.clone_from(&losses_host);
        }
        let mut fresh_divergence = false;
        for (i, &l) in losses_host.iter().enumerate() {
            if status[i].is_some() {
                continue;
            }
            if let Some(reason) = divergence(l, initial_loss[i], specs[i].divergence_factor, t) {
                status[i] = Some((RunStatus::Diverged, with_action(reason, &control, i), t));
                optimizer.freeze(i);
                fresh_divergence = true;
            }
        }
        if fresh_divergence && status.iter().all(|s| s.is_some()) {
            break;
        }

        let mut measured: Option<Vec<Measurements>> = None;
        if eval {
            let (probe_start, probe_cpu_start) = (Instant::now(), process_cpu_seconds());
            let lr = optimizer.current_lr();
            // Full training-set loss, accuracy and gradient.
            let (train_loss, train_acc, grads_full, train_logits) = if minibatch && !whole {
                let (l, g, logits) = loss_and_grad(model.as_ref(), &params, &full_train, loss_kind);
                (host(l), loss::accuracy(logits.clone(), &full_train, spec.accuracy_threshold).map(host), g, logits)
            } else {
                let acc = loss::accuracy(logits.clone(), &full_train, spec.accuracy_threshold).map(host);
                (losses_host.clone(), acc, grads.clone(), logits)
            };
            let grad_sq = sq_norms(&grads_full);
            let param_grad_sq = sq_norms_each(&grads_full);
            // Two-batch noise estimator: one small batch drawn without replacement.
            let b_small = spec.noise_batch();
            let small_idx: Vec<Vec<usize>> = replicas
                .iter()
                .zip(noise_rngs.iter_mut())
                .map(|(d, rng)| d.split.train.choose_multiple(rng, b_small).copied().collect())
                .collect();
            let small_refs: Vec<&[usize]> = small_idx.iter().map(Vec::as_slice).collect();
            let small = Batch::gather(&data_refs, &small_refs, device);
            let (_, g_small, _) = loss_and_grad(model.as_ref(), &params, &small, loss_kind);
            let small_sq = sq_norms(&g_small);
            // Commutator defect of two minibatch steps (Xu 2026): a second small batch B from its
            // own stream, so the noise batches above are unchanged.
            let other_idx: Vec<Vec<usize>> = replicas
                .iter()
                .zip(commutator_rngs.iter_mut())
                .map(|(d, rng)| d.split.train.choose_multiple(rng, b_small).copied().collect())
                .collect();
            let other_refs: Vec<&[usize]> = other_idx.iter().map(Vec::as_slice).collect();
            let other = Batch::gather(&data_refs, &other_refs, device);
            let defect = commutator_defect(model.as_ref(), &params, &small, &other, &g_small, &lr, loss_kind, device);
            // Test set.
            let fwd = model.forward(&params, &test);
            let test_loss = host(loss::per_replica(loss_kind, fwd.logits.clone(), &test));
            let test_acc = loss::accuracy(fwd.logits.clone(), &test, spec.accuracy_threshold).map(host);
            // The explained variance needs the test cross-entropy, which is the test loss
            // unless the run trains on MSE.
            let test_ce = test.labels.as_ref().map(|l| match loss_kind {
                critlab_core::LossKind::CrossEntropy => test_loss.clone(),
                critlab_core::LossKind::Mse => host(loss::cross_entropy(fwd.logits.clone(), l.clone())),
            });
            // Regression always trains on MSE, so the test loss is the test MSE of R².
            let test_r2 = regression.then(|| loss::r_squared(&test_loss, &test_variance));
            let curvature = match &mut sharpness {
                Some(meter) if spec.sharpness_due(t) => meter
                    .measure(model.as_ref(), &params, &full_train, loss_kind, &optimizer)
                    .into_iter()
                    .map(Some)
                    .collect(),
                _ => vec![None; r],
            };
            let weight_sq = sq_norms(&params);
            for (i, w) in weight_sq.iter().enumerate() {
                if status[i].is_none() && !w.is_finite() {
                    let reason = format!("the weights are not finite (‖θ‖² = {w}) at step {t}");
                    status[i] = Some((RunStatus::Diverged, with_action(reason, &control, i), t));
                    optimizer.freeze(i);
                }
            }
            // Each replica's matrix moves into its measurements (taken in replica order below).
            let mut all_logits = modular_classes.then(|| {
                dataset_logits(train_logits, fwd.logits.clone(), &train_idx, &test_idx, replicas[0].data.len())
                    .into_iter()
            });
            let hidden = host_matrices(fwd.hidden.slice([0..r, 0..repr_samples]));
            let weights = param_matrices(model.as_ref(), &params, |role| role != Role::Bias);
            let biases = param_matrices(model.as_ref(), &params, |role| role == Role::Bias);
            measured = Some(
                (0..r)
                    .map(|i| Measurements {
                        step: t,
                        lr: lr[i],
                        batch: batch_sizes[i],
                        n_train,
                        noise_batch: b_small,
                        train_loss: train_loss[i],
                        train_acc: train_acc.as_ref().map(|a| a[i]),
                        test_loss: test_loss[i],
                        test_acc: test_acc.as_ref().map(|a| a[i]),
                        test_cross_entropy: test_ce.as_ref().map(|c| c[i]),
                        label_entropy: label_entropy[i],
                        test_r2: test_r2.as_ref().map(|v| v[i]),
                        grad_sq: grad_sq[i],
                        small_grad_sq: small_sq[i],
                        commutator_defect: defect[i],
                        displacement_sq: None,
                        weight_sq: weight_sq[i],
                        weights: weights.iter().map(|(n, m)| (n.clone(), m[i].clone())).collect(),
                        biases: biases.iter().map(|(n, m)| (n.clone(), m[i].clone())).collect(),
                        param_grad_sq: param_names.iter().cloned().zip(param_grad_sq[i].iter().copied()).collect(),
                        hidden: hidden[i].clone(),
                        modulus: spec.task.is_modular().then_some(spec.p),
                        logits: all_logits.as_mut().and_then(Iterator::next),
                        hidden_spectra: Default::default(),
                        curvature: curvature[i].clone(),
                    })
                    .collect(),
            );
            clock.probe_seconds += probe_start.elapsed().as_secs_f64();
            clock.probe_cpu_seconds += process_cpu_seconds() - probe_cpu_start;
        }

        let before = measured.as_ref().map(|_| params.clone());
        if t < steps {
            optimizer.step(&mut params, control.filter(grads));
            control.project(&mut params, Some(t));
        }
        if let Some(mut ms) = measured {
            let (probe_start, probe_cpu_start) = (Instant::now(), process_cpu_seconds());
            if let (Some(before), true) = (before, t < steps) {
                let diffs: Vec<Tensor<3>> = params.iter().zip(before).map(|(a, b)| a.clone() - b).collect();
                for (m, d) in ms.iter_mut().zip(sq_norms(&diffs)) {
                    m.displacement_sq = Some(d);
                }
            }
            for (i, m) in ms.iter().enumerate() {
                if status[i].is_none() {
                    let mut values = probes::measure_all(&mut probes, m, i);
                    if control.active(i) {
                        // The knobs in effect for update t.
                        let wd = optimizer.knobs(i).1;
                        values.extend([
                            ("lr".into(), m.lr),
                            ("batch_size".into(), m.batch as f64),
                            ("weight_decay".into(), wd),
                        ]);
                    }
                    observer.record(i, t, values);
                }
            }
            // Eval-step controllers set the knobs of the updates after t.
            for (i, m) in ms.iter().enumerate() {
                if t < steps && status[i].is_none() && control.active(i) {
                    let (lr, weight_decay) = optimizer.knobs(i);
                    let next = control.act(i, t, m, Knobs { lr, batch: batch_sizes[i], weight_decay });
                    optimizer.set_knobs(i, next.lr, next.weight_decay);
                    batch_sizes[i] = next.batch;
                }
            }
            clock.probe_seconds += probe_start.elapsed().as_secs_f64();
            clock.probe_cpu_seconds += process_cpu_seconds() - probe_cpu_start;
            for (i, s) in status.iter_mut().enumerate() {
                if s.is_none() {
                    if let Some((status, reason)) = observer.stop(i, t) {
                        *s = Some((status, reason, t));
                        optimizer.freeze(i);
                    }
                }
            }
            if status.iter().all(|s| s.is_some()) {
                break;
            }
        }
        observer.on_step(t);
    }
    status
}

/// CPU seconds (user + system) used so far by all threads of this process.
fn process_cpu_seconds() -> f64 {
    let mut ts = libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime writes the timespec it is given; this clock exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

/// Why a replica with training loss `loss` at step `t` has diverged, if it has: the loss is
/// not finite, or it exceeds `factor` × `initial` (factor 0 turns that rule off; an initial
/// loss of 0 cannot be exceeded by a factor).
pub fn divergence(loss: f64, initial: f64, factor: f64, t: usize) -> Option<String> {
    if !loss.is_finite() {
        return Some(format!("train_loss is {loss} at step {t}"));
    }
    if factor > 0.0 && initial > 0.0 && loss > factor * initial {
        return Some(format!(
            "loss explosion: train_loss {loss:.4e} at step {t} is more than {factor} × its initial value {initial:.4e} (divergence-factor)"
        ));
    }
    None
}

/// A divergence reason with the replica's last controller action, if it had one.
fn with_action(reason: String, control: &Controllers, replica: usize) -> String {
    match control.last_action(replica) {
        Some(a) => format!("{reason}; last controller action: {a}"),
        None => reason,
    }
}

/// An independent random stream of a seed (0: init, 1: batch order, 2: noise batches, 3: the
/// commutator's batches, 4 and 5: the sharpness probe's start vectors and subset).
pub(crate) fn stream(seed: u64, purpose: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(purpose);
    rng
}

/// The model input shape of a task's inputs.
pub(crate) fn input_shape(inputs: &Inputs) -> InputShape {
    match inputs {
        Inputs::Tokens { vocab, positions, .. } => InputShape::Tokens { vocab: *vocab, positions: *positions },
        Inputs::Dense { dim, .. } => InputShape::Dense(*dim),
    }
}

/// Initialises every parameter on the host from each replica's seed, then stacks replicas.
fn init_params(model: &dyn Model, specs: &[ValidRunSpec], device: &Device) -> Vec<Tensor<3>> {
    model
        .params()
        .iter()
        .zip(init_values(model, specs))
        .map(|(p, values)| Tensor::from_data(TensorData::new(values, [specs.len(), p.rows, p.cols]), device))
        .collect()
}

/// The initial values of every parameter, `[R, rows, cols]` row-major per parameter, each
/// replica drawn from its own seed's init stream (shared by [`init_params`] and
/// [`crate::export::initial_state`], so an exported initial state is the trained one).
pub(crate) fn init_values(model: &dyn Model, specs: &[ValidRunSpec]) -> Vec<Vec<f32>> {
    let mut rngs: Vec<ChaCha8Rng> = specs.iter().map(|s| stream(s.seed, 0)).collect();
    model
        .params()
        .iter()
        .map(|p| {
            let mut values = Vec::with_capacity(specs.len() * p.rows * p.cols);
            for (rng, s) in rngs.iter_mut().zip(specs) {
                let scale = s.init_scale;
                for _ in 0..p.rows * p.cols {
                    let v = match p.init {
                        Init::Uniform(b) => rng.gen_range(-b..b),
                        Init::Normal(sd) => sd * Distribution::<f64>::sample(&StandardNormal, rng),
                        Init::Zeros => 0.0,
                    };
                    values.push((v * scale) as f32);
                }
            }
            values
        })
        .collect()
}

/// Forward and backward: per-replica losses `[R,1,1]`, gradients (without autodiff) and the
/// logits (without autodiff).
pub(crate) fn loss_and_grad(
    model: &dyn Model,
    params: &[Tensor<3>],
    batch: &Batch,
    kind: critlab_core::LossKind,
) -> LossAndGrad {
    if let Some(done) = model.cpu_loss_and_grad(params, batch, kind) {
        return done;
    }
    let tracked: Vec<Tensor<3>> = params.iter().map(|p| p.clone().autodiff().require_grad()).collect();
    let fwd = model.forward(&tracked, batch);
    let losses = loss::per_replica(kind, fwd.logits.clone(), batch);
    let grads = losses.clone().sum().backward();
    let g = tracked.iter().map(|p| p.grad(&grads).unwrap_or_else(|| p.clone().inner().zeros_like())).collect();
    (losses.inner(), g, fwd.logits.inner())
}

/// The normalised commutator defect of two minibatch SGD steps A and B at θ (Xu 2026, arXiv
/// 2602.16967), per replica: with θ_A = θ − η g_A(θ), θ_B = θ − η g_B(θ), the two orders of the
/// steps differ by δ = η[g_A(θ_B) − g_A(θ)] − η[g_B(θ_A) − g_B(θ)] = η²(H_B g_A − H_A g_B) + O(η³),
/// and D = ‖δ‖ / (η² ‖g_A‖ ‖g_B‖) (NaN where a gradient vanishes). Three extra gradients per
/// eval step on batches of the noise estimator's size.
#[allow(clippy::too_many_arguments)]
fn commutator_defect(
    model: &dyn Model,
    params: &[Tensor<3>],
    a: &Batch,
    b: &Batch,
    g_a: &[Tensor<3>],
    lr: &[f64],
    kind: critlab_core::LossKind,
    device: &Device,
) -> Vec<f64> {
    let r = lr.len();
    let eta =
        Tensor::<3>::from_data(TensorData::new(lr.iter().map(|&l| l as f32).collect::<Vec<_>>(), [r, 1, 1]), device);
    let (_, g_b, _) = loss_and_grad(model, params, b, kind);
    let step = |g: &[Tensor<3>]| -> Vec<Tensor<3>> {
        params.iter().zip(g).map(|(p, g)| p.clone() - g.clone() * eta.clone()).collect()
    };
    let (_, g_a_at_b, _) = loss_and_grad(model, &step(&g_b), a, kind);
    let (_, g_b_at_a, _) = loss_and_grad(model, &step(g_a), b, kind);
    let delta: Vec<Tensor<3>> = (0..params.len())
        .map(|p| ((g_a_at_b[p].clone() - g_a[p].clone()) - (g_b_at_a[p].clone() - g_b[p].clone())) * eta.clone())
        .collect();
    let (d, na, nb) = (sq_norms(&delta), sq_norms(g_a), sq_norms(&g_b));
    (0..r)
        .map(|i| {
            let denom = lr[i] * lr[i] * (na[i] * nb[i]).sqrt();
            if denom > 0.0 {
                d[i].sqrt() / denom
            } else {
                f64::NAN
            }
        })
        .collect()
}

/// Per-replica Σ‖t‖² over a list of `[R, a, b]` tensors.
pub(crate) fn sq_norms(ts: &[Tensor<3>]) -> Vec<f64> {
    let total =
        ts.iter().map(|t| t.clone().square().sum_dims(&[1, 2])).reduce(|a, b| a + b).expect("at least one parameter");
    host(total)
}

/// Per-replica ‖t_p‖² of each tensor p of a list of `[R, a, b]` tensors: `[R][P]`.
fn sq_norms_each(ts: &[Tensor<3>]) -> Vec<Vec<f64>> {
    let each = Tensor::cat(ts.iter().map(|t| t.clone().square().sum_dims(&[1, 2])).collect(), 1);
    host(each).chunks(ts.len()).map(<[f64]>::to_vec).collect()
}

/// A `[R, 1, 1]` (or any) tensor as f64 values on the host.
fn host(t: Tensor<3>) -> Vec<f64> {
    t.try_into_vec_as::<f32>().expect("reading a float tensor").into_iter().map(f64::from).collect()
}

/// A `[R, a, b]` tensor as R host matrices.
fn host_matrices(t: Tensor<3>) -> Vec<HostMatrix> {
    let [r, rows, cols] = t.dims();
    let v = t.try_into_vec_as::<f32>().expect("reading a float tensor");
    v.chunks(rows * cols).take(r).map(|c| HostMatrix { rows, cols, values: c.to_vec() }).collect()
}

/// Every replica's logits in data-set order (`examples` rows), from its training-set logits
/// (rows in the order of `train_idx`) and test-set logits (rows in the order of `test_idx`).
fn dataset_logits(
    train: Tensor<3>,
    test: Tensor<3>,
    train_idx: &[&[usize]],
    test_idx: &[&[usize]],
    examples: usize,
) -> Vec<HostMatrix> {
    let (train, test) = (host_matrices(train), host_matrices(test));
    train
        .iter()
        .zip(&test)
        .zip(train_idx.iter().zip(test_idx))
        .map(|((a, b), (ia, ib))| {
            let cols = a.cols;
            let mut values = vec![0.0f32; examples * cols];
            for (part, idx) in [(a, ia), (b, ib)] {
                for (row, &n) in part.values.chunks_exact(cols).zip(idx.iter()) {
                    values[n * cols..(n + 1) * cols].copy_from_slice(row);
                }
            }
            HostMatrix { rows: examples, cols, values }
        })
        .collect()
}

/// The matrices of every replica whose role passes `keep`, by parameter name.
fn param_matrices(
    model: &dyn Model,
    params: &[Tensor<3>],
    keep: impl Fn(Role) -> bool,
) -> Vec<(String, Vec<HostMatrix>)> {
    model
        .params()
        .iter()
        .zip(params)
        .filter(|(p, _)| keep(p.role))
        .map(|(p, t)| (p.name.clone(), host_matrices(t.clone())))
        .collect()
}
