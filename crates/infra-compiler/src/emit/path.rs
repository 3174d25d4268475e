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

/// Why a path is not a [`RelPath`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathError {
    Empty,
    TooLong(usize),
    Absolute(String),
    /// A name of the path is not allowed: the path, and why.
    Name(String, NameError),
}

/// Why one name of a path is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NameError {
    Empty,
    /// `.` or `..`.
    Dots(String),
    TooLong(usize),
    Backslash,
    Control,
}

impl std::fmt::Display for PathError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PathError::Empty => f.write_str("an empty path"),
            PathError::TooLong(n) => write!(f, "a path of {n} bytes (the limit is {MAX_RELATIVE_BYTES})"),
            PathError::Absolute(path) => write!(f, "{path:?} is absolute"),
            PathError::Name(path, e) => write!(f, "{path:?}: {e}"),
        }
    }
}

impl std::fmt::Display for NameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NameError::Empty => f.write_str("an empty name (`//` or a trailing `/`)"),
            NameError::Dots(part) => write!(f, "`{part}` is not allowed"),
            NameError::TooLong(n) => write!(f, "a name of {n} bytes (the limit is {MAX_COMPONENT_BYTES})"),
            NameError::Backslash => f.write_str("`\\` is not allowed"),
            NameError::Control => f.write_str("control characters are not allowed"),
        }
    }
}

impl RelPath {
    pub fn new(path: impl Into<String>) -> Result<RelPath, PathError> {
        let path = path.into();
        if path.is_empty() {
            return Err(PathError::Empty);
        }
        if path.len() > MAX_RELATIVE_BYTES {
            return Err(PathError::TooLong(path.len()));
        }
        if path.starts_with('/') {
            return Err(PathError::Absolute(path));
        }
        if let Some(e) = path.split('/').find_map(|part| check_component(part).err()) {
            return Err(PathError::Name(path, e));
        }
        Ok(RelPath(path))
    }

    /// A path of checked components.
    pub fn join(&self, name: &str) -> Result<RelPath, PathError> {
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
pub fn check_component(part: &str) -> Result<(), NameError> {
    match part {
        "" => Err(NameError::Empty),
        "." | ".." => Err(NameError::Dots(part.to_string())),
        _ if part.len() > MAX_COMPONENT_BYTES => Err(NameError::TooLong(part.len())),
        _ if part.contains('\\') => Err(NameError::Backslash),
        _ if part.chars().any(char::is_control) => Err(NameError::Control),
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
