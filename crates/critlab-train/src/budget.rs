//! The memory budget: what a replica group will need, estimated from its specs alone, and the
//! check that refuses it before anything is allocated.
//!
//! A run allocates three kinds of memory, all proportional to numbers in its spec (f32 = 4 B):
//!
//! * **model**: the P parameters of each of the R replicas, times the copies the trainer keeps
//!   alive at an eval step (parameters, gradients of the step and of the full training set,
//!   the optimizer's moments, the small-batch gradients, the displacement, the host copies the
//!   probes read): [`MODEL_COPIES`] · 4 · R · P bytes;
//! * **data**: each replica's generated examples and split on the host, and the gathered
//!   training and test batches on the device: [`DATA_BYTES_PER_TOKEN`] bytes per input token
//!   (or 4 per dense feature) plus [`DATA_BYTES_PER_EXAMPLE`] per example, times R·N;
//! * **activations**: an eval step runs forward and backward over the whole training set and
//!   forward over the test set; per example that is [`HIDDEN_COPIES`] copies of each hidden
//!   activation (the input lookups and hidden layers of the MLP, or the transformer's residual
//!   stream, keys, values, attention and MLP) and [`LOGIT_COPIES`] copies of the logits (see
//!   [`per_example_floats`]), times 4·R·N bytes; plus the representation probe's f64 copy of
//!   `repr-samples` hidden vectors.
//!
//! The constants were fitted to the peak resident memory of real runs (docs/reliability.md
//! has the table: the estimate lies between 1.5× and 2.5× the measured peak). The check compares the
//! estimate with a limit: `--max-memory`, or by default [`DEFAULT_FRACTION`] of the smallest
//! of the machine's memory, the cgroup's memory limit and what `ulimit -v` leaves free.
use crate::models::{self, InputShape};
use critlab_core::{ModelKind, TaskKind, ValidRunSpec};
use serde::Serialize;

/// Bytes of one f32.
const F32: f64 = 4.0;
/// Live copies of the parameters at an eval step (see the module docs).
pub const MODEL_COPIES: f64 = 10.0;
/// Bytes per input token per example: the u32 id on the host and the i64 ids of the gathered
/// train/test batch (plus its replica index) on the device.
pub const DATA_BYTES_PER_TOKEN: f64 = 4.0 + 8.0 + 8.0;
/// Bytes per example besides its inputs: label (u32 host, i64 device), split index (usize).
pub const DATA_BYTES_PER_EXAMPLE: f64 = 4.0 + 8.0 + 8.0 + 8.0;
/// Live copies of each hidden activation per example at the peak of an eval step (fitted:
/// the forward and backward passes free most intermediates as they go).
pub const HIDDEN_COPIES: f64 = 1.5;
/// Live copies of the logits per example at the peak (the softmax, its log and gradient, the
/// kept training logits of the accuracy probe).
pub const LOGIT_COPIES: f64 = 3.0;
/// What the process needs before any run: binary, SQLite, threads, allocator.
pub const BASE_BYTES: f64 = 96.0 * 1024.0 * 1024.0;
/// The default limit is this fraction of the memory available to the process.
pub const DEFAULT_FRACTION: f64 = 0.8;

/// Estimated peak memory of one replica group, in bytes, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct MemoryEstimate {
    /// Parameters and their companions (gradients, optimizer moments, copies).
    pub model: f64,
    /// Generated examples, split and gathered batches.
    pub data: f64,
    /// Forward and backward intermediates at an eval step.
    pub activations: f64,
    /// Model + data + activations + [`BASE_BYTES`].
    pub total: f64,
}

impl MemoryEstimate {
    /// The sum of several estimates (groups trained at the same time share one base).
    pub fn concurrent(estimates: &[MemoryEstimate]) -> MemoryEstimate {
        let model = estimates.iter().map(|e| e.model).sum();
        let data = estimates.iter().map(|e| e.data).sum();
        let activations = estimates.iter().map(|e| e.activations).sum();
        MemoryEstimate { model, data, activations, total: model + data + activations + BASE_BYTES }
    }
}

impl std::fmt::Display for MemoryEstimate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} (model {}, data {}, activations {})",
            bytes(self.total),
            bytes(self.model),
            bytes(self.data),
            bytes(self.activations)
        )
    }
}

/// A byte count in binary units: "1.5 GiB".
pub fn bytes(b: f64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut v = b;
    let mut u = 0;
    while v >= 1024.0 && u + 1 < units.len() {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{v:.0} B")
    } else {
        format!("{v:.1} {}", units[u])
    }
}

