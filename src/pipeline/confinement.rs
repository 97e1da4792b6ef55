//! How a run's agents are confined: the sandbox mechanism, whether they may
//! write (exec mode), and why.

use std::path::Path;

use super::PipelineError;
use super::rundir::RunDir;
use crate::config::{Config, ExecPolicy};
use crate::report::model::SandboxInfo;
use crate::review::Facts;
use crate::sandbox::{Access, Mechanism, RunPolicy};

#[derive(Debug, Clone)]
pub struct Confinement {
    pub mechanism: Mechanism,
    pub access: Access,
    /// Why this access, for the report ("fork PR", "review.exec = never").
    pub reason: String,
}

impl Confinement {
    /// Decides before any agent starts. A fork PR on a machine without a
    /// sandbox is refused unless the user accepted that explicitly.
    pub fn decide(config: &Config, facts: &Facts) -> Result<Confinement, PipelineError> {
        Self::decide_with(Mechanism::detect(), config, facts)
    }

    fn decide_with(
        mechanism: Mechanism,
        config: &Config,
        facts: &Facts,
    ) -> Result<Confinement, PipelineError> {
        let target = if facts.fork {
            "fork PR"
        } else if facts.pr.is_some() {
            "same-repository PR"
        } else {
            "local branch"
        };
        if let Mechanism::None { reason } = &mechanism {
            if facts.fork && !config.sandbox.allow_unconfined {
                return Err(PipelineError::Unconfined {
                    reason: reason.clone(),
                });
            }
            // Without a sandbox nothing may write, whatever was asked.
            return Ok(Confinement {
                mechanism: mechanism.clone(),
                access: Access::ReadOnly,
                reason: format!("{target}, no sandbox"),
            });
        }
        let (access, reason) = match config.review.exec {
            ExecPolicy::Never => (Access::ReadOnly, format!("{target}, exec = never")),
            ExecPolicy::Always => (Access::Exec, format!("{target}, exec = always")),
            ExecPolicy::Trusted if facts.fork => (Access::ReadOnly, target.to_string()),
            ExecPolicy::Trusted => (Access::Exec, target.to_string()),
        };
        Ok(Confinement {
            mechanism,
            access,
            reason,
        })
    }

    pub fn abi(&self) -> Option<u32> {
        self.mechanism.abi()
    }

    /// What the report says of it.
    pub fn info(&self, ignored_head_files: &[String]) -> SandboxInfo {
        SandboxInfo {
            mechanism: self.mechanism.name().to_string(),
            landlock_abi: self.abi(),
            access: self.access,
            reason: self.reason.clone(),
            network_limited: self.mechanism.restricts_network(),
            unconfined_reason: match &self.mechanism {
                Mechanism::None { reason } => Some(reason.clone()),
                Mechanism::Landlock { .. } => None,
            },
            ignored_head_files: ignored_head_files.to_vec(),
            leftover_processes: 0,
        }
    }
}

/// The run's part of every agent's policy.
pub fn run_policy(
    config: &Config,
    access: Access,
    worktree: &Path,
    git_dir: &Path,
    run: &RunDir,
) -> RunPolicy {
    let mut read = vec![run.input()];
    // A branch's cache borrows the local repository's objects.
    read.extend(crate::checkout::borrowed_objects(git_dir));
    read.extend(config.sandbox.read.iter().cloned());
    RunPolicy {
        access,
        worktree: worktree.to_path_buf(),
        git_dir: Some(git_dir.to_path_buf()),
        read,
        ports: config.sandbox.connect_ports.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{LoadOptions, load};
    use crate::report::model::TargetKind;

    fn facts(pr: bool, fork: bool) -> Facts {
        Facts {
            kind: if pr {
                TargetKind::Pr
            } else {
                TargetKind::Branch
            },
            repo: "acme/widget".into(),
            repo_url: None,
            pr: pr.then_some(7),
            pr_url: None,
            title: String::new(),
            body: String::new(),
            author: None,
            author_url: None,
            base_ref: "main".into(),
            head_ref: "x".into(),
            base_sha: String::new(),
            head_sha: String::new(),
            merge_base: String::new(),
            commits: vec![],
            changed_files: vec![],
            review_context: None,
            unresolved: vec![],
            ci: None,
            fork,
            ignored_head_files: vec![],
            diff_pieces: None,
        }
    }

    fn config(exec: ExecPolicy, allow_unconfined: bool) -> Config {
        let mut config = load(&LoadOptions {
            data_dir: "/d".into(),
            cache_dir: "/c".into(),
            ..LoadOptions::default()
        })
        .unwrap()
        .config;
        config.review.exec = exec;
        config.sandbox.allow_unconfined = allow_unconfined;
        config
    }

    #[test]
    fn exec_only_for_trusted_targets_and_never_without_a_sandbox() {
        let landlock = || Mechanism::Landlock { abi: 7 };
        let none = || Mechanism::None {
            reason: "no Landlock".into(),
        };
        let decide = |m: Mechanism, exec, allow, pr, fork| {
            Confinement::decide_with(m, &config(exec, allow), &facts(pr, fork))
                .map(|c| (c.access, c.reason))
        };
        use ExecPolicy::*;
        let cases = [
            (Trusted, false, false, (Access::Exec, "local branch")),
            (Trusted, true, false, (Access::Exec, "same-repository PR")),
            (Trusted, true, true, (Access::ReadOnly, "fork PR")),
            (
                Never,
                false,
                false,
                (Access::ReadOnly, "local branch, exec = never"),
            ),
            (Always, true, true, (Access::Exec, "fork PR, exec = always")),
        ];
        for (exec, pr, fork, (access, reason)) in cases {
            assert_eq!(
                decide(landlock(), exec, false, pr, fork).unwrap(),
                (access, reason.to_string())
            );
        }
        // No sandbox: read-only whatever was asked; a fork PR only when
        // the user accepted it explicitly.
        assert_eq!(
            decide(none(), Always, false, false, false).unwrap(),
            (Access::ReadOnly, "local branch, no sandbox".into())
        );
        assert!(matches!(
            decide(none(), Trusted, false, true, true),
            Err(PipelineError::Unconfined { .. })
        ));
        assert_eq!(
            decide(none(), Always, true, true, true).unwrap(),
            (Access::ReadOnly, "fork PR, no sandbox".into())
        );
    }
}
