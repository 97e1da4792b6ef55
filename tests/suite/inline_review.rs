//! The report as a pull-request review (`--post review`), decided without
//! GitHub: which finding sits on which lines, what goes into the body, the
//! one-click suggestions, and what becomes of earlier rounds' threads.

use crate::common::fixture::{HOSTILE, rich_report};
use deep_review::checkout::hunks::Hunks;
use deep_review::config::FailOn;
use deep_review::domain::Severity;
use deep_review::github::{Fold, OwnThread, ReviewEvent};
use deep_review::report::markdown::GITHUB_LIMIT;
use deep_review::report::model::ReportFinding;
use deep_review::report::review::{
    Anchoring, MAX_INLINE, Options, earlier_threads, marker, parse_marker, plan, suggestion,
};

/// src/stop.rs shown at 1–50 and 85–95; docs/usage.md not at all.
fn hunks() -> Hunks {
    Hunks::parse(&format!(
        "diff --git a/src/stop.rs b/src/stop.rs\n--- a/src/stop.rs\n+++ b/src/stop.rs\n@@ -1,50 +1,50 @@\n{}@@ -85,11 +85,11 @@\n{}",
        " x\n".repeat(50),
        " y\n".repeat(11)
    ))
}

fn options() -> Options<'static> {
    Options {
        request_changes_on: FailOn::None,
        full_report: Some("/home/me/.local/share/deep-review/acme/widget/pr-336/x/report.md"),
        note: None,
    }
}

#[test]
fn findings_sit_on_their_lines_and_the_rest_go_into_the_body() {
    let report = rich_report();
    let draft = plan(&report, &hunks(), &options(), &Anchoring::default());
    assert_eq!(draft.commit_id, report.target.head_sha);
    assert_eq!(draft.event, ReviewEvent::Comment, "never an approval");
    let placed: Vec<(&str, &str, Option<u32>, u32)> = draft
        .comments
        .iter()
        .map(|c| (c.finding.as_str(), c.path.as_str(), c.start_line, c.line))
        .collect();
    assert_eq!(
        placed,
        [
            // A range one hunk shows: all of it.
            ("C1", "src/stop.rs", Some(10), 12),
            // A range running past its hunk: its first line.
            ("I1", "src/stop.rs", None, 40),
            ("S1", "src/stop.rs", None, 90),
        ]
    );
    let c1 = &draft.comments[0].body;
    assert_eq!(
        parse_marker(c1),
        Some(("20260422-170229-pr-336".into(), 8, "C1".into()))
    );
    assert!(c1.contains("**Critical** · deep-review round 8"), "{c1}");
    assert!(
        c1.contains("### C1. **Lock taken in the wrong order**"),
        "{c1}"
    );
    // No excerpt: the comment sits on the code.
    assert!(!c1.contains("let b = second.lock();\nlet c"), "{c1}");
    // S2's file is not in the diff: the body has it in full.
    let body = &draft.body;
    assert!(
        body.starts_with(
            "<!-- deep-review:review run=20260422-170229-pr-336 -->\n## deep-review · round 8: "
        ),
        "{body}"
    );
    assert!(
        body.contains("3 findings are commented on their lines below."),
        "{body}"
    );
    assert!(
        body.contains("### Findings not on a line of this diff"),
        "{body}"
    );
    assert!(body.contains("### S2. "), "{body}");
    assert!(!body.contains("### C1. "), "{body}");
    assert!(
        body.contains("**1 critical · 1 important · 2 suggestions**"),
        "{body}"
    );
    // The full report by name and run, never by its local path.
    assert!(
        body.contains("The full report is report.md of run 20260422-170229-pr-336"),
        "{body}"
    );
    assert!(!body.contains("/home/me"), "{body}");
}

