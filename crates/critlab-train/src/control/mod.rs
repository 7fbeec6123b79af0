//! Adaptive training controllers (docs/theory.md §8 and §10), one per file, chosen per replica by
//! the run's `controller` option ([`critlab_core::Controller`]):
//!
//! * [`grokfast`]: Grokfast-EMA gradient filter, every step (the literature baseline);
//! * [`norm`]: Omnigrok's weight norm, projected every step;
//! * [`temperature`]: η/B held fixed while B follows the measured B_simple, every eval step;
//! * [`critical`]: an observable driven toward a target through λ or η, every eval step.
//!
//! A controller acts only through η, B, λ, a gradient filter or (Omnigrok) the norm
//! constraint; the eval-step controllers read the same [`Measurements`] the probes do, so
//! they are deterministic given the seed. [`Controllers`] holds the controllers of a replica
//! group and remembers each one's last action, which the trainer puts into the reason of a run
//! that diverges anyway.
pub(crate) use crate::optim::column;
use crate::probes::Measurements;
pub(crate) use crate::trainer::sq_norms;
use burn::tensor::{Device, Tensor};
use critlab_core::control::Knob;
use critlab_core::{Controller, ValidRunSpec};

pub mod critical;
pub mod grokfast;
pub mod norm;
pub mod temperature;

/// The hyperparameters a controller may move, of one replica (η before warmup).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Knobs {
    /// Learning rate η.
    pub lr: f64,
    /// Batch size B.
    pub batch: usize,
    /// Weight decay λ.
    pub weight_decay: f64,
}

/// The per-eval-step law of one replica.
enum Law {
    Fixed,
    Temperature(temperature::Law),
    Critical(critical::Law, Knob),
}

/// The controllers of a replica group.
pub struct Controllers {
    kinds: Vec<Controller>,
    laws: Vec<Law>,
    filter: Option<grokfast::Filter>,
    projection: Option<norm::Projection>,
    last: Vec<Option<String>>,
}

impl Controllers {
    /// The controllers of `specs` (one group), for a model of `n_params` parameter tensors.
    pub fn new(specs: &[ValidRunSpec], n_params: usize, device: &Device) -> Self {
        let kinds: Vec<Controller> = specs.iter().map(|s| s.controller.clone()).collect();
        let laws = specs
            .iter()
            .map(|s| match &s.controller {
                Controller::Temperature(o) => Law::Temperature(temperature::Law::new(o, s.lr, s.batch(), s.n_train())),
                Controller::Critical(o) => Law::Critical(critical::Law::new(o), o.knob),
                _ => Law::Fixed,
            })
            .collect();
        let gf: Vec<Option<(f64, f64)>> = kinds
            .iter()
            .map(|c| match c {
                Controller::Grokfast(o) => Some((o.alpha, o.lambda)),
                _ => None,
            })
            .collect();
        let ratio: Vec<Option<f64>> = kinds
            .iter()
            .map(|c| match c {
                Controller::Norm(o) => Some(o.ratio),
                _ => None,
            })
            .collect();
        Self {
            filter: gf.iter().any(Option::is_some).then(|| grokfast::Filter::new(&gf, n_params, device)),
            projection: ratio.iter().any(Option::is_some).then(|| norm::Projection::new(ratio, device)),
            last: vec![None; kinds.len()],
            laws,
            kinds,
        }
    }

    /// Whether replica `r` has a controller.
    pub fn active(&self, r: usize) -> bool {
        !self.kinds[r].is_none()
    }

    /// Whether some replica's batch size changes during training.
    pub fn variable_batch(&self) -> bool {
        self.laws.iter().any(|l| matches!(l, Law::Temperature(_)))
    }

    /// The knobs of replica `r` before the first update: the temperature controller starts at
    /// η = T·B (its target T may differ from the spec's lr/B); the others keep the spec's.
    pub fn start(&mut self, r: usize, spec: Knobs) -> Knobs {
        match &self.laws[r] {
            Law::Temperature(law) => {
                let lr = law.temperature * spec.batch as f64;
                self.last[r] =
                    Some(format!("temperature at start: η {:.4e} → {lr:.4e} = T·B (B = {})", spec.lr, spec.batch));
                Knobs { lr, ..spec }
            }
            _ => spec,
        }
    }

    /// Filters a step's gradients (Grokfast); the identity when no replica uses it.
    pub fn filter(&mut self, grads: Vec<Tensor<3>>) -> Vec<Tensor<3>> {
        match self.filter.as_mut() {
            Some(f) => f.apply(grads),
            None => grads,
        }
    }

    /// Projects the weights of Omnigrok replicas onto their sphere after update `t` (or at
    /// initialisation); nothing when no replica uses it.
    pub fn project(&mut self, params: &mut [Tensor<3>], t: Option<usize>) {
        if let Some(p) = self.projection.as_mut() {
            p.apply(params);
            let targets = p.targets().expect("set by apply").to_vec();
            for (r, c) in targets.into_iter().enumerate() {
                if matches!(self.kinds[r], Controller::Norm(_)) {
                    let when = t.map_or("at initialisation".to_string(), |t| format!("after update {t}"));
                    self.last[r] = Some(format!("norm: ‖θ‖ projected to {c:.4} {when}"));
                }
            }
        }
    }

    /// Eval-step control of replica `r` at step `t` from its measurement `m`: the knobs for
    /// the next updates (unchanged for controllers that act every step, or none).
    pub fn act(&mut self, r: usize, t: usize, m: &Measurements, now: Knobs) -> Knobs {
        let mut next = now;
        match &mut self.laws[r] {
            Law::Fixed => {
                if let Controller::Grokfast(o) = &self.kinds[r] {
                    self.last[r] =
                        Some(format!("grokfast: g + {}·EMA_{}(g) at every step, up to step {t}", o.lambda, o.alpha));
                }
                return next;
            }
            Law::Temperature(law) => {
                let b_simple = if m.grad_sq > 0.0 { m.noise_trace() / m.grad_sq } else { f64::NAN };
                (next.batch, next.lr) = law.update(now.batch, b_simple);
                self.last[r] = Some(format!(
                    "temperature at step {t}: B_simple = {b_simple:.4e}, B {} → {}, η {:.4e} → {:.4e} (T = {:.4e})",
                    now.batch, next.batch, now.lr, next.lr, law.temperature
                ));
            }
            Law::Critical(law, knob) => {
                let observed = law.observe(m);
                let (name, from) = match knob {
                    Knob::WeightDecay => ("λ", &mut next.weight_decay),
                    Knob::Lr => ("η", &mut next.lr),
                };
                let before = *from;
                *from = law.update(before, observed);
                self.last[r] = Some(format!(
                    "critical at step {t}: observable {observed:.4e}, {name} {before:.4e} → {:.4e}",
                    *from
                ));
            }
        }
        next
    }

    /// Replica `r`'s last action, in words.
    pub fn last_action(&self, r: usize) -> Option<&str> {
        self.last[r].as_deref()
    }
}
