//! One self-contained HTML file: inline CSS, no scripts, no fetches.
//! askama escapes every plain string; model Markdown is rendered by
//! [`to_html`] with raw HTML escaped.

use askama::Template;

use super::header::{self, Piece};
use super::markdown::{line_range, plural, retro_rows};
use super::model::*;
use super::text::{code_spans_html, html_escape, to_html};
use crate::domain::Severity;
use crate::findings::answer::{ObservationKind, Scope};

struct FindingView {
    id: String,
    anchor: String,
    severity: &'static str,
    title: String,
    location: String,
    agents: Vec<String>,
    category: &'static str,
    evidence: Option<String>,
    prior: Option<String>,
    resolution: Option<String>,
    severity_note: Option<String>,
    flags: Vec<String>,
    /// The excerpt highlighted (escaped HTML).
    excerpt: Option<String>,
    excerpt_summary: String,
    language: String,
    /// The other places it spans, each rendered (escaped HTML).
    related: Vec<String>,
    body: String,
    fix: String,
}

/// A table-of-contents entry: anchor, label, children (anchor, label).
type TocEntry = (String, String, Vec<(String, String)>);

struct Section {
    anchor: &'static str,
    title: &'static str,
    findings: Vec<FindingView>,
}

struct AppendixView {
    agent: String,
    file: String,
    id_map: String,
    raw: String,
    /// The review as readable HTML, when the raw answer reads.
    review: Option<String>,
}