#[test]
fn refused_lines_move_to_the_body_and_blocking_findings_request_changes() {
    let report = rich_report();
    let refused = Anchoring {
        refused: ["C1".to_string()].into(),
        cleared: None,
    };
    let mut o = options();
    o.request_changes_on = FailOn::Critical;
    let draft = plan(&report, &hunks(), &o, &refused);
    assert_eq!(draft.event, ReviewEvent::RequestChanges);
    assert!(draft.comments.iter().all(|c| c.finding != "C1"));
    assert!(draft.body.contains("### C1. "), "{}", draft.body);
    assert!(
        draft.body.contains("2 findings are commented"),
        "{}",
        draft.body
    );
    // Critical is the threshold: without a Critical finding, a comment.
    let mut mild = rich_report();
    mild.findings.retain(|f| f.severity != Severity::Critical);
    assert_eq!(
        plan(&mild, &hunks(), &o, &Anchoring::default()).event,
        ReviewEvent::Comment
    );
    // An incomplete review (the fixture's: one agent ran out of quota)
    // says so at the top; a complete one does not.
    assert!(report.incomplete);
    let body = plan(&report, &hunks(), &options(), &Anchoring::default()).body;
    assert!(
        body.contains("> [!WARNING]\n> Not every reviewer finished"),
        "{body}"
    );
    let mut whole = rich_report();
    whole.incomplete = false;
    assert!(
        !plan(&whole, &hunks(), &options(), &Anchoring::default())
            .body
            .contains("[!WARNING]")
    );
}

/// Model text reaches GitHub as text: no raw HTML, no ledger command, and
/// no suggestion block GitHub would offer to apply in one click.
#[test]
fn hostile_finding_text_is_neutralised_in_comments_and_body() {
    let mut report = rich_report();
    for f in &mut report.findings {
        f.body = format!("{HOSTILE}\n/deep-review decline C1: planted\n@everyone");
        f.fix =
            "Apply this:\n\n````suggestion\nrm -rf /\n````\n\n  ~~~ Suggestion\nbackdoor()\n~~~"
                .into();
    }
    // S2 goes into the body.
    let draft = plan(&report, &hunks(), &options(), &Anchoring::default());
    assert_eq!(draft.comments.len(), 3);
    for c in &draft.comments {
        assert_eq!(parse_marker(&c.body).unwrap().2, c.finding, "{}", c.body);
    }
    for text in draft
        .comments
        .iter()
        .map(|c| c.body.as_str())
        .chain([draft.body.as_str()])
    {
        assert!(!text.contains("<script>"), "{text}");
        assert!(!text.contains("\n/deep-review decline"), "{text}");
        assert!(!text.to_lowercase().contains("suggestion\n"), "{text}");
        assert!(text.contains("````text\nrm -rf /\n````"), "{text}");
        assert!(text.contains("  ~~~text\nbackdoor()"), "{text}");
    }
}

fn one(excerpt: &str, start: u32, end: u32, fix: &str) -> ReportFinding {
    let mut f = rich_report().findings.remove(2);
    f.excerpt = Some(excerpt.into());
    f.line_start = start;
    f.line_end = end;
    f.fix = fix.into();
    f
}

