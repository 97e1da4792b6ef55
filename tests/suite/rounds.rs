//! Reviewing one pull request over several rounds: what was addressed,
//! what came back (with its earlier id), and what the author declined.

use std::path::PathBuf;

use crate::common::github::MockGithub;
use crate::common::{Bed, demo_sample, git, json_run};
use assert_cmd::Command;
use serde_json::{Value, json};

const MATCH_REVIEW: &str = "You are one of several independent reviewers";
const MATCH_CONSOLIDATE: &str = "You are the consolidating reviewer";

fn finding(
    id: &str,
    sev: &str,
    title: &str,
    start: u32,
    end: u32,
    quote: &str,
    body: &str,
) -> Value {
    json!({"id": id, "severity": sev, "category": "gap", "title": title, "path": "stats.py",
           "line_start": start, "line_end": end, "quote": quote, "body": body, "fix": ""})
}

fn answer(findings: Vec<Value>, prior: Vec<Value>) -> Value {
    json!({"summary": "Statistics helpers.", "verdict": "merge_with_fixes", "verdict_reason": "see findings",
           "findings": findings, "design_observations": [], "testing": "", "documentation": "", "commits": "",
           "acknowledged_limitations": [], "tests_run": [], "prior_findings": prior})
}

fn denominator() -> Value {
    finding(
        "F1",
        "important",
        "mean() divides by len(values) - 1",
        9,
        9,
        "return divide(total, len(values) - 1)",
        "The denominator is n - 1, so every mean is too large.",
    )
}
fn empty_list(start: u32) -> Value {
    finding(
        "F2",
        "important",
        "mean() of an empty list raises ZeroDivisionError",
        start,
        start,
        "def mean(values):",
        "An empty list ends in a division by zero; callers get an unexplained exception.",
    )
}
fn median() -> Value {
    finding(
        "F3",
        "suggestion",
        "median() ignores the two middle values of an even-length list",
        12,
        15,
        "def median(values):\n    ordered = sorted(values)",
        "For [1, 2, 3, 4] it returns 3; the median is 2.5.",
    )
}

/// Claude and Codex review; Claude consolidates, keeping every finding
/// as its own group (keys given) and reporting on earlier findings.
fn scenario(
    findings: Vec<Value>,
    groups: Vec<(&str, &str, Vec<&str>)>,
    prior: Vec<Value>,
) -> Value {
    let decisions = json!({
        "groups": groups.iter().map(|(sev, title, members)| json!({"members": members, "severity": sev, "category": "gap",
            "title": title, "body": format!("{title}."), "fix": "", "severity_reason": null, "evidence_note": null})).collect::<Vec<_>>(),
        "dropped": [], "verdict": "merge_with_fixes", "verdict_reason": "see findings", "summary": "The helpers still need work.",
        "design_observations": [], "testing": "", "documentation": "", "commits": "", "acknowledged_limitations": [],
        "prior_findings": prior, "retro": [], "prompt_improvements": [], "context_updates": ["Numeric helpers must handle empty input."]
    });
    let review = answer(findings, prior);
    json!({"agents": [
        {"name": "consolidator", "protocol": "anthropic", "match_text": MATCH_CONSOLIDATE, "turns": [{"structured": decisions}]},
        {"name": "claude", "protocol": "anthropic", "match_text": MATCH_REVIEW, "turns": [
            {"tool_calls": [{"name": "Bash", "args": {"command": "cat stats.py", "description": "read"}}]},
            {"structured": review.clone()}]},
        {"name": "codex", "protocol": "openai", "match_text": MATCH_REVIEW, "turns": [
            {"tool_calls": [{"name": "exec_command", "args": {"cmd": "cat stats.py"}}]},
            {"text": "{\"summary\": \"ok\", \"findings\": []}"}]}
    ]})
}

struct Rounds {
    bed: Bed,
    gh: MockGithub,
    source: PathBuf,
    remote: PathBuf,
}

impl Rounds {
    async fn publish(&self) {
        self.publish_with(json!([]), json!([])).await;
    }

