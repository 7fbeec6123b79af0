//! Continuous symmetries of a model's topology and their Noether charges (docs/theory.md §3;
//! Kunin et al. 2021, "Neural Mechanics: Symmetry and Broken Conservation Laws in Deep
//! Learning Dynamics").
//!
//! A model describes its computation as a [`Topology`] (a list of layers and what follows
//! each); [`detect`] reads the symmetries off it with these rules:
//!
//! | rule | symmetry | charge of one group |
//! |---|---|---|
//! | the last layer's outputs go into a softmax cross-entropy | translation of the logits | row sums of the read-out weight (and the bias sum): ⟨θ_S, 𝟙⟩ per row |
//! | a dense layer followed by an activation homogeneous of degree k (ReLU, linear: k = 1; quadratic: k = 2), then another dense layer | rescale of each hidden neuron: w_in → e^s w_in, w_out → e^{−ks} w_out | ‖w_in‖² + b² − k‖w_out‖² |
//! | a dense layer followed by a normalization | scale of its weights | ‖θ_S‖² |
//! | bilinear attention scores q·k of one head | GL(d_head): W_Q → W_Q A, W_K → W_K A^{−T} | W_Qᵀ W_Q − W_Kᵀ W_K (d_head × d_head) |
//! | values and output of one head | GL(d_head): W_V → W_V A, W_O → A^{−1} W_O | W_Vᵀ W_V − W_O W_Oᵀ |
//!
//! Derivation of the rescale charge for degree k: invariance f(e^s a, e^{−ks} b) = f(a, b)
//! gives ⟨a, ∇_a f⟩ = k⟨b, ∇_b f⟩, so under gradient flow d/dt(‖a‖² − k‖b‖²) = 0. Kunin et
//! al. state the k = 1 case. A dense layer followed by nothing (e.g. the transformer's
//! `mlp.out` feeding the residual stream) carries no rescale symmetry of its own.
//!
//! Weight layout: a dense weight is `[fan_in, fan_out]` (x·W), so neuron j's incoming weights
//! are column j and its outgoing weights are row j of the next layer's weight.
use critlab_core::Activation;
use serde::Serialize;

/// What follows a dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// A pointwise activation.
    Activation(Activation),
    /// A normalization layer (LayerNorm, BatchNorm without affine scale of its input).
    Normalization,
    /// Nothing (a linear map into the residual stream or the logits).
    Nothing,
}

/// One layer of a topology; parameters are named as in the model's [`crate::models::ParamSpec`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Layer {
    /// x · W (+ b), then `after`.
    Dense {
        /// Weight parameter name (`[fan_in, fan_out]`).
        weight: String,
        /// Bias parameter name (`[1, fan_out]`), if any.
        bias: Option<String>,
        /// What follows.
        after: After,
    },
    /// Multi-head attention with bilinear scores and a value–output path.
    Attention {
        /// W_Q, `[d, heads·d_head]`.
        q: String,
        /// W_K, `[d, heads·d_head]`.
        k: String,
        /// W_V, `[d, heads·d_head]`.
        v: String,
        /// W_O, `[heads·d_head, d]`.
        o: String,
        /// Number of heads.
        heads: usize,
    },
}

/// A model's computation as far as symmetries are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// Layers in order; the last dense layer is the read-out.
    pub layers: Vec<Layer>,
    /// Whether the read-out's outputs are logits of a softmax cross-entropy.
    pub softmax_output: bool,
}

