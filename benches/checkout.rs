//! deep-review's checkout of a large repository, for `scripts/bench`,
//! which builds the repository, serves it with `git daemon` and runs
//! `git clone --bare` beside this for comparison.
//!
//! `DEEP_REVIEW_BENCH_URL=git://127.0.0.1:PORT/big.git cargo bench --bench checkout`
//! fetches `refs/heads/main` into a fresh cache (as a first review of a
//! repository does), then adds the review worktree at it, and prints the
//! time of each and the peak resident set size; then the pooled tree of a
//! first round moved to the next commit, as a second round does. Without the variable it
//! says how to run it and exits.

use std::time::Instant;

use deep_review::checkout::Cache;

mod common;
use common::peak_rss_kib;

fn main() {
    let Ok(url) = std::env::var("DEEP_REVIEW_BENCH_URL") else {
        println!("checkout: set DEEP_REVIEW_BENCH_URL (scripts/bench does)");
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("bench-checkout-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let started = Instant::now();
    let mut cache = Cache::open(dir.path(), "big", &url, None).unwrap();
    // A path is the user's own repository, as for `deep-review branch`:
    // its objects are borrowed. A URL is fetched, as for a PR.
    let (what, objects) = if url.contains("://") {
        let n = cache
            .fetch(&["refs/heads/main:refs/deep-review/bench/head".to_string()])
            .unwrap();
        ("fetch", format!("{n} objects"))
    } else {
        let local = git2::Repository::open(&url).unwrap();
        cache.borrow_objects(&local).unwrap();
        let head = local.refname_to_id("refs/heads/main").unwrap();
        cache.set_ref("refs/deep-review/bench/head", head).unwrap();
        ("borrow of a local repository", "nothing copied".to_string())
    };
    let fetched = started.elapsed();
    let fetch_rss = peak_rss_kib();
    let head = cache.resolve("refs/deep-review/bench/head").unwrap();
    let started = Instant::now();
    let worktree = cache
        .add_worktree("bench", &dir.path().join("worktree"), head)
        .unwrap();
    let added = started.elapsed();
    let started = Instant::now();
    cache.remove_worktree(&worktree).unwrap();
    let removed = started.elapsed();
    // The pool: a first round's tree at the head's parent, then the next
    // round's move to the head (the commits each change a few files).
    let parent = cache.repo.find_commit(head).unwrap().parent_id(0).unwrap();
    let first = cache.take_worktree("bench", parent).unwrap();
    cache.release_worktree(&first.worktree).unwrap();
    drop(first);
    let started = Instant::now();
    let moved = cache.take_worktree("bench", head).unwrap();
    let move_time = started.elapsed();
    assert!(moved.reused);
    println!(
        "deep-review {what} {:.2} s ({objects}), peak RSS {:.0} MiB; worktree added in {:.2} s, removed in {:.2} s; a kept tree moved to the next commit in {:.2} s; peak RSS {:.0} MiB",
        fetched.as_secs_f64(),
        fetch_rss as f64 / 1024.0,
        added.as_secs_f64(),
        removed.as_secs_f64(),
        move_time.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0
    );
}
