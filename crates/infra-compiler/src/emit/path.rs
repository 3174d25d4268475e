//! Paths below an output folder: [`RelPath`], a checked relative path that
//! cannot leave whatever folder it is joined to.

use std::path::{Path, PathBuf};

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
