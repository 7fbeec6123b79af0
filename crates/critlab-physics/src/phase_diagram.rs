//! Phase diagrams: the classified runs of a sweep on a grid over two control parameters.
//!
//! Runs with equal (x, y) (seeds, replicas) form one cell; the cell shows the majority label
//! and its share, and the median t_grok of its runs that generalised. An axis is drawn
//! logarithmic when its values are log-spaced ([`is_log_spaced`]). Phase boundaries are
//! estimated between neighbouring cells whose majority phases differ: one boundary point at
//! the midpoint of the two cells (the geometric mean on a log axis), which is where a sharp
//! boundary lies when nothing more is known.
use crate::phases::Label;
use serde::Serialize;
use std::collections::BTreeMap;

/// One classified run placed at its control parameters.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunPoint {
    /// The run's id in the store.
    pub run_id: i64,
    /// Value of the x control parameter.
    pub x: f64,
    /// Value of the y control parameter.
    pub y: f64,
    /// Phase or why there is none.
    pub label: Label,
    /// Generalisation step (accuracy threshold), when reached.
    pub t_grok: Option<f64>,
}

/// One axis of the diagram.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GridAxis {
    /// The control parameter (a spec key such as `weight-decay`).
    pub name: String,
    /// Its distinct values, ascending.
    pub values: Vec<f64>,
    /// Whether the values are log-spaced (and drawn on a log axis).
    pub log: bool,
}

impl GridAxis {
    fn new(name: &str, values: impl Iterator<Item = f64>) -> Self {
        let mut v: Vec<f64> = values.collect();
        v.sort_by(f64::total_cmp);
        v.dedup();
        let log = is_log_spaced(&v);
        Self { name: name.into(), values: v, log }
    }

    /// The drawing coordinate of a value: log10 on a log axis, the value otherwise.
    pub fn coord(&self, v: f64) -> f64 {
        if self.log {
            v.log10()
        } else {
            v
        }
    }

    fn midpoint(&self, a: f64, b: f64) -> f64 {
        if self.log {
            (a * b).sqrt()
        } else {
            0.5 * (a + b)
        }
    }
}

/// Whether ascending distinct `values` are closer to a geometric than to an arithmetic
/// progression: all positive, at least three, and the spread (coefficient of variation) of
/// successive ratios smaller than that of successive differences. Two positive values are
/// log-spaced when they differ by a factor of 10 or more.
pub fn is_log_spaced(values: &[f64]) -> bool {
    if values.iter().any(|v| *v <= 0.0) || values.len() < 2 {
        return false;
    }
    if values.len() == 2 {
        return values[1] / values[0] >= 10.0;
    }
    let cv = |d: Vec<f64>| {
        let n = d.len() as f64;
        let mean = d.iter().sum::<f64>() / n;
        (d.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n).sqrt() / mean.abs().max(1e-300)
    };
    let diffs = values.windows(2).map(|w| w[1] - w[0]).collect();
    let logs = values.windows(2).map(|w| (w[1] / w[0]).ln()).collect();
    cv(logs) < cv(diffs)
}

/// One cell of the grid.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Cell {
    /// x value.
    pub x: f64,
    /// y value.
    pub y: f64,
    /// The runs in the cell.
    pub runs: Vec<i64>,
    /// How many runs carry each label.
    pub counts: BTreeMap<String, usize>,
    /// The majority label (ties go to the label listed first in [`Label::all`]).
    pub label: Label,
    /// Share of the runs that carry the majority label.
    pub share: f64,
    /// Median t_grok over the runs that reached it.
    pub t_grok: Option<f64>,
    /// How many runs reached t_grok.
    pub n_t_grok: usize,
}

/// A point on an estimated phase boundary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BoundaryPoint {
    /// x of the boundary point.
    pub x: f64,
    /// y of the boundary point.
    pub y: f64,
    /// The majority labels on the two sides (lower x or y first).
    pub between: [Label; 2],
    /// The axis along which the label changes (`x` or `y`).
    pub along: &'static str,
}

/// The diagram: axes, the cells that have runs, and the boundary points.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhaseDiagram {
    /// Horizontal axis.
    pub x: GridAxis,
    /// Vertical axis.
    pub y: GridAxis,
    /// Cells with at least one run, by x then y.
    pub cells: Vec<Cell>,
    /// Estimated boundary points.
    pub boundaries: Vec<BoundaryPoint>,
}

impl PhaseDiagram {
    /// The cell at grid indices (i along x, j along y), if it has runs.
    pub fn cell(&self, i: usize, j: usize) -> Option<&Cell> {
        let (x, y) = (self.x.values[i], self.y.values[j]);
        self.cells.iter().find(|c| c.x == x && c.y == y)
    }

    /// The labels that are the majority somewhere, in [`Label::all`] order.
    pub fn labels_present(&self) -> Vec<Label> {
        Label::all().into_iter().filter(|l| self.cells.iter().any(|c| c.label == *l)).collect()
    }
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    Some(if n % 2 == 1 { v[n / 2] } else { 0.5 * (v[n / 2 - 1] + v[n / 2]) })
}

