//! What the report page shows, read from a store: the runs (their varying spec keys, status,
//! phase, t_mem, t_grok), every metric's curve (downsampled), the phase diagram with its
//! t_grok map, and the printable SVG figures.
//!
//! Phases and transitions come from the store's `transitions` table where `critlab analyze
//! phases` wrote them; for runs without stored ones they are computed here with the default
//! options (and the page says so). Nothing is written to the store.
use super::analyses::{self, ChargeView, EarlyWarningView, Metrics};
use crate::plot::early_warning::early_warning_svg;
use crate::plot::phase_diagram::{edges, phase_diagram_svg};
use crate::plot::transitions::run_curves_svg;
use crate::ReportError;
use critlab_physics::phase_diagram::{self, PhaseDiagram, RunPoint};
use critlab_physics::phases::{self, Label, PhaseOptions, RunFacts};
use critlab_physics::transitions::{self, RunSeries, TransitionOptions};
use critlab_store::{RunId, RunRow, Store};
use serde::{Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};

/// What to put in the report.
#[derive(Debug, Clone)]
pub struct ReportOptions {
    /// Only the runs of this sweep (default: every run in the store).
    pub sweep: Option<String>,
    /// Only these runs (default: all; combined with `sweep` by intersection).
    pub runs: Vec<RunId>,
    /// The phase diagram's horizontal spec key (default `weight-decay` when it varies, else the
    /// first numeric key that varies).
    pub x: Option<String>,
    /// The phase diagram's vertical spec key (default `train-frac` when it varies, else the
    /// next numeric key that varies).
    pub y: Option<String>,
    /// Series longer than this many points are thinned to it (see [`thin`]).
    pub max_points: usize,
    /// Page title (default: from the sweep or the store's file name).
    pub title: Option<String>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self { sweep: None, runs: Vec::new(), x: None, y: None, max_points: 400, title: None }
    }
}

/// How long series are thinned, in words for the page.
pub const DOWNSAMPLING: &str = "A run whose metrics have more than N eval steps (N = --max-points, default 400) keeps N of them: the first and the last step and, in between, the step nearest to each of N - 2 targets evenly spaced in log(1 + step), so early and late training are resolved alike on the default log step axis; all metrics of a run keep the same steps. Values are rounded to 5 significant digits.";

/// One run in the table.
#[derive(Debug, Clone, Serialize)]
pub struct RunEntry {
    /// Run id.
    pub id: RunId,
    /// Sweep, if any.
    pub sweep: Option<String>,
    /// Seed.
    pub seed: u64,
    /// Store status (`running`, `done`, `diverged`, `failed`).
    pub status: String,
    /// Why it failed, diverged or stopped early.
    pub reason: Option<String>,
    /// Phase label (or `running`, `failed`, `no-data`).
    pub phase: String,
    /// Why it has that phase.
    pub phase_reason: String,
    /// `stored` (from `critlab analyze phases`) or `computed` (here, default options).
    pub phase_source: &'static str,
    /// Memorisation step (accuracy threshold).
    pub t_mem: Option<f64>,
    /// Generalisation step (accuracy threshold).
    pub t_grok: Option<f64>,
    /// Last step with metrics.
    pub last_step: Option<i64>,
    /// Epochs per optimizer step (batch / N_train), when the spec allows computing it.
    pub epoch_per_step: Option<f64>,
    /// The values of the spec keys that vary between the report's runs.
    pub spec: BTreeMap<String, serde_json::Value>,
}

/// A value rounded to 5 significant digits; non-finite values are written as `null`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rounded(pub f64);

impl Serialize for Rounded {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !self.0.is_finite() {
            return s.serialize_none();
        }
        let r: f64 = format!("{:.4e}", self.0).parse().unwrap_or(self.0);
        s.serialize_f64(r)
    }
}

/// The curves of one run: shared steps, one value per step per metric (`null` where absent).
#[derive(Debug, Clone, Serialize)]
pub struct RunCurves {
    /// Run id.
    pub run: RunId,
    /// Eval steps (after thinning).
    pub steps: Vec<i64>,
    /// Metric name → values at `steps`.
    pub values: BTreeMap<String, Vec<Option<Rounded>>>,
}

