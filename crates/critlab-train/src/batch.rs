//! Replica-batched examples on the device.
//!
//! A `Batch` holds `n` examples for each of `R` replicas (every replica may see different
//! examples: its own split and its own minibatch order). Float tensors carry a leading replica
//! axis `[R, n, ...]`; token ids are flattened replica-major `[R·n]` so that an embedding
//! lookup into a replica-stacked table is one `select`.
use crate::tasks::{Dataset, Inputs, Targets};
use burn::tensor::{Device, Int, Tensor, TensorData};

/// Examples for every replica, on the device.
#[derive(Clone)]
pub struct Batch {
    /// Number of replicas R.
    pub replicas: usize,
    /// Examples per replica n.
    pub n: usize,
    /// Token ids per input position, each `[R·n]` (token inputs only).
    pub tokens: Vec<Tensor<1, Int>>,
    /// Replica index of each flattened example, `[R·n]` (token inputs only).
    pub replica_ids: Option<Tensor<1, Int>>,
    /// Dense inputs `[R, n, dim]`.
    pub dense: Option<Tensor<3>>,
    /// Class labels `[R, n, 1]`.
    pub labels: Option<Tensor<3, Int>>,
    /// Real targets `[R, n, 1]`.
    pub real: Option<Tensor<3>>,
    /// Number of classes (1 for regression).
    pub classes: usize,
    /// Per-example weights `[R, n, 1]`, each replica's summing to 1, when replicas use
    /// different batch sizes (a replica's padding examples weigh 0); `None`: the plain mean.
    pub weights: Option<Tensor<3>>,
    /// Token ids and class labels on the host as well, for token inputs with class labels
    /// (read by the hand-written CPU step of the one-hot MLP).
    pub host: Option<HostTokens>,
}

/// A token batch's ids and labels on the host, replica-major like the device tensors.
#[derive(Clone)]
pub struct HostTokens {
    /// Token ids per input position, each `R·n` long.
    pub tokens: Vec<Vec<u32>>,
    /// Class labels, `R·n`.
    pub labels: Vec<u32>,
}

impl Batch {
    /// Gathers, for each replica r, the examples `indices[r]` of its dataset `data[r]` (all
    /// datasets of one task shape, all index lists of equal length).
    pub fn gather(data: &[&Dataset], indices: &[&[usize]], device: &Device) -> Self {
        let replicas = indices.len();
        let n = indices[0].len();
        debug_assert!(indices.iter().all(|i| i.len() == n) && data.len() == replicas);
        let pairs = || data.iter().zip(indices).flat_map(|(d, idx)| idx.iter().map(move |&i| (*d, i)));
        let first = data[0];
        let mut batch = Batch {
            replicas,
            n,
            tokens: Vec::new(),
            replica_ids: None,
            dense: None,
            labels: None,
            real: None,
            classes: first.outputs(),
            weights: None,
            host: None,
        };
        let mut host_tokens = Vec::new();
        match &first.inputs {
            Inputs::Tokens { positions, .. } => {
                for pos in 0..*positions {
                    let v: Vec<i64> = pairs()
                        .map(|(d, i)| match &d.inputs {
                            Inputs::Tokens { ids, positions, .. } => ids[i * positions + pos] as i64,
                            Inputs::Dense { .. } => unreachable!("one task shape per group"),
                        })
                        .collect();
                    host_tokens.push(v.iter().map(|&t| t as u32).collect());
                    batch.tokens.push(Tensor::from_data(TensorData::new(v, [replicas * n]), device));
                }
                let r: Vec<i64> = (0..replicas).flat_map(|r| std::iter::repeat_n(r as i64, n)).collect();
                batch.replica_ids = Some(Tensor::from_data(TensorData::new(r, [replicas * n]), device));
            }
            Inputs::Dense { dim, .. } => {
                let mut v: Vec<f32> = Vec::with_capacity(replicas * n * dim);
                for (d, i) in pairs() {
                    let Inputs::Dense { values, dim } = &d.inputs else { unreachable!("one task shape per group") };
                    v.extend_from_slice(&values[i * dim..(i + 1) * dim]);
                }
                batch.dense = Some(Tensor::from_data(TensorData::new(v, [replicas, n, *dim]), device));
            }
        }
        match &first.targets {
            Targets::Classes { .. } => {
                let v: Vec<i64> = pairs()
                    .map(|(d, i)| match &d.targets {
                        Targets::Classes { labels, .. } => labels[i] as i64,
                        Targets::Real(_) => unreachable!("one task shape per group"),
                    })
                    .collect();
                if !host_tokens.is_empty() {
                    let labels = v.iter().map(|&y| y as u32).collect();
                    batch.host = Some(HostTokens { tokens: std::mem::take(&mut host_tokens), labels });
                }
                batch.labels = Some(Tensor::from_data(TensorData::new(v, [replicas, n, 1]), device));
            }
            Targets::Real(_) => {
                let v: Vec<f32> = pairs()
                    .map(|(d, i)| match &d.targets {
                        Targets::Real(t) => t[i],
                        Targets::Classes { .. } => unreachable!("one task shape per group"),
                    })
                    .collect();
                batch.real = Some(Tensor::from_data(TensorData::new(v, [replicas, n, 1]), device));
            }
        }
        batch
    }

    /// Gathers batches of different sizes `sizes[r]` from `indices[r]` (all of the largest
    /// length n; entries past `sizes[r]` are padding): each replica's loss is then the mean over
    /// its own `sizes[r]` examples.
    pub fn gather_weighted(data: &[&Dataset], indices: &[&[usize]], sizes: &[usize], device: &Device) -> Self {
        let mut batch = Self::gather(data, indices, device);
        if sizes.iter().any(|&b| b != batch.n) {
            let n = batch.n;
            let w: Vec<f32> =
                sizes.iter().flat_map(|&b| (0..n).map(move |j| if j < b { 1.0 / b as f32 } else { 0.0 })).collect();
            batch.weights = Some(Tensor::from_data(TensorData::new(w, [sizes.len(), n, 1]), device));
        }
        batch
    }

    /// Looks up rows of a replica-stacked table `[R, rows, cols]` for the tokens at input
    /// position `position`, offset by `row_offset` rows: returns `[R, n, cols]`. This is the
    /// product of a one-hot input with the table, computed as an indexed select.
    pub fn lookup(&self, table: &Tensor<3>, position: usize, row_offset: usize) -> Tensor<3> {
        let [r, rows, cols] = table.dims();
        let ids = self.replica_ids.as_ref().expect("token inputs");
        let idx = ids.clone().mul_scalar(rows as i64).add(self.tokens[position].clone()).add_scalar(row_offset as i64);
        table.clone().reshape([r * rows, cols]).select(0, idx).reshape([r, self.n, cols])
    }
}