fn make_cell(x: f64, y: f64, runs: &[&RunPoint]) -> Cell {
    let mut by_label: BTreeMap<Label, usize> = BTreeMap::new();
    for r in runs {
        *by_label.entry(r.label).or_default() += 1;
    }
    let order = Label::all();
    let (label, n) = by_label
        .iter()
        .max_by(|a, b| {
            a.1.cmp(b.1).then_with(|| {
                let pos = |l: &Label| order.iter().position(|o| o == l);
                pos(b.0).cmp(&pos(a.0))
            })
        })
        .map(|(l, n)| (*l, *n))
        .expect("a cell has runs");
    let t: Vec<f64> = runs.iter().filter_map(|r| r.t_grok).collect();
    Cell {
        x,
        y,
        runs: runs.iter().map(|r| r.run_id).collect(),
        counts: by_label.iter().map(|(l, n)| (l.as_str().to_string(), *n)).collect(),
        label,
        share: n as f64 / runs.len() as f64,
        n_t_grok: t.len(),
        t_grok: median(t),
    }
}

/// Builds the diagram of `points` over the control parameters named `x_name`, `y_name`.
/// Points with a non-finite coordinate are left out.
pub fn build(x_name: &str, y_name: &str, points: &[RunPoint]) -> PhaseDiagram {
    let points: Vec<&RunPoint> = points.iter().filter(|p| p.x.is_finite() && p.y.is_finite()).collect();
    let x = GridAxis::new(x_name, points.iter().map(|p| p.x));
    let y = GridAxis::new(y_name, points.iter().map(|p| p.y));
    let mut cells = Vec::new();
    for &xv in &x.values {
        for &yv in &y.values {
            let here: Vec<&RunPoint> = points.iter().copied().filter(|p| p.x == xv && p.y == yv).collect();
            if !here.is_empty() {
                cells.push(make_cell(xv, yv, &here));
            }
        }
    }
    let mut diagram = PhaseDiagram { x, y, cells, boundaries: Vec::new() };
    diagram.boundaries = boundaries(&diagram);
    diagram
}

fn boundaries(d: &PhaseDiagram) -> Vec<BoundaryPoint> {
    let mut out = Vec::new();
    let (nx, ny) = (d.x.values.len(), d.y.values.len());
    for i in 0..nx {
        for j in 0..ny {
            let Some(a) = d.cell(i, j) else { continue };
            if a.label.phase().is_none() {
                continue;
            }
            let mut push = |b: Option<&Cell>, along: &'static str| {
                if let Some(b) = b.filter(|b| b.label != a.label && b.label.phase().is_some()) {
                    let (x, y) =
                        if along == "x" { (d.x.midpoint(a.x, b.x), a.y) } else { (a.x, d.y.midpoint(a.y, b.y)) };
                    out.push(BoundaryPoint { x, y, between: [a.label, b.label], along });
                }
            };
            push((i + 1 < nx).then(|| d.cell(i + 1, j)).flatten(), "x");
            push((j + 1 < ny).then(|| d.cell(i, j + 1)).flatten(), "y");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use critlab_core::Phase;

    fn pt(id: i64, x: f64, y: f64, label: Label, t: Option<f64>) -> RunPoint {
        RunPoint { run_id: id, x, y, label, t_grok: t }
    }

    #[test]
    fn log_spacing_is_recognised() {
        assert!(is_log_spaced(&[0.01, 0.1, 1.0, 10.0]));
        assert!(is_log_spaced(&[0.1, 0.3, 1.0, 3.0, 10.0]));
        assert!(!is_log_spaced(&[0.3, 0.45, 0.6, 0.75, 0.9]));
        assert!(!is_log_spaced(&[0.0, 1.0, 10.0]));
        assert!(is_log_spaced(&[1.0, 100.0]) && !is_log_spaced(&[1.0, 2.0]));
    }

    #[test]
    fn seeds_aggregate_to_majority_share_and_median_t_grok() {
        let g: Label = Phase::Grokking.into();
        let m: Label = Phase::Memorization.into();
        let points = vec![
            pt(1, 1.0, 0.5, g, Some(100.0)),
            pt(2, 1.0, 0.5, g, Some(300.0)),
            pt(3, 1.0, 0.5, m, None),
            pt(4, 0.1, 0.5, m, None),
            pt(5, 0.1, 0.5, Label::Running, None),
        ];
        let d = build("weight-decay", "train-frac", &points);
        let c = d.cell(1, 0).unwrap();
        assert_eq!((c.label, c.n_t_grok, c.t_grok), (g, 2, Some(200.0)));
        assert!((c.share - 2.0 / 3.0).abs() < 1e-12);
        let tie = d.cell(0, 0).unwrap();
        assert_eq!(tie.label, m, "ties go to the phase, listed before running");
        assert_eq!(tie.counts["running"], 1);
        assert_eq!(d.boundaries.len(), 1);
        let b = &d.boundaries[0];
        assert_eq!((b.between, b.along), ([m, g], "x"));
        assert!((b.x - 0.1f64.sqrt()).abs() < 1e-12 && b.y == 0.5, "geometric midpoint on a log axis: {b:?}");
    }

    #[test]
    fn missing_cells_and_unfinished_runs_make_no_boundary() {
        let g: Label = Phase::Grokking.into();
        let points = vec![
            pt(1, 0.0, 0.0, g, Some(1.0)),
            pt(2, 1.0, 0.0, Label::Failed, None),
            pt(3, 2.0, 1.0, Label::NoData, None),
            pt(4, f64::NAN, 0.0, g, None),
        ];
        let d = build("a", "b", &points);
        assert_eq!(d.cells.len(), 3);
        assert!(d.boundaries.is_empty());
        assert!(d.cell(0, 1).is_none());
        assert_eq!(d.labels_present(), vec![g, Label::Failed, Label::NoData]);
        assert!(build("a", "b", &[]).cells.is_empty());
    }
}
