//! The run specification: every hyperparameter of one training run, its defaults, its
//! validation and its stable hash.
//!
//! A `RunSpec` is what a user writes (a TOML file whose keys are the long flag names of
//! `critlab train`, kebab-case) and what the store saves as JSON. [`RunSpec::validate`] turns
//! it into a [`ValidRunSpec`], the only form the trainer accepts.
use crate::control::Controller;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};
use std::fmt;

/// What is learned: the generated task (no downloads; every task is built from its seed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TaskKind {
    /// (a + b) mod p over all p² pairs.
    ModularAddition,
    /// (a − b) mod p over all p² pairs.
    ModularSubtraction,
    /// (a · b) mod p over all p² pairs.
    ModularMultiplication,
    /// (a · b⁻¹) mod p over the p(p−1) pairs with b ≠ 0 (p must be prime).
    ModularDivision,
    /// (a² + ab + b²) mod p over all p² pairs.
    ModularQuadratic,
    /// Sparse parity: n random ±1 bits, the label is the parity of k fixed relevant bits.
    SparseParity,
    /// Teacher–student regression: y = teacher(x) + noise, with a random one-hidden-layer
    /// tanh teacher; the order parameter is R² on held-out inputs.
    TeacherStudent,
}

impl TaskKind {
    /// Whether the task is one of the modular-arithmetic tasks (token inputs a, b).
    pub fn is_modular(self) -> bool {
        matches!(
            self,
            TaskKind::ModularAddition
                | TaskKind::ModularSubtraction
                | TaskKind::ModularMultiplication
                | TaskKind::ModularDivision
                | TaskKind::ModularQuadratic
        )
    }

    /// Whether the task is a regression (real-valued target) rather than a classification.
    pub fn is_regression(self) -> bool {
        self == TaskKind::TeacherStudent
    }
}

/// The network that learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ModelKind {
    /// A multilayer perceptron with `depth` hidden layers of `width` units.
    Mlp,
    /// The one-layer transformer of Nanda et al. 2023 ("Progress measures for grokking via
    /// mechanistic interpretability"): tokens a, b, '='; no LayerNorm; read-out at '='.
    Transformer,
}

/// Hidden activation of the MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Activation {
    /// max(0, x): positively homogeneous of degree 1.
    Relu,
    /// x²: homogeneous of degree 2.
    Quadratic,
    /// The exact (erf) GELU.
    Gelu,
    /// tanh(x).
    Tanh,
    /// The identity (a deep linear network).
    Linear,
}

/// How modular-arithmetic tokens enter the MLP.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputEncoding {
    /// Concatenated one-hot vectors of a and b (2p inputs), computed as an embedding lookup
    /// into the first layer's weight rows (mathematically identical, ~3x cheaper).
    OneHot,
    /// A learned embedding of size `embed-dim` shared by a and b, concatenated.
    Embedding,
}

/// Training loss.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum LossKind {
    /// Softmax cross-entropy (classification tasks).
    CrossEntropy,
    /// Mean squared error, averaged over outputs and examples as PyTorch's `MSELoss`; for
    /// classification the target is the one-hot label (as in Omnigrok).
    Mse,
}

/// Optimizer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum OptimizerKind {
    /// Stochastic gradient descent with (heavy-ball, PyTorch-style) momentum.
    Sgd,
    /// Adam (Kingma & Ba 2015); weight decay coupled into the gradient by default.
    Adam,
    /// AdamW (Loshchilov & Hutter 2019); weight decay decoupled by default.
    Adamw,
}

/// How weight decay λ enters the update.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum WeightDecayMode {
    /// Decoupled for AdamW, coupled for SGD and Adam.
    Auto,
    /// Added to the gradient: g ← g + λθ (L2 regularisation).
    Coupled,
    /// Applied to the parameters: θ ← θ − ηλθ, outside the adaptive scaling.
    Decoupled,
}

/// Batch size B: the whole training set, or a fixed number of examples per step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchSize {
    /// Full-batch training (B = N_train).
    Full,
    /// Minibatches of this many examples, reshuffled every epoch.
    Examples(usize),
}

impl Serialize for BatchSize {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            BatchSize::Full => s.serialize_str("full"),
            BatchSize::Examples(n) => s.serialize_u64(*n as u64),
        }
    }
}

impl<'de> Deserialize<'de> for BatchSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = BatchSize;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("\"full\" or a positive number of examples")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<BatchSize, E> {
                BatchSize::parse(v).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<BatchSize, E> {
                Ok(BatchSize::Examples(v as usize))
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<BatchSize, E> {
                if v < 0 {
                    return Err(E::custom(format!("batch size {v} is negative")));
                }
                Ok(BatchSize::Examples(v as usize))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<BatchSize, E> {
                if v >= 0.0 && v.fract() == 0.0 {
                    Ok(BatchSize::Examples(v as usize))
                } else {
                    Err(E::custom(format!("batch size {v} is not a whole number")))
                }
            }
        }
        d.deserialize_any(V)
    }
}

