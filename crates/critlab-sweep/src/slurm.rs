//! The Slurm backend: the plan's replica groups are cut into shards, one array task per
//! shard; each task runs `critlab sweep worker --shard I/N` into its own shard store, and a
//! job depending on the array (`afterany`) runs `critlab merge`, which folds the shards into
//! the main store idempotently and reports missing or failed shards.
//!
//! Work directory layout (default `<store stem>-slurm/<sweep name>/` beside the store):
//! ```text
//! spec.toml        frozen copy of the spec the workers read
//! manifest.json    shards (file, spec hashes), job ids, settings
//! array.sbatch     the array script          merge.sbatch   the merge script
//! shards/shard-I.db                          logs/shard-I.log, logs/merge.log
//! ```
//! Shards are contiguous slices of the replica groups, so a shard trains exactly the groups
//! the local executor would, and results are bit-identical across backends.
use crate::plan::Plan;
use crate::SweepError;
use critlab_store::{MergeReport, Store};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Slurm's default `MaxArraySize` (array indices 0..1000), used when `scontrol` cannot say.
pub const DEFAULT_MAX_ARRAY_SIZE: usize = 1001;

/// How the array is submitted.
#[derive(Debug, Clone)]
pub struct SlurmOptions {
    /// At most this many array tasks run at once (`--array=...%K`).
    pub array_limit: Option<usize>,
    /// CPUs per array task; each task runs this many worker threads.
    pub cpus_per_task: usize,
    /// Largest replica group (must match the local executor's for identical groups).
    pub max_group: usize,
    /// Most shards; the default is one shard per replica group, capped by `MaxArraySize`.
    pub max_shards: Option<usize>,
    /// Partition (`--partition`), when not the cluster's default.
    pub partition: Option<String>,
    /// Time limit per task (`--time`), when given.
    pub time: Option<String>,
    /// Further arguments of every `sweep worker` (the stop-hopeless rule), each quoted for
    /// the shell in the script.
    pub worker_args: Vec<String>,
}

/// One shard: its store file and the runs it trains.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Shard {
    /// Array index.
    pub index: usize,
    /// Its store file.
    pub file: PathBuf,
    /// Spec hashes of its runs.
    pub hashes: Vec<String>,
}

/// Everything a worker, a merge or a status query needs to know about a submitted sweep.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Sweep name.
    pub name: String,
    /// Frozen spec copy the workers read.
    pub spec: PathBuf,
    /// The main store the merge folds into.
    pub store: PathBuf,
    /// The critlab binary the scripts call.
    pub critlab: PathBuf,
    /// Replica-group cap.
    pub max_group: usize,
    /// CPUs (worker threads) per task.
    pub cpus_per_task: usize,
    /// All shards of the plan.
    pub shards: Vec<Shard>,
    /// Array indices submitted last time (shards whose runs were not all merged yet).
    pub submitted: Vec<usize>,
    /// Job id of the array, once submitted.
    pub array_job: Option<String>,
    /// Job id of the merge job, once submitted.
    pub merge_job: Option<String>,
}

/// The manifest's file in a work directory.
pub fn manifest_path(dir: &Path) -> PathBuf {
    dir.join("manifest.json")
}

impl Manifest {
    /// Reads a work directory's manifest.
    pub fn load(dir: &Path) -> Result<Self, SweepError> {
        let path = manifest_path(dir);
        let text = std::fs::read_to_string(&path).map_err(|e| SweepError::io("reading manifest", &path, e))?;
        serde_json::from_str(&text).map_err(|e| SweepError::WorkDir { path, reason: e.to_string() })
    }

    fn save(&self, dir: &Path) -> Result<(), SweepError> {
        let path = manifest_path(dir);
        let text = serde_json::to_string_pretty(self).expect("a manifest serializes");
        std::fs::write(&path, text).map_err(|e| SweepError::io("writing manifest", &path, e))
    }
}

/// The default work directory of a sweep: `<store stem>-slurm/<name>` beside the store.
pub fn default_work_dir(store: &Path, name: &str) -> PathBuf {
    let stem = store.file_stem().and_then(|s| s.to_str()).unwrap_or("critlab");
    store.parent().unwrap_or(Path::new(".")).join(format!("{stem}-slurm")).join(name)
}

