//! Per-run transitions (docs/theory.md §4): when a run memorises (t_mem), when it generalises
//! (t_grok), the delay Δ = t_grok − t_mem, and the width and size of the jump of the order
//! parameter, detected three ways on the stored `(step, value)` series:
//!
//! | detector | quantity | t_mem from | t_grok from |
//! |---|---|---|---|
//! | [`Detector::Threshold`] | `accuracy` | first step with `train_acc` ≥ 0.9 | first step with `test_acc` ≥ 0.9 |
//! | [`Detector::SteepestLogTime`] | `explained_variance` | steepest fall of `train_loss` in ln t | steepest rise of `explained_variance` in ln t |
//! | [`Detector::SteepestLogTime`] | `test_loss` | steepest fall of `train_loss` in ln t | steepest fall of `test_loss` in ln t |
//!
//! Accuracy thresholds can invent sharpness (Levi et al. 2024, "Grokking in linear estimators"):
//! a smooth rise of the test loss crosses any threshold at one step. The log-time detectors
//! use no threshold: they locate the step where the quantity changes fastest per unit of
//! ln t, and say "not found" when the change is too small to be a transition.
//!
//! Robustness: non-finite values (a diverged run) are dropped, and every series is passed
//! through a running median (default 3 points) before detection, so one noisy eval step can
//! neither create nor hide a crossing; on a monotone curve the running median changes
//! nothing. With train cross-entropy ℓ and label entropy H the train-side explained variance
//! is 1 − ℓ/H, so the steepest fall of `train_loss` is also the steepest rise of the train V.
//!
//! Width: with the levels `before` (extreme of the smoothed series up to the transition) and
//! `after` (extreme from the transition on) and the jump J = after − before, the width is the
//! number of steps from the last time the curve is at before + 0.1 J (before the transition)
//! to the first time it is at before + 0.9 J, linearly interpolated between eval steps.
use serde::{Deserialize, Serialize};
use std::fmt;

/// A stored series: `(step, value)` pairs in step order; NaN marks a non-finite value.
pub type Points = [(i64, f64)];

/// How a transition is located.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Detector {
    /// First step at which the (smoothed) quantity reaches a threshold.
    Threshold,
    /// Step of the steepest change of the (smoothed) quantity per unit of ln t.
    SteepestLogTime,
}

impl Detector {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Detector::Threshold => "threshold",
            Detector::SteepestLogTime => "steepest-log-time",
        }
    }
}

impl fmt::Display for Detector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which way an order parameter moves through its transition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Increasing (accuracy, explained variance).
    Rising,
    /// Decreasing (a loss).
    Falling,
}

impl Direction {
    fn sign(self) -> f64 {
        match self {
            Direction::Rising => 1.0,
            Direction::Falling => -1.0,
        }
    }
}

/// Options of the detectors; every field has the default in its doc.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case", deny_unknown_fields, default)]
pub struct TransitionOptions {
    /// Train accuracy that counts as memorised, t_mem (default 0.9, docs/theory.md §4).
    pub train_threshold: f64,
    /// Test accuracy that counts as generalised, t_grok (default 0.9).
    pub test_threshold: f64,
    /// Window of the running median applied before detection, in eval points; odd, 1 turns
    /// smoothing off (default 3).
    pub smooth: usize,
    /// Smallest rise of the explained variance (in its units, V ∈ [0, 1]) that counts as a
    /// transition (default 0.1).
    pub min_v_jump: f64,
    /// Smallest relative fall of a loss, (before − after)/before, that counts as a transition
    /// (default 0.5: the loss must at least halve).
    pub min_loss_fall: f64,
}

impl Default for TransitionOptions {
    fn default() -> Self {
        Self { train_threshold: 0.9, test_threshold: 0.9, smooth: 3, min_v_jump: 0.1, min_loss_fall: 0.5 }
    }
}