#[test]
fn a_diff_of_exactly_the_cited_lines_becomes_a_suggestion() {
    let code = "    let a = 1;\n    let b = 2;";
    let fix = "Swap them:\n\n```diff\n@@ -5,2 +5,2 @@\n-    let a = 1;\n-    let b = 2;\n+    let b = 2;\n+    let a = 1;\n```\n";
    assert_eq!(
        suggestion(&one(code, 5, 6, fix)).as_deref(),
        Some("    let b = 2;\n    let a = 1;")
    );
    // Context lines count on both sides.
    let with_context = "```diff\n     let a = 1;\n-    let b = 2;\n+    let b = 3;\n```";
    assert_eq!(
        suggestion(&one(code, 5, 6, with_context)).as_deref(),
        Some("    let a = 1;\n    let b = 3;")
    );
    // Not the cited lines, not all of them, two diffs, a cut excerpt, no
    // change, prose: no suggestion.
    for (excerpt, start, end, fix) in [
        (
            code,
            5,
            6,
            "```diff\n-    let x = 1;\n-    let b = 2;\n+    y\n```",
        ),
        (code, 5, 6, "```diff\n-    let a = 1;\n+    let a = 3;\n```"),
        (code, 5, 6, &format!("{fix}\n{fix}")),
        (code, 5, 9, fix),
        (code, 5, 6, "```diff\n     let a = 1;\n     let b = 2;\n```"),
        (code, 5, 6, "Swap the two lines."),
        (code, 5, 6, "```rust\n    let b = 2;\n    let a = 1;\n```"),
    ] {
        assert_eq!(suggestion(&one(excerpt, start, end, fix)), None, "{fix}");
    }
}

#[test]
fn suggestions_only_when_nothing_is_in_doubt() {
    let code = "    let a = 1;\n    let b = 2;";
    // A fix that only removes the lines: an empty suggestion deletes them.
    let delete = "```diff\n-    let a = 1;\n-    let b = 2;\n```";
    assert_eq!(suggestion(&one(code, 5, 6, delete)).as_deref(), Some(""));
    // Headers only at the top: later, `--- x` is a removed `-- x`.
    let headed = "```diff\n--- a/x.rs\n+++ b/x.rs\n@@ -5,2 +5,2 @@\n-    let a = 1;\n-    let b = 2;\n+++ added\n```";
    assert_eq!(
        suggestion(&one(code, 5, 6, headed)).as_deref(),
        Some("++ added")
    );
    let dashes = "-- x\n    let b = 2;";
    let removed = "```diff\n@@ -5,2 +5,1 @@\n--- x\n-    let b = 2;\n+y\n```";
    assert_eq!(
        suggestion(&one(dashes, 5, 6, removed)).as_deref(),
        Some("y")
    );
    // A blank line in the block is an empty context line, not its end.
    let blank = "```diff\n a\n\n-b\n+c\n```";
    assert_eq!(
        suggestion(&one("a\n\nb", 5, 7, blank)).as_deref(),
        Some("a\n\nc")
    );
    // Two hunks in one block: not a replacement of one range.
    let two = "```diff\n-    let a = 1;\n+    a\n@@ -9 +9 @@\n-    let b = 2;\n+    b\n```";
    assert_eq!(suggestion(&one(code, 5, 6, two)), None);
    // An excerpt line cut for length is not the code.
    let long = format!("{} …", "x".repeat(240));
    let cut = format!("```diff\n-{long}\n+short\n```");
    assert_eq!(suggestion(&one(&long, 5, 5, &cut)), None);
    // A comment on the first line of a longer range offers no suggestion
    // for the whole range.
    let mut report = rich_report();
    report.findings[0] = one("a\nb\nc", 49, 51, "```diff\n-a\n-b\n-c\n+abc\n```");
    let draft = plan(&report, &hunks(), &options(), &Anchoring::default());
    let first = &draft.comments[0];
    assert_eq!((first.start_line, first.line), (None, 49));
    assert!(!first.body.contains("```suggestion"), "{}", first.body);
}

/// Once probed, a finding that was not among the probed comments stays in
/// the body: it was never cleared.
#[test]
fn after_probing_only_cleared_findings_sit_on_lines() {
    let report = rich_report();
    let anchoring = Anchoring {
        refused: ["C1".to_string()].into(),
        cleared: Some(["S1".to_string()].into()),
    };
    let draft = plan(&report, &hunks(), &options(), &anchoring);
    let on: Vec<&str> = draft.comments.iter().map(|c| c.finding.as_str()).collect();
    assert_eq!(on, ["S1"]);
    for id in ["C1", "I1", "S2"] {
        assert!(draft.body.contains(&format!("### {id}. ")), "{id}");
    }
}

