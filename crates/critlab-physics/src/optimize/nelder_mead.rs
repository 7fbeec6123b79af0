//! Nelder–Mead downhill simplex (Nelder & Mead 1965) with the dimension-adaptive coefficients
//! of Gao & Han (2012) and restarts from the best vertex (a standard guard against premature
//! collapse of the simplex on non-smooth objectives such as the collapse quality S).

/// Stopping rules for [`minimize`].
#[derive(Debug, Clone, Copy)]
pub struct NelderMeadOptions {
    /// Maximum number of objective evaluations over all restarts.
    pub max_evals: usize,
    /// Stop when the spread of objective values in the simplex is below
    /// `f_tol · (1 + |f_best|)`.
    pub f_tol: f64,
    /// …and every vertex is within `x_tol · step_i` of the best one along every axis `i`.
    pub x_tol: f64,
    /// Restarts from the best vertex after convergence (each with the initial steps).
    pub restarts: usize,
}

impl Default for NelderMeadOptions {
    fn default() -> Self {
        Self { max_evals: 2000, f_tol: 1e-9, x_tol: 1e-5, restarts: 2 }
    }
}

/// Result of a minimisation.
#[derive(Debug, Clone)]
pub struct Minimum {
    /// Best point found.
    pub x: Vec<f64>,
    /// Objective at `x`.
    pub f: f64,
    /// Objective evaluations used.
    pub evals: usize,
    /// Whether the stopping rules were met before `max_evals`.
    pub converged: bool,
}

/// Minimise `f` from `x0` with initial simplex steps `step` (one per coordinate). Non-finite
/// objective values count as +∞, so constraints can be expressed by returning `f64::INFINITY`.
pub fn minimize<F: FnMut(&[f64]) -> f64>(mut f: F, x0: &[f64], step: &[f64], opts: NelderMeadOptions) -> Minimum {
    let n = x0.len();
    let mut evals = 0usize;
    let mut eval = |x: &[f64], evals: &mut usize| {
        *evals += 1;
        let v = f(x);
        if v.is_finite() {
            v
        } else {
            f64::INFINITY
        }
    };
    let nf = n as f64;
    let (alpha, gamma, rho, sigma) = (1.0, 1.0 + 2.0 / nf, 0.75 - 0.5 / nf, 1.0 - 1.0 / nf);
    let mut best = x0.to_vec();
    let mut best_f = eval(&best, &mut evals);
    let mut converged = false;
    for round in 0..=opts.restarts {
        let mut sim: Vec<Vec<f64>> = vec![best.clone()];
        let mut fs = vec![best_f];
        for i in 0..n {
            let mut v = best.clone();
            v[i] += step[i];
            fs.push(eval(&v, &mut evals));
            sim.push(v);
        }
        converged = false;
        while evals < opts.max_evals {
            let mut order: Vec<usize> = (0..=n).collect();
            order.sort_by(|&a, &b| fs[a].total_cmp(&fs[b]));
            sim = order.iter().map(|&i| sim[i].clone()).collect();
            fs = order.iter().map(|&i| fs[i]).collect();
            let spread_f = fs[n] - fs[0];
            let spread_x = (1..=n).all(|v| (0..n).all(|i| (sim[v][i] - sim[0][i]).abs() <= opts.x_tol * step[i].abs()));
            if spread_f.is_finite() && spread_f <= opts.f_tol * (1.0 + fs[0].abs()) && spread_x {
                converged = true;
                break;
            }
            let centroid: Vec<f64> = (0..n).map(|i| sim[..n].iter().map(|v| v[i]).sum::<f64>() / nf).collect();
            let along = |t: f64| -> Vec<f64> { (0..n).map(|i| centroid[i] + t * (sim[n][i] - centroid[i])).collect() };
            let xr = along(-alpha);
            let fr = eval(&xr, &mut evals);
            if fr < fs[0] {
                let xe = along(-alpha * gamma);
                let fe = eval(&xe, &mut evals);
                if fe < fr {
                    (sim[n], fs[n]) = (xe, fe)
                } else {
                    (sim[n], fs[n]) = (xr, fr)
                }
            } else if fr < fs[n - 1] {
                (sim[n], fs[n]) = (xr, fr);
            } else {
                let (xc, fc) = if fr < fs[n] {
                    let xc = along(-alpha * rho);
                    let fc = eval(&xc, &mut evals);
                    (xc, fc)
                } else {
                    let xc = along(rho);
                    let fc = eval(&xc, &mut evals);
                    (xc, fc)
                };
                if fc < fs[n].min(fr) {
                    (sim[n], fs[n]) = (xc, fc);
                } else {
                    for v in 1..=n {
                        let shrunk: Vec<f64> = (0..n).map(|i| sim[0][i] + sigma * (sim[v][i] - sim[0][i])).collect();
                        fs[v] = eval(&shrunk, &mut evals);
                        sim[v] = shrunk;
                    }
                }
            }
        }
        let ib = (0..=n).min_by(|&a, &b| fs[a].total_cmp(&fs[b])).unwrap_or(0);
        let improved = fs[ib] < best_f - opts.f_tol * (1.0 + best_f.abs());
        if fs[ib] <= best_f {
            best = sim[ib].clone();
            best_f = fs[ib];
        }
        if (!improved && round > 0) || evals >= opts.max_evals {
            break;
        }
    }
    Minimum { x: best, f: best_f, evals, converged }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_rosenbrock_minimum() {
        let f = |x: &[f64]| (1.0 - x[0]).powi(2) + 100.0 * (x[1] - x[0] * x[0]).powi(2);
        let m = minimize(f, &[-1.2, 1.0], &[0.5, 0.5], NelderMeadOptions { max_evals: 5000, ..Default::default() });
        assert!((m.x[0] - 1.0).abs() < 1e-3 && (m.x[1] - 1.0).abs() < 1e-3, "{:?}", m.x);
    }

    #[test]
    fn respects_infinite_walls() {
        let f = |x: &[f64]| if x[0] < 0.5 { f64::INFINITY } else { (x[0] - 0.2).powi(2) };
        let m = minimize(f, &[2.0], &[0.3], NelderMeadOptions::default());
        assert!((m.x[0] - 0.5).abs() < 1e-3, "{:?}", m.x);
    }
}