    /// Pushes the PR and serves it with these PR comments (conversation,
    /// review threads).
    async fn publish_with(&self, comments: Value, review_comments: Value) {
        git(
            &[
                "push",
                "--quiet",
                "--force",
                self.remote.to_str().unwrap(),
                "feature/stats:refs/pull/7/head",
                "main:main",
            ],
            &self.source,
        );
        let head = git(&["rev-parse", "refs/pull/7/head"], &self.remote);
        let base = git(&["rev-parse", "main"], &self.remote);
        self.gh.server.reset().await;
        self.gh
            .serve_pr(
                &format!("file://{}", self.remote.display()),
                &head,
                &base,
                false,
            )
            .await;
        self.gh.serve_comments(comments, review_comments).await;
    }

    fn cmd(&self) -> Command {
        let mut cmd = self.bed.deep_review(&self.source);
        cmd.env("DEEP_REVIEW_GITHUB_API_URL", self.gh.url())
            .env("DEEP_REVIEW_AGENTS", "claude,codex");
        Command::from_std(cmd)
    }

    fn review(&self) -> Value {
        json_run(
            self.cmd()
                .args(["pr", "7", "--repo", "acme/widget", "--format", "json"]),
            0,
        )
    }

    /// `deep-review consolidate RUN`, which must succeed.
    fn consolidate(&self, run: &str) {
        let out = self.cmd().args(["consolidate", run]).output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn show(&self, run: &str) -> Value {
        json_run(self.cmd().args(["show", run, "--format", "json"]), 0)
    }

    fn ledger(&self) -> Value {
        serde_json::from_str(
            &std::fs::read_to_string(
                self.bed
                    .path("data/deep-review/acme/widget/pr-7/ledger.json"),
            )
            .unwrap(),
        )
        .unwrap()
    }
}

fn ids(report: &Value) -> Vec<(String, String, Option<String>)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["title"].as_str().unwrap().to_string(),
                f["prior"].as_str().map(str::to_string),
            )
        })
        .collect()
}

/// A ledger without the time its last round was recorded, which a
/// replay of that round sets anew (its ids may have changed).
fn without_time(mut ledger: Value) -> Value {
    ledger.as_object_mut().unwrap().remove("recorded_at");
    ledger
}

/// A PR comment's time, `secs` after now: written after the last round's
/// report, as a real comment about its ids is.
fn stamp(secs: i64) -> String {
    (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs))
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

fn prior_round(report: &Value) -> Vec<(String, String, Option<String>)> {
    report["prior_round"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["id"].as_str().unwrap().to_string(),
                p["outcome"].as_str().unwrap().to_string(),
                p["now_id"].as_str().map(str::to_string),
            )
        })
        .collect()
}

