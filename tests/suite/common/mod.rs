//! The test bed: the model double, per-agent environments pointing the real
//! CLIs at it, hermetic homes, and small real git repositories.

pub mod fixture;
pub mod github;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use deep_review::agents::supervise::{self, AgentSpec, Supervision};
use deep_review::agents::{Outcome, ReviewJob};
use deep_review::domain::Protocol;
use deep_review::progress::Silent;
use model_double::{ModelDouble, Scenario};
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

/// The pinned CLI binaries installed by scripts/install-agent-clis.
pub fn agent_bin(name: &str) -> PathBuf {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("agent-clis/node_modules/.bin")
        .join(name);
    assert!(
        path.exists(),
        "{} is missing: run scripts/install-agent-clis first",
        path.display()
    );
    path
}

pub fn bin_for(protocol: Protocol) -> PathBuf {
    agent_bin(protocol.name())
}

/// A running double plus a scratch area holding a fake HOME, CODEX_HOME
/// and GEMINI_CLI_HOME configured for it.
pub struct Bed {
    pub double: ModelDouble,
    pub root: tempfile::TempDir,
}

impl Bed {
    pub async fn start(scenario: Value) -> Bed {
        Self::start_for(|_| scenario).await
    }

    /// Starts a double whose scenario may name files of the sample
    /// repository (`root/repo`) by absolute path.
    pub async fn start_for(scenario: impl FnOnce(&Path) -> Value) -> Bed {
        let root = tempfile::Builder::new()
            .prefix("bed-")
            .tempdir_in(bed_parent())
            .unwrap();
        let scenario: Scenario =
            serde_json::from_value(scenario(&root.path().join("repo"))).expect("scenario is valid");
        let double = ModelDouble::start(scenario).await.expect("double starts");
        let bed = Bed { double, root };
        bed.write_homes();
        bed
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.path().join(rel)
    }

    fn write_homes(&self) {
        let url = self.double.url();
        std::fs::create_dir_all(self.path("home")).unwrap();
        std::fs::write(
            self.path("home/.gitconfig"),
            "[user]\n\tname = Test\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n",
        )
        .unwrap();
        std::fs::create_dir_all(self.path("codex-home")).unwrap();
        std::fs::write(
            self.path("codex-home/config.toml"),
            format!(
                "model_provider = \"mock\"\n\n[model_providers.mock]\nname = \"mock\"\nbase_url = \"{url}/v1\"\n\
                 wire_api = \"responses\"\nenv_key = \"CODEX_MOCK_API_KEY\"\nrequest_max_retries = 1\n\
                 stream_max_retries = 1\nstream_idle_timeout_ms = 4000\n"
            ),
        )
        .unwrap();
        std::fs::create_dir_all(self.path("gemini-home/.gemini")).unwrap();
        std::fs::write(
            self.path("gemini-home/.gemini/settings.json"),
            json!({
                "security": {"auth": {"selectedType": "gemini-api-key"}, "folderTrust": {"enabled": false}},
                "general": {"maxAttempts": 2}
            })
            .to_string(),
        )
        .unwrap();
    }

