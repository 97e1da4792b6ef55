//! The bare cache, fetches and worktrees, on real repositories in temp
//! dirs (a bare "remote" with refs/pull/N/head).

use std::path::PathBuf;
use std::sync::mpsc;

use crate::common::{git, snapshot};
use deep_review::checkout::{Cache, local_target};
use deep_review::files::FileLock;

struct Remote {
    dir: tempfile::TempDir,
}

impl Remote {
    /// A work repo with main and a PR branch, and a bare remote holding
    /// both plus refs/pull/7/head.
    fn new() -> Remote {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        crate::common::demo_sample(&work);
        git(
            &[
                "clone",
                "--quiet",
                "--bare",
                work.to_str().unwrap(),
                "remote.git",
            ],
            dir.path(),
        );
        let r = Remote { dir };
        r.publish_pr();
        r
    }
    fn work(&self) -> PathBuf {
        self.dir.path().join("work")
    }
    fn remote(&self) -> PathBuf {
        self.dir.path().join("remote.git")
    }
    fn url(&self) -> String {
        format!("file://{}", self.remote().display())
    }
    /// Pushes the work repo's feature/stats as the PR head.
    fn publish_pr(&self) {
        git(
            &[
                "push",
                "--quiet",
                "--force",
                self.remote().to_str().unwrap(),
                "feature/stats:refs/pull/7/head",
                "main:main",
            ],
            &self.work(),
        );
    }
    fn commit(&self, file: &str, text: &str, message: &str) -> String {
        std::fs::write(self.work().join(file), text).unwrap();
        git(&["add", "."], &self.work());
        git(&["commit", "--quiet", "-m", message], &self.work());
        git(&["rev-parse", "HEAD"], &self.work())
    }
}

fn refspecs() -> Vec<String> {
    vec![
        "refs/pull/7/head:refs/deep-review/pr/7/head".into(),
        "refs/heads/main:refs/deep-review/pr/7/base".into(),
    ]
}

#[test]
fn the_second_fetch_brings_only_new_objects_and_follows_a_force_push() {
    let r = Remote::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path(), "github/x/acme/widget", &r.url(), None).unwrap();
    let first = cache.fetch(&refspecs()).unwrap();
    assert!(
        first >= 6,
        "the first fetch brings the history ({first} objects)"
    );
    let head1 = cache.resolve("refs/deep-review/pr/7/head").unwrap();
    assert_eq!(
        head1.to_string(),
        git(&["rev-parse", "refs/pull/7/head"], &r.remote())
    );

    // One new commit changing one file: commit, tree, blob.
    let new = r.commit(
        "stats.py",
        "def mean(values):\n    return sum(values) / len(values)\n",
        "Fix mean",
    );
    r.publish_pr();
    let second = cache.fetch(&refspecs()).unwrap();
    assert_eq!(
        second, 3,
        "only the new commit, its tree and its blob travel"
    );
    assert_eq!(
        cache
            .resolve("refs/deep-review/pr/7/head")
            .unwrap()
            .to_string(),
        new
    );

    // A force-push that rewrites the head.
    git(&["reset", "--quiet", "--hard", "HEAD~1"], &r.work());
    let rewritten = r.commit("stats.py", "def mean(values):\n    return 0\n", "Rewritten");
    r.publish_pr();
    cache.fetch(&refspecs()).unwrap();
    assert_eq!(
        cache
            .resolve("refs/deep-review/pr/7/head")
            .unwrap()
            .to_string(),
        rewritten
    );
}

#[test]
fn a_pull_ref_the_remote_lost_is_not_served_from_the_cache() {
    let r = Remote::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path(), "k", &r.url(), None).unwrap();
    cache.fetch(&refspecs()).unwrap();
    git(&["update-ref", "-d", "refs/pull/7/head"], &r.remote());
    let err = cache.fetch(&refspecs()).unwrap_err();
    assert!(err.to_string().contains("refs/pull/7/head"), "{err}");
}

