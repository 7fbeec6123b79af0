//! The one-layer transformer of Nanda et al. 2023, "Progress measures for grokking via
//! mechanistic interpretability": input tokens a, b, '=' (vocabulary p + 1), learned token and
//! position embeddings, one attention layer (no biases) and one ReLU MLP (with biases), no
//! LayerNorm, read-out from the residual stream at the '=' position.
//!
//! Only the '=' query is computed: with one layer and the read-out at the last position, the
//! queries of a and b never reach the output, so skipping them is exact (the causal mask is
//! then a no-op, since '=' attends to all three positions).
use super::{Forward, Model, ParamSpec};
use crate::batch::Batch;
use crate::symmetry::{After, Layer};
use burn::tensor::{activation, Tensor};
use critlab_core::{Activation, ValidRunSpec};

/// The transformer.
pub struct Transformer {
    params: Vec<ParamSpec>,
    vocab: usize,
    heads: usize,
    d_head: usize,
}

/// Input positions: a, b, '='.
const POSITIONS: usize = 3;

impl Transformer {
    /// The transformer of a spec for `p`-token modular inputs (the '=' token is id p).
    pub fn new(spec: &ValidRunSpec, p: usize, outputs: usize) -> Self {
        let (d, h, m) = (spec.d_model, spec.heads, spec.d_mlp);
        let params = vec![
            ParamSpec::embedding("embed", p + 1, d),
            ParamSpec::embedding("pos_embed", POSITIONS, d),
            ParamSpec::linear("attn.q", d, d),
            ParamSpec::linear("attn.k", d, d),
            ParamSpec::linear("attn.v", d, d),
            ParamSpec::linear("attn.o", d, d),
            ParamSpec::linear("mlp.in", d, m),
            ParamSpec::bias("mlp.in", d, m),
            ParamSpec::linear("mlp.out", m, d),
            ParamSpec::bias("mlp.out", m, d),
            ParamSpec::linear("unembed", d, outputs),
        ];
        Self { params, vocab: p, heads: h, d_head: d / h }
    }

    /// Number of attention heads.
    pub fn heads(&self) -> usize {
        self.heads
    }
}

