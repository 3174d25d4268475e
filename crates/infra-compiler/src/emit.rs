//! The emit stage: a [`ResourceGraph`] becomes an [`Output`] — one YAML file
//! per object plus `infra.lock`, or one stream in apply order — and is
//! written so that a failed build changes nothing and files the build did
//! not write are never touched.

use crate::graph::{Resource, ResourceGraph};
use infra_syntax::{Map, Value, yaml};
use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};

pub const LOCK_FILE: &str = "infra.lock";
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The files of one environment's build, in apply order, and its lock.
pub struct Output {
    pub env: String,
    /// (path relative to the output directory, YAML text)
    pub files: Vec<(String, String)>,
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
}

/// The path of an object's file: `<namespace or _cluster>/<kind>-<name>.yaml`.
pub fn file_name(r: &Resource) -> String {
    let dir = if r.id.namespace.is_empty() { "_cluster" } else { &r.id.namespace };
    format!("{dir}/{}-{}.yaml", r.id.kind.to_lowercase(), r.id.name)
}

pub fn emit(graph: &ResourceGraph) -> Result<Output, String> {
    let mut files = Vec::new();
    let mut seen = BTreeSet::new();
    let mut lock_objects = Vec::new();
    let emitted: Vec<&Resource> = graph.ordered().filter(|r| !r.external).collect();
    let texts = crate::parallel::map(&emitted, |r| yaml::emit(&r.value));
    for (r, text) in emitted.into_iter().zip(texts) {
        let name = file_name(r);
        if !seen.insert(name.clone()) {
            return Err(format!("two objects would be written to {name} ({}); rename one", r.id));
        }
        files.push((name.clone(), text));
        let mut entry = Map::new();
        entry.insert("id".into(), Value::String(r.id.to_string()));
        entry.insert("file".into(), Value::String(name));
        entry.insert("hash".into(), Value::String(r.hash.clone()));
        lock_objects.push(Value::Map(entry));
    }
    let mut lock = Map::new();
    lock.insert("tool".into(), Value::String(format!("infra {VERSION}")));
    lock.insert("env".into(), Value::String(graph.env.clone()));
    lock.insert("objects".into(), Value::Seq(lock_objects));
    let lock = format!("# Written by `infra build`; do not edit.\n{}", yaml::emit(&Value::Map(lock)));
    Ok(Output { env: graph.env.clone(), files, lock })
}

/// The files a previous build wrote, from its lock.
fn previous_files(dir: &Path) -> Vec<String> {
    let Ok(text) = fs::read_to_string(dir.join(LOCK_FILE)) else {
        return Vec::new();
    };
    let Ok(docs) = yaml::load(infra_syntax::FileId(0), &text) else {
        return Vec::new();
    };
    let Some(doc) = docs.first() else {
        return Vec::new();
    };
    doc.to_value()
        .get("objects")
        .and_then(Value::as_seq)
        .map(|objs| objs.iter().filter_map(|o| o.str_at(&["file"]).map(String::from)).collect())
        .unwrap_or_default()
}

/// Differences between `dir` and a fresh build, for `--check`.
pub fn check(dir: &Path, out: &Output) -> Vec<String> {
    let mut diffs = Vec::new();
    let current: BTreeSet<&str> = out.files.iter().map(|(n, _)| n.as_str()).collect();
    for (name, text) in out.files.iter().chain(std::iter::once(&(LOCK_FILE.to_string(), out.lock.clone()))) {
        match fs::read_to_string(dir.join(name)) {
            Ok(old) if old == *text => {}
            Ok(_) => diffs.push(format!("changed: {name}")),
            Err(_) => diffs.push(format!("missing: {name}")),
        }
    }
    for old in previous_files(dir) {
        if !current.contains(old.as_str()) && dir.join(&old).exists() {
            diffs.push(format!("stale: {old} (no longer built)"));
        }
    }
    diffs
}

/// Writes an output into `dir`. Everything is rendered before this is
/// called; files go to a staging directory first and are then moved in, so
/// an interrupted write leaves whole files. Files of an earlier build that
/// are no longer produced are removed; files infra never wrote are kept.
pub fn write(dir: &Path, out: &Output) -> Result<(), String> {
    let io = |what: &str, p: &Path, e: std::io::Error| format!("cannot {what} {}: {e}", p.display());
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| io("create", parent, e))?;
    let staging = parent.join(format!(
        ".{}.infra-staging-{}",
        dir.file_name().and_then(|n| n.to_str()).unwrap_or("out"),
        std::process::id()
    ));
    let _ = fs::remove_dir_all(&staging);
    let result = (|| {
        for (name, text) in out.files.iter().chain(std::iter::once(&(LOCK_FILE.to_string(), out.lock.clone()))) {
            let path = staging.join(name);
            if let Some(p) = path.parent() {
                fs::create_dir_all(p).map_err(|e| io("create", p, e))?;
            }
            fs::write(&path, text).map_err(|e| io("write", &path, e))?;
        }
        if !dir.exists() {
            return fs::rename(&staging, dir).map_err(|e| io("create", dir, e));
        }
        let stale = previous_files(dir);
        let mut moved: Vec<PathBuf> = Vec::new();
        for (name, _) in &out.files {
            let to = dir.join(name);
            if let Some(p) = to.parent() {
                fs::create_dir_all(p).map_err(|e| io("create", p, e))?;
            }
            fs::rename(staging.join(name), &to).map_err(|e| io("write", &to, e))?;
            moved.push(to);
        }
        let current: BTreeSet<&str> = out.files.iter().map(|(n, _)| n.as_str()).collect();
        for old in stale.iter().filter(|o| !current.contains(o.as_str())) {
            crate::paths::check_relative(old).map_err(|e| format!("{LOCK_FILE} names {old}: {e}"))?;
            let path = dir.join(old);
            if path.is_file() {
                fs::remove_file(&path).map_err(|e| io("remove", &path, e))?;
                if let Some(p) = path.parent() {
                    let _ = fs::remove_dir(p); // only if now empty
                }
            }
        }
        // The lock goes last: it says what the directory holds.
        fs::rename(staging.join(LOCK_FILE), dir.join(LOCK_FILE)).map_err(|e| io("write", &dir.join(LOCK_FILE), e))
    })();
    let _ = fs::remove_dir_all(&staging);
    result
}
