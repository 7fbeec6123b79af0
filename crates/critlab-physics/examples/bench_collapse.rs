//! Timing of a data collapse of 10⁵ points (a benchmark, not a test):
//!
//! `cargo run --release -p critlab-physics --example bench_collapse`
//!
//! Prints the wall time of the point estimate with curvature errors (12 Nelder–Mead starts,
//! no bootstrap), of the default analysis with model selection (`corrections::analyze`: the
//! four candidate models with ω profiled over 4 values and leave-one-size-out refits on a
//! copy thinned to ≤ 2 000 points, each candidate's optimum on all points, the chosen model's
//! final fit and the L_min-drift refits, curvature errors, no bootstrap), the cost of each
//! candidate analysed alone (`--correction none|amplitude|shift|both`, no drift), and with
//! `-- --bootstrap` of the fit with 20 bootstrap refits.

use critlab_physics::collapse::{self, CollapseOptions};
use critlab_physics::corrections::{self, AnalysisOptions, CorrectionChoice};
use critlab_physics::validation::synthetic;
use std::time::Instant;

/// CPU seconds (user + system) of this process so far, from /proc/self/stat (Linux; NaN
/// elsewhere): on a machine shared with other builds the wall time depends on the load, the
/// CPU time much less.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let fields: Vec<&str> = stat.rsplit(')').next().unwrap_or("").split_whitespace().collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(f64::NAN);
    (tick(11) + tick(12)) / 100.0
}

fn main() {
    let sizes = [8.0, 16.0, 32.0, 64.0, 128.0];
    let points_per_size = 20_000;
    let d = synthetic::collapse_data(&sizes, -0.2, 0.4, points_per_size, 0.1, 1.5, 0.5, 0.01, 1);
    println!("{} points, {} sizes, {} threads", d.n_points(), sizes.len(), rayon::current_num_threads());
    let t = Instant::now();
    let evals = 100;
    for k in 0..evals {
        std::hint::black_box(collapse::quality_at(&d, 0.1 + 1e-4 * k as f64, 1.5, 0.5, None));
    }
    println!("one evaluation of S: {:.2} ms", 1e3 * t.elapsed().as_secs_f64() / evals as f64);
    let t = Instant::now();
    let r = collapse::fit(&d, &CollapseOptions { x_c_guess: Some(0.0), bootstrap: 0, ..Default::default() }).unwrap();
    println!(
        "fit (12 starts, curvature errors, no bootstrap): {:.3} s   x_c = {:.5}, nu = {:.4}, zeta = {:.4}, S = {:.3}",
        t.elapsed().as_secs_f64(),
        r.x_c,
        r.nu,
        r.zeta,
        r.quality
    );
    // the optimum found by the slow exhaustive search before the coarse-to-fine ladder
    let reference = collapse::quality_at(&d, 0.09991, 1.4995, 0.4998, None).s;
    println!("S at the fit {:.7} vs S at the reference optimum (0.09991, 1.4995, 0.4998) {reference:.7}", r.quality);
    let sel = |correction| AnalysisOptions {
        collapse: CollapseOptions { x_c_guess: Some(0.0), bootstrap: 0, ..Default::default() },
        correction,
        ..Default::default()
    };
    let (t, c0) = (Instant::now(), cpu_seconds());
    let plain = corrections::analyze(&d, &AnalysisOptions { drift: false, ..sel(CorrectionChoice::None) }).unwrap();
    let (t_plain, cpu_plain) = (t.elapsed().as_secs_f64(), cpu_seconds() - c0);
    let (t, c0) = (Instant::now(), cpu_seconds());
    let a = corrections::analyze(&d, &sel(CorrectionChoice::Auto)).unwrap();
    let (t_auto, cpu_auto) = (t.elapsed().as_secs_f64(), cpu_seconds() - c0);
    println!(
        "CPU time: plain analysis {cpu_plain:.2} s, with model selection {cpu_auto:.2} s (2 cores: wall >= CPU / 2)"
    );
    println!(
        "plain analysis (one model, no drift): {t_plain:.3} s; with model selection + L_min drift: {t_auto:.3} s (chose {}, {} drift refits)   x_c = {:.5}, nu = {:.4}, zeta = {:.4}",
        a.model.correction,
        a.drift.len(),
        a.fit.x_c,
        a.fit.nu,
        a.fit.zeta
    );
    println!(
        "  plain x_c = {:.5}; candidates: {}",
        plain.fit.x_c,
        a.candidates
            .iter()
            .map(|c| format!(
                "{} S={:.4} held-out={:?}",
                c.correction,
                c.quality,
                c.held_out.map(|h| (h * 1000.0).round() / 1000.0)
            ))
            .collect::<Vec<_>>()
            .join(", ")
    );
    // the cost of each candidate alone: its fit (ω profiled over the 4 grid values for a
    // correction, on the ≤ 2 000-point screening copy), its optimum on all points and the final
    // fit with curvature errors, without the held-out refits and the drift
    let mut per = Vec::new();
    for c in [CorrectionChoice::None, CorrectionChoice::Amplitude, CorrectionChoice::Shift, CorrectionChoice::Both] {
        let (t, c0) = (Instant::now(), cpu_seconds());
        corrections::analyze(&d, &AnalysisOptions { drift: false, ..sel(c) }).unwrap();
        per.push(format!("{c:?} {:.2} s CPU ({:.2} s wall)", cpu_seconds() - c0, t.elapsed().as_secs_f64()));
    }
    println!("one candidate alone (no held-out refits, no drift): {}", per.join(", "));
    if std::env::args().any(|a| a == "--bootstrap") {
        let t = Instant::now();
        let r =
            collapse::fit(&d, &CollapseOptions { x_c_guess: Some(0.0), bootstrap: 20, ..Default::default() }).unwrap();
        println!("fit + 20 bootstrap refits: {:.3} s   nu = {:.4} ± {:.4}", t.elapsed().as_secs_f64(), r.nu, r.nu_err);
    }
}