    /// Everything the three CLIs need to talk to the double, hermetically.
    pub fn env(&self) -> Vec<(String, String)> {
        let url = self.double.url();
        let p = |rel: &str| self.path(rel).display().to_string();
        [
            ("HOME", p("home")),
            ("TZ", "UTC".into()),
            ("GIT_CONFIG_GLOBAL", p("home/.gitconfig")),
            ("GIT_CONFIG_NOSYSTEM", "1".into()),
            ("ANTHROPIC_BASE_URL", url.clone()),
            ("ANTHROPIC_API_KEY", "test-key".into()),
            ("CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC", "1".into()),
            ("CLAUDE_CODE_MAX_RETRIES", "1".into()),
            ("API_TIMEOUT_MS", "4000".into()),
            ("CODEX_HOME", p("codex-home")),
            ("CODEX_MOCK_API_KEY", "test-key".into()),
            ("GEMINI_CLI_HOME", p("gemini-home")),
            ("GEMINI_API_KEY", "test-key".into()),
            ("GOOGLE_GEMINI_BASE_URL", url),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// A small real repository with two commits; returns its path.
    pub fn sample_repo(&self) -> PathBuf {
        let dir = self.path("repo");
        sample_repo(&dir);
        dir
    }

    pub fn supervision(&self, workdir: &Path) -> Supervision {
        Supervision {
            workdir: workdir.to_path_buf(),
            strip_env: vec![],
            env: self.env(),
            grace: Duration::from_secs(2),
            cancel: CancellationToken::new(),
            sandbox: sandbox(workdir, deep_review::sandbox::Access::ReadOnly),
            redactor: Default::default(),
            private_root: self.path("private"),
        }
    }

    /// Runs one real CLI on `prompt` through deep-review's supervisor.
    pub async fn run_agent(
        &self,
        protocol: Protocol,
        workdir: &Path,
        job: ReviewJob,
        timeout: Duration,
    ) -> Outcome {
        self.run_agent_with(protocol, workdir, job, timeout, &[])
            .await
    }

    /// `run_agent` with some of the environment replaced.
    pub async fn run_agent_with(
        &self,
        protocol: Protocol,
        workdir: &Path,
        job: ReviewJob,
        timeout: Duration,
        env: &[(&str, &str)],
    ) -> Outcome {
        let spec = spec(protocol, timeout);
        let dir = self.path(&format!("runs/{}", spec.name));
        let job = ReviewJob {
            scratch: dir.clone(),
            ..job
        };
        let mut supervision = self.supervision(workdir);
        for (name, value) in env {
            supervision.env.retain(|(k, _)| k != name);
            supervision.env.push((name.to_string(), value.to_string()));
        }
        supervise::run(&spec, &job, &dir, &supervision, Arc::new(Silent)).await
    }
}

/// The sandbox every test agent runs in, as a review's would: Landlock
/// where the kernel has it (every test machine of this project does).
pub fn sandbox(
    worktree: &Path,
    access: deep_review::sandbox::Access,
) -> Option<(u32, deep_review::sandbox::RunPolicy)> {
    let abi = deep_review::sandbox::Mechanism::detect().abi()?;
    let git_dir = git2::Repository::discover(worktree)
        .ok()
        .map(|r| r.commondir().to_path_buf());
    Some((
        abi,
        deep_review::sandbox::RunPolicy {
            access,
            worktree: worktree.to_path_buf(),
            git_dir,
            read: vec![],
            ports: vec![],
        },
    ))
}

/// Where test beds live: not under the system temp dir (Codex refuses to
/// set up there) and not below any world-writable directory (Gemini then
/// ignores system settings files): the target dir if the checkout is in
/// such a place, else the user's cache.
pub fn bed_parent() -> PathBuf {
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    if !deep_review::agents::gemini::below_world_writable(&target) {
        return target;
    }
    let home = PathBuf::from(std::env::var_os("HOME").expect("HOME is set"));
    let dir = home.join(".cache/deep-review-test-beds");
    std::fs::create_dir_all(&dir).unwrap();
    assert!(
        !deep_review::agents::gemini::below_world_writable(&dir),
        "no place for test beds: both {} and {} are below a world-writable directory",
        target.display(),
        dir.display()
    );
    dir
}

pub fn spec(protocol: Protocol, timeout: Duration) -> AgentSpec {
    AgentSpec {
        name: protocol.name().to_string(),
        display_name: protocol.name().to_string(),
        protocol,
        binary: bin_for(protocol).display().to_string(),
        timeout,
        pass_env: vec![],
    }
}

/// Writes a repository with a known history using git2 (fixed author and
/// time, so commit ids are stable).
pub fn sample_repo(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let repo = git2::Repository::init(dir).unwrap();
    let sig = git2::Signature::new(
        "Test",
        "test@example.com",
        &git2::Time::new(1_700_000_000, 0),
    )
    .unwrap();
    let commit = |files: &[(&str, &str)], message: &str| {
        for (path, contents) in files {
            let full = dir.join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, contents).unwrap();
        }
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parents: Vec<git2::Commit> = repo
            .head()
            .ok()
            .and_then(|h| h.peel_to_commit().ok())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(Some("HEAD"), &sig, &sig, message, &tree, &parents)
            .unwrap();
    };
    commit(
        &[
            ("README.md", "# calc\n\nA tiny calculator.\n"),
            ("calc.py", "def add(a, b):\n    return a + b\n"),
        ],
        "Initial calculator",
    );
    commit(
        &[(
            "calc.py",
            "def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a * b\n",
        )],
        "Add mul",
    );
}

/// `git status --porcelain` of `dir`, empty when clean.
pub fn git_status(dir: &Path) -> String {
    let out = std::process::Command::new("git")
        .args(["status", "--porcelain", "--untracked-files=all"])
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A scenario turn with tool calls.
pub fn tools(calls: Value) -> Value {
    json!({"tool_calls": calls, "usage": {"input": 100, "output": 10}})
}

/// The shell tool call of each protocol.
pub fn shell_call(protocol: Protocol, command: &str) -> Value {
    match protocol {
        Protocol::Claude => {
            json!({"name": "Bash", "args": {"command": command, "description": "run"}})
        }
        Protocol::Codex => json!({"name": "exec_command", "args": {"cmd": command}}),
        Protocol::Gemini => {
            json!({"name": "run_shell_command", "args": {"command": command, "description": "run"}})
        }
    }
}

/// The file-read tool call of each protocol (Codex reads through its shell).
pub fn read_call(protocol: Protocol, repo: &Path, file: &str) -> Value {
    match protocol {
        Protocol::Claude => {
            json!({"name": "Read", "args": {"file_path": repo.join(file).display().to_string()}})
        }
        Protocol::Codex => json!({"name": "exec_command", "args": {"cmd": format!("cat {file}")}}),
        Protocol::Gemini => json!({"name": "read_file", "args": {"file_path": file}}),
    }
}

/// The double's protocol for a CLI.
pub fn wire(protocol: Protocol) -> &'static str {
    match protocol {
        Protocol::Claude => "anthropic",
        Protocol::Codex => "openai",
        Protocol::Gemini => "gemini",
    }
}

pub const ALL: [Protocol; 3] = [Protocol::Claude, Protocol::Codex, Protocol::Gemini];

/// The demo's sample repository: main, then feature/stats with stats.py.
pub fn demo_sample(dir: &Path) {
    let demo = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/sample");
    let repo = git2::Repository::init(dir).unwrap();
    let sig = git2::Signature::new(
        "Demo Author",
        "demo@example.com",
        &git2::Time::new(1_700_000_000, 0),
    )
    .unwrap();
    let commit = |from: &str, message: &str, parent: Option<git2::Oid>| -> git2::Oid {
        for entry in std::fs::read_dir(demo.join(from)).unwrap().flatten() {
            std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
        }
        let mut index = repo.index().unwrap();
        index
            .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
            .unwrap();
        index.write().unwrap();
        let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
        let parents: Vec<git2::Commit> = parent
            .map(|p| repo.find_commit(p).unwrap())
            .into_iter()
            .collect();
        let parents: Vec<&git2::Commit> = parents.iter().collect();
        repo.commit(None, &sig, &sig, message, &tree, &parents)
            .unwrap()
    };
    let base = commit("main", "Calculator basics", None);
    repo.branch("main", &repo.find_commit(base).unwrap(), true)
        .unwrap();
    let head = commit("feature", "Add mean and median helpers", Some(base));
    repo.branch("feature/stats", &repo.find_commit(head).unwrap(), true)
        .unwrap();
    repo.set_head("refs/heads/feature/stats").unwrap();
    repo.checkout_head(Some(git2::build::CheckoutBuilder::new().force()))
        .unwrap();
}

/// Every file under `dir` (the .git directory included) with its bytes.
pub fn snapshot(dir: &Path) -> std::collections::BTreeMap<PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_path_buf(),
                    std::fs::read(&p).unwrap_or_default(),
                );
            }
        }
    }
    out
}

