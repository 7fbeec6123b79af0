//! Small numerical optimisers used by the fits: Nelder–Mead for the non-smooth collapse
//! quality (hand-written: argmin's gave no clear gain, BENCHMARKS.md), Levenberg–Marquardt
//! for least squares, dense linear algebra on nalgebra ([`linalg`]), and a quadratic-surface
//! fit for the curvature (Hessian) at a minimum. Problems here have at most ~10 parameters, so
//! dense `Vec<f64>` row-major matrices are enough.

pub mod curvature;
pub mod levenberg_marquardt;
pub mod linalg;
pub mod nelder_mead;
