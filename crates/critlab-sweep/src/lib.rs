//! critlab's sweeps: a TOML spec resolved into a plan of validated runs, executed locally by
//! a pool of replica-group workers or on Slurm as an array of shards merged back into one
//! store.
//!
//! * [`spec`]: the sweep file (`[base]`, `[axes]`, seeds, grid or random sampling).
//! * [`plan`]: every run resolved and validated before anything runs; replica groups; shards.
//! * [`local`]: the local executor, resumable after a kill (SIGKILL included).
//! * [`slurm`]: sbatch array scripts, submission, shard workers' layout, merge and status.
//! * [`lock`]: one sweep process per store.
#![warn(missing_docs)]

mod error;
pub mod hopeless;
pub mod local;
pub mod lock;
pub mod plan;
pub mod slurm;
pub mod spec;

pub use error::SweepError;
pub use local::{execute, Event, Options, Report};
pub use lock::StoreLock;
pub use plan::{Plan, PlanEntry};
pub use spec::{Axis, AxisValues, Sampling, SweepSpec};
