//! The process that trains a run, recorded with it (schema v4) so that a `running` run whose
//! process is gone (SIGKILL, the OOM killer, `scancel`, a full disk) can be shown as `stale`
//! and reaped, instead of staying `running` forever.
//!
//! A process is identified by its host, its pid and its start time (the boot id and the
//! start tick of `/proc/<pid>/stat`), so a pid reused by another process after a reboot or a
//! wrap-around does not count as alive. Liveness can only be checked on the same host.
use serde::Serialize;

/// Where a run is trained.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessInfo {
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: u32,
    /// `<boot id>:<start tick>` of the process, when /proc has it.
    pub start: Option<String>,
    /// Slurm job (`$SLURM_ARRAY_JOB_ID_$SLURM_ARRAY_TASK_ID` or `$SLURM_JOB_ID`), if any.
    pub slurm_job: Option<String>,
}

impl ProcessInfo {
    /// This process.
    pub fn current() -> Self {
        let pid = std::process::id();
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let slurm_job = match (env("SLURM_ARRAY_JOB_ID"), env("SLURM_ARRAY_TASK_ID")) {
            (Some(job), Some(task)) => Some(format!("{job}_{task}")),
            _ => env("SLURM_JOB_ID"),
        };
        ProcessInfo { host: hostname(), pid, start: start_of(pid).map(|(s, _)| s), slurm_job }
    }

    /// Whether the process is gone: `Some(true)` when it ran on this host and no live process
    /// with its pid and start time exists, `Some(false)` when it is alive, `None` when it ran
    /// on another host (which cannot be checked from here).
    pub fn gone(&self) -> Option<bool> {
        if self.host != hostname() {
            return None;
        }
        Some(match start_of(self.pid) {
            None => true,
            Some((_, zombie)) if zombie => true,
            Some((now, _)) => self.start.as_ref().is_some_and(|s| *s != now),
        })
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "unknown-host".into())
}

/// `(<boot id>:<start tick>, is a zombie)` of a live pid, from /proc.
fn start_of(pid: u32) -> Option<(String, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may contain spaces and parentheses: fields after the last ')'.
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state); starttime is field 22.
    let state = fields.first()?;
    let start = fields.get(19)?;
    let boot =
        std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default();
    Some((format!("{boot}:{start}"), *state == "Z" || *state == "X"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn this_process_is_alive_and_a_dead_child_is_gone() {
        let me = ProcessInfo::current();
        assert_eq!(me.gone(), Some(false));
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        child.wait().unwrap();
        let dead = ProcessInfo { pid, ..me.clone() };
        assert_eq!(dead.gone(), Some(true));
        // A reused pid (another start time) is not the run's process.
        let reused = ProcessInfo { start: Some("other-boot:1".into()), ..me.clone() };
        assert_eq!(reused.gone(), Some(true));
        let elsewhere = ProcessInfo { host: "another-host.example".into(), ..me };
        assert_eq!(elsewhere.gone(), None);
    }
}