#[test]
fn worktrees_are_detached_at_the_head_and_removed() {
    let r = Remote::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path(), "k", &r.url(), None).unwrap();
    cache.fetch(&refspecs()).unwrap();
    let head = cache.resolve("refs/deep-review/pr/7/head").unwrap();
    let wt = cache
        .add_worktree("run-1", &run_dir.path().join("worktree"), head)
        .unwrap();
    assert_eq!(git(&["rev-parse", "HEAD"], &wt.path), head.to_string());
    assert_eq!(git(&["status", "--porcelain"], &wt.path), "");
    assert!(wt.path.join("stats.py").exists());
    // Detached: no branch was left behind in the cache.
    assert_eq!(git(&["branch", "--list"], &cache.path), "");
    cache.remove_worktree(&wt).unwrap();
    assert!(!wt.path.exists());
    assert!(cache.repo.worktrees().unwrap().is_empty());
}

/// A cache with the PR fetched, and its head: what the pool's tests start
/// from; the folders behind it last as long as the third part.
fn fetched() -> (Cache, git2::Oid, Behind) {
    let remote = Remote::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path(), "k", &remote.url(), None).unwrap();
    cache.fetch(&refspecs()).unwrap();
    let head = pr_head(&cache);
    (
        cache,
        head,
        Behind {
            _remote: remote,
            cache_dir,
        },
    )
}

/// The remote and the cache folder of [`fetched`].
struct Behind {
    _remote: Remote,
    cache_dir: tempfile::TempDir,
}

/// The PR's tree, taken by a first run and given back: idle in the pool.
fn idle_tree(cache: &Cache, head: git2::Oid) -> PathBuf {
    let taken = cache.take_worktree("pr/7", head).unwrap();
    cache.release_worktree(&taken.worktree).unwrap();
    taken.worktree.path.clone()
}

fn inode_and_time(path: &std::path::Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::symlink_metadata(path).unwrap();
    (m.ino(), m.modified().unwrap())
}

fn pr_head(cache: &Cache) -> git2::Oid {
    cache.resolve("refs/deep-review/pr/7/head").unwrap()
}

/// A second round does not write the tree again: the pooled tree moves to
/// the new head, and a file the change did not touch is left as it was.
#[test]
fn a_pooled_tree_moves_to_the_new_head_writing_only_what_changed() {
    let r = Remote::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path(), "github/x/acme/widget", &r.url(), None).unwrap();
    cache.fetch(&refspecs()).unwrap();
    let first = cache.take_worktree("pr/7", pr_head(&cache)).unwrap();
    assert!(!first.reused);
    let path = first.worktree.path.clone();
    assert_eq!(
        path,
        cache_dir.path().join("trees/github/x/acme/widget/pr-7-0")
    );
    let calc = inode_and_time(&path.join("calc.py"));
    cache.release_worktree(&first.worktree).unwrap();
    drop(first);

    let new = r.commit(
        "stats.py",
        "def mean(values):\n    return sum(values) / len(values)\n",
        "Fix mean",
    );
    r.publish_pr();
    cache.fetch(&refspecs()).unwrap();
    let second = cache.take_worktree("pr/7", pr_head(&cache)).unwrap();
    assert!(second.reused);
    assert_eq!(second.worktree.path, path);
    assert!(second.worktree.pooled);
    assert_eq!(git(&["rev-parse", "HEAD"], &path), new);
    assert_eq!(git(&["status", "--porcelain", "--ignored"], &path), "");
    assert_eq!(
        std::fs::read_to_string(path.join("stats.py")).unwrap(),
        "def mean(values):\n    return sum(values) / len(values)\n"
    );
    assert_eq!(
        inode_and_time(&path.join("calc.py")),
        calc,
        "an unchanged file is not written again"
    );
    assert!(matches!(
        cache
            .repo
            .find_worktree("pr-7-0")
            .unwrap()
            .is_locked()
            .unwrap(),
        git2::WorktreeLockStatus::Locked(_)
    ));
    cache.release_worktree(&second.worktree).unwrap();
    assert!(matches!(
        cache
            .repo
            .find_worktree("pr-7-0")
            .unwrap()
            .is_locked()
            .unwrap(),
        git2::WorktreeLockStatus::Unlocked
    ));
}

