//! Coverage study of the collapse errors (a benchmark, not a test; the tests run a small
//! version): the fraction of true values inside the reported 1σ / 2σ intervals per method,
//! over synthetic data sets with and without corrections to scaling and over the crate's own
//! percolation and Ising simulations.
//!
//! `cargo run --release -p critlab-physics --example coverage -- [--sets 216] [--bootstrap 100]
//!  [--bsa-every 4] [--samples 1000] [--no-physical] [--json out.json] [--dump DIR]`
//!
//! `--dump DIR` writes every case as `DIR/case_K.csv` (L, x, y, dy) with `DIR/cases.json`
//! (names, true values, guesses) for `bench/pyfssa_compare.py`.
//!
//! `-- --ising-report` instead prints, for the Ising design of the validation tests
//! (`reference::ising_design`), the Binder crossings with their extrapolation, and the default
//! analysis and the BSA of the Binder-cumulant (ζ = 0) and ⟨|m|⟩ collapses (docs/physics.md).
//!
//! `-- --ising-bsa` instead runs the BSA of the Binder-cumulant collapse of that design with
//! longer chains, another seed and the shift and amplitude corrections, next to the default
//! (the diagnosis of its T_c in docs/physics.md).
//!
//! `-- --percolation-csv PATH` instead writes the largest-cluster density of 2D site
//! percolation at L = 16, 32, 64, 128 (columns L, p, P, dP; seed 77) for
//! `critlab analyze collapse` and exits.

use critlab_physics::validation::coverage::{self, Case, CoverageDesign};
use critlab_physics::validation::reference::{self as refv, ising_design as id};
use critlab_physics::validation::{ising, percolation};
use std::time::Instant;