/// The input shape and number of outputs of a spec's task, without generating it.
pub fn task_shape(spec: &ValidRunSpec) -> (InputShape, usize) {
    match spec.task {
        TaskKind::SparseParity => (InputShape::Dense(spec.parity_bits), 2),
        TaskKind::TeacherStudent => (InputShape::Dense(spec.input_dim), 1),
        _ => (InputShape::Tokens { vocab: spec.p, positions: 2 }, spec.p),
    }
}

/// Floats of activations per example of one replica, for one forward and backward pass.
pub fn per_example_floats(spec: &ValidRunSpec, outputs: usize) -> f64 {
    let c = outputs as f64;
    match spec.model {
        ModelKind::Mlp => {
            let (w, depth) = (spec.width as f64, spec.depth as f64);
            let input = match task_shape(spec).0 {
                // One lookup of `width` per position, and their sum.
                InputShape::Tokens { positions, .. } => match spec.input {
                    critlab_core::InputEncoding::OneHot => (positions as f64 + 1.0) * w,
                    critlab_core::InputEncoding::Embedding => positions as f64 * spec.embed_dim as f64 + w,
                },
                InputShape::Dense(d) => d as f64 + w,
            };
            HIDDEN_COPIES * (input + depth * w) + LOGIT_COPIES * c
        }
        ModelKind::Transformer => {
            let (d, m, h) = (spec.d_model as f64, spec.d_mlp as f64, spec.heads as f64);
            // Residual stream of 3 positions, keys and values, attention scores, MLP, logits.
            HIDDEN_COPIES * (3.0 * 3.0 * d + 4.0 * d + 3.0 * h + 2.0 * m) + LOGIT_COPIES * c
        }
    }
}

/// Estimated peak memory of training `specs` as one replica group.
pub fn estimate(specs: &[ValidRunSpec]) -> MemoryEstimate {
    match specs.first() {
        Some(spec) => estimate_group(spec, specs.len()),
        None => MemoryEstimate { model: 0.0, data: 0.0, activations: 0.0, total: BASE_BYTES },
    }
}

/// Estimated peak memory of a replica group of `replicas` runs shaped like `spec` (the keys
/// that may differ inside a group, such as `lr` and `seed`, do not change the memory).
pub fn estimate_group(spec: &ValidRunSpec, replicas: usize) -> MemoryEstimate {
    let r = replicas as f64;
    let (input, outputs) = task_shape(spec);
    let model = models::build(spec, input, outputs);
    let p: f64 = model.params().iter().map(|p| p.rows as f64 * p.cols as f64).sum();
    let n = spec.n_total() as f64;
    let per_example_data = match input {
        InputShape::Tokens { positions, .. } => positions as f64 * DATA_BYTES_PER_TOKEN + DATA_BYTES_PER_EXAMPLE,
        InputShape::Dense(d) => 2.0 * F32 * d as f64 + DATA_BYTES_PER_EXAMPLE,
    };
    let hidden = match spec.model {
        ModelKind::Mlp => spec.width,
        ModelKind::Transformer => spec.d_mlp,
    } as f64;
    let repr = spec.repr_samples.min(spec.n_test()) as f64;
    let model_bytes = MODEL_COPIES * F32 * r * p;
    let data = r * n * per_example_data;
    let activations = r * (F32 * n * per_example_floats(spec, outputs) + 3.0 * 8.0 * repr * hidden);
    MemoryEstimate { model: model_bytes, data, activations, total: model_bytes + data + activations + BASE_BYTES }
}

/// How much memory runs may take.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    /// The limit in bytes.
    pub limit: f64,
    /// Where it comes from, for messages ("80% of the machine's 23.4 GiB", "--max-memory 2G").
    pub source: String,
}

/// The `--max-memory` setting: a size or a share of the available memory.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum MemoryLimit {
    /// This many bytes.
    Bytes(f64),
    /// This fraction (0, 1] of the memory available to the process.
    Fraction(f64),
}

impl MemoryLimit {
    /// Parses `2G`, `512M`, `1.5GiB`, `1000000` (bytes; K, M, G, T are powers of 1024) or
    /// `50%` (of the memory available to the process).
    pub fn parse(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if let Some(pct) = t.strip_suffix('%') {
            let v: f64 = pct.trim().parse().map_err(|_| format!("`{s}` is not a percentage"))?;
            if !(v > 0.0 && v <= 100.0) {
                return Err(format!("`{s}`: the percentage must be in (0, 100]"));
            }
            return Ok(MemoryLimit::Fraction(v / 100.0));
        }
        let lower = t.to_ascii_lowercase();
        let digits = lower.trim_end_matches(|c: char| c.is_ascii_alphabetic());
        let unit = lower[digits.len()..].trim_end_matches("ib").trim_end_matches('b');
        let scale = match unit {
            "" => 1.0,
            "k" => 1024f64,
            "m" => 1024f64.powi(2),
            "g" => 1024f64.powi(3),
            "t" => 1024f64.powi(4),
            _ => return Err(format!("`{s}`: unknown unit (use K, M, G, T or a percentage such as 50%)")),
        };
        let v: f64 = digits.trim().parse().map_err(|_| format!("`{s}` is not a size such as 4G, 512M or 50%"))?;
        if !(v.is_finite() && v > 0.0) {
            return Err(format!("`{s}`: the size must be a positive number"));
        }
        Ok(MemoryLimit::Bytes(v * scale))
    }
}

