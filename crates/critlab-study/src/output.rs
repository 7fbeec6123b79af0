//! Running a study and writing what it found: `results.json`, figures, `README.md`.
use crate::context::{Context, StudyOptions, SweepRecord};
use crate::{Findings, Study, StudyError};
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// Progress of a study (for the CLI's progress bars).
#[derive(Debug)]
pub enum Event<'a> {
    /// A sweep of the study is about to run.
    SweepStarted {
        /// The sweep's name.
        name: &'a str,
        /// Runs in its plan.
        runs: usize,
        /// Σ steps over its runs.
        run_steps: u64,
    },
    /// An event of the local executor.
    Sweep(critlab_sweep::Event<'a>),
    /// A sweep was submitted to Slurm.
    Submitted {
        /// The sweep's name.
        name: &'a str,
        /// The array job id.
        array: &'a str,
        /// The merge job id.
        merge: &'a str,
    },
    /// A sweep planned for Slurm: `runs` to train in the array, `skipped` already finished.
    SlurmPlanned {
        /// Runs the array trains.
        runs: usize,
        /// Runs found finished in the store.
        skipped: usize,
    },
}

/// What [`run`] wrote.
#[derive(Debug, Clone, Serialize)]
pub struct StudyReport {
    /// The study.
    pub study: String,
    /// `results.json`.
    pub results: PathBuf,
    /// `README.md`.
    pub readme: PathBuf,
    /// Figure files (SVG and PNG).
    pub figures: Vec<PathBuf>,
    /// Wall-clock seconds of this invocation.
    pub wall_seconds: f64,
    /// Runs trained by this invocation.
    pub runs_trained: usize,
    /// Runs found finished in the store and not trained again.
    pub runs_skipped: usize,
}

/// The 1-, 5- and 15-minute load averages, when the system says (Linux `/proc/loadavg`).
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(text.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
}

/// Runs `study` with `opts` and writes its output directory. `stop` (Ctrl-C) interrupts the
/// sweep in flight; a rerun resumes.
pub fn run(
    study: &dyn Study,
    opts: &StudyOptions,
    stop: &AtomicBool,
    on_event: &mut dyn FnMut(Event<'_>),
) -> Result<StudyReport, StudyError> {
    let started = Instant::now();
    let load_before = load_average();
    std::fs::create_dir_all(&opts.out).map_err(|e| StudyError::io("creating", &opts.out, e))?;
    let (mut trained, mut skipped) = (0usize, 0usize);
    let mut count = |e: Event<'_>| {
        match &e {
            Event::Sweep(critlab_sweep::Event::Planned { runs, skipped: s, .. })
            | Event::SlurmPlanned { runs, skipped: s } => {
                trained += runs;
                skipped += s;
            }
            _ => {}
        }
        on_event(e);
    };
    let mut ctx = Context { opts, stop, on_event: &mut count, sweeps: Vec::new() };
    let findings = study.run(&mut ctx)?;
    let sweeps = std::mem::take(&mut ctx.sweeps);
    drop(ctx);

    let mut figures = Vec::new();
    for (stem, svg) in &findings.figures {
        figures.extend(critlab_report::write_figure(svg, &opts.out.join(stem))?);
    }
    let results_path = opts.out.join("results.json");
    let json = results_json(study, opts, &sweeps, &findings);
    let text = serde_json::to_string_pretty(&json).expect("results serialize");
    std::fs::write(&results_path, text + "\n").map_err(|e| StudyError::io("writing", &results_path, e))?;
    let wall = started.elapsed().as_secs_f64();
    let cost = Cost { wall, trained, skipped, load_before, load_after: load_average() };
    let readme_path = opts.out.join("README.md");
    std::fs::write(&readme_path, readme(study, opts, &sweeps, &findings, &cost))
        .map_err(|e| StudyError::io("writing", &readme_path, e))?;
    Ok(StudyReport {
        study: study.name().to_string(),
        results: results_path,
        readme: readme_path,
        figures,
        wall_seconds: wall,
        runs_trained: trained,
        runs_skipped: skipped,
    })
}

