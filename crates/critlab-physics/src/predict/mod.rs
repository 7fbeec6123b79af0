//! Predicting grokking before it happens (docs/theory.md §10, ISSUE 11): online predictors that, at
//! every eval point and from the past only, give a score (higher: more likely to grok within
//! the step budget), where they can a probability of grokking within the budget, and where they
//! can a predicted t_grok with an interval; and their scoring over a sweep ([`score`]).
//!
//! | predictor | file | reads | probability | t_grok |
//! |---|---|---|---|---|
//! | `weight-norm` (the baseline: Wang, Ying, Kanamori 2026 get AUROC 0.98 from it across λ) | [`norm`] | `weight_norm` | calibrated | – |
//! | `norm-delay` (Truong et al. 2026) | [`norm_delay`] | `train_acc`, η, λ | own (law + calibration) | yes, with interval |
//! | `early-loss-spectrum` (Notsawo et al. 2023) | [`early_loss`] | `train_loss` | calibrated | – |
//! | `fourier-sparsity` (Nanda et al. 2023) | [`fourier`] | `fourier_sparsity` | calibrated | – |
//! | `restricted-loss` (Nanda et al. 2023) | [`restricted_loss`] | `restricted_loss` | calibrated | – |
//! | `excluded-loss` (Nanda et al. 2023) | [`excluded_loss`] | `excluded_loss`, `train_loss` | calibrated | – |
//! | `commutator-defect` (Xu 2026) | [`commutator`] | `commutator_defect` | calibrated | – |
//! | `spectral-entropy` | [`spectral_entropy`] | `repr_spectral_entropy` | calibrated | – |
//! | `variance`, `autocorrelation`, `skewness`, `kinetic-potential`, `rank-growth`, `weight-norm-decline`, `charge-drift` | [`csd`] | as [`crate::early_warning`] | calibrated | – |
//!
//! "Calibrated": the predictor gives a score only; [`score`] turns it into a probability by a
//! logistic fit of the label on the score at the decision time, fitted on the other seeds
//! (split by seed, never by step).
use crate::early_warning::Signals;
use serde::Serialize;

pub mod commutator;
pub mod csd;
pub mod early_loss;
pub mod excluded_loss;
pub mod fourier;
pub mod norm;
pub mod norm_delay;
pub mod restricted_loss;
pub mod score;
pub mod spectral_entropy;

/// A series of `(step, value)` points in step order.
pub type Series = Vec<(f64, f64)>;

/// Everything the predictors read about one run: its settings and its measured series.
#[derive(Debug, Clone, Default)]
pub struct RunHistory {
    /// Run identifier.
    pub run: i64,
    /// Seed (the held-out split is by seed).
    pub seed: u64,
    /// Learning rate η.
    pub lr: f64,
    /// Weight decay λ.
    pub weight_decay: f64,
    /// Step budget τ.
    pub budget: f64,
    /// Train accuracy.
    pub train_acc: Series,
    /// Test accuracy.
    pub test_acc: Series,
    /// Training loss.
    pub train_loss: Series,
    /// Parameter norm ‖θ‖.
    pub weight_norm: Series,
    /// Fourier sparsity of the token weights (modular tasks).
    pub fourier_sparsity: Series,
    /// Restricted loss (key-frequency logits only, modular tasks).
    pub restricted_loss: Series,
    /// Excluded loss (key-frequency logits removed, training set, modular tasks).
    pub excluded_loss: Series,
    /// Spectral entropy of the representation covariance.
    pub spectral_entropy: Series,
    /// Commutator defect of two minibatch steps.
    pub commutator_defect: Series,
    /// The early-warning signals (critical slowing down and the framework's).
    pub signals: Signals,
}

/// ln(v_now / v_first) of a positive series: v_first its first finite positive value, v_now its
/// last value; `None` when it has none or the last value is not positive.
fn log_change_since_first(s: &[(f64, f64)]) -> Option<f64> {
    let first = s.iter().find(|p| p.1.is_finite() && p.1 > 0.0)?.1;
    let now = s.last()?.1;
    (now > 0.0).then(|| (now / first).ln())
}

fn cut(s: &[(f64, f64)], step: f64) -> Series {
    s.iter().copied().take_while(|p| p.0 <= step).collect()
}

