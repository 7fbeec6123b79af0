//! The sweep spec: a TOML file with a `[base]` run spec, `[axes]` whose values are lists or
//! ranges, optional seeds, and grid or random sampling.
//!
//! ```toml
//! name = "wd-frac"            # the sweep's name in the store (letters, digits, . _ -)
//! seeds = 2                   # every point runs with seeds 0 and 1 (or a list: [0, 7])
//! sampling = "grid"           # "grid" (Cartesian product, default) or "random"
//! # samples = 100             # random only: number of sampled points
//! # sample-seed = 0           # random only: seed of the sampler (default 0)
//! # max-runs = 100000         # refuse a larger plan (default 100000; also caps axis lengths)
//! [base]                      # any key of `critlab train --config`
//! task = "modular-addition"
//! p = 23
//! [axes]                      # key = list | { linspace = [a, b, n] } | { logspace = [a, b, n] }
//! weight-decay = { logspace = [-2.0, 0.5, 4] }   # 10^-2 .. 10^0.5, 4 points
//! train-frac = [0.3, 0.5, 0.7]
//! ```
//!
//! Grid sampling runs every combination (the first axis varies slowest, seeds fastest).
//! Random sampling draws `samples` points: a list axis uniformly from its values, a linspace
//! axis uniformly from [a, b], a logspace axis log-uniformly from [10^a, 10^b] (`n` is then
//! ignored); keys that take whole numbers are rounded.
use crate::SweepError;
use critlab_core::{RunSpec, SpecError};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::path::Path;

/// The default `max-runs`: a sweep larger than this is refused unless its spec raises it.
pub const DEFAULT_MAX_RUNS: usize = 100_000;

/// The longest sweep name (it is stored with every run and printed in tables).
pub const MAX_NAME_LEN: usize = 200;

/// How points are drawn from the axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Sampling {
    /// Every combination of axis values (Cartesian product).
    #[default]
    Grid,
    /// `samples` points drawn at random (seeded by `sample-seed`).
    Random,
}

/// The file as written; unknown keys are rejected by serde with their line.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields)]
struct SweepFile {
    name: String,
    seeds: Option<toml::Value>,
    #[serde(default)]
    sampling: Sampling,
    samples: Option<usize>,
    #[serde(default)]
    sample_seed: u64,
    max_runs: Option<usize>,
    #[serde(default)]
    base: RunSpec,
    #[serde(default)]
    axes: toml::Table,
}

/// The values one run-spec key takes across a sweep.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AxisValues {
    /// Explicit values (numbers, strings, booleans), in order.
    List(Vec<Value>),
    /// `n` evenly spaced values from `start` to `stop` inclusive (numpy's `linspace`).
    Linspace {
        /// First value.
        start: f64,
        /// Last value.
        stop: f64,
        /// Number of values.
        n: usize,
    },
    /// `n` values 10^x with x evenly spaced from `start` to `stop` inclusive (numpy's
    /// `logspace`).
    Logspace {
        /// First exponent.
        start: f64,
        /// Last exponent.
        stop: f64,
        /// Number of values.
        n: usize,
    },
}

/// One axis: a run-spec key and its values.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis {
    /// The run-spec key (kebab-case, as in `critlab train --config`).
    pub key: String,
    /// Its values.
    pub values: AxisValues,
    /// Line of the key in the spec file.
    #[serde(skip)]
    pub line: Option<usize>,
}

/// A parsed sweep spec. [`crate::Plan::new`] resolves and validates its runs.
#[derive(Debug, Clone)]
pub struct SweepSpec {
    /// The sweep's name, stored with each of its runs.
    pub name: String,
    /// Where the spec came from (file path), for messages.
    pub source_name: String,
    /// Seeds every point is run with (`None`: the base seed or a `seed` axis).
    pub seeds: Option<Vec<u64>>,
    /// Grid or random.
    pub sampling: Sampling,
    /// Number of random points.
    pub samples: Option<usize>,
    /// Seed of the random sampler.
    pub sample_seed: u64,
    /// The largest plan this spec may resolve to (`max-runs`, default [`DEFAULT_MAX_RUNS`]):
    /// also the longest axis and the most seeds, so that a typo (`seeds = 1000000000`) is an
    /// error at once instead of minutes of work and gigabytes of memory.
    pub max_runs: usize,
    /// The run spec every run starts from.
    pub base: RunSpec,
    /// The axes, in file order.
    pub axes: Vec<Axis>,
    /// Lines of the keys of `[base]` and of the top level, for messages.
    lines: Vec<(String, usize)>,
}

