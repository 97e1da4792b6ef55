//! The review pipeline, phase by phase: [`prepare`] the change,
//! [`fanout`] the agents, [`collect`] and check their findings, run the
//! [`consolidation`] pass, and [`finish`]: the report built and recorded
//! in the ledger, written, the manifest closed. `deep-review consolidate`
//! runs the last two again on a saved run.

mod collect;
mod confinement;
mod consolidation;
mod error;
mod fanout;
mod finish;
mod post;
mod prepare;
pub mod rundir;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::agents::leftovers::{self, Swept};
use crate::checkout::{Cache, CheckoutError, Worktree};
use crate::config::{AgentConfig, Config, Format};
use crate::consolidate::AgentResult;
use crate::files::{FileLock, read_json, write_json};
use crate::findings::Finding;
use crate::progress::{Progress, ProgressEvent};
use crate::report::Report;
use crate::report::model::RunInfo;
use crate::review::{self, Facts};
use crate::rounds::{Ledger, LedgerError};
use crate::sandbox::Access;
use confinement::Confinement;
use consolidation::ToConsolidate;
use error::io;
pub use error::{ErrorKind, PipelineError};
pub use fanout::spec;
use finish::Reviewed;
pub use finish::{load_report, report_target, resolutions_of, write_reports};
pub use post::{PostedReview, check_run, post_check, post_comment, post_review};
pub use prepare::CONTEXT_FILE;
use prepare::Prepared;
use rundir::{Manifest, RunDir, RunState};