/// The series of one run that the detectors read (any may be empty).
#[derive(Debug, Clone, Default)]
pub struct RunSeries {
    /// `train_acc`.
    pub train_acc: Vec<(i64, f64)>,
    /// `test_acc`.
    pub test_acc: Vec<(i64, f64)>,
    /// `train_loss`.
    pub train_loss: Vec<(i64, f64)>,
    /// `test_loss`.
    pub test_loss: Vec<(i64, f64)>,
    /// `explained_variance`.
    pub explained_variance: Vec<(i64, f64)>,
}

impl RunSeries {
    /// The metric names read, in field order.
    pub const NAMES: [&'static str; 5] = ["train_acc", "test_acc", "train_loss", "test_loss", "explained_variance"];
}

/// One located jump of one quantity.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Jump {
    /// Where the transition is (a step; the geometric midpoint of the steepest interval for
    /// the log-time detector).
    pub t: f64,
    /// Level before the transition.
    pub before: f64,
    /// Level after the transition.
    pub after: f64,
    /// Steps from 10% to 90% of the jump; `None` when the curve does not pass both levels
    /// inside the data.
    pub width: Option<f64>,
}

impl Jump {
    /// after − before (signed: negative for a falling loss).
    pub fn size(&self) -> f64 {
        self.after - self.before
    }
}

/// The transitions of one run seen by one detector on one quantity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Transitions {
    /// How they were located.
    pub detector: Detector,
    /// The order parameter: `accuracy`, `explained_variance` or `test_loss`.
    pub quantity: &'static str,
    /// Memorisation step.
    pub t_mem: Option<f64>,
    /// Generalisation step.
    pub t_grok: Option<f64>,
    /// Δ = t_grok − t_mem, when both exist.
    pub delay: Option<f64>,
    /// Width (steps, 10% → 90%) of the generalisation jump.
    pub width: Option<f64>,
    /// Signed size of the generalisation jump (after − before).
    pub jump: Option<f64>,
    /// What was and was not found, in words.
    pub note: String,
}

/// Finite points only, as (step, value) in f64.
fn finite(points: &Points) -> Vec<(f64, f64)> {
    points.iter().filter(|(_, v)| v.is_finite()).map(|&(s, v)| (s as f64, v)).collect()
}

/// Running median of odd `window` (shrunk at the ends); `window ≤ 1` returns the input.
pub fn running_median(values: &[f64], window: usize) -> Vec<f64> {
    let half = window.max(1) / 2;
    (0..values.len())
        .map(|i| {
            let (lo, hi) = (i.saturating_sub(half), (i + half + 1).min(values.len()));
            let h = half.min(i - lo).min(hi - 1 - i);
            let mut w: Vec<f64> = values[i - h..=i + h].to_vec();
            w.sort_by(f64::total_cmp);
            w[w.len() / 2]
        })
        .collect()
}

/// The finite points of a series with their values smoothed.
fn smoothed(points: &Points, window: usize) -> (Vec<f64>, Vec<f64>) {
    let pts = finite(points);
    let t: Vec<f64> = pts.iter().map(|p| p.0).collect();
    let v: Vec<f64> = pts.iter().map(|p| p.1).collect();
    let v = running_median(&v, window);
    (t, v)
}

/// First step at which the smoothed series reaches `level` (docs/theory.md §4's t_mem, t_grok).
pub fn first_crossing(points: &Points, level: f64, smooth: usize) -> Option<f64> {
    let (t, v) = smoothed(points, smooth);
    v.iter().position(|&x| x >= level).map(|i| t[i])
}

/// The jump of a rising threshold crossing: `None` when the level is never reached.
pub fn threshold_jump(points: &Points, level: f64, smooth: usize) -> Option<Jump> {
    let (t, v) = smoothed(points, smooth);
    let i = v.iter().position(|&x| x >= level)?;
    Some(jump_at(&t, &v, i, Direction::Rising, t[i]))
}

