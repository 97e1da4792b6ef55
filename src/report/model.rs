//! The report model: everything a report shows, and the JSON contract
//! (docs/json-format.md). Field names here are public; change them only
//! with a new `schema_version`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

pub use crate::domain::{
    Action, AgentStatus, ChangedFile, Commit, Counts, Feedback, Resolution, Severity, TargetKind,
};
use crate::findings::answer::{ObservationKind, Scope};
use crate::findings::{Category, Verdict};

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub schema_version: u32,
    pub run: RunInfo,
    pub target: Target,
    pub reviewers: Vec<Reviewer>,
    pub verdict: VerdictInfo,
    pub summary: String,
    pub counts: Counts,
    pub findings: Vec<ReportFinding>,
    pub dropped: Vec<Dropped>,
    pub design: Vec<DesignNote>,
    pub testing: String,
    pub documentation: String,
    pub commit_structure: String,
    pub tests_run: Vec<TestRun>,
    pub limitations: Vec<Limitation>,
    pub declined: Vec<Declined>,
    /// Every finding of the previous round, with what the author did about
    /// it and what this round found (empty in a first round).
    #[serde(default)]
    pub prior_round: Vec<PriorFinding>,
    /// What the author did about this round's findings, as recorded since
    /// (`deep-review resolve`, PR comments); filled in by `show`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolutions: Vec<Resolution>,
    pub unresolved_feedback: Vec<Feedback>,
    pub agents: Vec<AgentReport>,
    pub reconciliation: Vec<Reconciliation>,
    pub process_notes: ProcessNotes,
    pub appendix: Vec<AppendixEntry>,
    pub consolidation: ConsolidationInfo,
    /// True when an agent or the consolidation failed (exit code 3).
    pub incomplete: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunInfo {
    /// `YYYYMMDD-HHMMSS-pr-N` or `YYYYMMDD-HHMMSS-<branch>`.
    pub id: String,
    pub round: u32,
    /// RFC 3339, with offset.
    pub started_at: String,
    /// Local `YYYY-MM-DD HH:MM`, as the header shows it.
    pub started_local: String,
    /// From start to exit, but for writing the report files.
    pub wall_clock_ms: u64,
    /// Fetching the change and adding its worktree (absent in reports
    /// from before it was measured).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkout_ms: Option<u64>,
    /// The consolidation pass, when it was attempted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub consolidation_ms: Option<u64>,
    pub deep_review_version: String,
    /// How the agents were confined (absent in reports from before it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<SandboxInfo>,
}

/// The OS sandbox the agents ran in, and what the change could not steer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxInfo {
    /// `landlock` or `none`.
    pub mechanism: String,
    pub landlock_abi: Option<u32>,
    /// `read_only` or `exec`.
    pub access: crate::sandbox::Access,
    /// Why that access: `fork PR`, `local branch, exec = never`, …
    pub reason: String,
    /// Whether TCP connections were limited to the model endpoints' ports.
    pub network_limited: bool,
    /// Why there was no sandbox, when there was none.
    pub unconfined_reason: Option<String>,
    /// Files the change edits that steer the review (`.deep-review.toml`,
    /// `deep-review-context.md`); the base's copies were used.
    #[serde(default)]
    pub ignored_head_files: Vec<String>,
    /// Processes the agents left running after they ended, killed at the
    /// end of the run (0 when none, or when nothing was swept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub leftover_processes: u32,
}

