//! The rule of docs/architecture.md, checked: a module uses only modules
//! of lower layers (and `domain` uses none), so dependencies point down
//! and never form a cycle.

/// Bottom first. Modules of one layer do not use each other.
const LAYERS: &[&[&str]] = &[
    &["domain"],
    &["files", "progress", "exit"],
    &["checkout", "sandbox"],
    &["config"],
    &["agents"],
    &["github"],
    &["findings"],
    &["review"],
    &["report"],
    &["rounds"],
    &["consolidate"],
    &["pipeline"],
    &["cli"],
];

fn layer(module: &str) -> Option<usize> {
    LAYERS.iter().position(|l| l.contains(&module))
}

/// The crate's modules a source file names (`crate::x`, `crate::{x, y}`),
/// outside its test module.
fn uses(source: &str) -> Vec<String> {
    let code = source.split("\n#[cfg(test)]").next().unwrap_or(source);
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        let names: Vec<&str> = if let Some(group) = rest.strip_prefix('{') {
            // Top-level names of `crate::{a::X, b}`.
            let mut depth = 0;
            let end = group
                .char_indices()
                .find(|&(_, c)| {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => return true,
                        '}' => depth -= 1,
                        _ => {}
                    }
                    false
                })
                .map_or(group.len(), |(i, _)| i);
            let mut names = Vec::new();
            let (mut depth, mut start) = (0, 0);
            for (i, c) in group[..end].char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(&group[start..i]);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            names.push(&group[start..end]);
            names
        } else {
            vec![rest]
        };
        for name in names {
            let name: String = name
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() && !out.contains(&name) {
                out.push(name);
            }
        }
    }
    out
}

#[test]
fn imports_only_point_down() {
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    let mut dirs = vec![src.clone()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    let mut wrong = Vec::new();
    let mut seen = 0;
    for file in files {
        let relative = file.strip_prefix(&src).unwrap();
        let first = relative.components().next().unwrap().as_os_str();
        let module = first.to_string_lossy().trim_end_matches(".rs").to_string();
        if matches!(module.as_str(), "lib" | "main" | "layering") {
            continue;
        }
        let own = layer(&module)
            .unwrap_or_else(|| panic!("{module} (src/{}) is in no layer", relative.display()));
        for used in uses(&std::fs::read_to_string(&file).unwrap()) {
            if used == module {
                continue;
            }
            seen += 1;
            match layer(&used) {
                Some(l) if l < own => {}
                _ => wrong.push(format!("src/{} uses {used}", relative.display())),
            }
        }
    }
    assert!(seen > 50, "the check read the imports ({seen})");
    assert!(
        wrong.is_empty(),
        "imports that point up or sideways:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_import_reader_sees_groups_and_paths() {
    let source = "use crate::{domain::{A, B}, files};\nfn f() { crate::report::x(); }\n#[cfg(test)]\nmod tests { use crate::cli; }";
    assert_eq!(uses(source), ["domain", "files", "report"]);
}
