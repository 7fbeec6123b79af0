//! The `controller` option of a run: an adaptive controller that steers η, B or λ from the
//! measured physics, or filters the gradient (docs/theory.md §8 and §10).
//!
//! Written as a name with defaults, or as a table with its parameters:
//!
//! ```toml
//! controller = "grokfast"                                   # α = 0.98, λ_gf = 2
//! controller = { kind = "norm", ratio = 0.5 }               # ‖θ‖ held at 0.5 ‖θ₀‖
//! controller = { kind = "temperature", b-min = 32 }         # η/B held, B follows B_simple
//! controller = { kind = "critical", observable = "train-loss", knob = "weight-decay",
//!                target = 0.05, min = 0.1, max = 10.0 }
//! ```
//!
//! The stored spec always carries the resolved table (every parameter with its value); a run
//! without a controller leaves the key out of its JSON, so runs stored before it existed keep
//! their hash. The control laws themselves live in `critlab-train`'s `control` module.
use crate::spec::SpecError;
use serde::{Deserialize, Deserializer, Serialize};

/// The adaptive controller of a run (default: none).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Controller {
    /// Fixed η, B, λ (the spec's values throughout).
    #[default]
    None,
    /// Grokfast-EMA gradient filter (Lee et al. 2024, arXiv 2405.20233).
    Grokfast(GrokfastOptions),
    /// Omnigrok's constrained weight norm (Liu, Michaud, Tegmark 2022, arXiv 2210.01117).
    Norm(NormOptions),
    /// Constant noise temperature T = η/B while B follows the measured B_simple (Smith et al.
    /// 2018; McCandlish et al. 2018).
    Temperature(TemperatureOptions),
    /// Drives a measured observable toward a target through λ or η, bounded and rate-limited.
    Critical(CriticalOptions),
}

/// Grokfast-EMA: μ ← α μ + (1 − α) g (μ₀ = g₀), then g ← g + λ_gf μ, every step.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct GrokfastOptions {
    /// EMA momentum α in [0, 1) (default 0.98, the paper's).
    pub alpha: f64,
    /// Amplification λ_gf ≥ 0 of the slow component (default 2, the paper's).
    pub lambda: f64,
}

impl Default for GrokfastOptions {
    fn default() -> Self {
        Self { alpha: 0.98, lambda: 2.0 }
    }
}

/// Omnigrok: after every update (and at initialisation) all parameters of a replica are
/// rescaled so that ‖θ‖ = `ratio` · ‖θ₀‖.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct NormOptions {
    /// Target norm as a multiple of the initial norm ‖θ₀‖ (> 0; default 1).
    pub ratio: f64,
}

impl Default for NormOptions {
    fn default() -> Self {
        Self { ratio: 1.0 }
    }
}

/// Temperature control: at every eval step B moves toward the measured noise scale B_simple
/// (smoothed), by at most a factor e^`rate`, within [`b-min`, `b-max`]; η = T·B.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TemperatureOptions {
    /// Target T = η/B (default: the spec's lr / batch-size).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Smallest batch (default 16).
    pub b_min: usize,
    /// Largest batch (default: N_train).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub b_max: Option<usize>,
    /// Largest change of ln B per eval step (default ln 2: B at most doubles or halves).
    pub rate: f64,
    /// Weight of the newest B_simple in its exponential average of ln B_simple, in (0, 1]
    /// (default 0.3; the two-batch estimate is noisy).
    pub smoothing: f64,
}

impl Default for TemperatureOptions {
    fn default() -> Self {
        Self { temperature: None, b_min: 16, b_max: None, rate: std::f64::consts::LN_2, smoothing: 0.3 }
    }
}

/// The observable a `critical` controller drives toward its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Observable {
    /// K/U: kinetic term ½η²‖G‖² over the noise potential tr Σ / B (docs/theory.md §2).
    KuBalance,
    /// The full training-set loss: a target just above 0 holds the run at the edge of the
    /// memorising phase.
    TrainLoss,
}

/// The hyperparameter a `critical` controller moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Knob {
    /// Weight decay λ.
    WeightDecay,
    /// Learning rate η.
    Lr,
}

/// Critical control: at every eval step, with x = ln(observable / target),
/// knob ← knob · exp(−clamp(gain · x, −rate, rate)), clamped to [min, max]. It assumes the
/// observable grows with the knob (train loss with λ or η, K/U with η).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct CriticalOptions {
    /// What is driven (default `train-loss`).
    pub observable: Observable,
    /// What is moved (default `weight-decay`).
    pub knob: Knob,
    /// Target value of the observable (> 0; default 0.05).
    pub target: f64,
    /// Lower bound of the knob (> 0; default 0.01).
    pub min: f64,
    /// Upper bound of the knob (default 10).
    pub max: f64,
    /// Largest change of ln(knob) per eval step (default 0.2).
    pub rate: f64,
    /// Gain on the log error (default 0.5).
    pub gain: f64,
}

