//! Processes the agents leave behind.
//!
//! Killing an agent's process group misses anything that left the group
//! (`setsid`, a daemon's double fork): such a process used to outlive the
//! run and deep-review, keeping whatever the sandbox let it do — in an exec
//! run, writing in the review's worktree. deep-review makes itself the
//! reaper of its descendants' orphans (`PR_SET_CHILD_SUBREAPER`), so every
//! process an agent started stays its descendant while it lives, and at
//! the end of a run kills every child it still has. A run that ends with
//! none left knows that no process it started can still write anywhere.
//!
//! Only the command line turns this on ([`adopt_orphans`]): a process that
//! runs several reviews at once (a test binary) would have one review's
//! sweep kill another's agents.

use std::sync::atomic::{AtomicBool, Ordering};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::waitpid;
use nix::unistd::Pid;

static ADOPTING: AtomicBool = AtomicBool::new(false);

/// Passes over the children before giving up on a process that keeps
/// forking faster than it is killed.
const ROUNDS: usize = 64;

/// Makes this process the reaper of its descendants' orphans; false if the
/// kernel refused (then [`sweep`] has nothing to say).
pub fn adopt_orphans() -> bool {
    // SAFETY: prctl with integer arguments only.
    let ok = unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) } == 0;
    ADOPTING.store(ok, Ordering::SeqCst);
    ok
}

/// What a sweep did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Swept {
    /// The names (`comm`, cleaned) of the processes that were still running
    /// and were killed.
    pub killed: Vec<String>,
    /// No child is left: nothing the run started is still alive.
    pub complete: bool,
}

/// Kills and reaps every child this process has. Call it only when every
/// child the run spawned on purpose has been waited for: what is left is
/// what agents left behind. `None` when orphans are not adopted, so that
/// nothing is known about what agents left.
pub fn sweep() -> Option<Swept> {
    if !ADOPTING.load(Ordering::SeqCst) {
        return None;
    }
    let me = std::process::id() as i32;
    let mut killed = Vec::new();
    for _ in 0..ROUNDS {
        let children = children_of(me);
        if children.is_empty() {
            return Some(Swept {
                killed,
                complete: true,
            });
        }
        let mut dying = Vec::new();
        for child in &children {
            // One that exited on its own is only waiting to be reaped; one
            // that cannot be signalled (it changed user) is never waited
            // for, and makes the sweep incomplete.
            if kill(Pid::from_raw(child.pid), Signal::SIGKILL).is_ok() {
                if !child.zombie {
                    killed.push(child.name.clone());
                }
                dying.push(child.pid);
            }
        }
        if dying.is_empty() {
            break;
        }
        // Its own children come to us as it dies: the next pass.
        for pid in dying {
            let _ = waitpid(Pid::from_raw(pid), None);
        }
    }
    let complete = children_of(me).is_empty();
    Some(Swept { killed, complete })
}

#[derive(Debug)]
struct Child {
    pid: i32,
    name: String,
    zombie: bool,
}

/// Every process whose parent is `parent`, from `/proc`.
fn children_of(parent: i32) -> Vec<Child> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
            let (ppid, name, state) = parse_stat(&stat)?;
            (ppid == parent).then_some(Child {
                pid,
                name,
                zombie: state == b'Z',
            })
        })
        .collect()
}

/// The parent, name and state in a `/proc/PID/stat` line. The name is the
/// process's own choice (up to 15 bytes, any of them): it is read between
/// the first `(` and the last `)`, and only letters, digits and `-_.` are
/// kept, for it ends up in messages.
fn parse_stat(stat: &[u8]) -> Option<(i32, String, u8)> {
    let open = stat.iter().position(|&b| b == b'(')?;
    let close = stat.iter().rposition(|&b| b == b')')?;
    let name: String = stat
        .get(open + 1..close)?
        .iter()
        .map(|&b| {
            if b.is_ascii_alphanumeric() || b"-_.".contains(&b) {
                b as char
            } else {
                '?'
            }
        })
        .collect();
    let mut rest = stat.get(close + 1..)?.split(|&b| b == b' ').skip(1);
    let state = *rest.next()?.first()?;
    let ppid = std::str::from_utf8(rest.next()?).ok()?.parse().ok()?;
    Some((ppid, name, state))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stat_line_gives_parent_name_and_state_whatever_the_name_holds() {
        let line = b"4242 (sleep) S 17 4242 4242 0 -1 4194560 95 0 0 0\n";
        assert_eq!(parse_stat(line), Some((17, "sleep".into(), b'S')));
        // A name may hold spaces and parentheses: the last ')' ends it.
        let line = b"4243 (a) Z 1 (b) R 99 1 1 0\n";
        assert_eq!(parse_stat(line), Some((99, "a??Z?1??b".into(), b'R')));
        let line = "4244 (\u{1b}[31mx\n) S 5 0\n".as_bytes();
        assert_eq!(parse_stat(line), Some((5, "??31mx?".into(), b'S')));
        assert_eq!(parse_stat(b"4245 (x S 5"), None);
        assert_eq!(parse_stat(b"4246 (x) S"), None);
        assert_eq!(parse_stat(b"4247 (x) S notanumber"), None);
    }

    #[test]
    fn without_adopting_orphans_a_sweep_knows_nothing() {
        // Unit tests never adopt: a sweep here would kill other tests'
        // children.
        assert_eq!(sweep(), None);
    }
}
