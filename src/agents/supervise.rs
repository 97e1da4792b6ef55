//! Running agent CLIs as supervised child processes.
//!
//! Each agent gets its own process group (so a timeout or Ctrl-C reaches
//! every process it started), a closed stdin, and both outputs drained at
//! once. Every stdout byte (stdout is a file the CLI writes, see `spool`)
//! is appended to `events.jsonl` as it arrives and every stderr byte to
//! `stderr.log`, so a crash loses nothing; only counters and the final
//! answer stay in memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::events::{Event, Tally};
use super::install::install_hint;
use super::invocation::ReviewJob;
use super::outcome::{Outcome, Status, Stopped, classify};
use super::pump::{Backlog, MAX_LINE, Pumped, Stop, pump_lines, pump_tail};
use crate::domain::Protocol;
use crate::progress::{AgentProgress, Progress, ProgressEvent};
use crate::sandbox::RunPolicy;
use crate::sandbox::redact::Redactor;

/// GitHub credentials never reach an agent, whatever the configuration.
pub const ALWAYS_STRIPPED: &[&str] = crate::sandbox::env::NEVER;

/// The keeper (`sh -c KEEPER deep-review-agent CLI ARGS…`): starts the CLI
/// in its process group, passes its exit status on, survives the group's
/// SIGTERM (the CLI gets it and decides), and on SIGUSR1 — sent by the
/// kernel when deep-review dies — SIGKILLs the whole group. Its traps are
/// handlers, which exec resets, so the CLI starts with default dispositions
/// (but SIGINT and SIGQUIT, which sh ignores for a background command; the
/// group is stopped with SIGTERM and SIGKILL).
pub(super) const KEEPER: &str = r#"trap 'kill -9 0' USR1
trap ':' TERM INT HUP
"$@" &
pid=$!
while :; do
  wait "$pid"
  status=$?
  kill -0 "$pid" 2>/dev/null || exit "$status"
done"#;

/// The process groups of the agents running now, so that a second
/// interrupt can kill them all at once ([`kill_all_now`]).
static LIVE: std::sync::Mutex<Vec<(i32, PathBuf)>> = std::sync::Mutex::new(Vec::new());

/// SIGKILLs every running agent's process group, and every process that
/// left one, and waits for them to be gone: for leaving at once, with
/// nothing behind.
pub fn kill_all_now() {
    let groups: Vec<(i32, PathBuf)> = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for (pgid, _) in &groups {
        kill_group(Some(*pgid), nix::sys::signal::Signal::SIGKILL);
    }
    // The sweep kills every descendant and reaps without waiting for ever
    // (a leader held by a tracer that escaped its group would make a plain
    // wait hang); without orphans adopted, each leader is waited for.
    if super::leftovers::sweep().is_none() {
        for (pgid, _) in &groups {
            // The leader is our child and its pid is the group's id.
            let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(*pgid), None);
        }
    }
    for (_, private) in groups {
        // Its private area holds copies of logins: not to be left behind.
        let _ = std::fs::remove_dir_all(private);
    }
}

/// Removes an agent's private area when the run of it ends, however it
/// ends (the group is dead by then). `remove_dir_all` does not follow
/// symlinks the agent may have left there.
struct RemovedAfter(PathBuf);

impl Drop for RemovedAfter {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Keeps a group in [`LIVE`] while its agent runs.
struct Registered(Option<i32>);

impl Registered {
    fn new(pgid: Option<i32>, private: &Path) -> Registered {
        if let (Some(pgid), Ok(mut live)) = (pgid, LIVE.lock()) {
            live.push((pgid, private.to_path_buf()));
        }
        Registered(pgid)
    }
}

impl Drop for Registered {
    fn drop(&mut self) {
        if let (Some(pgid), Ok(mut live)) = (self.0, LIVE.lock()) {
            live.retain(|(p, _)| *p != pgid);
        }
    }
}

/// One agent to run: which CLI, with what settings.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub name: String,
    pub display_name: String,
    pub protocol: Protocol,
    pub binary: String,
    pub timeout: Duration,
    /// Inherited variables this agent gets besides the allowlist.
    pub pass_env: Vec<String>,
}

