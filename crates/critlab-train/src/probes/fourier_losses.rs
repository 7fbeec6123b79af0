//! `restricted_loss` and `excluded_loss`: Nanda et al.'s hidden progress measures for
//! modular tasks (2023, "Progress measures for grokking via mechanistic interpretability",
//! §5.1). The generalising circuit writes logits of the form Σ_k α_k cos(w_k(s − c)) with
//! s = a ∘ b the answer, c the logit's class and w_k = 2πk/p a few key frequencies. The
//! restricted loss keeps only those terms of the logits; the excluded loss removes them. As a
//! run groks, the restricted loss falls before the test loss (the circuit forms while the test
//! accuracy is still low) and the excluded loss rises (the memorisation it replaces).
//!
//! Operationally, from the logits L[n, c] of every example n of the data set (answer s_n):
//! 1. the answer-aligned logit sum m(d) = Σ_n L[n, (s_n − d) mod p], d ∈ Z_p;
//! 2. the projection of L on the basis cos(w_k(s_n − c)), sin(w_k(s_n − c)) (orthogonal over
//!    the N·p pairs (n, c), squared norm N·p/2 for 1 ≤ k ≤ ⌊p/2⌋, p odd), whose coefficients are
//!    A_k = 2/(Np) Σ_d m(d) cos(w_k d), B_k = 2/(Np) Σ_d m(d) sin(w_k d);
//! 3. the key frequencies: the [`KEY_FREQUENCIES`] k with the largest A_k² + B_k² now (Nanda et
//!    al. fix them from the final model; an online probe has only the present);
//! 4. r(d) = Σ_key A_k cos(w_k d) + B_k sin(w_k d), the restricted logits (a function of s − c
//!    alone, so the same profile for every example);
//! 5. restricted loss = cross-entropy of the logits r((s_n − c) mod p), the same on every
//!    example: logsumexp_d r(d) − r(0), a loss over the whole data set;
//!    excluded loss = mean cross-entropy of L[n, c] − r((s_n − c) mod p) over the training
//!    examples (on the training set memorisation alone can keep this low).
//!
//! Defined for every modular task with the answer's integer labelling; it is Nanda et al.'s
//! measure for addition and subtraction, whose circuit is Fourier in the answer. Measured on a
//! one-hidden-layer MLP (p = 23, width 128, f = 0.7, η = 3e-3, λ = 1) the answer-aligned power
//! is not sparse: at step 4000 every one of the 11 frequencies carries 0.14–0.51 (A² + B²), so
//! the 5 kept there are a low-pass of the profile rather than an isolated circuit (Nanda et al.'s
//! transformer uses 5 of 56). NaN when the
//! logits are not recorded or p is even (the basis above is orthogonal for odd p).
use super::{Kind, Measurements, Probe};
use std::f64::consts::TAU;

/// How many key frequencies the restricted logits keep (Nanda et al. find 5 for p = 113).
pub const KEY_FREQUENCIES: usize = 5;

/// Restricted and excluded loss of one replica's logits `[n, p]` (row-major, f32) with answers
/// `answers` and training rows `train`; `None` when p is even or below 3.
pub fn restricted_and_excluded(
    logits: &[f32],
    p: usize,
    answers: &[u32],
    train: &[bool],
    keys: usize,
) -> Option<(f64, f64)> {
    if p < 3 || p % 2 == 0 || logits.len() != answers.len() * p {
        return None;
    }
    let n = answers.len();
    let mut m = vec![0.0f64; p];
    for (row, &s) in logits.chunks_exact(p).zip(answers) {
        let s = s as usize;
        for (d, slot) in m.iter_mut().enumerate() {
            *slot += f64::from(row[(s + p - d) % p]);
        }
    }
    let half = p / 2;
    let norm = 2.0 / (n as f64 * p as f64);
    let mut ranked: Vec<(usize, f64, f64)> = (1..=half)
        .map(|k| {
            let w = TAU * k as f64 / p as f64;
            let (a, b) = m.iter().enumerate().fold((0.0, 0.0), |(a, b), (d, v)| {
                let x = w * d as f64;
                (a + v * x.cos(), b + v * x.sin())
            });
            (k, a * norm, b * norm)
        })
        .collect();
    ranked.sort_by(|x, y| (y.1 * y.1 + y.2 * y.2).total_cmp(&(x.1 * x.1 + x.2 * x.2)));
    let profile: Vec<f64> = (0..p)
        .map(|d| {
            ranked[..keys.min(half)]
                .iter()
                .map(|&(k, a, b)| {
                    let x = TAU * (k * d % p) as f64 / p as f64;
                    a * x.cos() + b * x.sin()
                })
                .sum()
        })
        .collect();
    let restricted = log_sum_exp(profile.iter().copied()) - profile[0];
    let (mut total, mut count) = (0.0, 0usize);
    for ((row, &s), _) in logits.chunks_exact(p).zip(answers).zip(train).filter(|(_, &t)| t) {
        let s = s as usize;
        let excluded = |c: usize| f64::from(row[c]) - profile[(s + p - c) % p];
        total += log_sum_exp((0..p).map(excluded)) - excluded(s);
        count += 1;
    }
    let excluded = if count > 0 { total / count as f64 } else { f64::NAN };
    Some((restricted, excluded))
}

fn log_sum_exp(values: impl Iterator<Item = f64> + Clone) -> f64 {
    let max = values.clone().fold(f64::NEG_INFINITY, f64::max);
    max + values.map(|v| (v - max).exp()).sum::<f64>().ln()
}

