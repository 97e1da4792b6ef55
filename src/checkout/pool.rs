//! Worktrees kept between runs: one per change (a PR, a branch) under
//! `<cache_dir>/trees/<key>/`, moved to each new head by a checkout of
//! what changed, instead of a whole tree written before and deleted after
//! every run. A run holds the tree it takes by an exclusive lock on
//! `<name>.lock` beside it (released by the OS if the run dies); a tree
//! in use is never taken, a second run of the same change gets its own.
//!
//! Only trees no agent can still write in go back to the pool (the
//! pipeline decides): a read-only run's in the sandbox, or an exec run's
//! once every process its agents started is known to be dead
//! (`agents::leftovers`) — a process left behind would keep the sandbox's
//! right to write in that folder, and no cleaning could make it safe for
//! the next run. Moving a tree rewrites its `.git` file, moves the
//! folders its index does not track into the trash, removes untracked
//! files, links, special files and files with several names, puts modes
//! back, and rebuilds a tree that
//! is still not exactly the head's after the checkout.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use git2::build::CheckoutBuilder;
use git2::{Oid, Repository, StatusOptions, WorktreeLockStatus, WorktreePruneOptions};

use super::{Cache, CheckoutError, Worktree, process_alive, sanitize};
use crate::files::FileLock;

/// The lock reason of a worktree kept on request, before its run's id.
const KEPT: &str = "kept by deep-review run ";

/// A worktree kept on request whose folder is gone (the user deleted the
/// run directory): nothing is left to keep.
pub(super) fn kept_and_gone(wt: &git2::Worktree) -> bool {
    let kept = matches!(
        wt.is_locked(),
        Ok(WorktreeLockStatus::Locked(Some(reason))) if reason.starts_with(KEPT)
    );
    kept && wt.path().symlink_metadata().is_err()
}

/// Idle trees kept per cache repository; older ones are removed.
pub const KEEP: usize = 8;

/// Trees of one change at once, at most (runs of it at the same time).
const SLOTS: usize = 64;

/// A tree taken for a run, held until [`Taken::lock`] is dropped.
#[derive(Debug)]
pub struct Taken {
    pub worktree: Worktree,
    /// Moved from an earlier run's head rather than written whole.
    pub reused: bool,
    /// The run that held it last died without giving it back.
    pub took_back: bool,
    /// Trees beyond [`KEEP`] moved aside, to delete with [`empty_trash`]
    /// off the run's critical path.
    pub evicted: Vec<String>,
    pub lock: FileLock,
}

