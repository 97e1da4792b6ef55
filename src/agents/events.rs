//! What any agent CLI's event stream says, in one vocabulary, and the pure
//! fold ([`Tally`]) from those events to the counters and answer the rest
//! of the pipeline uses.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Token counts as a CLI reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tokens {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
}

impl Tokens {
    pub fn total(&self) -> u64 {
        self.input + self.output
    }
}

/// One parsed line of an agent's stdout.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The CLI started and says which model it uses.
    Init { model: Option<String> },
    /// The vendor's name for the model that answered, which may not be the
    /// one asked for (a CLI may substitute a model, an alias resolves).
    Served { model: String },
    /// The model asked for a tool.
    ToolCall {
        id: String,
        name: String,
        input: Value,
    },
    /// A tool's result came back; `denied` when policy refused it.
    ToolResult {
        id: String,
        is_error: bool,
        denied: bool,
    },
    /// Assistant text; `delta` chunks are to be concatenated.
    Text { text: String, delta: bool },
    /// Usage of one model message (Claude repeats a message id with its
    /// latest figures; the last one per id counts).
    MessageUsage { id: String, tokens: Tokens },
    /// Cumulative usage so far.
    UsageTotal(Tokens),
    /// The CLI is retrying an API call.
    Retry {
        attempt: u64,
        status: Option<u16>,
        message: String,
    },
    /// A non-fatal error the CLI reported.
    Warning(String),
    /// The run's final event.
    Finished(Finish),
    /// A JSON event of a type we do not know: kept, never fatal.
    Unknown { kind: String },
    /// A line that is not JSON at all.
    Garbage(String),
}

/// How the CLI itself says the run ended.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Finish {
    pub is_error: bool,
    /// The API's HTTP status, where the CLI reports one.
    pub api_status: Option<u16>,
    /// Error kind or message, as the CLI words it.
    pub error: Option<String>,
    /// The final text answer.
    pub result: Option<String>,
    /// The answer given through the CLI's structured-output mechanism.
    pub structured: Option<Value>,
    pub tokens: Option<Tokens>,
    pub cost_usd: Option<f64>,
    pub duration_ms: Option<u64>,
    /// Tool calls the CLI refused by policy (Claude's permission_denials).
    pub denials: Vec<String>,
}

/// How much of an agent's streamed text is kept: the answer is at its end,
/// and no review answer is this long (docs/performance.md).
pub const TEXT_KEPT: usize = 16 << 20;

/// Tool names that deliver the structured answer: not review work.
pub const ANSWER_TOOLS: &[&str] = &["StructuredOutput"];

/// Everything kept in memory about a run while its output streams to
/// disk: counters, the opened-files set and the answer, never the events.
#[derive(Debug, Clone, Default)]
pub struct Tally {
    pub model: Option<String>,
    /// The model that answered, as the vendor named it.
    pub served_model: Option<String>,
    pub tool_calls: BTreeMap<String, u64>,
    pub denied_calls: u64,
    pub files_opened: BTreeSet<String>,
    /// The message being streamed (Claude repeats its id with growing
    /// usage) and the sum of the messages before it: no per-message map,
    /// so memory stays flat however long the run.
    current_message: Option<(String, Tokens)>,
    earlier_messages: Tokens,
    total: Option<Tokens>,
    pub text: String,
    /// Bytes of streamed text dropped from the front of `text`.
    pub text_dropped: u64,
    pub finish: Option<Finish>,
    /// Events after the final one, ignored: nothing written after it (by a
    /// process the agent left behind, through its stdout) can change the
    /// answer; any at all fails the agent.
    pub after_final: u64,
    pub retries: u64,
    pub last_retry: Option<String>,
    pub warnings: Vec<String>,
    pub unknown_events: u64,
    pub garbage_lines: u64,
    /// The first garbage line, for the report.
    pub first_garbage: Option<String>,
}

