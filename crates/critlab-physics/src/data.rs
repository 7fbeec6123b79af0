//! Validated inputs of the analyses: finite-size curves (one per system size L) and plain
//! x–y series. Built from a [`Table`] by column name, or directly from vectors.

use crate::error::{PhysicsError, Result};
use crate::table::Table;
use serde::{Deserialize, Serialize};

/// Check that every uncertainty in column `name` is > 0, naming the first bad line.
pub fn require_positive_uncertainties(table: &Table, name: &str, values: &[f64]) -> Result<()> {
    match values.iter().position(|&e| e <= 0.0) {
        Some(row) => Err(PhysicsError::NonPositiveUncertainty {
            line: table.line_of(row),
            column: name.to_string(),
            value: values[row],
        }),
        None => Ok(()),
    }
}

/// Names of the columns that hold finite-size data.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FssColumns {
    /// System size L (> 0).
    pub size: String,
    /// Control parameter x (the one with a critical point x_c).
    pub x: String,
    /// Observable A_L(x).
    pub y: String,
    /// One-sigma uncertainty of y (> 0); optional.
    pub dy: Option<String>,
}

/// One curve A_L(x) at fixed size L, sorted by x.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SizeCurve {
    /// System size L.
    pub size: f64,
    /// Control parameter values, ascending.
    pub x: Vec<f64>,
    /// Observable values.
    pub y: Vec<f64>,
    /// One-sigma uncertainties (all 1 when the data had none; see [`CollapseData::has_dy`]).
    pub dy: Vec<f64>,
}

/// Finite-size data: one [`SizeCurve`] per distinct system size, ascending in L. Input of the
/// data collapse and of the Binder-crossing analysis.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CollapseData {
    /// Curves, ascending in size.
    pub curves: Vec<SizeCurve>,
    /// Whether uncertainties were given. Without them every dy is 1 and fits rescale errors
    /// by their quality (χ²/dof or S), as an unweighted least-squares fit would.
    pub has_dy: bool,
    /// Column labels for plots and reports: (size, x, y).
    pub labels: (String, String, String),
}

impl CollapseData {
    /// Read finite-size data from a table by column names.
    pub fn from_table(table: &Table, cols: &FssColumns) -> Result<Self> {
        let size = table.numeric(&cols.size)?;
        let x = table.numeric(&cols.x)?;
        let y = table.numeric(&cols.y)?;
        let dy = cols.dy.as_deref().map(|c| table.numeric(c)).transpose()?;
        for (row, &l) in size.iter().enumerate() {
            if l <= 0.0 {
                return Err(PhysicsError::NonPositiveSize {
                    line: table.line_of(row),
                    column: cols.size.clone(),
                    value: l,
                });
            }
        }
        if let (Some(dy), Some(name)) = (&dy, &cols.dy) {
            require_positive_uncertainties(table, name, dy)?;
        }
        let mut data = Self::group(&size, &x, &y, dy.as_deref());
        data.labels = (cols.size.clone(), cols.x.clone(), cols.y.clone());
        Ok(data)
    }

    /// Build from parallel vectors (validated like a table built with
    /// [`Table::from_columns`]).
    pub fn from_points(size: &[f64], x: &[f64], y: &[f64], dy: Option<&[f64]>) -> Result<Self> {
        let mut names = vec!["L", "x", "y"];
        let mut cols = vec![size.to_vec(), x.to_vec(), y.to_vec()];
        if let Some(d) = dy {
            names.push("dy");
            cols.push(d.to_vec());
        }
        let t = Table::from_columns(&names, &cols);
        let spec = FssColumns { size: "L".into(), x: "x".into(), y: "y".into(), dy: dy.map(|_| "dy".into()) };
        Self::from_table(&t, &spec)
    }