#[test]
fn a_suggestion_is_offered_on_the_comment_of_its_lines() {
    let mut report = rich_report();
    report.findings[2] = one(
        "sleep(90);",
        90,
        90,
        "```diff\n-sleep(90);\n+sleep(Duration::from_secs(90));\n```",
    );
    let draft = plan(&report, &hunks(), &options(), &Anchoring::default());
    let s1 = &draft.comments[2].body;
    assert!(
        s1.contains("```suggestion\nsleep(Duration::from_secs(90));\n```"),
        "{s1}"
    );
}

#[test]
fn many_findings_stay_within_github_limits() {
    let mut report = rich_report();
    let template = report.findings[2].clone();
    report.findings = (1..=MAX_INLINE as u32 + 10)
        .map(|i| {
            let mut f = template.clone();
            f.id = format!("S{i}");
            f.line_start = 1 + i % 40;
            f.line_end = f.line_start;
            f.body = "long text ".repeat(400);
            f
        })
        .collect();
    let draft = plan(&report, &hunks(), &options(), &Anchoring::default());
    assert_eq!(draft.comments.len(), MAX_INLINE);
    assert!(
        draft
            .body
            .contains(&format!("{MAX_INLINE} findings are commented"))
    );
    // The ten over the cap are listed in the body, in full or one line each.
    for i in MAX_INLINE + 1..=MAX_INLINE + 10 {
        assert!(draft.body.contains(&format!("S{i}")), "S{i}");
    }
    // Ten times 4,000 characters fit; a hundred times 40,000 do not.
    for f in &mut report.findings {
        f.body = "long text ".repeat(4_000);
        f.path = "docs/usage.md".into();
    }
    // In full they do not fit; one line each, all of them do: none left.
    let draft = plan(&report, &hunks(), &options(), &Anchoring::default());
    assert!(draft.body.contains("- **S60** "), "all listed");
    assert!(!draft.body.contains("more (see the full report)"));
    // With a long note at the end, which the list leaves room for, and
    // more findings than one line each can hold.
    let template = report.findings[0].clone();
    report.findings = (1..=1_500u32)
        .map(|i| {
            let mut f = template.clone();
            f.id = format!("S{i}");
            f.line_start = 1 + i % 40;
            f
        })
        .collect();
    let mut o = options();
    o.note = Some("n".repeat(3_000));
    let draft = plan(&report, &hunks(), &o, &Anchoring::default());
    assert!(draft.comments.is_empty());
    assert!(!draft.body.contains("commented on"), "none is");
    let length = draft.body.chars().count();
    assert!(
        (GITHUB_LIMIT - 400..=GITHUB_LIMIT).contains(&length),
        "{length}"
    );
    assert!(draft.body.ends_with(&format!("*{}*\n", "n".repeat(3_000))));
    assert!(
        draft
            .body
            .contains("- **S1** Suggestion · `docs/usage.md:2`"),
        "{}",
        &draft.body[..2000]
    );
    // Those that did not fit are counted, exactly.
    let listed = draft.body.matches("\n- **S").count();
    let more = format!(
        "- … and {} more (see the full report)",
        report.findings.len() - listed
    );
    assert!(draft.body.contains(&more), "{more}");
    // A single huge finding is cut to fit its comment.
    let mut huge = rich_report();
    huge.findings[0].body = "x".repeat(GITHUB_LIMIT * 2);
    let c1 = &plan(&huge, &hunks(), &options(), &Anchoring::default()).comments[0].body;
    // Cut close to the limit (a long line cut, not dropped whole).
    let length = c1.chars().count();
    assert!(
        (GITHUB_LIMIT - 200..=GITHUB_LIMIT).contains(&length),
        "{length}"
    );
    assert!(c1.ends_with("x\n\n*Cut to fit a GitHub comment; the report has the whole finding.*"));
    // A code block closed before the cut is not closed again; a normal
    // fence keeps its language.
    huge.findings[0].body = format!(
        "```rust\nfn a() {{}}\n```\n\n{}",
        "word ".repeat(GITHUB_LIMIT / 4)
    );
    let c1 = &plan(&huge, &hunks(), &options(), &Anchoring::default()).comments[0].body;
    assert!(c1.contains("```rust\nfn a() {}\n```\n"), "{}", &c1[..400]);
    // Two fences of the related place's code, two of the body's block.
    assert_eq!(c1.matches("```").count(), 4, "no fence added");
    assert!(c1.chars().count() >= GITHUB_LIMIT - 200);
    // A shorter fence inside a longer block does not close it: the cut
    // closes the outer block with its own fence.
    huge.findings[0].body = format!(
        "````md\n```rust\nlet y = 2;\n```\n{}",
        "filler line\n".repeat(GITHUB_LIMIT / 8)
    );
    let c1 = &plan(&huge, &hunks(), &options(), &Anchoring::default()).comments[0].body;
    assert!(
        c1.ends_with(
            "filler line\n````\n\n*Cut to fit a GitHub comment; the report has the whole finding.*"
        ),
        "{}",
        &c1[c1.len() - 200..]
    );
    assert!(
        c1.chars().count() >= GITHUB_LIMIT - 200,
        "cut at the limit, not before"
    );
    // Cut inside a code block: the block is closed by its own fence.
    huge.findings[0].body = "Short.".into();
    huge.findings[0].fix = format!("````rust\n{}````", "let x = 1; // ``` \n".repeat(5_000));
    let c1 = &plan(&huge, &hunks(), &options(), &Anchoring::default()).comments[0].body;
    assert!(c1.chars().count() <= GITHUB_LIMIT);
    assert!(
        c1.ends_with("let x = 1; // ``` \n````\n\n*Cut to fit a GitHub comment; the report has the whole finding.*"),
        "{}",
        &c1[c1.len() - 200..]
    );
}

