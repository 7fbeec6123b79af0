//! Hand-written optimisers and linear algebra of critlab-physics against maintained crates
//! (docs/physics.md, "Optimisers and linear algebra against crates"):
//!
//! 1. Nelder–Mead on the collapse quality S (x_c, ν, ζ; synthetic data, L = 8…64, 25 points
//!    per size, σ = 0.01): critlab's `optimize::nelder_mead::minimize` against argmin 0.10's
//!    `NelderMead`, from the same 20 seeded starts and the same initial simplex: evaluations,
//!    final S, distance of the optimum from the truth, time.
//! 2. Linear algebra: the hand-written code that `optimize::linalg` had before issue 10
//!    (`handwritten.rs`: Gaussian elimination, normal equations with column scaling) against
//!    nalgebra 0.33 (LU, QR — what `optimize::linalg` now calls — and normal equations with
//!    Cholesky): time per call and accuracy on Vandermonde designs of growing degree.
//!
//! `cargo run --release --manifest-path bench/optimizers/Cargo.toml`

use argmin::core::{CostFunction, Error, Executor, State};
use argmin::solver::neldermead::NelderMead;
use critlab_physics::exponents::quality::{quality, ScaledCurve};
use critlab_physics::optimize::nelder_mead::{minimize, NelderMeadOptions};
use critlab_physics::validation::synthetic;
use critlab_physics::CollapseData;
use nalgebra::{DMatrix, DVector};
use std::cell::Cell;
use std::time::Instant;

mod handwritten;
use handwritten as linalg;

/// S at (x_c, ν, ζ), +∞ outside ν > 0 or when fewer than a fifth of the points overlap.
fn s_of(data: &CollapseData, p: &[f64]) -> f64 {
    let (x_c, nu, zeta) = (p[0], p[1], p[2]);
    if !(nu > 1e-3) {
        return f64::INFINITY;
    }
    let curves: Vec<ScaledCurve> = data
        .curves
        .iter()
        .map(|c| {
            let (sx, sy) = (c.size.powf(1.0 / nu), c.size.powf(-zeta / nu));
            ScaledCurve { x: c.x.iter().map(|x| sx * (x - x_c)).collect(), y: c.y.iter().map(|y| sy * y).collect(), dy: c.dy.iter().map(|d| sy * d).collect() }
        })
        .collect();
    let q = quality(&curves, None);
    if q.n_used < data.n_points().div_ceil(5) { f64::INFINITY } else { q.s }
}

struct Problem<'a> {
    data: &'a CollapseData,
    evals: &'a Cell<usize>,
}

impl CostFunction for Problem<'_> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, p: &Vec<f64>) -> Result<f64, Error> {
        self.evals.set(self.evals.get() + 1);
        let v = s_of(self.data, p);
        Ok(if v.is_finite() { v } else { 1e300 })
    }
}

fn lcg(state: &mut u64) -> f64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    ((*state >> 11) as f64) / ((1u64 << 53) as f64)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn nelder_mead() {
    let (x_c, nu, zeta) = (0.1, 1.5, 0.5);
    let data = synthetic::collapse_data(&[8.0, 16.0, 32.0, 64.0], -0.2, 0.4, 25, x_c, nu, zeta, 0.01, 3);
    let steps = [0.03, 0.3, 0.1];
    let mut rng = 42u64;
    let starts: Vec<Vec<f64>> = (0..20).map(|_| vec![x_c + 0.1 * (lcg(&mut rng) - 0.5), nu * (0.7 + 0.6 * lcg(&mut rng)), zeta + 0.6 * (lcg(&mut rng) - 0.5)]).collect();
    println!("Nelder–Mead on the collapse quality S: 4 sizes x 25 points, 20 starts, budget 2000 evaluations");
    println!("| optimiser | median evaluations | median final S | best final S | starts within 1e-3 of the best S | median |Δν| from truth | ms per start |");
    println!("|---|---|---|---|---|---|---|");
    let mut all_best = f64::INFINITY;
    let mut rows = Vec::new();
    for which in ["critlab nelder_mead (Gao-Han coefficients, 2 restarts)", "critlab nelder_mead (no restarts)", "argmin 0.10 NelderMead (standard coefficients)"] {
        let (mut ev, mut fs, mut dnu) = (Vec::new(), Vec::new(), Vec::new());
        let t = Instant::now();
        for s in &starts {
            let (f, x, e) = if which.starts_with("critlab") {
                let restarts = if which.contains("no restarts") { 0 } else { 2 };
                let m = minimize(|p| s_of(&data, p), s, &steps, NelderMeadOptions { max_evals: 2000, f_tol: 1e-9, x_tol: 1e-5, restarts });
                (m.f, m.x, m.evals)
            } else {
                let evals = Cell::new(0);
                let mut simplex = vec![s.clone()];
                for i in 0..3 {
                    let mut v = s.clone();
                    v[i] += steps[i];
                    simplex.push(v);
                }
                let solver = NelderMead::new(simplex).with_sd_tolerance(1e-9).expect("tolerance");
                let r = Executor::new(Problem { data: &data, evals: &evals }, solver).configure(|st| st.max_iters(2000)).run().expect("argmin run");
                let st = r.state();
                (st.get_best_cost(), st.get_best_param().cloned().unwrap_or_default(), evals.get())
            };
            ev.push(e as f64);
            fs.push(f);
            dnu.push((x[1] - nu).abs());
        }
        let ms = t.elapsed().as_secs_f64() * 1e3 / starts.len() as f64;
        all_best = fs.iter().cloned().fold(all_best, f64::min);
        rows.push((which, ev, fs, dnu, ms));
    }
    for (which, ev, fs, dnu, ms) in rows {
        let near = fs.iter().filter(|f| **f <= all_best + 1e-3).count();
        let best = fs.iter().cloned().fold(f64::INFINITY, f64::min);
        println!("| {which} | {:.0} | {:.4} | {best:.4} | {near}/20 | {:.4} | {ms:.1} |", median(ev), median(fs), median(dnu));
    }
}

