//! Memory stays flat however much an agent prints: a scripted agent
//! streams about 1 GiB in each CLI's stream shape through the real
//! supervisor — Claude Code's assistant messages with tool calls, Codex's
//! command items with their output, Gemini CLI's text deltas — and the
//! peak resident set size of each is reported (each shape in a process of
//! its own, so that one's peak does not hide another's).
//!
//! `cargo bench --bench agent_memory` (set DEEP_REVIEW_BENCH_MB to change
//! the volume, DEEP_REVIEW_BENCH_SHAPE=claude|codex|gemini for one shape).
//! Results go in docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deep_review::agents::supervise::{self, AgentSpec, Supervision};
use deep_review::agents::{ReviewJob, Status};
use deep_review::domain::Protocol;
use deep_review::progress::Silent;
use tokio_util::sync::CancellationToken;

mod common;
use common::peak_rss_kib;

/// One shape: its protocol, the ~1 KiB line repeated, and the last line.
fn shape(name: &str) -> (Protocol, String, &'static str) {
    let pad = "x".repeat(800);
    match name {
        "claude" => (
            Protocol::Claude,
            format!(
                r#"{{"type":"assistant","message":{{"id":"msg_1","content":[{{"type":"tool_use","id":"t","name":"Read","input":{{"file_path":"src/lib.rs","pad":"{pad}"}}}}],"usage":{{"input_tokens":10,"output_tokens":1}}}}}}"#
            ),
            r#"{"type":"result","subtype":"success","is_error":false,"result":"{}"}"#,
        ),
        "codex" => (
            Protocol::Codex,
            format!(
                r#"{{"type":"item.completed","item":{{"id":"item_1","type":"command_execution","command":"/bin/bash -lc 'cat src/lib.rs'","aggregated_output":"{pad}","exit_code":0,"status":"completed"}}}}"#
            ),
            r#"{"type":"turn.completed","usage":{"input_tokens":10,"cached_input_tokens":0,"output_tokens":1,"reasoning_output_tokens":0}}"#,
        ),
        "gemini" => (
            Protocol::Gemini,
            format!(r#"{{"type":"message","role":"assistant","content":"{pad} ","delta":true}}"#),
            r#"{"type":"result","status":"success","stats":{"total_tokens":11,"input_tokens":10,"output_tokens":1}}"#,
        ),
        other => panic!("no stream shape {other:?} (claude, codex, gemini)"),
    }
}

fn main() {
    match std::env::var("DEEP_REVIEW_BENCH_SHAPE") {
        Ok(name) => measure(&name),
        // Each shape in a process of its own: a peak is per process.
        Err(_) => {
            for name in ["claude", "codex", "gemini"] {
                let status = std::process::Command::new(std::env::current_exe().unwrap())
                    .env("DEEP_REVIEW_BENCH_SHAPE", name)
                    .status()
                    .unwrap();
                assert!(status.success(), "{name}: {status}");
            }
        }
    }
}

fn measure(name: &str) {
    let mb: u64 = std::env::var("DEEP_REVIEW_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::Builder::new()
        .prefix("bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let (protocol, line, last) = shape(name);
    let lines = mb * 1024 * 1024 / (line.len() as u64 + 1);
    let script = dir.path().join("flood-agent");
    std::fs::write(
        &script,
        format!("#!/bin/sh\nyes '{line}' | head -n {lines}\necho '{last}'\n"),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let before = peak_rss_kib();
    let started = Instant::now();
    let outcome = runtime.block_on(async {
        let spec = AgentSpec {
            name: "flood".into(),
            display_name: "Flood".into(),
            protocol,
            binary: script.display().to_string(),
            timeout: Duration::from_secs(3600),
            pass_env: vec![],
        };
        let supervision = Supervision {
            workdir: dir.path().to_path_buf(),
            strip_env: vec![],
            env: vec![],
            grace: Duration::from_secs(2),
            cancel: CancellationToken::new(),
            // The stream is what is measured: no sandbox, nothing to redact.
            sandbox: None,
            redactor: Default::default(),
            private_root: dir.path().join("private"),
        };
        let job = ReviewJob {
            scratch: dir.path().join("agent"),
            ..ReviewJob::default()
        };
        supervise::run(
            &spec,
            &job,
            &dir.path().join("agent"),
            &supervision,
            Arc::new(Silent),
        )
        .await
    });
    let elapsed = started.elapsed();
    let written = std::fs::metadata(dir.path().join("agent/events.jsonl"))
        .map(|m| m.len())
        .unwrap_or(0);
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.message);
    println!(
        "{name:<7} streamed {:.1} MiB ({} events, {} tool calls) in {:.1} s ({:.0} MiB/s); peak RSS {:.1} MiB (before the run {:.1} MiB)",
        written as f64 / 1048576.0,
        lines + 1,
        outcome.total_tool_calls(),
        elapsed.as_secs_f64(),
        written as f64 / 1048576.0 / elapsed.as_secs_f64(),
        peak_rss_kib() as f64 / 1024.0,
        before as f64 / 1024.0,
    );
}
