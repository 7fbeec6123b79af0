//! CSV and JSON Lines logs, in either layout:
//!
//! * **wide**: one row per (run, step), one column per series, as written by most training
//!   scripts and by Weights & Biases' history export (`_step`, with `_runtime` and
//!   `_timestamp`, which are not series, and empty cells where a metric was not logged);
//! * **long**: one row per (run, step, series) with a name column and a value column.
//!
//! Without a run column the whole file is one run. Columns whose every non-empty cell is a
//! number are series; text columns constant within each run (and any `--param-col`) are
//! hyperparameters; other text columns are skipped with a note. The step is the `--step-col`
//! (default `step`, else W&B's `_step`, else the row number within the run). JSON Lines
//! objects may nest (`{"train": {"acc": 1}}` gives `train/acc`). A last line without its
//! newline that does not parse (a log being written) is skipped with a note; any other bad
//! line is an error naming the file and line.
use super::{absolute, ExternalRun, IngestError, Source};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Which columns mean what.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// Column naming the run (default: none, the file is one run).
    pub run_col: Option<String>,
    /// Column of the step (default `step`, else `_step`, else the row number).
    pub step_col: Option<String>,
    /// Long layout: the column naming the series (default: `metric`/`name`/`key`/`tag` when
    /// the file also has a `value` column).
    pub name_col: Option<String>,
    /// Long layout: the column of the value (default `value`).
    pub value_col: Option<String>,
    /// Columns that hold hyperparameters (constant within a run).
    pub param_cols: Vec<String>,
    /// Skip the rows that cannot be read faithfully (a text cell in a numeric column, a step
    /// out of range, a step repeated within a run) instead of refusing the file; the source's
    /// notes count them.
    pub skip_bad_rows: bool,
}

/// The largest step stored: every whole number up to 2^53 is exact in an f64 (a step read as
/// 99999999999999999999999 is refused, not stored as i64::MAX).
const MAX_STEP: f64 = 9_007_199_254_740_992.0;

/// Refuses a CSV with an unterminated quoted field (the rest of the file would silently
/// become one cell), naming the line where the quote opens.
fn check_quotes(path: &Path, text: &str) -> Result<(), IngestError> {
    let mut open_line = None;
    let mut line = 1usize;
    for c in text.chars() {
        match c {
            '"' => open_line = if open_line.is_some() { None } else { Some(line) },
            '\n' => line += 1,
            _ => {}
        }
    }
    match open_line {
        Some(l) => Err(IngestError::Line {
            path: path.to_path_buf(),
            line: l,
            reason: "a quoted field opens here and is never closed".into(),
        }),
        None => Ok(()),
    }
}

/// W&B's bookkeeping columns, which are not series.
const WANDB_META: &[&str] = &["_runtime", "_timestamp", "_wandb"];

#[derive(Debug, Clone)]
enum Cell {
    Num(f64),
    Text(String),
}

impl Cell {
    fn from_text(s: &str) -> Option<Cell> {
        let t = s.trim();
        if t.is_empty() {
            return None;
        }
        Some(match t.parse::<f64>() {
            Ok(x) => Cell::Num(x),
            Err(_) => Cell::Text(t.to_string()),
        })
    }

    fn text(&self) -> String {
        match self {
            Cell::Num(x) => x.to_string(),
            Cell::Text(s) => s.clone(),
        }
    }
}

type Row = (usize, BTreeMap<String, Cell>);

fn read_csv(path: &Path, text: &str) -> Result<(Vec<String>, Vec<Row>), IngestError> {
    let first = text.lines().next().unwrap_or("");
    let delimiter = if first.contains('\t') { b'\t' } else { b',' };
    let mut reader = csv::ReaderBuilder::new().delimiter(delimiter).has_headers(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| IngestError::Line { path: path.to_path_buf(), line: 1, reason: e.to_string() })?
        .iter()
        .map(|h| h.trim().to_string())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(IngestError::Empty { path: path.to_path_buf(), reason: "has no header line".into() });
    }
    let mut seen = BTreeSet::new();
    for h in &header {
        if !seen.insert(h) {
            return Err(IngestError::Line {
                path: path.to_path_buf(),
                line: 1,
                reason: format!("column `{h}` appears twice"),
            });
        }
    }
    let mut rows = Vec::new();
    for rec in reader.records() {
        let rec = rec.map_err(|e| {
            let line = e.position().map(|p| p.line() as usize).unwrap_or(0);
            IngestError::Line { path: path.to_path_buf(), line, reason: e.to_string() }
        })?;
        let line = rec.position().map(|p| p.line() as usize).unwrap_or(0);
        let cells =
            header.iter().zip(rec.iter()).filter_map(|(h, c)| Cell::from_text(c).map(|c| (h.clone(), c))).collect();
        rows.push((line, cells));
    }
    Ok((header, rows))
}

