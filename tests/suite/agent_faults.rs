//! What each real CLI does with each fault the model double can play: the
//! exit code, the final event, and the status deep-review derives. These
//! are the facts the runner relies on (docs/agents.md lists them).
//!
//! Retries are shortened by the test bed's environment: Claude
//! `CLAUDE_CODE_MAX_RETRIES=1` and `API_TIMEOUT_MS=4000`, Codex
//! `request_max_retries = 1` and `stream_idle_timeout_ms = 4000`, Gemini
//! `general.maxAttempts = 2`.

use std::time::Duration;

use crate::common::*;
use deep_review::agents::{ReviewJob, Status};
use deep_review::domain::Protocol;
use serde_json::{Value, json};

struct Expect {
    protocol: Protocol,
    status: Status,
    /// `None`: killed by a signal.
    exit: Option<i32>,
    /// The `type` of the last event line, if the CLI wrote a final one.
    last_event: Option<&'static str>,
    /// How many requests the double saw (retries included).
    requests: usize,
}

fn expect(
    protocol: Protocol,
    status: Status,
    exit: Option<i32>,
    last_event: Option<&'static str>,
    requests: usize,
) -> Expect {
    Expect {
        protocol,
        status,
        exit,
        last_event,
        requests,
    }
}

/// Runs all three CLIs at once, each against a scenario whose first turn
/// plays `fault`, and checks each against its expectation.
async fn check(fault: Value, timeout: Duration, expectations: [Expect; 3]) {
    let runs = expectations.map(|e| {
        let fault = fault.clone();
        tokio::spawn(async move {
            let p = e.protocol;
            let bed = Bed::start(json!({"agents": [{"name": p.name(), "protocol": wire(p),
                "turns": [{"fault": fault, "text": "never seen"}]}]}))
            .await;
            let repo = bed.sample_repo();
            let job = ReviewJob {
                prompt: "Review".into(),
                model: Some("model-1".into()),
                ..ReviewJob::default()
            };
            let outcome = bed.run_agent(p, &repo, job, timeout).await;
            let events =
                std::fs::read_to_string(bed.path(&format!("runs/{}/events.jsonl", p.name())))
                    .unwrap();
            let last = events
                .lines()
                .last()
                .and_then(|l| serde_json::from_str::<Value>(l).ok());
            let last_type = last
                .as_ref()
                .and_then(|v| v["type"].as_str())
                .map(str::to_string);
            let requests = bed.double.requests_for(p.name()).len();
            (e, outcome, last_type, requests)
        })
    });
    for run in runs {
        let (e, outcome, last_type, requests) = run.await.unwrap();
        let name = e.protocol.name();
        assert_eq!(outcome.status, e.status, "{name}: {:?}", outcome.message);
        assert!(
            outcome.message.is_some(),
            "{name}: a failure explains itself"
        );
        if e.status != Status::TimedOut {
            assert_eq!(outcome.exit_code, e.exit, "{name} exit code");
        }
        if let Some(last_event) = e.last_event {
            assert_eq!(last_type.as_deref(), Some(last_event), "{name} final event");
        }
        assert_eq!(requests, e.requests, "{name} requests");
    }
}

