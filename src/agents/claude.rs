//! Claude Code (`claude -p … --output-format stream-json`).

use serde::Deserialize;
use serde_json::Value;

use super::events::{Event, Finish, Tokens, parse_typed};
use super::invocation::{Invocation, ReviewJob};
use crate::sandbox::Access;

/// Shell commands a reviewer may run: reading and inspecting only.
pub const READ_ONLY_BASH: &[&str] = &[
    "git log",
    "git diff",
    "git show",
    "git blame",
    "git status",
    "git grep",
    "git ls-files",
    "grep",
    "rg",
    "ls",
    "cat",
    "head",
    "tail",
    "wc",
    "find",
    "sed -n",
];

pub fn invocation(job: &ReviewJob) -> Invocation {
    let mut allowed = vec!["Read".to_string(), "Grep".into(), "Glob".into()];
    match job.access {
        // The OS sandbox is the wall; the prefixes only spare the model
        // refusals it would hit anyway.
        Access::ReadOnly => allowed.extend(READ_ONLY_BASH.iter().map(|c| format!("Bash({c}:*)"))),
        Access::Exec => allowed.push("Bash".into()),
    }
    let mut args = vec![
        "-p".to_string(),
        job.prompt.clone(),
        "--output-format".into(),
        "stream-json".into(),
        "--verbose".into(),
        "--no-session-persistence".into(),
        // What exists for the model, then what may run without asking.
        "--tools".into(),
        "Read,Grep,Glob,Bash".into(),
        "--permission-mode".into(),
        "dontAsk".into(),
        "--allowedTools".into(),
        allowed.join(","),
        "--disallowedTools".into(),
        "Write,Edit,MultiEdit,NotebookEdit,WebFetch,WebSearch".into(),
    ];
    if let Some(model) = &job.model {
        args.extend(["--model".into(), model.clone()]);
    }
    for dir in &job.read_dirs {
        args.extend(["--add-dir".into(), dir.display().to_string()]);
    }
    if let Some(effort) = &job.effort {
        args.extend(["--effort".into(), effort.clone()]);
    }
    if let Some(system) = &job.system {
        args.extend(["--append-system-prompt".into(), system.clone()]);
    }
    if let Some(schema) = &job.schema {
        args.extend(["--json-schema".into(), schema.to_string()]);
    }
    args.extend(job.extra_args.iter().cloned());
    Invocation {
        args,
        env: vec![],
        files: vec![],
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    System(System),
    Assistant(Assistant),
    User(User),
    Result(ResultLine),
}

#[derive(Deserialize)]
struct System {
    subtype: String,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    attempt: Option<u64>,
    #[serde(default)]
    error_status: Option<u16>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Assistant {
    message: Message,
    /// Set on the synthetic message Claude Code writes for an API error.
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    content: Vec<Block>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Block {
    Text {
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    ToolResult {
        tool_use_id: String,
        #[serde(default)]
        is_error: Option<bool>,
        #[serde(default)]
        content: Value,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize, Default, Clone, Copy)]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cache_read_input_tokens: u64,
    #[serde(default)]
    cache_creation_input_tokens: u64,
}

impl Usage {
    fn tokens(self) -> Tokens {
        Tokens {
            input: self.input_tokens
                + self.cache_read_input_tokens
                + self.cache_creation_input_tokens,
            output: self.output_tokens,
            cached: self.cache_read_input_tokens,
            reasoning: 0,
        }
    }
}

#[derive(Deserialize)]
struct User {
    message: UserMessage,
}

#[derive(Deserialize)]
struct UserMessage {
    #[serde(default)]
    content: Value,
}

#[derive(Deserialize)]
struct ResultLine {
    #[serde(default)]
    is_error: bool,
    #[serde(default)]
    api_error_status: Option<u16>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    structured_output: Option<Value>,
    #[serde(default)]
    total_cost_usd: Option<f64>,
    #[serde(default)]
    duration_ms: Option<u64>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    permission_denials: Vec<Value>,
}

/// Parses one stdout line of `claude -p --output-format stream-json`.
pub fn parse_line(line: &str) -> Vec<Event> {
    parse_typed(line, events_of)
}

fn events_of(parsed: Line) -> Vec<Event> {
    match parsed {
        Line::System(s) if s.subtype == "init" => vec![Event::Init { model: s.model }],
        Line::System(s) if s.subtype == "api_retry" => vec![Event::Retry {
            attempt: s.attempt.unwrap_or(0),
            status: s.error_status,
            message: s.error.unwrap_or_else(|| "API error".into()),
        }],
        Line::System(s) => vec![Event::Unknown {
            kind: format!("system/{}", s.subtype),
        }],
        Line::Assistant(a) => {
            let mut events = Vec::new();
            match (a.error, a.message.model) {
                (Some(error), _) => events.push(Event::Warning(error)),
                (None, Some(model)) => events.push(Event::Served { model }),
                (None, None) => {}
            }
            for block in a.message.content {
                match block {
                    Block::Text { text } => events.push(Event::Text { text, delta: false }),
                    Block::ToolUse { id, name, input } => {
                        events.push(Event::ToolCall { id, name, input })
                    }
                    _ => {}
                }
            }
            if let (Some(id), Some(usage)) = (a.message.id, a.message.usage) {
                events.push(Event::MessageUsage {
                    id,
                    tokens: usage.tokens(),
                });
            }
            events
        }
        Line::User(u) => {
            let blocks: Vec<Block> = serde_json::from_value(u.message.content).unwrap_or_default();
            blocks
                .into_iter()
                .filter_map(|b| match b {
                    Block::ToolResult {
                        tool_use_id,
                        is_error,
                        content,
                    } => {
                        let is_error = is_error.unwrap_or(false);
                        let text = content.as_str().unwrap_or_default();
                        Some(Event::ToolResult {
                            id: tool_use_id,
                            is_error,
                            denied: is_error && is_denial(text),
                        })
                    }
                    _ => None,
                })
                .collect()
        }
        Line::Result(r) => vec![Event::Finished(Finish {
            is_error: r.is_error,
            api_status: r.api_error_status,
            error: r.is_error.then(|| r.result.clone().unwrap_or_default()),
            result: r.result,
            structured: r.structured_output,
            tokens: r.usage.map(Usage::tokens),
            cost_usd: r.total_cost_usd,
            duration_ms: r.duration_ms,
            denials: r
                .permission_denials
                .iter()
                .map(|d| d["tool_name"].as_str().unwrap_or("tool").to_string())
                .collect(),
        })],
    }
}

/// Claude Code words a refused call as a permission error or as a tool
/// that is "not enabled in this context".
fn is_denial(text: &str) -> bool {
    let t = text.to_ascii_lowercase();
    t.contains("permission") || t.contains("not enabled") || t.contains("denied")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The argv: the tools that exist, the read-only commands that run
    /// without asking, the writing tools refused, then the job's settings.
    #[test]
    fn the_invocation_allows_reading_and_refuses_writing() {
        let job = ReviewJob {
            prompt: "review".into(),
            model: Some("claude-opus-4-7".into()),
            effort: Some("xhigh".into()),
            system: Some("rules".into()),
            schema: Some(serde_json::json!({"type": "object"})),
            read_dirs: vec!["/run/input".into()],
            extra_args: vec!["--extra".into()],
            ..ReviewJob::default()
        };
        let args = invocation(&job).args;
        let after = |flag: &str| {
            args.iter()
                .position(|a| a == flag)
                .map(|i| args[i + 1].as_str())
        };
        assert_eq!(&args[..2], ["-p", "review"]);
        assert_eq!(after("--tools"), Some("Read,Grep,Glob,Bash"));
        assert_eq!(after("--permission-mode"), Some("dontAsk"));
        let allowed = after("--allowedTools").unwrap();
        assert!(
            allowed.starts_with("Read,Grep,Glob,Bash(git log:*),"),
            "{allowed}"
        );
        assert!(allowed.ends_with("Bash(sed -n:*)"));
        assert_eq!(
            after("--disallowedTools"),
            Some("Write,Edit,MultiEdit,NotebookEdit,WebFetch,WebSearch")
        );
        assert_eq!(after("--model"), Some("claude-opus-4-7"));
        assert_eq!(after("--add-dir"), Some("/run/input"));
        assert_eq!(after("--effort"), Some("xhigh"));
        assert_eq!(after("--append-system-prompt"), Some("rules"));
        assert_eq!(after("--json-schema"), Some("{\"type\":\"object\"}"));
        assert_eq!(args.last().map(String::as_str), Some("--extra"));
        let exec = ReviewJob {
            access: Access::Exec,
            ..ReviewJob::default()
        };
        let args = invocation(&exec).args;
        let i = args.iter().position(|a| a == "--allowedTools").unwrap();
        assert_eq!(args[i + 1], "Read,Grep,Glob,Bash");
        assert!(!args.contains(&"--model".to_string()));
    }

    /// A message's text and tool calls, its usage with the cached input
    /// counted as input, the retry notice, and a refused call.
    #[test]
    fn assistant_user_and_system_lines_are_read() {
        let events = parse_line(
            r#"{"type":"assistant","message":{"id":"m1","model":"claude-opus-4-7","content":[{"type":"text","text":"Looking."},{"type":"tool_use","id":"t1","name":"Read","input":{"file_path":"a.rs"}}],"usage":{"input_tokens":10,"output_tokens":5,"cache_read_input_tokens":100,"cache_creation_input_tokens":20}}}"#,
        );
        assert_eq!(
            events,
            [
                Event::Served {
                    model: "claude-opus-4-7".into()
                },
                Event::Text {
                    text: "Looking.".into(),
                    delta: false
                },
                Event::ToolCall {
                    id: "t1".into(),
                    name: "Read".into(),
                    input: serde_json::json!({"file_path": "a.rs"})
                },
                Event::MessageUsage {
                    id: "m1".into(),
                    tokens: Tokens {
                        input: 130,
                        output: 5,
                        cached: 100,
                        reasoning: 0
                    }
                },
            ]
        );
        assert_eq!(
            parse_line(
                r#"{"type":"system","subtype":"api_retry","attempt":2,"error_status":529,"error":"overloaded"}"#
            ),
            [Event::Retry {
                attempt: 2,
                status: Some(529),
                message: "overloaded".into()
            }]
        );
        assert_eq!(
            parse_line(r#"{"type":"system","subtype":"hook_started"}"#),
            [Event::Unknown {
                kind: "system/hook_started".into()
            }]
        );
        let result = |content: &str, is_error: bool| {
            parse_line(
                &serde_json::json!({"type": "user", "message": {"content": [
                    {"type": "tool_result", "tool_use_id": "t1", "is_error": is_error, "content": content}]}})
                .to_string(),
            )
        };
        let refused = "Claude requested permissions to use Bash, but you haven't granted it yet.";
        assert_eq!(
            result(refused, true),
            [Event::ToolResult {
                id: "t1".into(),
                is_error: true,
                denied: true
            }]
        );
        assert_eq!(
            result("Exit code 2\nls: no such file", true),
            [Event::ToolResult {
                id: "t1".into(),
                is_error: true,
                denied: false
            }]
        );
        assert_eq!(
            result(refused, false),
            [Event::ToolResult {
                id: "t1".into(),
                is_error: false,
                denied: false
            }]
        );
    }
}
