//! Running agent CLIs as supervised child processes.
//!
//! Each agent gets its own process group (so a timeout or Ctrl-C reaches
//! every process it started), a closed stdin, and both pipes drained at
//! once. Every stdout byte is appended to `events.jsonl` as it arrives and
//! every stderr byte to `stderr.log`, so a crash loses nothing; only
//! counters and the final answer stay in memory.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::events::{Event, Tally};
use super::install::install_hint;
use super::invocation::ReviewJob;
use super::outcome::{Outcome, Status, Stopped, classify};
use crate::domain::Protocol;
use crate::progress::{AgentProgress, Progress, ProgressEvent};
use crate::sandbox::RunPolicy;
use crate::sandbox::redact::Redactor;

/// GitHub credentials never reach an agent, whatever the configuration.
pub const ALWAYS_STRIPPED: &[&str] = crate::sandbox::env::NEVER;

/// A line longer than this is written to disk but not parsed.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// The keeper (`sh -c KEEPER deep-review-agent CLI ARGS…`): starts the CLI
/// in its process group, passes its exit status on, survives the group's
/// SIGTERM (the CLI gets it and decides), and on SIGUSR1 — sent by the
/// kernel when deep-review dies — SIGKILLs the whole group. Its traps are
/// handlers, which exec resets, so the CLI starts with default dispositions
/// (but SIGINT and SIGQUIT, which sh ignores for a background command; the
/// group is stopped with SIGTERM and SIGKILL).
const KEEPER: &str = r#"trap 'kill -9 0' USR1
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