fn flatten(prefix: &str, v: &Value, out: &mut BTreeMap<String, Cell>) {
    let key = |k: &str| if prefix.is_empty() { k.to_string() } else { format!("{prefix}/{k}") };
    match v {
        Value::Object(o) => {
            for (k, v) in o {
                flatten(&key(k), v, out);
            }
        }
        Value::Null => {}
        Value::Number(n) => {
            out.insert(prefix.to_string(), Cell::Num(n.as_f64().unwrap_or(f64::NAN)));
        }
        Value::String(s) => {
            // "NaN" / "Infinity" as strings are how some loggers write non-finite numbers.
            if let Some(c) = Cell::from_text(s) {
                out.insert(prefix.to_string(), c);
            }
        }
        other => {
            out.insert(prefix.to_string(), Cell::Text(other.to_string()));
        }
    }
}

fn read_jsonl(path: &Path, text: &str, notes: &mut Vec<String>) -> Result<(Vec<String>, Vec<Row>), IngestError> {
    let mut rows = Vec::new();
    let mut header: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    let n_lines = text.lines().count();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let value: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(_) if i + 1 == n_lines && !text.ends_with('\n') => {
                notes.push(format!(
                    "{}, line {}: incomplete last line (a log being written?) skipped",
                    path.display(),
                    i + 1
                ));
                continue;
            }
            Err(e) => {
                return Err(IngestError::Line {
                    path: path.to_path_buf(),
                    line: i + 1,
                    reason: format!("not JSON: {e}"),
                })
            }
        };
        if !value.is_object() {
            return Err(IngestError::Line {
                path: path.to_path_buf(),
                line: i + 1,
                reason: "not a JSON object".into(),
            });
        }
        let mut cells = BTreeMap::new();
        flatten("", &value, &mut cells);
        for k in cells.keys() {
            if seen.insert(k.clone()) {
                header.push(k.clone());
            }
        }
        rows.push((i + 1, cells));
    }
    Ok((header, rows))
}

fn pick<'a>(
    header: &'a [String],
    given: Option<&str>,
    flag: &str,
    defaults: &[&str],
    path: &Path,
) -> Result<Option<&'a str>, IngestError> {
    match given {
        Some(c) => header.iter().find(|h| *h == c).map(|h| Some(h.as_str())).ok_or_else(|| {
            IngestError::Option(format!(
                "{flag} `{c}`: {} has no such column (columns: {})",
                path.display(),
                header.join(", ")
            ))
        }),
        None => Ok(defaults.iter().find_map(|d| header.iter().find(|h| h.as_str() == *d)).map(String::as_str)),
    }
}

