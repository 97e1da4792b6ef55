//! The report as a pull-request review (`--post review`): a summary as the
//! review's body, a comment on the lines of each finding the diff shows
//! (with a one-click suggestion when the fix replaces exactly those
//! lines), the other findings in the body; and what becomes of the
//! earlier rounds' comments. Pure: what is sent is decided here.

use std::collections::HashSet;

use super::markdown::{GITHUB_LIMIT, finding, full_report_place};
use super::model::{Report, ReportFinding};
use super::text::{defuse_commands, fenced, inline};
use crate::checkout::hunks::Hunks;
use crate::config::FailOn;
use crate::findings::Verdict;
use crate::github::{DraftComment, Fold, OwnThread, ReviewDraft, ReviewEvent};

/// The hidden tag of every inline comment deep-review writes.
pub const FINDING_TAG: &str = "deep-review:finding";
/// The hidden tag of a review's body.
pub const REVIEW_TAG: &str = "deep-review:review";
/// More inline comments than this in one review drown the pull request
/// (and GitHub's secondary rate limit counts them): the rest go into the
/// body.
pub const MAX_INLINE: usize = 50;

pub struct Options<'a> {
    /// `REQUEST_CHANGES` when a finding at or above this remains.
    pub request_changes_on: FailOn,
    /// The full report's file, named (never its local path) in the body.
    pub full_report: Option<&'a str>,
    /// A line for the body's end (why a request for changes became a
    /// comment, say).
    pub note: Option<String>,
}

/// What GitHub said of the comments' lines, once asked.
#[derive(Debug, Clone, Default)]
pub struct Anchoring {
    /// Findings whose comment GitHub would not take (or was not asked
    /// about): they go into the body.
    pub refused: HashSet<String>,
    /// Once probed, only these may sit on a line: a finding that was not
    /// among the probed comments (it moved up when others moved out) was
    /// never cleared.
    pub cleared: Option<HashSet<String>>,
}

/// The review to submit.
pub fn plan(
    report: &Report,
    hunks: &Hunks,
    options: &Options,
    anchoring: &Anchoring,
) -> ReviewDraft {
    let mut comments = Vec::new();
    let mut outside: Vec<&ReportFinding> = Vec::new();
    for f in &report.findings {
        let allowed = !anchoring.refused.contains(f.id.as_str())
            && anchoring
                .cleared
                .as_ref()
                .is_none_or(|c| c.contains(f.id.as_str()));
        match anchor(f, hunks) {
            Some((start, end)) if comments.len() < MAX_INLINE && allowed => {
                // A suggestion replaces exactly the lines it sits on.
                let whole = start == f.line_start && end == f.line_end.max(f.line_start);
                comments.push(DraftComment {
                    finding: f.id.clone(),
                    path: f.path.clone(),
                    line: end,
                    start_line: (start < end).then_some(start),
                    body: comment_body(report, f, whole),
                });
            }
            _ => outside.push(f),
        }
    }
    let blocking = report
        .findings
        .iter()
        .any(|f| options.request_changes_on.blocks(f.severity));
    ReviewDraft {
        commit_id: report.target.head_sha.clone(),
        body: review_body(report, comments.len(), &outside, options),
        event: if blocking {
            ReviewEvent::RequestChanges
        } else {
            ReviewEvent::Comment
        },
        comments,
    }
}

/// The lines a finding's comment sits on: its whole range when one hunk
/// shows it, else its first line when a hunk shows that.
fn anchor(f: &ReportFinding, hunks: &Hunks) -> Option<(u32, u32)> {
    let end = f.line_end.max(f.line_start);
    if hunks.contains(&f.path, f.line_start, end) {
        Some((f.line_start, end))
    } else if hunks.contains(&f.path, f.line_start, f.line_start) {
        Some((f.line_start, f.line_start))
    } else {
        None
    }
}

/// The first line of a finding's comment: which run, round and finding,
/// for the next round to find it.
pub fn marker(report: &Report, id: &str) -> String {
    format!(
        "<!-- {FINDING_TAG} run={} round={} id={id} -->",
        report.run.id, report.run.round
    )
}

/// `(run, round, id)` from a comment's marker.
pub fn parse_marker(body: &str) -> Option<(String, u32, String)> {
    let rest = body
        .lines()
        .next()?
        .strip_prefix(&format!("<!-- {FINDING_TAG} "))?
        .strip_suffix(" -->")?;
    let mut run = None;
    let mut round = None;
    let mut id = None;
    for part in rest.split(' ') {
        match part.split_once('=')? {
            ("run", v) => run = Some(v.to_string()),
            ("round", v) => round = v.parse().ok(),
            ("id", v) => id = Some(v.to_string()),
            _ => return None,
        }
    }
    Some((run?, round?, id?))
}

