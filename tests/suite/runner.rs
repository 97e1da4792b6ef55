//! The supervisor with all three real CLIs at once: parallel start, exact
//! figures, failures isolated, timeouts that leave no process behind,
//! GitHub tokens withheld, and read-only defaults that hold.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use crate::common::*;
use deep_review::agents::supervise::{self, AgentSpec};
use deep_review::agents::{Outcome, ReviewJob, Status};
use deep_review::domain::Protocol;
use deep_review::progress::Silent;
use serde_json::json;

fn job() -> ReviewJob {
    ReviewJob {
        prompt: "Review the change.".into(),
        model: Some("model-1".into()),
        ..ReviewJob::default()
    }
}

/// Runs `specs` at once, as the pipeline does.
async fn run_all(
    bed: &Bed,
    repo: &Path,
    specs: Vec<AgentSpec>,
    extra_env: &[(&str, &str)],
) -> Vec<Outcome> {
    run_all_with(bed, repo, specs, extra_env, |_| job()).await
}

async fn run_all_with(
    bed: &Bed,
    repo: &Path,
    specs: Vec<AgentSpec>,
    extra_env: &[(&str, &str)],
    job_for: impl Fn(&AgentSpec) -> ReviewJob,
) -> Vec<Outcome> {
    let mut supervision = bed.supervision(repo);
    supervision.env.extend(
        extra_env
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string())),
    );
    supervision.strip_env = vec!["MY_DEPLOY_KEY".into()];
    let runs = specs.into_iter().map(|spec| {
        let dir = bed.path(&format!("runs/{}", spec.name));
        let job = ReviewJob {
            scratch: dir.clone(),
            ..job_for(&spec)
        };
        let supervision = supervision.clone();
        async move { supervise::run(&spec, &job, &dir, &supervision, Arc::new(Silent)).await }
    });
    futures_util::future::join_all(runs).await
}

#[tokio::test(flavor = "multi_thread")]
async fn three_real_clis_run_at_once_with_exact_figures() {
    // Every first answer waits until all three agents have asked: a
    // runner that started them one after another would show one agent's
    // second request before another's first.
    let bed = Bed::start_for(|repo| json!({"agents": [
        {"name": "claude", "protocol": "anthropic", "turns": [
            {"wait_for": ["claude", "codex", "gemini"], "tool_calls": [shell_call(Protocol::Claude, "git log --oneline -2"), read_call(Protocol::Claude, repo, "calc.py")], "usage": {"input": 1000, "output": 20}},
            {"tool_calls": [shell_call(Protocol::Claude, "grep -n add calc.py")], "usage": {"input": 1200, "output": 30}},
            {"text": "{\"findings\": []}", "usage": {"input": 1500, "output": 200, "cached": 300}}]},
        {"name": "codex", "protocol": "openai", "turns": [
            {"wait_for": ["claude", "codex", "gemini"], "tool_calls": [shell_call(Protocol::Codex, "git log --oneline -2")], "usage": {"input": 900, "output": 25}},
            {"tool_calls": [shell_call(Protocol::Codex, "cat calc.py"), shell_call(Protocol::Codex, "cat README.md")], "usage": {"input": 1100, "output": 35}},
            {"text": "{\"findings\": []}", "usage": {"input": 1400, "output": 150, "reasoning": 40}}]},
        {"name": "gemini", "protocol": "gemini", "turns": [
            {"wait_for": ["claude", "codex", "gemini"], "tool_calls": [read_call(Protocol::Gemini, repo, "calc.py")], "usage": {"input": 800, "output": 15}},
            {"tool_calls": [shell_call(Protocol::Gemini, "git log --oneline -2")], "usage": {"input": 1000, "output": 25}},
            {"text": "{\"findings\": []}", "usage": {"input": 1300, "output": 100}}]}
    ]})).await;
    let repo = bed.sample_repo();
    let specs = ALL
        .iter()
        .map(|p| spec(*p, Duration::from_secs(120)))
        .collect();
    let outcomes = run_all(&bed, &repo, specs, &[]).await;

    let log = bed.double.requests();
    let first_of = |a: &str| {
        log.iter()
            .find(|r| r.agent == a && r.turn == 0)
            .map(|r| r.seq)
            .unwrap()
    };
    let second_of = |a: &str| {
        log.iter()
            .find(|r| r.agent == a && r.turn == 1)
            .map(|r| r.seq)
            .unwrap()
    };
    let last_first = ["claude", "codex", "gemini"]
        .iter()
        .map(|a| first_of(a))
        .max()
        .unwrap();
    let first_second = ["claude", "codex", "gemini"]
        .iter()
        .map(|a| second_of(a))
        .min()
        .unwrap();
    assert!(
        last_first < first_second,
        "all agents asked for their first turn before any got its second: {:?}",
        log.iter()
            .map(|r| (r.seq, r.agent.as_str(), r.turn))
            .collect::<Vec<_>>()
    );

    let by_name = |n: &str| outcomes.iter().find(|o| o.name == n).unwrap();
    let claude = by_name("claude");
    assert_eq!(claude.status, Status::Ok, "{:?}", claude.message);
    assert_eq!(
        claude.tool_calls,
        [("Bash".to_string(), 2), ("Read".to_string(), 1)].into()
    );
    assert_eq!((claude.tokens.input, claude.tokens.output), (3700, 250));
    let codex = by_name("codex");
    assert_eq!(codex.status, Status::Ok, "{:?}", codex.message);
    assert_eq!(codex.tool_calls, [("shell".to_string(), 3)].into());
    assert_eq!(
        (
            codex.tokens.input,
            codex.tokens.output,
            codex.tokens.reasoning
        ),
        (3400, 210, 40)
    );
    let gemini = by_name("gemini");
    assert_eq!(gemini.status, Status::Ok, "{:?}", gemini.message);
    assert_eq!(
        gemini.tool_calls,
        [
            ("read_file".to_string(), 1),
            ("run_shell_command".to_string(), 1)
        ]
        .into()
    );
    assert_eq!((gemini.tokens.input, gemini.tokens.output), (3100, 140));
    for o in &outcomes {
        assert_eq!(
            o.answer.as_deref(),
            Some("{\"findings\": []}"),
            "{}",
            o.name
        );
        let events =
            std::fs::read_to_string(bed.path(&format!("runs/{}/events.jsonl", o.name))).unwrap();
        assert!(
            events.lines().count() >= 4,
            "{}: the raw stream is on disk",
            o.name
        );
    }
}

