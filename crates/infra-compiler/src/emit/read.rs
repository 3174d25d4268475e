//! Reading a compiled output back, for `plan`: a folder, or a folder at a
//! git revision. Only the files its checked lock lists are objects, only
//! regular files are read (never through a symbolic link), and files whose
//! lock hash equals the new build's are not read at all.

use super::{dir, lock};
use infra_k8s::manifests;
use infra_syntax::{Code, Diagnostic, Diagnostics, Sources, Value};
use std::collections::HashSet;
use std::path::Path;
use std::process::Command;

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
            // Only regular files count: a symbolic link in a compiled folder
            // is never followed, whatever it points to.
            let inventory = match dir::inventory(dir) {
                Ok(Some(inv)) => inv,
                Ok(None) => return CompiledObjects::default(),
                Err(e) => {
                    diags.push(e);
                    return CompiledObjects::default();
                }
            };
            let files: Vec<String> = inventory.files().map(|f| f.to_string_lossy().into_owned()).collect();
            (files, Some(inventory.read_lock(dir)))
        }
        Compiled::Git { dir, rev, subdir } => {
            if rev.is_empty() || rev.chars().any(char::is_control) {
                diags.push(Diagnostic::error(
                    Code::GitRevision,
                    format!("{:?} is not a git revision", infra_syntax::diagnostic::render::escape(rev)),
                ));
                return CompiledObjects::default();
            }
            // `--end-of-options`: a revision (a branch name from a pull
            // request) is never read as an option.
            let listing = match git(dir, &["ls-tree", "-r", "-z", "--end-of-options", rev, "--", subdir]) {
                Ok(l) => l,
                Err(e) => {
                    let mut d = Diagnostic::error(
                        Code::GitRevision,
                        format!("cannot read {subdir} at git revision {rev}: {e}"),
                    );
                    // CI checkouts are shallow by default: the base is not there.
                    if git(dir, &["rev-parse", "--is-shallow-repository"]).is_ok_and(|out| out.starts_with(b"true")) {
                        d = d.help(format!(
                            "this is a shallow clone, which may not hold {rev}: fetch it (`git fetch --depth=1 origin <branch>`, or `fetch-depth: 0` in actions/checkout)"
                        ));
                    }
                    diags.push(d);
                    return CompiledObjects::default();
                }
            };
            let prefix = format!("{}/", subdir.trim_end_matches('/'));
            // `<mode> blob <sha>\t<path>`; links (mode 120000) are not files.
            let files: HashSet<String> = listing
                .split(|&b| b == 0)
                .filter_map(|entry| {
                    let entry = std::str::from_utf8(entry).ok()?;
                    let (meta, path) = entry.split_once('\t')?;
                    meta.starts_with("100").then(|| path.strip_prefix(&prefix).map(String::from))?
                })
                .collect();
            let lock = files.contains(lock::LOCK_FILE).then(|| {
                git_blobs(dir, &[format!("{rev}:./{prefix}{}", lock::LOCK_FILE)])
                    .ok()
                    .and_then(|mut b| String::from_utf8(b.pop()?).ok())
                    .map(|t| lock::parse(&t))
                    .unwrap_or_default()
            });
            (files.into_iter().collect(), lock)
        }
    };
    let mut out = CompiledObjects::default();
    let to_read: Vec<String> = match lock {
        Some(lock) if !lock.entries.is_empty() => {
            let files: HashSet<&str> = files.iter().map(String::as_str).collect();
            let known: std::collections::HashMap<&str, (usize, &str)> =
                known.iter().enumerate().map(|(i, (id, hash))| (id.as_str(), (i, *hash))).collect();
            let mut read = Vec::new();
            for entry in lock.entries {
                if !files.contains(entry.file.as_str()) {
                    continue; // listed but gone (or not a regular file): nothing is there
                }
                match known.get(entry.id.as_str()) {
                    Some((i, h)) if *h == entry.hash => out.reused.push(*i),
                    _ => read.push(entry.file.to_string()),
                }
            }
            read
        }
        _ => {
            let mut yaml: Vec<String> =
                files.into_iter().filter(|f| f.ends_with(".yaml") || f.ends_with(".yml")).collect();
            yaml.sort();
            yaml
        }
    };
    match origin {
        Compiled::Dir(dir) => {
            for f in to_read {
                out.parsed.extend(manifests::read_file(&dir.join(f), sources, diags));
            }
        }
        Compiled::Git { dir, rev, subdir } => {
            let names: Vec<String> =
                to_read.iter().map(|f| format!("{rev}:./{}/{f}", subdir.trim_end_matches('/'))).collect();
            match git_blobs(dir, &names) {
                Ok(blobs) => {
                    for (name, blob) in names.iter().zip(blobs) {
                        match String::from_utf8(blob) {
                            Ok(text) => out.parsed.extend(manifests::parse(sources, name, text, diags)),
                            Err(_) => {
                                diags.push(Diagnostic::error(Code::CannotRead, format!("{name} is not UTF-8 text")))
                            }
                        }
                    }
                }
                Err(e) => {
                    diags.push(Diagnostic::error(Code::GitRevision, format!("cannot read {subdir} at {rev}: {e}")))
                }
            }
        }
    }
    out
}

