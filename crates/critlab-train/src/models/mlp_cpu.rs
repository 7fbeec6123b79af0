//! A hand-written forward and backward pass of the one-hot MLP on the CPU.
//!
//! The model is one hidden layer over one-hot tokens, a cross-entropy read-out, full or
//! equal-size batches: the grokking MLP of the benchmarks (M1, M3). Through burn's autodiff its
//! step is eleven tensor operations, each writing a fresh `n × width` or `n × classes` buffer;
//! here it is three matrix products (the `gemm` crate that burn's `flex` backend calls too)
//! and four passes over rows:
//!
//! * forward: h = act(W₁[a] + W₁[vocab + b] + b₁), one row gather per example; z = h W₂ + b₂;
//! * loss and its gradient together: ℓ = logsumexp z − z_y, ∂ℓ/∂z = (softmax z − e_y)/n;
//! * ∂W₂ = hᵀ ∂z and ∂h = ∂z W₂ᵀ (products over strided views, no transposed copies), then
//!   ∂h ⊙ act′, read from h itself;
//! * ∂W₁: for one-hot inputs the product xᵀ ∂h is, per table row, the sum of ∂h over the
//!   examples whose token selects that row: a segmented sum, rows in parallel.
//!
//! Every row is summed in example order whatever the thread count, so a step is reproducible.
//! The gradient check in the tests pins it to burn's autodiff through [`super::Mlp`]'s forward
//! (relative error ≤ 1e-5 on the logits, the losses and every parameter's gradient).
use super::LossAndGrad;
use crate::batch::Batch;
use burn::tensor::{Device, Tensor, TensorData};
use critlab_core::Activation;
use gemm::Parallelism;
use rayon::prelude::*;

/// Products of at least this many multiply-adds use both cores (burn's `flex` threshold).
const PARALLEL_PRODUCT: usize = 192 * 192 * 192;

/// The shape of the one-hot MLP that [`step`] computes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Shape {
    /// Tokens per position (rows of W₁ per position).
    pub vocab: usize,
    /// Input positions.
    pub positions: usize,
    /// Hidden units.
    pub width: usize,
    /// Output classes.
    pub classes: usize,
    /// Whether both layers carry biases.
    pub bias: bool,
    /// The hidden activation: relu, tanh or linear (their derivatives read from the output).
    pub activation: Activation,
}

/// Whether [`step`] computes this activation.
pub(crate) fn supports(activation: Activation) -> bool {
    matches!(activation, Activation::Relu | Activation::Tanh | Activation::Linear)
}

/// One replica's forward and backward: its mean loss, the gradient of every parameter (in the
/// model's order: W₁, b₁, W₂, b₂) and its logits `n × classes`.
struct ReplicaStep {
    loss: f64,
    grads: Vec<Vec<f32>>,
    logits: Vec<f32>,
}

/// Losses `[R, 1, 1]`, gradients (one per parameter, `[R, rows, cols]`) and logits
/// `[R, n, classes]` of a replica-batched one-hot MLP on a batch with host token ids and
/// labels, computed on the host from the parameters' values.
pub(crate) fn step(shape: Shape, params: &[Tensor<3>], batch: &Batch, device: &Device) -> LossAndGrad {
    let (r, n) = (batch.replicas, batch.n);
    let host = batch.host.as_ref().expect("token batches carry host ids");
    let values: Vec<Vec<f32>> =
        params.iter().map(|p| p.clone().try_into_vec_as::<f32>().expect("float parameters")).collect();
    let sizes: Vec<usize> = values.iter().map(|v| v.len() / r).collect();
    // Few replicas with big products: one replica after another, each product on both cores.
    // Many small replicas (a sweep group): the replicas in parallel, each on one core.
    let inner = r == 1 || n * shape.width * shape.classes >= PARALLEL_PRODUCT;
    let one = |i: usize| {
        let own: Vec<&[f32]> = values.iter().zip(&sizes).map(|(v, &s)| &v[i * s..(i + 1) * s]).collect();
        let tokens: Vec<&[u32]> = host.tokens.iter().map(|t| &t[i * n..(i + 1) * n]).collect();
        replica(shape, &own, &tokens, &host.labels[i * n..(i + 1) * n], inner)
    };
    let steps: Vec<ReplicaStep> =
        if inner { (0..r).map(one).collect() } else { (0..r).into_par_iter().map(one).collect() };

    let losses: Vec<f32> = steps.iter().map(|s| s.loss as f32).collect();
    let mut logits = Vec::with_capacity(r * n * shape.classes);
    let mut grads: Vec<Vec<f32>> = sizes.iter().map(|&s| Vec::with_capacity(r * s)).collect();
    for s in steps {
        logits.extend_from_slice(&s.logits);
        for (all, g) in grads.iter_mut().zip(s.grads) {
            all.extend_from_slice(&g);
        }
    }
    let tensor = |v: Vec<f32>, dims: [usize; 3]| Tensor::from_data(TensorData::new(v, dims), device);
    let grads = grads.into_iter().zip(params).map(|(g, p)| tensor(g, p.dims())).collect();
    (tensor(losses, [r, 1, 1]), grads, tensor(logits, [r, n, shape.classes]))
}

