//! `deep-review branch` end to end: the binary, a real repository, the
//! three real CLIs and the real consolidating CLI against the model double
//! playing demo/scenario.json, which has a planted bug.

use std::path::{Path, PathBuf};

use crate::common::{Bed, agent_named, demo_sample as sample, demo_scenario, json_run};
use assert_cmd::Command;
use serde_json::{Value, json};

struct E2e {
    bed: Bed,
    repo: PathBuf,
}

impl E2e {
    async fn new(scenario: Value) -> E2e {
        let bed = Bed::start(scenario).await;
        let repo = bed.path("sample");
        sample(&repo);
        let config = bed.path("config/deep-review/config.toml");
        std::fs::create_dir_all(config.parent().unwrap()).unwrap();
        std::fs::write(
            &config,
            "[review]\nformats = [\"md\", \"github\", \"html\", \"json\", \"sarif\"]\ntimeout = \"3m\"\n\n\
             [agents.claude]\nmodel = \"claude-opus-4-7\"\neffort = \"xhigh\"\n\n\
             [agents.codex]\nmodel = \"gpt-5.4\"\neffort = \"high\"\n\n\
             [agents.gemini]\nmodel = \"gemini-3-pro-preview\"\n",
        )
        .unwrap();
        E2e { bed, repo }
    }

    fn cmd(&self) -> Command {
        Command::from_std(self.std_cmd())
    }

    /// `deep-review branch feature/stats --base main`, the review of the
    /// sample's change.
    fn branch(&self) -> Command {
        let mut cmd = self.cmd();
        cmd.args(["branch", "feature/stats", "--base", "main"]);
        cmd
    }

    fn std_cmd(&self) -> std::process::Command {
        self.bed.deep_review(&self.repo)
    }

    fn runs(&self) -> Vec<PathBuf> {
        let parent = self
            .bed
            .path("data/deep-review/local/sample/branch-feature-stats");
        let mut runs: Vec<PathBuf> = std::fs::read_dir(parent)
            .map(|d| {
                d.flatten()
                    .map(|e| e.path())
                    .filter(|p| p.is_dir())
                    .collect()
            })
            .unwrap_or_default();
        runs.sort();
        runs
    }

    fn report(&self, run: &Path) -> Value {
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap()
    }
}

