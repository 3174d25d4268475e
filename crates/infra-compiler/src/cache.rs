//! The cache of work that depends only on its inputs' digests: chart
//! renders and chart metadata. Keys are sha256 digests of everything the
//! work depends on, so an entry is either right or absent; output bytes
//! never depend on it. `INFRA_CACHE_DIR`, else `$XDG_CACHE_HOME/infra` or
//! `~/.cache/infra`. Failing to read or write it is never an error.
//!
//! Entries hold rendered Secrets: the folder is private (0700) and each
//! entry is written 0600, through a new temporary file that no link can
//! redirect. Each entry starts with the digest of its content, checked on
//! every read: a corrupt or edited entry is a miss, and is removed. (Who
//! can write the cache can also write a matching digest; a cache shared
//! with untrusted jobs is not a cache to use — see docs/threat-model.md.)

use infra_syntax::canonical::sha256_hex;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The first line of every entry: this, then the sha256 of the rest.
const HEADER: &str = "infra-cache sha256:";

/// The cache folder, created if needed; `None` when there is no place.
pub fn dir() -> Option<PathBuf> {
    use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
    let base = match std::env::var_os("INFRA_CACHE_DIR") {
        Some(d) => PathBuf::from(d),
        None => std::env::var_os("XDG_CACHE_HOME")
            .map(PathBuf::from)
            .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))?
            .join("infra"),
    };
    let dir = base.join("helm");
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(&dir).ok()?;
    // A folder made by an earlier version may be readable by others.
    let meta = std::fs::metadata(&dir).ok()?;
    if meta.permissions().mode() & 0o077 != 0 {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).ok()?;
    }
    Some(dir)
}

/// An entry's text, if it is there, at most `limit` bytes, and whole: its
/// content matches the digest it was written with.
pub fn read(dir: Option<&Path>, name: &str, limit: u64) -> Option<String> {
    let path = dir?.join(name);
    let text = infra_syntax::source::read_text(&path, limit + HEADER.len() as u64 + 65).ok()?;
    match verified(&text) {
        Some(content) => Some(content.to_string()),
        None => {
            let _ = std::fs::remove_file(&path);
            None
        }
    }
}

/// The content of an entry's text, when its header's digest matches it.
fn verified(text: &str) -> Option<&str> {
    let (first, content) = text.split_once('\n')?;
    (first.strip_prefix(HEADER)? == sha256_hex(content.as_bytes())).then_some(content)
}

/// Stores an entry: written whole into a new temporary file beside its
/// place and renamed, so a reader sees the whole entry or none.
pub fn write(dir: Option<&Path>, name: &str, bytes: &[u8]) {
    let Some(dir) = dir else { return };
    let Ok((temp, mut file)) = infra_syntax::source::create_temp_file(dir, &format!(".{name}"), 0o600) else {
        return;
    };
    let header = format!("{HEADER}{}\n", sha256_hex(bytes));
    let written = file.write_all(header.as_bytes()).and_then(|()| file.write_all(bytes));
    drop(file);
    if written.is_err() || std::fs::rename(&temp, dir.join(name)).is_err() {
        let _ = std::fs::remove_file(&temp);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_checked_against_their_digest() {
        let dir = std::env::temp_dir().join(format!("infra-cache-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        write(Some(&dir), "a.yaml", b"kind: ConfigMap\n");
        assert_eq!(read(Some(&dir), "a.yaml", 1 << 20).as_deref(), Some("kind: ConfigMap\n"));
        // An edited entry is a miss, and is gone.
        let path = dir.join("a.yaml");
        let text = std::fs::read_to_string(&path).unwrap().replace("ConfigMap", "ClusterRoleBinding");
        std::fs::write(&path, text).unwrap();
        assert_eq!(read(Some(&dir), "a.yaml", 1 << 20), None);
        assert!(!path.exists());
        // An entry without a header (an older version's) is a miss.
        std::fs::write(&path, "kind: ConfigMap\n").unwrap();
        assert_eq!(read(Some(&dir), "a.yaml", 1 << 20), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn entries_are_private_and_never_written_through_links() {
        use std::os::unix::fs::PermissionsExt;
        let dir = std::env::temp_dir().join(format!("infra-cache-perm-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, "mine").unwrap();
        // A link planted at the entry's name is replaced, not written through.
        std::os::unix::fs::symlink(&victim, dir.join("b.yaml")).unwrap();
        write(Some(&dir), "b.yaml", b"x");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert!(std::fs::symlink_metadata(dir.join("b.yaml")).unwrap().is_file());
        let mode = std::fs::metadata(dir.join("b.yaml")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
