//! What the consolidating agent returns (prompts/decisions-schema.json).

use serde::{Deserialize, Serialize};

use crate::domain::Severity;
use crate::findings::answer::{Limitation, Observation, PriorStatus};
use crate::findings::{Category, Verdict};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decisions {
    #[serde(default)]
    pub groups: Vec<GroupDecision>,
    #[serde(default)]
    pub dropped: Vec<DropDecision>,
    pub verdict: Verdict,
    #[serde(default)]
    pub verdict_reason: String,
    #[serde(default)]
    pub summary: String,
    #[serde(default)]
    pub design_observations: Vec<AttributedObservation>,
    #[serde(default)]
    pub testing: String,
    #[serde(default)]
    pub documentation: String,
    #[serde(default)]
    pub commits: String,
    #[serde(default)]
    pub acknowledged_limitations: Vec<Limitation>,
    #[serde(default)]
    pub prior_findings: Vec<PriorStatus>,
    #[serde(default)]
    pub retro: Vec<RetroNote>,
    #[serde(default)]
    pub prompt_improvements: Vec<String>,
    #[serde(default)]
    pub context_updates: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GroupDecision {
    /// `agent:id` keys of the findings merged here.
    pub members: Vec<String>,
    pub severity: Severity,
    pub category: Category,
    pub title: String,
    #[serde(default)]
    pub body: String,
    #[serde(default)]
    pub fix: String,
    /// Required when the severity differs from the members' highest.
    #[serde(default)]
    pub severity_reason: Option<String>,
    /// Required to keep a finding whose quote was not found.
    #[serde(default)]
    pub evidence_note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DropDecisionKind {
    FalsePositive,
    OutOfScope,
    NotActionable,
    DeclinedBefore,
    Duplicate,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DropDecision {
    pub finding: String,
    pub kind: DropDecisionKind,
    #[serde(default)]
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AttributedObservation {
    #[serde(flatten)]
    pub observation: Observation,
    #[serde(default)]
    pub agents: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RetroNote {
    pub agent: String,
    pub text: String,
}
