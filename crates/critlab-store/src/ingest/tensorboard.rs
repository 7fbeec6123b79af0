//! TensorBoard event files (`events.out.tfevents.*`), as written by `torch.utils.tensorboard`,
//! tensorboardX, TensorFlow and JAX loggers.
//!
//! Every directory under the given one that holds event files is one run; its files are read
//! in name order (the name carries the creation time). Each file is a sequence of
//! [`tfrecord`](super::tfrecord) records holding protobuf `Event` messages
//! (tensorflow/core/util/event.proto). Scalars are read from `Summary.Value.simple_value`
//! (TF1, PyTorch's default) and from rank-0 `tensor` values whose tag's plugin is `scalars`
//! (TF2, `add_scalar(new_style=True)`); the plugin metadata is written only with a tag's first
//! value, so it is remembered per tag. Hyperparameters come from the `hparams` plugin's
//! `SessionStartInfo` (`add_hparams`). A `SessionLog` START at step s (a restarted writer
//! with `purge_step`) drops the points at steps ≥ s, as TensorBoard does.
//!
//! `add_hparams` of PyTorch and tensorboardX writes the hyperparameters into a new
//! subdirectory of the run's; a subdirectory that holds hyperparameters, whose parent is a run
//! with scalars but none of its own, is folded into that parent (its few summary scalars are
//! dropped, which the notes say).
//!
//! Only the few message fields read here are declared (prost skips the others); the field
//! numbers are those of tensorflow/core/framework/{summary,tensor,tensor_shape}.proto,
//! tensorflow/core/util/event.proto, tensorboard/plugins/hparams/plugin_data.proto and
//! google/protobuf/struct.proto.
use super::{absolute, base_name, tfrecord, ExternalRun, IngestError, Source};
use prost::Message;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// `tensorflow.Event`.
#[derive(Clone, PartialEq, Message)]
pub struct Event {
    /// Seconds since the epoch.
    #[prost(double, tag = "1")]
    pub wall_time: f64,
    /// Global step.
    #[prost(int64, tag = "2")]
    pub step: i64,
    /// `brain.Event:2` in the first record of a file.
    #[prost(string, optional, tag = "3")]
    pub file_version: Option<String>,
    /// Summary values.
    #[prost(message, optional, tag = "5")]
    pub summary: Option<Summary>,
    /// Session start/stop markers.
    #[prost(message, optional, tag = "7")]
    pub session_log: Option<SessionLog>,
}

/// `tensorflow.SessionLog`.
#[derive(Clone, PartialEq, Message)]
pub struct SessionLog {
    /// 0 unspecified, 1 START, 2 STOP, 3 CHECKPOINT.
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// `tensorflow.Summary`.
#[derive(Clone, PartialEq, Message)]
pub struct Summary {
    /// The values.
    #[prost(message, repeated, tag = "1")]
    pub value: Vec<SummaryValue>,
}

/// `tensorflow.Summary.Value`.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryValue {
    /// Tag (series name).
    #[prost(string, tag = "1")]
    pub tag: String,
    /// TF1 scalar.
    #[prost(float, optional, tag = "2")]
    pub simple_value: Option<f32>,
    /// TF2 value.
    #[prost(message, optional, tag = "8")]
    pub tensor: Option<TensorProto>,
    /// Plugin metadata (first value of a tag).
    #[prost(message, optional, tag = "9")]
    pub metadata: Option<SummaryMetadata>,
}

/// `tensorflow.SummaryMetadata`.
#[derive(Clone, PartialEq, Message)]
pub struct SummaryMetadata {
    /// Which plugin owns the tag.
    #[prost(message, optional, tag = "1")]
    pub plugin_data: Option<PluginData>,
}

/// `tensorflow.SummaryMetadata.PluginData`.
#[derive(Clone, PartialEq, Message)]
pub struct PluginData {
    /// `scalars`, `hparams`, `histograms`, ...
    #[prost(string, tag = "1")]
    pub plugin_name: String,
    /// Plugin-specific serialized content.
    #[prost(bytes = "vec", tag = "2")]
    pub content: Vec<u8>,
}

