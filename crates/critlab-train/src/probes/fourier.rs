//! `fourier_sparsity`: how concentrated the token weights of a modular task are on few
//! Fourier frequencies (Nanda et al. 2023, "Progress measures for grokking via mechanistic
//! interpretability": the generalising circuit uses a handful of key frequencies, and the
//! weights become sparse in the Fourier basis as the model groks).
//!
//! The token matrix is the first layer of a one-hot MLP (`[positions·p, width]`, one block of
//! p rows per input position) or the token embedding (`[p (+1), d]`; an extra `=` row is
//! dropped). For every block and column w (a function of the token a ∈ Z_p) the discrete
//! Fourier power |ŵ_k|² is summed over blocks and columns per frequency pair
//! k ∈ {1, …, ⌊p/2⌋} (k and p − k together; k = 0, the mean, excluded). With q_k the
//! fraction of power at k, the stored value is the inverse participation ratio
//! Σ q_k² ∈ [1/⌊p/2⌋, 1]: 1/⌊p/2⌋ for a flat spectrum, 1 when one frequency carries it all.
//! Nanda et al.'s restricted and excluded losses are the `fourier_losses` probe.
use super::fourier_ipr::block_power;
use super::{HostMatrix, Kind, Measurements, Probe};

/// Fourier power per frequency 1..=⌊p/2⌋ of the token rows of `m` (blocks of `p` rows).
pub fn fourier_power(m: &HostMatrix, p: usize, blocks: usize) -> Vec<f64> {
    let half = p / 2;
    let mut power = vec![0.0; half];
    for b in 0..blocks {
        let block = block_power(m, b * p, p);
        for (k, slot) in power.iter_mut().enumerate() {
            *slot += block.row(k + 1).sum();
        }
    }
    power
}

/// Inverse participation ratio Σ q_k² of a power spectrum (NaN when it is all zero).
pub fn spectral_ipr(power: &[f64]) -> f64 {
    let total: f64 = power.iter().sum();
    if total <= 0.0 || !total.is_finite() {
        return f64::NAN;
    }
    power.iter().map(|v| (v / total).powi(2)).sum()
}

/// The probe, for a token task with `vocab` = p tokens at `positions` input positions.
pub struct FourierSparsity {
    vocab: usize,
    positions: usize,
}

impl FourierSparsity {
    /// A probe for p = `vocab` tokens at `positions` positions.
    pub fn new(vocab: usize, positions: usize) -> Self {
        Self { vocab, positions }
    }
}

impl Probe for FourierSparsity {
    fn name(&self) -> &'static str {
        "fourier_sparsity"
    }
    fn unit(&self) -> &'static str {
        "fraction"
    }
    fn kind(&self) -> Kind {
        Kind::OrderParameter
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        let p = self.vocab;
        let found = m.weights.iter().map(|(_, w)| w).find_map(|w| {
            if w.rows == p * self.positions {
                Some((w, self.positions))
            } else if w.rows == p || w.rows == p + 1 {
                Some((w, 1))
            } else {
                None
            }
        });
        let value = found.map_or(f64::NAN, |(w, blocks)| spectral_ipr(&fourier_power(w, p, blocks)));
        out.push((self.name().into(), value));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_frequency_is_fully_sparse_and_noise_is_not() {
        let p = 11;
        // Two columns cos(2π·3a/p) and sin(2π·3a/p): all power at k = 3.
        let values: Vec<f32> = (0..p)
            .flat_map(|a| {
                let x = std::f64::consts::TAU * 3.0 * a as f64 / p as f64;
                [x.cos() as f32, x.sin() as f32]
            })
            .collect();
        let m = HostMatrix { rows: p, cols: 2, values };
        let power = fourier_power(&m, p, 1);
        assert!((spectral_ipr(&power) - 1.0).abs() < 1e-9);
        assert!(power[2] > 1.0 && power[0] < 1e-9);
        // A delta function has a flat spectrum: IPR = 1/⌊p/2⌋.
        let delta: Vec<f32> = (0..p).map(|a| f32::from(a == 0)).collect();
        let flat = spectral_ipr(&fourier_power(&HostMatrix { rows: p, cols: 1, values: delta }, p, 1));
        assert!((flat - 1.0 / 5.0).abs() < 1e-9);
    }

    #[test]
    fn the_sparsity_is_what_the_direct_sums_gave() {
        use crate::probes::fourier_ipr::tests::column_power_direct;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
        let (p, cols, blocks) = (97, 64, 2);
        let m = HostMatrix {
            rows: blocks * p,
            cols,
            values: (0..blocks * p * cols).map(|_| rng.gen_range(-1.0..1.0)).collect(),
        };
        // fourier_power as it was: column by column, the direct sums.
        let mut direct = vec![0.0; p / 2];
        for b in 0..blocks {
            for c in 0..cols {
                for (slot, v) in direct.iter_mut().zip(&column_power_direct(&m, b * p, p, c)[1..]) {
                    *slot += v;
                }
            }
        }
        let (new, old) = (spectral_ipr(&fourier_power(&m, p, blocks)), spectral_ipr(&direct));
        assert!((new - old).abs() <= 1e-12 * old, "{new} vs {old}");
    }
}
