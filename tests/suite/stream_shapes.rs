//! What each real CLI makes of what real services stream besides plain
//! text: reasoning before the answer, tool arguments in pieces, a tool
//! command that fails, an error event inside a started stream, a stop at
//! the output limit — and the outcome deep-review derives from each.

use std::path::Path;
use std::time::Duration;

use crate::common::*;
use deep_review::agents::{Outcome, ReviewJob, Status};
use deep_review::domain::Protocol;
use model_double::RecordedRequest;
use serde_json::{Value, json};

const T: Duration = Duration::from_secs(90);

struct Run {
    protocol: Protocol,
    outcome: Outcome,
    requests: Vec<RecordedRequest>,
}

/// The three CLIs at once, each on the turns `turns` gives it.
async fn run_all(turns: fn(Protocol, &Path) -> Value) -> Vec<Run> {
    run_all_with(turns, &[]).await
}

/// `run_all` with some of the CLIs' environment replaced.
async fn run_all_with(turns: fn(Protocol, &Path) -> Value, env: &[(&str, &str)]) -> Vec<Run> {
    let runs = ALL.map(|p| async move {
        let bed = Bed::start_for(|repo| {
            json!({"agents": [{"name": p.name(), "protocol": wire(p), "turns": turns(p, repo)}]})
        })
        .await;
        let repo = bed.sample_repo();
        let job = ReviewJob {
            prompt: "Review the last commit.".into(),
            ..ReviewJob::default()
        };
        let outcome = bed.run_agent_with(p, &repo, job, T, env).await;
        if std::env::var("KEEP_EVENTS").is_ok() && outcome.status != Status::Ok {
            let _ = std::fs::copy(
                bed.path(&format!("runs/{}/events.jsonl", p.name())),
                format!("/tmp/events-{}.jsonl", p.name()),
            );
            let _ = std::fs::copy(
                bed.path(&format!("runs/{}/stderr.log", p.name())),
                format!("/tmp/stderr-{}.log", p.name()),
            );
        }
        Run {
            protocol: p,
            outcome,
            requests: bed.double.requests_for(p.name()),
        }
    });
    futures_util::future::join_all(runs).await
}

