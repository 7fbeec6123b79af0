//! Losses and accuracy, per replica.
use crate::batch::Batch;
use burn::tensor::{activation, Tensor};
use critlab_core::LossKind;

/// Per-replica mean loss `[R, 1, 1]` (weighted by the batch's weights when it has them).
///
/// * cross-entropy: −(1/n) Σ log softmax(z)_y
/// * MSE: (1/(n·C)) Σ (z − onehot(y))² for classification, (1/n) Σ (z − y)² for regression,
///   PyTorch's `MSELoss` (mean over all elements).
pub fn per_replica(kind: LossKind, logits: Tensor<3>, batch: &Batch) -> Tensor<3> {
    if let Some(w) = &batch.weights {
        // Per-example losses `[R, n, 1]`, then each replica's weighted sum.
        let each = match (kind, &batch.labels, &batch.real) {
            (LossKind::CrossEntropy, Some(labels), _) => {
                activation::log_softmax(logits, 2).gather(2, labels.clone()).neg()
            }
            (LossKind::Mse, Some(labels), _) => {
                let target: Tensor<3> = labels.clone().squeeze_dim::<2>(2).one_hot::<3>(batch.classes).float();
                (logits - target).square().mean_dim(2)
            }
            (_, None, Some(real)) => (logits - real.clone()).square(),
            _ => unreachable!("a batch has labels or real targets"),
        };
        return (each * w.clone()).sum_dim(1);
    }
    match (kind, &batch.labels, &batch.real) {
        (LossKind::CrossEntropy, Some(labels), _) => cross_entropy(logits, labels.clone()),
        (LossKind::Mse, Some(labels), _) => {
            let target: Tensor<3> = labels.clone().squeeze_dim::<2>(2).one_hot::<3>(batch.classes).float();
            (logits - target).square().mean_dims(&[1, 2])
        }
        (_, None, Some(real)) => (logits - real.clone()).square().mean_dims(&[1, 2]),
        _ => unreachable!("a batch has labels or real targets"),
    }
}

/// Per-replica cross-entropy `[R, 1, 1]` (also the test loss that defines the explained
/// variance, whatever the training loss).
pub fn cross_entropy(logits: Tensor<3>, labels: burn::tensor::Tensor<3, burn::tensor::Int>) -> Tensor<3> {
    let logp = activation::log_softmax(logits, 2);
    logp.gather(2, labels).mean_dim(1).neg()
}

/// Per-replica accuracy `[R, 1, 1]`: for classification the fraction whose arg-max output is
/// the label; for regression, when a squared-error `threshold` ε is given, the fraction of
/// examples with (ŷ − y)² < ε (Levi, Beck, Bar-Sinai 2024); otherwise none.
pub fn accuracy(logits: Tensor<3>, batch: &Batch, threshold: Option<f64>) -> Option<Tensor<3>> {
    match (&batch.labels, &batch.real, threshold) {
        (Some(labels), _, _) => Some(logits.argmax(2).equal(labels.clone()).float().mean_dim(1)),
        (None, Some(real), Some(eps)) => {
            Some((logits - real.clone()).square().lower_elem(eps as f32).float().mean_dims(&[1, 2]))
        }
        _ => None,
    }
}

/// Per-replica R² = 1 − MSE / Var(y) `[R]` on host values (regression only).
pub fn r_squared(mse: &[f64], variance: &[f64]) -> Vec<f64> {
    mse.iter().zip(variance).map(|(m, v)| if *v > 0.0 { 1.0 - m / v } else { f64::NAN }).collect()
}
