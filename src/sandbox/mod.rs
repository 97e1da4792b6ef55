//! The OS sandbox around every agent process tree, and what an agent
//! inherits: paths it may read and write, ports it may connect to, its
//! environment, and the secrets kept out of what is stored from it.
//!
//! Landlock (Linux 5.13+, no root, inherited by every descendant) is the
//! mechanism; docs/security.md says why, and what it does not cover.

pub mod env;
pub mod landlock;
pub mod redact;
pub mod state;

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::domain::Protocol;

/// What agents may do besides reading.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Access {
    /// Read the worktree; write only the agent's scratch and state.
    #[default]
    ReadOnly,
    /// Also write the throwaway worktree: run tests, builds, scratch programs.
    Exec,
}

impl Access {
    pub fn name(self) -> &'static str {
        match self {
            Access::ReadOnly => "read-only",
            Access::Exec => "exec",
        }
    }
}

/// What confines agents on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mechanism {
    Landlock {
        abi: u32,
    },
    /// No usable sandbox, and why.
    None {
        reason: String,
    },
}

impl Mechanism {
    /// What the kernel offers. Landlock before ABI 4 cannot restrict TCP;
    /// it still confines the filesystem.
    pub fn detect() -> Mechanism {
        if !cfg!(target_os = "linux") {
            return Mechanism::None {
                reason: "no OS sandbox on this platform (Landlock is Linux only)".into(),
            };
        }
        match landlock::abi() {
            Ok(abi) => Mechanism::Landlock { abi },
            Err(e) => Mechanism::None {
                reason: match e.raw_os_error() {
                    Some(libc::ENOSYS) => "the kernel has no Landlock (Linux 5.13 or later, built with CONFIG_SECURITY_LANDLOCK)".into(),
                    Some(libc::EOPNOTSUPP) => "Landlock is built into the kernel but disabled (add `landlock` to the `lsm=` boot parameter)".into(),
                    _ => format!("Landlock is not usable: {e}"),
                },
            },
        }
    }

    pub fn abi(&self) -> Option<u32> {
        match self {
            Mechanism::Landlock { abi } => Some(*abi),
            Mechanism::None { .. } => None,
        }
    }

    /// Whether TCP connections can be limited to known ports.
    pub fn restricts_network(&self) -> bool {
        self.abi().is_some_and(|abi| abi >= 4)
    }

    pub fn name(&self) -> &'static str {
        match self {
            Mechanism::Landlock { .. } => "landlock",
            Mechanism::None { .. } => "none",
        }
    }
}

/// Paths always readable: the system, devices, process information.
const SYSTEM_READ: &[&str] = &[
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/etc",
    "/proc",
    "/sys",
    "/run/systemd/resolve",
    // Not /dev as a whole: the user's terminals (/dev/pts) can be read.
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
    "/dev/fd",
    "/dev/shm",
];

/// Devices every process expects to write. No terminal: an agent that
/// could write to one could type into the user's shell (TIOCSTI) or fake
/// what the screen says; agents run in a session of their own, without a
/// controlling terminal.
const DEVICE_WRITE: &[&str] = &[
    "/dev/null",
    "/dev/zero",
    "/dev/full",
    "/dev/random",
    "/dev/urandom",
];

/// What one agent's process tree may touch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Policy {
    /// Read and execute beneath these.
    pub read: Vec<PathBuf>,
    /// Read, write, create and remove beneath these (or this file).
    pub write: Vec<PathBuf>,
    /// TCP ports connect(2) may reach; every other port is refused.
    pub connect_ports: Vec<u16>,
    /// State folders of the CLI to create before it starts: a rule can
    /// only name a path that exists.
    pub create_dirs: Vec<PathBuf>,
}

