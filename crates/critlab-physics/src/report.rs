//! Plain-text summaries of results for the terminal (the CLI prints these, or the JSON).

use crate::exponents::collapse::CollapseResult;

/// Format `value ± err` with the error rounded to two significant digits and the value to the
/// same decimal place, e.g. `0.59274 ± 0.00031`; exact values (err 0) are printed as is.
pub fn format_estimate(value: f64, err: f64) -> String {
    if !(err > 0.0) || !err.is_finite() || !value.is_finite() {
        return format!("{value}");
    }
    let digits = (1 - err.log10().floor() as i32).clamp(0, 12) as usize;
    format!("{value:.digits$} ± {err:.digits$}")
}

fn opt(e: Option<f64>) -> String {
    e.map_or("—".to_string(), |v| format!("{v:.3e}"))
}

/// Terminal summary of a data collapse: parameters with both error estimates, quality, notes.
pub fn collapse_summary(r: &CollapseResult) -> String {
    let mut s = String::new();
    s.push_str("data collapse  A_L(x) = L^(zeta/nu) F(L^(1/nu) (x - x_c))\n");
    s.push_str(&format!(
        "  sizes {:?}, {} points ({} with neighbours), {} starts ({} reached the best), {} bootstrap samples\n",
        r.sizes, r.n_points, r.n_points_used, r.starts, r.starts_converged, r.bootstrap_samples
    ));
    s.push_str("  parameter  estimate                    bootstrap   curvature\n");
    let row = |name: &str, v: f64, e: f64, p: &crate::exponents::collapse::ErrorParts| {
        format!("  {name:<9}  {:<26}  {:<10}  {:<10}\n", format_estimate(v, e), opt(p.bootstrap), opt(p.curvature))
    };
    s.push_str(&row("x_c", r.x_c, r.x_c_err, &r.errors.x_c));
    s.push_str(&row("nu", r.nu, r.nu_err, &r.errors.nu));
    if r.zeta_fixed {
        s.push_str(&format!("  {:<9}  {} (fixed)\n", "zeta", r.zeta));
    } else {
        s.push_str(&row("zeta", r.zeta, r.zeta_err, &r.errors.zeta));
    }
    if let (Some(c), Some(p)) = (&r.correction, &r.errors.correction) {
        s.push_str(&row("corr.amp", c.amplitude, c.amplitude_err, p));
    }
    s.push_str(&format!("  quality S = {}  (≈ 1 is a good collapse)\n", format_estimate(r.quality, r.quality_err)));
    for n in &r.notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    s
}
