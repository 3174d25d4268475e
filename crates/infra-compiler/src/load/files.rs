//! File access for projects: every path a project names (resources,
//! modules, environments, `file()` and its kin) stays inside the project root, and every
//! file read is bounded (and UTF-8 text, but for `file_base64()`).

use infra_syntax::source::{io_reason, read_bytes, read_text};
use infra_syntax::{Code, Diagnostic};
use std::path::{Component, Path, PathBuf};

/// The largest file `file()` reads.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// A path that leaves the project (L011).
fn outside(message: String) -> Diagnostic {
    Diagnostic::error(Code::OutsideProject, message)
        .help("paths are relative to the file that names them and stay inside the project")
}

/// A file that cannot be read (L010).
fn unreadable(message: String) -> Diagnostic {
    Diagnostic::error(Code::CannotRead, message)
}

/// Whether `path` (resolved) is a file of the project: below `root`, and
/// not in a `.git` folder — git's own files belong to the machine that
/// checked the project out (a CI checkout keeps its token in `.git/config`),
/// not to the repository.
pub fn in_project(root: &Path, path: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|rel| !rel.components().any(|c| c.as_os_str() == ".git"))
}

/// Resolves `rel` against `dir`, refusing absolute paths and anything that
/// leaves the project (by `..`, by a symbolic link, or into `.git`).
pub fn resolve_inside(root: &Path, dir: &Path, rel: &str) -> Result<PathBuf, Diagnostic> {
    check_relative(rel)?;
    let joined = normalize(&dir.join(rel));
    if !joined.starts_with(root) {
        return Err(outside(format!("{rel} is outside the project root")));
    }
    if !in_project(root, &joined) {
        return Err(outside(format!(
            "{rel} is in .git, which holds this machine's git configuration, not the project"
        )));
    }
    let canonical = joined
        .canonicalize()
        .map_err(|e| unreadable(format!("cannot open {}: {}", display(root, &joined), io_reason(&e))))?;
    if !in_project(root, &canonical) {
        return Err(outside(format!("{rel} is outside the project root (a symbolic link?)")));
    }
    Ok(canonical)
}

/// Refuses absolute paths: a project names files relative to itself.
fn check_relative(rel: &str) -> Result<(), Diagnostic> {
    if Path::new(rel).is_absolute() || rel.starts_with('~') {
        return Err(outside(format!("{rel} is an absolute path")));
    }
    Ok(())
}

/// Resolves `.` and `..` without touching the file system, so that a path
/// leaving the root is refused before anything is read.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// Expands a glob relative to `dir`; matches are sorted and inside `root`.
/// The folders are walked without following symbolic links, so a link to
/// `.` (which git can commit) is no loop; a link to a file is matched and
/// must point inside the project.
pub fn glob_inside(root: &Path, dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, Diagnostic> {
    check_relative(pattern)?;
    let full = normalize(&dir.join(pattern));
    if !full.starts_with(root) {
        return Err(outside(format!("{pattern} is outside the project root")));
    }
    let full = full.to_str().ok_or_else(|| unreadable(format!("{pattern}: the path is not UTF-8")))?;
    let matcher = glob::Pattern::new(full).map_err(|e| outside(format!("invalid glob `{pattern}`: {}", e.msg)))?;
    // Walk from the deepest folder the pattern names literally, no deeper
    // than its components reach (any depth below a `**`).
    let components: Vec<&str> = full.split('/').collect();
    let literal = components.iter().take_while(|c| !c.contains(['*', '?', '['])).count();
    let base = components[..literal.min(components.len() - 1)].join("/");
    let rest = &components[literal.min(components.len() - 1)..];
    let depth = if rest.contains(&"**") { usize::MAX } else { rest.len() };
    let options = glob::MatchOptions { require_literal_separator: true, ..glob::MatchOptions::new() };
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(if base.is_empty() { "/" } else { &base }).follow_links(false);
    // `.git` is not the project's: a glob never reaches into it.
    for entry in walk.min_depth(1).max_depth(depth).into_iter().filter_entry(|e| e.file_name() != ".git") {
        let entry = match entry {
            Ok(e) => e,
            // A folder the pattern reaches into that is missing matches nothing.
            Err(e) if e.io_error().is_some_and(|io| io.kind() == std::io::ErrorKind::NotFound) => continue,
            Err(e) => {
                let path = e.path().map_or_else(|| base.clone(), |p| display(root, p));
                let reason = e.io_error().map_or_else(|| e.to_string(), io_reason);
                return Err(unreadable(format!("cannot read {path}: {reason}")));
            }
        };
        let p = entry.path();
        if entry.file_type().is_dir() || !matcher.matches_path_with(p, options) || p.is_dir() {
            continue;
        }
        let canonical =
            p.canonicalize().map_err(|e| unreadable(format!("cannot open {}: {}", p.display(), io_reason(&e))))?;
        if !in_project(root, &canonical) {
            return Err(outside(format!("{} is outside the project root (a symbolic link?)", display(root, p))));
        }
        out.push(canonical);
    }
    out.sort();
    Ok(out)
}

/// `file("path")`: a text file relative to `dir`, inside `root`.
pub fn read_text_inside(root: &Path, dir: &Path, rel: &str) -> Result<String, Diagnostic> {
    let path = resolve_inside(root, dir, rel)?;
    read_text(&path, MAX_FILE_BYTES).map_err(|e| unreadable(format!("cannot read {rel}: {e}")))
}

/// `file_base64("path")`: any file relative to `dir`, inside `root`.
pub fn read_bytes_inside(root: &Path, dir: &Path, rel: &str) -> Result<Vec<u8>, Diagnostic> {
    let path = resolve_inside(root, dir, rel)?;
    read_bytes(&path, MAX_FILE_BYTES).map_err(|e| unreadable(format!("cannot read {rel}: {e}")))
}

/// A path as users see it: relative to the project root when inside it.
pub fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}