/// A prepared (written, not yet submitted) Slurm sweep.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Work directory.
    pub dir: PathBuf,
    /// The manifest as written.
    pub manifest: Manifest,
    /// The array script.
    pub array_script: PathBuf,
    /// The merge script.
    pub merge_script: PathBuf,
    /// The `--array` value (empty when every run is already merged).
    pub array: String,
    /// Runs still to train.
    pub pending_runs: usize,
}

/// Writes the work directory: frozen spec, manifest and both scripts. Shards whose runs are
/// all finished in the main store are left out of the array, so submitting again resumes.
pub fn prepare(
    plan: &Plan,
    spec_path: &Path,
    store: &Path,
    dir: &Path,
    critlab: &Path,
    options: &SlurmOptions,
    max_array_size: usize,
) -> Result<Prepared, SweepError> {
    let abs = |p: &Path| std::path::absolute(p).map_err(|e| SweepError::io("resolving path", p, e));
    let (dir, store, critlab) = (abs(dir)?, abs(store)?, abs(critlab)?);
    for sub in ["shards", "logs"] {
        let d = dir.join(sub);
        std::fs::create_dir_all(&d).map_err(|e| SweepError::io("creating directory", &d, e))?;
    }
    let spec_copy = dir.join("spec.toml");
    std::fs::copy(spec_path, &spec_copy).map_err(|e| SweepError::io("copying spec", spec_path, e))?;
    // The frozen copy must describe the same runs.
    let frozen = Plan::load(&spec_copy)?;
    if frozen.entries.iter().map(|e| &e.hash).ne(plan.entries.iter().map(|e| &e.hash)) {
        return Err(SweepError::WorkDir { path: spec_copy, reason: "the copied spec resolves to other runs".into() });
    }

    let all: Vec<usize> = (0..plan.entries.len()).collect();
    let n_groups = plan.groups(&all, options.max_group).len();
    let n_shards = n_groups.min(max_array_size.max(1)).min(options.max_shards.unwrap_or(usize::MAX)).max(1);
    let finished = if store.exists() {
        let main = Store::open(&store)?;
        plan.check_identity(&main)?;
        main.finished_runs(plan.name())?
    } else {
        Default::default()
    };
    let mut shards = Vec::with_capacity(n_shards);
    let mut submitted = Vec::new();
    let mut pending_runs = 0;
    for index in 0..n_shards {
        let hashes: Vec<String> =
            plan.shard(index, n_shards, options.max_group).into_iter().map(|i| plan.entries[i].hash.clone()).collect();
        let pending = hashes.iter().filter(|h| !finished.contains_key(*h)).count();
        if pending > 0 {
            submitted.push(index);
            pending_runs += pending;
        }
        shards.push(Shard { index, file: dir.join("shards").join(format!("shard-{index}.db")), hashes });
    }
    let manifest = Manifest {
        name: plan.name().to_string(),
        spec: spec_copy,
        store,
        critlab,
        max_group: options.max_group,
        cpus_per_task: options.cpus_per_task.max(1),
        shards,
        submitted,
        array_job: None,
        merge_job: None,
    };
    let array = array_range(&manifest.submitted, options.array_limit);
    let array_script = dir.join("array.sbatch");
    let merge_script = dir.join("merge.sbatch");
    write(&array_script, &array_script_text(&manifest, &dir, &array, options))?;
    write(&merge_script, &merge_script_text(&manifest, &dir, options))?;
    manifest.save(&dir)?;
    Ok(Prepared { dir, manifest, array_script, merge_script, array, pending_runs })
}

fn write(path: &Path, text: &str) -> Result<(), SweepError> {
    std::fs::write(path, text).map_err(|e| SweepError::io("writing", path, e))
}

