//! `critlab sweep plan | run | worker | status`: hyperparameter sweeps, locally or on Slurm.
use crate::args::{DeviceArg, MemoryArg, StoreArg};
use crate::commands::train::{interrupt_flag, progress_bar};
use crate::table;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use critlab_core::RunStatus;
use critlab_physics::predict::norm_delay::ClassCalibrations;
use critlab_physics::predict::PredictorKind;
use critlab_store::Store;
use critlab_sweep::hopeless::StopRule;
use critlab_sweep::local::{default_jobs, DEFAULT_MAX_GROUP};
use critlab_sweep::slurm::{self, Manifest, SlurmOptions};
use critlab_sweep::{plan::describe_point, Event, Options, Plan, Report};
use critlab_train::DeviceChoice;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Plan, run and follow sweeps.
#[derive(Debug, Subcommand)]
pub enum SweepCmd {
    /// Print the resolved runs of a sweep spec (count, table, --json) without running anything.
    Plan(PlanCmd),
    /// Run a sweep locally (replica groups on worker threads) or on Slurm; resumes from the store.
    Run(RunCmd),
    /// Train one shard of a sweep into its own store (what each Slurm array task runs).
    Worker(WorkerCmd),
    /// Report a sweep's progress from the store, its shard stores and Slurm.
    Status(StatusCmd),
}

/// `sweep plan`.
#[derive(Debug, Args)]
pub struct PlanCmd {
    /// Sweep spec (TOML)
    spec: PathBuf,
    /// Largest replica group (runs trained as one batched computation)
    #[arg(long, default_value_t = DEFAULT_MAX_GROUP, value_parser = crate::args::at_least::<1>)]
    max_group: usize,
    /// Print the plan as JSON
    #[arg(long)]
    json: bool,
}

/// Where a sweep runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Backend {
    /// This machine: worker threads, one replica group each.
    Local,
    /// A Slurm job array of shards plus a dependent merge job.
    Slurm,
}

/// `sweep run`.
#[derive(Debug, Args)]
pub struct RunCmd {
    /// Sweep spec (TOML)
    spec: PathBuf,
    #[command(flatten)]
    store: StoreArg,
    /// Where to run
    #[arg(long, value_enum, default_value_t = Backend::Local)]
    backend: Backend,
    /// Worker threads, each training one replica group [default: number of cores]
    #[arg(long, value_parser = crate::args::at_least::<1>)]
    jobs: Option<usize>,
    /// Largest replica group
    #[arg(long, default_value_t = DEFAULT_MAX_GROUP, value_parser = crate::args::at_least::<1>)]
    max_group: usize,
    #[command(flatten)]
    memory: MemoryArg,
    #[command(flatten)]
    device: DeviceArg,
    /// Slurm: at most this many array tasks at once (--array=...%K)
    #[arg(long, help_heading = "Slurm", value_parser = crate::args::at_least::<1>)]
    array_limit: Option<usize>,
    /// Slurm: CPUs (worker threads) per array task
    #[arg(long, default_value_t = 1, help_heading = "Slurm", value_parser = crate::args::at_least::<1>)]
    cpus_per_task: usize,
    /// Slurm: most shards [default: one per replica group, capped by MaxArraySize]
    #[arg(long, help_heading = "Slurm", value_parser = crate::args::at_least::<1>)]
    max_shards: Option<usize>,
    /// Slurm: partition
    #[arg(long, help_heading = "Slurm")]
    partition: Option<String>,
    /// Slurm: time limit per array task (e.g. 2:00:00)
    #[arg(long, help_heading = "Slurm")]
    time: Option<String>,
    /// Slurm: work directory for scripts, shard stores and logs [default: <store stem>-slurm/<name>]
    #[arg(long, help_heading = "Slurm")]
    work_dir: Option<PathBuf>,
    /// Slurm: write the scripts and print them without submitting
    #[arg(long, help_heading = "Slurm")]
    dry_run: bool,
    /// Slurm: wait for the array and the merge, then report like `sweep status`
    #[arg(long, help_heading = "Slurm")]
    wait: bool,
    #[command(flatten)]
    hopeless: HopelessArgs,
    /// Print the summary as JSON
    #[arg(long)]
    json: bool,
}

