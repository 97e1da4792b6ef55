//! A private, throwaway copy of each CLI's state for one agent run.
//!
//! A CLI must write its state folder to run at all; if that were the
//! user's own (`~/.claude`, `~/.codex`, `~/.gemini`), a hostile change
//! could plant instructions, hooks or another endpoint there for every
//! later review and for the user's own sessions, and read transcripts of
//! other projects. So each agent gets a copy of just what it needs to log
//! in and behave as configured, and the copy is deleted after the run.

use std::path::{Path, PathBuf};

use crate::domain::Protocol;

/// What is copied from a CLI's state folder: login and settings, never
/// history, sessions, memory files or caches.
fn files_to_copy(protocol: Protocol) -> &'static [&'static str] {
    match protocol {
        Protocol::Claude => &[".credentials.json", "settings.json"],
        Protocol::Codex => &["auth.json", "config.toml"],
        Protocol::Gemini => &[
            "settings.json",
            "oauth_creds.json",
            "google_accounts.json",
            "installation_id",
            ".env",
        ],
    }
}

/// Copies the CLI's state into `private` and returns the variables that
/// point the CLI there. `env` is the agent's environment as it would be.
pub fn prepare(
    protocol: Protocol,
    env: &[(String, String)],
    private: &Path,
) -> std::io::Result<Vec<(String, String)>> {
    let var = |name: &str| super::env::get(env, name).map(PathBuf::from);
    let home = var("HOME");
    let (source, target, name) = match protocol {
        Protocol::Claude => (
            var("CLAUDE_CONFIG_DIR").or_else(|| home.as_ref().map(|h| h.join(".claude"))),
            private.join("claude-config"),
            "CLAUDE_CONFIG_DIR",
        ),
        Protocol::Codex => (
            var("CODEX_HOME").or_else(|| home.as_ref().map(|h| h.join(".codex"))),
            private.join("codex-home"),
            "CODEX_HOME",
        ),
        Protocol::Gemini => (
            var("GEMINI_CLI_HOME")
                .or_else(|| home.clone())
                .map(|h| h.join(".gemini")),
            private.join("gemini-home").join(".gemini"),
            "GEMINI_CLI_HOME",
        ),
    };
    // Only the user may look into it: it holds copies of logins.
    for dir in [private, target.as_path()] {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)?;
    }
    if let Some(source) = &source {
        for file in files_to_copy(protocol) {
            copy_if_there(&source.join(file), &target.join(file))?;
        }
    }
    if protocol == Protocol::Claude {
        // Claude keeps its account and onboarding in `.claude.json`: beside
        // the folder when CLAUDE_CONFIG_DIR is not set, inside it when it is.
        let config = match var("CLAUDE_CONFIG_DIR") {
            Some(dir) => Some(dir.join(".claude.json")),
            // Without HOME a relative path would name a file in the
            // current directory, which may be the change under review.
            None => home.map(|h| h.join(".claude.json")),
        };
        if let Some(config) = config {
            copy_claude_json(&config, &target.join(".claude.json"))?;
        }
    }
    let value = match protocol {
        // GEMINI_CLI_HOME names the folder that holds `.gemini`.
        Protocol::Gemini => private.join("gemini-home"),
        _ => target,
    };
    Ok(vec![(name.to_string(), value.display().to_string())])
}