impl BatchSize {
    /// Parses `full` or a number.
    pub fn parse(s: &str) -> Result<Self, String> {
        if s.eq_ignore_ascii_case("full") {
            return Ok(BatchSize::Full);
        }
        s.parse::<usize>()
            .map(BatchSize::Examples)
            .map_err(|_| format!("batch size '{s}' is neither 'full' nor a whole number"))
    }
}

impl fmt::Display for BatchSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BatchSize::Full => f.write_str("full"),
            BatchSize::Examples(n) => write!(f, "{n}"),
        }
    }
}

/// Every hyperparameter of one run. Keys are kebab-case and equal to the long flags of
/// `critlab train`; unknown keys are rejected. Defaults are given per field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct RunSpec {
    /// The task (default `modular-addition`).
    pub task: TaskKind,
    /// Modulus p of the modular tasks, the system size L of finite-size scaling (default 97).
    pub p: usize,
    /// Training fraction f of the task's examples (default 0.5); the rest is the test set.
    pub train_frac: f64,
    /// Number of bits n of sparse parity (default 30).
    pub parity_bits: usize,
    /// Number of relevant bits k of sparse parity (default 3).
    pub parity_k: usize,
    /// Number of generated examples N of sparse parity and teacher–student (default 2000).
    pub samples: usize,
    /// Input dimension of teacher–student regression (default 16).
    pub input_dim: usize,
    /// Hidden width of the random teacher (default 32); 0 means a linear teacher
    /// y = w*·x with w* ~ N(0, I/d) (Levi, Beck, Bar-Sinai 2024, "Grokking in linear estimators").
    pub teacher_width: usize,
    /// Standard deviation of the label noise of teacher–student regression (default 0.1).
    pub noise: f64,
    /// The model (default `mlp`).
    pub model: ModelKind,
    /// Hidden layers of the MLP (default 1); 0 is a linear model (inputs straight to the
    /// read-out), the linear student of Levi et al. 2024.
    pub depth: usize,
    /// Hidden width of the MLP, the other system size L (default 128).
    pub width: usize,
    /// Hidden activation of the MLP (default `relu`).
    pub activation: Activation,
    /// Input encoding of modular tokens for the MLP (default `one-hot`).
    pub input: InputEncoding,
    /// Embedding size when `input = "embedding"` (default 128).
    pub embed_dim: usize,
    /// Whether MLP layers have biases (default true).
    pub bias: bool,
    /// Multiplier α on every initial weight (Omnigrok's init scale; default 1.0).
    pub init_scale: f64,
    /// Transformer residual width (default 128, Nanda et al.).
    pub d_model: usize,
    /// Transformer attention heads (default 4).
    pub heads: usize,
    /// Transformer MLP width (default 512).
    pub d_mlp: usize,
    /// Loss (default `cross-entropy`; teacher–student always uses `mse`, and validation
    /// sets it so).
    pub loss: LossKind,
    /// Optimizer (default `adamw`).
    pub optimizer: OptimizerKind,
    /// Learning rate η (default 1e-3).
    pub lr: f64,
    /// Weight decay λ (default 0).
    pub weight_decay: f64,
    /// Coupled or decoupled weight decay (default `auto`: decoupled for AdamW only).
    pub weight_decay_mode: WeightDecayMode,
    /// SGD momentum μ (default 0).
    pub momentum: f64,
    /// Adam β₁ (default 0.9).
    pub beta1: f64,
    /// Adam β₂ (default 0.999, PyTorch's).
    pub beta2: f64,
    /// Adam ε (default 1e-8).
    pub eps: f64,
    /// Linear learning-rate warmup over this many steps (default 0: none).
    pub warmup_steps: usize,
    /// Batch size B (default `full`).
    pub batch_size: BatchSize,
    /// Training duration τ in optimizer steps (default 1000).
    pub steps: usize,
    /// Probe cadence: observables are measured every this many steps and at the last step
    /// (default 100).
    pub eval_every: usize,
    /// Seed of the initialisation and of minibatch order (default 0).
    pub seed: u64,
    /// Seed of the data: task generation and the train/test split (default: equal to `seed`).
    pub data_seed: Option<u64>,
    /// Small batch of the two-batch gradient-noise estimator (default: B for minibatch
    /// training, max(2, N_train/10) for full batch).
    pub noise_batch: Option<usize>,
    /// Test examples used for the representation's effective rank (default 512).
    pub repr_samples: usize,
    /// Also store every neuron's Noether charge (`charge_rescale/<layer>/n<j>`,
    /// `charge_translation/r<j>`), not only the per-layer aggregates (default false).
    pub neuron_charges: bool,
    /// Loss explosion: a run whose training loss exceeds this factor times its initial loss
    /// (step 0) is `diverged`, as is one whose loss or weights are not finite (default 1000;
    /// 0 turns the factor rule off; otherwise > 1). Left out of the stored spec (and its hash)
    /// at its default, so runs stored before it existed keep their identity.
    #[serde(skip_serializing_if = "is_default_divergence_factor")]
    pub divergence_factor: f64,
    /// Regression accuracy: the fraction of examples whose squared error (ŷ − y)² is below ε
    /// (Levi et al. 2024), stored as `train_acc` and `test_acc` (default: none; accuracy is
    /// then recorded for classification only). Regression tasks only. Left out of the spec's
    /// JSON (and hash) when unset, so runs from before the key keep their identity.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub accuracy_threshold: Option<f64>,
    /// Adaptive controller of η, B, λ or the gradient ([`Controller`]; default none): a name
    /// (`"grokfast"`) or a table with its parameters. Per replica, like `lr`. Left out of the
    /// spec's JSON (and hash) when none.
    #[serde(skip_serializing_if = "Controller::is_none", deserialize_with = "Controller::deserialize_flexible")]
    pub controller: Controller,
    /// Sharpness cadence: the top eigenvalues of the training loss's Hessian are measured every
    /// this many steps and at the last step (docs/theory.md §11; default: none, off). A multiple of
    /// `eval-every`. Left out of the spec's JSON (and hash) when off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpness_every: Option<usize>,
    /// How many of the Hessian's top eigenvalues the sharpness probe measures, k (default 1);
    /// at most the parameter count. Left out of the spec's JSON (and hash) at its default.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpness_top: Option<usize>,
    /// Training examples of the sharpness probe's loss: a fixed subset of this many, drawn once
    /// per run from its seed (default: the whole training set). Left out of the spec's JSON
    /// (and hash) when unset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sharpness_examples: Option<usize>,
}

