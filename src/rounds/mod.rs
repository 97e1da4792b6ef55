//! The finding ledger of one pull request (or branch): every consolidated
//! finding with a stable fingerprint and a status, so that round N knows
//! what round N−1 found, what was addressed, what came back, and what the
//! author declined.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::{Action, Resolution, Severity};
use crate::report::model::ReportFinding;

mod apply;
mod carry;
mod comments;
mod fingerprint;

pub use apply::{
    Match, Named, Numbered, PriorStatuses, Recorded, Round, RoundChanges, SortedOut, record,
    round_line, sort_out,
};
pub use carry::Fate;
pub use fingerprint::{Fingerprint, anchor, fingerprint, same_finding};

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
    /// When the last round was recorded (RFC 3339, UTC): a PR comment
    /// older than that named that round's predecessor's ids.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recorded_at: Option<String>,
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
    /// Rounds in which it was raised again after it was declined.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub raised_again: u32,
    /// What the author did about it, oldest first, each for the round
    /// (and id) it resolves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resolutions: Vec<Resolution>,
    /// The finding as the last report showed it, so that a later round
    /// can carry it over in full.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shown: Option<Box<ReportFinding>>,
    /// The inline review comment (`--post review`) of the last round it
    /// was posted in: its URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
}

impl Entry {
    /// The author's resolution of it as last raised, if any.
    pub fn resolution(&self) -> Option<&Resolution> {
        self.resolutions
            .iter()
            .rev()
            .find(|r| r.round == self.round)
    }
}

