//! The consolidation pass: one more agent run that merges, re-grades and
//! drops findings, then [`build`] checks its decisions and computes every
//! number of the report. When the pass fails, the deterministic fallback
//! in [`build`] still yields a complete report that says so.

pub mod build;
pub mod decisions;
mod draft;
mod feedback;
mod place;
mod prose;
mod retro;
#[cfg(test)]
mod tests;
mod verdict;

use askama::Template;
use serde_json::json;

pub use build::{AgentResult, Consolidation, Inputs, Rounds};
pub use decisions::Decisions;

use crate::findings::Finding;
use crate::findings::group::candidate_groups;
use crate::review::Facts;

#[derive(Template)]
#[template(path = "consolidate.md", escape = "none")]
struct Prompt<'a> {
    agent_count: usize,
    repo: &'a str,
    target_line: String,
    base: &'a str,
    head: &'a str,
    head_sha: &'a str,
    diff_path: String,
    context: &'a str,
    findings_json: String,
    groups_json: String,
    reviewers_json: String,
    threads_json: String,
    prior: &'a [String],
    prior_fence: String,
    /// The last round's retro, one line per agent.
    retro: Vec<String>,
    retro_fence: String,
    /// Where the findings' full text is, when the prompt gives them by
    /// reference.
    findings_file: Option<&'a str>,
}

/// The most the consolidation prompt carries before it gives the findings
/// by reference (docs/performance.md): about 100,000 tokens.
pub const PROMPT_BUDGET: usize = 400 * 1024;

/// The consolidation prompt, and what it refers to.
pub struct ConsolidationPrompt {
    pub text: String,
    /// Over the budget: the findings' full JSON, to be written at the path
    /// the prompt names.
    pub findings_json: Option<String>,
    /// What the report says of it.
    pub note: Option<String>,
}

/// The consolidator's prompt for these findings. Within
/// [`PROMPT_BUDGET`] it carries every finding in full; beyond, one line
/// of each (key, agent, severity, place, evidence, title) and the full
/// text by reference to `findings_path`, which the consolidator can read.
pub fn prompt(
    facts: &Facts,
    findings: &[Finding],
    results: &[AgentResult],
    (diff_path, findings_path): (&str, &str),
    (prior, last_retro): (&[String], &[(String, String)]),
) -> ConsolidationPrompt {
    let retro: Vec<String> = last_retro
        .iter()
        .map(|(agent, text)| {
            format!(
                "{agent}: {}",
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            )
        })
        .collect();
    let listed: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            json!({
                "key": f.key,
                "agent": f.agent,
                "severity": f.raw.severity,
                "category": f.raw.category,
                "title": f.raw.title,
                "path": f.checked.path,
                "line_start": f.checked.line_start,
                "line_end": f.checked.line_end,
                "evidence": f.checked.evidence.name(),
                "quote": f.raw.quote,
                "body": f.raw.body,
                "fix": f.raw.fix,
            })
        })
        .collect();
    let groups: Vec<Vec<&str>> = candidate_groups(findings)
        .into_iter()
        .filter(|g| g.len() > 1)
        .map(|g| g.into_iter().map(|i| findings[i].key.as_str()).collect())
        .collect();
    let full = serde_json::to_string_pretty(&listed).unwrap_or_default();
    let render = |findings_json: String, findings_file: Option<&str>| {
        Prompt {
            agent_count: results.len(),
            repo: facts.repo_label(),
            target_line: facts.target_line(),
            base: &facts.base_ref,
            head: &facts.head_ref,
            head_sha: &facts.head_sha,
            diff_path: diff_path.to_string(),
            context: facts.review_context.as_deref().unwrap_or(""),
            findings_json,
            groups_json: serde_json::to_string(&groups).unwrap_or_default(),
            reviewers_json: serde_json::to_string_pretty(&reviewers(results)).unwrap_or_default(),
            // The excerpts: the whole texts could fill the prompt.
            threads_json: serde_json::to_string_pretty(
                &facts
                    .unresolved
                    .iter()
                    .map(|f| json!({"id": f.id, "kind": f.kind, "author": f.author, "path": f.path, "line": f.line, "excerpt": f.excerpt}))
                    .collect::<Vec<_>>(),
            )
            .unwrap_or_default(),
            prior,
            prior_fence: crate::review::fence_for(&prior.join("\n")),
            retro_fence: crate::review::fence_for(&retro.join("\n")),
            retro: retro.clone(),
            findings_file,
        }
        .render()
        .expect("the consolidation template renders")
    };
    let text = render(full.clone(), None);
    let whole = text.len();
    if whole <= PROMPT_BUDGET {
        return ConsolidationPrompt {
            text,
            findings_json: None,
            note: None,
        };
    }
    // One line per finding: what grouping and re-grading need at a glance.
    let lines: Vec<String> = listed
        .iter()
        .map(|f| {
            json!([
                f["key"],
                f["severity"],
                format!(
                    "{}:{}-{}",
                    f["path"].as_str().unwrap_or(""),
                    f["line_start"],
                    f["line_end"]
                ),
                f["evidence"],
                f["title"]
            ])
            .to_string()
        })
        .collect();
    let compact = format!("[\n{}\n]", lines.join(",\n"));
    let text = render(compact, Some(findings_path));
    let note = format!(
        "the consolidation prompt would have been {} KB, over its {} KB budget: the {} findings were given one line each, their full text by reference to the run's input/{} (docs/performance.md)",
        whole / 1024,
        PROMPT_BUDGET / 1024,
        findings.len(),
        std::path::Path::new(findings_path)
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    );
    ConsolidationPrompt {
        text,
        findings_json: Some(full),
        note: Some(note),
    }
}

/// What each reviewer did and said besides its findings: how its run went
/// (measured, not its own claims) and its assessments, so the design
/// observations, assessments and retro notes are written from what the
/// reviewers said.
fn reviewers(results: &[AgentResult]) -> Vec<serde_json::Value> {
    results
        .iter()
        .map(|r| {
            let o = &r.outcome;
            let a = r.answer.as_ref();
            json!({
                "agent": o.name,
                "status": if o.status.is_ok() && a.is_none() { "answer_invalid" } else { o.status.name() },
                "measured": {
                    "duration_s": o.duration_ms / 1000,
                    "tool_calls": o.total_tool_calls(),
                    "files_opened": o.files_opened.len(),
                    "output_tokens": o.tokens.output,
                },
                "findings": a.map_or(0, |a| a.findings.len()),
                "verdict": a.and_then(|a| a.verdict),
                "design_observations": a.map(|a| &a.design_observations),
                "testing": a.map(|a| &a.testing),
                "documentation": a.map(|a| &a.documentation),
                "commits": a.map(|a| &a.commits),
                "acknowledged_limitations": a.map(|a| &a.acknowledged_limitations),
                "tests_run": a.map(|a| &a.tests_run),
                "coverage": a.and_then(|a| a.coverage.as_ref()),
                "feedback": a.and_then(|a| a.feedback.as_ref()),
            })
        })
        .collect()
}

/// The JSON schema of the consolidator's answer.
pub fn schema() -> serde_json::Value {
    serde_json::from_str(include_str!("../../prompts/decisions-schema.json"))
        .expect("decisions schema is JSON")
}
