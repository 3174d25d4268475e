//! The emit stage: a [`ResourceGraph`] becomes an [`Output`] — one YAML file
//! per object plus `infra.lock`, or one stream in apply order. [`dir`]
//! writes outputs into folders whole or not at all, never outside them.

pub mod dir;
pub mod lock;
pub mod names;
pub mod path;
pub mod read;

use crate::link::{Resource, ResourceGraph};
use dir::{EntryKind, NewFile, OutDir};
use infra_syntax::yaml;
use lock::{LOCK_FILE, LockEntry};
use path::RelPath;
use std::collections::HashSet;
use std::path::Path;

/// The files of one environment's build, in apply order, and its lock.
pub struct Output {
    pub env: String,
    /// (path relative to the output folder, YAML text)
    pub files: Vec<(RelPath, String)>,
    pub lock: String,
}

impl Output {
    /// All objects as one multi-document stream, in apply order.
    pub fn stream(&self) -> String {
        let mut s = String::with_capacity(self.files.iter().map(|(_, t)| t.len() + 4).sum());
        for (_, text) in &self.files {
            s.push_str("---\n");
            s.push_str(text);
        }
        s
    }

    /// Every file of the folder, the lock last.
    pub fn new_files(&self) -> Vec<NewFile<'_>> {
        static LOCK: std::sync::LazyLock<RelPath> =
            std::sync::LazyLock::new(|| RelPath::new(LOCK_FILE).expect("a plain file name"));
        let objects = self.files.iter().map(|(p, t)| NewFile { path: p, bytes: t.as_bytes() });
        objects.chain(std::iter::once(NewFile { path: &LOCK, bytes: self.lock.as_bytes() })).collect()
    }
}

pub fn emit(graph: &ResourceGraph) -> Output {
    let emitted: Vec<&Resource> = graph.ordered().filter(|r| !r.external).collect();
    let ids: Vec<_> = emitted.iter().map(|r| &r.id).collect();
    let paths = names::object_files(&ids);
    let texts = crate::parallel::map(&emitted, |r| yaml::emit(&r.value));
    let entries: Vec<LockEntry> = emitted
        .iter()
        .zip(&paths)
        .map(|(r, file)| LockEntry { id: r.id.to_string(), file: file.clone(), hash: r.hash.clone() })
        .collect();
    let lock = lock::render(&graph.env, graph.helm.as_deref(), &entries);
    Output { env: graph.env.clone(), files: paths.into_iter().zip(texts).collect(), lock }
}

/// Differences between the folder `out` and a fresh build, for `--check`:
/// changed, missing and stale files, and YAML files the lock does not list.
pub fn check(out: &OutDir, output: &Output) -> Result<Vec<String>, infra_syntax::Diagnostic> {
    let path = out.path();
    let Some(inventory) = dir::inventory(&path)? else {
        return Ok(vec![format!("missing: {} (never built)", path.display())]);
    };
    let mut diffs = Vec::new();
    let current: HashSet<&str> = output.files.iter().map(|(n, _)| n.as_str()).collect();
    for file in output.new_files() {
        let rel = Path::new(file.path.as_str());
        match inventory.kind(rel) {
            Some(EntryKind::File) => match std::fs::read(file.path.under(&path)) {
                Ok(old) if old == file.bytes => {}
                _ => diffs.push(format!("changed: {}", file.path)),
            },
            Some(_) => diffs.push(format!("changed: {} (not a regular file)", file.path)),
            None => diffs.push(format!("missing: {}", file.path)),
        }
    }
    let lock = inventory.read_lock(&path);
    diffs.extend(lock.ignored.iter().map(|w| format!("invalid: {w}")));
    for entry in &lock.entries {
        if !current.contains(entry.file.as_str()) && inventory.kind(Path::new(entry.file.as_str())).is_some() {
            diffs.push(format!("stale: {} (no longer built)", entry.file));
        }
    }
    for file in inventory.unlisted_yaml(&lock) {
        diffs.push(format!("unlisted: {file} (not written by infra; `kubectl apply -R` would apply it)"));
    }
    Ok(diffs)
}
