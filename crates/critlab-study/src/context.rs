//! What a study can do: run a sweep (resumably, locally or on Slurm) and read its runs back.
//!
//! Every sweep of a study is written to `DIR/sweeps/<name>.toml` before it runs, so the README
//! can give the exact `critlab sweep run` command for each, and a rerun of the study finds the
//! finished runs in the store (runs are keyed by the hash of their spec) and trains only what
//! is missing.
use crate::{Scale, StudyError};
use critlab_core::{RunSpec, RunStatus};
use critlab_store::Store;
use critlab_sweep::slurm::{self, SlurmOptions};
use critlab_sweep::{Event as SweepEvent, Options, Plan};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::time::Duration;

/// Where a study's sweeps run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Backend {
    /// This machine: the local executor's worker threads.
    Local,
    /// A Slurm job array per sweep (and its merge job); the study waits for each.
    Slurm,
}

/// How a study runs.
#[derive(Debug, Clone)]
pub struct StudyOptions {
    /// Which version of the study.
    pub scale: Scale,
    /// Output directory (results.json, README.md, figures, sweeps/).
    pub out: PathBuf,
    /// The store the sweeps train into.
    pub store: PathBuf,
    /// Local executor or Slurm.
    pub backend: Backend,
    /// Local worker threads (each trains one replica group).
    pub jobs: usize,
    /// The critlab binary Slurm's scripts call (the CLI passes its own path).
    pub critlab: Option<PathBuf>,
}

/// One stored run of a sweep, with the series the study asked for.
#[derive(Debug, Clone)]
pub struct RunData {
    /// The run's resolved spec.
    pub spec: RunSpec,
    /// How it ended.
    pub status: RunStatus,
    /// The requested series, name → (step, value) in step order.
    pub series: BTreeMap<String, Vec<(i64, f64)>>,
}

impl RunData {
    /// A series by name (empty when it was not recorded).
    pub fn series(&self, name: &str) -> &[(i64, f64)] {
        self.series.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// A sweep the study ran, for the README and results.json.
#[derive(Debug, Clone, Serialize)]
pub struct SweepRecord {
    /// The sweep's name in the store.
    pub name: String,
    /// Its spec file.
    pub spec: PathBuf,
    /// Runs in its plan.
    pub runs: usize,
    /// Σ steps over its runs.
    pub run_steps: u64,
}

/// The study's handle on the executor, the store and its output directory.
pub struct Context<'a> {
    pub(crate) opts: &'a StudyOptions,
    pub(crate) stop: &'a AtomicBool,
    pub(crate) on_event: &'a mut dyn FnMut(crate::Event<'_>),
    pub(crate) sweeps: Vec<SweepRecord>,
}

