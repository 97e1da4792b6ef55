//! The consolidation's phases on hand-made findings and decisions: every
//! guardrail, the numbering, the verdict floor, the figures, and (in
//! `rounds`) rounds sorted out before ids are given. No agent CLI is needed.

mod rounds;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::json;

use super::build::{AgentResult, Consolidation, Inputs, Rounds, build};
use super::decisions::Decisions;
use crate::agents::Outcome;
use crate::agents::events::Tokens;
use crate::domain::{AgentStatus, Protocol, Severity, TargetKind};
use crate::findings::answer::{Answer, RawFinding};
use crate::findings::evidence::Checked;
use crate::findings::{Category, Evidence, Finding, Verdict};
use crate::report::model::{Change, DropKind, Report, RunInfo, Target};
use crate::rounds::Ledger;

pub(super) fn outcome(name: &str, status: AgentStatus) -> Outcome {
    Outcome {
        name: name.into(),
        display_name: format!("{}{}", name[..1].to_uppercase(), &name[1..]),
        protocol: Protocol::Claude,
        model: None,
        reported_model: None,
        effort: None,
        status,
        message: None,
        duration_ms: 1_000,
        exit_code: Some(0),
        tool_calls: BTreeMap::new(),
        denied_calls: 0,
        tokens: Tokens::default(),
        cost_usd: None,
        files_opened: BTreeSet::new(),
        answer: None,
        structured: None,
        retries: 0,
        unknown_events: 0,
        garbage_lines: 0,
    }
}

pub(super) fn agent(name: &str) -> AgentResult {
    AgentResult {
        outcome: outcome(name, AgentStatus::Ok),
        answer: Some(serde_json::from_value::<Answer>(json!({})).unwrap()),
        answer_error: None,
        raw_answer: Some("{}".into()),
        review_file: format!("agents/{name}/review.md"),
    }
}

pub(super) fn failed(name: &str) -> AgentResult {
    AgentResult {
        outcome: outcome(name, AgentStatus::QuotaExhausted),
        answer: None,
        answer_error: Some("the agent gave no answer".into()),
        raw_answer: None,
        review_file: String::new(),
    }
}

/// `agent:id`, at `path:line`, with the code it quotes.
pub(super) fn finding(
    key: &str,
    severity: Severity,
    at: (&str, u32),
    code: &str,
    evidence: Evidence,
) -> Finding {
    let (agent, id) = key.split_once(':').unwrap();
    Finding {
        key: key.into(),
        agent: agent.into(),
        raw: RawFinding {
            id: id.into(),
            severity,
            category: Category::Regression,
            title: format!("{key} title"),
            path: at.0.into(),
            line_start: at.1,
            line_end: at.1,
            quote: code.into(),
            body: format!("{key} body"),
            fix: String::new(),
            related: None,
        },
        checked: Checked {
            evidence,
            path: at.0.into(),
            line_start: at.1,
            line_end: at.1,
            excerpt: Some(code.into()),
        },
        related: Vec::new(),
    }
}

pub(super) fn verified(key: &str, severity: Severity, at: (&str, u32), code: &str) -> Finding {
    finding(key, severity, at, code, Evidence::Verified)
}

pub(super) fn unverified(key: &str) -> Finding {
    let reason = "the quoted code is not in the file".to_string();
    finding(
        key,
        Severity::Important,
        ("a.rs", 9),
        "nowhere()",
        Evidence::Unverified { reason },
    )
}

pub(super) fn inputs<'a>(
    agents: &'a [AgentResult],
    findings: &'a [Finding],
    round: u32,
) -> Inputs<'a> {
    Inputs {
        run: RunInfo {
            id: format!("run-{round}"),
            round,
            started_at: "2026-11-30T00:00:00Z".into(),
            started_local: "2026-11-30 00:00".into(),
            wall_clock_ms: 0,
            checkout_ms: None,
            consolidation_ms: None,
            deep_review_version: "test".into(),
            sandbox: None,
        },
        target: Target {
            kind: TargetKind::Branch,
            repo: None,
            repo_url: None,
            pr: None,
            pr_url: None,
            title: "t".into(),
            author: None,
            author_url: None,
            branch: "b".into(),
            base: "main".into(),
            base_sha: String::new(),
            head_sha: String::new(),
            commits: Vec::new(),
            changed_files: Vec::new(),
            diff_pieces: None,
            ci: None,
        },
        agents,
        findings,
        workdir: "/w".into(),
        declined: Vec::new(),
        unresolved_feedback: Vec::new(),
    }
}

pub(super) fn decided(decisions: serde_json::Value) -> Consolidation {
    let mut d = json!({"verdict": "merge_with_fixes", "summary": "s"});
    d.as_object_mut()
        .unwrap()
        .extend(decisions.as_object().unwrap().clone());
    Consolidation::Decided {
        agent: "claude".into(),
        model: None,
        decisions: Box::new(serde_json::from_value::<Decisions>(d).unwrap()),
        note: None,
    }
}

