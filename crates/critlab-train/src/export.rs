//! The initial state of a run as plain data: every parameter's initial values (the same draws
//! the trainer makes from the run's seed), the task's examples and the train/test split. It
//! lets code outside critlab (the Python package's `critlab.torch.Recorder`, a PyTorch
//! reference script) start from exactly the parameters and data `critlab train` starts from,
//! so its measurements can be compared number for number with the trainer's.
use crate::models;
use crate::tasks::{Dataset, Inputs, Targets};
use crate::trainer::{init_values, input_shape};
use critlab_core::ValidRunSpec;
use serde::Serialize;

/// One parameter: `values` row-major `[rows, cols]`; weights map inputs (rows) to outputs
/// (columns), so a PyTorch `nn.Linear` weight is its transpose.
#[derive(Debug, Clone, Serialize)]
pub struct ExportedParam {
    /// Name as in the stored metrics (`layer0.weight`, `readout.bias`, `embed`, …).
    pub name: String,
    /// Rows.
    pub rows: usize,
    /// Columns.
    pub cols: usize,
    /// Values, row-major.
    pub values: Vec<f32>,
}

/// The targets of every example.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExportedTargets {
    /// Class labels in `[0, classes)`.
    Classes {
        /// Labels.
        labels: Vec<u32>,
        /// Number of classes.
        classes: usize,
    },
    /// Real targets.
    Real {
        /// Values.
        values: Vec<f32>,
    },
}

/// A run's starting point.
#[derive(Debug, Clone, Serialize)]
pub struct InitialState {
    /// Parameters in the model's order.
    pub params: Vec<ExportedParam>,
    /// Every example's inputs (`{"kind": "tokens", "ids", "positions", "vocab"}` or
    /// `{"kind": "dense", "values", "dim"}`).
    pub inputs: Inputs,
    /// Every example's target.
    pub targets: ExportedTargets,
    /// Indices of the training examples, in the trainer's order (the full-batch order).
    pub train: Vec<usize>,
    /// Indices of the test examples.
    pub test: Vec<usize>,
}

/// The initial parameters, data and split of the run `spec` (one replica).
pub fn initial_state(spec: &ValidRunSpec) -> InitialState {
    let data = Dataset::generate(spec);
    let split = data.split(spec.train_frac, spec.data_seed());
    let model = models::build(spec, input_shape(&data.inputs), data.outputs());
    let params = model
        .params()
        .iter()
        .zip(init_values(model.as_ref(), std::slice::from_ref(spec)))
        .map(|(p, values)| ExportedParam { name: p.name.clone(), rows: p.rows, cols: p.cols, values })
        .collect();
    let targets = match data.targets {
        Targets::Classes { labels, classes } => ExportedTargets::Classes { labels, classes },
        Targets::Real(values) => ExportedTargets::Real { values },
    };
    InitialState { params, inputs: data.inputs, targets, train: split.train, test: split.test }
}

#[cfg(test)]
mod tests {
    use super::*;
    use critlab_core::RunSpec;

    #[test]
    fn the_exported_state_is_the_seeded_draw_and_split() {
        let mut s = RunSpec::default();
        s.p = 7;
        s.width = 5;
        let spec = s.clone().validate().unwrap();
        let a = initial_state(&spec);
        let b = initial_state(&spec);
        assert_eq!(a.params.len(), 4, "layer0 weight and bias, readout weight and bias");
        assert_eq!((a.params[0].name.as_str(), a.params[0].rows, a.params[0].cols), ("layer0.weight", 14, 5));
        assert_eq!(a.params[0].values, b.params[0].values);
        let bound = 1.0 / 14f32.sqrt();
        assert!(a.params[0].values.iter().all(|v| v.abs() <= bound));
        assert_eq!(a.train.len() + a.test.len(), 49);
        let mut other = s;
        other.seed += 1;
        assert_ne!(initial_state(&other.validate().unwrap()).params[0].values, a.params[0].values);
    }
}