/// The parts of a policy the pipeline knows (the same for every agent of
/// a run).
#[derive(Debug, Clone)]
pub struct RunPolicy {
    pub access: Access,
    /// The throwaway worktree.
    pub worktree: PathBuf,
    /// The repository the worktree's `.git` points to (git needs its objects).
    pub git_dir: Option<PathBuf>,
    /// More folders to read: the run's input folder, `sandbox.read`.
    pub read: Vec<PathBuf>,
    /// `sandbox.connect_ports`.
    pub ports: Vec<u16>,
}

/// The whole policy for one agent: the run's part, the CLI's installation
/// and state, its private tmp, and the ports its endpoints use.
pub fn agent_policy(
    run: &RunPolicy,
    protocol: Protocol,
    program: &Path,
    env: &[(String, String)],
    tmp: &Path,
) -> Policy {
    let var = |name: &str| env::get(env, name);
    let home = var("HOME").map(PathBuf::from);
    let mut read: Vec<PathBuf> = SYSTEM_READ.iter().map(PathBuf::from).collect();
    read.extend(installation(program, home.as_deref()));
    if let Some(node) = var("PATH").and_then(|p| find_on(p, "node")) {
        read.extend(installation(&node, home.as_deref()));
    }
    read.extend(run.git_dir.iter().cloned());
    read.extend(run.read.iter().cloned());

    let mut write: Vec<PathBuf> = DEVICE_WRITE.iter().map(PathBuf::from).collect();
    write.push(tmp.to_path_buf());
    let state = state_dirs(protocol, home.as_deref(), &var);
    let create_dirs: Vec<PathBuf> = state
        .iter()
        .filter(|d| d.extension().is_none_or(|e| e != "json"))
        .cloned()
        .collect();
    write.extend(state);
    match run.access {
        Access::Exec => write.push(run.worktree.clone()),
        Access::ReadOnly => read.push(run.worktree.clone()),
    }

    let mut ports = vec![443];
    ports.extend(run.ports.iter().copied());
    for (name, value) in env {
        if name.ends_with("_BASE_URL") || name.ends_with("_API_BASE") || is_proxy(name) {
            ports.extend(url_port(value));
        }
    }
    if protocol == Protocol::Codex {
        ports.extend(codex_config_ports(&var));
    }
    ports.sort_unstable();
    ports.dedup();
    Policy {
        read,
        write,
        connect_ports: ports,
        create_dirs,
    }
}

/// Creates `dir` (mode 0700 for a new folder) if it is missing.
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(e),
    }
}

fn is_proxy(name: &str) -> bool {
    name.eq_ignore_ascii_case("https_proxy")
        || name.eq_ignore_ascii_case("http_proxy")
        || name.eq_ignore_ascii_case("all_proxy")
}

/// Where a CLI keeps its login, settings and session files: it must write
/// there to run at all.
fn state_dirs<'a>(
    protocol: Protocol,
    home: Option<&Path>,
    var: &impl Fn(&str) -> Option<&'a str>,
) -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    match protocol {
        Protocol::Claude => match var("CLAUDE_CONFIG_DIR") {
            Some(dir) => dirs.push(PathBuf::from(dir)),
            None => {
                if let Some(home) = home {
                    dirs.push(home.join(".claude"));
                    dirs.push(home.join(".claude.json"));
                }
            }
        },
        Protocol::Codex => {
            match var("CODEX_HOME") {
                Some(dir) => dirs.push(PathBuf::from(dir)),
                None => dirs.extend(home.map(|h| h.join(".codex"))),
            }
            // Codex keeps its command runner's state here, whatever TMPDIR says.
            // SAFETY: getuid cannot fail.
            let uid = unsafe { libc::getuid() };
            dirs.push(PathBuf::from(format!("/tmp/codex-daemon-{uid}")));
        }
        Protocol::Gemini => {
            let base = var("GEMINI_CLI_HOME")
                .map(PathBuf::from)
                .or(home.map(Path::to_path_buf));
            dirs.extend(base.map(|b| b.join(".gemini")));
        }
    }
    dirs
}

