//! A whole review: gather → checkout → prompt → fan out → collect →
//! verify → consolidate → render. Everything is written to the run
//! directory as it is gathered.

mod confinement;
pub mod rundir;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::agents::supervise::{self, AgentSpec, Supervision};
use crate::agents::{Outcome, ReviewJob, Status};
use crate::checkout::{Cache, CacheLock, CheckoutError, Worktree};
use crate::config::{AgentConfig, Config, Format, Protocol};
use crate::consolidate::{self, AgentResult, Consolidation, Decisions, Inputs};
use crate::findings::evidence::TreeSource;
use crate::findings::{self, Answer, Finding};
use crate::github::{self, Github, GithubError, RepoRef};
use crate::ledger::{self, Ledger, LedgerError, PriorStatuses};
use crate::progress::{Progress, ProgressEvent};
use crate::report::Report;
use crate::report::model::{RunInfo, Target as ReportTarget, TargetKind};
use crate::review::{self, Facts};
use crate::sandbox::Access;
use crate::sandbox::redact::Redactor;
use confinement::{Confinement, run_policy};
use rundir::{Manifest, ManifestAgent, RunDir, RunState, read_json, write_json};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Checkout(#[from] CheckoutError),
    #[error("{context}: {source}")]
    Io {
        context: String,
        source: std::io::Error,
    },
    #[error("no agent to run: every selected agent is disabled")]
    NoAgents,
    #[error("cancelled before any agent ran")]
    Cancelled,
    #[error(transparent)]
    Github(#[from] GithubError),
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("no GitHub repository: the checkout has no GitHub `upstream` or `origin` remote")]
    NoRepository,
    #[error("refusing to review a fork PR without a sandbox: {reason}")]
    Unconfined { reason: String },
}

impl PipelineError {
    pub fn hint(&self) -> String {
        match self {
            PipelineError::Github(e) => e.hint(),
            other => other.static_hint().to_string(),
        }
    }

    fn static_hint(&self) -> &'static str {
        match self {
            PipelineError::Checkout(e) => e.hint(),
            PipelineError::Io { .. } => {
                "check the data directory (paths.data_dir) is writable; `deep-review doctor` checks it"
            }
            PipelineError::NoAgents => "enable one in the config, or name one with --agents",
            PipelineError::Cancelled => "",
            PipelineError::Github(_) => "",
            PipelineError::Ledger(_) => {
                "the ledger records each finding's status across rounds; fix or move the file and run again"
            }
            PipelineError::NoRepository => {
                "pass --repo OWNER/NAME, or run inside a clone of the repository"
            }
            PipelineError::Unconfined { .. } => {
                "run it on Linux with Landlock (see docs/security.md), or pass --allow-unconfined to let the PR's author reach your files and secrets"
            }
        }
    }
}

fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> PipelineError {
    let context = context.into();
    move |source| PipelineError::Io { context, source }
}

/// What to review.
#[derive(Debug, Clone)]
pub enum Target {
    /// A GitHub pull request of `repo` (`owner/name`), else of the GitHub
    /// repository of the checkout around `cwd`.
    Pr {
        cwd: PathBuf,
        repo: Option<String>,
        number: u64,
    },
    /// A local branch of the repository around `cwd`.
    Branch {
        cwd: PathBuf,
        name: Option<String>,
        base: Option<String>,
    },
}

#[derive(Debug, Clone)]
pub struct Request {
    pub target: Target,
    pub round: Option<u32>,
    /// Formats written into the run directory (the JSON model always is).
    pub formats: Vec<Format>,
    pub keep_worktree: bool,
}

/// A finished review.
#[derive(Debug)]
pub struct Finished {
    pub report: Report,
    pub run: RunDir,
    pub written: Vec<(Format, PathBuf)>,
}

/// The code and facts a review runs on.
struct Prepared {
    facts: Facts,
    cache: Cache,
    head: git2::Oid,
    run: RunDir,
    run_id: String,
    round: u32,
    worktree: Worktree,
    started_at: jiff::ZonedDateTime,
    /// The folder of this PR's (or branch's) runs, which holds the ledger.
    parent: PathBuf,
    ledger: Ledger,
    confinement: Confinement,
}

