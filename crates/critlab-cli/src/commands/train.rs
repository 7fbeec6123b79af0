//! `critlab train`: one run, measured and stored.
use crate::args::{self, DeviceArg, MemoryArg, RunArgs, StoreArg};
use crate::table;
use anyhow::{Context, Result};
use clap::Args;
use critlab_core::files::{check_output, FileKind, Protected};
use critlab_core::{RunStatus, ValidRunSpec};
use critlab_physics::transitions::{self, RunSeries, TransitionOptions};
use critlab_store::{MetricRow, RunId, Store, StoreError, Writer};
use critlab_train::{Observer, Outcome};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Train one run.
#[derive(Debug, Args)]
pub struct TrainCmd {
    /// TOML file of run settings; its keys are the long flag names (flags override it)
    #[arg(long)]
    config: Option<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
    #[command(flatten)]
    memory: MemoryArg,
    #[command(flatten)]
    device: DeviceArg,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
    /// Stop the run once its transition is complete: test accuracy ≥ 0.9 (t_grok by the
    /// threshold detector of critlab-physics) and still ≥ 0.9 at the next 3 eval steps
    #[arg(long)]
    stop_after_transition: bool,
    /// Also write the run's starting point as JSON to this file: every parameter's initial
    /// values (the seeded draws the trainer makes), the task's examples and the train/test
    /// split, so outside code (a PyTorch script, `critlab.torch.Recorder`) can start from
    /// exactly the same place and its measurements be compared number for number
    #[arg(long, value_name = "FILE")]
    export_init: Option<PathBuf>,
    /// Let --export-init replace an existing file of another kind (never the store or the config)
    #[arg(long)]
    force: bool,
    #[command(flatten)]
    run: RunArgs,
}

/// Sends measurements to the store writer and drives a progress bar.
pub struct StoreObserver<'a> {
    writer: &'a mut Writer,
    runs: Vec<RunId>,
    bar: Option<&'a ProgressBar>,
    /// The first store error; training stops when one occurs.
    pub error: Option<StoreError>,
    stop: Arc<AtomicBool>,
    /// Last values per replica, for summaries.
    pub last: Vec<BTreeMap<String, f64>>,
    /// First step with train_acc ≥ 0.9 and with test_acc ≥ 0.9, per replica.
    pub crossings: Vec<(Option<usize>, Option<usize>)>,
    /// Series recorded so far per replica, kept when runs stop after their transition.
    history: Option<Vec<RunSeries>>,
}

/// Eval steps after t_grok at which the test accuracy must still be above the threshold for
/// the transition to count as complete.
const SETTLE_POINTS: usize = 3;

/// Whether a run's transition is complete: t_grok found by the accuracy-threshold detector
/// and the test accuracy at or above the threshold at the last [`SETTLE_POINTS`] eval steps
/// after it.
pub fn transition_complete(series: &RunSeries) -> bool {
    let opts = TransitionOptions::default();
    let Some(t) = transitions::accuracy(series, &opts).t_grok else { return false };
    let after: Vec<f64> = series.test_acc.iter().filter(|p| p.0 as f64 > t).map(|p| p.1).collect();
    after.len() >= SETTLE_POINTS && after[after.len() - SETTLE_POINTS..].iter().all(|&a| a >= opts.test_threshold)
}

impl<'a> StoreObserver<'a> {
    /// An observer writing replica i to run `runs[i]`.
    pub fn new(writer: &'a mut Writer, runs: Vec<RunId>, bar: Option<&'a ProgressBar>, stop: Arc<AtomicBool>) -> Self {
        let n = runs.len();
        Self {
            writer,
            runs,
            bar,
            error: None,
            stop,
            last: vec![BTreeMap::new(); n],
            crossings: vec![(None, None); n],
            history: None,
        }
    }

    /// Stops each replica once its transition is complete ([`transition_complete`]).
    pub fn stop_after_transition(mut self) -> Self {
        self.history = Some(vec![RunSeries::default(); self.runs.len()]);
        self
    }
}