/// `tensorflow.TensorProto` (the fields a scalar needs).
#[derive(Clone, PartialEq, Message)]
pub struct TensorProto {
    /// `tensorflow.DataType`: 1 float, 2 double, 3 int32, 9 int64, 19 half.
    #[prost(int32, tag = "1")]
    pub dtype: i32,
    /// Shape.
    #[prost(message, optional, tag = "2")]
    pub tensor_shape: Option<TensorShape>,
    /// Raw little-endian content.
    #[prost(bytes = "vec", tag = "4")]
    pub tensor_content: Vec<u8>,
    /// float values.
    #[prost(float, repeated, tag = "5")]
    pub float_val: Vec<f32>,
    /// double values.
    #[prost(double, repeated, tag = "6")]
    pub double_val: Vec<f64>,
    /// int32 values.
    #[prost(int32, repeated, tag = "7")]
    pub int_val: Vec<i32>,
    /// int64 values.
    #[prost(int64, repeated, tag = "10")]
    pub int64_val: Vec<i64>,
    /// half values, as their 16 bits.
    #[prost(int32, repeated, tag = "13")]
    pub half_val: Vec<i32>,
}

/// `tensorflow.TensorShapeProto`.
#[derive(Clone, PartialEq, Message)]
pub struct TensorShape {
    /// Dimensions.
    #[prost(message, repeated, tag = "2")]
    pub dim: Vec<Dim>,
}

/// `tensorflow.TensorShapeProto.Dim`.
#[derive(Clone, PartialEq, Message)]
pub struct Dim {
    /// Size.
    #[prost(int64, tag = "1")]
    pub size: i64,
}

/// `tensorboard.hparams.HParamsPluginData`.
#[derive(Clone, PartialEq, Message)]
pub struct HParamsPluginData {
    /// Session start: the hyperparameters of the run.
    #[prost(message, optional, tag = "3")]
    pub session_start_info: Option<SessionStartInfo>,
}

/// `tensorboard.hparams.SessionStartInfo`.
#[derive(Clone, PartialEq, Message)]
pub struct SessionStartInfo {
    /// Name → value.
    #[prost(btree_map = "string, message", tag = "1")]
    pub hparams: BTreeMap<String, PbValue>,
}

/// `google.protobuf.Value` (without struct and list values).
#[derive(Clone, PartialEq, Message)]
pub struct PbValue {
    /// Number.
    #[prost(double, optional, tag = "2")]
    pub number_value: Option<f64>,
    /// String.
    #[prost(string, optional, tag = "3")]
    pub string_value: Option<String>,
    /// Boolean.
    #[prost(bool, optional, tag = "4")]
    pub bool_value: Option<bool>,
}

impl PbValue {
    fn to_json(&self) -> Value {
        if let Some(x) = self.number_value {
            Value::from(x)
        } else if let Some(s) = &self.string_value {
            Value::from(s.clone())
        } else if let Some(b) = self.bool_value {
            Value::Bool(b)
        } else {
            Value::Null
        }
    }
}

/// The value of a scalar tensor, if `t` is one (rank 0 or a single element).
fn tensor_scalar(t: &TensorProto) -> Option<f64> {
    let elements: i64 = t.tensor_shape.as_ref().map(|s| s.dim.iter().map(|d| d.size).product()).unwrap_or(1);
    if elements != 1 {
        return None;
    }
    let raw = &t.tensor_content;
    match t.dtype {
        1 => t
            .float_val
            .first()
            .map(|&x| x as f64)
            .or_else(|| raw.get(..4).map(|b| f32::from_le_bytes(b.try_into().expect("4")) as f64)),
        2 => {
            t.double_val.first().copied().or_else(|| raw.get(..8).map(|b| f64::from_le_bytes(b.try_into().expect("8"))))
        }
        3 => t
            .int_val
            .first()
            .map(|&x| x as f64)
            .or_else(|| raw.get(..4).map(|b| i32::from_le_bytes(b.try_into().expect("4")) as f64)),
        9 => t
            .int64_val
            .first()
            .map(|&x| x as f64)
            .or_else(|| raw.get(..8).map(|b| i64::from_le_bytes(b.try_into().expect("8")) as f64)),
        19 => t
            .half_val
            .first()
            .map(|&h| half_to_f64(h as u16))
            .or_else(|| raw.get(..2).map(|b| half_to_f64(u16::from_le_bytes([b[0], b[1]])))),
        _ => None,
    }
}

