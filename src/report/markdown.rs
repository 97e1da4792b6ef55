//! The Markdown report and its GitHub-comment form.

use askama::Template;

use super::header::{self, Piece};
use super::model::*;
use super::text::{block, code, fenced, inline};
use crate::domain::Severity;

/// GitHub refuses comments longer than this many characters.
pub const GITHUB_LIMIT: usize = 65_536;
/// The hidden marker by which `--post` finds its own comment.
pub const MARKER: &str = "deep-review:report";
/// Excerpts longer than this fold into `<details>` in the comment form.
const FOLD_LINES: usize = 12;

pub struct FindingView {
    pub id: String,
    pub title: String,
    pub location: String,
    pub agents: String,
    pub category: String,
    pub evidence: Option<String>,
    pub prior: Option<String>,
    pub resolution: Option<String>,
    pub severity_note: Option<String>,
    pub flags: Vec<String>,
    pub excerpt: Option<String>,
    pub fold: bool,
    pub excerpt_summary: String,
    /// The other places it spans, each rendered.
    pub related: Vec<String>,
    pub body: String,
    pub fix: String,
}

pub struct AppendixView {
    pub agent: String,
    pub file: String,
    pub id_map: String,
    pub raw: Option<String>,
}

#[derive(Template)]
#[template(path = "report.md", escape = "none")]
struct View {
    github: bool,
    not_reviewed: bool,
    marker: &'static str,
    title: String,
    header: Vec<(String, String)>,
    failures: Vec<String>,
    summary: String,
    structure: String,
    critical: Vec<FindingView>,
    important: Vec<FindingView>,
    suggestion: Vec<FindingView>,
    concerns: Vec<String>,
    strengths: Vec<String>,
    testing: String,
    tests_run: Vec<String>,
    documentation: String,
    commits: String,
    limitations: Vec<String>,
    declined: Vec<String>,
    prior: Vec<super::resolution::PriorRow>,
    resolution_intro: Option<String>,
    resolutions: Vec<(String, String, String, String)>,
    feedback: Vec<String>,
    feedback_addressed: Option<String>,
    retro: Vec<(String, String)>,
    table: String,
    reconciliation: Vec<String>,
    prompt_improvements: Vec<String>,
    context_updates: Vec<String>,
    /// What the consolidation pass's input or decisions came to, when it
    /// ran and there is something to say.
    consolidation_note: Option<String>,
    appendix: Vec<AppendixView>,
    cut_note: Option<String>,
}

/// How much the GitHub form keeps; shrunk step by step to fit the limit.
#[derive(Clone, Copy)]
struct Budget {
    github: bool,
    raw_appendix: bool,
    fold_all_excerpts: bool,
    max_excerpt_lines: usize,
}

pub fn render(report: &Report) -> String {
    view(
        report,
        Budget {
            github: false,
            raw_appendix: true,
            fold_all_excerpts: false,
            max_excerpt_lines: usize::MAX,
        },
        None,
    )
    .render()
    .expect("the Markdown template renders")
}

/// The comment form: fits [`GITHUB_LIMIT`]. It shortens the appendix
/// first, then folds and shortens excerpts, and only as a last resort
/// cuts the end, saying what was cut and where the full report is.
pub fn render_github(report: &Report, full_report: Option<&str>) -> String {
    let steps = [
        Budget {
            github: true,
            raw_appendix: true,
            fold_all_excerpts: false,
            max_excerpt_lines: usize::MAX,
        },
        Budget {
            github: true,
            raw_appendix: false,
            fold_all_excerpts: false,
            max_excerpt_lines: usize::MAX,
        },
        Budget {
            github: true,
            raw_appendix: false,
            fold_all_excerpts: true,
            max_excerpt_lines: 40,
        },
        Budget {
            github: true,
            raw_appendix: false,
            fold_all_excerpts: true,
            max_excerpt_lines: 12,
        },
        Budget {
            github: true,
            raw_appendix: false,
            fold_all_excerpts: true,
            max_excerpt_lines: 4,
        },
    ];
    let mut last = String::new();
    for (i, budget) in steps.iter().enumerate() {
        let note = (i > 0).then(|| shortened_note(i, report, full_report));
        last = view(report, *budget, note)
            .render()
            .expect("the Markdown template renders");
        if last.chars().count() <= GITHUB_LIMIT {
            return last;
        }
    }
    cut(&last, report, full_report)
}