/// One detected symmetry group (a family of per-neuron or per-head charges).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Symmetry {
    /// Translation of the softmax logits; one charge per read-out row (and the bias).
    Translation {
        /// Read-out weight.
        weight: String,
        /// Read-out bias.
        bias: Option<String>,
    },
    /// Rescale of each hidden neuron of a layer, activation homogeneous of degree `degree`.
    Rescale {
        /// The layer's name (weight name without `.weight`).
        layer: String,
        /// Incoming weight (columns are neurons).
        incoming: String,
        /// Incoming bias.
        bias: Option<String>,
        /// Outgoing weight (rows are neurons).
        outgoing: String,
        /// Degree k of the activation.
        degree: u32,
    },
    /// Scale of the weights feeding a normalization.
    Scale {
        /// The layer's name.
        layer: String,
        /// Weight.
        weight: String,
        /// Bias.
        bias: Option<String>,
    },
    /// GL(d_head) of the query–key product, one charge matrix per head.
    GlQueryKey {
        /// W_Q.
        q: String,
        /// W_K.
        k: String,
        /// Heads.
        heads: usize,
    },
    /// GL(d_head) of the value–output product, one charge matrix per head.
    GlValueOutput {
        /// W_V.
        v: String,
        /// W_O.
        o: String,
        /// Heads.
        heads: usize,
    },
}

impl Symmetry {
    /// Stored name prefix of its per-layer (or per-head) charges.
    pub fn metric_prefix(&self) -> &'static str {
        match self {
            Symmetry::Translation { .. } => "charge_translation",
            Symmetry::Rescale { .. } => "charge_rescale",
            Symmetry::Scale { .. } => "charge_scale",
            Symmetry::GlQueryKey { .. } => "charge_gl",
            Symmetry::GlValueOutput { .. } => "charge_gl_vo",
        }
    }

    /// Whether the stored aggregate is quadratic in θ (decays as e^{−2λt} under weight decay)
    /// rather than linear (translation: e^{−λt}).
    pub fn quadratic(&self) -> bool {
        !matches!(self, Symmetry::Translation { .. })
    }

    /// The stored aggregate names of this symmetry.
    pub fn metric_names(&self) -> Vec<String> {
        let p = self.metric_prefix();
        match self {
            Symmetry::Translation { .. } => vec![p.to_string()],
            Symmetry::Rescale { layer, .. } | Symmetry::Scale { layer, .. } => vec![format!("{p}/{layer}")],
            Symmetry::GlQueryKey { heads, .. } | Symmetry::GlValueOutput { heads, .. } => {
                (0..*heads).map(|h| format!("{p}/head{h}")).collect()
            }
        }
    }

    /// One line in words.
    pub fn describe(&self) -> String {
        match self {
            Symmetry::Translation { weight, bias } => format!(
                "translation of the softmax logits: row sums of {weight}{}",
                bias.as_ref().map(|b| format!(" and the sum of {b}")).unwrap_or_default()
            ),
            Symmetry::Rescale { layer, incoming, bias, outgoing, degree } => format!(
                "rescale of each neuron of {layer} (degree {degree}): ‖{incoming}[:, j]‖²{} − {degree}·‖{outgoing}[j, :]‖²",
                bias.as_ref().map(|b| format!(" + {b}[j]²")).unwrap_or_default()
            ),
            Symmetry::Scale { layer, .. } => format!("scale of the weights of {layer} feeding a normalization"),
            Symmetry::GlQueryKey { q, k, heads } => format!("GL(d_head) of each of {heads} heads: {q}ᵀ{q} − {k}ᵀ{k}"),
            Symmetry::GlValueOutput { v, o, heads } => format!("GL(d_head) of each of {heads} heads: {v}ᵀ{v} − {o}{o}ᵀ"),
        }
    }
}

/// Degree of positive homogeneity of an activation, if it has one.
pub fn homogeneity_degree(a: Activation) -> Option<u32> {
    match a {
        Activation::Relu | Activation::Linear => Some(1),
        Activation::Quadratic => Some(2),
        Activation::Gelu | Activation::Tanh => None,
    }
}