/// The probe for a modular task: p classes, the answer of every example in data-set order, and
/// each replica's training rows (replicas differ in their split).
pub struct FourierLosses {
    p: usize,
    answers: Vec<u32>,
    train: Vec<Vec<bool>>,
}

impl FourierLosses {
    /// A probe for modulus `p`, answers `answers` and per-replica training masks `train`.
    pub fn new(p: usize, answers: Vec<u32>, train: Vec<Vec<bool>>) -> Self {
        Self { p, answers, train }
    }
}

impl Probe for FourierLosses {
    fn name(&self) -> &'static str {
        "restricted_loss"
    }
    fn unit(&self) -> &'static str {
        "nats"
    }
    fn kind(&self) -> Kind {
        Kind::Loss
    }
    fn measure(&mut self, m: &Measurements, replica: usize, out: &mut Vec<(String, f64)>) {
        let values = m.logits.as_ref().and_then(|l| {
            restricted_and_excluded(&l.values, self.p, &self.answers, &self.train[replica], KEY_FREQUENCIES)
        });
        let (restricted, excluded) = values.unwrap_or((f64::NAN, f64::NAN));
        out.push(("restricted_loss".into(), restricted));
        out.push(("excluded_loss".into(), excluded));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Logits of a perfect circuit on (a + b) mod p at frequencies `keys` with amplitude
    /// `amp`, plus `memo` on the answer of the training rows (memorisation).
    fn logits(p: usize, keys: &[usize], amp: f64, memo: f64, train: &[bool]) -> (Vec<f32>, Vec<u32>) {
        let mut values = Vec::new();
        let mut answers = Vec::new();
        for a in 0..p {
            for b in 0..p {
                let s = (a + b) % p;
                answers.push(s as u32);
                for c in 0..p {
                    let circuit: f64 =
                        keys.iter().map(|&k| amp * (TAU * (k * ((s + p - c) % p)) as f64 / p as f64).cos()).sum();
                    let memorised = if train[a * p + b] && c == s { memo } else { 0.0 };
                    values.push((circuit + memorised) as f32);
                }
            }
        }
        (values, answers)
    }

    /// A pure circuit: the restricted loss is the circuit's own loss, and removing it leaves
    /// flat logits (excluded loss ln p).
    #[test]
    fn a_pure_circuit_is_all_restricted() {
        let p = 11;
        let train: Vec<bool> = (0..p * p).map(|i| i % 3 != 0).collect();
        let (l, s) = logits(p, &[2, 5], 4.0, 0.0, &train);
        let (restricted, excluded) = restricted_and_excluded(&l, p, &s, &train, 2).unwrap();
        // The circuit's own cross-entropy, by hand.
        let r = |d: usize| 4.0 * [2usize, 5].iter().map(|&k| (TAU * (k * d % p) as f64 / p as f64).cos()).sum::<f64>();
        let want = (0..p).map(|d| r(d).exp()).sum::<f64>().ln() - r(0);
        assert!((restricted - want).abs() < 1e-5, "{restricted} vs {want}");
        assert!((excluded - (p as f64).ln()).abs() < 1e-5, "{excluded}");
        // Keeping more frequencies than the circuit uses changes nothing (their A, B are 0).
        let (more, _) = restricted_and_excluded(&l, p, &s, &train, 5).unwrap();
        assert!((more - restricted).abs() < 1e-5);
    }

    /// Pure memorisation of the training rows: a large logit on the training answers lowers
    /// the restricted loss too (its delta on s − c has a flat spectrum, K/⌊p/2⌋ of which the
    /// key frequencies keep), and the excluded loss stays low.
    #[test]
    fn memorisation_is_mostly_excluded() {
        let p = 11;
        let train: Vec<bool> = (0..p * p).map(|i| i % 3 != 0).collect();
        let (l, s) = logits(p, &[], 0.0, 12.0, &train);
        let (restricted, excluded) = restricted_and_excluded(&l, p, &s, &train, 2).unwrap();
        assert!(restricted < 0.5 * (p as f64).ln() && excluded < 0.01, "{restricted} {excluded}");
        // … but far less than a circuit does: memorisation to a training cross-entropy of about
        // 0.2 (logit 4 on the answer) leaves the restricted loss above 60 % of ln p, the
        // excluded loss below 0.5.
        let (l4, _) = logits(p, &[], 0.0, 4.0, &train);
        let (r4, e4) = restricted_and_excluded(&l4, p, &s, &train, 2).unwrap();
        assert!(r4 > 0.6 * (p as f64).ln() && e4 < 0.5, "{r4} {e4}");
        // Circuit plus memorisation: the restricted loss falls to about the circuit's own,
        // the excluded loss stays low.
        let (l2, _) = logits(p, &[3], 6.0, 12.0, &train);
        let (r2, e2) = restricted_and_excluded(&l2, p, &s, &train, 2).unwrap();
        assert!(r2 < 0.2 * restricted && e2 < 0.01, "{r2} {e2}");
    }

    #[test]
    fn an_even_modulus_or_mismatched_logits_give_none() {
        assert!(restricted_and_excluded(&[0.0; 16], 4, &[0, 1, 2, 3], &[true; 4], 1).is_none());
        assert!(restricted_and_excluded(&[0.0; 8], 3, &[0, 1, 2], &[true; 3], 1).is_none());
    }
}