/// How agents are run, the same for all of them.
#[derive(Debug, Clone)]
pub struct Supervision {
    /// Where the agents work (the review worktree).
    pub workdir: PathBuf,
    /// Environment variables removed besides [`ALWAYS_STRIPPED`].
    pub strip_env: Vec<String>,
    /// Variables set on every agent on top of the allowed part of the
    /// inherited environment (wrappers, tests).
    pub env: Vec<(String, String)>,
    /// The OS sandbox: Landlock's ABI and the run's part of the policy;
    /// `None` runs agents unconfined.
    pub sandbox: Option<(u32, RunPolicy)>,
    /// Secret values replaced in everything stored from an agent.
    pub redactor: Redactor,
    /// Where each agent gets its private, throwaway area (`NAME/tmp`, its
    /// CLI's state copy): outside the run directory, which may be uploaded,
    /// and removed when the agent is done.
    pub private_root: PathBuf,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    pub cancel: CancellationToken,
}

/// Runs one agent to completion (or timeout, or cancellation). Output goes
/// to `dir/events.jsonl` and `dir/stderr.log`.
pub async fn run(
    spec: &AgentSpec,
    job: &ReviewJob,
    dir: &Path,
    supervision: &Supervision,
    progress: Arc<dyn Progress>,
) -> Outcome {
    let started = Instant::now();
    let report = |update: AgentProgress| {
        progress.event(ProgressEvent::Agent {
            name: spec.name.clone(),
            label: label(spec, job),
            update,
        })
    };
    let mut tally = Tally::default();
    let finish = |tally: &Tally, status: Status, message: Option<String>, exit: Option<i32>| {
        let outcome = outcome(spec, job, tally, status, message, exit, started.elapsed());
        report(AgentProgress::Finished {
            status: outcome.status,
            detail: outcome.message.clone(),
            elapsed: started.elapsed(),
        });
        outcome
    };
    let mut agent = match start(spec, job, dir, supervision) {
        Ok(agent) => agent,
        Err((status, message)) => return finish(&tally, status, Some(message), None),
    };
    report(AgentProgress::Started);
    let mut last_counts = (0, 0);
    let (exit, stopped) = agent
        .wait(spec, supervision, |event| {
            tally.apply(event);
            let counts = (tally.total_tool_calls(), tally.tokens().total());
            if counts != last_counts {
                last_counts = counts;
                report(AgentProgress::Working {
                    tool_calls: counts.0,
                    tokens: counts.1,
                });
            }
        })
        .await;
    // Whatever the leader did, nothing it started may outlive it.
    kill_group(agent.pgid, nix::sys::signal::Signal::SIGKILL);
    let drained = agent
        .drain((dir, supervision.grace), spec.protocol, |event| {
            tally.apply(event)
        })
        .await;
    while let Ok(line) = agent.lines.try_recv() {
        for event in super::parse_line(spec.protocol, &line) {
            tally.apply(event);
        }
        agent.backlog.give(line.len());
    }
    // The group is dead: a refreshed login may go back to the user's.
    if supervision.sandbox.is_some() {
        let _ = crate::sandbox::state::write_back(spec.protocol, &agent.user_env, &agent.private.0);
    }
    let lost = drained.lost.or_else(|| {
        (tally.after_final > 0).then(|| {
            format!(
                "{} event(s) came after the agent's final one and were ignored (something wrote to its output)",
                tally.after_final
            )
        })
    });
    let exit_code = exit.and_then(|s| s.code());
    let (status, message) = classify(
        spec.protocol,
        &tally,
        exit_code,
        stopped,
        &drained.stderr_tail,
    );
    // Output that was lost is the cause, whatever the CLI's stderr says.
    let lost = lost.or(drained.stderr_error);
    match lost {
        Some(why) if stopped.is_none() => finish(&tally, Status::Failed, Some(why), exit_code),
        _ => finish(&tally, status, message, exit_code),
    }
}

