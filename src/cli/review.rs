//! `deep-review pr` and `deep-review branch`: run the pipeline, route the
//! report to files and stdout, and turn the result into an exit code.

use std::io::IsTerminal;
use std::path::Path;

use tokio_util::sync::CancellationToken;

use super::args::ReviewArgs;
use super::commands::io_failure;
use super::failure::Failure;
use super::output;
use crate::config::{Config, Format, PostMode};
use crate::exit::Exit;
use crate::pipeline::{self, Request, Target};
use crate::report::Report;

pub async fn run(
    config: &Config,
    target: Target,
    round: Option<u32>,
    args: &ReviewArgs,
    quiet: bool,
) -> Result<Exit, Failure> {
    let chosen = chosen_format(args)?;
    preflight(config, &target, args).await?;
    let request = Request {
        target,
        round,
        formats: config.review.formats.clone(),
        keep_worktree: config.review.keep_worktree,
    };
    // What the agents start stays deep-review's to kill at the end.
    crate::agents::leftovers::adopt_orphans();
    let cancel = CancellationToken::new();
    super::signals::watch(cancel.clone());
    let progress = super::progress::sink(quiet);
    let finished = pipeline::run(config, &request, progress, cancel)
        .await
        .map_err(Failure::from)?;
    let report = &finished.report;
    let full = finished.run.report(Format::Md).display().to_string();

    if let Some(path) = &args.output {
        let text = crate::report::render(report, chosen, Some(&full));
        std::fs::write(path, text).map_err(|e| {
            Failure::runtime(
                format!("cannot write {}: {e}", path.display()),
                "check the directory exists and is writable",
            )
        })?;
    }
    if !std::io::stdout().is_terminal() {
        if args.output.is_none() {
            // The report alone on stdout, so it can be piped.
            output::stdout(&crate::report::render(report, chosen, Some(&full)))
                .map_err(io_failure)?;
        }
    } else {
        output::stdout(&summary(
            report,
            &finished.run.root,
            &finished.written,
            args.output.as_deref(),
        ))
        .map_err(io_failure)?;
    }
    if args.post.is_some() {
        if report.target.pr.is_none() {
            return Err(Failure::usage(
                "--post needs a pull request",
                "use it with `deep-review pr N`",
            ));
        }
        post(config, &finished, &full, quiet).await?;
    }
    let blocking = report
        .findings
        .iter()
        .any(|f| config.review.fail_on.blocks(f.severity));
    Ok(Exit::for_review(report.incomplete, blocking))
}

/// Posts where `github.post` says, each place whatever became of the one
/// before: a failed comment does not cost the review or the check run.
/// The first failure is the result, once all were tried.
async fn post(
    config: &Config,
    finished: &pipeline::Finished,
    full: &str,
    quiet: bool,
) -> Result<(), Failure> {
    let report = &finished.report;
    let failed = |e: pipeline::PipelineError| {
        let f = Failure::from(e);
        Failure::runtime(
            format!("the review is done but posting it failed: {}", f.message),
            format!(
                "{}; the report is saved in {}",
                f.hint,
                finished.run.root.display()
            ),
        )
    };
    let mut failures: Vec<Failure> = Vec::new();
    let mut fail = |f: Failure| failures.push(f);
    let modes = &config.github.post;
    if modes.contains(&PostMode::Comment) {
        match pipeline::post_comment(config, report, full).await {
            Ok(url) if !quiet => output::note(&format!("posted: {url}")),
            Ok(_) => {}
            Err(e) => fail(failed(e)),
        }
    }
    if modes.contains(&PostMode::Review) {
        match pipeline::post_review(config, report, &finished.run, full).await {
            Ok(posted) => {
                for w in &posted.warnings {
                    output::note(&format!("warning: {w}"));
                }
                if !quiet {
                    output::note(&review_line(&posted));
                }
            }
            Err(e) => fail(failed(e)),
        }
    }
    if modes.contains(&PostMode::Check) {
        match pipeline::post_check(config, report).await {
            Ok(url) if !quiet => output::note(&format!("check run: {url}")),
            Ok(_) => {}
            Err(e) => fail(failed(e)),
        }
    }
    // The first is the result (with its hint); the others are said too.
    for other in failures.iter().skip(1) {
        output::note(&format!("error: {}", other.message));
    }
    failures.into_iter().next().map_or(Ok(()), Err)
}

