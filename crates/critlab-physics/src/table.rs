//! Tables of numbers read from CSV (or built in memory), with columns chosen by name.
//!
//! The first non-comment line is the header. Fields are separated by commas (or tabs when the
//! header has tabs and no commas), may be quoted with `"…"` (`""` inside quotes is a quote),
//! and are trimmed. Empty lines and lines starting with `#` are skipped. Cells are parsed as
//! numbers only when their column is asked for, so text columns (run ids, notes) are fine.

use crate::error::{PhysicsError, Result};
use std::path::Path;

/// A table of named columns; cells kept as text until a column is requested.
#[derive(Debug, Clone)]
pub struct Table {
    source_name: String,
    columns: Vec<String>,
    rows: Vec<Vec<String>>,
    lines: Vec<usize>,
}

fn split_fields(line: &str, sep: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            c if c == sep && !quoted => out.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out
}

impl Table {
    /// Read a CSV file. Errors name the file and the line.
    pub fn from_csv_path(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text =
            std::fs::read_to_string(path).map_err(|source| PhysicsError::Io { path: path.to_path_buf(), source })?;
        Self::from_csv_str(&text, &path.display().to_string())
    }

    /// Parse CSV text; `source_name` is used in error messages (a path, or `<stdin>`).
    pub fn from_csv_str(text: &str, source_name: &str) -> Result<Self> {
        // A UTF-8 byte-order mark (spreadsheet exports) is not part of the first column name.
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut header: Option<Vec<String>> = None;
        let mut sep = ',';
        let mut rows = Vec::new();
        let mut lines = Vec::new();
        for (idx, raw) in text.lines().enumerate() {
            let line_no = idx + 1;
            let line = raw.trim_end_matches('\r');
            if line.trim().is_empty() || line.trim_start().starts_with('#') {
                continue;
            }
            match &header {
                None => {
                    if !line.contains(',') && line.contains('\t') {
                        sep = '\t';
                    }
                    header = Some(split_fields(line, sep));
                }
                Some(h) => {
                    let fields = split_fields(line, sep);
                    if fields.len() != h.len() {
                        return Err(PhysicsError::RaggedRow {
                            source_name: source_name.to_string(),
                            line: line_no,
                            found: fields.len(),
                            expected: h.len(),
                        });
                    }
                    rows.push(fields);
                    lines.push(line_no);
                }
            }
        }
        let columns =
            header.ok_or(PhysicsError::EmptyTable { source_name: source_name.to_string(), what: "no header line" })?;
        if rows.is_empty() {
            return Err(PhysicsError::EmptyTable { source_name: source_name.to_string(), what: "no data rows" });
        }
        Ok(Self { source_name: source_name.to_string(), columns, rows, lines })
    }

    /// Build a table in memory from equally long numeric columns. Rows are numbered as if
    /// they came from a CSV file with a header on line 1 (row `i` is line `i + 2`).
    pub fn from_columns(names: &[&str], columns: &[Vec<f64>]) -> Self {
        let n = columns.first().map_or(0, Vec::len);
        let rows = (0..n)
            .map(|i| columns.iter().map(|c| c.get(i).map_or(String::new(), |v| format!("{v:?}"))).collect())
            .collect();
        Self {
            source_name: "<memory>".into(),
            columns: names.iter().map(|s| s.to_string()).collect(),
            rows,
            lines: (0..n).map(|i| i + 2).collect(),
        }
    }

    /// Column names in file order.
    pub fn columns(&self) -> &[String] {
        &self.columns
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when the table has no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Where the table came from (a path or `<memory>`).
    pub fn source_name(&self) -> &str {
        &self.source_name
    }

    /// The 1-based file line of data row `row` (0-based).
    pub fn line_of(&self, row: usize) -> usize {
        self.lines[row]
    }

    /// A column parsed as finite numbers. Errors: [`PhysicsError::MissingColumn`] (listing the
    /// available columns), [`PhysicsError::NotANumber`], [`PhysicsError::NonFinite`] — each
    /// naming the line and column.
    pub fn numeric(&self, name: &str) -> Result<Vec<f64>> {
        let c = self
            .columns
            .iter()
            .position(|n| n == name)
            .ok_or_else(|| PhysicsError::MissingColumn { name: name.to_string(), available: self.columns.clone() })?;
        self.rows
            .iter()
            .zip(&self.lines)
            .map(|(row, &line)| {
                let cell = row[c].as_str();
                let v: f64 = cell.parse().map_err(|_| PhysicsError::NotANumber {
                    line,
                    column: name.to_string(),
                    value: cell.to_string(),
                })?;
                if v.is_finite() {
                    Ok(v)
                } else {
                    Err(PhysicsError::NonFinite { line, column: name.to_string(), value: v })
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_quotes_comments_and_text_columns() {
        let t = Table::from_csv_str("# comment\nL,\"p\",note\n16,0.5,\"a, b\"\n\n32,0.6,x\n", "t").unwrap();
        assert_eq!(t.columns(), ["L", "p", "note"]);
        assert_eq!(t.numeric("p").unwrap(), vec![0.5, 0.6]);
        assert_eq!(t.line_of(1), 5);
        assert!(matches!(t.numeric("note"), Err(PhysicsError::NotANumber { line: 3, .. })));
    }

    /// Regression: a UTF-8 BOM made the first column `\u{feff}L` ("no column named `L`;
    /// available columns: L, x, y").
    #[test]
    fn a_byte_order_mark_is_not_part_of_the_header() {
        let t = Table::from_csv_str("\u{feff}L,x,y\n8,0.1,0.2\n", "t").unwrap();
        assert_eq!(t.numeric("L").unwrap(), vec![8.0]);
    }
}