impl Model for Transformer {
    fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    fn forward(&self, params: &[Tensor<3>], batch: &Batch) -> Forward {
        let [embed, pos, wq, wk, wv, wo, w_in, b_in, w_out, b_out, unembed] = params else {
            panic!("the transformer has 11 parameters, got {}", params.len())
        };
        let (r, n, hd, dh) = (batch.replicas, batch.n, self.heads, self.d_head);
        let d = hd * dh;
        // Row `i` of each example from a token table `e` and a position table `p` (of any
        // width c): e[token] + p[i], [R, n, c]; for '=' (i = 2), the same token in every
        // example, one row, [R, 1, c].
        let at = |e: &Tensor<3>, p: &Tensor<3>, i: usize| -> Tensor<3> {
            let c = e.dims()[2];
            let row =
                if i < 2 { batch.lookup(e, i, 0) } else { e.clone().slice([0..r, self.vocab..self.vocab + 1, 0..c]) };
            row + p.clone().slice([0..r, i..i + 1, 0..c])
        };
        // The residual stream at position i is E[t] + P[i], so its projection by W is a lookup
        // in projected tables, (E[t] + P[i]) W = (E W)[t] + (P W)[i]: a [p + 1, d] × [d, d]
        // product instead of an [n, d] × [d, d] one per position (exact up to rounding; the
        // unit tests hold the gradients to the direct product).
        let x2 = at(embed, pos, 2); // the '=' row of the residual stream, [R, 1, d]
                                    // The one query, the same in every example, per head: [R, 1, H, dh].
        let q = x2.clone().matmul(wq.clone()).reshape([r, 1, hd, dh]);
        // A score is linear in its key, so the scores too are lookups: in the tables
        // q_h · (E W_K)[t]_h / √dh ([p + 1, H]) and q_h · (P W_K)[i]_h / √dh ([3, H]). Each
        // position's scores, [R, n, H, 1], and the softmax over the three positions.
        let score_table = |keys: Tensor<3>| -> Tensor<3> {
            let rows = keys.dims()[1];
            (keys.reshape([r, rows, hd, dh]) * q.clone())
                .sum_dim(3)
                .reshape([r, rows, hd])
                .div_scalar((dh as f64).sqrt())
        };
        let (se, sp) = (score_table(embed.clone().matmul(wk.clone())), score_table(pos.clone().matmul(wk.clone())));
        let scores: Vec<Tensor<4>> =
            (0..POSITIONS).map(|i| at(&se, &sp, i).expand([r, n, hd]).reshape([r, n, hd, 1])).collect();
        let weights = activation::softmax(Tensor::cat(scores, 3), 3); // [R, n, H, 3]
                                                                      // z_h = Σ_i weight_{h,i} v_{i,h} with the values looked up like the keys: [R, n, d].
        let (ve, vp) = (embed.clone().matmul(wv.clone()), pos.clone().matmul(wv.clone()));
        let z = (0..POSITIONS)
            .map(|i| {
                let v = at(&ve, &vp, i);
                let len = v.dims()[1];
                v.reshape([r, len, hd, dh]) * weights.clone().slice([0..r, 0..n, 0..hd, i..i + 1])
            })
            .reduce(|a, b| a + b)
            .expect("three positions")
            .reshape([r, n, d]);
        let resid = x2.expand([r, n, d]) + z.matmul(wo.clone());
        let hidden = activation::relu(resid.clone().matmul(w_in.clone()) + b_in.clone());
        let resid = resid + hidden.clone().matmul(w_out.clone()) + b_out.clone();
        Forward { logits: resid.matmul(unembed.clone()), hidden }
    }