pub(super) fn group(
    members: &[&str],
    severity: &str,
    extra: serde_json::Value,
) -> serde_json::Value {
    let mut g = json!({"members": members, "severity": severity, "category": "regression", "title": members.join("+")});
    g.as_object_mut()
        .unwrap()
        .extend(extra.as_object().unwrap().clone());
    g
}

pub(super) fn ids(r: &Report) -> Vec<(&str, &str)> {
    r.findings
        .iter()
        .map(|f| (f.id.as_str(), f.title.as_str()))
        .collect()
}

pub(super) fn dropped(r: &Report) -> Vec<(&str, DropKind)> {
    r.dropped
        .iter()
        .map(|d| (d.source.as_str(), d.kind))
        .collect()
}

pub(super) fn note(r: &Report) -> &str {
    r.consolidation.note.as_deref().unwrap_or("")
}

#[test]
fn an_unverified_finding_kept_without_a_note_is_dropped_and_with_one_is_kept() {
    let agents = [agent("claude")];
    let findings = [unverified("claude:1")];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(json!({"groups": [group(&["claude:1"], "important", json!({}))]})),
        None,
    );
    assert!(r.findings.is_empty());
    assert_eq!(dropped(&r), [("claude:1", DropKind::Unverified)]);
    assert_eq!(
        r.dropped[0].reason,
        "the quoted code is not in the file; the consolidator gave no reason to keep it"
    );

    let r = build(
        &inputs(&agents, &findings, 1),
        decided(
            json!({"groups": [group(&["claude:1"], "important", json!({"evidence_note": "the code moved to b.rs"}))]}),
        ),
        None,
    );
    assert_eq!(ids(&r), [("I1", "claude:1")]);
    assert_eq!(
        r.findings[0].evidence_note.as_deref(),
        Some("the quoted code is not in the file; kept because: the code moved to b.rs")
    );
}

#[test]
fn a_severity_change_needs_a_reason() {
    let agents = [agent("claude"), agent("codex")];
    let findings = [
        verified("claude:1", Severity::Important, ("a.rs", 1), "x()"),
        verified("codex:1", Severity::Important, ("b.rs", 1), "y()"),
    ];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(json!({"groups": [
            group(&["claude:1"], "suggestion", json!({})),
            group(&["codex:1"], "suggestion", json!({"severity_reason": "cosmetic only"})),
        ]})),
        None,
    );
    // Without a reason the change is undone and flagged.
    assert_eq!(ids(&r), [("I1", "claude:1"), ("S1", "codex:1")]);
    assert_eq!(
        r.findings[0].flags,
        ["the consolidator changed the severity to Suggestion without a reason; kept as Important"]
    );
    assert_eq!(
        r.findings[1].severity_note.as_deref(),
        Some("Codex raised this as Important; demoted to Suggestion: cosmetic only")
    );
    let lines: Vec<(&str, &str, Change)> = r
        .reconciliation
        .iter()
        .map(|c| (c.finding.as_str(), c.agent.as_str(), c.change))
        .collect();
    assert_eq!(lines, [("S1", "codex", Change::Downgraded)]);
    assert_eq!((r.agents[0].downgraded, r.agents[1].downgraded), (0, 1));
}

#[test]
fn every_finding_is_placed_exactly_once() {
    let agents = [agent("claude")];
    let findings = [
        verified("claude:1", Severity::Important, ("a.rs", 1), "x()"),
        verified("claude:2", Severity::Suggestion, ("a.rs", 5), "y()"),
        verified("claude:3", Severity::Critical, ("a.rs", 9), "z()"),
    ];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(json!({
            "groups": [group(&["claude:1", "claude:1", "claude:99"], "important", json!({}))],
            "dropped": [
                {"finding": "claude:1", "kind": "false_positive", "reason": "no"},
                {"finding": "claude:2", "kind": "false_positive", "reason": "  "},
                {"finding": "claude:42", "kind": "out_of_scope", "reason": "?"},
            ],
        })),
        None,
    );
    assert_eq!(
        note(&r),
        "the consolidator placed claude:1 twice; the first placement counts; \
         the consolidator named an unknown finding claude:99; ignored; \
         the consolidator both kept and dropped claude:1; kept; \
         the consolidator dropped an unknown finding claude:42; ignored"
    );
    // Forgotten: kept as the agent wrote it, and said so.
    assert_eq!(
        ids(&r),
        [
            ("C1", "claude:3 title"),
            ("I1", "claude:1+claude:1+claude:99")
        ]
    );
    assert_eq!(
        r.findings[0].flags,
        ["the consolidator did not account for this finding; kept as the agent wrote it"]
    );
    assert_eq!(dropped(&r), [("claude:2", DropKind::FalsePositive)]);
    assert_eq!(r.dropped[0].reason, "no reason given");
    let a = &r.agents[0];
    assert_eq!(
        (a.kept, a.dropped, a.false_positives, a.unique_insights),
        (2, 1, 1, 2)
    );
    // The appendix maps each of the agent's ids to where it went.
    assert_eq!(
        r.appendix[0].id_map,
        [
            ("1".to_string(), "I1".to_string()),
            ("2".to_string(), "dropped (false positive)".to_string()),
            ("3".to_string(), "C1".to_string()),
        ]
    );
}