pub async fn run(
    config: &Config,
    request: &Request,
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
) -> Result<Finished, PipelineError> {
    let started = Instant::now();
    let agents = config.selected_agents();
    if agents.is_empty() {
        return Err(PipelineError::NoAgents);
    }
    progress.event(ProgressEvent::Stage("gathering the change".into()));
    let prepared = prepare(config, request, &progress).await?;
    let mut manifest = Manifest {
        run_id: prepared.run_id.clone(),
        state: RunState::Running,
        round: prepared.round,
        deep_review_version: env!("CARGO_PKG_VERSION").into(),
        started_at: prepared.started_at.timestamp().to_string(),
        finished_at: None,
        kind: match prepared.facts.kind {
            TargetKind::Pr => "pr".into(),
            TargetKind::Branch => "branch".into(),
        },
        repo: prepared.facts.repo.clone(),
        pr: prepared.facts.pr,
        branch: prepared.facts.head_ref.clone(),
        agents: Vec::new(),
        cache: Some(prepared.cache.path.clone()),
        verdict: None,
        counts: None,
        error: None,
        pid: Some(std::process::id()),
    };
    // Each `--version` starts a Node.js process: ask all at once.
    let probes = agents.iter().map(|(name, agent)| async move {
        let spec = spec(config, name, agent);
        let version = match crate::agents::locate(&spec.binary) {
            Some(path) => {
                crate::agents::probe(spec.protocol, &path, &config.github.strip_env)
                    .await
                    .version
            }
            None => None,
        };
        ManifestAgent {
            name: name.clone(),
            binary: spec.binary,
            version,
            model: agent.model.clone(),
            effort: agent.effort.clone(),
            status: None,
        }
    });
    manifest.agents = futures_util::future::join_all(probes).await;
    write_json(&prepared.run.manifest(), &manifest).map_err(io("writing the manifest"))?;

    let result = review(
        config,
        request,
        &prepared,
        &agents,
        progress.clone(),
        cancel.clone(),
        started,
    )
    .await;
    // Each agent removed its own private area; the run's folder is empty.
    let _ = std::fs::remove_dir_all(private_root(config, &prepared.run_id));
    if !request.keep_worktree
        && let Err(e) = remove_worktree(&prepared)
    {
        progress.event(ProgressEvent::Warning(format!(
            "could not remove the worktree: {e}"
        )));
    }
    match &result {
        Ok(finished) => {
            manifest.state = if cancel.is_cancelled() {
                RunState::Cancelled
            } else if finished.report.incomplete {
                RunState::Incomplete
            } else {
                RunState::Complete
            };
            manifest.verdict = Some(finished.report.verdict.decision);
            manifest.counts = Some(finished.report.counts);
            for a in &mut manifest.agents {
                a.status = finished
                    .report
                    .agents
                    .iter()
                    .find(|r| r.name == a.name)
                    .map(|r| r.status.clone());
            }
        }
        Err(e) => {
            manifest.state = RunState::Failed;
            manifest.error = Some(e.to_string());
        }
    }
    manifest.finished_at = Some(jiff::Timestamp::now().to_string());
    write_json(&prepared.run.manifest(), &manifest).map_err(io("writing the manifest"))?;
    result
}

fn remove_worktree(prepared: &Prepared) -> Result<(), CheckoutError> {
    let _lock = CacheLock::acquire(&prepared.cache.path, || {})?;
    prepared.cache.remove_worktree(&prepared.worktree)
}

async fn prepare(
    config: &Config,
    request: &Request,
    progress: &Arc<dyn Progress>,
) -> Result<Prepared, PipelineError> {
    let started_at = jiff::ZonedDateTime::now();
    let stamp = started_at.strftime("%Y%m%d-%H%M%S").to_string();
    match &request.target {
        Target::Pr { cwd, repo, number } => {
            prepare_pr(
                config,
                cwd,
                repo.as_deref(),
                *number,
                request.round,
                started_at,
                progress,
            )
            .await
        }
        Target::Branch { cwd, name, base } => {
            let local = crate::checkout::local_target(cwd, name.as_deref(), base.as_deref())?;
            let repo_name = local
                .root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "repo".into());
            let branch_key = crate::checkout::sanitize(&local.branch);
            let parent = config
                .paths
                .data_dir
                .join("local")
                .join(crate::checkout::sanitize(&repo_name))
                .join(format!("branch-{branch_key}"));
            let (run, run_id, round) =
                RunDir::claim(&parent, &format!("{stamp}-{branch_key}"), request.round)
                    .map_err(io("creating the run directory"))?;
            let unprepared = rundir::Unprepared::new(&run);
            let key = crate::checkout::local_key(&local.root);
            let url = local.root.display().to_string();
            let fetched = fetch_change(
                config,
                (&key, &url, None),
                &format!("refs/deep-review/branch/{branch_key}"),
                (&format!("refs/heads/{}", local.branch), &local.base_ref),
                &run,
                progress,
            )?;
            let Fetched {
                cache,
                head,
                base: base_oid,
                summary,
                _lock,
            } = fetched;
            let title = summary
                .commits
                .last()
                .map(|c| c.subject.clone())
                .unwrap_or_else(|| local.branch.clone());
            let facts = Facts {
                kind: TargetKind::Branch,
                repo: repo_name,
                repo_url: None,
                pr: None,
                pr_url: None,
                title,
                body: summary
                    .commits
                    .iter()
                    .filter_map(|c| {
                        cache
                            .repo
                            .find_commit(git2::Oid::from_str(&c.sha).ok()?)
                            .ok()
                    })
                    .filter_map(|c| c.body().ok().flatten().map(str::to_string))
                    .collect::<Vec<_>>()
                    .join("\n\n"),
                author: None,
                author_url: None,
                base_ref: local.base.clone(),
                head_ref: local.branch.clone(),
                base_sha: base_oid.to_string(),
                head_sha: head.to_string(),
                merge_base: summary.merge_base.to_string(),
                commits: summary.commits,
                changed_files: summary.files,
                review_context: read_at(&cache.repo, base_oid, CONTEXT_FILE),
                unresolved: Vec::new(),
                fork: false,
                ignored_head_files: steering_files_changed(&cache.repo, base_oid, head),
            };
            write_json(&run.facts(), &facts).map_err(io("writing the review facts"))?;
            let confinement = Confinement::decide(config, &facts)?;
            let worktree = cache.add_worktree(&run_id, &run.worktree(), head)?;
            unprepared.done();
            Ok(Prepared {
                facts,
                cache,
                head,
                run,
                run_id,
                round,
                worktree,
                started_at,
                ledger: Ledger::load(&parent)?,
                parent,
                confinement,
            })
        }
    }
}

