//! `train_loss` and `test_loss`: the training loss function on the full training set and on
//! the test set.
use super::{Kind, Measurements, Probe};

/// Loss on the full training set.
pub struct TrainLoss;
/// Loss on the test set.
pub struct TestLoss;

impl Probe for TrainLoss {
    fn name(&self) -> &'static str {
        "train_loss"
    }
    fn unit(&self) -> &'static str {
        "nats (cross-entropy) or squared output units (MSE)"
    }
    fn kind(&self) -> Kind {
        Kind::Loss
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.train_loss));
    }
}

impl Probe for TestLoss {
    fn name(&self) -> &'static str {
        "test_loss"
    }
    fn unit(&self) -> &'static str {
        "nats (cross-entropy) or squared output units (MSE)"
    }
    fn kind(&self) -> Kind {
        Kind::Loss
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        out.push((self.name().into(), m.test_loss));
    }
}
