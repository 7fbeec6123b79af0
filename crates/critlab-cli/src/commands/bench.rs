//! `critlab bench step`: time one training step of a run spec (median over steps, eval steps
//! excluded), for side-by-side comparison with `bench/pytorch_reference.py`.
use crate::args::{self, DeviceArg, RunArgs};
use anyhow::Result;
use clap::{Args, Subcommand};
use critlab_train::Observer;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Benchmarks.
#[derive(Debug, Subcommand)]
pub enum BenchCmd {
    /// Time the training step of a run spec (nothing is stored).
    Step(StepCmd),
}

/// `bench step`.
#[derive(Debug, Args)]
pub struct StepCmd {
    /// TOML file of run settings (flags override it)
    #[arg(long)]
    config: Option<PathBuf>,
    /// Replicas trained together (copies of the spec with seeds 0..R)
    #[arg(long, default_value_t = 1, value_parser = crate::args::at_least::<1>)]
    replicas: usize,
    /// Steps excluded from the statistics at the start
    #[arg(long, default_value_t = 5)]
    warmup: usize,
    /// Print JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    device: DeviceArg,
    #[command(flatten)]
    run: RunArgs,
}

/// Timestamps every step.
struct Clock {
    last: Instant,
    laps: Vec<f64>,
}

impl Observer for Clock {
    fn record(&mut self, _: usize, _: usize, _: Vec<(String, f64)>) {}
    fn on_step(&mut self, _: usize) {
        let now = Instant::now();
        self.laps.push((now - self.last).as_secs_f64() * 1e3);
        self.last = now;
    }
}

#[derive(Serialize)]
struct StepTiming {
    workload: String,
    backend: &'static str,
    replicas: usize,
    steps_timed: usize,
    median_ms: f64,
    p10_ms: f64,
    p90_ms: f64,
}

/// Runs a benchmark.
pub fn run(cmd: BenchCmd) -> Result<ExitCode> {
    let BenchCmd::Step(cmd) = cmd;
    let mut flags = cmd.run.clone();
    let steps = flags.steps.unwrap_or(50);
    flags.steps = Some(steps);
    // Probes only at the first and last step, which are excluded from the statistics.
    flags.eval_every = Some(steps);
    let spec = args::resolve(cmd.config.as_deref(), &flags)?;
    let specs: Vec<_> = (0..cmd.replicas as u64)
        .map(|seed| {
            let mut s = spec.spec().clone();
            s.seed = seed;
            s.validate()
        })
        .collect::<Result<_, _>>()?;
    let device = cmd.device.open()?;
    // Each step reads its losses back to the host, so on a GPU a lap ends when its work is done.
    let mut clock = Clock { last: Instant::now(), laps: Vec::new() };
    let outcomes = critlab_train::train(&specs, &device, &mut clock, &AtomicBool::new(false))?;
    // A backend that failed mid-run leaves laps of a run that did not finish.
    if let Some(failed) = outcomes.iter().find(|o| o.status == critlab_core::RunStatus::Failed) {
        anyhow::bail!("the timed run failed: {}", failed.reason.as_deref().unwrap_or("no reason given"));
    }
    let end = clock.laps.len().saturating_sub(1);
    let mut laps: Vec<f64> = clock.laps[cmd.warmup.min(end)..end].to_vec();
    anyhow::ensure!(!laps.is_empty(), "no step left to time: raise --steps above --warmup + 1");
    laps.sort_by(f64::total_cmp);
    let q = |f: f64| laps[((laps.len() - 1) as f64 * f).round() as usize];
    let t = StepTiming {
        workload: format!(
            "{:?} {:?} p={} width={} n_train={}",
            spec.task,
            spec.model,
            spec.p,
            spec.width,
            spec.n_train()
        ),
        backend: cmd.device.device.backend(),
        replicas: cmd.replicas,
        steps_timed: laps.len(),
        median_ms: q(0.5),
        p10_ms: q(0.1),
        p90_ms: q(0.9),
    };
    if cmd.json {
        outln!("{}", serde_json::to_string(&t)?)?;
    } else {
        outln!(
            "{} × {} on {}: median {:.3} ms/step (p10 {:.3}, p90 {:.3}) over {} steps",
            t.workload,
            t.replicas,
            t.backend,
            t.median_ms,
            t.p10_ms,
            t.p90_ms,
            t.steps_timed
        )?;
    }
    Ok(ExitCode::SUCCESS)
}