/// Memory the process may use, and why: the smallest of the machine's memory, the cgroup
/// limit and the address space `ulimit -v` leaves free. `None` when none can be read.
pub fn available() -> Option<(f64, String)> {
    let mut best: Option<(f64, String)> = None;
    let mut consider = |v: f64, why: String| {
        if v.is_finite() && v > 0.0 && best.as_ref().is_none_or(|(b, _)| v < *b) {
            best = Some((v, why));
        }
    };
    if let Some(total) = meminfo_total() {
        consider(total, format!("the machine's {}", bytes(total)));
    }
    for (path, label) in [
        ("/sys/fs/cgroup/memory.max", "the cgroup's memory limit"),
        ("/sys/fs/cgroup/memory/memory.limit_in_bytes", "the cgroup's memory limit"),
    ] {
        if let Some(v) = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<f64>().ok()) {
            consider(v, format!("{label} {}", bytes(v)));
        }
    }
    if let Some((limit, free)) = address_space() {
        consider(free, format!("the {} that `ulimit -v` ({}) leaves free", bytes(free), bytes(limit)));
    }
    best
}

impl Budget {
    /// The budget for a `--max-memory` setting (`None`: the default fraction).
    pub fn new(setting: Option<MemoryLimit>) -> Budget {
        match setting {
            Some(MemoryLimit::Bytes(b)) => Budget { limit: b, source: format!("--max-memory {}", bytes(b)) },
            Some(MemoryLimit::Fraction(f)) => Self::fraction(f, "--max-memory "),
            None => Self::fraction(DEFAULT_FRACTION, ""),
        }
    }

    fn fraction(f: f64, flag: &str) -> Budget {
        match available() {
            Some((v, why)) => Budget { limit: f * v, source: format!("{flag}{:.0}% of {why}", 100.0 * f) },
            None => Budget { limit: f64::INFINITY, source: "no memory limit could be read".into() },
        }
    }

    /// Refuses an estimate above the limit; `what` names the work ("the run", "2 replica
    /// groups of 32 runs trained at once").
    pub fn check(&self, what: &str, estimate: &MemoryEstimate) -> Result<(), BudgetError> {
        if estimate.total <= self.limit {
            return Ok(());
        }
        Err(BudgetError::TooLarge {
            what: what.to_string(),
            estimate: *estimate,
            limit: self.limit,
            origin: self.source.clone(),
        })
    }
}

/// Bytes the store grows by per stored metric value: its row in `metrics` and its share of
/// the index: 42 bytes measured (a 2 000-step run, 5 828 values in 245 760 bytes).
pub const STORE_BYTES_PER_VALUE: f64 = 48.0;

/// Metric values one run stores at an eval step, an upper estimate: the default probes store
/// 29 on the default MLP (more with the Fourier probes of modular tasks and other options).
pub const VALUES_PER_EVAL: f64 = 64.0;

/// How many bytes the store will grow by for these runs: every eval step (and the first and
/// last step) stores [`VALUES_PER_EVAL`] values of [`STORE_BYTES_PER_VALUE`] bytes.
pub fn store_growth(specs: &[ValidRunSpec]) -> f64 {
    specs
        .iter()
        .map(|s| {
            let evals = (s.steps / s.eval_every.max(1)) as f64 + 2.0;
            evals * VALUES_PER_EVAL * STORE_BYTES_PER_VALUE
        })
        .sum()
}

/// Free bytes on the file system that holds `path` (or its directory, when it does not exist
/// yet); `None` when it cannot be read.
pub fn free_disk(path: &std::path::Path) -> Option<f64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = if path.is_dir() { path } else { critlab_core::files::directory_of(path) };
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs fills one struct we own from a NUL-terminated path.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c.as_ptr(), &mut st) } != 0 {
        return None;
    }
    Some(st.f_bavail as f64 * st.f_frsize as f64)
}

/// The share of the free disk the runs of one command may fill.
pub const DISK_FRACTION: f64 = 0.9;

/// Refuses work whose stored metrics would not fit on the store's disk: `growth` bytes (see
/// [`store_growth`]) against [`DISK_FRACTION`] of the free space where `store` lives.
pub fn check_disk(what: &str, store: &std::path::Path, growth: f64) -> Result<(), BudgetError> {
    let Some(free) = free_disk(store) else { return Ok(()) };
    if growth <= DISK_FRACTION * free {
        return Ok(());
    }
    Err(BudgetError::Disk { what: what.to_string(), growth, free, store: store.to_path_buf() })
}

