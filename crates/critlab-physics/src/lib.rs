#![warn(missing_docs)]
//! # critlab-physics
//!
//! The statistical-physics analyses of critlab (docs/theory.md §5–7) as pure functions: finite-size
//! data collapse, power-law divergences, Binder-cumulant crossings, scaling relations and
//! scaling-function forms. No tensor engine, no database: tables in, `Serialize` results out.
//! Every estimate carries an uncertainty that is never NaN or negative, every fit reports its
//! quality, and an analysis that finds nothing says so.
//!
//! ## Layout (the folder tree follows the theory)
//! | module | what |
//! |---|---|
//! | [`table`] | CSV tables, columns chosen by name |
//! | [`data`] | validated inputs: [`CollapseData`] (curves per size L), [`XyData`] |
//! | [`exponents::collapse`] | A_L(x) = L^{ζ/ν} F(L^{1/ν}(x − x_c)) by data collapse |
//! | [`exponents::quality`] | the Houdayer–Hartmann quality S |
//! | [`exponents::divergence`] | y = A \|x − x_c\|^{−κ} with an AIC verdict |
//! | [`exponents::binder`] | x_c from crossings of Binder-type curves |
//! | [`exponents::sweep`] | every exponent of §5 from per-run summaries of a sweep, or "not determinable" with the reason |
//! | [`relations`] | Widom, Rushbrooke, hyperscaling (and Fisher) with verdicts |
//! | [`scaling_forms`] | five candidate forms of F ranked by AIC, BIC, cross-validation |
//! | [`report`] | plain-text summaries for the terminal |
//! | [`optimize`] | Nelder–Mead, Levenberg–Marquardt, curvature errors |
//! | [`transitions`] | per-run t_mem, t_grok, delay, width and jump (threshold and log-time detectors) |
//! | [`phase_diagram`] | classified runs on a grid of two control parameters, majority over seeds, boundaries |
//! | [`phases`] | comprehension / grokking / memorization / confusion / diverged, with the reason |
//! | [`conservation`] | measured Noether charges against the theory for the optimizer (Kunin et al. 2021) |
//! | [`early_warning`] | critical-slowing-down and framework indicators, online warnings, scoring over a sweep |
//! | [`predict`] | online predictors of grokking (norm baseline, norm-delay law, early-loss spectrum, Fourier sparsity, spectral entropy, commutator defect, CSD) and their scoring: AUROC overall and within weight decay, lead, MAPE, stop-hopeless replay |
//! | [`control`] | adaptive controllers against the best fixed (η, λ): steps and examples to t_grok with bootstrap intervals, speed-ups |
//! | [`hypotheses`] | the seed's action invariance, temperature symmetry and optimal balance, with bootstrap verdicts |
//! | [`validation`] | percolation and Ising simulators, synthetic data, reference values |
//!
//! ## Wiring into the CLI (`critlab analyze collapse|divergence|crossing|relations|scaling-forms|exponents`)
//! Each command: read the table, build the data by column names, call `fit`, then print
//! `serde_json::to_string_pretty(&result)` for `--json` or the `report::*_summary`, and write the
//! figure drawn by `critlab_report::plot::*_svg` to a file (this crate holds numbers only; every
//! figure lives in critlab-report). All option structs implement `Default` and deserialize with
//! `deny_unknown_fields`.
//!
//! ```no_run
//! use critlab_physics::{collapse, report, CollapseData, FssColumns, Table};
//! # fn main() -> Result<(), critlab_physics::PhysicsError> {
//! let table = Table::from_csv_path("runs.csv")?;
//! let cols = FssColumns { size: "L".into(), x: "p".into(), y: "acc".into(), dy: Some("acc_err".into()) };
//! let data = CollapseData::from_table(&table, &cols)?;
//! let opts = collapse::CollapseOptions { x_c_guess: Some(0.6), nu_guess: 1.0, bootstrap: 100, seed: 1, ..Default::default() };
//! let result = collapse::fit(&data, &opts)?;            // CollapseResult: x_c, x_c_err, nu, nu_err, zeta, zeta_err, quality, ...
//! println!("{}", report::collapse_summary(&result));      // or serde_json::to_string_pretty(&result)
//! // the figure: critlab_report::plot::collapse_svg(&data, &result)
//! # Ok(()) }
//! ```
//!
//! | analysis | input | call | result | text | figure (`critlab_report::plot`) |
//! |---|---|---|---|---|---|
//! | collapse | `CollapseData::from_table(&t, &FssColumns)` | `collapse::fit(&d, &CollapseOptions)` | `CollapseResult` | `report::collapse_summary` | `collapse_svg(&d, &r)` |
//! | divergence | `XyData::from_table(&t, &XyColumns)` | `divergence::fit(&d, &DivergenceOptions)` | `DivergenceResult` | `report::divergence_summary` | `divergence_svg(&d, &r)` |
//! | crossings | `CollapseData` | `binder::fit(&d, &BinderOptions)` | `BinderResult` | `report::binder_summary` | `binder_svg(&d, &r)` |
//! | relations | `ExponentSet::from_json(&str)` | `relations::test(&set)` | `RelationsReport` | `report::relations_summary` | — |
//! | scaling forms | `FormData::from_table(&t, &FormColumns)` | `scaling_forms::fit(&d, &FormOptions)` | `FormsReport` | `report::scaling_forms_summary` | `scaling_forms_svg(&d, &r)` |
//! | exponents of a sweep | `Vec<exponents::sweep::RunSummary>` (the CLI loads them from the store) | `exponents::sweep::fit(&runs, &SweepOptions)` | `SweepExponents` (`.exponent_set()` feeds `relations::test`) | `report::sweep_exponents_summary` | — |
//!
//! Errors are [`PhysicsError`] variants naming the column, the line and what is wrong (exit
//! status 2 in the CLI). A verdict such as "no divergence" or "no crossing found" is a result
//! (exit 0), not an error.
//!
//! Validation against exactly known answers: `cargo test --release -p critlab-physics`;
//! the printed comparison (with figures): `cargo run --release -p critlab-report --example validate`.

pub mod conservation;
pub mod control;
pub mod data;
pub mod early_warning;
pub mod error;
pub mod exponents;
pub mod hypotheses;
pub mod optimize;
pub mod phase_diagram;
pub mod phases;
pub mod predict;
pub mod relations;
pub mod report;
pub mod scaling_forms;
pub mod stats;
pub mod table;
pub mod transitions;
pub mod validation;

/// The value-with-standard-error type shared by all of critlab (one definition, in critlab-core).
pub use critlab_core::Estimate;
pub use data::{CollapseData, FssColumns, SizeCurve, XyColumns, XyData};
pub use error::{PhysicsError, Result};
pub use exponents::{binder, bsa, collapse, corrections, divergence};
pub use relations::{ExponentSet, ExponentValue, RelationsReport, Verdict};
pub use scaling_forms::{FormColumns, FormData, FormOptions, FormsReport};
pub use table::Table;
