//! What an agent is and what became of its run.

use serde::{Deserialize, Serialize};

/// The event-stream protocol an agent speaks: which CLI it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    Claude,
    Codex,
    Gemini,
}

impl Protocol {
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Claude => "claude",
            Protocol::Codex => "codex",
            Protocol::Gemini => "gemini",
        }
    }

    /// Effort levels the CLI accepts, as documented in docs/agents.md.
    pub fn efforts(self) -> &'static [&'static str] {
        match self {
            Protocol::Claude => &["low", "medium", "high", "xhigh", "max"],
            Protocol::Codex => &["minimal", "low", "medium", "high", "xhigh"],
            // Gemini has no effort flag; these map to thinking settings.
            Protocol::Gemini => &["default", "low", "medium", "high"],
        }
    }
}

/// How an agent's run ended. The supervisor decides all but
/// `AnswerInvalid`, which consolidation sets when a run that ended well
/// gave an answer that could not be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    Ok,
    Failed,
    TimedOut,
    RateLimited,
    QuotaExhausted,
    AuthFailed,
    NotInstalled,
    Cancelled,
    AnswerInvalid,
}

impl AgentStatus {
    pub fn name(self) -> &'static str {
        match self {
            AgentStatus::Ok => "ok",
            AgentStatus::Failed => "failed",
            AgentStatus::TimedOut => "timed_out",
            AgentStatus::RateLimited => "rate_limited",
            AgentStatus::QuotaExhausted => "quota_exhausted",
            AgentStatus::AuthFailed => "auth_failed",
            AgentStatus::NotInstalled => "not_installed",
            AgentStatus::Cancelled => "cancelled",
            AgentStatus::AnswerInvalid => "answer_invalid",
        }
    }

    /// `timed out`, as prose says it.
    pub fn words(self) -> String {
        self.name().replace('_', " ")
    }

    pub fn is_ok(self) -> bool {
        self == AgentStatus::Ok
    }
}

impl std::fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn protocols_are_named_as_configured() {
        for p in [Protocol::Claude, Protocol::Codex, Protocol::Gemini] {
            assert_eq!(serde_json::to_value(p).unwrap(), p.name());
        }
        assert_eq!(Protocol::Codex.name(), "codex");
    }

    #[test]
    fn statuses_serialise_as_their_names() {
        for s in [
            AgentStatus::Ok,
            AgentStatus::TimedOut,
            AgentStatus::QuotaExhausted,
            AgentStatus::AnswerInvalid,
        ] {
            assert_eq!(serde_json::to_value(s).unwrap(), s.name());
            assert_eq!(s.to_string(), s.name());
        }
        assert_eq!(AgentStatus::TimedOut.words(), "timed out");
    }
}
