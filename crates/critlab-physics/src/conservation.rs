//! Broken conservation: a measured Noether-charge trajectory against the theory for the
//! optimizer that produced it (docs/theory.md §3; Kunin et al. 2021, "Neural Mechanics").
//!
//! Time is t = η·step. A charge is *linear* in θ (translation: e^{−λt}) or *quadratic*
//! (rescale, scale, GL: e^{−2λt}); c = 1 or 2 below.
//!
//! | optimizer | prediction |
//! |---|---|
//! | SGD without momentum (coupled or decoupled decay λ, step η) | exact per step: Q ← (1 − ηλ)^c Q + η² S, with the measured source S (‖g_in‖² − k‖g_out‖²; 0 for linear charges) held linear between eval steps; λ = 0 gives Q(0) + η² Σ S, gradient flow's constant plus the finite-step term |
//! | SGD with momentum β | the damped form: the modified equation (1 − β) θ̇ + η(1 + β)/2 θ̈ = −∇L − λθ makes the decay part of every weight obey m ẍ + γ ẋ + λ x = 0 with m = η(1 + β)/2, γ = 1 − β, x(0) = 1, ẋ(0) = −λ; the stored translation aggregate (a norm) follows Q(0) |x(t)|, a quadratic charge Q(0) x(t)² (gradient and kinetic terms neglected: exact for linear charges, for quadratic ones to leading order; in the underdamped regime the quadratic charge decays at twice the envelope rate γ/2m, as measured) |
//! | Adam, AdamW | no closed form: only the drift and the fitted rate are reported |
//!
//! The residual is max_t |Q_measured − Q_predicted| / max_t |Q_measured|. The fitted rate is
//! the least-squares slope of −ln|Q| against t with its standard error (when Q keeps its sign).
use serde::Serialize;

/// The optimizer, as far as the charge theory is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Dynamics {
    /// SGD (momentum β ≥ 0) with learning rate η and weight decay λ.
    Sgd {
        /// η.
        lr: f64,
        /// λ.
        weight_decay: f64,
        /// β.
        momentum: f64,
    },
    /// Adam or AdamW: no closed form.
    Adaptive {
        /// η (for the time axis t = η·step).
        lr: f64,
        /// λ (reported only).
        weight_decay: f64,
    },
}

impl Dynamics {
    fn lr(&self) -> f64 {
        match *self {
            Dynamics::Sgd { lr, .. } | Dynamics::Adaptive { lr, .. } => lr,
        }
    }
}

/// A least-squares decay rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rate {
    /// −d ln|Q| / dt.
    pub value: f64,
    /// Its standard error.
    pub stderr: f64,
}

/// One charge's measured trajectory against theory.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ChargeComparison {
    /// Stored metric name.
    pub name: String,
    /// Whether the charge is quadratic in θ.
    pub quadratic: bool,
    /// The law applied, in words.
    pub theory: String,
    /// Q(0) and Q at the last step.
    pub first: f64,
    /// Q at the last step.
    pub last: f64,
    /// (Q(T) − Q(0)) / |Q(0)|.
    pub relative_drift: f64,
    /// Predicted trajectory `(step, Q)` where a closed form exists.
    pub predicted: Option<Vec<(f64, f64)>>,
    /// max |measured − predicted| / max |measured|.
    pub residual: Option<f64>,
    /// Fitted decay rate (per unit t = η·step).
    pub fitted_rate: Option<Rate>,
    /// The rate the theory expects from its homogeneous part.
    pub expected_rate: Option<f64>,
}

/// Least-squares slope of −ln|y| against x with its standard error; `None` when y changes
/// sign or vanishes, or with fewer than 3 points.
pub fn decay_rate(points: &[(f64, f64)]) -> Option<Rate> {
    if points.len() < 3
        || points.iter().any(|p| p.1 == 0.0 || !p.1.is_finite())
        || points.iter().any(|p| p.1.signum() != points[0].1.signum())
    {
        return None;
    }
    let n = points.len() as f64;
    let ys: Vec<f64> = points.iter().map(|p| -p.1.abs().ln()).collect();
    let mx = points.iter().map(|p| p.0).sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx <= 0.0 {
        return None;
    }
    let slope = points.iter().zip(&ys).map(|(p, y)| (p.0 - mx) * (y - my)).sum::<f64>() / sxx;
    let rss: f64 = points.iter().zip(&ys).map(|(p, y)| (y - my - slope * (p.0 - mx)).powi(2)).sum();
    Some(Rate { value: slope, stderr: (rss / (n - 2.0) / sxx).sqrt() })
}

/// Linear interpolation of `(step, value)` points at `step` (held constant outside).
fn interpolate(points: &[(f64, f64)], step: f64) -> f64 {
    match points.iter().position(|p| p.0 >= step) {
        None => points.last().map_or(0.0, |p| p.1),
        Some(0) => points[0].1,
        Some(i) => {
            let (a, b) = (points[i - 1], points[i]);
            a.1 + (b.1 - a.1) * (step - a.0) / (b.0 - a.0)
        }
    }
}