/// Reads a CSV (`jsonl = false`) or JSON Lines log.
pub fn read(path: &Path, jsonl: bool, opts: &TableOptions) -> Result<Source, IngestError> {
    let meta = std::fs::metadata(path).map_err(|e| IngestError::io(path, e))?;
    if !meta.is_file() {
        return Err(IngestError::Empty {
            path: path.to_path_buf(),
            reason: "is not a regular file (a device, pipe or directory cannot be read as a log)".into(),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| IngestError::io(path, e))?;
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(IngestError::Record {
            path: path.to_path_buf(),
            offset: at as u64,
            reason: "a NUL byte: this is not a text log".into(),
        });
    }
    let text = String::from_utf8(bytes).map_err(|e| IngestError::Record {
        path: path.to_path_buf(),
        offset: e.utf8_error().valid_up_to() as u64,
        reason: "not valid UTF-8 text".into(),
    })?;
    if !jsonl {
        check_quotes(path, &text)?;
    }
    let mut notes = Vec::new();
    let (header, rows) = if jsonl { read_jsonl(path, &text, &mut notes)? } else { read_csv(path, &text)? };
    if rows.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf(), reason: "has no data rows".into() });
    }
    let run_col = pick(&header, opts.run_col.as_deref(), "--run-col", &[], path)?;
    let step_col = pick(&header, opts.step_col.as_deref(), "--step-col", &["step", "_step", "global_step"], path)?;
    let value_col = pick(&header, opts.value_col.as_deref(), "--value-col", &["value"], path)?;
    let name_col = match (opts.name_col.as_deref(), value_col) {
        (Some(c), _) => pick(&header, Some(c), "--name-col", &[], path)?,
        (None, Some(_)) => pick(&header, None, "--name-col", &["metric", "name", "key", "tag"], path)?,
        (None, None) => None,
    };
    let long = match (name_col, value_col) {
        (Some(n), Some(v)) => Some((n, v)),
        (Some(_), None) => {
            return Err(IngestError::Option(format!(
                "{}: a long layout needs a value column (--value-col)",
                path.display()
            )))
        }
        _ => None,
    };
    for p in &opts.param_cols {
        pick(&header, Some(p), "--param-col", &[], path)?;
    }
    if step_col.is_none() {
        notes.push(format!(
            "{}: no step column (step, _step); the row number within each run is the step",
            path.display()
        ));
    }
    let reserved: BTreeSet<&str> =
        [run_col, step_col, name_col, value_col].into_iter().flatten().chain(WANDB_META.iter().copied()).collect();
    // Group rows by run, keeping the file's order of runs.
    let mut order: Vec<String> = Vec::new();
    let mut groups: BTreeMap<String, Vec<&Row>> = BTreeMap::new();
    for row in &rows {
        let key = match run_col {
            Some(c) => match row.1.get(c) {
                Some(cell) => cell.text(),
                None => {
                    return Err(IngestError::Line {
                        path: path.to_path_buf(),
                        line: row.0,
                        reason: format!("empty run column `{c}`"),
                    })
                }
            },
            None => String::new(),
        };
        if !groups.contains_key(&key) {
            order.push(key.clone());
        }
        groups.entry(key).or_default().push(row);
    }
    // Column kinds over the whole file: numeric when every non-empty cell is a number. A
    // column of numbers with a few text cells is a damaged series, not a text column: refused
    // at its first text cell (or those rows skipped with --skip-bad-rows).
    let mut bad_rows: BTreeSet<usize> = BTreeSet::new();
    for h in header.iter().map(String::as_str) {
        if reserved.contains(h) && Some(h) != step_col || opts.param_cols.iter().any(|p| p == h) {
            continue;
        }
        let nums = rows.iter().filter(|(_, c)| matches!(c.get(h), Some(Cell::Num(_)))).count();
        let texts: Vec<&Row> = rows.iter().filter(|(_, c)| matches!(c.get(h), Some(Cell::Text(_)))).collect();
        if nums > 0 && !texts.is_empty() && texts.len() < nums {
            if !opts.skip_bad_rows {
                let (line, cells) = texts[0];
                return Err(IngestError::Line {
                    path: path.to_path_buf(),
                    line: *line,
                    reason: format!(
                        "`{}` in the numeric column `{h}` is not a number ({} such cells; --skip-bad-rows skips those rows)",
                        cells[h].text(),
                        texts.len()
                    ),
                });
            }
            bad_rows.extend(texts.iter().map(|r| r.0));
        }
    }
    let numeric: BTreeSet<&str> = header
        .iter()
        .map(String::as_str)
        .filter(|h| {
            rows.iter()
                .filter(|r| !bad_rows.contains(&r.0))
                .all(|(_, cells)| !matches!(cells.get(*h), Some(Cell::Text(_))))
        })
        .collect();
    let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "log".into());
    let abs = absolute(path);
    let format = if jsonl { "jsonl" } else { "csv" };
    let mut runs = Vec::new();
    let mut skipped_text: BTreeSet<String> = BTreeSet::new();
    for key in order {
        let group = &groups[&key];
        let mut series: BTreeMap<String, BTreeMap<i64, f64>> = BTreeMap::new();
        let mut params: BTreeMap<String, Value> = BTreeMap::new();
        let mut text_values: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
        let mut seen_steps: BTreeMap<i64, usize> = BTreeMap::new();
        let mut skipped = 0usize;
        for (i, (line, cells)) in group.iter().map(|r| (r.0, &r.1)).enumerate() {
            if bad_rows.contains(&line) {
                skipped += 1;
                continue;
            }
            let step = match step_col {
                Some(c) => match cells.get(c) {
                    Some(Cell::Num(x)) if x.is_finite() && x.fract() == 0.0 && x.abs() <= MAX_STEP => *x as i64,
                    Some(Cell::Num(x)) if x.is_finite() && x.fract() == 0.0 => {
                        if opts.skip_bad_rows {
                            skipped += 1;
                            continue;
                        }
                        return Err(IngestError::Line {
                            path: path.to_path_buf(),
                            line,
                            reason: format!("step {x} is out of range (at most 2^53 = {MAX_STEP})"),
                        });
                    }
                    Some(cell) => {
                        return Err(IngestError::Line {
                            path: path.to_path_buf(),
                            line,
                            reason: format!("step `{}` is not a whole number", cell.text()),
                        })
                    }
                    None => {
                        return Err(IngestError::Line {
                            path: path.to_path_buf(),
                            line,
                            reason: format!("empty step column `{c}`"),
                        })
                    }
                },
                None => i as i64,
            };
            // Wide layout: one row per step of a run. A repeated step means two runs in one
            // file (a missing --run-col) or a log restarted: never merged silently.
            if long.is_none() {
                if let Some(first) = seen_steps.insert(step, line) {
                    if opts.skip_bad_rows {
                        skipped += 1;
                        continue;
                    }
                    let hint = if run_col.is_none() {
                        "; if the file holds several runs, name their column with --run-col"
                    } else {
                        ""
                    };
                    return Err(IngestError::Line {
                        path: path.to_path_buf(),
                        line,
                        reason: format!(
                            "step {step} appears again (first at line {first}){hint}; --skip-bad-rows keeps the first"
                        ),
                    });
                }
            }
            if let Some((n, v)) = long {
                let name = cells.get(n).map(Cell::text).ok_or_else(|| IngestError::Line {
                    path: path.to_path_buf(),
                    line,
                    reason: format!("empty name column `{n}`"),
                })?;
                let value = match cells.get(v) {
                    Some(Cell::Num(x)) => *x,
                    None => f64::NAN,
                    Some(Cell::Text(t)) => {
                        return Err(IngestError::Line {
                            path: path.to_path_buf(),
                            line,
                            reason: format!("value `{t}` of `{name}` is not a number"),
                        })
                    }
                };
                series.entry(name).or_default().insert(step, value);
            }
            for (col, cell) in cells.iter() {
                let col = col.as_str();
                if reserved.contains(col) || (long.is_some() && !opts.param_cols.iter().any(|p| p == col)) {
                    if long.is_some() && !reserved.contains(col) {
                        text_values.entry(col).or_default().insert(cell.text());
                    }
                    continue;
                }
                if opts.param_cols.iter().any(|p| p == col) || !numeric.contains(col) {
                    text_values.entry(col).or_default().insert(cell.text());
                } else if let Cell::Num(x) = cell {
                    series.entry(col.to_string()).or_default().insert(step, *x);
                }
            }
        }
        for (col, values) in text_values {
            let explicit = opts.param_cols.iter().any(|p| p == col);
            if values.len() == 1 {
                params.insert(col.to_string(), Value::String(values.into_iter().next().expect("one")));
            } else if explicit {
                return Err(IngestError::Option(format!(
                    "--param-col `{col}` is not constant within run `{key}` of {} ({} values)",
                    path.display(),
                    values.len()
                )));
            } else {
                skipped_text.insert(col.to_string());
            }
        }
        let (name, source) = if run_col.is_some() {
            (key.clone(), format!("{format}:{}#{key}", abs.display()))
        } else {
            (stem.clone(), format!("{format}:{}", abs.display()))
        };
        if skipped > 0 {
            notes.push(format!("run {name}: {skipped} bad row(s) skipped (--skip-bad-rows)"));
        }
        if series.is_empty() {
            notes.push(format!("run {name}: no numeric series; skipped"));
            continue;
        }
        runs.push(ExternalRun { source, name, params, series, ..Default::default() });
    }
    if !skipped_text.is_empty() {
        notes.push(format!(
            "text columns that vary within a run were skipped: {}",
            skipped_text.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    if runs.is_empty() {
        return Err(IngestError::Empty { path: path.to_path_buf(), reason: "no run has a numeric series".into() });
    }
    Ok(Source { format, path: path.to_path_buf(), default_sweep: stem, runs, notes })
}
