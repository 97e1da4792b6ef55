//! Gemini CLI (`gemini -p … -o stream-json`).

use std::path::{Path, PathBuf};

use serde::Deserialize;
use serde_json::{Value, json};

use super::claude::READ_ONLY_BASH;
use super::events::{Event, Finish, Tokens, parse_typed};
use super::invocation::{Invocation, ReviewJob};
use crate::sandbox::Access;

/// Tools that reach the network or write: denied even if offered.
const DENIED_TOOLS: &[&str] = &[
    "google_web_search",
    "web_fetch",
    "write_file",
    "replace",
    "edit",
    "save_memory",
    "write_todos",
    "invoke_agent",
];

pub fn invocation(job: &ReviewJob) -> Invocation {
    let policy_path = job.scratch.join("gemini-policy.toml");
    let mut files = vec![(policy_path.clone(), policy(job.access))];
    let mut env = Vec::new();
    // Gemini CLI has no flag for extra system instructions; they lead the
    // prompt instead.
    let prompt = match &job.system {
        Some(system) => format!("{system}\n\n{}", job.prompt),
        None => job.prompt.clone(),
    };
    let mut args = vec![
        "-p".to_string(),
        prompt,
        "-o".into(),
        "stream-json".into(),
        // Headless default mode offers no write, shell or web tools; the
        // policy then allows the read-only shell commands.
        "--approval-mode".into(),
        "default".into(),
        "--policy".into(),
        policy_path.display().to_string(),
    ];
    if let Some(model) = &job.model {
        args.extend(["-m".into(), model.clone()]);
    }
    // Gemini refuses to read outside its workspace unless told.
    if !job.read_dirs.is_empty() {
        let dirs: Vec<String> = job
            .read_dirs
            .iter()
            .map(|d| d.display().to_string())
            .collect();
        args.extend(["--include-directories".into(), dirs.join(",")]);
    }
    if let Some(overlay) = job
        .effort
        .as_deref()
        .and_then(|e| thinking_settings(job.model.as_deref(), e))
    {
        // No effort flag: thinking is a per-model setting. A system
        // settings file overrides the user's settings without touching them.
        let path = overlay_dir(&job.scratch).join("gemini-system-settings.json");
        files.push((path.clone(), overlay.to_string()));
        env.push((
            "GEMINI_CLI_SYSTEM_SETTINGS_PATH".into(),
            path.display().to_string(),
        ));
    }
    args.extend(job.extra_args.iter().cloned());
    Invocation { args, env, files }
}

/// Gemini CLI silently ignores a system settings file below a
/// world-writable directory (such as /tmp), so the overlay goes to the
/// agent's folder when that is safe, else under the user's cache.
fn overlay_dir(scratch: &Path) -> PathBuf {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")));
    overlay_dir_in(scratch, cache)
}

fn overlay_dir_in(scratch: &Path, cache: Option<PathBuf>) -> PathBuf {
    if !below_world_writable(scratch) {
        return scratch.to_path_buf();
    }
    match cache {
        Some(c) if !below_world_writable(&c) => {
            let name = scratch
                .display()
                .to_string()
                .bytes()
                .fold(0xcbf29ce484222325u64, |h, b| {
                    (h ^ u64::from(b)).wrapping_mul(0x100000001b3)
                });
            c.join("deep-review")
                .join("gemini")
                .join(format!("{name:016x}"))
        }
        _ => scratch.to_path_buf(),
    }
}

/// Whether `path` or a directory above it is writable by everyone.
pub fn below_world_writable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors().any(|dir| {
        std::fs::metadata(dir).is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o002 != 0)
    })
}

