//! The run flags of `critlab train` and their merge with a `--config` file.
//!
//! Every flag is a key of [`RunSpec`] with the same kebab-case name, so a config file is just
//! the flags written as TOML. Precedence: defaults < config file < flags.
use anyhow::{Context, Result};
use clap::Args;
use critlab_core::spec::{
    Activation, BatchSize, InputEncoding, LossKind, ModelKind, OptimizerKind, TaskKind, WeightDecayMode,
};
use critlab_core::{Controller, RunSpec, SpecError, ValidRunSpec};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::path::{Path, PathBuf};

/// Parses a kebab-case enum value the way the config file does.
fn choice<T: DeserializeOwned>(s: &str) -> Result<T, String> {
    serde_json::from_value(serde_json::Value::String(s.to_string())).map_err(|e| e.to_string())
}

/// Hyperparameter flags; unset flags leave the config file's (or the default) value.
#[derive(Debug, Clone, Default, Args, Serialize)]
#[serde(rename_all = "kebab-case")]
#[allow(missing_docs)]
pub struct RunArgs {
    /// Task: modular-addition | modular-subtraction | modular-multiplication | modular-division | modular-quadratic | sparse-parity | teacher-student
    #[arg(long, value_parser = choice::<TaskKind>, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskKind>,
    /// Modulus p of modular tasks [default: 97]
    #[arg(long, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub p: Option<usize>,
    /// Training fraction f in (0, 1) [default: 0.5]
    #[arg(long, value_parser = finite, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub train_frac: Option<f64>,
    /// Sparse parity: number of bits n [default: 30]
    #[arg(long, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parity_bits: Option<usize>,
    /// Sparse parity: relevant bits k [default: 3]
    #[arg(long, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parity_k: Option<usize>,
    /// Examples generated for sparse parity and teacher–student [default: 2000]
    #[arg(long, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub samples: Option<usize>,
    /// Teacher–student input dimension [default: 16]
    #[arg(long, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input_dim: Option<usize>,
    /// Teacher hidden width [default: 32]
    #[arg(long, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub teacher_width: Option<usize>,
    /// Teacher–student label noise σ [default: 0.1]
    #[arg(long, value_parser = finite, help_heading = "Task")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise: Option<f64>,
    /// Model: mlp | transformer [default: mlp]
    #[arg(long, value_parser = choice::<ModelKind>, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<ModelKind>,
    /// MLP hidden layers [default: 1]
    #[arg(long, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub depth: Option<usize>,
    /// MLP hidden width [default: 128]
    #[arg(long, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub width: Option<usize>,
    /// Activation: relu | quadratic | gelu | tanh | linear [default: relu]
    #[arg(long, value_parser = choice::<Activation>, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activation: Option<Activation>,
    /// Modular input encoding: one-hot | embedding [default: one-hot]
    #[arg(long, value_parser = choice::<InputEncoding>, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub input: Option<InputEncoding>,
    /// Embedding size for --input embedding [default: 128]
    #[arg(long, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub embed_dim: Option<usize>,
    /// MLP biases: true | false [default: true]
    #[arg(long, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bias: Option<bool>,
    /// Initial-weight multiplier α (Omnigrok) [default: 1.0]
    #[arg(long, value_parser = finite, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub init_scale: Option<f64>,
    /// Transformer residual width [default: 128]
    #[arg(long, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_model: Option<usize>,
    /// Transformer heads [default: 4]
    #[arg(long, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heads: Option<usize>,
    /// Transformer MLP width [default: 512]
    #[arg(long, help_heading = "Model")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub d_mlp: Option<usize>,
    /// Loss: cross-entropy | mse [default: cross-entropy]
    #[arg(long, value_parser = choice::<LossKind>, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loss: Option<LossKind>,
    /// Optimizer: sgd | adam | adamw [default: adamw]
    #[arg(long, value_parser = choice::<OptimizerKind>, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub optimizer: Option<OptimizerKind>,
    /// Learning rate η [default: 1e-3]
    #[arg(long, value_parser = finite, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lr: Option<f64>,
    /// Weight decay λ [default: 0]
    #[arg(long, value_parser = finite, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay: Option<f64>,
    /// Weight decay: auto | coupled | decoupled [default: auto]
    #[arg(long, value_parser = choice::<WeightDecayMode>, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight_decay_mode: Option<WeightDecayMode>,
    /// SGD momentum [default: 0]
    #[arg(long, value_parser = finite, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub momentum: Option<f64>,
    /// Adam β₁ [default: 0.9]
    #[arg(long, value_parser = finite, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta1: Option<f64>,
    /// Adam β₂ [default: 0.999]
    #[arg(long, value_parser = finite, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub beta2: Option<f64>,
    /// Adam ε [default: 1e-8]
    #[arg(long, value_parser = finite, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eps: Option<f64>,
    /// Linear warmup steps [default: 0]
    #[arg(long, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub warmup_steps: Option<usize>,
    /// Batch size: full or a number [default: full]
    #[arg(long, value_parser = BatchSize::parse, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub batch_size: Option<BatchSize>,
    /// Optimizer steps τ [default: 1000]
    #[arg(long, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub steps: Option<usize>,
    /// Probe cadence in steps [default: 100]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eval_every: Option<usize>,
    /// Seed of initialisation and batch order [default: 0]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Seed of the data and split [default: --seed]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_seed: Option<u64>,
    /// Small batch of the gradient-noise estimator [default: B, or N_train/10 for full batch]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub noise_batch: Option<usize>,
    /// Test examples for the representation rank [default: 512]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repr_samples: Option<usize>,
    /// Also store every neuron's Noether charge: true | false [default: false]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub neuron_charges: Option<bool>,
    /// Diverged when the training loss exceeds this factor × its initial loss (0: off) [default: 1000]
    #[arg(long, value_parser = finite, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub divergence_factor: Option<f64>,
    /// Regression accuracy: fraction of examples with squared error below ε [default: none]
    #[arg(long, value_parser = finite, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_threshold: Option<f64>,
    /// Sharpness cadence in steps, a multiple of --eval-every (docs/theory.md §11) [default: off]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpness_every: Option<usize>,
    /// Top Hessian eigenvalues the sharpness probe measures, k [default: 1]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpness_top: Option<usize>,
    /// Training examples of the sharpness probe: a fixed seeded subset [default: all]
    #[arg(long, help_heading = "Measurement")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpness_examples: Option<usize>,
    /// Adaptive controller: none | grokfast | norm | temperature | critical, or an inline table
    /// such as '{ kind = "grokfast", lambda = 5 }' [default: none]
    #[arg(long, value_parser = controller, help_heading = "Optimization")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub controller: Option<Controller>,
}