fn statuses(ledger: &Value) -> Vec<(String, String)> {
    ledger["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["title"].as_str().unwrap().to_string(),
                e["status"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn rounds_know_what_was_addressed_what_came_back_and_what_was_declined() {
    const DENOM: &str = "mean() divides by len(values) - 1";
    const EMPTY: &str = "mean() of an empty list raises ZeroDivisionError";
    const MEDIAN: &str = "median() ignores the two middle values of an even-length list";
    let round1 = scenario(
        vec![denominator(), empty_list(4), median()],
        vec![
            ("important", DENOM, vec!["claude:F1"]),
            ("important", EMPTY, vec!["claude:F2"]),
            ("suggestion", MEDIAN, vec!["claude:F3"]),
        ],
        vec![],
    );
    let bed = Bed::start(round1).await;
    let source = bed.path("source");
    demo_sample(&source);
    let remote = bed.path("remote.git");
    git(
        &["init", "--quiet", "--bare", remote.to_str().unwrap()],
        bed.root.path(),
    );
    let gh = MockGithub::start().await;
    let r = Rounds {
        bed,
        gh,
        source,
        remote,
    };
    r.publish().await;

    // Round 1 raises three findings.
    let report = r.review();
    assert_eq!(report["run"]["round"], 1);
    assert_eq!(
        ids(&report),
        vec![
            ("I1".into(), DENOM.into(), None),
            ("I2".into(), EMPTY.into(), None),
            ("S1".into(), MEDIAN.into(), None),
        ]
    );
    assert_eq!(
        statuses(&r.ledger()),
        vec![
            (DENOM.into(), "open".into()),
            (EMPTY.into(), "open".into()),
            (MEDIAN.into(), "open".into())
        ]
    );

    // The author fixes the denominator in a new commit.
    let stats = r.source.join("stats.py");
    let fixed = std::fs::read_to_string(&stats)
        .unwrap()
        .replace("len(values) - 1", "len(values)");
    std::fs::write(&stats, fixed).unwrap();
    git(
        &["commit", "--quiet", "-am", "Divide by the count"],
        &r.source,
    );
    r.publish().await;
    let fix = git(&["rev-parse", "--short", "HEAD"], &r.source);

    // The author records it from a file made from the template: the
    // finding's line uncommented, the commit filled in.
    let template = r
        .cmd()
        .args(["resolve", "pr", "7", "--repo", "acme/widget", "--template"])
        .output()
        .unwrap();
    let template = String::from_utf8_lossy(&template.stdout).to_string();
    assert!(
        template.contains(&format!(
            "\n# I1 Important: {DENOM} (stats.py:9)\n#fixed I1 in COMMIT\n"
        )),
        "{template}"
    );
    let file = r.bed.path("resolutions.txt");
    std::fs::write(
        &file,
        template.replace("#fixed I1 in COMMIT", &format!("fixed I1 in {fix}")),
    )
    .unwrap();
    // A mistake in the file records nothing.
    let bad = r.bed.path("bad.txt");
    std::fs::write(&bad, format!("fixed I1 in {fix}\nskip S1\n")).unwrap();
    let out = r
        .cmd()
        .args(["resolve", "pr", "7", "--repo", "acme/widget", "--file"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("line 2: `skip` needs a reason"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(r.ledger()["entries"][0].get("resolutions").is_none());
    let out = r
        .cmd()
        .args(["resolve", "pr", "7", "--repo", "acme/widget", "--file"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("Recorded: I1 fixed in {fix} ({DENOM})\n"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    // Round 2: the agents were told about round 1 and no longer raise the
    // denominator; the other two come back.
    let prior = vec![json!({"id": "I1", "status": "addressed", "note": "fixed"})];
    let round2_scenario = scenario(
        vec![empty_list(4), median()],
        vec![
            ("important", EMPTY, vec!["claude:F2"]),
            ("suggestion", MEDIAN, vec!["claude:F3"]),
        ],
        prior,
    );
    r.bed
        .double
        .set_scenario(serde_json::from_value(round2_scenario.clone()).unwrap());
    let report = r.review();
    assert_eq!(report["run"]["round"], 2);
    let round2 = report["run"]["id"].as_str().unwrap().to_string();
    let prompt = r
        .bed
        .double
        .requests_for("claude")
        .iter()
        .rfind(|q| q.turn == 0)
        .unwrap()
        .body
        .to_string();
    assert!(
        prompt.contains("Findings from earlier rounds")
            && prompt.contains("`I1` (round 1): mean() divides by len(values) - 1"),
        "the prompt lists round 1's findings"
    );
    let round2_ids = vec![
        (
            "I1".to_string(),
            EMPTY.to_string(),
            Some("raised in round 1 as I2".to_string()),
        ),
        (
            "S1".to_string(),
            MEDIAN.to_string(),
            Some("raised in round 1 as S1".to_string()),
        ),
    ];
    // Each id says the round it belongs to: round 1's I1 and round 2's I1
    // are different findings.
    let round2_summary = format!(
        "Since round 1: resolved by the author: I1 fixed in {fix}. Raised again: I1, raised in round 1 as I2 (mean() of an empty list"
    );
    assert_eq!(ids(&report), round2_ids);
    let summary = report["summary"].as_str().unwrap();
    assert!(summary.starts_with(&round2_summary), "{summary}");
    assert_eq!(
        prior_round(&report),
        [
            ("I1".to_string(), "confirmed_fixed".to_string(), None),
            (
                "I2".to_string(),
                "raised_again".to_string(),
                Some("I1".to_string())
            ),
            (
                "S1".to_string(),
                "raised_again".to_string(),
                Some("S1".to_string())
            ),
        ]
    );
    assert_eq!(
        report["prior_round"][0]["resolution"]["commits"],
        json!([fix])
    );
    assert_eq!(
        statuses(&r.ledger()),
        vec![
            (DENOM.into(), "addressed".into()),
            (EMPTY.into(), "open".into()),
            (MEDIAN.into(), "open".into())
        ]
    );

    // The author declines the median suggestion.
    let out = r
        .cmd()
        .args([
            "decline",
            "pr",
            "7",
            "S1",
            "--repo",
            "acme/widget",
            "--reason",
            "upper median by design",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(statuses(&r.ledger())[2], (MEDIAN.into(), "declined".into()));

    // A collaborator says on the PR that the empty-list finding is fixed,
    // but the code is as it was.
    let claimed = "abcdef1";
    r.publish_with(
        json!([{"id": 5, "user": {"login": "maintainer"}, "author_association": "COLLABORATOR",
                "created_at": stamp(0), "body": format!("/deep-review fixed I1 in {claimed}")}]),
        json!([]),
    )
    .await;

    // Round 3: the agents raise the declined median again, but it is not
    // new; nobody raises the empty list, which is carried over in full and
    // flagged, its quoted code still being there.
    let round3_scenario = scenario(
        vec![median()],
        vec![("suggestion", MEDIAN, vec!["claude:F3"])],
        vec![],
    );
    r.bed
        .double
        .set_scenario(serde_json::from_value(round3_scenario).unwrap());
    let report = r.review();
    assert_eq!(report["run"]["round"], 3);
    assert_eq!(
        ids(&report),
        vec![(
            "I1".into(),
            EMPTY.into(),
            Some("carried over from round 2 as I1: not raised again this round (quoted code still present)".into())
        )]
    );
    assert_eq!(
        report["findings"][0]["flags"],
        json!([format!(
            "marked fixed in {claimed} after round 2, but the quoted code is still there at the new head"
        )])
    );
    assert_eq!(report["findings"][0]["resolution"]["by"], "@maintainer");
    assert_eq!(report["counts"]["important"], 1);
    assert_eq!(
        prior_round(&report),
        [
            (
                "I1".to_string(),
                "carried_over".to_string(),
                Some("I1".to_string())
            ),
            ("S1".to_string(), "declined_raised_again".to_string(), None),
        ]
    );
    // Round 2's report, shown now, ends with what was done about it.
    let shown = r.cmd().args(["show", &round2]).output().unwrap();
    let md = String::from_utf8_lossy(&shown.stdout);
    assert!(
        md.contains(&format!(" for round 2. Commits: {claimed}.\n"))
            && md.contains(&format!(
                "| # | Finding | Action | Reason |\n|---|---|---|---|\n\
                 | I1 | {EMPTY} | Fixed | in {claimed} — by maintainer on GitHub |\n\
                 | S1 | {MEDIAN} | Declined | upper median by design |\n"
            )),
        "{md}"
    );
    r.bed
        .double
        .set_scenario(serde_json::from_value(round2_scenario.clone()).unwrap());
    assert_eq!(report["declined"].as_array().unwrap().len(), 1);
    assert_eq!(report["declined"][0]["title"], MEDIAN);
    assert_eq!(report["declined"][0]["reason"], "upper median by design");
    let shown = r
        .cmd()
        .args(["show", report["run"]["id"].as_str().unwrap()])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&shown.stdout);
    assert!(md.contains("### Declined in prior rounds\n\n- **S1** median() ignores the two middle values of an even-length list (`stats.py`, round 2): declined — upper median by design."), "{md}");

    // A decline a collaborator wrote in a review thread is read at the
    // next round; a stranger's attempt to reopen the declined S1 is not,
    // nor the (fork) PR author's own decline of a finding about their code.
    r.publish_with(
        json!([{"id": 1, "user": {"login": "mallory"}, "author_association": "NONE",
                "created_at": stamp(1), "body": "/deep-review reopen S1"}]),
        json!([{"id": 3, "user": {"login": "octocat"}, "author_association": "CONTRIBUTOR",
                "created_at": stamp(2), "path": "stats.py", "line": 2,
                "body": "/deep-review decline I1: fine as is"},
               {"id": 2, "user": {"login": "maintainer"}, "author_association": "COLLABORATOR",
                "created_at": stamp(3), "path": "stats.py", "line": 2,
                "body": "Thanks!\n/deep-review decline I1: empty input is the caller's problem"}]),
    )
    .await;
    let report = r.review();
    assert_eq!(report["run"]["round"], 4);
    assert_eq!(ids(&report), vec![]);
    let declined: Vec<&str> = report["declined"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        declined,
        [
            "empty input is the caller's problem (@maintainer)",
            "upper median by design"
        ]
    );
    assert_eq!(
        statuses(&r.ledger()),
        vec![
            (DENOM.into(), "addressed".into()),
            (EMPTY.into(), "declined".into()),
            (MEDIAN.into(), "declined".into())
        ]
    );
    assert_eq!(
        r.ledger()["applied_comments"],
        json!(["issue:5", "issue:1", "review:3", "review:2"])
    );

    // Consolidation run again on round 4 (the latest): the report still
    // knows the earlier rounds, and the ledger is as it was.
    let round4 = report["run"]["id"].as_str().unwrap().to_string();
    let ledger = without_time(r.ledger());
    r.consolidate(&round4);
    let again = r.show(&round4);
    assert_eq!(again["run"]["round"], 4);
    assert_eq!(ids(&again), vec![]);
    assert_eq!(again["declined"], report["declined"]);
    assert_eq!(without_time(r.ledger()), ledger);
    // A run directory without the ledger it started from (older runs)
    // never replaces the ledger's history.
    std::fs::remove_file(r.bed.path(&format!(
        "data/deep-review/acme/widget/pr-7/{round4}/ledger-before.json"
    )))
    .unwrap();
    r.consolidate(&round4);
    assert_eq!(without_time(r.ledger()), ledger);

    // And on round 2, which later rounds built on: the re-raised findings
    // keep their round-1 ids, and the ledger is left alone.
    r.bed
        .double
        .set_scenario(serde_json::from_value(round2_scenario).unwrap());
    r.consolidate(&round2);
    let again = r.show(&round2);
    assert_eq!(ids(&again), round2_ids);
    let summary = again["summary"].as_str().unwrap();
    assert!(summary.starts_with(&round2_summary), "{summary}");
    assert_eq!(without_time(r.ledger()), ledger);

    // The proposed repo-context rules are kept, and applied on request.
    let listed = r
        .cmd()
        .args(["context", "pr", "7", "--repo", "acme/widget"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout)
            .starts_with("P1  round 1: Numeric helpers must handle empty input.")
    );
    let applied = r
        .cmd()
        .args([
            "context",
            "pr",
            "7",
            "--repo",
            "acme/widget",
            "--apply",
            "P1",
        ])
        .output()
        .unwrap();
    assert_eq!(
        applied.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    assert_eq!(
        std::fs::read_to_string(r.source.join("deep-review-context.md")).unwrap(),
        "# Review context\n\n- Numeric helpers must handle empty input.\n"
    );

    // Earlier rounds happened elsewhere: `--round 8`, and the next is 9.
    let report = json_run(
        r.cmd().args([
            "pr",
            "7",
            "--repo",
            "acme/widget",
            "--format",
            "json",
            "--round",
            "8",
        ]),
        0,
    );
    assert_eq!(report["run"]["round"], 8);
    assert_eq!(r.review()["run"]["round"], 9);
}
