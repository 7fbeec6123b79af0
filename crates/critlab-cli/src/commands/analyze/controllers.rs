//! `critlab analyze controllers`: adaptive controllers against the best fixed (η, λ) on the
//! runs of a sweep ([`critlab_physics::control`]); the figure shows what each arm did to η, B,
//! λ and ‖θ‖ beside the test accuracy ([`critlab_report::plot::control`]).
use super::common::OutputArgs;
use super::early_warning::t_grok;
use crate::args::StoreArg;
use crate::table;
use anyhow::{bail, Context, Result};
use clap::Args;
use critlab_core::{Controller, RunSpec, RunStatus, ValidRunSpec};
use critlab_physics::control::{self, ArmResult, ControlRun, Interval, Speedup, WorkloadResult};
use critlab_physics::hypotheses::BootstrapOptions;
use critlab_report::plot::control::{controllers_svg, Trajectory};
use critlab_store::{RunId, Store};
use std::collections::BTreeMap;
use std::process::ExitCode;

/// Compare adaptive controllers with fixed settings on a sweep.
#[derive(Debug, Args)]
pub struct ControllersCmd {
    #[command(flatten)]
    store: StoreArg,
    /// The sweep; repeat it to pool sweeps (the controllers' and the fixed grid's)
    #[arg(long, required = true)]
    sweep: Vec<String>,
    /// Only workloads whose label contains this text (e.g. "f=0.3")
    #[arg(long)]
    workload: Option<String>,
    /// Bootstrap resamples
    #[arg(long, default_value_t = 1000, value_parser = crate::args::at_least::<1>)]
    resamples: usize,
    /// Bootstrap seed
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    output: OutputArgs,
}

/// The workload of a run: what stays when the per-replica keys are removed, labelled briefly.
fn workload_label(spec: &ValidRunSpec) -> String {
    format!("{:?} p={} f={} τ={}", spec.model, spec.p, spec.train_frac, spec.steps).to_lowercase()
}

/// The arm of a run: its controller with its parameters, or its fixed (η, λ), and the start.
fn arm_label(spec: &ValidRunSpec) -> String {
    let start = start_label(spec);
    match &spec.controller {
        Controller::None => start,
        c => {
            let mut params = serde_json::to_value(c).expect("a controller serializes");
            let obj = params.as_object_mut().expect("a tagged table");
            obj.remove("kind");
            let p: Vec<String> = obj.iter().map(|(k, v)| format!("{k}={}", v.to_string().trim_matches('"'))).collect();
            format!("{} {} from {}", c.name(), p.join(" "), start.trim_start_matches("fixed "))
        }
    }
}

/// The fixed arm a run starts from: `fixed η=… λ=…`.
fn start_label(spec: &ValidRunSpec) -> String {
    format!("fixed η={} λ={}", spec.lr, spec.weight_decay)
}

/// Σ B over the steps before `t`, with B the last logged value at or before each step (or the
/// spec's B throughout when the run logged none).
fn examples_before(batch: &[(i64, f64)], fixed_b: f64, t: f64) -> f64 {
    if batch.is_empty() {
        return fixed_b * t;
    }
    let mut total = 0.0;
    for (k, &(s, b)) in batch.iter().enumerate() {
        let start = s as f64;
        if start >= t {
            break;
        }
        let end = batch.get(k + 1).map_or(t, |n| (n.0 as f64).min(t));
        total += b * (end - start);
    }
    total
}

fn last(series: &[(i64, f64)]) -> Option<f64> {
    series.last().map(|p| p.1)
}

struct Loaded {
    run: ControlRun,
    id: RunId,
    seed: u64,
    spec: ValidRunSpec,
}

