//! Models with a leading replica axis: every parameter is a `[R, rows, cols]` tensor and a
//! forward pass computes all R replicas at once (DESIGN.md, "Replicas are first-class").
//!
//! A model is a pure description: its parameter list (shapes, initialisation, role) and a
//! forward function from parameters and a [`Batch`] to logits and the hidden representation.
//! It holds no tensors; the trainer owns the parameters.
mod mlp;
mod mlp_cpu;
mod transformer;

pub use mlp::Mlp;
pub use transformer::Transformer;

use crate::batch::Batch;
use crate::symmetry::Layer;
use burn::tensor::Tensor;
use critlab_core::{LossKind, ModelKind, ValidRunSpec};

/// How a parameter is initialised (per replica, from the replica's seed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Init {
    /// U(−bound, bound): PyTorch's `nn.Linear` default uses bound = 1/√fan_in for weights
    /// (kaiming-uniform with a = √5) and biases alike.
    Uniform(f64),
    /// N(0, std²): PyTorch's `nn.Embedding` default is std = 1.
    Normal(f64),
    /// All zeros.
    Zeros,
}

/// What a parameter is, for probes (effective ranks) and symmetry detection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A weight matrix (input rows × output columns).
    Weight,
    /// A bias row `[1, cols]`.
    Bias,
    /// An embedding or position table.
    Embedding,
}

/// One parameter of a model.
#[derive(Debug, Clone, PartialEq)]
pub struct ParamSpec {
    /// Name, e.g. `layer0.weight`.
    pub name: String,
    /// Rows (fan-in for weights).
    pub rows: usize,
    /// Columns (fan-out for weights).
    pub cols: usize,
    /// Initialisation.
    pub init: Init,
    /// Role.
    pub role: Role,
}

impl ParamSpec {
    fn linear(name: &str, fan_in: usize, fan_out: usize) -> Self {
        let bound = 1.0 / (fan_in as f64).sqrt();
        Self {
            name: format!("{name}.weight"),
            rows: fan_in,
            cols: fan_out,
            init: Init::Uniform(bound),
            role: Role::Weight,
        }
    }

    fn bias(name: &str, fan_in: usize, fan_out: usize) -> Self {
        let bound = 1.0 / (fan_in as f64).sqrt();
        Self { name: format!("{name}.bias"), rows: 1, cols: fan_out, init: Init::Uniform(bound), role: Role::Bias }
    }

    fn embedding(name: &str, rows: usize, cols: usize) -> Self {
        Self { name: name.to_string(), rows, cols, init: Init::Normal(1.0), role: Role::Embedding }
    }
}

/// The result of a forward pass.
pub struct Forward {
    /// Outputs `[R, n, classes]` (or `[R, n, 1]` for regression).
    pub logits: Tensor<3>,
    /// The last hidden representation `[R, n, hidden]` (MLP: last hidden layer after the
    /// activation; transformer: MLP activations at the '=' position).
    pub hidden: Tensor<3>,
}

/// A replica-batched model.
pub trait Model: Send + Sync {
    /// The parameters, in the order `forward` expects them.
    fn params(&self) -> &[ParamSpec];
    /// Forward pass for all replicas.
    fn forward(&self, params: &[Tensor<3>], batch: &Batch) -> Forward;
    /// The layers as symmetry detection sees them ([`crate::symmetry`]).
    fn layers(&self) -> Vec<Layer>;
    /// Per-replica losses, gradients and logits by a hand-written CPU pass, where the model has
    /// one for this batch and loss on the CPU device (gradient-checked against burn's autodiff
    /// in its tests); `None`: burn's autodiff computes them from [`Model::forward`].
    fn cpu_loss_and_grad(&self, _params: &[Tensor<3>], _batch: &Batch, _loss: LossKind) -> Option<LossAndGrad> {
        None
    }
}

/// Per-replica losses `[R, 1, 1]`, the gradient of every parameter and the logits (none of
/// them tracked by autodiff).
pub type LossAndGrad = (Tensor<3>, Vec<Tensor<3>>, Tensor<3>);

/// Whether hand-written CPU passes may be used: `CRITLAB_BURN_AUTODIFF=1` makes every step go
/// through burn's autodiff instead (to compare the two, or to rule the hand-written pass out).
pub(crate) fn hand_written_allowed() -> bool {
    static ALLOWED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ALLOWED.get_or_init(|| std::env::var("CRITLAB_BURN_AUTODIFF").map_or(true, |v| v.is_empty() || v == "0"))
}

/// Builds the model of a spec for a task with `vocab` input tokens (or `input_dim` dense
/// features) and `outputs` outputs.
pub fn build(spec: &ValidRunSpec, input: InputShape, outputs: usize) -> Box<dyn Model> {
    match spec.model {
        ModelKind::Mlp => Box::new(Mlp::new(spec, input, outputs)),
        ModelKind::Transformer => {
            let InputShape::Tokens { vocab, .. } = input else {
                unreachable!("validation restricts the transformer to token tasks")
            };
            Box::new(Transformer::new(spec, vocab, outputs))
        }
    }
}

/// The shape of a task's inputs, as a model sees them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputShape {
    /// `positions` tokens from a vocabulary of `vocab`.
    Tokens {
        /// Vocabulary size.
        vocab: usize,
        /// Tokens per example.
        positions: usize,
    },
    /// Dense features.
    Dense(usize),
}