/// `--array` value: indices compressed into ranges, with `%K` when limited.
pub fn array_range(indices: &[usize], limit: Option<usize>) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < indices.len() {
        let mut j = i;
        while j + 1 < indices.len() && indices[j + 1] == indices[j] + 1 {
            j += 1;
        }
        parts.push(if i == j { indices[i].to_string() } else { format!("{}-{}", indices[i], indices[j]) });
        i = j + 1;
    }
    let mut s = parts.join(",");
    if let (Some(k), false) = (limit, s.is_empty()) {
        s.push_str(&format!("%{}", k.max(1)));
    }
    s
}

/// Single-quotes a string for the shell.
fn quote(p: impl AsRef<std::ffi::OsStr>) -> String {
    format!("'{}'", p.as_ref().to_string_lossy().replace('\'', r"'\''"))
}

fn common_headers(options: &SlurmOptions) -> String {
    let mut h = String::new();
    if let Some(p) = &options.partition {
        h.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &options.time {
        h.push_str(&format!("#SBATCH --time={t}\n"));
    }
    h
}

fn array_script_text(m: &Manifest, dir: &Path, array: &str, options: &SlurmOptions) -> String {
    let runs: usize = m.shards.iter().map(|s| s.hashes.len()).sum();
    format!(
        "#!/bin/bash\n\
         # critlab {version}: sweep '{name}', {runs} runs in {n} shards of whole replica groups.\n\
         # Each array task trains shard $SLURM_ARRAY_TASK_ID into its own store; merge.sbatch folds them.\n\
         #SBATCH --job-name=critlab-{name}\n\
         #SBATCH --array={array}\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --cpus-per-task={cpus}\n\
         #SBATCH --output={log}\n\
         #SBATCH --open-mode=append\n\
         {extra}\
         set -eu\n\
         export RAYON_NUM_THREADS={cpus}\n\
         exec {critlab} sweep worker {spec} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --max-group {group} --jobs {cpus}{args} \\\n    --store {shards}/shard-\"$SLURM_ARRAY_TASK_ID\".db\n",
        version = critlab_core::VERSION,
        name = m.name,
        n = m.shards.len(),
        cpus = m.cpus_per_task,
        log = dir.join("logs").join("shard-%a.log").display(),
        extra = common_headers(options),
        critlab = quote(&m.critlab),
        spec = quote(&m.spec),
        group = m.max_group,
        args = options.worker_args.iter().map(|a| format!(" {}", quote(a))).collect::<String>(),
        shards = quote(dir.join("shards")),
    )
}

fn merge_script_text(m: &Manifest, dir: &Path, options: &SlurmOptions) -> String {
    format!(
        "#!/bin/bash\n\
         # critlab {version}: folds the shard stores of sweep '{name}' into the main store.\n\
         # Submitted with --dependency=afterany:<array job>; safe to run again (idempotent).\n\
         #SBATCH --job-name=critlab-{name}-merge\n\
         #SBATCH --ntasks=1\n\
         #SBATCH --cpus-per-task=1\n\
         #SBATCH --output={log}\n\
         #SBATCH --open-mode=append\n\
         {extra}\
         set -eu\n\
         exec {critlab} merge --store {store} {dir}\n",
        version = critlab_core::VERSION,
        name = m.name,
        log = dir.join("logs").join("merge.log").display(),
        extra = common_headers(options),
        critlab = quote(&m.critlab),
        store = quote(&m.store),
        dir = quote(dir),
    )
}

/// Runs a Slurm client command, returning its stdout.
fn slurm(cmd: &str, args: &[&str]) -> Result<String, SweepError> {
    let out = Command::new(cmd).args(args).output().map_err(|e| SweepError::Slurm {
        op: format!("{cmd} {}", args.join(" ")),
        reason: format!("{e} (is Slurm installed and on PATH?)"),
    })?;
    if !out.status.success() {
        return Err(SweepError::Slurm {
            op: format!("{cmd} {}", args.join(" ")),
            reason: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether `sbatch` can be run here.
pub fn available() -> bool {
    Command::new("sbatch").arg("--version").output().map(|o| o.status.success()).unwrap_or(false)
}

/// The cluster's `MaxArraySize` from `scontrol show config` (array indices must stay below it).
pub fn max_array_size() -> Result<usize, SweepError> {
    let text = slurm("scontrol", &["show", "config"])?;
    Ok(text
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once('=')?;
            (k.trim() == "MaxArraySize").then(|| v.trim().parse().ok()).flatten()
        })
        .unwrap_or(DEFAULT_MAX_ARRAY_SIZE))
}

/// Submits the array with `sbatch --parsable`, then the merge job with
/// `--dependency=afterany:<array>`; records both ids in the manifest.
pub fn submit(prepared: &mut Prepared) -> Result<(String, String), SweepError> {
    if prepared.array.is_empty() {
        return Err(SweepError::WorkDir {
            path: prepared.dir.clone(),
            reason: "every run is already merged; nothing to submit".into(),
        });
    }
    let script = prepared.array_script.to_string_lossy().into_owned();
    let array = job_id(&slurm("sbatch", &["--parsable", &script])?);
    let merge_script = prepared.merge_script.to_string_lossy().into_owned();
    let dep = format!("--dependency=afterany:{array}");
    let merge = job_id(&slurm("sbatch", &["--parsable", &dep, &merge_script])?);
    prepared.manifest.array_job = Some(array.clone());
    prepared.manifest.merge_job = Some(merge.clone());
    prepared.manifest.save(&prepared.dir)?;
    Ok((array, merge))
}

/// `--parsable` prints `id` or `id;cluster`.
fn job_id(out: &str) -> String {
    out.trim().split(';').next().unwrap_or_default().to_string()
}

/// State of one job or array task, from `scontrol -o show job`.
#[derive(Debug, Clone, Serialize)]
pub struct JobState {
    /// `123` or `123_4`.
    pub id: String,
    /// `PENDING`, `RUNNING`, `COMPLETED`, `FAILED`, ...
    pub state: String,
    /// `ExitCode` (`0:0` is success).
    pub exit_code: String,
}

/// States of a job and its array tasks. Slurm forgets finished jobs after `MinJobAge`; an
/// unknown job gives an empty list.
pub fn job_states(job: &str) -> Result<Vec<JobState>, SweepError> {
    let text = match slurm("scontrol", &["-o", "show", "job", job]) {
        Ok(t) => t,
        Err(SweepError::Slurm { reason, .. }) if reason.contains("Invalid job id") => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let field = |k: &str| l.split_whitespace().find_map(|w| w.strip_prefix(k)).unwrap_or_default().to_string();
            let (job_id, task) = (field("JobId="), field("ArrayTaskId="));
            let array_job = field("ArrayJobId=");
            let id = if task.is_empty() { job_id } else { format!("{array_job}_{task}") };
            JobState { id, state: field("JobState="), exit_code: field("ExitCode=") }
        })
        .collect())
}

/// Whether a job (or any task of an array) is still queued or running.
pub fn job_active(job: &str) -> Result<bool, SweepError> {
    Ok(!slurm("squeue", &["-h", "-j", job, "-o", "%i"]).unwrap_or_default().trim().is_empty()
        || job_states(job)?
            .iter()
            .any(|s| matches!(s.state.as_str(), "PENDING" | "RUNNING" | "CONFIGURING" | "COMPLETING")))
}

/// The outcome of merging one shard.
#[derive(Debug, Clone, Serialize)]
pub struct ShardMerge {
    /// Array index.
    pub index: usize,
    /// Its store file.
    pub file: PathBuf,
    /// Runs it should have trained.
    pub runs: usize,
    /// Whether its file is missing (its task never ran or never started a run).
    pub missing: bool,
    /// The merge, when the file exists.
    pub merge: Option<MergeReport>,
    /// Runs of the shard not finished in the main store after the merge.
    pub unfinished: usize,
}

/// Merges every shard of a work directory into `store` (already open and locked by the
/// caller) and reports, per shard, what is missing or unfinished.
pub fn merge_work_dir(store: &Store, dir: &Path) -> Result<Vec<ShardMerge>, SweepError> {
    let manifest = Manifest::load(dir)?;
    let mut out = Vec::with_capacity(manifest.shards.len());
    for shard in &manifest.shards {
        let missing = !shard.file.is_file();
        let merge = if missing { None } else { Some(store.merge_from(&shard.file)?) };
        let finished = store.finished_runs(&manifest.name)?;
        let unfinished = shard.hashes.iter().filter(|h| !finished.contains_key(*h)).count();
        out.push(ShardMerge {
            index: shard.index,
            file: shard.file.clone(),
            runs: shard.hashes.len(),
            missing,
            merge,
            unfinished,
        });
    }
    Ok(out)
}

/// Progress of a shard's own store (before merging).
pub fn shard_progress(shard: &Shard, sweep: &str) -> Result<Option<usize>, SweepError> {
    if !shard.file.is_file() {
        return Ok(None);
    }
    // Read-only: `sweep status` must not migrate or lock a shard its worker is writing.
    let store = match Store::open_read_only(&shard.file) {
        Ok(store) => store,
        // Created this instant by its worker, not yet migrated.
        Err(critlab_store::StoreError::Empty { .. }) => return Ok(Some(0)),
        Err(e) => return Err(e.into()),
    };
    let finished = store.finished_runs(sweep)?;
    Ok(Some(shard.hashes.iter().filter(|h| finished.contains_key(*h)).count()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn array_ranges_compress_and_limit() {
        assert_eq!(array_range(&[0, 1, 2, 3], Some(2)), "0-3%2");
        assert_eq!(array_range(&[0, 2, 3, 4, 7], None), "0,2-4,7");
        assert_eq!(array_range(&[], Some(4)), "");
    }

    #[test]
    fn parsable_output_keeps_the_id_only() {
        assert_eq!(job_id("1234\n"), "1234");
        assert_eq!(job_id("1234;cluster\n"), "1234");
    }

    #[test]
    fn scripts_call_the_binary_by_absolute_path_and_cap_the_array() {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("s.toml");
        std::fs::write(&spec, "name = \"t\"\nseeds = 5\n[base]\np = 7\nsteps = 10\n[axes]\nlr = [1e-3, 2e-3, 3e-3]\ntrain-frac = [0.4, 0.6]\n").unwrap();
        let plan = Plan::load(&spec).unwrap();
        let options = SlurmOptions {
            array_limit: Some(2),
            cpus_per_task: 1,
            max_group: 4,
            max_shards: None,
            partition: None,
            time: Some("10:00".into()),
            worker_args: vec![
                "--stop-hopeless".into(),
                "0.95".into(),
                "--calibrate-from".into(),
                "pilot's sweep".into(),
            ],
        };
        let work = dir.path().join("work");
        // 30 runs: two classes (train-frac) of 15, in groups of 4,4,4,3: 8 groups, capped at 3 shards.
        let p =
            prepare(&plan, &spec, &dir.path().join("main.db"), &work, Path::new("bin/critlab"), &options, 3).unwrap();
        assert_eq!(p.manifest.shards.len(), 3);
        assert_eq!(p.array, "0-2%2");
        assert_eq!(p.pending_runs, 30);
        let text = std::fs::read_to_string(&p.array_script).unwrap();
        assert!(text.contains("#SBATCH --array=0-2%2"), "{text}");
        assert!(text.contains("--shard \"$SLURM_ARRAY_TASK_ID/3\""), "{text}");
        assert!(text.contains("#SBATCH --time=10:00"), "{text}");
        assert!(text.contains(r"--jobs 1 '--stop-hopeless' '0.95' '--calibrate-from' 'pilot'\''s sweep' \"), "{text}");
        let abs = std::path::absolute("bin/critlab").unwrap();
        assert!(text.contains(&format!("exec '{}' sweep worker", abs.display())), "{text}");
        let merge = std::fs::read_to_string(&p.merge_script).unwrap();
        assert!(merge.contains(" merge --store "), "{merge}");
        let m = Manifest::load(&p.dir).unwrap();
        let mut hashes: Vec<&String> = m.shards.iter().flat_map(|s| &s.hashes).collect();
        hashes.sort();
        hashes.dedup();
        assert_eq!(hashes.len(), 30);
        // No store yet is not an error, and the main store is not created by preparing.
        assert!(!dir.path().join("main.db").exists());
    }
}
