//! File access for projects: every path a project names (resources,
//! modules, environments, `file()`) stays inside the project root, and every
//! file read is bounded and must be UTF-8 text. Paths the tool writes are
//! [`RelPath`]s: checked relative paths that cannot leave their root.

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

/// The longest file or folder name infra writes: below the 255 bytes of
/// every common Linux file system, with room for the names of staging
/// folders.
pub const MAX_COMPONENT_BYTES: usize = 200;
/// The longest relative path infra writes below an output folder.
const MAX_RELATIVE_BYTES: usize = 1024;

/// A relative path that stays inside whatever folder it is joined to: one
/// or more `/`-separated names, none empty, `.` or `..`, none holding `\`,
/// NUL or another control character, each at most [`MAX_COMPONENT_BYTES`].
/// Every path infra writes or deletes below an output folder is one of
/// these, so names, lock entries and uids can never point elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RelPath(String);

impl RelPath {
    pub fn new(path: impl Into<String>) -> Result<RelPath, String> {
        let path = path.into();
        if path.is_empty() {
            return Err("an empty path".into());
        }
        if path.len() > MAX_RELATIVE_BYTES {
            return Err(format!("a path of {} bytes (the limit is {MAX_RELATIVE_BYTES})", path.len()));
        }
        if path.starts_with('/') {
            return Err(format!("{path:?} is absolute"));
        }
        for part in path.split('/') {
            check_component(part).map_err(|e| format!("{path:?}: {e}"))?;
        }
        Ok(RelPath(path))
    }

    /// A path of checked components.
    pub fn join(&self, name: &str) -> Result<RelPath, String> {
        RelPath::new(format!("{}/{name}", self.0))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The folders that hold this path, outermost first (`a/b/c` → `a`, `a/b`).
    pub fn ancestors(&self) -> impl Iterator<Item = &str> {
        self.0.match_indices('/').map(|(i, _)| &self.0[..i])
    }

    /// This path below `dir`.
    pub fn under(&self, dir: &Path) -> PathBuf {
        dir.join(&self.0)
    }
}

impl std::fmt::Display for RelPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One name of a [`RelPath`].
pub fn check_component(part: &str) -> Result<(), String> {
    match part {
        "" => Err("an empty name (`//` or a trailing `/`)".into()),
        "." | ".." => Err(format!("`{part}` is not allowed")),
        _ if part.len() > MAX_COMPONENT_BYTES => {
            Err(format!("a name of {} bytes (the limit is {MAX_COMPONENT_BYTES})", part.len()))
        }
        _ if part.contains('\\') => Err("`\\` is not allowed".into()),
        _ if part.chars().any(char::is_control) => Err("control characters are not allowed".into()),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_paths_stay_inside() {
        for ok in ["a", "a/b.yaml", "_cluster/configmap-x.yaml", "ns/role-system:x.yaml", "ü/ß"] {
            assert_eq!(RelPath::new(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "/etc/passwd", "..", "../x", "a/../../x", "a/./b", "a//b", "a/", "a\\..\\b", "a\0b", "a\nb"] {
            assert!(RelPath::new(bad).is_err(), "{bad:?}");
        }
        assert!(RelPath::new("x".repeat(MAX_COMPONENT_BYTES + 1)).is_err());
        assert!(RelPath::new("x".repeat(MAX_COMPONENT_BYTES)).is_ok());
        let p = RelPath::new("a/b/c").unwrap();
        assert_eq!(p.ancestors().collect::<Vec<_>>(), ["a", "a/b"]);
        assert!(p.join("..").is_err());
    }
}
