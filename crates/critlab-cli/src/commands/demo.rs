//! `critlab demo`: grokking as a phase transition in one command. Trains a small but real
//! weight-decay × training-fraction sweep of modular addition (the embedded spec below) with
//! the local sweep executor, classifies every run (docs/theory.md §4), and draws the phase
//! diagram, the curves of one grokking run and the interactive report (`report.html`). A second
//! invocation resumes from the store.
use super::analyze::phases::{self, Analysis, ClassifyArgs};
use super::train::{interrupt_flag, progress_bar};
use anyhow::{Context, Result};
use clap::Args;
use critlab_physics::transitions;
use critlab_report::plot::transitions::run_curves_svg;
use critlab_store::Store;
use critlab_sweep::{Event, Options, Plan, SweepSpec};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

/// The demo sweep: p = 23, a width-128 MLP, AdamW at η = 0.03, 10⁴ full-batch steps, five
/// weight decays × five training fractions × two seeds = 50 runs. The network memorises in
/// ~50 steps everywhere it can; the delay to generalisation shrinks from ~6000 steps (f = 0.6)
/// to 100–250 steps (f ≥ 0.9, λ = 1–3), which the 1% rule (100 steps of the 10⁴ budget) puts
/// on the comprehension/grokking border. At λ = 10 the network cannot fit small training sets
/// (confusion at f ≤ 0.7) and never generalises. About 300 CPU-seconds in all.
pub const DEMO_SWEEP: &str = r#"
name = "demo"
seeds = 2
[base]
task = "modular-addition"
p = 23
model = "mlp"
width = 128
optimizer = "adamw"
lr = 0.03
steps = 10000
eval-every = 50
[axes]
weight-decay = [0.1, 0.3, 1.0, 3.0, 10.0]
train-frac = [0.6, 0.7, 0.8, 0.9, 0.95]
"#;

/// Largest replica group of the demo.
const DEMO_GROUP: usize = 5;

/// Run the demo sweep, classify its phases and draw the phase diagram.
#[derive(Debug, Args)]
pub struct DemoCmd {
    /// SQLite store for the demo's runs
    #[arg(long, default_value = "critlab-demo.db")]
    store: PathBuf,
    /// Folder for the figures
    #[arg(long, default_value = "critlab-demo")]
    out: PathBuf,
    /// Sweep spec to run instead of the embedded one (its axes must include weight-decay and train-frac)
    #[arg(long, value_name = "FILE.toml")]
    spec: Option<PathBuf>,
    /// Worker threads [default: one per core]
    #[arg(long, value_parser = crate::args::at_least::<1>)]
    jobs: Option<usize>,
    #[command(flatten)]
    memory: crate::args::MemoryArg,
    #[command(flatten)]
    device: crate::args::DeviceArg,
}

/// Runs `critlab demo`.
pub fn run(cmd: DemoCmd) -> Result<ExitCode> {
    let started = Instant::now();
    let spec = match &cmd.spec {
        Some(path) => SweepSpec::load(path)?,
        None => SweepSpec::from_toml_str(DEMO_SWEEP, "the embedded demo sweep")?,
    };
    let plan = Plan::new(spec)?;
    // Groups of at most DEMO_GROUP replicas keep every worker busy to the end (one group per
    // training fraction would leave one core idle in the last round).
    cmd.device.open()?;
    let options = Options {
        jobs: cmd.jobs.unwrap_or_else(critlab_sweep::local::default_jobs),
        max_group: DEMO_GROUP,
        memory: cmd.memory.max_memory,
        stop_hopeless: None,
        device: cmd.device.device,
    };
    outln!("critlab demo: {} runs of sweep `{}` into {}", plan.entries.len(), plan.name(), cmd.store.display())?;
    let stop = interrupt_flag();
    let bar = progress_bar(0, "run-steps");
    let mut on_event = |e: Event<'_>| match e {
        Event::Planned { runs, skipped, run_steps, .. } => {
            bar.set_length(run_steps);
            bar.set_message(format!("{runs} runs to train, {skipped} already in the store"));
        }
        Event::Steps(n) => bar.inc(n),
        Event::Finished { .. } => {}
    };
    let all: Vec<usize> = (0..plan.entries.len()).collect();
    let report = critlab_sweep::execute(&plan, &all, &cmd.store, &options, &stop, &mut on_event)?;
    bar.finish_and_clear();
    outln!(
        "trained {} runs ({} done, {} diverged, {} failed; {} already stored) in {:.0} s",
        report.planned,
        report.done,
        report.diverged,
        report.failed,
        report.skipped,
        report.wall_seconds
    )?;

    let store = Store::open(&cmd.store)?;
    let analysis = phases::analyse(&store, plan.name(), "weight-decay", "train-frac", &ClassifyArgs::default())?;
    out!("{}", phases::summary(&analysis, &cmd.store))?;
    std::fs::create_dir_all(&cmd.out).with_context(|| format!("creating {}", cmd.out.display()))?;
    let mut files = phases::write_diagram(&analysis, &cmd.out.join("phase-diagram"))?;
    if let Some(written) = draw_example_run(&store, &analysis, &cmd.out)? {
        files.extend(written);
    }
    let page = cmd.out.join("report.html");
    let report_options =
        critlab_report::page::ReportOptions { sweep: Some(plan.name().to_string()), ..Default::default() };
    critlab_report::page::write_report(&cmd.store, &report_options, &page)?;
    files.push(page);
    outln!("files:")?;
    outln!("  store          {}", cmd.store.display())?;
    for f in &files {
        let what = if f.extension().is_some_and(|e| e == "html") { "report" } else { "figure" };
        outln!("  {what:<14} {}", f.display())?;
    }
    outln!(
        "done in {:.0} s; inspect with `critlab analyze phases --store {} --sweep {} --x weight-decay --y train-frac`",
        started.elapsed().as_secs_f64(),
        cmd.store.display(),
        plan.name()
    )?;
    Ok(if report.complete() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

/// Curves of a clear grokking run: among grokking runs whose test accuracy jumps by at least
/// 0.95, the one with the largest delay / width of that jump (a long plateau, then a sharp
/// rise); else any run that generalised.
fn draw_example_run(store: &Store, a: &Analysis, out: &std::path::Path) -> Result<Option<Vec<PathBuf>>> {
    let sharpness = |r: &&phases::RunResult| {
        let t = &r.transitions[0];
        t.delay.zip(t.width).map_or(f64::NEG_INFINITY, |(d, w)| d / w.max(1.0))
    };
    let pick = a
        .runs
        .iter()
        .filter(|r| r.classification.label.as_str() == "grokking" && r.transitions[0].jump.is_some_and(|j| j >= 0.95))
        .max_by(|p, q| sharpness(p).total_cmp(&sharpness(q)))
        .or_else(|| a.runs.iter().find(|r| r.transitions[0].t_grok.is_some()));
    let Some(run) = pick else { return Ok(None) };
    let series = phases::load_series(store, run.run_id)?;
    let acc = transitions::accuracy(&series, &Default::default());
    let title = format!("run {} (weight-decay {}, train-frac {}, seed {})", run.run_id, run.x, run.y, run.seed);
    let svg = run_curves_svg(
        &series,
        &acc,
        &format!("run {}", run.run_id),
        &format!("{title}: {}", run.classification.reason),
    );
    Ok(Some(critlab_report::write_figure(&svg, &out.join("grokking-run"))?))
}
