//! Phase two: every agent at once, each under supervision in its own
//! sandbox, with its own private area and the prompt written to disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use super::confinement::{Confinement, run_policy};
use super::error::{PipelineError, io};
use super::rundir::{self, ManifestAgent, RunDir};
use crate::agents::supervise::{self, AgentSpec, Supervision};
use crate::agents::{Outcome, ReviewJob};
use crate::config::{AgentConfig, Config};
use crate::progress::{Progress, ProgressEvent};
use crate::review;
use crate::sandbox::Access;
use crate::sandbox::redact::Redactor;

/// How agents of a run are supervised: in `workdir`, confined to `access`
/// when there is a sandbox, with private areas under the run's root.
pub(super) fn supervision(
    config: &Config,
    (confinement, access): (&Confinement, Access),
    (workdir, cache): (&Path, &Path),
    run: &RunDir,
    private_name: &str,
    cancel: CancellationToken,
) -> Supervision {
    Supervision {
        workdir: workdir.to_path_buf(),
        strip_env: config.github.strip_env.clone(),
        env: Vec::new(),
        grace: Duration::from_secs(5),
        cancel,
        sandbox: confinement
            .abi()
            .map(|abi| (abi, run_policy(config, access, workdir, cache, run))),
        redactor: Redactor::from_process(),
        private_root: claim_private_root(config, private_name),
    }
}

/// Runs the review agents on `prompt`, all at once.
pub(super) async fn fan_out(
    config: &Config,
    agents: &[(String, AgentConfig)],
    (run, access): (&RunDir, Access),
    prompt: &str,
    supervision: &Supervision,
    progress: Arc<dyn Progress>,
) -> Result<Vec<Outcome>, PipelineError> {
    progress.event(ProgressEvent::Stage(format!(
        "running {} agents",
        agents.len()
    )));
    // The copy agents may read: a prompt too long for one argument is
    // replaced by a pointer to it.
    let shared_prompt = run.input().join("review-prompt.md");
    std::fs::write(&shared_prompt, prompt).map_err(io("writing the prompt"))?;
    let mut runs = Vec::new();
    for (name, agent) in agents {
        let spec = spec(config, name, agent);
        let dir = run.agent(name);
        std::fs::create_dir_all(&dir).map_err(io("creating the agent directory"))?;
        std::fs::write(run.prompt(name), prompt).map_err(io("writing the prompt"))?;
        let job = ReviewJob {
            access,
            ..job(
                prompt.to_string(),
                &shared_prompt,
                review::schema(),
                agent,
                (agent.model.clone(), agent.effort.clone()),
                dir.clone(),
            )
        };
        let progress = progress.clone();
        runs.push(async move { supervise::run(&spec, &job, &dir, supervision, progress).await });
    }
    Ok(futures_util::future::join_all(runs).await)
}

/// The agents as the manifest lists them, before their versions are known.
pub(super) fn listed(config: &Config, agents: &[(String, AgentConfig)]) -> Vec<ManifestAgent> {
    agents
        .iter()
        .map(|(name, agent)| ManifestAgent {
            name: name.clone(),
            binary: spec(config, name, agent).binary,
            version: None,
            model: agent.model.clone(),
            effort: agent.effort.clone(),
            status: None,
        })
        .collect()
}

/// A CLI's version as last asked, valid while its file is unchanged.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct KnownVersion {
    size: u64,
    modified_ns: i128,
    version: Option<String>,
}

/// Where the versions asked before are kept: by the CLI's resolved path.
fn versions_file(config: &Config) -> PathBuf {
    config.paths.cache_dir.join("cli-versions.json")
}

/// The file's identity: its size and modification time.
fn identity(path: &Path) -> Option<(u64, i128)> {
    let meta = std::fs::metadata(path).ok()?;
    let modified = meta.modified().ok()?;
    let ns = match modified.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => d.as_nanos() as i128,
        Err(e) => -(e.duration().as_nanos() as i128),
    };
    Some((meta.len(), ns))
}

