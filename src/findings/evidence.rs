//! Checking a finding against the code: is the path inside the repository,
//! do the lines exist, and is the quoted code there? Files are read from
//! the head commit's tree, never from the work tree an agent may have
//! changed. Report excerpts come from here, never from model text.

use std::path::{Component, Path};

use serde::{Deserialize, Serialize};

/// Where a file's text comes from: a commit's tree.
pub trait Source {
    /// The file at `path`: `Ok(None)` when absent.
    fn read(&self, path: &str) -> Result<Option<Entry>, String>;
}

/// One tree entry as the evidence check needs it.
#[derive(Debug, Clone, PartialEq)]
pub enum Entry {
    File(Vec<u8>),
    /// A symbolic link and its target as stored in the tree.
    Symlink(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Evidence {
    /// The quote is at the cited lines.
    Verified,
    /// The quote is elsewhere in the file; the lines were corrected.
    Relocated { from_start: u32, from_end: u32 },
    /// The quote was not found (or not given, or the file is not text).
    Unverified { reason: String },
    /// The path is outside the repository or otherwise unusable.
    InvalidPath { reason: String },
}

impl Evidence {
    pub fn name(&self) -> &'static str {
        match self {
            Evidence::Verified => "verified",
            Evidence::Relocated { .. } => "relocated",
            Evidence::Unverified { .. } => "unverified",
            Evidence::InvalidPath { .. } => "invalid_path",
        }
    }

    pub fn is_trusted(&self) -> bool {
        matches!(self, Evidence::Verified | Evidence::Relocated { .. })
    }
}

/// The outcome of checking one finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checked {
    pub evidence: Evidence,
    /// The path as it stands in the tree (normalised).
    pub path: String,
    pub line_start: u32,
    pub line_end: u32,
    /// The cited lines as they are in the file, when the file is text.
    pub excerpt: Option<String>,
}

/// The most lines an excerpt shows: the start of the cited range, enough
/// to recognise the code (the report links the whole range).
const MAX_EXCERPT: u32 = 15;
/// The most characters of one excerpt line (minified code, data files).
const MAX_EXCERPT_LINE: usize = 240;
/// A quote within this many lines of the cited range counts as at it.
const SLACK: u32 = 2;

/// Whether an excerpt line is a cut one (its end is not the code's).
pub fn is_cut(line: &str) -> bool {
    line.ends_with(" …") && line.chars().count() == MAX_EXCERPT_LINE + 2
}

/// A line cut to [`MAX_EXCERPT_LINE`] characters, marked when cut.
fn cut_line(line: &str) -> String {
    match line.char_indices().nth(MAX_EXCERPT_LINE) {
        Some((at, _)) => format!("{} …", &line[..at]),
        None => line.to_string(),
    }
}

pub fn check(
    source: &dyn Source,
    path: &str,
    line_start: u32,
    line_end: u32,
    quote: &str,
) -> Checked {
    let invalid = |reason: String| Checked {
        evidence: Evidence::InvalidPath { reason },
        path: path.to_string(),
        line_start,
        line_end,
        excerpt: None,
    };
    let normal = match normalise(path) {
        Ok(p) => p,
        Err(reason) => return invalid(reason),
    };
    let bytes = match resolve(source, &normal, 0) {
        Ok(Some(bytes)) => bytes,
        Ok(None) => {
            return Checked {
                evidence: Evidence::Unverified {
                    reason: "the file is not in the head commit (deleted or never existed)".into(),
                },
                path: normal,
                line_start,
                line_end,
                excerpt: None,
            };
        }
        Err(reason) => return invalid(reason),
    };
    let unverified = |reason: &str, excerpt: Option<String>| Checked {
        evidence: Evidence::Unverified {
            reason: reason.to_string(),
        },
        path: normal.clone(),
        line_start,
        line_end,
        excerpt,
    };
    if bytes.contains(&0) {
        return unverified("the file is binary", None);
    }
    let text = String::from_utf8_lossy(&bytes);
    let lines: Vec<&str> = text
        .lines()
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let total = lines.len() as u32;
    let range_ok = line_start >= 1 && line_end >= line_start && line_end <= total;
    let excerpt_of = |s: u32, e: u32| -> String {
        let e = e.min(s + MAX_EXCERPT - 1);
        lines[(s - 1) as usize..e as usize]
            .iter()
            .map(|l| cut_line(l))
            .collect::<Vec<_>>()
            .join("\n")
    };

    let wanted: Vec<String> = quote.lines().map(fold).filter(|l| !l.is_empty()).collect();
    if wanted.is_empty() {
        let excerpt = range_ok.then(|| excerpt_of(line_start, line_end));
        return unverified("the finding quotes no code", excerpt);
    }
    let folded: Vec<String> = lines.iter().map(|l| fold(l)).collect();
    let matches = find_all(&folded, &wanted);
    if matches.is_empty() {
        let excerpt = range_ok.then(|| excerpt_of(line_start, line_end));
        return unverified("the quoted code is not in the file", excerpt);
    }
    let near = |(s, e): (u32, u32)| s + SLACK >= line_start && e <= line_end + SLACK;
    if range_ok && let Some(&(s, e)) = matches.iter().find(|m| near(**m)) {
        // Keep the cited range when it covers the quote; it may be wider.
        let (s, e) = if s >= line_start && e <= line_end {
            (line_start, line_end)
        } else {
            (s.min(line_start), e.max(line_end))
        };
        return Checked {
            evidence: Evidence::Verified,
            path: normal,
            line_start: s,
            line_end: e,
            excerpt: Some(excerpt_of(s, e)),
        };
    }
    let target = line_start.max(1);
    let &(s, e) = matches
        .iter()
        .min_by_key(|(s, _)| s.abs_diff(target))
        .expect("matches is not empty");
    Checked {
        evidence: Evidence::Relocated {
            from_start: line_start,
            from_end: line_end,
        },
        path: normal,
        line_start: s,
        line_end: e,
        excerpt: Some(excerpt_of(s, e)),
    }
}

