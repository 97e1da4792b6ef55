//! `deep-review doctor`: is everything a review needs in place? Each
//! problem comes with the command that fixes it.

use std::path::PathBuf;

use crate::agents;
use crate::agents::install::{auth_status, install_hint, tested_version};
use crate::config::{Config, PostMode};
use crate::exit::Exit;
use crate::github::{Github, find_token};

use super::commands::io_failure;
use super::failure::Failure;
use super::output;

#[derive(Default)]
struct Checks {
    lines: Vec<String>,
    problems: usize,
}

impl Checks {
    fn ok(&mut self, text: String) {
        self.lines.push(format!("  ✓  {text}"));
    }
    fn note(&mut self, text: String) {
        self.lines.push(format!("  -  {text}"));
    }
    fn problem(&mut self, text: String, fix: &str) {
        self.problems += 1;
        self.lines.push(format!("  ✗  {text}\n     fix: {fix}"));
    }
}

enum Verdict {
    Ok(String),
    Note(String),
    Problem(String, &'static str),
}

/// Whether the token can post where `github.post` says: classic tokens by
/// their scopes, GitHub App tokens (`ghs_`, an Actions job's) by what
/// their job grants, fine-grained ones by what they must be given (GitHub
/// does not list their permissions).
fn post_checks(modes: &[PostMode], token: &str, scopes: Option<&str>) -> Vec<Verdict> {
    let app = token.starts_with("ghs_");
    let personal = ["ghp_", "gho_", "ghu_", "github_pat_"]
        .iter()
        .any(|p| token.starts_with(p));
    let mut out = Vec::new();
    for &mode in modes {
        let name = mode.name();
        let writes_prs = matches!(mode, PostMode::Comment | PostMode::Review);
        let needs = if writes_prs {
            "`pull-requests: write`"
        } else {
            "`checks: write`"
        };
        let verdict = match (mode, scopes) {
            (PostMode::Check, _) if personal => Verdict::Problem(
                "--post check: GitHub lets only GitHub App tokens create check runs, and this is a personal token".into(),
                "post checks from GitHub Actions (the job's GITHUB_TOKEN with `permissions: checks: write`), or set github.post without \"check\"",
            ),
            (_, Some(s)) if writes_prs => {
                let granted: Vec<&str> = s.split(',').map(str::trim).collect();
                if granted.contains(&"repo") {
                    Verdict::Ok(format!("--post {name}: the `repo` scope allows it"))
                } else if granted.contains(&"public_repo") {
                    Verdict::Note(format!("--post {name}: the `public_repo` scope allows it on public repositories only"))
                } else {
                    Verdict::Problem(
                        format!("--post {name}: the token's scopes cannot write to pull requests"),
                        "give the token the `repo` scope (`public_repo` for public repositories), e.g. `gh auth refresh -s repo`",
                    )
                }
            }
            _ if app => Verdict::Note(format!(
                "--post {name}: a GitHub App token; the job or app needs {needs}"
            )),
            _ => Verdict::Note(format!(
                "--post {name}: a fine-grained token needs Pull requests: read{}",
                if writes_prs { " and write" } else { "; check runs need a GitHub App token" }
            )),
        };
        out.push(verdict);
    }
    out
}

pub async fn run(config: &Config, _quiet: bool) -> Result<Exit, Failure> {
    let mut c = Checks::default();
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    for (name, agent) in &config.agents {
        if !agent.enabled {
            c.note(format!("agent {name}: disabled"));
            continue;
        }
        let protocol = agent.protocol;
        let binary = agent
            .binary
            .clone()
            .unwrap_or_else(|| protocol.name().into());
        let Some(path) = agents::locate(&binary) else {
            c.problem(
                format!("agent {name}: `{binary}` not found on PATH"),
                &install_hint(protocol),
            );
            continue;
        };
        let found = agents::probe(protocol, &path, &config.github.strip_env).await;
        let version = found.version.as_deref().unwrap_or("unknown version");
        let tested = if found.tested {
            "tested".to_string()
        } else {
            format!(
                "untested; deep-review is tested with {}",
                tested_version(protocol)
            )
        };
        c.ok(format!(
            "agent {name}: {} {version} ({tested})",
            path.display()
        ));
        match auth_status(protocol, |k| std::env::var(k).ok(), &home) {
            Ok(how) => c.ok(format!("agent {name}: looks authenticated: {how}")),
            Err(fix) => c.problem(format!("agent {name}: no credentials found"), &fix),
        }
    }
    match agents::locate("git") {
        Some(path) => c.ok(format!("git: {}", path.display())),
        None => c.problem("git: not found".into(), "apt-get install git"),
    }
    match agents::locate("gh") {
        Some(path) => c.ok(format!("gh: {}", path.display())),
        None => c.note(
            "gh: not found (optional: `gh auth token` is one source of the GitHub token)".into(),
        ),
    }
    let host = crate::github::web_host(&config.github.api_url);
    match find_token(&host).await {
        None => c.note("GitHub token: none in GH_TOKEN, GITHUB_TOKEN or `gh auth token` (public repositories still work; `gh auth login` provides one)".into()),
        Some((token, source)) => {
            let from = match source {
                crate::github::TokenSource::Env(var) => var.to_string(),
                crate::github::TokenSource::GhCli => "gh auth token".into(),
            };
            match Github::new(&config.github.api_url, Some(token.clone())) {
                Err(e) => c.problem(format!("GitHub: {e}"), "check github.api_url"),
                Ok(gh) => match gh.whoami().await {
                    Ok((login, scopes)) => {
                        match &scopes {
                            Some(scopes) => c.ok(format!("GitHub token from {from}: @{login}, scopes: {}", if scopes.is_empty() { "none" } else { scopes })),
                            None => c.ok(format!("GitHub token from {from}: @{login}")),
                        }
                        for check in post_checks(&config.github.post, &token, scopes.as_deref()) {
                            match check {
                                Verdict::Ok(text) => c.ok(text),
                                Verdict::Note(text) => c.note(text),
                                Verdict::Problem(text, fix) => c.problem(text, fix),
                            }
                        }
                    }
                    // An Actions job's token (a GitHub App installation's)
                    // may not read /user; it works for what it was granted.
                    Err(crate::github::GithubError::Api { status: 403, .. }) if token.starts_with("ghs_") => {
                        c.ok(format!("GitHub token from {from}: a GitHub App installation token"));
                        for check in post_checks(&config.github.post, &token, None) {
                            match check {
                                Verdict::Ok(text) => c.ok(text),
                                Verdict::Note(text) => c.note(text),
                                Verdict::Problem(text, fix) => c.problem(text, fix),
                            }
                        }
                    }
                    Err(e) => c.problem(format!("GitHub token from {from}: {e}"), &super::failure::github_hint(&e)),
                },
            }
        }
    }
    for (label, dir, var) in [
        (
            "data directory",
            &config.paths.data_dir,
            "DEEP_REVIEW_DATA_DIR",
        ),
        (
            "cache directory",
            &config.paths.cache_dir,
            "DEEP_REVIEW_CACHE_DIR",
        ),
    ] {
        match std::fs::create_dir_all(dir).and_then(|()| probe_write(dir)) {
            Ok(()) => c.ok(format!("{label}: {} (writable)", dir.display())),
            Err(e) => c.problem(
                format!("{label}: {}: {e}", dir.display()),
                &format!("set {var} to a writable directory"),
            ),
        }
    }
    match crate::sandbox::Mechanism::detect() {
        crate::sandbox::Mechanism::Landlock { abi } if abi >= 6 => c.ok(format!(
            "sandbox: Landlock ABI {abi}: files, TCP ports and signals confined (docs/security.md)"
        )),
        crate::sandbox::Mechanism::Landlock { abi } if abi >= 4 => c.note(format!(
            "sandbox: Landlock ABI {abi}: files and TCP ports confined; agents can signal other processes of yours (Linux 6.12+ stops that)"
        )),
        crate::sandbox::Mechanism::Landlock { abi } => c.ok(format!(
            "sandbox: Landlock ABI {abi}: files confined; this kernel cannot limit TCP ports (Linux 6.7+ can)"
        )),
        crate::sandbox::Mechanism::None { reason } => c.problem(
            format!("sandbox: none: {reason}; agents run unconfined and read-only, fork PRs are refused"),
            "review on Linux 5.13+ with Landlock enabled, or pass --allow-unconfined knowingly (docs/security.md)",
        ),
    }
    // Landlock (ABI ≤ 7) does not govern connecting to a named socket:
    // one that grants more than files (Docker's is root) is a way out.
    for socket in [
        "/var/run/docker.sock",
        "/run/docker.sock",
        "/run/podman/podman.sock",
    ] {
        if std::path::Path::new(socket).exists() {
            c.note(format!(
                "{socket} exists: an agent could reach it (the sandbox does not govern named sockets); review fork PRs where it is not mounted (docs/security.md)"
            ));
        }
    }
    let summary = if c.problems == 0 {
        "deep-review is ready.".to_string()
    } else {
        format!("{} problem(s) found.", c.problems)
    };
    output::stdout(&format!("{}\n{summary}\n", c.lines.join("\n"))).map_err(io_failure)?;
    Ok(if c.problems == 0 {
        Exit::Ok
    } else {
        Exit::Runtime
    })
}

fn probe_write(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(probe)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(v: &[Verdict]) -> Vec<String> {
        v.iter()
            .map(|v| match v {
                Verdict::Ok(t) => format!("ok {t}"),
                Verdict::Note(t) => format!("note {t}"),
                Verdict::Problem(t, _) => format!("problem {t}"),
            })
            .collect()
    }

    #[test]
    fn each_post_mode_is_checked_against_the_token() {
        use PostMode::*;
        let all = [Comment, Review, Check];
        let classic = words(&post_checks(&all, "ghp_x", Some("repo, read:org")));
        assert!(classic[0].starts_with("ok --post comment"), "{classic:?}");
        assert!(classic[1].starts_with("ok --post review"), "{classic:?}");
        assert!(
            classic[2].starts_with("problem --post check"),
            "{classic:?}"
        );
        let public = words(&post_checks(&[Review], "ghp_x", Some("public_repo")));
        assert!(public[0].starts_with("note --post review: the `public_repo`"));
        let none = words(&post_checks(&[Comment], "gho_x", Some("read:org")));
        assert!(none[0].starts_with("problem --post comment"), "{none:?}");
        let app = words(&post_checks(&[Check, Review], "ghs_x", None));
        assert_eq!(
            app,
            [
                "note --post check: a GitHub App token; the job or app needs `checks: write`",
                "note --post review: a GitHub App token; the job or app needs `pull-requests: write`"
            ]
        );
        let fine = words(&post_checks(&[Review, Check], "github_pat_x", None));
        assert!(fine[0].starts_with(
            "note --post review: a fine-grained token needs Pull requests: read and write"
        ));
        assert!(fine[1].starts_with("problem --post check"));
    }
}