impl SweepSpec {
    /// Reads and parses a spec file.
    pub fn load(path: &Path) -> Result<Self, SweepError> {
        let text = std::fs::read_to_string(path).map_err(|e| SweepError::io("reading sweep spec", path, e))?;
        Self::from_toml_str(&text, &path.display().to_string())
    }

    /// Parses a spec; every error names its key and, where it has one, its line.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Self, SweepError> {
        let file: SweepFile = toml::from_str(text).map_err(|e| {
            let SpecError::Parse { line, message, .. } = critlab_core::spec::toml_error(&e, text, source_name) else {
                unreachable!("toml_error always gives a parse error")
            };
            SweepError::Spec { source_name: source_name.into(), line, key: None, message }
        })?;
        let doc = toml_edit::ImDocument::parse(text).ok();
        let lines_of = |table: Option<&str>| -> Vec<(String, usize)> {
            let Some(doc) = doc.as_ref() else { return Vec::new() };
            let root = doc.as_table();
            let t: &dyn toml_edit::TableLike = match table {
                None => root,
                Some(name) => match root.get(name).and_then(|i| i.as_table_like()) {
                    Some(t) => t,
                    None => return Vec::new(),
                },
            };
            t.iter()
                .filter_map(|(k, _)| {
                    let span = t.get_key_value(k)?.0.span()?;
                    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
                    let name = table.map(|t| format!("{t}.{k}")).unwrap_or_else(|| k.to_string());
                    Some((name, line))
                })
                .collect()
        };
        let mut lines = lines_of(None);
        lines.extend(lines_of(Some("base")));
        let axis_lines = lines_of(Some("axes"));
        let err = |key: &str, message: String| SweepError::Spec {
            source_name: source_name.into(),
            line: lines.iter().find(|(k, _)| k == key).map(|(_, l)| *l),
            key: Some(key.to_string()),
            message,
        };

