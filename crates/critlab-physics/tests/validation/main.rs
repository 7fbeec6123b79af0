//! Known-answer validation of critlab-physics, one module per feature. Reference values and
//! tolerances: `critlab_physics::validation::reference`.

mod bad_tables;
mod binder;
mod collapse;
mod corrections;
mod divergence;
mod relations;
mod scaling_forms;

use critlab_physics::validation::reference::Reference;

/// Assert `v ± e` is compatible with `r` (within `SIGMAS` errors plus its stated allowance).
pub fn assert_ref(r: &Reference, v: f64, e: f64) {
    let (ok, z) = r.check(v, e);
    assert!(e.is_finite() && e >= 0.0, "{}: error {e} must be finite and >= 0", r.name);
    assert!(ok, "{}: {v} ± {e} is {z:.2} sigma from {} ({})", r.name, r.value, r.source);
}
