//! Export of stored metrics as CSV, JSON Lines or Parquet.
//!
//! All three formats hold the same wide table: one row per (run, step), columns `run_id`,
//! `step`, then one column per observable (sorted by name); a missing or non-finite value is
//! empty (CSV), `null` (JSONL) or null (Parquet).
use crate::{RunId, Store, StoreError};
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// Output format of `critlab export`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Comma-separated values with a header row.
    Csv,
    /// One JSON object per line.
    Jsonl,
    /// Apache Parquet (uncompressed; nullable DOUBLE metric columns).
    Parquet,
}

/// The wide table: column names and rows keyed by (run, step).
pub struct WideTable {
    /// Metric column names, sorted.
    pub columns: Vec<String>,
    /// Rows: (run, step) → one value per column (NaN when absent).
    pub rows: Vec<(RunId, i64, Vec<f64>)>,
}

/// Builds the wide table for the given runs (all runs when `runs` is `None`).
pub fn wide_table(store: &Store, runs: Option<&[RunId]>) -> Result<WideTable, StoreError> {
    let ids: Vec<RunId> = match runs {
        Some(ids) => {
            for &id in ids {
                store.run(id)?;
            }
            ids.to_vec()
        }
        None => store.runs(None)?.into_iter().map(|r| r.id).collect(),
    };
    let mut names = BTreeSet::new();
    let mut cells: BTreeMap<(RunId, i64), BTreeMap<String, f64>> = BTreeMap::new();
    for id in ids {
        for m in store.metrics(id)? {
            names.insert(m.name.clone());
            cells.entry((id, m.step)).or_default().insert(m.name, m.value);
        }
    }
    let columns: Vec<String> = names.into_iter().collect();
    let rows = cells
        .into_iter()
        .map(|((run, step), vals)| {
            let row = columns.iter().map(|c| vals.get(c).copied().unwrap_or(f64::NAN)).collect();
            (run, step, row)
        })
        .collect();
    Ok(WideTable { columns, rows })
}

/// Writes the table in `format` to `out` atomically (a temporary file renamed over it).
pub fn write(table: &WideTable, format: Format, out: &Path) -> Result<(), StoreError> {
    let fail = |reason: String| StoreError::Export { path: out.to_path_buf(), reason };
    // Atomic: a full disk or a kill leaves the old file (or none), never part of a table.
    critlab_core::files::write_atomic(out, |w| match format {
        Format::Csv => write_csv(table, w),
        Format::Jsonl => write_jsonl(table, w),
        Format::Parquet => write_parquet(table, w).map_err(|e| std::io::Error::other(e.to_string())),
    })
    .map_err(|e| fail(e.to_string()))
}

/// Writes CSV to any writer.
pub fn write_csv(table: &WideTable, mut w: impl Write) -> std::io::Result<()> {
    write!(w, "run_id,step")?;
    for c in &table.columns {
        write!(w, ",{}", csv_field(c))?;
    }
    writeln!(w)?;
    for (run, step, vals) in &table.rows {
        write!(w, "{run},{step}")?;
        for v in vals {
            if v.is_finite() {
                write!(w, ",{v}")?;
            } else {
                write!(w, ",")?;
            }
        }
        writeln!(w)?;
    }
    w.flush()
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Writes JSON Lines to any writer.
pub fn write_jsonl(table: &WideTable, mut w: impl Write) -> std::io::Result<()> {
    for (run, step, vals) in &table.rows {
        let mut obj = serde_json::Map::new();
        obj.insert("run_id".into(), (*run).into());
        obj.insert("step".into(), (*step).into());
        for (c, v) in table.columns.iter().zip(vals) {
            let val =
                serde_json::Number::from_f64(*v).map(serde_json::Value::Number).unwrap_or(serde_json::Value::Null);
            obj.insert(c.clone(), val);
        }
        serde_json::to_writer(&mut w, &obj)?;
        writeln!(w)?;
    }
    w.flush()
}

fn write_parquet(table: &WideTable, file: impl Write + Send) -> Result<(), parquet::errors::ParquetError> {
    use parquet::basic::{Repetition, Type as Physical};
    use parquet::data_type::{DoubleType, Int64Type};
    use parquet::file::properties::WriterProperties;
    use parquet::file::writer::SerializedFileWriter;
    use parquet::schema::types::Type;

    let mut fields = Vec::new();
    for name in ["run_id", "step"] {
        fields.push(Arc::new(
            Type::primitive_type_builder(name, Physical::INT64).with_repetition(Repetition::REQUIRED).build()?,
        ));
    }
    for name in &table.columns {
        fields.push(Arc::new(
            Type::primitive_type_builder(name, Physical::DOUBLE).with_repetition(Repetition::OPTIONAL).build()?,
        ));
    }
    let schema = Arc::new(Type::group_type_builder("critlab_metrics").with_fields(fields).build()?);
    let props = Arc::new(WriterProperties::builder().build());
    let mut writer = SerializedFileWriter::new(file, schema, props)?;
    let mut group = writer.next_row_group()?;
    let mut index = 0usize;
    while let Some(mut col) = group.next_column()? {
        match index {
            0 | 1 => {
                let vals: Vec<i64> = table.rows.iter().map(|(r, s, _)| if index == 0 { *r } else { *s }).collect();
                col.typed::<Int64Type>().write_batch(&vals, None, None)?;
            }
            i => {
                let all = table.rows.iter().map(|(_, _, v)| v[i - 2]);
                let defs: Vec<i16> = all.clone().map(|v| v.is_finite() as i16).collect();
                let vals: Vec<f64> = all.filter(|v| v.is_finite()).collect();
                col.typed::<DoubleType>().write_batch(&vals, Some(&defs), None)?;
            }
        }
        col.close()?;
        index += 1;
    }
    group.close()?;
    writer.close()?;
    Ok(())
}