impl RunHistory {
    /// The history up to and including `step` (what a live monitor would have seen).
    pub fn until(&self, step: f64) -> RunHistory {
        RunHistory {
            train_acc: cut(&self.train_acc, step),
            test_acc: cut(&self.test_acc, step),
            train_loss: cut(&self.train_loss, step),
            weight_norm: cut(&self.weight_norm, step),
            fourier_sparsity: cut(&self.fourier_sparsity, step),
            restricted_loss: cut(&self.restricted_loss, step),
            excluded_loss: cut(&self.excluded_loss, step),
            spectral_entropy: cut(&self.spectral_entropy, step),
            commutator_defect: cut(&self.commutator_defect, step),
            signals: self.signals.until(step),
            ..self.clone()
        }
    }

    /// The last step seen.
    pub fn now(&self) -> Option<f64> {
        self.train_acc.last().or(self.weight_norm.last()).map(|p| p.0)
    }

    /// Every eval step, in order.
    pub fn steps(&self) -> Vec<f64> {
        let base = if self.train_acc.is_empty() { &self.weight_norm } else { &self.train_acc };
        base.iter().map(|p| p.0).collect()
    }

    /// First step with train accuracy ≥ `level` (docs/theory.md §4: t_mem at 0.9).
    pub fn t_mem(&self, level: f64) -> Option<f64> {
        self.train_acc.iter().find(|p| p.1 >= level).map(|p| p.0)
    }

    /// First step with test accuracy ≥ `level` (t_grok at 0.9).
    pub fn t_grok(&self, level: f64) -> Option<f64> {
        self.test_acc.iter().find(|p| p.1 >= level).map(|p| p.0)
    }
}

/// The stop-hopeless rule (`sweep run --stop-hopeless P`, and its replay in [`score`]): a run is
/// stopped once it has memorised (t_mem reached, the point from which the norm-delay law
/// applies) and its probability of grokking within the budget is below 1 − `confidence`.
/// Before memorisation a run is never stopped: the law would only give an upper bound on P
/// there, and stopping would turn a memorising run into a confused one in the phase diagram.
pub fn hopeless(probability: f64, confidence: f64, memorised: bool) -> bool {
    memorised && probability < 1.0 - confidence
}

/// A predicted step with an interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct StepInterval {
    /// Central prediction (median).
    pub value: f64,
    /// Lower end of the 95 % interval.
    pub lo: f64,
    /// Upper end of the 95 % interval.
    pub hi: f64,
}

/// What a predictor says at one eval point.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Prediction {
    /// Higher means more likely to grok within the budget (only its order matters).
    pub score: f64,
    /// P(grok within the budget), when the predictor has its own probability model.
    pub probability: Option<f64>,
    /// Predicted t_grok with a 95 % interval, when the predictor can give one.
    pub t_grok: Option<StepInterval>,
}

impl Prediction {
    /// A score-only prediction.
    pub fn score(score: f64) -> Option<Self> {
        score.is_finite().then_some(Self { score, probability: None, t_grok: None })
    }
}

/// Calibration a predictor may learn from runs of other seeds (see [`score`]).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DelayCalibration {
    /// Mean of ln K over the training runs, K = ηλ·(t_grok − t_mem) (the norm-delay law's
    /// ln(‖θ_mem‖²/‖θ_post‖²)).
    pub mu: f64,
    /// Standard deviation of ln K.
    pub sd: f64,
    /// Runs it was fitted on.
    pub runs: usize,
    /// Of those, the runs that grokked (exact K, not censored). The law's predictive
    /// distribution of a new run's ln K is μ + sd·√(1 + 1/n)·t(n − 1) with n of them (the
    /// parameters are estimated, not known); 0 (the default) means the normal itself.
    pub grokked: usize,
}

impl Default for DelayCalibration {
    /// A wide default for live use without a calibration sweep: K ≈ 1 (one e-folding of
    /// ‖θ‖²) with a factor-e spread either way.
    fn default() -> Self {
        Self { mu: 0.0, sd: 1.0, runs: 0, grokked: 0 }
    }
}

