//! What changed between base and head: merge base, commits, files with
//! line counts, and the unified diff.

use git2::{DiffFindOptions, DiffOptions, Oid, Repository, Sort};

use crate::domain::{ChangedFile, Commit, FileStatus};

#[derive(Debug, Clone)]
pub struct DiffSummary {
    pub merge_base: Oid,
    /// Oldest first.
    pub commits: Vec<Commit>,
    pub files: Vec<ChangedFile>,
    pub patch: String,
}

pub fn summarize(repo: &Repository, base: Oid, head: Oid) -> Result<DiffSummary, git2::Error> {
    let merge_base = repo.merge_base(base, head)?;
    let mut walk = repo.revwalk()?;
    walk.push(head)?;
    walk.hide(merge_base)?;
    walk.set_sorting(Sort::TOPOLOGICAL | Sort::REVERSE)?;
    let mut commits = Vec::new();
    for oid in walk {
        let commit = repo.find_commit(oid?)?;
        commits.push(Commit {
            sha: commit.id().to_string(),
            subject: commit.summary().ok().flatten().unwrap_or("").to_string(),
            author: commit.author().name().unwrap_or("").to_string(),
        });
    }
    let old = repo.find_commit(merge_base)?.tree()?;
    let new = repo.find_commit(head)?.tree()?;
    let mut options = DiffOptions::new();
    options.context_lines(3);
    let mut diff = repo.diff_tree_to_tree(Some(&old), Some(&new), Some(&mut options))?;
    diff.find_similar(Some(DiffFindOptions::new().renames(true)))?;
    let mut files = Vec::new();
    for (i, delta) in diff.deltas().enumerate() {
        let path = delta
            .new_file()
            .path()
            .or_else(|| delta.old_file().path())
            .map(|p| p.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (additions, deletions) = match git2::Patch::from_diff(&diff, i)? {
            Some(patch) => {
                let (_, a, d) = patch.line_stats()?;
                (a as u64, d as u64)
            }
            None => (0, 0),
        };
        let status = match delta.status() {
            git2::Delta::Added => FileStatus::Added,
            git2::Delta::Deleted => FileStatus::Deleted,
            git2::Delta::Renamed => FileStatus::Renamed,
            git2::Delta::Copied => FileStatus::Copied,
            git2::Delta::Typechange => FileStatus::Typechange,
            _ => FileStatus::Modified,
        };
        files.push(ChangedFile {
            path,
            status,
            additions,
            deletions,
        });
    }
    let mut patch = String::new();
    diff.print(git2::DiffFormat::Patch, |_, _, line| {
        if matches!(line.origin(), '+' | '-' | ' ') {
            patch.push(line.origin());
        }
        patch.push_str(&String::from_utf8_lossy(line.content()));
        true
    })?;
    Ok(DiffSummary {
        merge_base,
        commits,
        files,
        patch,
    })
}
