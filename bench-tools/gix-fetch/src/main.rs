//! `gix-fetch URL DIR`: a bare clone of URL into DIR with gitoxide, as
//! deep-review's first fetch of a repository does with libgit2; prints
//! how long it took (peak memory is measured from outside).

use std::sync::atomic::AtomicBool;
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(url), Some(dir)) = (args.next(), args.next()) else {
        eprintln!("usage: gix-fetch URL DIR");
        std::process::exit(2);
    };
    let started = Instant::now();
    let mut prepare = gix::prepare_clone_bare(url.as_str(), &dir).expect("a bare repository");
    let (repo, _) = prepare
        .fetch_only(gix::progress::Discard, &AtomicBool::new(false))
        .expect("the fetch");
    println!(
        "gix fetch {:.2} s ({} references)",
        started.elapsed().as_secs_f64(),
        repo.references().map(|r| r.all().map(|a| a.count()).unwrap_or(0)).unwrap_or(0)
    );
}