/// Runs the git CLI in `dir` with a pinned identity, dates and no user or
/// system configuration; returns its trimmed stdout.
pub fn git(args: &[&str], dir: &Path) -> String {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_AUTHOR_NAME", "T")
        .env("GIT_AUTHOR_EMAIL", "t@example.com")
        .env("GIT_COMMITTER_NAME", "T")
        .env("GIT_COMMITTER_EMAIL", "t@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Bed {
    /// The deep-review binary, run in `cwd` with the bed's environment:
    /// the pinned CLIs on PATH, every agent pointed at the double, XDG
    /// directories inside the bed, and none of the machine's
    /// `DEEP_REVIEW_*`, `XDG_*` or GitHub token variables.
    pub fn deep_review(&self, cwd: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("deep-review"));
        for (k, _) in std::env::vars() {
            if k.starts_with("DEEP_REVIEW_")
                || k.starts_with("XDG_")
                || k == "GH_TOKEN"
                || k == "GITHUB_TOKEN"
            {
                cmd.env_remove(k);
            }
        }
        let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("agent-clis/node_modules/.bin");
        cmd.current_dir(cwd)
            .envs(self.env())
            .env(
                "PATH",
                format!(
                    "{}:{}",
                    bin.display(),
                    std::env::var("PATH").unwrap_or_default()
                ),
            )
            .env("XDG_CONFIG_HOME", self.path("config"))
            .env("XDG_DATA_HOME", self.path("data"))
            .env("XDG_CACHE_HOME", self.path("cache"))
            .env("COLUMNS", "100");
        cmd
    }
}