impl Tally {
    pub fn apply(&mut self, event: Event) {
        if self.finish.is_some() && !matches!(event, Event::Unknown { .. }) {
            self.after_final += 1;
            return;
        }
        match event {
            Event::Init { model } => {
                if model.is_some() {
                    self.model = model;
                }
            }
            // Placeholders such as Claude's `<synthetic>` error messages
            // name no model.
            Event::Served { model } => {
                if !model.is_empty() && !model.starts_with('<') {
                    self.served_model = Some(model);
                }
            }
            Event::ToolCall { name, input, .. } => {
                if !ANSWER_TOOLS.contains(&name.as_str()) {
                    *self.tool_calls.entry(name).or_default() += 1;
                    self.files_opened.extend(paths_in(&input));
                }
            }
            Event::ToolResult { denied, .. } => {
                if denied {
                    self.denied_calls += 1;
                }
            }
            Event::Text { text, delta } => {
                if delta {
                    self.text.push_str(&text);
                    self.keep_text_tail();
                } else {
                    self.text = text;
                }
            }
            Event::MessageUsage { id, tokens } => match &mut self.current_message {
                Some((current, latest)) if *current == id => *latest = tokens,
                _ => {
                    if let Some((_, done)) = self.current_message.take() {
                        self.earlier_messages = add(self.earlier_messages, done);
                    }
                    self.current_message = Some((id, tokens));
                }
            },
            Event::UsageTotal(tokens) => self.total = Some(tokens),
            Event::Retry {
                attempt,
                status,
                message,
            } => {
                self.retries = self.retries.max(attempt);
                self.last_retry = Some(match status {
                    Some(s) => format!("HTTP {s}: {message}"),
                    None => message,
                });
            }
            Event::Warning(w) => {
                if self.warnings.len() < 20 {
                    self.warnings.push(w);
                }
            }
            Event::Finished(finish) => self.finish = Some(finish),
            Event::Unknown { .. } => self.unknown_events += 1,
            Event::Garbage(line) => {
                self.garbage_lines += 1;
                if self.first_garbage.is_none() {
                    self.first_garbage = Some(line.chars().take(200).collect());
                }
            }
        }
    }

    /// Streamed text (Gemini's deltas, every turn's) is kept only as its
    /// last [`TEXT_KEPT`] bytes, where the answer is: memory stays flat
    /// however much a CLI writes. The stream itself is on disk.
    fn keep_text_tail(&mut self) {
        if self.text.len() <= TEXT_KEPT + TEXT_KEPT / 2 {
            return;
        }
        let mut cut = self.text.len() - TEXT_KEPT;
        while !self.text.is_char_boundary(cut) {
            cut += 1;
        }
        self.text.drain(..cut);
        self.text_dropped += cut as u64;
    }

    pub fn total_tool_calls(&self) -> u64 {
        self.tool_calls.values().sum()
    }

    /// The best figure available: the final event's, else the running sum.
    pub fn tokens(&self) -> Tokens {
        if let Some(t) = self.finish.as_ref().and_then(|f| f.tokens) {
            return t;
        }
        if let Some(t) = self.total {
            return t;
        }
        let current = self
            .current_message
            .as_ref()
            .map(|(_, t)| *t)
            .unwrap_or_default();
        add(self.earlier_messages, current)
    }
}

fn add(a: Tokens, b: Tokens) -> Tokens {
    Tokens {
        input: a.input + b.input,
        output: a.output + b.output,
        cached: a.cached + b.cached,
        reasoning: a.reasoning + b.reasoning,
    }
}

/// Paths a tool call touches, best effort: named path arguments, and for
/// shell commands the words that look like files.
pub fn paths_in(input: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for key in [
        "file_path",
        "path",
        "dir_path",
        "absolute_path",
        "notebook_path",
    ] {
        if let Some(p) = input.get(key).and_then(Value::as_str) {
            out.push(p.to_string());
        }
    }
    if let Some(paths) = input.get("paths").and_then(Value::as_array) {
        out.extend(paths.iter().filter_map(Value::as_str).map(str::to_string));
    }
    for key in ["command", "cmd"] {
        match input.get(key) {
            Some(Value::String(cmd)) => out.extend(shell_paths(cmd)),
            Some(Value::Array(argv)) => {
                out.extend(argv.iter().filter_map(Value::as_str).flat_map(shell_paths))
            }
            _ => {}
        }
    }
    out
}

