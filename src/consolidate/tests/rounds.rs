//! Rounds through the consolidation: sorted out against the ledger before
//! ids are given, then recorded.

use serde_json::json;

use super::*;
use crate::consolidate::build::{Consolidation, Rounds, build};
use crate::domain::Severity;
use crate::domain::{Action, Resolution};
use crate::findings::Finding;
use crate::findings::answer::PriorState;
use crate::report::model::{DropKind, HeadCheck, PriorOutcome};
use crate::rounds::{Ledger, Status};

/// Two rounds over a ledger: round 1's findings enter it; in round 2 one
/// declined finding whose code is unchanged is dropped as such before ids
/// are given, one whose code changed is shown again with its history.
#[test]
fn a_declined_finding_is_sorted_out_before_it_gets_an_id() {
    let agents = [agent("claude")];
    let round1 = [
        verified(
            "claude:1",
            Severity::Critical,
            ("lock.rs", 4),
            "let a = first.lock();",
        ),
        verified(
            "claude:2",
            Severity::Suggestion,
            ("lock.rs", 9),
            "sleep(42)",
        ),
        verified("claude:3", Severity::Suggestion, ("lock.rs", 20), "retry()"),
    ]
    .map(|mut f| {
        // Claims as different as real ones: the ledger tells them apart.
        let title = match f.key.as_str() {
            "claude:1" => "Lock taken in the wrong order",
            "claude:2" => "Magic number in the sleep",
            _ => "Retry loop never gives up",
        };
        f.raw.title = title.into();
        f.raw.body = format!("{title}, explained.");
        f
    });
    let mut ledger = Ledger::default();
    let priors = Vec::new();
    let rounds = |ledger: &mut Ledger, findings: &[Finding], round: u32| {
        build(
            &inputs(&agents, findings, round),
            Consolidation::NotPerformed {
                reason: "off".into(),
            },
            Some(Rounds {
                ledger,
                priors: &priors,
                code_at_head: &|_| None,
                recorded_at: "2026-11-30T00:00:00Z",
            }),
        )
    };
    let r1 = rounds(&mut ledger, &round1, 1);
    assert_eq!(ids(&r1).len(), 3);
    ledger
        .decline("C1", "lock order is documented", "2026-11-30T00:00:00Z")
        .unwrap();
    ledger
        .decline("S1", "cosmetic", "2026-11-30T00:00:00Z")
        .unwrap();

    // Round 2: C1's code changed, S1's did not.
    let mut round2 = round1.clone();
    round2[0].checked.excerpt = Some("let b = second.lock();\nlet a = first.lock();".into());
    let r2 = rounds(&mut ledger, &round2, 2);
    assert_eq!(
        ids(&r2),
        [
            ("C1", "Lock taken in the wrong order"),
            ("S1", "Retry loop never gives up")
        ],
        "S1 of round 1 takes no id; the next suggestion is S1"
    );
    assert_eq!(
        r2.findings[0].prior.as_deref(),
        Some(
            "declined in round 1 as C1 (lock order is documented); raised again because the code it concerns changed"
        )
    );
    assert_eq!(
        r2.findings[1].prior.as_deref(),
        Some("raised in round 1 as S2")
    );
    assert_eq!(dropped(&r2), [("claude:2", DropKind::DeclinedBefore)]);
    assert_eq!(r2.dropped[0].reason, "declined in round 1 as S1: cosmetic");
    // Every id the report mentions is one it shows.
    assert_eq!(
        r2.appendix[0].id_map,
        [
            ("1".to_string(), "C1".to_string()),
            ("2".to_string(), "dropped (declined before)".to_string()),
            ("3".to_string(), "S1".to_string()),
        ]
    );
    let declined: Vec<(&str, bool)> = r2
        .declined
        .iter()
        .map(|d| (d.title.as_str(), d.code_changed))
        .collect();
    assert_eq!(
        declined,
        [
            ("Lock taken in the wrong order", true),
            ("Magic number in the sleep", false)
        ]
    );
    // Who raised each declined finding again, and how often since.
    let again: Vec<(Vec<String>, u32)> = r2
        .declined
        .iter()
        .map(|d| (d.raised_again_by.clone(), d.rounds_raised_again))
        .collect();
    assert_eq!(
        again,
        [
            (vec!["Claude".to_string()], 1),
            (vec!["Claude".to_string()], 1)
        ]
    );
    let r3 = rounds(&mut ledger, &round2, 3);
    assert_eq!(r3.declined[1].rounds_raised_again, 2);
    assert!(
        crate::report::render(&r3, crate::config::Format::Md, None).contains(
            "declined — cosmetic. Raised again this round by Claude (in 2 rounds since it was declined)."
        )
    );
    // Round 4: only the suggestion comes back; the Critical is not said
    // to be raised again.
    let r4 = rounds(&mut ledger, &round2[1..], 4);
    let again: Vec<(&str, usize)> = r4
        .declined
        .iter()
        .map(|d| (d.id.as_str(), d.raised_again_by.len()))
        .collect();
    assert_eq!(again, [("C1", 0), ("S1", 1)]);
    assert_eq!(r2.counts.critical + r2.counts.suggestion, 2);
    // The author's decisions stand; the re-raised suggestion takes its new id.
    let statuses: Vec<(&str, &str)> = ledger
        .entries
        .iter()
        .map(|e| (e.id.as_str(), e.status.name()))
        .collect();
    assert_eq!(
        statuses,
        [("C1", "declined"), ("S1", "declined"), ("S1", "open")]
    );
    assert!(
        r2.summary.starts_with(
            "Since round 1: skipped or declined by the author: C1 declined (lock order is documented), \
             S1 declined (cosmetic). Raised again: C1, raised in round 1 as C1 (Lock taken in the wrong order); \
             S1, raised in round 1 as S2 (Retry loop never gives up)."
        ),
        "{}",
        r2.summary
    );
    let rows: Vec<(&str, PriorOutcome, Option<&str>)> = r2
        .prior_round
        .iter()
        .map(|p| (p.id.as_str(), p.outcome, p.now_id.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            ("C1", PriorOutcome::DeclinedRaisedAgain, Some("C1")),
            ("S1", PriorOutcome::DeclinedRaisedAgain, None),
            ("S2", PriorOutcome::RaisedAgain, Some("S1")),
        ]
    );
}