#[derive(Template)]
#[template(path = "report.html")]
struct View {
    /// The highlighting's style sheet (light, and dark by preference).
    highlight_css: &'static str,
    title: String,
    version: String,
    toc: Vec<TocEntry>,
    header: Vec<(String, String)>,
    failures: Vec<String>,
    summary: String,
    structure: String,
    sections: Vec<Section>,
    concerns: Vec<String>,
    strengths: Vec<String>,
    testing: String,
    tests_run: Vec<(String, String)>,
    documentation: String,
    commits: String,
    limitations: Vec<String>,
    declined: Vec<String>,
    prior: Vec<super::resolution::PriorRow>,
    resolution_intro: Option<String>,
    resolutions: Vec<[String; 4]>,
    /// Each piece still open (or not judged), rendered (escaped HTML).
    feedback: Vec<String>,
    /// Each piece every judging reviewer says this change addressed.
    feedback_addressed: Vec<String>,
    retro: Vec<(String, String)>,
    table_head: Vec<String>,
    table_rows: Vec<(&'static str, Vec<String>)>,
    reconciliation: Vec<String>,
    prompt_improvements: Vec<String>,
    context_updates: Vec<String>,
    /// What the consolidation pass's input or decisions came to, when it
    /// ran and there is something to say.
    consolidation_note: Option<String>,
    appendix: Vec<AppendixView>,
}

/// A header piece as HTML, escaped: the cells are rendered `|safe`.
fn html_piece(piece: &Piece) -> String {
    match piece {
        Piece::Text(t) => html_escape(t),
        Piece::Code(c) => format!("<code>{}</code>", html_escape(c)),
        Piece::Link { text, url } if url.starts_with("https://") || url.starts_with("http://") => {
            format!("<a href=\"{}\">{}</a>", html_escape(url), html_escape(text))
        }
        Piece::Link { text, .. } => html_escape(text),
        Piece::Strong(t) => format!("<span class=\"verdict\">{}</span>", html_escape(t)),
        Piece::Break => "<br>".into(),
    }
}

fn md_or_none(s: &str) -> String {
    if s.trim().is_empty() {
        "<p>Nothing reported.</p>".into()
    } else {
        to_html(s)
    }
}

/// Model prose shown inside a list item: rendered, outer paragraph removed.
fn inline_md(s: &str) -> String {
    let html = to_html(s);
    let trimmed = html.trim();
    trimmed
        .strip_prefix("<p>")
        .and_then(|t| t.strip_suffix("</p>"))
        .filter(|t| !t.contains("<p>"))
        .map(str::to_string)
        .unwrap_or_else(|| trimmed.to_string())
}

pub fn render(report: &Report) -> String {
    let r = report;
    let name = |a: &str| r.display_name(a);
    let header = header::rows(r)
        .into_iter()
        .map(|(label, pieces)| {
            (
                label.to_string(),
                pieces.iter().map(html_piece).collect::<String>(),
            )
        })
        .collect();
    let failures = header::failures(r);

    let sections: Vec<Section> = [
        ("critical", "Critical Issues", Severity::Critical),
        ("important", "Important Issues", Severity::Important),
        ("suggestions", "Suggestions", Severity::Suggestion),
    ]
    .into_iter()
    .map(|(anchor, title, sev)| Section {
        anchor,
        title,
        findings: r.findings_of(sev).map(|f| finding_view(r, f)).collect(),
    })
    .collect();

    let mut toc = toc(&sections);
    toc.retain(|(anchor, _, _)| match anchor.as_str() {
        "feedback" => !r.unresolved_feedback.is_empty(),
        "prior" => !r.prior_round.is_empty(),
        "resolution" => !r.resolutions.is_empty(),
        _ => true,
    });

    let view = View {
        highlight_css: super::highlight::css(),
        title: format!("Deep Review: {}", r.run.id),
        version: r.run.deep_review_version.clone(),
        toc,
        header,
        failures,
        summary: to_html(&r.summary),
        structure: format!(
            "Structure: {} critical, {} important, {}.",
            r.counts.critical,
            r.counts.important,
            plural(r.counts.suggestion as usize, "suggestion")
        ),
        sections,
        concerns: r
            .design
            .iter()
            .filter(|d| d.kind == ObservationKind::Concern)
            .map(|d| observation(r, d))
            .collect(),
        strengths: r
            .design
            .iter()
            .filter(|d| d.kind == ObservationKind::Strength)
            .map(|d| observation(r, d))
            .collect(),
        testing: md_or_none(&r.testing),
        tests_run: r
            .tests_run
            .iter()
            .map(|t| {
                (
                    t.command.clone(),
                    format!("{} ({})", t.result, name(&t.agent)),
                )
            })
            .collect(),
        documentation: md_or_none(&r.documentation),
        commits: md_or_none(&r.commit_structure),
        limitations: r.limitations.iter().map(limitation_line).collect(),
        declined: r.declined.iter().map(declined_line).collect(),
        prior: super::resolution::prior_rows(r),
        resolution_intro: super::resolution::intro(r),
        resolutions: super::resolution::rows(r),
        feedback: r
            .unresolved_feedback
            .iter()
            .filter(|f| !super::feedback::is_addressed(r, f))
            .map(|f| feedback_view(r, f))
            .collect(),
        feedback_addressed: r
            .unresolved_feedback
            .iter()
            .filter(|f| super::feedback::is_addressed(r, f))
            .map(|f| feedback_view(r, f))
            .collect(),
        retro: r.agents.iter().map(|a| retro_text(r, a)).collect(),
        table_head: r.agents.iter().map(|a| r.agent_heading(a)).collect(),
        table_rows: retro_rows(r),
        reconciliation: r
            .reconciliation
            .iter()
            .map(|c| reconciliation_line(r, c))
            .collect(),
        prompt_improvements: r.process_notes.prompt_improvements.clone(),
        context_updates: r.process_notes.context_updates.clone(),
        consolidation_note: r
            .consolidation
            .note
            .clone()
            .filter(|_| r.consolidation.performed),
        appendix: r
            .appendix
            .iter()
            .map(|a| AppendixView {
                agent: name(&a.agent),
                file: a.file.clone(),
                id_map: if a.id_map.is_empty() {
                    "no findings".into()
                } else {
                    a.id_map
                        .iter()
                        .map(|(f, t)| format!("{f} → {t}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                },
                raw: a.raw.clone(),
                review: super::appendix::readable(&a.raw).map(|md| to_html(&md)),
            })
            .collect(),
    };
    view.render().expect("the HTML template renders")
}

fn finding_view(r: &Report, f: &ReportFinding) -> FindingView {
    let name = |a: &str| r.display_name(a);
    FindingView {
        id: f.id.clone(),
        anchor: f.id.to_lowercase(),
        severity: match f.severity {
            Severity::Critical => "critical",
            Severity::Important => "important",
            Severity::Suggestion => "suggestion",
        },
        title: code_spans_html(&f.title),
        location: format!("{}:{}", f.path, line_range(f.line_start, f.line_end)),
        agents: f.agents.iter().map(|a| name(a)).collect(),
        category: f.category.label(),
        evidence: match f.evidence {
            EvidenceStatus::Verified => None,
            EvidenceStatus::Relocated => Some(format!(
                "relocated: {}",
                f.evidence_note.as_deref().unwrap_or("")
            )),
            EvidenceStatus::Unverified => Some(format!(
                "unverified: {}",
                f.evidence_note.as_deref().unwrap_or("")
            )),
        },
        prior: f.prior.clone(),
        resolution: super::resolution::of_finding(f),
        severity_note: f.severity_note.clone(),
        flags: f.flags.clone(),
        excerpt_summary: format!(
            "Code at {}:{}",
            f.path,
            line_range(f.line_start, f.line_end)
        ),
        excerpt: f
            .excerpt
            .as_deref()
            .map(|x| super::highlight::code(x, &f.language)),
        language: f.language.clone(),
        related: f.related.iter().map(related_html).collect(),
        body: to_html(&f.body),
        fix: if f.fix.is_empty() {
            String::new()
        } else {
            inline_md(&f.fix)
        },
    }
}

fn toc(sections: &[Section]) -> Vec<TocEntry> {
    let mut toc = vec![(
        "summary".to_string(),
        "Executive Summary".to_string(),
        vec![],
    )];
    toc.push((
        "prior".to_string(),
        "Previous Round — Status".to_string(),
        vec![],
    ));
    for s in sections {
        toc.push((
            s.anchor.to_string(),
            format!("{} ({})", s.title, s.findings.len()),
            s.findings
                .iter()
                .map(|f| {
                    (
                        f.anchor.clone(),
                        format!("{} {}", html_escape(&f.id), f.title),
                    )
                })
                .collect(),
        ));
    }
    for (anchor, title) in [
        ("design", "Design Observations"),
        ("testing", "Testing Assessment"),
        ("documentation", "Documentation Assessment"),
        ("commits", "Commit Structure"),
        ("limitations", "Acknowledged Limitations"),
        ("feedback", "Unresolved Feedback"),
        ("retro", "Agent Performance Retro"),
        ("process", "Review Process Notes"),
        ("resolution", "Resolution"),
        ("appendix", "Appendix"),
    ] {
        toc.push((anchor.into(), title.into(), vec![]));
    }
    toc
}

fn observation(r: &Report, d: &DesignNote) -> String {
    let name = |a: &str| r.display_name(a);
    let scope = if d.scope == Scope::InScope {
        "in-scope"
    } else {
        "future"
    };
    let paths = d
        .paths
        .iter()
        .map(|p| format!("<code>{}</code>", html_escape(p)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut agents: Vec<String> = d
        .agents
        .iter()
        .map(|a| format!("<span class=\"badge\">{}</span>", html_escape(&name(a))))
        .collect();
    if agents.is_empty() {
        agents.push("<span class=\"badge\">the consolidator</span>".into());
    }
    format!(
        "<em>({scope})</em> {} {} {}",
        inline_md(&d.text),
        paths,
        agents.join("")
    )
}

/// Rendered `|safe`: every piece escaped, code spans kept as code.
fn declined_line(d: &Declined) -> String {
    format!(
        "{} {} (<code>{}</code>, round {}): {} — {}{}{}",
        html_escape(&d.id),
        code_spans_html(&d.title),
        html_escape(&d.path),
        d.round,
        d.action.word(),
        code_spans_html(&d.reason),
        if d.code_changed {
            ". The code it concerns has changed since."
        } else {
            "."
        },
        super::markdown::raised_again(d)
            .map(|t| format!(" {}", html_escape(&t)))
            .unwrap_or_default()
    )
}

/// A piece of feedback as a list item's inside: who, where, what, what
/// the reviewers say, the findings there, and its whole text folded.
fn feedback_view(r: &Report, f: &Feedback) -> String {
    use super::feedback::{judgement_text, place, web_url};
    let who = match web_url(&f.url) {
        Some(url) => format!(
            "<a href=\"{}\">@{}</a>",
            html_escape(url),
            html_escape(&f.author)
        ),
        None => format!("@{}", html_escape(&f.author)),
    };
    let mut out = format!(
        "<strong>{}</strong> {who}{} ({}): {} — <em>{}</em>",
        html_escape(&f.id),
        place(f, &|p| format!("<code>{}</code>", html_escape(p))),
        f.kind.words(),
        html_escape(&f.excerpt),
        judgement_text(r, f, &html_escape)
    );
    if !f.findings.is_empty() {
        let links: Vec<String> = f
            .findings
            .iter()
            .map(|id| {
                format!(
                    "<a href=\"#{}\">{}</a>",
                    html_escape(&id.to_lowercase()),
                    html_escape(id)
                )
            })
            .collect();
        out.push_str(&format!(" · see {}", links.join(", ")));
    }
    if f.text.chars().count() > f.excerpt.chars().count() {
        out.push_str(&format!(
            "<details><summary>Full text</summary>{}</details>",
            to_html(&f.text)
        ));
    }
    out
}

fn retro_text(r: &Report, a: &AgentReport) -> (String, String) {
    use super::markdown::{Fallback, retro_fallback};
    let text = match retro_fallback(r, a) {
        Some(Fallback::DidNotComplete(m)) => {
            format!("<p>Did not complete: {}.</p>", html_escape(m))
        }
        Some(Fallback::NoNote(text)) => format!("<p>{text}</p>"),
        None => to_html(&a.retro),
    };
    let code = |p: &str| format!("<code>{}</code>", html_escape(p));
    let text = match super::markdown::coverage_line(a, &code, &html_escape) {
        Some(line) => format!("{text}<p>{line}</p>"),
        None => text,
    };
    (a.display_name.clone(), text)
}

/// "Also at `path:lines` — why", and its code highlighted.
fn related_html(r: &RelatedLocation) -> String {
    let mut out = format!(
        "<p class=\"meta\">Also at <code>{}:{}</code>",
        html_escape(&r.path),
        line_range(r.line_start, r.line_end)
    );
    if !r.why.trim().is_empty() {
        out.push_str(&format!(" — {}", code_spans_html(&r.why)));
    }
    out.push_str("</p>");
    if let Some(x) = &r.excerpt {
        let shown: String = x
            .lines()
            .take(super::markdown::RELATED_LINES)
            .collect::<Vec<_>>()
            .join("\n");
        out.push_str(&format!(
            "<pre><code class=\"language-{}\">{}</code></pre>",
            html_escape(&r.language),
            super::highlight::code(&shown, &r.language)
        ));
    }
    out
}

/// Rendered `|safe`: every piece escaped, code spans kept as code.
fn reconciliation_line(r: &Report, c: &Reconciliation) -> String {
    let name = |a: &str| r.display_name(a);
    let to =
        c.to.map(|t| format!(" → {}", t.label()))
            .unwrap_or_default();
    format!(
        "{} ({}, {}): {} {}{to} — {}",
        html_escape(&c.finding),
        html_escape(&name(&c.agent)),
        code_spans_html(&c.title),
        c.change,
        c.from.label(),
        code_spans_html(&c.reason)
    )
}

fn limitation_line(l: &Limitation) -> String {
    match (&l.path, l.line) {
        (Some(p), Some(n)) => format!(
            "{} (<code>{}:{n}</code>)",
            inline_md(&l.text),
            html_escape(p)
        ),
        (Some(p), None) => {
            format!("{} (<code>{}</code>)", inline_md(&l.text), html_escape(p))
        }
        _ => inline_md(&l.text),
    }
}
