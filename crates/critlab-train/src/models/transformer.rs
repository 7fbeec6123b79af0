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
use burn::tensor::{activation, Tensor};
use crate::symmetry::{After, Layer};
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
        let token = |p: usize| -> Tensor<3> {
            let e = if p < 2 {
                batch.lookup(embed, p, 0)
            } else {
                // '=' is the same token for every example: broadcast its embedding row.
                embed.clone().slice([0..r, self.vocab..self.vocab + 1, 0..d])
            };
            e + pos.clone().slice([0..r, p..p + 1, 0..d])
        };
        let (x0, x1, x2) = (token(0), token(1), token(2).expand([r, n, d]));
        // Residual stream of all positions: [R, n·3, d], position-minor.
        let all = Tensor::cat(
            vec![x0.reshape([r, n, 1, d]), x1.reshape([r, n, 1, d]), x2.clone().reshape([r, n, 1, d])],
            2,
        )
        .reshape([r, n * POSITIONS, d]);
        let split_heads = |t: Tensor<3>, len: usize| t.reshape([r * n, len, hd, dh]).swap_dims(1, 2);
        let q = split_heads(x2.clone().matmul(wq.clone()), 1); // [R·n, H, 1, dh]
        let k = split_heads(all.clone().matmul(wk.clone()), POSITIONS); // [R·n, H, 3, dh]
        let v = split_heads(all.matmul(wv.clone()), POSITIONS);
        let scores = q.matmul(k.swap_dims(2, 3)).div_scalar((dh as f64).sqrt());
        let z = activation::softmax(scores, 3).matmul(v); // [R·n, H, 1, dh]
        let z = z.swap_dims(1, 2).reshape([r, n, d]);
        let resid = x2 + z.matmul(wo.clone());
        let hidden = activation::relu(resid.clone().matmul(w_in.clone()) + b_in.clone());
        let resid = resid + hidden.clone().matmul(w_out.clone()) + b_out.clone();
        Forward { logits: resid.matmul(unembed.clone()), hidden }
    }

    fn layers(&self) -> Vec<Layer> {
        let s = String::from;
        vec![
            Layer::Attention { q: s("attn.q.weight"), k: s("attn.k.weight"), v: s("attn.v.weight"), o: s("attn.o.weight"), heads: self.heads },
            Layer::Dense { weight: s("mlp.in.weight"), bias: Some(s("mlp.in.bias")), after: After::Activation(Activation::Relu) },
            Layer::Dense { weight: s("mlp.out.weight"), bias: Some(s("mlp.out.bias")), after: After::Nothing },
            Layer::Dense { weight: s("unembed.weight"), bias: None, after: After::Nothing },
        ]
    }
}
