//! The real agent CLIs against the model double: tools really run, the
//! event stream says so, and model and effort reach the API.

use std::time::Duration;

use crate::common::*;
use deep_review::agents::{ReviewJob, Status};
use deep_review::domain::Protocol;
use serde_json::json;

fn job(model: &str, effort: &str) -> ReviewJob {
    ReviewJob {
        prompt: "Review the last commit.".into(),
        model: Some(model.into()),
        effort: Some(effort.into()),
        ..ReviewJob::default()
    }
}

async fn two_tools_then_answer(
    protocol: Protocol,
    model: &str,
    effort: &str,
) -> (Bed, deep_review::agents::Outcome) {
    let bed = Bed::start_for(|repo| json!({"agents": [{
        "name": protocol.name(), "protocol": wire(protocol),
        "turns": [
            tools(json!([shell_call(protocol, "git log --oneline -2")])),
            tools(json!([read_call(protocol, repo, "calc.py")])),
            {"text": "{\"verdict\": \"needs_changes\"}", "usage": {"input": 300, "output": 40, "cached": 50}}
        ]
    }]}))
    .await;
    let repo = bed.sample_repo();
    let outcome = bed
        .run_agent(
            protocol,
            &repo,
            job(model, effort),
            Duration::from_secs(120),
        )
        .await;
    (bed, outcome)
}

fn assert_tools_really_ran(bed: &Bed, protocol: Protocol) {
    let requests = bed.double.requests_for(protocol.name());
    assert_eq!(requests.len(), 3, "three model turns: {requests:#?}");
    // The output of `git log` reached the model's second turn…
    assert!(
        requests[1]
            .tool_results
            .iter()
            .any(|r| r.contains("Add mul")),
        "git log output in {:?}",
        requests[1].tool_results
    );
    // …and the file's content its third.
    assert!(
        requests[2]
            .tool_results
            .iter()
            .any(|r| r.contains("return a - b")),
        "file content in {:?}",
        requests[2].tool_results
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_runs_tools_and_sends_model_and_effort() {
    let (bed, outcome) = two_tools_then_answer(Protocol::Claude, "claude-opus-4-7", "xhigh").await;
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.message);
    assert_tools_really_ran(&bed, Protocol::Claude);
    let requests = bed.double.requests_for("claude");
    assert!(requests.iter().all(|r| r.model == "claude-opus-4-7"));
    assert!(requests.iter().all(|r| r.effort == Some(json!("xhigh"))));
    // Read-only: the tools offered are the review tools and nothing that writes.
    let offered = &requests[0].tools;
    assert!(offered.contains(&"Read".to_string()) && offered.contains(&"Bash".to_string()));
    assert!(
        !offered
            .iter()
            .any(|t| t == "Write" || t == "Edit" || t == "WebFetch")
    );
    assert_eq!(outcome.tool_calls.get("Bash"), Some(&1));
    assert_eq!(outcome.tool_calls.get("Read"), Some(&1));
    assert_eq!(outcome.reported_model.as_deref(), Some("claude-opus-4-7"));
    assert_eq!(outcome.tokens.input, 500);
    assert_eq!(outcome.tokens.output, 60);
    assert!(outcome.cost_usd.is_some());
    assert_eq!(
        outcome.answer.as_deref(),
        Some("{\"verdict\": \"needs_changes\"}")
    );
    assert!(outcome.files_opened.iter().any(|f| f.ends_with("calc.py")));
}

#[tokio::test(flavor = "multi_thread")]
async fn codex_runs_tools_and_sends_model_and_reasoning_effort() {
    let (bed, outcome) = two_tools_then_answer(Protocol::Codex, "gpt-5.4", "high").await;
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.message);
    assert_tools_really_ran(&bed, Protocol::Codex);
    let requests = bed.double.requests_for("codex");
    assert!(requests.iter().all(|r| r.model == "gpt-5.4"));
    assert!(requests.iter().all(|r| r.effort == Some(json!("high"))));
    assert_eq!(outcome.tool_calls.get("shell"), Some(&2));
    // Codex reports cumulative usage over the whole turn.
    assert_eq!(outcome.tokens.input, 500);
    assert_eq!(outcome.tokens.output, 60);
    assert_eq!(outcome.tokens.cached, 50);
    assert_eq!(outcome.cost_usd, None);
    assert_eq!(
        outcome.answer.as_deref(),
        Some("{\"verdict\": \"needs_changes\"}")
    );
    assert!(outcome.files_opened.contains("calc.py"));
}

