//! How one agent run ended, as the report and the exit code see it.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::events::{Finish, Tally, Tokens};
use crate::domain::Protocol;

pub use crate::domain::AgentStatus as Status;

/// Why we stopped an agent ourselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stopped {
    Timeout(Duration),
    Cancelled,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Outcome {
    pub name: String,
    pub display_name: String,
    pub protocol: Protocol,
    /// The model asked for, if any.
    pub model: Option<String>,
    /// The model that answered, as the vendor named it; else the model the
    /// CLI says it uses.
    pub reported_model: Option<String>,
    pub effort: Option<String>,
    pub status: Status,
    /// What went wrong, in one line, when status is not ok.
    pub message: Option<String>,
    /// From our own clock.
    pub duration_ms: u64,
    pub exit_code: Option<i32>,
    pub tool_calls: BTreeMap<String, u64>,
    pub denied_calls: u64,
    pub tokens: Tokens,
    pub cost_usd: Option<f64>,
    pub files_opened: BTreeSet<String>,
    /// The final answer text (structured output serialised, else the last
    /// assistant text).
    pub answer: Option<String>,
    pub structured: Option<Value>,
    pub retries: u64,
    pub unknown_events: u64,
    pub garbage_lines: u64,
}

impl Outcome {
    pub fn total_tool_calls(&self) -> u64 {
        self.tool_calls.values().sum()
    }
}

/// Decides the status from the final event, the exit code and whether we
/// stopped the agent. The final event wins over the exit code: Claude
/// reports API errors under a "success" subtype with `is_error`, Gemini's
/// exit code is the HTTP status modulo 256.
pub fn classify(
    protocol: Protocol,
    tally: &Tally,
    exit_code: Option<i32>,
    stopped: Option<Stopped>,
    stderr_tail: &str,
) -> (Status, Option<String>) {
    match stopped {
        Some(Stopped::Timeout(limit)) => {
            let mut message = format!(
                "no answer within {}; stopped",
                humantime::format_duration(limit)
            );
            if let Some(retry) = &tally.last_retry {
                message.push_str(&format!(" (it was retrying: {retry})"));
            }
            return (Status::TimedOut, Some(message));
        }
        Some(Stopped::Cancelled) => {
            return (Status::Cancelled, Some("cancelled by the user".into()));
        }
        None => {}
    }
    let finish = tally.finish.as_ref();
    let failed_finish = finish.filter(|f| f.is_error);
    if let Some(f) = failed_finish {
        let text = error_text(f);
        return (
            kind_of(protocol, f.api_status, &text, exit_code),
            Some(one_line(&text)),
        );
    }
    // Gemini CLI ends a reply it takes for a loop with a warning and a
    // successful result: what it kept is part of an answer, not one.
    let stopped_early = tally
        .warnings
        .iter()
        .find(|w| w.to_lowercase().contains("stopping execution"));
    match (finish, exit_code) {
        (Some(_), Some(0)) if stopped_early.is_some() => (
            Status::Failed,
            stopped_early.map(|w| one_line(&format!("the CLI stopped the answer early: {w}"))),
        ),
        (Some(_), Some(0)) => (Status::Ok, None),
        (Some(_), code) => {
            let message = format!(
                "the CLI reported success but exited with {}",
                code.map_or("a signal".to_string(), |c| c.to_string())
            );
            (Status::Failed, Some(message))
        }
        (None, code) => {
            let mut text = stderr_tail.trim().lines().last().unwrap_or("").to_string();
            if let Some(g) = &tally.first_garbage {
                text = format!("output was not the expected event stream: {g}");
            } else if text.is_empty() {
                text = "it ended without a final event".into();
            }
            let status = kind_of(
                protocol,
                http_from_exit(protocol, code),
                &format!("{stderr_tail}\n{text}"),
                code,
            );
            let exit = code.map_or("a signal".to_string(), |c| c.to_string());
            (
                status,
                Some(one_line(&format!("exited with {exit}: {text}"))),
            )
        }
    }
}

