//! # critlab-study
//!
//! A study answers one question by composing what critlab already has: sweep specs (run by the
//! resumable local executor or on Slurm), the analyses of `critlab-physics`, and figures written
//! by `critlab-report`. Each study is one file; [`run`] gives it a [`Context`] that runs its
//! sweeps and collects its figures, then writes `DIR/results.json` (deterministic: the same
//! seeds give the same file, after a kill and a rerun too), the figures as SVG and PNG, and
//! `DIR/README.md` with every number and its interval, the commands, the wall time and what
//! could not be determined and why.
//!
//! | study | question | file |
//! |---|---|---|
//! | `linear-estimator` | does critlab recover Levi et al.'s closed-form grokking delay of a linear estimator (the known answer)? | [`linear_estimator`] |
//! | `finite-size` | grokking's critical training fraction across sizes p and step budgets, seed statistics χ and U₄, ν, β/ν, γ/ν or why not | [`finite_size`] |
//! | `train-fraction` | t_grok ∝ (f − f_c)^(−zν) as f → f_c from above, against smooth alternatives | [`train_fraction`] |
//! | `weight-decay` | t_grok ∝ λ^(−a): the exponent a against Omnigrok's 1, and any finite λ_c | [`weight_decay`] |
//!
//! Adding a study: a file with a type implementing [`Study`], and a line in [`all`].
#![warn(missing_docs)]

pub mod context;
mod error;
pub mod finite_size;
pub mod fit;
pub mod linear_estimator;
mod output;
pub mod train_fraction;
pub mod weight_decay;

pub use context::{Backend, Context, RunData, StudyOptions};
pub use error::StudyError;
pub use output::{run, Event, StudyReport};

use serde::Serialize;

/// How big a version of a study to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scale {
    /// The smallest version that exercises every step (tests; under a minute).
    Tiny,
    /// The `--quick` version: at most 30 minutes on 2 cores.
    Quick,
    /// The full version, sized for a cluster.
    Full,
}

impl Scale {
    /// The name used in sweep names and the README.
    pub fn as_str(self) -> &'static str {
        match self {
            Scale::Tiny => "tiny",
            Scale::Quick => "quick",
            Scale::Full => "full",
        }
    }

    /// The flag that selects this scale in `critlab study run`.
    pub fn flag(self) -> &'static str {
        match self {
            Scale::Tiny => " --tiny",
            Scale::Quick => " --quick",
            Scale::Full => "",
        }
    }
}

/// What a study hands back to [`run`] to be written out.
#[derive(Debug, Clone, Default)]
pub struct Findings {
    /// The study's numbers (serialised into `results.json` under `results`).
    pub results: serde_json::Value,
    /// Markdown lines for the README's results section: every number with its interval.
    pub summary: Vec<String>,
    /// What the study could not determine, and why (one line each).
    pub undetermined: Vec<String>,
    /// Figures: (file stem, SVG document).
    pub figures: Vec<(String, String)>,
}

/// One study: a question, the sweeps that answer it, and their analysis.
pub trait Study: Sync {
    /// Name used on the command line (`critlab study run NAME`).
    fn name(&self) -> &'static str;
    /// The question, in one sentence.
    fn question(&self) -> &'static str;
    /// The published numbers to compare with (markdown).
    fn anchors(&self) -> &'static str;
    /// Runs the sweeps through `ctx` and analyses them.
    fn run(&self, ctx: &mut Context<'_>) -> Result<Findings, StudyError>;
}

/// Every built-in study.
pub fn all() -> Vec<&'static dyn Study> {
    vec![
        &linear_estimator::LinearEstimator,
        &weight_decay::WeightDecay,
        &train_fraction::TrainFraction,
        &finite_size::FiniteSize,
    ]
}

/// The study called `name`; an unknown name is an error listing the known ones.
pub fn find(name: &str) -> Result<&'static dyn Study, StudyError> {
    all().into_iter().find(|s| s.name() == name).ok_or_else(|| StudyError::Unknown {
        name: name.to_string(),
        known: all().iter().map(|s| s.name()).collect::<Vec<_>>().join(", "),
    })
}
