//! `critlab merge`: fold shard stores (or a Slurm sweep's work directory) into a store.
use crate::args::StoreArg;
use anyhow::Result;
use clap::Args;
use critlab_store::{MergeReport, Store};
use critlab_sweep::slurm::{self, ShardMerge};
use critlab_sweep::StoreLock;
use serde::Serialize;
use std::path::PathBuf;
use std::process::ExitCode;

/// Merge shard stores into the main store, idempotently (keyed by sweep and spec hash).
#[derive(Debug, Args)]
pub struct MergeCmd {
    /// Shard store files, or Slurm work directories (with manifest.json): every shard of a
    /// work directory is merged and missing or unfinished shards are reported
    #[arg(required = true)]
    inputs: Vec<PathBuf>,
    #[command(flatten)]
    store: StoreArg,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Serialize)]
#[serde(untagged)]
enum Merged {
    File { file: PathBuf, merge: MergeReport },
    WorkDir { work_dir: PathBuf, shards: Vec<ShardMerge> },
}

/// Runs `critlab merge`. Exit 1 when a shard is missing or has unfinished runs.
pub fn run(cmd: MergeCmd) -> Result<ExitCode> {
    for input in &cmd.inputs {
        if critlab_core::files::same_file(input, &cmd.store.store) {
            anyhow::bail!("cannot merge {} into itself (it is the --store)", input.display());
        }
    }
    let _lock = StoreLock::acquire(&cmd.store.store)?;
    let store = Store::open(&cmd.store.store)?;
    let mut out = Vec::new();
    let mut problems = 0usize;
    for input in &cmd.inputs {
        if input.is_dir() {
            let shards = slurm::merge_work_dir(&store, input)?;
            problems += shards.iter().filter(|s| s.missing || s.unfinished > 0).count();
            out.push(Merged::WorkDir { work_dir: input.clone(), shards });
        } else {
            let merge = store.merge_from(input)?;
            problems += usize::from(!merge.unfinished.is_empty());
            out.push(Merged::File { file: input.clone(), merge });
        }
    }
    if cmd.json {
        outln!("{}", serde_json::to_string_pretty(&out)?)?;
    } else {
        for m in &out {
            match m {
                Merged::File { file, merge } => print_merge(&file.display().to_string(), merge)?,
                Merged::WorkDir { work_dir, shards } => {
                    let copied: usize = shards.iter().filter_map(|s| s.merge.as_ref()).map(|m| m.copied).sum();
                    let present: usize =
                        shards.iter().filter_map(|s| s.merge.as_ref()).map(|m| m.already_present).sum();
                    outln!(
                        "{}: {} shards; {copied} runs copied, {present} already present",
                        work_dir.display(),
                        shards.len()
                    )?;
                    for s in shards {
                        if s.missing && s.unfinished > 0 {
                            outln!(
                                "  shard {}: missing ({} not created; {} runs not in the store)",
                                s.index,
                                s.file.display(),
                                s.unfinished
                            )?;
                        } else if s.unfinished > 0 {
                            outln!("  shard {}: {} of {} runs not finished", s.index, s.unfinished, s.runs)?;
                            for u in s.merge.iter().flat_map(|m| &m.unfinished) {
                                outln!(
                                    "    {} {}: {}",
                                    u.spec_hash,
                                    u.status,
                                    u.reason.as_deref().unwrap_or("killed while running")
                                )?;
                            }
                        }
                    }
                }
            }
        }
        if problems == 0 {
            outln!("merged into {}: complete", cmd.store.store.display())?;
        } else {
            outln!(
                "merged into {}: {problems} shards missing or unfinished; re-submit to finish them",
                cmd.store.store.display()
            )?;
        }
    }
    Ok(if problems == 0 { ExitCode::SUCCESS } else { ExitCode::from(1) })
}

fn print_merge(name: &str, m: &MergeReport) -> Result<()> {
    outln!(
        "{name}: {} runs copied ({} metric rows), {} already present, {} unfinished",
        m.copied,
        m.metrics_copied,
        m.already_present,
        m.unfinished.len()
    )?;
    for u in &m.unfinished {
        outln!("  {} {}: {}", u.spec_hash, u.status, u.reason.as_deref().unwrap_or("killed while running"))?;
    }
    Ok(())
}
