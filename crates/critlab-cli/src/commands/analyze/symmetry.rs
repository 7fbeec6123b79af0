//! `critlab analyze symmetry`: the symmetries of a run's model and each stored Noether charge
//! against the theory for the optimizer it was trained with
//! ([`critlab_physics::conservation`]).
use super::common::print_result;
use crate::args::StoreArg;
use crate::table;
use anyhow::{Context, Result};
use clap::Args;
use critlab_core::{OptimizerKind, RunSpec};
use critlab_physics::conservation::{self, ChargeComparison, Dynamics};
use critlab_store::{RunId, Store};
use critlab_train::symmetry::{self, Symmetry};
use serde::Serialize;
use std::process::ExitCode;

/// List a run's symmetries and compare its charges with theory.
#[derive(Debug, Args)]
pub struct SymmetryCmd {
    #[command(flatten)]
    store: StoreArg,
    /// The run
    #[arg(long)]
    run: RunId,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
struct Report {
    run: RunId,
    dynamics: Dynamics,
    symmetries: Vec<Symmetry>,
    charges: Vec<ChargeComparison>,
}

/// Runs `critlab analyze symmetry`.
pub fn run(cmd: SymmetryCmd) -> Result<ExitCode> {
    let store = Store::open_read_only(&cmd.store.store)?;
    let row = store.run(cmd.run)?;
    let spec: RunSpec = serde_json::from_value(row.spec.clone()).context("reading the run's stored spec")?;
    let spec = spec.validate().context("the stored spec no longer validates")?;
    let symmetries = symmetry::of_spec(&spec);
    let dynamics = match spec.optimizer {
        OptimizerKind::Sgd => Dynamics::Sgd { lr: spec.lr, weight_decay: spec.weight_decay, momentum: spec.momentum },
        OptimizerKind::Adam | OptimizerKind::Adamw => {
            Dynamics::Adaptive { lr: spec.lr, weight_decay: spec.weight_decay }
        }
    };
    let mut charges = Vec::new();
    for s in &symmetries {
        for name in s.metric_names() {
            let measured: Vec<(f64, f64)> =
                store.series(cmd.run, &name)?.into_iter().map(|(t, v)| (t as f64, v)).collect();
            let source_name = name.replacen('/', "_source/", 1);
            let source: Vec<(f64, f64)> =
                store.series(cmd.run, &source_name)?.into_iter().map(|(t, v)| (t as f64, v)).collect();
            let source = (!source.is_empty()).then_some(source.as_slice());
            charges.extend(conservation::compare(&name, &measured, source, s.quadratic(), dynamics));
        }
    }
    let report = Report { run: cmd.run, dynamics, symmetries, charges };
    print_result(cmd.json, &report, || summary(&report))?;
    Ok(ExitCode::SUCCESS)
}

fn summary(r: &Report) -> String {
    let mut out = format!("run {}: {} symmetries\n", r.run, r.symmetries.len());
    for s in &r.symmetries {
        out.push_str(&format!("  {}\n", s.describe()));
    }
    if r.symmetries.is_empty() {
        out.push_str("  none (no homogeneous activation, softmax read-out, attention or normalization)\n");
    }
    let rows: Vec<Vec<String>> = r
        .charges
        .iter()
        .map(|c| {
            vec![
                c.name.clone(),
                table::num(Some(c.first)),
                table::num(Some(c.last)),
                table::num(Some(c.relative_drift)),
                table::num(c.residual),
                c.fitted_rate
                    .map(|f| format!("{} ± {}", table::num(Some(f.value)), table::num(Some(f.stderr))))
                    .unwrap_or_else(|| "–".into()),
                table::num(c.expected_rate),
            ]
        })
        .collect();
    if !rows.is_empty() {
        out.push_str(&table::render(
            &["charge", "Q(0)", "Q(T)", "drift", "residual", "fitted rate", "theory rate"],
            &rows,
        ));
        if let Some(c) = r.charges.first() {
            out.push_str(&format!("theory: {}\n", c.theory));
        }
    }
    out
}