impl Cache {
    /// Takes a tree of the pool for `change` (a label such as `pr/7`),
    /// held by this process, detached at `head` and clean. The caller
    /// holds the cache's lock.
    pub fn take_worktree(&self, change: &str, head: Oid) -> Result<Taken, CheckoutError> {
        let label = sanitize(change);
        let mut last_error = None;
        // A slot that cannot be used (held, or broken in a way that cannot
        // be repaired) is passed over, never a reason to fail the run.
        for n in 0..SLOTS {
            let name = format!("{label}-{n}");
            let Some(lock) = FileLock::try_at(&self.tree_lock(&name))? else {
                continue;
            };
            match self.take_slot(&name, head) {
                Ok((worktree, reused, took_back)) => {
                    let evicted = self.evict(&worktree.name);
                    return Ok(Taken {
                        worktree,
                        reused,
                        took_back,
                        evicted,
                        lock,
                    });
                }
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(|| {
            CheckoutError::Io(std::io::Error::other(format!(
                "all {SLOTS} worktrees of {change} are in use"
            )))
        }))
    }

    /// The slot `name`, held by the caller: its tree moved to `head`, or
    /// built.
    fn take_slot(&self, name: &str, head: Oid) -> Result<(Worktree, bool, bool), CheckoutError> {
        let path = self.trees.join(name);
        let Ok(wt) = self.repo.find_worktree(name) else {
            if path.symlink_metadata().is_ok() {
                self.to_trash(&path, name)?;
            }
            return Ok((self.add_pooled(name, &path, head)?, false, false));
        };
        // Locked in git's record but not held: its run died, maybe with
        // agents that could write in it still running. Never moved.
        let took_back = !matches!(wt.is_locked()?, WorktreeLockStatus::Unlocked);
        if !took_back && wt.path() == path && is_real_dir(&path) {
            wt.lock(Some(&lock_reason()))?;
            let worktree = Worktree {
                name: name.to_string(),
                path: path.clone(),
                pooled: true,
            };
            let admin = self.path.join("worktrees").join(name);
            if move_tree(&wt, (&path, &admin, &self.trash), head).is_ok() {
                return Ok((worktree, true, false));
            }
        }
        // A dead run's, gone, elsewhere or not clean: built again.
        self.throw_away(&wt)?;
        Ok((self.add_pooled(name, &path, head)?, false, took_back))
    }

    fn tree_lock(&self, name: &str) -> PathBuf {
        self.trees.join(format!("{name}.lock"))
    }

    fn add_pooled(&self, name: &str, path: &Path, head: Oid) -> Result<Worktree, CheckoutError> {
        let mut wt = self.add_worktree(name, path, head)?;
        wt.pooled = true;
        Ok(wt)
    }

    /// Gives a taken tree back to the pool, as it is: only a tree no agent
    /// could write in.
    pub fn release_worktree(&self, worktree: &Worktree) -> Result<(), CheckoutError> {
        let wt = self.repo.find_worktree(&worktree.name)?;
        wt.unlock()?;
        Ok(())
    }

    /// Takes a tree agents could write in out of the pool: its folder is
    /// moved into the trash (deleted beside a later run's agents) and the
    /// cache forgets it.
    pub fn discard_worktree(&self, worktree: &Worktree) -> Result<(), CheckoutError> {
        let wt = self.repo.find_worktree(&worktree.name)?;
        self.throw_away(&wt)
    }

    /// A worktree kept on request (`--keep-worktree`) after its run: no
    /// later run may take it for a dead run's and remove it.
    pub fn keep_worktree(&self, worktree: &Worktree, run_id: &str) -> Result<(), CheckoutError> {
        // Written over the run's own reason, never unlocked in between (a
        // run pruning dead runs' worktrees could see it unlocked).
        let locked = self
            .path
            .join("worktrees")
            .join(&worktree.name)
            .join("locked");
        std::fs::write(locked, format!("{KEPT}{run_id}"))?;
        Ok(())
    }

    /// The folder moved into the trash (at once; pruning would delete it
    /// now), then the worktree forgotten by the cache.
    fn throw_away(&self, wt: &git2::Worktree) -> Result<(), CheckoutError> {
        let path = wt.path().to_path_buf();
        if path.starts_with(&self.trees) && path.symlink_metadata().is_ok() {
            self.to_trash(&path, wt.name().ok().flatten().unwrap_or("tree"))?;
        }
        let _ = wt.unlock();
        // Another run may have forgotten it first.
        if let Err(e) = prune(wt)
            && self
                .repo
                .find_worktree(wt.name().ok().flatten().unwrap_or(""))
                .is_ok()
        {
            return Err(e.into());
        }
        Ok(())
    }

    /// Moves the pool's folder `path` into the trash.
    fn to_trash(&self, path: &Path, name: &str) -> Result<(), CheckoutError> {
        Ok(to_trash(&self.trash, path, name)?)
    }

    /// The pool's idle trees beyond [`KEEP`] (least recently moved first
    /// to go), thrown away.
    fn evict(&self, taken: &str) -> Vec<String> {
        let mut idle = Vec::new();
        let Ok(names) = self.repo.worktrees() else {
            return Vec::new();
        };
        for name in names.iter().flatten().flatten() {
            let Ok(wt) = self.repo.find_worktree(name) else {
                continue;
            };
            if name == taken || !wt.path().starts_with(&self.trees) {
                continue;
            }
            // Held while it is thrown away, so no run takes it meanwhile.
            let Ok(Some(lock)) = FileLock::try_at(&self.tree_lock(name)) else {
                continue;
            };
            let moved = std::fs::metadata(self.path.join("worktrees").join(name).join("HEAD"))
                .and_then(|m| m.modified())
                .ok();
            idle.push((moved, name.to_string(), wt, lock));
        }
        // Newest first; the taken tree counts as one of those kept.
        idle.sort_by_key(|b| std::cmp::Reverse(b.0));
        let mut evicted = Vec::new();
        for (_, name, wt, _lock) in idle.into_iter().skip(KEEP.saturating_sub(1)) {
            // One that cannot go now is tried again by a later run.
            if self.throw_away(&wt).is_ok() {
                evicted.push(name);
            }
        }
        evicted
    }

    /// Where thrown-away trees wait to be deleted (shared by every cache).
    pub fn trash(&self) -> &Path {
        &self.trash
    }

    /// Whether `path` is one of the pool's trees.
    pub(super) fn is_pooled(&self, path: &Path) -> bool {
        path.starts_with(&self.trees)
    }
}

/// Moves `path` (in the pool) into the trash folder `trash`. A folder's
/// own permissions are put right first: an agent may have taken the write
/// right off it (chmod is not the sandbox's to refuse), and moving a
/// folder needs it.
fn to_trash(trash: &Path, path: &Path, name: &str) -> std::io::Result<()> {
    std::fs::create_dir_all(trash)?;
    if is_real_dir(path) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
    }
    std::fs::rename(path, trash.join(trash_name(name)))
}