#[tokio::test(flavor = "multi_thread")]
async fn gemini_runs_tools_and_sends_model_and_thinking_settings() {
    let (bed, outcome) = two_tools_then_answer(Protocol::Gemini, "gemini-2.5-pro", "low").await;
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.message);
    assert_tools_really_ran(&bed, Protocol::Gemini);
    let requests = bed.double.requests_for("gemini");
    assert!(requests.iter().all(|r| r.model == "gemini-2.5-pro"));
    // effort=low becomes a thinking budget through the settings overlay.
    for r in &requests {
        assert_eq!(
            r.effort.as_ref().and_then(|e| e.get("thinkingBudget")),
            Some(&json!(1024)),
            "{:?}",
            r.effort
        );
    }
    // Web tools are never available to a reviewer.
    assert!(
        !requests[0]
            .tools
            .iter()
            .any(|t| t == "google_web_search" || t == "web_fetch" || t == "write_file"),
        "{:?}",
        requests[0].tools
    );
    assert_eq!(outcome.tool_calls.get("run_shell_command"), Some(&1));
    assert_eq!(outcome.tool_calls.get("read_file"), Some(&1));
    assert_eq!(outcome.tokens.input, 500);
    assert_eq!(outcome.tokens.output, 60);
    assert_eq!(
        outcome.answer.as_deref(),
        Some("{\"verdict\": \"needs_changes\"}")
    );
}

/// Gemini 3 models take a thinking level, not a budget — also when the CLI
/// serves another model than the one named.
#[tokio::test(flavor = "multi_thread")]
async fn gemini_3_gets_a_thinking_level() {
    let (bed, outcome) =
        two_tools_then_answer(Protocol::Gemini, "gemini-3-pro-preview", "low").await;
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.message);
    let requests = bed.double.requests_for("gemini");
    assert!(!requests.is_empty());
    for r in &requests {
        // The pinned CLI serves gemini-3.1-pro-preview for this name.
        assert_eq!(r.model, "gemini-3.1-pro-preview");
        let thinking = r.effort.as_ref();
        assert_eq!(
            thinking.and_then(|e| e.get("thinkingLevel")),
            Some(&json!("LOW")),
            "{thinking:?}"
        );
        assert_eq!(thinking.and_then(|e| e.get("thinkingBudget")), None);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn claude_delivers_a_schema_answer_through_structured_output() {
    let scenario = json!({"agents": [{
        "name": "claude", "protocol": "anthropic",
        "turns": [{"structured": {"verdict": "merge"}, "usage": {"input": 10, "output": 5}}]
    }]});
    let bed = Bed::start(scenario).await;
    let repo = bed.sample_repo();
    let job = ReviewJob {
        schema: Some(
            json!({"type": "object", "properties": {"verdict": {"type": "string"}}, "required": ["verdict"]}),
        ),
        ..job("claude-opus-4-7", "high")
    };
    let outcome = bed
        .run_agent(Protocol::Claude, &repo, job, Duration::from_secs(60))
        .await;
    assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.message);
    assert_eq!(outcome.structured, Some(json!({"verdict": "merge"})));
    assert!(
        bed.double.requests_for("claude")[0]
            .tools
            .contains(&"StructuredOutput".to_string())
    );
    // The answer tool is not review work.
    assert_eq!(outcome.total_tool_calls(), 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn agents_can_read_the_diff_outside_their_working_directory() {
    // The diff lives in the run directory, not in the worktree.
    let bed = Bed::start_for(|repo| {
        let diff = repo.parent().unwrap().join("input/change.diff").display().to_string();
        json!({"agents": [
            {"name": "claude", "protocol": "anthropic", "turns": [tools(json!([{"name": "Read", "args": {"file_path": diff}}])), {"text": "{}"}]},
            {"name": "gemini", "protocol": "gemini", "turns": [tools(json!([{"name": "read_file", "args": {"file_path": diff}}])), {"text": "{}"}]}
        ]})
    })
    .await;
    let repo = bed.sample_repo();
    let input = bed.path("input");
    std::fs::create_dir_all(&input).unwrap();
    std::fs::write(
        input.join("change.diff"),
        "+    return a - b  # the change\n",
    )
    .unwrap();
    for protocol in [Protocol::Claude, Protocol::Gemini] {
        let job = ReviewJob {
            read_dirs: vec![input.clone()],
            ..job("model-1", "low")
        };
        let outcome = bed
            .run_agent(protocol, &repo, job, Duration::from_secs(60))
            .await;
        assert_eq!(outcome.status, Status::Ok, "{:?}", outcome.message);
        let results = bed.double.requests_for(protocol.name())[1]
            .tool_results
            .join("\n");
        assert!(
            results.contains("return a - b  # the change"),
            "{}: {results}",
            protocol.name()
        );
    }
}