fn comment_body(report: &Report, f: &ReportFinding, whole_range: bool) -> String {
    let head = format!(
        "{}\n**{}** · deep-review round {}\n\n",
        marker(report, &f.id),
        f.severity.label(),
        report.run.round
    );
    let text = model_text(&finding(report, f, false));
    let suggestion = suggestion(f).filter(|_| whole_range).map(|s| {
        let block = if s.is_empty() {
            // Accepting an empty suggestion deletes the lines.
            "```suggestion\n```".to_string()
        } else {
            fenced(&s, "suggestion")
        };
        format!(
            "\n**Suggested change** (the fix above, as a replacement of these lines):\n\n{block}\n"
        )
    });
    let whole = format!(
        "{head}{}{}",
        text.trim_end(),
        suggestion.clone().unwrap_or_default()
    );
    if whole.chars().count() <= GITHUB_LIMIT {
        return whole;
    }
    // Without the suggestion, then cut: the report has it all.
    let note = "\n\n*Cut to fit a GitHub comment; the report has the whole finding.*";
    let mut t = cut_lines(
        &format!("{head}{text}"),
        GITHUB_LIMIT - note.chars().count() - 16,
    );
    while t.ends_with('\n') {
        t.pop();
    }
    t.push_str(note);
    t
}

/// The whole lines of `text` that fit in `budget` characters (a longer
/// line cut), with a code block left open closed by its own fence.
fn cut_lines(text: &str, budget: usize) -> String {
    let mut out = String::new();
    let mut used = 0;
    let mut open: Option<String> = None;
    for line in text.lines() {
        let length = line.chars().count() + 1;
        if used + length > budget {
            if open.is_none() && used < budget {
                out.extend(line.chars().take(budget - used - 1));
                out.push('\n');
            }
            break;
        }
        used += length;
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        if fence.chars().count() >= 3 {
            match &open {
                None => open = Some(fence),
                Some(o) if trimmed.trim_end() == o.as_str() => open = None,
                Some(_) => {}
            }
        }
        out.push_str(line);
        out.push('\n');
    }
    if let Some(fence) = open {
        out.push_str(&fence);
        out.push('\n');
    }
    out
}

/// Model-written Markdown made safe for a review: no ledger command, and
/// no suggestion block of its own — GitHub would offer a model's code as
/// a one-click change; only [`suggestion`], checked against the code, may.
fn model_text(markdown: &str) -> String {
    let mut out = String::with_capacity(markdown.len());
    for line in defuse_commands(markdown).split_inclusive('\n') {
        let trimmed = line.trim_start();
        let fence: String = trimmed
            .chars()
            .take_while(|&c| c == '`' || c == '~')
            .collect();
        let info = trimmed[fence.len()..].trim_start();
        if fence.chars().count() >= 3 && info.to_lowercase().starts_with("suggestion") {
            let indent = &line[..line.len() - trimmed.len()];
            out.push_str(&format!("{indent}{fence}text\n"));
        } else {
            out.push_str(line);
        }
    }
    out
}

fn review_body(
    report: &Report,
    inline_count: usize,
    outside: &[&ReportFinding],
    options: &Options,
) -> String {
    let c = &report.counts;
    let mut top = format!(
        "<!-- {REVIEW_TAG} run={} -->\n## deep-review · round {}: {}\n\n{}\n\n**{} critical · {} important · {} suggestions**\n",
        report.run.id,
        report.run.round,
        report.verdict.decision.label(),
        inline(&report.verdict.reason),
        c.critical,
        c.important,
        c.suggestion
    );
    if report.verdict.decision == Verdict::NotReviewed || report.incomplete {
        top.push_str(
            "\n> [!WARNING]\n> Not every reviewer finished: this review is incomplete, and no finding here means no more than that.\n",
        );
    }
    if inline_count > 0 {
        top.push_str(&format!(
            "\n{inline_count} finding{} commented on {} lines below.\n",
            if inline_count == 1 { " is" } else { "s are" },
            if inline_count == 1 { "its" } else { "their" }
        ));
    }
    if let Some(place) = full_report_place(report, options.full_report) {
        top.push_str(&format!("\nThe full report is {place}.\n"));
    }
    let mut end = String::new();
    if let Some(note) = &options.note {
        end.push_str(&format!("\n*{}*\n", inline(note)));
    }
    let heading = "\n### Findings not on a line of this diff\n\n";
    let full: String = outside
        .iter()
        .map(|f| model_text(&finding(report, f, true)))
        .collect::<Vec<_>>()
        .join("\n");
    let room = GITHUB_LIMIT.saturating_sub(top.chars().count() + end.chars().count() + 200);
    let middle = if outside.is_empty() {
        String::new()
    } else if full.chars().count() <= room {
        format!("{heading}{full}")
    } else {
        // One line each, as many as fit; the report has them in full.
        let mut list = String::from(heading);
        let mut left = outside.len();
        for f in outside {
            let line = model_text(&format!(
                "- **{}** {} · {} — {}\n",
                f.id,
                f.severity.label(),
                super::text::code(&format!("{}:{}", f.path, f.line_start)),
                inline(&f.title)
            ));
            if list.chars().count() + line.chars().count() > room {
                break;
            }
            list.push_str(&line);
            left -= 1;
        }
        if left > 0 {
            list.push_str(&format!("- … and {left} more (see the full report)\n"));
        }
        list
    };
    defuse_commands(&format!("{top}{middle}{end}"))
}