/// Parses `--controller`: a controller name, or an inline TOML table with its parameters.
fn controller(s: &str) -> Result<Controller, String> {
    #[derive(serde::Deserialize)]
    struct Wrapper {
        #[serde(deserialize_with = "Controller::deserialize_flexible")]
        controller: Controller,
    }
    let value = if s.trim_start().starts_with('{') { s.to_string() } else { format!("{:?}", s.trim()) };
    toml::from_str::<Wrapper>(&format!("controller = {value}"))
        .map(|w| w.controller)
        .map_err(|e| e.message().to_string())
}

/// A spec error, kept typed so the binary can exit 2 with the offending key named.
#[derive(Debug)]
pub struct BadSpec(pub SpecError);

impl std::fmt::Display for BadSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid run spec: {}", self.0)
    }
}

impl std::error::Error for BadSpec {}

/// Resolves defaults < `config` file < flags into a validated spec.
pub fn resolve(config: Option<&Path>, flags: &RunArgs) -> Result<ValidRunSpec> {
    let base = match config {
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
            let spec = RunSpec::from_toml_str(&text, &path.display().to_string()).map_err(BadSpec)?;
            // A non-finite number (`lr = nan`) is named with its key and file here; past this
            // point JSON would turn it into a nameless null.
            spec.check_finite().map_err(|e| {
                BadSpec(SpecError::Parse {
                    source_name: path.display().to_string(),
                    line: None,
                    message: e.to_string(),
                })
            })?;
            spec
        }
        None => RunSpec::default(),
    };
    let set = serde_json::to_value(flags)?;
    overlay(base, flags).map_err(|e| {
        // A broken rule whose key the config file set (and no flag overrode) names the file.
        let key = e.downcast_ref::<BadSpec>().and_then(|b| b.0.key());
        match (config, key) {
            (Some(path), Some(key)) if set.get(key).is_none() => {
                let message = e.to_string();
                anyhow::anyhow!("{}: {message}", path.display())
            }
            _ => e,
        }
    })
}

/// Applies set flags on top of a spec and validates.
pub fn overlay(base: RunSpec, flags: &RunArgs) -> Result<ValidRunSpec> {
    let mut value = serde_json::to_value(&base)?;
    let set = serde_json::to_value(flags)?;
    let obj = value.as_object_mut().expect("a spec is an object");
    for (k, v) in set.as_object().expect("flags are an object") {
        obj.insert(k.clone(), v.clone());
    }
    let spec: RunSpec = serde_json::from_value(value)
        .map_err(|e| BadSpec(SpecError::Parse { source_name: "flags".into(), line: None, message: e.to_string() }))?;
    let spec = spec.validate().map_err(BadSpec)?;
    critlab_train::curvature::check(&spec).map_err(BadSpec)?;
    Ok(spec)
}

