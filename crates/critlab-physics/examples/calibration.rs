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
//! * `-- --perc [--seeds 300-315,77] [--collapse-seed 0|study|N] [--cache DIR] [--quiet]
//!   [--sizes 16,32,64,128] [--samples 1500] [--window W] [--omega-grid 0.5,1,1.5,2]`: the
//!   default analysis (`corrections::analyze`) of the largest-cluster density of 2D site
//!   percolation (default L = 16…128, 1500 lattices per point) for each data seed, with the
//!   z-scores against the exact values, every candidate's x_c, ζ ± its statistical error and
//!   Akaike weight, the chosen model's held-out S per size, and at the end the number of data
//!   sets within 1σ and 2σ per parameter (docs/physics.md, percolation over seeds).
//!   `--collapse-seed study` uses the coverage study's seed (217 + 2·(seed − 300)); `--window`
//!   restricts S to |scaled x| ≤ W; `--cache DIR` keeps the simulated data as JSON.
//! * `-- --perc --zeta-profile [--seeds …]`: per data set and correction model, N_used·S at ζ
//!   fixed on −0.30, −0.28, …, −0.10 (x_c, ν, the amplitudes refitted, 16 starts, best over
//!   ω ∈ {0.5, 1, 1.5, 2}): which ζ each model's data allow.
//! * `-- --heldout [--sets 72]`: the chosen model's held-out S per left-out size on the
//!   synthetic coverage cases (no bootstrap), for comparison with the percolation data.
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
        perc(boot, t);
        return;
    }
    if std::env::args().any(|a| a == "--heldout") {
        // the chosen model's held-out S per left-out size on the synthetic cases (no bootstrap)
        use critlab_physics::corrections::{self, AnalysisOptions};
        let rows: Vec<String> = (0..sets)
            .into_par_iter()
            .filter_map(|i| {
                let c = coverage::synthetic_case(i, 1);
                let o = AnalysisOptions {
                    collapse: CollapseOptions {
                        x_c_guess: Some(c.x_c_guess),
                        bootstrap: 0,
                        seed: 1 + i as u64,
                        ..Default::default()
                    },
                    ..Default::default()
                };
                let a = corrections::analyze(&c.data, &o).ok()?;
                let ch = a.candidates.iter().find(|c| c.chosen)?;
                let per: Vec<f64> = ch.held_out_per_size.iter().map(|p| p.1).collect();
                let m = per.iter().sum::<f64>() / per.len() as f64;
                let sd = (per.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (per.len() as f64 - 1.0)).sqrt();
                Some(format!(
                    "{i} {} S {:.3} held {:.3} se {:.3} per {:.2?}",
                    ch.correction,
                    ch.quality,
                    m,
                    sd / (per.len() as f64).sqrt(),
                    per
                ))
            })
            .collect();
        for r in rows {
            println!("{r}");
        }
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
                let o = CollapseOptions {
                    x_c_guess: Some(c.x_c_guess),
                    bootstrap: boot,
                    seed: s as u64,
                    corrections: corr,
                    ..Default::default()
                };
                let r = collapse::fit(&c.data, &o).ok()?;
                Some((
                    [r.x_c - c.truth[0]?, r.nu - c.truth[1]?, r.zeta - c.truth[2]?],
                    [r.x_c_err, r.nu_err, r.zeta_err],
                    r.quality,
                ))
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
            let o = CollapseOptions {
                x_c_guess: Some(c.x_c_guess),
                bootstrap: boot,
                seed: 1 + i as u64,
                corrections: corr,
                ..Default::default()
            };
            let r = collapse::fit(&c.data, &o).ok()?;
            let tr = c.truth;
            let zz = [(r.x_c - tr[0]?) / r.x_c_err, (r.nu - tr[1]?) / r.nu_err, (r.zeta - tr[2]?) / r.zeta_err];
            if std::env::var("VERBOSE").is_ok() && zz.iter().any(|v| v.abs() > 2.0) {
                let qt = collapse::quality_at(&c.data, tr[0]?, tr[1]?, tr[2]?, None);
                eprintln!(
                    "   S(truth) {:.3} n_used {} -> N dS {:.1}",
                    qt.s,
                    qt.n_used,
                    qt.n_used as f64 * (qt.s - r.quality)
                );
                eprintln!(
                    "{}: z {:.2?} err {:.2e} {:.2e} {:.2e} curv {:?} S {:.3} conv {}/{}",
                    c.name,
                    zz,
                    r.x_c_err,
                    r.nu_err,
                    r.zeta_err,
                    r.errors.nu.curvature,
                    r.quality,
                    r.starts_converged,
                    r.starts
                );
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
    println!(
        "kind {kind} cases {} pairs {n}: 1σ {:.1}% 2σ {:.1}% RMS z {rms:.2} median|z| {med:.2} (nominal 0.67) {:.0?}",
        z.len(),
        100.0 * c1,
        100.0 * c2,
        t.elapsed()
    );
}

/// `--perc [--seeds 300-303,77] [--collapse-seed 0] [--cache DIR] [--quiet]`: the default
/// analysis of the largest-cluster density of each percolation data set (data seed = simulation
/// seed), its z-scores against the exact values and, at the end, the fraction of data sets
/// within 1σ and 2σ for each of x_c, ν, ζ. `--collapse-seed study` uses the coverage study's
/// seed for each data set (1 + 216 + 2·(seed − 300)). `--cache DIR` keeps the simulated data
/// as DIR/perc_SEED.json (the simulation is ~15 s per seed on 2 cores).
fn perc(boot: usize, t: Instant) {
    use critlab_physics::corrections::{self, AnalysisOptions};
    use critlab_physics::data::CollapseData;
    let spec: String = arg("--seeds", "300-303,77".to_string());
    let seeds: Vec<u64> = spec
        .split(',')
        .flat_map(|part| match part.split_once('-') {
            Some((a, b)) => (a.parse::<u64>().unwrap()..=b.parse::<u64>().unwrap()).collect::<Vec<_>>(),
            None => vec![part.parse::<u64>().unwrap()],
        })
        .collect();
    let cseed: String = arg("--collapse-seed", "0".to_string());
    let cache: Option<String> = std::env::args().position(|a| a == "--cache").and_then(|i| std::env::args().nth(i + 1));
    let quiet = std::env::args().any(|a| a == "--quiet");
    let ps: Vec<f64> = (0..=13).map(|i| 0.56 + 0.005 * i as f64).collect();
    let sizes: Vec<usize> = arg("--sizes", "16,32,64,128".to_string()).split(',').map(|v| v.parse().unwrap()).collect();
    let samples: usize = arg("--samples", 1500);
    let tag = if sizes == [16, 32, 64, 128] && samples == 1500 {
        String::new()
    } else {
        format!("_{}_{samples}", sizes.iter().map(|l| l.to_string()).collect::<Vec<_>>().join("-"))
    };
    let load = |s: u64| -> CollapseData {
        let path = cache.as_ref().map(|d| format!("{d}/perc_{s}{tag}.json"));
        if let Some(d) = path.as_ref().and_then(|p| std::fs::read_to_string(p).ok()) {
            return serde_json::from_str(&d).expect("cached data");
        }
        let d = critlab_physics::validation::percolation::simulate(&sizes, &ps, samples, s).1;
        if let Some(p) = path {
            std::fs::write(p, serde_json::to_string(&d).unwrap()).expect("write the cache");
        }
        d
    };
    let data: Vec<(u64, CollapseData)> = seeds.par_iter().map(|&s| (s, load(s))).collect();
    eprintln!("data ready {:.0?}", t.elapsed());
    if std::env::args().any(|a| a == "--zeta-profile") {
        // profile χ² = N_used·S over ζ for every correction model (ω on the grid, 12 starts)
        let zs: Vec<f64> = (0..=10).map(|i| -0.30 + 0.02 * i as f64).collect();
        for (s, d) in &data {
            println!("=== seed {s}: N·S at fixed zeta, best over omega in 0.5, 1, 1.5, 2 (x_c, nu at that point)");
            for (name, mk) in [("none", 0), ("amplitude", 1), ("shift", 2), ("both", 3)] {
                let row: Vec<String> = zs
                    .par_iter()
                    .map(|&z| {
                        let omegas: &[f64] = if mk == 0 { &[1.0] } else { &[0.5, 1.0, 1.5, 2.0] };
                        let best = omegas
                            .iter()
                            .filter_map(|&w| {
                                let c = [
                                    Corrections::None,
                                    Corrections::Amplitude { omega: w },
                                    Corrections::Shift { omega: w },
                                    Corrections::Both { omega: w },
                                ][mk];
                                let o = CollapseOptions {
                                    x_c_guess: Some(0.592),
                                    nu_guess: 1.33,
                                    fix_zeta: Some(z),
                                    bootstrap: 0,
                                    starts: 16,
                                    corrections: c,
                                    ..Default::default()
                                };
                                collapse::fit(d, &o).ok().map(|r| (r.quality * r.n_points_used as f64, w, r.x_c, r.nu))
                            })
                            .min_by(|a, b| a.0.total_cmp(&b.0))
                            .unwrap();
                        format!("{:6.1}", best.0)
                    })
                    .collect();
                println!("{name:<10} {}", row.join(" "));
            }
            println!("zeta       {}", zs.iter().map(|z| format!("{z:6.2}")).collect::<Vec<_>>().join(" "));
        }
        return;
    }
    let truth = [0.592746, 4.0 / 3.0, -5.0 / 36.0];
    let mut z_all: Vec<[f64; 3]> = Vec::new();
    for (s, d) in &data {
        let seed = if cseed == "study" { 217 + 2 * (s.saturating_sub(300)) } else { cseed.parse().unwrap() };
        let w: f64 = arg("--window", f64::INFINITY);
        let x_window = w.is_finite().then_some((-w, w));
        let grid: String = arg("--omega-grid", String::new());
        let mut o = AnalysisOptions {
            collapse: CollapseOptions { x_c_guess: Some(0.6), bootstrap: boot, seed, x_window, ..Default::default() },
            ..Default::default()
        };
        if !grid.is_empty() {
            o.omega_grid = grid.split(',').map(|v| v.parse().unwrap()).collect();
        }
        let a = corrections::analyze(d, &o).unwrap();
        if !quiet {
            println!("=== seed {s} (collapse seed {seed})");
            print!("{}", critlab_physics::report::collapse_analysis_summary(&a));
        }
        let p = &a.parameters;
        let z = [
            (p.x_c.value - truth[0]) / p.x_c.err,
            (p.nu.value - truth[1]) / p.nu.err,
            (p.zeta.value - truth[2]) / p.zeta.err,
        ];
        let cands: Vec<String> = a
            .candidates
            .iter()
            .map(|c| {
                format!(
                    "{}{} {:.4} {:.3}±{:.3} w{:.2}",
                    if c.chosen { "*" } else { "" },
                    c.correction,
                    c.x_c,
                    c.zeta,
                    c.stat_err.map_or(f64::NAN, |e| e[2]),
                    c.akaike_weight
                )
            })
            .collect();
        println!(
            "seed {s}: {:<9} x_c {:.4} ± {:.4} ({:+.1}σ)  nu {:.3} ± {:.3} ({:+.1}σ)  zeta {:.3} ± {:.3} ({:+.1}σ)  [{}]",
            a.model.correction, p.x_c.value, p.x_c.err, z[0], p.nu.value, p.nu.err, z[1], p.zeta.value, p.zeta.err, z[2], cands.join(", ")
        );
        if let Some(ch) = a.candidates.iter().find(|c| c.chosen) {
            println!("   chosen S {:.3} held-out {:?} per size {:.2?}", ch.quality, ch.held_out, ch.held_out_per_size);
        }
        z_all.push(z);
    }
    let n = z_all.len() as f64;
    for (k, name) in ["x_c", "nu", "zeta"].iter().enumerate() {
        let c1 = z_all.iter().filter(|z| z[k].abs() <= 1.0).count();
        let c2 = z_all.iter().filter(|z| z[k].abs() <= 2.0).count();
        println!("{name}: within 1σ {c1}/{n}, within 2σ {c2}/{n}");
    }
    let all2 = z_all.iter().filter(|z| z.iter().all(|v| v.abs() <= 2.0)).count();
    println!("all three within 2σ: {all2}/{n}  ({:.0?})", t.elapsed());
}