/// An agent started under supervision: its process group, its pumps, its
/// private area (removed when this is dropped).
struct Running {
    child: Child,
    pgid: Option<i32>,
    /// stdout's lines, parsed here rather than on the reader's thread,
    /// which must keep the pipe empty.
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    backlog: Arc<Backlog>,
    stdout_task: tokio::sync::oneshot::Receiver<Pumped>,
    stderr_task: tokio::sync::oneshot::Receiver<(String, Option<std::io::Error>)>,
    /// Tells the pipe readers to stop writing, once they are given up on.
    stop: Stop,
    /// Tells the stdout follower that the writer is gone.
    finish: super::spool::Finish,
    /// Where the CLI's own state lives, before it was pointed at the copy.
    user_env: Vec<(String, String)>,
    _registered: Registered,
    private: RemovedAfter,
}

/// What draining the pipes after the group's end left.
struct Drained {
    /// Why output was lost, if it was.
    lost: Option<String>,
    stderr_tail: String,
    stderr_error: Option<String>,
}

/// Starts the agent: its files, private area, environment, sandbox and
/// process. A failure is the status and message the agent ends with.
fn start(
    spec: &AgentSpec,
    job: &ReviewJob,
    dir: &Path,
    supervision: &Supervision,
) -> Result<Running, (Status, String)> {
    let failed = |message: String| (Status::Failed, message);
    let program = super::locate(&spec.binary).ok_or_else(|| {
        let hint = install_hint(spec.protocol);
        (
            Status::NotInstalled,
            format!("`{}` not found; {hint}", spec.binary),
        )
    })?;
    let invocation = super::invocation(spec.protocol, job, supervision.sandbox.is_some());
    let (events_file, stderr_file) = write_files(dir, &invocation.files)
        .map_err(|e| failed(format!("cannot write to {}: {e}", dir.display())))?;
    let private = RemovedAfter(supervision.private_root.join(&spec.name));
    let tmp = private.0.join("tmp");
    {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&tmp)
    }
    .map_err(|e| failed(format!("cannot create {}: {e}", tmp.display())))?;
    let mut env = agent_env(spec, supervision, &invocation.env, &tmp);
    let user_env = env.clone();
    if supervision.sandbox.is_some() {
        let overrides =
            crate::sandbox::state::prepare(spec.protocol, &env, &private.0).map_err(|e| {
                failed(format!(
                    "cannot prepare the CLI's private state in {}: {e}",
                    private.0.display()
                ))
            })?;
        for (k, v) in overrides {
            env.retain(|(name, _)| *name != k);
            env.push((k, v));
        }
    }
    // Kept alive until the child has started: it holds the ruleset's fd.
    let ruleset = match &supervision.sandbox {
        None => None,
        Some((abi, run)) => {
            let mut policy = crate::sandbox::agent_policy(run, spec.protocol, &program, &env, &tmp);
            // The prompt folder, and the files written for the CLI itself.
            policy.read.extend(job.read_dirs.iter().cloned());
            policy.read.extend(
                invocation
                    .files
                    .iter()
                    .filter_map(|(p, _)| p.parent().map(Path::to_path_buf)),
            );
            Some(
                policy
                    .ruleset(*abi)
                    .map_err(|e| failed(format!("cannot set up the sandbox: {e}")))?,
            )
        }
    };
    let (stdout, follow, finish) = super::spool::create(&private.0.join("stdout"))
        .map_err(|e| failed(format!("cannot create the agent's output file: {e}")))?;
    let mut command = keeper_command(
        &program,
        &invocation.args,
        &supervision.workdir,
        &env,
        stdout,
    );
    confine(&mut command, ruleset.as_ref().map(|r| r.raw_fd()));
    let mut child = command.spawn().map_err(|e| {
        let status = if e.kind() == std::io::ErrorKind::NotFound {
            Status::NotInstalled
        } else {
            Status::Failed
        };
        (status, format!("cannot start {}: {e}", program.display()))
    })?;
    drop(ruleset);
    let pgid = child.id().map(|id| id as i32);
    // Started: a failure from here on takes the whole group down with it.
    let failed_pipe = |e: std::io::Error| {
        kill_group(pgid, nix::sys::signal::Signal::SIGKILL);
        failed(format!("cannot read the agent's output: {e}"))
    };
    // Only the child holds the spool's writing end now.
    drop(command);
    let stderr = std::fs::File::from(
        child
            .stderr
            .take()
            .expect("stderr is piped")
            .into_owned_fd()
            .map_err(failed_pipe)?,
    );
    let (tx, lines) = tokio::sync::mpsc::unbounded_channel::<String>();
    let backlog = Arc::new(Backlog::default());
    let queued = backlog.clone();
    let redactor = supervision.redactor.clone();
    let stop = Stop::default();
    let halt = stop.clone();
    let stdout_task = on_thread("stdout", move || {
        pump_lines(follow, events_file, redactor, halt, move |line| {
            queued.take(line.len());
            let _ = tx.send(line.to_string());
        })
    })
    .map_err(failed_pipe)?;
    let (redactor, halt) = (supervision.redactor.clone(), stop.clone());
    let stderr_task = on_thread("stderr", move || {
        pump_tail(stderr, stderr_file, redactor, halt)
    })
    .map_err(failed_pipe)?;
    Ok(Running {
        child,
        pgid,
        lines,
        backlog,
        stdout_task,
        stderr_task,
        stop,
        finish,
        user_env,
        _registered: Registered::new(pgid, &private.0),
        private,
    })
}

