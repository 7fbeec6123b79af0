//! `critlab analyze phases`: per-run transitions and phases of a sweep (docs/theory.md §4), stored
//! back into the `transitions` table, and the phase diagram over two of its axes.
use crate::args::StoreArg;
use crate::table;
use anyhow::{bail, Context, Result};
use clap::Args;
use critlab_core::RunStatus;
use critlab_physics::phase_diagram::{self, PhaseDiagram, RunPoint};
use critlab_physics::phases::{self, Classification, GrokkingDelay, Label, PhaseOptions, RunFacts};
use critlab_physics::transitions::{self, RunSeries, TransitionOptions, Transitions};
use critlab_report::plot::phase_diagram::phase_diagram_svg;
use critlab_store::{RunId, RunRow, Store, TransitionRow};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Classify every run of a sweep and draw its phase diagram over two axes.
#[derive(Debug, Args)]
pub struct PhasesCmd {
    #[command(flatten)]
    store: StoreArg,
    /// The sweep (its name in the store)
    #[arg(long)]
    sweep: String,
    /// Run-spec key on the horizontal axis (e.g. weight-decay)
    #[arg(long, value_name = "AXIS")]
    x: String,
    /// Run-spec key on the vertical axis (e.g. train-frac)
    #[arg(long, value_name = "AXIS")]
    y: String,
    /// Write the diagram here: FILE.svg, FILE.png, or both FILE.svg and FILE.png for any other name
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Print the grid, the phase per cell and run, and the boundary points as JSON
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    options: ClassifyArgs,
}

/// The detector and classification options (docs/theory.md §4 defaults).
#[derive(Debug, Clone, Args)]
pub struct ClassifyArgs {
    /// Train accuracy that counts as memorised (t_mem)
    #[arg(long, default_value_t = 0.9, value_parser = crate::args::fraction)]
    train_threshold: f64,
    /// Test accuracy that counts as generalised (t_grok)
    #[arg(long, default_value_t = 0.9, value_parser = crate::args::fraction)]
    test_threshold: f64,
    /// Grokking when the delay t_grok − t_mem exceeds this fraction of the step budget
    #[arg(long, default_value_t = 0.01, value_name = "FRACTION", value_parser = crate::args::fraction)]
    grokking_delay: f64,
    /// Grokking when the delay exceeds this many steps (replaces --grokking-delay)
    #[arg(long, value_name = "STEPS", value_parser = crate::args::non_negative)]
    grokking_delay_steps: Option<f64>,
    /// Running-median window applied to every series before detection (odd; 1 = none)
    #[arg(long, default_value_t = 3, value_parser = crate::args::at_least::<1>)]
    smooth: usize,
}

impl Default for ClassifyArgs {
    fn default() -> Self {
        Self { train_threshold: 0.9, test_threshold: 0.9, grokking_delay: 0.01, grokking_delay_steps: None, smooth: 3 }
    }
}

impl ClassifyArgs {
    fn options(&self) -> Result<(TransitionOptions, PhaseOptions)> {
        if self.smooth == 0 || self.smooth % 2 == 0 {
            bail!("--smooth must be an odd number of points, got {}", self.smooth);
        }
        for (name, v) in [("--train-threshold", self.train_threshold), ("--test-threshold", self.test_threshold)] {
            if !(v > 0.0 && v <= 1.0) {
                bail!("{name} must be in (0, 1], got {v}");
            }
        }
        let grokking_delay = match self.grokking_delay_steps {
            Some(s) if s.is_finite() && s >= 0.0 => GrokkingDelay::Steps(s),
            Some(s) => bail!("--grokking-delay-steps must be a non-negative number, got {s}"),
            None if self.grokking_delay.is_finite() && self.grokking_delay >= 0.0 => {
                GrokkingDelay::BudgetFraction(self.grokking_delay)
            }
            None => bail!("--grokking-delay must be a non-negative fraction, got {}", self.grokking_delay),
        };
        let t = TransitionOptions {
            train_threshold: self.train_threshold,
            test_threshold: self.test_threshold,
            smooth: self.smooth,
            ..Default::default()
        };
        Ok((t, PhaseOptions { grokking_delay }))
    }
}