/// Runs `critlab analyze controllers`.
pub fn run(cmd: ControllersCmd) -> Result<ExitCode> {
    let store = Store::open_read_only(&cmd.store.store)?;
    let mut rows = Vec::new();
    for sweep in &cmd.sweep {
        let these = store.runs(Some(sweep))?;
        if these.is_empty() {
            bail!("no runs in sweep {sweep}");
        }
        rows.extend(these);
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    let mut loaded = Vec::new();
    for row in &rows {
        let spec: RunSpec =
            serde_json::from_value(row.spec.clone()).with_context(|| format!("reading the spec of run {}", row.id))?;
        let spec = spec.validate().with_context(|| format!("run {}'s stored spec no longer validates", row.id))?;
        // Workloads are told apart by everything but the per-replica keys; equal short labels
        // of different workloads get a number.
        let key = critlab_train::group_key(&spec);
        let n = labels.len();
        let short = workload_label(&spec);
        let clash = labels.iter().any(|(k, l)| k != &key && l == &short);
        let workload = labels.entry(key).or_insert_with(|| if clash { format!("{short} #{n}") } else { short }).clone();
        if cmd.workload.as_ref().is_some_and(|w| !workload.contains(w.as_str())) {
            continue;
        }
        let t = t_grok(&store, row.id)?;
        let batch = store.series(row.id, "batch_size")?;
        let fixed_b = spec.batch() as f64;
        let done = row.last_step.map_or(spec.steps as f64, |s| s as f64);
        loaded.push(Loaded {
            run: ControlRun {
                workload,
                arm: arm_label(&spec),
                fixed: spec.controller.is_none(),
                start: start_label(&spec),
                budget: spec.steps as f64,
                t_grok: t,
                examples_to_grok: t.map(|t| examples_before(&batch, fixed_b, t)),
                examples_total: examples_before(&batch, fixed_b, done),
                final_test_acc: last(&store.series(row.id, "test_acc")?),
                wall_seconds: row.wall_seconds,
                diverged: row.status == RunStatus::Diverged,
            },
            id: row.id,
            seed: row.seed,
            spec,
        });
    }
    if loaded.is_empty() {
        bail!("no runs of sweep {} match workload {:?}", cmd.sweep.join(", "), cmd.workload.unwrap_or_default());
    }
    let runs: Vec<ControlRun> = loaded.iter().map(|l| l.run.clone()).collect();
    let result = control::compare(&runs, &BootstrapOptions { resamples: cmd.resamples, seed: cmd.seed });
    cmd.output.emit(
        &result,
        || summary(&result),
        || figure(&store, &loaded, &result).unwrap_or_else(|e| format!("<!-- {e} -->")),
    )?;
    Ok(ExitCode::SUCCESS)
}

/// `value [low, high]`, with "> τ" for a median not reached within the budget.
fn cell(i: &Interval, budget: Option<f64>) -> String {
    let n = |v: Option<f64>| match (v, budget) {
        (Some(v), _) => table::num(Some(v)),
        (None, Some(b)) => format!("> {}", table::num(Some(b))),
        (None, None) => "–".into(),
    };
    format!("{} [{}, {}]", n(i.value), n(i.low), n(i.high))
}

/// A speed-up cell; a lower bound (censored baseline) reads "≥ value [≥ low, ≥ high]".
fn speedup_cell(s: &Speedup) -> String {
    if !s.at_least {
        return cell(&s.ratio, None);
    }
    let n = |v: Option<f64>| v.map_or("–".into(), |v| format!("≥ {}", table::num(Some(v))));
    format!("{} [{}, {}]", n(s.ratio.value), n(s.ratio.low), n(s.ratio.high))
}

fn summary(result: &[WorkloadResult]) -> String {
    let mut out = String::new();
    for w in result {
        out.push_str(&format!(
            "workload {}: best fixed = {} (fixed grid compute {} examples)\n",
            w.workload,
            w.best_fixed.as_deref().unwrap_or("none"),
            table::num(Some(w.fixed_compute))
        ));
        let rows: Vec<Vec<String>> = w
            .arms
            .iter()
            .map(|a: &ArmResult| {
                vec![
                    a.arm.clone(),
                    format!(
                        "{}/{}{}",
                        a.grokked,
                        a.runs,
                        if a.diverged > 0 { format!(" ({} div.)", a.diverged) } else { String::new() }
                    ),
                    cell(&a.t_grok, Some(a.budget)),
                    cell(&a.examples_to_grok, None),
                    cell(&a.final_test_acc, None),
                    cell(&a.wall_seconds, None),
                    speedup_cell(&a.speedup),
                    speedup_cell(&a.speedup_vs_start),
                    table::num(Some(a.examples_total)),
                ]
            })
            .collect();
        out.push_str(&table::render(
            &[
                "arm",
                "grokked",
                "t_grok (median, 95%)",
                "examples to t_grok",
                "final test acc",
                "wall s",
                "speed-up vs best fixed",
                "vs its start (η, λ)",
                "compute",
            ],
            &rows,
        ));
        out.push('\n');
    }
    out
}

/// The first workload's arms, one run each (the lowest seed), as trajectories.
fn figure(store: &Store, loaded: &[Loaded], result: &[WorkloadResult]) -> Result<String> {
    let Some(w) = result.first() else { bail!("nothing to draw") };
    let mut trajectories = Vec::new();
    let names: Vec<&str> = w.arms.iter().map(|a| a.arm.as_str()).collect();
    for (a, legend) in w.arms.iter().zip(legend_labels(&names)) {
        let Some(l) =
            loaded.iter().filter(|l| l.run.workload == w.workload && l.run.arm == a.arm).min_by_key(|l| l.seed)
        else {
            continue;
        };
        let test_acc = store.series(l.id, "test_acc")?;
        // Fixed runs log no knobs: they are the spec's values at every eval step.
        let knob = |name: &str, v: f64| -> Result<Vec<(i64, f64)>> {
            let s = store.series(l.id, name)?;
            Ok(if s.is_empty() { test_acc.iter().map(|p| (p.0, v)).collect() } else { s })
        };
        trajectories.push(Trajectory {
            arm: legend,
            lr: knob("lr", l.spec.lr)?,
            batch_size: knob("batch_size", l.spec.batch() as f64)?,
            weight_decay: knob("weight_decay", l.spec.weight_decay)?,
            weight_norm: store.series(l.id, "weight_norm")?,
            test_acc,
        });
    }
    Ok(controllers_svg(&trajectories, &format!("{} (seed of each arm: its lowest)", w.workload)))
}

/// The legend of each arm: a fixed arm's label; a controller's name, with its parameters
/// when another arm has the same controller (their starting (η, λ) is in the table).
fn legend_labels(arms: &[&str]) -> Vec<String> {
    let short = |a: &str| a.split(" from ").next().unwrap_or(a).to_string();
    let name = |a: &str| a.split(' ').next().unwrap_or(a).to_string();
    arms.iter()
        .map(|a| {
            if a.starts_with("fixed ") {
                return a.to_string();
            }
            let shared = arms.iter().filter(|b| !b.starts_with("fixed ") && name(b) == name(a)).count() > 1;
            if shared {
                short(a)
            } else {
                name(a)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two Grokfast arms are told apart in the legend by their parameters; a lone controller
    /// keeps its name, a fixed arm its (η, λ).
    #[test]
    fn legends_tell_arms_of_one_controller_apart() {
        let arms = [
            "grokfast alpha=0.99 lambda=5.0 from η=0.001 λ=1",
            "grokfast alpha=0.98 lambda=2.0 from η=0.001 λ=1",
            "norm ratio=1.0 from η=0.001 λ=1",
            "fixed η=0.001 λ=1",
        ];
        assert_eq!(
            legend_labels(&arms),
            ["grokfast alpha=0.99 lambda=5.0", "grokfast alpha=0.98 lambda=2.0", "norm", "fixed η=0.001 λ=1"]
        );
    }

    #[test]
    fn examples_follow_the_logged_batch() {
        let b = [(0, 10.0), (100, 20.0), (200, 40.0)];
        assert_eq!(examples_before(&b, 99.0, 150.0), 10.0 * 100.0 + 20.0 * 50.0);
        assert_eq!(examples_before(&b, 99.0, 300.0), 1000.0 + 2000.0 + 4000.0);
        assert_eq!(examples_before(&[], 64.0, 10.0), 640.0);
    }
}