/// Processes whose environment carries `marker`: what a run left behind.
fn processes_with(marker: &str) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.chars().all(|c| c.is_ascii_digit()) || pid == std::process::id().to_string() {
            continue;
        }
        if let Ok(env) = std::fs::read(entry.path().join("environ"))
            && env.split(|b| *b == 0).any(|kv| kv == marker.as_bytes())
        {
            let cmd = std::fs::read_to_string(entry.path().join("cmdline"))
                .unwrap_or_default()
                .replace('\0', " ");
            found.push(format!("{pid}: {cmd}"));
        }
    }
    found
}

fn script(bed: &Bed, name: &str, body: &str) -> String {
    use std::os::unix::fs::PermissionsExt;
    let path = bed.path(&format!("bin/{name}"));
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn failures_stay_with_their_agent_and_timeouts_leave_nothing_behind() {
    let bed = Bed::start(json!({"agents": [
        {"name": "claude", "protocol": "anthropic", "turns": [{"text": "{\"findings\": []}", "usage": {"input": 10, "output": 5}}]},
        {"name": "codex", "protocol": "openai", "turns": [{"fault": {"kind": "quota"}}]},
        {"name": "gemini", "protocol": "gemini", "turns": [{"fault": {"kind": "hang_before_headers"}}]}
    ]})).await;
    let repo = bed.sample_repo();
    let marker = format!("DEEP_REVIEW_TEST_MARKER={}", bed.path("").display());
    let (key, value) = marker.split_once('=').unwrap();
    // A CLI that prints garbage and leaves children running.
    let garbage = script(
        &bed,
        "garbage-agent",
        "echo 'this is not an event stream'\nsleep 300 &\nsleep 300",
    );
    let mut specs = vec![
        spec(Protocol::Claude, Duration::from_secs(120)),
        spec(Protocol::Codex, Duration::from_secs(120)),
        spec(Protocol::Gemini, Duration::from_secs(8)),
    ];
    specs.push(AgentSpec {
        name: "garbage".into(),
        display_name: "Garbage".into(),
        protocol: Protocol::Claude,
        binary: garbage,
        timeout: Duration::from_secs(3),
        pass_env: vec![],
    });
    specs.push(AgentSpec {
        name: "missing".into(),
        display_name: "Missing".into(),
        protocol: Protocol::Codex,
        binary: "no-such-agent-cli".into(),
        timeout: Duration::from_secs(3),
        pass_env: vec![],
    });
    let outcomes = run_all(&bed, &repo, specs, &[(key, value)]).await;
    let by_name = |n: &str| outcomes.iter().find(|o| o.name == n).unwrap();

    assert_eq!(
        by_name("claude").status,
        Status::Ok,
        "{:?}",
        by_name("claude").message
    );
    assert_eq!(by_name("codex").status, Status::QuotaExhausted);
    assert_eq!(
        by_name("codex").message.as_deref(),
        Some("Quota exceeded. Check your plan and billing details.")
    );
    let gemini = by_name("gemini");
    assert_eq!(gemini.status, Status::TimedOut);
    assert_eq!(
        gemini.message.as_deref(),
        Some("no answer within 8s; stopped")
    );
    let garbage = by_name("garbage");
    assert_eq!(garbage.status, Status::TimedOut);
    assert_eq!(garbage.garbage_lines, 1);
    let missing = by_name("missing");
    assert_eq!(missing.status, Status::NotInstalled);
    assert!(
        missing
            .message
            .as_deref()
            .unwrap()
            .contains("npm install -g @openai/codex@0.171.0")
    );

    let left = processes_with(&marker);
    assert!(left.is_empty(), "processes outlived their agent: {left:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn github_tokens_never_reach_an_agent() {
    let bed = Bed::start(json!({"agents": ALL.iter().map(|p| json!({
        "name": p.name(), "protocol": wire(*p),
        "turns": [tools(json!([shell_call(*p, "env")])), {"text": "{}"}]
    })).collect::<Vec<_>>()}))
    .await;
    let repo = bed.sample_repo();
    let specs: Vec<AgentSpec> = ALL
        .iter()
        .map(|p| spec(*p, Duration::from_secs(120)))
        .collect();
    let secrets = [
        ("GH_TOKEN", "ghp_secret1"),
        ("GITHUB_TOKEN", "ghp_secret2"),
        ("MY_DEPLOY_KEY", "secret3"),
        ("HARMLESS_VAR", "visible-value"),
    ];
    // `env` is not among a reviewer's read-only commands; this test lets
    // Claude and Gemini run it through the agent's extra arguments (the
    // policy file where the sandbox lets Gemini read it).
    let policy = repo.join("allow-env.toml");
    std::fs::write(&policy, "[[rule]]\ntoolName = \"run_shell_command\"\ncommandPrefix = [\"env\"]\ndecision = \"allow\"\npriority = 150\n").unwrap();
    let specs = specs
        .into_iter()
        .map(|s| AgentSpec {
            // Even named in pass_env, GitHub tokens never pass.
            pass_env: vec!["GH_TOKEN".into()],
            ..s
        })
        .collect();
    let outcomes = run_all_with(&bed, &repo, specs, &secrets, |s| {
        let extra_args = match s.protocol {
            Protocol::Claude => vec!["--allowedTools".into(), "Bash(env)".into()],
            Protocol::Gemini => vec!["--policy".into(), policy.display().to_string()],
            Protocol::Codex => vec![],
        };
        ReviewJob {
            extra_args,
            ..job()
        }
    })
    .await;
    for p in ALL {
        let o = outcomes.iter().find(|o| o.protocol == p).unwrap();
        assert_eq!(o.status, Status::Ok, "{}: {:?}", p.name(), o.message);
        let requests = bed.double.requests_for(p.name());
        let env_output = requests[1].tool_results.join("\n");
        assert!(
            !env_output.contains("ghp_secret"),
            "{}: {env_output}",
            p.name()
        );
        assert!(
            !env_output.contains("secret3"),
            "{}: {env_output}",
            p.name()
        );
        assert!(
            env_output.contains("visible-value"),
            "{}: the environment was really read: {env_output}",
            p.name()
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn read_only_defaults_hold_and_denials_are_reported() {
    let bed = Bed::start_for(|repo| {
        let target = repo.join("pwned.txt").display().to_string();
        json!({"agents": [
            {"name": "claude", "protocol": "anthropic", "turns": [
                tools(json!([{"name": "Write", "args": {"file_path": target, "content": "x"}}])),
                tools(json!([shell_call(Protocol::Claude, "touch pwned.txt")])),
                tools(json!([shell_call(Protocol::Claude, "rm README.md")])),
                {"text": "{}"}]},
            {"name": "codex", "protocol": "openai", "turns": [
                tools(json!([shell_call(Protocol::Codex, "touch pwned.txt")])),
                tools(json!([shell_call(Protocol::Codex, "rm README.md")])),
                {"text": "{}"}]},
            {"name": "gemini", "protocol": "gemini", "turns": [
                tools(json!([{"name": "write_file", "args": {"file_path": target, "content": "x"}}])),
                tools(json!([shell_call(Protocol::Gemini, "touch pwned.txt")])),
                tools(json!([shell_call(Protocol::Gemini, "rm README.md")])),
                {"text": "{}"}]}
        ]})
    }).await;
    let repo = bed.sample_repo();
    let specs = ALL
        .iter()
        .map(|p| spec(*p, Duration::from_secs(120)))
        .collect();
    let outcomes = run_all(&bed, &repo, specs, &[]).await;
    assert_eq!(git_status(&repo), "", "the repository is untouched");
    for o in &outcomes {
        assert_eq!(o.status, Status::Ok, "{}: {:?}", o.name, o.message);
        // Codex 0.171 writes an event for a command its sandbox blocked
        // only some of the time (seen: none, or one of the two), so its
        // count is what its stream showed; the tool results it sent back
        // below show the sandbox at work every time.
        if o.protocol == Protocol::Codex {
            assert!(o.denied_calls <= 2, "codex: {}", o.denied_calls);
        } else {
            assert_eq!(
                o.denied_calls, 3,
                "{}: every refused write is reported",
                o.name
            );
        }
    }
    let codex = bed.double.requests_for("codex");
    let results = codex.last().unwrap().tool_results.join("\n");
    // deep-review's Landlock sandbox refuses both (EACCES); Codex's own
    // cannot run inside it.
    assert_eq!(results.matches("Permission denied").count(), 2, "{results}");
}

/// An answer line over the cap is never a silent `ok`: the agent failed,
/// the message says why, and the bytes are on disk.
#[tokio::test(flavor = "multi_thread")]
async fn an_answer_too_large_to_read_fails_the_agent_and_is_kept() {
    let bed = Bed::start(json!({"agents": []})).await;
    let repo = bed.sample_repo();
    let huge = script(
        &bed,
        "huge",
        "printf '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"'\n\
         head -c 17000000 /dev/zero | tr '\\0' a\n\
         printf '\"}\\n'",
    );
    let spec = AgentSpec {
        name: "huge".into(),
        display_name: "Huge".into(),
        protocol: Protocol::Claude,
        binary: huge,
        timeout: Duration::from_secs(60),
        pass_env: vec![],
    };
    let outcomes = run_all(&bed, &repo, vec![spec], &[]).await;
    let o = &outcomes[0];
    assert_eq!(o.status, Status::Failed, "{o:#?}");
    let message = o.message.as_deref().unwrap();
    assert!(
        message.starts_with("1 event line(s) larger than 16 MiB could not be read (kept in "),
        "{message}"
    );
    let kept = std::fs::metadata(bed.path("runs/huge/events.jsonl"))
        .unwrap()
        .len();
    assert!(kept > 17_000_000, "{kept}");
}

/// A process that leaves the agent's group (setsid) and keeps its output
/// open can neither hang the run nor feed it: its output is cut off after
/// the grace period and the agent is marked failed.
#[tokio::test(flavor = "multi_thread")]
async fn an_escaped_process_holding_the_output_cannot_hang_the_run() {
    let bed = Bed::start(json!({"agents": []})).await;
    let repo = bed.sample_repo();
    // The escaped process says when it has left the group (through a
    // FIFO), so the agent exits only then.
    let escaping = script(
        &bed,
        "escaping",
        "echo '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"{}\"}'\n\
         mkfifo \"$TMPDIR/left\"\n\
         setsid sh -c 'echo > \"$TMPDIR/left\"; sleep 1; echo \"{\\\"type\\\":\\\"result\\\",\\\"subtype\\\":\\\"success\\\",\\\"is_error\\\":false,\\\"result\\\":\\\"forged\\\"}\"; exec sleep 37.25' &\n\
         read x < \"$TMPDIR/left\"\n\
         exit 0",
    );
    let spec = AgentSpec {
        name: "escaping".into(),
        display_name: "Escaping".into(),
        protocol: Protocol::Claude,
        binary: escaping,
        timeout: Duration::from_secs(60),
        pass_env: vec![],
    };
    let outcomes = run_all(&bed, &repo, vec![spec], &[]).await;
    // The escaped process is not ours to leave behind in the test either.
    let _ = std::process::Command::new("pkill")
        .args(["-f", "sleep 37.25"])
        .status();
    let o = &outcomes[0];
    assert_eq!(o.status, Status::Failed, "{o:#?}");
    assert!(
        o.message
            .as_deref()
            .unwrap()
            .starts_with("a process the agent started outlived it"),
        "{:?}",
        o.message
    );
    assert_eq!(
        o.answer.as_deref(),
        Some("{}"),
        "the forged answer was not taken"
    );
}