fn policy(access: Access) -> String {
    let mut out = match access {
        Access::ReadOnly => {
            let prefixes: Vec<String> = READ_ONLY_BASH.iter().map(|c| format!("{c:?}")).collect();
            format!(
                "# Written by deep-review: read-only shell commands only.\n\
                 [[rule]]\ntoolName = \"run_shell_command\"\ncommandPrefix = [{}]\ndecision = \"allow\"\npriority = 100\n",
                prefixes.join(", ")
            )
        }
        Access::Exec => {
            "# Written by deep-review: exec mode, any shell command inside the sandbox.\n\
             [[rule]]\ntoolName = \"run_shell_command\"\ndecision = \"allow\"\npriority = 100\n"
                .to_string()
        }
    };
    for tool in DENIED_TOOLS {
        out.push_str(&format!(
            "\n[[rule]]\ntoolName = \"{tool}\"\ndecision = \"deny\"\npriority = 200\n"
        ));
    }
    out
}

/// Settings that set the thinking level: a budget for 2.x models, a level
/// for 3.x. `default` leaves the CLI's own choice.
///
/// The CLI may serve another model than the one asked for (the pinned
/// version turns `gemini-3-pro-preview` into `gemini-3.1-pro-preview`), and
/// its overrides match the model it serves. Its chat models all extend
/// `chat-base-2.5` or `chat-base-3`, so the overrides match those families;
/// one more matches the name given, for models the CLI does not know.
pub fn thinking_settings(model: Option<&str>, effort: &str) -> Option<Value> {
    if effort == "default" {
        return None;
    }
    let budget = json!({ "thinkingBudget": match effort {
        "low" => 1024,
        "medium" => 8192,
        _ => 24576,
    } });
    let level = json!({ "thinkingLevel": effort.to_ascii_uppercase() });
    let model = model.unwrap_or("gemini-2.5-pro");
    let named = if model.starts_with("gemini-2") {
        budget.clone()
    } else {
        level.clone()
    };
    let rule = |name: &str, thinking: &Value| {
        json!({
            "match": { "model": name },
            "modelConfig": { "generateContentConfig": { "thinkingConfig": thinking } }
        })
    };
    Some(json!({ "modelConfigs": { "customOverrides": [
        rule("chat-base-2.5", &budget),
        rule("chat-base-3", &level),
        rule(model, &named),
    ] } }))
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line {
    Init {
        #[serde(default)]
        model: Option<String>,
    },
    Message {
        role: String,
        #[serde(default)]
        content: String,
        #[serde(default)]
        delta: Option<bool>,
    },
    ToolUse {
        tool_name: String,
        tool_id: String,
        #[serde(default)]
        parameters: Value,
    },
    ToolResult {
        tool_id: String,
        status: String,
        #[serde(default)]
        error: Option<ErrorInfo>,
    },
    Error {
        #[serde(default)]
        message: String,
    },
    Result {
        status: String,
        #[serde(default)]
        error: Option<ErrorInfo>,
        #[serde(default)]
        stats: Option<Stats>,
    },
}

#[derive(Deserialize)]
struct ErrorInfo {
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize)]
struct Stats {
    #[serde(default)]
    input_tokens: u64,
    #[serde(default)]
    output_tokens: u64,
    #[serde(default)]
    cached: u64,
    #[serde(default)]
    duration_ms: Option<u64>,
    /// Per model, as the API named it in its responses.
    #[serde(default)]
    models: std::collections::BTreeMap<String, ModelStats>,
}

#[derive(Deserialize)]
struct ModelStats {
    #[serde(default)]
    total_tokens: u64,
}

impl Stats {
    /// The model that did most of the work (utility models, such as the
    /// routing classifier, appear beside it with fewer tokens).
    fn main_model(&self) -> Option<String> {
        self.models
            .iter()
            .max_by_key(|(_, m)| m.total_tokens)
            .map(|(name, _)| name.clone())
    }
}

/// Parses one stdout line of `gemini -o stream-json`.
pub fn parse_line(line: &str) -> Vec<Event> {
    parse_typed(line, events_of)
}