/// One cell of the interactive phase diagram, with its edges in drawing coordinates
/// (log10 on a log axis).
#[derive(Debug, Clone, Serialize)]
pub struct CellView {
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
    /// x in drawing coordinates (log10 of x on a log axis).
    pub xc: f64,
    /// y in drawing coordinates.
    pub yc: f64,
    /// Left edge.
    pub x0: f64,
    /// Right edge.
    pub x1: f64,
    /// Bottom edge.
    pub y0: f64,
    /// Top edge.
    pub y1: f64,
    /// Majority phase.
    pub phase: String,
    /// Share of the runs with the majority phase.
    pub share: f64,
    /// Runs in the cell.
    pub runs: Vec<i64>,
    /// Median t_grok over the runs that reach it.
    pub t_grok: Option<f64>,
    /// How many runs reach t_grok.
    pub n_t_grok: usize,
}

/// A boundary segment between two cells of different majority phase.
#[derive(Debug, Clone, Serialize)]
pub struct Segment {
    /// Start x (drawing coordinates).
    pub x0: f64,
    /// Start y.
    pub y0: f64,
    /// End x.
    pub x1: f64,
    /// End y.
    pub y1: f64,
    /// The two phases it separates.
    pub between: String,
}

/// The phase diagram as the page draws it.
#[derive(Debug, Clone, Serialize)]
pub struct DiagramView {
    /// Horizontal spec key.
    pub x: String,
    /// Vertical spec key.
    pub y: String,
    /// Whether x is drawn in log10.
    pub x_log: bool,
    /// Whether y is drawn in log10.
    pub y_log: bool,
    /// Cells with runs.
    pub cells: Vec<CellView>,
    /// Estimated boundaries.
    pub boundaries: Vec<Segment>,
}

/// A printable figure (the SVG fallback of an interactive chart).
#[derive(Debug, Clone, Serialize)]
pub struct Figure {
    /// Which chart it stands for.
    pub chart: String,
    /// Caption.
    pub caption: String,
    /// The SVG document.
    #[serde(skip)]
    pub svg: String,
}

/// Everything the page shows.
#[derive(Debug, Clone, Serialize)]
pub struct ReportData {
    /// Page title.
    pub title: String,
    /// The store file.
    pub store: String,
    /// critlab's version.
    pub critlab_version: &'static str,
    /// Spec keys that vary between the runs (table columns, grouping choices).
    pub keys: Vec<String>,
    /// The runs.
    pub runs: Vec<RunEntry>,
    /// Every metric name (per-neuron charges excluded).
    pub metrics: Vec<String>,
    /// The curves, one entry per run.
    pub curves: Vec<RunCurves>,
    /// The phase diagram, when two numeric keys vary.
    pub phase_diagram: Option<DiagramView>,
    /// Every stored Noether charge against its theory.
    pub charges: Vec<ChargeView>,
    /// The early-warning score over the runs (two runs or more).
    pub early_warning: Option<EarlyWarningView>,
    /// How long series were thinned.
    pub downsampling: &'static str,
    /// Things the reader should know (what is missing and why).
    pub notes: Vec<String>,
    /// The printable SVG figures (written into the page outside the JSON).
    #[serde(skip)]
    pub figures: Vec<Figure>,
}

fn numeric(run: &RunRow, key: &str) -> Option<f64> {
    run.spec.get(key).and_then(serde_json::Value::as_f64)
}

/// Spec keys whose value differs between `runs` (any JSON type), sorted; `seed` included.
fn varying_keys(runs: &[RunRow]) -> Vec<String> {
    let keys: BTreeSet<String> =
        runs.iter().filter_map(|r| r.spec.as_object()).flat_map(|o| o.keys().cloned()).collect();
    keys.into_iter()
        .filter(|k| {
            let vals: BTreeSet<String> =
                runs.iter().map(|r| r.spec.get(k).map(|v| v.to_string()).unwrap_or_default()).collect();
            vals.len() > 1
        })
        .collect()
}

/// Indices of at most `max` of `steps` (ascending): the first, the last, and in between the
/// step nearest each target evenly spaced in ln(1 + step). Every index when there are few.
pub fn thin(steps: &[i64], max: usize) -> Vec<usize> {
    let n = steps.len();
    if n <= max || max < 2 {
        return (0..n).collect();
    }
    let l = |s: i64| (1.0 + s.max(0) as f64).ln();
    let (a, b) = (l(steps[0]), l(steps[n - 1]));
    let mut keep = vec![0];
    let mut j = 0;
    for k in 1..max - 1 {
        let target = a + (b - a) * k as f64 / (max - 1) as f64;
        while j + 1 < n && l(steps[j + 1]) <= target {
            j += 1;
        }
        let pick = if j + 1 < n && (l(steps[j + 1]) - target).abs() < (target - l(steps[j])).abs() { j + 1 } else { j };
        if pick > *keep.last().unwrap_or(&0) && pick < n - 1 {
            keep.push(pick);
        }
    }
    keep.push(n - 1);
    keep
}

