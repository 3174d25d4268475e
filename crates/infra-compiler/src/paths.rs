//! File access for projects: every path a project names (resources,
//! modules, environments, `file()`) stays inside the project root, and every
//! file read is bounded and must be UTF-8 text.

use std::fs;
use std::path::{Component, Path, PathBuf};

/// The largest YAML or JSON file a project may contain.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Resolves `rel` against `dir`, refusing absolute paths and anything that
/// leaves `root` (by `..` or by a symbolic link).
pub fn resolve_inside(root: &Path, dir: &Path, rel: &str) -> Result<PathBuf, String> {
    check_relative(rel)?;
    let joined = normalize(&dir.join(rel));
    if !joined.starts_with(root) {
        return Err(format!("{rel} is outside the project root; paths stay inside the project"));
    }
    let canonical =
        joined.canonicalize().map_err(|e| format!("cannot open {}: {}", display(root, &joined), io_reason(&e)))?;
    if !canonical.starts_with(root) {
        return Err(format!("{rel} is outside the project root"));
    }
    Ok(canonical)
}

/// Refuses absolute paths: a project names files relative to itself.
pub fn check_relative(rel: &str) -> Result<(), String> {
    if Path::new(rel).is_absolute() || rel.starts_with('~') {
        return Err(format!("{rel} is an absolute path; paths are relative to the project"));
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
pub fn glob_inside(root: &Path, dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, String> {
    check_relative(pattern)?;
    let full = normalize(&dir.join(pattern));
    if !full.starts_with(root) {
        return Err(format!("{pattern} is outside the project root; paths stay inside the project"));
    }
    let full = full.to_str().ok_or_else(|| format!("{pattern}: path is not UTF-8"))?;
    let paths = glob::glob(full).map_err(|e| format!("invalid glob `{pattern}`: {}", e.msg))?;
    let mut out = Vec::new();
    for p in paths {
        let p = p.map_err(|e| format!("cannot read {}: {}", e.path().display(), io_reason(e.error())))?;
        if p.is_dir() {
            continue;
        }
        let canonical = p.canonicalize().map_err(|e| format!("cannot open {}: {}", p.display(), io_reason(&e)))?;
        if !canonical.starts_with(root) {
            return Err(format!("{} is outside the project root (a symbolic link?)", p.display()));
        }
        out.push(canonical);
    }
    out.sort();
    Ok(out)
}

/// Reads a text file of at most `limit` bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    let meta = fs::metadata(path).map_err(|e| io_reason(&e))?;
    if meta.len() > limit {
        return Err(format!("file is too large ({} bytes; the limit is {} MiB)", meta.len(), limit >> 20));
    }
    let bytes = fs::read(path).map_err(|e| io_reason(&e))?;
    if let Some(i) = bytes.iter().position(|&b| b == 0) {
        return Err(format!("binary file (a NUL byte at offset {i}), not text"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = at - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        format!("not UTF-8 text (invalid byte at line {line}, column {col}); save the file as UTF-8")
    })
}

/// `file("path")`: a text file relative to `dir`, inside `root`.
pub fn read_text_inside(root: &Path, dir: &Path, rel: &str) -> Result<String, String> {
    let path = resolve_inside(root, dir, rel)?;
    read_text(&path, crate::expr::MAX_FILE_BYTES)
}

/// A path as users see it: relative to the project root when inside it.
pub fn display(root: &Path, path: &Path) -> String {
    path.strip_prefix(root).unwrap_or(path).display().to_string()
}

pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
