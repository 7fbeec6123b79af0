//! One sweep process per store: an advisory `flock` on `<store>.lock`. The kernel releases
//! it when the process dies, SIGKILL included, so a killed sweep never leaves a stale lock.
use crate::SweepError;
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// A held lock; released on drop (or when the process ends).
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    /// Takes the lock of the store at `store`, failing at once if another process holds it.
    pub fn acquire(store: &Path) -> Result<Self, SweepError> {
        let path = PathBuf::from(format!("{}.lock", store.display()));
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|e| SweepError::io("creating lock file", &path, e))?;
        // SAFETY: flock on a file descriptor we own; no memory is shared with the call.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(SweepError::Locked { lock: path });
        }
        Ok(Self { _file: file, path })
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        let first = StoreLock::acquire(&store).unwrap();
        assert!(matches!(StoreLock::acquire(&store), Err(SweepError::Locked { .. })));
        drop(first);
        StoreLock::acquire(&store).unwrap();
    }
}