/// What to review.
#[derive(Debug, Clone)]
pub enum Target {
    /// A GitHub pull request of `repo` (`owner/name`), else of the GitHub
    /// repository of the checkout around `cwd`.
    Pr {
        cwd: PathBuf,
        repo: Option<String>,
        number: u64,
        /// The head commit (or a prefix of it, 7 hex digits or more) the
        /// review must be of: a PR that moved since is refused.
        head: Option<String>,
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
    let prepared = prepare::prepare(config, request, &progress).await?;
    let mut manifest = started_manifest(&prepared);
    manifest.agents = fanout::listed(config, &agents);
    write_json(&prepared.run.manifest(), &manifest).map_err(io("writing the manifest"))?;
    // Trees evicted from the pool (by this run or one that died first) are
    // deleted beside the agents, off the user's wait.
    let trash = prepared.cache.trash().to_path_buf();
    let emptied = tokio::task::spawn_blocking(move || crate::checkout::pool::empty_trash(&trash));
    // The CLIs' versions are asked for while the agents run, never before.
    let (versions, reviewed) = tokio::join!(
        fanout::versions(config, &agents),
        review(config, &prepared, &agents, (progress.clone(), &cancel)),
    );
    for (listed, version) in manifest.agents.iter_mut().zip(versions) {
        listed.version = version;
    }
    // Each agent removed its own private area; the run's folder is empty.
    let _ = std::fs::remove_dir_all(fanout::private_root(config, &prepared.run_id));
    // Every process the run started on purpose has been waited for.
    let swept = sweep_leftovers(&progress).await;
    let agents_gone = swept.as_ref().is_some_and(|s| s.complete);
    if let Err(e) = give_back(&prepared, request.keep_worktree, agents_gone) {
        progress.event(ProgressEvent::Warning(format!(
            "could not give the worktree back: {e}"
        )));
    }
    let _ = emptied.await;
    let result = reviewed.and_then(|mut report| {
        if let (Some(sandbox), Some(swept)) = (report.run.sandbox.as_mut(), &swept) {
            sandbox.leftover_processes = swept.killed.len() as u32;
        }
        // From start to here: everything but writing the files.
        report.run.wall_clock_ms = started.elapsed().as_millis() as u64;
        let written = write_reports(&prepared.run, &report, &request.formats)?;
        Ok(Finished {
            report,
            run: prepared.run.clone(),
            written,
        })
    });
    match &result {
        Ok(finished) => manifest.record(&finished.report, cancel.is_cancelled()),
        Err(e) => {
            manifest.state = RunState::Failed;
            manifest.error = Some(e.to_string());
        }
    }
    manifest.finished_at = Some(jiff::Timestamp::now().to_string());
    write_json(&prepared.run.manifest(), &manifest).map_err(io("writing the manifest"))?;
    result
}

fn started_manifest(p: &Prepared) -> Manifest {
    Manifest {
        kind: Some(p.facts.kind),
        repo: p.facts.repo.clone(),
        pr: p.facts.pr,
        branch: p.facts.head_ref.clone(),
        cache: Some(p.cache.path.clone()),
        worktree: Some(p.worktree.path.clone()),
        started_at: p.started_at.timestamp().to_string(),
        ..Manifest::claimed(&p.run_id, p.round, p.facts.kind)
    }
}

/// Kills what the agents left running (`agents::leftovers`) and says so.
/// `None` when this process does not adopt orphans (library use).
async fn sweep_leftovers(progress: &Arc<dyn Progress>) -> Option<Swept> {
    let swept = tokio::task::spawn_blocking(leftovers::sweep)
        .await
        .ok()
        .flatten()?;
    if !swept.killed.is_empty() {
        // A fork storm is not to flood the terminal.
        let mut names = swept.killed.iter().take(8).cloned().collect::<Vec<_>>();
        if swept.killed.len() > names.len() {
            names.push(format!("{} more", swept.killed.len() - names.len()));
        }
        progress.event(ProgressEvent::Warning(format!(
            "the agents left {} process(es) running after they ended ({}): killed",
            swept.killed.len(),
            names.join(", ")
        )));
    }
    if !swept.complete {
        progress.event(ProgressEvent::Warning(
            "some processes the agents started could not be stopped in time (they may still run); the worktree is not reused"
                .into(),
        ));
    }
    Some(swept)
}

/// The worktree after the run: back to the pool if no agent can still
/// write in it — a read-only run's in the sandbox, or an exec run's once
/// every process the agents started is known to be dead — else out of it
/// (checkout::pool says why); kept on request.
fn give_back(p: &Prepared, keep: bool, agents_gone: bool) -> Result<(), CheckoutError> {
    let wt = &p.worktree;
    if !wt.pooled {
        return if keep {
            p.cache.keep_worktree(wt, &p.run_id)
        } else {
            remove_worktree(&p.cache, wt)
        };
    }
    // Read-only is the OS's promise only inside a sandbox, and a whole one
    // from Landlock's third version on (before it, truncation is allowed).
    let sandboxed = matches!(
        p.confinement.mechanism,
        crate::sandbox::Mechanism::Landlock { abi } if abi >= 3
    );
    // The sandbox kept every agent's writes inside the tree, and the pool
    // cleans a tree before moving it; what it cannot undo is a process
    // still writing there.
    if !sandboxed || (p.confinement.access == Access::Exec && !agents_gone) {
        p.cache.discard_worktree(wt)
    } else {
        p.cache.release_worktree(wt)
    }
}

fn remove_worktree(cache: &Cache, worktree: &Worktree) -> Result<(), CheckoutError> {
    let _lock = FileLock::acquire(&cache.path, || {})?;
    cache.remove_worktree(worktree)
}

/// The review itself, from the prepared change to the report recorded
/// in the ledger (not yet written).
async fn review(
    config: &Config,
    p: &Prepared,
    agents: &[(String, AgentConfig)],
    (progress, cancel): (Arc<dyn Progress>, &CancellationToken),
) -> Result<Report, PipelineError> {
    let access = p.confinement.access;
    let supervision = fanout::supervision(
        config,
        (&p.confinement, access),
        (&p.worktree.path, &p.cache.path),
        &p.run,
        &p.run_id,
        cancel.clone(),
    );
    let prior = p.ledger.prompt_lines();
    p.ledger.save_file(&p.run.ledger_before())?;
    let diff_path = p.run.diff().display().to_string();
    let prompt = review::prompt(&p.facts, &diff_path, &prior, access == Access::Exec);
    let outcomes = fanout::fan_out(
        config,
        agents,
        (&p.run, access),
        &prompt,
        &supervision,
        progress.clone(),
    )
    .await?;
    progress.event(ProgressEvent::Stage(
        "checking findings against the code".into(),
    ));
    let (results, findings) = collect::collect(&p.run, outcomes, &p.tree_at_head()?)?;
    let input = ToConsolidate {
        findings: &findings,
        results: &results,
        prior: &prior,
        last_retro: consolidation::last_retro(&p.run.root, p.round),
    };
    let consolidating = Instant::now();
    let consolidation = consolidation::after_review(
        config,
        (&p.facts, &p.run),
        input,
        (&results, cancel),
        &supervision,
        progress.clone(),
    )
    .await;
    let consolidation_ms = consolidating.elapsed().as_millis() as u64;
    progress.event(ProgressEvent::Stage("writing the report".into()));
    let reviewed = Reviewed {
        facts: &p.facts,
        run_info: RunInfo {
            consolidation_ms: Some(consolidation_ms),
            ..run_info(p)
        },
        results: &results,
        findings: &findings,
        workdir: &p.worktree.path,
        priors: consolidation::prior_statuses(&consolidation, &results),
        consolidation,
    };
    record(p, reviewed)
}

/// The round's report, recorded in the PR's ledger as it is now: another
/// run of the same PR may have finished meanwhile.
fn record(p: &Prepared, reviewed: Reviewed) -> Result<Report, PipelineError> {
    let at_head = |path: &str| p.at_head(path);
    if !reviewed.happened() {
        return Ok(finish::report(reviewed, None, &at_head));
    }
    Ok(Ledger::update(&p.parent, |ledger| {
        Ok::<_, LedgerError>(finish::report(reviewed, Some(ledger), &at_head))
    })?)
}

fn run_info(p: &Prepared) -> RunInfo {
    RunInfo {
        id: p.run_id.clone(),
        round: p.round,
        started_at: p.started_at.timestamp().to_string(),
        started_local: p.started_at.strftime("%Y-%m-%d %H:%M").to_string(),
        wall_clock_ms: 0,
        checkout_ms: Some(p.checkout_ms),
        consolidation_ms: None,
        deep_review_version: env!("CARGO_PKG_VERSION").into(),
        sandbox: Some(p.confinement.info(&p.facts.ignored_head_files)),
    }
}

/// What a run directory saved of a review.
struct Saved {
    facts: Facts,
    manifest: Manifest,
    previous: Report,
    findings: Vec<Finding>,
    results: Vec<AgentResult>,
}

impl Saved {
    fn load(run: &RunDir) -> Result<Saved, PipelineError> {
        let manifest: Manifest =
            read_json(&run.manifest()).map_err(io("reading the run manifest"))?;
        Ok(Saved {
            facts: read_json(&run.facts()).map_err(io("reading the saved review facts"))?,
            previous: load_report(run).map_err(io("reading the saved report"))?,
            findings: read_json(&run.findings()).map_err(io("reading the checked findings"))?,
            results: manifest
                .agents
                .iter()
                .filter_map(|a| run.load_agent(&a.name))
                .collect(),
            manifest,
        })
    }