/// What agents left in a tree they could write in is gone before the next
/// run sees it: an edit that kept the file's size and time, a deletion,
/// new files, a nested repository, and links that point outside the tree
/// (which the checkout must not write through).
#[test]
fn a_pooled_tree_is_cleaned_of_what_agents_left() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("target.txt"), "OUTSIDE\n").unwrap();
    let (cache, head, _behind) = fetched();
    let tree = idle_tree(&cache, head);
    let pristine = snapshot_tree(&tree);

    std::fs::remove_file(tree.join("README.md")).unwrap();
    std::fs::write(tree.join("notes.txt"), "planted").unwrap();
    git(&["init", "--quiet", "nested"], &tree);
    std::fs::write(tree.join("nested/inner.txt"), "planted").unwrap();
    std::fs::remove_file(tree.join("stats.py")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("target.txt"), tree.join("stats.py")).unwrap();
    std::os::unix::fs::symlink(outside.path(), tree.join("out")).unwrap();
    // Modes git does not see, a closed folder, a special file.
    use std::os::unix::fs::PermissionsExt;
    let mode =
        |p: &std::path::Path| std::fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777;
    std::fs::set_permissions(
        tree.join("calc.py"),
        std::fs::Permissions::from_mode(0o4666),
    )
    .unwrap();
    std::fs::create_dir(tree.join("closed")).unwrap();
    std::fs::set_permissions(tree.join("closed"), std::fs::Permissions::from_mode(0o000)).unwrap();
    assert!(
        std::process::Command::new("mkfifo")
            .arg(tree.join("pipe"))
            .status()
            .unwrap()
            .success()
    );
    std::fs::set_permissions(&tree, std::fs::Permissions::from_mode(0o500)).unwrap();
    // The tree's `.git` pointed at another repository: moving the tree
    // must not move that one's HEAD or index.
    let victim = tempfile::tempdir().unwrap();
    crate::common::demo_sample(victim.path());
    let victim_state = snapshot(&victim.path().join(".git"));
    let dotgit = std::fs::read_to_string(tree.join(".git")).unwrap();
    std::fs::write(
        tree.join(".git"),
        format!("gitdir: {}\n", victim.path().join(".git").display()),
    )
    .unwrap();

    let again = cache.take_worktree("pr/7", head).unwrap();
    assert!(again.reused, "cleaned in place, not rebuilt");
    assert_eq!(again.worktree.path, tree);
    assert_eq!(snapshot_tree(&tree), pristine);
    assert_eq!(git(&["status", "--porcelain", "--ignored"], &tree), "");
    assert_eq!(
        std::fs::read_to_string(outside.path().join("target.txt")).unwrap(),
        "OUTSIDE\n",
        "nothing written through a link"
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 1);
    assert_eq!(std::fs::read_to_string(tree.join(".git")).unwrap(), dotgit);
    assert_eq!((mode(&tree), mode(&tree.join("calc.py"))), (0o755, 0o644));
    assert!(
        snapshot(&victim.path().join(".git")) == victim_state,
        "the repository the link named is untouched"
    );
    cache.release_worktree(&again.worktree).unwrap();
    drop(again);

    // An edit that kept the file's size and time: found all the same
    // (the tree is built again if the checkout leaves it).
    let calc = tree.join("calc.py");
    let (_, time) = inode_and_time(&calc);
    let text = std::fs::read(&calc).unwrap();
    let forged: Vec<u8> = text
        .iter()
        .map(|b| if *b == b'a' { b'A' } else { *b })
        .collect();
    assert_ne!(forged, text);
    std::fs::write(&calc, &forged).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&calc)
        .unwrap()
        .set_modified(time)
        .unwrap();
    let again = cache.take_worktree("pr/7", head).unwrap();
    assert!(!again.took_back);
    assert_eq!(again.worktree.path, tree);
    assert_eq!(snapshot_tree(&tree), pristine);
}

