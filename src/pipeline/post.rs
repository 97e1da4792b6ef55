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