/// SIGKILLs every running agent's process group and waits for each
/// group's leader to be gone: for leaving at once, with nothing behind.
pub fn kill_all_now() {
    let groups: Vec<(i32, PathBuf)> = LIVE.lock().map(|l| l.clone()).unwrap_or_default();
    for (pgid, _) in &groups {
        kill_group(Some(*pgid), nix::sys::signal::Signal::SIGKILL);
    }
    for (pgid, private) in groups {
        // The leader is our child and its pid is the group's id.
        let _ = nix::sys::wait::waitpid(nix::unistd::Pid::from_raw(pgid), None);
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

    let Some(program) = super::locate(&spec.binary) else {
        let message = format!(
            "`{}` not found; {}",
            spec.binary,
            install_hint(spec.protocol)
        );
        return finish(&tally, Status::NotInstalled, Some(message), None);
    };
    let invocation = super::invocation(spec.protocol, job, supervision.sandbox.is_some());
    let prepared = async {
        tokio::fs::create_dir_all(dir).await?;
        for (path, contents) in &invocation.files {
            if let Some(parent) = path.parent() {
                tokio::fs::create_dir_all(parent).await?;
            }
            tokio::fs::write(path, contents).await?;
        }
        let events = tokio::fs::File::create(dir.join("events.jsonl")).await?;
        let stderr = tokio::fs::File::create(dir.join("stderr.log")).await?;
        std::io::Result::Ok((events, stderr))
    }
    .await;
    let (events_file, stderr_file) = match prepared {
        Ok(files) => files,
        Err(e) => {
            let message = format!("cannot write to {}: {e}", dir.display());
            return finish(&tally, Status::Failed, Some(message), None);
        }
    };

    let private = supervision.private_root.join(&spec.name);
    let _private = RemovedAfter(private.clone());
    let tmp = private.join("tmp");
    let created = {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&tmp)
    };
    if let Err(e) = created {
        let message = format!("cannot create {}: {e}", tmp.display());
        return finish(&tally, Status::Failed, Some(message), None);
    }
    let mut env = agent_env(spec, supervision, &invocation.env, &tmp);
    // Where the CLI's own state lives, before it is pointed at the copy.
    let user_env = env.clone();
    if supervision.sandbox.is_some() {
        match crate::sandbox::state::prepare(spec.protocol, &env, &private) {
            Ok(overrides) => {
                for (k, v) in overrides {
                    env.retain(|(name, _)| *name != k);
                    env.push((k, v));
                }
            }
            Err(e) => {
                let message = format!(
                    "cannot prepare the CLI's private state in {}: {e}",
                    private.display()
                );
                return finish(&tally, Status::Failed, Some(message), None);
            }
        }
    }
    // The group's leader is a keeper shell that runs the CLI and, should
    // deep-review die without cleaning up (SIGKILL), kills the whole group:
    // a CLI's own children (Codex's binary, Gemini's relaunched Node) would
    // otherwise outlive it.
    let mut command = Command::new("/bin/sh");
    command
        .args(["-c", KEEPER, "deep-review-agent"])
        .arg(&program)
        .args(&invocation.args)
        .current_dir(&supervision.workdir)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
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
            let ruleset = match policy.ruleset(*abi) {
                Ok(r) => r,
                Err(e) => {
                    let message = format!("cannot set up the sandbox: {e}");
                    return finish(&tally, Status::Failed, Some(message), None);
                }
            };
            Some(ruleset)
        }
    };
    let ruleset_fd = ruleset.as_ref().map(|r| r.raw_fd());
    let parent = std::process::id() as i32;
    // SAFETY: the closure makes system calls only and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            // A session of its own: its own process group (what timeouts
            // and cancellation signal), and no controlling terminal to
            // type into.
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
            match ruleset_fd {
                Some(fd) => crate::sandbox::landlock::restrict_self(fd),
                None => Ok(()),
            }
        });
    }
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            let status = if e.kind() == std::io::ErrorKind::NotFound {
                Status::NotInstalled
            } else {
                Status::Failed
            };
            let message = format!("cannot start {}: {e}", program.display());
            return finish(&tally, status, Some(message), None);
        }
    };
    drop(ruleset);
    report(AgentProgress::Started);
    let pgid = child.id().map(|id| id as i32);
    let _registered = Registered::new(pgid, &private);
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let protocol = spec.protocol;
    let redactor = supervision.redactor.clone();
    let stdout_task = tokio::spawn(pump_lines(stdout, events_file, redactor, move |line| {
        for event in super::parse_line(protocol, line) {
            let _ = tx.send(event);
        }
    }));
    let stderr_task = tokio::spawn(pump_tail(stderr, stderr_file, supervision.redactor.clone()));

    let deadline = tokio::time::sleep(spec.timeout);
    tokio::pin!(deadline);
    let mut stopped = None;
    let mut last_counts = (0, 0);
    let exit = loop {
        tokio::select! {
            status = child.wait() => break status.ok(),
            Some(event) = rx.recv() => {
                tally.apply(event);
                let counts = (tally.total_tool_calls(), tally.tokens().total());
                if counts != last_counts {
                    last_counts = counts;
                    report(AgentProgress::Working { tool_calls: counts.0, tokens: counts.1 });
                }
            }
            () = &mut deadline, if stopped.is_none() => {
                stopped = Some(Stopped::Timeout(spec.timeout));
                break terminate(&mut child, pgid, supervision.grace).await;
            }
            () = supervision.cancel.cancelled(), if stopped.is_none() => {
                stopped = Some(Stopped::Cancelled);
                break terminate(&mut child, pgid, supervision.grace).await;
            }
        }
    };
    // Whatever the leader did, nothing it started may outlive it.
    kill_group(pgid, nix::sys::signal::Signal::SIGKILL);
    let events_path = dir.join("events.jsonl");
    // The group is dead; a process that left it (setsid) could still hold
    // the pipes open, to hang the run or to feed it. Its output gets the
    // grace period, then it is cut off.
    let mut stdout_task = stdout_task;
    let stderr_task = stderr_task;
    let drained = tokio::time::timeout(supervision.grace, &mut stdout_task).await;
    if drained.is_err() {
        stdout_task.abort();
        stderr_task.abort();
    }
    let held_open = drained.is_err();
    let stdout_result = match drained {
        Ok(result) => result,
        Err(_) => Ok(Pumped::default()),
    };
    let lost = match stdout_result {
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
    let mut stderr_task = stderr_task;
    let stderr_drained = tokio::time::timeout(supervision.grace, &mut stderr_task).await;
    if stderr_drained.is_err() {
        stderr_task.abort();
    }
    let held_open = held_open || stderr_drained.is_err();
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
    while let Ok(event) = rx.try_recv() {
        tally.apply(event);
    }
    // The group is dead: a refreshed login may go back to the user's.
    if supervision.sandbox.is_some() {
        let _ = crate::sandbox::state::write_back(spec.protocol, &user_env, &private);
    }
    let lost = lost.or_else(|| {
        (tally.after_final > 0).then(|| {
            format!(
                "{} event(s) came after the agent's final one and were ignored (something wrote to its output)",
                tally.after_final
            )
        })
    });
    let exit_code = exit.and_then(|s| s.code());
    let (status, message) = classify(spec.protocol, &tally, exit_code, stopped, &stderr_tail);
    // Output that was lost is the cause, whatever the CLI's stderr says.
    let lost =
        lost.or(
            stderr_error.map(|e| format!("cannot write {}: {e}", dir.join("stderr.log").display()))
        );
    match lost {
        Some(why) if stopped.is_none() => finish(&tally, Status::Failed, Some(why), exit_code),
        _ => finish(&tally, status, message, exit_code),
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
            child.wait().await.ok()
        }
    }
}

fn kill_group(pgid: Option<i32>, signal: nix::sys::signal::Signal) {
    if let Some(pgid) = pgid.filter(|p| *p > 0) {
        // ESRCH (the group is already gone) is the normal case here.
        let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(pgid), signal);
    }
}

/// What reading an agent's stdout came to.
#[derive(Debug, Default)]
struct Pumped {
    /// Lines over [`MAX_LINE`]: on disk, not parsed.
    too_long: u64,
    /// The first error writing `events.jsonl`; reading goes on regardless,
    /// so the CLI never blocks on a full pipe.
    write_error: Option<std::io::Error>,
}