fn strs(v: &Value) -> Vec<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap().to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_branch_review_merges_regrades_drops_and_counts_exactly() {
    let e = E2e::new(demo_scenario()).await;
    let before = crate::common::snapshot(&e.repo);
    let out = e.branch().output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let runs = e.runs();
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    // Piped stdout is exactly the Markdown report.
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        std::fs::read_to_string(run.join("report.md")).unwrap()
    );
    // Progress went to stderr.
    assert!(stderr.contains("deep-review: consolidating"), "{stderr}");

    let r = e.report(run);
    assert_eq!(r["run"]["round"], 1);
    // The report says which model really ran when the CLI chose another.
    let served: Vec<(&str, &str, Option<&str>)> = r["reviewers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["name"].as_str().unwrap(),
                v["model"].as_str().unwrap(),
                v["served_model"].as_str(),
            )
        })
        .collect();
    assert_eq!(
        served,
        [
            ("claude", "claude-opus-4-7", None),
            ("codex", "gpt-5.4", None),
            (
                "gemini",
                "gemini-3-pro-preview",
                Some("gemini-3.1-pro-preview")
            )
        ]
    );
    assert_eq!(r["verdict"]["decision"], "merge_with_fixes");
    assert_eq!(r["consolidation"]["performed"], true);
    assert_eq!(r["incomplete"], false);
    let f = &r["findings"];
    assert_eq!(f.as_array().unwrap().len(), 3);
    // Three agents reported the planted bug in different words: merged,
    // all credited, Codex's Critical demoted with the reason.
    assert_eq!(f[0]["id"], "I1");
    assert_eq!(f[0]["title"], "mean() divides by len(values) - 1");
    assert_eq!(strs(&f[0]["agents"]), ["claude", "codex", "gemini"]);
    assert_eq!(f[0]["evidence"], "verified");
    assert_eq!(
        (f[0]["line_start"].as_u64(), f[0]["line_end"].as_u64()),
        (Some(9), Some(9))
    );
    assert_eq!(f[0]["excerpt"], "    return divide(total, len(values) - 1)");
    assert_eq!(
        f[0]["severity_note"],
        "Codex raised this as Critical; demoted to Important: wrong results but no data loss or crash on the main path; a new helper with no callers yet"
    );
    // An Important demoted, with the reason.
    assert_eq!(f[1]["id"], "S1");
    assert_eq!(strs(&f[1]["agents"]), ["codex"]);
    assert_eq!(
        f[1]["severity_note"],
        "Codex raised this as Important; demoted to Suggestion: the helpers have no callers yet, and an empty list is a caller error today; worth a clear error, not a blocker"
    );
    // The consolidator forgot Claude's median finding: kept and flagged.
    assert_eq!(f[2]["id"], "S2");
    assert_eq!(strs(&f[2]["agents"]), ["claude"]);
    assert_eq!(
        strs(&f[2]["flags"]),
        ["the consolidator did not account for this finding; kept as the agent wrote it"]
    );
    // Gemini quoted code that does not exist: unverified, then dropped as
    // a false positive.
    let checked: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("findings.json")).unwrap()).unwrap();
    let gemini_f2 = checked
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == "gemini:F2")
        .unwrap();
    assert_eq!(gemini_f2["checked"]["evidence"]["status"], "unverified");
    assert_eq!(r["dropped"].as_array().unwrap().len(), 1);
    assert_eq!(r["dropped"][0]["source"], "gemini:F2");
    assert_eq!(r["dropped"][0]["kind"], "false_positive");

    // Every retro figure.
    let agent = |name: &str| agent_named(&r, name).clone();
    let figures = |a: &Value| {
        json!({
            "status": a["status"], "raised": a["findings_raised"], "kept": a["kept"], "downgraded": a["downgraded"],
            "upgraded": a["upgraded"], "dropped": a["dropped"], "false_positives": a["false_positives"],
            "unique_insights": a["unique_insights"], "design_observations": a["design_observations"],
            "files_reviewed": a["files_reviewed"], "coverage_misses": a["coverage_misses"], "tool_calls": a["tool_calls"],
            "tokens": a["tokens"], "model": a["model"], "effort": a["effort"],
        })
    };
    assert_eq!(
        figures(&agent("claude")),
        json!({
        "status": "ok", "raised": {"critical": 0, "important": 1, "suggestion": 1}, "kept": 2, "downgraded": 0, "upgraded": 0,
        "dropped": 0, "false_positives": 0, "unique_insights": 1, "design_observations": 1, "files_reviewed": 1, "coverage_misses": [],
        "tool_calls": {"total": 3, "by_tool": {"Bash": 2, "Grep": 1}},
        "tokens": {"input": 18000, "output": 1150, "cached": 0, "reasoning": 0}, "model": "claude-opus-4-7", "effort": "xhigh"})
    );
    assert_eq!(
        figures(&agent("codex")),
        json!({
        "status": "ok", "raised": {"critical": 1, "important": 1, "suggestion": 0}, "kept": 2, "downgraded": 2, "upgraded": 0,
        "dropped": 0, "false_positives": 0, "unique_insights": 1, "design_observations": 1, "files_reviewed": 1, "coverage_misses": [],
        "tool_calls": {"total": 2, "by_tool": {"shell": 2}},
        "tokens": {"input": 15000, "output": 1000, "cached": 2000, "reasoning": 300}, "model": "gpt-5.4", "effort": "high"})
    );
    assert_eq!(
        figures(&agent("gemini")),
        json!({
        "status": "ok", "raised": {"critical": 0, "important": 2, "suggestion": 0}, "kept": 1, "downgraded": 0, "upgraded": 0,
        "dropped": 1, "false_positives": 1, "unique_insights": 0, "design_observations": 0, "files_reviewed": 1, "coverage_misses": [],
        "tool_calls": {"total": 1, "by_tool": {"read_file": 1}},
        "tokens": {"input": 9500, "output": 790, "cached": 0, "reasoning": 0}, "model": "gemini-3.1-pro-preview", "effort": null})
    );
    assert!(agent("claude")["cost_usd"].as_f64().unwrap() > 0.0);
    assert_eq!(agent("codex")["cost_usd"], Value::Null);
    // Claude's answer says how it reviewed stats.py (beside its opening
    // it: measured); Codex's strict answer sends `coverage: null`.
    assert_eq!(
        agent("claude")["coverage"],
        json!([{"path": "stats.py", "findings": ["I1", "S2"], "claimed": "in_depth", "note": "both helpers, and calc.divide they call"}])
    );
    assert_eq!(agent("codex")["coverage"][0].get("claimed"), None);
    // I1 spans two places: the second, in calc.py, found in the head tree
    // like the first; a place that does not exist is left out.
    let i1 = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "I1")
        .unwrap();
    assert_eq!(
        i1["related"],
        json!([{"path": "calc.py", "line_start": 5, "line_end": 6,
            "why": "divide() does not check b: a one-element list divides by zero",
            "evidence": "verified", "excerpt": "def divide(a, b):\n    return a / b", "language": "python"}])
    );

    // The run directory holds everything.
    for file in [
        "manifest.json",
        "facts.json",
        "input/change.diff",
        "findings.json",
        "report.md",
        "report.github.md",
        "report.html",
        "report.json",
        "report.sarif",
        "consolidation/decisions.json",
        "consolidation/prompt.md",
        "consolidation/events.jsonl",
        "agents/claude/prompt.md",
        "agents/claude/events.jsonl",
        "agents/claude/stderr.log",
        "agents/claude/outcome.json",
        "agents/claude/review-claude-pass-1.md",
        "agents/claude/answer.json",
        "agents/codex/answer-schema.json",
        "agents/gemini/gemini-policy.toml",
        "agents/gemini/review-gemini-pass-1.md",
    ] {
        assert!(run.join(file).exists(), "{file} is in the run directory");
    }
    assert!(!run.join("worktree").exists(), "not in the run directory");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["state"], "complete");
    // A local branch is reviewed in exec mode: the tree agents wrote in
    // goes back to the pool once every process they started is dead.
    released_tree(&e, run);
    assert_eq!(manifest["agents"][0]["version"], "2.1.197");
    assert_eq!(manifest["agents"][1]["version"], "0.171.0");
    assert_eq!(manifest["agents"][2]["version"], "0.61.0");
    // The versions are kept for the next run, by each CLI's path, and
    // asked again only when its file changes.
    let known: Value = serde_json::from_str(
        &std::fs::read_to_string(e.bed.path("cache/deep-review/cli-versions.json")).unwrap(),
    )
    .unwrap();
    let mut versions: Vec<&str> = known
        .as_object()
        .unwrap()
        .values()
        .map(|k| k["version"].as_str().unwrap())
        .collect();
    versions.sort();
    assert_eq!(versions, ["0.171.0", "0.61.0", "2.1.197"]);
    // The consolidator sees what the reviewers said besides their findings
    // and how their runs went, measured.
    let consolidation_prompt =
        std::fs::read_to_string(run.join("consolidation/prompt.md")).unwrap();
    assert!(consolidation_prompt.contains("## The reviewers"));
    for expected in [
        "\"agent\": \"claude\"",
        "\"tool_calls\": 3",
        "\"design_observations\": [",
        "\"status\": \"ok\"",
        "\"depth\": \"in_depth\"",
    ] {
        assert!(
            consolidation_prompt.contains(expected),
            "{expected} in the consolidation prompt"
        );
    }
    // The overhead is split out: the checkout and the consolidation pass.
    let saved: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.json")).unwrap()).unwrap();
    assert!(saved["run"]["checkout_ms"].is_u64(), "{}", saved["run"]);
    assert!(
        saved["run"]["consolidation_ms"].is_u64(),
        "{}",
        saved["run"]
    );
    // The user's checkout is byte-for-byte untouched, .git included.
    assert_eq!(crate::common::snapshot(&e.repo), before);

    // `show` re-renders the saved run without running anything.
    let requests = e.bed.double.requests().len();
    let shown = e
        .cmd()
        .args(["show", manifest["run_id"].as_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(shown.status.code(), Some(0));
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout),
        std::fs::read_to_string(run.join("report.md")).unwrap()
    );
    let html = e
        .cmd()
        .args(["show", &run.display().to_string(), "--format", "html"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&html.stdout).starts_with("<!DOCTYPE html>"));
    assert_eq!(e.bed.double.requests().len(), requests, "show ran no agent");

    // `history` lists it.
    let history = e.cmd().arg("history").output().unwrap();
    let text = String::from_utf8_lossy(&history.stdout);
    assert!(
        text.contains(manifest["run_id"].as_str().unwrap())
            && text.contains("Merge with fixes")
            && text.contains("0/1/2"),
        "{text}"
    );

    // `consolidate` runs the consolidation pass again from the saved output.
    let again = e
        .cmd()
        .args(["consolidate", &run.display().to_string()])
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let consolidations = e
        .bed
        .double
        .requests_for("consolidator")
        .iter()
        .filter(|r| r.turn == 0)
        .count();
    assert_eq!(consolidations, 2, "the consolidator ran again");
    assert_eq!(e.report(run)["findings"].as_array().unwrap().len(), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_consolidation_falls_back_and_exits_3() {
    let mut scenario = demo_scenario();
    scenario["agents"][0]["turns"][0] = json!({"fault": {"kind": "quota"}});
    let e = E2e::new(scenario).await;
    let r = json_run(e.branch().args(["--format", "json"]), 3);
    assert_eq!(r["consolidation"]["performed"], false);
    assert_eq!(r["incomplete"], true);
    assert!(
        r["consolidation"]["note"]
            .as_str()
            .unwrap()
            .contains("quota exhausted"),
        "{}",
        r["consolidation"]["note"]
    );
    // Grouped by location, the highest severity kept, nothing dropped.
    let ids: Vec<(String, Vec<String>)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["id"].as_str().unwrap().to_string(), strs(&f["agents"])))
        .collect();
    assert_eq!(
        ids,
        vec![
            (
                "C1".to_string(),
                vec!["claude".to_string(), "codex".into(), "gemini".into()]
            ),
            ("I1".to_string(), vec!["codex".to_string()]),
            ("I2".to_string(), vec!["gemini".to_string()]),
            ("S1".to_string(), vec!["claude".to_string()]),
        ]
    );
    assert_eq!(r["dropped"].as_array().unwrap().len(), 0);
    assert!(
        r["summary"]
            .as_str()
            .unwrap()
            .starts_with("Consolidation was not performed")
    );
    let shown = e
        .cmd()
        .args(["show", &e.runs()[0].display().to_string()])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&shown.stdout);
    assert!(
        md.contains("**This review is incomplete.**")
            && md.contains("Consolidation was not performed"),
        "{md}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failing_agent_exits_3_and_blocking_findings_exit_4() {
    let mut scenario = demo_scenario();
    scenario["agents"][3]["turns"][0] = json!({"fault": {"kind": "quota"}});
    let e = E2e::new(scenario).await;
    let r = json_run(e.branch().args(["--format", "json"]), 3);
    assert_eq!(agent_named(&r, "gemini")["status"], "quota_exhausted");
    assert_eq!(r["run"]["round"], 1);
    let reason = r["verdict"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("reviewed by 2 of 3 agents (Gemini (quota exhausted) missing). "),
        "{reason}"
    );

    // The same review gated on Important findings: 4 wins over 3.
    let out = e
        .branch()
        .args(["--fail-on", "important", "-q"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(4));
    // The second run of the branch is round 2.
    let runs = e.runs();
    assert_eq!(runs.len(), 2);
    assert_eq!(e.report(&runs[1])["run"]["round"], 2);
}

/// Starts a branch review whose three agents hang waiting for the model
/// (with `extra`'s config lines and flags), and returns once the real CLIs
/// have reached the double.
async fn hanging_review(
    extra: impl FnOnce(&Bed) -> (String, Vec<String>),
) -> (E2e, std::process::Child) {
    let hang = json!({"fault": {"kind": "hang_before_headers"}});
    let mut scenario = demo_scenario();
    for i in 1..=3 {
        scenario["agents"][i]["turns"][0] = hang.clone();
    }
    let e = E2e::new(scenario).await;
    let (config_extra, extra_args) = extra(&e.bed);
    let config = e.bed.path("config/deep-review/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(&config, format!("{text}\n{config_extra}")).unwrap();
    let mut cmd = e.std_cmd();
    // Claude would give up on its own after API_TIMEOUT_MS; not here.
    cmd.env("API_TIMEOUT_MS", "600000").args([
        "branch",
        "feature/stats",
        "--base",
        "main",
        "--format",
        "json",
    ]);
    cmd.args(extra_args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    assert!(
        e.bed
            .double
            .wait_for(
                &["claude", "codex", "gemini"],
                std::time::Duration::from_secs(120)
            )
            .await,
        "the agents started"
    );
    (e, child)
}

fn send(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), signal).unwrap();
}

/// The first SIGINT, SIGTERM or SIGHUP stops every agent, keeps what was
/// gathered, writes the report marked incomplete, removes the worktree,
/// finalises the manifest and exits 3, leaving no process behind.
async fn one_signal_stops_cleanly(signal: nix::sys::signal::Signal, said: &str) {
    let (e, child) = hanging_review(|_| (String::new(), vec![])).await;
    send(&child, signal);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains(&format!("{said}: stopping the agents")),
        "{stderr}"
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    for a in r["agents"].as_array().unwrap() {
        assert_eq!(a["status"], "cancelled", "{a}");
    }
    assert_eq!(r["consolidation"]["note"], "the run was cancelled");
    let run = &e.runs()[0];
    assert!(!run.join("worktree").exists(), "not in the run directory");
    released_tree(&e, run);
    for agent in ["claude", "codex", "gemini"] {
        assert!(
            run.join(format!("agents/{agent}/events.jsonl")).exists(),
            "{agent}'s output is kept"
        );
    }
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["state"], "cancelled");
    let left = crate::common::outliving(e.bed.root.path(), std::time::Duration::from_secs(10));
    assert!(left.is_empty(), "processes outlived the run: {left:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn ctrl_c_stops_every_agent_and_keeps_what_was_gathered() {
    one_signal_stops_cleanly(nix::sys::signal::Signal::SIGINT, "interrupted").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_stops_every_agent_and_keeps_what_was_gathered() {
    one_signal_stops_cleanly(nix::sys::signal::Signal::SIGTERM, "terminated (SIGTERM)").await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sighup_stops_every_agent_and_keeps_what_was_gathered() {
    one_signal_stops_cleanly(nix::sys::signal::Signal::SIGHUP, "hung up (SIGHUP)").await;
}

/// A second signal during the grace period kills every agent group at
/// once, even an agent that ignores SIGTERM, and exits 130.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_signal_kills_every_agent_group_and_exits_130() {
    let (e, child) = hanging_review(|bed| {
        let stubborn = bed.path("stubborn/agent");
        std::fs::create_dir_all(stubborn.parent().unwrap()).unwrap();
        std::fs::write(
            &stubborn,
            "#!/bin/sh\n[ \"$1\" = --version ] && { echo 1.0.0; exit 0; }\ntrap '' TERM\nsleep 600 &\nwait\n",
        )
        .unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&stubborn, std::fs::Permissions::from_mode(0o755)).unwrap();
        (
            format!(
                "[agents.stubborn]\nprotocol = \"claude\"\nbinary = \"{}\"\n",
                stubborn.display()
            ),
            vec![
                "--agents".to_string(),
                "claude,codex,gemini,stubborn".into(),
            ],
        )
    })
    .await;
    send(&child, nix::sys::signal::Signal::SIGINT);
    send(&child, nix::sys::signal::Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(130),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let left = crate::common::outliving(e.bed.root.path(), std::time::Duration::from_secs(10));
    assert!(left.is_empty(), "processes outlived the run: {left:#?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_worktree_is_given_back_when_the_run_fails() {
    let e = E2e::new(demo_scenario()).await;
    // An agent whose name the file system cannot hold as a directory: the
    // run fails after the worktree was added.
    let config = e.bed.path("config/deep-review/config.toml");
    let name = "x".repeat(300);
    let mut text = std::fs::read_to_string(&config).unwrap();
    text.push_str(&format!("\n[agents.{name}]\nprotocol = \"claude\"\n"));
    text = text.replace("[review]\n", &format!("[review]\nagents = [\"{name}\"]\n"));
    std::fs::write(&config, text).unwrap();
    let out = e.branch().args(["--exec", "never"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = &e.runs()[0];
    assert!(!run.join("worktree").exists(), "not in the run directory");
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["state"], "failed");
    // Read-only: the tree goes back to the pool, failure or not.
    released_tree(&e, run);
}

/// A round in which no agent produced a usable review is never "Merge":
/// its verdict is `not_reviewed` (exit 3), the SARIF says the run failed,
/// the Markdown leads with it, and the ledger does not move.
#[tokio::test(flavor = "multi_thread")]
async fn a_round_nobody_reviewed_is_not_reviewed_and_moves_nothing() {
    let e = E2e::new(demo_scenario()).await;
    let first = json_run(e.branch().args(["--format", "json"]), 0);
    assert!(first["counts"]["important"].as_u64().unwrap() > 0);
    let ledger_path = e
        .bed
        .path("data/deep-review/local/sample/branch-feature-stats/ledger.json");
    let ledger = std::fs::read(&ledger_path).unwrap();

    let mut down = demo_scenario();
    for script in down["agents"].as_array_mut().unwrap() {
        script["turns"] = json!([{"fault": {"kind": "quota"}}]);
    }
    e.bed
        .double
        .set_scenario(serde_json::from_value(down).unwrap());
    let out = e.branch().args(["--fail-on", "critical"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let run = e.runs().pop().unwrap();
    let r = e.report(&run);
    assert_eq!(r["verdict"]["decision"], "not_reviewed");
    assert_eq!(
        r["verdict"]["reason"],
        "no agent produced a usable review: Claude (quota exhausted), Codex (quota exhausted), Gemini (quota exhausted)."
    );
    assert_eq!(
        r["counts"],
        json!({"critical": 0, "important": 0, "suggestion": 0})
    );
    assert_eq!(
        std::fs::read(&ledger_path).unwrap(),
        ledger,
        "the ledger did not move"
    );
    let shown = e
        .cmd()
        .args(["show", r["run"]["id"].as_str().unwrap(), "--format", "md"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&shown.stdout);
    assert!(!md.contains("Addressed since"), "{md}");
    assert!(
        md.contains("# Deep Review: ")
            && md
                .split("| | |")
                .next()
                .unwrap()
                .contains("> **Not reviewed.**"),
        "{md}"
    );
    let sarif: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("report.sarif")).unwrap()).unwrap();
    let invocation = &sarif["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"]
            .as_array()
            .unwrap()
            .len(),
        4,
        "three agents and the consolidation: {invocation}"
    );
}

/// The CLIs' `--version` probes run beside the agents: one still running
/// when deep-review is killed outright goes with it, as the agents do.
#[tokio::test(flavor = "multi_thread")]
async fn a_running_version_probe_dies_with_a_sigkilled_deep_review() {
    let (e, mut child) = hanging_review(|bed| {
        use std::os::unix::fs::PermissionsExt;
        // Never answers `--version` (nor reviews): its probe is still
        // running when deep-review dies.
        let script = bed.path("bin/slow-version");
        std::fs::create_dir_all(script.parent().unwrap()).unwrap();
        std::fs::write(&script, "#!/bin/sh\nsleep 600\n").unwrap();
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        (
            format!(
                "[agents.prober]\nprotocol = \"claude\"\nbinary = \"{}\"\n",
                script.display()
            ),
            vec!["--agents".into(), "claude,codex,gemini,prober".into()],
        )
    })
    .await;
    let probing = crate::common::processes_under(e.bed.root.path());
    assert!(
        probing.iter().any(|p| p.contains("slow-version --version")),
        "the probe runs: {probing:#?}"
    );
    send(&child, nix::sys::signal::Signal::SIGKILL);
    child.wait().unwrap();
    let left = crate::common::outliving(e.bed.root.path(), std::time::Duration::from_secs(10));
    assert!(left.is_empty(), "processes outlived deep-review: {left:#?}");
}

/// deep-review killed outright (SIGKILL: no handler runs) takes its agents
/// with it.
#[tokio::test(flavor = "multi_thread")]
async fn agents_die_with_a_sigkilled_deep_review() {
    let (e, mut child) = hanging_review(|_| (String::new(), vec![])).await;
    send(&child, nix::sys::signal::Signal::SIGKILL);
    child.wait().unwrap();
    let left = crate::common::outliving(e.bed.root.path(), std::time::Duration::from_secs(10));
    assert!(left.is_empty(), "processes outlived deep-review: {left:#?}");

    // The run it left reads as interrupted, not as running forever.
    let run = e.runs().pop().unwrap();
    let id = run.file_name().unwrap().to_str().unwrap().to_string();
    let history = e.cmd().arg("history").output().unwrap();
    let listed = String::from_utf8_lossy(&history.stdout);
    let line = listed.lines().find(|l| l.starts_with(&id)).unwrap();
    assert!(line.contains(" interrupted "), "{listed}");
    let shown = e.cmd().args(["show", &id]).output().unwrap();
    assert_eq!(shown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&shown.stderr).starts_with(&format!(
            "error: run {id} was interrupted before its report was written\n"
        )),
        "{}",
        String::from_utf8_lossy(&shown.stderr)
    );
    // The next run takes back the pooled worktree it left locked, and
    // removes its private area (copies of the CLIs' logins).
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let tree = PathBuf::from(manifest["worktree"].as_str().unwrap());
    assert!(tree.join("calc.py").exists());
    std::fs::write(tree.join("planted.txt"), "left by the dead run's agents").unwrap();
    assert!(!run.join("worktree").exists(), "not in the run directory");
    let private = e.bed.path(&format!("cache/deep-review/sandboxes/{id}"));
    assert!(private.join("owner").exists());
    e.bed
        .double
        .set_scenario(serde_json::from_value(demo_scenario()).unwrap());
    let out = e.branch().args(["--exec", "never"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains(
            "an earlier run died holding the worktree branch-feature-stats-0: it was thrown away and built again"
        ),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Read-only, so the tree its agents saw is given back as it was.
    let next = e.runs().pop().unwrap();
    assert_eq!(released_tree(&e, &next), tree, "the same place");
    assert!(
        !tree.join("planted.txt").exists(),
        "the dead run's file never reached the next run's tree"
    );
    assert!(!private.exists());
}

/// Four runs of one branch at once on a fresh cache: all succeed, each
/// with its own directory and its own round.
#[tokio::test(flavor = "multi_thread")]
async fn concurrent_runs_on_a_fresh_cache_all_succeed_with_distinct_rounds() {
    let e = E2e::new(demo_scenario()).await;
    let children: Vec<std::process::Child> = (0..4)
        .map(|_| {
            let mut cmd = e.std_cmd();
            cmd.args(["branch", "feature/stats", "--base", "main", "-q"])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped());
            cmd.spawn().unwrap()
        })
        .collect();
    for child in children {
        let out = child.wait_with_output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let runs = e.runs();
    assert_eq!(runs.len(), 4);
    let mut rounds: Vec<u64> = runs
        .iter()
        .map(|r| e.report(r)["run"]["round"].as_u64().unwrap())
        .collect();
    rounds.sort_unstable();
    assert_eq!(rounds, [1, 2, 3, 4]);
}

/// `consolidate RUN` follows the same signal policy: its consolidation
/// agent is stopped and nothing of it is left.
#[tokio::test(flavor = "multi_thread")]
async fn a_signal_stops_consolidate_and_its_agent() {
    let e = E2e::new(demo_scenario()).await;
    let first = json_run(e.branch().args(["--format", "json"]), 0);
    let id = first["run"]["id"].as_str().unwrap().to_string();
    let mut hanging = demo_scenario();
    hanging["agents"][0]["turns"][0] = json!({"fault": {"kind": "hang_before_headers"}});
    e.bed
        .double
        .set_scenario(serde_json::from_value(hanging).unwrap());
    let before = e.bed.double.requests_for("consolidator").len();
    let mut cmd = e.std_cmd();
    cmd.env("API_TIMEOUT_MS", "600000")
        .args(["consolidate", &id])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let child = cmd.spawn().unwrap();
    // The double counts requests per script: wait for one more.
    assert!(
        e.bed
            .double
            .wait_for_count(
                "consolidator",
                before + 1,
                std::time::Duration::from_secs(120)
            )
            .await,
        "the consolidation agent started"
    );
    send(&child, nix::sys::signal::Signal::SIGTERM);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("terminated (SIGTERM): stopping the agents"),
        "{stderr}"
    );
    assert!(matches!(out.status.code(), Some(0 | 3)), "{stderr}");
    let left = crate::common::outliving(e.bed.root.path(), std::time::Duration::from_secs(10));
    assert!(left.is_empty(), "processes outlived the run: {left:#?}");
}

/// The consolidator cannot call a change "Merge" while it keeps an
/// Important finding: the verdict is never more lenient than what is kept.
#[tokio::test(flavor = "multi_thread")]
async fn a_lenient_consolidator_cannot_wave_kept_findings_through() {
    let mut scenario = demo_scenario();
    scenario["agents"][0]["turns"][1]["structured"]["verdict"] = json!("merge");
    let e = E2e::new(scenario).await;
    let r = json_run(e.branch().args(["--format", "json"]), 0);
    assert!(r["counts"]["important"].as_u64().unwrap() > 0);
    assert_eq!(r["verdict"]["decision"], "merge_with_fixes");
    let reason = r["verdict"]["reason"].as_str().unwrap();
    assert!(
        reason.ends_with(
            "(the consolidator said \"Merge\", which the findings it kept do not allow)"
        ),
        "{reason}"
    );
}

/// The CI gate through the binary, on one review with Important findings
/// and suggestions but no Critical: each threshold decides the exit code.
#[tokio::test(flavor = "multi_thread")]
async fn fail_on_gates_exactly_at_its_threshold() {
    let e = E2e::new(demo_scenario()).await;
    for (fail_on, code) in [
        ("none", 0),
        ("critical", 0),
        ("important", 4),
        ("suggestion", 4),
    ] {
        let out = e
            .branch()
            .args(["-q", "--fail-on", fail_on])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(code), "--fail-on {fail_on}");
    }
    let r = e.report(e.runs().last().unwrap());
    assert_eq!(r["counts"]["critical"], 0);
    assert!(r["counts"]["important"].as_u64().unwrap() > 0);
}

/// The guardrails on the consolidator's decisions, through the real
/// consolidation pass: an unverified finding kept without a reason is
/// dropped, a severity changed without a reason is reverted, a finding
/// both kept and dropped stays kept, an unknown finding is ignored — and
/// each is said.
#[tokio::test(flavor = "multi_thread")]
async fn the_consolidators_decisions_are_checked() {
    let mut scenario = demo_scenario();
    let decisions = &mut scenario["agents"][0]["turns"][1]["structured"];
    // codex:F2 (Important) demoted to Suggestion without a reason.
    decisions["groups"][1]["severity_reason"] = Value::Null;
    // gemini:F2, whose quote is not in the file, kept without a note.
    decisions["groups"].as_array_mut().unwrap().push(json!({
        "members": ["gemini:F2"], "severity": "suggestion", "category": "gap",
        "title": "Empty input", "body": "b", "fix": "", "severity_reason": null, "evidence_note": null
    }));
    decisions["dropped"] = json!([
        {"finding": "claude:F1", "kind": "false_positive", "reason": "kept above as well"},
        {"finding": "claude:F99", "kind": "false_positive", "reason": "no such finding"}
    ]);
    let e = E2e::new(scenario).await;
    let r = json_run(e.branch().args(["--format", "json"]), 0);
    let dropped = r["dropped"].as_array().unwrap();
    let gemini = dropped
        .iter()
        .find(|d| d["source"] == "gemini:F2")
        .expect("gemini:F2 dropped");
    assert_eq!(gemini["kind"], "unverified");
    assert!(
        gemini["reason"]
            .as_str()
            .unwrap()
            .ends_with("the consolidator gave no reason to keep it"),
        "{gemini}"
    );
    let empty = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["title"] == "mean() of an empty list fails with ZeroDivisionError")
        .expect("codex:F2 kept");
    assert_eq!(empty["severity"], "important", "reverted: {empty}");
    assert_eq!(
        empty["flags"],
        json!([
            "the consolidator changed the severity to Suggestion without a reason; kept as Important"
        ])
    );
    assert!(
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["title"] == "mean() divides by len(values) - 1"),
        "claude:F1 stays kept"
    );
    assert!(!dropped.iter().any(|d| d["source"] == "claude:F1"));
    let note = r["consolidation"]["note"].as_str().unwrap();
    assert!(
        note.contains("the consolidator both kept and dropped claude:F1; kept"),
        "{note}"
    );
    assert!(
        note.contains("the consolidator dropped an unknown finding claude:F99; ignored"),
        "{note}"
    );
}

/// The next round does not write the tree again: it moves the tree the
/// last round used to the new head (a file the change left alone is not
/// rewritten), and the agents see the new code.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_round_moves_the_last_rounds_tree() {
    use std::os::unix::fs::MetadataExt;
    let e = E2e::new(demo_scenario()).await;
    // Read-only: no agent could write in the tree, so it goes back.
    let config = e.bed.path("config/deep-review/config.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replace("[review]\n", "[review]\nexec = \"never\"\n"),
    )
    .unwrap();
    json_run(
        e.branch().args(["--agents", "claude", "--format", "json"]),
        0,
    );
    let first = released_tree(&e, &e.runs()[0]);
    let calc = std::fs::metadata(first.join("calc.py")).unwrap();
    std::fs::write(e.repo.join("stats.py"), "def mean(v):\n    return 0\n").unwrap();
    crate::common::git(&["commit", "--quiet", "-am", "Round two"], &e.repo);
    let head = crate::common::git(&["rev-parse", "HEAD"], &e.repo);
    let r = json_run(
        e.branch().args(["--agents", "claude", "--format", "json"]),
        0,
    );
    assert_eq!(r["run"]["round"], 2);
    let runs = e.runs();
    let second = released_tree(&e, &runs[1]);
    assert_eq!(second, first, "the same tree");
    assert_eq!(crate::common::git(&["rev-parse", "HEAD"], &second), head);
    assert_eq!(
        std::fs::read_to_string(second.join("stats.py")).unwrap(),
        "def mean(v):\n    return 0\n"
    );
    let calc_now = std::fs::metadata(second.join("calc.py")).unwrap();
    assert_eq!(
        (calc_now.ino(), calc_now.mtime_nsec()),
        (calc.ino(), calc.mtime_nsec()),
        "an unchanged file is not written again"
    );
}

