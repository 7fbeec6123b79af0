//! Shared types of critlab: the run specification every other crate reads, its validation,
//! the estimate type every analysis returns, and the phases a run can end in.
//!
//! docs/theory.md (in this repository) fixes the meaning of every quantity; the field docs
//! below name the symbol each hyperparameter stands for there (§1).
#![warn(missing_docs)]

pub mod control;
pub mod estimate;
pub mod files;
pub mod phase;
pub mod spec;

pub use control::Controller;
pub use estimate::Estimate;
pub use phase::{Phase, RunStatus};
pub use spec::{
    spec_key, Activation, BatchSize, InputEncoding, LossKind, ModelKind, OptimizerKind, RunSpec, SpecError, TaskKind,
    ValidRunSpec, WeightDecayMode, NOT_CLASS_FIELDS, SEED_FIELDS,
};

/// The version of critlab stored with every run.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
