//! Probes: the observables measured every `eval-every` steps (docs/theory.md §2 and §5).
//!
//! The trainer computes a [`Measurements`] record once per eval step (the expensive tensor
//! work: forward passes, gradients, host copies of weights and representations); each probe
//! is one observable, in its own file, that turns the record into stored values. Adding an
//! observable means adding a file here and a line to [`default_probes`]; the training loop is
//! not touched. Probes may keep state (the action integrates the Lagrangian).
/// Defines a probe whose value is one number computed from a replica's [`Measurements`]:
/// `scalar_probe!(Doc, Type, "stored_name", "unit", Kind::X, |m| expression)`.
macro_rules! scalar_probe {
    ($(#[$doc:meta])* $ty:ident, $name:literal, $unit:literal, $kind:expr, |$m:ident| $value:expr) => {
        $(#[$doc])*
        pub struct $ty;

        impl $crate::probes::Probe for $ty {
            fn name(&self) -> &'static str {
                $name
            }
            fn unit(&self) -> &'static str {
                $unit
            }
            fn kind(&self) -> $crate::probes::Kind {
                $kind
            }
            fn measure(&mut self, $m: &$crate::probes::Measurements, _: usize, out: &mut Vec<(String, f64)>) {
                out.push(($name.into(), $value));
            }
        }
    };
}

mod accuracy;
mod commutator;
mod explained_variance;
pub mod fourier;
pub mod fourier_ipr;
pub mod fourier_losses;
mod grad_norm;
mod kinetic;
mod lagrangian;
mod losses;
pub mod noether;
mod noise;
mod potential_info;
mod rank;
mod sharpness;
mod sharpness_preconditioned;
pub mod spectral_contrast;
pub mod spectral_entropy;
pub mod spectrum;
mod weight_norm;

pub use rank::{effective_rank, singular_values};

/// What kind of quantity an observable is (for plots and reports).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A loss.
    Loss,
    /// An accuracy or other order parameter.
    OrderParameter,
    /// An energy-like term of the learning Lagrangian.
    Energy,
    /// A gradient or noise statistic.
    Noise,
    /// A norm.
    Norm,
    /// An effective rank.
    Rank,
    /// A Noether charge of a symmetry (docs/theory.md §3).
    Charge,
    /// A curvature of the loss (docs/theory.md §11).
    Curvature,
}

/// A host copy of one matrix, row-major.
#[derive(Debug, Clone)]
pub struct HostMatrix {
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// Raw quantities of one replica at one eval step, from which every probe is computed.
#[derive(Debug, Clone)]
pub struct Measurements {
    /// Optimizer step t (metrics describe θ_t, the parameters before update t).
    pub step: usize,
    /// Learning rate η at this step (warmup applied).
    pub lr: f64,
    /// Batch size B.
    pub batch: usize,
    /// Training-set size N_train.
    pub n_train: usize,
    /// Small batch of the two-batch noise estimator.
    pub noise_batch: usize,
    /// Training loss on the full training set.
    pub train_loss: f64,
    /// Training accuracy (classification, or regression with `accuracy-threshold`).
    pub train_acc: Option<f64>,
    /// Test loss (the training loss function on the test set).
    pub test_loss: f64,
    /// Test accuracy (classification, or regression with `accuracy-threshold`).
    pub test_acc: Option<f64>,
    /// Test cross-entropy (classification) for the explained variance.
    pub test_cross_entropy: Option<f64>,
    /// Label entropy H(Y) in nats (classification).
    pub label_entropy: f64,
    /// Test R² (regression).
    pub test_r2: Option<f64>,
    /// ‖G‖², the squared norm of the full training-set gradient.
    pub grad_sq: f64,
    /// ‖G_small‖², the squared norm of a small-batch gradient (two-batch estimator).
    pub small_grad_sq: f64,
    /// Normalised commutator defect of two minibatch SGD steps (Xu 2026; see the trainer's
    /// `commutator_defect`), dimensionless.
    pub commutator_defect: f64,
    /// ‖θ_{t+1} − θ_t‖², when update t happens (not at the final step).
    pub displacement_sq: Option<f64>,
    /// ‖θ_t‖².
    pub weight_sq: f64,
    /// Weight matrices (name, matrix), biases excluded.
    pub weights: Vec<(String, HostMatrix)>,
    /// Bias rows (name, `[1, cols]` matrix).
    pub biases: Vec<(String, HostMatrix)>,
    /// ‖∂L/∂θ_p‖² of the full training-set gradient, per parameter p (name, value).
    pub param_grad_sq: Vec<(String, f64)>,
    /// Hidden representation on up to `repr-samples` test inputs, `[samples, hidden]`.
    pub hidden: HostMatrix,
    /// The modulus p of a modular task (token vocabulary of the inputs), `None` otherwise.
    pub modulus: Option<usize>,
    /// Logits of every example of the data set in data-set order, `[examples, classes]`
    /// (training rows from the training-set pass, test rows from the test pass): modular tasks
    /// only, for [`fourier_losses`].
    pub logits: Option<HostMatrix>,
    /// The singular values of `hidden` and the eigenvalues of its centred covariance, computed
    /// together on the first call of [`Measurements::hidden_spectra`]: three probes read them,
    /// and the two symmetric eigendecompositions of 512 × 512 matrices are most of an eval
    /// step's probe time.
    pub hidden_spectra: std::sync::OnceLock<spectrum::GramSpectra>,
    /// The Hessian's top eigenvalues at θ_t, at the steps where the sharpness probe is due
    /// (`sharpness-every`); `None` otherwise.
    pub curvature: Option<crate::curvature::Sharpness>,
}

impl Measurements {
    /// The spectra of `hidden` ([`spectrum::gram_spectra`]), computed once per measurement.
    pub fn hidden_spectra(&self) -> &spectrum::GramSpectra {
        self.hidden_spectra.get_or_init(|| spectrum::gram_spectra(&self.hidden))
    }

