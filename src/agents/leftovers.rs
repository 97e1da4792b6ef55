//! Processes the agents leave behind.
//!
//! Killing an agent's process group misses anything that left the group
//! (`setsid`, a daemon's double fork): such a process used to outlive the
//! run and deep-review, keeping whatever the sandbox let it do — in an exec
//! run, writing in the review's worktree. deep-review makes itself the
//! reaper of its descendants' orphans (`PR_SET_CHILD_SUBREAPER`), so every
//! process an agent started stays its descendant while it lives, and at
//! the end of a run kills every descendant it still has. A run that ends
//! with none left knows that no process its agents started is alive —
//! but what they had started for them by something outside (a user
//! service manager over D-Bus; docs/security.md).
//!
//! Only the command line turns this on ([`adopt_orphans`]): a process that
//! runs several reviews at once (a test binary) would have one review's
//! sweep kill another's agents.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{WaitPidFlag, waitpid};
use nix::unistd::Pid;

static ADOPTING: AtomicBool = AtomicBool::new(false);

/// The children this process already had when it began adopting (a
/// wrapper's helper started before it exec'd deep-review), by pid and start
/// time: not the agents', never swept.
static BEFORE: Mutex<Vec<(i32, u64)>> = Mutex::new(Vec::new());

/// How long a sweep may take before it gives up on what it could not kill
/// (a fork storm, a process stuck in the kernel): the run then says so and
/// throws the tree away.
const WITHIN: Duration = Duration::from_secs(5);

/// Makes this process the reaper of its descendants' orphans; false if the
/// kernel refused or `/proc` is not this process's (then [`sweep`] has
/// nothing to say).
pub fn adopt_orphans() -> bool {
    let Ok(table) = trusted_proc().and_then(|()| Table::read()) else {
        return false;
    };
    let me = std::process::id() as i32;
    if let Ok(mut before) = BEFORE.lock() {
        *before = table.children_of(me).map(|p| (p.pid, p.start)).collect();
    }
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
    /// No descendant is left: nothing the run started is still alive.
    pub complete: bool,
}

/// Kills every descendant of this process and reaps its children. Call it
/// only when every child the run spawned on purpose has been waited for:
/// what is left is what agents left behind. `None` when orphans are not
/// adopted, so that nothing is known about what agents left.
pub fn sweep() -> Option<Swept> {
    if !ADOPTING.load(Ordering::SeqCst) {
        return None;
    }
    let spared = BEFORE.lock().map(|b| b.clone()).unwrap_or_default();
    Some(sweep_within(&spared, WITHIN))
}

fn sweep_within(spared: &[(i32, u64)], within: Duration) -> Swept {
    let me = std::process::id() as i32;
    let deadline = Instant::now() + within;
    let mut killed = Vec::new();
    let mut seen = HashSet::new();
    if trusted_proc().is_err() {
        return Swept {
            killed,
            complete: false,
        };
    }
    loop {
        // Whatever cannot be read is not known to be gone.
        let Ok(table) = Table::read() else {
            return Swept {
                killed,
                complete: false,
            };
        };
        let descendants = table.descendants(me, spared);
        if descendants.is_empty() {
            return Swept {
                killed,
                complete: true,
            };
        }
        if Instant::now() >= deadline {
            return Swept {
                killed,
                complete: false,
            };
        }
        // Every level at once: a child may wait on a grandchild (a PID
        // namespace's init, a traced process), so killing only children and
        // waiting for them could wait for ever.
        for p in &descendants {
            if !p.zombie && seen.insert((p.pid, p.start)) {
                killed.push(p.name.clone());
            }
            let _ = kill(Pid::from_raw(p.pid), Signal::SIGKILL);
        }
        let mut alive = Vec::new();
        for p in descendants.iter().filter(|p| p.ppid == me) {
            let reaped = waitpid(Pid::from_raw(p.pid), Some(WaitPidFlag::WNOHANG));
            if let Ok(nix::sys::wait::WaitStatus::StillAlive) = reaped {
                alive.push(p.pid);
            }
        }
        wait_for_any(&alive, deadline);
    }
}

/// Waits until one of these children ends, the deadline passes, or a short
/// while (killed grandchildren come back to us without a word).
fn wait_for_any(children: &[i32], deadline: Instant) {
    let timeout = deadline
        .saturating_duration_since(Instant::now())
        .min(Duration::from_millis(20));
    let mut fds: Vec<libc::pollfd> = children
        .iter()
        .filter_map(|&pid| {
            // SAFETY: a plain system call; the descriptor is closed below.
            let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
            (fd >= 0).then_some(libc::pollfd {
                fd,
                events: libc::POLLIN,
                revents: 0,
            })
        })
        .collect();
    if fds.is_empty() {
        std::thread::sleep(timeout.min(Duration::from_millis(1)));
        return;
    }
    // SAFETY: the array is ours and its length is passed with it.
    unsafe {
        libc::poll(
            fds.as_mut_ptr(),
            fds.len() as libc::nfds_t,
            timeout.as_millis() as i32,
        );
        for fd in &fds {
            libc::close(fd.fd);
        }
    }
}

