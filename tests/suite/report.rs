//! Every report format rendered from one rich hand-built model.

use crate::common::fixture::{HOSTILE, rich_report};
use deep_review::config::Format;
use deep_review::domain::Severity;
use deep_review::report::markdown::GITHUB_LIMIT;
use deep_review::report::render;

#[test]
fn markdown() {
    insta::assert_snapshot!(render(&rich_report(), Format::Md, None));
}

#[test]
fn github_comment() {
    insta::assert_snapshot!(render(&rich_report(), Format::Github, Some("report.md")));
}

#[test]
fn html() {
    let html = render(&rich_report(), Format::Html, None);
    // The highlighting's style sheet is the crate's; the page holds it once.
    let css = deep_review::report::highlight::css();
    assert_eq!(html.matches(css).count(), 1);
    insta::assert_snapshot!(html.replace(css, "/* the highlighting style sheet */\n"));
}

#[test]
fn json() {
    insta::assert_snapshot!(render(&rich_report(), Format::Json, None));
}

#[test]
fn sarif() {
    insta::assert_snapshot!(render(&rich_report(), Format::Sarif, None));
}

#[test]
fn hostile_strings_never_become_markup() {
    let report = rich_report();
    let html = render(&report, Format::Html, None);
    assert!(!html.contains("<script>"), "no script tag survives");
    assert!(html.contains("&lt;script&gt;") || html.contains("&lt;script>"));
    assert!(!html.contains("javascript:"));
    // The only <details> are ours, and they are balanced.
    assert_eq!(
        html.matches("<details").count(),
        html.matches("</details>").count()
    );
    for format in [Format::Md, Format::Github] {
        let rendered = render(&report, format, None);
        let md = outside_code_blocks(&rendered);
        assert!(!md.contains("<script>"), "{format}");
        // Our folds open and close on lines of their own; a `</details>`
        // from a model can only appear escaped or inside code.
        let opens = md.lines().filter(|l| l.starts_with("<details>")).count();
        let closes = md.lines().filter(|l| *l == "</details>").count();
        assert_eq!(opens, closes, "{format}");
        assert!(
            !md.lines().any(|l| l.contains("</details>")
                && l != "</details>"
                && !l.contains("`</details>`")),
            "{format}"
        );
        // Every fence that opens closes: an even number of fence lines
        // per fence length.
        let fences: Vec<&str> = rendered
            .lines()
            .filter(|l| l.trim_start().starts_with("```"))
            .collect();
        assert_eq!(fences.len() % 2, 0, "{format}: {fences:?}");
        assert!(md.contains("ünïcödé"));
        let _ = HOSTILE;
    }
}

