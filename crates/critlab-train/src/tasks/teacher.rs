//! Teacher–student regression: y = teacher(x) + σ ε with a random one-hidden-layer tanh
//! teacher, x ~ N(0, I_d), ε ~ N(0, 1). The order parameter is R² on the test set.
use super::{Dataset, Inputs, Targets};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `samples` examples from a teacher of hidden width `width` seeded by `seed`.
pub fn generate(samples: usize, dim: usize, width: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    // Teacher weights: W1 ~ N(0, 1/d), w2 ~ N(0, 1/width), so y has O(1) variance.
    let w1: Vec<f64> = (0..dim * width).map(|_| normal() / (dim as f64).sqrt()).collect();
    let w2: Vec<f64> = (0..width).map(|_| normal() / (width as f64).sqrt()).collect();
    let mut values = Vec::with_capacity(samples * dim);
    let mut targets = Vec::with_capacity(samples);
    for _ in 0..samples {
        let x: Vec<f64> = (0..dim).map(|_| normal()).collect();
        let y: f64 = (0..width)
            .map(|j| w2[j] * (0..dim).map(|i| x[i] * w1[i * width + j]).sum::<f64>().tanh())
            .sum();
        targets.push((y + noise * normal()) as f32);
        values.extend(x.iter().map(|&v| v as f32));
    }
    Dataset { inputs: Inputs::Dense { values, dim }, targets: Targets::Real(targets) }
}

#[cfg(test)]
mod tests {
    #[test]
    fn targets_have_signal() {
        let d = super::generate(2000, 8, 16, 0.0, 3);
        let idx: Vec<usize> = (0..2000).collect();
        assert!(d.target_variance(&idx) > 0.05);
    }
}