#[derive(Debug, Clone)]
struct Process {
    pid: i32,
    ppid: i32,
    name: String,
    zombie: bool,
    /// Clock ticks after boot: with the pid, it names one process.
    start: u64,
}

/// Whether `/proc` is this process's own (a `/proc` of another PID
/// namespace would name other processes by our numbers) and shows every
/// process of ours.
fn trusted_proc() -> std::io::Result<()> {
    let me = std::process::id().to_string();
    if std::fs::read_link("/proc/self")?.as_os_str() != me.as_str() {
        return Err(std::io::Error::other("/proc is another PID namespace's"));
    }
    // With hidepid, a process of ours that made itself undumpable is left
    // out of the listing: nothing could be said to be gone.
    // SAFETY: geteuid has no arguments and cannot fail.
    let root = unsafe { libc::geteuid() } == 0;
    if !root && hides_processes(&std::fs::read_to_string("/proc/self/mountinfo")?) {
        return Err(std::io::Error::other("/proc hides processes (hidepid)"));
    }
    Ok(())
}

/// Every process in `/proc` (see [`trusted_proc`] for when to believe it).
struct Table(Vec<Process>);

impl Table {
    fn read() -> std::io::Result<Table> {
        let mut processes = Vec::new();
        for entry in std::fs::read_dir("/proc")? {
            let entry = entry?;
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|n| n.parse::<i32>().ok())
            else {
                continue;
            };
            let stat = match std::fs::read(format!("/proc/{pid}/stat")) {
                Ok(stat) => stat,
                // Gone since the listing.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) if e.raw_os_error() == Some(libc::ESRCH) => continue,
                Err(e) => return Err(e),
            };
            let Some(stat) = parse_stat(&stat) else {
                return Err(std::io::Error::other(format!(
                    "/proc/{pid}/stat unreadable"
                )));
            };
            processes.push(Process {
                pid,
                ppid: stat.ppid,
                name: stat.name,
                zombie: stat.state == b'Z',
                start: stat.start,
            });
        }
        Ok(Table(processes))
    }

    fn children_of(&self, parent: i32) -> impl Iterator<Item = &Process> {
        self.0.iter().filter(move |p| p.ppid == parent)
    }

    /// Every descendant of `root`, but the `spared` children and theirs.
    fn descendants(&self, root: i32, spared: &[(i32, u64)]) -> Vec<Process> {
        let mut by_parent: HashMap<i32, Vec<&Process>> = HashMap::new();
        for p in &self.0 {
            by_parent.entry(p.ppid).or_default().push(p);
        }
        let mut out = Vec::new();
        let mut queue = vec![root];
        while let Some(parent) = queue.pop() {
            for &p in by_parent.get(&parent).into_iter().flatten() {
                if parent == root && spared.contains(&(p.pid, p.start)) {
                    continue;
                }
                // A pid is its own parent only for the kernel's idle task.
                if p.pid != parent {
                    queue.push(p.pid);
                    out.push(p.clone());
                }
            }
        }
        out
    }
}

/// Whether `/proc` is mounted with `hidepid` (other than 0), from
/// `/proc/self/mountinfo`.
fn hides_processes(mountinfo: &str) -> bool {
    mountinfo.lines().any(|line| {
        let Some((mount, fs)) = line.split_once(" - ") else {
            return false;
        };
        let at_proc = mount.split(' ').nth(4) == Some("/proc");
        let mut fs = fs.split(' ');
        let is_proc = fs.next() == Some("proc");
        let options = fs.nth(1).unwrap_or("");
        at_proc
            && is_proc
            && options.split(',').any(|o| {
                o.strip_prefix("hidepid=")
                    .is_some_and(|v| v != "0" && v != "off")
            })
    })
}

/// What deep-review reads of a `/proc/PID/stat` line.
#[derive(Debug, PartialEq)]
struct Stat {
    ppid: i32,
    name: String,
    state: u8,
    start: u64,
}

