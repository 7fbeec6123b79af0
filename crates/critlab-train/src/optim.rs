//! Optimizers with per-replica hyperparameters, applied as tensors.
//!
//! Every replica r has its own learning rate η_r and weight decay λ_r (tensors `[R, 1, 1]`
//! broadcast over each parameter); the other hyperparameters are shared by a replica group.
//! Update rules follow PyTorch's `torch.optim` so that runs compare one to one:
//!
//! * SGD: g ← ∇ + λθ (coupled), b ← μ b + g (b = g at the first step), θ ← θ − η b.
//! * Adam: g ← ∇ + λθ (coupled), m ← β₁m + (1−β₁)g, v ← β₂v + (1−β₂)g²,
//!   θ ← θ − η m̂/(√v̂ + ε) with m̂ = m/(1−β₁ᵗ), v̂ = v/(1−β₂ᵗ).
//! * AdamW: as Adam without the coupled term, and θ ← θ(1 − ηλ) before the step.
//!
//! Decoupled decay can be chosen for SGD and Adam too (`weight-decay-mode`). A linear warmup
//! multiplies η by min(1, (t+1)/warmup).
use burn::tensor::{Device, Tensor, TensorData};
use critlab_core::{OptimizerKind, ValidRunSpec};

/// Optimizer state of a replica group.
pub struct Optimizer {
    kind: OptimizerKind,
    decoupled: bool,
    momentum: f64,
    beta1: f64,
    beta2: f64,
    eps: f64,
    warmup: usize,
    lr: Vec<f64>,
    weight_decay: Vec<f64>,
    first: Vec<Option<Tensor<3>>>,
    second: Vec<Option<Tensor<3>>>,
    step: usize,
    device: Device,
}

impl Optimizer {
    /// An optimizer for `n_params` parameters of the given replicas (shared settings are read
    /// from the first spec; the executor only groups specs that agree on them).
    pub fn new(specs: &[ValidRunSpec], n_params: usize, device: &Device) -> Self {
        let s = &specs[0];
        Self {
            kind: s.optimizer,
            decoupled: s.decoupled_weight_decay(),
            momentum: s.momentum,
            beta1: s.beta1,
            beta2: s.beta2,
            eps: s.eps,
            warmup: s.warmup_steps,
            lr: specs.iter().map(|s| s.lr).collect(),
            weight_decay: specs.iter().map(|s| s.weight_decay).collect(),
            first: vec![None; n_params],
            second: vec![None; n_params],
            step: 0,
            device: device.clone(),
        }
    }

    /// The learning rate of each replica at the current step (warmup applied).
    pub fn current_lr(&self) -> Vec<f64> {
        let factor = if self.warmup > 0 { ((self.step + 1) as f64 / self.warmup as f64).min(1.0) } else { 1.0 };
        self.lr.iter().map(|l| l * factor).collect()
    }

    /// Freezes a replica (used when it diverged): its learning rate and decay become 0.
    pub fn freeze(&mut self, replica: usize) {
        self.lr[replica] = 0.0;
        self.weight_decay[replica] = 0.0;
    }

    fn column(&self, values: &[f64]) -> Tensor<3> {
        column(values, &self.device)
    }

    /// Replica `r`'s learning rate (before warmup) and weight decay.
    pub fn knobs(&self, r: usize) -> (f64, f64) {
        (self.lr[r], self.weight_decay[r])
    }

    /// Sets replica `r`'s learning rate (before warmup) and weight decay (a controller's
    /// action).
    pub fn set_knobs(&mut self, r: usize, lr: f64, weight_decay: f64) {
        self.lr[r] = lr;
        self.weight_decay[r] = weight_decay;
    }

    /// Adam β₁ (shared by the group).
    pub fn beta1(&self) -> f64 {
        self.beta1
    }

    /// The diagonal preconditioner of the last Adam-type update t, P = (1 − β₁ᵗ)·(√v̂ + ε) with
    /// v̂ = v/(1 − β₂ᵗ), per parameter (`[R, rows, cols]`), so that the update is
    /// θ ← θ − η P⁻¹ m (Cohen et al. 2022, "Adaptive gradient methods at the edge of
    /// stability"); `None` for SGD and before the first update.
    pub fn preconditioner(&self) -> Option<Vec<Tensor<3>>> {
        if self.kind == OptimizerKind::Sgd || self.step == 0 {
            return None;
        }
        let t = self.step as i32;
        let (bc1, bc2) = (1.0 - self.beta1.powi(t), 1.0 - self.beta2.powi(t));
        self.second
            .iter()
            .map(|v| v.as_ref().map(|v| v.clone().div_scalar(bc2).sqrt().add_scalar(self.eps).mul_scalar(bc1)))
            .collect()
    }

    /// One update of every parameter from its gradient (both without autodiff).
    pub fn step(&mut self, params: &mut [Tensor<3>], grads: Vec<Tensor<3>>) {
        let lr_now = self.current_lr();
        let lr = self.column(&lr_now);
        let has_decay = self.weight_decay.iter().any(|&w| w != 0.0);
        let wd = self.column(&self.weight_decay);
        let decay_factor =
            self.column(&lr_now.iter().zip(&self.weight_decay).map(|(l, w)| 1.0 - l * w).collect::<Vec<_>>());
        self.step += 1;
        let t = self.step as i32;
        for (i, (p, mut g)) in params.iter_mut().zip(grads).enumerate() {
            if has_decay && !self.decoupled {
                g = g + p.clone() * wd.clone();
            }
            let update = match self.kind {
                OptimizerKind::Sgd => {
                    if self.momentum > 0.0 {
                        let b = match self.first[i].take() {
                            Some(b) => b.mul_scalar(self.momentum) + g,
                            None => g,
                        };
                        self.first[i] = Some(b.clone());
                        b
                    } else {
                        g
                    }
                }
                OptimizerKind::Adam | OptimizerKind::Adamw => {
                    let m = match self.first[i].take() {
                        Some(m) => m.mul_scalar(self.beta1) + g.clone().mul_scalar(1.0 - self.beta1),
                        None => g.clone().mul_scalar(1.0 - self.beta1),
                    };
                    let v = match self.second[i].take() {
                        Some(v) => v.mul_scalar(self.beta2) + g.square().mul_scalar(1.0 - self.beta2),
                        None => g.square().mul_scalar(1.0 - self.beta2),
                    };
                    let bc1 = 1.0 - self.beta1.powi(t);
                    let bc2 = 1.0 - self.beta2.powi(t);
                    let u = m.clone().div_scalar(bc1) / (v.clone().div_scalar(bc2).sqrt().add_scalar(self.eps));
                    self.first[i] = Some(m);
                    self.second[i] = Some(v);
                    u
                }
            };
            let mut next = p.clone();
            if has_decay && self.decoupled {
                next = next * decay_factor.clone();
            }
            *p = next - update * lr.clone();
        }
    }
}

/// A `[R, 1, 1]` column of per-replica values.
pub(crate) fn column(values: &[f64], device: &Device) -> Tensor<3> {
    let v: Vec<f32> = values.iter().map(|&x| x as f32).collect();
    Tensor::from_data(TensorData::new(v, [values.len(), 1, 1]), device)
}
