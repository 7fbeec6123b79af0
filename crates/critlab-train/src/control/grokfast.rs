//! Grokfast-EMA (Lee, Kang, Kim, Lee 2024, "Grokfast: accelerated grokking by amplifying slow
//! gradients", arXiv 2405.20233, Algorithm 2): a low-pass filter on the gradient,
//!
//!   μ_t = α μ_{t−1} + (1 − α) g_t  (μ_{−1} = g_0),   g̃_t = g_t + λ_gf μ_t,
//!
//! applied every step before the optimizer (so before coupled weight decay), as in the
//! paper's `gradfilter_ema`. The paper's modular-arithmetic setting is α = 0.98, λ_gf = 2.
use burn::tensor::{Device, Tensor};

/// The filter of a replica group: per-replica α and λ_gf (λ_gf = 0 leaves a replica's
/// gradient untouched) and one EMA per parameter tensor `[R, a, b]`.
pub struct Filter {
    alpha: Tensor<3>,
    one_minus_alpha: Tensor<3>,
    lambda: Tensor<3>,
    ema: Vec<Option<Tensor<3>>>,
}

impl Filter {
    /// A filter for `n_params` parameter tensors; `settings[r]` is replica r's (α, λ_gf), or
    /// `None` for a replica without the filter.
    pub fn new(settings: &[Option<(f64, f64)>], n_params: usize, device: &Device) -> Self {
        let col = |f: &dyn Fn(Option<(f64, f64)>) -> f64| {
            super::column(&settings.iter().map(|s| f(*s)).collect::<Vec<_>>(), device)
        };
        Self {
            alpha: col(&|s| s.map_or(0.0, |s| s.0)),
            one_minus_alpha: col(&|s| s.map_or(1.0, |s| 1.0 - s.0)),
            lambda: col(&|s| s.map_or(0.0, |s| s.1)),
            ema: vec![None; n_params],
        }
    }

    /// Filters one step's gradients.
    pub fn apply(&mut self, grads: Vec<Tensor<3>>) -> Vec<Tensor<3>> {
        grads
            .into_iter()
            .zip(self.ema.iter_mut())
            .map(|(g, slot)| {
                let prev = slot.take().unwrap_or_else(|| g.clone());
                let mu = prev * self.alpha.clone() + g.clone() * self.one_minus_alpha.clone();
                *slot = Some(mu.clone());
                g + mu * self.lambda.clone()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    fn host(t: Tensor<3>) -> Vec<f32> {
        t.try_into_vec_as::<f32>().unwrap()
    }

    /// The filter against the EMA computed by hand, for a filtered and an unfiltered replica.
    #[test]
    fn matches_a_hand_computed_ema() {
        let device = crate::cpu_device();
        let (alpha, lambda) = (0.5, 2.0);
        let mut f = Filter::new(&[Some((alpha, lambda)), None], 1, &device);
        let gs = [[1.0f32, 3.0], [2.0, -1.0], [4.0, 0.0]];
        // Replica 0: μ₀ = g₀ = 1; μ₁ = 0.5·1 + 0.5·2 = 1.5; μ₂ = 0.5·1.5 + 0.5·4 = 2.75.
        let expected = [1.0 + 2.0 * 1.0, 2.0 + 2.0 * 1.5, 4.0 + 2.0 * 2.75];
        for (g, want) in gs.iter().zip(expected) {
            let t = Tensor::from_data(TensorData::new(g.to_vec(), [2, 1, 1]), &device);
            let out = host(f.apply(vec![t]).remove(0));
            assert!((out[0] - want as f32).abs() < 1e-6, "{out:?} vs {want}");
            assert_eq!(out[1], g[1], "a replica without the filter keeps its gradient");
        }
    }
}
