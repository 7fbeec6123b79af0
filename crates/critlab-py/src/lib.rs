//! The native module `critlab._critlab` behind the `critlab` Python package: the store
//! (read runs and series; create runs and write metrics through the store's single writer
//! thread, same schema as `critlab train`) and the analyses, called on plain arrays with
//! exactly the code paths of the CLI. Results cross as JSON text, which the Python side parses
//! into dicts, so the Python results carry every field the CLI's `--json` has.
use critlab_core::RunStatus;
use critlab_physics::binder::{self, BinderOptions};
use critlab_physics::collapse::CollapseOptions;
use critlab_physics::corrections::{self, AnalysisOptions, CorrectionChoice};
use critlab_physics::divergence::{self, DivergenceOptions, Side};
use critlab_physics::relations::{self, ExponentSet, ExponentValue};
use critlab_physics::phases::{self, GrokkingDelay, PhaseOptions, RunFacts};
use critlab_physics::transitions::{self, RunSeries, TransitionOptions};
use critlab_physics::{CollapseData, FssColumns, Table, XyColumns, XyData};
use critlab_store::{MetricRow, RunId, Writer};
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::prelude::*;

fn value_err(e: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(e.to_string())
}

fn json(v: &impl serde::Serialize) -> PyResult<String> {
    serde_json::to_string(v).map_err(value_err)
}

/// A critlab store (one SQLite file); metrics are written by the store's writer thread.
#[pyclass(unsendable)]
struct Store {
    inner: critlab_store::Store,
    writer: Option<Writer>,
}

#[pymethods]
impl Store {
    #[new]
    fn new(path: &str) -> PyResult<Self> {
        let inner = critlab_store::Store::open(path).map_err(value_err)?;
        Ok(Self { inner, writer: None })
    }

    /// The store's file.
    fn path(&self) -> String {
        self.inner.path().display().to_string()
    }

    /// Every run (optionally of one sweep) as JSON, the rows of `critlab runs list --json`.
    #[pyo3(signature = (sweep=None))]
    fn runs_json(&self, sweep: Option<&str>) -> PyResult<String> {
        json(&self.inner.runs(sweep).map_err(value_err)?)
    }

    /// One run as JSON.
    fn run_json(&self, id: RunId) -> PyResult<String> {
        json(&self.inner.run(id).map_err(value_err)?)
    }

    /// Metric names of a run.
    fn metric_names(&self, run: RunId) -> PyResult<Vec<String>> {
        self.inner.metric_names(run).map_err(value_err)
    }

    /// One series: (steps, values).
    fn series(&self, run: RunId, name: &str) -> PyResult<(Vec<i64>, Vec<f64>)> {
        Ok(self.inner.series(run, name).map_err(value_err)?.into_iter().unzip())
    }

    /// Stored transitions (of one run or all) as JSON.
    #[pyo3(signature = (run=None))]
    fn transitions_json(&self, run: Option<RunId>) -> PyResult<String> {
        json(&self.inner.transitions(run).map_err(value_err)?)
    }

    /// Creates a `running` run with this spec (a JSON object) and returns its id.
    #[pyo3(signature = (spec_json, sweep=None, backend="pytorch"))]
    fn create_run(&self, spec_json: &str, sweep: Option<&str>, backend: &str) -> PyResult<RunId> {
        let spec: serde_json::Value = serde_json::from_str(spec_json).map_err(value_err)?;
        let spec = spec.as_object().ok_or_else(|| value_err("the spec must be a JSON object"))?;
        self.inner.create_external_run(spec, sweep, backend).map_err(value_err)
    }

    /// Queues the values of one step of a run (committed in batches by the writer thread).
    fn write(&mut self, run: RunId, step: i64, names: Vec<String>, values: Vec<f64>) -> PyResult<()> {
        if names.len() != values.len() {
            return Err(value_err(format!("{} names but {} values", names.len(), values.len())));
        }
        let rows = names.into_iter().zip(values).map(|(name, value)| MetricRow { run, step, name, value }).collect();
        self.writer()?.metrics(rows).map_err(value_err)
    }

    /// Marks a run finished (`done`, `diverged` or `failed`), committed after its metrics.
    #[pyo3(signature = (run, status="done", reason=None, wall_seconds=0.0))]
    fn finish(&mut self, run: RunId, status: &str, reason: Option<String>, wall_seconds: f64) -> PyResult<()> {
        let status = RunStatus::parse(status).ok_or_else(|| value_err(format!("unknown status `{status}`")))?;
        self.writer()?.finish(run, status, reason, wall_seconds).map_err(value_err)?;
        self.flush()
    }

    /// Blocks until everything queued is committed.
    fn flush(&mut self) -> PyResult<()> {
        match &mut self.writer {
            Some(w) => w.flush().map_err(value_err),
            None => Ok(()),
        }
    }

    /// Commits everything and stops the writer thread.
    fn close(&mut self) -> PyResult<()> {
        match self.writer.take() {
            Some(w) => w.close().map_err(value_err),
            None => Ok(()),
        }
    }
}