fn vandermonde(n: usize, k: usize) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let xs: Vec<f64> = (0..n).map(|i| -1.0 + 3.0 * i as f64 / (n - 1) as f64).collect();
    let design: Vec<f64> = xs.iter().flat_map(|&x| (0..k).map(move |j| x.powi(j as i32))).collect();
    // y = Σ_j (j+1)^{-1} x^j exactly
    let y: Vec<f64> = xs.iter().map(|&x| (0..k).map(|j| x.powi(j as i32) / (j + 1) as f64).sum()).collect();
    (design, y, vec![1.0; n])
}

fn time<T>(reps: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let t = Instant::now();
    let mut out = f();
    for _ in 1..reps {
        out = std::hint::black_box(f());
    }
    (t.elapsed().as_secs_f64() * 1e6 / reps as f64, out)
}

fn linear_algebra() {
    println!("\nWeighted least squares on Vandermonde designs (n = 200 rows, exact coefficients 1/(j+1), x in [-1, 2]):");
    println!("| k | hand-written normal eq. µs | max coeff. error | nalgebra QR µs | max coeff. error | nalgebra normal eq. + Cholesky µs | max coeff. error |");
    println!("|---|---|---|---|---|---|---|");
    for k in [3usize, 6, 9, 12] {
        let (design, y, w) = vandermonde(200, k);
        let exact: Vec<f64> = (0..k).map(|j| 1.0 / (j + 1) as f64).collect();
        let err = |b: &[f64]| b.iter().zip(&exact).map(|(a, e)| (a - e).abs()).fold(0.0, f64::max);
        let (t1, r1) = time(2000, || linalg::weighted_least_squares(&design, &y, &w, k));
        let (t2, r2) = time(2000, || {
            // the same column scaling, then QR of √W X; covariance (RᵀR)⁻¹
            let x = DMatrix::from_row_slice(200, k, &design);
            let ws = DVector::from_iterator(200, w.iter().map(|v| v.sqrt()));
            let xw = DMatrix::from_fn(200, k, |i, j| ws[i] * x[(i, j)]);
            let yw = DVector::from_iterator(200, y.iter().zip(ws.iter()).map(|(a, b)| a * b));
            let qr = xw.qr();
            let r = qr.r();
            let qty = qr.q().transpose() * yw;
            let beta = r.solve_upper_triangular(&qty)?;
            let rinv = r.solve_upper_triangular(&DMatrix::identity(k, k))?;
            Some((beta, &rinv * rinv.transpose()))
        });
        let (t3, r3) = time(2000, || {
            let x = DMatrix::from_row_slice(200, k, &design);
            let xw = DMatrix::from_fn(200, k, |i, j| w[i] * x[(i, j)]);
            let xtwx = x.transpose() * &xw;
            let xtwy = xw.transpose() * DVector::from_row_slice(&y);
            let ch = xtwx.cholesky()?;
            Some((ch.solve(&xtwy), ch.inverse()))
        });
        let e1 = r1.map_or(f64::NAN, |(b, _)| err(&b));
        let e2 = r2.map_or(f64::NAN, |(b, _)| err(b.as_slice()));
        let e3 = r3.map_or(f64::NAN, |(b, _)| err(b.as_slice()));
        println!("| {k} | {t1:.2} | {e1:.1e} | {t2:.2} | {e2:.1e} | {t3:.2} | {e3:.1e} |");
    }
    println!("\nSolve A x = b (random diagonally dominant A) and invert:");
    println!("| n | hand-written solve µs | nalgebra LU solve µs | hand-written invert µs | nalgebra LU inverse µs | max |x_hand − x_nalgebra| |");
    println!("|---|---|---|---|---|---|");
    let mut s = 7u64;
    for n in [3usize, 6, 10, 20] {
        let a: Vec<f64> = (0..n * n).map(|i| if i % (n + 1) == 0 { n as f64 + lcg(&mut s) } else { lcg(&mut s) - 0.5 }).collect();
        let b: Vec<f64> = (0..n).map(|_| lcg(&mut s)).collect();
        let (t1, x1) = time(20000, || linalg::solve(&a, &b, n));
        let am = DMatrix::from_row_slice(n, n, &a);
        let bv = DVector::from_row_slice(&b);
        let (t2, x2) = time(20000, || am.clone().lu().solve(&bv));
        let (t3, _) = time(20000, || linalg::invert(&a, n));
        let (t4, _) = time(20000, || am.clone().lu().try_inverse());
        let d = x1.unwrap().iter().zip(x2.unwrap().iter()).map(|(p, q)| (p - q).abs()).fold(0.0, f64::max);
        println!("| {n} | {t1:.3} | {t2:.3} | {t3:.3} | {t4:.3} | {d:.1e} |");
    }
}

fn main() {
    nelder_mead();
    linear_algebra();
}
