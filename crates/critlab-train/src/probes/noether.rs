//! Noether charges of the model's symmetries (docs/theory.md §3; [`crate::symmetry`] finds them).
//!
//! Stored per eval step, one aggregate per layer or head:
//!
//! | name | value | under weight decay λ (SGD, t = η·step) |
//! |---|---|---|
//! | `charge_translation` | ‖s‖₂, s = (row sums of the read-out weight, sum of its bias) | e^{−λt} (exactly (1 − ηλ)^step) |
//! | `charge_rescale/<layer>` | Σ_j (‖w_in,j‖² + b_j² − k‖w_out,j‖²) over the layer's neurons | e^{−2λt} plus the η² source |
//! | `charge_rescale_source/<layer>` | ‖G_in‖² + ‖g_b‖² − k‖G_out‖² of the full training-set gradient | the source of the finite-step term |
//! | `charge_scale/<layer>`, `charge_scale_source/<layer>` | ‖θ_S‖², ‖G_S‖² | e^{−2λt} plus the source |
//! | `charge_gl/head<h>` | ‖W_Qᵀ W_Q − W_Kᵀ W_K‖_F of head h | e^{−2λt} (homogeneous part) |
//! | `charge_gl_vo/head<h>` | ‖W_Vᵀ W_V − W_O W_Oᵀ‖_F of head h | e^{−2λt} (homogeneous part) |
//!
//! The rescale aggregate is the plain sum so that it obeys the same linear law as each
//! neuron's charge: with SGD (coupled decay, no momentum) one step maps
//! Q → (1 − ηλ)² Q + η² (‖g_in‖² − k‖g_out‖²) exactly, because the symmetry makes the
//! first-order term vanish. With `neuron-charges = true` the per-neuron charges are stored
//! too: `charge_rescale/<layer>/n<j>` and `charge_translation/r<j>` (`/bias` for the bias).
use super::{HostMatrix, Kind, Measurements, Probe};
use crate::symmetry::Symmetry;

/// All charges of one model.
pub struct Charges {
    symmetries: Vec<Symmetry>,
    per_neuron: bool,
}

impl Charges {
    /// Charges of `symmetries`; `per_neuron` also stores every neuron's charge.
    pub fn new(symmetries: Vec<Symmetry>, per_neuron: bool) -> Self {
        Self { symmetries, per_neuron }
    }
}

/// Per-column Σ_i a_ij² (f64).
fn column_sq(m: &HostMatrix) -> Vec<f64> {
    let mut out = vec![0.0; m.cols];
    for row in m.values.chunks(m.cols) {
        for (o, &v) in out.iter_mut().zip(row) {
            *o += f64::from(v) * f64::from(v);
        }
    }
    out
}

/// Per-row Σ_j a_ij² or Σ_j a_ij (f64).
fn row_reduce(m: &HostMatrix, f: impl Fn(f64) -> f64) -> Vec<f64> {
    m.values.chunks(m.cols).map(|row| row.iter().map(|&v| f(f64::from(v))).sum()).collect()
}

/// Gram matrix AᵀA of the columns `cols` of A, `[n, n]` row-major.
fn column_gram(a: &HostMatrix, cols: std::ops::Range<usize>) -> Vec<f64> {
    let n = cols.len();
    let mut g = vec![0.0; n * n];
    for row in a.values.chunks(a.cols) {
        let r = &row[cols.clone()];
        for i in 0..n {
            for j in 0..n {
                g[i * n + j] += f64::from(r[i]) * f64::from(r[j]);
            }
        }
    }
    g
}

/// Gram matrix A Aᵀ of the rows `rows` of A, `[n, n]` row-major.
fn row_gram(a: &HostMatrix, rows: std::ops::Range<usize>) -> Vec<f64> {
    let n = rows.len();
    let block: Vec<&[f32]> = rows.map(|r| &a.values[r * a.cols..(r + 1) * a.cols]).collect();
    let mut g = vec![0.0; n * n];
    for i in 0..n {
        for j in 0..n {
            g[i * n + j] = block[i].iter().zip(block[j]).map(|(&x, &y)| f64::from(x) * f64::from(y)).sum();
        }
    }
    g
}

fn frobenius_of_difference(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| (x - y) * (x - y)).sum::<f64>().sqrt()
}