/// A finding nobody raised again is settled only by someone's word: a
/// reviewer's, or the author's resolution checked against the head. One
/// neither resolved nor said to be addressed is carried over in full.
#[test]
fn a_finding_not_raised_again_is_carried_over_unless_someone_settles_it() {
    let agents = [agent("claude")];
    let round1 = [
        verified(
            "claude:1",
            Severity::Critical,
            ("lock.rs", 4),
            "let a = first.lock();",
        ),
        verified(
            "claude:2",
            Severity::Suggestion,
            ("gone.rs", 9),
            "sleep(42)",
        ),
        verified("claude:3", Severity::Important, ("lock.rs", 7), "retry()"),
    ];
    let mut first = Ledger::default();
    let none = Vec::new();
    let at_head = |path: &str| {
        (path == "lock.rs").then(|| "fn x() {\n\n    let a = first.lock();\n}\n".to_string())
    };
    build(
        &inputs(&agents, &round1, 1),
        decided(json!({})),
        Some(Rounds {
            ledger: &mut first,
            priors: &none,
            code_at_head: &at_head,
            recorded_at: "2026-11-30T00:00:00Z",
        }),
    );
    let round2 = |ledger: &Ledger, priors: Vec<(String, PriorState)>| {
        let mut ledger = ledger.clone();
        let r = build(
            &inputs(&agents, &[], 2),
            decided(json!({})),
            Some(Rounds {
                ledger: &mut ledger,
                priors: &priors,
                code_at_head: &at_head,
                recorded_at: "2026-11-30T00:00:00Z",
            }),
        );
        (ledger, r)
    };
    let (ledger, r) = round2(&first, Vec::new());
    let statuses: Vec<&str> = ledger.entries.iter().map(|e| e.status.name()).collect();
    assert_eq!(statuses, ["open", "open", "no longer applies"]);
    // Carried over in full, under this round's ids, at the quote's new line.
    assert_eq!(
        ids(&r),
        [("C1", "claude:1 title"), ("I1", "claude:3 title")]
    );
    assert_eq!(r.findings[0].line_start, 3);
    assert_eq!(
        r.findings[0].prior.as_deref(),
        Some(
            "carried over from round 1 as C1: not raised again this round (quoted code still present)"
        )
    );
    assert_eq!(
        r.findings[1].evidence,
        crate::report::model::EvidenceStatus::Unverified
    );
    assert_eq!(r.counts.critical, 1, "a carried Critical still counts");
    assert_eq!(ledger.entries[0].id, "C1");
    assert_eq!(ledger.entries[0].round, 2);
    assert!(
        r.summary.starts_with(
            "Since round 1: no longer applies: S1 (claude:2 title). Carried over, open and not raised again: \
             C1, from round 1 as C1 (claude:1 title); I1, from round 1 as I1 (claude:3 title)."
        ),
        "{}",
        r.summary
    );
    let rows: Vec<(&str, PriorOutcome, HeadCheck)> = r
        .prior_round
        .iter()
        .map(|p| (p.id.as_str(), p.outcome, p.head))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "C1",
                PriorOutcome::CarriedOver,
                HeadCheck::QuoteStillPresent
            ),
            ("I1", PriorOutcome::CarriedOver, HeadCheck::CodeChanged),
            ("S1", PriorOutcome::NoLongerApplies, HeadCheck::FileGone),
        ]
    );
    // The agents raised nothing this round: no agent is credited with the
    // carried findings.
    assert_eq!(r.agents[0].kept, 0);

    // A reviewer who says it is addressed is heard; one who says it is
    // still open keeps it carried over.
    let (ledger, _) = round2(&first, vec![("C1".into(), PriorState::Addressed)]);
    assert_eq!(ledger.entries[0].status, Status::Addressed { since: 2 });
    let (ledger, r) = round2(&first, vec![("C1".into(), PriorState::StillOpen)]);
    assert_eq!(ledger.entries[0].status, Status::Open);
    assert_eq!(ids(&r)[0].0, "C1");
    let (ledger, _) = round2(&first, vec![("c1".into(), PriorState::NoLongerApplies)]);
    assert_eq!(
        ledger.entries[0].status,
        Status::NoLongerApplies { since: 2 }
    );

    // The author's resolutions: "fixed" is checked against the head.
    let mut resolved = first.clone();
    let fix = |action: Action| Resolution {
        id: String::new(),
        round: 0,
        action,
        reason: String::new(),
        commits: vec!["abc1234".into()],
        by: None,
        at: "2026-11-30T00:00:00Z".into(),
    };
    resolved.resolve("C1", fix(Action::Fixed)).unwrap();
    resolved.resolve("I1", fix(Action::Fixed)).unwrap();
    let (ledger, r) = round2(&resolved, Vec::new());
    assert_eq!(
        ids(&r),
        [("C1", "claude:1 title")],
        "I1's code changed: fixed"
    );
    assert_eq!(
        r.findings[0].flags,
        [
            "marked fixed in abc1234 after round 1, but the quoted code is still there at the new head"
        ]
    );
    assert_eq!(
        r.findings[0].resolution.as_ref().map(|r| r.action),
        Some(Action::Fixed)
    );
    assert_eq!(ledger.entries[1].status, Status::Addressed { since: 2 });
    let rows: Vec<(&str, PriorOutcome, Option<&str>)> = r
        .prior_round
        .iter()
        .map(|p| (p.id.as_str(), p.outcome, p.note.as_deref()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "C1",
                PriorOutcome::CarriedOver,
                Some("marked fixed in abc1234, but the quoted code is still there")
            ),
            ("I1", PriorOutcome::ConfirmedFixed, None),
            ("S1", PriorOutcome::NoLongerApplies, None),
        ]
    );
    assert!(
        r.summary
            .starts_with("Since round 1: resolved by the author: I1 fixed in abc1234; no longer applies: S1 (claude:2 title). Carried over, open and not raised again: C1, from round 1 as C1, marked fixed in abc1234 (claude:1 title)."),
        "{}",
        r.summary
    );
}

