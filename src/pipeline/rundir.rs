//! The run directory (docs/run-directory.md): everything a run gathers,
//! written as it goes, so a crash or Ctrl-C loses nothing and a report can
//! be re-rendered, or consolidation re-run, from the directory alone.

use crate::agents::Outcome;
use crate::consolidate::AgentResult;
use crate::domain::TargetKind;
use crate::files::{read_json, write_json};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Paths inside one run directory. Public contract: see the docs.
#[derive(Debug, Clone)]
pub struct RunDir {
    pub root: PathBuf,
}

impl RunDir {
    /// Creates the directory of a new run in `parent`. Two runs started
    /// in the same second (a parallel Makefile) must not share one, so the
    /// directory is claimed atomically and the second gets `<id>.2`.
    /// Returns the run id actually used.
    pub fn create(parent: &Path, run_id: &str) -> std::io::Result<(RunDir, String)> {
        std::fs::create_dir_all(parent)?;
        for n in 1.. {
            let id = if n == 1 {
                run_id.to_string()
            } else {
                format!("{run_id}.{n}")
            };
            let root = parent.join(&id);
            match std::fs::create_dir(&root) {
                Ok(()) => {
                    std::fs::create_dir(root.join("agents"))?;
                    std::fs::create_dir(root.join("input"))?;
                    return Ok((RunDir { root }, id));
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(e),
            }
        }
        unreachable!("some run id is free")
    }

    /// Creates the run's directory and claims its round — `explicit`, else
    /// one more than the highest round of the runs beside it that produced
    /// a report or are running now — under a lock, with a first manifest
    /// that says so: concurrent runs of one PR get distinct rounds.
    pub fn claim(
        parent: &Path,
        run_id: &str,
        kind: TargetKind,
        explicit: Option<u32>,
    ) -> std::io::Result<(RunDir, String, u32)> {
        std::fs::create_dir_all(parent)?;
        let _lock = crate::files::FileLock::acquire(&parent.join("runs"), || {})?;
        let round = explicit.unwrap_or_else(|| {
            siblings(parent)
                .iter()
                .filter(|(_, m)| {
                    matches!(
                        m.effective_state(),
                        RunState::Complete | RunState::Incomplete | RunState::Running
                    )
                })
                .map(|(_, m)| m.round)
                .max()
                .unwrap_or(0)
                + 1
        });
        let (run, id) = RunDir::create(parent, run_id)?;
        write_json(&run.manifest(), &Manifest::claimed(&id, round, kind))?;
        Ok((run, id, round))
    }

    pub fn open(root: PathBuf) -> RunDir {
        RunDir { root }
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }
    pub fn facts(&self) -> PathBuf {
        self.root.join("facts.json")
    }
    /// Files every agent may read (the diff, long prompts): the only
    /// folder of the run directory agents are given access to.
    pub fn input(&self) -> PathBuf {
        self.root.join("input")
    }
    pub fn diff(&self) -> PathBuf {
        self.input().join("change.diff")
    }
    /// A diff over budget, one file per changed file.
    pub fn diff_pieces(&self) -> PathBuf {
        self.input().join("diff")
    }
    pub fn worktree(&self) -> PathBuf {
        self.root.join("worktree")
    }
    pub fn agent(&self, name: &str) -> PathBuf {
        self.root.join("agents").join(name)
    }
    pub fn prompt(&self, name: &str) -> PathBuf {
        self.agent(name).join("prompt.md")
    }
    pub fn outcome(&self, name: &str) -> PathBuf {
        self.agent(name).join("outcome.json")
    }
    /// The agent's raw review, as it wrote it.
    pub fn review(&self, name: &str) -> PathBuf {
        self.agent(name).join(format!("review-{name}-pass-1.md"))
    }
    pub fn answer(&self, name: &str) -> PathBuf {
        self.agent(name).join("answer.json")
    }
    /// Why the answer could not be read, when it could not.
    pub fn answer_error(&self, name: &str) -> PathBuf {
        self.agent(name).join("answer-error.txt")
    }
    /// Saves what an agent left — its outcome, its raw review, the answer
    /// read from it or why none could be — as [`RunDir::load_agent`]
    /// reads it back.
    pub fn save_agent(&self, r: &AgentResult) -> std::io::Result<()> {
        let name = &r.outcome.name;
        write_json(&self.outcome(name), &r.outcome)?;
        if let Some(text) = &r.raw_answer {
            std::fs::write(self.review(name), text)?;
        }
        if let Some(a) = &r.answer {
            write_json(&self.answer(name), a)?;
        }
        // A note for the reader; the outcome already says the answer is missing.
        if let Some(e) = &r.answer_error {
            let _ = std::fs::write(self.answer_error(name), e);
        }
        Ok(())
    }

    /// What [`RunDir::save_agent`] saved of the agent `name`, if it ran.
    pub fn load_agent(&self, name: &str) -> Option<AgentResult> {
        let outcome: Outcome = read_json(&self.outcome(name)).ok()?;
        Some(AgentResult {
            outcome,
            answer: read_json(&self.answer(name)).ok(),
            answer_error: std::fs::read_to_string(self.answer_error(name)).ok(),
            raw_answer: std::fs::read_to_string(self.review(name)).ok(),
            review_file: self.relative(&self.review(name)),
        })
    }

    /// The PR's ledger as this run found it, so `deep-review consolidate`
    /// can apply the run to it again.
    pub fn ledger_before(&self) -> PathBuf {
        self.root.join("ledger-before.json")
    }
    pub fn findings(&self) -> PathBuf {
        self.root.join("findings.json")
    }
    pub fn consolidation(&self) -> PathBuf {
        self.root.join("consolidation")
    }
    pub fn decisions(&self) -> PathBuf {
        self.consolidation().join("decisions.json")
    }
    pub fn report(&self, format: crate::config::Format) -> PathBuf {
        self.root.join(format.file_name())
    }

    /// The path of `path` relative to the run directory, for reports.
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root)
            .unwrap_or(path)
            .display()
            .to_string()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunState {
    Running,
    Complete,
    Incomplete,
    Failed,
    Cancelled,
    /// Never written: a `running` manifest whose deep-review process is
    /// gone (killed, machine lost) reads as this.
    Interrupted,
}

/// `manifest.json`: what ran, with which versions, and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    pub run_id: String,
    pub state: RunState,
    pub round: u32,
    pub deep_review_version: String,
    pub started_at: String,
    pub finished_at: Option<String>,
    /// Absent only in manifests an older version wrote before it knew.
    #[serde(default, deserialize_with = "kind_if_known")]
    pub kind: Option<TargetKind>,
    pub repo: String,
    pub pr: Option<u64>,
    pub branch: String,
    pub agents: Vec<ManifestAgent>,
    /// The bare cache repository holding the reviewed commits.
    #[serde(default)]
    pub cache: Option<PathBuf>,
    /// The worktree the agents worked in: the change's pooled tree (moved
    /// by later runs) or, with `--keep-worktree`, the run's own.
    #[serde(default)]
    pub worktree: Option<PathBuf>,
    pub verdict: Option<crate::findings::Verdict>,
    pub counts: Option<crate::report::model::Counts>,
    pub error: Option<String>,
    /// The deep-review process that runs it, to tell a run in progress
    /// from one that was interrupted.
    #[serde(default)]
    pub pid: Option<u32>,
}

