//! Dispatch: each subcommand turns its arguments into engine calls and
//! prints what they return.

use std::path::PathBuf;

use clap::CommandFactory;
use etcetera::BaseStrategy;

use super::args::{Cli, Command, ReviewArgs};
use super::failure::Failure;
use super::output;
use crate::config::{self, FlagOverrides, LoadOptions, Loaded};
use crate::exit::Exit;
use crate::pipeline::Target;

pub async fn run(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Config => show_config(),
        Command::Completions { shell } => {
            let mut buf = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "deep-review", &mut buf);
            output::stdout(&String::from_utf8_lossy(&buf)).map_err(io_failure)?;
            Ok(Exit::Ok)
        }
        Command::Man => {
            let mut buf = Vec::new();
            clap_mangen::Man::new(Cli::command())
                .render(&mut buf)
                .map_err(io_failure)?;
            output::stdout(&String::from_utf8_lossy(&buf)).map_err(io_failure)?;
            Ok(Exit::Ok)
        }
        Command::Doctor => super::doctor::run(&load_config(None)?.config, cli.quiet).await,
        Command::Pr(args) => {
            let loaded = load_config_for(Some(&args.review), None, true)?;
            let cwd = std::env::current_dir().map_err(|e| {
                Failure::runtime(format!("cannot read the current directory: {e}"), "")
            })?;
            let target = Target::Pr {
                cwd,
                repo: args.repo.clone(),
                number: args.number,
                head: args.head.clone(),
            };
            super::review::run(&loaded.config, target, args.round, &args.review, cli.quiet).await
        }
        Command::Branch(args) => {
            let loaded = load_config_at(Some(&args.review), args.base.clone())?;
            let cwd = std::env::current_dir().map_err(|e| {
                Failure::runtime(format!("cannot read the current directory: {e}"), "")
            })?;
            let target = Target::Branch {
                cwd,
                name: args.name.clone(),
                base: args.base.clone(),
            };
            super::review::run(&loaded.config, target, None, &args.review, cli.quiet).await
        }
        Command::Decline { target } => super::ledger::decline(&load_config(None)?.config, &target),
        Command::Resolve { target } => super::ledger::resolve(&load_config(None)?.config, &target),
        Command::Reopen { target } => super::ledger::reopen(&load_config(None)?.config, &target),
        Command::Context { target } => super::ledger::context(&load_config(None)?.config, &target),
        Command::History(args) => super::runs::history(&load_config(None)?.config, &args),
        Command::Show(args) => super::runs::show(&load_config(None)?.config, &args),
        Command::Consolidate(args) => {
            // It may run an agent on a PR's run: trust as `pr` does.
            let mut config = load_config_for(None, None, true)?.config;
            super::runs::consolidate(&mut config, &args, cli.quiet).await
        }
    }
}

pub fn io_failure(e: std::io::Error) -> Failure {
    Failure::runtime(format!("cannot write output: {e}"), "")
}

fn show_config() -> Result<Exit, Failure> {
    let loaded = load_config(None)?;
    let rows = loaded.describe();
    let width = rows
        .iter()
        .map(|(k, v, _)| k.len() + v.len() + 3)
        .max()
        .unwrap_or(0);
    let mut text = String::new();
    for (key, value, source) in rows {
        let assignment = format!("{key} = {value}");
        text.push_str(&format!("{assignment:<width$}  # {source}\n"));
    }
    output::stdout(&text).map_err(io_failure)?;
    Ok(Exit::Ok)
}

/// Where the user configuration file lives: `DEEP_REVIEW_CONFIG`, else
/// `$XDG_CONFIG_HOME/deep-review/config.toml`.
pub fn user_config_file() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("DEEP_REVIEW_CONFIG") {
        return Some(PathBuf::from(path));
    }
    let base = etcetera::choose_base_strategy().ok()?;
    Some(base.config_dir().join("deep-review").join("config.toml"))
}

/// The root of the git checkout around the current directory, if any.
fn repo_root() -> Option<PathBuf> {
    let repo = git2::Repository::discover(".").ok()?;
    repo.workdir().map(|p| p.to_path_buf())
}

pub fn load_config(review: Option<&ReviewArgs>) -> Result<Loaded, Failure> {
    load_config_at(review, None)
}

/// `repo_rev`: the revision whose `.deep-review.toml` is trusted (the
/// default branch when `None`).
fn load_config_at(
    review: Option<&ReviewArgs>,
    repo_rev: Option<String>,
) -> Result<Loaded, Failure> {
    load_config_for(review, repo_rev, false)
}

/// `remote_only`: for a pull request, trust only a remote's default branch.
fn load_config_for(
    review: Option<&ReviewArgs>,
    repo_rev: Option<String>,
    remote_only: bool,
) -> Result<Loaded, Failure> {
    let base = etcetera::choose_base_strategy().map_err(|e| {
        Failure::runtime(
            format!("cannot find the home directory: {e}"),
            "set HOME, or DEEP_REVIEW_DATA_DIR and DEEP_REVIEW_CACHE_DIR",
        )
    })?;
    let flags = review.map(flag_overrides).unwrap_or_default();
    let options = LoadOptions {
        user_file: user_config_file(),
        repo_root: repo_root(),
        repo_rev,
        repo_remote_only: remote_only,
        env: std::env::vars()
            .filter(|(k, _)| k.starts_with("DEEP_REVIEW_"))
            .collect(),
        flags,
        data_dir: base.data_dir().join("deep-review"),
        cache_dir: base.cache_dir().join("deep-review"),
    };
    Ok(config::load(&options)?)
}

fn flag_overrides(args: &ReviewArgs) -> FlagOverrides {
    FlagOverrides {
        agents: args.agents.clone(),
        models: args.model.clone(),
        efforts: args.effort.clone(),
        timeout: args.timeout.clone(),
        formats: (!args.format.is_empty()).then(|| {
            args.format
                .iter()
                .map(|f| f.format().name().to_string())
                .collect()
        }),
        fail_on: args.fail_on.map(|f| f.name().to_string()),
        post: args
            .post
            .as_ref()
            .and_then(|p| p.0.as_ref())
            .map(|modes| modes.iter().map(|m| m.name().to_string()).collect()),
        request_changes_on: args.request_changes_on.map(|f| f.name().to_string()),
        keep_worktree: args.keep_worktree,
        exec: args.exec.map(|e| e.name().to_string()),
        allow_unconfined: args.allow_unconfined,
    }
}
