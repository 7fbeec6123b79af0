#![warn(missing_docs)]
//! critlab-physics (work in progress header; full docs below once complete).

pub mod data;
pub mod error;
pub mod estimate;
pub mod exponents;
pub mod optimize;
pub mod plot;
pub mod relations;
pub mod report;
pub mod scaling_forms;
pub mod stats;
pub mod table;
pub mod validation;

pub use data::{CollapseData, FssColumns, SizeCurve, XyColumns, XyData};
pub use error::{PhysicsError, Result};
pub use estimate::Estimate;
pub use exponents::collapse;
pub use relations::{ExponentSet, ExponentValue, RelationsReport, Verdict};
pub use table::Table;