/// The demo's scenario (demo/scenario.json), which the end-to-end tests
/// start from.
pub fn demo_scenario() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("demo/scenario.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// Runs `cmd`, checks its exit code (showing stderr if it differs) and
/// returns its stdout as JSON.
pub fn json_run(cmd: &mut assert_cmd::Command, code: i32) -> Value {
    let out = cmd.output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(code),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// One agent's entry in a JSON report.
pub fn agent_named<'r>(report: &'r Value, name: &str) -> &'r Value {
    report["agents"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no agent {name}"))
}

/// Live processes whose command line or working directory is under
/// `root` (zombies and processes already exiting excluded): what a run
/// left behind.
pub fn processes_under(root: &Path) -> Vec<String> {
    let needle = root.display().to_string();
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let dir = entry.path();
        if !entry
            .file_name()
            .to_string_lossy()
            .bytes()
            .all(|b| b.is_ascii_digit())
        {
            continue;
        }
        let state = std::fs::read_to_string(dir.join("stat")).unwrap_or_default();
        // The state follows the parenthesised command name.
        let zombie = state
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| rest.starts_with('Z') || rest.starts_with('X'));
        if zombie || state.is_empty() {
            continue;
        }
        let cmdline = std::fs::read(dir.join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        // No command line: its memory is already released, it is exiting
        // (a SIGKILLed process is torn down asynchronously).
        if cmdline.is_empty() {
            continue;
        }
        let cwd = std::fs::read_link(dir.join("cwd")).unwrap_or_default();
        if cmdline.contains(&needle) || cwd.starts_with(root) {
            out.push(format!(
                "{}: {cmdline}",
                entry.file_name().to_string_lossy()
            ));
        }
    }
    out
}

/// The processes under `root` (see [`processes_under`]) still alive after
/// `within`: each is awaited through a pidfd, so a process being torn down
/// is given its moment and a survivor is not waited for longer.
pub fn outliving(root: &Path, within: Duration) -> Vec<String> {
    let deadline = std::time::Instant::now() + within;
    let mut left = Vec::new();
    for process in processes_under(root) {
        let pid: i32 = process.split(':').next().unwrap().parse().unwrap();
        // SAFETY: plain system calls; the descriptor is closed below.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) } as i32;
        if fd < 0 {
            continue; // already gone
        }
        let remaining = deadline.saturating_duration_since(std::time::Instant::now());
        let mut poll = libc::pollfd {
            fd,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd.
        let ready = unsafe { libc::poll(&mut poll, 1, remaining.as_millis() as i32) };
        // SAFETY: our own descriptor.
        unsafe { libc::close(fd) };
        if ready == 0 {
            left.push(process);
        }
    }
    left
}
