//! `train_acc` and `test_acc`: fraction of examples whose arg-max output is the label
//! (classification tasks; NaN for regression).
use super::{Kind, Measurements, Probe};

/// Accuracy on the full training set.
pub struct TrainAcc;
/// Accuracy on the test set.
pub struct TestAcc;

impl Probe for TrainAcc {
    fn name(&self) -> &'static str {
        "train_acc"
    }
    fn unit(&self) -> &'static str {
        "fraction"
    }
    fn kind(&self) -> Kind {
        Kind::OrderParameter
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.train_acc.unwrap_or(f64::NAN)));
    }
}

impl Probe for TestAcc {
    fn name(&self) -> &'static str {
        "test_acc"
    }
    fn unit(&self) -> &'static str {
        "fraction"
    }
    fn kind(&self) -> Kind {
        Kind::OrderParameter
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.test_acc.unwrap_or(f64::NAN)));
    }
}
