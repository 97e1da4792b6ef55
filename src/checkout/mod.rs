//! Getting the code under review into a throwaway worktree, never touching
//! the user's own checkout. One bare cache repository per source (a GitHub
//! repository, or a local repository path) lives under the cache
//! directory; each run fetches what it needs into namespaced refs and
//! takes a worktree of the change's pool ([`pool`]), detached at the head
//! commit (or, with `--keep-worktree`, adds one inside its run directory).

mod diff;
pub mod hunks;
pub mod pieces;
pub mod pool;

use std::path::{Path, PathBuf};

use git2::{FetchOptions, Oid, Repository, WorktreeAddOptions};

pub use diff::{DiffSummary, summarize};

#[derive(Debug, thiserror::Error)]
pub enum CheckoutError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("not inside a git repository")]
    NotARepository,
    #[error("no branch named {0:?}")]
    NoBranch(String),
    #[error("HEAD is detached; name the branch to review")]
    Detached,
    #[error(
        "no base branch found: the remote has no default branch and there is no main or master"
    )]
    NoBase,
    #[error("the remote has no {what} (fetching {refspec} from {url})")]
    MissingRef {
        what: String,
        refspec: String,
        url: String,
    },
    #[error("cannot fetch from {url}: {message}")]
    Fetch { url: String, message: String },
}

impl CheckoutError {
    /// Whether the request named something that is not there (no
    /// repository, branch or base), rather than git failing.
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            CheckoutError::NotARepository
                | CheckoutError::NoBranch(_)
                | CheckoutError::NoBase
                | CheckoutError::Detached
        )
    }
}

/// The bare cache repository for one source.
pub struct Cache {
    pub repo: Repository,
    pub path: PathBuf,
    url: String,
    token: Option<String>,
    /// The pool of worktrees kept between runs ([`pool`]).
    trees: PathBuf,
    /// Where evicted trees wait to be deleted.
    trash: PathBuf,
}

impl Cache {
    /// Opens (creating if needed) the cache for `url` under `cache_dir`.
    /// Where the cache for `key` lives (its lock is beside it).
    pub fn path_for(cache_dir: &Path, key: &str) -> PathBuf {
        cache_dir.join("repos").join(format!("{key}.git"))
    }

    /// Opens (or creates) the cache for `key`; the caller holds its
    /// [`FileLock`](crate::files::FileLock), so concurrent first runs do not initialise it twice.
    pub fn open(
        cache_dir: &Path,
        key: &str,
        url: &str,
        token: Option<String>,
    ) -> Result<Cache, CheckoutError> {
        let path = Self::path_for(cache_dir, key);
        std::fs::create_dir_all(&path)?;
        let repo = match Repository::open_bare(&path) {
            Ok(repo) => repo,
            Err(_) => Repository::init_bare(&path)?,
        };
        let pool = pool_root(cache_dir)?;
        Ok(Cache {
            repo,
            path,
            url: url.to_string(),
            token,
            trees: pool.join(key),
            trash: pool.join(".trash"),
        })
    }

    /// Opens an existing cache of `cache_dir` by its path, for work that
    /// fetches nothing.
    pub fn existing(cache_dir: &Path, path: &Path) -> Result<Cache, CheckoutError> {
        let repo = Repository::open_bare(path)?;
        // `<cache_dir>/repos/<key>.git` → `<cache_dir>/trees/<key>`; a cache
        // found elsewhere gets a pool of its own beside it.
        let root = pool_root(cache_dir)?;
        let key = match path.strip_prefix(cache_dir.join("repos")) {
            Ok(key) => root.join(key.with_extension("")),
            Err(_) => path.with_extension("trees"),
        };
        Ok(Cache {
            repo,
            path: path.to_path_buf(),
            url: String::new(),
            token: None,
            trees: key,
            trash: root.join(".trash"),
        })
    }

    /// Fetches `refspecs` (`src:dst`) from the source. Only missing
    /// objects travel; a force-pushed head simply moves its ref.
    /// Returns how many objects travelled.
    pub fn fetch(&self, refspecs: &[String]) -> Result<usize, CheckoutError> {
        let mut remote = self.repo.remote_anonymous(&self.url)?;
        let mut callbacks = git2::RemoteCallbacks::new();
        if let Some(token) = self.token.clone() {
            // libgit2 asks again after every refusal and gives up only at
            // its replay limit ("too many redirects or authentication
            // replays"); say what happened instead.
            let mut asked = false;
            callbacks.credentials(move |_url, _user, _allowed| {
                if std::mem::replace(&mut asked, true) {
                    return Err(git2::Error::from_str(
                        "the server refused the GitHub token (check its access to this repository)",
                    ));
                }
                git2::Cred::userpass_plaintext("x-access-token", &token)
            });
        }
        let mut options = FetchOptions::new();
        options.remote_callbacks(callbacks);
        options.download_tags(git2::AutotagOption::None);
        let specs: Vec<String> = refspecs.iter().map(|s| format!("+{s}")).collect();
        remote
            .fetch(&specs, Some(&mut options), None)
            .map_err(|e| CheckoutError::Fetch {
                url: redact(&self.url),
                message: e.message().to_string(),
            })?;
        // Earlier fetches' refs stay (they let the source send only what
        // is new), so a ref the source no longer advertises must be caught
        // here rather than served stale from the cache.
        let advertised: Vec<String> = remote
            .list()
            .map(|heads| heads.iter().map(|h| h.name().to_string()).collect())
            .unwrap_or_default();
        for spec in refspecs {
            let (src, dst) = spec.split_once(':').expect("refspecs are src:dst");
            if !advertised.iter().any(|a| a == src) || self.repo.refname_to_id(dst).is_err() {
                return Err(CheckoutError::MissingRef {
                    what: src.to_string(),
                    refspec: spec.clone(),
                    url: redact(&self.url),
                });
            }
        }
        Ok(remote.stats().received_objects())
    }

