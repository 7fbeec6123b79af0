//! Known-answer generators for validating the estimators: synthetic scaling data, 2D site
//! percolation and the 2D Ising model, each simulated here from scratch and seeded. The exact
//! values and the tolerances the tests hold the estimators to live in [`reference`](self::reference), next to
//! the simulators that produce the data.

pub mod coverage;
pub mod ising;
pub mod percolation;
pub mod reference;
pub mod synthetic;