/// The steepest change of the smoothed series per unit of ln t (steps ≤ 0 are left out), in
/// the given direction; `None` when fewer than two points have t > 0 or nothing moves that way.
pub fn steepest_log_time(points: &Points, direction: Direction, smooth: usize) -> Option<Jump> {
    let (t, v) = smoothed(points, smooth);
    let first = t.iter().position(|&s| s > 0.0)?;
    let s = direction.sign();
    let best = (first..t.len().saturating_sub(1))
        .map(|k| (k, s * (v[k + 1] - v[k]) / (t[k + 1].ln() - t[k].ln())))
        .filter(|(_, slope)| slope.is_finite() && *slope > 0.0)
        .max_by(|a, b| a.1.total_cmp(&b.1))?;
    let k = best.0;
    Some(jump_at(&t, &v, k, direction, (t[k] * t[k + 1]).sqrt()))
}

/// Levels and 10–90% width of the transition at index `i` of the smoothed series (t, v).
fn jump_at(t: &[f64], v: &[f64], i: usize, direction: Direction, at: f64) -> Jump {
    let s = direction.sign();
    // Work on s·v, which rises in both directions.
    let u: Vec<f64> = v.iter().map(|x| s * x).collect();
    let before = u[..=i].iter().copied().fold(f64::INFINITY, f64::min);
    let after = u[i..].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let jump = after - before;
    let width = (jump > 0.0).then(|| {
        let (l10, l90) = (before + 0.1 * jump, before + 0.9 * jump);
        // Last point at or below 10% up to the transition, then the first at or above 90%.
        let k = (0..=i).rev().find(|&k| u[k] <= l10)?;
        let m = (k..u.len()).find(|&m| u[m] >= l90)?;
        let cross = |a: usize, level: f64| {
            let b = a + 1;
            if b >= u.len() || u[b] == u[a] {
                t[a]
            } else {
                t[a] + (level - u[a]) / (u[b] - u[a]) * (t[b] - t[a])
            }
        };
        let t10 = cross(k, l10);
        let t90 = if m == 0 { t[0] } else { cross(m - 1, l90) };
        Some((t90 - t10).max(0.0))
    });
    Jump { t: at, before: s * before, after: s * after, width: width.flatten() }
}

/// A step for messages: whole steps without decimals.
pub(crate) fn step(t: f64) -> String {
    if t.fract() == 0.0 {
        format!("{t:.0}")
    } else {
        format!("{t:.1}")
    }
}

fn assemble(
    detector: Detector,
    quantity: &'static str,
    mem: Option<f64>,
    grok: Option<Jump>,
    notes: Vec<String>,
) -> Transitions {
    let t_grok = grok.map(|j| j.t);
    Transitions {
        detector,
        quantity,
        t_mem: mem,
        t_grok,
        delay: mem.zip(t_grok).map(|(m, g)| g - m),
        width: grok.and_then(|j| j.width),
        jump: grok.map(|j| j.size()),
        note: notes.join("; "),
    }
}

/// Accuracy thresholds: t_mem, t_grok at `train_threshold` / `test_threshold`.
pub fn accuracy(series: &RunSeries, opts: &TransitionOptions) -> Transitions {
    let mem = first_crossing(&series.train_acc, opts.train_threshold, opts.smooth);
    let grok = threshold_jump(&series.test_acc, opts.test_threshold, opts.smooth);
    let describe = |name: &str, level: f64, t: Option<f64>, points: &Points| match t {
        Some(t) => format!("{name} ≥ {level} at step {}", step(t)),
        None if finite(points).is_empty() => format!("no {name} measured"),
        None => format!(
            "{name} never ≥ {level} (max {:.3})",
            finite(points).iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max)
        ),
    };
    let notes = vec![
        describe("train_acc", opts.train_threshold, mem, &series.train_acc),
        describe("test_acc", opts.test_threshold, grok.map(|j| j.t), &series.test_acc),
    ];
    assemble(Detector::Threshold, "accuracy", mem, grok, notes)
}

/// The steepest fall of a loss in ln t, if the loss falls by at least `min_fall` of its level.
fn loss_fall(points: &Points, opts: &TransitionOptions) -> (Option<Jump>, Option<String>) {
    match steepest_log_time(points, Direction::Falling, opts.smooth) {
        Some(j) if j.before > 0.0 && (j.before - j.after) / j.before >= opts.min_loss_fall => (Some(j), None),
        Some(j) => (None, Some(format!("falls only from {:.3} to {:.3}", j.before, j.after))),
        None if finite(points).len() < 2 => (None, Some("too few points".into())),
        None => (None, Some("never falls".into())),
    }
}