impl SandboxInfo {
    /// `landlock, read-only (fork PR)`, as the header shows it.
    pub fn summary(&self) -> String {
        let mut out = format!(
            "{}, {} ({})",
            self.mechanism,
            self.access.name(),
            self.reason
        );
        if self.mechanism == "landlock" && !self.network_limited {
            out.push_str("; network not limited on this kernel");
        }
        if self.leftover_processes > 0 {
            out.push_str(&format!(
                "; {} process(es) the agents left running were killed",
                self.leftover_processes
            ));
        }
        out
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Target {
    pub kind: TargetKind,
    /// `owner/name`, when known.
    pub repo: Option<String>,
    pub repo_url: Option<String>,
    pub pr: Option<u64>,
    pub pr_url: Option<String>,
    pub title: String,
    pub author: Option<String>,
    pub author_url: Option<String>,
    pub branch: String,
    pub base: String,
    pub base_sha: String,
    pub head_sha: String,
    pub commits: Vec<Commit>,
    pub changed_files: Vec<ChangedFile>,
    /// A diff over budget and how it was split for the agents (absent for
    /// a diff within budget).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub diff_pieces: Option<crate::checkout::pieces::Plan>,
    /// The head commit's CI (check runs and statuses), for a PR whose
    /// host said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ci: Option<crate::domain::CiState>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reviewer {
    pub name: String,
    pub display_name: String,
    /// The model asked for (or, when none was, the one the CLI used).
    pub model: Option<String>,
    pub effort: Option<String>,
    /// The model the CLI says it used, when it is not the one asked for.
    #[serde(default)]
    pub served_model: Option<String>,
}

impl Reviewer {
    /// `Claude Opus 4.7 (effort: xhigh)`, or with the model served when
    /// the CLI chose another than the one asked for:
    /// `Gemini 3.1 Pro (effort: low; asked for gemini-3-pro-preview)`
    pub fn label(&self) -> String {
        let effort = self.effort.as_deref().unwrap_or("default");
        let name = self.name();
        match (&self.served_model, &self.model) {
            (Some(_), Some(asked)) => format!("{name} (effort: {effort}; asked for {asked})"),
            (None, None) => format!("{name} default model (effort: {effort})"),
            _ => format!("{name} (effort: {effort})"),
        }
    }

    /// The agent and its model: `Claude Opus 4.7` (the agent alone when
    /// its model is unknown).
    pub fn name(&self) -> String {
        let shown = self.served_model.as_deref().or(self.model.as_deref());
        match shown {
            None => self.display_name.clone(),
            Some(id) => {
                let model = super::model_names::readable(id).unwrap_or_else(|| id.to_string());
                // "Gemini" + "Gemini 3.1 Pro" reads "Gemini 3.1 Pro".
                let first = model.split(' ').next().unwrap_or_default();
                if first.eq_ignore_ascii_case(&self.display_name) {
                    model
                } else {
                    format!("{} {model}", self.display_name)
                }
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerdictInfo {
    pub decision: Verdict,
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EvidenceStatus {
    Verified,
    Relocated,
    Unverified,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportFinding {
    /// `C1`, `I2`, `S3`.
    pub id: String,
    pub severity: Severity,
    pub category: Category,
    pub title: String,
    pub path: String,
    pub line_start: u32,
    pub line_end: u32,
    /// Agent names (config names) that raised it.
    pub agents: Vec<String>,
    pub evidence: EvidenceStatus,
    /// Why the evidence is what it is (relocation, missing quote, the
    /// consolidator's reason to keep an unverified finding).
    pub evidence_note: Option<String>,
    /// The code at those lines, from the head commit.
    pub excerpt: Option<String>,
    /// Fence language for the excerpt.
    pub language: String,
    pub body: String,
    pub fix: String,
    /// Set when consolidation changed the severity: what and why.
    pub severity_note: Option<String>,
    /// "raised in round 7 as S6", for a finding seen before.
    pub prior: Option<String>,
    /// What the author recorded about it in an earlier round (a finding
    /// raised again or carried over).
    #[serde(default)]
    pub resolution: Option<Resolution>,
    /// Problems the program noticed (e.g. the consolidator forgot it).
    pub flags: Vec<String>,
    /// The agents' own findings merged here (`agent:id`).
    pub sources: Vec<String>,
    /// Other places the finding spans (a caller, where a value is set),
    /// each found in the head tree like the main location; places whose
    /// code was not found are left out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related: Vec<RelatedLocation>,
}

/// Another place a finding spans.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RelatedLocation {
    pub path: String,
    pub line_start: u32,
    pub line_end: u32,
    /// Why it matters (model text).
    pub why: String,
    /// `verified` or `relocated`.
    pub evidence: EvidenceStatus,
    /// The code there, from the head commit.
    pub excerpt: Option<String>,
    pub language: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropKind {
    FalsePositive,
    OutOfScope,
    NotActionable,
    DeclinedBefore,
    Duplicate,
    /// The quote was not found and nobody said why to keep it.
    Unverified,
    /// The path is outside the repository.
    InvalidPath,
}

impl DropKind {
    pub fn label(self) -> &'static str {
        match self {
            DropKind::FalsePositive => "false positive",
            DropKind::OutOfScope => "out of scope",
            DropKind::NotActionable => "not actionable",
            DropKind::DeclinedBefore => "declined before",
            DropKind::Duplicate => "duplicate",
            DropKind::Unverified => "unverified",
            DropKind::InvalidPath => "invalid path",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dropped {
    pub agent: String,
    /// `agent:id` of the agent's finding.
    pub source: String,
    pub title: String,
    pub path: String,
    pub severity: Severity,
    pub kind: DropKind,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DesignNote {
    pub kind: ObservationKind,
    pub scope: Scope,
    pub text: String,
    pub paths: Vec<String>,
    pub agents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRun {
    pub agent: String,
    pub command: String,
    pub result: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Limitation {
    pub text: String,
    pub path: Option<String>,
    pub line: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Declined {
    pub id: String,
    pub title: String,
    pub path: String,
    pub round: u32,
    pub reason: String,
    /// `declined` or `skipped`.
    #[serde(default = "declined")]
    pub action: Action,
    /// The code it anchors to changed since it was declined.
    pub code_changed: bool,
    /// The agents that raised it again this round, as the report names
    /// them (the finding itself is in `dropped` as `declined_before`, or
    /// shown again when its code changed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub raised_again_by: Vec<String>,
    /// In how many rounds since the decline it was raised again, this one
    /// included.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub rounds_raised_again: u32,
}

/// What became of a finding of the previous round.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PriorOutcome {
    /// An agent raised it again (`now_id`).
    RaisedAgain,
    /// Nobody raised it and nobody resolved it: shown again in full
    /// (`now_id`).
    CarriedOver,
    /// Marked fixed, and its quoted code is gone at the new head.
    ConfirmedFixed,
    /// Marked test-added or documented by the author.
    Resolved,
    /// A reviewer said it was addressed.
    Addressed,
    /// A reviewer said it no longer applies, or its file is gone.
    NoLongerApplies,
    /// Skipped or declined, and not raised again.
    Declined,
    /// Skipped or declined, and an agent raised it again (see `declined`).
    DeclinedRaisedAgain,
}

impl PriorOutcome {
    pub fn label(self) -> &'static str {
        match self {
            PriorOutcome::RaisedAgain => "raised again",
            PriorOutcome::CarriedOver => "carried over",
            PriorOutcome::ConfirmedFixed => "confirmed fixed",
            PriorOutcome::Resolved => "resolved",
            PriorOutcome::Addressed => "addressed (a reviewer said so)",
            PriorOutcome::NoLongerApplies => "no longer applies",
            PriorOutcome::Declined => "declined",
            PriorOutcome::DeclinedRaisedAgain => "declined, raised again",
        }
    }
}

/// The code a finding of an earlier round quoted, looked up at this
/// round's head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HeadCheck {
    QuoteStillPresent,
    CodeChanged,
    FileGone,
    /// The finding quoted no code.
    NoQuote,
}

impl HeadCheck {
    pub fn label(self) -> &'static str {
        match self {
            HeadCheck::QuoteStillPresent => "quoted code still present",
            HeadCheck::CodeChanged => "code changed at its location",
            HeadCheck::FileGone => "file gone",
            HeadCheck::NoQuote => "no quote to check",
        }
    }
}

/// A row of *Previous round — status*.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PriorFinding {
    pub id: String,
    pub round: u32,
    pub title: String,
    pub severity: Severity,
    pub resolution: Option<Resolution>,
    pub outcome: PriorOutcome,
    /// Its id this round, when raised again or carried over.
    pub now_id: Option<String>,
    pub head: HeadCheck,
    /// What does not add up (fixed, yet its quoted code is still there).
    pub note: Option<String>,
}

fn declined() -> Action {
    Action::Declined
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ToolCalls {
    pub total: u64,
    pub by_tool: BTreeMap<String, u64>,
}

impl ToolCalls {
    /// `42 (Bash 25, Read 17)`
    pub fn label(&self) -> String {
        if self.by_tool.is_empty() {
            return self.total.to_string();
        }
        let mut parts: Vec<(&String, &u64)> = self.by_tool.iter().collect();
        parts.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
        let inner: Vec<String> = parts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        format!("{} ({})", self.total, inner.join(", "))
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenCounts {
    pub input: u64,
    pub output: u64,
    pub cached: u64,
    pub reasoning: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AgentReport {
    pub name: String,
    pub display_name: String,
    pub model: Option<String>,
    pub effort: Option<String>,
    /// ok, failed, timed_out, rate_limited, quota_exhausted, auth_failed,
    /// not_installed, cancelled; `answer_invalid` when it ran but its
    /// answer could not be read.
    pub status: AgentStatus,
    pub message: Option<String>,
    pub duration_ms: u64,
    pub tool_calls: ToolCalls,
    pub tokens: TokenCounts,
    pub cost_usd: Option<f64>,
    pub findings_raised: Counts,
    pub kept: u32,
    pub downgraded: u32,
    pub upgraded: u32,
    pub dropped: u32,
    pub false_positives: u32,
    pub unique_insights: u32,
    pub design_observations: u32,
    pub files_reviewed: u32,
    pub coverage_misses: Vec<String>,
    /// Each changed file the agent opened, with the report's findings it
    /// raised there (none: reviewed, no issues).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<FileCoverage>,
    /// What the agent says of changed files it never opened (in
    /// `coverage_misses`): reviewing one "in depth" without opening it is
    /// a claim the measurement does not bear out.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unopened_claims: Vec<FileCoverage>,
    pub retro: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reconciliation {
    /// The final id, or the agent's own key for a dropped finding.
    pub finding: String,
    pub agent: String,
    pub title: String,
    pub change: Change,
    pub from: Severity,
    pub to: Option<Severity>,
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileCoverage {
    pub path: String,
    /// Ids of the report's findings the agent raised in this file.
    pub findings: Vec<String>,
    /// How closely the agent says it reviewed the file (its answer's
    /// `coverage`), when it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claimed: Option<crate::findings::answer::Depth>,
    /// What it says it checked (model text).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

/// What consolidation did to an agent's finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    Downgraded,
    Upgraded,
    Dropped,
}

impl std::fmt::Display for Change {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl Change {
    pub fn name(self) -> &'static str {
        match self {
            Change::Downgraded => "downgraded",
            Change::Upgraded => "upgraded",
            Change::Dropped => "dropped",
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ProcessNotes {
    pub prompt_improvements: Vec<String>,
    pub context_updates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AppendixEntry {
    pub agent: String,
    /// Path of the raw review inside the run directory.
    pub file: String,
    /// The agent's answer as it gave it.
    pub raw: String,
    /// Agent id → final id (or "dropped: kind").
    pub id_map: Vec<(String, String)>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConsolidationInfo {
    pub performed: bool,
    pub agent: Option<String>,
    pub model: Option<String>,
    /// Why consolidation was not performed, or what was wrong with it.
    pub note: Option<String>,
}

impl Report {
    pub fn findings_of(&self, severity: Severity) -> impl Iterator<Item = &ReportFinding> {
        self.findings.iter().filter(move |f| f.severity == severity)
    }

    /// An agent with its model, for the retro table's heading.
    pub fn agent_heading(&self, agent: &AgentReport) -> String {
        self.reviewers
            .iter()
            .find(|v| v.name == agent.name)
            .map(Reviewer::name)
            .unwrap_or_else(|| agent.display_name.clone())
    }

    pub fn display_name(&self, agent: &str) -> String {
        self.agents
            .iter()
            .find(|a| a.name == agent)
            .map(|a| a.display_name.clone())
            .unwrap_or_else(|| agent.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_line_says_when_the_network_is_not_limited() {
        let mut s = SandboxInfo {
            mechanism: "landlock".into(),
            landlock_abi: Some(3),
            access: crate::sandbox::Access::ReadOnly,
            reason: "fork PR".into(),
            network_limited: false,
            unconfined_reason: None,
            ignored_head_files: Vec::new(),
            leftover_processes: 0,
        };
        assert_eq!(
            s.summary(),
            "landlock, read-only (fork PR); network not limited on this kernel"
        );
        s.network_limited = true;
        assert_eq!(s.summary(), "landlock, read-only (fork PR)");
        s.leftover_processes = 2;
        assert_eq!(
            s.summary(),
            "landlock, read-only (fork PR); 2 process(es) the agents left running were killed"
        );
        s.leftover_processes = 0;
        s.mechanism = "none".into();
        s.network_limited = false;
        assert_eq!(s.summary(), "none, read-only (fork PR)");
    }

    #[test]
    fn a_reviewer_without_a_model_reads_as_the_default_one() {
        let mut r = Reviewer {
            name: "claude".into(),
            display_name: "Claude".into(),
            model: None,
            effort: None,
            served_model: None,
        };
        assert_eq!(r.label(), "Claude default model (effort: default)");
        r.model = Some("claude-opus-4-7".into());
        r.effort = Some("xhigh".into());
        assert_eq!(r.label(), "Claude Opus 4.7 (effort: xhigh)");
        r.served_model = Some("claude-sonnet-4-5".into());
        assert!(
            r.label()
                .ends_with("(effort: xhigh; asked for claude-opus-4-7)"),
            "{}",
            r.label()
        );
    }

    #[test]
    fn every_drop_kind_has_its_words() {
        let all = [
            (DropKind::FalsePositive, "false positive"),
            (DropKind::OutOfScope, "out of scope"),
            (DropKind::NotActionable, "not actionable"),
            (DropKind::DeclinedBefore, "declined before"),
            (DropKind::Duplicate, "duplicate"),
            (DropKind::Unverified, "unverified"),
            (DropKind::InvalidPath, "invalid path"),
        ];
        for (kind, words) in all {
            assert_eq!(kind.label(), words);
        }
    }
}