/// IEEE 754 binary16 → f64.
fn half_to_f64(h: u16) -> f64 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = ((h >> 10) & 0x1f) as i32;
    let frac = (h & 0x3ff) as f64;
    sign * match exp {
        0 => frac * 2f64.powi(-24),
        31 if frac == 0.0 => f64::INFINITY,
        31 => f64::NAN,
        e => (1.0 + frac / 1024.0) * 2f64.powi(e - 15),
    }
}

/// What one directory's event files hold.
#[derive(Debug, Default)]
struct DirRun {
    series: BTreeMap<String, BTreeMap<i64, f64>>,
    hparams: BTreeMap<String, Value>,
    wall: Option<(f64, f64)>,
    skipped_tags: BTreeMap<String, usize>,
    purges: usize,
}

/// Reads one event file into `run`; returns a note when its last record was cut off.
fn read_file(
    path: &Path,
    run: &mut DirRun,
    plugins: &mut BTreeMap<String, String>,
) -> Result<Option<String>, IngestError> {
    let bytes = std::fs::read(path).map_err(|e| IngestError::io(path, e))?;
    let records = tfrecord::split(&bytes).map_err(|e| IngestError::Record {
        path: path.to_path_buf(),
        offset: e.offset,
        reason: e.reason,
    })?;
    for (offset, data) in records.records {
        let event = Event::decode(data).map_err(|e| IngestError::Record {
            path: path.to_path_buf(),
            offset,
            reason: format!("not a TensorBoard event: {e}"),
        })?;
        if event.wall_time.is_finite() && event.wall_time > 0.0 {
            let (lo, hi) = run.wall.unwrap_or((event.wall_time, event.wall_time));
            run.wall = Some((lo.min(event.wall_time), hi.max(event.wall_time)));
        }
        if event.session_log.as_ref().is_some_and(|s| s.status == 1) {
            let cut = event.step;
            let mut dropped = 0;
            for points in run.series.values_mut() {
                let before = points.len();
                points.retain(|&s, _| s < cut);
                dropped += before - points.len();
            }
            if dropped > 0 {
                run.purges += dropped;
            }
        }
        let Some(summary) = event.summary else { continue };
        for v in summary.value {
            if let Some(plugin) = v.metadata.as_ref().and_then(|m| m.plugin_data.as_ref()) {
                plugins.insert(v.tag.clone(), plugin.plugin_name.clone());
                if plugin.plugin_name == "hparams" {
                    let data =
                        HParamsPluginData::decode(plugin.content.as_slice()).map_err(|e| IngestError::Record {
                            path: path.to_path_buf(),
                            offset,
                            reason: format!("unreadable hparams summary `{}`: {e}", v.tag),
                        })?;
                    if let Some(info) = data.session_start_info {
                        run.hparams.extend(info.hparams.iter().map(|(k, v)| (k.clone(), v.to_json())));
                    }
                    continue;
                }
            }
            let value = match (&v.simple_value, &v.tensor) {
                (Some(x), _) => Some(*x as f64),
                (None, Some(t)) if plugins.get(&v.tag).map(String::as_str) == Some("scalars") => tensor_scalar(t),
                _ => None,
            };
            match value {
                Some(x) => {
                    run.series.entry(v.tag).or_default().insert(event.step, x);
                }
                None => *run.skipped_tags.entry(v.tag).or_default() += 1,
            }
        }
    }
    Ok(records.truncated_at.map(|at| {
        format!(
            "{}: the last record (byte offset {at}) is incomplete (a file still being written?) and was skipped",
            path.display()
        )
    }))
}

/// Event files under `dir` (recursively, not following links), grouped by directory, each
/// group in name order.
fn event_files(dir: &Path) -> Result<BTreeMap<PathBuf, Vec<PathBuf>>, IngestError> {
    let mut out: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d).map_err(|e| IngestError::io(&d, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| IngestError::io(&d, e))?;
            let kind = entry.file_type().map_err(|e| IngestError::io(&entry.path(), e))?;
            let path = entry.path();
            if kind.is_dir() {
                stack.push(path);
            } else if kind.is_file() && entry.file_name().to_string_lossy().starts_with("events.out.tfevents.") {
                out.entry(d.clone()).or_default().push(path);
            }
        }
    }
    for files in out.values_mut() {
        files.sort();
    }
    Ok(out)
}