fn is_zero(n: &u32) -> bool {
    *n == 0
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
    #[error("{id} is Critical: it is {action} only with a reason")]
    CriticalWithoutReason { id: String, action: &'static str },
    #[error("{id} is {action} only with a reason")]
    NoReason { id: String, action: &'static str },
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
        let _lock =
            crate::files::FileLock::acquire(&path, || {}).map_err(|source| LedgerError::Lock {
                path: path.with_extension("lock"),
                source,
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
        crate::files::write_json(path, self).map_err(|source| LedgerError::Write {
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
                let state = match (&e.status, e.resolution()) {
                    (Status::Declined { since, reason }, r) => {
                        let verb = r.map_or("declined", |r| r.action.word());
                        format!("{verb} by the author in round {since}: {reason}")
                    }
                    (_, Some(r)) => format!(
                        "open; the author says {} — check that against the code",
                        r.describe()
                    ),
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

    /// The entry an id names: of the entries last raised with it, the one
    /// raised latest (an older one keeps the id of a round long gone).
    fn find_mut(&mut self, id: &str) -> Result<&mut Entry, LedgerError> {
        let i = owner_of(&self.entries, id)
            .ok_or_else(|| LedgerError::Unknown { id: id.to_string() })?;
        Ok(&mut self.entries[i])
    }

    /// Records what the author did about a finding of the last round it
    /// was raised in. Skipping and declining are decisions: the finding is
    /// not raised as new again, and they need a reason (a Critical one is
    /// declined only with a reason). A new resolution of the same round
    /// replaces the old one.
    pub fn resolve(&mut self, id: &str, mut resolution: Resolution) -> Result<&Entry, LedgerError> {
        let since = self.last_round();
        let entry = self.find_mut(id)?;
        let action = resolution.action;
        resolution.reason = resolution.reason.trim().to_string();
        if resolution.reason.is_empty() {
            if action == Action::Skipped {
                return Err(LedgerError::NoReason {
                    id: entry.id.clone(),
                    action: "skipped",
                });
            }
            if action == Action::Declined && entry.severity == Severity::Critical {
                return Err(LedgerError::CriticalWithoutReason {
                    id: entry.id.clone(),
                    action: "declined",
                });
            }
        }
        resolution.id = entry.id.clone();
        resolution.round = entry.round;
        if action.is_decision() {
            let reason = match (resolution.reason.as_str(), &resolution.by) {
                ("", Some(by)) => format!("no reason given ({by})"),
                ("", None) => "no reason given".to_string(),
                (reason, Some(by)) => format!("{reason} ({by})"),
                (reason, None) => reason.to_string(),
            };
            entry.status = Status::Declined { since, reason };
        } else if matches!(entry.status, Status::Declined { .. }) {
            entry.status = Status::Open;
        }
        entry.resolutions.retain(|r| r.round != resolution.round);
        entry.resolutions.push(resolution);
        Ok(entry)
    }

    /// `resolve` with `declined`, for `deep-review decline`.
    pub fn decline(&mut self, id: &str, reason: &str, at: &str) -> Result<&Entry, LedgerError> {
        self.resolve(
            id,
            Resolution {
                id: String::new(),
                round: 0,
                action: Action::Declined,
                reason: reason.to_string(),
                commits: Vec::new(),
                by: None,
                at: at.to_string(),
            },
        )
    }

    /// Takes back the resolution of the finding's last round: it is open.
    pub fn reopen(&mut self, id: &str) -> Result<&Entry, LedgerError> {
        let entry = self.find_mut(id)?;
        entry.status = Status::Open;
        let round = entry.round;
        entry.resolutions.retain(|r| r.round != round);
        Ok(entry)
    }

    /// Every resolution recorded for the findings of `round`, by id.
    pub fn resolutions_of(&self, round: u32) -> Vec<Resolution> {
        let mut all: Vec<Resolution> = self
            .entries
            .iter()
            .flat_map(|e| e.resolutions.iter().filter(|r| r.round == round).cloned())
            .collect();
        all.sort_by_key(|r| crate::domain::id_order(&r.id));
        all
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
            let Some(now) = current
                .entries
                .iter()
                .find(|e| same_finding(&e.fingerprint, &entry.fingerprint))
            else {
                continue;
            };
            // Reopened since: the replay started from the decline.
            if matches!(entry.status, Status::Declined { .. }) && now.status == Status::Open {
                entry.status = Status::Open;
            }
            // Resolutions recorded since, under the id the finding has now
            // when they resolve the round replayed.
            for r in &now.resolutions {
                let known = entry
                    .resolutions
                    .iter()
                    .any(|x| x.round == r.round && x.action == r.action && x.at == r.at);
                if !known {
                    let mut r = r.clone();
                    if r.round == entry.round {
                        r.id = entry.id.clone();
                    }
                    entry.resolutions.retain(|x| x.round != r.round);
                    entry.resolutions.push(r);
                }
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

/// Which entry an id names: the latest raised of those that have it.
fn owner_of(entries: &[Entry], id: &str) -> Option<usize> {
    entries
        .iter()
        .enumerate()
        .filter(|(_, e)| e.id.eq_ignore_ascii_case(id))
        .max_by_key(|(i, e)| (e.round, *i))
        .map(|(i, _)| i)
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

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub fn fp(path: &str, anchor_code: &str, claim: &str) -> Fingerprint {
        Fingerprint {
            path: path.into(),
            anchor: anchor(anchor_code),
            claim: claim.into(),
        }
    }

    pub fn resolution(action: Action, id: &str, round: u32) -> Resolution {
        Resolution {
            id: id.into(),
            round,
            action,
            reason: String::new(),
            commits: vec!["abc1234".into()],
            by: None,
            at: "2026-11-30T10:00:00Z".into(),
        }
    }

    pub fn entry(id: &str) -> Entry {
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
            raised_again: 0,
            resolutions: Vec::new(),
            shown: None,
            comment: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::entry;
    use super::*;

    /// The next round's prompt lists the open and the declined findings,
    /// one line each, and leaves out what was addressed.
    #[test]
    fn the_prompt_lists_open_and_declined_findings() {
        let mut declined = entry("S2");
        declined.status = Status::Declined {
            since: 1,
            reason: "by design".into(),
        };
        let mut addressed = entry("S3");
        addressed.status = Status::Addressed { since: 2 };
        let mut fixed = entry("I1");
        fixed
            .resolutions
            .push(test_support::resolution(Action::Fixed, "I1", 1));
        let ledger = Ledger {
            entries: vec![entry("S1"), declined, addressed, fixed],
            ..Ledger::default()
        };
        assert_eq!(
            ledger.prompt_lines(),
            [
                "`S1` (round 1): t — `stats.py:1` — open. mean() of an empty list raises ZeroDivisionError",
                "`S2` (round 1): t — `stats.py:1` — declined by the author in round 1: by design. mean() of an empty list raises ZeroDivisionError",
                "`I1` (round 1): t — `stats.py:1` — open; the author says fixed in abc1234 — check that against the code. mean() of an empty list raises ZeroDivisionError",
            ]
        );
    }

    /// A claim's first sentence stands for it in the prompt.
    #[test]
    fn the_prompt_gives_a_claims_first_sentence() {
        let mut e = entry("I1");
        e.fingerprint.claim = "mean() fails on []. It raises ZeroDivisionError.".into();
        let ledger = Ledger {
            entries: vec![e],
            ..Ledger::default()
        };
        assert!(
            ledger.prompt_lines()[0].ends_with("— open. mean() fails on []."),
            "{:?}",
            ledger.prompt_lines()
        );
    }

    /// The last round is the highest a finding was raised in, or the
    /// ledger's own when it is higher (a round with no findings).
    #[test]
    fn the_last_round_counts_findings_and_empty_rounds() {
        let mut e = entry("S1");
        e.round = 3;
        let mut ledger = Ledger {
            entries: vec![entry("S2"), e],
            ..Ledger::default()
        };
        assert_eq!(ledger.last_round(), 3);
        ledger.round = 5;
        assert_eq!(ledger.last_round(), 5);
        assert_eq!(Ledger::default().last_round(), 0);
    }

    /// Only a later decline of the same finding carries over; an open
    /// finding elsewhere stays open.
    #[test]
    fn only_a_decline_of_the_same_finding_carries_over() {
        let mut other = entry("S9");
        other.fingerprint = test_support::fp("other.py", "x = 1", "unrelated claim about x");
        other.status = Status::Declined {
            since: 2,
            reason: "no".into(),
        };
        let current = Ledger {
            entries: vec![other],
            ..Ledger::default()
        };
        let mut after = Ledger {
            entries: vec![entry("S1")],
            ..Ledger::default()
        };
        after.carry_over(&current, "run-2", 2);
        assert_eq!(after.entries[0].status, Status::Open);
    }

    /// A missing ledger is an empty one; an unreadable one is an error,
    /// never silently empty.
    #[test]
    fn a_missing_ledger_is_empty_and_an_unreadable_one_an_error() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Ledger::load(dir.path()).unwrap(), Ledger::default());
        let not_a_file = dir.path().join("ledger.json");
        std::fs::create_dir(&not_a_file).unwrap();
        assert!(matches!(
            Ledger::load(dir.path()),
            Err(LedgerError::Read { .. })
        ));
        std::fs::remove_dir(&not_a_file).unwrap();
        std::fs::write(&not_a_file, "{").unwrap();
        assert!(matches!(
            Ledger::load(dir.path()),
            Err(LedgerError::Parse { .. })
        ));
    }

    /// `raised_again` is written only once it counts something, so older
    /// ledgers and new ones read alike.
    #[test]
    fn raised_again_is_written_only_when_counted() {
        let mut e = entry("S1");
        assert!(
            serde_json::to_value(&e)
                .unwrap()
                .get("raised_again")
                .is_none()
        );
        e.raised_again = 2;
        assert_eq!(serde_json::to_value(&e).unwrap()["raised_again"], 2);
        let read: Entry =
            serde_json::from_value(serde_json::to_value(entry("S1")).unwrap()).unwrap();
        assert_eq!(read.raised_again, 0);
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
            recorded_at: None,
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
            recorded_at: None,
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

    /// An id names the entry raised latest with it: an older entry that
    /// kept the id of a round long gone is not resolved by mistake.
    #[test]
    fn an_id_names_the_latest_finding_with_it() {
        let mut old = entry("I2");
        old.status = Status::Addressed { since: 2 };
        let mut new = entry("I2");
        new.round = 2;
        new.fingerprint = test_support::fp("other.py", "x = 1", "another claim entirely");
        let mut ledger = Ledger {
            entries: vec![old, new],
            ..Ledger::default()
        };
        ledger
            .decline("i2", "by design", "2026-11-30T00:00:00Z")
            .unwrap();
        assert_eq!(ledger.entries[0].status, Status::Addressed { since: 2 });
        assert_eq!(ledger.entries[1].status.name(), "declined");
        assert_eq!(ledger.entries[1].resolutions[0].round, 2);
        // Reopened: open again, the resolution taken back.
        ledger.reopen("I2").unwrap();
        assert_eq!(ledger.entries[1].status, Status::Open);
        assert!(ledger.entries[1].resolutions.is_empty());
        assert!(matches!(
            ledger.resolve("S1", test_support::resolution(Action::Skipped, "", 0)),
            Err(LedgerError::Unknown { .. })
        ));
        let mut skip = test_support::resolution(Action::Skipped, "", 0);
        skip.commits.clear();
        assert!(matches!(
            ledger.resolve("I2", skip),
            Err(LedgerError::NoReason { .. })
        ));
    }

    /// `consolidate RUN` replays a run against the ledger it started from;
    /// what was resolved or reopened since stays, under the ids the replay
    /// gave.
    #[test]
    fn a_replayed_round_keeps_resolutions_and_reopens_made_since() {
        let mut fixed = entry("I1");
        fixed
            .resolutions
            .push(test_support::resolution(Action::Fixed, "I1", 1));
        let mut reopened_now = entry("S1");
        reopened_now.fingerprint = test_support::fp(
            "median.py",
            "ordered = sorted(values)",
            "median ignores the middle pair",
        );
        let current = Ledger {
            entries: vec![fixed, reopened_now.clone()],
            ..Ledger::default()
        };
        let mut replayed_fixed = entry("I3");
        replayed_fixed.resolutions.clear();
        let mut declined_then = reopened_now;
        declined_then.status = Status::Declined {
            since: 1,
            reason: "by design".into(),
        };
        let mut after = Ledger {
            entries: vec![replayed_fixed, declined_then],
            ..Ledger::default()
        };
        after.carry_over(&current, "run-1", 1);
        let r = after.entries[0].resolution().expect("carried over");
        assert_eq!((r.action, r.id.as_str()), (Action::Fixed, "I3"));
        assert_eq!(after.entries[1].status, Status::Open);
        // Applied twice, nothing doubles.
        after.carry_over(&current, "run-1", 1);
        assert_eq!(after.entries[0].resolutions.len(), 1);
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
}
