//! `infra init`: writes a starter project, the same as
//! `examples/quickstart` (a test keeps the two equal), under a new name.

use infra_compiler::emit::dir::write_inside;
use infra_compiler::emit::path::RelPath;
use infra_syntax::{Code, Diagnostic};
use std::fs;
use std::path::{Path, PathBuf};

/// The editor schemas come along, so that the modelines of `infra.yaml`
/// and the environment file work offline (`tests/schema.rs` keeps the
/// copies fresh).
const FILES: &[(&str, &str)] = &[
    (".infra/infra.schema.json", include_str!("../examples/quickstart/.infra/infra.schema.json")),
    (".infra/environment.schema.json", include_str!("../examples/quickstart/.infra/environment.schema.json")),
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
/// Nothing is created before the name and the folder are known to be
/// fine; files are written inside `dir` only, never through a link.
pub fn init(dir: &Path, name: &str) -> Result<Vec<PathBuf>, Diagnostic> {
    if !infra_compiler::load::valid_name(name) {
        return Err(Diagnostic::error(Code::InvalidName, format!("`{name}` is not a valid project name"))
            .help("use lowercase letters, digits and `-` (--name)"));
    }
    if fs::symlink_metadata(dir.join("infra.yaml")).is_ok() {
        return Err(Diagnostic::error(
            Code::Usage,
            format!("{} already holds a project (infra.yaml exists)", dir.display()),
        )
        .help("run `infra init` in a new or empty folder"));
    }
    let files = starter_files(name);
    for (rel, _) in &files {
        let path = dir.join(rel);
        if fs::symlink_metadata(&path).is_ok() {
            return Err(Diagnostic::error(
                Code::Usage,
                format!("{} exists; `init` does not overwrite it", path.display()),
            )
            .help("run `infra init` in a new or empty folder"));
        }
    }
    let mut written = Vec::new();
    for (rel, text) in files {
        let rel = RelPath::new(rel).map_err(|e| Diagnostic::error(Code::CannotWrite, e.to_string()))?;
        write_inside(dir, &rel, text.as_bytes())?;
        written.push(rel.under(dir));
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