/// Reads every run under `dir` (one per directory holding event files).
pub fn read(dir: &Path) -> Result<Source, IngestError> {
    if !dir.is_dir() {
        let reason = if dir.exists() { "is not a directory (give the log directory)" } else { "does not exist" };
        return Err(IngestError::Empty { path: dir.to_path_buf(), reason: reason.into() });
    }
    let groups = event_files(dir)?;
    if groups.is_empty() {
        return Err(IngestError::Empty {
            path: dir.to_path_buf(),
            reason: "no TensorBoard event files (events.out.tfevents.*) under it".into(),
        });
    }
    let mut notes = Vec::new();
    let mut runs: BTreeMap<PathBuf, DirRun> = BTreeMap::new();
    for (d, files) in &groups {
        let mut run = DirRun::default();
        let mut plugins = BTreeMap::new();
        for f in files {
            if let Some(note) = read_file(f, &mut run, &mut plugins)? {
                notes.push(note);
            }
        }
        runs.insert(d.clone(), run);
    }
    // Fold hparams-only subdirectories (add_hparams) into their parent run.
    let children: Vec<PathBuf> = runs
        .iter()
        .filter(|(d, r)| !r.hparams.is_empty() && d.as_path() != dir)
        .filter_map(|(d, _)| {
            d.parent()
                .filter(|p| runs.get(*p).is_some_and(|pr| pr.hparams.is_empty() && !pr.series.is_empty()))
                .map(|_| d.clone())
        })
        .collect();
    let mut per_parent: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for c in children {
        per_parent.entry(c.parent().expect("has a parent").to_path_buf()).or_default().push(c);
    }
    for (parent, kids) in per_parent {
        if kids.len() != 1 {
            continue; // several hparams sessions under one run: keep them as runs of their own
        }
        let child = runs.remove(&kids[0]).expect("present");
        let target = runs.get_mut(&parent).expect("present");
        target.hparams = child.hparams;
        let dropped: Vec<&String> = child.series.keys().collect();
        notes.push(format!(
            "{}: hyperparameters from {} (add_hparams) attached to this run{}",
            parent.display(),
            kids[0].display(),
            if dropped.is_empty() { String::new() } else { format!("; its summary scalars {dropped:?} dropped") }
        ));
    }
    let root_name = base_name(dir, "tensorboard");
    let mut out = Vec::new();
    for (d, run) in runs {
        let rel = d.strip_prefix(dir).unwrap_or(&d);
        let name = if rel.as_os_str().is_empty() { root_name.clone() } else { rel.display().to_string() };
        if !run.skipped_tags.is_empty() {
            let tags: Vec<String> = run.skipped_tags.iter().map(|(t, n)| format!("{t} ({n})")).collect();
            notes.push(format!("run {name}: non-scalar summaries skipped: {}", tags.join(", ")));
        }
        if run.purges > 0 {
            notes.push(format!(
                "run {name}: {} points dropped by a restart (SessionLog START with purge_step)",
                run.purges
            ));
        }
        if run.series.is_empty() {
            notes.push(format!("run {name}: no scalar series; skipped"));
            continue;
        }
        out.push(ExternalRun {
            source: format!("tensorboard:{}", absolute(&d).display()),
            name,
            params: run.hparams,
            series: run.series,
            wall_seconds: run.wall.map(|(lo, hi)| hi - lo),
            ..Default::default()
        });
    }
    if out.is_empty() {
        return Err(IngestError::Empty {
            path: dir.to_path_buf(),
            reason: "the event files hold no scalar series".into(),
        });
    }
    Ok(Source { format: "tensorboard", path: dir.to_path_buf(), default_sweep: root_name, runs: out, notes })
}

