//! Earlier findings nobody raised this round: what the author recorded and
//! the reviewers said of them, checked against the new head. Nothing is
//! called addressed on silence: a finding neither resolved nor said to be
//! addressed is carried over in full.

use super::fingerprint::{Fingerprint, anchor};
use super::{Entry, one_line};
use crate::domain::Action;
use crate::findings::Category;
use crate::findings::answer::PriorState;
use crate::report::model::{EvidenceStatus, HeadCheck, ReportFinding};

/// The code a fingerprint quotes, looked up at the new head.
pub fn head_check(fp: &Fingerprint, code_at_head: &dyn Fn(&str) -> Option<String>) -> HeadCheck {
    match code_at_head(&fp.path) {
        None => HeadCheck::FileGone,
        Some(_) if fp.anchor.is_empty() => HeadCheck::NoQuote,
        Some(text) if anchor(&text).contains(fp.anchor.as_str()) => HeadCheck::QuoteStillPresent,
        Some(_) => HeadCheck::CodeChanged,
    }
}

/// What becomes of an open finding nobody raised this round.
#[derive(Debug, Clone, PartialEq)]
pub enum Fate {
    /// Shown again in full, with what does not add up.
    Carry { flag: Option<String> },
    /// A reviewer said it was addressed.
    Addressed,
    /// The author resolved it and the head agrees.
    Resolved,
    /// A reviewer said so, or its file is gone.
    NoLongerApplies,
}

pub fn fate(entry: &Entry, said: Option<PriorState>, check: HeadCheck) -> Fate {
    let resolution = entry.resolution();
    let fixed_but_there = resolution
        .filter(|r| r.action == Action::Fixed && check == HeadCheck::QuoteStillPresent)
        .map(|r| {
            format!(
                "marked {} after round {}, but the quoted code is still there at the new head",
                r.describe(),
                r.round
            )
        });
    match (said, resolution.map(|r| r.action)) {
        (Some(PriorState::NoLongerApplies), _) => Fate::NoLongerApplies,
        // The author said so and a reviewer agrees.
        (
            Some(PriorState::Addressed),
            Some(Action::Fixed | Action::TestAdded | Action::Documented),
        ) => Fate::Resolved,
        (Some(PriorState::Addressed), _) => Fate::Addressed,
        (Some(PriorState::StillOpen), _) => Fate::Carry {
            flag: fixed_but_there,
        },
        (None, Some(Action::Fixed)) if fixed_but_there.is_some() => Fate::Carry {
            flag: fixed_but_there,
        },
        // A test or documentation changes no code to check: a Critical is
        // settled that way only when a reviewer agrees.
        (None, Some(Action::TestAdded | Action::Documented))
            if entry.severity == crate::domain::Severity::Critical =>
        {
            Fate::Carry {
                flag: resolution.map(|r| {
                    format!(
                        "marked {} after round {}; a Critical is settled that way only when a reviewer confirms it",
                        r.describe(),
                        r.round
                    )
                }),
            }
        }
        (None, Some(Action::Fixed | Action::TestAdded | Action::Documented)) => Fate::Resolved,
        (None, _) if check == HeadCheck::FileGone => Fate::NoLongerApplies,
        (None, _) => Fate::Carry { flag: None },
    }
}

