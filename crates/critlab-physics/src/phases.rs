//! The phase of a run (docs/theory.md §4, after Liu et al. 2022, "Towards understanding grokking:
//! an effective theory of representation learning"), with the reason in words.
//!
//! From the accuracy [`Transitions`](crate::transitions::Transitions) (t_mem: train accuracy
//! ≥ 0.9, t_grok: test accuracy ≥ 0.9) within the run's step budget τ:
//!
//! | phase | rule |
//! |---|---|
//! | diverged | the run's status is `diverged`, or a stored train loss is not finite |
//! | comprehension | both reached, Δ = t_grok − t_mem ≤ the grokking delay |
//! | grokking | both reached, Δ > the grokking delay (default 1% of τ: Liu et al. used 10³ of 10⁵ steps) |
//! | memorization | train reached, test never |
//! | confusion | train never reached (whatever test did) |
//!
//! Runs that cannot be classified are labelled as such, never dropped: a run still `running`
//! (unless both levels are already reached, which fixes its phase), a `failed` run, and a run
//! without accuracy measurements (`no-data`).
use crate::transitions::{step as fmt_steps, RunSeries, Transitions};
use critlab_core::{Phase, RunStatus};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// When a delay counts as grokking.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum GrokkingDelay {
    /// Δ larger than this fraction of the step budget τ (default 0.01).
    BudgetFraction(f64),
    /// Δ larger than this many steps.
    Steps(f64),
}

impl GrokkingDelay {
    /// The delay in steps above which a run groks, for a budget of `budget` steps.
    pub fn steps(self, budget: f64) -> f64 {
        match self {
            GrokkingDelay::BudgetFraction(f) => f * budget,
            GrokkingDelay::Steps(s) => s,
        }
    }

    fn describe(self, budget: f64) -> String {
        match self {
            GrokkingDelay::BudgetFraction(f) => format!("{} ({}% of {budget} steps)", fmt_steps(f * budget), 100.0 * f),
            GrokkingDelay::Steps(s) => format!("{} steps", fmt_steps(s)),
        }
    }
}

/// Options of the classification.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct PhaseOptions {
    /// The grokking delay criterion (default: 1% of the step budget).
    pub grokking_delay: GrokkingDelay,
}

impl Default for PhaseOptions {
    fn default() -> Self {
        Self { grokking_delay: GrokkingDelay::BudgetFraction(0.01) }
    }
}

/// What a run is shown as: its phase, or why it has none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Label {
    /// A classified run.
    Phase(PhaseKey),
    /// Still training, phase not yet determined.
    Running,
    /// Stopped by an error.
    Failed,
    /// No accuracy measurements stored.
    NoData,
}

/// [`Phase`] with an order (the order of docs/theory.md §4), so labels can be sorted and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PhaseKey(u8);

impl PhaseKey {
    /// The phase.
    pub fn phase(self) -> Phase {
        Phase::ALL[self.0 as usize]
    }
}

impl From<Phase> for Label {
    fn from(p: Phase) -> Self {
        Label::Phase(PhaseKey(Phase::ALL.iter().position(|q| *q == p).expect("every phase is in ALL") as u8))
    }
}

impl Label {
    /// Every label, in display order.
    pub fn all() -> Vec<Label> {
        Phase::ALL.into_iter().map(Label::from).chain([Label::Running, Label::Failed, Label::NoData]).collect()
    }

    /// The name: a phase name, `running`, `failed` or `no-data`.
    pub fn as_str(self) -> &'static str {
        match self {
            Label::Phase(k) => k.phase().as_str(),
            Label::Running => "running",
            Label::Failed => "failed",
            Label::NoData => "no-data",
        }
    }

    /// Parses a name written by [`Label::as_str`].
    pub fn parse(s: &str) -> Option<Self> {
        Label::all().into_iter().find(|l| l.as_str() == s)
    }

    /// The phase, for classified runs.
    pub fn phase(self) -> Option<Phase> {
        match self {
            Label::Phase(k) => Some(k.phase()),
            _ => None,
        }
    }
}

impl fmt::Display for Label {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Label {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// What the classification needs to know about a run besides its series.
#[derive(Debug, Clone, Copy)]
pub struct RunFacts<'a> {
    /// Its status in the store.
    pub status: RunStatus,
    /// The stored reason of a failed or diverged run.
    pub status_reason: Option<&'a str>,
    /// Its step budget τ (the spec's `steps`); `None` falls back to the last stored step.
    pub budget: Option<i64>,
    /// The last step with stored metrics.
    pub last_step: Option<i64>,
}

/// A run's label and the reason for it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The phase or why there is none.
    pub label: Label,
    /// The reason, in words, with the numbers used.
    pub reason: String,
}

