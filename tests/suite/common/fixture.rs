//! A hand-built report with every section filled, every severity, an
//! agent failure, unverified evidence and hostile strings.

use std::collections::BTreeMap;

use deep_review::domain::{
    AgentStatus, CiCheck, CiState, FeedbackJudgement, FeedbackKind, FeedbackStatus, FileStatus,
    Severity,
};
use deep_review::findings::answer::{Depth, ObservationKind, Scope};
use deep_review::findings::{Category, Verdict};
use deep_review::report::model::*;

pub const HOSTILE: &str =
    "</details><script>alert('x')</script> ``` {{ secret }} {% if %} ünïcödé — ✓";

fn agent(name: &str, display: &str, status: AgentStatus) -> AgentReport {
    AgentReport {
        name: name.into(),
        display_name: display.into(),
        model: Some(format!("{name}-model")),
        effort: Some("high".into()),
        status,
        message: None,
        duration_ms: 604_000,
        tool_calls: ToolCalls {
            total: 0,
            by_tool: BTreeMap::new(),
        },
        tokens: TokenCounts {
            input: 120_000,
            output: 8_000,
            cached: 50_000,
            reasoning: 0,
        },
        cost_usd: None,
        findings_raised: Counts::default(),
        kept: 0,
        downgraded: 0,
        upgraded: 0,
        dropped: 0,
        false_positives: 0,
        unique_insights: 0,
        design_observations: 0,
        files_reviewed: 3,
        coverage_misses: vec![],
        coverage: vec![],
        unopened_claims: vec![],
        retro: String::new(),
    }
}

fn resolution(id: &str, action: Action, reason: &str, commits: &[&str]) -> Resolution {
    Resolution {
        id: id.into(),
        round: 8,
        action,
        reason: reason.into(),
        commits: commits.iter().map(|c| c.to_string()).collect(),
        by: (action == Action::Skipped).then(|| "@maintainer".to_string()),
        at: "2026-04-23T09:00:00Z".into(),
    }
}