    /// Eigenvalues of the covariance of the centred rows of `hidden`, descending.
    pub fn hidden_covariance_spectrum(&self) -> &[f64] {
        &self.hidden_spectra().covariance
    }

    /// A weight or bias matrix by parameter name.
    pub fn param(&self, name: &str) -> Option<&HostMatrix> {
        self.weights.iter().chain(&self.biases).find(|(n, _)| n == name).map(|(_, m)| m)
    }

    /// ‖∂L/∂θ_p‖² of parameter `name` (0 when not recorded).
    pub fn param_grad_sq(&self, name: &str) -> f64 {
        self.param_grad_sq.iter().find(|(n, _)| n == name).map(|(_, v)| *v).unwrap_or(0.0)
    }

    /// Kinetic term K = ½ η² ‖G‖² (the seed's form, full training-set gradient).
    pub fn kinetic(&self) -> f64 {
        0.5 * self.lr * self.lr * self.grad_sq
    }

    /// tr Σ by the two-batch estimator of McCandlish et al. 2018, with the finite-population
    /// correction for batches drawn without replacement from the N_train examples:
    /// E‖G_b‖² = ‖G‖² + tr Σ · (N − b)/(b (N − 1)), so
    /// tr Σ ≈ (‖G_b‖² − ‖G‖²) · b (N − 1)/(N − b). One draw per eval step: unbiased, noisy,
    /// and can be negative.
    pub fn noise_trace(&self) -> f64 {
        let (b, n) = (self.noise_batch as f64, self.n_train as f64);
        (self.small_grad_sq - self.grad_sq) * b * (n - 1.0) / (n - b)
    }

    /// Noise potential U = tr Σ / B (the seed's α/B with α = tr Σ measured).
    pub fn potential_noise(&self) -> f64 {
        self.noise_trace() / self.batch as f64
    }

    /// Explained variance V: 1 − CE_test/H(Y) clipped to [0, 1] for classification, test R²
    /// for regression.
    pub fn explained_variance(&self) -> f64 {
        match (self.test_cross_entropy, self.test_r2) {
            (Some(ce), _) if self.label_entropy > 0.0 => (1.0 - ce / self.label_entropy).clamp(0.0, 1.0),
            (_, Some(r2)) => r2,
            _ => f64::NAN,
        }
    }

