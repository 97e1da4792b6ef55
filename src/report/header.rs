//! The header table and the incomplete-review notice, once for every
//! format: each renderer only decides how a piece is written.

use super::markdown::{plural, wall_clock};
use super::model::Report;

/// A piece of a header cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Piece {
    Text(String),
    Code(String),
    Link { text: String, url: String },
    Strong(String),
    Break,
}

fn linked(text: String, url: Option<&str>) -> Piece {
    match url {
        Some(url) => Piece::Link {
            text,
            url: url.to_string(),
        },
        None => Piece::Text(text),
    }
}

/// "failed: `lint`, `build` · 1 pending · 3 passed": what needs a look
/// first, each linked to its run.
fn ci_cell(ci: &crate::domain::CiState) -> Vec<Piece> {
    let mut cell = vec![Piece::Strong(ci.state.clone())];
    let bad: Vec<&crate::domain::CiCheck> = ci.checks.iter().filter(|c| c.failed()).collect();
    if !bad.is_empty() {
        cell.push(Piece::Text(" — failed: ".into()));
        for (i, c) in bad.iter().enumerate() {
            if i > 0 {
                cell.push(Piece::Text(", ".into()));
            }
            cell.push(linked(c.name.clone(), c.url.as_deref()));
        }
    }
    let pending = ci.checks.iter().filter(|c| c.state == "pending").count();
    let passed = ci.checks.iter().filter(|c| c.state == "success").count();
    let other = ci.checks.len() - bad.len() - pending - passed;
    let mut counts = Vec::new();
    if pending > 0 {
        counts.push(format!("{pending} pending"));
    }
    if passed > 0 {
        counts.push(format!("{passed} passed"));
    }
    if other > 0 {
        counts.push(format!("{other} neutral or skipped"));
    }
    if !counts.is_empty() {
        cell.push(Piece::Text(format!(" · {}", counts.join(" · "))));
    }
    cell
}

/// The rows of the header table, as report-spec.md lists them.
pub fn rows(r: &Report) -> Vec<(&'static str, Vec<Piece>)> {
    let t = &r.target;
    let mut rows = vec![
        ("Date", vec![Piece::Text(r.run.started_local.clone())]),
        (
            "Repo",
            vec![linked(
                t.repo.clone().unwrap_or_default(),
                t.repo_url.as_deref(),
            )],
        ),
        ("Round", vec![Piece::Text(r.run.round.to_string())]),
    ];
    if let Some(author) = &t.author {
        rows.push((
            "Author",
            vec![linked(format!("@{author}"), t.author_url.as_deref())],
        ));
    }
    match t.pr {
        Some(n) => {
            rows.push((
                "PR",
                vec![linked(format!("#{n} — {}", t.title), t.pr_url.as_deref())],
            ));
            rows.push(("Branch", vec![Piece::Code(t.branch.clone())]));
        }
        None => rows.push((
            "Branch",
            vec![
                Piece::Code(t.branch.clone()),
                Piece::Text(" against ".into()),
                Piece::Code(t.base.clone()),
                Piece::Text(format!(" ({})", plural(t.commits.len(), "commit"))),
            ],
        )),
    }
    let mut commits = Vec::new();
    for (i, c) in t.commits.iter().enumerate() {
        if i > 0 {
            commits.push(Piece::Break);
        }
        commits.push(Piece::Code(c.sha.chars().take(7).collect()));
        commits.push(Piece::Text(format!(" {}", c.subject)));
    }
    rows.push(("Commits", commits));
    if let Some(ci) = &t.ci {
        rows.push(("CI", ci_cell(ci)));
    }
    if let Some(plan) = &t.diff_pieces {
        let mut cell = vec![Piece::Text(format!(
            "{} lines over {} files: over budget, so the agents got it split per file",
            super::markdown::thousands(plan.lines as u64),
            plan.pieces.len()
        ))];
        let set_apart: Vec<&crate::checkout::pieces::Piece> = plan
            .pieces
            .iter()
            .filter(|p| p.set_apart.is_some())
            .collect();
        if !set_apart.is_empty() {
            cell.push(Piece::Text("; set apart to skim: ".into()));
            // A vendor update can set thousands apart: the header names ten.
            const NAMED: usize = 10;
            for (i, p) in set_apart.iter().take(NAMED).enumerate() {
                if i > 0 {
                    cell.push(Piece::Text(", ".into()));
                }
                // A name from the PR: escaped text, never raw in a span.
                cell.push(Piece::Text(format!(
                    "{} ({})",
                    p.path,
                    p.set_apart.as_deref().unwrap_or_default()
                )));
            }
            if set_apart.len() > NAMED {
                cell.push(Piece::Text(format!(
                    " and {} more",
                    set_apart.len() - NAMED
                )));
            }
        }
        rows.push(("Diff", cell));
    }
    let mut reviewers = Vec::new();
    for (i, v) in r.reviewers.iter().enumerate() {
        if i > 0 {
            reviewers.push(Piece::Break);
        }
        reviewers.push(Piece::Text(v.label()));
    }
    rows.push(("Reviewers", reviewers));
    rows.push((
        "Verdict",
        vec![
            Piece::Strong(r.verdict.decision.label().into()),
            Piece::Text(format!(" — {}", r.verdict.reason)),
        ],
    ));
    rows.push((
        "Wall-clock time",
        vec![Piece::Text(wall_clock(r.run.wall_clock_ms))],
    ));
    // A declined Critical no longer counts for `--fail-on`: say so where
    // nobody can miss it.
    let critical: Vec<&super::model::Declined> = r
        .declined
        .iter()
        .filter(|d| d.id.starts_with('C'))
        .collect();
    if !critical.is_empty() {
        let mut cell = Vec::new();
        for (i, d) in critical.iter().enumerate() {
            if i > 0 {
                cell.push(Piece::Break);
            }
            cell.push(Piece::Strong(format!("{} — {}", d.id, d.title)));
            cell.push(Piece::Text(format!(" (round {}): {}", d.round, d.reason)));
        }
        rows.push(("Declined Critical", cell));
    }
    if let Some(sandbox) = &r.run.sandbox {
        let mut cell = vec![Piece::Text(sandbox.summary())];
        if let Some(reason) = &sandbox.unconfined_reason {
            cell.push(Piece::Break);
            cell.push(Piece::Strong(format!("Agents ran unconfined: {reason}")));
        }
        if !sandbox.ignored_head_files.is_empty() {
            cell.push(Piece::Break);
            cell.push(Piece::Text("The change edits ".into()));
            for (i, f) in sandbox.ignored_head_files.iter().enumerate() {
                if i > 0 {
                    cell.push(Piece::Text(", ".into()));
                }
                cell.push(Piece::Code(f.clone()));
            }
            cell.push(Piece::Text("; the base's copies were used".into()));
        }
        rows.push(("Sandbox", cell));
    }
    rows
}