fn events_of(parsed: Line) -> Vec<Event> {
    match parsed {
        Line::Init { model } => vec![Event::Init { model }],
        Line::Message {
            role,
            content,
            delta,
        } => {
            if role == "assistant" {
                vec![Event::Text {
                    text: content,
                    delta: delta.unwrap_or(false),
                }]
            } else {
                vec![]
            }
        }
        Line::ToolUse {
            tool_name,
            tool_id,
            parameters,
        } => vec![Event::ToolCall {
            id: tool_id,
            name: tool_name,
            input: parameters,
        }],
        Line::ToolResult {
            tool_id,
            status,
            error,
        } => {
            let denied = error
                .as_ref()
                .is_some_and(|e| e.kind == "policy_violation" || e.kind == "tool_not_registered");
            vec![Event::ToolResult {
                id: tool_id,
                is_error: status != "success",
                denied,
            }]
        }
        Line::Error { message } => vec![Event::Warning(message)],
        Line::Result {
            status,
            error,
            stats,
        } => {
            let is_error = status != "success";
            let message = error.map(|e| e.message);
            let served = stats
                .as_ref()
                .and_then(Stats::main_model)
                .map(|model| Event::Served { model });
            let finished = Event::Finished(Finish {
                is_error,
                api_status: message.as_deref().and_then(api_status_in),
                error: if is_error { message } else { None },
                tokens: stats.as_ref().map(|s| Tokens {
                    input: s.input_tokens,
                    output: s.output_tokens,
                    cached: s.cached,
                    reasoning: 0,
                }),
                duration_ms: stats.and_then(|s| s.duration_ms),
                ..Finish::default()
            });
            served.into_iter().chain([finished]).collect()
        }
    }
}

