//! `fourier_ipr`: the Fourier inverse participation ratio of the first layer (or embedding) of a
//! model on a modular task (Gromov 2023; Doshi et al. 2024; docs/theory.md §9), an order parameter
//! of grokking: generalising solutions of modular arithmetic use a few frequencies.
//!
//! For each neuron (column j) of the input weights over the tokens a ∈ [0, p), ŵ_k =
//! Σ_a w_{a j} e^{−2πi k a / p} (k = 0 … p−1) and
//!
//! IPR_j = Σ_k |ŵ_k|⁴ / (Σ_k |ŵ_k|²)²,
//!
//! averaged over neurons (and over the input positions of a one-hot MLP, whose first layer has
//! a block of p rows per position). A neuron on one frequency k ≠ 0 has IPR = 1/2 (the pair k,
//! p − k), white noise ≈ 2/p. Which matrix: `embed` (first p rows: the transformer's extra '='
//! token is left out) when the model has one, else `layer0.weight` of the MLP. NaN for
//! non-modular tasks.
use super::{HostMatrix, Kind, Measurements, Probe};
use nalgebra::DMatrix;

/// Fourier power |ŵ_k|² at k = 0 … p−1 of every column of rows `[offset, offset + p)` of `m`
/// (ŵ_k = Σ_a w_{a,col} e^{−2πi k a / p}), as a `[p, cols]` matrix: row k, column `col`. The
/// real and imaginary parts of all columns at once are two products, of the p × p tables
/// cos(2π ka/p) and sin(2π ka/p) with the block (O(p² cols) in a matrix product, against the
/// same count of scalar multiply-adds with an integer division each before).
pub fn block_power(m: &HostMatrix, offset: usize, p: usize) -> DMatrix<f64> {
    let (cos, sin): (Vec<f64>, Vec<f64>) =
        (0..p).map(|i| (std::f64::consts::TAU * i as f64 / p as f64).sin_cos()).map(|(s, c)| (c, s)).unzip();
    let cos_table = DMatrix::from_fn(p, p, |k, a| cos[(k * a) % p]);
    let sin_table = DMatrix::from_fn(p, p, |k, a| sin[(k * a) % p]);
    let block = DMatrix::from_row_iterator(
        p,
        m.cols,
        m.values[offset * m.cols..(offset + p) * m.cols].iter().map(|&v| v as f64),
    );
    let re = cos_table * &block;
    let im = sin_table * &block;
    re.component_mul(&re) + im.component_mul(&im)
}

/// IPR of each column of rows `[offset, offset + p)` of `m`.
fn column_iprs(m: &HostMatrix, offset: usize, p: usize, out: &mut Vec<f64>) {
    let power = block_power(m, offset, p);
    for column in power.column_iter() {
        let s2: f64 = column.iter().sum();
        let s4: f64 = column.iter().map(|pw| pw * pw).sum();
        if s2 > 0.0 {
            out.push(s4 / (s2 * s2));
        }
    }
}

/// The mean Fourier IPR over the neurons of a model's input weights, for modulus `p`.
pub fn fourier_ipr(m: &Measurements, p: usize) -> f64 {
    let mut iprs = Vec::new();
    if let Some(e) = m.param("embed").filter(|e| e.rows >= p) {
        column_iprs(e, 0, p, &mut iprs);
    } else if let Some(w) = m.param("layer0.weight").filter(|w| w.rows >= p && w.rows % p == 0) {
        for block in 0..w.rows / p {
            column_iprs(w, block * p, p, &mut iprs);
        }
    }
    if iprs.is_empty() {
        f64::NAN
    } else {
        iprs.iter().sum::<f64>() / iprs.len() as f64
    }
}

/// The probe.
pub struct FourierIpr;

impl Probe for FourierIpr {
    fn name(&self) -> &'static str {
        "fourier_ipr"
    }
    fn unit(&self) -> &'static str {
        "fraction"
    }
    fn kind(&self) -> Kind {
        Kind::OrderParameter
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.modulus.map(|p| fourier_ipr(m, p)).unwrap_or(f64::NAN)));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn one_frequency_gives_one_half_and_noise_is_small() {
        let p = 23;
        // Column 0: cos(2π·3a/p); column 1: pseudo-random.
        let mut values = Vec::new();
        for a in 0..p {
            values.push((std::f64::consts::TAU * 3.0 * a as f64 / p as f64).cos() as f32);
            values.push((((a * 7919) % 31) as f32 - 15.0) / 15.0);
        }
        let m = HostMatrix { rows: p, cols: 2, values };
        let mut out = Vec::new();
        column_iprs(&m, 0, p, &mut out);
        assert!((out[0] - 0.5).abs() < 1e-9, "{out:?}");
        assert!(out[1] < 0.3, "{out:?}");
    }

    /// The power as it was computed before `block_power`: one column at a time, the sums
    /// written out.
    pub(crate) fn column_power_direct(m: &HostMatrix, offset: usize, p: usize, col: usize) -> Vec<f64> {
        let (cos, sin): (Vec<f64>, Vec<f64>) =
            (0..p).map(|i| (std::f64::consts::TAU * i as f64 / p as f64).sin_cos()).map(|(s, c)| (c, s)).unzip();
        let w: Vec<f64> = (0..p).map(|a| m.values[(offset + a) * m.cols + col] as f64).collect();
        (0..p)
            .map(|k| {
                let (mut re, mut im) = (0.0, 0.0);
                for (a, wa) in w.iter().enumerate() {
                    let idx = (k * a) % p;
                    re += wa * cos[idx];
                    im -= wa * sin[idx];
                }
                re * re + im * im
            })
            .collect()
    }

    #[test]
    fn the_block_product_gives_the_direct_sums() {
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
        let (p, cols) = (97, 40);
        let m = HostMatrix { rows: 2 * p, cols, values: (0..2 * p * cols).map(|_| rng.gen_range(-1.0..1.0)).collect() };
        for offset in [0, p] {
            let power = block_power(&m, offset, p);
            assert_eq!(power.shape(), (p, cols));
            for c in 0..cols {
                let direct = column_power_direct(&m, offset, p, c);
                let total: f64 = direct.iter().sum();
                for (k, d) in direct.iter().enumerate() {
                    assert!(
                        (power[(k, c)] - d).abs() <= 1e-13 * total,
                        "offset {offset}, column {c}, k {k}: {} vs {d}",
                        power[(k, c)]
                    );
                }
            }
        }
    }
}