/// After an exec run, what its agents built is moved out of the tree whole
/// (into the trash, emptied off the user's wait), not deleted file by
/// file before the next round can start; a tracked file given a second
/// name outside the tree (a hard link, which the checkout would write
/// through) is replaced, and the file outside is left alone.
#[test]
fn a_tree_agents_built_in_is_moved_with_their_output_set_aside() {
    use std::os::unix::fs::MetadataExt;
    let outside = tempfile::tempdir().unwrap();
    let (cache, head, _behind) = fetched();
    let tree = idle_tree(&cache, head);
    let pristine = snapshot_tree(&tree);

    std::fs::create_dir_all(tree.join("target/debug/deps")).unwrap();
    for i in 0..200 {
        std::fs::write(tree.join(format!("target/debug/deps/o{i}.o")), "built").unwrap();
    }
    // The same bytes, so only the file's names tell it apart.
    let shared = outside.path().join("calc.py");
    std::fs::copy(tree.join("calc.py"), &shared).unwrap();
    std::fs::remove_file(tree.join("calc.py")).unwrap();
    std::fs::hard_link(&shared, tree.join("calc.py")).unwrap();
    let outside_before = std::fs::read(&shared).unwrap();

    let again = cache.take_worktree("pr/7", head).unwrap();
    assert!(again.reused, "cleaned in place, not rebuilt");
    assert_eq!(snapshot_tree(&tree), pristine);
    assert_eq!(git(&["status", "--porcelain", "--ignored"], &tree), "");
    assert_eq!(std::fs::metadata(tree.join("calc.py")).unwrap().nlink(), 1);
    assert_eq!(std::fs::metadata(&shared).unwrap().nlink(), 1);
    assert_eq!(std::fs::read(&shared).unwrap(), outside_before);
    // The build's output went whole into the trash.
    let set_aside: Vec<PathBuf> = std::fs::read_dir(cache.trash())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    assert_eq!(set_aside.len(), 1, "{set_aside:?}");
    assert_eq!(
        std::fs::read_dir(set_aside[0].join("debug/deps"))
            .unwrap()
            .count(),
        200
    );
}

/// A cache directory reached through a link (a symlinked `~/.cache`):
/// git records the tree's real path, and the pool still finds its trees.
#[test]
fn the_pool_works_through_a_linked_cache_directory() {
    let r = Remote::new();
    let real = tempfile::tempdir().unwrap();
    let links = tempfile::tempdir().unwrap();
    let cache_dir = links.path().join("cache");
    std::os::unix::fs::symlink(real.path(), &cache_dir).unwrap();
    let cache = Cache::open(&cache_dir, "k", &r.url(), None).unwrap();
    cache.fetch(&refspecs()).unwrap();
    let head = pr_head(&cache);
    let first = cache.take_worktree("pr/7", head).unwrap();
    cache.release_worktree(&first.worktree).unwrap();
    drop(first);
    assert_eq!(
        cache.prune_stale().unwrap(),
        Vec::<String>::new(),
        "idle, not stale"
    );
    let again = cache.take_worktree("pr/7", head).unwrap();
    assert!(again.reused);
    assert_eq!(again.worktree.name, "pr-7-0");
}

/// The tree's files (its `.git` file aside) with their bytes and whether
/// each is a link.
fn snapshot_tree(dir: &std::path::Path) -> Vec<(PathBuf, bool, Vec<u8>)> {
    let mut out = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(d) = dirs.pop() {
        for entry in std::fs::read_dir(&d).unwrap().flatten() {
            let kind = entry.file_type().unwrap();
            let rel = entry.path().strip_prefix(dir).unwrap().to_path_buf();
            if rel == std::path::Path::new(".git") {
                continue;
            }
            if kind.is_dir() {
                dirs.push(entry.path());
            } else {
                let bytes = std::fs::read(entry.path()).unwrap_or_default();
                out.push((rel, kind.is_symlink(), bytes));
            }
        }
    }
    out.sort();
    out
}

/// A tree another run holds is never taken: a second run of the same
/// change gets a tree of its own. One whose run died (its lock released by
/// the OS, git's record still locked) is taken back and built again: that
/// run's agents may still be writing in the old folder.
#[test]
fn a_tree_in_use_is_not_taken_and_a_dead_runs_is_taken_back() {
    let (cache, head, _behind) = fetched();
    let a = cache.take_worktree("pr/7", head).unwrap();
    let b = cache.take_worktree("pr/7", head).unwrap();
    assert_eq!(
        (a.worktree.name.as_str(), b.worktree.name.as_str()),
        ("pr-7-0", "pr-7-1")
    );
    assert_ne!(a.worktree.path, b.worktree.path);
    let other = cache.take_worktree("pr/8", head).unwrap();
    assert_eq!(other.worktree.name, "pr-8-0");
    for t in [&b, &other] {
        cache.release_worktree(&t.worktree).unwrap();
    }
    drop((b, other));
    assert_eq!(cache.prune_stale().unwrap(), Vec::<String>::new());

    // The run holding pr-7-0 dies: its lock goes, git's record stays.
    let path = a.worktree.path.clone();
    drop(a);
    assert_eq!(
        cache.prune_stale().unwrap(),
        Vec::<String>::new(),
        "the pool's"
    );
    assert!(path.join("calc.py").exists(), "kept in the pool");
    std::fs::write(path.join("planted.txt"), "x").unwrap();
    let again = cache.take_worktree("pr/7", head).unwrap();
    assert_eq!(again.worktree.name, "pr-7-0");
    assert!(again.took_back);
    assert!(
        !again.reused,
        "a dead run's tree is built again, never moved"
    );
    assert!(!path.join("planted.txt").exists());
    assert_eq!(std::fs::read_dir(cache.trash()).unwrap().count(), 1);
    cache.release_worktree(&again.worktree).unwrap();
    drop(again);
    let next = cache.take_worktree("pr/7", head).unwrap();
    assert!(next.reused && !next.took_back, "given back properly");
}