/// Applies `f(row index, row)` to every `width`-long row of `buf`, on both cores when
/// `parallel`, and returns what it gives for each row, in row order.
fn rows_mut<T: Send>(
    buf: &mut [f32],
    width: usize,
    parallel: bool,
    f: impl Fn(usize, &mut [f32]) -> T + Sync + Send,
) -> Vec<T> {
    if parallel {
        buf.par_chunks_mut(width).with_min_len(64).enumerate().map(|(i, row)| f(i, row)).collect()
    } else {
        buf.chunks_mut(width).enumerate().map(|(i, row)| f(i, row)).collect()
    }
}

/// `dst (m × n) = lhs (m × k) · rhs (k × n)` (+ dst when `accumulate`), each operand given by
/// its row and column strides, `dst` row-major.
#[allow(clippy::too_many_arguments)]
fn product(
    dst: &mut [f32],
    (m, n, k): (usize, usize, usize),
    accumulate: bool,
    lhs: &[f32],
    (lhs_rs, lhs_cs): (usize, usize),
    rhs: &[f32],
    (rhs_rs, rhs_cs): (usize, usize),
    parallel: bool,
) {
    assert!(dst.len() >= m * n);
    assert!(m == 0 || k == 0 || lhs.len() > (m - 1) * lhs_rs + (k - 1) * lhs_cs);
    assert!(k == 0 || n == 0 || rhs.len() > (k - 1) * rhs_rs + (n - 1) * rhs_cs);
    let parallelism = if parallel && m * n * k >= PARALLEL_PRODUCT { Parallelism::Rayon(0) } else { Parallelism::None };
    // SAFETY: the asserts above keep every index the strides reach inside its slice; `dst`
    // is exclusively borrowed and does not alias the shared `lhs` and `rhs`.
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            dst.as_mut_ptr(),
            1,
            n as isize,
            accumulate,
            lhs.as_ptr(),
            lhs_cs as isize,
            lhs_rs as isize,
            rhs.as_ptr(),
            rhs_cs as isize,
            rhs_rs as isize,
            1.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }
}

