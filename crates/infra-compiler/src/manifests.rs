//! Reading sets of plain manifests for `plan` and `diff`: a file, a
//! directory (every `.yaml`/`.yml` below it), standard input, or a compiled
//! directory at a git revision. `kind: List` documents are flattened.

use crate::paths::{self, MAX_SOURCE_BYTES};
use infra_syntax::{Diagnostic, Diagnostics, Sources, Value, yaml};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

/// The objects of every document in `text`.
pub fn parse(sources: &mut Sources, name: &str, text: String, diags: &mut Diagnostics) -> Vec<Value> {
    let file = sources.add(Path::new(name), name.to_string(), Arc::from(text));
    match yaml::load(file, &sources.get(file).text) {
        Ok(docs) => {
            let mut out = Vec::new();
            for doc in docs {
                flatten(doc.to_value(), &mut out);
            }
            out
        }
        Err(d) => {
            diags.push(d);
            Vec::new()
        }
    }
}

fn flatten(v: Value, out: &mut Vec<Value>) {
    match v.str_at(&["kind"]) {
        Some(kind) if kind == "List" || (kind.ends_with("List") && v.get("items").is_some()) => {
            if let Some(Value::Seq(items)) = v.get("items") {
                for item in items.clone() {
                    flatten(item, out);
                }
            }
        }
        Some(_) => out.push(v),
        None => {} // empty documents, comments-only documents
    }
}

/// Reads a file, a directory or `-` (standard input).
pub fn read(path: &str, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Value> {
    if path == "-" {
        let mut text = String::new();
        if let Err(e) = std::io::stdin().take(MAX_SOURCE_BYTES * 8).read_to_string(&mut text) {
            diags.push(Diagnostic::error("L010", format!("cannot read standard input: {e}")));
            return Vec::new();
        }
        return parse(sources, "<stdin>", text, diags);
    }
    let p = Path::new(path);
    if p.is_dir() {
        let mut files = Vec::new();
        collect_yaml(p, &mut files);
        files.sort();
        let mut out = Vec::new();
        for f in files {
            out.extend(read_file(&f, sources, diags));
        }
        out
    } else {
        read_file(p, sources, diags)
    }
}

fn read_file(path: &Path, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Value> {
    match paths::read_text(path, MAX_SOURCE_BYTES) {
        Ok(text) => parse(sources, &path.display().to_string(), text, diags),
        Err(e) => {
            diags.push(Diagnostic::error("L010", format!("cannot read {}: {e}", path.display())));
            Vec::new()
        }
    }
}

fn collect_yaml(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_yaml(&path, out);
        } else if name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(path);
        }
    }
}

/// The manifests under `subdir` of `dir` at git revision `rev`.
pub fn read_git(dir: &Path, rev: &str, subdir: &str, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Value> {
    let git = |args: &[&str]| -> Result<Vec<u8>, String> {
        let out =
            Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
        if !out.status.success() {
            return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
        }
        Ok(out.stdout)
    };
    let listing = match git(&["ls-tree", "-r", "--name-only", rev, "--", subdir]) {
        Ok(l) => String::from_utf8_lossy(&l).into_owned(),
        Err(e) => {
            diags.push(Diagnostic::error("L013", format!("cannot read {subdir} at git revision {rev}: {e}")));
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for name in listing.lines().filter(|n| n.ends_with(".yaml") || n.ends_with(".yml")) {
        match git(&["show", &format!("{rev}:./{name}")]) {
            Ok(bytes) => match String::from_utf8(bytes) {
                Ok(text) => out.extend(parse(sources, &format!("{rev}:{name}"), text, diags)),
                Err(_) => diags.push(Diagnostic::error("L010", format!("{rev}:{name} is not UTF-8 text"))),
            },
            Err(e) => diags.push(Diagnostic::error("L013", format!("cannot read {name} at {rev}: {e}"))),
        }
    }
    if listing.trim().is_empty() {
        diags.push(Diagnostic::warning("L013", format!("{subdir} does not exist at {rev}: every object is new")));
    }
    out
}