fn train_side(series: &RunSeries, opts: &TransitionOptions, notes: &mut Vec<String>) -> Option<f64> {
    let (mem, why) = loss_fall(&series.train_loss, opts);
    match (mem, why) {
        (Some(j), _) => notes.push(format!("train_loss falls fastest at step {}", step(j.t))),
        (None, Some(w)) => notes.push(format!("no train_loss transition: {w}")),
        _ => {}
    }
    mem.map(|j| j.t)
}

/// Threshold-free detection on the explained variance (steepest rise in ln t).
pub fn explained_variance(series: &RunSeries, opts: &TransitionOptions) -> Transitions {
    let mut notes = Vec::new();
    let mem = train_side(series, opts, &mut notes);
    let grok = match steepest_log_time(&series.explained_variance, Direction::Rising, opts.smooth) {
        Some(j) if j.size() >= opts.min_v_jump => {
            notes.push(format!("explained_variance rises fastest at step {}", step(j.t)));
            Some(j)
        }
        Some(j) => {
            notes.push(format!("no explained_variance transition: rises only by {:.3}", j.size()));
            None
        }
        None => {
            notes.push("no explained_variance transition: never rises".into());
            None
        }
    };
    assemble(Detector::SteepestLogTime, "explained_variance", mem, grok, notes)
}

/// Threshold-free detection on the test loss (steepest fall in ln t).
pub fn test_loss(series: &RunSeries, opts: &TransitionOptions) -> Transitions {
    let mut notes = Vec::new();
    let mem = train_side(series, opts, &mut notes);
    let (grok, why) = loss_fall(&series.test_loss, opts);
    match (grok, why) {
        (Some(j), _) => notes.push(format!("test_loss falls fastest at step {}", step(j.t))),
        (None, Some(w)) => notes.push(format!("no test_loss transition: {w}")),
        _ => {}
    }
    assemble(Detector::SteepestLogTime, "test_loss", mem, grok, notes)
}