/// The default loss-explosion factor ([`RunSpec::divergence_factor`]).
pub const DEFAULT_DIVERGENCE_FACTOR: f64 = 1000.0;

fn is_default_divergence_factor(v: &f64) -> bool {
    *v == DEFAULT_DIVERGENCE_FACTOR
}

impl Default for RunSpec {
    fn default() -> Self {
        Self {
            task: TaskKind::ModularAddition,
            p: 97,
            train_frac: 0.5,
            parity_bits: 30,
            parity_k: 3,
            samples: 2000,
            input_dim: 16,
            teacher_width: 32,
            noise: 0.1,
            model: ModelKind::Mlp,
            depth: 1,
            width: 128,
            activation: Activation::Relu,
            input: InputEncoding::OneHot,
            embed_dim: 128,
            bias: true,
            init_scale: 1.0,
            d_model: 128,
            heads: 4,
            d_mlp: 512,
            loss: LossKind::CrossEntropy,
            optimizer: OptimizerKind::Adamw,
            lr: 1e-3,
            weight_decay: 0.0,
            weight_decay_mode: WeightDecayMode::Auto,
            momentum: 0.0,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            warmup_steps: 0,
            batch_size: BatchSize::Full,
            steps: 1000,
            eval_every: 100,
            seed: 0,
            data_seed: None,
            noise_batch: None,
            repr_samples: 512,
            neuron_charges: false,
            divergence_factor: DEFAULT_DIVERGENCE_FACTOR,
            accuracy_threshold: None,
            controller: Controller::None,
            sharpness_every: None,
            sharpness_top: None,
            sharpness_examples: None,
        }
    }
}