    fn group(size: &[f64], x: &[f64], y: &[f64], dy: Option<&[f64]>) -> Self {
        let mut sizes: Vec<f64> = size.to_vec();
        sizes.sort_by(f64::total_cmp);
        sizes.dedup();
        let curves = sizes
            .iter()
            .map(|&l| {
                let mut idx: Vec<usize> = (0..size.len()).filter(|&i| size[i] == l).collect();
                idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
                SizeCurve {
                    size: l,
                    x: idx.iter().map(|&i| x[i]).collect(),
                    y: idx.iter().map(|&i| y[i]).collect(),
                    dy: idx.iter().map(|&i| dy.map_or(1.0, |d| d[i])).collect(),
                }
            })
            .collect();
        Self { curves, has_dy: dy.is_some(), labels: ("L".into(), "x".into(), "y".into()) }
    }

    /// Total number of points over all sizes.
    pub fn n_points(&self) -> usize {
        self.curves.iter().map(|c| c.x.len()).sum()
    }

    /// The distinct sizes, ascending.
    pub fn sizes(&self) -> Vec<f64> {
        self.curves.iter().map(|c| c.size).collect()
    }

    /// A copy without the `k` smallest sizes.
    pub fn drop_smallest(&self, k: usize) -> Self {
        Self { curves: self.curves.iter().skip(k).cloned().collect(), has_dy: self.has_dy, labels: self.labels.clone() }
    }

    /// Check there are at least `sizes` sizes and `points` points per size.
    pub fn require(&self, analysis: &'static str, sizes: usize, points: usize) -> Result<()> {
        if self.curves.len() < sizes {
            return Err(PhysicsError::TooFewSizes {
                analysis,
                needed: sizes,
                found: self.curves.len(),
                sizes: self.sizes(),
            });
        }
        for c in &self.curves {
            if c.x.len() < points {
                return Err(PhysicsError::TooFewPoints {
                    analysis,
                    needed: points,
                    found: c.x.len(),
                    context: format!(" for size L = {}", c.size),
                });
            }
        }
        Ok(())
    }
}

/// Names of the columns of a plain series y(x).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct XyColumns {
    /// Abscissa.
    pub x: String,
    /// Ordinate.
    pub y: String,
    /// One-sigma uncertainty of y (> 0); optional.
    pub dy: Option<String>,
}

/// A series y(x) with optional uncertainties, sorted by x.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct XyData {
    /// Abscissa, ascending.
    pub x: Vec<f64>,
    /// Ordinate.
    pub y: Vec<f64>,
    /// One-sigma uncertainties of y, if known.
    pub dy: Option<Vec<f64>>,
    /// Axis labels (x, y).
    pub labels: (String, String),
}

impl XyData {
    /// Read from a table by column names.
    pub fn from_table(table: &Table, cols: &XyColumns) -> Result<Self> {
        let x = table.numeric(&cols.x)?;
        let y = table.numeric(&cols.y)?;
        let dy = cols.dy.as_deref().map(|c| table.numeric(c)).transpose()?;
        if let (Some(dy), Some(name)) = (&dy, &cols.dy) {
            require_positive_uncertainties(table, name, dy)?;
        }
        let mut idx: Vec<usize> = (0..x.len()).collect();
        idx.sort_by(|&a, &b| x[a].total_cmp(&x[b]));
        Ok(Self {
            x: idx.iter().map(|&i| x[i]).collect(),
            y: idx.iter().map(|&i| y[i]).collect(),
            dy: dy.map(|d| idx.iter().map(|&i| d[i]).collect()),
            labels: (cols.x.clone(), cols.y.clone()),
        })
    }

    /// Build from vectors (validated like a table).
    pub fn from_points(x: &[f64], y: &[f64], dy: Option<&[f64]>) -> Result<Self> {
        let mut names = vec!["x", "y"];
        let mut cols = vec![x.to_vec(), y.to_vec()];
        if let Some(d) = dy {
            names.push("dy");
            cols.push(d.to_vec());
        }
        let t = Table::from_columns(&names, &cols);
        Self::from_table(&t, &XyColumns { x: "x".into(), y: "y".into(), dy: dy.map(|_| "dy".into()) })
    }

    /// Uncertainties, or ones when none were given.
    pub fn sigma(&self) -> Vec<f64> {
        self.dy.clone().unwrap_or_else(|| vec![1.0; self.x.len()])
    }
}