/// A tree agents could write in never goes back to the pool: it is moved
/// into the trash at once, and the next run builds a new one.
#[test]
fn a_discarded_tree_is_never_taken_again() {
    let (cache, head, behind) = fetched();
    let taken = cache.take_worktree("pr/7", head).unwrap();
    std::fs::write(taken.worktree.path.join("planted.txt"), "x").unwrap();
    cache.discard_worktree(&taken.worktree).unwrap();
    drop(taken);
    assert!(!behind.cache_dir.path().join("trees/k/pr-7-0").exists());
    assert!(cache.repo.worktrees().unwrap().is_empty());
    let trashed: Vec<_> = std::fs::read_dir(cache.trash())
        .unwrap()
        .flatten()
        .collect();
    assert_eq!(trashed.len(), 1);
    assert!(trashed[0].path().join("planted.txt").exists());
    let next = cache.take_worktree("pr/7", head).unwrap();
    assert!(!next.reused);
    assert!(!next.worktree.path.join("planted.txt").exists());
    deep_review::checkout::pool::empty_trash(cache.trash());
    assert_eq!(std::fs::read_dir(cache.trash()).unwrap().count(), 0);
}

/// A worktree kept on request stays, whatever later runs find: its run is
/// over, but it is not a dead run's. Once its folder is gone (the run
/// directory deleted), the cache forgets it.
#[test]
fn a_kept_worktree_is_not_pruned_by_later_runs_until_its_folder_is_gone() {
    let r = Remote::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path(), "k", &r.url(), None).unwrap();
    cache.fetch(&refspecs()).unwrap();
    let wt = cache
        .add_worktree("run-1", &run_dir.path().join("worktree"), pr_head(&cache))
        .unwrap();
    cache.keep_worktree(&wt, "run-1").unwrap();
    assert_eq!(cache.prune_stale().unwrap(), Vec::<String>::new());
    assert!(wt.path.join("calc.py").exists());
    // Its run directory deleted: the cache forgets it.
    std::fs::remove_dir_all(run_dir.path()).unwrap();
    assert_eq!(cache.prune_stale().unwrap(), vec!["run-1".to_string()]);
    assert!(cache.repo.worktrees().unwrap().is_empty());
}

/// Idle trees beyond the pool's size go, least recently moved first:
/// moved aside at once, deleted later.
#[test]
fn idle_trees_beyond_the_pool_are_evicted_least_recent_first() {
    use deep_review::checkout::pool::{KEEP, empty_trash};
    let (cache, head, behind) = fetched();
    let base = std::time::SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    for n in 0..KEEP {
        let taken = cache.take_worktree(&format!("pr/{n}"), head).unwrap();
        assert!(taken.evicted.is_empty());
        cache.release_worktree(&taken.worktree).unwrap();
        // When each was last moved: pr/0 the longest ago, except pr/3.
        let at = if n == 3 { 99 } else { n as u64 };
        std::fs::File::options()
            .write(true)
            .open(cache.path.join(format!("worktrees/pr-{n}-0/HEAD")))
            .unwrap()
            .set_modified(base + std::time::Duration::from_secs(at))
            .unwrap();
    }
    let taken = cache.take_worktree("pr/100", head).unwrap();
    assert_eq!(taken.evicted, vec!["pr-0-0".to_string()]);
    assert!(!behind.cache_dir.path().join("trees/k/pr-0-0").exists());
    assert!(behind.cache_dir.path().join("trees/k/pr-1-0").exists());
    assert_eq!(cache.repo.worktrees().unwrap().len(), KEEP);
    assert_eq!(std::fs::read_dir(cache.trash()).unwrap().count(), 1);
    empty_trash(cache.trash());
    assert_eq!(std::fs::read_dir(cache.trash()).unwrap().count(), 0);
    // The next one goes by the same rule: pr/1 now (pr/3 was moved last).
    cache.release_worktree(&taken.worktree).unwrap();
    drop(taken);
    let taken = cache.take_worktree("pr/101", head).unwrap();
    assert_eq!(taken.evicted, vec!["pr-1-0".to_string()]);
}

