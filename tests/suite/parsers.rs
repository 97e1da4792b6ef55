//! The event-stream parsers on real captured output (tests/data/captures,
//! copied from ../shared/agent-captures; see its README).

use std::path::PathBuf;

use deep_review::agents::outcome::{Status, classify};
use deep_review::agents::{Tokens, tally_stream};
use deep_review::domain::Protocol;

fn capture(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/captures")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn exit_code(name: &str) -> Option<i32> {
    let text = capture(&format!("{name}.exit"));
    text.split_whitespace()
        .find_map(|w| w.strip_prefix("rc="))
        .and_then(|c| c.parse().ok())
}

fn status_of(protocol: Protocol, name: &str) -> (Status, Option<String>) {
    let tally = tally_stream(protocol, &capture(&format!("{name}.jsonl")));
    let stderr = capture(&format!("{name}.stderr"));
    classify(protocol, &tally, exit_code(name), None, &stderr)
}

#[test]
fn claude_success_counts_tools_tokens_cost_and_answer() {
    let tally = tally_stream(Protocol::Claude, &capture("claude-ok.jsonl"));
    assert_eq!(tally.model.as_deref(), Some("claude-opus-4-8[1m]"));
    // The API's own name for the model, from the assistant messages.
    assert_eq!(tally.served_model.as_deref(), Some("claude-opus-4-8"));
    assert_eq!(tally.tool_calls.get("Bash"), Some(&1));
    assert_eq!(tally.tool_calls.get("Grep"), Some(&1));
    assert_eq!(tally.total_tool_calls(), 2);
    // The Grep call was refused: "not enabled in this context".
    assert_eq!(tally.denied_calls, 1);
    let finish = tally.finish.as_ref().unwrap();
    assert!(!finish.is_error);
    assert_eq!(finish.cost_usd, Some(0.0033400000000000005));
    assert_eq!(
        tally.tokens(),
        Tokens {
            input: 453,
            output: 70,
            cached: 150,
            reasoning: 0
        }
    );
    assert!(
        finish
            .result
            .as_deref()
            .unwrap()
            .contains("add() subtracts")
    );
    assert_eq!(tally.unknown_events, 0);
    assert_eq!(tally.garbage_lines, 0);
    let (status, message) = classify(Protocol::Claude, &tally, Some(0), None, "");
    assert_eq!((status, message), (Status::Ok, None));
}

#[test]
fn claude_api_errors_are_read_from_is_error_not_subtype() {
    for (name, expected) in [
        ("claude-429", Status::RateLimited),
        ("claude-400credit", Status::QuotaExhausted),
        ("claude-401", Status::AuthFailed),
        ("claude-500", Status::Failed),
        ("claude-hang", Status::Failed),
    ] {
        let (status, message) = status_of(Protocol::Claude, name);
        assert_eq!(status, expected, "{name}: {message:?}");
        assert!(message.is_some(), "{name} explains itself");
    }
    let tally = tally_stream(Protocol::Claude, &capture("claude-401.jsonl"));
    assert_eq!(tally.retries, 10, "every api_retry event is seen");
}

#[test]
fn codex_success_dedupes_started_and_completed_items() {
    let tally = tally_stream(Protocol::Codex, &capture("codex-ok.jsonl"));
    assert_eq!(tally.tool_calls.get("shell"), Some(&2));
    assert_eq!(tally.total_tool_calls(), 2);
    assert_eq!(
        tally.tokens(),
        Tokens {
            input: 303,
            output: 60,
            cached: 150,
            reasoning: 21
        }
    );
    assert!(tally.text.contains("add() subtracts"));
    assert!(tally.files_opened.contains("calc.py"));
    assert_eq!(
        classify(Protocol::Codex, &tally, Some(0), None, "").0,
        Status::Ok
    );
}

