//! The answer every reviewing agent gives: one JSON document in the schema
//! of `prompts/answer-schema.json` (docs/answer-format.md).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::domain::Severity;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub verdict: Option<Verdict>,
    #[serde(default)]
    pub verdict_reason: String,
    #[serde(default)]
    pub findings: Vec<RawFinding>,
    #[serde(default)]
    pub design_observations: Vec<Observation>,
    #[serde(default)]
    pub testing: String,
    #[serde(default)]
    pub documentation: String,
    #[serde(default)]
    pub commits: String,
    #[serde(default)]
    pub acknowledged_limitations: Vec<Limitation>,
    #[serde(default)]
    pub tests_run: Vec<TestRun>,
    #[serde(default)]
    pub prior_findings: Vec<PriorStatus>,
    /// What the agent says it reviewed, per changed file (optional: an
    /// answer without it, or with `null` as a strict schema sends, reads).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_list"
    )]
    pub coverage: Option<Vec<CoverageClaim>>,
    /// What the agent says of each piece of people's open feedback (`U1`…).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_list"
    )]
    pub feedback: Option<Vec<FeedbackClaim>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeedbackClaim {
    pub id: String,
    pub status: crate::domain::FeedbackStatus,
    #[serde(default, deserialize_with = "short_text")]
    pub note: String,
}

/// An optional list of which a malformed entry (an unknown depth word, a
/// missing path) is left out: an extra the answer need not get right
/// never costs the whole answer.
fn lenient_list<'de, D, T>(d: D) -> Result<Option<Vec<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::Array(items)) => Some(
            items
                .into_iter()
                .filter_map(|i| serde_json::from_value(i).ok())
                .collect(),
        ),
        _ => None,
    })
}

/// How closely an agent says it reviewed a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Depth {
    #[serde(alias = "in-depth", alias = "indepth", alias = "deep")]
    InDepth,
    #[serde(alias = "skim")]
    Skimmed,
    #[serde(alias = "not-reviewed", alias = "none")]
    NotReviewed,
}

impl Depth {
    pub fn words(self) -> &'static str {
        match self {
            Depth::InDepth => "in depth",
            Depth::Skimmed => "skimmed",
            Depth::NotReviewed => "not reviewed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CoverageClaim {
    pub path: String,
    pub depth: Depth,
    #[serde(default, deserialize_with = "short_text")]
    pub note: String,
}

/// The most characters of a short model-written aside (a coverage note, a
/// related place's `why`) the report keeps.
pub const SHORT_TEXT: usize = 200;

/// A string where `null` reads as empty.
fn null_as_empty<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(Option::<String>::deserialize(d)?.unwrap_or_default())
}

/// A short aside: `null` reads as empty, and it is cut to [`SHORT_TEXT`].
fn short_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let text = Option::<String>::deserialize(d)?.unwrap_or_default();
    let text = text.trim();
    Ok(match text.char_indices().nth(SHORT_TEXT) {
        Some((at, _)) => format!("{}…", &text[..at]),
        None => text.to_string(),
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Merge,
    MergeWithOptionalFixes,
    MergeWithFixes,
    NeedsChanges,
    /// No agent produced a usable review: set by deep-review, never taken
    /// from a model.
    NotReviewed,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Merge => "Merge",
            Verdict::MergeWithOptionalFixes => "Merge with optional fixes",
            Verdict::MergeWithFixes => "Merge with fixes",
            Verdict::NeedsChanges => "Needs changes",
            Verdict::NotReviewed => "Not reviewed",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Regression,
    Gap,
    Enhancement,
    #[serde(alias = "pre_existing", alias = "preexisting")]
    PreExisting,
}

impl Category {
    pub fn label(self) -> &'static str {
        match self {
            Category::Regression => "regression",
            Category::Gap => "gap",
            Category::Enhancement => "enhancement",
            Category::PreExisting => "pre-existing",
        }
    }
}

/// A finding as one agent wrote it, before any checking.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawFinding {
    #[serde(default)]
    pub id: String,
    pub severity: Severity,
    #[serde(default = "default_category")]
    pub category: Category,
    pub title: String,
    pub path: String,
    #[serde(default)]
    pub line_start: u32,
    #[serde(default)]
    pub line_end: u32,
    #[serde(default)]
    pub quote: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub fix: String,
    /// More places the finding spans (optional; `null` from a strict
    /// schema reads as none).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient_list"
    )]
    pub related: Option<Vec<RawLocation>>,
}

/// Another place a finding concerns, as the agent cited it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RawLocation {
    pub path: String,
    #[serde(default)]
    pub line_start: u32,
    #[serde(default)]
    pub line_end: u32,
    #[serde(default, deserialize_with = "null_as_empty")]
    pub quote: String,
    /// Why this place matters, in a few words (model text).
    #[serde(default, deserialize_with = "short_text")]
    pub why: String,
}

fn default_category() -> Category {
    Category::Gap
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    Concern,
    Strength,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    InScope,
    Future,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub kind: ObservationKind,
    #[serde(default = "in_scope")]
    pub scope: Scope,
    pub text: String,
    #[serde(default)]
    pub paths: Vec<String>,
}

