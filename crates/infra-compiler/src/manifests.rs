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

/// Where a compiled output is: a directory, or a directory of a git
/// revision.
pub enum Compiled<'a> {
    Dir(&'a Path),
    Git { dir: &'a Path, rev: &'a str, subdir: &'a str },
}

/// A compiled output, read: the objects parsed from files, and the objects
/// that were not read because `infra.lock` gives them the same hash as an
/// object of the new build (indices into that build's list).
#[derive(Default)]
pub struct CompiledObjects {
    pub parsed: Vec<Value>,
    pub reused: Vec<usize>,
}

/// `(id, file, hash)` of each object in an `infra.lock`.
pub fn lock_entries(text: &str) -> Vec<(String, String, String)> {
    let Ok(docs) = yaml::load(infra_syntax::FileId(0), text) else { return Vec::new() };
    let Some(doc) = docs.first().map(|d| d.to_value()) else { return Vec::new() };
    doc.get("objects")
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| {
            Some((o.str_at(&["id"])?.to_string(), o.str_at(&["file"])?.to_string(), o.str_at(&["hash"])?.to_string()))
        })
        .collect()
}

/// Reads a compiled output. With an `infra.lock`, only the files it lists
/// are objects, and those whose hash equals the new build's (`known`: id and
/// hash of each new object) are not read at all: they are unchanged. A plan
/// of a large project with few changes reads few files.
pub fn read_compiled(
    origin: &Compiled,
    known: &[(String, &str)],
    sources: &mut Sources,
    diags: &mut Diagnostics,
) -> CompiledObjects {
    let (files, lock) = match origin {
        Compiled::Dir(dir) => {
            if !dir.exists() {
                return CompiledObjects::default();
            }
            let mut files = Vec::new();
            collect_yaml(dir, &mut files);
            let files: Vec<String> =
                files.iter().map(|f| f.strip_prefix(dir).unwrap_or(f).to_string_lossy().into_owned()).collect();
            (files, std::fs::read_to_string(dir.join(crate::emit::LOCK_FILE)).ok())
        }
        Compiled::Git { dir, rev, subdir } => {
            let listing = match git(dir, &["ls-tree", "-r", "--name-only", rev, "--", subdir]) {
                Ok(l) => String::from_utf8_lossy(&l).into_owned(),
                Err(e) => {
                    diags.push(Diagnostic::error("L013", format!("cannot read {subdir} at git revision {rev}: {e}")));
                    return CompiledObjects::default();
                }
            };
            let prefix = format!("{}/", subdir.trim_end_matches('/'));
            let files: Vec<String> =
                listing.lines().filter_map(|l| l.strip_prefix(&prefix)).map(String::from).collect();
            let lock = git(dir, &["show", &format!("{rev}:./{prefix}{}", crate::emit::LOCK_FILE)])
                .ok()
                .and_then(|b| String::from_utf8(b).ok());
            (files, lock)
        }
    };
    let mut out = CompiledObjects::default();
    let to_read: Vec<String> = match lock.as_deref().map(lock_entries) {
        Some(entries) if !entries.is_empty() => {
            let known: std::collections::HashMap<&str, (usize, &str)> =
                known.iter().enumerate().map(|(i, (id, hash))| (id.as_str(), (i, *hash))).collect();
            let mut read = Vec::new();
            for (id, file, hash) in entries {
                if !files.contains(&file) {
                    continue; // listed but gone: nothing is there
                }
                match known.get(id.as_str()) {
                    Some((i, h)) if *h == hash => out.reused.push(*i),
                    _ => read.push(file),
                }
            }
            read
        }
        _ => files.into_iter().filter(|f| f.ends_with(".yaml") || f.ends_with(".yml")).collect(),
    };
    match origin {
        Compiled::Dir(dir) => {
            for f in to_read {
                out.parsed.extend(read_file(&dir.join(f), sources, diags));
            }
        }
        Compiled::Git { dir, rev, subdir } => {
            let names: Vec<String> =
                to_read.iter().map(|f| format!("{rev}:./{}/{f}", subdir.trim_end_matches('/'))).collect();
            match git_blobs(dir, &names) {
                Ok(blobs) => {
                    for (name, blob) in names.iter().zip(blobs) {
                        match String::from_utf8(blob) {
                            Ok(text) => out.parsed.extend(parse(sources, name, text, diags)),
                            Err(_) => diags.push(Diagnostic::error("L010", format!("{name} is not UTF-8 text"))),
                        }
                    }
                }
                Err(e) => diags.push(Diagnostic::error("L013", format!("cannot read {subdir} at {rev}: {e}"))),
            }
        }
    }
    out
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, String> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(|e| format!("cannot run git: {e}"))?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_string());
    }
    Ok(out.stdout)
}

/// The contents of many `rev:path` blobs with one `git cat-file --batch`.
fn git_blobs(dir: &Path, names: &[String]) -> Result<Vec<Vec<u8>>, String> {
    use std::io::Write;
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run git: {e}"))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input: String = names.iter().map(|n| format!("{n}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let output = child.wait_with_output().map_err(|e| e.to_string())?;
    writer.join().map_err(|_| "git writer panicked".to_string())?.map_err(|e| e.to_string())?;
    let mut blobs = Vec::with_capacity(names.len());
    let mut rest = output.stdout.as_slice();
    for name in names {
        let nl = rest.iter().position(|&b| b == b'\n').ok_or("truncated git output")?;
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = &rest[nl + 1..];
        let size: usize = match header.split(' ').collect::<Vec<_>>().as_slice() {
            [_, "blob", size] => size.parse().map_err(|_| format!("bad git header: {header}"))?,
            _ => return Err(format!("{name}: {header}")),
        };
        blobs.push(rest[..size].to_vec());
        rest = &rest[size + 1..];
    }
    Ok(blobs)
}