/// All three detectors, accuracy first.
pub fn detect(series: &RunSeries, opts: &TransitionOptions) -> Vec<Transitions> {
    vec![accuracy(series, opts), explained_variance(series, opts), test_loss(series, opts)]
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    #[allow(clippy::too_many_arguments)]
    /// A logistic step from `lo` to `hi` centred at `t0` with 10–90% width `w` (in steps),
    /// sampled every `every` steps up to `end`, with uniform noise of amplitude `noise`.
    fn sigmoid(lo: f64, hi: f64, t0: f64, w: f64, every: i64, end: i64, noise: f64, seed: u64) -> Vec<(i64, f64)> {
        let k = 2.0 * 9f64.ln() / w; // 10% → 90% of a logistic spans 2 ln 9 / k
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        (0..=end / every)
            .map(|i| {
                let t = (i * every) as f64;
                (i * every, lo + (hi - lo) / (1.0 + (-(t - t0) * k).exp()) + noise * (rng.gen::<f64>() - 0.5))
            })
            .collect()
    }

    #[test]
    fn noisy_sigmoids_give_their_crossing_and_width() {
        for seed in 0..5 {
            let s = sigmoid(0.0, 1.0, 2000.0, 400.0, 10, 4000, 0.06, seed);
            let j = threshold_jump(&s, 0.5, 3).unwrap();
            assert!((j.t - 2000.0).abs() <= 40.0, "t {}", j.t);
            let w = j.width.unwrap();
            assert!((w - 400.0).abs() <= 80.0, "width {w}");
            assert!((j.size() - 1.0).abs() < 0.08, "jump {}", j.size());
        }
    }

    #[test]
    fn one_noisy_spike_does_not_make_a_crossing() {
        let clean = sigmoid(0.0, 1.0, 3000.0, 200.0, 50, 4000, 0.0, 0);
        let mut s = clean.clone();
        s[10].1 = 0.95; // a single spike at step 500
        let truth = first_crossing(&clean, 0.9, 1).unwrap();
        assert!((3100.0..=3150.0).contains(&truth));
        assert_eq!(first_crossing(&s, 0.9, 3).unwrap(), truth);
        assert_eq!(first_crossing(&s, 0.9, 1).unwrap(), 500.0, "without smoothing the spike counts");
    }

    #[test]
    fn steepest_fall_in_log_time_finds_a_loss_step() {
        // A loss falling from 3 to 0.1 around t = 1500, on a slowly drifting background.
        let s: Vec<(i64, f64)> = sigmoid(3.0, 0.1, 1500.0, 300.0, 20, 6000, 0.02, 7);
        let j = steepest_log_time(&s, Direction::Falling, 3).unwrap();
        assert!((j.t - 1500.0).abs() < 100.0, "t {}", j.t);
        assert!((j.size() + 2.9).abs() < 0.1, "jump {}", j.size());
        assert!((j.width.unwrap() - 300.0).abs() < 60.0, "width {:?}", j.width);
    }

    #[test]
    fn the_three_detectors_agree_on_a_clean_grokking_run() {
        let series = RunSeries {
            train_acc: sigmoid(0.0, 1.0, 200.0, 60.0, 20, 6000, 0.0, 0),
            test_acc: sigmoid(0.0, 1.0, 3000.0, 500.0, 20, 6000, 0.0, 0),
            train_loss: sigmoid(3.4, 0.01, 190.0, 60.0, 20, 6000, 0.0, 0),
            test_loss: sigmoid(6.0, 0.05, 2950.0, 500.0, 20, 6000, 0.0, 0),
            explained_variance: sigmoid(0.0, 0.98, 2950.0, 500.0, 20, 6000, 0.0, 0),
        };
        let all = detect(&series, &TransitionOptions::default());
        let acc = &all[0];
        assert_eq!(acc.t_mem, Some(240.0));
        assert!(acc.t_grok.unwrap() > 3000.0 && acc.t_grok.unwrap() < 3300.0);
        for d in &all[1..] {
            assert!((d.t_mem.unwrap() - 190.0).abs() < 40.0, "{d:?}");
            assert!((d.t_grok.unwrap() - 2950.0).abs() < 150.0, "{d:?}");
            assert!(d.delay.unwrap() > 2500.0);
        }
        assert!(all[2].jump.unwrap() < -5.0);
    }

    #[test]
    fn empty_nan_and_flat_series_say_not_found() {
        let empty = RunSeries::default();
        for d in detect(&empty, &TransitionOptions::default()) {
            assert_eq!((d.t_mem, d.t_grok, d.delay, d.width, d.jump), (None, None, None, None, None));
            assert!(!d.note.is_empty());
        }
        let nan: Vec<(i64, f64)> = (0..20).map(|i| (i * 10, f64::NAN)).collect();
        let flat: Vec<(i64, f64)> = (0..20).map(|i| (i * 10, 0.3)).collect();
        let series = RunSeries {
            train_acc: nan.clone(),
            test_acc: flat.clone(),
            train_loss: nan,
            test_loss: flat.clone(),
            explained_variance: flat,
        };
        let all = detect(&series, &TransitionOptions::default());
        assert!(all.iter().all(|d| d.t_grok.is_none() && d.t_mem.is_none()), "{all:?}");
        assert!(all[0].note.contains("no train_acc measured") && all[0].note.contains("max 0.300"), "{}", all[0].note);
    }

    #[test]
    fn a_diverging_tail_is_ignored() {
        let mut s = sigmoid(0.0, 1.0, 500.0, 100.0, 20, 2000, 0.0, 0);
        for p in s.iter_mut().skip(60) {
            p.1 = f64::NAN;
        }
        assert_eq!(first_crossing(&s, 0.9, 3), Some(560.0));
    }

    #[test]
    fn running_median_keeps_monotone_curves() {
        let v = [0.0, 0.1, 0.5, 0.6, 1.0];
        assert_eq!(running_median(&v, 3), v.to_vec());
        assert_eq!(running_median(&[0.0, 9.0, 0.0, 0.0], 3), vec![0.0, 0.0, 0.0, 0.0]);
    }
}
