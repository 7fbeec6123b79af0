//! 2D site percolation on L×L square lattices with open boundaries, simulated from scratch:
//! occupy each site with probability p, label clusters by union–find (Hoshen & Kopelman 1976
//! style, with path halving), and measure
//!
//! * the spanning probability R_L(p): a cluster touches both the top and the bottom row
//!   (FSS form R_L = F(L^{1/ν}(p − p_c)), i.e. ζ = 0);
//! * the density of the largest cluster P_L(p) = s_max / L² (FSS form
//!   P_L = L^{−β/ν} G(L^{1/ν}(p − p_c)), i.e. ζ = −β in pyfssa's convention).
//!
//! Exact: p_c = 0.592746… (numerical, Newman & Ziff 2000), ν = 4/3, β = 5/36 (den Nijs 1979,
//! Nienhuis 1982).

use crate::data::{CollapseData, SizeCurve};
use crate::stats::rng;
use rand::Rng;
use rayon::prelude::*;

fn find(parent: &mut [u32], mut i: u32) -> u32 {
    while parent[i as usize] != i {
        let g = parent[parent[i as usize] as usize];
        parent[i as usize] = g;
        i = g;
    }
    i
}

/// One lattice: (spans top to bottom, size of the largest cluster).
pub fn sample<R: Rng>(l: usize, p: f64, r: &mut R) -> (bool, usize) {
    let n = l * l;
    let occ: Vec<bool> = (0..n).map(|_| r.gen::<f64>() < p).collect();
    let mut parent: Vec<u32> = (0..n as u32).collect();
    let mut size = vec![1u32; n];
    let union = |parent: &mut Vec<u32>, size: &mut Vec<u32>, a: usize, b: usize| {
        let (ra, rb) = (find(parent, a as u32), find(parent, b as u32));
        if ra != rb {
            let (big, small) = if size[ra as usize] >= size[rb as usize] { (ra, rb) } else { (rb, ra) };
            parent[small as usize] = big;
            size[big as usize] += size[small as usize];
        }
    };
    for i in 0..l {
        for j in 0..l {
            let s = i * l + j;
            if !occ[s] {
                continue;
            }
            if j + 1 < l && occ[s + 1] {
                union(&mut parent, &mut size, s, s + 1);
            }
            if i + 1 < l && occ[s + l] {
                union(&mut parent, &mut size, s, s + l);
            }
        }
    }
    let mut top = vec![false; n];
    for j in 0..l {
        if occ[j] {
            let root = find(&mut parent, j as u32);
            top[root as usize] = true;
        }
    }
    let spans = (0..l).any(|j| {
        let s = (l - 1) * l + j;
        occ[s] && top[find(&mut parent, s as u32) as usize]
    });
    let largest = (0..n).filter(|&s| occ[s] && parent[s] == s as u32).map(|s| size[s] as usize).max().unwrap_or(0);
    (spans, largest)
}

/// Spanning probability and largest-cluster density for every size in `sizes` and every p in
/// `ps`, `samples` independent lattices per point (parallel, one seeded stream per point).
/// Uncertainties: R uses the Bayesian (uniform-prior Beta) standard deviation
/// sqrt((k+1)(n−k+1)/((n+2)²(n+3))), which stays positive at R = 0 or 1; P uses the standard
/// error of the mean.
pub fn simulate(sizes: &[usize], ps: &[f64], samples: usize, seed: u64) -> (CollapseData, CollapseData) {
    let jobs: Vec<(usize, usize)> = sizes.iter().flat_map(|&l| (0..ps.len()).map(move |k| (l, k))).collect();
    let results: Vec<(f64, f64, f64, f64)> = jobs
        .par_iter()
        .map(|&(l, k)| {
            let mut r = rng(seed, (l as u64) << 20 | k as u64);
            let (mut span, mut sum, mut sum2) = (0usize, 0.0, 0.0);
            for _ in 0..samples {
                let (s, big) = sample(l, ps[k], &mut r);
                span += usize::from(s);
                let d = big as f64 / (l * l) as f64;
                sum += d;
                sum2 += d * d;
            }
            let n = samples as f64;
            let k = span as f64;
            let r_err = ((k + 1.0) * (n - k + 1.0) / ((n + 2.0).powi(2) * (n + 3.0))).sqrt();
            let mean = sum / n;
            let var = ((sum2 / n - mean * mean) * n / (n - 1.0)).max(0.0);
            (k / n, r_err, mean, (var / n).sqrt().max(1e-12))
        })
        .collect();
    let build = |pick: &dyn Fn(&(f64, f64, f64, f64)) -> (f64, f64), name: &str| CollapseData {
        curves: sizes
            .iter()
            .enumerate()
            .map(|(a, &l)| {
                let rows = &results[a * ps.len()..(a + 1) * ps.len()];
                SizeCurve {
                    size: l as f64,
                    x: ps.to_vec(),
                    y: rows.iter().map(|r| pick(r).0).collect(),
                    dy: rows.iter().map(|r| pick(r).1).collect(),
                }
            })
            .collect(),
        has_dy: true,
        labels: ("L".into(), "p".into(), name.into()),
    };
    (build(&|r| (r.0, r.1), "spanning probability R"), build(&|r| (r.2, r.3), "largest cluster density P"))
}
