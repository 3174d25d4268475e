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

/// Resolves `rel` against `dir`, refusing absolute paths and anything that
/// leaves `root` (by `..` or by a symbolic link).
pub fn resolve_inside(root: &Path, dir: &Path, rel: &str) -> Result<PathBuf, Diagnostic> {
    check_relative(rel)?;
    let joined = normalize(&dir.join(rel));
    if !joined.starts_with(root) {
        return Err(outside(format!("{rel} is outside the project root")));
    }
    let canonical = joined
        .canonicalize()
        .map_err(|e| unreadable(format!("cannot open {}: {}", display(root, &joined), io_reason(&e))))?;
    if !canonical.starts_with(root) {
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
pub fn glob_inside(root: &Path, dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, Diagnostic> {
    check_relative(pattern)?;
    let full = normalize(&dir.join(pattern));
    if !full.starts_with(root) {
        return Err(outside(format!("{pattern} is outside the project root")));
    }
    let full = full.to_str().ok_or_else(|| unreadable(format!("{pattern}: the path is not UTF-8")))?;
    let paths = glob::glob(full).map_err(|e| outside(format!("invalid glob `{pattern}`: {}", e.msg)))?;
    let mut out = Vec::new();
    for p in paths {
        let p = p.map_err(|e| unreadable(format!("cannot read {}: {}", e.path().display(), io_reason(e.error()))))?;
        if p.is_dir() {
            continue;
        }
        let canonical =
            p.canonicalize().map_err(|e| unreadable(format!("cannot open {}: {}", p.display(), io_reason(&e))))?;
        if !canonical.starts_with(root) {
            return Err(outside(format!("{} is outside the project root (a symbolic link?)", display(root, &p))));
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
