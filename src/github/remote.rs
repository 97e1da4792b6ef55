//! Which GitHub repository: `--repo`, else the checkout's `upstream`
//! remote, else `origin` (a fork workflow's base is `upstream`).

use std::fmt;
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepoRef {
    pub host: String,
    pub owner: String,
    pub name: String,
}

impl fmt::Display for RepoRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.owner, self.name)
    }
}

impl RepoRef {
    /// `owner/name` on `host`.
    pub fn parse(spec: &str, host: &str) -> Option<RepoRef> {
        let (owner, name) = spec.trim().trim_end_matches(".git").split_once('/')?;
        (!owner.is_empty() && !name.is_empty() && !name.contains('/')).then(|| RepoRef {
            host: host.to_string(),
            owner: owner.to_string(),
            name: name.to_string(),
        })
    }
}

/// `git@github.com:owner/name.git`, `ssh://git@github.com/owner/name`,
/// `https://github.com/owner/name.git` → the repository.
pub fn parse_remote_url(url: &str) -> Option<RepoRef> {
    let url = url.trim();
    let (host, path) = if let Some(rest) = url.split_once("://").map(|(_, r)| r) {
        let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
        let (host, path) = rest.split_once('/')?;
        (host.split(':').next()?.to_string(), path.to_string())
    } else {
        // scp-like: [user@]host:path
        let rest = url.rsplit_once('@').map_or(url, |(_, r)| r);
        let (host, path) = rest.split_once(':')?;
        (host.to_string(), path.to_string())
    };
    let path = path.trim_start_matches('/').trim_end_matches('/');
    RepoRef::parse(path, &host)
}

/// The GitHub repository of the checkout around `cwd`, from its
/// `upstream` remote, else `origin`.
pub fn repo_of_checkout(cwd: &Path) -> Option<RepoRef> {
    let repo = git2::Repository::discover(cwd).ok()?;
    for name in ["upstream", "origin"] {
        if let Ok(remote) = repo.find_remote(name)
            && let Ok(url) = remote.url()
            && let Some(r) = parse_remote_url(url)
        {
            return Some(r);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_and_https_remotes_are_understood() {
        for url in [
            "git@github.com:acme/widget.git",
            "ssh://git@github.com/acme/widget.git",
            "https://github.com/acme/widget.git",
            "https://github.com/acme/widget",
            "https://user:token@github.com/acme/widget.git",
        ] {
            let r = parse_remote_url(url).unwrap_or_else(|| panic!("{url}"));
            assert_eq!(
                (r.host.as_str(), r.owner.as_str(), r.name.as_str()),
                ("github.com", "acme", "widget"),
                "{url}"
            );
        }
        assert_eq!(
            parse_remote_url("git@ghe.corp:team/tool.git").unwrap().host,
            "ghe.corp"
        );
        assert_eq!(parse_remote_url("/local/path/repo.git"), None);
    }

    #[test]
    fn upstream_wins_over_origin() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        repo.remote("origin", "git@github.com:me/widget.git")
            .unwrap();
        assert_eq!(repo_of_checkout(dir.path()).unwrap().owner, "me");
        repo.remote("upstream", "https://github.com/acme/widget.git")
            .unwrap();
        assert_eq!(repo_of_checkout(dir.path()).unwrap().owner, "acme");
    }
}