pub fn rich_report() -> Report {
    let mut claude = agent("claude", "Claude", AgentStatus::Ok);
    claude.tool_calls = ToolCalls {
        total: 42,
        by_tool: [("Bash".to_string(), 25), ("Read".to_string(), 17)].into(),
    };
    claude.cost_usd = Some(3.4567);
    claude.findings_raised = Counts {
        critical: 1,
        important: 1,
        suggestion: 2,
    };
    claude.kept = 3;
    claude.downgraded = 1;
    claude.unique_insights = 2;
    claude.design_observations = 2;
    claude.retro =
        "Found the **lock ordering** bug nobody else saw. Quoted `</details>` safely.".into();
    let mut codex = agent("codex", "Codex", AgentStatus::Ok);
    codex.tool_calls = ToolCalls {
        total: 12,
        by_tool: [("shell".to_string(), 12)].into(),
    };
    codex.findings_raised = Counts {
        critical: 0,
        important: 1,
        suggestion: 1,
    };
    codex.kept = 1;
    codex.dropped = 1;
    codex.false_positives = 1;
    codex.coverage_misses = vec!["docs/usage.md".into()];
    codex.coverage = vec![FileCoverage {
        path: "src/stop.rs".into(),
        findings: vec!["C1".into(), "I1".into()],
        claimed: Some(Depth::InDepth),
        note: format!("lock order and its callers {HOSTILE}"),
    }];
    // It says it read the docs in depth, and never opened them.
    codex.unopened_claims = vec![FileCoverage {
        path: "docs/usage.md".into(),
        findings: vec![],
        claimed: Some(Depth::InDepth),
        note: "checked every flag".into(),
    }];
    codex.files_reviewed = 2;
    codex.retro = format!("Raised one false positive. Hostile: {HOSTILE}");
    let mut gemini = agent("gemini", "Gemini", AgentStatus::QuotaExhausted);
    gemini.message = Some("You have exhausted your daily quota on this model.".into());
    gemini.duration_ms = 11_000;
    gemini.files_reviewed = 0;
    gemini.tokens = TokenCounts::default();

    let long_excerpt: String = (1..=30).map(|i| format!("    line_{i}();\n")).collect();
    Report {
        schema_version: SCHEMA_VERSION,
        run: RunInfo {
            id: "20260422-170229-pr-336".into(),
            round: 8,
            started_at: "2026-04-22T17:02:29+00:00".into(),
            started_local: "2026-04-22 17:02".into(),
            wall_clock_ms: 2_196_000,
            checkout_ms: None,
            consolidation_ms: None,
            deep_review_version: "0.1.0".into(),
            sandbox: Some(SandboxInfo {
                mechanism: "landlock".into(),
                landlock_abi: Some(7),
                access: deep_review::sandbox::Access::ReadOnly,
                reason: "fork PR".into(),
                network_limited: true,
                unconfined_reason: None,
                ignored_head_files: vec!["deep-review-context.md".into()],
                leftover_processes: 0,
            }),
        },
        target: Target {
            kind: TargetKind::Pr,
            repo: Some("acme/widget".into()),
            repo_url: Some("https://github.com/acme/widget".into()),
            pr: Some(336),
            pr_url: Some("https://github.com/acme/widget/pull/336".into()),
            title: format!("cli: standardize --wait and --timeout {HOSTILE}"),
            author: Some("jandubois".into()),
            author_url: Some("https://github.com/jandubois".into()),
            branch: "cli-wait".into(),
            base: "main".into(),
            base_sha: "1111111111111111111111111111111111111111".into(),
            head_sha: "7b08089aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(),
            commits: vec![
                Commit { sha: "7b08089aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa".into(), subject: "cli: standardize --wait".into(), author: "jan".into() },
                Commit { sha: "8c19190bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb".into(), subject: "docs: | pipes | and <tags>".into(), author: "jan".into() },
            ],
            changed_files: vec![
                ChangedFile { path: "src/stop.rs".into(), status: FileStatus::Modified, additions: 40, deletions: 3 },
                ChangedFile { path: "docs/usage.md".into(), status: FileStatus::Modified, additions: 5, deletions: 0 },
            ],
            diff_pieces: Some(deep_review::checkout::pieces::Plan {
                lines: 52_140,
                bytes: 2_900_000,
                pieces: vec![
                    deep_review::checkout::pieces::Piece { path: "src/stop.rs".into(), file: "0001-src-stop.rs.diff".into(), lines: 52, set_apart: None },
                    deep_review::checkout::pieces::Piece { path: "Cargo.lock".into(), file: "0002-Cargo.lock.diff".into(), lines: 50_000, set_apart: Some("lock file".into()) },
                    deep_review::checkout::pieces::Piece { path: format!("vendor/{HOSTILE}.c"), file: "0003-vendor.c.diff".into(), lines: 2_088, set_apart: Some("vendored".into()) },
                ],
            }),
            ci: Some(CiState {
                state: "failure".into(),
                checks: vec![
                    CiCheck { name: "tests".into(), state: "success".into(), url: Some("https://github.com/acme/widget/runs/1".into()) },
                    CiCheck { name: format!("lint {HOSTILE}"), state: "failure".into(), url: Some("javascript:alert(1)".into()) },
                    CiCheck { name: "deploy preview".into(), state: "pending".into(), url: None },
                ],
            }),
        },
        reviewers: vec![
            Reviewer { name: "claude".into(), display_name: "Claude".into(), model: Some("claude-opus-4-7".into()), effort: Some("xhigh".into()), served_model: None },
            Reviewer { name: "codex".into(), display_name: "Codex".into(), model: Some("gpt-5.4".into()), effort: Some("high".into()), served_model: None },
            Reviewer { name: "gemini".into(), display_name: "Gemini".into(), model: Some("gemini-3-pro-preview".into()), effort: None, served_model: Some("gemini-3.1-pro-preview".into()) },
        ],
        verdict: VerdictInfo { decision: Verdict::MergeWithFixes, reason: "address I1 first; the rest is polish.".into() },
        summary: format!("Round 8. All round-7 Important findings were addressed.\n\nOne new **Important** finding. {HOSTILE}"),
        counts: Counts { critical: 1, important: 1, suggestion: 2 },
        findings: vec![
            ReportFinding {
                id: "C1".into(),
                severity: Severity::Critical,
                category: Category::Regression,
                title: "Lock taken in the wrong order".into(),
                path: "src/stop.rs".into(),
                line_start: 10,
                line_end: 12,
                agents: vec!["claude".into()],
                evidence: EvidenceStatus::Verified,
                evidence_note: None,
                excerpt: Some("let a = first.lock();\nlet b = second.lock();\nlet c = \"```\";".into()),
                language: "rust".into(),
                body: "Deadlocks when `stop` races `start`.".into(),
                fix: "Take `second` first:\n\n```diff\n- let a = first.lock();\n+ let b = second.lock();\n```".into(),
                severity_note: None,
                prior: None,
                resolution: None,
                flags: vec![],
                sources: vec!["claude:F1".into()],
                related: vec![RelatedLocation {
                    path: "src/start.rs".into(),
                    line_start: 20,
                    line_end: 21,
                    why: format!("takes them in the other order {HOSTILE}"),
                    evidence: EvidenceStatus::Verified,
                    excerpt: Some("let b = second.lock();\nlet a = first.lock();".into()),
                    language: "rust".into(),
                }],
            },
            ReportFinding {
                id: "I1".into(),
                severity: Severity::Important,
                category: Category::Gap,
                title: format!("cleanup runs on --wait=false {HOSTILE}"),
                path: "src/stop.rs".into(),
                line_start: 40,
                line_end: 69,
                agents: vec!["claude".into(), "codex".into()],
                evidence: EvidenceStatus::Relocated,
                evidence_note: Some("cited at lines 30-31; the quoted code is at 40-69".into()),
                excerpt: Some(long_excerpt),
                language: "rust".into(),
                body: format!("Body with hostile text: {HOSTILE}\n\nAnd a [link](javascript:alert(1))."),
                fix: "Gate the call on `wait`.".into(),
                severity_note: None,
                prior: Some("raised in round 7 as S6".into()),
                resolution: Some(resolution("S6", Action::Commented, "answered in the thread", &[])),
                flags: vec![],
                sources: vec!["claude:F2".into(), "codex:F1".into()],
                related: vec![],
            },
            ReportFinding {
                id: "S1".into(),
                severity: Severity::Suggestion,
                category: Category::Enhancement,
                title: "Name the magic number".into(),
                path: "src/stop.rs".into(),
                line_start: 90,
                line_end: 90,
                agents: vec!["claude".into()],
                evidence: EvidenceStatus::Verified,
                evidence_note: None,
                excerpt: Some("sleep(90);".into()),
                language: "rust".into(),
                body: "90 seconds appears three times.".into(),
                fix: String::new(),
                severity_note: Some("claude raised this as Important; demoted to Suggestion: cosmetic".into()),
                prior: None,
                resolution: None,
                flags: vec![],
                sources: vec!["claude:F3".into()],
                related: vec![],
            },
            ReportFinding {
                id: "S2".into(),
                severity: Severity::Suggestion,
                category: Category::PreExisting,
                title: "Docs mention a removed flag".into(),
                path: "docs/usage.md".into(),
                line_start: 3,
                line_end: 3,
                agents: vec!["codex".into()],
                evidence: EvidenceStatus::Unverified,
                evidence_note: Some("the quoted code is not in the file; kept because: the flag is named in prose".into()),
                excerpt: None,
                language: "markdown".into(),
                body: "Mentions `--force`.".into(),
                fix: "Remove the sentence.".into(),
                severity_note: None,
                prior: None,
                resolution: None,
                flags: vec!["the consolidator did not account for this finding; kept as the agent wrote it".into()],
                sources: vec!["codex:F2".into()],
                related: vec![],
            },
        ],
        dropped: vec![Dropped {
            agent: "codex".into(),
            source: "codex:F3".into(),
            title: "Invalid @test syntax".into(),
            path: "tests/x.bats".into(),
            severity: Severity::Important,
            kind: DropKind::FalsePositive,
            reason: "bats accepts this syntax".into(),
        }],
        design: vec![
            DesignNote { kind: ObservationKind::Concern, scope: Scope::Future, text: "Cleanup belongs in the daemon.".into(), paths: vec!["src/stop.rs".into()], agents: vec!["claude".into(), "codex".into()] },
            DesignNote { kind: ObservationKind::Strength, scope: Scope::InScope, text: format!("Clear exit-code contract. {HOSTILE}"), paths: vec![], agents: vec!["claude".into()] },
        ],
        testing: "`cargo test` passed. Missing: the timeout path.".into(),
        documentation: "Usage docs updated.".into(),
        commit_structure: "Two focused commits.".into(),
        tests_run: vec![TestRun { agent: "claude".into(), command: "cargo test".into(), result: "passed (212 tests)".into() }],
        limitations: vec![Limitation { text: "A timed-out wait leaves the configmap deleted.".into(), path: Some("src/stop.rs".into()), line: Some(38) }],
        declined: vec![
            Declined { id: "S4".into(), title: "Use context.TODO".into(), path: "src/ctx.rs".into(), round: 7, reason: "deliberate".into(), action: Action::Skipped, code_changed: false, raised_again_by: vec![], rounds_raised_again: 0 },
            Declined { id: "C2".into(), title: "Token in the clone URL".into(), path: "src/auth.rs".into(), round: 6, reason: "accepted risk, tracked in #12 (@maintainer)".into(), action: Action::Declined, code_changed: false, raised_again_by: vec!["Codex".into()], rounds_raised_again: 3 },
        ],
        prior_round: vec![
            PriorFinding { id: "I1".into(), round: 7, title: "Context leak in stop".into(), severity: Severity::Important, resolution: Some(resolution("I1", Action::Fixed, "", &["abc1234"])), outcome: PriorOutcome::ConfirmedFixed, now_id: None, head: HeadCheck::CodeChanged, note: None },
            PriorFinding { id: "I2".into(), round: 7, title: format!("Retry forever {HOSTILE}"), severity: Severity::Important, resolution: Some(resolution("I2", Action::Fixed, "", &["def5678"])), outcome: PriorOutcome::CarriedOver, now_id: Some("I1".into()), head: HeadCheck::QuoteStillPresent, note: Some("marked fixed in def5678, but the quoted code is still there".into()) },
            PriorFinding { id: "S4".into(), round: 7, title: "Use context.TODO".into(), severity: Severity::Suggestion, resolution: Some(resolution("S4", Action::Skipped, "deliberate", &[])), outcome: PriorOutcome::Declined, now_id: None, head: HeadCheck::QuoteStillPresent, note: None },
            PriorFinding { id: "S5".into(), round: 7, title: "Name the constant".into(), severity: Severity::Suggestion, resolution: None, outcome: PriorOutcome::RaisedAgain, now_id: Some("S1".into()), head: HeadCheck::NoQuote, note: None },
        ],
        resolutions: vec![
            resolution("C1", Action::Fixed, "", &["1a2b3c4"]),
            resolution("I1", Action::Skipped, &format!("next release {HOSTILE}"), &[]),
        ],
        unresolved_feedback: vec![
            Feedback { id: "U1".into(), kind: FeedbackKind::Thread, author: "reviewer1".into(), url: "https://github.com/acme/widget/pull/336#discussion_r1".into(), path: Some("src/stop.rs".into()), line: Some(12), excerpt: format!("Why here? {HOSTILE}"),
                text: format!("Why here? {HOSTILE}\n\nThe lock could be taken in `start`."),
                judgements: vec![
                    FeedbackJudgement { agent: "claude".into(), status: FeedbackStatus::Open, note: "the lock order is unchanged".into() },
                    FeedbackJudgement { agent: "codex".into(), status: FeedbackStatus::Addressed, note: format!("moved {HOSTILE}") },
                ],
                findings: vec!["C1".into()] },
            Feedback { id: "U2".into(), kind: FeedbackKind::Comment, author: "maintainer".into(), url: "https://github.com/acme/widget/pull/336#issuecomment-5".into(), path: None, line: None, excerpt: "Please add a changelog entry.".into(),
                text: "Please add a changelog entry.".into(),
                judgements: vec![
                    FeedbackJudgement { agent: "claude".into(), status: FeedbackStatus::Addressed, note: "CHANGELOG.md has it".into() },
                    FeedbackJudgement { agent: "codex".into(), status: FeedbackStatus::Addressed, note: String::new() },
                ],
                findings: vec![] },
            Feedback { id: "U3".into(), kind: FeedbackKind::Review, author: "reviewer2".into(), url: "https://github.com/acme/widget/pull/336#pullrequestreview-9".into(), path: None, line: None, excerpt: "Looks close; see the timeout question.".into(),
                text: String::new(), judgements: vec![], findings: vec![] },
        ],
        agents: vec![claude, codex, gemini],
        reconciliation: vec![
            Reconciliation { finding: "S1".into(), agent: "claude".into(), title: "Name the magic number".into(), change: Change::Downgraded, from: Severity::Important, to: Some(Severity::Suggestion), reason: "cosmetic".into() },
            Reconciliation { finding: "codex:F3".into(), agent: "codex".into(), title: "Invalid @test syntax".into(), change: Change::Dropped, from: Severity::Important, to: None, reason: "false positive: bats accepts this syntax".into() },
        ],
        process_notes: ProcessNotes {
            prompt_improvements: vec!["Ask agents to run bats.".into()],
            context_updates: vec!["Cleanup-on-stop is a known trade-off.".into()],
        },
        appendix: vec![
            AppendixEntry { agent: "claude".into(), file: "agents/claude/review-claude-pass-1.md".into(), raw: serde_json::json!({"verdict": "needs_changes", "verdict_reason": "lock order", "summary": format!("Summary: {HOSTILE}"),
                "findings": [{"id": "F1", "severity": "critical", "category": "regression", "title": format!("Lock order `a` then `b` {HOSTILE}"),
                    "path": "src/stop.rs", "line_start": 10, "line_end": 12, "quote": "let a = first.lock();", "body": format!("Deadlocks. {HOSTILE}"), "fix": "Take `b` first."}],
                "testing": "No test for the lock order.", "tests_run": [{"command": "cargo test stop", "result": "3 passed"}]}).to_string(), id_map: vec![("F1".into(), "C1".into()), ("F2".into(), "I1".into()), ("F3".into(), "S1".into())] },
            AppendixEntry { agent: "codex".into(), file: "agents/codex/review-codex-pass-1.md".into(), raw: "{}".into(), id_map: vec![("F1".into(), "I1".into()), ("F2".into(), "S2".into()), ("F3".into(), "dropped (false positive)".into())] },
            AppendixEntry { agent: "gemini".into(), file: "agents/gemini/review-gemini-pass-1.md".into(), raw: String::new(), id_map: vec![] },
        ],
        consolidation: ConsolidationInfo { performed: true, agent: Some("claude".into()), model: Some("claude-opus-4-7".into()), note: None },
        incomplete: true,
    }
}