/// Copies `reader` to `file` line by line as bytes arrive, secrets
/// redacted, and hands each complete line (up to [`MAX_LINE`]) to
/// `on_line`. A longer line is written in pieces as it comes and not
/// parsed.
async fn pump_lines(
    reader: impl AsyncRead + Unpin,
    mut file: tokio::fs::File,
    redactor: Redactor,
    mut on_line: impl FnMut(&str),
) -> Pumped {
    let mut pumped = Pumped::default();
    let write = async |file: &mut tokio::fs::File, bytes: &[u8], pumped: &mut Pumped| {
        if pumped.write_error.is_none()
            && let Err(e) = file.write_all(bytes).await
        {
            pumped.write_error = Some(e);
        }
    };
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    let mut overflow = false;
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            line.extend_from_slice(&rest[..=pos]);
            let clean = redactor.redact(&line);
            write(&mut file, &clean, &mut pumped).await;
            if overflow {
                pumped.too_long += 1;
                on_line("<line too long to parse>");
            } else {
                on_line(&String::from_utf8_lossy(&clean[..clean.len() - 1]));
            }
            line.clear();
            overflow = false;
            rest = &rest[pos + 1..];
        }
        line.extend_from_slice(rest);
        if line.len() > MAX_LINE {
            overflow = true;
            let clean = redactor.redact(&line);
            write(&mut file, &clean, &mut pumped).await;
            line.clear();
        }
        let n = chunk.len();
        reader.consume(n);
    }
    if !line.is_empty() || overflow {
        let clean = redactor.redact(&line);
        write(&mut file, &clean, &mut pumped).await;
        if overflow {
            pumped.too_long += 1;
        } else {
            on_line(&String::from_utf8_lossy(&clean));
        }
    }
    if let Err(e) = file.flush().await {
        pumped.write_error.get_or_insert(e);
    }
    pumped
}

/// Copies `reader` to `file` line by line, secrets redacted, returning
/// the last few KiB for messages and the write error, if writing failed
/// (reading on, so the CLI never blocks on a full pipe).
async fn pump_tail(
    reader: impl AsyncRead + Unpin,
    mut file: tokio::fs::File,
    redactor: Redactor,
) -> (String, Option<std::io::Error>) {
    let mut write_error = None;
    const TAIL: usize = 8 * 1024;
    let mut reader = BufReader::new(reader);
    let mut tail: Vec<u8> = Vec::new();
    let mut line: Vec<u8> = Vec::new();
    loop {
        line.clear();
        // Bounded like the event stream: a stderr line without newlines is
        // written in pieces.
        let n = match (&mut reader)
            .take(MAX_LINE as u64)
            .read_until(b'\n', &mut line)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(n) => n,
        };
        let clean = redactor.redact(&line[..n]);
        if write_error.is_none()
            && let Err(e) = file.write_all(&clean).await
        {
            write_error = Some(e);
        }
        tail.extend_from_slice(&clean);
        if tail.len() > 2 * TAIL {
            tail.drain(..tail.len() - TAIL);
        }
    }
    if let Err(e) = file.flush().await {
        write_error.get_or_insert(e);
    }
    (String::from_utf8_lossy(&tail).into_owned(), write_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A full disk loses no line to the parser and is reported, not hidden.
    #[tokio::test]
    async fn a_write_error_is_kept_and_reading_goes_on() {
        let full = tokio::fs::File::options()
            .write(true)
            .open("/dev/full")
            .await
            .unwrap();
        let input: &[u8] = b"{\"a\":1}\n{\"b\":2}\nlast";
        let mut lines = Vec::new();
        let pumped = pump_lines(input, full, Redactor::default(), |l| {
            lines.push(l.to_string())
        })
        .await;
        assert_eq!(lines, ["{\"a\":1}", "{\"b\":2}", "last"]);
        assert_eq!(
            pumped.write_error.map(|e| e.raw_os_error()),
            Some(Some(libc::ENOSPC))
        );
    }

    #[tokio::test]
    async fn an_over_long_line_is_counted_and_kept_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let file = tokio::fs::File::create(&path).await.unwrap();
        let mut input = b"{\"ok\":1}\n".to_vec();
        // Past the cap by more than one read, so the cap is seen mid-line.
        input.extend(std::iter::repeat_n(b'x', MAX_LINE + 200_000));
        input.extend_from_slice(b"\n{\"after\":2}\n");
        let mut lines = Vec::new();
        let pumped = pump_lines(&input[..], file, Redactor::default(), |l| {
            lines.push(l.chars().take(30).collect::<String>())
        })
        .await;
        assert_eq!(pumped.too_long, 1);
        assert!(pumped.write_error.is_none());
        assert_eq!(
            lines,
            ["{\"ok\":1}", "<line too long to parse>", "{\"after\":2}"]
        );
        assert_eq!(std::fs::metadata(&path).unwrap().len(), input.len() as u64);
    }
}
