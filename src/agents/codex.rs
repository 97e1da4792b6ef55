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
        files.push((path.clone(), strict(schema).to_string()));
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

/// The schema as OpenAI's strict structured output takes it: every
/// property of an object required, an optional one nullable instead (the
/// answer then carries `null`, which reads as absent). Claude Code checks
/// answers against the schema as given, where optional means optional.
pub fn strict(schema: &serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    let mut out = schema.clone();
    if let Some(props) = out.get_mut("properties").and_then(Value::as_object_mut) {
        let required: Vec<String> = schema["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect();
        let mut all = Vec::new();
        for (name, prop) in props.iter_mut() {
            *prop = strict(prop);
            if !required.contains(name) {
                *prop = nullable(std::mem::take(prop));
            }
            all.push(json!(name));
        }
        out["required"] = Value::Array(all);
        if out.get("additionalProperties").is_none() {
            out["additionalProperties"] = json!(false);
        }
    }
    if let Some(items) = out.get_mut("items") {
        *items = strict(items);
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(list) = out.get_mut(key).and_then(Value::as_array_mut) {
            for s in list {
                *s = strict(s);
            }
        }
    }
    out
}

fn nullable(schema: serde_json::Value) -> serde_json::Value {
    use serde_json::{Value, json};
    match schema.get("type") {
        Some(Value::String(t)) if schema.get("enum").is_none() => {
            let mut s = schema.clone();
            s["type"] = json!([t, "null"]);
            s
        }
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
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

#[cfg(test)]
mod tests {
    use super::*;

    fn job() -> ReviewJob {
        ReviewJob {
            prompt: "review".into(),
            system: Some("say \"no\"".into()),
            schema: Some(serde_json::json!({"type": "object"})),
            model: Some("gpt-5.4".into()),
            effort: Some("high".into()),
            extra_args: vec!["--extra".into()],
            scratch: "/run/agents/codex".into(),
            ..ReviewJob::default()
        }
    }

    /// The argv: Codex's own sandbox only outside deep-review's, settings
    /// as TOML strings, the schema as a file, the prompt after `--`.
    #[test]
    fn the_invocation_says_everything_once() {
        let inv = invocation(&job(), false);
        assert_eq!(
            inv.args,
            [
                "exec",
                "--json",
                "--sandbox",
                "read-only",
                "--ephemeral",
                "--skip-git-repo-check",
                "-m",
                "gpt-5.4",
                "-c",
                "model_reasoning_effort=\"high\"",
                "-c",
                "developer_instructions=\"say \\\"no\\\"\"",
                "--output-schema",
                "/run/agents/codex/answer-schema.json",
                "--extra",
                "--",
                "review",
            ]
        );
        assert_eq!(
            inv.files,
            [(
                std::path::PathBuf::from("/run/agents/codex/answer-schema.json"),
                "{\"type\":\"object\"}".to_string()
            )]
        );
        assert_eq!(invocation(&job(), true).args[3], "danger-full-access");
        let exec = ReviewJob {
            access: Access::Exec,
            ..job()
        };
        assert_eq!(invocation(&exec, false).args[3], "workspace-write");
    }

    fn result(line: serde_json::Value) -> (bool, bool) {
        match parse_line(&line.to_string()).last() {
            Some(Event::ToolResult {
                is_error, denied, ..
            }) => (*is_error, *denied),
            other => panic!("{other:?}"),
        }
    }

    /// A command's result: failed, declined, a non-zero exit; denied when
    /// the sandbox said so.
    #[test]
    fn command_results_tell_failures_from_denials() {
        let cmd = |status: &str, exit: Option<i64>, output: &str| {
            serde_json::json!({"type": "item.completed", "item": {"id": "i", "type": "command_execution",
                "command": "touch x", "aggregated_output": output, "exit_code": exit, "status": status}})
        };
        assert_eq!(result(cmd("completed", Some(0), "")), (false, false));
        assert_eq!(result(cmd("completed", Some(1), "no match")), (true, false));
        assert_eq!(result(cmd("failed", None, "boom")), (true, false));
        assert_eq!(result(cmd("declined", None, "")), (true, true));
        for refusal in [
            "touch: x: Read-only file system",
            "Operation not permitted",
            "bash: x: Permission denied",
        ] {
            assert_eq!(
                result(cmd("failed", Some(1), refusal)),
                (true, true),
                "{refusal}"
            );
            assert_eq!(result(cmd("completed", Some(0), refusal)), (false, false));
        }
    }

    /// Every kind of item that is a tool call is counted under its name;
    /// a file change or MCP call that did not complete failed and was
    /// refused; an error item is a warning.
    #[test]
    fn every_item_kind_is_read() {
        let item = |item: serde_json::Value| {
            parse_line(&serde_json::json!({"type": "item.completed", "item": item}).to_string())
        };
        let names = |events: &[Event]| -> Vec<String> {
            events
                .iter()
                .filter_map(|e| match e {
                    Event::ToolCall { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .collect()
        };
        let mcp = item(
            serde_json::json!({"id": "m", "type": "mcp_tool_call", "server": "docs", "tool": "search", "status": "completed"}),
        );
        assert_eq!(names(&mcp), ["mcp:docs.search"]);
        assert!(matches!(
            mcp[1],
            Event::ToolResult {
                is_error: false,
                denied: false,
                ..
            }
        ));
        let search = item(serde_json::json!({"id": "w", "type": "web_search", "query": "rust"}));
        assert_eq!(names(&search), ["web_search"]);
        let change = item(
            serde_json::json!({"id": "f", "type": "file_change", "changes": [{"path": "a.rs"}], "status": "failed"}),
        );
        assert_eq!(names(&change), ["apply_patch"]);
        assert!(matches!(
            change[1],
            Event::ToolResult {
                is_error: true,
                denied: true,
                ..
            }
        ));
        assert_eq!(
            item(serde_json::json!({"id": "e", "type": "error", "message": "model busy"})),
            [Event::Warning("model busy".into())]
        );
        assert!(item(serde_json::json!({"id": "r", "type": "reasoning", "text": "hm"})).is_empty());
    }

    #[test]
    fn a_status_is_the_first_three_digits_after_the_word() {
        assert_eq!(
            status_in("unexpected status 401 Unauthorized: no key"),
            Some(401)
        );
        assert_eq!(
            status_in("exceeded retry limit, last status: 429 Too Many"),
            Some(429)
        );
        assert_eq!(status_in("status 12345 then 503"), Some(503));
        assert_eq!(status_in("HTTP 500 with no word"), None);
        assert_eq!(status_in("status unknown"), None);
    }
}

#[cfg(test)]
mod strict_tests {
    use super::strict;
    use serde_json::json;

    /// Every property required (OpenAI's strict mode); the optional ones
    /// nullable, at every depth.
    #[test]
    fn optional_properties_become_required_and_nullable() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "string"},
            "b": {"type": "array", "items": {"type": "object", "properties": {
                "x": {"type": "integer"}, "y": {"type": "string", "enum": ["p", "q"]}}, "required": ["x"]}}
        }, "required": ["a"]});
        assert_eq!(
            strict(&schema),
            json!({"type": "object", "additionalProperties": false, "properties": {
                "a": {"type": "string"},
                "b": {"type": ["array", "null"], "items": {"type": "object", "additionalProperties": false, "properties": {
                    "x": {"type": "integer"},
                    "y": {"anyOf": [{"type": "string", "enum": ["p", "q"]}, {"type": "null"}]}}, "required": ["x", "y"]}}
            }, "required": ["a", "b"]})
        );
    }

    /// The answer schema as Codex gets it: every property required.
    #[test]
    fn the_answer_schema_is_strict_for_codex() {
        let schema = strict(&crate::review::schema());
        fn check(s: &serde_json::Value) {
            if let Some(props) = s["properties"].as_object() {
                let required = s["required"].as_array().unwrap();
                assert_eq!(required.len(), props.len(), "{s}");
                props.values().for_each(check);
            }
            if let Some(items) = s.get("items") {
                check(items);
            }
            for alt in s["anyOf"].as_array().into_iter().flatten() {
                check(alt);
            }
        }
        check(&schema);
        assert_eq!(
            schema["properties"]["coverage"]["type"],
            json!(["array", "null"])
        );
    }
}