#[test]
fn codex_failures_come_from_turn_failed() {
    for (name, expected) in [
        ("codex-429", Status::RateLimited),
        ("codex-429quota", Status::QuotaExhausted),
        ("codex-401", Status::AuthFailed),
        ("codex-500", Status::Failed),
        ("codex-hangsse", Status::Failed),
        ("codex-streamfail", Status::RateLimited),
    ] {
        let (status, message) = status_of(Protocol::Codex, name);
        assert_eq!(status, expected, "{name}: {message:?}");
    }
    let tally = tally_stream(Protocol::Codex, &capture("codex-401.jsonl"));
    assert_eq!(tally.retries, 5);
}

#[test]
fn codex_sandbox_denials_are_counted() {
    let tally = tally_stream(Protocol::Codex, &capture("codex-x3.jsonl"));
    assert_eq!(tally.denied_calls, 1);
    let tally = tally_stream(Protocol::Codex, &capture("codex-x4.jsonl"));
    assert_eq!(tally.tool_calls.get("apply_patch"), Some(&1));
    assert_eq!(tally.tool_calls.get("shell"), Some(&1));
}

#[test]
fn gemini_success_concatenates_deltas() {
    let tally = tally_stream(Protocol::Gemini, &capture("gemini-ok.jsonl"));
    assert_eq!(tally.model.as_deref(), Some("gemini-2.5-pro"));
    // The model the API answered as, from the final stats.
    assert_eq!(tally.served_model.as_deref(), Some("gemini-mock"));
    assert_eq!(tally.tool_calls.get("run_shell_command"), Some(&1));
    assert_eq!(tally.tool_calls.get("read_file"), Some(&1));
    assert!(tally.files_opened.contains("calc.py"));
    assert_eq!(
        tally.tokens(),
        Tokens {
            input: 303,
            output: 60,
            cached: 150,
            reasoning: 0
        }
    );
    assert!(tally.text.starts_with("{\"verdict\""));
    assert_eq!(
        classify(Protocol::Gemini, &tally, Some(0), None, "").0,
        Status::Ok
    );
}

#[test]
fn gemini_denials_and_failures() {
    let tally = tally_stream(Protocol::Gemini, &capture("gemini-write-denied.jsonl"));
    assert_eq!(tally.denied_calls, 2);
    for (name, expected) in [
        ("gemini-429", Status::RateLimited),
        ("gemini-429daily", Status::QuotaExhausted),
        ("gemini-401", Status::AuthFailed),
        ("gemini-400key", Status::AuthFailed),
        ("gemini-500", Status::Failed),
    ] {
        let (status, message) = status_of(Protocol::Gemini, name);
        assert_eq!(status, expected, "{name}: {message:?}");
    }
}

#[test]
fn unknown_events_and_garbage_are_never_fatal() {
    let stream = "{\"type\":\"brand_new_event\",\"x\":1}\nthis is not json\n{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"ok\"}\n";
    let tally = tally_stream(Protocol::Claude, stream);
    assert_eq!(tally.unknown_events, 1);
    assert_eq!(tally.garbage_lines, 1);
    assert_eq!(tally.finish.as_ref().unwrap().result.as_deref(), Some("ok"));
    for protocol in [Protocol::Codex, Protocol::Gemini] {
        let tally = tally_stream(protocol, "\u{0}\u{1}garbage\n{\"type\":42}\n[1,2]\n");
        assert_eq!(tally.garbage_lines, 2);
        assert_eq!(tally.unknown_events, 1);
    }
}

#[test]
fn a_stream_without_a_final_event_fails_with_the_reason() {
    let tally = tally_stream(
        Protocol::Codex,
        "{\"type\":\"thread.started\",\"thread_id\":\"t\"}\nnot json at all\n",
    );
    let (status, message) = classify(Protocol::Codex, &tally, Some(1), None, "");
    assert_eq!(status, Status::Failed);
    assert!(message.unwrap().contains("not the expected event stream"));
}
