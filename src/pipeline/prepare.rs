//! Phase one of a review: the change's code fetched into the cache, its
//! facts gathered (from git for a branch, from GitHub for a PR), the run
//! directory claimed, the confinement decided, the worktree added.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::confinement::Confinement;
use super::error::{PipelineError, io};
use super::rundir::{self, RunDir};
use super::{Request, Target};
use crate::checkout::{Cache, CheckoutError, Worktree};
use crate::config::Config;
use crate::domain::{ChangedFile, Commit, Feedback, TargetKind};
use crate::files::{FileLock, write_json};
use crate::findings::evidence::TreeSource;
use crate::github::{self, Github, RepoRef};
use crate::progress::{Progress, ProgressEvent};
use crate::review::Facts;
use crate::rounds::{Ledger, LedgerError};

/// The code and facts a review runs on.
pub(super) struct Prepared {
    pub facts: Facts,
    pub cache: Cache,
    pub head: git2::Oid,
    pub run: RunDir,
    pub run_id: String,
    pub round: u32,
    pub worktree: Worktree,
    pub started_at: jiff::ZonedDateTime,
    /// The folder of this PR's (or branch's) runs, which holds the ledger.
    pub parent: PathBuf,
    pub ledger: Ledger,
    pub confinement: Confinement,
    /// Fetching the change and adding its worktree.
    pub checkout_ms: u64,
    /// Holds the pooled worktree until the run gives it back.
    pub _tree_lock: Option<FileLock>,
}

impl Prepared {
    /// The reviewed commit's tree, which findings are checked against.
    pub fn tree_at_head(&self) -> Result<TreeSource<'_>, PipelineError> {
        let tree = self
            .cache
            .repo
            .find_commit(self.head)
            .and_then(|c| c.tree())
            .map_err(CheckoutError::from)?;
        Ok(TreeSource {
            repo: &self.cache.repo,
            tree,
        })
    }

    /// A file's text at the reviewed commit.
    pub fn at_head(&self, path: &str) -> Option<String> {
        read_at(&self.cache.repo, self.head, path)
    }
}

pub(super) async fn prepare(
    config: &Config,
    request: &Request,
    progress: &Arc<dyn Progress>,
) -> Result<Prepared, PipelineError> {
    let started_at = jiff::ZonedDateTime::now();
    match &request.target {
        Target::Pr {
            cwd,
            repo,
            number,
            head,
        } => {
            prepare_pr(
                config,
                (cwd, repo.as_deref(), *number, head.as_deref()),
                request.round,
                started_at,
                progress,
            )
            .await
        }
        Target::Branch { cwd, name, base } => prepare_branch(
            config,
            (cwd, name.as_deref(), base.as_deref()),
            request.round,
            started_at,
            progress,
        ),
    }
}

fn prepare_branch(
    config: &Config,
    (cwd, name, base): (&Path, Option<&str>, Option<&str>),
    round: Option<u32>,
    started_at: jiff::ZonedDateTime,
    progress: &Arc<dyn Progress>,
) -> Result<Prepared, PipelineError> {
    let local = crate::checkout::local_target(cwd, name, base)?;
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
    let (run, run_id, round, unprepared) = claim(
        &parent,
        (&started_at, &branch_key),
        TargetKind::Branch,
        round,
    )?;
    let key = crate::checkout::local_key(&local.root);
    let fetched = fetch_change(
        config,
        (&key, Source::Local(&local.root)),
        &format!("refs/deep-review/branch/{branch_key}"),
        (&format!("refs/heads/{}", local.branch), &local.base_ref),
        &run,
        progress,
    )?;
    let title = fetched
        .summary
        .commits
        .last()
        .map(|c| c.subject.clone())
        .unwrap_or_else(|| local.branch.clone());
    let body = commit_bodies(&fetched.cache.repo, &fetched.summary.commits);
    let about = About {
        kind: TargetKind::Branch,
        repo: repo_name,
        repo_url: None,
        pr: None,
        pr_url: None,
        title,
        body,
        author: None,
        author_url: None,
        base_ref: local.base.clone(),
        head_ref: local.branch.clone(),
        commits: Vec::new(),
        changed_files: Vec::new(),
        unresolved: Vec::new(),
        ci: None,
        fork: false,
    };
    let facts = facts(about, &fetched);
    let confinement = decide(config, &run, &facts)?;
    let ledger = Ledger::load(&parent)?;
    settle(
        confinement,
        fetched,
        facts,
        (run, run_id, round),
        (parent, ledger),
        started_at,
        (unprepared, progress),
    )
}

