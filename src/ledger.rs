//! The finding ledger of one pull request (or branch): every consolidated
//! finding with a stable fingerprint and a status, so that round N knows
//! what round N−1 found, what was addressed, what came back, and what the
//! author declined.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::config::Severity;
use crate::findings::group::similarity;
use crate::github::{CommentCommand, LedgerCommand};
use crate::report::model::{Declined, Report, ReportFinding};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Ledger {
    /// The last round applied to it (0: none yet).
    #[serde(default)]
    pub round: u32,
    pub entries: Vec<Entry>,
    /// Repo-context updates proposed by the runs, for `deep-review context`.
    #[serde(default)]
    pub context_proposals: Vec<ContextProposal>,
    /// PR comments whose ledger commands were applied (`issue:<id>`,
    /// `review:<id>`): each is applied once, so a later decision made on
    /// the command line stands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub applied_comments: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Status {
    Open,
    /// `since`: the round that found it addressed, or declined it.
    Addressed {
        since: u32,
    },
    Declined {
        since: u32,
        reason: String,
    },
    NoLongerApplies {
        since: u32,
    },
}

impl Status {
    pub fn name(&self) -> &'static str {
        match self {
            Status::Open => "open",
            Status::Addressed { .. } => "addressed",
            Status::Declined { .. } => "declined",
            Status::NoLongerApplies { .. } => "no longer applies",
        }
    }
}

