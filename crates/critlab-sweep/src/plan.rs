//! The plan: every run of a sweep resolved to a validated spec, with a stable index and hash,
//! grouped into replica batches and sharded for Slurm.
use crate::spec::{Sampling, SweepSpec};
use crate::SweepError;
use critlab_core::{RunSpec, ValidRunSpec};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::Serialize;
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

/// One resolved run of a plan.
#[derive(Debug, Clone, Serialize)]
pub struct PlanEntry {
    /// Position in the plan (stable for a given spec file).
    pub index: usize,
    /// Hash of the resolved spec: the run's identity in the store.
    pub hash: String,
    /// The axis values (and seed) of this run, in axis order.
    pub point: Vec<(String, Value)>,
    /// The validated spec.
    pub spec: ValidRunSpec,
}

/// Every run of a sweep, resolved and validated before anything runs.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The parsed spec.
    pub sweep: SweepSpec,
    /// The runs, in plan order.
    pub entries: Vec<PlanEntry>,
}

impl Plan {
    /// Reads, parses and resolves a spec file.
    pub fn load(path: &Path) -> Result<Self, SweepError> {
        Self::new(SweepSpec::load(path)?)
    }

    /// The sweep's name.
    pub fn name(&self) -> &str {
        &self.sweep.name
    }

    /// Resolves every point of the spec into a run spec and validates each; the first broken
    /// rule is an error naming the run, its axis values, the key and its line.
    pub fn new(sweep: SweepSpec) -> Result<Self, SweepError> {
        let points = points(&sweep)?;
        let base = serde_json::to_value(&sweep.base).expect("a run spec serializes");
        let mut entries = Vec::with_capacity(points.len());
        let mut seen: HashMap<String, usize> = HashMap::new();
        for (index, point) in points.into_iter().enumerate() {
            let mut json = base.clone();
            for (k, v) in &point {
                json[k.as_str()] = v.clone();
            }
            let describe = || describe_point(&point);
            let spec: RunSpec = serde_json::from_value(json)
                .map_err(|e| sweep.run_error(None, format!("run {index} ({}): {e}", describe())))?;
            let spec = spec
                .validate()
                .and_then(|s| critlab_train::curvature::check(&s).map(|()| s))
                .map_err(|e| sweep.run_error(e.key(), format!("run {index} ({}): {e}", describe())))?;
            let hash = spec.hash();
            if let Some(first) = seen.insert(hash.clone(), index) {
                return Err(sweep.run_error(
                    None,
                    format!(
                        "runs {first} and {index} ({}) are the same run (hash {hash}): an axis repeats a value",
                        describe()
                    ),
                ));
            }
            entries.push(PlanEntry { index, hash, point, spec });
        }
        Ok(Plan { sweep, entries })
    }

    /// Groups entries (by index) into replica batches of at most `max_group` runs: runs that
    /// share [`critlab_train::group_key`] (task, model shape, optimizer, step budget, ...)
    /// train together. Classes keep plan order and are split into near-equal chunks, so 40
    /// compatible runs with `max_group` 32 become two batches of 20.
    pub fn groups(&self, indices: &[usize], max_group: usize) -> Vec<Vec<usize>> {
        let max_group = max_group.max(1);
        let mut classes: Vec<(String, Vec<usize>)> = Vec::new();
        for &i in indices {
            let key = critlab_train::group_key(&self.entries[i].spec);
            match classes.iter_mut().find(|(k, _)| *k == key) {
                Some((_, members)) => members.push(i),
                None => classes.push((key, vec![i])),
            }
        }
        let mut groups = Vec::new();
        for (_, members) in classes {
            let chunks = members.len().div_ceil(max_group);
            let (size, extra) = (members.len() / chunks, members.len() % chunks);
            let mut start = 0;
            for c in 0..chunks {
                let len = size + usize::from(c < extra);
                groups.push(members[start..start + len].to_vec());
                start += len;
            }
        }
        groups
    }

    /// The entries of shard `shard` of `n_shards`: a contiguous slice of the plan's replica
    /// groups (all entries, `max_group`), so every shard keeps whole batches.
    pub fn shard(&self, shard: usize, n_shards: usize, max_group: usize) -> Vec<usize> {
        let all: Vec<usize> = (0..self.entries.len()).collect();
        let groups = self.groups(&all, max_group);
        let (lo, hi) = shard_bounds(groups.len(), shard, n_shards);
        groups[lo..hi].concat()
    }