/// Marks a claimed run `failed` if its preparation stops before the run
/// takes its manifest over ([`Unprepared::done`]).
pub struct Unprepared {
    manifest: PathBuf,
    armed: bool,
}

impl Unprepared {
    pub fn new(run: &RunDir) -> Unprepared {
        Unprepared {
            manifest: run.manifest(),
            armed: true,
        }
    }

    pub fn done(mut self) {
        self.armed = false;
    }
}

impl Drop for Unprepared {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Ok(mut m) = read_json::<Manifest>(&self.manifest) {
            m.state = RunState::Failed;
            m.finished_at = Some(jiff::Timestamp::now().to_string());
            m.error = Some("stopped before the review started".into());
            let _ = write_json(&self.manifest, &m);
        }
    }
}

/// `pr` or `branch`; the empty string older versions wrote is absent.
fn kind_if_known<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<TargetKind>, D::Error> {
    let text: Option<String> = Deserialize::deserialize(d)?;
    Ok(match text.as_deref() {
        None | Some("") => None,
        Some(other) => Some(
            serde_json::from_value(serde_json::Value::String(other.to_string()))
                .map_err(serde::de::Error::custom)?,
        ),
    })
}

impl Manifest {
    /// The first manifest of a run: its id, round and process, until the
    /// run writes the whole of it.
    pub fn claimed(run_id: &str, round: u32, kind: TargetKind) -> Manifest {
        Manifest {
            run_id: run_id.to_string(),
            state: RunState::Running,
            round,
            deep_review_version: env!("CARGO_PKG_VERSION").into(),
            started_at: jiff::Timestamp::now().to_string(),
            finished_at: None,
            kind: Some(kind),
            repo: String::new(),
            pr: None,
            branch: String::new(),
            agents: Vec::new(),
            cache: None,
            worktree: None,
            verdict: None,
            counts: None,
            error: None,
            pid: Some(std::process::id()),
        }
    }