/// One broken rule of a run spec; each names the offending key.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SpecError {
    /// A key could not be parsed (unknown key, wrong type); `line` is 1-based when known.
    #[error("{source_name}{}: {message}", line.map(|l| format!(", line {l}")).unwrap_or_default())]
    Parse {
        /// Where the spec came from (a file path or "flags").
        source_name: String,
        /// Line of the offending key, when known.
        line: Option<usize>,
        /// The parser's message, which names the key.
        message: String,
    },
    /// A number that must be positive is not.
    #[error("`{key}` must be positive, got {value}")]
    NotPositive {
        /// The key.
        key: &'static str,
        /// Its value.
        value: f64,
    },
    /// A number outside its allowed range.
    #[error("`{key}` = {value} is outside {range}")]
    OutOfRange {
        /// The key.
        key: &'static str,
        /// Its value.
        value: f64,
        /// The allowed range, in words.
        range: &'static str,
    },
    /// A non-finite number.
    #[error("`{key}` is not a finite number")]
    NotFinite {
        /// The key.
        key: &'static str,
    },
    /// The batch is larger than the training set.
    #[error("`batch-size` = {batch} is larger than the training set ({n_train} examples)")]
    BatchTooLarge {
        /// Requested batch size.
        batch: usize,
        /// Training-set size implied by the task and `train-frac`.
        n_train: usize,
    },
    /// The split leaves no training or no test example.
    #[error("`train-frac` = {train_frac} leaves {n_train} training and {n_test} test examples out of {n_total}; both must be at least 1")]
    EmptySplit {
        /// The training fraction.
        train_frac: f64,
        /// Training examples.
        n_train: usize,
        /// Test examples.
        n_test: usize,
        /// All examples.
        n_total: usize,
    },
    /// Two settings that cannot go together.
    #[error("`{key}`: {reason}")]
    Incompatible {
        /// The key at fault.
        key: &'static str,
        /// Why.
        reason: String,
    },
}

impl SpecError {
    /// The spec key a broken rule is about, where it names one.
    pub fn key(&self) -> Option<&'static str> {
        match self {
            SpecError::NotPositive { key, .. }
            | SpecError::OutOfRange { key, .. }
            | SpecError::NotFinite { key }
            | SpecError::Incompatible { key, .. } => Some(key),
            SpecError::BatchTooLarge { .. } => Some("batch-size"),
            SpecError::EmptySplit { .. } => Some("train-frac"),
            _ => None,
        }
    }
}

/// A run spec that passed validation; the trainer accepts nothing else.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ValidRunSpec(RunSpec);

impl std::ops::Deref for ValidRunSpec {
    type Target = RunSpec;
    fn deref(&self) -> &RunSpec {
        &self.0
    }
}

impl ValidRunSpec {
    /// The validated spec.
    pub fn spec(&self) -> &RunSpec {
        &self.0
    }

    /// Size of the training set N_train.
    pub fn n_train(&self) -> usize {
        split_sizes(self.n_total(), self.train_frac).0
    }

    /// Size of the test set.
    pub fn n_test(&self) -> usize {
        split_sizes(self.n_total(), self.train_frac).1
    }

    /// Effective batch size B (N_train for full batch).
    pub fn batch(&self) -> usize {
        match self.batch_size {
            BatchSize::Full => self.n_train(),
            BatchSize::Examples(b) => b,
        }
    }

    /// Small batch of the two-batch noise estimator.
    pub fn noise_batch(&self) -> usize {
        let n = self.n_train();
        let b = self.noise_batch.unwrap_or(match self.batch_size {
            BatchSize::Full => (n / 10).max(2),
            BatchSize::Examples(b) => b,
        });
        b.clamp(1, n.saturating_sub(1).max(1))
    }

    /// Whether weight decay is decoupled from the gradient.
    pub fn decoupled_weight_decay(&self) -> bool {
        match self.weight_decay_mode {
            WeightDecayMode::Coupled => false,
            WeightDecayMode::Decoupled => true,
            WeightDecayMode::Auto => self.optimizer == OptimizerKind::Adamw,
        }
    }

    /// The loss actually used (teacher–student regression always trains on MSE).
    pub fn effective_loss(&self) -> LossKind {
        if self.task.is_regression() {
            LossKind::Mse
        } else {
            self.loss
        }
    }

    /// Seed of the data split.
    pub fn data_seed(&self) -> u64 {
        self.data_seed.unwrap_or(self.seed)
    }

    /// k, the number of top Hessian eigenvalues the sharpness probe measures (default 1).
    pub fn sharpness_top(&self) -> usize {
        self.sharpness_top.unwrap_or(1)
    }

    /// Whether step `t` (an eval step) measures the sharpness: every `sharpness-every` steps
    /// and at the last step, when the probe is on.
    pub fn sharpness_due(&self, t: usize) -> bool {
        self.sharpness_every.is_some_and(|e| t % e == 0 || t == self.steps)
    }
}

/// Train and test sizes for `n_total` examples and training fraction `f`: N_train = round(f·N).
pub fn split_sizes(n_total: usize, f: f64) -> (usize, usize) {
    let n_train = ((n_total as f64) * f).round() as usize;
    let n_train = n_train.min(n_total);
    (n_train, n_total - n_train)
}

impl RunSpec {
    /// Parses a TOML run config; errors carry the line and name the offending key.
    pub fn from_toml_str(text: &str, source_name: &str) -> Result<Self, SpecError> {
        toml::from_str(text).map_err(|e| toml_error(&e, text, source_name))
    }

