//! Phase five, shared by a review and `deep-review consolidate`: the
//! report built and recorded in the ledger, the reports written, the
//! manifest closed.

use std::path::{Path, PathBuf};

use super::error::{PipelineError, io};
use super::rundir::{Manifest, RunDir, RunState};
use crate::config::Format;
use crate::consolidate::{self, AgentResult, Consolidation, Inputs, Rounds};
use crate::files::read_json;
use crate::findings::Finding;
use crate::report::Report;
use crate::report::model::{RunInfo, Target as ReportTarget};
use crate::review::Facts;
use crate::rounds::{Ledger, PriorStatuses};

/// A reviewed round, ready for its report.
pub(super) struct Reviewed<'a> {
    pub facts: &'a Facts,
    pub run_info: RunInfo,
    pub results: &'a [AgentResult],
    pub findings: &'a [Finding],
    /// The worktree the agents read, to make their paths relative.
    pub workdir: &'a Path,
    pub consolidation: Consolidation,
    pub priors: PriorStatuses,
}

impl Reviewed<'_> {
    /// Whether any agent reviewed: a round nobody reviewed is no evidence
    /// and moves nothing in the ledger.
    pub fn happened(&self) -> bool {
        self.results.iter().any(AgentResult::succeeded)
    }
}

/// The round's report; recorded in `ledger` when given.
pub(super) fn report(
    r: Reviewed,
    ledger: Option<&mut Ledger>,
    code_at_head: &dyn Fn(&str) -> Option<String>,
) -> Report {
    let inputs = Inputs {
        run: r.run_info,
        target: report_target(r.facts),
        agents: r.results,
        findings: r.findings,
        workdir: r.workdir.display().to_string(),
        declined: Vec::new(),
        unresolved_feedback: r.facts.unresolved.clone(),
    };
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    let rounds = ledger.map(|ledger| Rounds {
        ledger,
        priors: &r.priors,
        code_at_head,
        recorded_at: &now,
    });
    consolidate::build::build(&inputs, r.consolidation, rounds)
}

impl Manifest {
    /// Takes a finished report's outcome.
    pub fn record(&mut self, report: &Report, cancelled: bool) {
        self.state = if cancelled {
            RunState::Cancelled
        } else if report.incomplete {
            RunState::Incomplete
        } else {
            RunState::Complete
        };
        self.verdict = Some(report.verdict.decision);
        self.counts = Some(report.counts);
        for a in &mut self.agents {
            a.status = report
                .agents
                .iter()
                .find(|r| r.name == a.name)
                .map(|r| r.status);
        }
    }
}

pub fn report_target(facts: &Facts) -> ReportTarget {
    ReportTarget {
        kind: facts.kind,
        repo: Some(facts.repo.clone()),
        repo_url: facts.repo_url.clone(),
        pr: facts.pr,
        pr_url: facts.pr_url.clone(),
        title: facts.title.clone(),
        author: facts.author.clone(),
        author_url: facts.author_url.clone(),
        branch: facts.head_ref.clone(),
        base: facts.base_ref.clone(),
        base_sha: facts.base_sha.clone(),
        head_sha: facts.head_sha.clone(),
        commits: facts.commits.clone(),
        changed_files: facts.changed_files.clone(),
        diff_pieces: facts.diff_pieces.clone(),
        ci: facts.ci.clone(),
    }
}

/// Writes every requested format, and always the JSON model, which
/// `deep-review show` renders from.
pub fn write_reports(
    run: &RunDir,
    report: &Report,
    formats: &[Format],
) -> Result<Vec<(Format, PathBuf)>, PipelineError> {
    let mut formats: Vec<Format> = formats.to_vec();
    if !formats.contains(&Format::Json) {
        formats.push(Format::Json);
    }
    let full = run.report(Format::Md).display().to_string();
    let mut written = Vec::new();
    for format in formats {
        let path = run.report(format);
        let text = crate::report::render(report, format, Some(&full));
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
        written.push((format, path));
    }
    Ok(written)
}

/// The saved report of a run directory.
pub fn load_report(run: &RunDir) -> std::io::Result<Report> {
    read_json(&run.report(Format::Json))
}

/// What the author recorded since about the findings of a saved run's
/// round (`deep-review resolve`, PR comments), for its *Resolution*
/// section. A run outside a PR's or branch's folder has none.
pub fn resolutions_of(
    run: &RunDir,
    round: u32,
) -> Result<Vec<crate::domain::Resolution>, crate::rounds::LedgerError> {
    match run.root.parent() {
        Some(parent) => Ok(Ledger::load(parent)?.resolutions_of(round)),
        None => Ok(Vec::new()),
    }
}