/// The symmetries of a topology, in layer order (translation last).
pub fn detect(topology: &Topology) -> Vec<Symmetry> {
    let mut out = Vec::new();
    let layer_name = |w: &str| w.strip_suffix(".weight").unwrap_or(w).to_string();
    for (i, layer) in topology.layers.iter().enumerate() {
        match layer {
            Layer::Dense { weight, bias, after } => match after {
                After::Activation(a) => {
                    let next = topology.layers.get(i + 1);
                    if let (Some(degree), Some(Layer::Dense { weight: outgoing, .. })) = (homogeneity_degree(*a), next)
                    {
                        out.push(Symmetry::Rescale {
                            layer: layer_name(weight),
                            incoming: weight.clone(),
                            bias: bias.clone(),
                            outgoing: outgoing.clone(),
                            degree,
                        });
                    }
                }
                After::Normalization => {
                    out.push(Symmetry::Scale { layer: layer_name(weight), weight: weight.clone(), bias: bias.clone() })
                }
                After::Nothing => {}
            },
            Layer::Attention { q, k, v, o, heads } => {
                out.push(Symmetry::GlQueryKey { q: q.clone(), k: k.clone(), heads: *heads });
                out.push(Symmetry::GlValueOutput { v: v.clone(), o: o.clone(), heads: *heads });
            }
        }
    }
    if topology.softmax_output {
        if let Some(Layer::Dense { weight, bias, .. }) = topology.layers.last() {
            out.push(Symmetry::Translation { weight: weight.clone(), bias: bias.clone() });
        }
    }
    out
}

/// The symmetries of the model a spec trains (shapes from the spec; no data is generated).
pub fn of_spec(spec: &critlab_core::ValidRunSpec) -> Vec<Symmetry> {
    // The task's shape comes from the spec: generating the data (p² examples) is not needed,
    // and would not fit in memory for a huge p.
    let (input, outputs) = crate::budget::task_shape(spec);
    let model = crate::models::build(spec, input, outputs);
    detect(&Topology {
        layers: model.layers(),
        softmax_output: spec.effective_loss() == critlab_core::LossKind::CrossEntropy,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dense(w: &str, bias: bool, after: After) -> Layer {
        Layer::Dense { weight: format!("{w}.weight"), bias: bias.then(|| format!("{w}.bias")), after }
    }

    #[test]
    fn homogeneous_layers_give_rescale_with_their_degree_and_others_do_not() {
        let t = Topology {
            layers: vec![
                dense("layer0", true, After::Activation(Activation::Quadratic)),
                dense("layer1", true, After::Activation(Activation::Tanh)),
                dense("layer2", false, After::Activation(Activation::Relu)),
                dense("readout", true, After::Nothing),
            ],
            softmax_output: false,
        };
        let s = detect(&t);
        assert_eq!(s.len(), 2, "{s:?}");
        assert!(
            matches!(&s[0], Symmetry::Rescale { layer, degree: 2, outgoing, .. } if layer == "layer0" && outgoing == "layer1.weight")
        );
        assert!(matches!(&s[1], Symmetry::Rescale { layer, degree: 1, bias: None, .. } if layer == "layer2"));
    }

    #[test]
    fn softmax_gives_translation_and_normalization_gives_scale() {
        let t = Topology {
            layers: vec![dense("layer0", false, After::Normalization), dense("readout", true, After::Nothing)],
            softmax_output: true,
        };
        let s = detect(&t);
        assert_eq!(s[0], Symmetry::Scale { layer: "layer0".into(), weight: "layer0.weight".into(), bias: None });
        assert_eq!(s[1], Symmetry::Translation { weight: "readout.weight".into(), bias: Some("readout.bias".into()) });
        assert_eq!(s[1].metric_names(), vec!["charge_translation"]);
        assert!(!s[1].quadratic() && s[0].quadratic());
    }

    #[test]
    fn attention_gives_one_gl_charge_per_head() {
        let t = Topology {
            layers: vec![Layer::Attention { q: "q".into(), k: "k".into(), v: "v".into(), o: "o".into(), heads: 3 }],
            softmax_output: false,
        };
        let s = detect(&t);
        assert_eq!(s[0].metric_names(), vec!["charge_gl/head0", "charge_gl/head1", "charge_gl/head2"]);
        assert_eq!(s[1].metric_names()[2], "charge_gl_vo/head2");
    }
}