#[test]
fn findings_on_paths_that_do_not_exist_are_dropped() {
    let agents = [agent("claude")];
    let invalid = Evidence::InvalidPath {
        reason: "no such file: nope.rs".into(),
    };
    let findings = [finding(
        "claude:1",
        Severity::Critical,
        ("nope.rs", 1),
        "x",
        invalid,
    )];
    for consolidation in [
        decided(
            json!({"groups": [group(&["claude:1"], "critical", json!({"evidence_note": "trust me"}))]}),
        ),
        decided(json!({})),
        Consolidation::NotPerformed {
            reason: "off".into(),
        },
    ] {
        let r = build(&inputs(&agents, &findings, 1), consolidation, None);
        assert!(r.findings.is_empty());
        assert_eq!(dropped(&r), [("claude:1", DropKind::InvalidPath)]);
        assert_eq!(r.dropped[0].reason, "no such file: nope.rs");
    }
}

#[test]
fn a_consolidator_cannot_be_more_lenient_than_the_findings_it_kept() {
    let agents = [agent("claude")];
    let findings = [verified("claude:1", Severity::Critical, ("a.rs", 1), "x()")];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(json!({"verdict": "merge", "verdict_reason": "ship it",
            "groups": [group(&["claude:1"], "critical", json!({}))]})),
        None,
    );
    assert_eq!(r.verdict.decision, Verdict::NeedsChanges);
    assert_eq!(
        r.verdict.reason,
        "1 critical finding(s) must be fixed first (the consolidator said \"Merge\", which the findings it kept do not allow)"
    );
    // Nor declare the review not done.
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(json!({"verdict": "not_reviewed",
            "groups": [group(&["claude:1"], "critical", json!({}))]})),
        None,
    );
    assert_eq!(r.verdict.decision, Verdict::NeedsChanges);
    // It may be stricter.
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(
            json!({"verdict": "needs_changes", "verdict_reason": "redesign",
            "groups": [group(&["claude:1"], "critical", json!({}))]}),
        ),
        None,
    );
    assert_eq!(
        (r.verdict.decision, r.verdict.reason.as_str()),
        (Verdict::NeedsChanges, "redesign")
    );
}

#[test]
fn a_review_nobody_did_is_not_reviewed_and_leaves_the_ledger_alone() {
    let agents = [failed("claude"), failed("codex")];
    let mut ledger = Ledger::default();
    let before = ledger.clone();
    let priors = Vec::new();
    let r = build(
        &inputs(&agents, &[], 2),
        Consolidation::NotPerformed {
            reason: "no agent produced a readable review".into(),
        },
        Some(Rounds {
            ledger: &mut ledger,
            priors: &priors,
            code_at_head: &|_| None,
            recorded_at: "2026-11-30T00:00:00Z",
        }),
    );
    assert_eq!(r.verdict.decision, Verdict::NotReviewed);
    assert_eq!(
        r.verdict.reason,
        "no agent produced a usable review: Claude (quota exhausted), Codex (quota exhausted)."
    );
    assert!(r.summary.starts_with("No review happened:"));
    assert!(r.incomplete);
    assert_eq!(r.agents[0].status, AgentStatus::QuotaExhausted);
    assert_eq!(ledger, before);
}

#[test]
fn one_missing_agent_is_named_in_the_verdict() {
    let agents = [agent("claude"), failed("codex")];
    let r = build(
        &inputs(&agents, &[], 1),
        Consolidation::NotPerformed {
            reason: "off".into(),
        },
        None,
    );
    assert_eq!(r.verdict.decision, Verdict::Merge);
    assert_eq!(
        r.verdict.reason,
        "reviewed by 1 of 2 agents (Codex (quota exhausted) missing). no findings."
    );
    assert!(r.incomplete);
}

#[test]
fn an_answer_that_could_not_be_read_is_answer_invalid() {
    let mut broken = agent("gemini");
    broken.answer = None;
    broken.answer_error = Some("expected value at line 1".into());
    let agents = [agent("claude"), broken];
    let r = build(&inputs(&agents, &[], 1), decided(json!({})), None);
    assert_eq!(r.agents[1].status, AgentStatus::AnswerInvalid);
    assert_eq!(
        r.agents[1].message.as_deref(),
        Some("its answer could not be read: expected value at line 1")
    );
}

