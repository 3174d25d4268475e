//! `infra init`: writes a starter project, the same as
//! `examples/quickstart` (a test keeps the two equal), under a new name.

use std::fs;
use std::path::{Path, PathBuf};

const FILES: &[(&str, &str)] = &[
    ("infra.yaml", include_str!("../examples/quickstart/infra.yaml")),
    ("envs/prod.yaml", include_str!("../examples/quickstart/envs/prod.yaml")),
    ("manifests/app.yaml", include_str!("../examples/quickstart/manifests/app.yaml")),
];

/// The starter project's files, named `name`.
pub fn starter_files(name: &str) -> Vec<(&'static str, String)> {
    FILES
        .iter()
        .map(|(path, text)| {
            let text = text
                .replace("name: quickstart", &format!("name: {name}"))
                .replace("part-of: quickstart", &format!("part-of: {name}"))
                .replace("infra build examples/quickstart", "infra build");
            (*path, text)
        })
        .collect()
}

/// Writes the starter project into `dir`, which must not hold a project.
pub fn init(dir: &Path, name: &str) -> Result<Vec<PathBuf>, String> {
    if !infra_compiler::load::valid_name(name) {
        return Err(format!("`{name}` is not a valid project name: use lowercase letters, digits and `-` (--name)"));
    }
    if dir.join("infra.yaml").exists() {
        return Err(format!("{} already holds a project (infra.yaml exists)", dir.display()));
    }
    let mut written = Vec::new();
    for (rel, text) in starter_files(name) {
        let path = dir.join(rel);
        if path.exists() {
            return Err(format!("{} exists; not overwriting it", path.display()));
        }
        if let Some(p) = path.parent() {
            fs::create_dir_all(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?;
        }
        fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// A project name from a directory name: lowercase, `[a-z0-9-]`.
pub fn name_from_dir(dir: &Path) -> String {
    // A directory that does not exist yet is named by its last component.
    let base = dir
        .canonicalize()
        .unwrap_or_else(|_| dir.to_path_buf())
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name: String = base
        .to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() { c } else { '-' })
        .collect();
    let name = name.trim_matches('-').to_string();
    if name.is_empty() { "app".into() } else { name }
}
