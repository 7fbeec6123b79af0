//! The local executor: a pool of worker threads, each training one replica group at a time
//! (DESIGN.md "Replicas are first-class"), and one store writer fed by the main thread.
//!
//! Crash safety comes from the store: a run is `done` only in the transaction that commits
//! its last metrics. On start the executor takes the store's lock, deletes the runs of this
//! sweep that a killed or interrupted process left unfinished (their partial metrics are
//! recomputed bit for bit), and skips runs whose spec hash is already finished. Run rows are
//! created only when their group starts, so `running` rows are the groups in flight.
use crate::hopeless::{HopelessMonitor, StopRule};
use crate::plan::{Plan, PlanEntry};
use crate::{StoreLock, SweepError};
use critlab_core::{RunStatus, ValidRunSpec};
use critlab_store::{MetricRow, RunId, Store, StoreError};
use critlab_train::budget::{self, Budget, MemoryEstimate, MemoryLimit};
use critlab_train::{DeviceChoice, Observer};
use serde::Serialize;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::Instant;

/// Replica-group cap used when none is given. On the 2-core machine no layout between groups of
/// 8 and 64 was consistently fastest under load (BENCHMARKS.md, "Sweeps").
pub const DEFAULT_MAX_GROUP: usize = 32;

/// How the executor runs.
#[derive(Debug, Clone)]
pub struct Options {
    /// Worker threads, each training its own replica group.
    pub jobs: usize,
    /// Largest replica group.
    pub max_group: usize,
    /// Memory budget (`--max-memory`); `None` is the default budget ([`critlab_train::budget`]).
    pub memory: Option<MemoryLimit>,
    /// Stop runs a predictor finds hopeless (`--stop-hopeless P`).
    pub stop_hopeless: Option<StopRule>,
    /// Where the replica groups train (`--device`); every worker uses the same one.
    pub device: DeviceChoice,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            jobs: default_jobs(),
            max_group: DEFAULT_MAX_GROUP,
            memory: None,
            stop_hopeless: None,
            device: DeviceChoice::Cpu,
        }
    }
}

/// Refuses groups that would not fit in memory when `workers` of them train at once (the
/// largest ones, as a worst case), before any is allocated.
pub fn check_memory(
    plan: &Plan,
    groups: &[Vec<usize>],
    workers: usize,
    memory: Option<MemoryLimit>,
) -> Result<(), SweepError> {
    let budget = Budget::new(memory);
    let mut estimates: Vec<MemoryEstimate> =
        groups.iter().map(|g| budget::estimate_group(&plan.entries[g[0]].spec, g.len())).collect();
    estimates.sort_by(|a, b| b.total.total_cmp(&a.total));
    let at_once = workers.max(1).min(estimates.len());
    if at_once == 0 {
        return Ok(());
    }
    let largest = groups.iter().map(Vec::len).max().unwrap_or(0);
    let what = if at_once == 1 {
        format!("the sweep's largest replica group ({largest} runs)")
    } else {
        format!("the sweep's {at_once} largest replica groups trained at once (--jobs; groups of up to {largest} runs, --max-group)")
    };
    budget.check(&what, &MemoryEstimate::concurrent(&estimates[..at_once]))?;
    Ok(())
}

/// One worker per core (DESIGN.md; BENCHMARKS.md "Sweeps" has the measurement).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// What the executor reports while it runs (called on the caller's thread).
#[derive(Debug)]
pub enum Event<'a> {
    /// The work is known.
    Planned {
        /// Runs to train now.
        runs: usize,
        /// Runs skipped because they are already finished in the store.
        skipped: usize,
        /// Unfinished runs of an earlier attempt that were discarded and will be re-run.
        discarded: usize,
        /// Replica groups.
        groups: usize,
        /// Total replica-steps (Σ steps over runs), for progress and ETA.
        run_steps: u64,
    },
    /// Replica-steps progressed by this many.
    Steps(u64),
    /// A run ended and its end is queued for commit with its last metrics.
    Finished {
        /// The run.
        entry: &'a PlanEntry,
        /// How it ended.
        status: RunStatus,
        /// Why it diverged or failed.
        reason: Option<&'a str>,
    },
}

/// A run that failed.
#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    /// Plan index.
    pub index: usize,
    /// Spec hash.
    pub hash: String,
    /// Why.
    pub reason: String,
}

