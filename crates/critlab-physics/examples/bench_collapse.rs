//! Timing of a data collapse of 10⁵ points (a benchmark, not a test):
//!
//! `cargo run --release -p critlab-physics --example bench_collapse`
//!
//! Prints the wall time of the point estimate with curvature errors (12 Nelder–Mead starts,
//! no bootstrap), and with `-- --bootstrap` of the fit with 20 bootstrap refits.

use critlab_physics::collapse::{self, CollapseOptions};
use critlab_physics::validation::synthetic;
use std::time::Instant;

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
    if std::env::args().any(|a| a == "--bootstrap") {
        let t = Instant::now();
        let r = collapse::fit(&d, &CollapseOptions { x_c_guess: Some(0.0), bootstrap: 20, ..Default::default() }).unwrap();
        println!("fit + 20 bootstrap refits: {:.3} s   nu = {:.4} ± {:.4}", t.elapsed().as_secs_f64(), r.nu, r.nu_err);
    }
}
