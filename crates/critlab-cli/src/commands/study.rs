//! `critlab study list | run`: built-in studies (crates/critlab-study), each a question answered
//! by sweeps, analyses and figures, written to an output directory.
use crate::commands::train::{interrupt_flag, progress_bar};
use anyhow::{Context, Result};
use clap::{Args, Subcommand, ValueEnum};
use critlab_study::{Backend, Event, Scale, StudyOptions};
use std::path::PathBuf;
use std::process::ExitCode;

/// List or run studies.
#[derive(Debug, Subcommand)]
pub enum StudyCmd {
    /// List the built-in studies and their questions.
    List {
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
    /// Run a study (resumable: rerun the same command after an interruption).
    Run(RunCmd),
}

/// Where the study's sweeps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum BackendArg {
    /// This machine.
    Local,
    /// A Slurm job array per sweep; the study waits for each.
    Slurm,
}

/// `study run`.
#[derive(Debug, Args)]
pub struct RunCmd {
    /// The study (see `critlab study list`)
    name: String,
    /// The quick version (at most 30 minutes on 2 cores)
    #[arg(long, conflicts_with = "tiny")]
    quick: bool,
    /// The smallest version, which exercises every step in under a minute (for tests)
    #[arg(long)]
    tiny: bool,
    /// SQLite store the sweeps train into [default: DIR/study.db]
    #[arg(long, value_name = "FILE")]
    store: Option<PathBuf>,
    /// Output directory [default: study-NAME]
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Where the sweeps run
    #[arg(long, value_enum, default_value_t = BackendArg::Local)]
    backend: BackendArg,
    /// Local worker threads [default: number of cores]
    #[arg(long)]
    jobs: Option<usize>,
    /// Print the report as JSON
    #[arg(long)]
    json: bool,
}

/// Runs a `study` subcommand.
pub fn run(cmd: StudyCmd) -> Result<ExitCode> {
    match cmd {
        StudyCmd::List { json } => {
            let studies: Vec<serde_json::Value> = critlab_study::all()
                .iter()
                .map(|s| serde_json::json!({ "name": s.name(), "question": s.question() }))
                .collect();
            if json {
                outln!("{}", serde_json::to_string_pretty(&studies)?)?;
            } else {
                for s in critlab_study::all() {
                    outln!("{}\n    {}", s.name(), s.question())?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        StudyCmd::Run(c) => run_study(c),
    }
}

fn run_study(cmd: RunCmd) -> Result<ExitCode> {
    let study = critlab_study::find(&cmd.name)?;
    let scale = if cmd.tiny {
        Scale::Tiny
    } else if cmd.quick {
        Scale::Quick
    } else {
        Scale::Full
    };
    let out = cmd.out.clone().unwrap_or_else(|| PathBuf::from(format!("study-{}", study.name())));
    let opts = StudyOptions {
        scale,
        store: cmd.store.clone().unwrap_or_else(|| out.join("study.db")),
        out,
        backend: match cmd.backend {
            BackendArg::Local => Backend::Local,
            BackendArg::Slurm => Backend::Slurm,
        },
        jobs: cmd.jobs.unwrap_or_else(critlab_sweep::local::default_jobs),
        critlab: std::env::current_exe().ok(),
    };
    let stop = interrupt_flag();
    let bar = progress_bar(0, "run-steps");
    if cmd.json {
        bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
    }
    let mut on_event = |e: Event<'_>| match e {
        Event::SweepStarted { name, runs, run_steps } => {
            bar.reset();
            bar.set_length(run_steps);
            bar.set_message(format!("sweep {name}: {runs} runs"));
        }
        Event::Sweep(critlab_sweep::Event::Planned { runs, skipped, .. }) if skipped > 0 => {
            bar.println(format!("resuming: {skipped} finished runs skipped, {runs} to train"));
        }
        Event::Sweep(critlab_sweep::Event::Steps(n)) => bar.inc(n),
        Event::Sweep(_) => {}
        Event::Submitted { name, array, merge } => {
            bar.println(format!("sweep {name}: submitted Slurm array job {array} and merge job {merge}; waiting"));
        }
        Event::SlurmPlanned { runs, skipped } if skipped > 0 => {
            bar.println(format!("resuming: {skipped} finished runs skipped, {runs} to train on Slurm"));
        }
        Event::SlurmPlanned { .. } => {}
    };
    let report = critlab_study::run(study, &opts, &stop, &mut on_event);
    bar.finish_and_clear();
    let report = report.with_context(|| format!("study `{}`", study.name()))?;
    if cmd.json {
        outln!("{}", serde_json::to_string_pretty(&report)?)?;
    } else {
        outln!(
            "study {} ({}): {} runs trained, {} already in {}, {:.1} s\n  results: {}\n  README:  {}",
            study.name(),
            scale.as_str(),
            report.runs_trained,
            report.runs_skipped,
            opts.store.display(),
            report.wall_seconds,
            report.results.display(),
            report.readme.display()
        )?;
        for f in &report.figures {
            outln!("  figure:  {}", f.display())?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