#[test]
fn worktrees_of_dead_runs_are_pruned_and_live_ones_kept() {
    let r = Remote::new();
    let cache_dir = tempfile::tempdir().unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(cache_dir.path(), "k", &r.url(), None).unwrap();
    cache.fetch(&refspecs()).unwrap();
    let head = cache.resolve("refs/deep-review/pr/7/head").unwrap();
    // A run that was killed: its worktree is locked by a process that is gone.
    let dead = cache
        .add_worktree("dead", &run_dir.path().join("dead"), head)
        .unwrap();
    let wt = cache.repo.find_worktree("dead").unwrap();
    wt.unlock().unwrap();
    wt.lock(Some("deep-review pid 2147483646")).unwrap();
    // A run whose directory was deleted.
    let gone = cache
        .add_worktree("gone", &run_dir.path().join("gone"), head)
        .unwrap();
    let gone_wt = cache.repo.find_worktree("gone").unwrap();
    gone_wt.unlock().unwrap();
    std::fs::remove_dir_all(&gone.path).unwrap();
    // A live run (this process).
    let live = cache
        .add_worktree("live", &run_dir.path().join("live"), head)
        .unwrap();

    let mut pruned = cache.prune_stale().unwrap();
    pruned.sort();
    assert_eq!(pruned, vec!["dead".to_string(), "gone".to_string()]);
    assert!(!dead.path.exists());
    assert!(live.path.exists());
    let left: Vec<String> = cache
        .repo
        .worktrees()
        .unwrap()
        .iter()
        .flatten()
        .flatten()
        .map(str::to_string)
        .collect();
    assert_eq!(left, vec!["live".to_string()]);
}

#[test]
fn a_second_run_waits_for_the_cache_lock() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    let cache_dir = tempfile::tempdir().unwrap();
    let path = cache_dir.path().join("repos/k.git");
    let first = FileLock::acquire(&path, || panic!("the first run does not wait")).unwrap();
    let released = Arc::new(AtomicBool::new(false));
    let (tx, rx) = mpsc::channel();
    let second_path = path.clone();
    let seen = released.clone();
    let second = std::thread::spawn(move || {
        let waiting = tx.clone();
        let lock =
            FileLock::acquire(&second_path, move || waiting.send("waiting").unwrap()).unwrap();
        // Handshake: the first holder sets `released` before it lets go,
        // so a lock that did not block is seen here as `false`.
        tx.send(if seen.load(Ordering::SeqCst) {
            "acquired after the release"
        } else {
            "acquired while held"
        })
        .unwrap();
        drop(lock);
    });
    assert_eq!(rx.recv().unwrap(), "waiting");
    released.store(true, Ordering::SeqCst);
    drop(first);
    assert_eq!(rx.recv().unwrap(), "acquired after the release");
    second.join().unwrap();
}

#[test]
fn branch_mode_finds_the_branch_and_its_base() {
    let r = Remote::new();
    let work = r.work();
    // Current branch, base from main.
    let t = local_target(&work, None, None).unwrap();
    assert_eq!(
        (t.branch.as_str(), t.base.as_str(), t.base_ref.as_str()),
        ("feature/stats", "main", "refs/heads/main")
    );
    // An explicit base.
    git(&["branch", "develop", "main"], &work);
    let t = local_target(&work, Some("feature/stats"), Some("develop")).unwrap();
    assert_eq!(
        (t.base.as_str(), t.base_ref.as_str()),
        ("develop", "refs/heads/develop")
    );
    // The remote's default branch wins over main when there is one.
    git(
        &["remote", "add", "origin", r.remote().to_str().unwrap()],
        &work,
    );
    git(&["fetch", "--quiet", "origin"], &work);
    git(&["remote", "set-head", "origin", "main"], &work);
    let t = local_target(&work, None, None).unwrap();
    assert_eq!(t.base_ref, "refs/remotes/origin/main");
    // Errors a user can act on.
    assert_eq!(
        local_target(&work, Some("nope"), None)
            .unwrap_err()
            .to_string(),
        "no branch named \"nope\""
    );
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        local_target(empty.path(), None, None)
            .unwrap_err()
            .to_string(),
        "not inside a git repository"
    );
}

