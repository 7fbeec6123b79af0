//! Small statistics toolbox: seeded random streams, Gaussian draws, quantiles, bootstrap
//! spreads and information criteria.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A reproducible random stream: the same `(seed, stream)` always gives the same numbers,
/// independent of thread scheduling (one stream per bootstrap replicate, per simulated
/// lattice, ...).
pub fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream);
    r
}

/// One standard normal deviate by the Box–Muller transform (Box & Muller 1958).
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    loop {
        let u1: f64 = rng.gen();
        let u2: f64 = rng.gen();
        if u1 > f64::MIN_POSITIVE {
            return (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
        }
    }
}

/// Arithmetic mean (0 for an empty slice).
pub fn mean(v: &[f64]) -> f64 {
    if v.is_empty() {
        0.0
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Sample standard deviation with Bessel's correction (0 for fewer than two values).
pub fn std_dev(v: &[f64]) -> f64 {
    if v.len() < 2 {
        return 0.0;
    }
    let m = mean(v);
    (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64).sqrt()
}

/// Quantile `q ∈ [0, 1]` of already sorted values, linear interpolation between order
/// statistics (Hyndman & Fan 1996, type 7, the numpy default).
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let h = q.clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let lo = h.floor() as usize;
    let hi = h.ceil() as usize;
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// Robust one-sigma spread of bootstrap replicates: half the distance between the 15.87% and
/// 84.13% quantiles, which equals the standard deviation for a Gaussian but ignores the odd
/// replicate whose fit wandered off. Non-finite replicates are discarded; `None` with fewer
/// than 8 usable replicates.
pub fn bootstrap_spread(replicates: &[f64]) -> Option<f64> {
    let mut v: Vec<f64> = replicates.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 8 {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let s = 0.5 * (quantile_sorted(&v, 0.841_344_7) - quantile_sorted(&v, 0.158_655_3));
    Some(s.max(0.0))
}

/// Akaike information criterion (Akaike 1974) for a least-squares fit with `k` parameters.
/// With known uncertainties (`weighted`): AIC = χ² + 2k; without: AIC = n ln(RSS/n) + 2k.
pub fn aic(chi2_or_rss: f64, n: usize, k: usize, weighted: bool) -> f64 {
    log_likelihood_term(chi2_or_rss, n, weighted) + 2.0 * k as f64
}

/// Bayesian information criterion (Schwarz 1978): χ² + k ln n (or n ln(RSS/n) + k ln n).
pub fn bic(chi2_or_rss: f64, n: usize, k: usize, weighted: bool) -> f64 {
    log_likelihood_term(chi2_or_rss, n, weighted) + k as f64 * (n as f64).ln()
}

fn log_likelihood_term(chi2_or_rss: f64, n: usize, weighted: bool) -> f64 {
    if weighted {
        chi2_or_rss
    } else {
        let n = n.max(1) as f64;
        n * (chi2_or_rss.max(f64::MIN_POSITIVE) / n).ln()
    }
}

/// The reported error of a parameter estimated two ways: the bootstrap spread when there is
/// one, else the curvature error, else 0. The bootstrap is preferred because it is the
/// calibrated one in our coverage measurements (docs/physics.md): pyfssa's curvature rule for
/// the collapse quality (S rises by S_min) covered the truth in 100% of synthetic draws at
/// "one sigma", i.e. it is several times too wide.
pub fn combine_errors(bootstrap: Option<f64>, curvature: Option<f64>) -> f64 {
    bootstrap.or(curvature).unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_draws_have_unit_variance() {
        let mut r = rng(1, 0);
        let v: Vec<f64> = (0..20_000).map(|_| standard_normal(&mut r)).collect();
        assert!(mean(&v).abs() < 0.03);
        assert!((std_dev(&v) - 1.0).abs() < 0.03);
        let s = bootstrap_spread(&v).unwrap();
        assert!((s - 1.0).abs() < 0.04, "{s}");
    }

    #[test]
    fn quantiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0];
        assert_eq!(quantile_sorted(&v, 0.0), 1.0);
        assert_eq!(quantile_sorted(&v, 1.0), 4.0);
        assert!((quantile_sorted(&v, 0.5) - 2.5).abs() < 1e-12);
    }
}
