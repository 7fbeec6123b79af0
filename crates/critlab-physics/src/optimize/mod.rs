//! Small, dependency-free numerical optimisers used by the fits: Nelder–Mead for the
//! non-smooth collapse quality, Levenberg–Marquardt for least squares, and a quadratic-surface
//! fit for the curvature (Hessian) at a minimum. Problems here have at most ~10 parameters, so
//! dense `Vec<f64>` row-major matrices are enough.

pub mod curvature;
pub mod levenberg_marquardt;
pub mod linalg;
pub mod nelder_mead;
