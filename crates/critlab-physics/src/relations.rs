//! Scaling relations between critical exponents (docs/theory.md §6), tested, never assumed.
//!
//! | relation | residual r (0 when it holds) | reference |
//! |---|---|---|
//! | Widom | δ − 1 − γ/β | Widom 1965 |
//! | Rushbrooke (the seed's "Fisher") | α + 2β + γ − 2 | Rushbrooke 1963 |
//! | hyperscaling (Josephson) | dν − (2 − α) | Josephson 1967 |
//! | Fisher | γ − ν(2 − η) | Fisher 1964 (only when η is given) |
//!
//! Each residual carries a one-sigma error by first-order error propagation from the inputs'
//! errors (independent inputs, numerical partial derivatives) and a 95% interval from 20 000
//! seeded Monte-Carlo draws of the inputs (normal, independent), which is honest when the
//! relation is nonlinear (γ/β with an uncertain β). Verdict: **consistent** when
//! |r| ≤ 2σ + ε, **violated** otherwise, **not testable** when an exponent it needs is
//! missing. ε = 1e-9 · (1 + Σ|terms|) absorbs floating-point rounding of exact inputs
//! (a set of exact numbers that satisfies a relation gives r ≈ 1e-16 with σ = 0).
//!
//! Input: JSON such as `{"alpha": 0, "beta": {"value": 0.125, "err": 0.01}, "d": 2}`; each
//! key among `alpha, beta, gamma, delta, nu, eta, d` is a number (exact) or `{value, err}`.

use crate::error::{PhysicsError, Result};
use crate::stats;
use serde::{Deserialize, Serialize};

/// One exponent: an exact number or a value with a one-sigma error.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ExponentValue {
    /// An exact value (error 0), e.g. `2`.
    Exact(f64),
    /// `{"value": v, "err": e}` with e ≥ 0.
    Measured {
        /// Central value.
        value: f64,
        /// One-sigma error (≥ 0).
        err: f64,
    },
}

impl ExponentValue {
    /// (value, error).
    pub fn parts(&self) -> (f64, f64) {
        match *self {
            Self::Exact(v) => (v, 0.0),
            Self::Measured { value, err } => (value, err),
        }
    }
}

/// A set of critical exponents, any of them missing. `d` is the (effective) dimension.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExponentSet {
    /// Specific-heat exponent α.
    pub alpha: Option<ExponentValue>,
    /// Order-parameter exponent β.
    pub beta: Option<ExponentValue>,
    /// Susceptibility exponent γ.
    pub gamma: Option<ExponentValue>,
    /// Critical-isotherm exponent δ.
    pub delta: Option<ExponentValue>,
    /// Correlation-length exponent ν.
    pub nu: Option<ExponentValue>,
    /// Anomalous dimension η.
    pub eta: Option<ExponentValue>,
    /// Dimension d.
    pub d: Option<ExponentValue>,
}

impl ExponentSet {
    /// Parse the JSON form; unknown keys are rejected (a typo must not silently drop an
    /// exponent), negative or non-finite values/errors are rejected.
    pub fn from_json(text: &str) -> Result<Self> {
        let set: Self = serde_json::from_str(text)?;
        for (name, v) in set.named() {
            if let Some(v) = v {
                let (value, err) = v.parts();
                if !value.is_finite() || !err.is_finite() || err < 0.0 {
                    return Err(PhysicsError::InvalidOption {
                        option: "exponent set",
                        reason: format!("`{name}` must have a finite value and err >= 0"),
                    });
                }
            }
        }
        Ok(set)
    }

    fn named(&self) -> [(&'static str, Option<ExponentValue>); 7] {
        [
            ("alpha", self.alpha),
            ("beta", self.beta),
            ("gamma", self.gamma),
            ("delta", self.delta),
            ("nu", self.nu),
            ("eta", self.eta),
            ("d", self.d),
        ]
    }
}

/// Outcome of one relation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// |r| ≤ 2σ + ε.
    Consistent,
    /// |r| > 2σ + ε: the exponents violate the relation at 2σ.
    Violated,
    /// An exponent the relation needs is missing.
    NotTestable,
}

/// The test of one relation.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelationTest {
    /// Name, e.g. `widom`.
    pub name: String,
    /// The relation, e.g. `delta = 1 + gamma/beta`.
    pub formula: String,
    /// Residual r (0 when the relation holds exactly); `null` when not testable.
    pub residual: Option<f64>,
    /// One-sigma error of r by error propagation; `null` when not testable.
    pub residual_err: Option<f64>,
    /// 95% Monte-Carlo interval of r; `null` when not testable.
    pub interval_95: Option<(f64, f64)>,
    /// |r| / σ (`null` when σ = 0 or not testable).
    pub z: Option<f64>,
    /// Verdict.
    pub verdict: Verdict,
    /// Exponents that were needed but missing.
    pub missing: Vec<String>,
}