#[derive(Template)]
#[template(path = "finding.md", escape = "none")]
struct One<'a> {
    f: &'a FindingView,
}

/// One finding as the comment form shows it, with its excerpt or (for a
/// comment that sits on its lines) without.
pub fn finding(report: &Report, f: &ReportFinding, with_excerpt: bool) -> String {
    let budget = Budget {
        github: true,
        raw_appendix: false,
        fold_all_excerpts: false,
        max_excerpt_lines: usize::MAX,
    };
    let mut view = finding_view(report, f, budget);
    if !with_excerpt {
        view.excerpt = None;
    }
    One { f: &view }
        .render()
        .expect("the finding template renders")
}

/// Where the full report lives, for people reading the comment: its file
/// name and run, never the reviewer's local path (which would leak their
/// home directory into a public comment and is of no use to others).
pub fn full_report_place(report: &Report, full: Option<&str>) -> Option<String> {
    let file = std::path::Path::new(full?).file_name()?.to_string_lossy();
    let id: String = report.run.id.chars().filter(|c| *c != '`').collect();
    Some(format!(
        "{} of run {} (`deep-review show {id}` where the review ran)",
        inline(&file),
        inline(&id)
    ))
}

fn shortened_note(step: usize, report: &Report, full: Option<&str>) -> String {
    let what = if step == 1 {
        "the agents' raw reviews in the appendix"
    } else {
        "the agents' raw reviews and long code excerpts"
    };
    format!(
        "*To fit a GitHub comment, {what} were shortened{}.*",
        full_report_place(report, full)
            .map(|p| format!("; the full report is {p}"))
            .unwrap_or_default()
    )
}

/// The last resort: cut at a line boundary and say so.
fn cut(text: &str, report: &Report, full: Option<&str>) -> String {
    let note = format!(
        "\n\n---\n\n*This comment was cut at {} characters to fit GitHub's limit; everything after this point is missing{}.*\n",
        GITHUB_LIMIT,
        full_report_place(report, full)
            .map(|p| format!(". The full report is {p}"))
            .unwrap_or_default()
    );
    let budget = GITHUB_LIMIT - note.chars().count() - 16;
    let mut out = String::new();
    let mut kept = 0;
    let mut in_fence = false;
    for line in text.lines() {
        let length = line.chars().count() + 1;
        if kept + length > budget {
            break;
        }
        kept += length;
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
        }
        out.push_str(line);
        out.push('\n');
    }
    if in_fence {
        out.push_str("```\n");
    }
    out.push_str(&note);
    out
}

