//! `deep-review decline`, `reopen` and `context`: the author's decisions
//! and the proposed repo-context rules, kept in the PR's ledger.

use std::io::Write;
use std::path::PathBuf;

use super::args::{ContextTarget, DeclineTarget, ReopenTarget};
use super::commands::io_failure;
use super::failure::Failure;
use super::output;
use crate::config::Config;
use crate::exit::Exit;
use crate::github::{RepoRef, repo_of_checkout};
use crate::rounds::Ledger;

/// The folder of a PR's runs, which holds its ledger.
fn pr_folder(config: &Config, repo: Option<&str>, number: u64) -> Result<PathBuf, Failure> {
    let host = crate::github::web_host(&config.github.api_url);
    let cwd = std::env::current_dir()
        .map_err(|e| Failure::runtime(format!("cannot read the current directory: {e}"), ""))?;
    let repo = match repo {
        Some(r) => RepoRef::parse(r, &host),
        None => repo_of_checkout(&cwd),
    }
    .ok_or_else(|| {
        Failure::usage(
            "no GitHub repository: the checkout has no GitHub `upstream` or `origin` remote",
            "pass --repo OWNER/NAME",
        )
    })?;
    Ok(config
        .paths
        .data_dir
        .join(crate::checkout::sanitize(&repo.owner))
        .join(crate::checkout::sanitize(&repo.name))
        .join(format!("pr-{number}")))
}

fn require_reviews(ledger: &Ledger, folder: &std::path::Path) -> Result<(), Failure> {
    if ledger.entries.is_empty() && ledger.context_proposals.is_empty() {
        return Err(Failure::usage(
            format!("no reviews recorded in {}", folder.display()),
            "review the pull request first (`deep-review pr N`), or check --repo",
        ));
    }
    Ok(())
}

pub fn decline(config: &Config, target: &DeclineTarget) -> Result<Exit, Failure> {
    let DeclineTarget::Pr {
        number,
        id,
        reason,
        repo,
    } = target;
    let folder = pr_folder(config, repo.as_deref(), *number)?;
    let entry = Ledger::update(&folder, |ledger| {
        require_reviews(ledger, &folder)?;
        ledger
            .decline(id, reason, &jiff::Timestamp::now().to_string())
            .cloned()
            .map_err(|e| Failure::usage(e.to_string(), "use an id from the last report"))
    })?;
    output::stdout(&format!(
        "Declined {} ({}): later rounds list it under \"Declined in prior rounds\".\n",
        entry.id, entry.title
    ))
    .map_err(io_failure)?;
    Ok(Exit::Ok)
}

pub fn reopen(config: &Config, target: &ReopenTarget) -> Result<Exit, Failure> {
    let ReopenTarget::Pr { number, id, repo } = target;
    let folder = pr_folder(config, repo.as_deref(), *number)?;
    let entry = Ledger::update(&folder, |ledger| {
        require_reviews(ledger, &folder)?;
        ledger
            .reopen(id)
            .cloned()
            .map_err(|e| Failure::usage(e.to_string(), "use an id from the last report"))
    })?;
    output::stdout(&format!("Reopened {} ({}).\n", entry.id, entry.title)).map_err(io_failure)?;
    Ok(Exit::Ok)
}

pub fn context(config: &Config, target: &ContextTarget) -> Result<Exit, Failure> {
    let ContextTarget::Pr {
        number,
        apply,
        repo,
    } = target;
    let folder = pr_folder(config, repo.as_deref(), *number)?;
    if apply.is_empty() {
        let ledger = Ledger::load(&folder)?;
        require_reviews(&ledger, &folder)?;
        let mut text = String::new();
        for p in &ledger.context_proposals {
            let mark = if p.applied { " (applied)" } else { "" };
            text.push_str(&format!("{}  round {}{mark}: {}\n", p.id, p.round, p.text));
        }
        if text.is_empty() {
            text = "No repo-context updates were proposed.\n".into();
        }
        output::stdout(&text).map_err(io_failure)?;
        return Ok(Exit::Ok);
    }
    Ledger::update(&folder, |ledger| {
        require_reviews(ledger, &folder)?;
        append_context(ledger, apply)
    })
}

/// Appends the chosen proposals to deep-review-context.md in the current
/// checkout and marks them applied.
fn append_context(ledger: &mut Ledger, apply: &[String]) -> Result<Exit, Failure> {
    let mut chosen = Vec::new();
    for id in apply {
        let p = ledger
            .context_proposals
            .iter()
            .find(|p| p.id.eq_ignore_ascii_case(id))
            .ok_or_else(|| {
                Failure::usage(
                    format!("no proposal {id}"),
                    "`deep-review context pr N` lists them",
                )
            })?;
        chosen.push(p.id.clone());
    }
    // The only command that writes into the user's repository, and only
    // the file it names.
    let cwd = std::env::current_dir().map_err(|e| Failure::runtime(e.to_string(), ""))?;
    let repo = git2::Repository::discover(&cwd).map_err(|_| {
        Failure::usage(
            "not inside a git checkout",
            "run it in the repository the context file belongs to",
        )
    })?;
    let root = repo
        .workdir()
        .ok_or_else(|| Failure::usage("the repository has no work tree", ""))?;
    let file = root.join("deep-review-context.md");
    let mut out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", file.display()), ""))?;
    let existing = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    let mut text = if existing == 0 {
        "# Review context\n\n".to_string()
    } else {
        "\n".to_string()
    };
    for p in ledger
        .context_proposals
        .iter_mut()
        .filter(|p| chosen.contains(&p.id))
    {
        text.push_str(&format!("- {}\n", p.text.trim()));
        p.applied = true;
    }
    out.write_all(text.as_bytes())
        .map_err(|e| Failure::runtime(format!("cannot write {}: {e}", file.display()), ""))?;
    output::stdout(&format!(
        "Appended {} to {}.\n",
        chosen.join(", "),
        file.display()
    ))
    .map_err(io_failure)?;
    Ok(Exit::Ok)
}
