//! Generated tasks (no downloads). Every task is a finite set of examples built from the data
//! seed, split into a training and a test set by the training fraction f.
//!
//! Inputs are either tokens (modular arithmetic: a, b in [0, p)) or dense feature vectors
//! (sparse parity, teacher–student). Targets are class labels or real numbers.
mod modular;
mod parity;
mod teacher;

use critlab_core::{TaskKind, ValidRunSpec};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// The inputs of a set of examples (serialised with a `kind` tag: `tokens` or `dense`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inputs {
    /// Token ids, `positions` tokens per example, row-major `[n, positions]`.
    Tokens {
        /// Token ids.
        ids: Vec<u32>,
        /// Tokens per example.
        positions: usize,
        /// Vocabulary size.
        vocab: usize,
    },
    /// Dense features, row-major `[n, dim]`.
    Dense {
        /// Feature values.
        values: Vec<f32>,
        /// Features per example.
        dim: usize,
    },
}

/// The targets of a set of examples.
#[derive(Debug, Clone, PartialEq)]
pub enum Targets {
    /// Class labels in `[0, classes)`.
    Classes {
        /// Labels.
        labels: Vec<u32>,
        /// Number of classes.
        classes: usize,
    },
    /// Real targets.
    Real(Vec<f32>),
}

/// A generated task: all its examples, before the split.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// Inputs of every example.
    pub inputs: Inputs,
    /// Targets of every example.
    pub targets: Targets,
}

/// Indices of the training and test examples of one split.
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    /// Training indices (N_train of them).
    pub train: Vec<usize>,
    /// Test indices.
    pub test: Vec<usize>,
}

impl Split {
    /// Which of `examples` examples are training examples.
    pub fn train_mask(&self, examples: usize) -> Vec<bool> {
        let mut mask = vec![false; examples];
        for &i in &self.train {
            mask[i] = true;
        }
        mask
    }
}

impl Dataset {
    /// Generates the task of a spec from its data seed.
    pub fn generate(spec: &ValidRunSpec) -> Self {
        let seed = spec.data_seed();
        match spec.task {
            TaskKind::SparseParity => parity::generate(spec.samples, spec.parity_bits, spec.parity_k, seed),
            TaskKind::TeacherStudent => {
                teacher::generate(spec.samples, spec.input_dim, spec.teacher_width, spec.noise, seed)
            }
            op => modular::generate(op, spec.p),
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        match &self.targets {
            Targets::Classes { labels, .. } => labels.len(),
            Targets::Real(v) => v.len(),
        }
    }

    /// Whether the task has no examples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of outputs the model needs (classes, or 1 for regression).
    pub fn outputs(&self) -> usize {
        match &self.targets {
            Targets::Classes { classes, .. } => *classes,
            Targets::Real(_) => 1,
        }
    }

    /// Label entropy H(Y) in nats over all examples (0 for regression). The information
    /// potential uses I(D) = N_train · H(Y) (docs/theory.md §2).
    pub fn label_entropy(&self) -> f64 {
        match &self.targets {
            Targets::Classes { labels, classes } => {
                let mut counts = vec![0usize; *classes];
                for &l in labels {
                    counts[l as usize] += 1;
                }
                let n = labels.len() as f64;
                counts
                    .iter()
                    .filter(|&&c| c > 0)
                    .map(|&c| {
                        let q = c as f64 / n;
                        -q * q.ln()
                    })
                    .sum()
            }
            Targets::Real(_) => 0.0,
        }
    }

    /// Variance of the real targets (for R²); 0 for classification.
    pub fn target_variance(&self, idx: &[usize]) -> f64 {
        match &self.targets {
            Targets::Real(v) => {
                let n = idx.len() as f64;
                let mean = idx.iter().map(|&i| v[i] as f64).sum::<f64>() / n;
                idx.iter().map(|&i| (v[i] as f64 - mean).powi(2)).sum::<f64>() / n
            }
            Targets::Classes { .. } => 0.0,
        }
    }

    /// A seeded random split with N_train = round(f·N) training examples.
    pub fn split(&self, train_frac: f64, seed: u64) -> Split {
        let (n_train, _) = critlab_core::spec::split_sizes(self.len(), train_frac);
        let mut idx: Vec<usize> = (0..self.len()).collect();
        // A distinct stream from the one that generated the data.
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_5A17_u64);
        idx.shuffle(&mut rng);
        let test = idx.split_off(n_train);
        Split { train: idx, test }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use critlab_core::RunSpec;

    fn spec(f: impl FnOnce(&mut RunSpec)) -> ValidRunSpec {
        let mut s = RunSpec::default();
        f(&mut s);
        s.validate().unwrap()
    }

    #[test]
    fn modular_addition_covers_all_pairs_with_uniform_labels() {
        let d = Dataset::generate(&spec(|s| s.p = 7));
        assert_eq!(d.len(), 49);
        assert_eq!(d.outputs(), 7);
        assert!((d.label_entropy() - 7f64.ln()).abs() < 1e-12);
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let d = Dataset::generate(&spec(|s| s.p = 11));
        let a = d.split(0.3, 1);
        let b = d.split(0.3, 1);
        let c = d.split(0.3, 2);
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a.train.len(), 36);
        let mut all: Vec<usize> = a.train.iter().chain(&a.test).copied().collect();
        all.sort();
        assert_eq!(all, (0..121).collect::<Vec<_>>());
    }
}
