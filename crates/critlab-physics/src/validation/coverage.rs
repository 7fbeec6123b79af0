//! Coverage study of the collapse errors: over many data sets with known answers, the
//! fraction of true values inside the reported 1σ and 2σ intervals of each method (nominal
//! 68.3 % and 95.4 %). Run in full by
//! `cargo run --release -p critlab-physics --example coverage` (≥ 200 synthetic sets, the own
//! percolation and Ising simulations; docs/physics.md), in a small version by the tests.
//!
//! Synthetic sets cycle through ([`synthetic_case`]): noise σ ∈ {0.005, 0.01, 0.02}; sizes
//! {8, 16, 32, 64}, {8, 16, 32} or {16, 32, 64}; corrections none, amplitude (a = 0.8),
//! shift (b = 2) or both (a = 0.6, b = 1.5), ω = 1; exponents (x_c, ν, ζ) = (0.1, 1.5, 0.5)
//! or (0.3, 1.0, −0.125); 25 points per size.
//!
//! Methods: the default (`analyze`: corrections chosen from the data, errors stat ⊕ sys), its
//! statistical part alone, the default with the chosen model's own bootstrap in place of the
//! selection-aware statistical error, the plain collapse with bootstrap errors (`--correction none`),
//! the plain collapse with pyfssa's curvature errors, and (on every `bsa_every`-th set) the
//! Bayesian scaling analysis with the corrections the default chose, its posterior alone and
//! with the default's systematic error added.

use super::synthetic::{self, FssTruth};
use crate::collapse::{self, CollapseOptions};
use crate::data::CollapseData;
use crate::exponents::bsa::{self, BsaOptions};
use crate::exponents::corrections::{self, AnalysisOptions};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

/// One data set with its true values.
#[derive(Debug, Clone)]
pub struct Case {
    /// What it is.
    pub name: String,
    /// The data.
    pub data: CollapseData,
    /// True x_c, ν, ζ (`None` where not known or not fitted).
    pub truth: [Option<f64>; 3],
    /// ζ fixed in the fit (e.g. 0 for a Binder cumulant).
    pub fix_zeta: Option<f64>,
    /// Starting x_c.
    pub x_c_guess: f64,
}

/// How the study runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoverageDesign {
    /// Synthetic sets.
    pub sets: usize,
    /// Bootstrap replicates of every collapse.
    pub bootstrap: usize,
    /// Nelder–Mead starts of every collapse.
    pub starts: usize,
    /// Run the BSA on every k-th case (0: never).
    pub bsa_every: usize,
    /// Kept MCMC samples per chain of the BSA.
    pub bsa_samples: usize,
    /// Seed.
    pub seed: u64,
}

/// Coverage of one method.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct MethodCoverage {
    /// Method.
    pub method: String,
    /// (case, parameter) pairs scored.
    pub n: usize,
    /// Fraction of true values within 1σ.
    pub within_1sigma: f64,
    /// Fraction within 2σ.
    pub within_2sigma: f64,
    /// RMS of (estimate − truth)/σ.
    pub rms_z: f64,
}

/// Per-case record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CaseRecord {
    /// Case name.
    pub name: String,
    /// Correction the default chose.
    pub chosen: String,
    /// Per method: (estimate, error) of x_c, ν, ζ (`null` where not fitted).
    pub estimates: Vec<(String, [Option<(f64, f64)>; 3])>,
}

/// Result of the study.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CoverageReport {
    /// Coverage per method.
    pub methods: Vec<MethodCoverage>,
    /// How often the default chose each correction: (name, count).
    pub chosen: Vec<(String, usize)>,
    /// Every case.
    pub cases: Vec<CaseRecord>,
}