/// A run's metrics as name → (step, value), per-neuron charges left out.
fn load_metrics(store: &Store, run: RunId) -> Result<Metrics, ReportError> {
    let mut m: Metrics = BTreeMap::new();
    for row in store.metrics(run)? {
        // per-neuron charges (`charge_rescale/<layer>/n<j>`) would multiply the page's size
        if row.name.matches('/').count() >= 2 {
            continue;
        }
        m.entry(row.name).or_default().push((row.step, row.value));
    }
    Ok(m)
}

fn run_series(m: &Metrics) -> RunSeries {
    let get = |n: &str| m.get(n).cloned().unwrap_or_default();
    RunSeries {
        train_acc: get("train_acc"),
        test_acc: get("test_acc"),
        train_loss: get("train_loss"),
        test_loss: get("test_loss"),
        explained_variance: get("explained_variance"),
    }
}

fn curves(run: RunId, m: &Metrics, max_points: usize) -> RunCurves {
    let steps: Vec<i64> = m.values().flat_map(|s| s.iter().map(|p| p.0)).collect::<BTreeSet<_>>().into_iter().collect();
    let keep = thin(&steps, max_points);
    let kept: Vec<i64> = keep.iter().map(|&i| steps[i]).collect();
    let values = m
        .iter()
        .map(|(name, pts)| {
            let by_step: BTreeMap<i64, f64> = pts.iter().copied().collect();
            (name.clone(), kept.iter().map(|s| by_step.get(s).map(|v| Rounded(*v))).collect())
        })
        .collect();
    RunCurves { run, steps: kept, values }
}

fn epoch_per_step(spec: &serde_json::Value) -> Option<f64> {
    let spec: critlab_core::RunSpec = serde_json::from_value(spec.clone()).ok()?;
    let valid = spec.validate().ok()?;
    let n = valid.n_train();
    (n > 0).then(|| valid.batch() as f64 / n as f64)
}