/// One analysed run.
#[derive(Debug, Clone, Serialize)]
pub struct RunResult {
    /// Run id.
    pub run_id: RunId,
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
    /// Seed.
    pub seed: u64,
    /// Status in the store.
    pub status: RunStatus,
    /// Phase and reason.
    #[serde(flatten)]
    pub classification: Classification,
    /// The three detectors' transitions.
    pub transitions: Vec<Transitions>,
}

/// The analysis of one sweep.
#[derive(Debug, Clone, Serialize)]
pub struct Analysis {
    /// The sweep.
    pub sweep: String,
    /// The diagram (axes, cells, boundary points).
    pub diagram: PhaseDiagram,
    /// Every run of the sweep.
    pub runs: Vec<RunResult>,
    /// Whether the transitions were written back to the store (not when it is read-only).
    pub stored: bool,
}

/// Reads a run's series for the detectors.
pub fn load_series(store: &Store, run: RunId) -> Result<RunSeries> {
    let get = |name: &str| store.series(run, name).with_context(|| format!("reading {name} of run {run}"));
    Ok(RunSeries {
        train_acc: get("train_acc")?,
        test_acc: get("test_acc")?,
        train_loss: get("train_loss")?,
        test_loss: get("test_loss")?,
        explained_variance: get("explained_variance")?,
    })
}

fn axis_value(run: &RunRow, key: &str) -> Option<f64> {
    run.spec.get(key).and_then(serde_json::Value::as_f64)
}

/// Numeric spec keys whose value differs between runs (the sweep's axes), for messages.
fn varying_keys(runs: &[RunRow]) -> Vec<String> {
    let keys: BTreeSet<String> =
        runs.iter().filter_map(|r| r.spec.as_object()).flat_map(|o| o.keys().cloned()).collect();
    keys.into_iter()
        .filter(|k| {
            let vals: BTreeSet<String> = runs.iter().filter_map(|r| axis_value(r, k)).map(|v| v.to_string()).collect();
            vals.len() > 1
        })
        .collect()
}

/// Classifies every run of `sweep`, stores the transitions back, and builds the diagram.
pub fn analyse(store: &Store, sweep: &str, x: &str, y: &str, args: &ClassifyArgs) -> Result<Analysis> {
    let (topts, popts) = args.options()?;
    let runs = store.runs(Some(sweep))?;
    if runs.is_empty() {
        bail!("store {} has no runs of sweep `{sweep}`", store.path().display());
    }
    for key in [x, y] {
        if runs.iter().all(|r| axis_value(r, key).is_none()) {
            bail!(
                "`{key}` is not a numeric key of the runs of sweep `{sweep}`; keys that vary: {}",
                varying_keys(&runs).join(", ")
            );
        }
    }
    let mut budgets: Vec<i64> =
        runs.iter().filter_map(|r| r.spec.get("steps").and_then(serde_json::Value::as_i64)).collect();
    budgets.sort_unstable();
    budgets.dedup();
    if budgets.len() > 1 && x != "steps" && y != "steps" {
        errln!(
            "warning: the runs of sweep `{sweep}` have {} different step budgets ({}); phases of runs with unequal budgets are not comparable",
            budgets.len(),
            budgets.iter().map(i64::to_string).collect::<Vec<_>>().join(", ")
        );
    }
    let options_json = serde_json::json!({ "transitions": topts, "phases": popts }).to_string();
    let mut results = Vec::with_capacity(runs.len());
    for run in &runs {
        let series = load_series(store, run.id)?;
        let found = transitions::detect(&series, &topts);
        let facts = RunFacts {
            status: run.status,
            status_reason: run.reason.as_deref(),
            budget: run.spec.get("steps").and_then(serde_json::Value::as_i64),
            last_step: run.last_step,
        };
        let class = phases::classify(&facts, &series, &found[0], &popts);
        let rows: Vec<TransitionRow> = found
            .iter()
            .map(|t| TransitionRow {
                run_id: run.id,
                detector: t.detector.as_str().into(),
                quantity: t.quantity.into(),
                t_mem: t.t_mem,
                t_grok: t.t_grok,
                delay: t.delay,
                width: t.width,
                jump: t.jump,
                phase: Some(class.label.as_str().into()),
                reason: Some(class.reason.clone()),
                note: t.note.clone(),
                options_json: options_json.clone(),
            })
            .collect();
        if !store.is_read_only() {
            store.write_transitions(run.id, &rows)?;
        }
        results.push(RunResult {
            run_id: run.id,
            x: axis_value(run, x).unwrap_or(f64::NAN),
            y: axis_value(run, y).unwrap_or(f64::NAN),
            seed: run.seed,
            status: run.status,
            classification: class,
            transitions: found,
        });
    }
    let points: Vec<RunPoint> = results
        .iter()
        .map(|r| RunPoint {
            run_id: r.run_id,
            x: r.x,
            y: r.y,
            label: r.classification.label,
            t_grok: r.transitions[0].t_grok,
        })
        .collect();
    let diagram = phase_diagram::build(x, y, &points);
    Ok(Analysis { sweep: sweep.into(), diagram, runs: results, stored: !store.is_read_only() })
}