/// Decisions people with write access wrote on the PR (`/deep-review
/// decline ID: reason`), applied to its ledger; the ledger as it is then.
/// Comments that cannot be read are worth a warning, not the review: they
/// are read again next round.
async fn apply_pr_comments(
    gh: &Github,
    (repo, pr): (&RepoRef, &github::PullRequest),
    parent: &Path,
    progress: &Arc<dyn Progress>,
) -> Result<Ledger, PipelineError> {
    let poster = gh.viewer().await;
    let markers = [
        crate::report::markdown::MARKER,
        crate::report::review::FINDING_TAG,
        crate::report::review::REVIEW_TAG,
    ];
    let commands = match gh
        .ledger_commands(repo, pr.number, &markers, poster.as_deref())
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
    let (ledger, warnings) = Ledger::update(parent, |ledger| {
        let warnings = ledger.apply_comments(&commands, &pr.author);
        Ok::<_, LedgerError>((ledger.clone(), warnings))
    })?;
    for warning in warnings {
        progress.event(ProgressEvent::Warning(warning));
    }
    Ok(ledger)
}

/// What GitHub says of the PR.
fn about_pr(repo: &RepoRef, number: u64, pr: &github::PullRequest) -> About {
    About {
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
        commits: pr.commits.clone(),
        changed_files: pr.files.clone(),
        unresolved: pr.unresolved.clone(),
        ci: pr.ci.clone(),
        // A PR whose head repository is gone counts as a fork.
        fork: pr
            .head_repo
            .as_deref()
            .is_none_or(|head| !head.eq_ignore_ascii_case(&repo.to_string())),
    }
}

/// The run's directory and round, claimed under `parent` as
/// `<stamp>-<name>`, and the guard that marks it failed until prepared.
fn claim(
    parent: &Path,
    (started_at, name): (&jiff::ZonedDateTime, &str),
    kind: TargetKind,
    round: Option<u32>,
) -> Result<(RunDir, String, u32, rundir::Unprepared), PipelineError> {
    let stamp = started_at.strftime("%Y%m%d-%H%M%S");
    let (run, run_id, round) = RunDir::claim(parent, &format!("{stamp}-{name}"), kind, round)
        .map_err(io("creating the run directory"))?;
    let unprepared = rundir::Unprepared::new(&run);
    Ok((run, run_id, round, unprepared))
}

/// The bodies of the branch's commits: its description.
fn commit_bodies(repo: &git2::Repository, commits: &[Commit]) -> String {
    commits
        .iter()
        .filter_map(|c| repo.find_commit(git2::Oid::from_str(&c.sha).ok()?).ok())
        .filter_map(|c| c.body().ok().flatten().map(str::to_string))
        .collect::<Vec<_>>()
        .join("\n\n")
}

/// What is known of a change before its code is read; lists left empty
/// are taken from the fetched history.
struct About {
    kind: TargetKind,
    repo: String,
    repo_url: Option<String>,
    pr: Option<u64>,
    pr_url: Option<String>,
    title: String,
    body: String,
    author: Option<String>,
    author_url: Option<String>,
    base_ref: String,
    head_ref: String,
    commits: Vec<Commit>,
    changed_files: Vec<ChangedFile>,
    unresolved: Vec<Feedback>,
    ci: Option<crate::domain::CiState>,
    fork: bool,
}

/// The one builder of a review's facts, for branches and PRs alike.
fn facts(about: About, fetched: &Fetched) -> Facts {
    let summary = &fetched.summary;
    let repo = &fetched.cache.repo;
    Facts {
        kind: about.kind,
        repo: about.repo,
        repo_url: about.repo_url,
        pr: about.pr,
        pr_url: about.pr_url,
        title: about.title,
        body: about.body,
        author: about.author,
        author_url: about.author_url,
        base_ref: about.base_ref,
        head_ref: about.head_ref,
        base_sha: fetched.base.to_string(),
        head_sha: fetched.head.to_string(),
        merge_base: summary.merge_base.to_string(),
        // GitHub's lists when it gave them; the fetched history otherwise.
        commits: if about.commits.is_empty() {
            summary.commits.clone()
        } else {
            about.commits
        },
        changed_files: if about.changed_files.is_empty() {
            summary.files.clone()
        } else {
            about.changed_files
        },
        review_context: read_at(repo, fetched.base, CONTEXT_FILE),
        unresolved: about.unresolved,
        ci: about.ci,
        fork: about.fork,
        ignored_head_files: steering_files_changed(repo, fetched.base, fetched.head),
        diff_pieces: fetched.pieces.clone(),
    }
}