/// Runs a pipe reader on a thread of its own: not the runtime's blocking
/// pool, which would wait at exit for a reader blocked on a pipe that an
/// escaped process holds open.
fn on_thread<T: Send + 'static>(
    name: &str,
    work: impl FnOnce() -> T + Send + 'static,
) -> std::io::Result<tokio::sync::oneshot::Receiver<T>> {
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!("agent-{name}"))
        .spawn(move || {
            let _ = tx.send(work());
        })?;
    Ok(rx)
}

/// The files the CLI is given, and the two its output is streamed to.
fn write_files(
    dir: &Path,
    files: &[(PathBuf, String)],
) -> std::io::Result<(std::fs::File, std::fs::File)> {
    std::fs::create_dir_all(dir)?;
    for (path, contents) in files {
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::write(path, contents)?;
    }
    let events = std::fs::File::create(dir.join("events.jsonl"))?;
    let stderr = std::fs::File::create(dir.join("stderr.log"))?;
    Ok((events, stderr))
}

/// The group's leader is a keeper shell that runs the CLI and, should
/// deep-review die without cleaning up (SIGKILL), kills the whole group:
/// a CLI's own children (Codex's binary, Gemini's relaunched Node) would
/// otherwise outlive it.
fn keeper_command(
    program: &Path,
    args: &[String],
    workdir: &Path,
    env: &[(String, String)],
    stdout: std::fs::File,
) -> Command {
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", KEEPER, "deep-review-agent"])
        .arg(program)
        .args(args)
        .current_dir(workdir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::from(stdout))
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    command
}

/// The largest file an agent's processes may write (its stdout included).
const MAX_FILE: libc::rlim_t = 8 << 30;

/// What the child does between fork and exec: a session of its own (its
/// own process group, what timeouts and cancellation signal, and no
/// controlling terminal to type into), a death signal from deep-review,
/// and the Landlock ruleset.
fn confine(command: &mut Command, ruleset_fd: Option<i32>) {
    let parent = std::process::id() as i32;
    // Never above what the process may already have: an unprivileged
    // process cannot raise its hard limit.
    let max_file = {
        let mut current = libc::rlimit {
            rlim_cur: libc::RLIM_INFINITY,
            rlim_max: libc::RLIM_INFINITY,
        };
        // SAFETY: getrlimit fills the struct we own.
        unsafe { libc::getrlimit(libc::RLIMIT_FSIZE, &mut current) };
        MAX_FILE.min(current.rlim_max).min(current.rlim_cur)
    };
    // SAFETY: the closure makes system calls only and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // The keeper hears of deep-review's death, even a SIGKILLed one.
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGUSR1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            // Its stdout is a file now, not a pipe that fills: a runaway
            // writer (one that escaped the group included) stops at
            // SIGXFSZ instead of filling the disk.
            let limit = libc::rlimit {
                rlim_cur: max_file,
                rlim_max: max_file,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &limit) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            match ruleset_fd {
                Some(fd) => crate::sandbox::landlock::restrict_self(fd),
                None => Ok(()),
            }
        });
    }
}