fn error_text(f: &Finish) -> String {
    f.error
        .clone()
        .or_else(|| f.result.clone())
        .unwrap_or_else(|| "the CLI reported an error".into())
}

/// Gemini exits with the HTTP status modulo 256.
fn http_from_exit(protocol: Protocol, code: Option<i32>) -> Option<u16> {
    match (protocol, code?) {
        (Protocol::Gemini, 173) => Some(429),
        (Protocol::Gemini, 145) => Some(401),
        (Protocol::Gemini, 144) => Some(400),
        (Protocol::Gemini, 147) => Some(403),
        _ => None,
    }
}

fn kind_of(_protocol: Protocol, status: Option<u16>, text: &str, _exit: Option<i32>) -> Status {
    let t = text.to_ascii_lowercase();
    // A per-minute 429 may mention quota too ("check quota"); these phrases
    // are the ones only an exhausted plan or balance uses.
    const QUOTA: &[&str] = &[
        "daily quota",
        "credit balance",
        "billing",
        "insufficient_quota",
        "quota exceeded",
        "exceeded your current quota",
    ];
    if QUOTA.iter().any(|q| t.contains(q)) {
        return Status::QuotaExhausted;
    }
    if status == Some(429)
        || mentions_status(&t, "429")
        || t.contains("resource has been exhausted")
        || t.contains("rate limit")
        || t.contains("rate_limit")
    {
        return Status::RateLimited;
    }
    if matches!(status, Some(401 | 403))
        || t.contains("api key not valid")
        || t.contains("unauthorized")
        || t.contains("authentication")
        || t.contains("invalid api key")
        || t.contains("incorrect api key")
    {
        return Status::AuthFailed;
    }
    Status::Failed
}

/// Whether `text` names the HTTP status `code` as a number of its own:
/// not part of a port (`127.0.0.1:42919`), an id, a version or a longer
/// number, which error messages carry too.
fn mentions_status(text: &str, code: &str) -> bool {
    text.match_indices(code).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + code.len()..].chars().next();
        let free = |c: Option<char>| c.is_none_or(|c| !c.is_ascii_alphanumeric());
        free(before) && free(after) && !matches!(before, Some('.' | '_' | '-' | '/'))
    })
}