/// A name no other run uses: the process, the time, a counter.
fn trash_name(name: &str) -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!(
        "{name}-{}-{nanos}-{}",
        std::process::id(),
        COUNT.fetch_add(1, Ordering::Relaxed)
    )
}

/// Deletes what was moved into `trash` (by this run or one that died
/// first). Slow for large trees: run it beside the agents.
pub fn empty_trash(trash: &Path) {
    let Ok(entries) = std::fs::read_dir(trash) else {
        return;
    };
    for entry in entries.flatten() {
        // Another run may be emptying it too.
        if remove_path(&entry.path()).is_err() {
            // A folder an agent closed (chmod 000) inside what was moved
            // here whole: opened, then removed.
            open_folders(&entry.path());
            let _ = remove_path(&entry.path());
        }
    }
}

/// Gives every folder under `root` (links not followed) its owner's full
/// rights, so that what is in it can be removed.
fn open_folders(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        if !is_real_dir(&dir) {
            continue;
        }
        let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700));
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            dirs.push(entry.path());
        }
    }
}

fn lock_reason() -> String {
    format!("deep-review pid {}", std::process::id())
}

/// Locked by a deep-review process that is still running (or by someone
/// else, for a reason we cannot read).
pub(super) fn in_use(wt: &git2::Worktree) -> Result<bool, CheckoutError> {
    Ok(match wt.is_locked()? {
        WorktreeLockStatus::Locked(Some(reason)) => match reason.strip_prefix("deep-review pid ") {
            Some(pid) => pid.trim().parse::<i32>().is_ok_and(process_alive),
            None => true,
        },
        WorktreeLockStatus::Locked(None) => true,
        WorktreeLockStatus::Unlocked => false,
    })
}

/// Forgotten by the cache. Its folder is the caller's to delete: libgit2's
/// own deletion follows a link swapped in for a folder meanwhile, std's
/// `remove_dir_all` does not.
pub(super) fn prune(wt: &git2::Worktree) -> Result<(), git2::Error> {
    wt.prune(Some(WorktreePruneOptions::new().valid(true).locked(true)))
}

/// Moves the tree at `path` to `head` and leaves it exactly `head`'s tree.
fn move_tree(
    wt: &git2::Worktree,
    (path, admin, trash): (&Path, &Path, &Path),
    head: Oid,
) -> Result<(), CheckoutError> {
    // The tree's `.git` file says which repository it belongs to, and the
    // tree was writable: it is written again from the cache's own record
    // (agents could have pointed it at another repository, whose HEAD and
    // index the checkout would then move), and the repository is opened
    // from the cache's side.
    let dotgit = path.join(".git");
    if is_real_dir(&dotgit) {
        to_trash(trash, &dotgit, "untracked")?;
    } else {
        remove_path(&dotgit)?;
    }
    let mut link = b"gitdir: ".to_vec();
    link.extend_from_slice(admin.as_os_str().as_bytes());
    link.extend_from_slice(b"/\n");
    std::fs::write(&dotgit, link)?;
    let repo = Repository::open_from_worktree(wt)?;
    if repo.workdir().map(Path::to_path_buf) != Some(path.to_path_buf()) {
        return Err(CheckoutError::Io(std::io::Error::other(
            "the worktree's repository names another folder",
        )));
    }
    // The index lives on the cache's side, where no agent writes.
    reset_tree(path, &Tracked::of(&repo.index()?), trash)?;
    let commit = repo.find_commit(head)?;
    repo.checkout_tree(
        commit.as_object(),
        Some(
            CheckoutBuilder::new()
                .force()
                .remove_untracked(true)
                .remove_ignored(true),
        ),
    )?;
    repo.set_head_detached(head)?;
    // What the checkout leaves behind (a nested repository) goes by hand.
    for leftover in leftovers(&repo)? {
        remove_path(&path.join(leftover))?;
    }
    if leftovers(&repo)?.is_empty() {
        Ok(())
    } else {
        Err(CheckoutError::Io(std::io::Error::other(
            "the worktree is not clean after the checkout",
        )))
    }
}