/// The change's code in the cache, locked until the worktree is added.
struct Fetched {
    cache: Cache,
    head: git2::Oid,
    base: git2::Oid,
    summary: crate::checkout::DiffSummary,
    _lock: CacheLock,
}

/// Opens the cache for a source `(key, url, token)`, takes its lock,
/// prunes what dead runs left, fetches `(head, base)` into refs under
/// `namespace`, and writes the diff into the run directory.
fn fetch_change(
    config: &Config,
    (key, url, token): (&str, &str, Option<String>),
    namespace: &str,
    (head_src, base_src): (&str, &str),
    run: &RunDir,
    progress: &Arc<dyn Progress>,
) -> Result<Fetched, PipelineError> {
    let lock = CacheLock::acquire(&Cache::path_for(&config.paths.cache_dir, key), || {
        progress.event(ProgressEvent::Stage(
            "waiting for another deep-review run to release the repository cache".into(),
        ))
    })
    .map_err(io("locking the repository cache"))?;
    let cache = Cache::open(&config.paths.cache_dir, key, url, token)?;
    for pruned in cache.prune_stale()? {
        progress.event(ProgressEvent::Warning(format!(
            "removed a stale worktree left by an earlier run ({pruned})"
        )));
    }
    let head_ref = format!("{namespace}/head");
    let base_ref = format!("{namespace}/base");
    cache.fetch(&[
        format!("{head_src}:{head_ref}"),
        format!("{base_src}:{base_ref}"),
    ])?;
    let head = cache.resolve(&head_ref)?;
    let base = cache.resolve(&base_ref)?;
    let summary =
        crate::checkout::summarize(&cache.repo, base, head).map_err(CheckoutError::from)?;
    std::fs::write(run.diff(), &summary.patch).map_err(io("writing the diff"))?;
    Ok(Fetched {
        cache,
        head,
        base,
        summary,
        _lock: lock,
    })
}

/// The host of the GitHub web UI for an API URL (`api.github.com` →
/// `github.com`, `https://ghe.corp/api/v3` → `ghe.corp`).
pub fn github_host(api_url: &str) -> String {
    let host = api_url
        .split("://")
        .nth(1)
        .unwrap_or(api_url)
        .split('/')
        .next()
        .unwrap_or("github.com");
    let host = host.split(':').next().unwrap_or(host);
    if host == "api.github.com" {
        "github.com".into()
    } else {
        host.to_string()
    }
}

