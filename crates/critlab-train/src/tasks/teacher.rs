//! Teacher–student regression: y = teacher(x) + σ ε with a random one-hidden-layer tanh
//! teacher, x ~ N(0, I_d), ε ~ N(0, 1). The order parameter is R² on the test set.
//!
//! Width 0 is the linear teacher y = w*·x + σ ε, w* ~ N(0, I/d), of Levi, Beck, Bar-Sinai
//! (ICLR 2024, "Grokking in linear estimators").
use super::{Dataset, Inputs, Targets};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, StandardNormal};

/// `samples` examples from a teacher of hidden width `width` (0: linear) seeded by `seed`.
pub fn generate(samples: usize, dim: usize, width: usize, noise: f64, seed: u64) -> Dataset {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut normal = || -> f64 { StandardNormal.sample(&mut rng) };
    if width == 0 {
        let w: Vec<f64> = (0..dim).map(|_| normal() / (dim as f64).sqrt()).collect();
        let mut values = Vec::with_capacity(samples * dim);
        let mut targets = Vec::with_capacity(samples);
        for _ in 0..samples {
            let x: Vec<f64> = (0..dim).map(|_| normal()).collect();
            let y: f64 = x.iter().zip(&w).map(|(a, b)| a * b).sum();
            targets.push((y + noise * normal()) as f32);
            values.extend(x.iter().map(|&v| v as f32));
        }
        return Dataset { inputs: Inputs::Dense { values, dim }, targets: Targets::Real(targets) };
    }
    // Teacher weights: W1 ~ N(0, 1/d), w2 ~ N(0, 1/width), so y has O(1) variance.
    let w1: Vec<f64> = (0..dim * width).map(|_| normal() / (dim as f64).sqrt()).collect();
    let w2: Vec<f64> = (0..width).map(|_| normal() / (width as f64).sqrt()).collect();
    let mut values = Vec::with_capacity(samples * dim);
    let mut targets = Vec::with_capacity(samples);
    for _ in 0..samples {
        let x: Vec<f64> = (0..dim).map(|_| normal()).collect();
        let y: f64 = (0..width).map(|j| w2[j] * (0..dim).map(|i| x[i] * w1[i * width + j]).sum::<f64>().tanh()).sum();
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

    #[test]
    fn linear_teacher_is_exactly_linear_with_unit_variance() {
        // Without noise, y is a linear function of x: recover w* from d examples and check
        // it predicts the rest; Var(y) = ‖w*‖² ≈ 1 for w* ~ N(0, I/d).
        let (n, d) = (4000, 50);
        let data = super::generate(n, d, 0, 0.0, 7);
        let super::Inputs::Dense { values, .. } = &data.inputs else { panic!("dense") };
        let super::Targets::Real(y) = &data.targets else { panic!("real") };
        let idx: Vec<usize> = (0..n).collect();
        let var = data.target_variance(&idx);
        assert!((var - 1.0).abs() < 0.5, "Var(y) = {var}");
        // Least squares on all examples by gradient descent on the normal equations.
        let mut w = vec![0.0f64; d];
        for _ in 0..300 {
            let mut g = vec![0.0f64; d];
            for i in 0..n {
                let x = &values[i * d..(i + 1) * d];
                let r: f64 = x.iter().zip(&w).map(|(a, b)| *a as f64 * b).sum::<f64>() - y[i] as f64;
                for (gj, xj) in g.iter_mut().zip(x) {
                    *gj += r * *xj as f64 / n as f64;
                }
            }
            for (wj, gj) in w.iter_mut().zip(&g) {
                *wj -= 0.5 * gj;
            }
        }
        let mse: f64 = (0..n)
            .map(|i| {
                let x = &values[i * d..(i + 1) * d];
                (x.iter().zip(&w).map(|(a, b)| *a as f64 * b).sum::<f64>() - y[i] as f64).powi(2)
            })
            .sum::<f64>()
            / n as f64;
        assert!(mse < 1e-8, "a linear fit leaves MSE {mse}");
    }
}
