//! Which lines of the head a unified diff shows: GitHub takes a review
//! comment only on a line inside one of the pull request's hunks.

use std::collections::HashMap;

/// The head-side line ranges of each file's hunks (inclusive, 1-based).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Hunks {
    files: HashMap<String, Vec<(u32, u32)>>,
}

impl Hunks {
    /// Reads a `git diff`-style patch. Hunk bodies are consumed by their
    /// counts, so an added line that reads like a header (`+++ b/x`,
    /// `diff --git …`) is never taken for one.
    pub fn parse(patch: &str) -> Hunks {
        let mut files: HashMap<String, Vec<(u32, u32)>> = HashMap::new();
        let mut path: Option<String> = None;
        let mut lines = patch.lines();
        while let Some(line) = lines.next() {
            if line.starts_with("diff --git ") {
                path = None;
            } else if let Some(name) = line.strip_prefix("+++ ") {
                path = new_path(name);
            } else if let Some((new_start, new_count)) = hunk_header(line) {
                if let Some(p) = &path
                    && new_count > 0
                {
                    files
                        .entry(p.clone())
                        .or_default()
                        .push((new_start, new_start.saturating_add(new_count - 1)));
                }
                // Skip the body by its head-side count (context and added
                // lines). Removed lines left after that are never taken
                // for anything at the top level.
                let mut new_left = new_count;
                while new_left > 0 {
                    let Some(body) = lines.next() else { break };
                    if !matches!(body.as_bytes().first(), Some(b'-' | b'\\')) {
                        new_left -= 1;
                    }
                }
            }
        }
        Hunks { files }
    }

    /// Whether lines `start..=end` of `path` lie inside one hunk.
    pub fn contains(&self, path: &str, start: u32, end: u32) -> bool {
        start >= 1
            && start <= end
            && self
                .files
                .get(path)
                .is_some_and(|h| h.iter().any(|&(s, e)| s <= start && end <= e))
    }

    /// Whether the diff shows any part of `path` on the head side.
    #[cfg(test)]
    fn has_file(&self, path: &str) -> bool {
        self.files.contains_key(path)
    }
}

/// `@@ -a,b +c,d @@` → (c, d); a missing count is 1.
fn hunk_header(line: &str) -> Option<(u32, u32)> {
    let rest = line.strip_prefix("@@ -")?;
    let (ranges, _) = rest.split_once(" @@")?;
    let (old, new) = ranges.split_once(" +")?;
    let count = |r: &str| -> Option<(u32, u32)> {
        match r.split_once(',') {
            Some((s, n)) => Some((s.parse().ok()?, n.parse().ok()?)),
            None => Some((r.parse().ok()?, 1)),
        }
    };
    count(old)?;
    count(new)
}

/// The head-side path of a `+++ ` line: `b/src/x.rs` → `src/x.rs`,
/// `/dev/null` (a deleted file) → none; git's C-quoted form for unusual
/// names is unquoted.
fn new_path(name: &str) -> Option<String> {
    let name = name.trim_end_matches('\t');
    if name == "/dev/null" {
        return None;
    }
    let name = if name.starts_with('"') {
        unquote(name)?
    } else {
        name.to_string()
    };
    Some(name.strip_prefix("b/").unwrap_or(&name).to_string())
}