/// Copies a regular file (through a symlink, as dotfile managers make
/// them), readable by the user alone.
fn copy_if_there(from: &Path, to: &Path) -> std::io::Result<()> {
    match std::fs::metadata(from) {
        Ok(m) if m.is_file() => {
            std::fs::copy(from, to)?;
            private_file(to)
        }
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `.claude.json` without its per-project history (prompts and paths of
/// every other project the user worked on).
fn copy_claude_json(from: &Path, to: &Path) -> std::io::Result<()> {
    let text = match std::fs::read_to_string(from) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut value: serde_json::Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        // Not ours to repair: the CLI starts as on a fresh machine.
        Err(_) => return Ok(()),
    };
    if let Some(map) = value.as_object_mut() {
        map.remove("projects");
    }
    std::fs::write(to, value.to_string())?;
    private_file(to)
}

fn private_file(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

/// After the run: a Codex login refreshed in the copy goes back to the
/// user's, because Codex refresh tokens are single-use — the user's copy
/// would otherwise hold a spent one. Only a file that parses and names
/// the same account: an agent cannot swap another login in.
pub fn write_back(
    protocol: Protocol,
    env: &[(String, String)],
    private: &Path,
) -> std::io::Result<bool> {
    if protocol != Protocol::Codex {
        return Ok(false);
    }
    let var = |name: &str| super::env::get(env, name).map(PathBuf::from);
    let Some(source) = var("CODEX_HOME").or_else(|| var("HOME").map(|h| h.join(".codex"))) else {
        return Ok(false);
    };
    let original = source.join("auth.json");
    let copy = private.join("codex-home").join("auth.json");
    let (Ok(before), Ok(after)) = (std::fs::read(&original), std::fs::read(&copy)) else {
        return Ok(false);
    };
    let account = |bytes: &[u8]| {
        serde_json::from_slice::<serde_json::Value>(bytes)
            .ok()
            .and_then(|v| v["tokens"]["account_id"].as_str().map(str::to_string))
            .filter(|a| !a.is_empty())
    };
    if before == after || account(&before).is_none() || account(&before) != account(&after) {
        return Ok(false);
    }
    let tmp = original.with_extension("json.deep-review");
    std::fs::write(&tmp, &after)?;
    private_file(&tmp)?;
    std::fs::rename(&tmp, &original)?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_login_and_settings_are_copied_and_the_cli_is_pointed_at_the_copy() {
        let home = tempfile::tempdir().unwrap();
        let private = tempfile::tempdir().unwrap();
        let h = home.path();
        for (path, text) in [
            (".claude/.credentials.json", "{\"token\":\"t\"}"),
            (".claude/settings.json", "{}"),
            (".claude/CLAUDE.md", "planted instructions"),
            (".claude/projects/other/session.jsonl", "secret transcript"),
            (
                ".claude.json",
                "{\"oauthAccount\":{\"x\":1},\"projects\":{\"/other\":{\"history\":[\"secret\"]}}}",
            ),
            (".codex/auth.json", "{}"),
            (".codex/config.toml", "model = \"gpt\"\n"),
            (".codex/sessions/s.jsonl", "secret transcript"),
        ] {
            let p = h.join(path);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        let env = vec![("HOME".to_string(), h.display().to_string())];
        let claude = prepare(Protocol::Claude, &env, private.path()).unwrap();
        let dir = private.path().join("claude-config");
        assert_eq!(
            claude,
            [("CLAUDE_CONFIG_DIR".to_string(), dir.display().to_string())]
        );
        assert!(dir.join(".credentials.json").exists());
        assert!(!dir.join("CLAUDE.md").exists());
        assert!(!dir.join("projects").exists());
        let json = std::fs::read_to_string(dir.join(".claude.json")).unwrap();
        assert!(
            json.contains("oauthAccount") && !json.contains("secret"),
            "{json}"
        );

        let codex = prepare(Protocol::Codex, &env, private.path()).unwrap();
        // A login refreshed in the copy goes back; another account's does not.
        let auth = |account: &str, token: &str| {
            format!("{{\"tokens\":{{\"account_id\":\"{account}\",\"refresh_token\":\"{token}\"}}}}")
        };
        std::fs::write(h.join(".codex/auth.json"), auth("acct-1", "r1")).unwrap();
        let copied = private.path().join("codex-home/auth.json");
        std::fs::write(&copied, auth("acct-2", "evil")).unwrap();
        assert!(!write_back(Protocol::Codex, &env, private.path()).unwrap());
        std::fs::write(&copied, auth("acct-1", "r2")).unwrap();
        assert!(write_back(Protocol::Codex, &env, private.path()).unwrap());
        assert_eq!(
            std::fs::read_to_string(h.join(".codex/auth.json")).unwrap(),
            auth("acct-1", "r2")
        );
        let dir = private.path().join("codex-home");
        assert_eq!(
            codex,
            [("CODEX_HOME".to_string(), dir.display().to_string())]
        );
        assert!(dir.join("config.toml").exists() && !dir.join("sessions").exists());
    }
}