    /// Every key of a spec (the long flags of `critlab train`), in declaration order.
    pub fn keys() -> Vec<String> {
        let mut keys: Vec<String> = match serde_json::to_value(RunSpec::default()) {
            Ok(serde_json::Value::Object(o)) => o.keys().cloned().collect(),
            _ => unreachable!("a run spec serializes to an object"),
        };
        // Left out of the JSON at its default.
        keys.push("divergence-factor".into());
        keys.push("accuracy-threshold".into());
        keys.push("controller".into());
        keys.extend(["sharpness-every", "sharpness-top", "sharpness-examples"].map(String::from));
        keys
    }

    /// Number of examples the task generates.
    pub fn n_total(&self) -> usize {
        match self.task {
            TaskKind::ModularDivision => self.p.saturating_mul(self.p.saturating_sub(1)),
            t if t.is_modular() => self.p.saturating_mul(self.p),
            _ => self.samples,
        }
    }

    /// Refuses a non-finite number (`lr = nan`, `1e400`), naming its key.
    pub fn check_finite(&self) -> Result<(), SpecError> {
        let finite = [
            ("train-frac", self.train_frac),
            ("noise", self.noise),
            ("init-scale", self.init_scale),
            ("lr", self.lr),
            ("weight-decay", self.weight_decay),
            ("momentum", self.momentum),
            ("beta1", self.beta1),
            ("beta2", self.beta2),
            ("eps", self.eps),
            ("divergence-factor", self.divergence_factor),
        ];
        for (key, v) in finite.into_iter().chain(self.controller.numbers()) {
            if !v.is_finite() {
                return Err(SpecError::NotFinite { key });
            }
        }
        Ok(())
    }

    /// Validates every rule once, returning the first broken one.
    pub fn validate(mut self) -> Result<ValidRunSpec, SpecError> {
        // Teacher–student regression always trains on MSE: store what is trained, so one
        // run has one spec and one hash whatever `loss` said.
        if self.task.is_regression() {
            self.loss = LossKind::Mse;
        }
        self.check_finite()?;
        let positive = [
            ("lr", self.lr),
            ("init-scale", self.init_scale),
            ("eps", self.eps),
            ("steps", self.steps as f64),
            ("eval-every", self.eval_every as f64),
            ("width", self.width as f64),
            ("embed-dim", self.embed_dim as f64),
            ("d-model", self.d_model as f64),
            ("heads", self.heads as f64),
            ("d-mlp", self.d_mlp as f64),
            ("repr-samples", self.repr_samples as f64),
        ];
        for (key, v) in positive {
            if v <= 0.0 {
                return Err(SpecError::NotPositive { key, value: v });
            }
        }
        let unit = [("momentum", self.momentum), ("beta1", self.beta1), ("beta2", self.beta2)];
        for (key, v) in unit {
            if !(0.0..1.0).contains(&v) {
                return Err(SpecError::OutOfRange { key, value: v, range: "[0, 1)" });
            }
        }
        if !(self.train_frac > 0.0 && self.train_frac < 1.0) {
            return Err(SpecError::OutOfRange { key: "train-frac", value: self.train_frac, range: "(0, 1)" });
        }
        if self.weight_decay < 0.0 {
            return Err(SpecError::OutOfRange { key: "weight-decay", value: self.weight_decay, range: "[0, ∞)" });
        }
        if self.divergence_factor != 0.0 && self.divergence_factor <= 1.0 {
            return Err(SpecError::OutOfRange {
                key: "divergence-factor",
                value: self.divergence_factor,
                range: "0 (off) or (1, ∞)",
            });
        }
        if self.noise < 0.0 {
            return Err(SpecError::OutOfRange { key: "noise", value: self.noise, range: "[0, ∞)" });
        }
        if self.task.is_modular() {
            if self.p < 2 {
                return Err(SpecError::OutOfRange { key: "p", value: self.p as f64, range: "[2, ∞)" });
            }
            if self.task == TaskKind::ModularDivision && !is_prime(self.p) {
                return Err(SpecError::Incompatible {
                    key: "p",
                    reason: format!("modular-division needs a prime modulus, {} is not prime", self.p),
                });
            }
        } else {
            if self.samples < 2 {
                return Err(SpecError::OutOfRange { key: "samples", value: self.samples as f64, range: "[2, ∞)" });
            }
            if self.model == ModelKind::Transformer {
                return Err(SpecError::Incompatible {
                    key: "model",
                    reason: "the transformer reads modular tokens a, b; use model = \"mlp\" for this task".into(),
                });
            }
        }
        if self.task == TaskKind::SparseParity {
            if self.parity_bits == 0 || self.parity_bits > 64 {
                return Err(SpecError::OutOfRange {
                    key: "parity-bits",
                    value: self.parity_bits as f64,
                    range: "[1, 64]",
                });
            }
            if self.parity_k == 0 || self.parity_k > self.parity_bits {
                return Err(SpecError::OutOfRange {
                    key: "parity-k",
                    value: self.parity_k as f64,
                    range: "[1, parity-bits]",
                });
            }
        }
        if self.task == TaskKind::TeacherStudent && self.input_dim == 0 {
            return Err(SpecError::NotPositive { key: "input-dim", value: 0.0 });
        }
        if let Some(eps) = self.accuracy_threshold {
            if !eps.is_finite() {
                return Err(SpecError::NotFinite { key: "accuracy-threshold" });
            }
            if eps <= 0.0 {
                return Err(SpecError::NotPositive { key: "accuracy-threshold", value: eps });
            }
            if !self.task.is_regression() {
                return Err(SpecError::Incompatible {
                    key: "accuracy-threshold",
                    reason: "a squared-error threshold defines accuracy for regression tasks only; classification accuracy is the arg-max".into(),
                });
            }
        }
        if self.model == ModelKind::Transformer && self.d_model % self.heads != 0 {
            return Err(SpecError::Incompatible {
                key: "heads",
                reason: format!("d-model {} is not divisible by {} heads", self.d_model, self.heads),
            });
        }
        let (n_train, n_test) = split_sizes(self.n_total(), self.train_frac);
        if n_train == 0 || n_test == 0 {
            return Err(SpecError::EmptySplit {
                train_frac: self.train_frac,
                n_train,
                n_test,
                n_total: self.n_total(),
            });
        }
        if let BatchSize::Examples(b) = self.batch_size {
            if b == 0 {
                return Err(SpecError::NotPositive { key: "batch-size", value: 0.0 });
            }
            if b > n_train {
                return Err(SpecError::BatchTooLarge { batch: b, n_train });
            }
        }
        if let Some(b) = self.noise_batch {
            if b == 0 || b >= n_train {
                return Err(SpecError::OutOfRange { key: "noise-batch", value: b as f64, range: "[1, N_train − 1]" });
            }
        }
        self.validate_sharpness(n_train)?;
        let batch = match self.batch_size {
            BatchSize::Full => n_train,
            BatchSize::Examples(b) => b,
        };
        self.controller.validate(n_train, batch, self.lr, self.weight_decay)?;
        Ok(ValidRunSpec(self))
    }

