//! `train_acc` and `test_acc`: fraction of examples whose arg-max output is the label
//! (classification), or whose squared error is below `accuracy-threshold` ε (regression,
//! Levi et al. 2024); NaN for regression without a threshold.
use super::Kind;

scalar_probe!(
    /// Accuracy on the full training set.
    TrainAcc, "train_acc", "fraction", Kind::OrderParameter, |m| m.train_acc.unwrap_or(f64::NAN)
);
scalar_probe!(
    /// Accuracy on the test set.
    TestAcc, "test_acc", "fraction", Kind::OrderParameter, |m| m.test_acc.unwrap_or(f64::NAN)
);