/// What one execution did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// Runs asked for.
    pub planned: usize,
    /// Already finished in the store, not re-run.
    pub skipped: usize,
    /// Unfinished runs of an earlier attempt, discarded and re-run.
    pub discarded: usize,
    /// Runs that finished their step budget.
    pub done: usize,
    /// Runs whose loss became non-finite.
    pub diverged: usize,
    /// Runs stopped early as hopeless (`--stop-hopeless`).
    pub stopped: usize,
    /// Optimizer steps not trained because runs were stopped early.
    pub steps_saved: u64,
    /// Runs that failed (errors, or interrupted by Ctrl-C).
    pub failed: usize,
    /// Runs not started because the sweep was interrupted.
    pub not_started: usize,
    /// Whether Ctrl-C (or a store error) stopped the sweep early.
    pub interrupted: bool,
    /// The failures, with reasons.
    pub failures: Vec<Failure>,
    /// Wall-clock seconds.
    pub wall_seconds: f64,
}

impl Report {
    /// Whether every run asked for is finished (done or diverged).
    pub fn complete(&self) -> bool {
        self.failed == 0 && self.not_started == 0 && !self.interrupted
    }
}

enum Msg {
    Metrics(Vec<MetricRow>),
    Steps { group: usize, n: u64 },
    Done { worker: usize, group: usize, results: Vec<(RunId, RunStatus, Option<String>, f64, usize)> },
}

struct Job {
    group: usize,
    specs: Vec<ValidRunSpec>,
    runs: Vec<RunId>,
}

