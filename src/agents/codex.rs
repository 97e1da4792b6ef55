//! Codex CLI (`codex exec --json`).

use serde::Deserialize;
use serde_json::Value;

use super::events::{Event, Finish, Tokens, parse_typed};
use super::invocation::{Invocation, ReviewJob};
use crate::sandbox::Access;

pub fn invocation(job: &ReviewJob, confined: bool) -> Invocation {
    let mut args = vec![
        "exec".to_string(),
        "--json".into(),
        // Codex's own sandbox is bubblewrap, which needs the mounts and
        // user namespaces that Landlock forbids: inside deep-review's
        // sandbox, that one is the wall (docs/security.md).
        "--sandbox".into(),
        match (confined, job.access) {
            (true, _) => "danger-full-access".into(),
            (false, Access::ReadOnly) => "read-only".into(),
            (false, Access::Exec) => "workspace-write".into(),
        },
        "--ephemeral".into(),
        "--skip-git-repo-check".into(),
    ];
    let mut files = Vec::new();
    if let Some(model) = &job.model {
        args.extend(["-m".into(), model.clone()]);
    }
    if let Some(effort) = &job.effort {
        args.extend([
            "-c".into(),
            format!("model_reasoning_effort={}", toml_string(effort)),
        ]);
    }
    if let Some(system) = &job.system {
        args.extend([
            "-c".into(),
            format!("developer_instructions={}", toml_string(system)),
        ]);
    }
    if let Some(schema) = &job.schema {
        let path = job.scratch.join("answer-schema.json");
        files.push((path.clone(), schema.to_string()));
        args.extend(["--output-schema".into(), path.display().to_string()]);
    }
    args.extend(job.extra_args.iter().cloned());
    // `--` keeps a prompt that happens to equal a subcommand name
    // ("review") from being taken as one.
    args.extend(["--".into(), job.prompt.clone()]);
    Invocation {
        args,
        env: vec![],
        files,
    }
}

/// `-c` values are TOML; a JSON string literal is a valid TOML basic string.
fn toml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

#[derive(Deserialize)]
#[serde(tag = "type")]
enum Line {
    #[serde(rename = "thread.started")]
    ThreadStarted,
    #[serde(rename = "turn.started")]
    TurnStarted,
    #[serde(rename = "item.started")]
    ItemStarted {},
    #[serde(rename = "item.updated")]
    ItemUpdated,
    #[serde(rename = "item.completed")]
    ItemCompleted { item: Item },
    #[serde(rename = "turn.completed")]
    TurnCompleted { usage: Usage },
    #[serde(rename = "turn.failed")]
    TurnFailed { error: Message },
    #[serde(rename = "error")]
    Error { message: String },
}

#[derive(Deserialize)]
struct Message {
    message: String,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Item {
    CommandExecution {
        id: String,
        command: String,
        #[serde(default)]
        aggregated_output: String,
        #[serde(default)]
        exit_code: Option<i64>,
        #[serde(default)]
        status: String,
    },
    FileChange {
        id: String,
        #[serde(default)]
        changes: Vec<Value>,
        #[serde(default)]
        status: String,
    },
    McpToolCall {
        id: String,
        #[serde(default)]
        server: String,
        #[serde(default)]
        tool: String,
        #[serde(default)]
        status: String,
    },
    WebSearch {
        id: String,
        #[serde(default)]
        query: String,
    },
    AgentMessage {
        text: String,
    },
    Error {
        message: String,
    },
    #[serde(other)]
    Other,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    cached_input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    reasoning_output_tokens: u64,
}

/// Parses one stdout line of `codex exec --json`.
pub fn parse_line(line: &str) -> Vec<Event> {
    parse_typed(line, events_of)
}

fn events_of(parsed: Line) -> Vec<Event> {
    match parsed {
        Line::ThreadStarted | Line::TurnStarted | Line::ItemUpdated => vec![],
        // A call is counted when it completes: counting at both events
        // would need a set of ids, and memory must stay flat.
        Line::ItemStarted { .. } => vec![],
        Line::ItemCompleted { item } => completed(item),
        Line::TurnCompleted { usage } => {
            let tokens = Tokens {
                input: usage.input_tokens,
                output: usage.output_tokens,
                cached: usage.cached_input_tokens,
                reasoning: usage.reasoning_output_tokens,
            };
            vec![
                Event::UsageTotal(tokens),
                Event::Finished(Finish {
                    tokens: Some(tokens),
                    ..Finish::default()
                }),
            ]
        }
        Line::TurnFailed { error } => vec![Event::Finished(Finish {
            is_error: true,
            api_status: status_in(&error.message),
            error: Some(error.message),
            ..Finish::default()
        })],
        Line::Error { message } => match retry_attempt(&message) {
            Some(attempt) => vec![Event::Retry {
                attempt,
                status: status_in(&message),
                message,
            }],
            None => vec![Event::Warning(message)],
        },
    }
}

/// The tool call an item stands for. Codex's stream names the kind of
/// action, not the model-level tool, so these are the names we count.
fn call_of(item: &Item) -> Option<Event> {
    let (id, name, input) = match item {
        Item::CommandExecution { id, command, .. } => (
            id,
            "shell".to_string(),
            serde_json::json!({ "command": command }),
        ),
        Item::FileChange { id, changes, .. } => {
            let paths: Vec<&Value> = changes.iter().map(|c| &c["path"]).collect();
            (
                id,
                "apply_patch".to_string(),
                serde_json::json!({ "paths": paths }),
            )
        }
        Item::McpToolCall {
            id, server, tool, ..
        } => (id, format!("mcp:{server}.{tool}"), Value::Null),
        Item::WebSearch { id, query } => (
            id,
            "web_search".to_string(),
            serde_json::json!({ "query": query }),
        ),
        _ => return None,
    };
    Some(Event::ToolCall {
        id: id.clone(),
        name,
        input,
    })
}

fn completed(item: Item) -> Vec<Event> {
    let mut events: Vec<Event> = call_of(&item).into_iter().collect();
    match item {
        Item::CommandExecution {
            id,
            aggregated_output,
            exit_code,
            status,
            ..
        } => {
            let is_error =
                status == "failed" || status == "declined" || exit_code.is_some_and(|c| c != 0);
            let denied = status == "declined"
                || (is_error
                    && (aggregated_output.contains("Read-only file system")
                        || aggregated_output.contains("Operation not permitted")
                        // deep-review's Landlock sandbox refuses with EACCES.
                        || aggregated_output.contains("Permission denied")));
            events.push(Event::ToolResult {
                id,
                is_error,
                denied,
            });
        }
        Item::FileChange { id, status, .. } | Item::McpToolCall { id, status, .. } => {
            let is_error = status != "completed";
            events.push(Event::ToolResult {
                id,
                is_error,
                denied: is_error,
            });
        }
        Item::AgentMessage { text } => events.push(Event::Text { text, delta: false }),
        Item::Error { message } => events.push(Event::Warning(message)),
        _ => {}
    }
    events
}

/// "Reconnecting... 2/5 (…)" → 2
fn retry_attempt(message: &str) -> Option<u64> {
    let rest = message.strip_prefix("Reconnecting... ")?;
    rest.split('/').next()?.trim().parse().ok()
}

/// "unexpected status 401 Unauthorized: …" or "last status: 429 …" → the
/// first HTTP status after the word "status".
fn status_in(message: &str) -> Option<u16> {
    let rest = &message[message.find("status")? + "status".len()..];
    rest.split(|c: char| !c.is_ascii_digit())
        .find(|w| w.len() == 3)?
        .parse()
        .ok()
}
