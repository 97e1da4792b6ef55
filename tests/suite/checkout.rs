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
