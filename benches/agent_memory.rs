//! Memory stays flat however much an agent prints: a scripted agent
//! streams about 1 GiB of Claude-format events through the real
//! supervisor, and the peak resident set size is reported.
//!
//! `cargo bench --bench agent_memory` (set DEEP_REVIEW_BENCH_MB to change
//! the volume). Results go in docs/performance.md.

use std::sync::Arc;
use std::time::{Duration, Instant};

use deep_review::agents::supervise::{self, AgentSpec, Supervision};
use deep_review::agents::{ReviewJob, Status};
use deep_review::domain::Protocol;
use deep_review::progress::Silent;
use tokio_util::sync::CancellationToken;

fn peak_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let mb: u64 = std::env::var("DEEP_REVIEW_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1024);
    let dir = tempfile::Builder::new()
        .prefix("bench-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    // One assistant event with a tool call, about 1 KiB, repeated.
    let line = format!(
        r#"{{"type":"assistant","message":{{"id":"msg_1","content":[{{"type":"tool_use","id":"t","name":"Read","input":{{"file_path":"src/lib.rs","pad":"{}"}}}}],"usage":{{"input_tokens":10,"output_tokens":1}}}}}}"#,
        "x".repeat(800)
    );
    let lines = mb * 1024 * 1024 / (line.len() as u64 + 1);
    let script = dir.path().join("flood-agent");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nyes '{line}' | head -n {lines}\necho '{{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"{{}}\"}}'\n"
        ),
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
            protocol: Protocol::Claude,
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
        "streamed      {:.1} MiB in {} events",
        written as f64 / 1048576.0,
        lines + 1
    );
    println!("tool calls    {}", outcome.total_tool_calls());
    println!(
        "elapsed       {:.1} s ({:.0} MiB/s)",
        elapsed.as_secs_f64(),
        written as f64 / 1048576.0 / elapsed.as_secs_f64()
    );
    println!(
        "peak RSS      {:.1} MiB before the run, {:.1} MiB after",
        before as f64 / 1024.0,
        peak_rss_kib() as f64 / 1024.0
    );
}