/// Every predictor by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PredictorKind {
    /// Parameter-norm baseline.
    WeightNorm,
    /// Norm-delay law.
    NormDelay,
    /// Early training-loss spectral signature.
    EarlyLossSpectrum,
    /// Fourier sparsity of the token weights.
    FourierSparsity,
    /// Restricted loss (Nanda et al.).
    RestrictedLoss,
    /// Excluded loss (Nanda et al.).
    ExcludedLoss,
    /// Spectral entropy of the representation covariance.
    SpectralEntropy,
    /// Commutator defect of two minibatch steps.
    CommutatorDefect,
    /// A critical-slowing-down or framework indicator of [`crate::early_warning`].
    Indicator(crate::early_warning::Indicator),
}

impl PredictorKind {
    /// Every predictor, the baseline first.
    pub fn all() -> Vec<PredictorKind> {
        let mut v = vec![
            PredictorKind::WeightNorm,
            PredictorKind::NormDelay,
            PredictorKind::EarlyLossSpectrum,
            PredictorKind::FourierSparsity,
            PredictorKind::RestrictedLoss,
            PredictorKind::ExcludedLoss,
            PredictorKind::SpectralEntropy,
            PredictorKind::CommutatorDefect,
        ];
        v.extend(crate::early_warning::Indicator::ALL.iter().map(|&i| PredictorKind::Indicator(i)));
        v
    }

    /// The kebab-case name.
    pub fn name(self) -> &'static str {
        match self {
            PredictorKind::WeightNorm => "weight-norm",
            PredictorKind::NormDelay => "norm-delay",
            PredictorKind::EarlyLossSpectrum => "early-loss-spectrum",
            PredictorKind::FourierSparsity => "fourier-sparsity",
            PredictorKind::RestrictedLoss => "restricted-loss",
            PredictorKind::ExcludedLoss => "excluded-loss",
            PredictorKind::SpectralEntropy => "spectral-entropy",
            PredictorKind::CommutatorDefect => "commutator-defect",
            PredictorKind::Indicator(i) => i.as_str(),
        }
    }

    /// The predictor with this name.
    pub fn parse(name: &str) -> Option<PredictorKind> {
        Self::all().into_iter().find(|k| k.name() == name)
    }

    /// What it says about `h` (the past only) now; `None` when it cannot say anything yet.
    pub fn predict(self, h: &RunHistory, cal: &DelayCalibration) -> Option<Prediction> {
        match self {
            PredictorKind::WeightNorm => norm::predict(h),
            PredictorKind::NormDelay => norm_delay::predict(h, cal),
            PredictorKind::EarlyLossSpectrum => early_loss::predict(h),
            PredictorKind::FourierSparsity => fourier::predict(h),
            PredictorKind::RestrictedLoss => restricted_loss::predict(h),
            PredictorKind::ExcludedLoss => excluded_loss::predict(h),
            PredictorKind::SpectralEntropy => spectral_entropy::predict(h),
            PredictorKind::CommutatorDefect => commutator::predict(h),
            PredictorKind::Indicator(i) => csd::predict(i, h),
        }
    }
}

/// Standard normal CDF Φ(x) = ½·erfc(−x/√2) (statrs), which keeps the relative precision of
/// far tails.
pub fn normal_cdf(x: f64) -> f64 {
    0.5 * statrs::function::erf::erfc(-x / std::f64::consts::SQRT_2)
}

/// Inverse of [`normal_cdf`] (statrs).
pub fn normal_quantile(p: f64) -> f64 {
    use statrs::distribution::ContinuousCDF;
    statrs::distribution::Normal::standard().inverse_cdf(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_cdf_and_quantile() {
        assert!((normal_cdf(0.0) - 0.5).abs() < 1e-7);
        assert!((normal_cdf(1.96) - 0.975).abs() < 1e-4);
        assert!((normal_quantile(0.975) - 1.96).abs() < 1e-3);
        // Far tails keep relative precision (Φ(−17) ≈ 4.9e-65), for censored likelihoods.
        let far = normal_cdf(-17.0);
        assert!(far > 1e-66 && far < 1e-63, "{far:e}");
    }

    #[test]
    fn names_round_trip() {
        for k in PredictorKind::all() {
            assert_eq!(PredictorKind::parse(k.name()), Some(k));
        }
    }
}