fn one_line(text: &str) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() > 300 {
        format!("{}…", flat.chars().take(300).collect::<String>())
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finished(is_error: bool, error: Option<&str>, status: Option<u16>) -> Tally {
        let mut tally = Tally::default();
        tally.apply(super::super::events::Event::Finished(Finish {
            is_error,
            api_status: status,
            error: error.map(str::to_string),
            ..Finish::default()
        }));
        tally
    }

    /// A message is one line of at most 300 characters, marked where cut.
    #[test]
    fn messages_are_one_short_line() {
        assert_eq!(one_line("a\n  b\tc"), "a b c");
        let exact = "é".repeat(300);
        assert_eq!(one_line(&exact), exact);
        assert_eq!(one_line(&"é".repeat(301)), format!("{exact}…"));
    }

    /// Every wording of a refused key is an authentication failure, each
    /// on its own; every wording of a rate limit a rate limit.
    #[test]
    fn each_wording_of_a_refusal_is_recognised_alone() {
        let kind = |text: &str| kind_of(Protocol::Claude, None, text, Some(1));
        for text in [
            "API key not valid. Please pass a valid API key.",
            "401 Unauthorized",
            "Authentication failed",
            "Invalid API key provided",
            "Incorrect API key provided: sk-…",
        ] {
            assert_eq!(kind(text), Status::AuthFailed, "{text}");
        }
        for text in [
            "HTTP 429",
            "Resource has been exhausted (e.g. check quota).",
            "Rate limit reached",
            "rate_limit_error",
        ] {
            assert_eq!(kind(text), Status::RateLimited, "{text}");
        }
        assert_eq!(
            kind_of(Protocol::Claude, Some(403), "", Some(1)),
            Status::AuthFailed
        );
        assert_eq!(kind("something else broke"), Status::Failed);
    }

    /// How a run ended, from our stop, the final event, the exit code and
    /// stderr — each way once.
    #[test]
    fn every_ending_is_classified() {
        let c = |tally: &Tally, exit: Option<i32>, stopped: Option<Stopped>, stderr: &str| {
            classify(Protocol::Gemini, tally, exit, stopped, stderr)
        };
        let mut retrying = Tally::default();
        retrying.last_retry = Some("HTTP 429: slow down".into());
        assert_eq!(
            c(
                &retrying,
                None,
                Some(Stopped::Timeout(Duration::from_secs(90))),
                ""
            ),
            (
                Status::TimedOut,
                Some(
                    "no answer within 1m 30s; stopped (it was retrying: HTTP 429: slow down)"
                        .into()
                )
            )
        );
        assert_eq!(
            c(&Tally::default(), None, Some(Stopped::Cancelled), "").0,
            Status::Cancelled
        );
        let quota = finished(true, Some("You exceeded your current quota"), None);
        assert_eq!(c(&quota, Some(1), None, "").0, Status::QuotaExhausted);
        let auth = finished(true, Some("bad request"), Some(401));
        assert_eq!(
            c(&auth, Some(1), None, ""),
            (Status::AuthFailed, Some("bad request".into()))
        );
        let ok = finished(false, None, None);
        assert_eq!(c(&ok, Some(0), None, ""), (Status::Ok, None));
        assert_eq!(
            c(&ok, Some(2), None, ""),
            (
                Status::Failed,
                Some("the CLI reported success but exited with 2".into())
            )
        );
        let mut looped = finished(false, None, None);
        looped
            .warnings
            .push("Loop detected, stopping execution".into());
        assert_eq!(
            c(&looped, Some(0), None, ""),
            (
                Status::Failed,
                Some("the CLI stopped the answer early: Loop detected, stopping execution".into())
            )
        );
        // No final event: stderr's last line, garbage first, the exit code.
        assert_eq!(
            c(
                &Tally::default(),
                Some(173),
                None,
                "trace\nToo Many Requests\n"
            ),
            (
                Status::RateLimited,
                Some("exited with 173: Too Many Requests".into())
            )
        );
        assert_eq!(
            c(&Tally::default(), Some(145), None, "").0,
            Status::AuthFailed,
            "Gemini's exit code is the HTTP status modulo 256"
        );
        assert_eq!(
            c(&Tally::default(), Some(147), None, "").0,
            Status::AuthFailed
        );
        assert_eq!(
            classify(Protocol::Codex, &Tally::default(), Some(145), None, "").0,
            Status::Failed
        );
        let mut garbage = Tally::default();
        garbage.apply(super::super::events::Event::Garbage("<html>".into()));
        assert_eq!(
            c(&garbage, None, None, "").1.as_deref(),
            Some("exited with a signal: output was not the expected event stream: <html>")
        );
        assert_eq!(
            c(&Tally::default(), Some(1), None, "").1.as_deref(),
            Some("exited with 1: it ended without a final event")
        );
    }

    #[test]
    fn a_status_in_a_port_or_an_id_is_not_a_status() {
        for (text, expected) in [
            (
                "unexpected status 401 Unauthorized: Missing bearer, url: http://127.0.0.1:42919/v1/responses",
                Status::AuthFailed,
            ),
            ("request req_4291ab failed: internal error", Status::Failed),
            (
                "exceeded retry limit, last status: 429 Too Many Requests",
                Status::RateLimited,
            ),
            ("[API Error: (429) too many requests]", Status::RateLimited),
            (
                "{\"code\":429,\"status\":\"RESOURCE_EXHAUSTED\"}",
                Status::RateLimited,
            ),
        ] {
            assert_eq!(
                kind_of(Protocol::Codex, None, text, Some(1)),
                expected,
                "{text}"
            );
        }
    }
}
