//! critlab's instrumented trainer.
//!
//! * [`tasks`]: generated tasks (modular arithmetic, sparse parity, teacher–student).
//! * [`models`]: replica-batched MLP and the one-layer transformer of Nanda et al. 2023.
//! * [`optim`]: SGD with momentum, Adam, AdamW with per-replica η and λ.
//! * [`probes`]: the observables of docs/theory.md §2, one per file.
//! * [`symmetry`]: symmetries of a model's topology, whose Noether charges `probes` record.
//! * [`control`]: adaptive controllers of η, B, λ and the gradient (Grokfast, Omnigrok,
//!   temperature, critical), chosen per replica by the run's `controller`.
//! * [`curvature`]: Hessian-vector products of the training loss and the top of its spectrum
//!   (the sharpness probes; shared with any observable built on H).
//! * [`trainer`]: the loop that ties them together for R replicas at once.
//! * [`budget`]: the memory a replica group needs, estimated from its specs and checked
//!   before anything is allocated.
//! * [`device`]: where the replicas train, chosen at run time (`--device`).
//!
//! The tensor engine is burn with its `flex` CPU backend ([`cpu_device`]), or its CUDA or wgpu
//! backend in a build with the `cuda` or `wgpu` feature ([`DeviceChoice`]). On the CPU the
//! one-hot MLP's step is hand-written ([`models`]), pinned to burn's autodiff by a gradient check.
#![warn(missing_docs)]

pub mod batch;
pub mod budget;
pub mod control;
pub mod curvature;
pub mod device;
pub mod export;
pub mod loss;
pub mod models;
pub mod optim;
pub mod probes;
pub mod symmetry;
pub mod tasks;
pub mod trainer;

pub use device::{DeviceChoice, DeviceError};
pub use trainer::{group_key, panic_message, train, Observer, Outcome, TrainError};

/// The default device: burn's pure-Rust `flex` CPU backend (`--device cpu`).
pub fn cpu_device() -> burn::tensor::Device {
    burn::tensor::Device::flex()
}