    /// Borrows every object of a local repository (git's alternates, as
    /// `git clone --shared` does): nothing is copied, so a branch of a
    /// large repository is ready at once, where libgit2's local transport
    /// packs and indexes the whole history (34 s and 595 MiB for 184,000
    /// objects; docs/performance.md). The cache then needs that
    /// repository's objects, as a shared clone does; it is only ever used
    /// for that repository's branches.
    pub fn borrow_objects(&mut self, local: &Repository) -> Result<(), CheckoutError> {
        let objects = local.commondir().join("objects").canonicalize()?;
        let line = objects.display().to_string();
        if line.contains('\n') {
            return Err(std::io::Error::other("a newline in the repository's path").into());
        }
        let file = self.path.join("objects").join("info").join("alternates");
        let wanted = format!("{line}\n");
        if std::fs::read_to_string(&file).ok().as_deref() != Some(wanted.as_str()) {
            std::fs::create_dir_all(self.path.join("objects").join("info"))?;
            std::fs::write(&file, wanted)?;
            // Alternates are read when the object database opens.
            self.repo = Repository::open_bare(&self.path)?;
        }
        Ok(())
    }

    /// Points `name` at `oid`, a commit the cache has or borrows.
    pub fn set_ref(&self, name: &str, oid: Oid) -> Result<(), CheckoutError> {
        self.repo.find_commit(oid)?;
        self.repo.reference(name, oid, true, "deep-review")?;
        Ok(())
    }

    pub fn resolve(&self, refname: &str) -> Result<Oid, CheckoutError> {
        Ok(self.repo.refname_to_id(refname)?)
    }

    /// Removes worktrees of single runs that died: their folder is gone,
    /// or they are locked by a process that no longer exists. The pool's
    /// trees are the pool's ([`pool`]): a dead run's is taken back there.
    pub fn prune_stale(&self) -> Result<Vec<String>, CheckoutError> {
        let mut pruned = Vec::new();
        for name in self.repo.worktrees()?.iter().flatten().flatten() {
            let Ok(wt) = self.repo.find_worktree(name) else {
                continue;
            };
            let live = (self.is_pooled(wt.path()) && wt.path().is_dir())
                || pool::in_use(&wt).unwrap_or(true);
            if live && !pool::kept_and_gone(&wt) {
                continue;
            }
            let _ = wt.unlock();
            let path = wt.path().to_path_buf();
            // Another run may be pruning it at the same moment.
            if pool::prune(&wt).is_err() {
                continue;
            }
            if path.symlink_metadata().is_ok() {
                let _ = std::fs::remove_dir_all(&path);
            }
            pruned.push(name.to_string());
        }
        Ok(pruned)
    }

    /// Adds a worktree at `path`, detached at `head`, locked by this
    /// process until [`Worktree::remove`].
    pub fn add_worktree(
        &self,
        name: &str,
        path: &Path,
        head: Oid,
    ) -> Result<Worktree, CheckoutError> {
        // libgit2 checks a worktree out at a branch; a throwaway one is
        // made for it, then HEAD is detached and the branch deleted.
        let commit = self.repo.find_commit(head)?;
        let branch_name = format!("deep-review-wt-{name}");
        let branch = self.repo.branch(&branch_name, &commit, true)?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut options = WorktreeAddOptions::new();
        options.reference(Some(branch.get()));
        let wt = self.repo.worktree(name, path, Some(&options))?;
        let wt_repo = Repository::open_from_worktree(&wt)?;
        wt_repo.set_head_detached(head)?;
        let mut branch = self
            .repo
            .find_branch(&branch_name, git2::BranchType::Local)?;
        branch.delete()?;
        wt.lock(Some(&format!("deep-review pid {}", std::process::id())))?;
        Ok(Worktree {
            name: name.to_string(),
            path: path.to_path_buf(),
            pooled: false,
        })
    }

