//! Whether a real Slurm cluster is here for the tests that need one (`scripts/slurm-up.sh`).

/// True when `sbatch` runs and a controller answers `scontrol ping`; otherwise says why `test`
/// is skipped and returns false. When `CRITLAB_REQUIRE_SLURM` is set (scripts/test.sh sets it
/// after starting the cluster) a missing cluster fails the test instead: no silent skip there.
pub fn running_or_skip(test: &str) -> bool {
    let works = |cmd: &str, arg: &str| {
        std::process::Command::new(cmd).arg(arg).output().map(|o| o.status.success()).unwrap_or(false)
    };
    if works("sbatch", "--version") && works("scontrol", "ping") {
        return true;
    }
    assert!(
        std::env::var_os("CRITLAB_REQUIRE_SLURM").is_none(),
        "CRITLAB_REQUIRE_SLURM is set but `sbatch` or the Slurm controller does not work"
    );
    eprintln!("SKIPPED {test}: no running Slurm cluster (start one with scripts/slurm-up.sh)");
    false
}