/// The stop-hopeless rule of `sweep run` (both backends) and `sweep worker`.
#[derive(Debug, Args)]
pub struct HopelessArgs {
    /// Stop a run, once it has memorised, when the predictor gives it P(grok within the budget)
    /// < 1 − P; it is recorded as `stopped` with the reason
    #[arg(long, value_name = "P", value_parser = crate::args::fraction)]
    stop_hopeless: Option<f64>,
    /// The predictor of --stop-hopeless (one with its own probability)
    #[arg(long, default_value = "norm-delay", requires = "stop_hopeless")]
    stop_predictor: String,
    /// Calibrate the --stop-hopeless predictor on the finished runs of this sweep in the store
    /// [default: the predictor's wide default]
    #[arg(long, value_name = "SWEEP", requires = "stop_hopeless")]
    calibrate_from: Option<String>,
    /// The store --calibrate-from reads [default: --store] (a Slurm worker's --store is its
    /// shard, so `sweep run --backend slurm` passes the main store here)
    #[arg(long, value_name = "FILE", requires = "calibrate_from")]
    calibration_store: Option<PathBuf>,
}

impl HopelessArgs {
    /// The rule, calibrated from `--calibration-store` or else `store`; `None` without
    /// `--stop-hopeless`.
    fn rule(&self, store: &Path) -> Result<Option<StopRule>> {
        let from = self.calibration_store(store);
        self.stop_hopeless.map(|p| stop_rule(p, &self.stop_predictor, self.calibrate_from.as_deref(), from)).transpose()
    }

    /// The store `--calibrate-from` reads.
    fn calibration_store<'a>(&'a self, store: &'a Path) -> &'a Path {
        self.calibration_store.as_deref().unwrap_or(store)
    }

    /// The same rule as arguments of `sweep worker`, calibrated from `store` (made absolute).
    fn worker_args(&self, store: &Path) -> Result<Vec<String>> {
        let Some(p) = self.stop_hopeless else { return Ok(Vec::new()) };
        let mut args =
            vec!["--stop-hopeless".to_string(), p.to_string(), "--stop-predictor".into(), self.stop_predictor.clone()];
        if let Some(sweep) = &self.calibrate_from {
            let from = std::path::absolute(self.calibration_store(store)).context("locating the calibration store")?;
            args.extend([
                "--calibrate-from".into(),
                sweep.clone(),
                "--calibration-store".into(),
                from.to_string_lossy().into_owned(),
            ]);
        }
        Ok(args)
    }
}

/// `sweep worker`.
#[derive(Debug, Args)]
pub struct WorkerCmd {
    /// Sweep spec (TOML)
    spec: PathBuf,
    /// Shard I of N (0-based), e.g. --shard "$SLURM_ARRAY_TASK_ID/16"
    #[arg(long, value_parser = parse_shard)]
    shard: (usize, usize),
    /// This shard's store file
    #[arg(long)]
    store: PathBuf,
    /// Largest replica group (as when the shards were cut)
    #[arg(long, default_value_t = DEFAULT_MAX_GROUP, value_parser = crate::args::at_least::<1>)]
    max_group: usize,
    #[command(flatten)]
    memory: MemoryArg,
    #[command(flatten)]
    device: DeviceArg,
    /// Worker threads [default: number of cores]
    #[arg(long, value_parser = crate::args::at_least::<1>)]
    jobs: Option<usize>,
    #[command(flatten)]
    hopeless: HopelessArgs,
}

/// `sweep status`.
#[derive(Debug, Args)]
pub struct StatusCmd {
    /// Sweep spec (TOML)
    spec: PathBuf,
    #[command(flatten)]
    store: StoreArg,
    /// Slurm work directory [default: <store stem>-slurm/<name>, when it exists]
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

fn parse_shard(s: &str) -> Result<(usize, usize), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("'{s}' is not I/N"))?;
    let (i, n): (usize, usize) = (
        i.trim().parse().map_err(|_| format!("shard index '{i}' is not a number"))?,
        n.trim().parse().map_err(|_| format!("shard count '{n}' is not a number"))?,
    );
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: need 0 ≤ I < N"));
    }
    Ok((i, n))
}