    /// Refuses to add to a store whose runs of this sweep's name were made from a different
    /// spec: every key that is not an axis (nor `seed` when `seeds` is given) must equal the
    /// stored runs' value. Changing `steps` in `[base]` and rerunning would otherwise leave
    /// the old runs under the same name, and analyses would mix budgets. Adding or removing
    /// axis values or seeds is allowed (runs are identified by their spec hash).
    pub fn check_identity(&self, store: &critlab_store::Store) -> Result<(), SweepError> {
        let mut varying: Vec<&str> = self.sweep.axes.iter().map(|a| a.key.as_str()).collect();
        if self.sweep.seeds.is_some() {
            varying.push("seed");
        }
        // The first run as validated (validation normalizes some keys) stands for the base.
        let Some(first) = self.entries.first() else { return Ok(()) };
        let base = serde_json::to_value(first.spec.spec()).expect("a run spec serializes");
        let Some(base) = base.as_object() else { return Ok(()) };
        let mut differences: Vec<(String, Value, Value)> = Vec::new();
        for run in store.runs(Some(self.name()))? {
            for (key, new) in base {
                if varying.contains(&key.as_str()) || differences.iter().any(|(k, _, _)| k == key) {
                    continue;
                }
                let old = run.spec.get(key).cloned().unwrap_or(Value::Null);
                if old != *new {
                    differences.push((key.clone(), old, new.clone()));
                }
            }
        }
        if differences.is_empty() {
            return Ok(());
        }
        Err(SweepError::Changed {
            name: self.name().to_string(),
            store: store.path().to_path_buf(),
            differences: differences
                .iter()
                .map(|(k, old, new)| format!("`{k}` = {old} there, {new} in {}", self.sweep.source_name))
                .collect::<Vec<_>>()
                .join("; "),
        })
    }

    /// The names of the axes (and `seed` when `seeds` is given), in table order.
    pub fn columns(&self) -> Vec<String> {
        self.entries.first().map(|e| e.point.iter().map(|(k, _)| k.clone()).collect()).unwrap_or_default()
    }
}

/// Groups `[lo, hi)` of shard `shard` when `n_groups` groups are split into `n_shards`.
pub fn shard_bounds(n_groups: usize, shard: usize, n_shards: usize) -> (usize, usize) {
    let n = n_shards.max(1);
    (shard * n_groups / n, (shard + 1) * n_groups / n)
}

/// "lr = 0.001, seed = 1".
pub fn describe_point(point: &[(String, Value)]) -> String {
    if point.is_empty() {
        return "the base spec".into();
    }
    point.iter().map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
}

type Point = Vec<(String, Value)>;

/// The axis values of every run; seeds are applied last (fastest).
fn points(sweep: &SweepSpec) -> Result<Vec<Point>, SweepError> {
    let mut points: Vec<Point> = match sweep.sampling {
        Sampling::Grid => {
            let mut points = vec![Vec::new()];
            for axis in &sweep.axes {
                let values = axis.values.grid_values(&axis.key).map_err(|m| sweep.run_error(Some(&axis.key), m))?;
                points = product(sweep, points, &axis.key, &values)?;
            }
            points
        }
        Sampling::Random => {
            let n = sweep.samples.unwrap_or(0);
            if n > sweep.max_runs {
                return Err(too_many(sweep));
            }
            check_plan_memory(sweep, n)?;
            let mut rng = ChaCha8Rng::seed_from_u64(sweep.sample_seed);
            (0..n)
                .map(|_| sweep.axes.iter().map(|a| (a.key.clone(), a.values.sample(&a.key, &mut rng))).collect())
                .collect()
        }
    };
    if let Some(seeds) = &sweep.seeds {
        let seeds: Vec<Value> = seeds.iter().map(|&s| Value::from(s)).collect();
        points = product(sweep, points, "seed", &seeds)?;
    }
    Ok(points)
}

/// Memory one planned run holds while the plan exists: its axis point, resolved spec (as
/// JSON and validated), hash and index entry. Measured as the peak resident memory of
/// `critlab sweep plan` on a 100 000-run spec (122 MB) divided by its runs, times 1.7 (see
/// docs/reliability.md, "Plan sizes").
pub const PLAN_BYTES_PER_RUN: f64 = 2048.0;

/// Refuses a plan of `n` runs whose estimated memory is above the default memory budget
/// (80 % of what the machine, the cgroup and `ulimit -v` leave): a `max-runs` raised to 10¹²
/// must be an error, not an allocation that aborts the process.
fn check_plan_memory(sweep: &SweepSpec, n: usize) -> Result<(), SweepError> {
    let need = n as f64 * PLAN_BYTES_PER_RUN;
    let budget = critlab_train::budget::Budget::new(None);
    if need <= budget.limit {
        return Ok(());
    }
    Err(sweep.run_error(
        None,
        format!(
            "the plan of {n} runs would need about {} of memory to hold ({} per run) but the memory budget is {} ({}); \
             make the axes, `seeds` or `samples` smaller",
            critlab_train::budget::bytes(need),
            critlab_train::budget::bytes(PLAN_BYTES_PER_RUN),
            critlab_train::budget::bytes(budget.limit),
            budget.source
        ),
    ))
}