    /// Lagrangian L = K − U (docs/theory.md §2, noise potential).
    pub fn lagrangian(&self) -> f64 {
        self.kinetic() - self.potential_noise()
    }
}

/// One observable.
pub trait Probe: Send {
    /// Stored name (per-layer variants append `/layer`).
    fn name(&self) -> &'static str;
    /// Unit, in words.
    fn unit(&self) -> &'static str;
    /// Kind.
    fn kind(&self) -> Kind;
    /// Measures replica `replica` and appends (name, value) pairs to `out`.
    fn measure(&mut self, m: &Measurements, replica: usize, out: &mut Vec<(String, f64)>);
}

/// The probes recorded by default, in the order of docs/theory.md §2.
pub fn default_probes(replicas: usize) -> Vec<Box<dyn Probe>> {
    vec![
        Box::new(losses::TrainLoss),
        Box::new(accuracy::TrainAcc),
        Box::new(losses::TestLoss),
        Box::new(accuracy::TestAcc),
        Box::new(explained_variance::ExplainedVariance),
        Box::new(grad_norm::GradNorm),
        Box::new(kinetic::Kinetic),
        Box::new(kinetic::KineticDisplacement),
        Box::new(noise::GradNoiseTrace),
        Box::new(noise::PotentialNoise),
        Box::new(potential_info::PotentialInfo),
        Box::new(lagrangian::Lagrangian),
        Box::new(lagrangian::Action::new(replicas)),
        Box::new(noise::NoiseScale),
        Box::new(commutator::CommutatorDefect),
        Box::new(weight_norm::WeightNorm),
        Box::new(rank::WeightEffectiveRank),
        Box::new(rank::ReprEffectiveRank),
        Box::new(spectral_contrast::SpectralContrast),
        Box::new(fourier_ipr::FourierIpr),
        Box::new(spectral_entropy::ReprSpectralEntropy),
    ]
}

/// The probes of a run with `sharpness-every` set (they store nothing at the eval steps
/// between sharpness steps): `sharpness`, `sharpness_ratio`, `sharpness/<i>`, and for Adam-type
/// optimizers `sharpness_preconditioned` and its ratio.
pub fn sharpness_probes() -> Vec<Box<dyn Probe>> {
    vec![Box::new(sharpness::Sharpness), Box::new(sharpness_preconditioned::PreconditionedSharpness)]
}

/// The names every run stores (per-layer variants aside).
pub const PROBE_NAMES: &[&str] = &[
    "train_loss",
    "train_acc",
    "test_loss",
    "test_acc",
    "explained_variance",
    "grad_norm",
    "kinetic",
    "kinetic_displacement",
    "grad_noise_trace",
    "potential_noise",
    "potential_info",
    "lagrangian",
    "action",
    "noise_scale",
    "commutator_defect",
    "weight_norm",
    "weight_effective_rank",
    "repr_effective_rank",
    "spectral_contrast",
    "fourier_ipr",
    "repr_spectral_entropy",
];

/// Runs every probe on one replica's measurements.
pub fn measure_all(probes: &mut [Box<dyn Probe>], m: &Measurements, replica: usize) -> Vec<(String, f64)> {
    let mut out = Vec::with_capacity(probes.len() + m.weights.len());
    for p in probes.iter_mut() {
        p.measure(m, replica, &mut out);
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn sample() -> Measurements {
        Measurements {
            step: 10,
            lr: 0.1,
            batch: 100,
            n_train: 100,
            noise_batch: 10,
            train_loss: 0.5,
            train_acc: Some(0.9),
            test_loss: 1.0,
            test_acc: Some(0.5),
            test_cross_entropy: Some(1.0),
            label_entropy: 2.0,
            test_r2: None,
            grad_sq: 4.0,
            small_grad_sq: 5.0,
            commutator_defect: 0.5,
            displacement_sq: Some(0.02),
            weight_sq: 9.0,
            weights: vec![("w".into(), HostMatrix { rows: 2, cols: 2, values: vec![1.0, 0.0, 0.0, 1.0] })],
            biases: Vec::new(),
            param_grad_sq: Vec::new(),
            hidden: HostMatrix { rows: 2, cols: 2, values: vec![1.0, 0.0, 0.0, 0.0] },
            modulus: None,
            logits: None,
            hidden_spectra: Default::default(),
            curvature: None,
        }
    }

    #[test]
    fn every_default_probe_is_named_in_the_list_and_emits() {
        let mut probes = default_probes(1);
        let names: Vec<_> = probes.iter().map(|p| p.name()).collect();
        assert_eq!(names, PROBE_NAMES);
        let out = measure_all(&mut probes, &sample(), 0);
        for n in PROBE_NAMES {
            assert!(out.iter().any(|(k, _)| k == n), "{n} missing");
        }
    }

    #[test]
    fn energies_follow_their_definitions() {
        let m = sample();
        assert!((m.kinetic() - 0.5 * 0.01 * 4.0).abs() < 1e-12);
        // (5 − 4) · 10 · 99 / 90 = 11
        assert!((m.noise_trace() - 11.0).abs() < 1e-12);
        assert!((m.potential_noise() - 0.11).abs() < 1e-12);
        assert!((m.explained_variance() - 0.5).abs() < 1e-12);
        assert!((m.lagrangian() - (0.02 - 0.11)).abs() < 1e-12);
    }
}
