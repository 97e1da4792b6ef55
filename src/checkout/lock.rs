//! One run at a time per cache repository: concurrent fetches and
//! worktree changes to the same bare repository could corrupt it. The
//! same lock guards a PR's ledger while it is read, changed and written.

use std::fs::File;
use std::path::Path;

/// Held while a run fetches or changes worktrees; released on drop.
pub struct CacheLock {
    _file: File,
}

impl CacheLock {
    /// Takes the lock for the cache at `path`, calling `waiting` once if
    /// another run holds it, then blocking until it is free.
    pub fn acquire(path: &Path, waiting: impl FnOnce()) -> std::io::Result<CacheLock> {
        let lock_path = path.with_extension("lock");
        if let Some(parent) = lock_path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                waiting();
                file.lock()?;
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(e),
        }
        Ok(CacheLock { _file: file })
    }
}
