//! `deep-review doctor`: is everything a review needs in place?

use crate::agents;
use crate::config::{Config, Protocol};
use crate::exit::Exit;

use super::commands::io_failure;
use super::failure::Failure;
use super::output;

pub async fn run(config: &Config, _quiet: bool) -> Result<Exit, Failure> {
    let mut lines = Vec::new();
    let mut problems = 0;
    for (name, agent) in &config.agents {
        if !agent.enabled {
            lines.push(format!("  -  agent {name}: disabled"));
            continue;
        }
        let protocol = agent.protocol.unwrap_or(Protocol::Claude);
        let binary = agent
            .binary
            .clone()
            .unwrap_or_else(|| protocol.name().into());
        match agents::locate(&binary) {
            None => {
                problems += 1;
                lines.push(format!(
                    "  ✗  agent {name}: `{binary}` not found on PATH\n     fix: {}",
                    agents::install::install_hint(protocol)
                ));
            }
            Some(path) => {
                let found = agents::probe(protocol, &path).await;
                let version = found.version.as_deref().unwrap_or("unknown version");
                let note = if found.tested {
                    "tested".to_string()
                } else {
                    format!(
                        "untested; deep-review is tested with {}",
                        agents::install::tested_version(protocol)
                    )
                };
                lines.push(format!(
                    "  ✓  agent {name}: {} {version} ({note})",
                    path.display()
                ));
            }
        }
    }
    for tool in ["git", "gh"] {
        match agents::locate(tool) {
            Some(path) => lines.push(format!("  ✓  {tool}: {}", path.display())),
            None if tool == "gh" => {
                lines.push("  -  gh: not found (optional: a source of the GitHub token)".into())
            }
            None => {
                problems += 1;
                lines.push(format!(
                    "  ✗  {tool}: not found\n     fix: apt-get install git"
                ));
            }
        }
    }
    let token = ["GH_TOKEN", "GITHUB_TOKEN"]
        .iter()
        .find(|v| std::env::var_os(v).is_some_and(|t| !t.is_empty()));
    match token {
        Some(var) => lines.push(format!("  ✓  GitHub token: from {var}")),
        None => lines.push("  -  GitHub token: none in GH_TOKEN or GITHUB_TOKEN (public repositories still work; `gh auth login` provides one)".into()),
    }
    for (label, dir) in [
        ("data directory", &config.paths.data_dir),
        ("cache directory", &config.paths.cache_dir),
    ] {
        match std::fs::create_dir_all(dir).and_then(|()| tempfile_in(dir)) {
            Ok(()) => lines.push(format!("  ✓  {label}: {} (writable)", dir.display())),
            Err(e) => {
                problems += 1;
                lines.push(format!("  ✗  {label}: {}: {e}\n     fix: set paths.{} in the config, or DEEP_REVIEW_{}", dir.display(),
                    label.split(' ').next().unwrap_or(""), if label.starts_with("data") { "DATA_DIR" } else { "CACHE_DIR" }));
            }
        }
    }
    let summary = if problems == 0 {
        "deep-review is ready.".to_string()
    } else {
        format!("{problems} problem(s) found.")
    };
    output::stdout(&format!("{}\n{summary}\n", lines.join("\n"))).map_err(io_failure)?;
    Ok(if problems == 0 {
        Exit::Ok
    } else {
        Exit::Runtime
    })
}

fn tempfile_in(dir: &std::path::Path) -> std::io::Result<()> {
    let probe = dir.join(format!(".doctor-{}", std::process::id()));
    std::fs::write(&probe, b"")?;
    std::fs::remove_file(probe)
}