fn review_line(posted: &pipeline::PostedReview) -> String {
    let mut line = format!(
        "review: {} ({} on their lines",
        posted.url,
        posted.inline.len()
    );
    if !posted.refused.is_empty() {
        line.push_str(&format!(
            "; GitHub refused the lines of {}, in the body instead",
            posted.refused.join(", ")
        ));
    }
    if !posted.unchecked.is_empty() {
        line.push_str(&format!(
            "; {} in the body, their lines unchecked",
            posted.unchecked.join(", ")
        ));
    }
    if posted.tidied > 0 {
        line.push_str(&format!("; {} earlier thread(s) resolved", posted.tidied));
    }
    line.push(')');
    line
}

/// Every check that needs no agent, before any agent costs anything: a
/// mistake found after a paid review wastes it.
async fn preflight(config: &Config, target: &Target, args: &ReviewArgs) -> Result<(), Failure> {
    if let Some(path) = &args.output {
        let dir = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let writable = std::ffi::CString::new(dir.as_os_str().as_encoded_bytes())
            // SAFETY: a valid C string.
            .is_ok_and(|c| unsafe { libc::access(c.as_ptr(), libc::W_OK) } == 0);
        if !dir.is_dir() || !writable || path.is_dir() {
            return Err(Failure::usage(
                format!("cannot write the report to {}", path.display()),
                "-o needs a file path in an existing, writable directory",
            ));
        }
    }
    if args.post.is_some() {
        if matches!(target, Target::Branch { .. }) {
            return Err(Failure::usage(
                "--post needs a pull request",
                "use it with `deep-review pr N`; for a branch, keep the report with -o",
            ));
        }
        if config.github.post.is_empty() {
            return Err(Failure::usage(
                "--post has nowhere to post: github.post is empty",
                "name it: --post comment, review or check (comma-separated), or set github.post",
            ));
        }
        let host = crate::github::web_host(&config.github.api_url);
        let Some((token, _)) = crate::github::find_token(&host).await else {
            return Err(Failure::usage(
                format!("--post needs a GitHub token for {host}"),
                "set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh auth login`",
            ));
        };
        // GitHub lets only GitHub App tokens (an Actions job's among them)
        // create check runs: say so before a review is paid for.
        let personal = ["ghp_", "gho_", "ghu_", "github_pat_"]
            .iter()
            .any(|p| token.starts_with(p));
        if config.github.post.contains(&PostMode::Check) && personal {
            return Err(Failure::usage(
                "--post check needs a GitHub App token: GitHub does not let personal or OAuth tokens create check runs",
                "run it in GitHub Actions with `permissions: checks: write` (the job's GITHUB_TOKEN), or use --post comment",
            ));
        }
    }
    Ok(())
}

/// The format of `-o` and of stdout: the one `--format` given, else the
/// output path's extension, else Markdown.
fn chosen_format(args: &ReviewArgs) -> Result<Format, Failure> {
    match args.format.as_slice() {
        [one] => Ok(one.format()),
        [] => Ok(args
            .output
            .as_deref()
            .and_then(Format::from_extension)
            .unwrap_or(Format::Md)),
        _ if args.output.is_some() => Err(Failure::usage(
            "-o writes one format, but several --format values were given",
            "drop -o to write every format into the run directory, or give one --format",
        )),
        _ => Ok(Format::Md),
    }
}

fn summary(
    report: &Report,
    run: &Path,
    written: &[(Format, std::path::PathBuf)],
    output: Option<&Path>,
) -> String {
    let mut out = format!(
        "\n{} — {}\n{} critical, {} important, {} suggestions",
        report.verdict.decision.label(),
        report.verdict.reason,
        report.counts.critical,
        report.counts.important,
        report.counts.suggestion
    );
    for f in &report.findings {
        out.push_str(&format!(
            "\n  {:<4} {} ({}:{})",
            f.id, f.title, f.path, f.line_start
        ));
    }
    if report.incomplete {
        out.push_str("\n\nThis review is incomplete:");
        for a in report.agents.iter().filter(|a| !a.status.is_ok()) {
            out.push_str(&format!(
                "\n  {}: {}{}",
                a.display_name,
                a.status.words(),
                a.message
                    .as_deref()
                    .map(|m| format!(" — {m}"))
                    .unwrap_or_default()
            ));
        }
        if !report.consolidation.performed {
            out.push_str(&format!(
                "\n  consolidation not performed: {}",
                report.consolidation.note.as_deref().unwrap_or("")
            ));
        }
    }
    out.push_str(&format!("\n\nRun directory: {}", run.display()));
    for (format, path) in written {
        out.push_str(&format!("\n  {:<6} {}", format.name(), path.display()));
    }
    if let Some(path) = output {
        out.push_str(&format!("\n  output {}", path.display()));
    }
    out.push('\n');
    out
}