impl Context<'_> {
    /// The version of the study being run.
    pub fn scale(&self) -> Scale {
        self.opts.scale
    }

    /// The sweeps run so far.
    pub fn sweeps(&self) -> &[SweepRecord] {
        &self.sweeps
    }

    /// Writes the sweep spec `toml` (a complete sweep file whose `name` is `name`) to
    /// `DIR/sweeps/<name>.toml`, runs it to completion (resuming from the store) and returns
    /// its finished runs with the series `series`, in plan order.
    pub fn sweep(&mut self, name: &str, toml: &str, series: &[&str]) -> Result<Vec<RunData>, StudyError> {
        let dir = self.opts.out.join("sweeps");
        std::fs::create_dir_all(&dir).map_err(|e| StudyError::io("creating", &dir, e))?;
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, toml).map_err(|e| StudyError::io("writing", &path, e))?;
        let wrap = |source| StudyError::Sweep { sweep: name.to_string(), source };
        let plan = Plan::load(&path).map_err(wrap)?;
        let run_steps = plan.entries.iter().map(|e| e.spec.steps as u64).sum();
        (self.on_event)(crate::Event::SweepStarted { name, runs: plan.entries.len(), run_steps });
        match self.opts.backend {
            Backend::Local => self.run_local(&plan)?,
            Backend::Slurm => self.run_slurm(&plan, &path)?,
        }
        self.sweeps.push(SweepRecord { name: name.to_string(), spec: path, runs: plan.entries.len(), run_steps });
        self.load(&plan, series)
    }

    fn run_local(&mut self, plan: &Plan) -> Result<(), StudyError> {
        let all: Vec<usize> = (0..plan.entries.len()).collect();
        let options = Options { jobs: self.opts.jobs.max(1), ..Options::default() };
        let on_event = &mut *self.on_event;
        let mut forward = |e: SweepEvent<'_>| on_event(crate::Event::Sweep(e));
        let report = critlab_sweep::execute(plan, &all, &self.opts.store, &options, self.stop, &mut forward)
            .map_err(|source| StudyError::Sweep { sweep: plan.name().to_string(), source })?;
        if !report.complete() {
            let detail = if report.interrupted {
                format!("interrupted with {} runs not started", report.not_started)
            } else {
                format!(
                    "{} runs failed{}",
                    report.failed,
                    report.failures.first().map(|f| format!(" (first: {})", f.reason)).unwrap_or_default()
                )
            };
            return Err(StudyError::Incomplete { sweep: plan.name().to_string(), detail });
        }
        Ok(())
    }

    fn run_slurm(&mut self, plan: &Plan, spec: &Path) -> Result<(), StudyError> {
        if !slurm::available() {
            return Err(StudyError::Slurm("`sbatch` is not on PATH".into()));
        }
        let critlab = self
            .opts
            .critlab
            .clone()
            .ok_or_else(|| StudyError::Slurm("the path of the critlab binary is unknown".into()))?;
        let wrap = |source| StudyError::Sweep { sweep: plan.name().to_string(), source };
        let max_array = slurm::max_array_size().map_err(wrap)?;
        let dir = slurm::default_work_dir(&self.opts.store, plan.name());
        let options = SlurmOptions {
            array_limit: None,
            cpus_per_task: 1,
            max_group: critlab_sweep::local::DEFAULT_MAX_GROUP,
            max_shards: None,
            partition: None,
            time: None,
            worker_args: Vec::new(),
        };
        let mut prepared =
            slurm::prepare(plan, spec, &self.opts.store, &dir, &critlab, &options, max_array).map_err(wrap)?;
        (self.on_event)(crate::Event::SlurmPlanned {
            runs: prepared.pending_runs,
            skipped: plan.entries.len() - prepared.pending_runs,
        });
        if !prepared.array.is_empty() {
            let (array, merge) = slurm::submit(&mut prepared).map_err(wrap)?;
            (self.on_event)(crate::Event::Submitted { name: plan.name(), array: &array, merge: &merge });
            while slurm::job_active(&array).map_err(wrap)? || slurm::job_active(&merge).map_err(wrap)? {
                if self.stop.load(std::sync::atomic::Ordering::Relaxed) {
                    return Err(StudyError::Incomplete {
                        sweep: plan.name().to_string(),
                        detail: format!("interrupted while Slurm jobs {array} and {merge} run (they go on)"),
                    });
                }
                std::thread::sleep(Duration::from_millis(500));
            }
        }
        let store = Store::open(&self.opts.store)
            .map_err(|source| StudyError::Store { sweep: plan.name().to_string(), source })?;
        let finished = store
            .finished_runs(plan.name())
            .map_err(|source| StudyError::Store { sweep: plan.name().to_string(), source })?;
        let missing = plan.entries.iter().filter(|e| !finished.contains_key(&e.hash)).count();
        if missing > 0 {
            return Err(StudyError::Incomplete {
                sweep: plan.name().to_string(),
                detail: format!(
                    "{missing} runs are not finished after the Slurm jobs (logs in {})",
                    dir.join("logs").display()
                ),
            });
        }
        Ok(())
    }

    /// The finished runs of a plan, in plan order, with the requested series.
    fn load(&self, plan: &Plan, series: &[&str]) -> Result<Vec<RunData>, StudyError> {
        let err = |source| StudyError::Store { sweep: plan.name().to_string(), source };
        let store = Store::open(&self.opts.store).map_err(err)?;
        let finished = store.finished_runs(plan.name()).map_err(err)?;
        let mut out = Vec::with_capacity(plan.entries.len());
        for entry in &plan.entries {
            let Some(&id) = finished.get(&entry.hash) else {
                return Err(StudyError::Incomplete {
                    sweep: plan.name().to_string(),
                    detail: format!("run {} is not finished in {}", entry.index, self.opts.store.display()),
                });
            };
            let row = store.run(id).map_err(err)?;
            let mut data = BTreeMap::new();
            for name in series {
                data.insert(name.to_string(), store.series(id, name).map_err(err)?);
            }
            out.push(RunData { spec: entry.spec.spec().clone(), status: row.status, series: data });
        }
        Ok(out)
    }
}