    /// The reviewed commit, checked out again for the consolidator.
    fn checkout(&self, config: &Config, run: &RunDir) -> Result<Again, PipelineError> {
        let cache_path = self
            .manifest
            .cache
            .clone()
            .ok_or_else(|| PipelineError::Io {
                context: "this run directory names no cache repository".into(),
                source: std::io::Error::from(std::io::ErrorKind::NotFound),
            })?;
        let cache = Cache::existing(&config.paths.cache_dir, &cache_path)?;
        let head = git2::Oid::from_str(&self.facts.head_sha).map_err(CheckoutError::from)?;
        let name = format!(
            "{}-consolidate-{}",
            self.manifest.run_id,
            std::process::id()
        );
        let _lock =
            FileLock::acquire(&cache.path, || {}).map_err(io("locking the repository cache"))?;
        let worktree = cache.add_worktree(&name, &run.root.join("worktree-consolidate"), head)?;
        Ok(Again {
            cache,
            head,
            worktree,
            name,
        })
    }
}

/// A saved run's commit checked out again, for another consolidation.
struct Again {
    cache: Cache,
    head: git2::Oid,
    worktree: Worktree,
    /// The worktree's and the private areas' name.
    name: String,
}

impl Again {
    /// The consolidation pass on the saved findings (it only reads), then
    /// the worktree and private areas removed.
    async fn pass(
        &self,
        config: &Config,
        run: &RunDir,
        saved: &Saved,
        prior: &[String],
        (progress, cancel): (Arc<dyn Progress>, CancellationToken),
    ) -> Result<crate::consolidate::Consolidation, PipelineError> {
        let confinement = match Confinement::decide(config, &saved.facts) {
            Ok(c) => c,
            Err(e) => {
                let _ = remove_worktree(&self.cache, &self.worktree);
                return Err(e);
            }
        };
        let supervision = fanout::supervision(
            config,
            (&confinement, Access::ReadOnly),
            (&self.worktree.path, &self.cache.path),
            run,
            &self.name,
            cancel,
        );
        progress.event(ProgressEvent::Stage("consolidating".into()));
        let input = ToConsolidate {
            findings: &saved.findings,
            results: &saved.results,
            prior,
            last_retro: consolidation::last_retro(&run.root, saved.manifest.round),
        };
        let consolidation = consolidation::consolidate_pass(
            config,
            &saved.facts,
            run,
            input,
            &supervision,
            progress,
        )
        .await;
        remove_worktree(&self.cache, &self.worktree)?;
        let _ = std::fs::remove_dir_all(fanout::private_root(config, &self.name));
        Ok(consolidation)
    }
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
    let mut saved = Saved::load(run)?;
    let again = saved.checkout(config, run)?;
    // The ledger as the run found it: earlier rounds, as the agents saw them.
    // Runs from before ledger-before.json: their starting point is unknown.
    let known = run.ledger_before().exists();
    let mut after = Ledger::load_file(&run.ledger_before())?;
    let consolidating = Instant::now();
    let consolidation = again
        .pass(
            config,
            run,
            &saved,
            &after.prompt_lines(),
            (progress.clone(), cancel),
        )
        .await;
    sweep_leftovers(&progress).await;
    let consolidation = consolidation?;
    let reviewed = Reviewed {
        facts: &saved.facts,
        run_info: RunInfo {
            consolidation_ms: Some(consolidating.elapsed().as_millis() as u64),
            ..saved.previous.run.clone()
        },
        results: &saved.results,
        findings: &saved.findings,
        workdir: &again.worktree.path,
        priors: consolidation::prior_statuses(&consolidation, &saved.results),
        consolidation,
    };
    let happened = reviewed.happened();
    let at_head = |path: &str| prepare::read_at(&again.cache.repo, again.head, path);
    let mut report = finish::report(reviewed, happened.then_some(&mut after), &at_head);
    if let Some(warning) = replace_ledger(run, after, known, &report)? {
        progress.event(ProgressEvent::Warning(warning));
    }
    // The review took what it took; the new consolidation adds its time.
    report.run.wall_clock_ms =
        saved.previous.run.wall_clock_ms + started.elapsed().as_millis() as u64;
    let written = write_reports(run, &report, formats)?;
    saved.manifest.record(&report, false);
    write_json(&run.manifest(), &saved.manifest).map_err(io("writing the manifest"))?;
    Ok(Finished {
        report,
        run: run.clone(),
        written,
    })
}

/// The PR's ledger takes a re-consolidated round only while no later
/// round has built on it, and never from a run whose starting ledger is
/// unknown. Returns why it was left alone, if it was.
fn replace_ledger(
    run: &RunDir,
    mut after: Ledger,
    known: bool,
    report: &Report,
) -> Result<Option<String>, PipelineError> {
    let Some(parent) = run.root.parent() else {
        return Ok(None);
    };
    if !known {
        // Its history must not be replaced by a guess.
        return Ok(Some(
            "this run did not save the ledger it started from: the ledger is left as it is"
                .to_string(),
        ));
    }
    let round = report.run.round;
    Ok(Ledger::update(parent, |current| {
        Ok::<_, LedgerError>(if current.last_round() <= round {
            after.carry_over(current, &report.run.id, round);
            *current = after;
            None
        } else {
            Some(format!(
                "round {round} is not the latest: the ledger keeps what later rounds recorded"
            ))
        })
    })?)
}
