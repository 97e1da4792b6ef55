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
        let mechanism = Mechanism::detect();
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
    read.extend(config.sandbox.read.iter().cloned());
    RunPolicy {
        access,
        worktree: worktree.to_path_buf(),
        git_dir: Some(git_dir.to_path_buf()),
        read,
        ports: config.sandbox.connect_ports.clone(),
    }
}