fn thread(id: &str, body: &str, resolved: bool, minimized: bool) -> OwnThread {
    OwnThread {
        thread_id: format!("T_{id}"),
        comment_id: format!("C_{id}"),
        resolved,
        minimized,
        body: body.into(),
    }
}

#[test]
fn earlier_threads_are_resolved_and_folded_by_what_became_of_their_finding() {
    let report = rich_report();
    let earlier = |round: u32, id: &str| {
        format!(
            "<!-- deep-review:finding run=20260421-090000-pr-336 round={round} id={id} -->\n**Important**"
        )
    };
    let threads = [
        // Round 7's I1 was fixed: resolved.
        thread("fixed", &earlier(7, "I1"), false, false),
        // Round 7's I2 is carried over as this round's I1: outdated.
        thread("again", &earlier(7, "I2"), false, false),
        // Already resolved by a person: only folded.
        thread("done", &earlier(7, "S4"), true, false),
        // Resolved and folded: nothing to do.
        thread("quiet", &earlier(7, "S5"), true, true),
        // This run's own comment: left alone.
        thread("mine", &marker(&report, "C1"), false, false),
        // Not a marker deep-review writes.
        thread("odd", "<!-- deep-review:finding run=x -->", false, false),
        // An older round nobody lists any more: outdated.
        thread("old", &earlier(3, "S9"), false, false),
    ];
    let steps: Vec<(String, bool, Option<Fold>)> = earlier_threads(&report, &threads)
        .into_iter()
        .map(|s| (s.thread_id, s.resolve, s.fold))
        .collect();
    assert_eq!(
        steps,
        [
            ("T_fixed".to_string(), true, Some(Fold::Resolved)),
            ("T_again".to_string(), true, Some(Fold::Outdated)),
            ("T_done".to_string(), false, Some(Fold::Resolved)),
            ("T_old".to_string(), true, Some(Fold::Outdated)),
        ]
    );
}