/// Paths that differ from the index or that git does not track; the
/// index's recorded file times are refreshed on the way.
fn leftovers(repo: &Repository) -> Result<Vec<PathBuf>, CheckoutError> {
    let statuses = repo.statuses(Some(
        StatusOptions::new()
            .include_untracked(true)
            .include_ignored(true)
            .recurse_untracked_dirs(false)
            .recurse_ignored_dirs(false)
            .include_unmodified(false)
            .exclude_submodules(false)
            .update_index(true),
    ))?;
    Ok(statuses
        .iter()
        .map(|s| {
            // Byte names: a file's name need not be UTF-8.
            let bytes = s.path_bytes();
            let bytes = bytes.strip_suffix(b"/").unwrap_or(bytes);
            PathBuf::from(std::ffi::OsStr::from_bytes(bytes))
        })
        .collect())
}

/// What a tree's index tracks: its files, its submodules' folders, and
/// the folders they are in (paths relative to the tree, as bytes).
#[derive(Default)]
struct Tracked {
    files: std::collections::HashSet<Vec<u8>>,
    submodules: std::collections::HashSet<Vec<u8>>,
    dirs: std::collections::HashSet<Vec<u8>>,
}

impl Tracked {
    fn of(index: &git2::Index) -> Tracked {
        let mut tracked = Tracked::default();
        for entry in index.iter() {
            let path = entry.path;
            let mut end = path.len();
            while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
                if !tracked.dirs.insert(path[..slash].to_vec()) {
                    break;
                }
                end = slash;
            }
            if entry.mode == 0o160000 {
                tracked.submodules.insert(path);
            } else {
                tracked.files.insert(path);
            }
        }
        tracked
    }
}

/// Puts the tree back to what git can check out over, before the checkout:
/// every folder the index does not track (a build's output, what agents
/// wrote) is moved into the trash whole, without being read — renaming a
/// folder costs the same whatever it holds, and the trash is emptied off
/// the user's wait; every untracked file, symbolic link, special file and
/// file with more than one name is removed (a link could send the checkout's writes
/// outside the tree; git makes the tracked ones again); every folder is
/// set 0755 and every file 0644 or 0755 as its owner's execute bit says
/// (git tracks only that bit; an agent may change the others — chmod is
/// not the sandbox's to refuse — and a folder it closed would stop the
/// checkout).
fn reset_tree(root: &Path, tracked: &Tracked, trash: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let mode = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
    };
    let mut dirs = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel)) = dirs.pop() {
        mode(&dir, 0o755)?;
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name();
            let mut child = rel.clone();
            if !child.is_empty() {
                child.push(b'/');
            }
            child.extend_from_slice(name.as_bytes());
            if child == b".git" {
                // Written again from the cache's record just before.
                continue;
            }
            let path = entry.path();
            let kind = entry.file_type()?;
            if tracked.dirs.contains(&child) && kind.is_dir() {
                dirs.push((path, child));
            } else if tracked.files.contains(&child) && kind.is_file() {
                let meta = entry.metadata()?;
                if meta.nlink() > 1 {
                    std::fs::remove_file(&path)?;
                    continue;
                }
                let now = meta.permissions().mode() & 0o7777;
                let want = if now & 0o100 != 0 { 0o755 } else { 0o644 };
                if now != want {
                    mode(&path, want)?;
                }
            } else if tracked.submodules.contains(&child)
                && kind.is_dir()
                && std::fs::read_dir(&path)?.next().is_none()
            {
                // An empty folder is what git leaves for a submodule.
                mode(&path, 0o755)?;
            } else if kind.is_dir() {
                to_trash(trash, &path, "untracked")?;
            } else {
                std::fs::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

/// A folder, not a link to one.
fn is_real_dir(path: &Path) -> bool {
    path.symlink_metadata().is_ok_and(|m| m.is_dir())
}

/// A file, link or folder removed without following links.
fn remove_path(path: &Path) -> std::io::Result<()> {
    match path.symlink_metadata() {
        Ok(m) if m.is_dir() => std::fs::remove_dir_all(path),
        Ok(_) => std::fs::remove_file(path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}