fn replica(shape: Shape, params: &[&[f32]], tokens: &[&[u32]], labels: &[u32], parallel: bool) -> ReplicaStep {
    let Shape { vocab, positions, width: w, classes: c, bias, activation } = shape;
    let n = labels.len();
    let (w1, b1, w2, b2) = if bias {
        (params[0], Some(params[1]), params[2], Some(params[3]))
    } else {
        (params[0], None, params[1], None)
    };

    // h = act(Σ_pos W₁[pos·vocab + token] + b₁), in the order burn's forward adds them.
    let mut h = vec![0.0f32; n * w];
    rows_mut(&mut h, w, parallel, |i, row| {
        let at = |pos: usize| (pos * vocab + tokens[pos][i] as usize) * w;
        row.copy_from_slice(&w1[at(0)..at(0) + w]);
        for pos in 1..positions {
            row.iter_mut().zip(&w1[at(pos)..at(pos) + w]).for_each(|(x, y)| *x += y);
        }
        if let Some(b1) = b1 {
            row.iter_mut().zip(b1).for_each(|(x, y)| *x += y);
        }
        match activation {
            Activation::Relu => row.iter_mut().for_each(|x| *x = x.max(0.0)),
            Activation::Tanh => row.iter_mut().for_each(|x| *x = x.tanh()),
            _ => {}
        }
    });

    // z = h W₂ + b₂.
    let mut logits = match b2 {
        Some(b2) => b2.repeat(n),
        None => vec![0.0f32; n * c],
    };
    product(&mut logits, (n, c, w), b2.is_some(), &h, (w, 1), w2, (c, 1), parallel);

    // Per-example loss and ∂ℓ/∂z = (softmax z − e_y)/n, one pass per row.
    let mut dz = logits.clone();
    let scale = 1.0 / n as f32;
    let each = rows_mut(&mut dz, c, parallel, |i, row| {
        let y = labels[i] as usize;
        let max = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
        let z_y = row[y];
        let mut sum = 0.0f32;
        for x in row.iter_mut() {
            *x = (*x - max).exp();
            sum += *x;
        }
        let norm = scale / sum;
        row.iter_mut().for_each(|x| *x *= norm);
        row[y] -= scale;
        f64::from(sum.ln() + max - z_y)
    });
    let loss = each.iter().sum::<f64>() / n as f64;

    // ∂W₂ = hᵀ ∂z and ∂b₂ = Σ_examples ∂z.
    let mut dw2 = vec![0.0f32; w * c];
    product(&mut dw2, (w, c, n), false, &h, (1, w), &dz, (c, 1), parallel);
    let column_sum = |m: &[f32], cols: usize| {
        let mut s = vec![0.0f32; cols];
        m.chunks(cols).for_each(|row| s.iter_mut().zip(row).for_each(|(a, b)| *a += b));
        s
    };

    // ∂h = ∂z W₂ᵀ, times act′ read from h.
    let mut dh = vec![0.0f32; n * w];
    product(&mut dh, (n, w, c), false, &dz, (c, 1), w2, (1, c), parallel);
    rows_mut(&mut dh, w, parallel, |i, d| {
        let h = &h[i * w..(i + 1) * w];
        match activation {
            Activation::Relu => d.iter_mut().zip(h).for_each(|(d, &x)| *d = if x > 0.0 { *d } else { 0.0 }),
            Activation::Tanh => d.iter_mut().zip(h).for_each(|(d, &x)| *d *= 1.0 - x * x),
            _ => {}
        }
    });

    // ∂W₁: row pos·vocab + t is the sum of ∂h over the examples with token t at `pos`, in
    // example order (a counting sort groups them).
    let mut dw1 = vec![0.0f32; positions * vocab * w];
    let mut start = vec![0usize; positions * vocab + 1];
    for (pos, t) in tokens.iter().enumerate() {
        t.iter().for_each(|&tok| start[pos * vocab + tok as usize + 1] += 1);
    }
    for j in 0..positions * vocab {
        start[j + 1] += start[j];
    }
    let mut fill = start.clone();
    let mut members = vec![0u32; positions * n];
    for (pos, t) in tokens.iter().enumerate() {
        for (i, &tok) in t.iter().enumerate() {
            let slot = &mut fill[pos * vocab + tok as usize];
            members[*slot] = i as u32;
            *slot += 1;
        }
    }
    rows_mut(&mut dw1, w, parallel, |j, row| {
        for &i in &members[start[j]..start[j + 1]] {
            let i = i as usize;
            row.iter_mut().zip(&dh[i * w..(i + 1) * w]).for_each(|(a, b)| *a += b);
        }
    });

    let grads = match bias {
        true => vec![dw1, column_sum(&dh, w), dw2, column_sum(&dz, c)],
        false => vec![dw1, dw2],
    };
    ReplicaStep { loss, grads, logits }
}

#[cfg(test)]
mod tests {
    use crate::batch::Batch;
    use crate::models::{LossAndGrad, Mlp, Model};
    use crate::tasks::Dataset;
    use burn::tensor::{Tensor, TensorData};
    use critlab_core::{Activation, InputEncoding, LossKind, RunSpec, ValidRunSpec};

    fn specs(activation: Activation, bias: bool, edit: impl Fn(&mut RunSpec)) -> Vec<ValidRunSpec> {
        [3u64, 4]
            .iter()
            .map(|&seed| {
                let mut s = RunSpec::default();
                (s.p, s.train_frac, s.width, s.depth, s.seed) = (13, 0.6, 24, 1, seed);
                (s.activation, s.bias) = (activation, bias);
                edit(&mut s);
                s.validate().expect("a valid spec")
            })
            .collect()
    }

    /// The model, its parameters (two replicas of different seeds, different splits) and a
    /// batch of each replica's training set.
    fn setup(specs: &[ValidRunSpec]) -> (Mlp, Vec<Tensor<3>>, Batch) {
        let device = crate::cpu_device();
        let data: Vec<Dataset> = specs.iter().map(Dataset::generate).collect();
        let splits: Vec<Vec<usize>> =
            data.iter().zip(specs).map(|(d, s)| d.split(s.train_frac, s.data_seed()).train).collect();
        let n = splits.iter().map(Vec::len).min().expect("two splits");
        let refs: Vec<&Dataset> = data.iter().collect();
        let idx: Vec<&[usize]> = splits.iter().map(|s| &s[..n]).collect();
        let batch = Batch::gather(&refs, &idx, &device);
        let model = Mlp::new(&specs[0], crate::trainer::input_shape(&data[0].inputs), data[0].outputs());
        let params = model
            .params()
            .iter()
            .zip(crate::trainer::init_values(&model, specs))
            .map(|(p, v)| Tensor::from_data(TensorData::new(v, [specs.len(), p.rows, p.cols]), &device))
            .collect();
        (model, params, batch)
    }