/// The folder a CLI is installed in: the outermost `node_modules` above
/// the resolved binary (its vendored binaries live beside it), else
/// `PREFIX` for `PREFIX/bin/x`, else the binary's own folder — never
/// `/`, HOME or a temporary folder as a whole.
pub fn installation(program: &Path, home: Option<&Path>) -> Vec<PathBuf> {
    let resolved = std::fs::canonicalize(program).unwrap_or_else(|_| program.to_path_buf());
    let modules = resolved
        .ancestors()
        .filter(|a| a.file_name().is_some_and(|n| n == "node_modules"))
        .last()
        .map(Path::to_path_buf);
    let too_wide = |p: &Path| {
        p == Path::new("/")
            || home.is_some_and(|h| p == h)
            || p == Path::new("/tmp")
            || p == std::env::temp_dir()
    };
    let mut out: Vec<PathBuf> = modules.into_iter().collect();
    if out.is_empty()
        && let Some(dir) = resolved.parent()
    {
        match dir.parent() {
            Some(prefix) if dir.file_name().is_some_and(|n| n == "bin") && !too_wide(prefix) => {
                out.push(prefix.to_path_buf())
            }
            _ if !too_wide(dir) => out.push(dir.to_path_buf()),
            _ => {}
        }
    }
    // The link itself may live elsewhere (node_modules/.bin).
    if let Some(dir) = program.parent()
        && !out.iter().any(|o| dir.starts_with(o))
        && !too_wide(dir)
    {
        out.push(dir.to_path_buf());
    }
    out
}

fn find_on(path: &str, name: &str) -> Option<PathBuf> {
    std::env::split_paths(path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// The port of a URL, or its scheme's default.
pub fn url_port(url: &str) -> Option<u16> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit('@').next()?;
    let port = if let Some(end) = host_port.strip_prefix('[') {
        end.split_once("]:").map(|(_, p)| p)
    } else {
        host_port.rsplit_once(':').map(|(_, p)| p)
    };
    match port {
        Some(p) => p.parse().ok(),
        None => match scheme.to_ascii_lowercase().as_str() {
            "https" => Some(443),
            "http" => Some(80),
            _ => None,
        },
    }
}

/// Ports of the model providers in Codex's own configuration
/// (`model_providers.*.base_url`, `openai_base_url`).
fn codex_config_ports<'a>(var: &impl Fn(&str) -> Option<&'a str>) -> Vec<u16> {
    let dir = match var("CODEX_HOME") {
        Some(d) => PathBuf::from(d),
        None => match var("HOME") {
            Some(h) => PathBuf::from(h).join(".codex"),
            None => return Vec::new(),
        },
    };
    let Ok(text) = std::fs::read_to_string(dir.join("config.toml")) else {
        return Vec::new();
    };
    let Ok(table) = text.parse::<toml::Table>() else {
        return Vec::new();
    };
    let mut urls: Vec<&str> = Vec::new();
    if let Some(url) = table.get("openai_base_url").and_then(|v| v.as_str()) {
        urls.push(url);
    }
    if let Some(providers) = table.get("model_providers").and_then(|v| v.as_table()) {
        urls.extend(
            providers
                .values()
                .filter_map(|p| p.get("base_url").and_then(|v| v.as_str())),
        );
    }
    urls.into_iter().filter_map(url_port).collect()
}