/// The finding to show again: as the last report showed it (or as much
/// of it as an older ledger kept), moved to where its quote now is.
pub fn carried_finding(
    entry: &Entry,
    check: HeadCheck,
    flag: Option<String>,
    code_at_head: &dyn Fn(&str) -> Option<String>,
) -> ReportFinding {
    let mut f = match &entry.shown {
        Some(shown) => (**shown).clone(),
        None => ReportFinding {
            id: String::new(),
            severity: entry.severity,
            category: Category::Gap,
            title: entry.title.clone(),
            path: entry.fingerprint.path.clone(),
            line_start: entry.line,
            line_end: entry.line,
            agents: Vec::new(),
            evidence: EvidenceStatus::Unverified,
            evidence_note: None,
            excerpt: None,
            language: String::new(),
            // The claim is "title. body".
            body: entry
                .fingerprint
                .claim
                .strip_prefix(&format!("{}. ", entry.title.trim()))
                .unwrap_or(&entry.fingerprint.claim)
                .to_string(),
            fix: String::new(),
            severity_note: None,
            prior: None,
            resolution: None,
            flags: Vec::new(),
            sources: Vec::new(),
            related: Vec::new(),
        },
    };
    f.id = String::new();
    f.prior = Some(format!(
        "carried over from round {} as {}: not raised again this round ({})",
        entry.round,
        entry.id,
        check.label()
    ));
    f.resolution = entry.resolution().cloned();
    f.flags = flag.into_iter().collect();
    // Nobody raised it this round: its sources were last round's.
    f.sources = Vec::new();
    f.severity_note = None;
    if check == HeadCheck::QuoteStillPresent
        && let (Some(text), Some(excerpt)) = (code_at_head(&f.path), f.excerpt.as_deref())
        && let Some((start, end)) = locate(&text, excerpt)
    {
        f.line_start = start;
        f.line_end = end;
    } else if check != HeadCheck::QuoteStillPresent {
        f.evidence = EvidenceStatus::Unverified;
        f.evidence_note = Some(format!(
            "as quoted in round {}; {} at this round's head",
            entry.round,
            check.label()
        ));
    }
    f
}

