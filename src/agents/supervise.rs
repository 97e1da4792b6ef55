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

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};
use tokio_util::sync::CancellationToken;

use super::events::{Event, Tally};
use super::install::install_hint;
use super::invocation::ReviewJob;
use super::outcome::{Outcome, Status, Stopped, classify};
use crate::config::Protocol;
use crate::progress::{AgentProgress, Progress, ProgressEvent};

/// GitHub credentials never reach an agent, whatever the configuration.
pub const ALWAYS_STRIPPED: &[&str] = &[
    "GH_TOKEN",
    "GITHUB_TOKEN",
    "GH_ENTERPRISE_TOKEN",
    "GITHUB_ENTERPRISE_TOKEN",
];

/// A line longer than this is written to disk but not parsed.
const MAX_LINE: usize = 16 * 1024 * 1024;

/// One agent to run: which CLI, with what settings.
#[derive(Debug, Clone)]
pub struct AgentSpec {
    pub name: String,
    pub display_name: String,
    pub protocol: Protocol,
    pub binary: String,
    pub timeout: Duration,
}

/// How agents are run, the same for all of them.
#[derive(Debug, Clone)]
pub struct Supervision {
    /// Where the agents work (the review worktree).
    pub workdir: PathBuf,
    /// Environment variables removed besides [`ALWAYS_STRIPPED`].
    pub strip_env: Vec<String>,
    /// Variables set on every agent on top of the inherited environment
    /// (wrappers, tests).
    pub env: Vec<(String, String)>,
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
            status: outcome.status.name().to_string(),
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
    let invocation = super::invocation(spec.protocol, job);
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

    let mut command = Command::new(&program);
    command
        .args(&invocation.args)
        .current_dir(&supervision.workdir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(true);
    for (k, v) in supervision.env.iter().chain(&invocation.env) {
        command.env(k, v);
    }
    // Removed last, so no source of environment can bring them back.
    for var in ALWAYS_STRIPPED
        .iter()
        .copied()
        .chain(supervision.strip_env.iter().map(String::as_str))
    {
        command.env_remove(var);
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
    report(AgentProgress::Started);
    let pgid = child.id().map(|id| id as i32);
    let stdout = child.stdout.take().expect("stdout is piped");
    let stderr = child.stderr.take().expect("stderr is piped");

    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Event>();
    let protocol = spec.protocol;
    let stdout_task = tokio::spawn(pump_lines(stdout, events_file, move |line| {
        for event in super::parse_line(protocol, line) {
            let _ = tx.send(event);
        }
    }));
    let stderr_task = tokio::spawn(pump_tail(stderr, stderr_file));

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
    let _ = stdout_task.await;
    let stderr_tail = stderr_task.await.unwrap_or_default();
    while let Ok(event) = rx.try_recv() {
        tally.apply(event);
    }
    let exit_code = exit.and_then(|s| s.code());
    let (status, message) = classify(spec.protocol, &tally, exit_code, stopped, &stderr_tail);
    finish(&tally, status, message, exit_code)
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

/// Copies `reader` to `file` as bytes arrive and hands each complete line
/// (up to [`MAX_LINE`]) to `on_line`.
async fn pump_lines(
    reader: impl AsyncRead + Unpin,
    mut file: tokio::fs::File,
    mut on_line: impl FnMut(&str),
) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    let mut line: Vec<u8> = Vec::new();
    let mut overflow = false;
    loop {
        let chunk = reader.fill_buf().await?;
        if chunk.is_empty() {
            break;
        }
        file.write_all(chunk).await?;
        let mut rest = chunk;
        while let Some(pos) = rest.iter().position(|b| *b == b'\n') {
            if !overflow {
                line.extend_from_slice(&rest[..pos]);
                on_line(&String::from_utf8_lossy(&line));
            } else {
                on_line("<line too long to parse>");
            }
            line.clear();
            overflow = false;
            rest = &rest[pos + 1..];
        }
        if !overflow {
            if line.len() + rest.len() > MAX_LINE {
                overflow = true;
                line.clear();
            } else {
                line.extend_from_slice(rest);
            }
        }
        let n = chunk.len();
        reader.consume(n);
    }
    if !line.is_empty() && !overflow {
        on_line(&String::from_utf8_lossy(&line));
    }
    file.flush().await
}

/// Copies `reader` to `file`, returning the last few KiB for messages.
async fn pump_tail(reader: impl AsyncRead + Unpin, mut file: tokio::fs::File) -> String {
    const TAIL: usize = 8 * 1024;
    let mut reader = BufReader::new(reader);
    let mut tail: Vec<u8> = Vec::new();
    loop {
        let chunk = match reader.fill_buf().await {
            Ok([]) | Err(_) => break,
            Ok(chunk) => chunk,
        };
        if file.write_all(chunk).await.is_err() {
            break;
        }
        tail.extend_from_slice(chunk);
        if tail.len() > 2 * TAIL {
            tail.drain(..tail.len() - TAIL);
        }
        let n = chunk.len();
        reader.consume(n);
    }
    let _ = file.flush().await;
    String::from_utf8_lossy(&tail).into_owned()
}