/// Whitespace-insensitive form of a line: trimmed, runs of blanks folded.
fn fold(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Every (start, end) 1-based line span where `wanted` matches
/// consecutive non-blank lines of `lines`.
fn find_all(lines: &[String], wanted: &[String]) -> Vec<(u32, u32)> {
    let content: Vec<(usize, &String)> = lines
        .iter()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .collect();
    let mut out = Vec::new();
    if wanted.len() > content.len() {
        return out;
    }
    for start in 0..=content.len() - wanted.len() {
        let window = &content[start..start + wanted.len()];
        let hit = window
            .iter()
            .zip(wanted)
            .enumerate()
            .all(|(i, ((_, have), want))| {
                // A quote may cut its first and last lines short.
                if wanted.len() == 1 {
                    have.contains(want.as_str())
                } else if i == 0 {
                    have.ends_with(want.as_str())
                } else if i == wanted.len() - 1 {
                    have.starts_with(want.as_str())
                } else {
                    *have == want
                }
            });
        if hit {
            let first = window[0].0 as u32 + 1;
            let last = window[window.len() - 1].0 as u32 + 1;
            out.push((first, last));
        }
    }
    out
}

/// A repository-relative path with `.` parts removed; absolute paths and
/// `..` are refused.
pub fn normalise(path: &str) -> Result<String, String> {
    let trimmed = path.trim();
    if trimmed.is_empty() {
        return Err("the finding names no file".into());
    }
    let p = Path::new(trimmed);
    let mut parts = Vec::new();
    for component in p.components() {
        match component {
            Component::Normal(part) => parts.push(part.to_string_lossy().into_owned()),
            Component::CurDir => {}
            Component::ParentDir => {
                return Err(format!("{trimmed:?} leaves the repository (`..`)"));
            }
            Component::RootDir | Component::Prefix(_) => {
                return Err(format!(
                    "{trimmed:?} is an absolute path, not one inside the repository"
                ));
            }
        }
    }
    if parts.is_empty() {
        return Err("the finding names no file".into());
    }
    Ok(parts.join("/"))
}

/// Reads `path`, following symbolic links that stay inside the tree.
fn resolve(source: &dyn Source, path: &str, depth: u32) -> Result<Option<Vec<u8>>, String> {
    if depth > 8 {
        return Err(format!("{path:?}: too many symbolic links"));
    }
    match source.read(path)? {
        None => Ok(None),
        Some(Entry::File(bytes)) => Ok(Some(bytes)),
        Some(Entry::Symlink(target)) => {
            if target.starts_with('/') {
                return Err(format!("{path:?} is a symbolic link out of the repository"));
            }
            let base = Path::new(path)
                .parent()
                .map(|p| p.to_string_lossy().into_owned())
                .unwrap_or_default();
            let joined = if base.is_empty() {
                target.clone()
            } else {
                format!("{base}/{target}")
            };
            let mut parts: Vec<&str> = Vec::new();
            for part in joined.split('/') {
                match part {
                    "" | "." => {}
                    ".." => {
                        if parts.pop().is_none() {
                            return Err(format!(
                                "{path:?} is a symbolic link out of the repository"
                            ));
                        }
                    }
                    other => parts.push(other),
                }
            }
            resolve(source, &parts.join("/"), depth + 1)
        }
    }
}

/// A commit's tree in a git repository.
pub struct TreeSource<'r> {
    pub repo: &'r git2::Repository,
    pub tree: git2::Tree<'r>,
}