impl Policy {
    /// The Landlock ruleset for this policy, built in the parent so the
    /// child has only to enforce it.
    pub fn ruleset(&self, abi: u32) -> std::io::Result<landlock::Ruleset> {
        use landlock::fs;
        for dir in &self.create_dirs {
            create_private_dir(dir)?;
        }
        let handled = landlock::fs_rights(abi);
        let net = if abi >= 4 {
            landlock::net::CONNECT_TCP | landlock::net::BIND_TCP
        } else {
            0
        };
        let scoped = if abi >= 6 {
            landlock::scope::ABSTRACT_UNIX_SOCKET | landlock::scope::SIGNAL
        } else {
            0
        };
        let mut ruleset = landlock::Ruleset::new(handled, net, scoped)?;
        let read = fs::EXECUTE | fs::READ_FILE | fs::READ_DIR;
        for path in &self.read {
            ruleset.allow_path(path, read)?;
        }
        for path in &self.write {
            ruleset.allow_path(path, handled)?;
        }
        if net != 0 {
            for port in &self.connect_ports {
                ruleset.allow_port(*port, landlock::net::CONNECT_TCP)?;
            }
        }
        Ok(ruleset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_ports() {
        assert_eq!(url_port("https://api.anthropic.com"), Some(443));
        assert_eq!(url_port("http://127.0.0.1:42919/v1"), Some(42919));
        assert_eq!(url_port("http://user:pw@proxy:3128"), Some(3128));
        assert_eq!(url_port("http://[::1]:8080/x"), Some(8080));
        assert_eq!(url_port("http://host/path:99"), Some(80));
        assert_eq!(url_port("not a url"), None);
    }

    #[test]
    fn an_installation_is_never_home_root_or_tmp_as_a_whole() {
        let home = Some(Path::new("/home/u"));
        let of = |p: &str| installation(Path::new(p), home);
        assert_eq!(of("/opt/claude/bin/claude"), [PathBuf::from("/opt/claude")]);
        assert_eq!(of("/home/u/bin/claude"), [PathBuf::from("/home/u/bin")]);
        assert_eq!(of("/home/u/claude"), Vec::<PathBuf>::new());
        assert_eq!(of("/tmp/claude"), Vec::<PathBuf>::new());
        assert_eq!(of("/bin/claude"), [PathBuf::from("/bin")]);
        assert_eq!(
            of("/w/agent-clis/node_modules/@openai/codex/bin/codex.js"),
            [PathBuf::from("/w/agent-clis/node_modules")]
        );
    }

    #[test]
    fn an_agent_reads_its_installation_and_writes_only_scratch_and_state() {
        let run = RunPolicy {
            access: Access::ReadOnly,
            worktree: "/runs/r1/worktree".into(),
            git_dir: Some("/cache/repo.git".into()),
            read: vec!["/runs/r1/input".into()],
            ports: vec![8443],
        };
        let env = vec![
            ("HOME".to_string(), "/home/u".to_string()),
            ("ANTHROPIC_BASE_URL".into(), "http://127.0.0.1:4000".into()),
        ];
        let p = agent_policy(
            &run,
            Protocol::Claude,
            Path::new("/opt/claude/bin/claude"),
            &env,
            Path::new("/runs/r1/agents/claude/tmp"),
        );
        assert!(p.read.contains(&PathBuf::from("/runs/r1/worktree")));
        assert!(p.read.contains(&PathBuf::from("/cache/repo.git")));
        assert!(p.read.contains(&PathBuf::from("/opt/claude")));
        assert!(
            !p.read
                .iter()
                .any(|r| r.starts_with("/home/u") && r != Path::new("/home/u/.claude"))
        );
        assert!(!p.write.contains(&PathBuf::from("/runs/r1/worktree")));
        assert!(p.write.contains(&PathBuf::from("/home/u/.claude")));
        assert!(
            p.write
                .contains(&PathBuf::from("/runs/r1/agents/claude/tmp"))
        );
        assert_eq!(p.connect_ports, vec![443, 4000, 8443]);

        let exec = RunPolicy {
            access: Access::Exec,
            ..run
        };
        let p = agent_policy(
            &exec,
            Protocol::Gemini,
            Path::new("/usr/bin/gemini"),
            &env,
            Path::new("/t"),
        );
        assert!(p.write.contains(&PathBuf::from("/runs/r1/worktree")));
        assert!(p.write.contains(&PathBuf::from("/home/u/.gemini")));
    }
}
