//! `critlab analyze ...`: one file per analysis. Every analysis takes `--json` for
//! machine-readable output; plots are written where `--plot FILE` says.
use anyhow::Result;
use clap::Subcommand;
use std::process::ExitCode;

mod collapse;
mod common;
mod controllers;
mod crossing;
mod divergence;
pub mod early_warning;
mod exponents;
mod hypotheses;
pub mod phases;
pub mod predict;
mod relations;
mod scaling_forms;
mod symmetry;

/// The analyses.
#[derive(Debug, Subcommand)]
pub enum AnalyzeCmd {
    /// Data collapse of several sizes: x_c, ν, ζ with errors and the quality S.
    Collapse(collapse::CollapseCmd),
    /// Power-law divergence y = A |x − x_c|^(−κ) with an AIC verdict.
    Divergence(divergence::DivergenceCmd),
    /// Critical point from crossings of Binder-type curves of different sizes.
    Crossing(crossing::CrossingCmd),
    /// Critical exponents (β, γ, α, δ, ν, z, ν_M, μ, φ) from the runs of a sweep in the store.
    Exponents(exponents::ExponentsCmd),
    /// Transitions and phases of every run of a sweep, and the phase diagram over two axes.
    Phases(phases::PhasesCmd),
    /// Test scaling relations (Widom, Rushbrooke, hyperscaling, Fisher) on an exponent set
    /// (JSON, or estimated from a sweep).
    Relations(relations::RelationsCmd),
    /// Rank five forms of the scaling function F by AIC, BIC and held-out error.
    ScalingForms(scaling_forms::ScalingFormsCmd),
    /// Symmetries of a run's model and its Noether charges against the optimizer's theory.
    Symmetry(symmetry::SymmetryCmd),
    /// Early-warning indicators of the transition on a run, or scored over a sweep.
    EarlyWarning(early_warning::EarlyWarningCmd),
    /// Adaptive controllers against the best fixed (η, λ): steps and examples to t_grok,
    /// final accuracy and wall time per arm, with bootstrap intervals.
    Controllers(controllers::ControllersCmd),
    /// The seed's hypotheses (action invariance, temperature symmetry, optimal balance) on a sweep.
    Hypotheses(hypotheses::HypothesesCmd),
    /// Grokking predictors scored over a sweep: AUROC overall and within weight decay, lead, MAPE.
    Predict(predict::PredictCmd),
}

/// Runs an analysis.
pub fn run(cmd: AnalyzeCmd) -> Result<ExitCode> {
    match cmd {
        AnalyzeCmd::Collapse(c) => collapse::run(c),
        AnalyzeCmd::Divergence(c) => divergence::run(c),
        AnalyzeCmd::Crossing(c) => crossing::run(c),
        AnalyzeCmd::Exponents(c) => exponents::run(c),
        AnalyzeCmd::Phases(c) => phases::run(c),
        AnalyzeCmd::Relations(c) => relations::run(c),
        AnalyzeCmd::ScalingForms(c) => scaling_forms::run(c),
        AnalyzeCmd::Symmetry(c) => symmetry::run(c),
        AnalyzeCmd::EarlyWarning(c) => early_warning::run(c),
        AnalyzeCmd::Hypotheses(c) => hypotheses::run(c),
        AnalyzeCmd::Predict(c) => predict::run(c),
        AnalyzeCmd::Controllers(c) => controllers::run(c),
    }
}
