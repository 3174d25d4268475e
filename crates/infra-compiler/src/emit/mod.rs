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
use infra_syntax::{Map, Value};
use lock::{KUSTOMIZATION_FILE, LOCK_FILE, LockEntry};
use path::RelPath;
use std::collections::HashSet;
use std::path::Path;

/// The files of one environment's build, in apply order, and its lock.
pub struct Output {
    pub env: String,
    /// Each object's file, and where its YAML is in `texts`.
    files: Vec<(RelPath, Text)>,
    /// The YAML of every object, one after another, in the chunks that
    /// were emitted in parallel: no string per object.
    texts: Vec<String>,
    /// `kustomization.yaml`, when asked for.
    kustomization: Option<String>,
    pub lock: String,
}

/// Where one object's YAML is: a chunk of [`Output::texts`] and a range in it.
struct Text {
    chunk: usize,
    range: std::ops::Range<usize>,
}

impl Output {
    /// How many objects it holds.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Each object's file and YAML, in apply order.
    pub fn files(&self) -> impl Iterator<Item = (&RelPath, &str)> {
        self.files.iter().map(|(path, t)| (path, &self.texts[t.chunk][t.range.clone()]))
    }

    /// Every file of the folder, the lock last.
    pub fn new_files(&self) -> Vec<NewFile<'_>> {
        static LOCK: std::sync::LazyLock<RelPath> =
            std::sync::LazyLock::new(|| RelPath::new(LOCK_FILE).expect("a plain file name"));
        static KUSTOMIZATION: std::sync::LazyLock<RelPath> =
            std::sync::LazyLock::new(|| RelPath::new(KUSTOMIZATION_FILE).expect("a plain file name"));
        let objects = self.files().map(|(path, text)| NewFile { path, bytes: text.as_bytes() });
        let kustomization = self.kustomization.iter().map(|k| NewFile { path: &KUSTOMIZATION, bytes: k.as_bytes() });
        objects
            .chain(kustomization)
            .chain(std::iter::once(NewFile { path: &LOCK, bytes: self.lock.as_bytes() }))
            .collect()
    }
}

/// Objects emitted per round of [`write_stream`]: enough to keep every
/// thread busy, few enough that the text in memory stays small.
const STREAM_BATCH: usize = 8192;

/// The objects infra writes, in apply order: external ones are only referred to.
fn emitted(graph: &ResourceGraph) -> Vec<&Resource> {
    graph.ordered().filter(|r| !r.external).collect()
}

/// The YAML of consecutive objects in one string, each after `separator`,
/// and where each object's text is.
fn emit_chunk(chunk: &[&Resource], separator: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let mut text = String::with_capacity(chunk.len() * 1024);
    let ranges = chunk
        .iter()
        .map(|r| {
            text.push_str(separator);
            let start = text.len();
            match &r.verbatim {
                Some(written) => text.push_str(written),
                None => yaml::emit_into(&mut text, &r.value),
            }
            start..text.len()
        })
        .collect();
    (text, ranges)
}

/// All objects as one multi-document stream, in apply order (`-o -`).
/// Emitted in parallel a batch at a time and written as each batch is
/// done, so the text held in memory does not grow with the project.
pub fn write_stream(graph: &ResourceGraph, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    for batch in emitted(graph).chunks(STREAM_BATCH) {
        for (text, _) in crate::parallel::map_chunks(batch, |chunk| emit_chunk(chunk, "---\n")) {
            out.write_all(text.as_bytes())?;
        }
    }
    Ok(())
}

/// The files of a build, for an output folder; with `kustomization`, also
/// a `kustomization.yaml` that lists them in apply order, so that Flux and
/// `kubectl apply -k` apply the folder as infra orders it.
pub fn emit(graph: &ResourceGraph, kustomization: bool) -> Output {
    let emitted = emitted(graph);
    let ids: Vec<_> = emitted.iter().map(|r| &r.id).collect();
    let paths = names::object_files(&ids);
    let chunks = crate::parallel::map_chunks(&emitted, |chunk| emit_chunk(chunk, ""));
    let mut texts = Vec::with_capacity(chunks.len());
    let mut files = Vec::with_capacity(emitted.len());
    let mut paths = paths.into_iter();
    for (chunk, (text, ranges)) in chunks.into_iter().enumerate() {
        texts.push(text);
        files.extend(ranges.into_iter().map(|range| (paths.next().expect("a path per object"), Text { chunk, range })));
    }
    let entries: Vec<LockEntry> = emitted
        .iter()
        .zip(&files)
        .map(|(r, (file, _))| LockEntry { id: r.id.to_string(), file: file.clone(), hash: r.hash.to_string() })
        .collect();
    let kustomization = kustomization.then(|| kustomization_file(files.iter().map(|(path, _)| path)));
    let kustomization_hash = kustomization.as_ref().map(|(_, hash)| hash.as_str());
    let lock = lock::render(&graph.env, graph.helm.as_deref(), kustomization_hash, &entries);
    Output { env: graph.env.clone(), files, texts, kustomization: kustomization.map(|(text, _)| text), lock }
}

/// A kustomization of `files`, kept in their order (`sortOptions: fifo`,
/// Kustomize 5), and the hash of its content, which the lock records.
fn kustomization_file<'a>(files: impl Iterator<Item = &'a RelPath>) -> (String, String) {
    let resources = files.map(|f| Value::from(f.as_str())).collect();
    let mut k = Map::with_capacity(4);
    k.insert("apiVersion", Value::from("kustomize.config.k8s.io/v1beta1"));
    k.insert("kind", Value::from("Kustomization"));
    k.insert("sortOptions", Value::Map(Map::from_iter([("order", Value::from("fifo"))])));
    k.insert("resources", Value::Seq(resources));
    let k = Value::Map(k);
    let text = format!("# Written by `infra build --kustomization`; do not edit.\n{}", yaml::emit(&k));
    (text, crate::link::hash::content_hash(&k))
}

/// Differences between the folder `out` and a fresh build, for `--check`:
/// changed, missing and stale files, and YAML files the lock does not list.
pub fn check(out: &OutDir, output: &Output) -> Result<Vec<String>, infra_syntax::Diagnostic> {
    let path = out.path();
    let Some(inventory) = dir::inventory(&path)? else {
        return Ok(vec![format!("missing: {} (never built)", path.display())]);
    };
    let mut diffs = Vec::new();
    let current: HashSet<&str> = output.files().map(|(n, _)| n.as_str()).collect();
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
    let current: HashSet<&str> =
        current.into_iter().chain(output.kustomization.as_ref().map(|_| KUSTOMIZATION_FILE)).collect();
    for entry in lock.owned() {
        if !current.contains(entry.file.as_str()) && inventory.kind(Path::new(entry.file.as_str())).is_some() {
            diffs.push(format!("stale: {} (no longer built)", entry.file));
        }
    }
    for file in inventory.unlisted_yaml(&lock) {
        diffs.push(format!("unlisted: {file} (not written by infra; `kubectl apply -R` would apply it)"));
    }
    let running = format!("infra {}", lock::VERSION);
    if let Some(tool) = lock.tool.as_deref().filter(|t| !diffs.is_empty() && *t != running) {
        diffs.push(format!(
            "note: {tool} wrote this folder and this is {running}: output can differ between versions; pin one with `required_version` in infra.yaml"
        ));
    }
    Ok(diffs)
}