#[test]
fn fetching_from_the_users_checkout_leaves_it_byte_for_byte_unchanged() {
    let r = Remote::new();
    let before = snapshot(&r.work());
    let cache_dir = tempfile::tempdir().unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let cache = Cache::open(
        cache_dir.path(),
        "local/x",
        &r.work().display().to_string(),
        None,
    )
    .unwrap();
    cache
        .fetch(&[
            "refs/heads/feature/stats:refs/deep-review/head".into(),
            "refs/heads/main:refs/deep-review/base".into(),
        ])
        .unwrap();
    let head = cache.resolve("refs/deep-review/head").unwrap();
    let wt = cache
        .add_worktree("r", &run_dir.path().join("wt"), head)
        .unwrap();
    cache.remove_worktree(&wt).unwrap();
    assert_eq!(snapshot(&r.work()), before);
}

/// A branch's cache borrows the user's objects instead of copying them:
/// nothing is fetched, the worktree is the branch's head, git reads its
/// history through the cache, and the user's repository is untouched.
#[test]
fn a_local_branch_is_borrowed_not_copied() {
    let r = Remote::new();
    let before = snapshot(&r.work());
    let cache_dir = tempfile::tempdir().unwrap();
    let run_dir = tempfile::tempdir().unwrap();
    let mut cache = Cache::open(
        cache_dir.path(),
        "local/x",
        &r.work().display().to_string(),
        None,
    )
    .unwrap();
    let local = git2::Repository::open(r.work()).unwrap();
    cache.borrow_objects(&local).unwrap();
    let head = local.refname_to_id("refs/heads/feature/stats").unwrap();
    cache.set_ref("refs/deep-review/head", head).unwrap();
    assert!(
        cache
            .set_ref("refs/deep-review/x", git2::Oid::ZERO_SHA1)
            .is_err()
    );
    assert_eq!(
        deep_review::checkout::borrowed_objects(&cache.path),
        [r.work().join(".git/objects").canonicalize().unwrap()]
    );
    let own_objects = std::fs::read_dir(cache.path.join("objects"))
        .unwrap()
        .flatten()
        .filter(|e| e.file_name() != "info" && e.file_name() != "pack")
        .count();
    assert_eq!(own_objects, 0, "no loose object copied");
    assert_eq!(
        std::fs::read_dir(cache.path.join("objects/pack"))
            .unwrap()
            .count(),
        0,
        "no pack copied"
    );
    let wt = cache
        .add_worktree("r", &run_dir.path().join("wt"), head)
        .unwrap();
    assert_eq!(
        git(&["log", "--format=%s", "-1"], &wt.path),
        git(&["log", "--format=%s", "-1", "feature/stats"], &r.work())
    );
    // Borrowing again changes nothing.
    cache.borrow_objects(&local).unwrap();
    cache.remove_worktree(&wt).unwrap();
    assert_eq!(snapshot(&r.work()), before);
}

/// A git server that refuses every credential: the fetch fails after one
/// try with a message that names the token (libgit2 alone replays it up to
/// its limit and says "too many redirects or authentication replays").
#[tokio::test(flavor = "multi_thread")]
async fn a_refused_token_ends_the_fetch_with_a_clear_error() {
    use wiremock::matchers::any;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(any())
        .respond_with(
            ResponseTemplate::new(401).insert_header("www-authenticate", "Basic realm=\"GitHub\""),
        )
        .mount(&server)
        .await;
    let cache_dir = tempfile::tempdir().unwrap();
    let url = format!("{}/acme/widget.git", server.uri());
    let result = tokio::task::spawn_blocking(move || {
        let cache = Cache::open(cache_dir.path(), "acme-widget", &url, Some("bad".into()))?;
        cache.fetch(&["refs/heads/main:refs/deep-review/base".to_string()])
    })
    .await
    .unwrap();
    let message = result.expect_err("the fetch fails").to_string();
    assert!(
        message.contains("the server refused the GitHub token"),
        "{message}"
    );
    // Offered once, not replayed.
    let requests = server.received_requests().await.unwrap();
    assert!(requests.len() <= 3, "{} requests", requests.len());
    assert!(
        requests
            .iter()
            .any(|r| r.headers.get("authorization").is_some()),
        "the token was offered"
    );
}