    fn layers(&self) -> Vec<Layer> {
        let s = String::from;
        vec![
            Layer::Attention {
                q: s("attn.q.weight"),
                k: s("attn.k.weight"),
                v: s("attn.v.weight"),
                o: s("attn.o.weight"),
                heads: self.heads,
            },
            Layer::Dense {
                weight: s("mlp.in.weight"),
                bias: Some(s("mlp.in.bias")),
                after: After::Activation(Activation::Relu),
            },
            Layer::Dense { weight: s("mlp.out.weight"), bias: Some(s("mlp.out.bias")), after: After::Nothing },
            Layer::Dense { weight: s("unembed.weight"), bias: None, after: After::Nothing },
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tasks::Dataset;
    use critlab_core::{ModelKind, RunSpec};

    /// The forward pass as the paper writes it: every position's residual stream built, then
    /// multiplied by W_Q, W_K, W_V (the reference the lookup of projected tables must match).
    fn direct(m: &Transformer, params: &[Tensor<3>], batch: &Batch) -> Tensor<3> {
        let [embed, pos, wq, wk, wv, wo, w_in, b_in, w_out, b_out, unembed] = params else { unreachable!() };
        let (r, n, hd, dh) = (batch.replicas, batch.n, m.heads, m.d_head);
        let d = hd * dh;
        let token = |i: usize| -> Tensor<3> {
            let e =
                if i < 2 { batch.lookup(embed, i, 0) } else { embed.clone().slice([0..r, m.vocab..m.vocab + 1, 0..d]) };
            e + pos.clone().slice([0..r, i..i + 1, 0..d])
        };
        let (x0, x1, x2) = (token(0), token(1), token(2).expand([r, n, d]));
        let all =
            Tensor::cat(vec![x0.reshape([r, n, 1, d]), x1.reshape([r, n, 1, d]), x2.clone().reshape([r, n, 1, d])], 2)
                .reshape([r, n * POSITIONS, d]);
        let split_heads = |t: Tensor<3>, len: usize| t.reshape([r * n, len, hd, dh]).swap_dims(1, 2);
        let q = split_heads(x2.clone().matmul(wq.clone()), 1);
        let k = split_heads(all.clone().matmul(wk.clone()), POSITIONS);
        let v = split_heads(all.matmul(wv.clone()), POSITIONS);
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((dh as f64).sqrt());
        let z = activation::softmax(scores, 3).matmul(v).swap_dims(1, 2).reshape([r, n, d]);
        let resid = x2 + z.matmul(wo.clone());
        let hidden = activation::relu(resid.clone().matmul(w_in.clone()) + b_in.clone());
        (resid + hidden.matmul(w_out.clone()) + b_out.clone()).matmul(unembed.clone())
    }

    fn grads(params: &[Tensor<3>], f: impl Fn(&[Tensor<3>]) -> Tensor<3>, batch: &Batch) -> (Vec<f32>, Vec<Vec<f32>>) {
        let tracked: Vec<Tensor<3>> = params.iter().map(|p| p.clone().autodiff().require_grad()).collect();
        let logits = f(&tracked);
        let g = crate::loss::per_replica(critlab_core::LossKind::CrossEntropy, logits.clone(), batch).sum().backward();
        let read = |t: Tensor<3>| t.try_into_vec_as::<f32>().expect("a float tensor");
        (
            read(logits.inner()),
            tracked.iter().map(|p| read(p.grad(&g).expect("every parameter has a gradient"))).collect(),
        )
    }

    fn rel_err(a: &[f32], b: &[f32]) -> f64 {
        let (mut diff, mut norm) = (0.0f64, 0.0f64);
        for (x, y) in a.iter().zip(b) {
            diff += (f64::from(*x) - f64::from(*y)).powi(2);
            norm += f64::from(*y).powi(2);
        }
        (diff / norm).sqrt()
    }

    /// Gradient check of the projected-table forward against the direct one (burn's autodiff
    /// through both): relative error ≤ 1e-5 on every parameter, two replicas of different seeds.
    #[test]
    fn projected_tables_give_the_gradients_of_the_direct_product() {
        let specs: Vec<ValidRunSpec> = [0u64, 1]
            .iter()
            .map(|&seed| {
                let mut s = RunSpec::default();
                s.model = ModelKind::Transformer;
                s.p = 17;
                s.train_frac = 0.5;
                (s.d_model, s.heads, s.d_mlp, s.seed) = (32, 4, 64, seed);
                s.validate().expect("a valid spec")
            })
            .collect();
        let device = crate::cpu_device();
        let data: Vec<Dataset> = specs.iter().map(Dataset::generate).collect();
        let splits: Vec<Vec<usize>> =
            data.iter().zip(&specs).map(|(d, s)| d.split(s.train_frac, s.data_seed()).train).collect();
        let refs: Vec<&Dataset> = data.iter().collect();
        let idx: Vec<&[usize]> = splits.iter().map(Vec::as_slice).collect();
        let batch = Batch::gather(&refs, &idx, &device);
        let model = Transformer::new(&specs[0], 17, 17);
        let params: Vec<Tensor<3>> = model
            .params()
            .iter()
            .zip(crate::trainer::init_values(&model, &specs))
            .map(|(p, v)| Tensor::from_data(burn::tensor::TensorData::new(v, [2, p.rows, p.cols]), &device))
            .collect();
        let (logits, fast) = grads(&params, |ps| model.forward(ps, &batch).logits, &batch);
        let (logits_ref, slow) = grads(&params, |ps| direct(&model, ps, &batch), &batch);
        assert!(rel_err(&logits, &logits_ref) <= 1e-5, "logits: {}", rel_err(&logits, &logits_ref));
        for (spec, (g, g_ref)) in model.params().iter().zip(fast.iter().zip(&slow)) {
            let e = rel_err(g, g_ref);
            assert!(e <= 1e-5, "{}: relative error {e}", spec.name);
            assert!(g_ref.iter().any(|x| *x != 0.0), "{}: a zero gradient checks nothing", spec.name);
        }
    }
}
