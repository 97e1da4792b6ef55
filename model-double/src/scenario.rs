//! The scenario file: what each scripted "model" answers, turn by turn.
//!
//! The format is documented in `docs/testing.md`; keep the two in step.

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub agents: Vec<AgentScript>,
}

/// The wire protocol a request arrived on, which is also how a request is
/// matched to a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// Anthropic Messages (Claude Code).
    Anthropic,
    /// OpenAI Responses (Codex).
    Openai,
    /// Gemini `streamGenerateContent` (Gemini CLI).
    Gemini,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AgentScript {
    /// Label used in the request log.
    pub name: String,
    pub protocol: Protocol,
    /// Only requests whose model contains this string use this script.
    #[serde(default)]
    pub match_model: Option<String>,
    /// Only requests whose body contains this string use this script; lets
    /// two runs of the same CLI (a review and a consolidation) differ.
    #[serde(default)]
    pub match_text: Option<String>,
    /// Delay between streamed chunks, to make an agent slow.
    #[serde(default)]
    pub chunk_delay_ms: u64,
    pub turns: Vec<Turn>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Turn {
    /// Wait this long before sending response headers.
    #[serde(default)]
    pub delay_ms: u64,
    #[serde(default)]
    pub tool_calls: Vec<ToolCall>,
    /// Free text answer (sent after any tool calls of the same turn).
    #[serde(default)]
    pub text: Option<String>,
    /// A structured answer: for Anthropic, sent as a `StructuredOutput`
    /// tool call when the request offers that tool; otherwise as JSON text.
    #[serde(default)]
    pub structured: Option<Value>,
    /// Reasoning sent before the answer, as each service streams it: an
    /// Anthropic `thinking` block, an OpenAI `reasoning` item with its
    /// summary, Gemini `thought` parts. It is never part of the answer.
    #[serde(default)]
    pub thinking: Option<String>,
    #[serde(default)]
    pub usage: Usage,
    #[serde(default)]
    pub fault: Option<Fault>,
    /// Hold the answer until every named script has sent a request (or
    /// 60 s have passed): proves agents run at the same time without
    /// relying on timing.
    #[serde(default)]
    pub wait_for: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ToolCall {
    pub name: String,
    #[serde(default)]
    pub args: Value,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Usage {
    #[serde(default)]
    pub input: u64,
    #[serde(default)]
    pub output: u64,
    #[serde(default)]
    pub cached: u64,
    #[serde(default)]
    pub reasoning: u64,
}

// No deny_unknown_fields here: serde does not support it with flatten.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Fault {
    #[serde(flatten)]
    pub kind: FaultKind,
    /// Fail this many attempts, then answer normally; absent: always fail.
    #[serde(default)]
    pub times: Option<u32>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FaultKind {
    /// 429 in the protocol's own error shape.
    RateLimit {
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// The vendor's quota or billing error (Anthropic 400 billing_error,
    /// OpenAI 429 insufficient_quota, Gemini 429 daily quota).
    Quota,
    /// 500.
    Server,
    /// 401.
    Auth,
    /// Any status with any body.
    Status {
        status: u16,
        #[serde(default)]
        body: Option<Value>,
        #[serde(default)]
        retry_after: Option<u64>,
    },
    /// Accept the request and never send response headers.
    HangBeforeHeaders,
    /// Send the first events of a normal answer, then nothing.
    HangMidStream,
    /// Send an event that is not valid JSON, then close.
    Malformed,
    /// Send the first events of a normal answer, then the service's error
    /// event inside the stream (`overloaded_error`, `response.failed`, a
    /// Gemini error object), then close.
    ErrorMidStream,
    /// Stop at the output limit: part of the answer, then `max_tokens`
    /// (Anthropic), `response.incomplete` with `max_output_tokens`
    /// (OpenAI), `MAX_TOKENS` (Gemini).
    LengthStop,
}

impl FaultKind {
    pub fn label(&self) -> String {
        match self {
            FaultKind::RateLimit { .. } => "rate_limit".into(),
            FaultKind::Quota => "quota".into(),
            FaultKind::Server => "server".into(),
            FaultKind::Auth => "auth".into(),
            FaultKind::Status { status, .. } => format!("status_{status}"),
            FaultKind::HangBeforeHeaders => "hang_before_headers".into(),
            FaultKind::HangMidStream => "hang_mid_stream".into(),
            FaultKind::Malformed => "malformed".into(),
            FaultKind::ErrorMidStream => "error_mid_stream".into(),
            FaultKind::LengthStop => "length_stop".into(),
        }
    }
}

impl Scenario {
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}