/// `[API Error: {"error":{"code":401,…}}]` → 401
fn api_status_in(message: &str) -> Option<u16> {
    let rest = message.split("\"code\":").nth(1)?;
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The final event a result line parses to.
    fn finished(line: &str) -> crate::agents::events::Finish {
        parse_line(line)
            .into_iter()
            .find_map(|e| match e {
                Event::Finished(f) => Some(f),
                _ => None,
            })
            .unwrap()
    }

    /// The final line of a real run refused by the API: its HTTP status is
    /// read from the error text; the run's duration from its stats.
    #[test]
    fn the_result_line_gives_the_api_status_and_the_duration() {
        let capture = include_str!("../../tests/data/captures/gemini-401.jsonl");
        let line = capture
            .lines()
            .find(|l| l.contains("\"type\":\"result\""))
            .unwrap();
        let finish = finished(line);
        assert!(finish.is_error);
        assert_eq!(finish.api_status, Some(401));
        let ok = r#"{"type":"result","status":"success","stats":{"input_tokens":5,"output_tokens":7,"cached":2,"duration_ms":1234}}"#;
        let finish = finished(ok);
        assert_eq!(
            (finish.is_error, finish.api_status, finish.duration_ms),
            (false, None, Some(1234))
        );
        assert_eq!(
            api_status_in("[API Error: {\"error\":{\"code\": 429}}]"),
            Some(429)
        );
        assert_eq!(api_status_in("no code here"), None);
    }

    /// The argv and helper files: the rules lead the prompt, the policy and
    /// the thinking overlay are files, extra folders are included.
    #[test]
    fn the_invocation_carries_policy_and_thinking_as_files() {
        // No folder above it is world-writable ("/" is not; the others do
        // not exist), wherever the tests run.
        let scratch = PathBuf::from("/nonexistent-deep-review/agent-gemini");
        let job = ReviewJob {
            prompt: "review".into(),
            system: Some("rules".into()),
            model: Some("gemini-3-pro-preview".into()),
            effort: Some("high".into()),
            read_dirs: vec!["/run/input".into(), "/run/more".into()],
            extra_args: vec!["--extra".into()],
            scratch: scratch.clone(),
            ..ReviewJob::default()
        };
        let inv = invocation(&job);
        let policy_path = scratch.join("gemini-policy.toml").display().to_string();
        assert_eq!(
            inv.args,
            [
                "-p",
                "rules\n\nreview",
                "-o",
                "stream-json",
                "--approval-mode",
                "default",
                "--policy",
                &policy_path,
                "-m",
                "gemini-3-pro-preview",
                "--include-directories",
                "/run/input,/run/more",
                "--extra",
            ]
        );
        let overlay = scratch.join("gemini-system-settings.json");
        assert_eq!(
            inv.env,
            [(
                "GEMINI_CLI_SYSTEM_SETTINGS_PATH".to_string(),
                overlay.display().to_string()
            )]
        );
        assert_eq!(inv.files[0].0, scratch.join("gemini-policy.toml"));
        assert_eq!(inv.files[1].0, overlay);
        let plain = invocation(&ReviewJob {
            effort: Some("default".into()),
            ..ReviewJob::default()
        });
        assert_eq!(plain.files.len(), 1, "no overlay for the default effort");
        assert!(!plain.args.contains(&"--include-directories".to_string()));
        assert!(!plain.args.contains(&"-m".to_string()));
    }

    /// Gemini CLI ignores settings below a world-writable folder: the
    /// overlay then goes under the user's cache, one folder per agent.
    #[test]
    fn the_overlay_avoids_world_writable_folders() {
        let safe = Path::new("/nonexistent-deep-review/agent");
        assert!(!below_world_writable(safe));
        assert_eq!(overlay_dir_in(safe, None), safe);
        let tmp = tempfile::tempdir().unwrap();
        assert!(below_world_writable(tmp.path()), "under /tmp");
        let cache = PathBuf::from("/nonexistent-deep-review/cache");
        let moved = overlay_dir_in(tmp.path(), Some(cache.clone()));
        let name = moved.file_name().unwrap().to_string_lossy().into_owned();
        assert!(
            name.len() == 16 && name.chars().all(|c| c.is_ascii_hexdigit()),
            "{}",
            moved.display()
        );
        assert_eq!(moved.parent().unwrap(), cache.join("deep-review/gemini"));
        assert_ne!(
            overlay_dir_in(&tmp.path().join("other"), Some(cache.clone())),
            moved
        );
        // No safe cache either: the agent's folder it is.
        assert_eq!(
            overlay_dir_in(tmp.path(), Some(tmp.path().join("cache"))),
            tmp.path()
        );
        assert_eq!(overlay_dir_in(tmp.path(), None), tmp.path());
    }

    #[test]
    fn the_policy_allows_reading_and_denies_writing_and_the_web() {
        let read_only = policy(Access::ReadOnly);
        assert!(read_only.contains("commandPrefix = [\"git log\", \"git diff\""));
        let exec = policy(Access::Exec);
        assert!(!exec.contains("commandPrefix"));
        for text in [&read_only, &exec] {
            for tool in DENIED_TOOLS {
                assert!(
                    text.contains(&format!(
                        "toolName = \"{tool}\"\ndecision = \"deny\"\npriority = 200"
                    )),
                    "{tool}"
                );
            }
        }
    }

    #[test]
    fn thinking_is_a_budget_for_2x_and_a_level_for_3x() {
        assert_eq!(thinking_settings(Some("gemini-2.5-pro"), "default"), None);
        let config = |v: &Value, i: usize| v["modelConfigs"]["customOverrides"][i].clone();
        let two = thinking_settings(Some("gemini-2.5-pro"), "low").unwrap();
        assert_eq!(config(&two, 0)["match"]["model"], "chat-base-2.5");
        assert_eq!(
            config(&two, 0)["modelConfig"]["generateContentConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 1024})
        );
        assert_eq!(
            config(&two, 2)["modelConfig"]["generateContentConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 1024})
        );
        let three = thinking_settings(Some("gemini-3-pro-preview"), "medium").unwrap();
        assert_eq!(config(&three, 1)["match"]["model"], "chat-base-3");
        assert_eq!(
            config(&three, 2)["modelConfig"]["generateContentConfig"]["thinkingConfig"],
            json!({"thinkingLevel": "MEDIUM"})
        );
        assert_eq!(
            config(&three, 0)["modelConfig"]["generateContentConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 8192})
        );
        let unnamed = thinking_settings(None, "high").unwrap();
        assert_eq!(config(&unnamed, 2)["match"]["model"], "gemini-2.5-pro");
        assert_eq!(
            config(&unnamed, 2)["modelConfig"]["generateContentConfig"]["thinkingConfig"],
            json!({"thinkingBudget": 24576})
        );
    }
}