/// Runs a `sweep` subcommand.
pub fn run(cmd: SweepCmd) -> Result<ExitCode> {
    match cmd {
        SweepCmd::Plan(c) => plan(c),
        SweepCmd::Run(c) => match c.backend {
            Backend::Local => run_local(c),
            Backend::Slurm if c.device.device != DeviceChoice::Cpu => {
                bail!(
                    "--device {} works with --backend local only (the Slurm workers train on the CPU)",
                    c.device.device
                )
            }
            Backend::Slurm => run_slurm(c),
        },
        SweepCmd::Worker(c) => worker(c),
        SweepCmd::Status(c) => status(c),
    }
}

fn cell(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) if n.is_f64() => table::num(n.as_f64()),
        other => other.to_string(),
    }
}

fn plan(cmd: PlanCmd) -> Result<ExitCode> {
    let plan = Plan::load(&cmd.spec)?;
    let all: Vec<usize> = (0..plan.entries.len()).collect();
    let groups = plan.groups(&all, cmd.max_group);
    let mut group_of = vec![0; plan.entries.len()];
    for (g, members) in groups.iter().enumerate() {
        for &i in members {
            group_of[i] = g;
        }
    }
    // The largest estimated peak of one replica group (what `sweep run` checks against
    // --max-memory, times the groups it trains at once).
    let largest = groups
        .iter()
        .map(|members| critlab_train::budget::estimate_group(&plan.entries[members[0]].spec, members.len()))
        .max_by(|a, b| a.total.total_cmp(&b.total));
    if cmd.json {
        #[derive(Serialize)]
        struct Entry<'a> {
            index: usize,
            hash: &'a str,
            group: usize,
            point: serde_json::Map<String, Value>,
            spec: &'a critlab_core::RunSpec,
        }
        let entries: Vec<Entry> = plan
            .entries
            .iter()
            .map(|e| Entry {
                index: e.index,
                hash: &e.hash,
                group: group_of[e.index],
                point: e.point.iter().cloned().collect(),
                spec: e.spec.spec(),
            })
            .collect();
        let out = serde_json::json!({
            "name": plan.name(),
            "runs": plan.entries.len(),
            "groups": groups.len(),
            "max_group": cmd.max_group,
            "sampling": plan.sweep.sampling,
            "axes": plan.sweep.axes,
            "seeds": plan.sweep.seeds,
            "memory_largest_group": largest,
            "entries": entries,
        });
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
        return Ok(ExitCode::SUCCESS);
    }
    let columns = plan.columns();
    let steps: u64 = plan.entries.iter().map(|e| e.spec.steps as u64).sum();
    outln!(
        "sweep {}: {} runs ({} sampling over {} axes{}), {} replica groups of at most {}, {} run-steps",
        plan.name(),
        plan.entries.len(),
        match plan.sweep.sampling {
            critlab_sweep::Sampling::Grid => "grid",
            critlab_sweep::Sampling::Random => "random",
        },
        plan.sweep.axes.len(),
        plan.sweep.seeds.as_ref().map(|s| format!(", {} seeds", s.len())).unwrap_or_default(),
        groups.len(),
        cmd.max_group,
        steps
    )?;
    if let Some(m) = &largest {
        use critlab_train::budget::bytes;
        outln!(
            "largest replica group: about {} estimated peak (model {}, data {}, activations {}); `sweep run` \
             checks each group, and the groups it trains at once, against --max-memory",
            bytes(m.total),
            bytes(m.model),
            bytes(m.data),
            bytes(m.activations)
        )?;
    }
    let mut header = vec!["run", "hash", "group"];
    header.extend(columns.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = plan
        .entries
        .iter()
        .map(|e| {
            let mut row = vec![e.index.to_string(), e.hash.clone(), group_of[e.index].to_string()];
            row.extend(e.point.iter().map(|(_, v)| cell(v)));
            row
        })
        .collect();
    out!("{}", table::render(&header, &rows))?;
    Ok(ExitCode::SUCCESS)
}