impl Store {
    fn writer(&mut self) -> PyResult<&mut Writer> {
        if self.writer.is_none() {
            self.writer = Some(self.inner.writer().map_err(|e| PyRuntimeError::new_err(e.to_string()))?);
        }
        Ok(self.writer.as_mut().expect("just set"))
    }
}

fn points(steps: &[i64], values: &[f64], name: &str) -> PyResult<Vec<(i64, f64)>> {
    if steps.len() != values.len() {
        return Err(value_err(format!("{name}: {} steps but {} values", steps.len(), values.len())));
    }
    Ok(steps.iter().copied().zip(values.iter().copied()).collect())
}

/// Transitions of one run by every detector (`critlab analyze phases` per run) and its phase,
/// as JSON `{"transitions": [...], "label": ..., "reason": ...}`.
#[pyfunction]
#[pyo3(signature = (steps, train_acc, test_acc, train_loss, test_loss, explained_variance, budget=None,
                    status="done", train_threshold=0.9, test_threshold=0.9, smooth=3, grokking_delay=0.01,
                    grokking_delay_steps=None))]
#[allow(clippy::too_many_arguments)]
fn phases_json(
    steps: Vec<i64>,
    train_acc: Vec<f64>,
    test_acc: Vec<f64>,
    train_loss: Vec<f64>,
    test_loss: Vec<f64>,
    explained_variance: Vec<f64>,
    budget: Option<i64>,
    status: &str,
    train_threshold: f64,
    test_threshold: f64,
    smooth: usize,
    grokking_delay: f64,
    grokking_delay_steps: Option<f64>,
) -> PyResult<String> {
    let series_of = |v: &[f64], name: &str| if v.is_empty() { Ok(Vec::new()) } else { points(&steps, v, name) };
    let series = RunSeries {
        train_acc: series_of(&train_acc, "train_acc")?,
        test_acc: series_of(&test_acc, "test_acc")?,
        train_loss: series_of(&train_loss, "train_loss")?,
        test_loss: series_of(&test_loss, "test_loss")?,
        explained_variance: series_of(&explained_variance, "explained_variance")?,
    };
    if smooth == 0 || smooth % 2 == 0 {
        return Err(value_err(format!("smooth must be an odd number of points, got {smooth}")));
    }
    let topts = TransitionOptions { train_threshold, test_threshold, smooth, ..Default::default() };
    let popts = PhaseOptions {
        grokking_delay: match grokking_delay_steps {
            Some(s) => GrokkingDelay::Steps(s),
            None => GrokkingDelay::BudgetFraction(grokking_delay),
        },
    };
    let found = transitions::detect(&series, &topts);
    let status = RunStatus::parse(status).ok_or_else(|| value_err(format!("unknown status `{status}`")))?;
    let facts = RunFacts { status, status_reason: None, budget, last_step: steps.iter().copied().max() };
    let class = phases::classify(&facts, &series, &found[0], &popts);
    json(&serde_json::json!({ "transitions": found, "label": class.label.as_str(), "reason": class.reason }))
}

/// Power-law divergence y = A |x − x_c|^(−κ) (`critlab analyze divergence --json`).
#[pyfunction]
#[pyo3(signature = (x, y, dy=None, side="auto", bootstrap=200, seed=0))]
fn divergence_json(x: Vec<f64>, y: Vec<f64>, dy: Option<Vec<f64>>, side: &str, bootstrap: usize, seed: u64) -> PyResult<String> {
    // The same path as the CLI: a table, then XyData::from_table (sorting, validation).
    let has_dy = dy.is_some();
    let table = columns_table(vec![("x", x), ("y", y)], dy)?;
    let data = XyData::from_table(&table, &XyColumns { x: "x".into(), y: "y".into(), dy: has_dy.then(|| "dy".into()) }).map_err(value_err)?;
    let side = match side {
        "auto" => Side::Auto,
        "above" => Side::Above,
        "below" => Side::Below,
        other => return Err(value_err(format!("side must be auto, above or below, got `{other}`"))),
    };
    let result = divergence::fit(&data, &DivergenceOptions { side, bootstrap, seed }).map_err(value_err)?;
    json(&result)
}

/// Finite-size data through the CLI's path: a table, then `CollapseData::from_table`
/// (grouping by size, sorting, validation with the same messages).
fn fss_data(size: Vec<f64>, x: Vec<f64>, y: Vec<f64>, dy: Option<Vec<f64>>) -> PyResult<CollapseData> {
    let has_dy = dy.is_some();
    let table = columns_table(vec![("size", size), ("x", x), ("y", y)], dy)?;
    let cols = FssColumns { size: "size".into(), x: "x".into(), y: "y".into(), dy: has_dy.then(|| "dy".into()) };
    CollapseData::from_table(&table, &cols).map_err(value_err)
}