/// Reads the report's runs from `store` and computes what the page shows.
pub fn collect(store: &Store, opts: &ReportOptions) -> Result<ReportData, ReportError> {
    let mut rows = store.runs(opts.sweep.as_deref())?;
    if !opts.runs.is_empty() {
        for id in &opts.runs {
            if !rows.iter().any(|r| r.id == *id) {
                // a run that exists but is outside the sweep is an error too: say which
                let run = store.run(*id)?;
                return Err(ReportError::Selection(format!(
                    "run {id} is in sweep {:?}, not in sweep {:?}",
                    run.sweep, opts.sweep
                )));
            }
        }
        rows.retain(|r| opts.runs.contains(&r.id));
    }
    let keys = varying_keys(&rows);
    let stored = store.transitions(None)?;
    let mut notes = Vec::new();
    let mut entries = Vec::with_capacity(rows.len());
    let mut all_curves = Vec::with_capacity(rows.len());
    let mut metric_names = BTreeSet::new();
    let mut computed = 0usize;
    let mut example: Option<(f64, String)> = None;
    let mut charges = Vec::new();
    let mut warning_inputs = Vec::new();
    for run in &rows {
        let m = load_metrics(store, run.id)?;
        metric_names.extend(m.keys().cloned());
        let series = run_series(&m);
        let mine: Vec<_> = stored.iter().filter(|t| t.run_id == run.id).collect();
        let acc_row = mine.iter().find(|t| t.detector == "threshold" && t.quantity == "accuracy");
        let acc = transitions::accuracy(&series, &TransitionOptions::default());
        let (phase, phase_reason, source, t_mem, t_grok) = match acc_row.and_then(|t| t.phase.clone().map(|p| (t, p))) {
            Some((t, p)) => (p, t.reason.clone().unwrap_or_default(), "stored", t.t_mem, t.t_grok),
            None => {
                computed += 1;
                let facts = RunFacts {
                    status: run.status,
                    status_reason: run.reason.as_deref(),
                    budget: run.spec.get("steps").and_then(serde_json::Value::as_i64),
                    last_step: run.last_step,
                };
                let c = phases::classify(&facts, &series, &acc, &PhaseOptions::default());
                (c.label.as_str().to_string(), c.reason, "computed", acc.t_mem, acc.t_grok)
            }
        };
        // the example run for the printable curves: the sharpest grokking jump, else any run that generalised
        let sharp = acc
            .delay
            .zip(acc.width)
            .map(|(d, w)| d / w.max(1.0))
            .filter(|_| phase == "grokking")
            .unwrap_or(if t_grok.is_some() { -1.0 } else { f64::NEG_INFINITY });
        if sharp > f64::NEG_INFINITY && example.as_ref().is_none_or(|(s, _)| sharp > *s) {
            let title = format!("run {}", run.id);
            let svg = run_curves_svg(&series, &acc, &title, &format!("run {} ({phase}): {phase_reason}", run.id));
            example = Some((sharp, svg));
        }
        entries.push(RunEntry {
            id: run.id,
            sweep: run.sweep.clone(),
            seed: run.seed,
            status: run.status.as_str().to_string(),
            reason: run.reason.clone(),
            phase,
            phase_reason,
            phase_source: source,
            t_mem,
            t_grok,
            last_step: run.last_step,
            epoch_per_step: epoch_per_step(&run.spec),
            spec: keys
                .iter()
                .map(|k| (k.clone(), run.spec.get(k).cloned().unwrap_or(serde_json::Value::Null)))
                .collect(),
        });
        let c = curves(run.id, &m, opts.max_points);
        charges.extend(analyses::charges(run.id, &run.spec, &m, &c.steps));
        let kept: BTreeSet<i64> = c.steps.iter().copied().collect();
        let thinned: Metrics =
            m.iter().map(|(k, v)| (k.clone(), v.iter().copied().filter(|p| kept.contains(&p.0)).collect())).collect();
        warning_inputs.push((run.id, t_grok, analyses::signals(&thinned)));
        all_curves.push(c);
    }
    if computed > 0 {
        notes.push(format!("{computed} of {} runs have no stored phase; their phase, t_mem and t_grok were computed for this page with the default options (store them with `critlab analyze phases`).", rows.len()));
    }
    let mut figures = Vec::new();
    let diagram = diagram(&rows, &entries, &keys, opts, &mut notes)?;
    if let Some((d, _)) = &diagram {
        figures.push(Figure {
            chart: "phase".into(),
            caption: format!("phase diagram and t_grok map over {} and {}", d.x.name, d.y.name),
            svg: phase_diagram_svg(d, &format!("{} runs", rows.len())),
        });
    }
    let early_warning = analyses::early_warning(warning_inputs);
    if let Some(ew) = &early_warning {
        figures.push(Figure {
            chart: "early-warning".into(),
            caption: "early-warning indicators scored over the runs (default options, thinned series)".into(),
            svg: early_warning_svg(&ew.runs, Some(ew.scores.as_slice())),
        });
    }
    if let Some((_, svg)) = example {
        figures.push(Figure {
            chart: "curves".into(),
            caption: "the curves of the run with the sharpest grokking jump, transitions marked".into(),
            svg,
        });
    }
    let title = opts.title.clone().unwrap_or_else(|| match &opts.sweep {
        Some(s) => format!("critlab report: sweep {s}"),
        None => format!(
            "critlab report: {}",
            store.path().file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default()
        ),
    });
    Ok(ReportData {
        title,
        store: store.path().display().to_string(),
        critlab_version: critlab_core::VERSION,
        keys,
        runs: entries,
        metrics: metric_names.into_iter().collect(),
        curves: all_curves,
        phase_diagram: diagram.map(|(_, v)| v),
        charges,
        early_warning,
        downsampling: DOWNSAMPLING,
        notes,
        figures,
    })
}