/// The `i`-th synthetic case of the cycle (module docs).
pub fn synthetic_case(i: usize, seed: u64) -> Case {
    let sigma = [0.005, 0.01, 0.02][i % 3];
    let sizes: &[f64] = [&[8.0, 16.0, 32.0, 64.0][..], &[8.0, 16.0, 32.0], &[16.0, 32.0, 64.0]][(i / 3) % 3];
    let (a, b, cname) =
        [(0.0, 0.0, "none"), (0.8, 0.0, "amplitude"), (0.0, 2.0, "shift"), (0.6, 1.5, "both")][(i / 9) % 4];
    let (x_c, nu, zeta, half) = if (i / 36) % 2 == 0 { (0.1, 1.5, 0.5, 0.3) } else { (0.3, 1.0, -0.125, 0.15) };
    let t = FssTruth {
        sizes: sizes.to_vec(),
        x_lo: x_c - half,
        x_hi: x_c + half,
        points: 25,
        x_c,
        nu,
        zeta,
        sigma,
        a,
        b,
        omega: 1.0,
    };
    Case {
        name: format!("synthetic #{i}: L {sizes:?}, sigma {sigma}, correction {cname}, nu {nu}"),
        data: synthetic::corrected_collapse_data(&t, seed.wrapping_mul(1_000_003).wrapping_add(i as u64)),
        truth: [Some(x_c), Some(nu), Some(zeta)],
        fix_zeta: None,
        x_c_guess: x_c - 0.3 * half,
    }
}

type Est = [Option<(f64, f64)>; 3];

fn run_case(case: &Case, k: usize, design: &CoverageDesign) -> Option<(String, Vec<(String, Est)>)> {
    let base = CollapseOptions {
        x_c_guess: Some(case.x_c_guess),
        fix_zeta: case.fix_zeta,
        starts: design.starts,
        bootstrap: design.bootstrap,
        seed: design.seed + k as u64,
        ..Default::default()
    };
    let a = corrections::analyze(&case.data, &AnalysisOptions { collapse: base.clone(), ..Default::default() }).ok()?;
    let p = &a.parameters;
    let z = case.fix_zeta.is_none();
    let mut out = vec![
        (
            "default: auto corrections, stat ⊕ sys".to_string(),
            [Some((p.x_c.value, p.x_c.err)), Some((p.nu.value, p.nu.err)), z.then_some((p.zeta.value, p.zeta.err))],
        ),
        (
            "default, statistical part only".to_string(),
            [
                Some((p.x_c.value, p.x_c.err_stat)),
                Some((p.nu.value, p.nu.err_stat)),
                z.then_some((p.zeta.value, p.zeta.err_stat)),
            ],
        ),
    ];
    // the default before the selection-aware bootstrap: the chosen model's own bootstrap ⊕ sys
    let own = |e: &collapse::ErrorParts, pe: &corrections::ParamEstimate| {
        e.bootstrap.unwrap_or(pe.err_stat).hypot(pe.err_sys)
    };
    let f = &a.fit.errors;
    out.push((
        "default, chosen model's own bootstrap ⊕ sys (no selection bootstrap)".to_string(),
        [
            Some((p.x_c.value, own(&f.x_c, &p.x_c))),
            Some((p.nu.value, own(&f.nu, &p.nu))),
            z.then_some((p.zeta.value, own(&f.zeta, &p.zeta))),
        ],
    ));
    if let Ok(r) = collapse::fit(&case.data, &base) {
        let e = &r.errors;
        out.push((
            "plain collapse, bootstrap (--correction none)".into(),
            [Some((r.x_c, r.x_c_err)), Some((r.nu, r.nu_err)), z.then_some((r.zeta, r.zeta_err))],
        ));
        let c = |v: f64, e: Option<f64>| e.map(|e| (v, e));
        out.push((
            "plain collapse, pyfssa curvature rule".into(),
            [c(r.x_c, e.x_c.curvature), c(r.nu, e.nu.curvature), if z { c(r.zeta, e.zeta.curvature) } else { None }],
        ));
    }
    if design.bsa_every > 0 && k % design.bsa_every == 0 {
        let corr = a.fit.correction.as_ref().map_or(collapse::Corrections::None, |c| c.corrections);
        let amps = a.fit.correction.as_ref().map_or([0.0; 2], |c| [c.amplitude, c.shift.unwrap_or(0.0)]);
        let opts = BsaOptions {
            x_c_guess: Some(a.fit.x_c),
            nu_guess: a.fit.nu,
            zeta_guess: a.fit.zeta,
            fix_zeta: case.fix_zeta,
            corrections: corr,
            amp_guess: amps,
            samples: design.bsa_samples,
            burn_in: design.bsa_samples,
            seed: design.seed + k as u64,
            ..Default::default()
        };
        let scales = [Some(p.x_c.err_stat), Some(p.nu.err_stat), z.then_some(p.zeta.err_stat)];
        if let Ok(b) = bsa::fit(&case.data, &opts, &scales) {
            out.push((
                "BSA (Gaussian process, MCMC), same corrections".into(),
                [Some((b.x_c, b.x_c_err)), Some((b.nu, b.nu_err)), z.then_some((b.zeta, b.zeta_err))],
            ));
            out.push((
                "BSA posterior ⊕ the default's sys".into(),
                [
                    Some((b.x_c, b.x_c_err.hypot(p.x_c.err_sys))),
                    Some((b.nu, b.nu_err.hypot(p.nu.err_sys))),
                    z.then_some((b.zeta, b.zeta_err.hypot(p.zeta.err_sys))),
                ],
            ));
        }
    }
    Some((a.model.correction.clone(), out))
}

