//! Checks of the collapse errors that are cheaper than the whole coverage study (a benchmark,
//! not a test; docs/physics.md):
//!
//! * `-- --kind none|amplitude|shift|both [--sets 216] [--bootstrap 100]`: the bootstrap
//!   errors of the *correctly specified* model (ω = 1 known) on the synthetic coverage cases
//!   built with that correction: 1σ / 2σ coverage, RMS z, median |z|; with `VERBOSE=1` the
//!   cases beyond 2σ with S at the truth.
//! * `-- --mc K --kind KIND [--draws 100]`: Monte Carlo over noise draws of synthetic case K
//!   (same design, new noise): the true spread of the estimates (bias, half 68 % and 95 %
//!   ranges) against the bootstrap errors of each draw.
//! * `-- --perc`: the default analysis (`corrections::analyze`) of the largest-cluster density
//!   of 2D site percolation at L = 16…128 (1500 lattices per point) for the coverage study's
//!   seeds 300–303 and the docs' seed 77, with the z-scores against the exact values.
use critlab_physics::collapse::{self, CollapseOptions, Corrections};
use critlab_physics::validation::coverage;
use rayon::prelude::*;
use std::time::Instant;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let kind: String = arg("--kind", "none".to_string());
    let sets: usize = arg("--sets", 216);
    let boot: usize = arg("--bootstrap", 100);
    let t = Instant::now();
    if std::env::args().any(|a| a == "--perc") {
        use critlab_physics::corrections::{self, AnalysisOptions};
        let ps: Vec<f64> = (0..=13).map(|i| 0.56 + 0.005 * i as f64).collect();
        let seeds: Vec<u64> = (0..4u64).map(|s| 300 + s).chain([77]).collect();
        let data: Vec<_> = seeds.par_iter().map(|&s| (s, critlab_physics::validation::percolation::simulate(&[16, 32, 64, 128], &ps, 1500, s).1)).collect();
        eprintln!("simulated {:.0?}", t.elapsed());
        for (s, d) in &data {
            let o = AnalysisOptions { collapse: CollapseOptions { x_c_guess: Some(0.6), bootstrap: boot, ..Default::default() }, ..Default::default() };
            let a = corrections::analyze(d, &o).unwrap();
            println!("=== seed {s}");
            print!("{}", critlab_physics::report::collapse_analysis_summary(&a));
            let p = &a.parameters;
            println!("z: x_c {:.2} nu {:.2} zeta {:.2}", (p.x_c.value - 0.592746) / p.x_c.err, (p.nu.value - 4.0 / 3.0) / p.nu.err, (p.zeta.value + 5.0 / 36.0) / p.zeta.err);
        }
        eprintln!("{:.0?}", t.elapsed());
        return;
    }
    let mc: usize = arg("--mc", usize::MAX);
    let corr = match kind.as_str() {
        "none" => Corrections::None,
        "amplitude" => Corrections::Amplitude { omega: 1.0 },
        "shift" => Corrections::Shift { omega: 1.0 },
        _ => Corrections::Both { omega: 1.0 },
    };
    if mc != usize::MAX {
        // Monte Carlo over noise draws of case `mc`: true sampling spread vs bootstrap errors
        let draws: usize = arg("--draws", 100);
        let res: Vec<([f64; 3], [f64; 3], f64)> = (0..draws)
            .into_par_iter()
            .filter_map(|s| {
                let c = coverage::synthetic_case(mc, 1000 + s as u64);
                let o = CollapseOptions { x_c_guess: Some(c.x_c_guess), bootstrap: boot, seed: s as u64, corrections: corr, ..Default::default() };
                let r = collapse::fit(&c.data, &o).ok()?;
                Some(([r.x_c - c.truth[0]?, r.nu - c.truth[1]?, r.zeta - c.truth[2]?], [r.x_c_err, r.nu_err, r.zeta_err], r.quality))
            })
            .collect();
        for k in 0..3 {
            let mut d: Vec<f64> = res.iter().map(|r| r.0[k]).collect();
            d.sort_by(f64::total_cmp);
            let n = d.len();
            let q = |p: f64| d[((n - 1) as f64 * p).round() as usize];
            let sd = (d.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
            let mut e: Vec<f64> = res.iter().map(|r| r.1[k]).collect();
            e.sort_by(f64::total_cmp);
            let cover1 = res.iter().filter(|r| r.0[k].abs() <= r.1[k]).count() as f64 / n as f64;
            let cover2 = res.iter().filter(|r| r.0[k].abs() <= 2.0 * r.1[k]).count() as f64 / n as f64;
            println!("param {k}: n {n} bias(median) {:.2e} half68 {:.2e} half95 {:.2e} rms {sd:.2e}; boot err median {:.2e} [{:.2e}, {:.2e}]; cover {:.0}% {:.0}%", q(0.5), 0.5 * (q(0.841) - q(0.159)), 0.5 * (q(0.977) - q(0.023)), e[n / 2], e[n / 10], e[9 * n / 10], 100.0 * cover1, 100.0 * cover2);
        }
        println!("{:.0?}", t.elapsed());
        return;
    }
    let idx: Vec<usize> = (0..sets).filter(|i| ["none", "amplitude", "shift", "both"][(i / 9) % 4] == kind).collect();
    let z: Vec<[f64; 3]> = idx
        .par_iter()
        .filter_map(|&i| {
            let c = coverage::synthetic_case(i, 1);
            let o = CollapseOptions { x_c_guess: Some(c.x_c_guess), bootstrap: boot, seed: 1 + i as u64, corrections: corr, ..Default::default() };
            let r = collapse::fit(&c.data, &o).ok()?;
            let tr = c.truth;
            let zz = [(r.x_c - tr[0]?) / r.x_c_err, (r.nu - tr[1]?) / r.nu_err, (r.zeta - tr[2]?) / r.zeta_err];
            if std::env::var("VERBOSE").is_ok() && zz.iter().any(|v| v.abs() > 2.0) {
                let qt = collapse::quality_at(&c.data, tr[0]?, tr[1]?, tr[2]?, None);
                eprintln!("   S(truth) {:.3} n_used {} -> N dS {:.1}", qt.s, qt.n_used, qt.n_used as f64 * (qt.s - r.quality));
                eprintln!("{}: z {:.2?} err {:.2e} {:.2e} {:.2e} curv {:?} S {:.3} conv {}/{}", c.name, zz, r.x_c_err, r.nu_err, r.zeta_err, r.errors.nu.curvature, r.quality, r.starts_converged, r.starts);
            }
            Some([(r.x_c - tr[0]?) / r.x_c_err, (r.nu - tr[1]?) / r.nu_err, (r.zeta - tr[2]?) / r.zeta_err])
        })
        .collect();
    let n = z.len() * 3;
    let all: Vec<f64> = z.iter().flat_map(|v| v.iter().copied()).collect();
    let c1 = all.iter().filter(|v| v.abs() <= 1.0).count() as f64 / n as f64;
    let c2 = all.iter().filter(|v| v.abs() <= 2.0).count() as f64 / n as f64;
    let rms = (all.iter().map(|v| v * v).sum::<f64>() / n as f64).sqrt();
    let mut sorted: Vec<f64> = all.iter().map(|v| v.abs()).collect();
    sorted.sort_by(f64::total_cmp);
    let med = sorted[n / 2];
    println!("kind {kind} cases {} pairs {n}: 1σ {:.1}% 2σ {:.1}% RMS z {rms:.2} median|z| {med:.2} (nominal 0.67) {:.0?}", z.len(), 100.0 * c1, 100.0 * c2, t.elapsed());
}