/// A run or group that would not fit in memory, or whose metrics would not fit on disk.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum BudgetError {
    /// The stored metrics would fill the disk.
    #[error(
        "{what} would store about {} of metrics in {} but its disk has {} free; raise `eval-every`, \
         lower `steps`, or free disk space",
        bytes(*growth), store.display(), bytes(*free)
    )]
    Disk {
        /// What was checked.
        what: String,
        /// Estimated growth of the store in bytes.
        growth: f64,
        /// Free bytes where the store lives.
        free: f64,
        /// The store.
        store: std::path::PathBuf,
    },
    /// The estimate is above the limit.
    #[error(
        "{what} would need about {estimate} but the memory budget is {} ({origin}); make the model, \
         the task (p, samples) or the replica groups smaller, or raise the budget with --max-memory",
        bytes(*limit)
    )]
    TooLarge {
        /// What was checked.
        what: String,
        /// Its estimate.
        estimate: MemoryEstimate,
        /// The limit in bytes.
        limit: f64,
        /// Where the limit comes from.
        origin: String,
    },
}

fn meminfo_total() -> Option<f64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024.0)
}

/// `(limit, free)` of the address space when `ulimit -v` sets one: free is the limit minus
/// what the process has mapped already.
fn address_space() -> Option<(f64, f64)> {
    let mut lim = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one rlimit struct that we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_AS, &mut lim) } != 0 || lim.rlim_cur == libc::RLIM_INFINITY {
        return None;
    }
    let limit = lim.rlim_cur as f64;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let vm_kb: f64 = status.lines().find(|l| l.starts_with("VmSize:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((limit, (limit - vm_kb * 1024.0).max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::{Dataset, Inputs};
    use critlab_core::RunSpec;

    fn spec(f: impl FnOnce(&mut RunSpec)) -> ValidRunSpec {
        let mut s = RunSpec::default();
        f(&mut s);
        s.validate().unwrap()
    }

    #[test]
    fn task_shape_matches_the_generated_task() {
        for s in [
            spec(|s| s.p = 11),
            spec(|s| {
                s.task = TaskKind::SparseParity;
                s.samples = 50
            }),
            spec(|s| {
                s.task = TaskKind::TeacherStudent;
                s.samples = 50
            }),
        ] {
            let d = Dataset::generate(&s);
            let shape = match d.inputs {
                Inputs::Tokens { vocab, positions, .. } => InputShape::Tokens { vocab, positions },
                Inputs::Dense { dim, .. } => InputShape::Dense(dim),
            };
            assert_eq!(task_shape(&s), (shape, d.outputs()));
        }
    }

    #[test]
    fn the_issue_runs_are_far_above_a_machine_and_the_default_is_small() {
        let huge = estimate(&[spec(|s| {
            s.p = 99991;
            s.width = 32
        })]);
        assert!(huge.data > 1e11, "{huge}");
        let wide = estimate(&[spec(|s| s.width = 100_000_000)]);
        assert!(wide.model > 1e12, "{wide}");
        let default = estimate(&[spec(|_| {})]);
        assert!(default.total < 1e9, "{default}");
        // Replicas scale everything but the base.
        let one = estimate(&[spec(|s| s.p = 23)]);
        let four = estimate(&vec![spec(|s| s.p = 23); 4]);
        assert!((four.model - 4.0 * one.model).abs() < 1.0 && (four.activations - 4.0 * one.activations).abs() < 1.0);
    }

    #[test]
    fn limits_parse_and_the_check_names_the_budget() {
        assert_eq!(MemoryLimit::parse("2G").unwrap(), MemoryLimit::Bytes(2.0 * 1024f64.powi(3)));
        assert_eq!(MemoryLimit::parse("512MiB").unwrap(), MemoryLimit::Bytes(512.0 * 1024f64.powi(2)));
        assert_eq!(MemoryLimit::parse("1000").unwrap(), MemoryLimit::Bytes(1000.0));
        assert_eq!(MemoryLimit::parse("50%").unwrap(), MemoryLimit::Fraction(0.5));
        for bad in ["", "nan", "-1G", "0", "2X", "150%", "inf", "0%"] {
            assert!(MemoryLimit::parse(bad).is_err(), "{bad}");
        }
        let b = Budget::new(Some(MemoryLimit::Bytes(1e6)));
        let e = b.check("the run", &estimate(&[spec(|_| {})])).unwrap_err().to_string();
        assert!(e.contains("the run") && e.contains("--max-memory") && e.contains("MiB"), "{e}");
        assert!(Budget::new(None).limit > 0.0);
    }
}