/// All relations tested on one exponent set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RelationsReport {
    /// One entry per relation.
    pub relations: Vec<RelationTest>,
    /// Relations found consistent.
    pub consistent: usize,
    /// Relations found violated.
    pub violated: usize,
    /// Relations that could not be tested.
    pub not_testable: usize,
}

type Residual = fn(&[f64]) -> f64;

struct Relation {
    name: &'static str,
    formula: &'static str,
    needs: &'static [&'static str],
    residual: Residual,
    /// absolute size of the terms, for the rounding tolerance
    scale: Residual,
}

const RELATIONS: [Relation; 4] = [
    Relation {
        name: "widom",
        formula: "delta = 1 + gamma/beta",
        needs: &["delta", "gamma", "beta"],
        residual: |v| v[0] - 1.0 - v[1] / v[2],
        scale: |v| v[0].abs() + 1.0 + (v[1] / v[2]).abs(),
    },
    Relation {
        name: "rushbrooke",
        formula: "alpha + 2 beta + gamma = 2",
        needs: &["alpha", "beta", "gamma"],
        residual: |v| v[0] + 2.0 * v[1] + v[2] - 2.0,
        scale: |v| v[0].abs() + 2.0 * v[1].abs() + v[2].abs() + 2.0,
    },
    Relation {
        name: "hyperscaling",
        formula: "d nu = 2 - alpha",
        needs: &["d", "nu", "alpha"],
        residual: |v| v[0] * v[1] - 2.0 + v[2],
        scale: |v| (v[0] * v[1]).abs() + 2.0 + v[2].abs(),
    },
    Relation {
        name: "fisher",
        formula: "gamma = nu (2 - eta)",
        needs: &["gamma", "nu", "eta"],
        residual: |v| v[0] - v[1] * (2.0 - v[2]),
        scale: |v| v[0].abs() + (v[1] * (2.0 - v[2])).abs(),
    },
];

/// Monte-Carlo draws per relation.
const MC_DRAWS: usize = 20_000;

/// Test every relation on `set`.
pub fn test(set: &ExponentSet) -> RelationsReport {
    let named = set.named();
    let lookup = |n: &str| named.iter().find(|(k, _)| *k == n).and_then(|(_, v)| *v).map(|v| v.parts());
    let relations: Vec<RelationTest> = RELATIONS
        .iter()
        .enumerate()
        .map(|(ri, rel)| {
            let inputs: Vec<Option<(f64, f64)>> = rel.needs.iter().map(|n| lookup(n)).collect();
            let missing: Vec<String> =
                rel.needs.iter().zip(&inputs).filter(|(_, v)| v.is_none()).map(|(n, _)| n.to_string()).collect();
            if !missing.is_empty() {
                return RelationTest {
                    name: rel.name.into(),
                    formula: rel.formula.into(),
                    residual: None,
                    residual_err: None,
                    interval_95: None,
                    z: None,
                    verdict: Verdict::NotTestable,
                    missing,
                };
            }
            let (vals, errs): (Vec<f64>, Vec<f64>) = inputs.iter().map(|v| v.unwrap()).unzip();
            let r = (rel.residual)(&vals);
            // first-order propagation with central differences
            let mut var = 0.0;
            for i in 0..vals.len() {
                if errs[i] == 0.0 {
                    continue;
                }
                let h = 1e-6 * vals[i].abs().max(1e-3);
                let mut up = vals.clone();
                let mut dn = vals.clone();
                up[i] += h;
                dn[i] -= h;
                let g = ((rel.residual)(&up) - (rel.residual)(&dn)) / (2.0 * h);
                var += (g * errs[i]).powi(2);
            }
            let sigma = if var.is_finite() { var.sqrt() } else { f64::MAX };
            let mut rng = stats::rng(0x5eed, ri as u64);
            let mut draws: Vec<f64> = (0..MC_DRAWS)
                .map(|_| {
                    let v: Vec<f64> =
                        vals.iter().zip(&errs).map(|(v, e)| v + e * stats::standard_normal(&mut rng)).collect();
                    (rel.residual)(&v)
                })
                .filter(|v| v.is_finite())
                .collect();
            draws.sort_by(f64::total_cmp);
            let interval = (stats::quantile_sorted(&draws, 0.025), stats::quantile_sorted(&draws, 0.975));
            let tol = 1e-9 * (1.0 + (rel.scale)(&vals));
            let verdict =
                if r.is_finite() && r.abs() <= 2.0 * sigma + tol { Verdict::Consistent } else { Verdict::Violated };
            RelationTest {
                name: rel.name.into(),
                formula: rel.formula.into(),
                residual: Some(if r.is_finite() { r } else { f64::MAX }),
                residual_err: Some(sigma),
                interval_95: Some(interval),
                z: (sigma > 0.0).then(|| r.abs() / sigma),
                verdict,
                missing,
            }
        })
        .collect();
    let count = |v: Verdict| relations.iter().filter(|r| r.verdict == v).count();
    RelationsReport {
        consistent: count(Verdict::Consistent),
        violated: count(Verdict::Violated),
        not_testable: count(Verdict::NotTestable),
        relations,
    }
}