/// The fix as a replacement of the finding's own lines: only when the fix
/// holds exactly one `diff` block (of one hunk) whose removed and context
/// lines are, line for line, the code at the finding's range (its
/// excerpt, whole and uncut). An empty replacement deletes the lines.
pub fn suggestion(f: &ReportFinding) -> Option<String> {
    let excerpt = f.excerpt.as_deref()?;
    let range = (f.line_end.max(f.line_start) - f.line_start + 1) as usize;
    let code: Vec<&str> = excerpt.lines().collect();
    if code.len() != range || code.iter().any(|l| crate::findings::evidence::is_cut(l)) {
        return None;
    }
    let mut blocks = diff_blocks(&f.fix);
    let block = blocks.pop().filter(|_| blocks.is_empty())?;
    let mut old = Vec::new();
    let mut new = Vec::new();
    // File headers only before the hunk header, and that header only
    // before the hunk's first line: later, `--- x` is a removed `-- x`, and
    // another `@@` a second hunk.
    let mut header = true;
    for line in block {
        if header {
            if line.starts_with("@@") {
                header = false;
                continue;
            }
            if ["--- ", "+++ ", "diff --git", "index "]
                .iter()
                .any(|h| line.starts_with(h))
            {
                continue;
            }
            header = false;
        } else if line.starts_with("@@") {
            return None;
        }
        match line.chars().next() {
            Some('-') => old.push(&line[1..]),
            Some('+') => new.push(&line[1..]),
            Some(' ') => {
                old.push(&line[1..]);
                new.push(&line[1..]);
            }
            None => {
                old.push("");
                new.push("");
            }
            _ => return None,
        }
    }
    let same = old.len() == code.len()
        && old
            .iter()
            .zip(&code)
            .all(|(a, b)| a.trim_end() == b.trim_end());
    (same && old != new).then(|| new.join("\n"))
}

/// The bodies of the fenced blocks marked `diff` or `patch`.
fn diff_blocks(markdown: &str) -> Vec<Vec<&str>> {
    let mut out = Vec::new();
    let mut open: Option<(String, bool, Vec<&str>)> = None;
    for line in markdown.lines() {
        let trimmed = line.trim_start();
        match &mut open {
            None => {
                let fence: String = trimmed.chars().take_while(|&c| c == '`').collect();
                if fence.len() >= 3 {
                    let info = trimmed[fence.len()..].trim();
                    let is_diff = matches!(info, "diff" | "patch");
                    open = Some((fence, is_diff, Vec::new()));
                }
            }
            Some((fence, is_diff, body)) => {
                if trimmed.starts_with(fence.as_str())
                    && trimmed.trim_end().chars().all(|c| c == '`')
                {
                    if *is_diff {
                        out.push(std::mem::take(body));
                    }
                    open = None;
                } else {
                    body.push(line);
                }
            }
        }
    }
    out
}

/// What to do with one of deep-review's earlier threads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadStep {
    pub thread_id: String,
    pub comment_id: String,
    pub resolve: bool,
    pub fold: Option<Fold>,
}

/// Earlier rounds' comments do not pile up: each thread of an earlier run
/// is resolved, and its comment folded away — as outdated when this round
/// raises the finding again (its new comment says it now), as resolved
/// when the finding is gone. This run's own threads are left alone.
pub fn earlier_threads(report: &Report, threads: &[OwnThread]) -> Vec<ThreadStep> {
    threads
        .iter()
        .filter_map(|t| {
            let (run, round, id) = parse_marker(&t.body)?;
            if run == report.run.id || (t.resolved && t.minimized) {
                return None;
            }
            let again = report
                .prior_round
                .iter()
                .find(|p| p.round == round && p.id == id)
                .is_none_or(|p| p.now_id.is_some());
            Some(ThreadStep {
                thread_id: t.thread_id.clone(),
                comment_id: t.comment_id.clone(),
                resolve: !t.resolved,
                fold: (!t.minimized).then_some(if again {
                    Fold::Outdated
                } else {
                    Fold::Resolved
                }),
            })
        })
        .collect()
}