fn view(report: &Report, budget: Budget, cut_note: Option<String>) -> View {
    let r = report;
    let name = |agent: &str| r.display_name(agent);
    let header = header::rows(r)
        .into_iter()
        .map(|(label, pieces)| {
            (
                label.to_string(),
                pieces.iter().map(md_piece).collect::<String>(),
            )
        })
        .collect();
    let failures = header::failures(r).iter().map(|f| inline(f)).collect();

    let findings = |severity: Severity| -> Vec<FindingView> {
        r.findings_of(severity)
            .map(|f| finding_view(r, f, budget))
            .collect()
    };
    use crate::findings::answer::ObservationKind;
    let concerns = r
        .design
        .iter()
        .filter(|d| d.kind == ObservationKind::Concern)
        .map(|d| observation(r, d))
        .collect();
    let strengths = r
        .design
        .iter()
        .filter(|d| d.kind == ObservationKind::Strength)
        .map(|d| observation(r, d))
        .collect();

    View {
        github: budget.github,
        not_reviewed: r.verdict.decision == crate::findings::Verdict::NotReviewed,
        marker: MARKER,
        title: format!("Deep Review: {}", inline(&r.run.id)),
        header,
        failures,
        summary: block(&r.summary),
        structure: format!(
            "Structure: {} critical, {} important, {}.",
            r.counts.critical,
            r.counts.important,
            plural(r.counts.suggestion as usize, "suggestion")
        ),
        critical: findings(Severity::Critical),
        important: findings(Severity::Important),
        suggestion: findings(Severity::Suggestion),
        concerns,
        strengths,
        testing: or_none(&block(&r.testing)),
        tests_run: r.tests_run.iter().map(|t| test_run_line(r, t)).collect(),
        documentation: or_none(&block(&r.documentation)),
        commits: or_none(&block(&r.commit_structure)),
        limitations: r.limitations.iter().map(limitation_line).collect(),
        declined: r.declined.iter().map(declined_line).collect(),
        prior: super::resolution::prior_rows(r)
            .into_iter()
            .map(|p| super::resolution::PriorRow {
                finding: inline(&p.finding),
                title: inline(&p.title),
                resolution: inline(&p.resolution),
                this_round: inline(&p.this_round),
                head: inline(&p.head),
            })
            .collect(),
        resolution_intro: super::resolution::intro(r).map(|i| inline(&i)),
        resolutions: super::resolution::rows(r)
            .into_iter()
            .map(|[a, b, c, d]| (inline(&a), inline(&b), inline(&c), inline(&d)))
            .collect(),
        feedback: r
            .unresolved_feedback
            .iter()
            .filter(|f| !super::feedback::is_addressed(r, f))
            .map(|f| feedback_line(r, f))
            .collect(),
        feedback_addressed: feedback_addressed(r),
        retro: r.agents.iter().map(|a| retro_text(r, a)).collect(),
        table: retro_table(r),
        reconciliation: r
            .reconciliation
            .iter()
            .map(|c| reconciliation_line(r, c))
            .collect(),
        prompt_improvements: r
            .process_notes
            .prompt_improvements
            .iter()
            .map(|p| one_paragraph(p))
            .collect(),
        context_updates: r
            .process_notes
            .context_updates
            .iter()
            .map(|p| one_paragraph(p))
            .collect(),
        consolidation_note: r
            .consolidation
            .note
            .as_deref()
            .filter(|_| r.consolidation.performed)
            .map(inline),
        appendix: r
            .appendix
            .iter()
            .map(|a| AppendixView {
                agent: inline(&name(&a.agent)),
                file: code(&a.file),
                id_map: if a.id_map.is_empty() {
                    "no findings".into()
                } else {
                    a.id_map
                        .iter()
                        .map(|(from, to)| format!("{} → {}", inline(from), inline(to)))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                raw: (budget.raw_appendix && !a.raw.trim().is_empty()).then(|| {
                    super::appendix::readable(&a.raw).unwrap_or_else(|| fenced(&a.raw, "json"))
                }),
            })
            .collect(),
        cut_note,
    }
}

fn finding_view(r: &Report, f: &ReportFinding, budget: Budget) -> FindingView {
    let lines = f.excerpt.as_deref().map_or(0, |e| e.lines().count());
    let excerpt = f.excerpt.as_deref().map(|e| {
        let shown: String = if lines > budget.max_excerpt_lines {
            let mut s = e
                .lines()
                .take(budget.max_excerpt_lines)
                .collect::<Vec<_>>()
                .join("\n");
            // Counted against the range: the excerpt may be cut already.
            let range = (f.line_end.max(f.line_start) - f.line_start + 1) as usize;
            s.push_str(&format!(
                "\n… ({} more lines)",
                range.max(lines) - budget.max_excerpt_lines
            ));
            s
        } else {
            e.to_string()
        };
        fenced(&shown, &f.language)
    });
    let evidence = match f.evidence {
        EvidenceStatus::Verified => None,
        EvidenceStatus::Relocated => Some(format!(
            "relocated: {}",
            inline(f.evidence_note.as_deref().unwrap_or(""))
        )),
        EvidenceStatus::Unverified => Some(format!(
            "**unverified**: {}",
            inline(f.evidence_note.as_deref().unwrap_or(""))
        )),
    };
    FindingView {
        id: f.id.clone(),
        title: format!("**{}**", inline(&f.title)),
        location: code(&format!(
            "{}:{}",
            f.path,
            line_range(f.line_start, f.line_end)
        )),
        agents: f
            .agents
            .iter()
            .map(|a| format!("[{}]", inline(&r.display_name(a))))
            .collect::<Vec<_>>()
            .join(" "),
        category: f.category.label().to_string(),
        evidence,
        prior: f.prior.as_deref().map(inline),
        resolution: super::resolution::of_finding(f).map(|x| inline(&x)),
        severity_note: f.severity_note.as_deref().map(inline),
        flags: f.flags.iter().map(|s| inline(s)).collect(),
        fold: budget.github && (budget.fold_all_excerpts || lines > FOLD_LINES),
        excerpt_summary: format!(
            "Code at {}:{} ({lines} lines)",
            inline(&f.path),
            line_range(f.line_start, f.line_end)
        ),
        excerpt,
        related: f.related.iter().map(|r| related(r, budget)).collect(),
        body: block(&f.body),
        fix: block(&f.fix),
    }
}

/// Lines of a related place's code the report shows: enough to see it.
pub const RELATED_LINES: usize = 6;

/// "**Also at** `src/start.rs:20-21` — why", and its code.
fn related(r: &RelatedLocation, budget: Budget) -> String {
    let mut out = format!(
        "**Also at** {}",
        code(&format!(
            "{}:{}",
            r.path,
            line_range(r.line_start, r.line_end)
        ))
    );
    if !r.why.trim().is_empty() {
        out.push_str(&format!(" — {}", inline(&r.why)));
    }
    if let Some(x) = &r.excerpt {
        let keep = RELATED_LINES.min(budget.max_excerpt_lines);
        // The range's size: the excerpt itself may already be cut.
        let total = (r.line_end.max(r.line_start) - r.line_start + 1) as usize;
        let mut shown = x.lines().take(keep).collect::<Vec<_>>().join("\n");
        if total > keep {
            shown.push_str(&format!("\n… ({} more lines)", total - keep));
        }
        let block = fenced(&shown, &r.language);
        if budget.github && budget.fold_all_excerpts {
            out.push_str(&format!(
                "\n\n<details><summary>Code</summary>\n\n{block}\n\n</details>"
            ));
        } else {
            out.push_str(&format!("\n\n{block}"));
        }
    }
    out
}

/// The retro summary table: one row per metric, one cell per agent.
pub fn retro_rows(r: &Report) -> Vec<(&'static str, Vec<String>)> {
    let col =
        |f: &dyn Fn(&AgentReport) -> String| -> Vec<String> { r.agents.iter().map(f).collect() };
    vec![
        ("Status", col(&|a| a.status.words())),
        ("Duration", col(&|a| clock(a.duration_ms))),
        ("Findings", col(&|a| a.findings_raised.short())),
        ("Tool calls", col(&|a| a.tool_calls.label())),
        (
            "Tokens (in / out)",
            col(&|a| {
                format!(
                    "{} / {}",
                    thousands(a.tokens.input),
                    thousands(a.tokens.output)
                )
            }),
        ),
        (
            "Cost",
            col(&|a| a.cost_usd.map_or("—".into(), |c| format!("${c:.2}"))),
        ),
        (
            "Design observations",
            col(&|a| a.design_observations.to_string()),
        ),
        ("False positives", col(&|a| a.false_positives.to_string())),
        ("Unique insights", col(&|a| a.unique_insights.to_string())),
        ("Files reviewed", col(&|a| a.files_reviewed.to_string())),
        (
            "Coverage misses",
            col(&|a| a.coverage_misses.len().to_string()),
        ),
        ("Kept", col(&|a| a.kept.to_string())),
        ("Downgraded", col(&|a| a.downgraded.to_string())),
        ("Upgraded", col(&|a| a.upgraded.to_string())),
        ("Dropped", col(&|a| a.dropped.to_string())),
    ]
}

fn retro_table(r: &Report) -> String {
    let mut out = String::from("| Metric |");
    for a in &r.agents {
        out.push_str(&format!(" {} |", inline(&r.agent_heading(a))));
    }
    out.push_str("\n|---|");
    for _ in &r.agents {
        out.push_str("---|");
    }
    for (label, cells) in retro_rows(r) {
        out.push_str(&format!("\n| {label} |"));
        for c in cells {
            out.push_str(&format!(" {} |", inline(&c)));
        }
    }
    out
}

fn md_piece(piece: &Piece) -> String {
    match piece {
        Piece::Text(t) => {
            // `inline` folds whitespace; a piece keeps the spaces that
            // separate it from its neighbours.
            let lead = if t.starts_with(char::is_whitespace) {
                " "
            } else {
                ""
            };
            let trail = if t.ends_with(char::is_whitespace) {
                " "
            } else {
                ""
            };
            format!("{lead}{}{trail}", inline(t))
        }
        Piece::Code(c) => code(c),
        // A URL that is not plainly web (a CI system's target URL, say)
        // stays text: it could end the link or run script.
        Piece::Link { text, url } if super::feedback::web_url(url).is_some() => {
            format!("[{}]({url})", inline(text))
        }
        Piece::Link { text, .. } => inline(text),
        Piece::Strong(t) => format!("**{}**", inline(t)),
        // Inside a table cell a line break has to be HTML.
        Piece::Break => "<br>".into(),
    }
}

fn or_none(s: &str) -> String {
    if s.trim().is_empty() {
        "Nothing reported.".into()
    } else {
        s.to_string()
    }
}

/// Model prose for a list item: one paragraph, tags neutralised.
fn one_paragraph(s: &str) -> String {
    block(&s.split_whitespace().collect::<Vec<_>>().join(" "))
}

pub fn line_range(start: u32, end: u32) -> String {
    if end > start {
        format!("{start}-{end}")
    } else {
        start.to_string()
    }
}

/// `36 min 36 s`
pub fn wall_clock(ms: u64) -> String {
    let s = ms / 1000;
    match (s / 3600, (s % 3600) / 60, s % 60) {
        (0, 0, sec) => format!("{sec} s"),
        (0, min, sec) => format!("{min} min {sec} s"),
        (h, min, sec) => format!("{h} h {min} min {sec} s"),
    }
}

/// `10:04`
pub fn clock(ms: u64) -> String {
    let s = ms / 1000;
    format!("{}:{:02}", s / 60, s % 60)
}

/// `120000` → `120,000`
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1 commit`, `3 commits`
pub fn plural(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

fn observation(r: &Report, d: &DesignNote) -> String {
    let name = |agent: &str| r.display_name(agent);
    let scope = match d.scope {
        crate::findings::answer::Scope::InScope => "in-scope",
        crate::findings::answer::Scope::Future => "future",
    };
    let paths = if d.paths.is_empty() {
        String::new()
    } else {
        format!(
            " ({})",
            d.paths
                .iter()
                .map(|p| code(p))
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    let agents = d
        .agents
        .iter()
        .map(|a| name(a))
        .collect::<Vec<_>>()
        .join(", ");
    // No reviewer it could be credited to: the consolidator's own.
    let agents = if agents.is_empty() {
        "the consolidator".to_string()
    } else {
        inline(&agents)
    };
    format!("*({scope})* {}{paths} — {agents}", one_paragraph(&d.text))
}

fn retro_text(r: &Report, a: &AgentReport) -> (String, String) {
    let text = match retro_fallback(r, a) {
        Some(Fallback::DidNotComplete(m)) => format!("Did not complete: {}.", inline(m)),
        Some(Fallback::NoNote(text)) => text.into(),
        None => block(&a.retro),
    };
    let text = match coverage_line(a, &|p| code(p), &|t| inline(t)) {
        Some(line) => format!("{text}\n\n{line}"),
        None => text,
    };
    (inline(&a.display_name), text)
}

/// What the retro says of an agent without a retro note.
pub enum Fallback<'a> {
    /// Why it did not complete (model text: escape it).
    DidNotComplete(&'a str),
    NoNote(&'static str),
}

/// `None` when the agent has its retro note.
pub fn retro_fallback<'a>(r: &Report, a: &'a AgentReport) -> Option<Fallback<'a>> {
    if !a.retro.is_empty() {
        return None;
    }
    Some(match &a.message {
        Some(m) if !a.status.is_ok() => Fallback::DidNotComplete(m.trim_end_matches('.')),
        _ if r.consolidation.performed => Fallback::NoNote("No retro note from the consolidator."),
        _ => Fallback::NoNote("No retro note (consolidation was not performed)."),
    })
}

/// "Opened `a.rs` (I1, S2; says: in depth), `b.rs` (no issues). Not
/// opened: `c.rs` (says: in depth — not borne out)." — what the agent's
/// events show beside what its answer claims. `path` renders a path for
/// the format; `text` escapes model text for it.
pub fn coverage_line(
    a: &AgentReport,
    path: &dyn Fn(&str) -> String,
    text: &dyn Fn(&str) -> String,
) -> Option<String> {
    if a.coverage.is_empty() && a.coverage_misses.is_empty() {
        return None;
    }
    let said = |c: &FileCoverage, opened: bool| -> String {
        let Some(depth) = c.claimed else {
            return String::new();
        };
        let doubt = if !opened && depth == crate::findings::answer::Depth::InDepth {
            " — no read of it was recorded"
        } else {
            ""
        };
        let note = if c.note.is_empty() {
            String::new()
        } else {
            format!(": {}", text(&c.note))
        };
        format!("says: {}{note}{doubt}", depth.words())
    };
    let mut parts = Vec::new();
    if !a.coverage.is_empty() {
        let files: Vec<String> = a
            .coverage
            .iter()
            .map(|c| {
                let found = if c.findings.is_empty() {
                    "no issues".to_string()
                } else {
                    c.findings.join(", ")
                };
                let claim = said(c, true);
                let claim = if claim.is_empty() {
                    claim
                } else {
                    format!("; {claim}")
                };
                format!("{} ({found}{claim})", path(&c.path))
            })
            .collect();
        parts.push(format!("Opened {}.", files.join(", ")));
    }
    if !a.coverage_misses.is_empty() {
        let files: Vec<String> = a
            .coverage_misses
            .iter()
            .map(|p| match a.unopened_claims.iter().find(|c| &c.path == p) {
                Some(c) if c.claimed.is_some() => format!("{} ({})", path(p), said(c, false)),
                _ => path(p),
            })
            .collect();
        parts.push(format!("Not opened: {}.", files.join(", ")));
    }
    Some(parts.join(" "))
}

fn declined_line(d: &Declined) -> String {
    let changed = if d.code_changed {
        " The code it concerns has changed since."
    } else {
        ""
    };
    format!(
        "**{}** {} ({}, round {}): {} — {}.{changed}{}",
        inline(&d.id),
        inline(&d.title),
        code(&d.path),
        d.round,
        d.action.word(),
        inline(&d.reason),
        raised_again(d)
            .map(|t| format!(" {}", inline(&t)))
            .unwrap_or_default()
    )
}

/// "Raised again this round by Codex (in 2 rounds since it was declined)."
pub fn raised_again(d: &Declined) -> Option<String> {
    if d.raised_again_by.is_empty() {
        return None;
    }
    let since = match d.rounds_raised_again {
        0 | 1 => String::new(),
        n => format!(" (in {n} rounds since it was declined)"),
    };
    Some(format!(
        "Raised again this round by {}{since}.",
        d.raised_again_by.join(" and ")
    ))
}

/// "**U1** [@carol](url) on `a.rs:3` (review thread): excerpt — *open per
/// Claude: …* · see C1".
fn feedback_line(r: &Report, f: &Feedback) -> String {
    use super::feedback::{judgement_text, place, web_url};
    // Posted as a comment, `@name` would notify them again every round:
    // `inline` breaks the handle up.
    let handle = inline(&format!("@{}", f.author));
    let who = match web_url(&f.url) {
        Some(url) => format!("[{handle}]({url})"),
        None => handle,
    };
    // A report saved before pieces had ids shows none.
    let id = if f.id.is_empty() {
        String::new()
    } else {
        format!("**{}** ", inline(&f.id))
    };
    let mut line = format!(
        "{id}{who}{} ({}): {} — *{}*",
        place(f, &|p| code(p)),
        f.kind.words(),
        inline(&f.excerpt),
        judgement_text(r, f, &|t| inline(t))
    );
    if !f.findings.is_empty() {
        line.push_str(&format!(" · see {}", f.findings.join(", ")));
    }
    line
}

/// "Addressed this round, the reviewers say: U2 (@maintainer, comment)."
fn feedback_addressed(r: &Report) -> Option<String> {
    let done: Vec<String> = r
        .unresolved_feedback
        .iter()
        .filter(|f| super::feedback::is_addressed(r, f))
        .map(|f| {
            format!(
                "{} ({}, {})",
                inline(&f.id),
                inline(&format!("@{}", f.author)),
                f.kind.words()
            )
        })
        .collect();
    (!done.is_empty()).then(|| {
        format!(
            "Addressed by this change, the reviewers say: {}.",
            done.join(", ")
        )
    })
}

fn reconciliation_line(r: &Report, c: &Reconciliation) -> String {
    let name = |agent: &str| r.display_name(agent);
    let to =
        c.to.map(|t| format!(" → {}", t.label()))
            .unwrap_or_default();
    format!(
        "**{}** ({}, {}): {} {}{to} — {}",
        inline(&c.finding),
        inline(&name(&c.agent)),
        inline(&c.title),
        c.change,
        c.from.label(),
        inline(&c.reason)
    )
}

fn limitation_line(l: &Limitation) -> String {
    match (&l.path, l.line) {
        (Some(p), Some(n)) => {
            format!("{} ({})", one_paragraph(&l.text), code(&format!("{p}:{n}")))
        }
        (Some(p), None) => format!("{} ({})", one_paragraph(&l.text), code(p)),
        _ => one_paragraph(&l.text),
    }
}

fn test_run_line(r: &Report, t: &TestRun) -> String {
    let name = |agent: &str| r.display_name(agent);
    format!(
        "{} — {} ({})",
        code(&t.command),
        inline(&t.result),
        inline(&name(&t.agent))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_and_numbers_read_as_people_write_them() {
        assert_eq!(wall_clock(59_999), "59 s");
        assert_eq!(wall_clock(2_196_000), "36 min 36 s");
        assert_eq!(wall_clock(3_600_000 + 61_000), "1 h 1 min 1 s");
        assert_eq!(wall_clock(2 * 3_600_000 + 59 * 60_000), "2 h 59 min 0 s");
        assert_eq!(clock(604_000), "10:04");
        assert_eq!(thousands(120_000), "120,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(line_range(3, 3), "3");
        assert_eq!(line_range(3, 5), "3-5");
        assert_eq!(line_range(5, 3), "5");
    }
}