/// The facts saved, and how the agents are confined.
fn decide(config: &Config, run: &RunDir, facts: &Facts) -> Result<Confinement, PipelineError> {
    write_json(&run.facts(), facts).map_err(io("writing the review facts"))?;
    Confinement::decide(config, facts)
}

/// The end of preparation for both kinds: the worktree added.
fn settle(
    confinement: Confinement,
    fetched: Fetched,
    facts: Facts,
    (run, run_id, round): (RunDir, String, u32),
    (parent, ledger): (PathBuf, Ledger),
    started_at: jiff::ZonedDateTime,
    (unprepared, progress): (rundir::Unprepared, &Arc<dyn Progress>),
) -> Result<Prepared, PipelineError> {
    let Fetched {
        cache,
        head,
        started,
        change,
        keep,
        _lock,
        ..
    } = fetched;
    // Kept on request: a tree of its own in the run directory, never moved
    // by a later run. Otherwise the change's pooled tree, moved here.
    let (worktree, tree_lock) = if keep {
        (cache.add_worktree(&run_id, &run.worktree(), head)?, None)
    } else {
        let taken = cache.take_worktree(&change, head)?;
        if taken.took_back {
            progress.event(ProgressEvent::Warning(format!(
                "an earlier run died holding the worktree {}: it was thrown away and built again",
                taken.worktree.name
            )));
        }
        (taken.worktree, Some(taken.lock))
    };
    drop(_lock);
    let checkout_ms = started.elapsed().as_millis() as u64;
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
        parent,
        ledger,
        confinement,
        checkout_ms,
        _tree_lock: tree_lock,
    })
}

/// The change's code in the cache, locked until the worktree is added.
pub(super) struct Fetched {
    cache: Cache,
    head: git2::Oid,
    base: git2::Oid,
    summary: crate::checkout::DiffSummary,
    /// A diff over budget, split per file in the input folder.
    pieces: Option<crate::checkout::pieces::Plan>,
    /// When fetching began (waiting for the lock included).
    started: std::time::Instant,
    /// Names the change's pooled worktrees (`pr/7`, `branch/x`).
    change: String,
    /// `--keep-worktree`: a worktree of the run's own instead.
    keep: bool,
    _lock: FileLock,
}