impl Default for CriticalOptions {
    fn default() -> Self {
        Self {
            observable: Observable::TrainLoss,
            knob: Knob::WeightDecay,
            target: 0.05,
            min: 0.01,
            max: 10.0,
            rate: 0.2,
            gain: 0.5,
        }
    }
}

impl Controller {
    /// Whether the run has no controller (then `controller` is left out of the spec's JSON).
    pub fn is_none(&self) -> bool {
        *self == Controller::None
    }

    /// The controller's name (`none`, `grokfast`, ...).
    pub fn name(&self) -> &'static str {
        match self {
            Controller::None => "none",
            Controller::Grokfast(_) => "grokfast",
            Controller::Norm(_) => "norm",
            Controller::Temperature(_) => "temperature",
            Controller::Critical(_) => "critical",
        }
    }

    /// Reads `controller` from a name (`"grokfast"`) or a table (`{ kind = "grokfast", ... }`).
    pub fn deserialize_flexible<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let mut v = serde_json::Value::deserialize(d)?;
        if let serde_json::Value::String(name) = &v {
            v = serde_json::json!({ "kind": name });
        }
        serde_json::from_value(v).map_err(|e| D::Error::custom(format!("controller: {e}")))
    }

    /// Every number of the controller, named by key, for the finiteness check.
    pub fn numbers(&self) -> Vec<(&'static str, f64)> {
        match self {
            Controller::None => vec![],
            Controller::Grokfast(o) => vec![("controller.alpha", o.alpha), ("controller.lambda", o.lambda)],
            Controller::Norm(o) => vec![("controller.ratio", o.ratio)],
            Controller::Temperature(o) => {
                let mut v = vec![("controller.rate", o.rate), ("controller.smoothing", o.smoothing)];
                v.extend(o.temperature.map(|t| ("controller.temperature", t)));
                v
            }
            Controller::Critical(o) => vec![
                ("controller.target", o.target),
                ("controller.min", o.min),
                ("controller.max", o.max),
                ("controller.rate", o.rate),
                ("controller.gain", o.gain),
            ],
        }
    }

    /// Checks the controller's parameters against each other and against the run (its
    /// training-set size `n_train`, initial `batch`, `lr` and `weight_decay`); one error per rule.
    pub fn validate(&self, n_train: usize, batch: usize, lr: f64, weight_decay: f64) -> Result<(), SpecError> {
        for (key, v) in self.numbers() {
            if !v.is_finite() {
                return Err(SpecError::NotFinite { key });
            }
        }
        let positive = |key: &'static str, value: f64| {
            if value > 0.0 {
                Ok(())
            } else {
                Err(SpecError::NotPositive { key, value })
            }
        };
        match self {
            Controller::None => Ok(()),
            Controller::Grokfast(o) => {
                if !(0.0..1.0).contains(&o.alpha) {
                    return Err(SpecError::OutOfRange { key: "controller.alpha", value: o.alpha, range: "[0, 1)" });
                }
                if o.lambda < 0.0 {
                    return Err(SpecError::OutOfRange { key: "controller.lambda", value: o.lambda, range: "[0, ∞)" });
                }
                Ok(())
            }
            Controller::Norm(o) => positive("controller.ratio", o.ratio),
            Controller::Temperature(o) => {
                if let Some(t) = o.temperature {
                    positive("controller.temperature", t)?;
                }
                positive("controller.rate", o.rate)?;
                if !(o.smoothing > 0.0 && o.smoothing <= 1.0) {
                    return Err(SpecError::OutOfRange {
                        key: "controller.smoothing",
                        value: o.smoothing,
                        range: "(0, 1]",
                    });
                }
                if o.b_min == 0 || o.b_min > n_train {
                    return Err(SpecError::OutOfRange {
                        key: "controller.b-min",
                        value: o.b_min as f64,
                        range: "[1, N_train]",
                    });
                }
                let b_max = o.b_max.unwrap_or(n_train);
                if b_max < o.b_min || b_max > n_train {
                    return Err(SpecError::OutOfRange {
                        key: "controller.b-max",
                        value: b_max as f64,
                        range: "[b-min, N_train]",
                    });
                }
                if batch < o.b_min || batch > b_max {
                    return Err(SpecError::Incompatible {
                        key: "batch-size",
                        reason: format!(
                            "the temperature controller starts from B = {batch}, outside its bounds [{}, {b_max}]",
                            o.b_min
                        ),
                    });
                }
                Ok(())
            }
            Controller::Critical(o) => {
                positive("controller.target", o.target)?;
                positive("controller.min", o.min)?;
                positive("controller.rate", o.rate)?;
                positive("controller.gain", o.gain)?;
                if o.max < o.min {
                    return Err(SpecError::OutOfRange { key: "controller.max", value: o.max, range: "[min, ∞)" });
                }
                let (key, start) = match o.knob {
                    Knob::WeightDecay => ("weight-decay", weight_decay),
                    Knob::Lr => ("lr", lr),
                };
                if start < o.min || start > o.max {
                    return Err(SpecError::Incompatible {
                        key,
                        reason: format!(
                            "the critical controller starts from {key} = {start}, outside its bounds [{}, {}]",
                            o.min, o.max
                        ),
                    });
                }
                Ok(())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::{BatchSize, RunSpec};

    fn parse(text: &str) -> Result<RunSpec, SpecError> {
        RunSpec::from_toml_str(text, "run.toml")
    }

    /// A name gives the defaults, a table its parameters; a run without a controller keeps
    /// the hash it had before the key existed.
    #[test]
    fn names_and_tables_parse_and_default_hashes_stay() {
        assert!(!RunSpec::default().to_json().contains("controller"));
        let s = parse("controller = \"grokfast\"\n").unwrap();
        assert_eq!(s.controller, Controller::Grokfast(GrokfastOptions { alpha: 0.98, lambda: 2.0 }));
        assert!(
            s.to_json().contains(r#""controller":{"kind":"grokfast","alpha":0.98,"lambda":2.0}"#),
            "{}",
            s.to_json()
        );
        let back: RunSpec = serde_json::from_str(&s.to_json()).unwrap();
        assert_eq!(back, s);
        let s = parse("weight-decay = 1.0\ncontroller = { kind = \"critical\", knob = \"weight-decay\", max = 5.0 }\n")
            .unwrap();
        let Controller::Critical(o) = &s.controller else { panic!("{:?}", s.controller) };
        assert_eq!((o.max, o.knob, o.observable), (5.0, Knob::WeightDecay, Observable::TrainLoss));
        s.validate().unwrap();
        assert_eq!(parse("controller = \"none\"\n").unwrap().hash(), RunSpec::default().hash());
    }

    /// Unknown controllers, unknown parameters and impossible values are errors naming the key.
    #[test]
    fn bad_controllers_are_rejected_by_key() {
        let e = parse("controller = \"grokfats\"\n").unwrap_err().to_string();
        assert!(e.contains("grokfats") && e.contains("line 1"), "{e}");
        let e = parse("controller = { kind = \"grokfast\", lamda = 2 }\n").unwrap_err().to_string();
        assert!(e.contains("lamda"), "{e}");
        let bad = |c: Controller, f: fn(&mut RunSpec)| {
            let mut s = RunSpec { controller: c, ..RunSpec::default() };
            f(&mut s);
            s.validate().unwrap_err().to_string()
        };
        let gf = |alpha, lambda| Controller::Grokfast(GrokfastOptions { alpha, lambda });
        assert!(bad(gf(1.0, 2.0), |_| {}).contains("`controller.alpha`"));
        assert!(bad(gf(0.9, -1.0), |_| {}).contains("`controller.lambda`"));
        assert!(bad(gf(f64::NAN, 2.0), |_| {}).contains("`controller.alpha` is not a finite"));
        assert!(bad(Controller::Norm(NormOptions { ratio: 0.0 }), |_| {}).contains("`controller.ratio`"));
        let temp = |o: TemperatureOptions| Controller::Temperature(o);
        let big = TemperatureOptions { b_min: 100_000, ..Default::default() };
        assert!(bad(temp(big), |_| {}).contains("`controller.b-min`"));
        let inverted = TemperatureOptions { b_min: 64, b_max: Some(32), ..Default::default() };
        assert!(bad(temp(inverted), |_| {}).contains("`controller.b-max`"));
        let narrow = TemperatureOptions { b_min: 16, b_max: Some(64), ..Default::default() };
        assert!(bad(temp(narrow), |s| s.batch_size = BatchSize::Examples(128)).contains("`batch-size`"));
        assert!(bad(temp(TemperatureOptions { smoothing: 0.0, ..Default::default() }), |_| {}).contains("smoothing"));
        let crit = Controller::Critical(CriticalOptions::default());
        // The default run has λ = 0, below the controller's floor.
        assert!(bad(crit.clone(), |_| {}).contains("`weight-decay`"));
        let inverted = Controller::Critical(CriticalOptions { min: 2.0, max: 1.0, ..Default::default() });
        assert!(bad(inverted, |s| s.weight_decay = 1.5).contains("`controller.max`"));
        RunSpec { controller: crit, weight_decay: 1.0, ..RunSpec::default() }.validate().unwrap();
    }
}