/// What makes two findings the same one across rounds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    pub path: String,
    /// The code the finding is about, whitespace folded; empty if unknown.
    pub anchor: String,
    /// The claim: title and body.
    pub claim: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// The id it had in the round it was last raised (`S6`).
    pub id: String,
    /// The round it was last raised in.
    pub round: u32,
    /// The round it was first raised in.
    pub first_round: u32,
    pub title: String,
    pub severity: Severity,
    pub line: u32,
    pub fingerprint: Fingerprint,
    #[serde(flatten)]
    pub status: Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ContextProposal {
    /// `C1`, `C2`, … in order of proposal.
    pub id: String,
    pub round: u32,
    pub run_id: String,
    pub text: String,
    #[serde(default)]
    pub applied: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not a ledger: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("no finding {id} in the ledger of this pull request")]
    Unknown { id: String },
    #[error("cannot lock {path}: {source}")]
    Lock {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub fn path_for(parent: &Path) -> PathBuf {
    parent.join("ledger.json")
}

impl Ledger {
    /// The ledger of the PR whose runs live in `parent`.
    pub fn load(parent: &Path) -> Result<Ledger, LedgerError> {
        Ledger::load_file(&path_for(parent))
    }

    /// Changes the ledger of the PR whose runs live in `parent`: loads it,
    /// applies `change` and saves it, holding a lock all along so that two
    /// runs (or a run and `deep-review decline`) never lose each other's
    /// changes. Nothing is saved when `change` fails.
    pub fn update<T, E: From<LedgerError>>(
        parent: &Path,
        change: impl FnOnce(&mut Ledger) -> Result<T, E>,
    ) -> Result<T, E> {
        let path = path_for(parent);
        let _lock = crate::checkout::CacheLock::acquire(&path, || {}).map_err(|source| {
            LedgerError::Lock {
                path: path.with_extension("lock"),
                source,
            }
        })?;
        let mut ledger = Ledger::load(parent)?;
        let out = change(&mut ledger)?;
        ledger.save(parent)?;
        Ok(out)
    }

    /// A ledger file; a missing one is an empty ledger.
    pub fn load_file(path: &Path) -> Result<Ledger, LedgerError> {
        let path = path.to_path_buf();
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text).map_err(|e| LedgerError::Parse {
                path,
                message: e.to_string(),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Ledger::default()),
            Err(source) => Err(LedgerError::Read { path, source }),
        }
    }

    pub fn save(&self, parent: &Path) -> Result<(), LedgerError> {
        self.save_file(&path_for(parent))
    }

    pub fn save_file(&self, path: &Path) -> Result<(), LedgerError> {
        crate::pipeline::rundir::write_json(path, self).map_err(|source| LedgerError::Write {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Earlier findings the next review should know about: open ones and
    /// declined ones, one line each for the prompt.
    pub fn prompt_lines(&self) -> Vec<String> {
        self.entries
            .iter()
            .filter(|e| matches!(e.status, Status::Open | Status::Declined { .. }))
            .map(|e| {
                let state = match &e.status {
                    Status::Declined { since, reason } => {
                        format!("declined by the author in round {since}: {reason}")
                    }
                    _ => "open".to_string(),
                };
                format!(
                    "`{}` (round {}): {} — `{}:{}` — {state}. {}",
                    e.id,
                    e.round,
                    one_line(&e.title),
                    e.fingerprint.path,
                    e.line,
                    first_sentence(&e.fingerprint.claim)
                )
            })
            .collect()
    }

    /// Finds an entry by the id it was last raised with.
    fn find_mut(&mut self, id: &str) -> Result<&mut Entry, LedgerError> {
        self.entries
            .iter_mut()
            .rev()
            .find(|e| e.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| LedgerError::Unknown { id: id.to_string() })
    }

    pub fn decline(&mut self, id: &str, round: u32, reason: &str) -> Result<&Entry, LedgerError> {
        let entry = self.find_mut(id)?;
        entry.status = Status::Declined {
            since: round,
            reason: reason.trim().to_string(),
        };
        Ok(entry)
    }

    pub fn reopen(&mut self, id: &str) -> Result<&Entry, LedgerError> {
        let entry = self.find_mut(id)?;
        entry.status = Status::Open;
        Ok(entry)
    }

    /// Applies the decline and reopen lines of PR comments not applied
    /// before, oldest first. Returns a warning for each one left out.
    pub fn apply_comments(
        &mut self,
        commands: &[CommentCommand],
        pr_author: &str,
        round: u32,
    ) -> Vec<String> {
        let mut warnings = Vec::new();
        for c in commands {
            if self.applied_comments.contains(&c.comment) {
                continue;
            }
            let applied = if c.author.eq_ignore_ascii_case(pr_author) {
                Err(format!(
                    "ignored a ledger command by @{}, the PR's author: the author of the code under review does not decide about its findings",
                    c.author
                ))
            } else if !c.is_trusted(pr_author) {
                Err(format!(
                    "ignored a ledger command by @{} ({}): only the repository's owners, members and collaborators may decide about findings",
                    c.author,
                    c.association.to_lowercase()
                ))
            } else if let LedgerCommand::Decline { id, reason } = &c.command
                && id.to_ascii_uppercase().starts_with('C')
                && reason.is_empty()
            {
                Err(format!(
                    "ignored @{}'s decline of Critical {id}: a Critical finding is declined only with a reason (`/deep-review decline {id}: why`)",
                    c.author
                ))
            } else {
                match &c.command {
                    LedgerCommand::Decline { id, reason } => {
                        let reason = if reason.is_empty() {
                            "declined on GitHub"
                        } else {
                            reason.as_str()
                        };
                        self.decline(id, round, &format!("{reason} (@{})", c.author))
                            .map(|_| ())
                    }
                    LedgerCommand::Reopen { id } => self.reopen(id).map(|_| ()),
                }
                .map_err(|e| format!("a PR comment by @{} names {e}", c.author))
            };
            if let Err(warning) = applied {
                warnings.push(warning);
            }
            // Once only, applied or not: it is the same comment next round.
            self.applied_comments.push(c.comment.clone());
        }
        warnings
    }

    /// After `deep-review consolidate` re-applied a run to the ledger it
    /// started from (`self`), keeps what happened since in `current`, the
    /// PR's ledger: the PR comments already applied, the context updates
    /// other runs proposed, and declines recorded after the run.
    pub fn carry_over(&mut self, current: &Ledger, run_id: &str, round: u32) {
        self.applied_comments = current.applied_comments.clone();
        let mine: Vec<String> = self
            .context_proposals
            .iter()
            .filter(|p| p.run_id == run_id)
            .map(|p| p.text.clone())
            .collect();
        self.context_proposals = current
            .context_proposals
            .iter()
            .filter(|p| p.run_id != run_id)
            .cloned()
            .collect();
        for text in mine {
            let n = self.context_proposals.len() + 1;
            let applied = current
                .context_proposals
                .iter()
                .any(|p| p.run_id == run_id && p.text == text && p.applied);
            self.context_proposals.push(ContextProposal {
                id: format!("P{n}"),
                round,
                run_id: run_id.to_string(),
                text,
                applied,
            });
        }
        for entry in &mut self.entries {
            let later = current.entries.iter().find(|e| {
                matches!(e.status, Status::Declined { .. })
                    && same_finding(&e.fingerprint, &entry.fingerprint)
            });
            if let (Status::Open, Some(declined)) = (&entry.status, later) {
                entry.status = declined.status.clone();
            }
        }
    }

    /// The round the last saved run had.
    pub fn last_round(&self) -> u32 {
        self.entries
            .iter()
            .map(|e| e.round)
            .max()
            .unwrap_or(0)
            .max(self.round)
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn first_sentence(s: &str) -> String {
    let flat = one_line(s);
    let end = flat
        .find(". ")
        .map(|i| i + 1)
        .unwrap_or(flat.len())
        .min(240);
    flat.chars().take(end).collect()
}

/// Whitespace-folded code, the anchor of a fingerprint.
pub fn anchor(code: &str) -> String {
    code.lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|l| !l.is_empty())
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn fingerprint(f: &ReportFinding) -> Fingerprint {
    Fingerprint {
        path: f.path.clone(),
        anchor: f.excerpt.as_deref().map(anchor).unwrap_or_default(),
        claim: format!("{}. {}", f.title.trim(), f.body.trim()),
    }
}

/// How alike two claims are: the better of the titles' and the whole
/// texts' word overlap.
fn claim_similarity(a: &Fingerprint, b: &Fingerprint) -> f64 {
    let title = |c: &str| c.split(". ").next().unwrap_or(c).to_string();
    similarity(&title(&a.claim), &title(&b.claim)).max(similarity(&a.claim, &b.claim))
}

/// Whether two fingerprints are the same finding: the same code with a
/// related claim (even at other lines, in other words, or in a renamed
/// file), or the same file with a clearly similar claim. Two different
/// claims about the same line stay two findings.
pub fn same_finding(a: &Fingerprint, b: &Fingerprint) -> bool {
    let claim = claim_similarity(a, b);
    let same_code = !a.anchor.is_empty() && a.anchor == b.anchor;
    let renamed = a.path != b.path && file_name(&a.path) == file_name(&b.path);
    if same_code && (a.path == b.path || renamed || claim >= 0.5) {
        return claim >= 0.2;
    }
    a.path == b.path && claim >= 0.5
}

fn file_name(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// What one round did to the ledger, for the report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RoundChanges {
    pub addressed: Vec<(String, String)>,
    pub still_open: Vec<(String, String)>,
    pub no_longer_applies: Vec<(String, String)>,
    /// Not raised again, but the code they point at is unchanged and no
    /// reviewer said they were addressed: they stay open.
    pub unchanged: Vec<(String, String)>,
}

/// The statuses agents or the consolidator gave earlier findings, by id.
pub type PriorStatuses = Vec<(String, crate::findings::answer::PriorState)>;

/// Applies a finished round to the ledger and the report: re-raised
/// findings say so, findings matching a declined one move to *Declined in
/// prior rounds* (unless their code changed), earlier open findings not
/// raised again become addressed (or what the reviewers said), and new
/// findings are added.
///
/// `code_at_head(path)` is the file's text at the reviewed commit (None
/// when it is gone): a finding nobody raised again counts as addressed
/// only if a reviewer said so or the code it pointed at changed.
pub fn apply_round(
    ledger: &mut Ledger,
    report: &mut Report,
    priors: &PriorStatuses,
    code_at_head: &dyn Fn(&str) -> Option<String>,
) -> RoundChanges {
    let round = report.run.round;
    ledger.round = ledger.round.max(round);
    let mut matched: Vec<bool> = vec![false; ledger.entries.len()];
    // Declined entries raised again because their code changed.
    let mut code_changed: Vec<usize> = Vec::new();
    let mut kept = Vec::new();
    for mut f in std::mem::take(&mut report.findings) {
        let fp = fingerprint(&f);
        let hit = ledger
            .entries
            .iter()
            .enumerate()
            .filter(|(i, _)| !matched[*i])
            .find(|(_, e)| same_finding(&e.fingerprint, &fp))
            .map(|(i, _)| i);
        match hit {
            Some(i) => {
                matched[i] = true;
                let entry = &mut ledger.entries[i];
                if let Status::Declined {
                    since: declined_in,
                    reason,
                } = &entry.status
                {
                    let changed = !fp.anchor.is_empty() && fp.anchor != entry.fingerprint.anchor;
                    if !changed {
                        // Not raised again as new: it is listed under
                        // "Declined in prior rounds".
                        continue;
                    }
                    // The author's decision stands until they reopen it;
                    // the report shows the finding and says why.
                    f.prior = Some(format!(
                        "declined in round {declined_in} as {} ({reason}); raised again because the code it concerns changed",
                        entry.id
                    ));
                    code_changed.push(i);
                } else {
                    f.prior = Some(format!("raised in round {} as {}", entry.round, entry.id));
                    entry.status = Status::Open;
                }
                kept.push((f, Some(i)));
            }
            None => kept.push((f, None)),
        }
    }
    // Renumber what is left, by severity, as the report does.
    kept.sort_by_key(|(f, _)| f.severity);
    let mut counters = std::collections::BTreeMap::new();
    let mut counts = crate::report::model::Counts::default();
    for (f, _) in &mut kept {
        let n = counters.entry(f.severity).or_insert(0u32);
        *n += 1;
        f.id = format!(
            "{}{}",
            crate::consolidate::build::severity_letter(f.severity),
            n
        );
        counts.add(f.severity);
    }
    let mut changes = RoundChanges::default();
    for (i, entry) in ledger.entries.iter_mut().enumerate() {
        if matched[i] || entry.status != Status::Open {
            continue;
        }
        let said = priors
            .iter()
            .find(|(id, _)| id.eq_ignore_ascii_case(&entry.id))
            .map(|(_, s)| *s);
        use crate::findings::answer::PriorState;
        match said {
            Some(PriorState::NoLongerApplies) => {
                entry.status = Status::NoLongerApplies { since: round };
                changes
                    .no_longer_applies
                    .push((entry.id.clone(), entry.title.clone()));
            }
            // Reviewers called it still open but nobody raised it: keep it
            // open rather than claim it was fixed.
            Some(PriorState::StillOpen) => changes
                .still_open
                .push((entry.id.clone(), entry.title.clone())),
            Some(PriorState::Addressed) => {
                entry.status = Status::Addressed { since: round };
                changes
                    .addressed
                    .push((entry.id.clone(), entry.title.clone()));
            }
            None => {
                let anchor_code = &entry.fingerprint.anchor;
                let unchanged = !anchor_code.is_empty()
                    && code_at_head(&entry.fingerprint.path)
                        .is_some_and(|text| anchor(&text).contains(anchor_code.as_str()));
                if unchanged {
                    changes
                        .unchanged
                        .push((entry.id.clone(), entry.title.clone()));
                } else {
                    entry.status = Status::Addressed { since: round };
                    changes
                        .addressed
                        .push((entry.id.clone(), entry.title.clone()));
                }
            }
        }
    }
    for (f, hit) in &kept {
        let fp = fingerprint(f);
        match hit {
            Some(i) if code_changed.contains(i) => {
                // Still declined: keep the fingerprint it was declined with.
                changes.still_open.push((f.id.clone(), f.title.clone()));
            }
            Some(i) => {
                let e = &mut ledger.entries[*i];
                e.id = f.id.clone();
                e.round = round;
                e.title = f.title.clone();
                e.severity = f.severity;
                e.line = f.line_start;
                e.fingerprint = fp;
                changes.still_open.push((f.id.clone(), f.title.clone()));
            }
            None => ledger.entries.push(Entry {
                id: f.id.clone(),
                round,
                first_round: round,
                title: f.title.clone(),
                severity: f.severity,
                line: f.line_start,
                fingerprint: fp,
                status: Status::Open,
            }),
        }
    }
    report.findings = kept.into_iter().map(|(f, _)| f).collect();
    report.counts = counts;
    report.declined = ledger
        .entries
        .iter()
        .enumerate()
        .filter_map(|(i, e)| match &e.status {
            Status::Declined { since: r, reason } => Some(Declined {
                id: e.id.clone(),
                title: e.title.clone(),
                path: e.fingerprint.path.clone(),
                round: *r,
                reason: reason.clone(),
                code_changed: code_changed.contains(&i),
            }),
            _ => None,
        })
        .collect();
    let start = ledger.context_proposals.len();
    for (i, text) in report.process_notes.context_updates.iter().enumerate() {
        ledger.context_proposals.push(ContextProposal {
            id: format!("P{}", start + i + 1),
            round,
            run_id: report.run.id.clone(),
            text: text.clone(),
            applied: false,
        });
    }
    if round > 1
        && !(changes.addressed.is_empty()
            && changes.still_open.is_empty()
            && changes.no_longer_applies.is_empty()
            && changes.unchanged.is_empty())
    {
        report.summary = format!("{}\n\n{}", round_line(round, &changes), report.summary);
    }
    changes
}

/// "Round 2. Addressed since round 1: S1 (…). Raised again: I1 (…)."
pub fn round_line(round: u32, changes: &RoundChanges) -> String {
    let list = |items: &[(String, String)]| {
        items
            .iter()
            .map(|(id, t)| format!("{id} ({})", one_line(t)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut parts = vec![format!("Round {round}.")];
    if !changes.addressed.is_empty() {
        parts.push(format!(
            "Addressed since the last round: {}.",
            list(&changes.addressed)
        ));
    }
    if !changes.no_longer_applies.is_empty() {
        parts.push(format!(
            "No longer applies: {}.",
            list(&changes.no_longer_applies)
        ));
    }
    let reraised: Vec<(String, String)> = changes.still_open.clone();
    if !reraised.is_empty() {
        parts.push(format!("Raised again: {}.", list(&reraised)));
    }
    if !changes.unchanged.is_empty() {
        parts.push(format!(
            "Not raised again, but their code is unchanged, so still open: {}.",
            list(&changes.unchanged)
        ));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fp(path: &str, anchor_code: &str, claim: &str) -> Fingerprint {
        Fingerprint {
            path: path.into(),
            anchor: anchor(anchor_code),
            claim: claim.into(),
        }
    }

    fn entry(id: &str) -> Entry {
        Entry {
            id: id.into(),
            round: 1,
            first_round: 1,
            title: "t".into(),
            severity: Severity::Suggestion,
            line: 1,
            fingerprint: fp(
                "stats.py",
                "return sum(values) / len(values)",
                "mean() of an empty list raises ZeroDivisionError",
            ),
            status: Status::Open,
        }
    }

    fn comment(n: u32, author: &str, association: &str, line: &str) -> CommentCommand {
        CommentCommand {
            comment: format!("issue:{n}"),
            author: author.into(),
            association: association.into(),
            created_at: format!("2026-11-2{n}T10:00:00Z"),
            command: LedgerCommand::parse(line).unwrap(),
        }
    }

    #[test]
    fn pr_comments_are_applied_once_and_only_from_people_with_write_access() {
        let mut ledger = Ledger {
            entries: vec![entry("S1"), entry("S2"), entry("C1")],
            ..Ledger::default()
        };
        let comments = [
            // The (fork) PR's author: the code under review is theirs.
            comment(
                1,
                "octocat",
                "CONTRIBUTOR",
                "/deep-review decline S1: by design",
            ),
            comment(2, "mallory", "NONE", "/deep-review decline S2: nope"),
            comment(3, "maintainer", "MEMBER", "/deep-review decline S9: typo"),
            comment(4, "maintainer", "MEMBER", "/deep-review decline C1"),
            comment(
                5,
                "maintainer",
                "COLLABORATOR",
                "/deep-review decline S2: by design",
            ),
        ];
        let warnings = ledger.apply_comments(&comments, "octocat", 2);
        assert_eq!(
            warnings,
            [
                "ignored a ledger command by @octocat, the PR's author: the author of the code under review does not decide about its findings",
                "ignored a ledger command by @mallory (none): only the repository's owners, members and collaborators may decide about findings",
                "a PR comment by @maintainer names no finding S9 in the ledger of this pull request",
                "ignored @maintainer's decline of Critical C1: a Critical finding is declined only with a reason (`/deep-review decline C1: why`)",
            ]
        );
        assert_eq!(ledger.entries[0].status, Status::Open);
        assert_eq!(
            ledger.entries[1].status,
            Status::Declined {
                since: 2,
                reason: "by design (@maintainer)".into()
            }
        );
        assert_eq!(ledger.entries[2].status, Status::Open, "C1 stays open");

        // Reopened on the command line: the old comment does not undo it,
        // and nothing is warned about twice.
        ledger.reopen("S2").unwrap();
        assert!(ledger.apply_comments(&comments, "octocat", 3).is_empty());
        assert_eq!(ledger.entries[1].status, Status::Open);

        // A newer comment does apply.
        let newer = [comment(6, "maintainer", "OWNER", "/deep-review reopen S2")];
        ledger.decline("S2", 3, "again").unwrap();
        assert!(ledger.apply_comments(&newer, "octocat", 4).is_empty());
        assert_eq!(ledger.entries[1].status, Status::Open);

        // The PR's author is not heard even as a member of the repository.
        let own = [comment(
            7,
            "OctoCat",
            "MEMBER",
            "/deep-review decline S2: mine",
        )];
        assert_eq!(ledger.apply_comments(&own, "octocat", 5).len(), 1);
        assert_eq!(ledger.entries[1].status, Status::Open);
    }

    #[test]
    fn a_reconsolidated_run_keeps_what_happened_since() {
        let proposal = |id: &str, run_id: &str, text: &str, applied: bool| ContextProposal {
            id: id.into(),
            round: 1,
            run_id: run_id.into(),
            text: text.into(),
            applied,
        };
        let mut declined = entry("S1");
        declined.status = Status::Declined {
            since: 2,
            reason: "by design".into(),
        };
        let current = Ledger {
            round: 2,
            entries: vec![declined],
            context_proposals: vec![
                proposal("P1", "run-1", "old rule", true),
                proposal("P2", "run-2", "kept rule", true),
                proposal("P3", "run-2", "dropped rule", false),
            ],
            applied_comments: vec!["issue:7".into()],
        };
        // Run 2 applied again to the ledger it started from.
        let mut after = Ledger {
            round: 2,
            entries: vec![entry("S4")],
            context_proposals: vec![
                proposal("P1", "run-1", "old rule", true),
                proposal("P2", "run-2", "kept rule", false),
                proposal("P3", "run-2", "new rule", false),
            ],
            applied_comments: Vec::new(),
        };
        after.carry_over(&current, "run-2", 2);
        assert_eq!(after.applied_comments, ["issue:7"]);
        let proposals: Vec<(&str, &str, bool)> = after
            .context_proposals
            .iter()
            .map(|p| (p.id.as_str(), p.text.as_str(), p.applied))
            .collect();
        assert_eq!(
            proposals,
            [
                ("P1", "old rule", true),
                ("P2", "kept rule", true),
                ("P3", "new rule", false)
            ]
        );
        // Declined after the run, under its old id: still declined.
        assert_eq!(after.entries[0].id, "S4");
        assert_eq!(after.entries[0].status, current.entries[0].status);
    }

    #[test]
    fn concurrent_updates_lose_nothing() {
        let parent = tempfile::tempdir().unwrap();
        std::thread::scope(|scope| {
            for writer in 0..4 {
                let parent = parent.path();
                scope.spawn(move || {
                    for n in 0..100 {
                        Ledger::update(parent, |ledger| {
                            ledger.applied_comments.push(format!("issue:{writer}-{n}"));
                            Ok::<_, LedgerError>(())
                        })
                        .unwrap();
                    }
                });
            }
        });
        assert_eq!(
            Ledger::load(parent.path()).unwrap().applied_comments.len(),
            400
        );
    }

    #[test]
    fn the_same_finding_at_moved_lines_is_recognised() {
        let a = fp(
            "src/stop.rs",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanupDiscoveryConfigMap runs on --wait=false. It deletes the map.",
        );
        // Same code, same claim, lines moved (lines are not part of it).
        let b = fp(
            "src/stop.rs",
            "    _ = cleanupDiscoveryConfigMap()  ",
            "cleanupDiscoveryConfigMap runs on --wait=false. It deletes the map.",
        );
        assert!(same_finding(&a, &b));
    }

    #[test]
    fn a_reworded_finding_is_recognised() {
        let a = fp(
            "src/stop.rs",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanupDiscoveryConfigMap runs unconditionally on --wait=false. Concurrent callers poll a missing ConfigMap.",
        );
        let b = fp(
            "src/stop.rs",
            "_ = cleanupDiscoveryConfigMap()",
            "Discovery ConfigMap deleted even when --wait=false. Concurrent CLI callers then poll a missing ConfigMap until the timeout.",
        );
        assert!(same_finding(&a, &b));
    }

    #[test]
    fn a_finding_in_a_renamed_file_is_recognised() {
        let a = fp(
            "pkg/service/stop.go",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanup runs on --wait=false. It deletes the map.",
        );
        let b = fp(
            "internal/service/stop.go",
            "_ = cleanupDiscoveryConfigMap()",
            "cleanup runs on --wait=false. It deletes the map.",
        );
        assert!(same_finding(&a, &b));
    }

    #[test]
    fn two_different_findings_on_the_same_line_stay_two() {
        let a = fp(
            "stats.py",
            "return divide(total, len(values) - 1)",
            "mean() divides by len(values) - 1. Results are too large.",
        );
        let b = fp(
            "stats.py",
            "return divide(total, len(values) - 1)",
            "Empty input raises ZeroDivisionError. Callers get an unexplained exception.",
        );
        assert!(!same_finding(&a, &b));
    }

    #[test]
    fn similar_words_in_another_file_are_not_the_same_finding() {
        let a = fp(
            "a.rs",
            "x()",
            "missing error handling. The error is dropped.",
        );
        let b = fp(
            "b.rs",
            "y()",
            "missing error handling. The error is dropped.",
        );
        assert!(!same_finding(&a, &b));
    }
}