/// A ledger entry goes to the most severe finding that matches it, in
/// whatever order the consolidator listed its groups.
#[test]
fn a_ledger_entry_goes_to_the_most_severe_match() {
    let agents = [agent("claude"), agent("codex")];
    let code = "return sum(values) / len(values)";
    let round1 = [verified(
        "claude:1",
        Severity::Important,
        ("stats.py", 3),
        code,
    )];
    let mut ledger = Ledger::default();
    let priors = Vec::new();
    let rounds = |ledger: &mut Ledger, findings: &[Finding], round: u32, c: Consolidation| {
        build(
            &inputs(&agents, findings, round),
            c,
            Some(Rounds {
                ledger,
                priors: &priors,
                code_at_head: &|_| None,
                recorded_at: "2026-11-30T00:00:00Z",
            }),
        )
    };
    let off = || Consolidation::NotPerformed {
        reason: "off".into(),
    };
    rounds(&mut ledger, &round1, 1, off());
    ledger
        .decline("I1", "by design", "2026-11-30T00:00:00Z")
        .unwrap();
    // Both raise the same claim on the same code; the Suggestion is listed first.
    let mut a = verified("codex:1", Severity::Suggestion, ("stats.py", 3), code);
    a.raw.title = "claude:1 title".into();
    a.raw.body = "claude:1 body".into();
    let b = round1[0].clone();
    let r = rounds(
        &mut ledger,
        &[a, b],
        2,
        decided(json!({"groups": [
            group(&["codex:1"], "suggestion", json!({"title": "claude:1 title", "body": "claude:1 body"})),
            group(&["claude:1"], "important", json!({"title": "claude:1 title", "body": "claude:1 body"})),
        ]})),
    );
    assert_eq!(dropped(&r), [("claude:1", DropKind::DeclinedBefore)]);
    assert_eq!(ids(&r), [("S1", "claude:1 title")]);
}

