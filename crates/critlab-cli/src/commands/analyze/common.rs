//! Flags and output shared by the table analyses: the input table with its columns, `--json`
//! and `--plot FILE.svg`.
use anyhow::{Context, Result};
use clap::Args;
use critlab_physics::{CollapseData, FssColumns, Table};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// How a result leaves the program: a text summary (default) or JSON on standard output, and
/// optionally a figure.
#[derive(Debug, Args)]
pub struct OutputArgs {
    /// Print the result as JSON instead of the text summary
    #[arg(long)]
    pub json: bool,
    /// Write the figure to this file: SVG (FILE.svg) or PNG (FILE.png)
    #[arg(long, value_name = "FILE.svg", value_parser = crate::args::figure_path)]
    pub plot: Option<PathBuf>,
}

impl OutputArgs {
    /// Writes the figure (if asked) and prints the JSON or the summary.
    pub fn emit<T: Serialize>(
        &self,
        result: &T,
        summary: impl FnOnce() -> String,
        figure: impl FnOnce() -> String,
    ) -> Result<()> {
        if let Some(path) = &self.plot {
            // The extension is .svg or .png (checked by the parser): PNG is rasterised.
            for f in critlab_report::write_figure(&figure(), path)
                .with_context(|| format!("cannot write the plot to {}", path.display()))?
            {
                errln!("wrote {}", f.display());
            }
        }
        print_result(self.json, result, summary)
    }
}

/// Prints `result` as pretty JSON or its text summary.
pub fn print_result<T: Serialize>(json: bool, result: &T, summary: impl FnOnce() -> String) -> Result<()> {
    if json {
        outln!("{}", serde_json::to_string_pretty(result)?)?;
    } else {
        out!("{}", summary())?;
    }
    Ok(())
}

/// Reads a CSV table; errors name the file.
pub fn read_table(path: &Path) -> Result<Table> {
    Table::from_csv_path(path).with_context(|| format!("cannot use {} as a table", path.display()))
}

/// Finite-size data: a table with one column each for the size L, the control x, the
/// observable y and optionally its uncertainty dy.
#[derive(Debug, Args)]
pub struct FssArgs {
    /// CSV table (header line, comma or tab separated)
    #[arg(long, value_name = "FILE.csv")]
    pub input: PathBuf,
    /// Column of the system size L (> 0)
    #[arg(long, value_name = "COL")]
    pub size: String,
    /// Column of the control parameter x
    #[arg(long, value_name = "COL")]
    pub x: String,
    /// Column of the observable y
    #[arg(long, value_name = "COL")]
    pub y: String,
    /// Column of the one-sigma uncertainty of y (> 0); without it all points weigh the same
    #[arg(long, value_name = "COL")]
    pub dy: Option<String>,
}

impl FssArgs {
    /// Reads and validates the finite-size data; errors name the file, the line and the column.
    pub fn load(&self) -> Result<CollapseData> {
        let table = read_table(&self.input)?;
        let cols = FssColumns { size: self.size.clone(), x: self.x.clone(), y: self.y.clone(), dy: self.dy.clone() };
        CollapseData::from_table(&table, &cols)
            .with_context(|| format!("cannot read finite-size data from {}", self.input.display()))
    }
}

/// Refuses data from which a finite-size analysis can learn nothing, instead of reporting its
/// starting guesses as results: a constant observable (every x_c and ν collapse it
/// perfectly), or curves identical for every size (they cross everywhere).
pub fn refuse_degenerate(data: &CollapseData, analysis: &str, input: &Path) -> Result<()> {
    let ys = || data.curves.iter().flat_map(|c| c.y.iter().copied());
    let first = ys().next();
    if let Some(y0) = first.filter(|&y0| ys().all(|y| y == y0)) {
        anyhow::bail!(
            "{analysis} of {}: the observable is constant (y = {y0} everywhere); there is no transition to locate",
            input.display()
        );
    }
    if let Some((c0, rest)) = data.curves.split_first() {
        if !rest.is_empty() && rest.iter().all(|c| c.x == c0.x && c.y == c0.y) {
            anyhow::bail!(
                "{analysis} of {}: the curves of every size are identical; they do not single out a critical point",
                input.display()
            );
        }
    }
    Ok(())
}

/// Bootstrap replicates and their seed, for the analyses whose default is 200 replicates.
#[derive(Debug, Args)]
pub struct BootstrapArgs {
    /// Bootstrap replicates for the errors (0: curvature errors only; crossings need --dy)
    #[arg(long, value_name = "N", default_value_t = 200)]
    pub bootstrap: usize,
    /// Seed of the bootstrap
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
}