/// Each agent's CLI version, in the order given: from the versions asked
/// before while the CLI's file is the same (size and mtime), else asked
/// now (`--version` starts a Node.js process; all at once).
pub(super) async fn versions(
    config: &Config,
    agents: &[(String, AgentConfig)],
) -> Vec<Option<String>> {
    let file = versions_file(config);
    let known: std::collections::BTreeMap<String, KnownVersion> =
        crate::files::read_json(&file).unwrap_or_default();
    let asks = agents.iter().map(|(name, agent)| {
        let known = &known;
        async move {
            let spec = spec(config, name, agent);
            let path = crate::agents::locate(&spec.binary)?;
            let (size, modified_ns) = identity(&path)?;
            let key = path.display().to_string();
            if let Some(k) = known.get(&key)
                && (k.size, k.modified_ns) == (size, modified_ns)
            {
                return Some((key, k.clone()));
            }
            let version = crate::agents::probe(spec.protocol, &path, &config.github.strip_env)
                .await
                .version;
            Some((
                key,
                KnownVersion {
                    size,
                    modified_ns,
                    version,
                },
            ))
        }
    });
    let found = futures_util::future::join_all(asks).await;
    let mut updated = known.clone();
    // A version that could not be read is asked again next time.
    for (key, k) in found.iter().flatten().filter(|(_, k)| k.version.is_some()) {
        updated.insert(key.clone(), k.clone());
    }
    if updated != known {
        // Best effort: a lost update only means asking again next time.
        let _ = crate::files::write_json(&file, &updated);
    }
    found
        .into_iter()
        .map(|f| f.and_then(|(_, k)| k.version))
        .collect()
}

/// Where a run's agents get their private, throwaway areas: under the
/// cache, not in the run directory (which may be uploaded).
pub(super) fn private_root(config: &Config, run_id: &str) -> PathBuf {
    config.paths.cache_dir.join("sandboxes").join(run_id)
}

/// Creates this run's private root (0700, with the pid that owns it) and
/// removes the ones runs left that are gone (killed outright, say): they
/// may hold copies of logins.
fn claim_private_root(config: &Config, run_id: &str) -> PathBuf {
    use std::os::unix::fs::DirBuilderExt;
    let root = private_root(config, run_id);
    if let Some(all) = root.parent()
        && let Ok(entries) = std::fs::read_dir(all)
    {
        for entry in entries.flatten() {
            // A root without its owner yet may be one being created now.
            let owner = std::fs::read_to_string(entry.path().join("owner"))
                .ok()
                .and_then(|p| p.trim().parse::<u32>().ok());
            if owner.is_some_and(|pid| !rundir::deep_review_alive(pid)) {
                let _ = std::fs::remove_dir_all(entry.path());
            }
        }
    }
    let _ = std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(&root);
    let _ = std::fs::write(root.join("owner"), std::process::id().to_string());
    root
}

pub fn spec(config: &Config, name: &str, agent: &AgentConfig) -> AgentSpec {
    let protocol = agent.protocol;
    AgentSpec {
        name: name.to_string(),
        display_name: agent
            .display_name
            .clone()
            .unwrap_or_else(|| name.to_string()),
        protocol,
        binary: agent
            .binary
            .clone()
            .unwrap_or_else(|| protocol.name().to_string()),
        timeout: agent.timeout.unwrap_or(config.review.timeout),
        pass_env: agent.pass_env.clone(),
    }
}

/// Prompts longer than this go to a file the agent is told to read, as
/// one argument may not exceed 128 KiB on Linux.
const MAX_INLINE_PROMPT: usize = 100_000;

/// `prompt_file` is the prompt's copy in the run directory's input
/// folder, which the agent is given read access to.
pub(super) fn job(
    prompt: String,
    prompt_file: &Path,
    schema: serde_json::Value,
    agent: &AgentConfig,
    (model, effort): (Option<String>, Option<String>),
    scratch: PathBuf,
) -> ReviewJob {
    let prompt = if prompt.len() > MAX_INLINE_PROMPT {
        format!(
            "Your full instructions are in the file {}. Read it completely, then do what it says.",
            prompt_file.display()
        )
    } else {
        prompt
    };
    ReviewJob {
        prompt,
        read_dirs: prompt_file
            .parent()
            .map(Path::to_path_buf)
            .into_iter()
            .collect(),
        system: Some(review::SYSTEM.to_string()),
        schema: Some(schema),
        model,
        effort,
        extra_args: agent.extra_args.clone(),
        scratch,
        // Exec mode is for review runs only: the caller says so.
        access: Access::ReadOnly,
    }
}