/// Runs the local executor with a progress bar of replica-steps and run counts.
fn execute_with_bar(plan: &Plan, entries: &[usize], store: &Path, options: &Options, quiet: bool) -> Result<Report> {
    let stop = interrupt_flag();
    let bar = progress_bar(0, "run-steps");
    if quiet {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let (mut total, mut done, mut diverged, mut failed, mut stopped) = (0usize, 0usize, 0usize, 0usize, 0usize);
    let mut on_event = |event: Event<'_>| match event {
        Event::Planned { runs, skipped, discarded, groups, run_steps } => {
            total = runs;
            bar.set_length(run_steps);
            if skipped + discarded > 0 {
                bar.println(format!(
                    "resuming: {skipped} finished runs skipped, {discarded} unfinished runs of an earlier attempt restarted"
                ));
            }
            bar.set_message(format!("runs 0/{runs} ({groups} replica groups)"));
        }
        Event::Steps(n) => bar.inc(n),
        Event::Finished { entry, status, reason } => {
            match status {
                RunStatus::Done => done += 1,
                RunStatus::Diverged => diverged += 1,
                RunStatus::Stopped => stopped += 1,
                _ => {
                    failed += 1;
                    bar.println(format!(
                        "plan entry {} ({}) failed: {}",
                        entry.index,
                        describe_point(&entry.point),
                        reason.unwrap_or("no reason given")
                    ));
                }
            }
            bar.set_message(format!(
                "runs {}/{total}: done {done}, diverged {diverged}, stopped {stopped}, failed {failed}",
                done + diverged + stopped + failed
            ));
        }
    };
    let report = critlab_sweep::execute(plan, entries, store, options, &stop, &mut on_event);
    bar.finish_and_clear();
    Ok(report?)
}

fn print_report(plan: &Plan, store: &Path, r: &Report) -> Result<()> {
    outln!(
        "sweep {} in {}: {} runs: {} done, {} diverged, {} failed{} ({} already finished, {} restarted) in {:.1} s",
        plan.name(),
        store.display(),
        r.planned,
        r.done,
        r.diverged,
        r.failed,
        if r.not_started > 0 { format!(", {} not started", r.not_started) } else { String::new() },
        r.skipped,
        r.discarded,
        r.wall_seconds
    )?;
    if r.stopped > 0 {
        outln!("{} runs stopped as hopeless, {} optimizer steps not trained", r.stopped, r.steps_saved)?;
    }
    for f in r.failures.iter().take(10) {
        outln!("  plan entry {} (spec hash {}): {}", f.index, f.hash, f.reason)?;
    }
    if r.failures.len() > 10 {
        outln!("  ... and {} more failures", r.failures.len() - 10)?;
    }
    if r.interrupted {
        outln!("interrupted: run the same command again to resume")?;
    }
    Ok(())
}

