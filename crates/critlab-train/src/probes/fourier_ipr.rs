//! `fourier_ipr`: the Fourier inverse participation ratio of the first layer (or embedding) of a
//! model on a modular task (Gromov 2023; Doshi et al. 2024; THEORY.md §9), an order parameter
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

/// Fourier power |ŵ_k|² at k = 0 … p−1 of column `col` over rows `[offset, offset + p)` of `m`
/// (ŵ_k = Σ_a w_{a,col} e^{−2πi k a / p}).
pub fn column_power(m: &HostMatrix, offset: usize, p: usize, col: usize) -> Vec<f64> {
    let (cos, sin): (Vec<f64>, Vec<f64>) = (0..p).map(|i| (std::f64::consts::TAU * i as f64 / p as f64).sin_cos()).map(|(s, c)| (c, s)).unzip();
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

/// IPR of each column of rows `[offset, offset + p)` of `m`.
fn column_iprs(m: &HostMatrix, offset: usize, p: usize, out: &mut Vec<f64>) {
    for j in 0..m.cols {
        let power = column_power(m, offset, p, j);
        let s2: f64 = power.iter().sum();
        let s4: f64 = power.iter().map(|pw| pw * pw).sum();
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
mod tests {
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
}