    fn autodiff(model: &Mlp, params: &[Tensor<3>], batch: &Batch) -> LossAndGrad {
        let tracked: Vec<Tensor<3>> = params.iter().map(|p| p.clone().autodiff().require_grad()).collect();
        let logits = model.forward(&tracked, batch).logits;
        let losses = crate::loss::per_replica(LossKind::CrossEntropy, logits.clone(), batch);
        let g = losses.clone().sum().backward();
        let grads = tracked.iter().map(|p| p.grad(&g).expect("every parameter has a gradient")).collect();
        (losses.inner(), grads, logits.inner())
    }

    fn read(t: &Tensor<3>) -> Vec<f32> {
        t.clone().try_into_vec_as::<f32>().expect("a float tensor")
    }

    /// ‖a − b‖ / ‖b‖.
    fn rel_err(a: &Tensor<3>, b: &Tensor<3>) -> f64 {
        assert_eq!(a.dims(), b.dims());
        let (mut diff, mut norm) = (0.0f64, 0.0f64);
        for (x, y) in read(a).iter().zip(&read(b)) {
            diff += (f64::from(*x) - f64::from(*y)).powi(2);
            norm += f64::from(*y).powi(2);
        }
        (diff / norm).sqrt()
    }

    /// Gradient check: the hand-written step against burn's autodiff through `Mlp::forward`,
    /// relative error ≤ 1e-5 on the logits, the losses and every parameter, for each activation
    /// it computes, with and without biases.
    #[test]
    fn hand_written_step_gives_autodiffs_losses_and_gradients() {
        for activation in [Activation::Relu, Activation::Tanh, Activation::Linear] {
            for bias in [true, false] {
                let specs = specs(activation, bias, |_| {});
                let (model, params, batch) = setup(&specs);
                let (losses, grads, logits) =
                    model.cpu_loss_and_grad(&params, &batch, LossKind::CrossEntropy).expect("a one-hot MLP on the CPU");
                let (losses_ref, grads_ref, logits_ref) = autodiff(&model, &params, &batch);
                let case = format!("{activation:?}, bias {bias}");
                assert!(rel_err(&logits, &logits_ref) <= 1e-5, "{case}: logits {}", rel_err(&logits, &logits_ref));
                assert!(rel_err(&losses, &losses_ref) <= 1e-5, "{case}: losses {}", rel_err(&losses, &losses_ref));
                assert_eq!(grads.len(), model.params().len());
                for (spec, (g, g_ref)) in model.params().iter().zip(grads.iter().zip(&grads_ref)) {
                    let e = rel_err(g, g_ref);
                    assert!(e <= 1e-5, "{case}: {} relative error {e}", spec.name);
                    assert!(
                        read(g_ref).iter().any(|x| *x != 0.0),
                        "{case}: {}: a zero gradient checks nothing",
                        spec.name
                    );
                }
            }
        }
    }

    /// Each replica's loss and gradient are its own: training one replica alone gives the same
    /// numbers bit for bit as training it next to another.
    #[test]
    fn a_replica_computes_the_same_alone_and_in_a_group() {
        let both = specs(Activation::Relu, true, |_| {});
        let (model, params, batch) = setup(&both);
        let (losses, grads, _) = model.cpu_loss_and_grad(&params, &batch, LossKind::CrossEntropy).expect("eligible");
        let (model1, params1, batch1) = setup(&both[..1]);
        let (losses1, grads1, _) =
            model1.cpu_loss_and_grad(&params1, &batch1, LossKind::CrossEntropy).expect("eligible");
        assert_eq!(batch.n, batch1.n, "splits of one size");
        assert_eq!(read(&losses)[0], read(&losses1)[0]);
        for (g, g1) in grads.iter().zip(&grads1) {
            let n1 = read(g1).len();
            assert_eq!(&read(g)[..n1], &read(g1)[..]);
        }
    }

    /// Cases it does not compute go to burn's autodiff.
    #[test]
    fn other_models_and_losses_go_to_autodiff() {
        let (model, params, batch) = setup(&specs(Activation::Relu, true, |_| {}));
        assert!(model.cpu_loss_and_grad(&params, &batch, LossKind::Mse).is_none(), "MSE");
        let edits: [(&str, fn(&mut RunSpec)); 3] = [
            ("quadratic", |s| s.activation = Activation::Quadratic),
            ("two hidden layers", |s| s.depth = 2),
            ("embedding input", |s| s.input = InputEncoding::Embedding),
        ];
        for (what, edit) in edits {
            let (model, params, batch) = setup(&specs(Activation::Relu, true, edit));
            assert!(model.cpu_loss_and_grad(&params, &batch, LossKind::CrossEntropy).is_none(), "{what}");
        }
    }
}
