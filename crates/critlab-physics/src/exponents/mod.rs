//! Critical exponents (THEORY.md §5): data collapse ([`collapse`]) with the Houdayer–Hartmann
//! quality ([`quality`]), power-law divergences ([`divergence`]) and Binder-cumulant crossings
//! ([`binder`]).

pub mod binder;
pub mod collapse;
pub mod divergence;
pub mod quality;