impl CompiledObjects {
    /// The previous build's objects: those read, and the objects of the new
    /// build (`new`, as given to [`read_compiled`]) that its lock says are
    /// unchanged.
    pub fn objects<'a>(&'a self, new: &[&'a Value]) -> Vec<&'a Value> {
        self.reused.iter().map(|&i| new[i]).chain(self.parsed.iter()).collect()
    }
}

/// Why git could not give what was asked.
#[derive(Debug)]
enum GitError {
    /// git could not be started.
    Run(std::io::Error),
    /// git failed: what it said.
    Failed(String),
    /// A `cat-file` header that is not `<id> blob <size>`: the name asked
    /// for, and the header.
    NotABlob {
        name: String,
        header: String,
    },
    TooLarge {
        name: String,
        size: u64,
        limit: u64,
    },
    /// Its output ended early, or could not be read.
    Truncated,
}

impl std::fmt::Display for GitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GitError::Run(e) => write!(f, "cannot run git: {e}"),
            GitError::Failed(said) => f.write_str(said),
            GitError::NotABlob { name, header } => write!(f, "{name}: {header}"),
            GitError::TooLarge { name, size, limit } => {
                write!(f, "{name} is {size} bytes, above the limit of {limit} bytes (INFRA_MAX_FILE_BYTES raises it)")
            }
            GitError::Truncated => f.write_str("truncated git output"),
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> Result<Vec<u8>, GitError> {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().map_err(GitError::Run)?;
    if !out.status.success() {
        return Err(GitError::Failed(String::from_utf8_lossy(&out.stderr).trim().to_string()));
    }
    Ok(out.stdout)
}

/// The size a `cat-file` header gives for `name`.
fn blob_size(name: &str, header: &str) -> Result<u64, GitError> {
    match header.split(' ').collect::<Vec<_>>().as_slice() {
        [_, "blob", size] => size.parse().ok(),
        _ => None,
    }
    .ok_or_else(|| GitError::NotABlob { name: name.to_string(), header: header.to_string() })
}

/// The contents of many `rev:path` blobs, each at most the file limit (as
/// a file on disk would be): their sizes are asked first (`git cat-file
/// --batch-check`), and only then are they read, with one `git cat-file
/// --batch` whose output is read no further than those sizes.
fn git_blobs(dir: &Path, names: &[String]) -> Result<Vec<Vec<u8>>, GitError> {
    if names.is_empty() {
        return Ok(Vec::new());
    }
    let limit = infra_syntax::source::max_source_bytes();
    let check = git_batch(dir, "--batch-check", names, (1 << 20) + names.len() as u64 * 200)?;
    let mut total = 0u64;
    for (name, line) in names.iter().zip(check.split(|&b| b == b'\n')) {
        let header = String::from_utf8_lossy(line);
        let size = blob_size(name, &header)?;
        if size > limit {
            return Err(GitError::TooLarge { name: name.clone(), size, limit });
        }
        total += size + header.len() as u64 + 2;
    }
    let output = git_batch(dir, "--batch", names, total)?;
    let mut blobs = Vec::with_capacity(names.len());
    let mut rest = output.as_slice();
    for name in names {
        let nl = rest.iter().position(|&b| b == b'\n').ok_or(GitError::Truncated)?;
        let header = String::from_utf8_lossy(&rest[..nl]).into_owned();
        rest = &rest[nl + 1..];
        let size = usize::try_from(blob_size(name, &header)?).map_err(|_| GitError::Truncated)?;
        let blob = rest.get(..size).ok_or(GitError::Truncated)?;
        blobs.push(blob.to_vec());
        rest = rest.get(size + 1..).unwrap_or_default();
    }
    Ok(blobs)
}

/// `git cat-file <mode>` with `names` on its input: at most `limit` bytes
/// of its output.
fn git_batch(dir: &Path, mode: &str, names: &[String], limit: u64) -> Result<Vec<u8>, GitError> {
    use std::io::{Read, Write};
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", mode])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .map_err(GitError::Run)?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let input: String = names.iter().map(|n| format!("{n}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let mut out = Vec::new();
    let read = child.stdout.take().expect("piped stdout").take(limit).read_to_end(&mut out);
    let _ = child.kill();
    let _ = child.wait();
    let _ = writer.join();
    read.map_err(|_| GitError::Truncated)?;
    Ok(out)
}