/// Where a change comes from.
enum Source<'a> {
    /// A remote (GitHub): fetched, only what the cache lacks.
    Remote { url: &'a str, token: Option<String> },
    /// The user's repository on this machine: its objects borrowed, its
    /// refs read, nothing copied.
    Local(&'a Path),
}

/// Opens the cache for `(key, source)`, takes its lock, prunes what dead
/// runs left, brings `(head, base)` into refs under `namespace`, and
/// writes the diff into the run directory.
fn fetch_change(
    config: &Config,
    (key, source): (&str, Source),
    namespace: &str,
    (head_src, base_src): (&str, &str),
    run: &RunDir,
    progress: &Arc<dyn Progress>,
) -> Result<Fetched, PipelineError> {
    let started = std::time::Instant::now();
    let lock = FileLock::acquire(&Cache::path_for(&config.paths.cache_dir, key), || {
        progress.event(ProgressEvent::Stage(
            "waiting for another deep-review run to release the repository cache".into(),
        ))
    })
    .map_err(io("locking the repository cache"))?;
    let (url, token) = match &source {
        Source::Remote { url, token } => (url.to_string(), token.clone()),
        Source::Local(root) => (root.display().to_string(), None),
    };
    let mut cache = Cache::open(&config.paths.cache_dir, key, &url, token)?;
    for pruned in cache.prune_stale()? {
        progress.event(ProgressEvent::Warning(format!(
            "removed a stale worktree left by an earlier run ({pruned})"
        )));
    }
    let head_ref = format!("{namespace}/head");
    let base_ref = format!("{namespace}/base");
    match source {
        Source::Remote { .. } => {
            cache.fetch(&[
                format!("{head_src}:{head_ref}"),
                format!("{base_src}:{base_ref}"),
            ])?;
        }
        Source::Local(root) => {
            let local = git2::Repository::open(root).map_err(CheckoutError::from)?;
            cache.borrow_objects(&local)?;
            for (src, dst) in [(head_src, &head_ref), (base_src, &base_ref)] {
                let oid = local
                    .refname_to_id(src)
                    .map_err(|_| CheckoutError::MissingRef {
                        what: src.to_string(),
                        refspec: format!("{src}:{dst}"),
                        url: url.clone(),
                    })?;
                cache.set_ref(dst, oid)?;
            }
        }
    }
    let head = cache.resolve(&head_ref)?;
    let base = cache.resolve(&base_ref)?;
    let summary =
        crate::checkout::summarize(&cache.repo, base, head).map_err(CheckoutError::from)?;
    std::fs::write(run.diff(), &summary.patch).map_err(io("writing the diff"))?;
    let pieces = match crate::checkout::pieces::plan(&summary.patch) {
        Some((plan, texts)) => {
            let dir = run.diff_pieces();
            std::fs::create_dir_all(&dir).map_err(io("writing the diff's pieces"))?;
            for (piece, text) in plan.pieces.iter().zip(texts) {
                std::fs::write(dir.join(&piece.file), text)
                    .map_err(io("writing the diff's pieces"))?;
            }
            Some(plan)
        }
        None => None,
    };
    Ok(Fetched {
        cache,
        head,
        base,
        summary,
        pieces,
        started,
        change: namespace
            .strip_prefix("refs/deep-review/")
            .unwrap_or(namespace)
            .to_string(),
        keep: config.review.keep_worktree,
        _lock: lock,
    })
}

async fn prepare_pr(
    config: &Config,
    (cwd, repo, number, expected_head): (&Path, Option<&str>, u64, Option<&str>),
    round: Option<u32>,
    started_at: jiff::ZonedDateTime,
    progress: &Arc<dyn Progress>,
) -> Result<Prepared, PipelineError> {
    let host = github::web_host(&config.github.api_url);
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
    // Before anything is claimed or fetched: the PR as GitHub says it is.
    if let Some(expected) = expected_head
        && !pr.head_sha.starts_with(&expected.to_ascii_lowercase())
    {
        return Err(PipelineError::HeadMoved {
            expected: expected.to_string(),
            actual: pr.head_sha.clone(),
        });
    }

    let parent = config
        .paths
        .data_dir
        .join(crate::checkout::sanitize(&repo.owner))
        .join(crate::checkout::sanitize(&repo.name))
        .join(format!("pr-{number}"));
    let (run, run_id, round, unprepared) = claim(
        &parent,
        (&started_at, &format!("pr-{number}")),
        TargetKind::Pr,
        round,
    )?;
    let key = format!(
        "github/{}/{}/{}",
        crate::checkout::sanitize(&repo.host),
        crate::checkout::sanitize(&repo.owner),
        crate::checkout::sanitize(&repo.name)
    );
    progress.event(ProgressEvent::Stage("fetching the pull request".into()));
    let fetched = fetch_change(
        config,
        (
            &key,
            Source::Remote {
                url: &pr.clone_url,
                token,
            },
        ),
        &format!("refs/deep-review/pr/{number}"),
        (
            &format!("refs/pull/{number}/head"),
            &format!("refs/heads/{}", pr.base_ref),
        ),
        &run,
        progress,
    )?;
    let fetched_head = fetched.head.to_string();
    if let Some(expected) = expected_head
        && !fetched_head.starts_with(&expected.to_ascii_lowercase())
    {
        return Err(PipelineError::HeadMoved {
            expected: expected.to_string(),
            actual: fetched_head,
        });
    }
    if fetched.head.to_string() != pr.head_sha {
        progress.event(ProgressEvent::Warning(format!(
            "the pull request moved while it was read (GitHub said {}, fetched {}); reviewing what was fetched",
            &pr.head_sha[..pr.head_sha.len().min(7)],
            &fetched.head.to_string()[..7]
        )));
    }
    let about = about_pr(&repo, number, &pr);
    let facts = facts(about, &fetched);
    // Before anything is asked of GitHub or written to the ledger: a fork
    // PR that cannot be confined ends here.
    let confinement = decide(config, &run, &facts)?;
    let ledger = apply_pr_comments(&gh, (&repo, &pr), &parent, progress).await?;
    settle(
        confinement,
        fetched,
        facts,
        (run, run_id, round),
        (parent, ledger),
        started_at,
        (unprepared, progress),
    )
}

/// The maintainers' notes for reviewers, read from the base commit only.
pub const CONTEXT_FILE: &str = "deep-review-context.md";

/// `file` as committed at `commit`, if it is there.
pub(super) fn read_at(repo: &git2::Repository, commit: git2::Oid, file: &str) -> Option<String> {
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