async fn prepare_pr(
    config: &Config,
    cwd: &Path,
    repo: Option<&str>,
    number: u64,
    round: Option<u32>,
    started_at: jiff::ZonedDateTime,
    progress: &Arc<dyn Progress>,
) -> Result<Prepared, PipelineError> {
    let host = github_host(&config.github.api_url);
    let repo = match repo {
        Some(spec) => RepoRef::parse(spec, &host).ok_or(PipelineError::NoRepository)?,
        None => github::repo_of_checkout(cwd).ok_or(PipelineError::NoRepository)?,
    };
    progress.event(ProgressEvent::Stage(format!(
        "reading {repo}#{number} from GitHub"
    )));
    let token = github::find_token(&host).await.map(|(t, _)| t);
    let gh = Github::new(&config.github.api_url, token.clone())?;
    let pr = github::fetch_pull_request(&gh, &repo, number).await?;

    let stamp = started_at.strftime("%Y%m%d-%H%M%S").to_string();
    let parent = config
        .paths
        .data_dir
        .join(crate::checkout::sanitize(&repo.owner))
        .join(crate::checkout::sanitize(&repo.name))
        .join(format!("pr-{number}"));
    let (run, run_id, round) = RunDir::claim(&parent, &format!("{stamp}-pr-{number}"), round)
        .map_err(io("creating the run directory"))?;
    let unprepared = rundir::Unprepared::new(&run);
    let key = format!(
        "github/{}/{}/{}",
        crate::checkout::sanitize(&repo.host),
        crate::checkout::sanitize(&repo.owner),
        crate::checkout::sanitize(&repo.name)
    );
    progress.event(ProgressEvent::Stage("fetching the pull request".into()));
    let fetched = fetch_change(
        config,
        (&key, &pr.clone_url, token),
        &format!("refs/deep-review/pr/{number}"),
        (
            &format!("refs/pull/{number}/head"),
            &format!("refs/heads/{}", pr.base_ref),
        ),
        &run,
        progress,
    )?;
    let Fetched {
        cache,
        head,
        base: base_oid,
        summary,
        _lock,
    } = fetched;
    if head.to_string() != pr.head_sha {
        progress.event(ProgressEvent::Warning(format!(
            "the pull request moved while it was read (GitHub said {}, fetched {}); reviewing what was fetched",
            &pr.head_sha[..pr.head_sha.len().min(7)],
            &head.to_string()[..7]
        )));
    }
    let facts = Facts {
        kind: TargetKind::Pr,
        repo: repo.to_string(),
        repo_url: Some(pr.repo_html_url.clone()),
        pr: Some(number),
        pr_url: Some(pr.html_url.clone()),
        title: pr.title.clone(),
        body: pr.body.clone(),
        author: Some(pr.author.clone()),
        author_url: pr.author_url.clone(),
        base_ref: pr.base_ref.clone(),
        head_ref: pr.head_ref.clone(),
        base_sha: base_oid.to_string(),
        head_sha: head.to_string(),
        merge_base: summary.merge_base.to_string(),
        // GitHub's lists when it gave them; the fetched history otherwise.
        commits: if pr.commits.is_empty() {
            summary.commits
        } else {
            pr.commits.clone()
        },
        changed_files: if pr.files.is_empty() {
            summary.files
        } else {
            pr.files.clone()
        },
        review_context: read_at(&cache.repo, base_oid, CONTEXT_FILE),
        unresolved: pr.unresolved.clone(),
        fork: pr
            .head_repo
            .as_deref()
            .is_none_or(|head| !head.eq_ignore_ascii_case(&repo.to_string())),
        ignored_head_files: steering_files_changed(&cache.repo, base_oid, head),
    };
    write_json(&run.facts(), &facts).map_err(io("writing the review facts"))?;
    let confinement = Confinement::decide(config, &facts)?;
    // Decisions the author wrote on the PR (`/deep-review decline ID: reason`).
    // They are worth a warning, not the review: the comments are read
    // again next round.
    let poster = gh.viewer().await;
    let commands = match gh
        .ledger_commands(
            &repo,
            number,
            crate::report::markdown::MARKER,
            poster.as_deref(),
        )
        .await
    {
        Ok(commands) => commands,
        Err(e) => {
            progress.event(ProgressEvent::Warning(format!(
                "could not read the PR's comments for decline lines ({e}); they are read again next round"
            )));
            Vec::new()
        }
    };
    let (ledger, warnings) = Ledger::update(&parent, |ledger| {
        let warnings = ledger.apply_comments(&commands, &pr.author, round);
        Ok::<_, LedgerError>((ledger.clone(), warnings))
    })?;
    for warning in warnings {
        progress.event(ProgressEvent::Warning(warning));
    }
    let worktree = cache.add_worktree(&run_id, &run.worktree(), head)?;
    unprepared.done();
    Ok(Prepared {
        facts,
        cache,
        head,
        run,
        run_id,
        round,
        worktree,
        started_at,
        ledger,
        parent,
        confinement,
    })
}

/// Posts the report as the pull request's deep-review comment, updating
/// the one posted before. Returns the comment's URL.
pub async fn post_comment(
    config: &Config,
    report: &Report,
    full_report: &str,
) -> Result<String, PipelineError> {
    let (Some(spec), Some(number)) = (report.target.repo.as_deref(), report.target.pr) else {
        return Err(PipelineError::NoRepository);
    };
    let host = github_host(&config.github.api_url);
    let repo = RepoRef::parse(spec, &host).ok_or(PipelineError::NoRepository)?;
    let token = github::find_token(&host).await.map(|(t, _)| t);
    let gh = Github::new(&config.github.api_url, token)?;
    let body = crate::report::render(report, Format::Github, Some(full_report));
    Ok(gh
        .post_report(&repo, number, &body, crate::report::markdown::MARKER)
        .await?)
}