    pub fn remove_worktree(&self, worktree: &Worktree) -> Result<(), CheckoutError> {
        if let Ok(wt) = self.repo.find_worktree(&worktree.name) {
            let _ = wt.unlock();
            pool::prune(&wt)?;
        }
        if worktree.path.exists() {
            std::fs::remove_dir_all(&worktree.path)?;
        }
        Ok(())
    }
}

/// `<cache_dir>/trees`, made and resolved: git records a worktree's real
/// path, so the pool's own must be real too (a cache directory under a
/// symlinked `~/.cache` would never match).
fn pool_root(cache_dir: &Path) -> std::io::Result<PathBuf> {
    let root = cache_dir.join("trees");
    std::fs::create_dir_all(&root)?;
    root.canonicalize()
}

/// A worktree a run works in.
#[derive(Debug, Clone)]
pub struct Worktree {
    pub name: String,
    pub path: PathBuf,
    /// Taken from the pool (given back after the run) rather than added
    /// for this run alone (removed after it, or kept on request).
    pub pooled: bool,
}

/// The object folders a cache borrows from (its alternates): agents that
/// read the cache's history must be able to read these too.
pub fn borrowed_objects(git_dir: &Path) -> Vec<PathBuf> {
    std::fs::read_to_string(git_dir.join("objects").join("info").join("alternates"))
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| l.starts_with('/'))
                .map(PathBuf::from)
                .collect()
        })
        .unwrap_or_default()
}

fn process_alive(pid: i32) -> bool {
    // Signal 0 checks existence without signalling.
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
}

/// A URL with any credentials removed, for messages.
fn redact(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((_, host)) => format!("{scheme}://{host}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// A file-system-safe cache key for a local repository path.
pub fn local_key(path: &Path) -> String {
    let canonical = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
    let name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "repo".into());
    // FNV-1a: stable across runs and Rust versions, unlike DefaultHasher.
    let mut hash: u64 = 0xcbf29ce484222325;
    for b in canonical.as_os_str().as_encoded_bytes() {
        hash ^= u64::from(*b);
        hash = hash.wrapping_mul(0x100000001b3);
    }
    format!("local/{}-{hash:016x}", sanitize(&name))
}

pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect()
}

/// The local branch to review and its base, resolved in the user's
/// repository (read only).
#[derive(Debug, Clone, PartialEq)]
pub struct LocalTarget {
    pub root: PathBuf,
    pub branch: String,
    pub base: String,
    /// The base as a ref in the user's repository.
    pub base_ref: String,
}

/// Finds the repository around `cwd`, the branch (`name` or the current
/// one) and the base (`base`, else the remote's default branch, else
/// `main`, else `master`).
pub fn local_target(
    cwd: &Path,
    name: Option<&str>,
    base: Option<&str>,
) -> Result<LocalTarget, CheckoutError> {
    let repo = Repository::discover(cwd).map_err(|_| CheckoutError::NotARepository)?;
    let root = repo.workdir().unwrap_or_else(|| repo.path()).to_path_buf();
    let branch = match name {
        Some(n) => {
            repo.find_branch(n, git2::BranchType::Local)
                .map_err(|_| CheckoutError::NoBranch(n.to_string()))?;
            n.to_string()
        }
        None => {
            let head = repo.head().map_err(|_| CheckoutError::Detached)?;
            if !head.is_branch() {
                return Err(CheckoutError::Detached);
            }
            head.shorthand()
                .map_err(|_| CheckoutError::Detached)?
                .to_string()
        }
    };
    let (base, base_ref) = match base {
        Some(b) => {
            let obj = repo
                .revparse_single(b)
                .map_err(|_| CheckoutError::NoBranch(b.to_string()))?;
            let _ = obj;
            let full = repo
                .resolve_reference_from_short_name(b)
                .ok()
                .and_then(|r| r.name().ok().map(str::to_string))
                .unwrap_or_else(|| b.to_string());
            (b.to_string(), full)
        }
        None => default_base(&repo)?,
    };
    Ok(LocalTarget {
        root,
        branch,
        base,
        base_ref,
    })
}

/// The full name of the repository's default branch, as [`local_target`]
/// picks it.
pub fn default_branch(repo: &Repository) -> Option<String> {
    default_base(repo).ok().map(|(_, full)| full)
}

fn default_base(repo: &Repository) -> Result<(String, String), CheckoutError> {
    for remote in ["upstream", "origin"] {
        if let Ok(r) = repo.find_reference(&format!("refs/remotes/{remote}/HEAD"))
            && let Ok(Some(target)) = r.symbolic_target()
        {
            let short = target
                .trim_start_matches(&format!("refs/remotes/{remote}/"))
                .to_string();
            return Ok((short, target.to_string()));
        }
    }
    for name in ["main", "master"] {
        if repo.find_branch(name, git2::BranchType::Local).is_ok() {
            return Ok((name.to_string(), format!("refs/heads/{name}")));
        }
    }
    Err(CheckoutError::NoBase)
}
