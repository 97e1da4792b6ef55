//! Posting a report to its pull request.

use super::error::PipelineError;
use crate::config::{Config, Format};
use crate::github::{self, Github, RepoRef};
use crate::report::Report;

/// Posts the report as the pull request's deep-review comment, updating
/// the one posted before. Returns the comment's URL.
pub async fn post_comment(
    config: &Config,
    report: &Report,
    full_report: &str,
) -> Result<String, PipelineError> {
    let (Some(spec), Some(number)) = (report.target.repo.as_deref(), report.target.pr) else {
        return Err(PipelineError::NoRepository);
    };
    let host = github::web_host(&config.github.api_url);
    let repo = RepoRef::parse(spec, &host).ok_or(PipelineError::NoRepository)?;
    let token = github::find_token(&host).await.map(|(t, _)| t);
    let gh = Github::new(&config.github.api_url, token)?;
    let body = crate::report::render(report, Format::Github, Some(full_report));
    Ok(gh
        .post_report(&repo, number, &body, crate::report::markdown::MARKER)
        .await?)
}

/// The check run a review becomes (`--post check`): the verdict as its
/// conclusion, the counts as its summary, one annotation per finding.
/// Pure: what is sent is tested without GitHub.
pub fn check_run(report: &Report, fail_on: crate::config::FailOn) -> serde_json::Value {
    use crate::domain::Severity;
    use crate::findings::Verdict;
    let blocking = report.findings.iter().any(|f| fail_on.blocks(f.severity));
    // A review that did not happen, did not finish (branch protection
    // passes a `neutral` check) or blocks never passes a gate.
    let conclusion = if report.verdict.decision == Verdict::NotReviewed
        || report.incomplete
        || blocking
        || report.verdict.decision == Verdict::NeedsChanges
    {
        "failure"
    } else {
        "success"
    };
    let cut = |s: &str, max: usize| -> String {
        if s.chars().count() <= max {
            s.to_string()
        } else {
            let mut t: String = s.chars().take(max - 1).collect();
            t.push('…');
            t
        }
    };
    let annotations: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.path,
                "start_line": f.line_start.max(1),
                "end_line": f.line_end.max(f.line_start).max(1),
                "annotation_level": match f.severity {
                    Severity::Critical => "failure",
                    Severity::Important => "warning",
                    Severity::Suggestion => "notice",
                },
                "title": cut(&format!("{}. {}", f.id, f.title), 255),
                // GitHub refuses an empty message.
                "message": cut(if f.body.trim().is_empty() { &f.title } else { &f.body }, 4000),
                "raw_details": cut(&f.fix, 4000),
            })
        })
        .collect();
    let c = &report.counts;
    serde_json::json!({
        "name": "deep-review",
        "head_sha": report.target.head_sha,
        "status": "completed",
        "conclusion": conclusion,
        "output": {
            "title": cut(&format!(
                "{}: {} critical, {} important, {} suggestions",
                report.verdict.decision.label(), c.critical, c.important, c.suggestion
            ), 255),
            "summary": cut(&format!(
                "**{}** — {}\n\nRound {} · run `{}`.",
                report.verdict.decision.label(),
                // A model wrote it: escaped as in the comment.
                crate::report::text::inline(&report.verdict.reason),
                report.run.round,
                report.run.id
            ), 60_000),
            "annotations": annotations,
        }
    })
}

/// Posts the report as a check run on the reviewed head. Returns its URL.
pub async fn post_check(config: &Config, report: &Report) -> Result<String, PipelineError> {
    let (Some(spec), Some(_)) = (report.target.repo.as_deref(), report.target.pr) else {
        return Err(PipelineError::NoRepository);
    };
    let host = github::web_host(&config.github.api_url);
    let repo = RepoRef::parse(spec, &host).ok_or(PipelineError::NoRepository)?;
    let token = github::find_token(&host).await.map(|(t, _)| t);
    let gh = Github::new(&config.github.api_url, token)?;
    let body = check_run(report, config.review.fail_on);
    Ok(gh.post_check_run(&repo, body).await?)
}