/// Compares a measured charge `(step, Q)` with the theory for `dynamics`; `source` is the
/// stored `*_source` series of a quadratic charge, if recorded.
pub fn compare(
    name: &str,
    measured: &[(f64, f64)],
    source: Option<&[(f64, f64)]>,
    quadratic: bool,
    dynamics: Dynamics,
) -> Option<ChargeComparison> {
    let (&(s0, q0), &(_, qt)) = (measured.first()?, measured.last()?);
    let c = if quadratic { 2.0 } else { 1.0 };
    let eta = dynamics.lr();
    let (theory, predicted, expected_rate) = match dynamics {
        Dynamics::Sgd { lr, weight_decay, momentum } if momentum == 0.0 => {
            let factor = (1.0 - lr * weight_decay).powf(c);
            let mut q = q0;
            let mut step = s0;
            let mut out = Vec::with_capacity(measured.len());
            for &(target, _) in measured {
                while step < target {
                    let s = if quadratic { source.map_or(0.0, |src| interpolate(src, step)) } else { 0.0 };
                    q = factor * q + lr * lr * s;
                    step += 1.0;
                }
                out.push((target, q));
            }
            let law = if quadratic && source.is_some() {
                "Q ← (1 − ηλ)^c Q + η² S per step (measured S)"
            } else {
                "Q ← (1 − ηλ)^c Q per step"
            };
            (law.to_string(), Some(out), Some(-c * (1.0 - lr * weight_decay).ln() / lr))
        }
        Dynamics::Sgd { lr, weight_decay, momentum } => {
            let (m, g, k) = (lr * (1.0 + momentum) / 2.0, 1.0 - momentum, weight_decay);
            // m r² + g r + k = 0: two real roots (overdamped) or a complex pair.
            let disc = g * g - 4.0 * m * k;
            let x = |t: f64| -> f64 {
                if k == 0.0 {
                    return 1.0;
                }
                if disc >= 0.0 {
                    let (r1, r2) = ((-g + disc.sqrt()) / (2.0 * m), (-g - disc.sqrt()) / (2.0 * m));
                    let b = (-k - r1) / (r2 - r1);
                    (1.0 - b) * (r1 * t).exp() + b * (r2 * t).exp()
                } else {
                    let (a, w) = (-g / (2.0 * m), (-disc).sqrt() / (2.0 * m));
                    (a * t).exp() * ((w * t).cos() + (-k - a) / w * (w * t).sin())
                }
            };
            let out = measured.iter().map(|&(s, _)| (s, q0 * x(lr * (s - s0)).abs().powf(c))).collect();
            let slow = if k == 0.0 {
                0.0
            } else if disc >= 0.0 {
                (g - disc.sqrt()) / (2.0 * m)
            } else {
                g / (2.0 * m)
            };
            (
                "damped: m ẍ + γ ẋ + λ x = 0 per weight, m = η(1+β)/2, γ = 1 − β; Q = Q(0) x^c".to_string(),
                Some(out),
                Some(c * slow),
            )
        }
        Dynamics::Adaptive { .. } => ("Adam/AdamW: no closed form; drift only".to_string(), None, None),
    };
    let scale = measured.iter().map(|p| p.1.abs()).fold(0.0, f64::max);
    let residual = predicted.as_ref().map(|p: &Vec<(f64, f64)>| {
        let worst = p.iter().zip(measured).map(|(a, b)| (a.1 - b.1).abs()).fold(0.0, f64::max);
        if scale > 0.0 {
            worst / scale
        } else {
            worst
        }
    });
    let in_t: Vec<(f64, f64)> = measured.iter().map(|&(s, q)| (eta * (s - s0), q)).collect();
    Some(ChargeComparison {
        name: name.to_string(),
        quadratic,
        theory,
        first: q0,
        last: qt,
        relative_drift: if q0 != 0.0 { (qt - q0) / q0.abs() } else { qt - q0 },
        predicted,
        residual,
        fitted_rate: decay_rate(&in_t),
        expected_rate,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_prediction_is_exact_on_a_synthetic_decay_and_the_rate_fits() {
        let (lr, wd): (f64, f64) = (0.01, 0.5);
        let pts: Vec<(f64, f64)> =
            (0..=10).map(|k| (100.0 * k as f64, 2.0 * (1.0 - lr * wd).powf(2.0 * 100.0 * k as f64))).collect();
        let c = compare("q", &pts, None, true, Dynamics::Sgd { lr, weight_decay: wd, momentum: 0.0 }).unwrap();
        assert!(c.residual.unwrap() < 1e-12);
        let r = c.fitted_rate.unwrap();
        assert!((r.value - c.expected_rate.unwrap()).abs() < 1e-9 && (r.value - 1.0).abs() < 0.01);
    }

    #[test]
    fn the_source_term_is_added_and_momentum_decays_faster_per_step() {
        // Constant source S, λ = 0: Q grows by η² S per step.
        let pts = [(0.0, 1.0), (10.0, 1.0 + 10.0 * 0.01 * 3.0), (20.0, 1.0 + 20.0 * 0.01 * 3.0)];
        let src = [(0.0, 3.0), (20.0, 3.0)];
        let c =
            compare("q", &pts, Some(&src), true, Dynamics::Sgd { lr: 0.1, weight_decay: 0.0, momentum: 0.0 }).unwrap();
        assert!(c.residual.unwrap() < 1e-12, "{c:?}");
        let flat = [(0.0, 1.0), (1000.0, 1.0), (2000.0, 1.0)];
        let m = compare("q", &flat, None, true, Dynamics::Sgd { lr: 0.01, weight_decay: 0.01, momentum: 0.9 }).unwrap();
        // Slow root ≈ 2λ/(1 − β) = 0.2.
        assert!((m.expected_rate.unwrap() - 0.2).abs() < 0.01, "{:?}", m.expected_rate);
        let a = compare("q", &flat, None, true, Dynamics::Adaptive { lr: 1e-3, weight_decay: 1.0 }).unwrap();
        assert!(a.predicted.is_none() && a.residual.is_none() && a.relative_drift == 0.0);
    }
}