/// The parent, name, state and start time in a `/proc/PID/stat` line. The
/// name is the process's own choice (up to 15 bytes, any of them): it is
/// read between the first `(` and the last `)`, and only letters, digits
/// and `-_.` are kept, for it ends up in messages.
fn parse_stat(stat: &[u8]) -> Option<Stat> {
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
    // Fields 3 on, from the state: the parent is the 4th, the start time
    // the 22nd (proc(5)).
    let fields: Vec<&[u8]> = stat
        .get(close + 1..)?
        .split(|&b| b == b' ')
        .skip(1)
        .collect();
    let number = |i: usize| -> Option<u64> {
        std::str::from_utf8(fields.get(i)?)
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    Some(Stat {
        state: *fields.first()?.first()?,
        ppid: i32::try_from(number(1)?).ok()?,
        start: number(19)?,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stat line as the kernel writes it, but for the fields that matter.
    fn line(pid: i32, name: &str, state: char, ppid: i32, start: u64) -> Vec<u8> {
        format!(
            "{pid} ({name}) {state} {ppid} {pid} {pid} 0 -1 4194560 95 0 0 0 0 0 0 0 20 0 1 0 {start} 2347008 200 18446744073709551615\n"
        )
        .into_bytes()
    }

    #[test]
    fn a_stat_line_gives_parent_name_state_and_start_whatever_the_name_holds() {
        let stat = |ppid, name: &str, state, start| Stat {
            ppid,
            name: name.into(),
            state,
            start,
        };
        assert_eq!(
            parse_stat(&line(4242, "sleep", 'S', 17, 123456)),
            Some(stat(17, "sleep", b'S', 123456))
        );
        // A name may hold spaces and parentheses: the last ')' ends it.
        assert_eq!(
            parse_stat(&line(4243, "a) Z 1 (b", 'R', 99, 7)),
            Some(stat(99, "a??Z?1??b", b'R', 7))
        );
        assert_eq!(
            parse_stat(&line(4244, "\u{1b}[31mx\n", 'Z', 5, 8)),
            Some(stat(5, "??31mx?", b'Z', 8))
        );
        assert_eq!(parse_stat(b"4245 (x S 5"), None);
        assert_eq!(parse_stat(b"4246 (x) S"), None);
        assert_eq!(parse_stat(b"4247 (x) S notanumber"), None);
        assert_eq!(parse_stat(b"4248 (x) S 5 1 1 0"), None, "no start time");
    }

    fn process(pid: i32, ppid: i32, start: u64) -> Process {
        Process {
            pid,
            ppid,
            name: format!("p{pid}"),
            zombie: false,
            start,
        }
    }

    #[test]
    fn descendants_are_every_level_below_but_the_spared_children_and_theirs() {
        let table = Table(vec![
            process(1, 0, 1),
            process(10, 1, 1), // us
            process(11, 10, 5),
            process(12, 11, 6),
            process(13, 12, 7),
            process(20, 10, 2), // a wrapper's helper, there before us
            process(21, 20, 3),
            process(30, 10, 9), // the helper's pid, reused since
            process(40, 1, 4),
        ]);
        let mut pids: Vec<i32> = table
            .descendants(10, &[(20, 2), (30, 8)])
            .iter()
            .map(|p| p.pid)
            .collect();
        pids.sort();
        assert_eq!(pids, [11, 12, 13, 30]);
        assert_eq!(
            table.children_of(10).map(|p| p.pid).collect::<Vec<_>>(),
            [11, 20, 30]
        );
    }

    #[test]
    fn a_proc_mounted_with_hidepid_is_not_trusted_to_show_everything() {
        let line = |opts: &str| {
            format!(
                "22 1 0:21 / /sys rw - sysfs sysfs rw\n\
                 25 1 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:13 - proc proc {opts}\n"
            )
        };
        assert!(!hides_processes(&line("rw")));
        assert!(!hides_processes(&line("rw,hidepid=0")));
        assert!(!hides_processes(&line("rw,hidepid=off,subset=pid")));
        assert!(hides_processes(&line("rw,hidepid=2")));
        assert!(hides_processes(&line("rw,hidepid=invisible")));
        assert!(hides_processes(&line("rw,hidepid=noaccess,gid=5")));
        // Another proc mount elsewhere says nothing of /proc.
        assert!(!hides_processes(
            "30 1 0:40 / /srv/proc rw - proc proc rw,hidepid=2\n"
        ));
    }

    #[test]
    fn this_processs_table_is_read_from_its_own_proc() {
        let table = Table::read().unwrap();
        let me = std::process::id() as i32;
        let own = table.0.iter().find(|p| p.pid == me).unwrap();
        assert!(!own.zombie);
        assert!(own.start > 0);
    }

    #[test]
    fn without_adopting_orphans_a_sweep_knows_nothing() {
        // Unit tests never adopt: a sweep here would kill other tests'
        // children.
        assert_eq!(sweep(), None);
    }
}