/// Every point extended by every value of `key` (the new key varies fastest).
fn product(sweep: &SweepSpec, points: Vec<Point>, key: &str, values: &[Value]) -> Result<Vec<Point>, SweepError> {
    let n = points.len().saturating_mul(values.len());
    if n > sweep.max_runs {
        return Err(too_many(sweep));
    }
    check_plan_memory(sweep, n)?;
    Ok(points
        .into_iter()
        .flat_map(|p| {
            values.iter().map(move |v| {
                let mut q = p.clone();
                q.push((key.to_string(), v.clone()));
                q
            })
        })
        .collect())
}

fn too_many(sweep: &SweepSpec) -> SweepError {
    sweep.run_error(
        None,
        format!(
            "the sweep has more than `max-runs` = {} runs; raise `max-runs` in the spec if you mean it",
            sweep.max_runs
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(text: &str) -> Result<Plan, SweepError> {
        Plan::new(SweepSpec::from_toml_str(text, "s.toml")?)
    }

    const ISSUE: &str = r#"name = "wd-frac"
seeds = 2
[base]
task = "modular-addition"
p = 23
steps = 1500
[axes]
weight-decay = { logspace = [-2.0, 0.5, 4] }
train-frac = [0.3, 0.5, 0.7]
lr = { linspace = [1e-3, 3e-3, 2] }
"#;

    #[test]
    fn grid_is_the_cartesian_product_with_seeds_fastest() {
        let p = plan(ISSUE).unwrap();
        assert_eq!(p.entries.len(), 4 * 3 * 2 * 2);
        assert_eq!(p.columns(), ["weight-decay", "train-frac", "lr", "seed"]);
        let e1 = &p.entries[1];
        assert_eq!(e1.spec.seed, 1);
        assert_eq!(e1.spec.lr, 1e-3);
        assert_eq!(p.entries[2].spec.lr, 3e-3);
        assert_eq!(p.entries[4].spec.train_frac, 0.5);
        assert_eq!(p.entries[47].spec.weight_decay, 10f64.powf(0.5));
        assert!(p.entries.iter().all(|e| e.spec.p == 23 && e.spec.steps == 1500));
        // The plan is a pure function of the file.
        let again = plan(ISSUE).unwrap();
        assert!(p.entries.iter().zip(&again.entries).all(|(a, b)| a.hash == b.hash));
    }

    #[test]
    fn groups_share_everything_but_per_replica_keys_and_are_capped() {
        let p = plan(ISSUE).unwrap();
        let all: Vec<usize> = (0..p.entries.len()).collect();
        // train-frac changes the data: three classes of 16 (4 wd × 2 lr × 2 seeds).
        let g = p.groups(&all, 32);
        assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), [16, 16, 16]);
        let g = p.groups(&all, 6);
        assert_eq!(g.iter().map(Vec::len).collect::<Vec<_>>(), [6, 5, 5, 6, 5, 5, 6, 5, 5]);
        for group in &g {
            let key = critlab_train::group_key(&p.entries[group[0]].spec);
            assert!(group.iter().all(|&i| critlab_train::group_key(&p.entries[i].spec) == key));
        }
        // Shards partition the plan.
        let mut seen: Vec<usize> = (0..4).flat_map(|s| p.shard(s, 4, 6)).collect();
        seen.sort();
        assert_eq!(seen, all);
    }

    #[test]
    fn random_sampling_is_seeded_and_stays_in_range() {
        let text = "name = \"r\"\nsampling = \"random\"\nsamples = 20\nsample-seed = 3\n[base]\np = 11\n[axes]\nlr = { logspace = [-4, -2, 2] }\nwidth = { linspace = [8, 64, 2] }\nactivation = [\"relu\", \"tanh\"]\n";
        let a = plan(text).unwrap();
        let b = plan(text).unwrap();
        assert_eq!(a.entries.len(), 20);
        assert!(a.entries.iter().zip(&b.entries).all(|(x, y)| x.hash == y.hash));
        assert!(a.entries.iter().all(|e| (1e-4..=1e-2).contains(&e.spec.lr) && (8..=64).contains(&e.spec.width)));
        let other = plan(&text.replace("sample-seed = 3", "sample-seed = 4")).unwrap();
        assert_ne!(a.entries[0].hash, other.entries[0].hash);
    }

    #[test]
    fn invalid_runs_are_rejected_before_anything_runs_naming_the_key() {
        let e = plan("name = \"a\"\n[base]\np = 7\n[axes]\nlr = [1e-3, -1e-3]\n").unwrap_err().to_string();
        assert!(e.contains("`lr`") && e.contains("line 5") && e.contains("run 1"), "{e}");
        let e = plan("name = \"a\"\n[base]\np = 7\nbatch-size = 64\n").unwrap_err().to_string();
        assert!(e.contains("`batch-size`") && e.contains("line 4"), "{e}");
        let e = plan("name = \"a\"\n[base]\np = 7\n[axes]\nlr = [1e-3, 1e-3]\n").unwrap_err().to_string();
        assert!(e.contains("same run"), "{e}");
    }
}