impl Observer for StoreObserver<'_> {
    fn record(&mut self, replica: usize, step: usize, values: Vec<(String, f64)>) {
        let run = self.runs[replica];
        let last = &mut self.last[replica];
        let cross = &mut self.crossings[replica];
        if let Some(h) = self.history.as_mut() {
            let h = &mut h[replica];
            let slots =
                [&mut h.train_acc, &mut h.test_acc, &mut h.train_loss, &mut h.test_loss, &mut h.explained_variance];
            for (slot, key) in slots.into_iter().zip(RunSeries::NAMES) {
                if let Some((_, v)) = values.iter().find(|(n, _)| n == key) {
                    slot.push((step as i64, *v));
                }
            }
        }
        for (name, v) in &values {
            last.insert(name.clone(), *v);
            if name == "train_acc" && *v >= 0.9 && cross.0.is_none() {
                cross.0 = Some(step);
            }
            if name == "test_acc" && *v >= 0.9 && cross.1.is_none() {
                cross.1 = Some(step);
            }
        }
        if let Some(bar) = self.bar {
            if self.runs.len() == 1 {
                let get = |k: &str| table::num(last.get(k).copied());
                bar.set_message(format!(
                    "train_acc {} test_acc {} test_loss {}",
                    get("train_acc"),
                    get("test_acc"),
                    get("test_loss")
                ));
            }
        }
        let rows = values.into_iter().map(|(name, value)| MetricRow { run, step: step as i64, name, value }).collect();
        if let Err(e) = self.writer.metrics(rows) {
            self.error.get_or_insert(e);
            self.stop.store(true, Ordering::Relaxed);
        }
    }

    fn should_stop(&mut self, replica: usize) -> bool {
        self.history.as_ref().is_some_and(|h| transition_complete(&h[replica]))
    }

    fn on_step(&mut self, _step: usize) {
        if let Some(bar) = self.bar {
            bar.inc(1);
        }
    }
}

/// A progress bar over `len` steps on stderr (hidden when stderr is not a terminal).
pub fn progress_bar(len: u64, unit: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} [{{elapsed_precise}}] {{wide_bar}} {{pos}}/{{len}} {unit} (ETA {{eta}}) {{msg}}"
        ))
        .expect("a valid template"),
    );
    bar
}

/// The flag set by Ctrl-C (SIGINT), SIGTERM (`kill`, Slurm's `scancel`) and SIGHUP: the
/// handler is installed on the first call; every call returns the same flag.
pub fn interrupt_flag() -> Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| {
        let flag = Arc::new(AtomicBool::new(false));
        let f = flag.clone();
        // Fails only if another handler is installed, which critlab never does.
        let _ = ctrlc::set_handler(move || f.store(true, Ordering::Relaxed));
        flag
    })
    .clone()
}

#[derive(Serialize)]
struct Summary<'a> {
    run_id: RunId,
    store: String,
    spec_hash: String,
    status: RunStatus,
    reason: Option<&'a str>,
    steps: usize,
    wall_seconds: f64,
    probe_seconds: f64,
    cpu_seconds: f64,
    probe_cpu_seconds: f64,
    t_train_acc_0_9: Option<usize>,
    t_test_acc_0_9: Option<usize>,
    final_metrics: &'a BTreeMap<String, f64>,
}

