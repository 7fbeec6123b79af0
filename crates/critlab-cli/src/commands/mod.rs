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
        Command::Export(cmd) => export::run(cmd),
        Command::Ingest(cmd) => ingest::run(cmd),
        Command::Analyze(cmd) => analyze::run(cmd),
        Command::Watch(cmd) => watch::run(cmd),
        Command::Bench(cmd) => bench::run(cmd),
        Command::Report(cmd) => report::run(cmd),
        Command::Serve(cmd) => serve::run(cmd),
    }
}