impl Running {
    /// Until the leader exits, the timeout passes or the run is cancelled;
    /// events go to `on_event` as they come.
    async fn wait(
        &mut self,
        spec: &AgentSpec,
        supervision: &Supervision,
        mut on_event: impl FnMut(Event),
    ) -> (Option<std::process::ExitStatus>, Option<Stopped>) {
        let deadline = tokio::time::sleep(spec.timeout);
        tokio::pin!(deadline);
        loop {
            tokio::select! {
                status = self.child.wait() => return (status.ok(), None),
                Some(line) = self.lines.recv() => {
                    for event in super::parse_line(spec.protocol, &line) {
                        on_event(event);
                    }
                    self.backlog.give(line.len());
                }
                () = &mut deadline => {
                    let exit = terminate(&mut self.child, self.pgid, supervision.grace).await;
                    return (exit, Some(Stopped::Timeout(spec.timeout)));
                }
                () = supervision.cancel.cancelled() => {
                    let exit = terminate(&mut self.child, self.pgid, supervision.grace).await;
                    return (exit, Some(Stopped::Cancelled));
                }
            }
        }
    }

    /// The group is dead; a process that left it (setsid) could still hold
    /// the pipes open, to hang the run or to feed it. Its output gets the
    /// grace period, then it is cut off.
    async fn drain(
        &mut self,
        (dir, grace): (&Path, Duration),
        protocol: Protocol,
        mut on_event: impl FnMut(Event),
    ) -> Drained {
        let events_path = dir.join("events.jsonl");
        // The group is gone: what its stdout file holds now is all there is.
        self.finish.finish();
        let deadline = tokio::time::sleep(grace);
        tokio::pin!(deadline);
        // Lines are still parsed meanwhile: a reader waiting for room in
        // the backlog must not be taken for one held open.
        let drained = loop {
            tokio::select! {
                done = &mut self.stdout_task => break Ok(done),
                Some(line) = self.lines.recv() => {
                    for event in super::parse_line(protocol, &line) {
                        on_event(event);
                    }
                    self.backlog.give(line.len());
                }
                () = &mut deadline => break Err(()),
            }
        };
        if drained.is_err() {
            // The readers block on the pipe; they stop at their next read.
            // One waiting for room in the backlog is let go: nothing parses
            // its lines any more.
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            self.backlog.give(usize::MAX);
        }
        let mut held_open = drained.is_err();
        let lost = match drained.unwrap_or(Ok(Pumped::default())) {
            Ok(Pumped {
                write_error: Some(e),
                ..
            }) => Some(format!("cannot write {}: {e}", events_path.display())),
            Ok(Pumped { too_long: 0, .. }) => None,
            Ok(Pumped { too_long: n, .. }) => Some(format!(
                "{n} event line(s) larger than {} MiB could not be read (kept in {})",
                MAX_LINE / (1024 * 1024),
                events_path.display()
            )),
            Err(e) => Some(format!("reading the agent's output failed: {e}")),
        };
        let stderr_drained = tokio::time::timeout(grace, &mut self.stderr_task).await;
        if stderr_drained.is_err() {
            self.stop.store(true, std::sync::atomic::Ordering::SeqCst);
            held_open = true;
        }
        let (stderr_tail, stderr_error) = match stderr_drained {
            Ok(Ok(pumped)) => pumped,
            _ => Default::default(),
        };
        let lost = match (lost, held_open) {
            (None, true) => Some(
                "a process the agent started outlived it and held its output open; output after the agent ended was ignored"
                    .to_string(),
            ),
            (lost, _) => lost,
        };
        Drained {
            lost,
            stderr_tail,
            stderr_error: stderr_error
                .map(|e| format!("cannot write {}: {e}", dir.join("stderr.log").display())),
        }
    }
}