fn in_scope() -> Scope {
    Scope::InScope
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limitation {
    pub text: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRun {
    pub command: String,
    #[serde(default)]
    pub result: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorState {
    Addressed,
    StillOpen,
    NoLongerApplies,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorStatus {
    pub id: String,
    pub status: PriorState,
    #[serde(default)]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AnswerError {
    #[error("the agent gave no answer")]
    Empty,
    #[error("no JSON object found in the answer")]
    NoJson,
    #[error("the answer does not follow the schema: {0}")]
    Schema(String),
}

/// Reads an answer from the agent's final text (or structured output):
/// the whole text as JSON, else the last ```json block, else the widest
/// `{…}` span. The text itself is kept by the caller either way.
pub fn parse<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, AnswerError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AnswerError::Empty);
    }
    let candidates = json_candidates(text);
    if candidates.is_empty() {
        return Err(AnswerError::NoJson);
    }
    let mut first_error = None;
    for candidate in candidates {
        match serde_json::from_str::<Value>(candidate) {
            Ok(value) => match serde_json::from_value::<T>(value) {
                Ok(answer) => return Ok(answer),
                Err(e) => {
                    first_error.get_or_insert(e.to_string());
                }
            },
            Err(e) => {
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    Err(AnswerError::Schema(first_error.unwrap_or_default()))
}

fn json_candidates(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    if text.starts_with('{') {
        out.push(text);
    }
    // Fenced blocks, last first: the answer usually closes the message.
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("```") {
        let after = &rest[start + 3..];
        let body_start = after.find('\n').map_or(after.len(), |n| n + 1);
        let body = &after[body_start..];
        let Some(end) = body.find("```") else { break };
        blocks.push(body[..end].trim());
        rest = &body[end + 3..];
    }
    out.extend(blocks.into_iter().rev().filter(|b| b.starts_with('{')));
    if let (Some(a), Some(b)) = (text.find('{'), text.rfind('}'))
        && a < b
    {
        out.push(&text[a..=b]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Where an answer may be: the whole text, fenced blocks last first,
    /// then the widest braces.
    #[test]
    fn candidates_are_tried_whole_then_fenced_last_first_then_braces() {
        let text = "Notes:\n```json\n{\"a\": 1}\n```\nthen\n```\n{\"b\": 2}\n```\nbye";
        assert_eq!(
            json_candidates(text),
            [
                "{\"b\": 2}",
                "{\"a\": 1}",
                "{\"a\": 1}\n```\nthen\n```\n{\"b\": 2}"
            ]
        );
        assert_eq!(json_candidates("{\"c\": 3}"), ["{\"c\": 3}", "{\"c\": 3}"]);
        assert!(json_candidates("} no answer {").is_empty());
        assert_eq!(json_candidates("```\nnot json\n```"), Vec::<&str>::new());
    }

    #[test]
    fn answers_are_found_in_plain_fenced_and_chatty_text() {
        let json = r#"{"summary": "s", "findings": [{"id": "F1", "severity": "important", "category": "regression", "title": "t", "path": "a.rs", "line_start": 1, "line_end": 2, "quote": "q", "body": "b", "fix": ""}]}"#;
        for text in [
            json.to_string(),
            format!("Here is my review.\n\n```json\n{json}\n```\n"),
            format!("Sure! {json} Hope that helps."),
        ] {
            let answer: Answer = parse(&text).unwrap();
            assert_eq!(answer.findings[0].severity, Severity::Important);
            assert_eq!(answer.findings[0].category, Category::Regression);
        }
    }

    #[test]
    fn a_bad_answer_says_why() {
        assert_eq!(parse::<Answer>("  "), Err(AnswerError::Empty));
        assert_eq!(parse::<Answer>("no json here"), Err(AnswerError::NoJson));
        let err = parse::<Answer>(r#"{"findings": [{"severity": "catastrophic"}]}"#).unwrap_err();
        assert!(matches!(err, AnswerError::Schema(m) if m.contains("catastrophic")));
    }
}

#[cfg(test)]
mod extras_tests {
    use super::*;

    /// A malformed optional extra is left out, never the whole answer.
    #[test]
    fn a_bad_coverage_or_related_entry_costs_only_itself() {
        let a: Answer = serde_json::from_value(serde_json::json!({
            "summary": "s",
            "coverage": [
                {"path": "a.rs", "depth": "partially", "note": ""},
                {"depth": "in_depth"},
                "stats.py",
                {"path": "b.rs", "depth": "skimmed"}
            ],
            "findings": [{"severity": "important", "title": "t", "path": "a.rs",
                "related": [{"path": "b.rs", "line_start": 2, "line_end": 3, "quote": "x", "why": "w"}, 7, {"why": "no path"}]}]
        }))
        .unwrap();
        let coverage = a.coverage.unwrap();
        assert_eq!(coverage.len(), 1);
        assert_eq!(
            (coverage[0].path.as_str(), coverage[0].depth),
            ("b.rs", Depth::Skimmed)
        );
        let related = a.findings[0].related.as_ref().unwrap();
        assert_eq!(related.len(), 1);
        assert_eq!(related[0].path, "b.rs");
        // Not a list at all: none.
        let b: Answer =
            serde_json::from_value(serde_json::json!({"coverage": "all of it"})).unwrap();
        assert_eq!(b.coverage, None);
    }
}