/// An agent in an exec run starts a process that leaves its group
/// (`setsid`, as a daemon does) and would keep the right to write in the
/// tree: deep-review, the reaper of its agents' orphans, kills it at the
/// end of the run, says so, and only then gives the tree back — the next
/// round moves it rather than writing it whole.
#[tokio::test(flavor = "multi_thread")]
async fn a_process_an_agent_leaves_running_is_killed_and_the_tree_moves_on() {
    use std::os::unix::fs::MetadataExt;
    // The escaped process says it runs (through a FIFO: no waiting on time)
    // before the tool call returns. Then two more in a PID namespace of
    // their own, left to deep-review: its init cannot end before the other
    // is reaped, so a sweep that killed children and waited for each in
    // turn would wait for ever.
    let scenario = claude_first_runs(
        "rm -f ready && mkfifo ready && (setsid sh -c 'echo $$ > escaped.pid; echo > ready; exec sleep 300' </dev/null >/dev/null 2>&1 &) && read line < ready \
         && setsid unshare -Up sh -c 'sleep 300 & sleep 300 & exit' </dev/null >/dev/null 2>&1 && echo started",
    );
    let e = E2e::new(scenario).await;
    // A sweep that waits for ever fails here rather than hanging the suite.
    let out = e
        .branch()
        .args(["--agents", "claude", "--format", "json"])
        .timeout(std::time::Duration::from_secs(300))
        .output();
    // Whatever happened, nothing of the test is left running.
    let left = kill_left(&e);
    let out = out.expect("the run ended");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(left.is_empty(), "outlived the run: {left:?}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["run"]["sandbox"]["access"], "exec");
    let first = released_tree(&e, &e.runs()[0]);
    let pid: i32 = std::fs::read_to_string(first.join("escaped.pid"))
        .expect("the agent started the process")
        .trim()
        .parse()
        .unwrap();
    assert!(!std::path::Path::new(&format!("/proc/{pid}")).exists());
    assert!(
        stderr.contains("the agents left 3 process(es) running after they ended (")
            && stderr.contains("sleep"),
        "{stderr}"
    );
    assert_eq!(r["run"]["sandbox"]["leftover_processes"], 3);
    let calc = std::fs::metadata(first.join("calc.py")).unwrap();

    // The next round: the same tree, cleaned and moved. deep-review is
    // started by a wrapper that left a helper of its own running: that one
    // is not the agents' and is spared.
    std::fs::write(e.repo.join("stats.py"), "def mean(v):\n    return 0\n").unwrap();
    crate::common::git(&["commit", "--quiet", "-am", "Round two"], &e.repo);
    let direct = e.std_cmd();
    let helper_pid = e.bed.path("helper.pid");
    let mut wrapped = std::process::Command::new("/bin/sh");
    wrapped
        .args([
            "-c",
            "sleep 300 </dev/null >/dev/null 2>&1 & echo $! > \"$HELPER_PID\"; exec \"$0\" \"$@\"",
        ])
        .arg(direct.get_program())
        .args(["branch", "feature/stats", "--base", "main"])
        .args(["--agents", "claude", "--format", "json"])
        .current_dir(direct.get_current_dir().unwrap())
        .env("HELPER_PID", &helper_pid);
    for (key, value) in direct.get_envs() {
        match value {
            Some(value) => wrapped.env(key, value),
            None => wrapped.env_remove(key),
        };
    }
    let out = wrapped.output().unwrap();
    let helper: i32 = std::fs::read_to_string(&helper_pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let helper_lived = std::path::Path::new(&format!("/proc/{helper}")).exists();
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(helper),
        nix::sys::signal::Signal::SIGKILL,
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(helper_lived, "the wrapper's helper was killed");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["run"]["round"], 2);
    assert_eq!(
        r["run"]["sandbox"]["leftover_processes"], 3,
        "the agent's only"
    );
    let second = released_tree(&e, &e.runs()[1]);
    assert_eq!(second, first, "the same tree");
    let calc_now = std::fs::metadata(second.join("calc.py")).unwrap();
    assert_eq!(
        (calc_now.ino(), calc_now.mtime_nsec()),
        (calc.ino(), calc.mtime_nsec()),
        "an unchanged file is not written again"
    );
    let again: i32 = std::fs::read_to_string(second.join("escaped.pid"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert_ne!(
        again, pid,
        "the first round's file did not survive the move"
    );
    // The helper, killed above, is given its moment to go.
    assert_eq!(
        crate::common::outliving(e.bed.root.path(), std::time::Duration::from_secs(10)),
        Vec::<String>::new()
    );
}

/// An agent's process leaves its group and traces the agent's keeper
/// (ptrace, never waiting on it): the keeper's end is then reported to the
/// tracer, never to deep-review, so waiting for it would never end. The
/// agent runs into its timeout, the wait after SIGKILL gives up after the
/// grace period, and the end-of-run sweep kills the tracer and reaps the
/// keeper: the run ends, with nothing left.
#[cfg(target_arch = "x86_64")]
#[tokio::test(flavor = "multi_thread")]
async fn a_process_that_traces_the_agents_keeper_cannot_hang_the_run() {
    // The keeper is the ancestor whose fourth argument is
    // deep-review-agent (`sh -c KEEPER deep-review-agent CLI …`). perl's
    // syscall 101 is ptrace on x86_64, 0x4206 PTRACE_SEIZE (the keeper runs
    // on, traced). The tracer says it holds the keeper through a FIFO
    // before the tool call returns.
    let scenario = claude_first_runs(
        "p=$(perl -e '$p = getppid(); while ($p > 1) { open(C, \"/proc/$p/cmdline\"); @a = split(/\\0/, join(\"\", <C>)); last if $a[3] eq \"deep-review-agent\"; open(S, \"/proc/$p/stat\"); $s = <S>; $s =~ s/.*\\) //; $p = (split(/ /, $s))[1]; } print $p'); \
         rm -f seized && mkfifo seized && (setsid perl -e 'syscall(101, 0x4206, $ARGV[0] + 0, 0, 0) == 0 or die \"seize: $!\"; open(F, \">seized\"); print F \"$ARGV[0]\\n\"; close F; sleep 300' \"$p\" </dev/null >/dev/null 2>&1 &) && read keeper < seized && echo \"$keeper\" > traced.pid",
    );
    let e = E2e::new(scenario).await;
    let out = e
        .branch()
        .args(["--agents", "claude", "--format", "json", "--timeout", "20s"])
        .timeout(std::time::Duration::from_secs(120))
        .output();
    let left = kill_left(&e);
    let out = out.expect("the run ended");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(left.is_empty(), "outlived the run: {left:?}\n{stderr}");
    let r: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{stderr}"));
    let tree = tree_of(&e, &e.runs()[0]);
    assert!(
        tree.join("traced.pid").exists(),
        "the tracer held the keeper: {stderr}"
    );
    assert_eq!(agent_named(&r, "claude")["status"], "timed_out", "{stderr}");
    assert!(r["run"]["sandbox"]["leftover_processes"].as_u64() >= Some(1));
    assert!(stderr.contains("perl"), "{stderr}");
}

/// A 50,000-line change: the agents get it split per file, hand-written
/// files first and the lock file set apart, and the report says so.
#[tokio::test(flavor = "multi_thread")]
async fn a_huge_diff_reaches_the_agents_per_file_with_generated_files_set_apart() {
    let e = E2e::new(demo_scenario()).await;
    let engine: String = (0..30_000).map(|i| format!("let x{i} = {i};\n")).collect();
    let lock: String = (0..20_000)
        .map(|i| format!("name = \"dep{i}\"\n"))
        .collect();
    std::fs::write(e.repo.join("engine.rs"), engine).unwrap();
    std::fs::write(e.repo.join("Cargo.lock"), lock).unwrap();
    crate::common::git(&["add", "engine.rs", "Cargo.lock"], &e.repo);
    crate::common::git(&["commit", "--quiet", "-m", "Add the engine"], &e.repo);
    let r = json_run(
        e.branch().args(["--agents", "claude", "--format", "json"]),
        0,
    );
    let pieces: Vec<(String, Option<String>)> = r["target"]["diff_pieces"]["pieces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["path"].as_str().unwrap().to_string(),
                p["set_apart"].as_str().map(str::to_string),
            )
        })
        .collect();
    assert_eq!(
        pieces,
        [
            ("Cargo.lock".to_string(), Some("lock file".to_string())),
            ("engine.rs".to_string(), None),
            ("stats.py".to_string(), None),
        ]
    );
    assert!(r["target"]["diff_pieces"]["lines"].as_u64().unwrap() > 50_000);
    let run = e.runs().pop().unwrap();
    let on_disk: Vec<String> = {
        let mut names: Vec<String> = std::fs::read_dir(run.join("input/diff"))
            .unwrap()
            .flatten()
            .map(|f| f.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        on_disk,
        [
            "0001-Cargo.lock.diff",
            "0002-engine.rs.diff",
            "0003-stats.py.diff"
        ]
    );
    let prompt = e
        .bed
        .double
        .requests_for("claude")
        .iter()
        .find(|q| q.turn == 0)
        .unwrap()
        .body
        .to_string();
    assert!(
        prompt.contains("so it is also split per file in the folder"),
        "{prompt}"
    );
    let at = prompt.find("split per file").unwrap();
    assert!(
        prompt.contains("`engine.rs`: `0002-engine.rs.diff` (30006 lines)"),
        "{}",
        &prompt[at..at + 600]
    );
    assert!(prompt.contains("`Cargo.lock` (lock file): `0001-Cargo.lock.diff`"));
    let shown = e
        .cmd()
        .args(["show", r["run"]["id"].as_str().unwrap(), "--format", "md"])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&shown.stdout);
    assert!(
        md.contains("| Diff | 50,"),
        "{}",
        md.lines().take(20).collect::<Vec<_>>().join("\n")
    );
    assert!(md.contains("set apart to skim: Cargo.lock (lock file)"));
}

/// The pooled worktree a finished run names in its manifest.
fn tree_of(e: &E2e, run: &Path) -> PathBuf {
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    let tree = PathBuf::from(manifest["worktree"].as_str().unwrap());
    assert!(
        tree.starts_with(e.bed.path("cache/deep-review/trees")),
        "{}",
        tree.display()
    );
    tree
}

/// A run's tree given back to the pool: there, unlocked.
/// The demo's scenario, but Claude's first tool call runs `command`.
fn claude_first_runs(command: &str) -> Value {
    let mut scenario = demo_scenario();
    let claude = scenario["agents"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|a| a["name"] == "claude")
        .unwrap();
    claude["turns"][0]["tool_calls"][0]["args"]["command"] = json!(command);
    scenario
}

/// The processes the test left running (see `processes_under`), killed so
/// that none outlives it whatever it asserts next.
fn kill_left(e: &E2e) -> Vec<String> {
    let left = crate::common::processes_under(e.bed.root.path());
    for process in &left {
        let pid: i32 = process.split(':').next().unwrap().parse().unwrap();
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(pid),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
    left
}

fn released_tree(e: &E2e, run: &Path) -> PathBuf {
    let tree = tree_of(e, run);
    let dotgit = std::fs::read_to_string(tree.join(".git")).unwrap();
    let admin = PathBuf::from(dotgit.trim().strip_prefix("gitdir: ").unwrap());
    assert!(admin.join("HEAD").exists());
    assert!(!admin.join("locked").exists(), "given back to the pool");
    tree
}