    /// The state as readers should see it: `running` only while the
    /// process that writes it is alive.
    pub fn effective_state(&self) -> RunState {
        match (self.state, self.pid) {
            (RunState::Running, Some(pid)) if !deep_review_alive(pid) => RunState::Interrupted,
            (state, _) => state,
        }
    }
}

/// Whether `pid` is a live deep-review process (not another program that
/// has the number since).
pub(crate) fn deep_review_alive(pid: u32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| {
            let argv0 = c.split(|b| *b == 0).next().unwrap_or_default();
            String::from_utf8_lossy(argv0).ends_with("deep-review")
        })
        .unwrap_or(false)
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestAgent {
    pub name: String,
    pub binary: String,
    pub version: Option<String>,
    pub model: Option<String>,
    pub effort: Option<String>,
    pub status: Option<crate::domain::AgentStatus>,
}

/// Earlier runs beside this one (same PR or branch), oldest first.
pub fn siblings(parent: &Path) -> Vec<(PathBuf, Manifest)> {
    let Ok(entries) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut runs: Vec<(PathBuf, Manifest)> = entries
        .flatten()
        .filter_map(|e| {
            let dir = e.path();
            read_json::<Manifest>(&dir.join("manifest.json"))
                .ok()
                .map(|m| (dir, m))
        })
        .collect();
    runs.sort_by(|a, b| a.1.run_id.cmp(&b.1.run_id));
    runs
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Older versions wrote `"kind": ""` until preparation was done; such
    /// a run (failed or interrupted early) is still listed.
    #[test]
    fn a_manifest_without_a_known_kind_still_reads() {
        let mut m = serde_json::to_value(Manifest::claimed("r", 1, TargetKind::Pr)).unwrap();
        assert_eq!(m["kind"], "pr");
        m["kind"] = "".into();
        let old: Manifest = serde_json::from_value(m.clone()).unwrap();
        assert_eq!(old.kind, None);
        m["kind"] = "tag".into();
        assert!(serde_json::from_value::<Manifest>(m).is_err());
    }

    #[test]
    fn runs_started_in_the_same_second_get_their_own_directories() {
        let parent = tempfile::tempdir().unwrap();
        let id = "20261129-181200-pr-7";
        let (first, first_id) = RunDir::create(parent.path(), id).unwrap();
        let (second, second_id) = RunDir::create(parent.path(), id).unwrap();
        assert_eq!(first_id, id);
        assert_eq!(second_id, "20261129-181200-pr-7.2");
        assert_ne!(first.root, second.root);
        assert!(second.input().is_dir() && second.agent("x").parent().unwrap().is_dir());
    }
}
