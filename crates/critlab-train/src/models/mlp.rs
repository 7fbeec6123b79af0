//! Multilayer perceptron: `depth` hidden layers of `width` units, then a linear read-out
//! (`depth` = 0: the inputs feed the read-out directly, a linear model).
use super::{mlp_cpu, Forward, InputShape, LossAndGrad, Model, ParamSpec};
use crate::batch::Batch;
use crate::symmetry::{After, Layer};
use burn::tensor::{activation, Tensor};
use critlab_core::{Activation, InputEncoding, LossKind, ValidRunSpec};

/// The MLP. Token inputs enter one-hot (as a lookup into the first layer's rows: the rows
/// `[0, vocab)` belong to position 0, `[vocab, 2·vocab)` to position 1, …) or through a
/// learned embedding shared by the positions.
pub struct Mlp {
    params: Vec<ParamSpec>,
    input: InputShape,
    encoding: InputEncoding,
    activation: Activation,
    depth: usize,
    bias: bool,
}

impl Mlp {
    /// The MLP of a spec.
    pub fn new(spec: &ValidRunSpec, input: InputShape, outputs: usize) -> Self {
        let mut params = Vec::new();
        let encoding = spec.input;
        let fan_in = match (input, encoding) {
            (InputShape::Tokens { vocab, positions }, InputEncoding::OneHot) => vocab * positions,
            (InputShape::Tokens { vocab, positions }, InputEncoding::Embedding) => {
                params.push(ParamSpec::embedding("embed", vocab, spec.embed_dim));
                spec.embed_dim * positions
            }
            (InputShape::Dense(d), _) => d,
        };
        let mut fan = fan_in;
        for l in 0..spec.depth {
            let name = format!("layer{l}");
            params.push(ParamSpec::linear(&name, fan, spec.width));
            if spec.bias {
                params.push(ParamSpec::bias(&name, fan, spec.width));
            }
            fan = spec.width;
        }
        params.push(ParamSpec::linear("readout", fan, outputs));
        if spec.bias {
            params.push(ParamSpec::bias("readout", fan, outputs));
        }
        Self { params, input, encoding, activation: spec.activation, depth: spec.depth, bias: spec.bias }
    }

    fn act(&self, x: Tensor<3>) -> Tensor<3> {
        match self.activation {
            Activation::Relu => activation::relu(x),
            Activation::Quadratic => x.square(),
            Activation::Gelu => activation::gelu(x),
            Activation::Tanh => x.tanh(),
            Activation::Linear => x,
        }
    }
}

impl Model for Mlp {
    fn params(&self) -> &[ParamSpec] {
        &self.params
    }

    fn forward(&self, params: &[Tensor<3>], batch: &Batch) -> Forward {
        let mut it = params.iter();
        let mut next = || it.next().expect("parameter list matches the model");
        let first = match (self.input, self.encoding) {
            (InputShape::Tokens { vocab, positions }, InputEncoding::OneHot) => {
                let w = next();
                (0..positions).map(|p| batch.lookup(w, p, p * vocab)).reduce(|a, b| a + b).expect("≥ 1 position")
            }
            (InputShape::Tokens { positions, .. }, InputEncoding::Embedding) => {
                let e = next();
                let x = Tensor::cat((0..positions).map(|p| batch.lookup(e, p, 0)).collect(), 2);
                x.matmul(next().clone())
            }
            (InputShape::Dense(_), _) => batch.dense.clone().expect("dense inputs").matmul(next().clone()),
        };
        if self.depth == 0 {
            // A linear model (Levi et al. 2024's student): the first product is the read-out.
            // Its penultimate representation is the input itself for dense inputs; for token
            // inputs, which have no dense input here, the outputs stand in for it.
            let mut logits = first;
            if self.bias {
                logits = logits + next().clone();
            }
            let hidden = batch.dense.clone().unwrap_or_else(|| logits.clone());
            return Forward { logits, hidden };
        }
        let mut h = first;
        for l in 0..self.depth {
            if l > 0 {
                h = h.matmul(next().clone());
            }
            if self.bias {
                h = h + next().clone();
            }
            h = self.act(h);
        }
        let mut logits = h.clone().matmul(next().clone());
        if self.bias {
            logits = logits + next().clone();
        }
        Forward { logits, hidden: h }
    }

    /// One hidden layer over one-hot tokens, relu, tanh or linear, cross-entropy on equal-size
    /// batches, on the CPU: the three products and four row passes of `models/mlp_cpu.rs`.
    fn cpu_loss_and_grad(&self, params: &[Tensor<3>], batch: &Batch, loss: LossKind) -> Option<LossAndGrad> {
        let InputShape::Tokens { vocab, positions } = self.input else { return None };
        let device = params[0].device();
        let eligible = self.depth == 1
            && self.encoding == InputEncoding::OneHot
            && mlp_cpu::supports(self.activation)
            && loss == LossKind::CrossEntropy
            && batch.weights.is_none()
            && batch.host.is_some()
            && device == crate::cpu_device()
            && super::hand_written_allowed();
        if !eligible {
            return None;
        }
        let shape = mlp_cpu::Shape {
            vocab,
            positions,
            width: self.params[0].cols,
            classes: self.params.last().expect("a read-out").cols,
            bias: self.bias,
            activation: self.activation,
        };
        Some(mlp_cpu::step(shape, params, batch, &device))
    }

    fn layers(&self) -> Vec<Layer> {
        let dense = |name: String, after| Layer::Dense {
            weight: format!("{name}.weight"),
            bias: self.bias.then(|| format!("{name}.bias")),
            after,
        };
        let mut layers: Vec<Layer> =
            (0..self.depth).map(|l| dense(format!("layer{l}"), After::Activation(self.activation))).collect();
        layers.push(dense("readout".into(), After::Nothing));
        layers
    }
}