fn diagram(
    rows: &[RunRow],
    entries: &[RunEntry],
    keys: &[String],
    opts: &ReportOptions,
    notes: &mut Vec<String>,
) -> Result<Option<(PhaseDiagram, DiagramView)>, ReportError> {
    let numeric_keys: Vec<&String> =
        keys.iter().filter(|k| k.as_str() != "seed" && rows.iter().all(|r| numeric(r, k).is_some())).collect();
    for (flag, given) in [("--x", &opts.x), ("--y", &opts.y)] {
        if let Some(k) = given.as_ref().filter(|k| !rows.is_empty() && rows.iter().all(|r| numeric(r, k).is_none())) {
            let names: Vec<&str> = numeric_keys.iter().map(|k| k.as_str()).collect();
            return Err(ReportError::Selection(format!(
                "{flag} {k}: not a numeric spec key of these runs (keys that vary: {})",
                if names.is_empty() { "none".into() } else { names.join(", ") }
            )));
        }
    }
    let pick = |given: &Option<String>, preferred: &str, skip: Option<&str>| -> Option<String> {
        if let Some(g) = given {
            return Some(g.clone());
        }
        let free = || numeric_keys.iter().filter(|k| Some(k.as_str()) != skip);
        free()
            .find(|k| k.as_str() == preferred)
            .or_else(|| free().find(|k| k.as_str() != "weight-decay" && k.as_str() != "train-frac"))
            .or_else(|| free().next())
            .map(|k| k.to_string())
    };
    let Some(x) = pick(&opts.x, "weight-decay", None) else {
        if rows.len() > 1 {
            notes.push("no phase diagram: no numeric spec key varies between the runs".into());
        }
        return Ok(None);
    };
    let Some(y) = pick(&opts.y, "train-frac", Some(&x)) else {
        notes.push(format!("no phase diagram: only one numeric spec key ({x}) varies between the runs"));
        return Ok(None);
    };
    let points: Vec<RunPoint> = rows
        .iter()
        .zip(entries)
        .filter_map(|(r, e)| {
            Some(RunPoint {
                run_id: r.id,
                x: numeric(r, &x)?,
                y: numeric(r, &y)?,
                label: Label::parse(&e.phase).unwrap_or(Label::NoData),
                t_grok: e.t_grok,
            })
        })
        .collect();
    if points.is_empty() {
        notes.push(format!("no phase diagram: no run has numeric values of both {x} and {y}"));
        return Ok(None);
    }
    let d = phase_diagram::build(&x, &y, &points);
    let (xe, ye) = (edges(&d.x), edges(&d.y));
    let idx = |vals: &[f64], v: f64| vals.iter().position(|u| *u == v);
    let cells = d
        .cells
        .iter()
        .filter_map(|c| {
            let (i, j) = (idx(&d.x.values, c.x)?, idx(&d.y.values, c.y)?);
            Some(CellView {
                x: c.x,
                y: c.y,
                xc: d.x.coord(c.x),
                yc: d.y.coord(c.y),
                x0: xe[i],
                x1: xe[i + 1],
                y0: ye[j],
                y1: ye[j + 1],
                phase: c.label.as_str().into(),
                share: c.share,
                runs: c.runs.clone(),
                t_grok: c.t_grok,
                n_t_grok: c.n_t_grok,
            })
        })
        .collect();
    let boundaries = d
        .boundaries
        .iter()
        .filter_map(|b| {
            let between = format!("{} | {}", b.between[0].as_str(), b.between[1].as_str());
            if b.along == "x" {
                let j = idx(&d.y.values, b.y)?;
                let xc = d.x.coord(b.x);
                Some(Segment { x0: xc, y0: ye[j], x1: xc, y1: ye[j + 1], between })
            } else {
                let i = idx(&d.x.values, b.x)?;
                let yc = d.y.coord(b.y);
                Some(Segment { x0: xe[i], y0: yc, x1: xe[i + 1], y1: yc, between })
            }
        })
        .collect();
    let view = DiagramView { x: x.clone(), y: y.clone(), x_log: d.x.log, y_log: d.y.log, cells, boundaries };
    Ok(Some((d, view)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinning_keeps_the_ends_and_spreads_in_log_step() {
        let steps: Vec<i64> = (0..10_000).collect();
        let keep = thin(&steps, 50);
        // targets closer than one step near step 0 fall on the same step and are kept once
        assert!((40..=50).contains(&keep.len()), "{}", keep.len());
        assert_eq!((keep[0], *keep.last().unwrap()), (0, 9999));
        assert!(keep.windows(2).all(|w| w[0] < w[1]));
        // evenly in log: as many kept points below step 100 as between 100 and 10 000
        let early = keep.iter().filter(|&&i| steps[i] < 100).count();
        assert!((15..=30).contains(&early), "{early}");
        assert_eq!(thin(&steps[..30], 50).len(), 30);
    }

    #[test]
    fn values_are_rounded_and_non_finite_ones_are_null() {
        let v = vec![Some(Rounded(0.123456789)), Some(Rounded(f64::NAN)), None, Some(Rounded(-1.0e-7 / 3.0))];
        assert_eq!(serde_json::to_string(&v).unwrap(), "[0.12346,null,null,-3.3333e-8]");
    }
}