/// The in-memory table the CLI would read from a file: the named columns plus an optional
/// `dy`, all of the same length (a mismatch is an error naming every length).
fn columns_table(mut named: Vec<(&'static str, Vec<f64>)>, dy: Option<Vec<f64>>) -> PyResult<Table> {
    named.extend(dy.map(|d| ("dy", d)));
    let (names, cols): (Vec<&str>, Vec<Vec<f64>>) = named.into_iter().unzip();
    if cols.iter().any(|c| c.len() != cols[0].len()) {
        let lengths: Vec<String> = names.iter().zip(&cols).map(|(n, c)| format!("{n} {}", c.len())).collect();
        return Err(value_err(format!("the columns must have the same length, got {}", lengths.join(", "))));
    }
    Ok(Table::from_columns(&names, &cols))
}

/// Data collapse with corrections chosen from the data and the L_min-drift systematic error
/// (`critlab analyze collapse --json`, default method).
#[pyfunction]
#[pyo3(signature = (size, x, y, dy=None, x_c=None, nu=1.0, zeta=0.0, fix_zeta=None, drop_smallest=0, starts=12,
                    bootstrap=100, seed=0, correction="auto", omega=None, drift=true))]
#[allow(clippy::too_many_arguments)]
fn collapse_json(
    size: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
    dy: Option<Vec<f64>>,
    x_c: Option<f64>,
    nu: f64,
    zeta: f64,
    fix_zeta: Option<f64>,
    drop_smallest: usize,
    starts: usize,
    bootstrap: usize,
    seed: u64,
    correction: &str,
    omega: Option<f64>,
    drift: bool,
) -> PyResult<String> {
    let data = fss_data(size, x, y, dy)?;
    if !(nu > 0.0 && nu.is_finite()) || omega.is_some_and(|w| !(w > 0.0 && w.is_finite())) || starts == 0 {
        return Err(value_err(format!("nu and omega must be positive and finite and starts ≥ 1, got nu = {nu}, omega = {omega:?}, starts = {starts}")));
    }
    let correction = match correction {
        "auto" => CorrectionChoice::Auto,
        "none" => CorrectionChoice::None,
        "amplitude" => CorrectionChoice::Amplitude,
        "shift" => CorrectionChoice::Shift,
        "both" => CorrectionChoice::Both,
        other => return Err(value_err(format!("correction must be auto, none, amplitude, shift or both, got `{other}`"))),
    };
    let collapse = CollapseOptions { x_c_guess: x_c, nu_guess: nu, zeta_guess: zeta, fix_zeta, drop_smallest, starts, bootstrap, seed, ..Default::default() };
    let opts = AnalysisOptions { collapse, correction, omega, drift, ..Default::default() };
    json(&corrections::analyze(&data, &opts).map_err(value_err)?)
}

/// The critical point from crossings of curves of different sizes (`critlab analyze
/// crossing --json`).
#[pyfunction]
#[pyo3(signature = (size, x, y, dy=None, bootstrap=200, seed=0, drop_smallest=0))]
fn crossing_json(size: Vec<f64>, x: Vec<f64>, y: Vec<f64>, dy: Option<Vec<f64>>, bootstrap: usize, seed: u64, drop_smallest: usize) -> PyResult<String> {
    let data = fss_data(size, x, y, dy)?;
    json(&binder::fit(&data, &BinderOptions { bootstrap, seed, drop_smallest }).map_err(value_err)?)
}

/// The scaling relations (Widom, Rushbrooke, hyperscaling, Fisher) tested on a set of
/// exponents given as JSON (`critlab analyze relations --exponents FILE --json`): the set and
/// every relation's residual, error and verdict.
#[pyfunction]
#[pyo3(signature = (exponents_json, d=None))]
fn relations_json(exponents_json: &str, d: Option<f64>) -> PyResult<String> {
    let mut set = ExponentSet::from_json(exponents_json).map_err(value_err)?;
    if let Some(d) = d {
        if !(d > 0.0 && d.is_finite()) {
            return Err(value_err(format!("d must be a positive dimension, got {d}")));
        }
        set.d = Some(ExponentValue::Exact(d));
    }
    let report = relations::test(&set);
    let mut out = serde_json::to_value(&report).map_err(value_err)?;
    let exponents = serde_json::to_value(&set).map_err(value_err)?;
    out.as_object_mut().ok_or_else(|| value_err("relations report is not an object"))?.insert("exponents".into(), exponents);
    json(&out)
}

/// The native part of the `critlab` package.
#[pymodule]
fn _critlab(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<Store>()?;
    m.add_function(wrap_pyfunction!(phases_json, m)?)?;
    m.add_function(wrap_pyfunction!(divergence_json, m)?)?;
    m.add_function(wrap_pyfunction!(collapse_json, m)?)?;
    m.add_function(wrap_pyfunction!(crossing_json, m)?)?;
    m.add_function(wrap_pyfunction!(relations_json, m)?)?;
    m.add("VERSION", critlab_core::VERSION)?;
    Ok(())
}