fn exit_for(r: &Report) -> ExitCode {
    if r.complete() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// The `--stop-hopeless` rule: a predictor that gives a probability, calibrated on a finished
/// sweep of the same store if asked.
fn stop_rule(confidence: f64, predictor: &str, calibrate_from: Option<&str>, store: &Path) -> Result<StopRule> {
    if !(confidence > 0.5 && confidence < 1.0) {
        anyhow::bail!("--stop-hopeless must be in (0.5, 1), got {confidence}");
    }
    let predictor = super::analyze::predict::parse_predictors(&[predictor.to_string()])?[0];
    if predictor != PredictorKind::NormDelay {
        anyhow::bail!("--stop-predictor {}: only norm-delay gives its own probability of grokking; the others give a score that `analyze predict` calibrates after the fact", predictor.name());
    }
    let calibrations = match calibrate_from {
        None => ClassCalibrations::default(),
        Some(sweep) => {
            // The store may be --calibration-store's, not --store's: say which flag it came from.
            let context = || format!("--calibrate-from {sweep} in {}", store.display());
            super::analyze::predict::calibration_from_sweep(&Store::open_read_only(store).with_context(context)?, sweep)
                .with_context(context)?
        }
    };
    let c = calibrations.pooled;
    errln!(
        "stop-hopeless: {} with ln K ~ N({:.2}, {:.2}²) pooled over {} runs, per class for {} classes and per cell for {} cells; stop memorised runs when P(grok) < {:.3}",
        predictor.name(),
        c.mu,
        c.sd,
        c.runs,
        calibrations.by_class.len(),
        calibrations.by_cell.len(),
        1.0 - confidence
    );
    Ok(StopRule { confidence, predictor, calibrations: std::sync::Arc::new(calibrations) })
}

fn run_local(cmd: RunCmd) -> Result<ExitCode> {
    let plan = Plan::load(&cmd.spec)?;
    let stop_hopeless = cmd.hopeless.rule(&cmd.store.store)?;
    cmd.device.open()?;
    let options = Options {
        jobs: cmd.jobs.unwrap_or_else(default_jobs),
        max_group: cmd.max_group,
        memory: cmd.memory.max_memory,
        stop_hopeless,
        device: cmd.device.device,
    };
    let all: Vec<usize> = (0..plan.entries.len()).collect();
    let report = execute_with_bar(&plan, &all, &cmd.store.store, &options, cmd.json)?;
    if cmd.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        print_report(&plan, &cmd.store.store, &report)?;
    }
    Ok(exit_for(&report))
}

fn worker(cmd: WorkerCmd) -> Result<ExitCode> {
    let plan = Plan::load(&cmd.spec)?;
    let (shard, n) = cmd.shard;
    let entries = plan.shard(shard, n, cmd.max_group);
    let stop_hopeless = cmd.hopeless.rule(&cmd.store)?;
    cmd.device.open()?;
    let options = Options {
        jobs: cmd.jobs.unwrap_or_else(default_jobs),
        max_group: cmd.max_group,
        memory: cmd.memory.max_memory,
        stop_hopeless,
        device: cmd.device.device,
    };
    outln!("sweep {} shard {shard}/{n}: {} runs into {}", plan.name(), entries.len(), cmd.store.display())?;
    let report = execute_with_bar(&plan, &entries, &cmd.store, &options, true)?;
    print_report(&plan, &cmd.store, &report)?;
    Ok(exit_for(&report))
}