/// Why the review is incomplete, one plain line per reason.
pub fn failures(r: &Report) -> Vec<String> {
    let mut out: Vec<String> = r
        .agents
        .iter()
        .filter(|a| !a.status.is_ok())
        .map(|a| {
            let message = a
                .message
                .as_deref()
                .map(|m| format!(" — {m}"))
                .unwrap_or_default();
            format!("{}: {}{message}", a.display_name, a.status.words())
        })
        .collect();
    if !r.consolidation.performed {
        out.push(format!(
            "Consolidation was not performed: {}",
            r.consolidation
                .note
                .as_deref()
                .unwrap_or("no reason recorded")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{CiCheck, CiState};

    fn ci(checks: &[(&str, &str, Option<&str>)]) -> CiState {
        CiState {
            state: "failure".into(),
            checks: checks
                .iter()
                .map(|(name, state, url)| CiCheck {
                    name: name.to_string(),
                    state: state.to_string(),
                    url: url.map(str::to_string),
                })
                .collect(),
        }
    }

    fn text(cell: &[Piece]) -> String {
        cell.iter()
            .map(|p| match p {
                Piece::Text(t) | Piece::Code(t) => t.clone(),
                Piece::Strong(t) => format!("**{t}**"),
                Piece::Link { text, url } => format!("[{text}]({url})"),
                Piece::Break => "\n".into(),
            })
            .collect()
    }

    /// What failed first, each linked where it can be; then only the
    /// counts there are.
    #[test]
    fn the_ci_cell_names_failures_then_counts_what_there_is() {
        let cell = ci_cell(&ci(&[
            ("lint", "failure", Some("https://ci/1")),
            ("build", "timed_out", None),
            ("test", "success", None),
        ]));
        assert_eq!(
            text(&cell),
            "**failure** — failed: [lint](https://ci/1), build · 1 passed"
        );
        let cell = ci_cell(&ci(&[
            ("e2e", "pending", None),
            ("docs", "skipped", None),
            ("fmt", "neutral", None),
        ]));
        assert_eq!(
            text(&cell),
            "**failure** · 1 pending · 2 neutral or skipped"
        );
        assert_eq!(text(&ci_cell(&ci(&[]))), "**failure**");
    }
}