/// A finding the author said was fixed, raised again in the next round,
/// shows what the author recorded; a new one shows nothing.
#[test]
fn a_finding_raised_again_shows_what_the_author_recorded() {
    let agents = [agent("claude")];
    let round1 = [verified(
        "claude:1",
        Severity::Important,
        ("lock.rs", 4),
        "let a = first.lock();",
    )];
    let mut ledger = Ledger::default();
    round_over(&mut ledger, &agents, &round1, 1);
    ledger
        .resolve(
            "I1",
            Resolution {
                id: "I1".into(),
                round: 1,
                action: Action::Fixed,
                reason: "locks taken in order now".into(),
                commits: vec!["abc1234".into()],
                by: None,
                at: "2026-11-30T10:00:00Z".into(),
            },
        )
        .unwrap();
    let mut round2 = round1.to_vec();
    round2.push(verified(
        "claude:2",
        Severity::Suggestion,
        ("new.rs", 1),
        "x()",
    ));
    let r2 = round_over(&mut ledger, &agents, &round2, 2);
    let again = r2.findings.iter().find(|f| f.path == "lock.rs").unwrap();
    let recorded = again.resolution.as_ref().expect("the author's record");
    assert_eq!(
        (recorded.action, recorded.reason.as_str()),
        (Action::Fixed, "locks taken in order now")
    );
    let new = r2.findings.iter().find(|f| f.path == "new.rs").unwrap();
    assert_eq!(new.resolution, None);
    assert_eq!(
        r2.prior_round[0].note.as_deref(),
        Some("marked fixed in abc1234 (locks taken in order now), yet raised again this round")
    );
}

/// A round run again under its number keeps what the first run found of
/// the round before: a finding whose file went is still "no longer
/// applies", not "addressed".
#[test]
fn a_rerun_round_keeps_a_no_longer_applies_row() {
    let agents = [agent("claude")];
    let round1 = [verified(
        "claude:1",
        Severity::Important,
        ("gone.rs", 4),
        "x()",
    )];
    let mut ledger = Ledger::default();
    round_over(&mut ledger, &agents, &round1, 1);
    for _ in 0..2 {
        let r2 = round_over(&mut ledger, &agents, &[], 2);
        let rows: Vec<(&str, PriorOutcome)> = r2
            .prior_round
            .iter()
            .map(|p| (p.id.as_str(), p.outcome))
            .collect();
        assert_eq!(rows, [("I1", PriorOutcome::NoLongerApplies)]);
    }
}