/// `"b/caf\303\251 \"x\".rs"` → `b/café "x".rs`.
fn unquote(quoted: &str) -> Option<String> {
    let inner = quoted.strip_prefix('"')?.strip_suffix('"')?;
    let mut bytes = Vec::new();
    let mut chars = inner.bytes().peekable();
    while let Some(b) = chars.next() {
        if b != b'\\' {
            bytes.push(b);
            continue;
        }
        match chars.next()? {
            b'n' => bytes.push(b'\n'),
            b't' => bytes.push(b'\t'),
            b'r' => bytes.push(b'\r'),
            b'a' => bytes.push(7),
            b'b' => bytes.push(8),
            b'f' => bytes.push(12),
            b'v' => bytes.push(11),
            d @ b'0'..=b'3' => {
                let mut v = u32::from(d - b'0');
                for _ in 0..2 {
                    let o = chars.next()?;
                    if !(b'0'..=b'7').contains(&o) {
                        return None;
                    }
                    v = v * 8 + u32::from(o - b'0');
                }
                bytes.push(u8::try_from(v).ok()?);
            }
            other => bytes.push(other),
        }
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATCH: &str = "diff --git a/src/a.rs b/src/a.rs
index 1111111..2222222 100644
--- a/src/a.rs
+++ b/src/a.rs
@@ -1,3 +1,4 @@
 fn a() {}
+fn b() {}
 fn c() {}
 fn d() {}
@@ -20,4 +21,3 @@ impl X {
 x
-y
 z
 w
diff --git a/new.txt b/new.txt
new file mode 100644
--- /dev/null
+++ b/new.txt
@@ -0,0 +1,2 @@
+++ b/evil
+diff --git a/evil b/evil
diff --git a/gone.rs b/gone.rs
deleted file mode 100644
--- a/gone.rs
+++ /dev/null
@@ -1,2 +0,0 @@
-a
-b
diff --git a/m.rs b/m.rs
--- a/m.rs
+++ b/m.rs
@@ -1,1 +1,3 @@
 keep
+++ b/evil
+x
@@ -9,1 +11,1 @@
-a
+b
diff --git a/m2.rs b/m2.rs
--- a/m2.rs
+++ b/m2.rs
@@ -1,1 +1,2 @@
-a
+b
+++ b/evil2
@@ -9 +10 @@
 x
diff --git a/m3.rs b/m3.rs
--- a/m3.rs
+++ b/m3.rs
@@ -1,1 +1,2 @@
-a
\\ No newline at end of file
+b
+++ b/evil3
@@ -9 +10 @@
 x
diff --git a/trimmed.rs b/trimmed.rs
--- a/trimmed.rs
+++ b/trimmed.rs
@@ -3,2 +2,0 @@
-gone
-too
diff --git \"a/caf\\303\\251.rs\" \"b/caf\\303\\251.rs\"
--- \"a/caf\\303\\251.rs\"
+++ \"b/caf\\303\\251.rs\"
@@ -5 +5 @@
-old
+new
";

    #[test]
    fn head_side_ranges_of_every_hunk() {
        let h = Hunks::parse(PATCH);
        assert!(h.contains("src/a.rs", 1, 4));
        assert!(h.contains("src/a.rs", 2, 2));
        assert!(!h.contains("src/a.rs", 4, 5), "between hunks");
        assert!(h.contains("src/a.rs", 21, 23));
        assert!(!h.contains("src/a.rs", 21, 24), "past the second hunk");
        assert!(!h.contains("src/a.rs", 3, 21), "across two hunks");
        assert!(!h.contains("src/a.rs", 0, 1));
        assert!(!h.contains("src/a.rs", 3, 2));
    }

    #[test]
    fn added_lines_that_look_like_headers_stay_content() {
        let h = Hunks::parse(PATCH);
        assert!(h.contains("new.txt", 1, 2));
        assert!(!h.has_file("evil"));
        assert!(
            h.contains("m.rs", 1, 3) && h.contains("m.rs", 11, 11),
            "{h:?}"
        );
        // Removed lines and "no newline" marks do not count on the head
        // side: counting them would end the hunk before its last added
        // line, which would then be read as a header.
        for (file, evil) in [("m2.rs", "evil2"), ("m3.rs", "evil3")] {
            assert!(h.contains(file, 10, 10) && !h.has_file(evil), "{h:?}");
        }
        assert!(!h.has_file("gone.rs"), "a deleted file has no head side");
        assert!(
            !h.has_file("trimmed.rs"),
            "lines only removed leave nothing to comment on"
        );
        assert!(h.contains("café.rs", 5, 5), "{h:?}");
    }

    #[test]
    fn quoted_names_unquote() {
        assert_eq!(unquote("\"b/a\\\"b\\\\c\\td\"").unwrap(), "b/a\"b\\c\td");
        assert_eq!(unquote("\"b/\\3x1\""), None);
        assert_eq!(hunk_header("@@ -3 +4,0 @@"), Some((4, 0)));
        assert_eq!(hunk_header("@@ -3,2 +4,5 @@ fn x"), Some((4, 5)));
        assert_eq!(hunk_header("@@ -x,2 +4,5 @@"), None);
        assert_eq!(hunk_header("@@ nonsense"), None);
    }
}