        if file.name.is_empty() || !file.name.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
            return Err(err(
                "name",
                format!("`name` = {:?} must be non-empty letters, digits, '.', '_' or '-'", file.name),
            ));
        }
        if file.name.len() > MAX_NAME_LEN {
            return Err(err(
                "name",
                format!("`name` has {} characters; at most {MAX_NAME_LEN} are allowed", file.name.len()),
            ));
        }
        if let Err(SpecError::NotFinite { key }) = file.base.check_finite() {
            return Err(err(&format!("base.{key}"), format!("`{key}` in [base] is not a finite number")));
        }
        let max_runs = file.max_runs.unwrap_or(DEFAULT_MAX_RUNS);
        if max_runs == 0 {
            return Err(err("max-runs", "`max-runs` must be at least 1".into()));
        }
        let seeds = match &file.seeds {
            None => None,
            Some(v) => Some(parse_seeds(v, max_runs).map_err(|m| err("seeds", m))?),
        };
        if let Some(n) = file.samples.filter(|&n| n > max_runs) {
            return Err(err(
                "samples",
                format!("`samples` = {n} is above `max-runs` = {max_runs}; raise `max-runs` if you mean it"),
            ));
        }
        match (file.sampling, file.samples) {
            (Sampling::Random, None) | (Sampling::Random, Some(0)) => {
                return Err(err("samples", "random sampling needs `samples` = a positive number of points".into()))
            }
            (Sampling::Grid, Some(_)) => {
                return Err(err("samples", "`samples` is only used with sampling = \"random\"".into()))
            }
            _ => {}
        }

        let keys = RunSpec::keys();
        let base_json = serde_json::to_value(&file.base).expect("a run spec serializes");
        // Axes in file order (toml_edit keeps it); serde's table only has them sorted.
        let order: Vec<String> = if axis_lines.is_empty() {
            file.axes.keys().cloned().collect()
        } else {
            axis_lines.iter().map(|(k, _)| k.trim_start_matches("axes.").to_string()).collect()
        };
        let mut axes = Vec::new();
        for key in order {
            let line = axis_lines.iter().find(|(k, _)| k == &format!("axes.{key}")).map(|(_, l)| *l);
            let axis_err = |message: String| SweepError::Spec {
                source_name: source_name.into(),
                line,
                key: Some(key.clone()),
                message: format!("axis `{key}`: {message}"),
            };
            if !keys.contains(&key) {
                return Err(axis_err(format!(
                    "unknown run-spec key (keys are those of `critlab train --config`: {})",
                    keys.join(", ")
                )));
            }
            if key == "seed" && seeds.is_some() {
                return Err(axis_err("give seeds either as `seeds` or as a `seed` axis, not both".into()));
            }
            let raw = file.axes.get(&key).expect("key comes from the table");
            let values = parse_axis(raw).map_err(&axis_err)?;
            if let AxisValues::Linspace { n, .. } | AxisValues::Logspace { n, .. } = values {
                if file.sampling == Sampling::Grid && n > max_runs {
                    return Err(axis_err(format!(
                        "{n} points are above `max-runs` = {max_runs}; raise `max-runs` if you mean it"
                    )));
                }
            }
            // Each value must be of the key's type; checked once here, before any run.
            for v in values.probe_values(&key) {
                let mut probe = base_json.clone();
                probe[key.as_str()] = v.clone();
                if let Err(e) = serde_json::from_value::<RunSpec>(probe) {
                    return Err(axis_err(format!("value {v}: {e}")));
                }
            }
            if file.sampling == Sampling::Grid {
                values.grid_values(&key).map_err(axis_err)?;
            }
            axes.push(Axis { key, values, line });
        }
        Ok(SweepSpec {
            name: file.name,
            source_name: source_name.into(),
            seeds,
            sampling: file.sampling,
            samples: file.samples,
            sample_seed: file.sample_seed,
            max_runs,
            base: file.base,
            axes,
            lines,
        })
    }

    /// The error for a rule broken by a resolved run: the line is the axis's when `key` is an
    /// axis, else the line of `key` in `[base]`.
    pub(crate) fn run_error(&self, key: Option<&str>, message: String) -> SweepError {
        let line = key.and_then(|k| {
            self.axes
                .iter()
                .find(|a| a.key == k)
                .and_then(|a| a.line)
                .or_else(|| self.lines.iter().find(|(n, _)| n == &format!("base.{k}")).map(|(_, l)| *l))
        });
        SweepError::Spec { source_name: self.source_name.clone(), line, key: key.map(str::to_string), message }
    }
}

fn parse_seeds(v: &toml::Value, max_runs: usize) -> Result<Vec<u64>, String> {
    match v {
        toml::Value::Integer(n) if *n > 0 && *n as u64 > max_runs as u64 => {
            Err(format!("`seeds` = {n} is above `max-runs` = {max_runs}; raise `max-runs` if you mean it"))
        }
        toml::Value::Integer(n) if *n > 0 => Ok((0..*n as u64).collect()),
        toml::Value::Array(a) if !a.is_empty() => a
            .iter()
            .map(|s| match s {
                toml::Value::Integer(n) if *n >= 0 => Ok(*n as u64),
                other => Err(format!("`seeds` must list non-negative whole numbers, found {other}")),
            })
            .collect(),
        other => Err(format!(
            "`seeds` must be a positive count (seeds = 5 runs seeds 0..4) or a non-empty list, found {other}"
        )),
    }
}

