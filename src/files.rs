//! Files shared between processes: JSON written so that no reader sees
//! half of it, and the lock that serialises runs touching the same files.

use std::fs::File;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// An exclusive lock on `<path>.lock`, released on drop: one run at a
/// time fetches into a cache repository or changes its worktrees (which
/// could corrupt it), claims a round, or changes a ledger.
pub struct FileLock {
    _file: File,
}

impl FileLock {
    /// Takes the lock for `path`, calling `waiting` once if
    /// another run holds it, then blocking until it is free.
    pub fn acquire(path: &Path, waiting: impl FnOnce()) -> std::io::Result<FileLock> {
        let file = open_lock_file(&path.with_extension("lock"))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waiting();
                file.lock()?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        Ok(FileLock { _file: file })
    }

    /// Takes the lock held in the file `lock_path` if it is free, at once.
    pub fn try_at(lock_path: &Path) -> std::io::Result<Option<FileLock>> {
        let file = open_lock_file(lock_path)?;
        match file.try_lock() {
            Ok(()) => Ok(Some(FileLock { _file: file })),
            Err(std::fs::TryLockError::WouldBlock) => Ok(None),
            Err(std::fs::TryLockError::Error(e)) => Err(e),
        }
    }
}

/// The lock file, made if missing and never truncated (another process
/// may hold the lock on it).
fn open_lock_file(lock_path: &Path) -> std::io::Result<File> {
    if let Some(parent) = lock_path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_path)
}

/// Unlocked explicitly, not only by closing the file: a child forked at
/// that moment (before its exec closes our descriptors) shares the open
/// file, and closing alone would leave the lock held until it execs.
impl Drop for FileLock {
    fn drop(&mut self) {
        let _ = self._file.unlock();
    }
}

impl std::fmt::Debug for FileLock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("FileLock")
    }
}

pub fn write_json<T: Serialize>(path: &Path, value: &T) -> std::io::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent)?;
    }
    let text = serde_json::to_string_pretty(value).map_err(std::io::Error::other)?;
    // Write then rename, so a reader never sees half a file.
    let tmp = path.with_extension("json.tmp");
    std::fs::write(&tmp, text + "\n")?;
    std::fs::rename(tmp, path)
}

pub fn read_json<T: for<'de> Deserialize<'de>>(path: &Path) -> std::io::Result<T> {
    let text = std::fs::read_to_string(path)?;
    serde_json::from_str(&text).map_err(|e| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("{}: {e}", path.display()),
        )
    })
}
