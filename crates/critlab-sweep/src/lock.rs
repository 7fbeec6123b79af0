//! One sweep process per store: advisory `flock`s that the kernel releases when the process
//! dies, SIGKILL included, so a killed sweep never leaves a stale lock.
//!
//! The lock belongs to the store's file, not to the name it was given: a symlink or a hard
//! link to a store in use is refused like the store itself. Two locks are taken:
//!
//! * `<store>.lock` beside the store, after following symlinks (a lock on a shared file
//!   system, seen by every host that mounts it);
//! * a lock named by the store's device and inode in the temporary directory
//!   (`critlab-locks/<dev>-<ino>.lock`), which every hard link of the file shares.
use crate::SweepError;
use critlab_core::files::FileId;
use std::fs::{File, OpenOptions};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

/// A held lock; released on drop (or when the process ends).
#[derive(Debug)]
pub struct StoreLock {
    _files: Vec<File>,
    path: PathBuf,
}

/// Opens (creating) `path` and takes an exclusive flock on it without waiting.
fn flock(path: &Path) -> Result<File, SweepError> {
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(|e| SweepError::io("creating lock file", path, e))?;
    // SAFETY: flock on a file descriptor we own; no memory is shared with the call.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
    if rc != 0 {
        return Err(SweepError::Locked { lock: path.to_path_buf() });
    }
    Ok(file)
}

/// The store's path with symlinks resolved (its directory's, when the file does not exist
/// yet), so every name of one file gives one lock file.
fn resolved(store: &Path) -> PathBuf {
    if let Ok(real) = std::fs::canonicalize(store) {
        return real;
    }
    match (std::fs::canonicalize(critlab_core::files::directory_of(store)), store.file_name()) {
        (Ok(d), Some(name)) => d.join(name),
        _ => store.to_path_buf(),
    }
}

impl StoreLock {
    /// Takes the lock of the store at `store`, failing at once if another process holds it
    /// (through any name of the same file).
    pub fn acquire(store: &Path) -> Result<Self, SweepError> {
        let path = PathBuf::from(format!("{}.lock", resolved(store).display()));
        let mut files = vec![flock(&path)?];
        // A new store is created (empty, as SQLite would) so that it has an inode to lock: a
        // hard link made to it while the sweep runs must find the lock taken.
        if !store.exists() {
            OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(store)
                .map_err(|e| SweepError::io("creating the store", store, e))?;
        }
        if let Some(id) = FileId::of(store) {
            let dir = std::env::temp_dir().join("critlab-locks");
            std::fs::create_dir_all(&dir).map_err(|e| SweepError::io("creating lock directory", &dir, e))?;
            let by_inode = dir.join(format!("{}-{}.lock", id.dev, id.ino));
            files.push(flock(&by_inode).map_err(|e| match e {
                // Name the lock the user can find: the one beside the store.
                SweepError::Locked { .. } => SweepError::Locked { lock: path.clone() },
                other => other,
            })?);
        }
        Ok(Self { _files: files, path })
    }

    /// The lock file beside the store.
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

    #[test]
    fn a_symlink_or_a_hard_link_to_a_locked_store_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let store = dir.path().join("s.db");
        std::fs::write(&store, b"").unwrap();
        std::os::unix::fs::symlink(&store, dir.path().join("sym.db")).unwrap();
        std::fs::hard_link(&store, dir.path().join("hard.db")).unwrap();
        let first = StoreLock::acquire(&store).unwrap();
        for other in ["sym.db", "hard.db"] {
            let e = StoreLock::acquire(&dir.path().join(other)).unwrap_err();
            assert!(matches!(e, SweepError::Locked { .. }), "{other}: {e}");
        }
        drop(first);
        StoreLock::acquire(&dir.path().join("hard.db")).unwrap();
    }
}