/// The 1-based lines of `text` that hold `excerpt`, whitespace folded.
fn locate(text: &str, excerpt: &str) -> Option<(u32, u32)> {
    let wanted: Vec<String> = anchor(excerpt).lines().map(str::to_string).collect();
    if wanted.is_empty() {
        return None;
    }
    let lines: Vec<(usize, String)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i, one_line(l)))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let last = wanted.len() - 1;
    lines.windows(wanted.len()).find_map(|w| {
        let same = w
            .iter()
            .zip(&wanted)
            .enumerate()
            .all(|(k, ((_, l), want))| {
                // The anchor's last line may be a cut excerpt line's kept part.
                if k == last {
                    l.starts_with(want.as_str())
                } else {
                    l == want
                }
            });
        same.then(|| (w[0].0 as u32 + 1, w[last].0 as u32 + 1))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rounds::test_support::{entry, fp, resolution};

    fn code(text: &'static str) -> impl Fn(&str) -> Option<String> {
        move |path| (path == "stats.py").then(|| text.to_string())
    }

    fn resolved(action: Action) -> Entry {
        let mut e = entry("I1");
        e.resolutions.push(resolution(action, "I1", 1));
        e
    }

    #[test]
    fn the_head_says_whether_the_quote_is_still_there() {
        let print = fp("stats.py", "return sum(values) / len(values)", "claim");
        let here = "def mean(values):\n    return sum(values)  /  len(values)\n";
        assert_eq!(
            head_check(&print, &code(here)),
            HeadCheck::QuoteStillPresent
        );
        assert_eq!(
            head_check(&print, &code("def mean(values):\n    return 0\n")),
            HeadCheck::CodeChanged
        );
        assert_eq!(head_check(&print, &|_: &str| None), HeadCheck::FileGone);
        let unquoted = fp("stats.py", "", "claim");
        assert_eq!(head_check(&unquoted, &code(here)), HeadCheck::NoQuote);
    }

    /// Silence never settles a finding; the author's word and the
    /// reviewers' do, checked against the head.
    #[test]
    fn an_unraised_finding_is_settled_only_by_someone_saying_so() {
        use HeadCheck::*;
        let open = entry("I1");
        for check in [QuoteStillPresent, CodeChanged, NoQuote] {
            assert_eq!(
                fate(&open, None, check),
                Fate::Carry { flag: None },
                "{check:?}"
            );
        }
        assert_eq!(fate(&open, None, FileGone), Fate::NoLongerApplies);
        assert_eq!(
            fate(&open, Some(PriorState::Addressed), QuoteStillPresent),
            Fate::Addressed
        );
        assert_eq!(
            fate(&open, Some(PriorState::NoLongerApplies), QuoteStillPresent),
            Fate::NoLongerApplies
        );
        assert_eq!(
            fate(&open, Some(PriorState::StillOpen), CodeChanged),
            Fate::Carry { flag: None }
        );

        let fixed = resolved(Action::Fixed);
        assert_eq!(fate(&fixed, None, CodeChanged), Fate::Resolved);
        assert_eq!(fate(&fixed, None, FileGone), Fate::Resolved);
        let flag = Some(
            "marked fixed in abc1234 after round 1, but the quoted code is still there at the new head"
                .to_string(),
        );
        assert_eq!(
            fate(&fixed, None, QuoteStillPresent),
            Fate::Carry { flag: flag.clone() }
        );
        assert_eq!(
            fate(&fixed, Some(PriorState::StillOpen), QuoteStillPresent),
            Fate::Carry { flag }
        );
        assert_eq!(
            fate(&fixed, Some(PriorState::Addressed), QuoteStillPresent),
            Fate::Resolved,
            "the author and a reviewer agree"
        );
        assert_eq!(
            fate(
                &resolved(Action::Commented),
                Some(PriorState::Addressed),
                CodeChanged
            ),
            Fate::Addressed
        );
        // A test or documentation leaves the code as it was; a Critical is
        // settled that way only when a reviewer confirms.
        for action in [Action::TestAdded, Action::Documented] {
            assert_eq!(
                fate(&resolved(action), None, QuoteStillPresent),
                Fate::Resolved
            );
            let mut critical = resolved(action);
            critical.severity = crate::domain::Severity::Critical;
            assert!(
                matches!(
                    fate(&critical, None, QuoteStillPresent),
                    Fate::Carry { flag: Some(_) }
                ),
                "{action:?}"
            );
            assert_eq!(
                fate(&critical, Some(PriorState::Addressed), QuoteStillPresent),
                Fate::Resolved
            );
        }
        // A comment is an answer, not a resolution.
        assert_eq!(
            fate(&resolved(Action::Commented), None, CodeChanged),
            Fate::Carry { flag: None }
        );
    }

    #[test]
    fn a_carried_finding_moves_to_where_its_quote_now_is() {
        let mut e = resolved(Action::Commented);
        let mut shown = carried_finding(&entry("I1"), HeadCheck::NoQuote, None, &|_: &str| None);
        shown.excerpt = Some("    total = sum(values)\n    return total / len(values)".into());
        shown.line_start = 3;
        shown.line_end = 4;
        shown.sources = vec!["claude:F1".into()];
        shown.evidence = EvidenceStatus::Verified;
        shown.evidence_note = None;
        e.shown = Some(Box::new(shown));
        let head = "import math\n\n\ndef mean(values):\n    total = sum(values)\n    return total / len(values)\n";
        let f = carried_finding(
            &e,
            HeadCheck::QuoteStillPresent,
            Some("flag".into()),
            &code(head),
        );
        assert_eq!((f.line_start, f.line_end), (5, 6));
        assert_eq!(f.evidence, EvidenceStatus::Verified);
        assert_eq!(f.flags, ["flag"]);
        assert!(f.sources.is_empty());
        assert_eq!(
            f.resolution.as_ref().map(|r| r.action),
            Some(Action::Commented)
        );
        assert_eq!(
            f.prior.as_deref(),
            Some(
                "carried over from round 1 as I1: not raised again this round (quoted code still present)"
            )
        );
        let moved = carried_finding(&e, HeadCheck::CodeChanged, None, &code(head));
        assert_eq!((moved.line_start, moved.line_end), (3, 4));
        assert_eq!(moved.evidence, EvidenceStatus::Unverified);
        assert_eq!(
            moved.evidence_note.as_deref(),
            Some("as quoted in round 1; code changed at its location at this round's head")
        );
    }

    #[test]
    fn a_quote_is_located_whitespace_folded_and_cut_lines_by_their_start() {
        let text = "a\n  x =  1\n\n  y = 2 + 3\nz\n";
        assert_eq!(locate(text, "x = 1\ny = 2 + 3"), Some((2, 4)));
        assert_eq!(locate(text, "x = 1\ny = 2 …"), Some((2, 4)));
        assert_eq!(locate(text, "q"), None);
        assert_eq!(locate(text, ""), None);
    }
}
