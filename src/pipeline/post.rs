//! Posting a report to its pull request.

use super::error::PipelineError;
use super::rundir::RunDir;
use crate::checkout::hunks::Hunks;
use crate::config::{Config, FailOn, Format};
use crate::github::{self, Github, GithubError, RepoRef, ReviewEvent};
use crate::report::Report;
use crate::report::review::{Anchoring, FINDING_TAG, Options, earlier_threads, plan};
use crate::rounds::Ledger;

/// The pull request a report is of, and a client for its host.
async fn connect(
    config: &Config,
    report: &Report,
) -> Result<(Github, RepoRef, u64), PipelineError> {
    let (Some(spec), Some(number)) = (report.target.repo.as_deref(), report.target.pr) else {
        return Err(PipelineError::NoRepository);
    };
    let host = github::web_host(&config.github.api_url);
    let repo = RepoRef::parse(spec, &host).ok_or(PipelineError::NoRepository)?;
    let token = github::find_token(&host).await.map(|(t, _)| t);
    let gh = Github::new(&config.github.api_url, token)?;
    Ok((gh, repo, number))
}

/// Posts the report as the pull request's deep-review comment, updating
/// the one posted before. Returns the comment's URL.
pub async fn post_comment(
    config: &Config,
    report: &Report,
    full_report: &str,
) -> Result<String, PipelineError> {
    let (gh, repo, number) = connect(config, report).await?;
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
        "external_id": crate::github::CHECK_RUN_ID,
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
    let (gh, repo, _) = connect(config, report).await?;
    let body = check_run(report, config.review.fail_on);
    Ok(gh.post_check_run(&repo, body).await?)
}

/// What `--post review` did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostedReview {
    pub url: String,
    /// Findings commented on their lines, with each comment's URL.
    pub inline: Vec<(String, String)>,
    /// Findings GitHub would not take on a line: in the body instead.
    pub refused: Vec<String>,
    /// Findings put in the body because probing ran out of requests
    /// before their lines were checked.
    pub unchecked: Vec<String>,
    /// Earlier rounds' threads resolved or folded away.
    pub tidied: usize,
    /// What could not be done and did not stop the review being posted.
    pub warnings: Vec<String>,
}

/// Submits the report as a pull-request review: comments on the lines of
/// the findings the run's diff shows, the rest in the body; a comment
/// GitHub refuses moves to the body; the earlier rounds' threads are then
/// resolved and folded away, and the ledger links each finding to its
/// comment. Once the review is published, nothing else fails the post:
/// what goes wrong after it is a warning.
pub async fn post_review(
    config: &Config,
    report: &Report,
    run: &RunDir,
    full_report: &str,
) -> Result<PostedReview, PipelineError> {
    let (gh, repo, number) = connect(config, report).await?;
    // A run without its diff (removed by hand) still posts: in the body.
    let hunks = std::fs::read_to_string(run.diff())
        .map(|d| Hunks::parse(&d))
        .unwrap_or_default();
    let mut options = Options {
        request_changes_on: config.github.request_changes_on,
        full_report: Some(full_report),
        note: None,
    };
    let mut anchoring = Anchoring::default();
    let mut unchecked = Vec::new();
    let mut draft = plan(report, &hunks, &options, &anchoring);
    let posted = loop {
        match gh.submit_review(&repo, number, &draft).await {
            Ok(posted) => break posted,
            Err(GithubError::Unprocessable { message })
                if draft.event == ReviewEvent::RequestChanges
                    && message.to_lowercase().contains("own pull request") =>
            {
                options.request_changes_on = FailOn::None;
                options.note = Some(
                    "Changes would have been requested, but GitHub does not let an account request changes on its own pull request.".into(),
                );
                draft = plan(report, &hunks, &options, &anchoring);
            }
            Err(GithubError::Unprocessable { message })
                if anchoring.cleared.is_none() && !draft.comments.is_empty() =>
            {
                let probed = gh.unanchorable(&repo, number, &draft, FINDING_TAG).await?;
                if probed.refused.is_empty() && probed.unchecked.is_empty() {
                    // Every comment fits: the 422 is about something else.
                    return Err(GithubError::Unprocessable { message }.into());
                }
                anchoring.cleared = Some(
                    draft
                        .comments
                        .iter()
                        .map(|c| c.finding.clone())
                        .filter(|f| !probed.refused.contains(f) && !probed.unchecked.contains(f))
                        .collect(),
                );
                anchoring.refused.extend(probed.refused);
                unchecked = probed.unchecked;
                draft = plan(report, &hunks, &options, &anchoring);
            }
            Err(e) => return Err(e.into()),
        }
    };
    let mut warnings: Vec<String> = posted.warning.into_iter().collect();
    let tidied = tidy_earlier_threads(&gh, &repo, number, report, &mut warnings).await;
    if !posted.comments.is_empty()
        && let Err(e) = link_comments(run, report.run.round, &posted.comments)
    {
        warnings.push(format!(
            "the ledger does not link the review's comments: {e}"
        ));
    }
    let mut refused: Vec<String> = anchoring.refused.into_iter().collect();
    refused.sort();
    Ok(PostedReview {
        url: posted.url,
        inline: posted.comments,
        refused,
        unchecked,
        tidied,
        warnings,
    })
}

/// Resolves and folds the threads earlier runs opened; returns how many
/// were dealt with in full.
async fn tidy_earlier_threads(
    gh: &Github,
    repo: &RepoRef,
    number: u64,
    report: &Report,
    warnings: &mut Vec<String>,
) -> usize {
    let threads = match gh.own_threads(repo, number, FINDING_TAG).await {
        Ok(threads) => threads,
        Err(e) => {
            warnings.push(format!("earlier review threads were left as they are: {e}"));
            return 0;
        }
    };
    let mut tidied = 0;
    for step in earlier_threads(report, &threads) {
        let mut done = true;
        if step.resolve
            && let Err(e) = gh.resolve_thread(repo, number, &step.thread_id).await
        {
            warnings.push(format!("an earlier review thread stays open: {e}"));
            done = false;
        }
        if let Some(why) = step.fold
            && let Err(e) = gh.fold_comment(repo, number, &step.comment_id, why).await
        {
            warnings.push(format!("an earlier review comment stays unfolded: {e}"));
            done = false;
        }
        tidied += usize::from(done);
    }
    tidied
}

/// Each finding of `round` commented on gets its comment's URL in the
/// ledger.
fn link_comments(
    run: &RunDir,
    round: u32,
    comments: &[(String, String)],
) -> Result<(), PipelineError> {
    let Some(parent) = run.root.parent() else {
        return Ok(());
    };
    Ledger::update(parent, |ledger| {
        for e in ledger.entries.iter_mut().filter(|e| e.round == round) {
            if let Some((_, url)) = comments.iter().find(|(id, _)| *id == e.id) {
                e.comment = Some(url.clone());
            }
        }
        Ok::<_, PipelineError>(())
    })
}