fn parse_axis(raw: &toml::Value) -> Result<AxisValues, String> {
    match raw {
        toml::Value::Array(a) if a.is_empty() => Err("the axis is empty; give at least one value".into()),
        toml::Value::Array(a) if a.iter().any(|v| v.as_float().is_some_and(|f| !f.is_finite())) => {
            Err("the axis has a value that is not a finite number (nan or inf)".into())
        }
        toml::Value::Array(a) => Ok(AxisValues::List(
            a.iter().map(|v| serde_json::to_value(v).map_err(|e| e.to_string())).collect::<Result<_, _>>()?,
        )),
        toml::Value::Table(t) => {
            let (kind, args) = match t.iter().collect::<Vec<_>>().as_slice() {
                [(k, v)] => (k.as_str(), *v),
                _ => return Err("a range is { linspace = [a, b, n] } or { logspace = [a, b, n] }".into()),
            };
            let nums = match args {
                toml::Value::Array(a) if a.len() == 3 => a,
                _ => return Err(format!("`{kind}` takes [start, stop, n]")),
            };
            let num = |v: &toml::Value| match v {
                toml::Value::Float(f) if f.is_finite() => Ok(*f),
                toml::Value::Integer(i) => Ok(*i as f64),
                other => Err(format!("`{kind}` bounds must be finite numbers, found {other}")),
            };
            let (start, stop) = (num(&nums[0])?, num(&nums[1])?);
            let n = match &nums[2] {
                toml::Value::Integer(n) if *n >= 1 => *n as usize,
                other => return Err(format!("`{kind}` needs n ≥ 1 points, found {other}")),
            };
            match kind {
                "linspace" => Ok(AxisValues::Linspace { start, stop, n }),
                "logspace" => Ok(AxisValues::Logspace { start, stop, n }),
                other => Err(format!("unknown range `{other}`; use linspace or logspace")),
            }
        }
        other => Err(format!("must be a list or a range, found {other} (a fixed value belongs in [base])")),
    }
}

/// Whether a run-spec key takes whole numbers (range values are then rounded or checked).
pub fn integer_key(key: &str) -> bool {
    matches!(key, "data-seed" | "noise-batch" | "batch-size")
        || serde_json::to_value(RunSpec::default()).ok().and_then(|v| v.get(key).map(Value::is_u64)).unwrap_or(false)
}

fn number(key: &str, x: f64) -> Value {
    if integer_key(key) {
        Value::from(x.round() as i64)
    } else {
        Value::from(x)
    }
}

impl AxisValues {
    /// Raw (unrounded) numbers of a range's grid.
    fn points(&self) -> Vec<f64> {
        let (start, stop, n, log) = match *self {
            AxisValues::List(_) => return Vec::new(),
            AxisValues::Linspace { start, stop, n } => (start, stop, n, false),
            AxisValues::Logspace { start, stop, n } => (start, stop, n, true),
        };
        (0..n)
            .map(|i| {
                let x = if n == 1 { start } else { start + (stop - start) * i as f64 / (n - 1) as f64 };
                if log {
                    10f64.powf(x)
                } else {
                    x
                }
            })
            .collect()
    }

    /// The values of a grid axis; a range on a whole-number key must give whole numbers.
    pub fn grid_values(&self, key: &str) -> Result<Vec<Value>, String> {
        if let AxisValues::List(v) = self {
            return Ok(v.clone());
        }
        self.points()
            .into_iter()
            .map(|x| {
                if integer_key(key) && (x - x.round()).abs() > 1e-9 * x.abs().max(1.0) {
                    Err(format!("the range gives {x}, but `{key}` takes whole numbers"))
                } else {
                    Ok(number(key, x))
                }
            })
            .collect()
    }

    /// The values whose type is checked at parse time: all of a list, a range's ends.
    fn probe_values(&self, key: &str) -> Vec<Value> {
        match self {
            AxisValues::List(v) => v.clone(),
            _ => {
                let p = self.points();
                [p.first(), p.last()].into_iter().flatten().map(|&x| number(key, x)).collect()
            }
        }
    }