/// Encodes events as an event file's bytes (for tests and fixtures written from Rust).
pub fn encode_events(events: &[Event]) -> Vec<u8> {
    let mut out = Vec::new();
    for e in events {
        tfrecord::frame(&mut out, &e.encode_to_vec());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scalar(step: i64, tag: &str, x: f32) -> Event {
        Event {
            wall_time: 1000.0 + step as f64,
            step,
            summary: Some(Summary {
                value: vec![SummaryValue { tag: tag.into(), simple_value: Some(x), ..Default::default() }],
            }),
            ..Default::default()
        }
    }

    fn tensor(step: i64, tag: &str, x: f64, first: bool) -> Event {
        let metadata = first.then(|| SummaryMetadata {
            plugin_data: Some(PluginData { plugin_name: "scalars".into(), content: vec![] }),
        });
        let t = TensorProto {
            dtype: 2,
            tensor_shape: Some(TensorShape { dim: vec![] }),
            tensor_content: x.to_le_bytes().to_vec(),
            ..Default::default()
        };
        Event {
            wall_time: 1000.0,
            step,
            summary: Some(Summary {
                value: vec![SummaryValue { tag: tag.into(), tensor: Some(t), metadata, ..Default::default() }],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn simple_values_and_tf2_scalar_tensors_are_read_and_a_cut_file_is_noted() {
        let dir = tempfile::tempdir().unwrap();
        let mut events =
            vec![Event { wall_time: 999.0, file_version: Some("brain.Event:2".into()), ..Default::default() }];
        events.extend((0..5).map(|s| scalar(s, "train/loss", 1.0 / (s + 1) as f32)));
        events.extend((0..5).map(|s| tensor(s, "val/accuracy", s as f64 / 4.0, s == 0)));
        let mut bytes = encode_events(&events);
        bytes.truncate(bytes.len() - 3);
        std::fs::write(dir.path().join("events.out.tfevents.1.host"), &bytes).unwrap();
        let src = read(dir.path()).unwrap();
        assert_eq!(src.runs.len(), 1);
        let run = &src.runs[0];
        assert_eq!(run.series["train/loss"].len(), 5);
        assert_eq!(run.series["val/accuracy"].len(), 4, "the cut last record is skipped");
        assert_eq!(run.series["val/accuracy"][&3], 0.75);
        assert_eq!(run.wall_seconds, Some(5.0));
        assert!(src.notes.iter().any(|n| n.contains("incomplete")), "{:?}", src.notes);
    }

    #[test]
    fn a_damaged_record_is_an_error_naming_file_and_offset() {
        let dir = tempfile::tempdir().unwrap();
        let mut bytes = encode_events(&(0..3).map(|s| scalar(s, "loss", 1.0)).collect::<Vec<_>>());
        let second = tfrecord::split(&bytes).unwrap().records[1].0 as usize;
        bytes[second + 14] ^= 0xff;
        let path = dir.path().join("events.out.tfevents.2.host");
        std::fs::write(&path, &bytes).unwrap();
        let e = read(dir.path()).unwrap_err().to_string();
        assert!(e.contains("events.out.tfevents.2.host") && e.contains(&format!("byte offset {second}")), "{e}");
    }

    #[test]
    fn half_floats_decode() {
        assert_eq!(half_to_f64(0x3c00), 1.0);
        assert_eq!(half_to_f64(0xc000), -2.0);
        assert_eq!(half_to_f64(0x3555), 0.333251953125);
        assert!(half_to_f64(0x7e00).is_nan());
    }

    #[test]
    fn a_restart_with_purge_step_drops_the_later_points() {
        let dir = tempfile::tempdir().unwrap();
        let first = encode_events(&(0..6).map(|s| scalar(s, "loss", s as f32)).collect::<Vec<_>>());
        let mut restart = vec![Event { step: 3, session_log: Some(SessionLog { status: 1 }), ..Default::default() }];
        restart.extend((3..5).map(|s| scalar(s, "loss", 10.0 + s as f32)));
        std::fs::write(dir.path().join("events.out.tfevents.1.a"), first).unwrap();
        std::fs::write(dir.path().join("events.out.tfevents.2.a"), encode_events(&restart)).unwrap();
        let src = read(dir.path()).unwrap();
        let loss = &src.runs[0].series["loss"];
        assert_eq!(
            loss.iter().map(|(&s, &v)| (s, v)).collect::<Vec<_>>(),
            vec![(0, 0.0), (1, 1.0), (2, 2.0), (3, 13.0), (4, 14.0)]
        );
    }
}