/// Classifies one run from its facts, series and accuracy transitions.
pub fn classify(facts: &RunFacts<'_>, series: &RunSeries, acc: &Transitions, opts: &PhaseOptions) -> Classification {
    let done = |label: Label, reason: String| Classification { label, reason };
    let bad_loss = series.train_loss.iter().find(|(_, v)| !v.is_finite());
    if facts.status == RunStatus::Diverged || bad_loss.is_some() {
        let reason = match (facts.status_reason, bad_loss) {
            (Some(r), _) => format!("diverged: {r}"),
            (None, Some((s, _))) => format!("diverged: train_loss not finite at step {s}"),
            (None, None) => "diverged".into(),
        };
        return done(Phase::Diverged.into(), reason);
    }
    if facts.status == RunStatus::Failed {
        return done(Label::Failed, format!("failed: {}", facts.status_reason.unwrap_or("no reason stored")));
    }
    let budget = facts.budget.or(facts.last_step).unwrap_or(0) as f64;
    let criterion = opts.grokking_delay.steps(budget);
    let running = facts.status == RunStatus::Running;
    if series.train_acc.iter().all(|(_, v)| !v.is_finite()) {
        return if running {
            done(Label::Running, format!("still running, no accuracy measured yet (budget {budget} steps)"))
        } else {
            done(Label::NoData, "no train_acc measurements stored".into())
        };
    }
    let (label, why) = match (acc.t_mem, acc.t_grok) {
        (Some(m), Some(g)) => {
            let delay = g - m;
            if delay > criterion {
                (
                    Phase::Grokking.into(),
                    format!("delay {} > {}", fmt_steps(delay), opts.grokking_delay.describe(budget)),
                )
            } else {
                (
                    Phase::Comprehension.into(),
                    format!("delay {} ≤ {}", fmt_steps(delay), opts.grokking_delay.describe(budget)),
                )
            }
        }
        _ if running => {
            let at = facts.last_step.map_or("before its first eval".to_string(), |s| format!("at step {s}"));
            (Label::Running, format!("still running {at} of {budget}"))
        }
        (Some(_), None) => (Phase::Memorization.into(), format!("within {budget} steps")),
        (None, _) => (Phase::Confusion.into(), format!("within {budget} steps")),
    };
    let reason = if running && label != Label::Running {
        format!("{}: {why} (still running; phase already fixed)", acc.note)
    } else {
        format!("{}: {why}", acc.note)
    };
    done(label, reason)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transitions::{accuracy, TransitionOptions};

    fn ramp(t0: i64, end: i64) -> Vec<(i64, f64)> {
        (0..=end / 10).map(|i| (i * 10, if i * 10 >= t0 { 1.0 } else { 0.05 })).collect()
    }

    fn run(status: RunStatus, train_at: i64, test_at: i64, budget: i64) -> Classification {
        let series = RunSeries {
            train_acc: ramp(train_at, budget),
            test_acc: ramp(test_at, budget),
            train_loss: vec![(0, 3.0), (budget, 0.1)],
            ..Default::default()
        };
        let acc = accuracy(&series, &TransitionOptions::default());
        let facts = RunFacts { status, status_reason: None, budget: Some(budget), last_step: Some(budget) };
        classify(&facts, &series, &acc, &PhaseOptions::default())
    }

    #[test]
    fn liu_phases_from_accuracy_crossings() {
        let never = i64::MAX;
        assert_eq!(run(RunStatus::Done, 100, 110, 2000).label, Phase::Comprehension.into());
        let g = run(RunStatus::Done, 100, 1500, 2000);
        assert_eq!(g.label, Phase::Grokking.into());
        assert!(g.reason.contains("delay 1400 > 20 (1% of 2000 steps)"), "{}", g.reason);
        assert_eq!(run(RunStatus::Done, 100, never, 2000).label, Phase::Memorization.into());
        assert_eq!(run(RunStatus::Done, never, never, 2000).label, Phase::Confusion.into());
        assert_eq!(
            run(RunStatus::Done, never, 50, 2000).label,
            Phase::Confusion.into(),
            "train never reached is confusion"
        );
    }

    #[test]
    fn the_delay_criterion_is_an_option() {
        let series = RunSeries { train_acc: ramp(100, 2000), test_acc: ramp(150, 2000), ..Default::default() };
        let acc = accuracy(&series, &TransitionOptions::default());
        let facts =
            RunFacts { status: RunStatus::Done, status_reason: None, budget: Some(2000), last_step: Some(2000) };
        let by = |d| classify(&facts, &series, &acc, &PhaseOptions { grokking_delay: d }).label;
        assert_eq!(by(GrokkingDelay::BudgetFraction(0.01)), Phase::Grokking.into());
        assert_eq!(by(GrokkingDelay::BudgetFraction(0.05)), Phase::Comprehension.into());
        assert_eq!(by(GrokkingDelay::Steps(49.0)), Phase::Grokking.into());
        assert_eq!(by(GrokkingDelay::Steps(50.0)), Phase::Comprehension.into());
    }

    #[test]
    fn unfinished_diverged_and_empty_runs_are_labelled_not_dropped() {
        assert_eq!(run(RunStatus::Running, 100, i64::MAX, 2000).label, Label::Running);
        let fixed = run(RunStatus::Running, 100, 900, 2000);
        assert_eq!(fixed.label, Phase::Grokking.into());
        assert!(fixed.reason.contains("still running"));
        assert_eq!(run(RunStatus::Failed, 100, 900, 2000).label, Label::Failed);
        assert_eq!(run(RunStatus::Diverged, 100, 900, 2000).label, Phase::Diverged.into());
        let nan_loss =
            RunSeries { train_acc: ramp(10, 100), train_loss: vec![(0, 2.0), (10, f64::NAN)], ..Default::default() };
        let acc = accuracy(&nan_loss, &TransitionOptions::default());
        let facts = RunFacts { status: RunStatus::Done, status_reason: None, budget: None, last_step: None };
        let c = classify(&facts, &nan_loss, &acc, &PhaseOptions::default());
        assert_eq!(c.label, Phase::Diverged.into());
        assert!(c.reason.contains("step 10"));
        let empty = RunSeries::default();
        let acc = accuracy(&empty, &TransitionOptions::default());
        assert_eq!(classify(&facts, &empty, &acc, &PhaseOptions::default()).label, Label::NoData);
        let started = RunFacts { status: RunStatus::Running, ..facts };
        assert_eq!(classify(&started, &empty, &acc, &PhaseOptions::default()).label, Label::Running);
    }

    #[test]
    fn labels_round_trip_through_their_names() {
        for l in Label::all() {
            assert_eq!(Label::parse(l.as_str()), Some(l));
            assert_eq!(serde_json::to_string(&l).unwrap(), format!("\"{l}\""));
        }
    }
}
