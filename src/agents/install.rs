//! Finding an agent CLI and telling whether its version is one we test.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::domain::Protocol;

/// The versions deep-review's test suite runs against (agent-clis/package.json).
pub fn tested_version(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Claude => "2.1.197",
        Protocol::Codex => "0.171.0",
        Protocol::Gemini => "0.61.0",
    }
}

/// The npm package that provides the CLI, for install hints.
pub fn npm_package(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Claude => "@anthropic-ai/claude-code",
        Protocol::Codex => "@openai/codex",
        Protocol::Gemini => "@google/gemini-cli",
    }
}

pub fn install_hint(protocol: Protocol) -> String {
    format!(
        "install it with `npm install -g {}@{}`, or set agents.<name>.binary in the config",
        npm_package(protocol),
        tested_version(protocol)
    )
}

/// `binary` as given if it names a path, else its first match on PATH.
pub fn locate(binary: &str) -> Option<PathBuf> {
    let candidate = Path::new(binary);
    if candidate.components().count() > 1 {
        return is_executable(candidate).then(|| candidate.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    // A relative entry (`.`, empty, `node_modules/.bin`) would find a
    // program in the current directory — in CI often the change under
    // review — and run it outside any sandbox.
    std::env::split_paths(&path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(binary))
        .find(|p| is_executable(p))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[derive(Debug, Clone)]
pub struct Installed {
    pub path: PathBuf,
    /// The version number the CLI printed, if it printed one.
    pub version: Option<String>,
    pub tested: bool,
}

/// Runs `BINARY --version` (bounded in time) and compares the result with
/// the tested version.
/// `strip`: `github.strip_env`, which never passes either.
pub async fn probe(protocol: Protocol, path: &Path, strip: &[String]) -> Installed {
    // Like a review run, a probe sees only the allowlisted environment,
    // and runs in a process group of its own: whatever it starts goes with it.
    // Under the agents' keeper, which the kernel tells of deep-review's
    // death: a probe still running then (they run beside the agents) goes
    // with it, and what it started too.
    let mut command = tokio::process::Command::new("/bin/sh");
    command
        .args(["-c", super::supervise::KEEPER, "deep-review-probe"])
        .arg(path)
        .arg("--version")
        .env_clear()
        .envs(
            crate::sandbox::env::filter(protocol, std::env::vars(), &[])
                .into_iter()
                .filter(|(k, _)| !strip.contains(k)),
        )
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .process_group(0)
        .kill_on_drop(true);
    let parent = std::process::id() as i32;
    // SAFETY: the closure makes system calls only and allocates nothing.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGUSR1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
    let child = command.spawn();
    let version = match child {
        Ok(child) => {
            let pgid = child.id().map(|id| nix::unistd::Pid::from_raw(id as i32));
            let out = tokio::time::timeout(Duration::from_secs(20), child.wait_with_output()).await;
            if let Some(pgid) = pgid {
                // ESRCH (nothing left) is the normal case.
                let _ = nix::sys::signal::killpg(pgid, nix::sys::signal::Signal::SIGKILL);
            }
            match out {
                Ok(Ok(out)) => first_version(&String::from_utf8_lossy(&out.stdout)),
                _ => None,
            }
        }
        Err(_) => None,
    };
    let tested = version.as_deref() == Some(tested_version(protocol));
    Installed {
        path: path.to_path_buf(),
        version,
        tested,
    }
}

/// The first dotted number in `text` (`codex-cli 0.171.0` → `0.171.0`).
pub fn first_version(text: &str) -> Option<String> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .find(|w| w.contains('.') && w.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .map(|w| w.trim_end_matches('.').to_string())
}

/// Whether the CLI looks logged in, judged from its environment variables
/// and credential files only (nothing is sent, no token is spent), and
/// how to fix it if not.
pub fn auth_status(
    protocol: Protocol,
    env: impl Fn(&str) -> Option<String>,
    home: &Path,
) -> Result<String, String> {
    let set = |k: &str| env(k).is_some_and(|v| !v.trim().is_empty());
    let dir = |var: &str, default: &str| {
        env(var)
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| home.join(default))
    };
    match protocol {
        Protocol::Claude => {
            for var in [
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_AUTH_TOKEN",
                "CLAUDE_CODE_OAUTH_TOKEN",
            ] {
                if set(var) {
                    return Ok(format!("{var} is set"));
                }
            }
            let creds = home.join(".claude/.credentials.json");
            if creds.exists() {
                return Ok(format!("logged in ({})", creds.display()));
            }
            if set("CLAUDE_CODE_USE_BEDROCK") || set("CLAUDE_CODE_USE_VERTEX") {
                return Ok("uses Bedrock or Vertex credentials".into());
            }
            Err("run `claude` and log in with /login, or set ANTHROPIC_API_KEY".into())
        }
        Protocol::Codex => {
            for var in ["OPENAI_API_KEY", "CODEX_API_KEY"] {
                if set(var) {
                    return Ok(format!("{var} is set"));
                }
            }
            let codex_home = dir("CODEX_HOME", ".codex");
            let auth = codex_home.join("auth.json");
            if auth.exists() {
                return Ok(format!("logged in ({})", auth.display()));
            }
            let config =
                std::fs::read_to_string(codex_home.join("config.toml")).unwrap_or_default();
            if config.contains("model_provider") {
                return Ok(format!(
                    "a model provider is configured in {}",
                    codex_home.join("config.toml").display()
                ));
            }
            Err("run `codex login`, or set OPENAI_API_KEY".into())
        }
        Protocol::Gemini => {
            for var in [
                "GEMINI_API_KEY",
                "GOOGLE_API_KEY",
                "GOOGLE_APPLICATION_CREDENTIALS",
            ] {
                if set(var) {
                    return Ok(format!("{var} is set"));
                }
            }
            let gemini_home = env("GEMINI_CLI_HOME")
                .map(std::path::PathBuf::from)
                .unwrap_or_else(|| home.to_path_buf())
                .join(".gemini");
            let oauth = gemini_home.join("oauth_creds.json");
            if oauth.exists() {
                return Ok(format!("logged in ({})", oauth.display()));
            }
            Err("run `gemini` and choose a login method, or set GEMINI_API_KEY".into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_read_from_each_cli_banner() {
        assert_eq!(
            first_version("2.1.197 (Claude Code)\n").as_deref(),
            Some("2.1.197")
        );
        assert_eq!(
            first_version("codex-cli 0.171.0\n").as_deref(),
            Some("0.171.0")
        );
        assert_eq!(first_version("0.61.0\n").as_deref(), Some("0.61.0"));
        assert_eq!(first_version("no version here"), None);
    }
}

#[cfg(test)]
mod auth_tests {
    use super::*;

    #[test]
    fn auth_is_judged_from_variables_and_credential_files() {
        let home = tempfile::tempdir().unwrap();
        let none = |_: &str| None;
        for p in [Protocol::Claude, Protocol::Codex, Protocol::Gemini] {
            assert!(auth_status(p, none, home.path()).is_err(), "{p:?}");
        }
        let key = |k: &str| (k == "GEMINI_API_KEY").then(|| "x".to_string());
        assert_eq!(
            auth_status(Protocol::Gemini, key, home.path()),
            Ok("GEMINI_API_KEY is set".into())
        );
        std::fs::create_dir_all(home.path().join(".codex")).unwrap();
        std::fs::write(home.path().join(".codex/auth.json"), "{}").unwrap();
        assert!(
            auth_status(Protocol::Codex, none, home.path())
                .unwrap()
                .starts_with("logged in")
        );
        assert_eq!(
            auth_status(Protocol::Claude, none, home.path()),
            Err("run `claude` and log in with /login, or set ANTHROPIC_API_KEY".into())
        );
    }
}
