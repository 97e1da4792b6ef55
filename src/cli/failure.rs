//! A command's failure as the user sees it: one line, a hint, an exit code.

use std::process::ExitCode;

use crate::checkout::CheckoutError;
use crate::config::ConfigError;
use crate::exit::Exit;
use crate::github::GithubError;
use crate::pipeline::{ErrorKind, PipelineError};

#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub hint: String,
    pub exit: Exit,
}

impl Failure {
    pub fn runtime(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: hint.into(),
            exit: Exit::Runtime,
        }
    }

    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Failure {
            message: message.into(),
            hint: hint.into(),
            exit: Exit::Usage,
        }
    }

    pub fn report(&self) -> ExitCode {
        super::output::error_lines(&self.message, &self.hint);
        self.exit.into()
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        let hint = match e {
            ConfigError::Read { .. } => "check the file exists and is readable",
            ConfigError::Invalid { .. } => {
                "see docs/configuration.md for every key and its allowed values; `deep-review config` shows the effective configuration"
            }
        };
        Failure::usage(e.to_string(), hint)
    }
}

/// The one place a review's failure becomes an exit code and a hint, for
/// every command that runs one.
impl From<PipelineError> for Failure {
    fn from(e: PipelineError) -> Self {
        let hint = match &e {
            PipelineError::Github(e) => github_hint(e),
            PipelineError::Checkout(e) => checkout_hint(e).to_string(),
            PipelineError::Io { .. } => {
                "check the data directory (paths.data_dir) is writable; `deep-review doctor` checks it".into()
            }
            PipelineError::NoAgents => "enable one in the config, or name one with --agents".into(),
            PipelineError::Cancelled => String::new(),
            PipelineError::Ledger(_) => {
                "the ledger records each finding's status across rounds; fix or move the file and run again".into()
            }
            PipelineError::NoRepository => {
                "pass --repo OWNER/NAME, or run inside a clone of the repository".into()
            }
            PipelineError::Unconfined { .. } => {
                "run it on Linux with Landlock (see docs/security.md), or pass --allow-unconfined to let the PR's author reach your files and secrets".into()
            }
            PipelineError::HeadMoved { .. } => {
                "look at the new commits, then review again with --head set to the new head".into()
            }
        };
        let exit = match e.kind() {
            ErrorKind::Usage => Exit::Usage,
            ErrorKind::Runtime | ErrorKind::Cancelled => Exit::Runtime,
        };
        Failure {
            message: e.to_string(),
            hint,
            exit,
        }
    }
}

impl From<GithubError> for Failure {
    fn from(e: GithubError) -> Self {
        Failure::runtime(e.to_string(), github_hint(&e))
    }
}

pub fn github_hint(e: &GithubError) -> String {
    match e {
        GithubError::PrNotFound { repo, .. } => format!(
            "check the number on https://github.com/{repo}/pulls, or pass --repo OWNER/NAME"
        ),
        GithubError::RepoNotFound {
            with_token: false, ..
        } => "set GH_TOKEN (or GITHUB_TOKEN), or log in with `gh auth login`".into(),
        GithubError::RepoNotFound { .. } => {
            "check --repo, and that the token can read the repository".into()
        }
        GithubError::BadToken { .. } => "the token in GH_TOKEN / GITHUB_TOKEN / `gh auth token` is invalid or expired; create a new one".into(),
        GithubError::RateLimited {
            secondary: true, ..
        } => "GitHub's secondary rate limit: wait a minute and try again".into(),
        GithubError::RateLimited { .. } => {
            "wait for the reset, or use a token (GH_TOKEN) for a higher limit".into()
        }
        GithubError::Api { .. } | GithubError::Unexpected(_) => {
            "run again with -v for details".into()
        }
        GithubError::Unreachable { .. } => {
            "check the network, or github.api_url for GitHub Enterprise".into()
        }
        GithubError::Unprocessable { .. } => {
            "GitHub did not accept what was sent; the report is saved, post it as a comment with `--post comment`".into()
        }
        GithubError::PendingReview { .. } => {
            "submit or delete your pending review on the pull request's Files tab, then post again".into()
        }
        GithubError::NoGraphql { .. } => {
            "for GitHub Enterprise Server set github.api_url to https://HOST/api/v3 (or https://HOST); GraphQL is then read from https://HOST/api/graphql".into()
        }
    }
}

fn checkout_hint(e: &CheckoutError) -> &'static str {
    match e {
        CheckoutError::NotARepository => {
            "run deep-review inside the repository, or use `deep-review pr N --repo OWNER/NAME`"
        }
        CheckoutError::NoBranch(_) => "`git branch` lists the local branches",
        CheckoutError::Detached => "e.g. `deep-review branch my-feature`",
        CheckoutError::NoBase => "name it with --base, e.g. `--base develop`",
        CheckoutError::MissingRef { .. } => {
            "check the pull request number and that the repository is the right one"
        }
        CheckoutError::Fetch { .. } => {
            "check the network and the token (GH_TOKEN) for private repositories"
        }
        _ => "run again with -v for details",
    }
}

impl From<crate::rounds::LedgerError> for Failure {
    fn from(e: crate::rounds::LedgerError) -> Self {
        Failure::runtime(
            e.to_string(),
            "the ledger (ledger.json beside the runs) records each finding's status across rounds",
        )
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::runtime(format!("{e:#}"), "run again with -v for details")
    }
}