/// The terminal summary: the grid of majority phases, counts and boundaries.
pub fn summary(a: &Analysis, store: &Path) -> String {
    let d = &a.diagram;
    let mut out = format!(
        "sweep {}: {} runs in {} cells; x = {}{}, y = {}{}\n",
        a.sweep,
        a.runs.len(),
        d.cells.len(),
        d.x.name,
        if d.x.log { " (log-spaced)" } else { "" },
        d.y.name,
        if d.y.log { " (log-spaced)" } else { "" }
    );
    let corner = format!("{} \\ {}", d.y.name, d.x.name);
    let xs: Vec<String> = d.x.values.iter().map(|v| table::num(Some(*v))).collect();
    let mut header: Vec<&str> = vec![corner.as_str()];
    header.extend(xs.iter().map(String::as_str));
    let rows: Vec<Vec<String>> = (0..d.y.values.len())
        .rev()
        .map(|j| {
            let mut row = vec![table::num(Some(d.y.values[j]))];
            row.extend((0..d.x.values.len()).map(|i| match d.cell(i, j) {
                Some(c) if c.share < 1.0 => {
                    format!("{} {:.0}/{}", c.label, c.share * c.runs.len() as f64, c.runs.len())
                }
                Some(c) => c.label.to_string(),
                None => "·".into(),
            }));
            row
        })
        .collect();
    out.push_str(&table::render(&header, &rows));
    let counts: Vec<String> = Label::all()
        .into_iter()
        .filter_map(|l| {
            let n = a.runs.iter().filter(|r| r.classification.label == l).count();
            (n > 0).then(|| format!("{l} {n}"))
        })
        .collect();
    out.push_str(&format!("runs by phase: {}\n", counts.join(", ")));
    out.push_str(&format!("{} boundary points between neighbouring cells of different phases\n", d.boundaries.len()));
    if a.stored {
        out.push_str(&format!("transitions and phases stored in {} (table `transitions`)\n", store.display()));
    } else {
        out.push_str(&format!("{} is read-only: transitions and phases were not stored\n", store.display()));
    }
    out
}

/// Writes the diagram figure; returns the files written.
pub fn write_diagram(a: &Analysis, path: &Path) -> Result<Vec<PathBuf>> {
    let svg = phase_diagram_svg(&a.diagram, &format!("sweep {}: {} runs", a.sweep, a.runs.len()));
    Ok(critlab_report::write_figure(&svg, path)?)
}

/// Runs `critlab analyze phases`.
pub fn run(cmd: PhasesCmd) -> Result<ExitCode> {
    let path = &cmd.store.store;
    // The results are written back when the store may be written; a read-only file is
    // analysed all the same.
    let writable = std::fs::OpenOptions::new().write(true).open(path).is_ok();
    let store = if writable { Store::open(path)? } else { Store::open_read_only(path)? };
    let analysis = analyse(&store, &cmd.sweep, &cmd.x, &cmd.y, &cmd.options)?;
    if let Some(path) = &cmd.plot {
        for f in write_diagram(&analysis, path)? {
            errln!("wrote {}", f.display());
        }
    }
    if cmd.json {
        outln!("{}", serde_json::to_string_pretty(&analysis)?)?;
    } else {
        out!("{}", summary(&analysis, &cmd.store.store))?;
    }
    Ok(ExitCode::SUCCESS)
}