fn run_slurm(cmd: RunCmd) -> Result<ExitCode> {
    let plan = Plan::load(&cmd.spec)?;
    if !cmd.dry_run && !slurm::available() {
        bail!("--backend slurm needs `sbatch` on PATH (use --dry-run to only write the scripts)");
    }
    // A dry run submits nothing, so it must not need a live controller: when `scontrol`
    // cannot answer (Slurm absent, or installed with the controller down) it plans with
    // Slurm's default MaxArraySize and says so.
    let max_array = match slurm::max_array_size() {
        Ok(n) => n,
        Err(e) if cmd.dry_run => {
            errln!("note: {e}; planning with Slurm's default MaxArraySize {}", slurm::DEFAULT_MAX_ARRAY_SIZE);
            slurm::DEFAULT_MAX_ARRAY_SIZE
        }
        Err(e) => return Err(e.into()),
    };
    let dir = cmd.work_dir.clone().unwrap_or_else(|| slurm::default_work_dir(&cmd.store.store, plan.name()));
    let critlab = std::env::current_exe().context("locating the critlab binary for the sbatch script")?;
    // The rule is built here too, so that a bad predictor or calibration fails before anything
    // is submitted; the workers rebuild it from the same arguments.
    cmd.hopeless.rule(&cmd.store.store)?;
    let worker_args = cmd.hopeless.worker_args(&cmd.store.store)?;
    let options = SlurmOptions {
        array_limit: cmd.array_limit,
        cpus_per_task: cmd.cpus_per_task,
        max_group: cmd.max_group,
        max_shards: cmd.max_shards,
        partition: cmd.partition.clone(),
        time: cmd.time.clone(),
        worker_args,
    };
    let mut prepared = slurm::prepare(&plan, &cmd.spec, &cmd.store.store, &dir, &critlab, &options, max_array)?;
    let shards = prepared.manifest.shards.len();
    outln!(
        "sweep {}: {} runs in {} shards (MaxArraySize {}); {} runs in {} shards to train; work directory {}",
        plan.name(),
        plan.entries.len(),
        shards,
        max_array,
        prepared.pending_runs,
        prepared.manifest.submitted.len(),
        prepared.dir.display()
    )?;
    if prepared.array.is_empty() {
        outln!("every run is already in {}; nothing to submit", cmd.store.store.display())?;
        return Ok(ExitCode::SUCCESS);
    }
    if cmd.dry_run {
        let script = std::fs::read_to_string(&prepared.array_script)?;
        outln!("--- {}\n{script}--- {}", prepared.array_script.display(), prepared.merge_script.display())?;
        out!("{}", std::fs::read_to_string(&prepared.merge_script)?)?;
        outln!(
            "---\nwould run: sbatch --parsable {}\n           sbatch --parsable --dependency=afterany:<array job> {}",
            prepared.array_script.display(),
            prepared.merge_script.display()
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let (array, merge) = slurm::submit(&mut prepared)?;
    outln!("submitted array job {array} (--array={}) and merge job {merge} (afterany:{array})", prepared.array)?;
    outln!("follow it with: critlab sweep status {} --store {}", cmd.spec.display(), cmd.store.store.display())?;
    if !cmd.wait {
        return Ok(ExitCode::SUCCESS);
    }
    while slurm::job_active(&array)? || slurm::job_active(&merge)? {
        std::thread::sleep(Duration::from_millis(500));
    }
    let summary = summarize(&plan, &cmd.store.store, Some(&prepared.dir))?;
    print_status(&summary, cmd.json)?;
    Ok(if summary.complete() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Progress of a sweep, from the store and (when submitted) its shards and Slurm jobs.
#[derive(Debug, Serialize)]
struct Status {
    name: String,
    store: String,
    runs: usize,
    done: usize,
    diverged: usize,
    stopped: usize,
    failed: usize,
    running: usize,
    /// `running` in the store but their process is gone (`critlab runs reap`; a resumed sweep
    /// retrains them).
    stale: usize,
    pending: usize,
    shards: Option<ShardStatus>,
}

#[derive(Debug, Serialize)]
struct ShardStatus {
    work_dir: String,
    shards: usize,
    /// Runs finished in shard stores (merged or not).
    finished_in_shards: usize,
    /// Shards with no store file yet.
    missing: Vec<usize>,
    array_job: Option<String>,
    merge_job: Option<String>,
    jobs: Vec<slurm::JobState>,
}

impl Status {
    fn complete(&self) -> bool {
        self.done + self.diverged + self.stopped == self.runs
    }
}

fn summarize(plan: &Plan, store_path: &Path, work_dir: Option<&Path>) -> Result<Status> {
    // Per spec hash, the most advanced status; `None` stands for a stale run (running, but its
    // process is gone).
    let mut best: HashMap<String, Option<RunStatus>> = HashMap::new();
    if store_path.exists() {
        let store = Store::open_read_only(store_path)?;
        if let Err(e) = plan.check_identity(&store) {
            errln!("warning: {e}");
        }
        for r in store.runs(Some(plan.name()))? {
            let rank = |s: Option<RunStatus>| match s {
                Some(RunStatus::Done | RunStatus::Diverged | RunStatus::Stopped) => 3,
                Some(RunStatus::Running) => 2,
                None => 1,
                Some(RunStatus::Failed) => 0,
            };
            let status = (!r.stale).then_some(r.status);
            let e = best.entry(r.spec_hash).or_insert(status);
            if rank(status) > rank(*e) {
                *e = status;
            }
        }
    }
    let mut s = Status {
        name: plan.name().into(),
        store: store_path.display().to_string(),
        runs: plan.entries.len(),
        done: 0,
        diverged: 0,
        stopped: 0,
        failed: 0,
        running: 0,
        stale: 0,
        pending: 0,
        shards: None,
    };
    for e in &plan.entries {
        match best.get(&e.hash) {
            Some(Some(RunStatus::Done)) => s.done += 1,
            Some(Some(RunStatus::Diverged)) => s.diverged += 1,
            Some(Some(RunStatus::Stopped)) => s.stopped += 1,
            Some(Some(RunStatus::Failed)) => s.failed += 1,
            Some(Some(RunStatus::Running)) => s.running += 1,
            Some(None) => s.stale += 1,
            None => s.pending += 1,
        }
    }
    if let Some(dir) = work_dir.filter(|d| slurm::manifest_path(d).is_file()) {
        let m = Manifest::load(dir)?;
        let mut finished = 0;
        let mut missing = Vec::new();
        for shard in &m.shards {
            match slurm::shard_progress(shard, &m.name)? {
                Some(n) => finished += n,
                None if m.submitted.contains(&shard.index) => missing.push(shard.index),
                None => {}
            }
        }
        let mut jobs = Vec::new();
        if slurm::available() {
            for id in m.array_job.iter().chain(&m.merge_job) {
                jobs.extend(slurm::job_states(id)?);
            }
        }
        s.shards = Some(ShardStatus {
            work_dir: dir.display().to_string(),
            shards: m.shards.len(),
            finished_in_shards: finished,
            missing,
            array_job: m.array_job.clone(),
            merge_job: m.merge_job.clone(),
            jobs,
        });
    }
    Ok(s)
}

fn print_status(s: &Status, json: bool) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(s)?)?;
        return Ok(());
    }
    outln!(
        "sweep {} in {}: {} runs: {} done, {} diverged, {} stopped, {} failed, {} running, {} stale, {} pending",
        s.name,
        s.store,
        s.runs,
        s.done,
        s.diverged,
        s.stopped,
        s.failed,
        s.running,
        s.stale,
        s.pending
    )?;
    if s.stale > 0 {
        outln!("  stale runs were left `running` by a process that is gone; `critlab runs reap` marks them failed, `sweep run` retrains them")?;
    }
    if let Some(sh) = &s.shards {
        outln!(
            "slurm: {} shards in {}; {} runs finished in shard stores; shards without a store: {}",
            sh.shards,
            sh.work_dir,
            sh.finished_in_shards,
            if sh.missing.is_empty() { "none".to_string() } else { format!("{:?}", sh.missing) }
        )?;
        if let (Some(a), Some(m)) = (&sh.array_job, &sh.merge_job) {
            let mut counts: Vec<(String, usize)> = Vec::new();
            for j in sh.jobs.iter().filter(|j| j.id.starts_with(&format!("{a}_")) || j.id == *a) {
                match counts.iter_mut().find(|(k, _)| *k == j.state) {
                    Some((_, n)) => *n += 1,
                    None => counts.push((j.state.clone(), 1)),
                }
            }
            let merge_state = sh
                .jobs
                .iter()
                .find(|j| j.id == *m)
                .map(|j| j.state.as_str())
                .unwrap_or("unknown to Slurm (finished long ago?)");
            let tasks = if counts.is_empty() {
                "unknown to Slurm (finished long ago?)".to_string()
            } else {
                counts.iter().map(|(k, n)| format!("{n} {k}")).collect::<Vec<_>>().join(", ")
            };
            outln!("  array job {a}: {tasks}; merge job {m}: {merge_state}")?;
        }
    }
    Ok(())
}

fn status(cmd: StatusCmd) -> Result<ExitCode> {
    let plan = Plan::load(&cmd.spec)?;
    let dir = cmd.work_dir.clone().unwrap_or_else(|| slurm::default_work_dir(&cmd.store.store, plan.name()));
    let s = summarize(&plan, &cmd.store.store, Some(&dir))?;
    print_status(&s, cmd.json)?;
    Ok(ExitCode::SUCCESS)
}
