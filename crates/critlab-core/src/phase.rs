//! Run status and learning phases.
use serde::{Deserialize, Serialize};
use std::fmt;

/// The lifecycle status of a stored run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunStatus {
    /// Being trained (or interrupted: a run left `running` by a killed process).
    Running,
    /// Finished its step budget (or stopped by a documented rule); all metrics committed.
    Done,
    /// Stopped because the training loss became non-finite; metrics before it are kept.
    Diverged,
    /// Stopped by an error; the reason is stored.
    Failed,
    /// Stopped early by a rule on its own measurements (`sweep run --stop-hopeless`: a
    /// predictor gave it too small a chance of grokking within the budget); the reason names the
    /// rule, the predictor and the step. Finished, but not at its budget.
    Stopped,
}

impl RunStatus {
    /// The name stored in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Diverged => "diverged",
            RunStatus::Failed => "failed",
            RunStatus::Stopped => "stopped",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "running" => RunStatus::Running,
            "done" => RunStatus::Done,
            "diverged" => RunStatus::Diverged,
            "failed" => RunStatus::Failed,
            "stopped" => RunStatus::Stopped,
            _ => return None,
        })
    }
}

impl fmt::Display for RunStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The phase of a finished run (docs/theory.md §4, after Liu et al. 2022, "Towards understanding
/// grokking").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Phase {
    /// Train and test accuracy both reached, with a small delay.
    Comprehension,
    /// Train and test accuracy both reached, test much later than train.
    Grokking,
    /// Train accuracy reached, test accuracy never.
    Memorization,
    /// Neither reached.
    Confusion,
    /// The loss became non-finite.
    Diverged,
}

impl Phase {
    /// Every phase, in the order of docs/theory.md §4.
    pub const ALL: [Phase; 5] =
        [Phase::Comprehension, Phase::Grokking, Phase::Memorization, Phase::Confusion, Phase::Diverged];

    /// The kebab-case name (as serialized).
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Comprehension => "comprehension",
            Phase::Grokking => "grokking",
            Phase::Memorization => "memorization",
            Phase::Confusion => "confusion",
            Phase::Diverged => "diverged",
        }
    }

    /// Parses a name written by [`Phase::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Phase::ALL.into_iter().find(|p| p.as_str() == s)
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