/// Runs `critlab train`.
pub fn run(cmd: TrainCmd) -> Result<ExitCode> {
    let spec: ValidRunSpec = args::resolve(cmd.config.as_deref(), &cmd.run)?;
    if let Some(path) = &cmd.export_init {
        let mut protected = Protected::new().store(&cmd.store.store);
        if let Some(config) = &cmd.config {
            protected = protected.file("config", config);
        }
        check_output("--export-init", path, FileKind::Json, &protected, cmd.force)?;
    }
    // Before anything is allocated or stored.
    let specs = std::slice::from_ref(&spec);
    cmd.memory.budget().check("the run", &critlab_train::budget::estimate(specs))?;
    critlab_train::budget::check_disk("the run", &cmd.store.store, critlab_train::budget::store_growth(specs))?;
    let device = cmd.device.open()?;
    if let Some(path) = &cmd.export_init {
        let state = critlab_train::export::initial_state(&spec);
        let text = serde_json::to_string(&state)?;
        critlab_core::files::write_atomic_bytes(path, text.as_bytes())
            .with_context(|| format!("writing the initial state to {}", path.display()))?;
    }
    let store = Store::open(&cmd.store.store)?;
    let run_id = store.create_run(spec.spec(), None, cmd.device.device.backend())?;
    let mut writer = store.writer()?;
    let stop = interrupt_flag();
    let bar = progress_bar(spec.steps as u64, "steps");
    if cmd.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut observer = StoreObserver::new(&mut writer, vec![run_id], Some(&bar), stop.clone());
    if cmd.stop_after_transition {
        observer = observer.stop_after_transition();
    }
    let outcome = critlab_train::train(std::slice::from_ref(&spec), &device, &mut observer, &stop);
    bar.finish_and_clear();
    let (last, crossings, store_error) = (observer.last, observer.crossings, observer.error);
    let outcome: Outcome = match outcome {
        Ok(mut o) => o.remove(0),
        Err(e) => {
            store.finish_run(run_id, RunStatus::Failed, Some(&e.to_string()), 0.0)?;
            return Err(e.into());
        }
    };
    if let Some(e) = store_error {
        return Err(anyhow::Error::new(e).context(format!("run {run_id} could not be stored completely")));
    }
    writer.finish(run_id, outcome.status, outcome.reason.clone(), outcome.wall_seconds)?;
    writer.close().context("committing the run's last metrics")?;

    let summary = Summary {
        run_id,
        store: cmd.store.store.display().to_string(),
        spec_hash: spec.hash(),
        status: outcome.status,
        reason: outcome.reason.as_deref(),
        steps: outcome.steps,
        wall_seconds: outcome.wall_seconds,
        probe_seconds: outcome.probe_seconds,
        cpu_seconds: outcome.cpu_seconds,
        probe_cpu_seconds: outcome.probe_cpu_seconds,
        t_train_acc_0_9: crossings[0].0,
        t_test_acc_0_9: crossings[0].1,
        final_metrics: &last[0],
    };
    if cmd.json {
        outln!("{}", serde_json::to_string_pretty(&summary)?)?;
    } else {
        print_summary(&summary)?;
    }
    Ok(match outcome.status {
        RunStatus::Failed => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}

fn print_summary(s: &Summary<'_>) -> Result<()> {
    let step = |t: Option<usize>| t.map(|t| format!("first at step {t}")).unwrap_or_else(|| "never reached".into());
    outln!("run {} ({}) in {}: {}", s.run_id, s.spec_hash, s.store, s.status)?;
    if let Some(r) = s.reason {
        outln!("  reason: {r}")?;
    }
    outln!(
        "  {} steps in {:.1} s ({:.2} ms/step; probes {:.1}% of the time)",
        s.steps,
        s.wall_seconds,
        1e3 * s.wall_seconds / s.steps.max(1) as f64,
        100.0 * s.probe_seconds / s.wall_seconds.max(1e-9)
    )?;
    outln!("  train accuracy ≥ 0.9: {}; test accuracy ≥ 0.9: {}", step(s.t_train_acc_0_9), step(s.t_test_acc_0_9))?;
    let keys = ["train_loss", "train_acc", "test_loss", "test_acc", "explained_variance", "weight_norm", "action"];
    let rows: Vec<Vec<String>> = keys
        .iter()
        .filter(|k| s.final_metrics.contains_key(**k))
        .map(|k| vec![k.to_string(), table::num(s.final_metrics.get(*k).copied())])
        .collect();
    if !rows.is_empty() {
        out!("{}", table::render(&["final", "value"], &rows))?;
    }
    Ok(())
}
