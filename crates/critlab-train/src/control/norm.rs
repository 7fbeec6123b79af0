//! Omnigrok's constrained weight norm (Liu, Michaud, Tegmark 2022, "Omnigrok: grokking beyond
//! algorithmic data", arXiv 2210.01117, §3): training on the sphere ‖θ‖ = c removes the
//! slow norm decay that delays generalisation. Here c = ratio · ‖θ₀‖ and every parameter of
//! a replica (biases included) is rescaled by c/‖θ‖ at initialisation and after every update.
//! Omnigrok fixes c directly; the ratio makes one setting portable across models.
use burn::tensor::{Device, Tensor};

/// The projection of a replica group.
pub struct Projection {
    ratio: Vec<Option<f64>>,
    target: Option<Vec<f64>>,
    device: Device,
}

impl Projection {
    /// `ratio[r]`: replica r's target as a multiple of its initial norm, `None` for none.
    pub fn new(ratio: Vec<Option<f64>>, device: &Device) -> Self {
        Self { ratio, target: None, device: device.clone() }
    }

    /// The target norm c of each replica (0 for replicas without projection), known after
    /// the first [`Projection::apply`].
    pub fn targets(&self) -> Option<&[f64]> {
        self.target.as_deref()
    }

    /// Rescales each projected replica's parameters onto its sphere; the first call fixes the
    /// targets from the norms it finds. A replica whose norm is 0 or not finite is left alone
    /// (the trainer's divergence check sees it).
    pub fn apply(&mut self, params: &mut [Tensor<3>]) {
        let norms: Vec<f64> = super::sq_norms(params).into_iter().map(f64::sqrt).collect();
        let target = self
            .target
            .get_or_insert_with(|| self.ratio.iter().zip(&norms).map(|(r, n)| r.map_or(0.0, |r| r * n)).collect());
        let factor: Vec<f64> = self
            .ratio
            .iter()
            .zip(target.iter().zip(&norms))
            .map(|(r, (c, n))| if r.is_some() && n.is_finite() && *n > 0.0 { c / n } else { 1.0 })
            .collect();
        let col = super::column(&factor, &self.device);
        for p in params.iter_mut() {
            *p = p.clone() * col.clone();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::TensorData;

    /// After a projection the norm is exactly the target (to f32 rounding), at init and later;
    /// an unprojected replica is untouched.
    #[test]
    fn projection_lands_on_the_sphere() {
        let device = crate::cpu_device();
        let mk = |v: Vec<f32>| Tensor::<3>::from_data(TensorData::new(v, [2, 1, 2]), &device);
        // Replica 0: ‖θ₀‖ = √(3² + 4² + 12²) = 13 (over two tensors), target 0.5·13 = 6.5.
        let mut params = vec![mk(vec![3.0, 4.0, 1.0, 1.0]), mk(vec![12.0, 0.0, 2.0, 0.0])];
        let mut proj = Projection::new(vec![Some(0.5), None], &device);
        proj.apply(&mut params);
        assert_eq!(proj.targets().unwrap(), &[6.5, 0.0]);
        let norm0 = |ps: &[Tensor<3>]| super::super::sq_norms(ps)[0].sqrt();
        assert!((norm0(&params) - 6.5).abs() < 1e-5, "{}", norm0(&params));
        let p0: Vec<f32> = params[0].clone().try_into_vec_as::<f32>().unwrap();
        assert_eq!(&p0[2..], &[1.0, 1.0], "replica 1 untouched");
        assert!((p0[0] - 1.5).abs() < 1e-6 && (p0[1] - 2.0).abs() < 1e-6, "direction kept: {p0:?}");
        // A step off the sphere is projected back onto the same target.
        params[1] = params[1].clone() * 3.0;
        proj.apply(&mut params);
        assert!((norm0(&params) - 6.5).abs() < 1e-5);
    }
}