    /// The sharpness keys: a cadence ≥ 1 and a multiple of `eval-every`, k ≥ 1 (its bound, the
    /// parameter count, is checked where the model is known: `critlab_train::curvature::check`),
    /// a probe subset of 1 to N_train examples, and k or a subset only with a cadence.
    fn validate_sharpness(&self, n_train: usize) -> Result<(), SpecError> {
        let Some(every) = self.sharpness_every else {
            for (key, set) in [
                ("sharpness-top", self.sharpness_top.is_some()),
                ("sharpness-examples", self.sharpness_examples.is_some()),
            ] {
                if set {
                    return Err(SpecError::Incompatible {
                        key,
                        reason: "set `sharpness-every` to measure the sharpness".into(),
                    });
                }
            }
            return Ok(());
        };
        if every == 0 {
            return Err(SpecError::NotPositive { key: "sharpness-every", value: 0.0 });
        }
        if every % self.eval_every != 0 {
            return Err(SpecError::Incompatible {
                key: "sharpness-every",
                reason: format!(
                    "{every} is not a multiple of `eval-every` = {} (the sharpness is measured at eval steps)",
                    self.eval_every
                ),
            });
        }
        if self.sharpness_top == Some(0) {
            return Err(SpecError::NotPositive { key: "sharpness-top", value: 0.0 });
        }
        if let Some(n) = self.sharpness_examples {
            if n == 0 || n > n_train {
                return Err(SpecError::OutOfRange {
                    key: "sharpness-examples",
                    value: n as f64,
                    range: "[1, N_train]",
                });
            }
        }
        Ok(())
    }

    /// The spec as canonical JSON (fields in declaration order), as stored with each run.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a RunSpec always serializes")
    }

    /// The spec as a key without the fields `without` (kebab-case names; see [`spec_key`]).
    pub fn key_without(&self, without: &[&str]) -> String {
        spec_key(&serde_json::to_value(self).expect("a RunSpec always serializes"), without)
    }

    /// Stable hash of the resolved spec: the first 16 hex digits of SHA-256 of its canonical
    /// JSON. Runs with equal hashes are the same experiment (same seed included).
    pub fn hash(&self) -> String {
        let digest = Sha256::digest(self.to_json().as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }
}

