//! The cache of work that depends only on its inputs' digests: chart
//! renders and chart metadata. Keys are sha256 digests of everything the
//! work depends on, so an entry is either right or absent; output bytes
//! never depend on it. `INFRA_CACHE_DIR`, else `$XDG_CACHE_HOME/infra` or
//! `~/.cache/infra`. Failing to read or write it is never an error.

use std::path::{Path, PathBuf};

/// The cache folder, created if needed; `None` when there is no place.
pub fn dir() -> Option<PathBuf> {
    let base = match std::env::var_os("INFRA_CACHE_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?
            .join("infra"),
    };
    let dir = base.join("helm");
    std::fs::create_dir_all(&dir).ok()?;
    Some(dir)
}

/// An entry's text, if it is there and at most `limit` bytes.
pub fn read(dir: Option<&Path>, name: &str, limit: u64) -> Option<String> {
    infra_syntax::source::read_text(&dir?.join(name), limit).ok()
}

/// Stores an entry, written beside its place and renamed: a reader sees
/// the whole entry or none.
pub fn write(dir: Option<&Path>, name: &str, bytes: &[u8]) {
    let Some(dir) = dir else { return };
    let path = dir.join(name);
    let temp = dir.join(format!("{name}.tmp-{}", std::process::id()));
    if std::fs::write(&temp, bytes).is_ok() && std::fs::rename(&temp, &path).is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}