/// Value parsers for numeric options: clap names the flag in the error and exits 2, so
/// nonsense (nan, inf, negative or zero where meaningless) never reaches the code.
fn number(s: &str) -> Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|_| format!("`{s}` is not a number"))?;
    if !v.is_finite() {
        return Err(format!("`{s}` is not a finite number"));
    }
    Ok(v)
}

/// Any finite number.
pub fn finite(s: &str) -> Result<f64, String> {
    number(s)
}

/// A finite number > 0.
pub fn positive(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v <= 0.0 {
        return Err(format!("{v} must be positive"));
    }
    Ok(v)
}

/// A finite number ≥ 0.
pub fn non_negative(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if v < 0.0 {
        return Err(format!("{v} must not be negative"));
    }
    Ok(v)
}

/// A fraction in (0, 1].
pub fn fraction(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if !(v > 0.0 && v <= 1.0) {
        return Err(format!("{v} is outside (0, 1]"));
    }
    Ok(v)
}

/// A whole number ≥ N.
pub fn at_least<const N: usize>(s: &str) -> Result<usize, String> {
    let v: usize = s.trim().parse().map_err(|_| format!("`{s}` is not a whole number"))?;
    if v < N {
        return Err(format!("{v} is less than {N}"));
    }
    Ok(v)
}

/// Seconds between 1 ms and one day (a `Duration` of more than about 10¹⁹ s cannot exist).
pub fn seconds(s: &str) -> Result<f64, String> {
    let v = number(s)?;
    if !(0.001..=86_400.0).contains(&v) {
        return Err(format!("{v} s is outside [0.001, 86400] seconds"));
    }
    Ok(v)
}

/// A figure file: FILE.svg or FILE.png (`--plot data.csv` would overwrite a table with SVG,
/// `--plot c.jpg` would hold bytes of another format).
pub fn figure_path(s: &str) -> Result<PathBuf, String> {
    let path = PathBuf::from(s);
    match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
        Some("svg" | "png") => Ok(path),
        _ => Err(format!("`{s}`: figures are written as SVG or PNG; name the file FILE.svg or FILE.png")),
    }
}

/// The memory budget of commands that train or rebuild models.
#[derive(Debug, Clone, Copy, Default, Args)]
pub struct MemoryArg {
    /// Refuse work whose estimated memory is above this: a size (4G, 512M; powers of 1024) or
    /// a share of the available memory (50%) [default: 80% of the smallest of the machine's
    /// memory, the cgroup limit and what `ulimit -v` leaves]
    #[arg(long, value_name = "SIZE", allow_hyphen_values = true, value_parser = critlab_train::budget::MemoryLimit::parse)]
    pub max_memory: Option<critlab_train::budget::MemoryLimit>,
}

impl MemoryArg {
    /// The budget this setting gives.
    pub fn budget(&self) -> critlab_train::budget::Budget {
        critlab_train::budget::Budget::new(self.max_memory)
    }
}

/// `--device`: where the replicas train.
#[derive(Debug, Clone, Args)]
pub struct DeviceArg {
    /// Where to train: cpu (burn's flex backend), an NVIDIA GPU, cuda or cuda:N (a binary built
    /// with `--features cuda`), or wgpu, the adapter burn's wgpu backend picks (a binary built
    /// with `--features wgpu`; Vulkan, Metal or DirectX); the run's backend is stored as
    /// burn-flex, burn-cuda or burn-wgpu
    #[arg(long, default_value = "cpu", value_name = "DEVICE", value_parser = |s: &str| s.parse::<critlab_train::DeviceChoice>().map_err(|e| e.to_string()))]
    pub device: critlab_train::DeviceChoice,
}

impl DeviceArg {
    /// The device, opened and checked; the error names the flag.
    pub fn open(&self) -> Result<critlab_train::device::Device> {
        self.device.open().with_context(|| format!("--device {}", self.device))
    }
}

/// Where the store lives.
#[derive(Debug, Clone, Args)]
pub struct StoreArg {
    /// SQLite store file
    #[arg(long, default_value = critlab_store::DEFAULT_STORE, global = true)]
    pub store: PathBuf,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[derive(clap::Parser)]
    struct Probe {
        #[command(flatten)]
        run: RunArgs,
    }

    #[test]
    fn every_flag_is_a_spec_key_and_every_key_a_flag() {
        let flags: std::collections::BTreeSet<String> =
            Probe::command().get_arguments().filter_map(|a| a.get_long().map(str::to_string)).collect();
        let keys: std::collections::BTreeSet<String> = RunSpec::keys().into_iter().collect();
        assert_eq!(flags, keys);
    }

    #[test]
    fn flags_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("run.toml");
        std::fs::write(&path, "p = 23\nweight-decay = 0.5\n").unwrap();
        let flags = RunArgs { weight_decay: Some(2.0), ..Default::default() };
        let spec = resolve(Some(&path), &flags).unwrap();
        assert_eq!(spec.p, 23);
        assert_eq!(spec.weight_decay, 2.0);
    }
}