/// Words of a shell command that look like file paths.
pub fn shell_paths(command: &str) -> Vec<String> {
    command
        .split(|c: char| c.is_whitespace() || "'\"|;&<>()`".contains(c))
        .map(|w| w.trim_end_matches(':'))
        .filter(|w| !w.is_empty() && !w.starts_with('-') && !w.contains('='))
        .filter(|w| {
            w.contains('/')
                || w.rsplit_once('.').is_some_and(|(a, b)| {
                    !a.is_empty() && b.chars().all(|c| c.is_ascii_alphanumeric()) && !b.is_empty()
                })
        })
        .filter(|w| !w.contains("..."))
        .map(str::to_string)
        .collect()
}

/// Parses one line into a CLI's typed line `T` and from there into
/// events. A line that is not a JSON object is [`Event::Garbage`]; a JSON
/// object of a type `T` does not know is [`Event::Unknown`]. Neither is
/// fatal.
pub fn parse_typed<T: serde::de::DeserializeOwned>(
    line: &str,
    events: impl Fn(T) -> Vec<Event>,
) -> Vec<Event> {
    let trimmed = line.trim();
    if trimmed.is_empty() {
        return Vec::new();
    }
    let value = match serde_json::from_str::<Value>(trimmed) {
        Ok(value @ Value::Object(_)) => value,
        _ => return vec![Event::Garbage(trimmed.to_string())],
    };
    let kind = value["type"].as_str().unwrap_or("").to_string();
    match serde_json::from_value::<T>(value) {
        Ok(parsed) => events(parsed),
        Err(_) => vec![Event::Unknown { kind }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// However much text a CLI streams, only its end is kept, cut on a
    /// character boundary; an answer within the bound arrives whole.
    #[test]
    fn streamed_text_keeps_its_tail_only() {
        let mut tally = Tally::default();
        // An odd length: cuts fall inside two-byte characters too, and
        // move forward to the next one.
        let chunk = format!("a{}", "é".repeat(1 << 19));
        for _ in 0..40 {
            let dropped = tally.text_dropped;
            tally.apply(Event::Text {
                text: chunk.clone(),
                delta: true,
            });
            assert!(tally.text.len() <= TEXT_KEPT + TEXT_KEPT / 2);
            if tally.text_dropped != dropped {
                assert!(tally.text.len() <= TEXT_KEPT, "{}", tally.text.len());
            }
        }
        tally.apply(Event::Text {
            text: "{\"answer\": 1}".into(),
            delta: true,
        });
        assert!(tally.text.ends_with("é{\"answer\": 1}"));
        assert_eq!(
            tally.text.len() as u64 + tally.text_dropped,
            40 * ((1 << 20) + 1) + 13
        );
        assert!(tally.text.len() >= TEXT_KEPT);
        let mut whole = Tally::default();
        let answer = "x".repeat(10 << 20);
        for piece in answer.as_bytes().chunks(64 << 10) {
            whole.apply(Event::Text {
                text: String::from_utf8(piece.to_vec()).unwrap(),
                delta: true,
            });
        }
        assert_eq!(whole.text.len(), 10 << 20);
        assert_eq!(whole.text_dropped, 0);
        // The cut waits for half the bound again, so it is rare.
        for piece in answer.as_bytes().chunks(64 << 10) {
            whole.apply(Event::Text {
                text: String::from_utf8(piece.to_vec()).unwrap(),
                delta: true,
            });
        }
        assert_eq!((whole.text.len(), whole.text_dropped), (20 << 20, 0));
    }
    use serde_json::json;

    #[test]
    fn shell_commands_yield_the_files_they_name() {
        assert_eq!(
            shell_paths("/bin/bash -lc 'sed -n 1,40p src/lib.rs && cat README.md'"),
            vec!["/bin/bash", "src/lib.rs", "README.md"]
        );
        assert!(shell_paths("git log --oneline -5").is_empty());
        // Not files: flags, assignments, bare words, an extension alone,
        // a dot at the end, an ellipsis.
        assert!(
            shell_paths("grep -rn --include=*.rs x=1 .hidden end. word .gitignore...").is_empty(),
            "{:?}",
            shell_paths("grep -rn --include=*.rs x=1 .hidden end. word .gitignore...")
        );
        assert_eq!(shell_paths("cat a.rs: b.c-d"), vec!["a.rs"]);
        // An assignment or a flag with a path in it names no file itself.
        assert!(shell_paths("make OUT=build/x.o -o/tmp/y").is_empty());
    }

    /// Token figures of several turns add up field by field.
    #[test]
    fn tokens_add_field_by_field() {
        let t = |input, output, cached, reasoning| Tokens {
            input,
            output,
            cached,
            reasoning,
        };
        assert_eq!(add(t(1, 2, 3, 4), t(10, 20, 30, 40)), t(11, 22, 33, 44));
    }

    /// Every way a tool call names files: path arguments, path lists,
    /// commands as one string or as argv.
    #[test]
    fn tool_inputs_name_their_files() {
        let input = serde_json::json!({
            "file_path": "a.rs", "path": "b/", "dir_path": "c", "absolute_path": "/d.rs",
            "notebook_path": "e.ipynb", "paths": ["f.rs", 7, "g.rs"],
            "command": "cat h.rs", "cmd": ["sed", "-n", "1p", "i.rs"]
        });
        assert_eq!(
            paths_in(&input),
            [
                "a.rs", "b/", "c", "/d.rs", "e.ipynb", "f.rs", "g.rs", "h.rs", "i.rs"
            ]
        );
    }

    /// Token sums, the served model (never a placeholder), warnings kept
    /// to twenty, and nothing after the final event counts but unknown
    /// event types.
    #[test]
    fn the_tally_folds_what_matters_and_nothing_after_the_end() {
        let t = Tokens {
            input: 10,
            output: 3,
            cached: 4,
            reasoning: 2,
        };
        assert_eq!(t.total(), 13);
        assert_eq!(
            add(t, t),
            Tokens {
                input: 20,
                output: 6,
                cached: 8,
                reasoning: 4
            }
        );
        let mut tally = Tally::default();
        for model in ["", "<synthetic>", "claude-opus-4-7"] {
            tally.apply(Event::Served {
                model: model.into(),
            });
        }
        assert_eq!(tally.served_model.as_deref(), Some("claude-opus-4-7"));
        tally.apply(Event::Served {
            model: "<synthetic>".into(),
        });
        assert_eq!(tally.served_model.as_deref(), Some("claude-opus-4-7"));
        for n in 0..25 {
            tally.apply(Event::Warning(format!("w{n}")));
        }
        assert_eq!(tally.warnings.len(), 20);
        assert_eq!(tally.warnings[19], "w19");
        tally.apply(Event::Finished(Finish::default()));
        tally.apply(Event::Text {
            text: "late".into(),
            delta: false,
        });
        tally.apply(Event::Warning("late".into()));
        tally.apply(Event::Unknown { kind: "x".into() });
        assert_eq!(tally.after_final, 2);
        assert_eq!(tally.unknown_events, 1);
        assert_eq!(tally.text, "");
    }

    #[test]
    fn answer_tools_are_not_review_tool_calls() {
        let mut tally = Tally::default();
        tally.apply(Event::ToolCall {
            id: "1".into(),
            name: "StructuredOutput".into(),
            input: json!({}),
        });
        tally.apply(Event::ToolCall {
            id: "2".into(),
            name: "Read".into(),
            input: json!({"file_path": "src/a.rs"}),
        });
        assert_eq!(tally.total_tool_calls(), 1);
        assert!(tally.files_opened.contains("src/a.rs"));
    }

    #[test]
    fn repeated_message_usage_is_not_summed() {
        let mut tally = Tally::default();
        let t = |o| Tokens {
            input: 10,
            output: o,
            ..Tokens::default()
        };
        tally.apply(Event::MessageUsage {
            id: "m1".into(),
            tokens: t(1),
        });
        tally.apply(Event::MessageUsage {
            id: "m1".into(),
            tokens: t(5),
        });
        tally.apply(Event::MessageUsage {
            id: "m2".into(),
            tokens: t(2),
        });
        assert_eq!(
            tally.tokens(),
            Tokens {
                input: 20,
                output: 7,
                ..Tokens::default()
            }
        );
    }
}
