//! `train_loss` and `test_loss`: the training loss function on the full training set and on
//! the test set.
use super::Kind;

scalar_probe!(
    /// Loss on the full training set.
    TrainLoss, "train_loss", "nats (cross-entropy) or squared output units (MSE)", Kind::Loss, |m| m.train_loss
);
scalar_probe!(
    /// Loss on the test set.
    TestLoss, "test_loss", "nats (cross-entropy) or squared output units (MSE)", Kind::Loss, |m| m.test_loss
);