impl Charges {
    fn measure_one(&self, s: &Symmetry, m: &Measurements, out: &mut Vec<(String, f64)>) {
        let p = s.metric_prefix();
        let get = |name: &str| m.param(name).unwrap_or_else(|| panic!("symmetry names a missing parameter {name}"));
        match s {
            Symmetry::Translation { weight, bias } => {
                let mut sums = row_reduce(get(weight), |v| v);
                if let Some(b) = bias {
                    sums.push(row_reduce(get(b), |v| v)[0]);
                }
                out.push((p.to_string(), sums.iter().map(|x| x * x).sum::<f64>().sqrt()));
                if self.per_neuron {
                    let rows = sums.len() - usize::from(bias.is_some());
                    for (j, q) in sums.iter().enumerate() {
                        let tag = if j < rows { format!("r{j}") } else { "bias".into() };
                        out.push((format!("{p}/{tag}"), *q));
                    }
                }
            }
            Symmetry::Rescale { layer, incoming, bias, outgoing, degree } => {
                let k = f64::from(*degree);
                let mut q = column_sq(get(incoming));
                if let Some(b) = bias {
                    for (qj, bj) in q.iter_mut().zip(column_sq(get(b))) {
                        *qj += bj;
                    }
                }
                for (qj, o) in q.iter_mut().zip(row_reduce(get(outgoing), |v| v * v)) {
                    *qj -= k * o;
                }
                out.push((format!("{p}/{layer}"), q.iter().sum()));
                let g = |n: &Option<String>| n.as_deref().map(|n| m.param_grad_sq(n)).unwrap_or(0.0);
                let source = m.param_grad_sq(incoming) + g(bias) - k * m.param_grad_sq(outgoing);
                out.push((format!("{p}_source/{layer}"), source));
                if self.per_neuron {
                    out.extend(q.iter().enumerate().map(|(j, v)| (format!("{p}/{layer}/n{j}"), *v)));
                }
            }
            Symmetry::Scale { layer, weight, bias } => {
                let sq = |n: &str| get(n).values.iter().map(|&v| f64::from(v) * f64::from(v)).sum::<f64>();
                let value = sq(weight) + bias.as_deref().map(sq).unwrap_or(0.0);
                let source = m.param_grad_sq(weight) + bias.as_deref().map(|b| m.param_grad_sq(b)).unwrap_or(0.0);
                out.push((format!("{p}/{layer}"), value));
                out.push((format!("{p}_source/{layer}"), source));
            }
            Symmetry::GlQueryKey { q: a, k: b, heads } => {
                let (a, b) = (get(a), get(b));
                let dh = a.cols / heads;
                for h in 0..*heads {
                    let c = h * dh..(h + 1) * dh;
                    out.push((
                        format!("{p}/head{h}"),
                        frobenius_of_difference(&column_gram(a, c.clone()), &column_gram(b, c)),
                    ));
                }
            }
            Symmetry::GlValueOutput { v, o, heads } => {
                let (v, o) = (get(v), get(o));
                let dh = v.cols / heads;
                for h in 0..*heads {
                    let c = h * dh..(h + 1) * dh;
                    out.push((
                        format!("{p}/head{h}"),
                        frobenius_of_difference(&column_gram(v, c.clone()), &row_gram(o, c)),
                    ));
                }
            }
        }
    }
}

impl Probe for Charges {
    fn name(&self) -> &'static str {
        "charge"
    }
    fn unit(&self) -> &'static str {
        "parameter units squared (translation: parameter units)"
    }
    fn kind(&self) -> Kind {
        Kind::Charge
    }
    fn measure(&mut self, m: &Measurements, _: usize, out: &mut Vec<(String, f64)>) {
        for s in &self.symmetries {
            self.measure_one(s, m, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::probes::tests::sample;

    fn mat(rows: usize, cols: usize, values: &[f32]) -> HostMatrix {
        HostMatrix { rows, cols, values: values.to_vec() }
    }

    #[test]
    fn rescale_charge_is_incoming_minus_degree_times_outgoing() {
        let mut m = sample();
        // Two inputs, two hidden neurons, one output.
        m.weights =
            vec![("l0.weight".into(), mat(2, 2, &[1.0, 2.0, 3.0, 4.0])), ("ro.weight".into(), mat(2, 1, &[0.5, 1.0]))];
        m.biases = vec![("l0.bias".into(), mat(1, 2, &[1.0, 0.0]))];
        m.param_grad_sq = vec![("l0.weight".into(), 3.0), ("l0.bias".into(), 1.0), ("ro.weight".into(), 0.5)];
        let sym = Symmetry::Rescale {
            layer: "l0".into(),
            incoming: "l0.weight".into(),
            bias: Some("l0.bias".into()),
            outgoing: "ro.weight".into(),
            degree: 2,
        };
        let mut out = Vec::new();
        Charges::new(vec![sym], true).measure(&m, 0, &mut out);
        let get = |k: &str| out.iter().find(|(n, _)| n == k).unwrap().1;
        // neuron 0: 1 + 9 + 1 − 2·0.25 = 10.5; neuron 1: 4 + 16 + 0 − 2·1 = 18.
        assert!((get("charge_rescale/l0/n0") - 10.5).abs() < 1e-12);
        assert!((get("charge_rescale/l0/n1") - 18.0).abs() < 1e-12);
        assert!((get("charge_rescale/l0") - 28.5).abs() < 1e-12);
        assert!((get("charge_rescale_source/l0") - (3.0 + 1.0 - 1.0)).abs() < 1e-12);
    }

    #[test]
    fn gl_charge_vanishes_for_equal_query_and_key_and_translation_sums_rows() {
        let mut m = sample();
        let w = mat(2, 4, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]);
        let mut k = w.clone();
        k.values[3] = 0.0; // only head 1 differs
        m.weights = vec![("q".into(), w.clone()), ("k".into(), k), ("ro".into(), mat(2, 2, &[1.0, -3.0, 2.0, 2.0]))];
        let syms = vec![
            Symmetry::GlQueryKey { q: "q".into(), k: "k".into(), heads: 2 },
            Symmetry::Translation { weight: "ro".into(), bias: None },
        ];
        let mut out = Vec::new();
        Charges::new(syms, false).measure(&m, 0, &mut out);
        assert_eq!(out[0], ("charge_gl/head0".into(), 0.0));
        assert!(out[1].1 > 0.0);
        // Row sums −2 and 4.
        assert!((out[2].1 - 20f64.sqrt()).abs() < 1e-12);
        assert_eq!(out.len(), 3);
    }
}