/// Run every case (in parallel) and score every method.
pub fn run(cases: &[Case], design: &CoverageDesign, progress: &(dyn Fn(usize) + Sync)) -> CoverageReport {
    let done = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<Option<(String, Vec<(String, Est)>)>> = cases
        .par_iter()
        .enumerate()
        .map(|(k, c)| {
            let r = run_case(c, k, design);
            progress(done.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1);
            r
        })
        .collect();
    let mut methods: Vec<(String, usize, usize, usize, f64)> = Vec::new();
    let mut chosen: Vec<(String, usize)> = Vec::new();
    let mut records = Vec::new();
    for (case, r) in cases.iter().zip(&results) {
        let Some((ch, ests)) = r else {
            records.push(CaseRecord { name: case.name.clone(), chosen: "failed".into(), estimates: Vec::new() });
            continue;
        };
        match chosen.iter_mut().find(|c| &c.0 == ch) {
            Some(c) => c.1 += 1,
            None => chosen.push((ch.clone(), 1)),
        }
        for (m, est) in ests {
            let idx = methods.iter().position(|x| &x.0 == m).unwrap_or_else(|| {
                methods.push((m.clone(), 0, 0, 0, 0.0));
                methods.len() - 1
            });
            for (e, t) in est.iter().zip(case.truth) {
                if let (Some((v, s)), Some(t)) = (e, t) {
                    let d = (v - t).abs();
                    let entry = &mut methods[idx];
                    entry.1 += 1;
                    entry.2 += usize::from(d <= *s);
                    entry.3 += usize::from(d <= 2.0 * s);
                    entry.4 += if *s > 0.0 { (d / s).powi(2).min(1e6) } else { 1e6 };
                }
            }
        }
        records.push(CaseRecord { name: case.name.clone(), chosen: ch.clone(), estimates: ests.clone() });
    }
    CoverageReport {
        methods: methods
            .into_iter()
            .map(|(m, n, a, b, z2)| MethodCoverage {
                method: m,
                n,
                within_1sigma: a as f64 / n.max(1) as f64,
                within_2sigma: b as f64 / n.max(1) as f64,
                rms_z: (z2 / n.max(1) as f64).sqrt(),
            })
            .collect(),
        chosen,
        cases: records,
    }
}