#[test]
fn without_decisions_findings_merge_by_location_at_their_highest_severity() {
    let agents = [agent("claude"), agent("codex")];
    let findings = [
        verified("claude:1", Severity::Suggestion, ("a.rs", 3), "x()"),
        verified("codex:1", Severity::Important, ("a.rs", 3), "x()"),
        verified("codex:2", Severity::Suggestion, ("b.rs", 30), "y()"),
    ];
    let r = build(
        &inputs(&agents, &findings, 1),
        Consolidation::NotPerformed {
            reason: "the consolidating agent timed out".into(),
        },
        None,
    );
    let shown: Vec<(&str, Severity, Vec<&str>)> = r
        .findings
        .iter()
        .map(|f| {
            (
                f.id.as_str(),
                f.severity,
                f.agents.iter().map(String::as_str).collect(),
            )
        })
        .collect();
    assert_eq!(
        shown,
        [
            ("I1", Severity::Important, vec!["claude", "codex"]),
            ("S1", Severity::Suggestion, vec!["codex"]),
        ]
    );
    assert!(
        r.summary
            .starts_with("Consolidation was not performed (the consolidating agent timed out).")
    );
    assert_eq!(r.verdict.decision, Verdict::MergeWithFixes);
    assert_eq!(r.reconciliation[0].change, Change::Upgraded);
    assert!(r.incomplete, "a report without consolidation is incomplete");
}

/// Per agent: each changed file it opened with the findings it raised
/// there, and the changed files it never opened; deleted files are not
/// expected to be opened.
#[test]
fn coverage_lists_each_file_an_agent_reviewed() {
    use crate::domain::{ChangedFile, FileStatus};
    let mut claude = agent("claude");
    claude.outcome.files_opened = ["/w/a.rs".to_string(), "/w/c.rs".to_string()].into();
    let agents = [claude];
    let findings = [verified(
        "claude:1",
        Severity::Important,
        ("a.rs", 1),
        "x()",
    )];
    let mut inputs = inputs(&agents, &findings, 1);
    inputs.target.changed_files = [
        ("a.rs", FileStatus::Modified),
        ("b.rs", FileStatus::Added),
        ("c.rs", FileStatus::Modified),
        ("gone.rs", FileStatus::Deleted),
    ]
    .into_iter()
    .map(|(path, status)| ChangedFile {
        path: path.into(),
        status,
        additions: 1,
        deletions: 0,
    })
    .collect();
    let r = build(&inputs, decided(json!({})), None);
    let a = &r.agents[0];
    let coverage: Vec<(&str, Vec<String>)> = a
        .coverage
        .iter()
        .map(|c| (c.path.as_str(), c.findings.clone()))
        .collect();
    assert_eq!(
        coverage,
        [("a.rs", vec!["I1".to_string()]), ("c.rs", vec![])]
    );
    assert_eq!(a.files_reviewed, 2);
    assert_eq!(a.coverage_misses, ["b.rs"]);
}

/// The rule's verdict at each level, when no consolidator decided.
#[test]
fn the_rule_verdict_follows_the_most_severe_finding() {
    let agents = [agent("claude")];
    let at = |severity: Severity| {
        let findings = [verified("claude:1", severity, ("a.rs", 1), "x()")];
        let r = build(
            &inputs(&agents, &findings, 1),
            Consolidation::NotPerformed {
                reason: "off".into(),
            },
            None,
        );
        (r.verdict.decision, r.verdict.reason)
    };
    assert_eq!(
        at(Severity::Suggestion),
        (
            Verdict::MergeWithOptionalFixes,
            "only suggestions remain.".to_string()
        )
    );
    assert_eq!(
        at(Severity::Important),
        (
            Verdict::MergeWithFixes,
            "address the 1 important finding(s) before merging.".to_string()
        )
    );
    assert_eq!(
        at(Severity::Critical),
        (
            Verdict::NeedsChanges,
            "1 critical finding(s) must be fixed first.".to_string()
        )
    );
}

/// A severity note names only the agents that gave the severity changed.
#[test]
fn a_severity_note_names_who_raised_it_so() {
    let agents = [agent("claude"), agent("codex")];
    let findings = [
        verified("claude:1", Severity::Important, ("a.rs", 1), "x()"),
        verified("codex:1", Severity::Suggestion, ("a.rs", 1), "x()"),
    ];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(
            json!({"groups": [group(&["claude:1", "codex:1"], "critical",
            json!({"severity_reason": "it loses data"}))]}),
        ),
        None,
    );
    assert_eq!(
        r.findings[0].severity_note.as_deref(),
        Some("Claude raised this as Important; promoted to Critical: it loses data")
    );
}

/// A run is incomplete when an agent failed, nobody reviewed, or the
/// consolidation pass did not happen — and only then.
#[test]
fn incomplete_means_an_agent_or_the_consolidation_failed() {
    let ok = [agent("claude"), agent("codex")];
    let r = build(&inputs(&ok, &[], 1), decided(json!({})), None);
    assert!(!r.incomplete);
    let off = || Consolidation::NotPerformed {
        reason: "off".into(),
    };
    assert!(build(&inputs(&ok, &[], 1), off(), None).incomplete);
    let one_failed = [agent("claude"), failed("codex")];
    assert!(build(&inputs(&one_failed, &[], 1), decided(json!({})), None).incomplete);
}