/// The agent's whole environment: the allowed part of ours, then the
/// run's and the CLI's own settings, a private TMPDIR, and never a GitHub
/// credential or a `strip_env` name.
fn agent_env(
    spec: &AgentSpec,
    supervision: &Supervision,
    invocation_env: &[(String, String)],
    tmp: &Path,
) -> Vec<(String, String)> {
    let mut env = crate::sandbox::env::filter(spec.protocol, std::env::vars(), &spec.pass_env);
    env.extend(supervision.env.iter().cloned());
    env.extend(invocation_env.iter().cloned());
    env.push(("TMPDIR".into(), tmp.display().to_string()));
    if supervision.sandbox.is_some() {
        // The user's git configuration stays outside the sandbox (it may
        // carry credentials); git fails outright on one it cannot read.
        env.push(("GIT_CONFIG_GLOBAL".into(), "/dev/null".into()));
    }
    let stripped =
        |k: &str| ALWAYS_STRIPPED.contains(&k) || supervision.strip_env.iter().any(|s| s == k);
    // The last setting of a name wins, as with `Command::env`.
    let mut out: Vec<(String, String)> = Vec::new();
    for (k, v) in env {
        if stripped(&k) {
            continue;
        }
        match out.iter_mut().find(|(name, _)| *name == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    out
}

fn label(spec: &AgentSpec, job: &ReviewJob) -> String {
    let model = job.model.as_deref().unwrap_or("default model");
    match &job.effort {
        Some(effort) => format!("{} {model} ({effort})", spec.display_name),
        None => format!("{} {model}", spec.display_name),
    }
}

fn outcome(
    spec: &AgentSpec,
    job: &ReviewJob,
    tally: &Tally,
    status: Status,
    message: Option<String>,
    exit_code: Option<i32>,
    elapsed: Duration,
) -> Outcome {
    let finish = tally.finish.as_ref();
    let structured = finish.and_then(|f| f.structured.clone());
    let answer = structured
        .as_ref()
        .map(|v| v.to_string())
        .or_else(|| {
            finish
                .and_then(|f| f.result.clone())
                .filter(|r| !r.trim().is_empty())
        })
        .or_else(|| (!tally.text.trim().is_empty()).then(|| tally.text.clone()));
    Outcome {
        name: spec.name.clone(),
        display_name: spec.display_name.clone(),
        protocol: spec.protocol,
        model: job.model.clone(),
        reported_model: tally.served_model.clone().or_else(|| tally.model.clone()),
        effort: job.effort.clone(),
        status,
        message,
        duration_ms: elapsed.as_millis() as u64,
        exit_code,
        tool_calls: tally.tool_calls.clone(),
        denied_calls: tally
            .denied_calls
            .max(finish.map_or(0, |f| f.denials.len() as u64)),
        tokens: tally.tokens(),
        cost_usd: finish.and_then(|f| f.cost_usd),
        files_opened: tally.files_opened.clone(),
        answer,
        structured,
        retries: tally.retries,
        unknown_events: tally.unknown_events,
        garbage_lines: tally.garbage_lines,
    }
}

/// SIGTERM to the group, then SIGKILL if it has not exited in `grace`.
async fn terminate(
    child: &mut Child,
    pgid: Option<i32>,
    grace: Duration,
) -> Option<std::process::ExitStatus> {
    kill_group(pgid, nix::sys::signal::Signal::SIGTERM);
    match tokio::time::timeout(grace, child.wait()).await {
        Ok(status) => status.ok(),
        Err(_) => {
            kill_group(pgid, nix::sys::signal::Signal::SIGKILL);
            // A killed leader whose end is still not reported is held by a
            // tracer outside the group (a process that escaped it attached
            // to the keeper): the run goes on, and the end-of-run sweep
            // kills the tracer and reaps the leader.
            tokio::time::timeout(grace, child.wait())
                .await
                .ok()
                .and_then(Result::ok)
        }
    }
}

fn kill_group(pgid: Option<i32>, signal: nix::sys::signal::Signal) {
    if let Some(pgid) = pgid.filter(|p| *p > 0) {
        // ESRCH (the group is already gone) is the normal case here.
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), signal);
    }
}
