//! Binder-cumulant crossings (in progress).