/// Trains the plan entries `entries` into the store at `store_path`, resuming from what the
/// store already holds. A failed or diverged run never stops the others; `stop` (Ctrl-C)
/// stops gracefully: groups in flight end with their runs `failed` ("interrupted"), no new
/// group starts, and everything measured so far is committed.
pub fn execute(
    plan: &Plan,
    entries: &[usize],
    store_path: &Path,
    options: &Options,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<Report, SweepError> {
    let started = Instant::now();
    let device = options.device.open().map_err(|source| SweepError::Device { device: options.device, source })?;
    let _lock = StoreLock::acquire(store_path)?;
    let store = Store::open(store_path)?;
    let name = plan.name();
    plan.check_identity(&store)?;
    let finished = store.finished_runs(name)?;
    let todo: Vec<usize> = entries.iter().copied().filter(|&i| !finished.contains_key(&plan.entries[i].hash)).collect();
    let groups = plan.groups(&todo, options.max_group);
    check_memory(plan, &groups, options.jobs, options.memory)?;
    let discarded = store.discard_unfinished(name)?;
    let mut report =
        Report { planned: entries.len(), skipped: entries.len() - todo.len(), discarded, ..Report::default() };
    let run_steps = todo.iter().map(|&i| plan.entries[i].spec.steps as u64).sum();
    on_event(Event::Planned { runs: todo.len(), skipped: report.skipped, discarded, groups: groups.len(), run_steps });

    let mut writer = store.writer()?;
    let mut store_error: Option<StoreError> = None;
    let workers = options.jobs.max(1).min(groups.len());
    std::thread::scope(|scope| {
        let (tx, rx) = channel::<Msg>();
        let mut job_txs = Vec::with_capacity(workers);
        for w in 0..workers {
            let (job_tx, job_rx) = channel::<Job>();
            let tx = tx.clone();
            std::thread::Builder::new()
                .name(format!("critlab-sweep-{w}"))
                .spawn_scoped(scope, {
                    let (rule, device) = (options.stop_hopeless.clone(), device.clone());
                    move || worker(w, job_rx, tx, stop, rule, device)
                })
                .expect("spawning a sweep worker");
            job_txs.push(job_tx);
        }
        drop(tx);
        let mut next = 0usize;
        let mut in_flight = 0usize;
        let mut counted = vec![0u64; groups.len()];
        let dispatch = |w: usize, next: &mut usize, store_error: &mut Option<StoreError>| -> bool {
            if *next >= groups.len() || stop.load(Ordering::Relaxed) || store_error.is_some() {
                return false;
            }
            let group = *next;
            *next += 1;
            let specs: Vec<ValidRunSpec> = groups[group].iter().map(|&i| plan.entries[i].spec.clone()).collect();
            let runs: Result<Vec<RunId>, StoreError> =
                specs.iter().map(|s| store.create_run(s.spec(), Some(name), options.device.backend())).collect();
            match runs {
                Ok(runs) => job_txs[w].send(Job { group, specs, runs }).is_ok(),
                Err(e) => {
                    *store_error = Some(e);
                    stop.store(true, Ordering::Relaxed);
                    false
                }
            }
        };
        for w in 0..workers {
            if dispatch(w, &mut next, &mut store_error) {
                in_flight += 1;
            }
        }
        while in_flight > 0 {
            let Ok(msg) = rx.recv() else { break };
            match msg {
                Msg::Metrics(rows) => {
                    if let Err(e) = writer.metrics(rows) {
                        store_error.get_or_insert(e);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                Msg::Steps { group, n } => {
                    counted[group] += n;
                    on_event(Event::Steps(n));
                }
                Msg::Done { worker, group, results } => {
                    in_flight -= 1;
                    // Top the bar up for replicas that stopped early (diverged, interrupted).
                    let expected: u64 = groups[group].iter().map(|&i| plan.entries[i].spec.steps as u64).sum();
                    for (&i, r) in groups[group].iter().zip(&results) {
                        if r.1 == RunStatus::Stopped {
                            report.steps_saved += (plan.entries[i].spec.steps as u64).saturating_sub(r.4 as u64);
                        }
                    }
                    on_event(Event::Steps(expected.saturating_sub(counted[group])));
                    for (&i, (run, status, reason, wall, _)) in groups[group].iter().zip(results) {
                        let entry = &plan.entries[i];
                        // Committed together with every metric of the run queued before it.
                        if let Err(e) = writer.finish(run, status, reason.clone(), wall) {
                            store_error.get_or_insert(e);
                            stop.store(true, Ordering::Relaxed);
                        }
                        match status {
                            RunStatus::Done => report.done += 1,
                            RunStatus::Diverged => report.diverged += 1,
                            RunStatus::Stopped => report.stopped += 1,
                            _ => {
                                report.failed += 1;
                                report.failures.push(Failure {
                                    index: i,
                                    hash: entry.hash.clone(),
                                    reason: reason.clone().unwrap_or_default(),
                                });
                            }
                        }
                        on_event(Event::Finished { entry, status, reason: reason.as_deref() });
                    }
                    if dispatch(worker, &mut next, &mut store_error) {
                        in_flight += 1;
                    }
                }
            }
        }
        report.not_started = groups[next.min(groups.len())..].iter().map(Vec::len).sum();
    });
    // Finishing is queued in the main loop; finish rows go with their group's last metrics.
    if store_error.is_none() {
        if let Err(e) = writer.flush() {
            store_error = Some(e);
        }
    }
    let closed = writer.close();
    if let Some(e) = store_error {
        return Err(e.into());
    }
    closed?;
    report.interrupted = stop.load(Ordering::Relaxed);
    report.wall_seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

/// A worker: trains the groups it is sent until its channel closes.
fn worker(
    id: usize,
    jobs: Receiver<Job>,
    tx: Sender<Msg>,
    stop: &AtomicBool,
    rule: Option<StopRule>,
    device: critlab_train::device::Device,
) {
    for job in jobs {
        let r = job.specs.len();
        let steps = job.specs[0].steps;
        let hopeless = rule.clone().map(|r| HopelessMonitor::new(r, &job.specs));
        let mut observer = ChannelObserver { runs: &job.runs, group: job.group, steps, tx: &tx, hopeless };
        // A backend failing mid-run comes back as failed outcomes (critlab_train::train).
        let results: Vec<(RunStatus, Option<String>, f64, usize)> =
            match critlab_train::train(&job.specs, &device, &mut observer, stop) {
                Ok(outcomes) => outcomes.into_iter().map(|o| (o.status, o.reason, o.wall_seconds, o.steps)).collect(),
                Err(e) => vec![(RunStatus::Failed, Some(e.to_string()), 0.0, 0); r],
            };
        let results =
            job.runs.iter().zip(results).map(|(&run, (s, why, wall, steps))| (run, s, why, wall, steps)).collect();
        // Sent on the metrics channel, so the finish rows queue behind the group's metrics.
        if tx.send(Msg::Done { worker: id, group: job.group, results }).is_err() {
            return;
        }
    }
}

/// Forwards measurements to the main thread, which owns the store writer.
struct ChannelObserver<'a> {
    runs: &'a [RunId],
    group: usize,
    steps: usize,
    tx: &'a Sender<Msg>,
    hopeless: Option<HopelessMonitor>,
}

impl Observer for ChannelObserver<'_> {
    fn record(&mut self, replica: usize, step: usize, values: Vec<(String, f64)>) {
        let run = self.runs[replica];
        if let Some(h) = &mut self.hopeless {
            h.record(replica, step, &values);
        }
        let rows = values.into_iter().map(|(name, value)| MetricRow { run, step: step as i64, name, value }).collect();
        let _ = self.tx.send(Msg::Metrics(rows));
    }

    fn stop(&mut self, replica: usize, step: usize) -> Option<(RunStatus, String)> {
        self.hopeless.as_ref().and_then(|h| h.stop(replica, step))
    }

    fn on_step(&mut self, step: usize) {
        if step < self.steps {
            let _ = self.tx.send(Msg::Steps { group: self.group, n: self.runs.len() as u64 });
        }
    }
}