#[tokio::test(flavor = "multi_thread")]
async fn reasoning_before_the_answer_is_not_the_answer() {
    let runs = run_all(|_, _| {
        json!([{"thinking": "First the lock order. THOUGHT-7f3a", "text": "the answer",
                "usage": {"input": 100, "output": 20, "reasoning": 12}}])
    })
    .await;
    for r in runs {
        let name = r.protocol.name();
        assert_eq!(
            r.outcome.status,
            Status::Ok,
            "{name}: {:?}",
            r.outcome.message
        );
        assert_eq!(r.outcome.answer.as_deref(), Some("the answer"), "{name}");
        assert_eq!(r.requests.len(), 1, "{name}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn tool_arguments_in_pieces_reach_the_tool_and_a_failing_command_is_the_models_business() {
    let runs = run_all(|p, _| {
        json!([
            tools(json!([shell_call(p, "ls no-such-file-PIECES-JOINED")])),
            {"text": "done"}
        ])
    })
    .await;
    for r in runs {
        let name = r.protocol.name();
        assert_eq!(
            r.outcome.status,
            Status::Ok,
            "{name}: {:?}",
            r.outcome.message
        );
        assert_eq!(r.outcome.answer.as_deref(), Some("done"), "{name}");
        assert_eq!(r.outcome.total_tool_calls(), 1, "{name}");
        assert_eq!(r.requests.len(), 2, "{name}");
        let results = r.requests[1].tool_results.join("\n");
        // The command, cut every 7 characters on the wire, ran whole (the
        // file name is in ls's error), and its failure went back to the model.
        assert!(
            results.contains("no-such-file-PIECES-JOINED"),
            "{name}: {results}"
        );
        assert!(
            results.to_lowercase().contains("no such file"),
            "{name}: {results}"
        );
    }
}

/// The service's error event right after the stream opened, once: Claude
/// and Codex retry and answer. Gemini retries too, but keeps the text it
/// had received before the error, so its answer holds that text twice — a
/// JSON answer would then not read, and the report says `answer_invalid`.
#[tokio::test(flavor = "multi_thread")]
async fn an_error_inside_a_started_stream_is_retried() {
    let runs = run_all(
        |_, _| json!([{"fault": {"kind": "error_mid_stream", "times": 1}, "text": "recovered"}]),
    )
    .await;
    for r in runs {
        let name = r.protocol.name();
        assert_eq!(
            r.outcome.status,
            Status::Ok,
            "{name}: {:?}",
            r.outcome.message
        );
        assert_eq!(r.requests.len(), 2, "{name}: one retry");
        assert_eq!(r.requests[0].fault.as_deref(), Some("error_mid_stream"));
        let expected = match r.protocol {
            Protocol::Gemini => "recoveredrecovered",
            _ => "recovered",
        };
        assert_eq!(r.outcome.answer.as_deref(), Some(expected), "{name}");
    }
}

/// A stop at the output limit: Claude retries and fails, Codex fails,
/// Gemini exits 0 with the answer cut — which then does not read, so the
/// report shows that agent as `answer_invalid`, never as a review.
#[tokio::test(flavor = "multi_thread")]
async fn a_stop_at_the_output_limit_never_passes_for_an_answer() {
    let answer = r#"{"summary": "a long answer the model could not finish", "findings": []}"#;
    let runs = run_all(|_, _| {
        json!([{"fault": {"kind": "length_stop"},
                "text": r#"{"summary": "a long answer the model could not finish", "findings": []}"#}])
    })
    .await;
    for r in runs {
        let name = r.protocol.name();
        let message = r.outcome.message.clone().unwrap_or_default();
        match r.protocol {
            Protocol::Claude => {
                assert_eq!(r.outcome.status, Status::Failed, "{name}");
                assert!(
                    message.contains("output token maximum"),
                    "{name}: {message}"
                );
            }
            Protocol::Codex => {
                assert_eq!(r.outcome.status, Status::Failed, "{name}");
                assert!(message.contains("max_output_tokens"), "{name}: {message}");
                assert_eq!(r.requests.len(), 1, "{name}");
            }
            Protocol::Gemini => {
                assert_eq!(r.outcome.status, Status::Ok, "{name}: {message}");
                assert_eq!(r.outcome.exit_code, Some(0));
                let cut = r.outcome.answer.clone().unwrap_or_default();
                assert!(
                    answer.starts_with(&cut) && cut.len() < answer.len(),
                    "{name}: {cut}"
                );
                assert!(
                    deep_review::findings::answer::parse::<deep_review::findings::Answer>(&cut)
                        .is_err(),
                    "{name}: a cut answer does not read"
                );
            }
        }
    }
}

/// A 10 MB answer arrives whole from every CLI: their stdout is a file
/// they write without waiting, so nothing is lost when a CLI exits right
/// after writing it (through a pipe Claude's native binary and Gemini CLI
/// drop what it could not take by then: 3 MiB of 10 arrived). 9,300
/// findings make an answer of about 10 MB; the findings differ, or Gemini
/// stops at its loop detection. Claude's request timeout, short for the
/// fault tests, is the default here: 10 MB take more than 4 s to stream.
#[tokio::test(flavor = "multi_thread")]
async fn a_large_answer_arrives_whole() {
    let runs = run_all_with(
        |_, _| json!([{"structured": large_answer()}]),
        &[("API_TIMEOUT_MS", "600000")],
    )
    .await;
    let expected = large_answer();
    for r in runs {
        let name = r.protocol.name();
        assert_eq!(
            r.outcome.status,
            Status::Ok,
            "{name}: {:?}",
            r.outcome.message
        );
        let answer: Value = serde_json::from_str(r.outcome.answer.as_deref().unwrap_or_default())
            .unwrap_or_else(|e| panic!("{name}: the answer reads: {e}"));
        assert_eq!(answer, expected, "{name}: whole");
    }
}

fn large_answer() -> Value {
    let findings: Vec<Value> = (0..9300)
        .map(|i| {
            json!({"id": format!("S{i}"), "severity": "suggestion",
                "title": format!("Finding number {i} about line {}", i * 7 % 97),
                "path": "calc.py", "line_start": i % 40 + 1, "line_end": i % 40 + 1,
                "quote": format!("x = {i}"),
                "body": (0..12).map(|w| format!("word{}-{i}", w * 31 % 17)).collect::<Vec<_>>().join(" ").repeat(8)})
        })
        .collect();
    json!({"summary": "many findings", "findings": findings})
}

/// Gemini CLI stops a reply it takes for a loop and still reports success;
/// what it kept is not an answer, so the agent fails and says why.
#[tokio::test(flavor = "multi_thread")]
async fn a_reply_gemini_stops_as_a_loop_is_a_failure() {
    let bed = Bed::start(json!({"agents": [{"name": "gemini", "protocol": "gemini",
        "turns": [{"text": "same words again. ".repeat(4_000)}]}]}))
    .await;
    let repo = bed.sample_repo();
    let job = ReviewJob {
        prompt: "Review the last commit.".into(),
        ..ReviewJob::default()
    };
    let outcome = bed.run_agent(Protocol::Gemini, &repo, job, T).await;
    assert_eq!(outcome.exit_code, Some(0), "the CLI calls it a success");
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(
        outcome.message.as_deref(),
        Some("the CLI stopped the answer early: Loop detected, stopping execution")
    );
}
