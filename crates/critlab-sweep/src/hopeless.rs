//! `sweep run --stop-hopeless P`: stops a run, once it has memorised, when a predictor gives it
//! a probability < 1 − P of grokking within its budget (docs/theory.md §10; the rule is
//! [`critlab_physics::predict::hopeless`], shared with the replay of `analyze predict`). The run is recorded as `stopped`
//! with the reason, the predictor and the step, never as `done`. The monitor keeps each run's
//! measured history as the trainer reports it and asks the predictor at every eval step, so
//! only the past is used.
use critlab_core::{RunStatus, ValidRunSpec, NOT_CLASS_FIELDS, SEED_FIELDS};
use critlab_physics::predict::norm_delay::ClassCalibrations;
use critlab_physics::predict::{DelayCalibration, PredictorKind, RunHistory};
use std::sync::Arc;

/// The rule.
#[derive(Debug, Clone, PartialEq)]
pub struct StopRule {
    /// P: stop when P(grok within the budget) < 1 − P.
    pub confidence: f64,
    /// The predictor (one that gives a probability: `norm-delay`).
    pub predictor: PredictorKind,
    /// Its calibration, per class of runs (as `analyze predict` fits it).
    pub calibrations: Arc<ClassCalibrations>,
}

/// The histories of the replicas of one group and the rule.
pub struct HopelessMonitor {
    rule: StopRule,
    calibration: DelayCalibration,
    histories: Vec<RunHistory>,
}

impl HopelessMonitor {
    /// A monitor of the replicas `specs` of one group (one class: replicas differ only in
    /// seeds, η, λ or the initial scale).
    pub fn new(rule: StopRule, specs: &[ValidRunSpec]) -> Self {
        let histories = specs
            .iter()
            .map(|s| RunHistory {
                seed: s.seed,
                lr: s.lr,
                weight_decay: s.weight_decay,
                budget: s.steps as f64,
                ..Default::default()
            })
            .collect();
        let calibration = specs.first().map_or(rule.calibrations.pooled, |s| {
            rule.calibrations.get(&s.key_without(SEED_FIELDS), &s.key_without(NOT_CLASS_FIELDS))
        });
        Self { rule, calibration, histories }
    }

    /// Adds the measurements of one replica at one eval step.
    pub fn record(&mut self, replica: usize, step: usize, values: &[(String, f64)]) {
        let h = &mut self.histories[replica];
        let t = step as f64;
        for (name, v) in values {
            let series = match name.as_str() {
                "train_acc" => &mut h.train_acc,
                "test_acc" => &mut h.test_acc,
                "train_loss" => &mut h.train_loss,
                "weight_norm" => &mut h.weight_norm,
                "fourier_sparsity" => &mut h.fourier_sparsity,
                "restricted_loss" => &mut h.restricted_loss,
                "excluded_loss" => &mut h.excluded_loss,
                "repr_spectral_entropy" => &mut h.spectral_entropy,
                "commutator_defect" => &mut h.commutator_defect,
                _ => continue,
            };
            series.push((t, *v));
        }
    }

    /// Whether the replica should stop now, with the reason.
    pub fn stop(&self, replica: usize, step: usize) -> Option<(RunStatus, String)> {
        let h = &self.histories[replica];
        // At the last step the run is finished anyway: stopping it would only mislabel it.
        if step as f64 >= h.budget {
            return None;
        }
        let p = self.rule.predictor.predict(h, &self.calibration)?.probability?;
        let cut = 1.0 - self.rule.confidence;
        let memorised = h.t_mem(critlab_physics::predict::norm_delay::LEVEL).is_some();
        critlab_physics::predict::hopeless(p, self.rule.confidence, memorised).then(|| {
            (
                RunStatus::Stopped,
                format!(
                    "hopeless: P(grok within {} steps) = {p:.3} < {cut:.3} by predictor {} at step {step}",
                    h.budget,
                    self.rule.predictor.name()
                ),
            )
        })
    }
}