/// An agent that ran but whose answer could not be read reviewed
/// nothing: alone, the round is not reviewed and the ledger is left alone.
#[test]
fn an_unreadable_answer_alone_is_no_review() {
    let mut broken = agent("claude");
    broken.answer = None;
    let agents = [broken];
    let mut ledger = Ledger::default();
    let priors = Vec::new();
    let findings = [verified(
        "claude:1",
        Severity::Important,
        ("a.rs", 3),
        "x()",
    )];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(json!({})),
        Some(Rounds {
            ledger: &mut ledger,
            priors: &priors,
            code_at_head: &|_| None,
            recorded_at: "2026-11-30T00:00:00Z",
        }),
    );
    assert_eq!(r.verdict.decision, Verdict::NotReviewed);
    assert_eq!(ledger, Ledger::default());
}

/// Each reviewer as asked, and the model the CLI served only when it is
/// another one.
#[test]
fn reviewers_name_the_served_model_only_when_it_differs() {
    let mut same = agent("claude");
    same.outcome.model = Some("claude-opus-4-7[1m]".into());
    same.outcome.reported_model = Some("claude-opus-4-7".into());
    let mut other = agent("codex");
    other.outcome.model = Some("gpt-5.4".into());
    other.outcome.reported_model = Some("gpt-5.5".into());
    let mut unasked = agent("gemini");
    unasked.outcome.reported_model = Some("gemini-2.5-pro".into());
    let agents = [same, other, unasked];
    let r = build(&inputs(&agents, &[], 1), decided(json!({})), None);
    let reviewers: Vec<(&str, Option<&str>, Option<&str>)> = r
        .reviewers
        .iter()
        .map(|x| {
            (
                x.name.as_str(),
                x.model.as_deref(),
                x.served_model.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        reviewers,
        [
            ("claude", Some("claude-opus-4-7[1m]"), None),
            ("codex", Some("gpt-5.4"), Some("gpt-5.5")),
            ("gemini", Some("gemini-2.5-pro"), None),
        ]
    );
}

/// Per-agent figures: regraded findings counted once each way, insights
/// only the agent raised, and the message a failed run left.
#[test]
fn each_agents_figures_count_what_happened_to_its_findings() {
    let mut claude = agent("claude");
    claude.outcome.message = Some("retried twice after rate limits".into());
    claude.outcome.tool_calls = BTreeMap::from([("Read".to_string(), 3), ("Bash".to_string(), 2)]);
    let mut codex = agent("codex");
    codex.answer_error = Some("a stray line before the JSON".into());
    let agents = [claude, codex];
    let findings = [
        verified("claude:1", Severity::Important, ("a.rs", 1), "a()"),
        verified("claude:2", Severity::Suggestion, ("b.rs", 2), "b()"),
        verified("claude:3", Severity::Suggestion, ("c.rs", 3), "c()"),
        verified("codex:1", Severity::Suggestion, ("c.rs", 3), "c()"),
        verified("codex:2", Severity::Suggestion, ("d.rs", 4), "d()"),
    ];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(json!({"groups": [
            group(&["claude:1"], "suggestion", json!({"severity_reason": "cosmetic"})),
            group(&["claude:2"], "important", json!({"severity_reason": "it loses data"})),
            group(&["claude:3", "codex:1"], "suggestion", json!({})),
            group(&["codex:2"], "suggestion", json!({})),
        ]})),
        None,
    );
    let figures: Vec<(u32, u32, u32, u32)> = r
        .agents
        .iter()
        .map(|a| (a.kept, a.downgraded, a.upgraded, a.unique_insights))
        .collect();
    assert_eq!(figures, [(3, 1, 1, 2), (2, 0, 0, 1)]);
    assert_eq!(r.agents[0].tool_calls.total, 5);
    assert_eq!(
        r.agents[0].message.as_deref(),
        Some("retried twice after rate limits")
    );
    assert_eq!(r.agents[1].message, None, "it answered: no message");
}

/// Without the consolidation pass, each agent's own assessments are
/// shown under its name, and only the ones it wrote.
#[test]
fn without_decisions_each_agent_speaks_for_itself() {
    let mut claude = agent("claude");
    claude.answer = Some(
        serde_json::from_value::<Answer>(json!({"testing": "ran cargo test: 12 passed"})).unwrap(),
    );
    let agents = [claude, agent("codex")];
    let r = build(
        &inputs(&agents, &[], 1),
        Consolidation::NotPerformed {
            reason: "off".into(),
        },
        None,
    );
    assert_eq!(r.testing, "**Claude:** ran cargo test: 12 passed");
}

/// A design observation is credited only to agents that made design
/// observations: invented names and agents that made none are struck.
#[test]
fn design_observations_are_credited_only_to_agents_that_made_some() {
    let mut claude = agent("claude");
    claude.answer = Some(
        serde_json::from_value::<Answer>(json!({"design_observations": [
            {"kind": "concern", "scope": "in-scope", "text": "two locks", "paths": []}]}))
        .unwrap(),
    );
    let agents = [claude, agent("codex")];
    let r = build(
        &inputs(&agents, &[], 1),
        decided(json!({"design_observations": [
            {"kind": "concern", "scope": "in-scope", "text": "Two locks, one order.", "paths": [],
             "agents": [" Claude", "codex", "mallory", "claude"]}]})),
        None,
    );
    assert_eq!(r.design.len(), 1);
    assert_eq!(r.design[0].agents, ["claude"]);
}

/// What an agent says it reviewed stands beside what it opened; "in
/// depth" of a file it never opened is kept apart.
#[test]
fn claimed_coverage_sits_beside_the_measured() {
    use crate::domain::{ChangedFile, FileStatus};
    use crate::findings::answer::Depth;
    let mut claude = agent("claude");
    claude.outcome.files_opened = ["/w/a.rs".to_string()].into();
    claude.answer = Some(
        serde_json::from_value::<Answer>(json!({"coverage": [
            {"path": "/w/a.rs", "depth": "skimmed", "note": "the diff"},
            {"path": "./b.rs", "depth": "in-depth", "note": null}]}))
        .unwrap(),
    );
    let agents = [claude];
    let mut inputs = inputs(&agents, &[], 1);
    inputs.target.changed_files = ["a.rs", "b.rs", "c.rs"]
        .into_iter()
        .map(|path| ChangedFile {
            path: path.into(),
            status: FileStatus::Modified,
            additions: 1,
            deletions: 0,
        })
        .collect();
    let r = build(&inputs, decided(json!({})), None);
    let a = &r.agents[0];
    assert_eq!(a.coverage.len(), 1);
    // Named absolute in its working directory, still the file.
    assert_eq!(
        (a.coverage[0].claimed, a.coverage[0].note.as_str()),
        (Some(Depth::Skimmed), "the diff")
    );
    assert_eq!(a.coverage_misses, ["b.rs", "c.rs"]);
    let unopened: Vec<(&str, Option<Depth>)> = a
        .unopened_claims
        .iter()
        .map(|c| (c.path.as_str(), c.claimed))
        .collect();
    assert_eq!(unopened, [("b.rs", Some(Depth::InDepth))]);
    // An answer with `coverage: null` (a strict schema's "none") reads.
    let null: Answer = serde_json::from_value(json!({"coverage": null})).unwrap();
    assert_eq!(null.coverage, None);
}

/// Related places: only those whose quote (long enough to prove
/// anything) was found where cited; the best-evidenced member's first,
/// then the others'; none overlapping another or the main one; three.
#[test]
fn related_places_are_found_merged_and_capped() {
    use crate::findings::Related;
    let place = |path: &str, s: u32, e: u32, quote: &str, evidence: Evidence| Related {
        why: format!("{path}:{s}"),
        quote: quote.into(),
        checked: Checked {
            evidence,
            path: path.into(),
            line_start: s,
            line_end: e,
            excerpt: Some("code".into()),
        },
    };
    let long = "let value = compute();";
    let mut a = verified("claude:1", Severity::Important, ("a.rs", 10), "x()");
    a.related = vec![
        place("b.rs", 1, 2, long, Evidence::Verified),
        place(
            "c.rs",
            5,
            5,
            long,
            Evidence::Relocated {
                from_start: 90,
                from_end: 90,
            },
        ),
        place("d.rs", 1, 1, ")", Evidence::Verified),
        place("a.rs", 9, 11, long, Evidence::Verified),
    ];
    let mut b = verified("codex:1", Severity::Important, ("a.rs", 10), "x()");
    b.related = vec![
        place("b.rs", 2, 3, long, Evidence::Verified),
        place("e.rs", 7, 8, long, Evidence::Verified),
        place("f.rs", 1, 1, long, Evidence::Verified),
        place("g.rs", 1, 1, long, Evidence::Verified),
    ];
    let agents = [agent("claude"), agent("codex")];
    let findings = [a, b];
    let r = build(
        &inputs(&agents, &findings, 1),
        decided(
            json!({"groups": [{"members": ["claude:1", "codex:1"], "severity": "important",
            "category": "regression", "title": "t", "body": "b", "fix": ""}]}),
        ),
        None,
    );
    let shown: Vec<&str> = r.findings[0]
        .related
        .iter()
        .map(|l| l.why.as_str())
        .collect();
    assert_eq!(shown, ["b.rs:1", "e.rs:7", "f.rs:1"]);
}

/// Each reviewer's word on a piece of feedback, by its id; the findings
/// at its place.
#[test]
fn feedback_is_judged_by_id_and_linked_by_place() {
    use crate::domain::{Feedback, FeedbackKind, FeedbackStatus};
    let mut claude = agent("claude");
    claude.answer = Some(
        serde_json::from_value::<Answer>(json!({"feedback": [
            {"id": "u1", "status": "addressed", "note": "fixed"},
            {"id": "U9", "status": "open", "note": "no such item"}]}))
        .unwrap(),
    );
    let agents = [claude, agent("codex")];
    let findings = [verified(
        "claude:1",
        Severity::Important,
        ("a.rs", 10),
        "x()",
    )];
    let mut inputs = inputs(&agents, &findings, 1);
    let item = |id: &str, path: Option<&str>, line: Option<u32>| Feedback {
        id: id.into(),
        kind: FeedbackKind::Thread,
        author: "carol".into(),
        url: String::new(),
        path: path.map(str::to_string),
        line,
        excerpt: "x".into(),
        text: String::new(),
        judgements: Vec::new(),
        findings: Vec::new(),
    };
    inputs.unresolved_feedback = vec![
        item("U1", Some("a.rs"), Some(13)),
        item("U2", Some("a.rs"), Some(14)),
        item("U3", None, None),
    ];
    let r = build(&inputs, decided(json!({})), None);
    let f = &r.unresolved_feedback;
    assert_eq!(f[0].judgements.len(), 1);
    assert_eq!(
        (f[0].judgements[0].agent.as_str(), f[0].judgements[0].status),
        ("claude", FeedbackStatus::Addressed)
    );
    assert_eq!(f[0].findings, ["I1"]);
    assert!(f[1].findings.is_empty(), "four lines away");
    assert!(f[1].judgements.is_empty() && f[2].judgements.is_empty());
}

fn facts() -> crate::review::Facts {
    serde_json::from_value(json!({
        "kind": "branch", "repo": "widget", "repo_url": null, "pr": null, "pr_url": null,
        "title": "t", "body": "", "author": null, "author_url": null, "base_ref": "main",
        "head_ref": "f", "base_sha": "1", "head_sha": "2", "merge_base": "1",
        "commits": [], "changed_files": [], "review_context": null
    }))
    .unwrap()
}

/// Only groups of two or more are offered as candidates: a finding alone is
/// no duplicate of anything.
#[test]
fn the_prompt_offers_only_groups_of_several_as_candidates() {
    let agents = [agent("claude"), agent("codex")];
    let mut pair = [
        verified("claude:1", Severity::Important, ("a.rs", 3), "x()"),
        verified("codex:1", Severity::Important, ("a.rs", 3), "x()"),
        verified("claude:2", Severity::Suggestion, ("b.rs", 40), "y()"),
    ];
    for f in &mut pair[..2] {
        f.raw.title = "x() panics on an empty list".into();
    }
    let p = super::prompt(
        &facts(),
        &pair,
        &agents,
        ("diff.patch", "in/f.json"),
        (&[], &[]),
    );
    assert!(
        p.text
            .contains("Candidate groups: [[\"claude:1\",\"codex:1\"]]\n"),
        "{}",
        p.text
    );
}

/// The consolidator hears how each reviewer's run went, measured: a run
/// that ended well without a usable answer is named `answer_invalid`.
#[test]
fn the_prompt_describes_each_reviewer() {
    let mut claude = agent("claude");
    claude.answer = Some(
        serde_json::from_value(json!({
            "verdict": "needs_changes",
            "testing": "no test for the empty list",
            "findings": [{"id": "1", "severity": "important", "category": "regression",
                "title": "t", "path": "a.rs", "line_start": 3, "line_end": 3,
                "quote": "x()", "body": "b", "fix": ""}]
        }))
        .unwrap(),
    );
    claude.outcome.duration_ms = 42_000;
    claude.outcome.tool_calls = BTreeMap::from([("Read".to_string(), 3), ("Bash".to_string(), 2)]);
    let mut gemini = agent("gemini");
    gemini.answer = None;
    let agents = [claude, failed("codex"), gemini];
    let p = super::prompt(&facts(), &[], &agents, ("d", "f"), (&[], &[]));
    let block = p.text.split("## The reviewers").nth(1).unwrap();
    let json_text = block
        .split("```json\n")
        .nth(1)
        .unwrap()
        .split("\n```")
        .next()
        .unwrap();
    let reviewers: serde_json::Value = serde_json::from_str(json_text).unwrap();
    let r = reviewers.as_array().unwrap();
    assert_eq!(r.len(), 3);
    assert_eq!(
        (
            &r[0]["agent"],
            &r[0]["status"],
            &r[0]["findings"],
            &r[0]["verdict"]
        ),
        (
            &json!("claude"),
            &json!("ok"),
            &json!(1),
            &json!("needs_changes")
        )
    );
    assert_eq!(r[0]["measured"]["duration_s"], json!(42));
    assert_eq!(r[0]["measured"]["tool_calls"], json!(5));
    assert_eq!(r[0]["testing"], json!("no test for the empty list"));
    assert_eq!(
        (&r[1]["agent"], &r[1]["status"], &r[1]["findings"]),
        (&json!("codex"), &json!("quota_exhausted"), &json!(0))
    );
    assert_eq!(
        (&r[2]["agent"], &r[2]["status"]),
        (&json!("gemini"), &json!("answer_invalid"))
    );
}

/// Within its budget the prompt carries every finding in full; beyond, one
/// line of each and the full text by reference, and the report says so.
#[test]
fn a_prompt_over_its_budget_gives_the_findings_by_reference() {
    let agents = [agent("claude")];
    let few = [verified(
        "claude:1",
        Severity::Important,
        ("a.rs", 3),
        "x()",
    )];
    let p = super::prompt(
        &facts(),
        &few,
        &agents,
        ("diff.patch", "in/f.json"),
        (&[], &[]),
    );
    assert!(p.text.contains("claude:1 body"));
    assert_eq!((p.findings_json, p.note), (None, None));

    let many: Vec<Finding> = (0..2_000)
        .map(|i| {
            let mut f = verified(
                &format!("claude:{i}"),
                Severity::Suggestion,
                ("a.rs", i),
                "x()",
            );
            f.raw.body = format!("BODY-{i} {}", "detail ".repeat(40));
            f
        })
        .collect();
    let p = super::prompt(
        &facts(),
        &many,
        &agents,
        ("diff.patch", "in/f.json"),
        (&[], &[]),
    );
    assert!(p.text.len() <= super::PROMPT_BUDGET, "{}", p.text.len());
    assert!(
        p.text
            .contains("Their full text (`quote`, `body`, `fix`) is in the file `in/f.json`")
    );
    assert!(p.text.contains(
        r#"["claude:1999","suggestion","a.rs:1999-1999","verified","claude:1999 title"]"#
    ));
    assert!(!p.text.contains("BODY-7 "));
    let full: serde_json::Value =
        serde_json::from_str(p.findings_json.as_deref().unwrap()).unwrap();
    assert_eq!(full.as_array().unwrap().len(), 2_000);
    assert!(full[7]["body"].as_str().unwrap().starts_with("BODY-7 "));
    let note = p.note.unwrap();
    assert!(
        note.contains("over its 400 KB budget: the 2000 findings were given one line each"),
        "{note}"
    );
    assert!(
        note.contains("by reference to the run's input/f.json"),
        "no absolute path: {note}"
    );

    // The note reaches the report beside what the decisions came to.
    let r = build(
        &inputs(&agents, &few, 1),
        match decided(json!({})) {
            Consolidation::Decided {
                agent,
                model,
                decisions,
                ..
            } => Consolidation::Decided {
                agent,
                model,
                decisions,
                note: Some(note.clone()),
            },
            other => other,
        },
        None,
    );
    assert!(r.consolidation.note.as_deref().unwrap().starts_with(&note));
    assert!(
        crate::report::render(&r, crate::config::Format::Md, None)
            .contains("### Consolidation\n\nthe consolidation prompt would have been")
    );
}

/// The schema the consolidator answers by and the type its answer is read
/// into agree: every verdict, severity, category and drop kind the schema
/// allows is read, and an answer without a verdict is refused.
#[test]
fn the_decisions_schema_and_the_decisions_type_agree() {
    let schema = super::schema();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let p = &schema["properties"];
    let values = |v: &serde_json::Value| v["enum"].as_array().unwrap().clone();
    let group_props = &p["groups"]["items"]["properties"];
    let drop_kinds = values(&p["dropped"]["items"]["properties"]["kind"]);
    let severities = values(&group_props["severity"]);
    let categories = values(&group_props["category"]);
    assert_eq!(severities.len(), 3);
    assert_eq!(categories.len(), 4);
    for (i, verdict) in values(&p["verdict"]).into_iter().enumerate() {
        let doc = json!({
            "groups": [{"members": ["claude:1"], "severity": severities[i % 3],
                "category": categories[i % 4], "title": "t", "body": "b", "fix": "",
                "severity_reason": null, "evidence_note": null}],
            "dropped": [{"finding": "codex:1", "kind": drop_kinds[i % drop_kinds.len()], "reason": "r"}],
            "verdict": verdict, "verdict_reason": "", "summary": "s",
            "design_observations": [], "testing": "", "documentation": "", "commits": "",
            "acknowledged_limitations": [], "prior_findings": [], "retro": [],
            "prompt_improvements": [], "context_updates": []
        });
        assert!(validator.is_valid(&doc), "{doc}");
        serde_json::from_value::<Decisions>(doc.clone()).unwrap_or_else(|e| panic!("{e}: {doc}"));
        let mut without = doc;
        without.as_object_mut().unwrap().remove("verdict");
        assert!(!validator.is_valid(&without));
    }
    for kind in drop_kinds {
        let doc = json!({"verdict": "merge", "dropped": [{"finding": "a:1", "kind": kind, "reason": "r"}]});
        serde_json::from_value::<Decisions>(doc).unwrap();
    }
}
