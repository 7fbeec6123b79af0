//! `explained_variance` V, the default order parameter (THEORY.md §2): for classification
//! V = 1 − CE_test/H(Y) clipped to [0, 1] (the fraction of label entropy explained); for
//! regression V = R² on the test set.
use super::{Kind, Measurements, Probe};

/// The explained variance V.
pub struct ExplainedVariance;

impl Probe for ExplainedVariance {
    fn name(&self) -> &'static str {
        "explained_variance"
    }
    fn unit(&self) -> &'static str {
        "fraction"
    }
    fn kind(&self) -> Kind {
        Kind::OrderParameter
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.explained_variance()));
    }
}