impl Source for TreeSource<'_> {
    fn read(&self, path: &str) -> Result<Option<Entry>, String> {
        let entry = match self.tree.get_path(Path::new(path)) {
            Ok(e) => e,
            Err(e) if e.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(e) => return Err(e.message().to_string()),
        };
        let object = entry
            .to_object(self.repo)
            .map_err(|e| e.message().to_string())?;
        let Some(blob) = object.as_blob() else {
            return Err(format!("{path:?} is a directory"));
        };
        if entry.filemode() == 0o120000 {
            Ok(Some(Entry::Symlink(
                String::from_utf8_lossy(blob.content()).into_owned(),
            )))
        } else {
            Ok(Some(Entry::File(blob.content().to_vec())))
        }
    }
}

/// The fence language for a path's extension.
pub fn language(path: &str) -> &'static str {
    let ext = Path::new(path)
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("");
    match ext {
        "rs" => "rust",
        "go" => "go",
        "py" => "python",
        "js" | "mjs" | "cjs" => "javascript",
        "ts" | "tsx" => "typescript",
        "rb" => "ruby",
        "java" => "java",
        "kt" => "kotlin",
        "c" | "h" => "c",
        "cc" | "cpp" | "hpp" | "cxx" => "cpp",
        "sh" | "bash" | "bats" => "bash",
        "md" => "markdown",
        "toml" => "toml",
        "yaml" | "yml" => "yaml",
        "json" => "json",
        "html" => "html",
        "css" => "css",
        "sql" => "sql",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Files(HashMap<&'static str, Entry>);

    impl Source for Files {
        fn read(&self, path: &str) -> Result<Option<Entry>, String> {
            Ok(self.0.get(path).cloned())
        }
    }

    fn files() -> Files {
        let mut lines: Vec<String> = (1..=60).map(|i| format!("let v{i} = {i};")).collect();
        lines[49] = "    if retries > MAX {".into();
        lines[50] = "\t\treturn Err(Error::TooMany);".into();
        lines[51] = "    }".into();
        let mut m = HashMap::new();
        m.insert("src/lib.rs", Entry::File(lines.join("\n").into_bytes()));
        m.insert(
            "win.txt",
            Entry::File(b"first line\r\nsecond  line\r\nthird line\r\n".to_vec()),
        );
        m.insert(
            "logo.png",
            Entry::File(vec![0x89, b'P', b'N', b'G', 0, 1, 2]),
        );
        m.insert("link", Entry::Symlink("../../etc/passwd".into()));
        m.insert("docs/inner", Entry::Symlink("../src/lib.rs".into()));
        Files(m)
    }

    /// A cited range is shown only when it is a range of the file, and
    /// at most fifteen lines of it from its start.
    #[test]
    fn excerpts_are_of_real_ranges_and_capped() {
        let c = check(&files(), "src/lib.rs", 10, 40, "");
        let excerpt = c.excerpt.unwrap();
        assert_eq!(excerpt.lines().count(), MAX_EXCERPT as usize);
        assert!(excerpt.starts_with(
            "let v10 = 10;
"
        ));
        assert!(excerpt.ends_with(
            "
let v24 = 24;"
        ));
        for (start, end) in [(20, 10), (0, 3), (59, 61)] {
            assert_eq!(
                check(&files(), "src/lib.rs", start, end, "").excerpt,
                None,
                "{start}-{end}"
            );
        }
        assert_eq!(
            check(&files(), "src/lib.rs", 60, 60, "").excerpt.as_deref(),
            Some("let v60 = 60;")
        );
    }

    /// A multi-line quote may cut its first line at the front and its last
    /// at the end; the lines between match whole; blank lines are skipped.
    #[test]
    fn quotes_match_cut_first_and_last_lines_and_whole_middles() {
        let folded = |text: &str| -> Vec<String> { text.lines().map(fold).collect() };
        let lines = folded("fn a() {\n    let x = f(1);\n\n    let y = g(x);\n    y + 1\n}");
        assert_eq!(
            find_all(&lines, &folded("x = f(1);\nlet y = g(x);\ny +")),
            [(2, 5)]
        );
        assert!(
            find_all(&lines, &folded("x = f(1);\nlet y = g\ny +")).is_empty(),
            "middles are whole"
        );
        assert!(
            find_all(&lines, &folded("let x = f(1)\nlet y = g(x);")).is_empty(),
            "the first line's end is there"
        );
        assert!(
            find_all(&lines, &folded("let x = f(1);\ny = g(x);")).is_empty(),
            "the last line's start is there"
        );
        assert_eq!(
            find_all(&lines, &folded("g(x)")),
            [(4, 4)],
            "one line: anywhere in it"
        );
        assert_eq!(find_all(&lines, &folded("{")), [(1, 1)]);
        let all = folded("a\nb\nc\nd\ne\nf\ng");
        assert!(find_all(&lines, &all).is_empty(), "longer than the file");
        assert_eq!(
            find_all(&lines[..1], &lines[..1]),
            [(1, 1)],
            "exactly as long"
        );
    }

    /// A quote near its cited lines (two lines of slack either way) keeps
    /// them; farther away it is relocated.
    #[test]
    fn a_quote_within_two_lines_is_verified_at_the_cited_range() {
        let quote = "if retries > MAX {";
        for (start, end, evidence, shown) in [
            // Covered: the cited range, however wide.
            (48, 50, "verified", (48, 50)),
            (46, 54, "verified", (46, 54)),
            // Beside it: the range grows to take the quote in.
            (51, 53, "verified", (50, 53)),
            (48, 49, "verified", (48, 50)),
            (52, 53, "verified", (50, 53)),
            (53, 54, "relocated", (50, 50)),
            (45, 47, "relocated", (50, 50)),
        ] {
            let c = check(&files(), "src/lib.rs", start, end, quote);
            assert_eq!(c.evidence.name(), evidence, "{start}-{end}");
            assert_eq!((c.line_start, c.line_end), shown, "{start}-{end}");
        }
    }

    /// Links inside the repository are followed (eight at most); absolute
    /// ones and ones climbing out are refused.
    #[test]
    fn symbolic_links_are_followed_inside_the_repository_only() {
        let mut m = files();
        for i in 0..9 {
            m.0.insert(
                Box::leak(format!("chain{i}").into_boxed_str()),
                Entry::Symlink(format!("chain{}", i + 1)),
            );
        }
        m.0.insert("chain9", Entry::File(b"end\n".to_vec()));
        m.0.insert("a/b/up", Entry::Symlink("../../src/lib.rs".into()));
        assert!(resolve(&m, "chain1", 0).unwrap().is_some(), "eight links");
        assert!(
            resolve(&m, "chain0", 0)
                .unwrap_err()
                .contains("too many symbolic links")
        );
        assert!(resolve(&m, "a/b/up", 0).unwrap().is_some());
        assert!(resolve(&m, "docs/inner", 0).unwrap().is_some());
        assert!(
            resolve(&m, "link", 0)
                .unwrap_err()
                .contains("out of the repository")
        );
    }

    /// A commit's tree as a source: files, links, absent paths, folders.
    #[test]
    fn a_commit_tree_reads_files_links_and_absences() {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init_bare(dir.path()).unwrap();
        let blob = repo.blob(b"fn a() {}\n").unwrap();
        let target = repo.blob(b"a.rs").unwrap();
        let mut sub = repo.treebuilder(None).unwrap();
        sub.insert("b.rs", blob, 0o100644).unwrap();
        let sub = sub.write().unwrap();
        let mut root = repo.treebuilder(None).unwrap();
        root.insert("a.rs", blob, 0o100644).unwrap();
        root.insert("link", target, 0o120000).unwrap();
        root.insert("dir", sub, 0o040000).unwrap();
        let tree = repo.find_tree(root.write().unwrap()).unwrap();
        let source = TreeSource { repo: &repo, tree };
        assert_eq!(
            source.read("a.rs").unwrap(),
            Some(Entry::File(b"fn a() {}\n".to_vec()))
        );
        assert_eq!(
            source.read("dir/b.rs").unwrap(),
            Some(Entry::File(b"fn a() {}\n".to_vec()))
        );
        assert_eq!(
            source.read("link").unwrap(),
            Some(Entry::Symlink("a.rs".into()))
        );
        assert_eq!(source.read("missing.rs").unwrap(), None);
        assert!(source.read("dir").unwrap_err().contains("is a directory"));
    }

    #[test]
    fn fences_are_named_by_extension() {
        for (path, lang) in [
            ("a.rs", "rust"),
            ("a.go", "go"),
            ("a.py", "python"),
            ("a.mjs", "javascript"),
            ("a.cjs", "javascript"),
            ("a.js", "javascript"),
            ("a.tsx", "typescript"),
            ("a.ts", "typescript"),
            ("a.rb", "ruby"),
            ("a.java", "java"),
            ("a.kt", "kotlin"),
            ("a.h", "c"),
            ("a.hpp", "cpp"),
            ("a.bats", "bash"),
            ("a.md", "markdown"),
            ("a.toml", "toml"),
            ("a.yml", "yaml"),
            ("a.json", "json"),
            ("a.html", "html"),
            ("a.css", "css"),
            ("a.sql", "sql"),
            ("Makefile", ""),
        ] {
            assert_eq!(language(path), lang, "{path}");
        }
    }

    #[test]
    fn excerpt_lines_are_cut_and_marked() {
        assert_eq!(cut_line("short"), "short");
        let long = "é".repeat(MAX_EXCERPT_LINE + 5);
        let cut = cut_line(&long);
        assert_eq!(cut.chars().count(), MAX_EXCERPT_LINE + 2);
        assert!(cut.ends_with(" …"));
    }

    #[test]
    fn a_quote_at_its_lines_is_verified_with_an_excerpt() {
        let c = check(
            &files(),
            "./src/lib.rs",
            50,
            52,
            "if retries > MAX {\n    return Err(Error::TooMany);\n}",
        );
        assert_eq!(c.evidence, Evidence::Verified);
        assert_eq!(
            (c.path.as_str(), c.line_start, c.line_end),
            ("src/lib.rs", 50, 52)
        );
        assert_eq!(
            c.excerpt.unwrap(),
            "    if retries > MAX {\n\t\treturn Err(Error::TooMany);\n    }"
        );
    }

    #[test]
    fn tabs_and_spaces_do_not_matter() {
        let c = check(
            &files(),
            "src/lib.rs",
            51,
            51,
            "        return   Err(Error::TooMany);",
        );
        assert_eq!(c.evidence, Evidence::Verified);
    }

    #[test]
    fn crlf_files_match() {
        let c = check(&files(), "win.txt", 2, 3, "second line\nthird line");
        assert_eq!(c.evidence, Evidence::Verified);
        assert_eq!(c.excerpt.unwrap(), "second  line\nthird line");
    }

    #[test]
    fn a_quote_40_lines_away_is_relocated() {
        let c = check(
            &files(),
            "src/lib.rs",
            10,
            12,
            "if retries > MAX {\nreturn Err(Error::TooMany);",
        );
        assert_eq!(
            c.evidence,
            Evidence::Relocated {
                from_start: 10,
                from_end: 12
            }
        );
        assert_eq!((c.line_start, c.line_end), (50, 51));
    }

    #[test]
    fn a_quote_found_nowhere_is_unverified() {
        let c = check(&files(), "src/lib.rs", 50, 51, "if retries >= LIMIT {");
        assert!(
            matches!(c.evidence, Evidence::Unverified { ref reason } if reason.contains("not in the file"))
        );
        // The excerpt still shows what really is at the cited lines.
        assert_eq!(
            c.excerpt.unwrap(),
            "    if retries > MAX {\n\t\treturn Err(Error::TooMany);"
        );
    }

    #[test]
    fn lines_past_the_end_with_a_real_quote_are_relocated() {
        let c = check(&files(), "src/lib.rs", 900, 901, "let v3 = 3;");
        assert_eq!((c.evidence.name(), c.line_start), ("relocated", 3));
    }

    #[test]
    fn deleted_binary_and_escaping_paths() {
        let f = files();
        assert!(
            matches!(check(&f, "gone.rs", 1, 1, "x").evidence, Evidence::Unverified { ref reason } if reason.contains("not in the head commit"))
        );
        assert!(
            matches!(check(&f, "logo.png", 1, 1, "PNG").evidence, Evidence::Unverified { ref reason } if reason.contains("binary"))
        );
        assert!(matches!(
            check(&f, "/etc/passwd", 1, 1, "root").evidence,
            Evidence::InvalidPath { .. }
        ));
        assert!(matches!(
            check(&f, "src/../../secret", 1, 1, "x").evidence,
            Evidence::InvalidPath { .. }
        ));
        assert!(
            matches!(check(&f, "link", 1, 1, "root").evidence, Evidence::InvalidPath { ref reason } if reason.contains("symbolic link"))
        );
        // A link that stays inside the tree is followed.
        assert_eq!(
            check(&f, "docs/inner", 3, 3, "let v3 = 3;").evidence,
            Evidence::Verified
        );
    }

    #[test]
    fn a_finding_without_a_quote_is_unverified() {
        let c = check(&files(), "src/lib.rs", 1, 1, "  ");
        assert!(
            matches!(c.evidence, Evidence::Unverified { ref reason } if reason.contains("quotes no code"))
        );
    }
}