fn arg<T: std::str::FromStr>(name: &str, default: T) -> T {
    let args: Vec<String> = std::env::args().collect();
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let ps: Vec<f64> = (0..=13).map(|i| 0.56 + 0.005 * i as f64).collect();
    if args.iter().any(|a| a == "--ising-report") {
        use critlab_physics::collapse::CollapseOptions;
        use critlab_physics::corrections::AnalysisOptions;
        use critlab_physics::{binder, bsa, report};
        let [u, m, _] = ising::simulate(&id::SIZES, &id::temps(), id::THERM, id::MEASUREMENTS, id::SEED);
        let b = binder::fit(&u, &Default::default()).expect("crossings");
        print!("{}", report::binder_summary(&b));
        for (name, d, fix_zeta) in [("Binder cumulant, zeta = 0", &u, Some(0.0)), ("<|m|>", &m, None)] {
            let o = AnalysisOptions {
                collapse: CollapseOptions { x_c_guess: Some(2.25), fix_zeta, ..Default::default() },
                ..Default::default()
            };
            let r = bsa::analyze(d, &o, &bsa::BsaOptions { samples: 1000, burn_in: 1000, ..Default::default() })
                .expect("analysis");
            println!("== {name}");
            print!("{}", report::collapse_analysis_summary(&r.default));
            print!("{}", report::bsa_summary(&r));
        }
        return;
    }
    if args.iter().any(|a| a == "--ising-bsa") {
        // diagnosis of the BSA's Binder-cumulant T_c (docs/physics.md): chain length, the
        // correction it is given, and its posterior next to the default's errors
        use critlab_physics::bsa::{self, BsaOptions};
        use critlab_physics::collapse::{CollapseOptions, Corrections};
        use critlab_physics::corrections::{self, AnalysisOptions};
        let [u, _, _] = ising::simulate(&id::SIZES, &id::temps(), id::THERM, id::MEASUREMENTS, id::SEED);
        let o = AnalysisOptions {
            collapse: CollapseOptions { x_c_guess: Some(2.25), fix_zeta: Some(0.0), ..Default::default() },
            ..Default::default()
        };
        let a = corrections::analyze(&u, &o).expect("default");
        let p = &a.parameters;
        println!(
            "default: chose {}, T_c {:.4} ± {:.4} (stat {:.4}, sys {:.4}), nu {:.3} ± {:.3}; {} points",
            a.model.correction,
            p.x_c.value,
            p.x_c.err,
            p.x_c.err_stat,
            p.x_c.err_sys,
            p.nu.value,
            p.nu.err,
            u.n_points()
        );
        let scales = [Some(p.x_c.err_stat), Some(p.nu.err_stat), None];
        let variants: Vec<(&str, Corrections, usize, u64)> = vec![
            ("none, 1000 samples (the report's)", Corrections::None, 1000, 0),
            ("none, 1000 samples, seed 1", Corrections::None, 1000, 1),
            ("none, 8000 samples", Corrections::None, 8000, 0),
            ("shift omega 1.75 (2D Ising Binder), 4000 samples", Corrections::Shift { omega: 1.75 }, 4000, 0),
            ("shift omega 1, 4000 samples", Corrections::Shift { omega: 1.0 }, 4000, 0),
            ("amplitude omega 1.75, 4000 samples", Corrections::Amplitude { omega: 1.75 }, 4000, 0),
        ];
        for (name, c, n, seed) in variants {
            let t = Instant::now();
            let bo = BsaOptions {
                x_c_guess: Some(p.x_c.value),
                nu_guess: p.nu.value,
                fix_zeta: Some(0.0),
                corrections: c,
                samples: n,
                burn_in: n,
                seed,
                ..Default::default()
            };
            match bsa::fit(&u, &bo, &scales) {
                Ok(b) => println!(
                    "{name}: T_c {:.4} ± {:.4} ({:+.1}σ; MAP {:.4}, R-hat {:.3}), nu {:.3} ± {:.3} (R-hat {:.3}), acceptance {:.2}, hyper {:.3?}, ln p {:.1}, {:.1?}",
                    b.x_c, b.x_c_err, (b.x_c - 2.269185) / b.x_c_err, b.posteriors[0].1.map, b.posteriors[0].1.r_hat, b.nu, b.nu_err, b.posteriors[1].1.r_hat, b.acceptance, b.hyperparameters, b.log_posterior, t.elapsed()
                ),
                Err(e) => println!("{name}: {e}"),
            }
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--percolation-csv") {
        let path = args.get(i + 1).expect("--percolation-csv needs a path");
        let t = Instant::now();
        let (_, big) = percolation::simulate(&[16, 32, 64, 128], &ps, 1500, 77);
        let mut s = String::from("L,p,P,dP\n");
        for c in &big.curves {
            for k in 0..c.x.len() {
                s.push_str(&format!("{},{},{},{}\n", c.size, c.x[k], c.y[k], c.dy[k]));
            }
        }
        std::fs::write(path, s).expect("write the CSV");
        eprintln!("wrote {path} ({:.1?})", t.elapsed());
        return;
    }
    let design = CoverageDesign {
        sets: arg("--sets", 216),
        bootstrap: arg("--bootstrap", 100),
        starts: arg("--starts", 12),
        bsa_every: arg("--bsa-every", 4),
        bsa_samples: arg("--samples", 1000),
        seed: arg("--seed", 1),
    };
    let t = Instant::now();
    let mut cases: Vec<Case> = (0..design.sets).map(|i| coverage::synthetic_case(i, design.seed)).collect();
    if !args.iter().any(|a| a == "--no-physical") {
        for seed in 0..4u64 {
            let (span, big) = percolation::simulate(&[16, 32, 64, 128], &ps, 1500, 300 + seed);
            let (pc, nu, beta) = (refv::PERCOLATION_PC.value, refv::PERCOLATION_NU.value, refv::PERCOLATION_ZETA.value);
            cases.push(Case {
                name: format!("percolation largest cluster L 16-128, seed {seed}"),
                data: big,
                truth: [Some(pc), Some(nu), Some(beta)],
                fix_zeta: None,
                x_c_guess: 0.6,
            });
            cases.push(Case {
                name: format!("percolation spanning probability L 16-128, seed {seed}"),
                data: span,
                truth: [Some(pc), Some(nu), None],
                fix_zeta: Some(0.0),
                x_c_guess: 0.6,
            });
        }
        for seed in 0..2u64 {
            let [u, m, _] = ising::simulate(&id::SIZES, &id::temps(), id::THERM, id::MEASUREMENTS, 500 + seed);
            let tc = refv::ISING_TC.value;
            cases.push(Case {
                name: format!("Ising <|m|> L 8-24, seed {seed}"),
                data: m,
                truth: [Some(tc), Some(1.0), Some(-0.125)],
                fix_zeta: None,
                x_c_guess: 2.25,
            });
            cases.push(Case {
                name: format!("Ising Binder cumulant L 8-24, seed {seed}"),
                data: u,
                truth: [Some(tc), Some(1.0), None],
                fix_zeta: Some(0.0),
                x_c_guess: 2.25,
            });
        }
        eprintln!("simulated the physical cases in {:.1?}", t.elapsed());
    }
    if let Some(i) = args.iter().position(|a| a == "--dump") {
        let dir = std::path::PathBuf::from(args.get(i + 1).expect("--dump needs a directory"));
        std::fs::create_dir_all(&dir).expect("create the dump directory");
        let mut meta = Vec::new();
        for (k, c) in cases.iter().enumerate() {
            let mut s = String::from("L,x,y,dy\n");
            for cv in &c.data.curves {
                for j in 0..cv.x.len() {
                    s.push_str(&format!("{},{},{},{}\n", cv.size, cv.x[j], cv.y[j], cv.dy[j]));
                }
            }
            std::fs::write(dir.join(format!("case_{k}.csv")), s).expect("write a case");
            meta.push(
                serde_json::json!({"name": c.name, "truth": c.truth, "fix_zeta": c.fix_zeta, "x_c_guess": c.x_c_guess}),
            );
        }
        std::fs::write(dir.join("cases.json"), serde_json::to_string_pretty(&meta).expect("serialise"))
            .expect("write cases.json");
        eprintln!("dumped {} cases to {}", cases.len(), dir.display());
    }
    let n = cases.len();
    let report = coverage::run(&cases, &design, &|k| {
        if k % 10 == 0 || k == n {
            eprintln!("  {k}/{n} cases ({:.0?})", t.elapsed());
        }
    });
    let (syn, phys): (Vec<Case>, Vec<Case>) = cases.into_iter().partition(|c| c.name.starts_with("synthetic"));
    println!("coverage study: {} synthetic sets + {} physical, bootstrap {}, BSA on every {}-th case ({} samples x 4 chains), {:.0?}", syn.len(), phys.len(), design.bootstrap, design.bsa_every, design.bsa_samples, t.elapsed());
    println!("| method | (case, parameter) pairs | within 1σ | within 2σ | RMS z |");
    println!("|---|---|---|---|---|");
    for m in &report.methods {
        println!(
            "| {} | {} | {:.1}% | {:.1}% | {:.2} |",
            m.method,
            m.n,
            100.0 * m.within_1sigma,
            100.0 * m.within_2sigma,
            m.rms_z
        );
    }
    println!("chosen corrections: {:?}", report.chosen);
    // synthetic and physical separately
    for (label, names) in [
        ("synthetic only", syn.iter().map(|c| c.name.clone()).collect::<Vec<_>>()),
        ("physical only", phys.iter().map(|c| c.name.clone()).collect()),
    ] {
        let sub: Vec<&coverage::CaseRecord> = report.cases.iter().filter(|c| names.contains(&c.name)).collect();
        println!("{label}: {} cases", sub.len());
        let all_cases: Vec<&Case> = syn.iter().chain(&phys).collect();
        let mut methods: Vec<String> = Vec::new();
        for c in &sub {
            for (m, _) in &c.estimates {
                if !methods.contains(m) {
                    methods.push(m.clone());
                }
            }
        }
        for m in methods {
            let (mut n, mut a, mut b) = (0, 0, 0);
            for c in &sub {
                let truth = all_cases.iter().find(|k| k.name == c.name).map(|k| k.truth).unwrap_or([None; 3]);
                if let Some((_, est)) = c.estimates.iter().find(|e| e.0 == m) {
                    for (e, t) in est.iter().zip(truth) {
                        if let (Some((v, s)), Some(t)) = (e, t) {
                            n += 1;
                            a += usize::from((v - t).abs() <= *s);
                            b += usize::from((v - t).abs() <= 2.0 * s);
                        }
                    }
                }
            }
            println!(
                "  {m:<50} n = {n:<4} 1σ {:.1}%  2σ {:.1}%",
                100.0 * a as f64 / n.max(1) as f64,
                100.0 * b as f64 / n.max(1) as f64
            );
        }
    }
    for c in report.cases.iter().filter(|c| !c.name.starts_with("synthetic")) {
        println!("{}: chose {}", c.name, c.chosen);
        for (m, e) in &c.estimates {
            let f = |x: &Option<(f64, f64)>| x.map_or("-".to_string(), |(v, s)| format!("{v:.5} ± {s:.5}"));
            println!("    {m:<50} x_c {:<22} nu {:<20} zeta {:<20}", f(&e[0]), f(&e[1]), f(&e[2]));
        }
    }
    if let Some(i) = args.iter().position(|a| a == "--json") {
        let path = args.get(i + 1).expect("--json needs a path");
        std::fs::write(path, serde_json::to_string_pretty(&report).expect("serialise")).expect("write JSON");
        eprintln!("wrote {path}");
    }
}