/// Where a run's agents get their private, throwaway areas: under the
/// cache, not in the run directory (which may be uploaded).
fn private_root(config: &Config, run_id: &str) -> PathBuf {
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

/// The maintainers' notes for reviewers, read from the base commit only.
pub const CONTEXT_FILE: &str = "deep-review-context.md";

/// `file` as committed at `commit`, if it is there.
fn read_at(repo: &git2::Repository, commit: git2::Oid, file: &str) -> Option<String> {
    let tree = repo.find_commit(commit).ok()?.tree().ok()?;
    let entry = tree.get_path(Path::new(file)).ok()?;
    let blob = entry.to_object(repo).ok()?.peel_to_blob().ok()?;
    Some(String::from_utf8_lossy(blob.content()).into_owned())
}

/// The files that steer a review which the change edits: their head
/// copies are ignored (the base's are used), and the report says so.
fn steering_files_changed(
    repo: &git2::Repository,
    base: git2::Oid,
    head: git2::Oid,
) -> Vec<String> {
    [crate::config::REPO_FILE, CONTEXT_FILE]
        .into_iter()
        .filter(|f| read_at(repo, base, f) != read_at(repo, head, f))
        .map(str::to_string)
        .collect()
}

pub fn spec(config: &Config, name: &str, agent: &AgentConfig) -> AgentSpec {
    let protocol = agent.protocol.unwrap_or(Protocol::Claude);
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
fn job(
    prompt: String,
    prompt_file: &Path,
    schema: serde_json::Value,
    agent: &AgentConfig,
    model: Option<String>,
    effort: Option<String>,
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

#[allow(clippy::too_many_arguments)]
async fn review(
    config: &Config,
    request: &Request,
    p: &Prepared,
    agents: &[(String, AgentConfig)],
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
    started: Instant,
) -> Result<Finished, PipelineError> {
    let supervision = Supervision {
        workdir: p.worktree.path.clone(),
        strip_env: config.github.strip_env.clone(),
        env: Vec::new(),
        grace: Duration::from_secs(5),
        cancel: cancel.clone(),
        sandbox: p.confinement.abi().map(|abi| {
            (
                abi,
                run_policy(
                    config,
                    p.confinement.access,
                    &p.worktree.path,
                    &p.cache.path,
                    &p.run,
                ),
            )
        }),
        redactor: Redactor::from_process(),
        private_root: claim_private_root(config, &p.run_id),
    };
    let diff_path = p.run.diff().display().to_string();
    let prior = p.ledger.prompt_lines();
    p.ledger.save_file(&p.run.ledger_before())?;
    let prompt = review::prompt(
        &p.facts,
        &diff_path,
        &prior,
        p.confinement.access == Access::Exec,
    );

    // Fan out: every agent at once.
    progress.event(ProgressEvent::Stage(format!(
        "running {} agents",
        agents.len()
    )));
    // The copy agents may read: a prompt too long for one argument is
    // replaced by a pointer to it.
    let shared_prompt = p.run.input().join("review-prompt.md");
    std::fs::write(&shared_prompt, &prompt).map_err(io("writing the prompt"))?;
    let mut runs = Vec::new();
    for (name, agent) in agents {
        let spec = spec(config, name, agent);
        let dir = p.run.agent(name);
        std::fs::create_dir_all(&dir).map_err(io("creating the agent directory"))?;
        std::fs::write(p.run.prompt(name), &prompt).map_err(io("writing the prompt"))?;
        let job = job(
            prompt.clone(),
            &shared_prompt,
            review::schema(),
            agent,
            agent.model.clone(),
            agent.effort.clone(),
            dir.clone(),
        );
        let job = ReviewJob {
            access: p.confinement.access,
            ..job
        };
        let supervision = supervision.clone();
        let progress = progress.clone();
        runs.push(async move { supervise::run(&spec, &job, &dir, &supervision, progress).await });
    }
    let outcomes: Vec<Outcome> = futures_util::future::join_all(runs).await;

    // Collect and verify.
    progress.event(ProgressEvent::Stage(
        "checking findings against the code".into(),
    ));
    let tree = p
        .cache
        .repo
        .find_commit(p.head)
        .and_then(|c| c.tree())
        .map_err(CheckoutError::from)?;
    let source = TreeSource {
        repo: &p.cache.repo,
        tree,
    };
    let mut results = Vec::new();
    let mut all_findings: Vec<Finding> = Vec::new();
    for outcome in outcomes {
        write_json(&p.run.outcome(&outcome.name), &outcome)
            .map_err(io("writing an agent outcome"))?;
        let raw = outcome.answer.clone();
        if let Some(text) = &raw {
            std::fs::write(p.run.review(&outcome.name), text).map_err(io("writing a review"))?;
        }
        let parsed = match &raw {
            Some(text) if outcome.status == Status::Ok => {
                findings::answer::parse::<Answer>(text).map_err(|e| e.to_string())
            }
            Some(_) => Err("the agent did not finish".to_string()),
            None => Err("the agent gave no answer".to_string()),
        };
        let (answer, answer_error) = match parsed {
            Ok(a) => (Some(a), None),
            Err(e) => {
                let _ = std::fs::write(p.run.answer_error(&outcome.name), &e);
                (None, Some(e))
            }
        };
        if let Some(a) = &answer {
            write_json(&p.run.answer(&outcome.name), a).map_err(io("writing a parsed answer"))?;
            all_findings.extend(findings::check_answer(&outcome.name, a, &source));
        }
        let review_file = p.run.relative(&p.run.review(&outcome.name));
        results.push(AgentResult {
            outcome,
            answer,
            answer_error,
            raw_answer: raw,
            review_file,
        });
    }
    write_json(&p.run.findings(), &all_findings).map_err(io("writing the checked findings"))?;

    // Consolidate.
    let consolidation = if cancel.is_cancelled() {
        Consolidation::NotPerformed {
            reason: "the run was cancelled".into(),
        }
    } else if !config.consolidation.enabled {
        Consolidation::NotPerformed {
            reason: "consolidation is disabled in the configuration".into(),
        }
    } else if !results.iter().any(AgentResult::succeeded) {
        Consolidation::NotPerformed {
            reason: "no agent produced a readable review".into(),
        }
    } else {
        progress.event(ProgressEvent::Stage("consolidating".into()));
        consolidate_pass(
            config,
            &p.facts,
            &p.run,
            ToConsolidate {
                findings: &all_findings,
                agent_count: results.len(),
                prior: &prior,
            },
            &supervision,
            progress.clone(),
        )
        .await
    };
    let priors = prior_statuses(&consolidation, &results);

    let run_info = RunInfo {
        id: p.run_id.clone(),
        round: p.round,
        started_at: p.started_at.timestamp().to_string(),
        started_local: p.started_at.strftime("%Y-%m-%d %H:%M").to_string(),
        wall_clock_ms: 0,
        deep_review_version: env!("CARGO_PKG_VERSION").into(),
        sandbox: Some(p.confinement.info(&p.facts.ignored_head_files)),
    };
    progress.event(ProgressEvent::Stage("writing the report".into()));
    let mut report = build_report(
        &p.facts,
        run_info,
        &results,
        &all_findings,
        &p.worktree.path,
        consolidation,
    );
    // Applied to the ledger as it is now: another run of the same PR may
    // have finished meanwhile.
    // A round nobody reviewed is no evidence: it moves nothing in the
    // ledger (no finding becomes "addressed" because nobody raised it).
    if report.verdict.decision != findings::Verdict::NotReviewed {
        let at_head = |path: &str| read_at(&p.cache.repo, p.head, path);
        Ledger::update(&p.parent, |ledger| {
            ledger::apply_round(ledger, &mut report, &priors, &at_head);
            Ok::<_, LedgerError>(())
        })?;
    }
    // Measured from start to the written report.
    report.run.wall_clock_ms = started.elapsed().as_millis() as u64;
    let written = write_reports(&p.run, &report, &request.formats)?;
    Ok(Finished {
        report,
        run: p.run.clone(),
        written,
    })
}

fn build_report(
    facts: &Facts,
    run: RunInfo,
    results: &[AgentResult],
    findings: &[Finding],
    workdir: &Path,
    consolidation: Consolidation,
) -> Report {
    let inputs = Inputs {
        run,
        target: report_target(facts),
        agents: results,
        findings,
        workdir: workdir.display().to_string(),
        declined: Vec::new(),
        unresolved_feedback: facts.unresolved.clone(),
    };
    consolidate::build::build(&inputs, consolidation)
}

/// `deep-review consolidate RUN`: consolidation again, from the agents'
/// saved output, with the configured (or another) consolidating agent.
pub async fn reconsolidate(
    config: &Config,
    run: &RunDir,
    formats: &[Format],
    progress: Arc<dyn Progress>,
    cancel: CancellationToken,
) -> Result<Finished, PipelineError> {
    let started = Instant::now();
    let facts: Facts = read_json(&run.facts()).map_err(io("reading the saved review facts"))?;
    let mut manifest: Manifest =
        read_json(&run.manifest()).map_err(io("reading the run manifest"))?;
    let previous = load_report(run).map_err(io("reading the saved report"))?;
    let findings: Vec<Finding> =
        read_json(&run.findings()).map_err(io("reading the checked findings"))?;
    let mut results = Vec::new();
    for agent in &manifest.agents {
        let Ok(outcome) = read_json::<Outcome>(&run.outcome(&agent.name)) else {
            continue;
        };
        let answer: Option<Answer> = read_json(&run.answer(&agent.name)).ok();
        let answer_error = std::fs::read_to_string(run.answer_error(&agent.name)).ok();
        let raw_answer = std::fs::read_to_string(run.review(&agent.name)).ok();
        let review_file = run.relative(&run.review(&agent.name));
        results.push(AgentResult {
            outcome,
            answer,
            answer_error,
            raw_answer,
            review_file,
        });
    }
    let cache_path = manifest.cache.clone().ok_or_else(|| PipelineError::Io {
        context: "this run directory names no cache repository".into(),
        source: std::io::Error::from(std::io::ErrorKind::NotFound),
    })?;
    let cache = Cache::existing(&cache_path)?;
    let head = git2::Oid::from_str(&facts.head_sha).map_err(CheckoutError::from)?;
    let name = format!("{}-consolidate-{}", manifest.run_id, std::process::id());
    let worktree = {
        let _lock =
            CacheLock::acquire(&cache.path, || {}).map_err(io("locking the repository cache"))?;
        cache.add_worktree(&name, &run.root.join("worktree-consolidate"), head)?
    };
    // The consolidation pass only reads.
    let confinement = Confinement::decide(config, &facts)?;
    let supervision = Supervision {
        workdir: worktree.path.clone(),
        strip_env: config.github.strip_env.clone(),
        env: Vec::new(),
        grace: Duration::from_secs(5),
        cancel,
        sandbox: confinement.abi().map(|abi| {
            (
                abi,
                run_policy(config, Access::ReadOnly, &worktree.path, &cache.path, run),
            )
        }),
        redactor: Redactor::from_process(),
        private_root: claim_private_root(config, &name),
    };
    // The ledger as the run found it: earlier rounds, as the agents saw them.
    // Runs from before ledger-before.json: their starting point is unknown.
    let started_from_known_ledger = run.ledger_before().exists();
    let before = Ledger::load_file(&run.ledger_before())?;
    let prior = before.prompt_lines();
    progress.event(ProgressEvent::Stage("consolidating".into()));
    let consolidation = consolidate_pass(
        config,
        &facts,
        run,
        ToConsolidate {
            findings: &findings,
            agent_count: results.len(),
            prior: &prior,
        },
        &supervision,
        progress.clone(),
    )
    .await;
    let priors = prior_statuses(&consolidation, &results);
    {
        let _lock =
            CacheLock::acquire(&cache.path, || {}).map_err(io("locking the repository cache"))?;
        cache.remove_worktree(&worktree)?;
        let _ = std::fs::remove_dir_all(private_root(config, &name));
    }
    let mut report = build_report(
        &facts,
        previous.run.clone(),
        &results,
        &findings,
        &worktree.path,
        consolidation,
    );
    let mut after = before;
    if report.verdict.decision != findings::Verdict::NotReviewed {
        let at_head = |path: &str| read_at(&cache.repo, head, path);
        ledger::apply_round(&mut after, &mut report, &priors, &at_head);
    }
    // The PR's ledger takes the new outcome only while no later round has
    // built on this one.
    let warning = match run.root.parent() {
        None => None,
        // Its history must not be replaced by a guess.
        Some(_) if !started_from_known_ledger => Some(
            "this run did not save the ledger it started from: the ledger is left as it is"
                .to_string(),
        ),
        Some(parent) => Ledger::update(parent, |current| {
            Ok::<_, LedgerError>(if current.last_round() <= report.run.round {
                after.carry_over(current, &report.run.id, report.run.round);
                *current = after;
                None
            } else {
                Some(format!(
                    "round {} is not the latest: the ledger keeps what later rounds recorded",
                    report.run.round
                ))
            })
        })?,
    };
    if let Some(warning) = warning {
        progress.event(ProgressEvent::Warning(warning));
    }
    // The review took what it took; the new consolidation adds its time.
    report.run.wall_clock_ms = previous.run.wall_clock_ms + started.elapsed().as_millis() as u64;
    let written = write_reports(run, &report, formats)?;
    manifest.verdict = Some(report.verdict.decision);
    manifest.counts = Some(report.counts);
    manifest.state = if report.incomplete {
        RunState::Incomplete
    } else {
        RunState::Complete
    };
    write_json(&run.manifest(), &manifest).map_err(io("writing the manifest"))?;
    Ok(Finished {
        report,
        run: run.clone(),
        written,
    })
}

/// What the consolidator is asked to decide on.
struct ToConsolidate<'a> {
    findings: &'a [Finding],
    agent_count: usize,
    /// Earlier rounds' open and declined findings, one line each.
    prior: &'a [String],
}

async fn consolidate_pass(
    config: &Config,
    facts: &Facts,
    run: &RunDir,
    input: ToConsolidate<'_>,
    supervision: &Supervision,
    progress: Arc<dyn Progress>,
) -> Consolidation {
    let ToConsolidate {
        findings,
        agent_count,
        prior,
    } = input;
    let name = config.consolidation.agent.clone();
    let Some(agent) = config.agents.get(&name) else {
        return Consolidation::NotPerformed {
            reason: format!("no agent named {name:?} to consolidate"),
        };
    };
    let dir = run.consolidation();
    if let Err(e) = std::fs::create_dir_all(&dir) {
        return Consolidation::NotPerformed {
            reason: format!("cannot write {}: {e}", dir.display()),
        };
    }
    let diff_path = run.diff().display().to_string();
    let prompt = consolidate::prompt(facts, findings, agent_count, &diff_path, prior);
    let prompt_file = dir.join("prompt.md");
    let _ = std::fs::write(&prompt_file, &prompt);
    let mut spec = spec(config, &name, agent);
    spec.name = format!("{name} (consolidation)");
    spec.display_name = format!("{} (consolidation)", spec.display_name);
    let model = config
        .consolidation
        .model
        .clone()
        .or_else(|| agent.model.clone());
    let effort = config
        .consolidation
        .effort
        .clone()
        .or_else(|| agent.effort.clone());
    let input_prompt = run.input().join("consolidation-prompt.md");
    let _ = std::fs::write(&input_prompt, &prompt);
    let job = job(
        prompt,
        &input_prompt,
        consolidate::schema(),
        agent,
        model.clone(),
        effort,
        dir.clone(),
    );
    let outcome = supervise::run(&spec, &job, &dir, supervision, progress).await;
    let _ = write_json(&dir.join("outcome.json"), &outcome);
    if outcome.status != Status::Ok {
        return Consolidation::NotPerformed {
            reason: format!(
                "the consolidating agent ({name}) {}: {}",
                outcome.status.name().replace('_', " "),
                outcome.message.unwrap_or_default()
            ),
        };
    }
    let Some(text) = outcome.answer.clone() else {
        return Consolidation::NotPerformed {
            reason: format!("the consolidating agent ({name}) gave no answer"),
        };
    };
    let _ = std::fs::write(dir.join("answer.md"), &text);
    match findings::answer::parse::<Decisions>(&text) {
        Ok(decisions) => {
            let _ = write_json(&run.decisions(), &decisions);
            Consolidation::Decided {
                agent: name,
                model: model.or(outcome.reported_model),
                decisions: Box::new(decisions),
            }
        }
        Err(e) => Consolidation::NotPerformed {
            reason: format!("the consolidating agent's answer could not be read: {e}"),
        },
    }
}

pub fn report_target(facts: &Facts) -> ReportTarget {
    ReportTarget {
        kind: facts.kind,
        repo: Some(facts.repo.clone()),
        repo_url: facts.repo_url.clone(),
        pr: facts.pr,
        pr_url: facts.pr_url.clone(),
        title: facts.title.clone(),
        author: facts.author.clone(),
        author_url: facts.author_url.clone(),
        branch: facts.head_ref.clone(),
        base: facts.base_ref.clone(),
        base_sha: facts.base_sha.clone(),
        head_sha: facts.head_sha.clone(),
        commits: facts.commits.clone(),
        changed_files: facts.changed_files.clone(),
    }
}

/// Writes every requested format, and always the JSON model, which
/// `deep-review show` renders from.
pub fn write_reports(
    run: &RunDir,
    report: &Report,
    formats: &[Format],
) -> Result<Vec<(Format, PathBuf)>, PipelineError> {
    let mut formats: Vec<Format> = formats.to_vec();
    if !formats.contains(&Format::Json) {
        formats.push(Format::Json);
    }
    let full = run.report(Format::Md).display().to_string();
    let mut written = Vec::new();
    for format in formats {
        let path = run.report(format);
        let text = crate::report::render(report, format, Some(&full));
        std::fs::write(&path, text).map_err(io(format!("writing {}", path.display())))?;
        written.push((format, path));
    }
    Ok(written)
}

/// The saved report of a run directory.
pub fn load_report(run: &RunDir) -> std::io::Result<Report> {
    read_json(&run.report(Format::Json))
}

/// What the reviewers said of earlier findings: the consolidator's word
/// when it gave one, else the agents' (any "still open" wins, so nothing
/// is called fixed on one agent's say).
fn prior_statuses(consolidation: &Consolidation, results: &[AgentResult]) -> PriorStatuses {
    use crate::findings::answer::PriorState;
    if let Consolidation::Decided { decisions, .. } = consolidation
        && !decisions.prior_findings.is_empty()
    {
        return decisions
            .prior_findings
            .iter()
            .map(|p| (p.id.clone(), p.status))
            .collect();
    }
    let mut out: PriorStatuses = Vec::new();
    for p in results
        .iter()
        .filter_map(|r| r.answer.as_ref())
        .flat_map(|a| a.prior_findings.iter())
    {
        match out
            .iter_mut()
            .find(|(id, _)| id.eq_ignore_ascii_case(&p.id))
        {
            Some((_, state)) => {
                if p.status == PriorState::StillOpen
                    || (*state == PriorState::Addressed && p.status == PriorState::NoLongerApplies)
                {
                    *state = p.status;
                }
            }
            None => out.push((p.id.clone(), p.status)),
        }
    }
    out
}