/// Turns a TOML error into a [`SpecError::Parse`] with a 1-based line number.
pub fn toml_error(e: &toml::de::Error, text: &str, source_name: &str) -> SpecError {
    let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
    SpecError::Parse { source_name: source_name.to_string(), line, message: e.message().to_string() }
}

fn is_prime(n: usize) -> bool {
    n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
}

/// Spec fields that tell replicas of one grid point apart: a run's cell of the phase diagram
/// is its spec without them.
pub const SEED_FIELDS: &[&str] = &["seed", "data-seed"];

/// Spec fields left out of a run's *class* (what the norm-delay law of grokking is calibrated
/// over: the data, task and model, not the seeds, η or λ).
pub const NOT_CLASS_FIELDS: &[&str] = &["seed", "data-seed", "lr", "weight-decay"];

/// A stored spec (a JSON object, as [`RunSpec::to_json`] writes it) as a key without the
/// fields `without`; two runs share the key when they agree on every other field.
pub fn spec_key(spec: &serde_json::Value, without: &[&str]) -> String {
    let mut spec = spec.clone();
    if let Some(map) = spec.as_object_mut() {
        for k in without {
            map.remove(*k);
        }
    }
    spec.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_validate() {
        let v = RunSpec::default().validate().unwrap();
        assert_eq!(v.n_train() + v.n_test(), 97 * 97);
        assert_eq!(v.batch(), v.n_train());
        assert!(v.decoupled_weight_decay());
    }

    #[test]
    fn toml_keys_are_flag_names_and_unknown_keys_are_named_with_line() {
        let s = RunSpec::from_toml_str("p = 23\nweight-decay = 1.0\nbatch-size = 64\n", "run.toml").unwrap();
        assert_eq!(s.p, 23);
        assert_eq!(s.weight_decay, 1.0);
        assert_eq!(s.batch_size, BatchSize::Examples(64));
        let e = RunSpec::from_toml_str("p = 23\nwieght-decay = 1.0\n", "run.toml").unwrap_err();
        let msg = e.to_string();
        assert!(msg.contains("wieght-decay"), "{msg}");
        assert!(msg.contains("line 2"), "{msg}");
        assert!(msg.contains("run.toml"), "{msg}");
    }

    #[test]
    fn impossible_hyperparameters_are_rejected_by_key() {
        let bad = |f: fn(&mut RunSpec)| {
            let mut s = RunSpec::default();
            f(&mut s);
            s.validate().unwrap_err().to_string()
        };
        assert!(bad(|s| s.lr = -1.0).contains("`lr`"));
        assert!(bad(|s| s.train_frac = 1.5).contains("`train-frac`"));
        assert!(bad(|s| s.batch_size = BatchSize::Examples(100_000)).contains("`batch-size`"));
        assert!(bad(|s| s.lr = f64::NAN).contains("`lr`"));
        assert!(bad(|s| {
            s.task = TaskKind::ModularDivision;
            s.p = 96
        })
        .contains("prime"));
        assert!(bad(|s| s.beta2 = 1.0).contains("`beta2`"));
    }

    /// Regression: teacher–student trained on MSE but stored `loss = cross-entropy`, so one
    /// run had two hashes.
    #[test]
    fn teacher_student_stores_the_loss_it_trains_on() {
        let ts = |loss| RunSpec { task: TaskKind::TeacherStudent, loss, ..RunSpec::default() }.validate().unwrap();
        let (a, b) = (ts(LossKind::CrossEntropy), ts(LossKind::Mse));
        assert_eq!(a.loss, LossKind::Mse);
        assert_eq!(a.hash(), b.hash());
    }

    /// The sharpness keys are checked by key and left out of the hash when off.
    #[test]
    fn sharpness_keys_are_checked_and_keep_default_hashes() {
        assert!(!RunSpec::default().to_json().contains("sharpness"));
        let with = |f: fn(&mut RunSpec)| {
            let mut s = RunSpec { eval_every: 10, ..RunSpec::default() };
            f(&mut s);
            s.validate()
        };
        let bad = |f: fn(&mut RunSpec)| with(f).unwrap_err().to_string();
        assert!(bad(|s| s.sharpness_every = Some(0)).contains("`sharpness-every` must be positive"));
        assert!(bad(|s| s.sharpness_every = Some(15)).contains("multiple of `eval-every`"));
        assert!(bad(|s| {
            s.sharpness_every = Some(10);
            s.sharpness_top = Some(0)
        })
        .contains("`sharpness-top`"));
        assert!(bad(|s| s.sharpness_top = Some(3)).contains("set `sharpness-every`"));
        assert!(bad(|s| {
            s.sharpness_every = Some(10);
            s.sharpness_examples = Some(1_000_000)
        })
        .contains("`sharpness-examples`"));
        let ok = with(|s| {
            s.sharpness_every = Some(20);
            s.sharpness_top = Some(3)
        })
        .unwrap();
        assert_eq!(ok.sharpness_top(), 3);
        assert!(ok.sharpness_due(0) && ok.sharpness_due(40) && !ok.sharpness_due(30) && ok.sharpness_due(ok.steps));
        assert_ne!(ok.hash(), with(|_| {}).unwrap().hash());
    }

    /// The loss-explosion factor is validated and left out of the hash at its default.
    #[test]
    fn divergence_factor_is_checked_and_keeps_default_hashes() {
        let json = RunSpec::default().to_json();
        assert!(!json.contains("divergence-factor"), "{json}");
        let s = RunSpec { divergence_factor: 50.0, ..RunSpec::default() };
        assert!(s.to_json().contains("\"divergence-factor\":50.0"));
        assert_ne!(s.hash(), RunSpec::default().hash());
        for bad in [0.5, 1.0, -2.0, f64::NAN, f64::INFINITY] {
            let e = RunSpec { divergence_factor: bad, ..RunSpec::default() }.validate().unwrap_err().to_string();
            assert!(e.contains("divergence-factor"), "{bad}: {e}");
        }
        RunSpec { divergence_factor: 0.0, ..RunSpec::default() }.validate().unwrap();
        assert!(RunSpec::keys().contains(&"divergence-factor".to_string()));
    }

    #[test]
    fn hash_is_stable_and_sensitive() {
        let a = RunSpec::default();
        let mut b = RunSpec::default();
        assert_eq!(a.hash(), b.hash());
        b.seed = 1;
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash().len(), 16);
    }

    #[test]
    fn linear_estimator_keys_validate_and_keep_old_hashes() {
        // Adding `accuracy-threshold` must not change the identity of runs stored before it.
        assert!(!RunSpec::default().to_json().contains("accuracy-threshold"));
        let s = RunSpec::from_toml_str(
            "task = \"teacher-student\"\nteacher-width = 0\ndepth = 0\naccuracy-threshold = 1e-3\n",
            "le.toml",
        )
        .unwrap();
        assert_eq!((s.teacher_width, s.depth, s.accuracy_threshold), (0, 0, Some(1e-3)));
        assert!(s.to_json().contains("\"accuracy-threshold\":0.001"));
        s.clone().validate().unwrap();
        let bad = |f: fn(&mut RunSpec)| {
            let mut t = s.clone();
            f(&mut t);
            t.validate().unwrap_err().to_string()
        };
        assert!(bad(|t| t.accuracy_threshold = Some(0.0)).contains("`accuracy-threshold`"));
        assert!(bad(|t| t.accuracy_threshold = Some(f64::NAN)).contains("`accuracy-threshold`"));
        assert!(bad(|t| t.task = TaskKind::ModularAddition).contains("regression tasks only"));
        assert!(bad(|t| t.input_dim = 0).contains("`input-dim`"));
    }

    #[test]
    fn batch_size_parses_full_and_numbers() {
        assert_eq!(BatchSize::parse("full").unwrap(), BatchSize::Full);
        assert_eq!(BatchSize::parse("32").unwrap(), BatchSize::Examples(32));
        assert!(BatchSize::parse("lots").is_err());
    }

    /// The class key of a spec in memory (the sweep's stop rule) equals that of the same spec
    /// read back from the store (`analyze predict`), and ignores seeds, η and λ only.
    #[test]
    fn class_keys_agree_between_a_spec_and_its_stored_json() {
        let a = RunSpec { seed: 3, lr: 0.03, weight_decay: 1.0, ..RunSpec::default() };
        let stored: serde_json::Value = serde_json::from_str(&a.to_json()).unwrap();
        assert_eq!(a.key_without(NOT_CLASS_FIELDS), spec_key(&stored, NOT_CLASS_FIELDS));
        let b = RunSpec { seed: 4, lr: 0.01, weight_decay: 0.1, ..RunSpec::default() };
        assert_eq!(a.key_without(NOT_CLASS_FIELDS), b.key_without(NOT_CLASS_FIELDS));
        assert_ne!(a.key_without(SEED_FIELDS), b.key_without(SEED_FIELDS));
        let c = RunSpec { train_frac: 0.7, ..a.clone() };
        assert_ne!(a.key_without(NOT_CLASS_FIELDS), c.key_without(NOT_CLASS_FIELDS));
    }
}
