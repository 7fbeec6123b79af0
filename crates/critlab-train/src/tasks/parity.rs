//! Sparse parity (Barak et al. 2022): x uniform in {−1, +1}^n, label = parity of k fixed bits.
use super::{Dataset, Inputs, Targets};
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `samples` examples of n-bit inputs whose label is 1 when the product of the k relevant bits
/// is −1. The relevant bits are drawn from the seed.
pub fn generate(samples: usize, n: usize, k: usize, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let relevant = sample(&mut rng, n, k).into_vec();
    let mut values = Vec::with_capacity(samples * n);
    let mut labels = Vec::with_capacity(samples);
    for _ in 0..samples {
        let row: Vec<f32> = (0..n).map(|_| if rng.gen::<bool>() { 1.0 } else { -1.0 }).collect();
        let prod: f32 = relevant.iter().map(|&i| row[i]).product();
        labels.push((prod < 0.0) as u32);
        values.extend(row);
    }
    Dataset { inputs: Inputs::Dense { values, dim: n }, targets: Targets::Classes { labels, classes: 2 } }
}

#[cfg(test)]
mod tests {
    #[test]
    fn labels_are_balanced_and_seeded() {
        let d = super::generate(4000, 20, 3, 9);
        let super::Targets::Classes { labels, .. } = &d.targets else { unreachable!() };
        let ones = labels.iter().filter(|&&l| l == 1).count() as f64 / 4000.0;
        assert!((ones - 0.5).abs() < 0.05, "{ones}");
        assert_eq!(d.targets, super::generate(4000, 20, 3, 9).targets);
    }
}