/// A path relative to the output directory when it lies inside it.
fn relative(path: &Path, base: &Path) -> String {
    path.strip_prefix(base).unwrap_or(path).display().to_string()
}

/// `results.json`: nothing in it depends on the wall clock or on how often the study was
/// interrupted, so a resumed study writes the same file.
fn results_json(study: &dyn Study, opts: &StudyOptions, sweeps: &[SweepRecord], f: &Findings) -> serde_json::Value {
    let sweeps: Vec<serde_json::Value> = sweeps
        .iter()
        .map(|s| serde_json::json!({ "name": s.name, "spec": relative(&s.spec, &opts.out), "runs": s.runs, "run_steps": s.run_steps }))
        .collect();
    serde_json::json!({
        "study": study.name(),
        "scale": opts.scale,
        "question": study.question(),
        "critlab_version": env!("CARGO_PKG_VERSION"),
        "sweeps": sweeps,
        "results": f.results,
        "undetermined": f.undetermined,
    })
}

struct Cost {
    wall: f64,
    trained: usize,
    skipped: usize,
    load_before: Option<String>,
    load_after: Option<String>,
}

fn readme(study: &dyn Study, opts: &StudyOptions, sweeps: &[SweepRecord], f: &Findings, cost: &Cost) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# Study `{}` ({} version)\n\n{}\n", study.name(), opts.scale.as_str(), study.question());
    let _ = writeln!(s, "## Results\n");
    for line in &f.summary {
        let _ = writeln!(s, "{line}");
    }
    let _ = writeln!(s, "\nEvery number is in `results.json` beside this file.\n");
    let _ = writeln!(s, "## What could not be determined\n");
    if f.undetermined.is_empty() {
        let _ = writeln!(s, "Nothing: every quantity of the study was determined.");
    }
    for line in &f.undetermined {
        let _ = writeln!(s, "- {line}");
    }
    let _ = writeln!(s, "\n## Published anchors\n\n{}\n", study.anchors());
    if !f.figures.is_empty() {
        let _ = writeln!(s, "## Figures\n");
        for (stem, _) in &f.figures {
            let _ = writeln!(s, "![{stem}]({stem}.png) ([SVG]({stem}.svg))\n");
        }
    }
    let store = opts.store.display();
    let _ = writeln!(s, "## Commands\n");
    let _ = writeln!(
        s,
        "The whole study (resumes from the store; rerunning with the same store retrains nothing):\n\n```sh\ncritlab study run {}{}{} --store {store} --out {}\n```\n",
        study.name(),
        opts.scale.flag(),
        if opts.backend == crate::Backend::Slurm { " --backend slurm" } else { "" },
        opts.out.display()
    );
    let _ = writeln!(s, "Its sweeps, one by one (the specs are in `sweeps/`):\n\n```sh");
    for sw in sweeps {
        let _ = writeln!(s, "critlab sweep run {} --store {store}", sw.spec.display());
    }
    let _ = writeln!(s, "```\n");
    let _ = writeln!(s, "## Cost\n");
    let runs: usize = sweeps.iter().map(|s| s.runs).sum();
    let steps: u64 = sweeps.iter().map(|s| s.run_steps).sum();
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let _ = writeln!(
        s,
        "{} sweeps, {runs} runs, {steps} run-steps. This invocation: {:.1} s wall time on {cores} cores with {} worker threads ({} backend), {} runs trained, {} found finished in the store. Load average (1, 5, 15 min) before: {}; after: {}.",
        sweeps.len(),
        cost.wall,
        opts.jobs,
        match opts.backend {
            crate::Backend::Local => "local",
            crate::Backend::Slurm => "slurm",
        },
        cost.trained,
        cost.skipped,
        cost.load_before.as_deref().unwrap_or("unknown"),
        cost.load_after.as_deref().unwrap_or("unknown"),
    );
    s
}