const T: Duration = Duration::from_secs(90);

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_without_retry_after() {
    check(
        json!({"kind": "rate_limit"}),
        T,
        [
            expect(
                Protocol::Claude,
                Status::RateLimited,
                Some(1),
                Some("result"),
                2,
            ),
            // Codex does not retry a 429 that carries no Retry-After.
            expect(
                Protocol::Codex,
                Status::RateLimited,
                Some(1),
                Some("turn.failed"),
                1,
            ),
            // Gemini exits with the HTTP status modulo 256.
            expect(
                Protocol::Gemini,
                Status::RateLimited,
                Some(173),
                Some("result"),
                2,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limited_with_retry_after() {
    check(
        json!({"kind": "rate_limit", "retry_after": 1}),
        T,
        [
            expect(
                Protocol::Claude,
                Status::RateLimited,
                Some(1),
                Some("result"),
                2,
            ),
            expect(
                Protocol::Codex,
                Status::RateLimited,
                Some(1),
                Some("turn.failed"),
                2,
            ),
            expect(
                Protocol::Gemini,
                Status::RateLimited,
                Some(173),
                Some("result"),
                2,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_recovered_rate_limit_is_not_a_failure() {
    // One 429, then a normal answer: every CLI retries and succeeds.
    check_recovery(json!({"kind": "rate_limit", "retry_after": 1, "times": 1})).await;
}

async fn check_recovery(fault: Value) {
    for p in ALL {
        let bed = Bed::start(json!({"agents": [{"name": p.name(), "protocol": wire(p),
            "turns": [{"fault": fault.clone(), "text": "recovered"}]}]}))
        .await;
        let repo = bed.sample_repo();
        let job = ReviewJob {
            prompt: "Review".into(),
            ..ReviewJob::default()
        };
        let outcome = bed.run_agent(p, &repo, job, T).await;
        assert_eq!(
            outcome.status,
            Status::Ok,
            "{}: {:?}",
            p.name(),
            outcome.message
        );
        assert_eq!(outcome.answer.as_deref(), Some("recovered"));
        assert_eq!(bed.double.requests_for(p.name()).len(), 2);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn quota_exhausted() {
    check(
        json!({"kind": "quota"}),
        T,
        [
            // 400 billing_error: not retried.
            expect(
                Protocol::Claude,
                Status::QuotaExhausted,
                Some(1),
                Some("result"),
                1,
            ),
            expect(
                Protocol::Codex,
                Status::QuotaExhausted,
                Some(1),
                Some("turn.failed"),
                1,
            ),
            // The daily-quota 429 is not retried either.
            expect(
                Protocol::Gemini,
                Status::QuotaExhausted,
                Some(173),
                Some("result"),
                1,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn server_error() {
    check(
        json!({"kind": "server"}),
        T,
        [
            expect(Protocol::Claude, Status::Failed, Some(1), Some("result"), 2),
            // Codex retries 500 on both its request and its stream budget.
            expect(
                Protocol::Codex,
                Status::Failed,
                Some(1),
                Some("turn.failed"),
                4,
            ),
            expect(
                Protocol::Gemini,
                Status::Failed,
                Some(244),
                Some("result"),
                2,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn auth_failed() {
    check(
        json!({"kind": "auth"}),
        T,
        [
            expect(
                Protocol::Claude,
                Status::AuthFailed,
                Some(1),
                Some("result"),
                2,
            ),
            expect(
                Protocol::Codex,
                Status::AuthFailed,
                Some(1),
                Some("turn.failed"),
                2,
            ),
            expect(
                Protocol::Gemini,
                Status::AuthFailed,
                Some(145),
                Some("result"),
                1,
            ),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hang_before_headers() {
    // Claude gives up by itself (API_TIMEOUT_MS); Codex and Gemini wait
    // forever and are stopped by deep-review's own timeout.
    check(
        json!({"kind": "hang_before_headers"}),
        Duration::from_secs(30),
        [
            expect(Protocol::Claude, Status::Failed, Some(1), Some("result"), 2),
            expect(
                Protocol::Codex,
                Status::TimedOut,
                None,
                Some("turn.started"),
                1,
            ),
            expect(Protocol::Gemini, Status::TimedOut, None, None, 1),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hang_mid_stream() {
    // Only Codex has an idle timeout on a started stream.
    check(
        json!({"kind": "hang_mid_stream"}),
        Duration::from_secs(30),
        [
            expect(Protocol::Claude, Status::TimedOut, None, Some("system"), 1),
            expect(
                Protocol::Codex,
                Status::Failed,
                Some(1),
                Some("turn.failed"),
                2,
            ),
            expect(Protocol::Gemini, Status::TimedOut, None, None, 1),
        ],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn malformed_event() {
    check(
        json!({"kind": "malformed"}),
        T,
        [
            expect(Protocol::Claude, Status::Failed, Some(1), Some("result"), 2),
            expect(
                Protocol::Codex,
                Status::Failed,
                Some(1),
                Some("turn.failed"),
                2,
            ),
            expect(Protocol::Gemini, Status::Failed, Some(1), Some("result"), 2),
        ],
    )
    .await;
}
