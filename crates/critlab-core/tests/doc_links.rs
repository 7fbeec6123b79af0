//! Every relative link in the repository's Markdown (README.md and the other top-level .md
//! files, docs/**/*.md) resolves inside the repository: the file exists, and an anchor
//! (`file.md#anchor`, `#anchor`) names an `<a id="…">` or a heading of the target file
//! (GitHub's slug: lower case, spaces to hyphens, other punctuation dropped). Links to the web
//! (`http:`, `https:`, `mailto:`) and links inside fenced code blocks are not checked.
use std::fs;
use std::path::{Path, PathBuf};

fn repository_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..").canonicalize().expect("repository root")
}

fn markdown_files(root: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(root)
        .expect("read the repository root")
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in fs::read_dir(&dir).expect("read docs/") {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

/// The text outside fenced code blocks.
fn prose(text: &str) -> String {
    let mut fenced = false;
    let mut out = String::new();
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Targets of inline links `[text](target)` and of reference definitions `[label]: target`.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("](") {
        rest = &rest[i + 2..];
        if let Some(end) = rest.find(')') {
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            targets.push(target.trim_matches(|c| c == '<' || c == '>').to_string());
        }
    }
    for line in text.lines() {
        let line = line.trim_start();
        if let Some(close) = line.strip_prefix('[').and_then(|l| l.find("]: ")) {
            // A definition's target is a path or an anchor (a bracketed number such as
            // "[95 %]: …" at the start of a prose line is not a definition).
            let target = line[close + 4..].split_whitespace().next().unwrap_or("");
            if target.contains(['/', '.', '#']) {
                targets.push(target.to_string());
            }
        }
    }
    targets
}

fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            '-' | '_' => Some(c),
            c if c.is_alphanumeric() => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for line in prose(text).lines() {
        if line.starts_with('#') {
            found.push(slug(line.trim_start_matches('#')));
        }
        let mut rest = line;
        while let Some(i) = rest.find("id=\"") {
            rest = &rest[i + 4..];
            if let Some(end) = rest.find('"') {
                found.push(rest[..end].to_string());
            }
        }
    }
    found
}

#[test]
fn every_relative_link_in_the_markdown_resolves_inside_the_repository() {
    let root = repository_root();
    let mut broken = Vec::new();
    for file in markdown_files(&root) {
        let text = fs::read_to_string(&file).expect("read a Markdown file");
        for target in link_targets(&prose(&text)) {
            if target.is_empty() || ["http:", "https:", "mailto:"].iter().any(|s| target.starts_with(s)) {
                continue;
            }
            let (path, anchor) = match target.split_once('#') {
                Some((p, a)) => (p, Some(a)),
                None => (target.as_str(), None),
            };
            let resolved = if path.is_empty() { file.clone() } else { file.parent().unwrap().join(path) };
            let shown = format!("{}: {target}", file.strip_prefix(&root).unwrap().display());
            match resolved.canonicalize() {
                Ok(p) if p.starts_with(&root) => {
                    if let (Some(anchor), true) = (anchor, p.extension().is_some_and(|e| e == "md")) {
                        let text = fs::read_to_string(&p).expect("read a link's target");
                        if !anchors(&text).iter().any(|a| a == anchor) {
                            broken.push(format!("{shown} (no anchor #{anchor})"));
                        }
                    }
                }
                Ok(_) => broken.push(format!("{shown} (outside the repository)")),
                Err(_) => broken.push(format!("{shown} (missing)")),
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}