/// The text outside fenced code blocks: what Markdown interprets.
fn outside_code_blocks(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<String> = None;
    for line in md.lines() {
        let t = line.trim_start();
        let run: String = t.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(f) if run.len() >= f.len() && t.trim() == run => fence = None,
            Some(_) => {}
            None if run.len() >= 3 => fence = Some(run),
            None => {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn the_json_contract_fields_exist() {
    let json: serde_json::Value =
        serde_json::from_str(&render(&rich_report(), Format::Json, None)).unwrap();
    for pointer in [
        "/schema_version",
        "/run/id",
        "/run/round",
        "/run/started_at",
        "/run/wall_clock_ms",
        "/verdict/decision",
        "/verdict/reason",
        "/findings/0/id",
        "/findings/0/severity",
        "/findings/0/category",
        "/findings/0/title",
        "/findings/0/path",
        "/findings/0/line_start",
        "/findings/0/line_end",
        "/findings/0/agents",
        "/findings/0/evidence",
        "/findings/0/body",
        "/findings/0/fix",
        "/dropped/0/agent",
        "/dropped/0/title",
        "/dropped/0/path",
        "/dropped/0/kind",
        "/dropped/0/reason",
        "/agents/0/name",
        "/agents/0/model",
        "/agents/0/effort",
        "/agents/0/status",
        "/agents/0/duration_ms",
        "/agents/0/tool_calls/total",
        "/agents/0/tool_calls/by_tool",
        "/agents/0/tokens/input",
        "/agents/0/tokens/output",
        "/agents/0/cost_usd",
        "/agents/0/findings_raised",
        "/agents/0/kept",
        "/agents/0/downgraded",
        "/agents/0/dropped",
        "/agents/0/false_positives",
        "/agents/0/unique_insights",
        "/agents/0/files_reviewed",
        "/agents/0/coverage_misses",
    ] {
        assert!(json.pointer(pointer).is_some(), "{pointer} missing");
    }
    assert_eq!(json["verdict"]["decision"], "merge_with_fixes");
    assert_eq!(json["findings"][1]["evidence"], "relocated");
    assert_eq!(json["agents"][1]["cost_usd"], serde_json::Value::Null);
}

#[test]
fn a_huge_report_still_fits_a_github_comment() {
    let mut report = rich_report();
    let template = report.findings[1].clone();
    for i in 0..400 {
        let mut f = template.clone();
        f.id = format!("S{}", i + 3);
        f.severity = Severity::Suggestion;
        f.body = format!("Finding {i}. {}", "Long explanation. ".repeat(10));
        report.findings.push(f);
    }
    for a in &mut report.appendix {
        a.raw = "{\"x\": 1}\n".repeat(5_000);
    }
    let full = render(&report, Format::Md, None);
    assert!(
        full.chars().count() > 4 * GITHUB_LIMIT,
        "the test report is big: {}",
        full.len()
    );
    let comment = render(&report, Format::Github, Some("/runs/x/report.md"));
    assert!(
        comment.chars().count() <= GITHUB_LIMIT,
        "{}",
        comment.chars().count()
    );
    let place = format!(
        "full report is report.md of run {id} (`deep-review show {id}` where the review ran)",
        id = report.run.id
    );
    assert!(comment.contains(&place), "says where the full report is");
    assert!(!comment.contains("/runs/x"), "not the local path");
    // The executive summary and the first findings are never cut.
    assert!(comment.contains("## Executive Summary"));
    assert!(comment.contains("Lock taken in the wrong order"));
}

#[test]
fn a_report_over_the_limit_only_loses_its_appendix_when_that_suffices() {
    let mut report = rich_report();
    for a in &mut report.appendix {
        a.raw = "{\"x\": 1}\n".repeat(8_000);
    }
    let comment = render(&report, Format::Github, Some("report.md"));
    assert!(comment.chars().count() <= GITHUB_LIMIT);
    assert!(comment.contains("the agents' raw reviews in the appendix were shortened"));
    // Every section is still there.
    for heading in [
        "## Agent Performance Retro",
        "## Review Process Notes",
        "## Appendix: Original Reviews",
        "### C1.",
        "### S2.",
    ] {
        assert!(comment.contains(heading), "{heading}");
    }
}

/// An agent the consolidator wrote no retro note for is not said to lack
/// one because consolidation did not run, when it did.
#[test]
fn a_missing_retro_note_says_why() {
    let mut r = rich_report();
    r.agents[0].retro.clear();
    for format in [Format::Md, Format::Html] {
        r.consolidation.performed = true;
        let text = render(&r, format, None);
        assert!(
            text.contains("No retro note from the consolidator."),
            "{format}"
        );
        assert!(
            !text.contains("consolidation was not performed"),
            "{format}"
        );
        r.consolidation.performed = false;
        let text = render(&r, format, None);
        assert!(
            text.contains("No retro note (consolidation was not performed)."),
            "{format}"
        );
    }
}

/// Like the reports this tool automates, an empty Declined or Unresolved
/// Feedback section is left out rather than printed as "None.".
#[test]
fn empty_declined_and_feedback_sections_are_left_out() {
    let mut r = rich_report();
    for format in [Format::Md, Format::Html] {
        let text = render(&r, format, None);
        assert!(text.contains("Declined in prior rounds"), "{format}");
        assert!(text.contains("Unresolved Feedback"), "{format}");
    }
    r.declined.clear();
    r.unresolved_feedback.clear();
    for format in [Format::Md, Format::Html] {
        let text = render(&r, format, None);
        assert!(!text.contains("Declined in prior rounds"), "{format}");
        assert!(!text.contains("Unresolved Feedback"), "{format}");
        assert!(!text.contains("#feedback"), "{format}: no link to it");
    }
    // Nor a link to a previous round or a resolution there is none of.
    let html = render(&r, Format::Html, None);
    assert!(html.contains("href=\"#prior\""));
    r.prior_round.clear();
    r.resolutions.clear();
    let html = render(&r, Format::Html, None);
    assert!(!html.contains("href=\"#prior\""));
    assert!(!html.contains("href=\"#resolution\""));
}

/// A design observation the program could credit to no reviewer reads as
/// the consolidator's own.
#[test]
fn an_uncredited_design_observation_is_the_consolidators() {
    let mut report = rich_report();
    report.design[0].agents.clear();
    let md = render(&report, Format::Md, None);
    assert!(md.contains(" — the consolidator\n"), "{md}");
    let html = render(&report, Format::Html, None);
    assert!(html.contains("<span class=\"badge\">the consolidator</span>"));
}

/// Feedback counts as addressed only when two reviewers say so (of two
/// or more that finished), and nobody gets a notification from a posted
/// report: `@` handles are broken up.
#[test]
fn feedback_needs_two_reviewers_to_be_addressed_and_pings_nobody() {
    let report = rich_report();
    let md = render(&report, Format::Github, None);
    assert!(
        md.contains(
            "Addressed by this change, the reviewers say: U2 (@\u{200B}maintainer, comment)."
        ),
        "{md}"
    );
    assert!(
        md.contains("[@\u{200B}reviewer1](https://github.com/acme/widget/pull/336#discussion_r1)")
    );
    let section = md.split("## Unresolved Feedback").nth(1).unwrap();
    let section = section.split("\n## ").next().unwrap();
    assert!(
        !section.contains("@maintainer") && !section.contains("@reviewer1"),
        "{section}"
    );
    let mut one = rich_report();
    one.unresolved_feedback[1].judgements.truncate(1);
    let md = render(&one, Format::Md, None);
    assert!(!md.contains("Addressed by this change"), "{md}");
    assert!(md.contains("**U2** [@\u{200B}maintainer]"), "{md}");
}

/// A CI link that is not plainly web, or would break the table, is text.
#[test]
fn odd_ci_links_stay_text() {
    let mut report = rich_report();
    let ci = report.target.ci.as_mut().unwrap();
    ci.checks[1].name = "lint".into();
    ci.checks[1].url = Some("https://ci.example/x|y".into());
    let md = render(&report, Format::Md, None);
    let row = md.lines().find(|l| l.starts_with("| CI |")).unwrap();
    assert_eq!(
        row,
        "| CI | **failure** — failed: lint · 1 pending · 1 passed |"
    );
}

/// The header's lists: ten files set apart are named with no "and 0
/// more", an eleventh is counted; each declined Critical and each ignored
/// steering file on its own, separated.
#[test]
fn the_header_lists_what_it_names_and_counts_the_rest() {
    use deep_review::checkout::pieces::Piece;
    let mut r = rich_report();
    let piece = |n: usize| Piece {
        path: format!("vendor/f{n}.c"),
        file: format!("{n:04}.diff"),
        lines: 10,
        set_apart: Some("vendored".into()),
    };
    let plan = r.target.diff_pieces.as_mut().unwrap();
    plan.pieces = (0..10).map(piece).collect();
    let md = render(&r, Format::Md, None);
    assert!(md.contains("vendor/f9.c (vendored) |"), "{md}");
    assert!(!md.contains(" more"), "{md}");
    r.target
        .diff_pieces
        .as_mut()
        .unwrap()
        .pieces
        .push(piece(10));
    let md = render(&r, Format::Md, None);
    assert!(md.contains("vendor/f9.c (vendored) and 1 more |"), "{md}");
    assert!(!md.contains("vendor/f10.c"));

    let mut second = r.declined[1].clone();
    second.id = "C5".into();
    second.title = "Second".into();
    r.declined.push(second);
    r.run.sandbox.as_mut().unwrap().ignored_head_files = vec!["a.md".into(), "b.md".into()];
    let md = render(&r, Format::Md, None);
    let row = |name: &str| {
        md.lines()
            .find(|l| l.starts_with(&format!("| {name} |")))
            .unwrap_or_else(|| panic!("no {name} row: {md}"))
            .to_string()
    };
    assert!(
        row("Declined Critical").contains(
            "(round 6): accepted risk, tracked in #12 (@\u{200b}maintainer)<br>**C5 — Second**"
        ),
        "{}",
        row("Declined Critical")
    );
    assert!(
        row("Sandbox").contains("The change edits `a.md`, `b.md`; the base's copies were used"),
        "{}",
        row("Sandbox")
    );
}

/// Excerpts are folded and shortened by exact counts: twelve lines stay
/// open in a comment, thirteen fold; cut to the last budget's four lines, an
/// excerpt says how many lines of its range are left out (the range, not
/// the excerpt, which may be cut already); a related place shows six.
#[test]
fn excerpts_fold_and_shorten_by_exact_counts() {
    let lines = |n: usize| {
        (1..=n)
            .map(|i| format!("line_{i}();"))
            .collect::<Vec<_>>()
            .join("\n")
    };
    let mut r = rich_report();
    r.findings.truncate(2);
    r.findings[0].excerpt = Some(lines(12));
    r.findings[0].line_start = 10;
    r.findings[0].line_end = 21;
    r.findings[1].excerpt = Some(lines(13));
    r.findings[1].line_start = 30;
    r.findings[1].line_end = 42;
    r.findings[0].related = vec![deep_review::report::model::RelatedLocation {
        path: "src/other.rs".into(),
        line_start: 20,
        line_end: 29,
        why: "the caller".into(),
        evidence: deep_review::report::model::EvidenceStatus::Verified,
        excerpt: Some(lines(10)),
        language: "rust".into(),
    }];
    let mut six = r.findings[0].related[0].clone();
    six.line_end = 25;
    six.excerpt = Some(lines(6));
    r.findings[1].related = vec![six];
    let comment = render(&r, Format::Github, None);
    assert!(
        !comment.contains("… (0 more lines)"),
        "six lines of six are whole"
    );
    let path0 = &r.findings[0].path;
    let path1 = &r.findings[1].path;
    assert!(
        !comment.contains(&format!("<summary>Code at {path0}:10-21 (12 lines)")),
        "{comment}"
    );
    assert!(
        comment.contains(&format!("<summary>Code at {path1}:30-42 (13 lines)")),
        "{comment}"
    );
    assert!(
        comment.contains("line_6();\n… (4 more lines)"),
        "the related place: {comment}"
    );

    // Over the limit: the last budget keeps four lines of each.
    for a in &mut r.appendix {
        a.raw = String::new();
    }
    let template = r.findings[1].clone();
    for i in 0..150 {
        let mut f = template.clone();
        f.id = format!("S{}", i + 10);
        f.severity = Severity::Suggestion;
        f.excerpt = Some(lines(4));
        f.line_start = 1;
        f.line_end = 4;
        f.body = format!("Finding {i}. {}", "Long explanation. ".repeat(3));
        r.findings.push(f);
    }
    r.findings[0].line_end = 39; // a range of 30 lines, an excerpt of 12
    let comment = render(&r, Format::Github, None);
    // Too big for any budget: the last one's view, cut.
    assert!(comment.contains("This comment was cut"));
    assert!(
        comment.contains("line_4();\n… (26 more lines)"),
        "{}",
        &comment[..3000]
    );
    assert!(comment.contains("line_4();\n… (9 more lines)"));
    assert!(
        !comment.contains("… (0 more lines)"),
        "four lines of four are whole"
    );
}

/// An acknowledged limitation names its file, and its line when it has one.
#[test]
fn limitations_name_their_place() {
    use deep_review::report::model::Limitation;
    let mut r = rich_report();
    r.limitations = vec![
        Limitation {
            text: "At a line.".into(),
            path: Some("src/a.rs".into()),
            line: Some(3),
        },
        Limitation {
            text: "In a file.".into(),
            path: Some("src/b.rs".into()),
            line: None,
        },
        Limitation {
            text: "Anywhere.".into(),
            path: None,
            line: Some(9),
        },
    ];
    let html = render(&r, Format::Html, None);
    assert!(
        html.contains("At a line. (<code>src/a.rs:3</code>)"),
        "{html}"
    );
    assert!(html.contains("In a file. (<code>src/b.rs</code>)"));
    assert!(html.contains("Anywhere.<"));
    let md = render(&r, Format::Md, None);
    assert!(md.contains("In a file. (`src/b.rs`)"), "{md}");
}

/// The last resort cuts inside a code block: the block is closed again,
/// and the comment with its note still fits, to the character.
#[test]
fn a_cut_inside_a_code_block_closes_it_and_still_fits() {
    let mut r = rich_report();
    r.findings[0].body = format!("Intro.\n\n```\n{}```\n", "x = 1\n".repeat(20_000));
    let comment = render(&r, Format::Github, None);
    assert!(comment.contains("This comment was cut"));
    assert!(
        comment.chars().count() <= GITHUB_LIMIT,
        "{}",
        comment.chars().count()
    );
    assert!(
        comment.chars().count() > GITHUB_LIMIT - 100,
        "the cut keeps all it can: {}",
        comment.chars().count()
    );
    let fences = comment
        .lines()
        .filter(|l| l.trim_start().starts_with("```"))
        .count();
    assert_eq!(fences % 2, 0, "every block is closed");
    let cut_at = comment.find("\n\n---\n\n*This comment was cut").unwrap();
    assert!(
        comment[..cut_at].ends_with("x = 1\n```\n"),
        "{}",
        &comment[cut_at - 40..cut_at]
    );
}

/// The coverage line says what is known and no more: opened files alone
/// make a line, an unopened file with no claim is named bare; an agent
/// that finished well but wrote no retro note is not said to have failed.
#[test]
fn coverage_and_retro_lines_say_only_what_is_known() {
    use deep_review::domain::AgentStatus;
    use deep_review::findings::answer::Depth;
    use deep_review::report::markdown::{Fallback, coverage_line, retro_fallback};
    use deep_review::report::model::FileCoverage;
    let r = rich_report();
    let mut a = r.agents[0].clone();
    let path = |p: &str| format!("`{p}`");
    let text = |t: &str| t.to_string();
    let file = |p: &str, claimed: Option<Depth>| FileCoverage {
        path: p.into(),
        findings: Vec::new(),
        claimed,
        note: String::new(),
    };
    a.coverage = vec![file("a.rs", None)];
    a.coverage_misses.clear();
    a.unopened_claims.clear();
    assert_eq!(
        coverage_line(&a, &path, &text).as_deref(),
        Some("Opened `a.rs` (no issues).")
    );
    a.coverage.clear();
    a.coverage_misses = vec!["b.rs".into(), "c.rs".into()];
    a.unopened_claims = vec![file("b.rs", None), file("c.rs", Some(Depth::InDepth))];
    assert_eq!(
        coverage_line(&a, &path, &text).as_deref(),
        Some("Not opened: `b.rs`, `c.rs` (says: in depth — no read of it was recorded).")
    );
    a.coverage_misses.clear();
    assert_eq!(coverage_line(&a, &path, &text), None);

    a.retro.clear();
    a.status = AgentStatus::Ok;
    a.message = Some("finished".into());
    assert!(matches!(retro_fallback(&r, &a), Some(Fallback::NoNote(_))));
    a.status = AgentStatus::TimedOut;
    assert!(matches!(
        retro_fallback(&r, &a),
        Some(Fallback::DidNotComplete("finished"))
    ));
}