/// An entry an older version wrote (no finding kept with it), raised again
/// at other code, takes the new fingerprint like any other; a round run
/// again under the same number compares with the round before it.
#[test]
fn a_raised_again_entry_takes_the_new_fingerprint_and_a_rerun_round_looks_back_one() {
    let agents = [agent("claude")];
    let one = |quote: &str| {
        let mut f = verified("claude:1", Severity::Important, ("lock.rs", 4), quote);
        f.raw.title = "Lock taken in the wrong order".into();
        f.raw.body = "Lock taken in the wrong order, explained.".into();
        f
    };
    let mut ledger = Ledger::default();
    round_over(&mut ledger, &agents, &[one("let a = first.lock();")], 1);
    ledger.entries[0].shown = None;
    let moved = one("let a = first.lock(); // moved");
    let r2 = round_over(&mut ledger, &agents, std::slice::from_ref(&moved), 2);
    assert_eq!(
        r2.findings[0].prior.as_deref(),
        Some("raised in round 1 as I1")
    );
    assert!(
        ledger.entries[0].fingerprint.anchor.contains("moved"),
        "{:?}",
        ledger.entries[0].fingerprint
    );
    // Round 2 again (`--round 2`): the previous round is still round 1.
    let r2_again = round_over(&mut ledger, &agents, &[moved], 2);
    let rows: Vec<(u32, &str)> = r2_again
        .prior_round
        .iter()
        .map(|p| (p.round, p.id.as_str()))
        .collect();
    assert!(rows.iter().all(|(round, _)| *round == 1), "{rows:?}");
}

/// The previous round's table says no more than is known: a fix whose
/// file is gone is the author's word unless a reviewer confirms it (only
/// that finding's reviewer word counts), and a declined finding nobody
/// raised again is just declined, whatever became of other declined ones.
#[test]
fn the_previous_round_table_claims_no_more_than_is_known() {
    let agents = [agent("claude")];
    let round1 = [
        verified("claude:1", Severity::Important, ("gone.rs", 4), "x()"),
        verified("claude:2", Severity::Suggestion, ("keep.rs", 9), "y()"),
        verified("claude:3", Severity::Important, ("gone2.rs", 4), "w()"),
        verified("claude:4", Severity::Suggestion, ("keep.rs", 20), "q()"),
    ]
    .map(|mut f| {
        f.raw.title = format!("{} is a distinct claim number {}", f.key, f.key);
        f
    });
    let mut ledger = Ledger::default();
    let at_head = |path: &str| (path == "keep.rs").then(|| "y()\nq()\n".to_string());
    let run = |ledger: &mut Ledger,
               findings: &[Finding],
               round: u32,
               priors: &Vec<(String, PriorState)>| {
        build(
            &inputs(&agents, findings, round),
            decided(json!({})),
            Some(Rounds {
                ledger,
                priors,
                code_at_head: &at_head,
                recorded_at: "2026-11-30T00:00:00Z",
            }),
        )
    };
    let r1 = run(&mut ledger, &round1, 1, &Vec::new());
    assert_eq!(
        ids(&r1).iter().map(|(id, _)| *id).collect::<Vec<_>>(),
        ["I1", "I2", "S1", "S2"]
    );
    let fixed = |id: &str| Resolution {
        id: id.into(),
        round: 1,
        action: Action::Fixed,
        reason: String::new(),
        commits: vec!["abc1234".into()],
        by: None,
        at: "2026-11-30T10:00:00Z".into(),
    };
    ledger.resolve("I1", fixed("I1")).unwrap();
    ledger.resolve("I2", fixed("I2")).unwrap();
    ledger
        .decline("S1", "cosmetic", "2026-11-30T10:00:00Z")
        .unwrap();
    ledger
        .decline("S2", "cosmetic too", "2026-11-30T10:00:00Z")
        .unwrap();
    // Round 2: a reviewer confirms I2; S2 is raised again.
    let priors = vec![("I2".to_string(), PriorState::Addressed)];
    let r2 = run(&mut ledger, &[round1[3].clone()], 2, &priors);
    let rows: Vec<(&str, PriorOutcome)> = r2
        .prior_round
        .iter()
        .map(|p| (p.id.as_str(), p.outcome))
        .collect();
    assert_eq!(
        rows,
        [
            ("I1", PriorOutcome::Resolved),
            ("I2", PriorOutcome::ConfirmedFixed),
            ("S1", PriorOutcome::Declined),
            ("S2", PriorOutcome::DeclinedRaisedAgain),
        ]
    );
}

/// One round of `findings` by `agents` over `ledger`: no decisions, no
/// earlier statuses, no code at the head.
fn round_over(
    ledger: &mut Ledger,
    agents: &[AgentResult],
    findings: &[Finding],
    round: u32,
) -> Report {
    build(
        &inputs(agents, findings, round),
        decided(json!({})),
        Some(Rounds {
            ledger,
            priors: &Vec::new(),
            code_at_head: &|_| None,
            recorded_at: "2026-11-30T00:00:00Z",
        }),
    )
}
