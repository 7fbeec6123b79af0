//! Critical exponents (docs/theory.md §5): data collapse ([`collapse`]) with the Houdayer–Hartmann
//! quality ([`quality`]), power-law divergences ([`divergence`]) and Binder-cumulant crossings
//! ([`binder`]), seed statistics χ and U₄ with their crossings ([`seeds`]), and every exponent
//! of a sweep of training runs ([`sweep`]).

pub mod binder;
pub mod bsa;
pub mod collapse;
pub mod corrections;
pub mod divergence;
pub mod quality;
pub mod seeds;
pub mod sweep;
