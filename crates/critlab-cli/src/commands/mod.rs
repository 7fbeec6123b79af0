//! One file per subcommand.
use anyhow::Result;
use clap::{Parser, Subcommand};
use std::process::ExitCode;

pub mod analyze;
pub mod bench;
pub mod demo;
pub mod export;
pub mod ingest;
pub mod merge;
pub mod report;
pub mod runs;
pub mod serve;
pub mod study;
pub mod sweep;
pub mod train;
pub mod watch;

/// critlab: train neural networks while measuring them like a physical system, and analyse
/// the runs like a statistical physicist.
#[derive(Debug, Parser)]
#[command(name = "critlab", version, about, long_about = None, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Parses the command line. Negative numbers are values everywhere (`--beta2 -0.1` is a
    /// range error naming the flag, not "unexpected argument '-0'").
    pub fn parse_args() -> Self {
        use clap::{CommandFactory, FromArgMatches};
        fn negatives(cmd: clap::Command) -> clap::Command {
            cmd.allow_negative_numbers(true).mut_subcommands(negatives)
        }
        let matches = negatives(Cli::command()).get_matches();
        Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit())
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Grokking as a phase transition in one command: a small sweep, its phases and diagram.
    Demo(demo::DemoCmd),
    /// Train one run while measuring it, storing every observable.
    Train(train::TrainCmd),
    /// Plan, run and follow hyperparameter sweeps, locally or on Slurm.
    #[command(subcommand)]
    Sweep(sweep::SweepCmd),
    /// Fold shard stores of a Slurm sweep into the main store (idempotent).
    Merge(merge::MergeCmd),
    /// List or show stored runs.
    #[command(subcommand)]
    Runs(runs::RunsCmd),
    /// Built-in studies: one question each, answered by sweeps, analyses and figures.
    #[command(subcommand)]
    Study(study::StudyCmd),
    /// Export stored metrics as CSV, JSON Lines or Parquet.
    Export(export::ExportCmd),
    /// Read outside runs (TensorBoard, MLflow, CSV/JSONL, W&B export) into the store.
    #[command(subcommand)]
    Ingest(ingest::IngestCmd),
    /// Time training steps (compare with bench/pytorch_reference.py).
    #[command(subcommand)]
    Bench(bench::BenchCmd),
    /// Analyse runs or tables: phases, exponents, collapse, divergence, relations, ...
    #[command(subcommand)]
    Analyze(analyze::AnalyzeCmd),
    /// Follow a live run (store or CSV/JSONL log) and print early warnings as they fire.
    Watch(watch::WatchCmd),
    /// Write an interactive HTML report of stored runs (one file, opens offline).
    Report(report::ReportCmd),
    /// Serve the report page live over HTTP while a sweep runs (read-only on the store).
    Serve(serve::ServeCmd),
}

/// Dispatches a parsed command line.
pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Demo(cmd) => demo::run(cmd),
        Command::Train(cmd) => train::run(cmd),
        Command::Sweep(cmd) => sweep::run(cmd),
        Command::Merge(cmd) => merge::run(cmd),
        Command::Runs(cmd) => runs::run(cmd),
        Command::Study(cmd) => study::run(cmd),
        Command::Export(cmd) => export::run(cmd),
        Command::Ingest(cmd) => ingest::run(cmd),
        Command::Analyze(cmd) => analyze::run(cmd),
        Command::Watch(cmd) => watch::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Report(cmd) => report::run(cmd),
        Command::Serve(cmd) => serve::run(cmd),
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::error::ErrorKind;
    use clap::{CommandFactory, Parser};

    /// Every `--flag` that takes a value, with the subcommand path it belongs to.
    fn options(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<(Vec<String>, String)>) {
        for a in cmd.get_arguments() {
            if let Some(long) = a.get_long().filter(|_| a.get_action().takes_values()) {
                out.push((path.clone(), long.to_string()));
            }
        }
        for sub in cmd.get_subcommands() {
            let mut p = path.clone();
            p.push(sub.get_name().to_string());
            options(sub, p, out);
        }
    }

    fn parse(path: &[String], flag: &str, value: &str) -> Result<Cli, clap::Error> {
        let mut argv = vec!["critlab".to_string()];
        argv.extend(path.iter().cloned());
        argv.push(format!("--{flag}={value}"));
        Cli::try_parse_from(argv)
    }

    fn refused(r: &Result<Cli, clap::Error>) -> bool {
        matches!(r, Err(e) if matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue))
    }

    /// Every numeric option (one that takes a number and refuses text) of every subcommand
    /// refuses nan, ±inf and 1e400 with an error naming the flag (exit 2), so no command
    /// ever sees a non-finite number from its arguments.
    #[test]
    fn every_numeric_option_refuses_non_finite_values_naming_the_flag() {
        let mut all = Vec::new();
        options(&Cli::command(), Vec::new(), &mut all);
        let mut numeric = 0;
        for (path, flag) in &all {
            let takes_a_number = ["1", "5", "0.5"].iter().any(|v| !refused(&parse(path, flag, v)));
            if !takes_a_number || !refused(&parse(path, flag, "x1")) {
                continue;
            }
            numeric += 1;
            for bad in ["nan", "NaN", "inf", "-inf", "1e400"] {
                let e = parse(path, flag, bad)
                    .err()
                    .unwrap_or_else(|| panic!("critlab {} --{flag} {bad} was accepted", path.join(" ")));
                assert!(
                    matches!(e.kind(), ErrorKind::ValueValidation | ErrorKind::InvalidValue),
                    "critlab {} --{flag} {bad}: {e}",
                    path.join(" ")
                );
                assert!(e.to_string().contains(&format!("--{flag}")), "critlab {} --{flag} {bad}: {e}", path.join(" "));
                assert_eq!(e.exit_code(), 2);
            }
        }
        assert!(numeric >= 60, "only {numeric} numeric options found");
    }
}
