//! `explained_variance` V, the default order parameter (docs/theory.md §2): for classification
//! V = 1 − CE_test/H(Y) clipped to [0, 1] (the fraction of label entropy explained); for
//! regression V = R² on the test set.
use super::Kind;

scalar_probe!(
    /// The explained variance V.
    ExplainedVariance, "explained_variance", "fraction", Kind::OrderParameter, |m| m.explained_variance()
);