    /// One random value (random sampling).
    pub fn sample(&self, key: &str, rng: &mut impl rand::Rng) -> Value {
        match *self {
            AxisValues::List(ref v) => v[rng.gen_range(0..v.len())].clone(),
            AxisValues::Linspace { start, stop, .. } => number(key, start + (stop - start) * rng.gen::<f64>()),
            AxisValues::Logspace { start, stop, .. } => {
                number(key, 10f64.powf(start + (stop - start) * rng.gen::<f64>()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ISSUE: &str = r#"name = "wd-frac"
seeds = 2                       # each grid point is run with seeds 0 and 1
[base]
task = "modular-addition"
p = 23
steps = 1500
[axes]
weight-decay = { logspace = [-2.0, 0.5, 4] }   # 10^-2 .. 10^0.5, 4 points
train-frac = [0.3, 0.5, 0.7]
lr = { linspace = [1e-3, 3e-3, 2] }
"#;

    #[test]
    fn the_issue_example_parses_with_axes_in_file_order() {
        let s = SweepSpec::from_toml_str(ISSUE, "wd.toml").unwrap();
        assert_eq!(s.name, "wd-frac");
        assert_eq!(s.seeds, Some(vec![0, 1]));
        assert_eq!(s.base.p, 23);
        let keys: Vec<&str> = s.axes.iter().map(|a| a.key.as_str()).collect();
        assert_eq!(keys, ["weight-decay", "train-frac", "lr"]);
        assert_eq!(s.axes[1].line, Some(9));
        let wd = s.axes[0].values.grid_values("weight-decay").unwrap();
        let wd: Vec<f64> = wd.iter().map(|v| v.as_f64().unwrap()).collect();
        assert!((wd[0] - 0.01).abs() < 1e-15 && (wd[3] - 10f64.powf(0.5)).abs() < 1e-12, "{wd:?}");
    }

    fn error(text: &str) -> (String, Option<usize>, Option<String>) {
        match SweepSpec::from_toml_str(text, "s.toml").unwrap_err() {
            e @ SweepError::Spec { .. } => {
                let SweepError::Spec { line, ref key, .. } = e else { unreachable!() };
                let key = key.clone();
                (e.to_string(), line, key)
            }
            other => panic!("{other}"),
        }
    }

    #[test]
    fn broken_specs_name_key_and_line() {
        let (msg, line, _) = error("name = \"a\"\n[base]\np = 23\nwieght-decay = 1.0\n");
        assert!(msg.contains("wieght-decay") && line == Some(4), "{msg}");
        let (msg, line, key) = error("name = \"a\"\n[axes]\nlr = []\n");
        assert!(msg.contains("`lr`") && msg.contains("empty") && line == Some(3), "{msg}");
        assert_eq!(key.as_deref(), Some("lr"));
        let (msg, line, _) = error("name = \"a\"\n[axes]\nlearning-rate = [1.0]\n");
        assert!(msg.contains("learning-rate") && line == Some(3), "{msg}");
        let (msg, _, _) = error("name = \"a\"\nseed = 3\n");
        assert!(msg.contains("seed"), "{msg}");
        let (msg, line, _) =
            error("name = \"a\"\n[axes]\np = { linspace = [10, 20, 3] }\ntask = [\"modular-addition\", \"nope\"]\n");
        assert!(msg.contains("`task`") && msg.contains("nope") && line == Some(4), "{msg}");
        let (msg, line, _) = error("name = \"a\"\n[axes]\np = { linspace = [10, 20, 4] }\n");
        assert!(msg.contains("whole numbers") && line == Some(3), "{msg}");
        let (msg, _, key) = error("name = \"a\"\nsampling = \"random\"\n");
        assert!(msg.contains("samples"), "{msg}");
        assert_eq!(key.as_deref(), Some("samples"));
        let (msg, _, _) = error("name = \"has space\"\n");
        assert!(msg.contains("`name`"), "{msg}");
        let (msg, _, _) = error("name = \"a\"\nseeds = 2\n[axes]\nseed = [1, 2]\n");
        assert!(msg.contains("not both"), "{msg}");
        let (msg, line, _) = error("name = \"a\"\n[axes]\nlr = 0.1\n");
        assert!(msg.contains("[base]") && line == Some(3), "{msg}");
    }
}
