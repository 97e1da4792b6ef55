//! `deep-review doctor`: is everything a review needs in place? Each
//! problem comes with the command that fixes it.

use std::path::PathBuf;

use crate::agents;
use crate::agents::install::{auth_status, install_hint, tested_version};
use crate::config::Config;
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
            match Github::new(&config.github.api_url, Some(token)) {
                Err(e) => c.problem(format!("GitHub: {e}"), "check github.api_url"),
                Ok(gh) => match gh.whoami().await {
                    Ok((login, Some(scopes))) => c.ok(format!("GitHub token from {from}: @{login}, scopes: {}", if scopes.is_empty() { "none" } else { &scopes })),
                    Ok((login, None)) => c.ok(format!("GitHub token from {from}: @{login} (fine-grained: needs Pull requests and Contents read, Pull requests write for --post)")),
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
