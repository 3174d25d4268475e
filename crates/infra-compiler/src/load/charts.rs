//! Upstream Helm charts, as the load stage sees them: each `charts:` entry
//! with its chart (a `.tgz` or a folder inside the project), read once —
//! the digest of its bytes, for the render cache, and its default values
//! with every subchart's under its alias and `global`, to check the
//! project's values for typos. Rendering is the eval stage's (it depends on
//! the environment's params).
//!
//! A chart archive is untrusted input: it is read with limits on the bytes
//! it may expand to and the files it may hold, and only the files needed
//! here (`Chart.yaml`, `values.yaml`, nested subchart archives) are kept.

use infra_syntax::source::read_bytes;
use infra_syntax::{Code, Diagnostic, Map, Node, Span, Value, yaml};
use sha2::Digest as _;
use std::io::Read;
use std::path::{Path, PathBuf};

/// What a chart archive may expand to; kube-prometheus-stack, one of the
/// largest charts, expands to under 10 MiB.
const MAX_EXPANDED_BYTES: u64 = 256 << 20;
const MAX_ENTRIES: usize = 100_000;
/// Subcharts within subcharts, at most this deep.
const MAX_DEPTH: usize = 8;

/// One `charts:` entry, loaded.
pub struct Chart {
    /// The entry's key: the default release name.
    pub name: String,
    pub span: Span,
    /// The entry, evaluated per environment (values may hold expressions).
    pub node: Node,
    /// The chart as Helm reads it.
    pub path: PathBuf,
    /// The project's root, which no link in a chart folder may leave.
    pub root: PathBuf,
    /// The chart as the user wrote it, for messages.
    pub shown: String,
    /// sha256 of the chart's bytes (the archive, or every file of a folder).
    pub digest: String,
    /// The chart's default values, subcharts under their alias, `global`
    /// of them all.
    pub defaults: Value,
    /// Values that `values.yaml` files document in comments only (`#
    /// adminPassword: ...`), by dotted path: where to look for the value
    /// that feeds a generated field.
    pub commented: Vec<String>,
    /// The values paths its templates read (see [`Found`]).
    pub reads: Vec<Vec<String>>,
    /// `values_files`, parsed, in order: (their node, as written).
    pub values_files: Vec<Node>,
}

/// The files of a chart that infra reads: relative path → text.
#[derive(Debug)]
struct ChartFiles {
    files: Vec<(String, Vec<u8>)>,
}

impl ChartFiles {
    fn get(&self, rel: &str) -> Option<&[u8]> {
        self.files.iter().find(|(p, _)| p == rel).map(|(_, b)| b.as_slice())
    }
}

/// Whether infra reads a chart's file (by its path in the chart): the
/// chart's and its subcharts' `Chart.yaml`, `values.yaml` and templates
/// (for the values they read), and nested subchart archives.
fn wanted(rel: &str) -> bool {
    rel == "Chart.yaml"
        || rel == "values.yaml"
        || rel.starts_with("templates/")
        || rel.starts_with("charts/")
            && (rel.ends_with("/Chart.yaml")
                || rel.ends_with("/values.yaml")
                || rel.ends_with(".tgz")
                || rel.contains("/templates/"))
}

/// Why a chart cannot be read.
#[derive(Debug)]
pub enum ChartError {
    /// Not a gzip'd tar archive: the reader's reason.
    NotAnArchive(String),
    /// No `Chart.yaml`, in an archive or in a folder.
    NoChartYaml {
        archive: bool,
    },
    TooManyFiles {
        folder: bool,
    },
    /// Past 256 MiB expanded (an archive) or read (a folder).
    TooLarge {
        folder: bool,
    },
    /// The chart itself cannot be found or read: why.
    Missing(String),
    /// A file that cannot be read: its path in the chart, and why.
    Unreadable {
        path: String,
        reason: String,
    },
    /// A symbolic link whose target cannot be found.
    LinkNotFollowed {
        path: String,
        reason: String,
    },
    /// A symbolic link to something outside the project.
    LinkLeaves {
        path: String,
    },
    LinkToFolder {
        path: String,
    },
    /// A FIFO, socket or device.
    NotRegular {
        path: String,
    },
    NotUtf8 {
        file: &'static str,
    },
    NotMapping {
        file: &'static str,
    },
    Yaml {
        file: &'static str,
        message: String,
    },
    /// An error inside the subchart archive at `path`.
    InSubchart {
        path: String,
        error: Box<ChartError>,
    },
}

impl std::fmt::Display for ChartError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = MAX_EXPANDED_BYTES >> 20;
        match self {
            ChartError::NotAnArchive(why) => write!(f, "not a chart archive ({why})"),
            ChartError::NoChartYaml { archive: true } => f.write_str("not a chart archive (no Chart.yaml)"),
            ChartError::NoChartYaml { archive: false } => f.write_str("not a Helm chart (no Chart.yaml)"),
            ChartError::TooManyFiles { folder: false } => write!(f, "more than {MAX_ENTRIES} files in the archive"),
            ChartError::TooManyFiles { folder: true } => write!(f, "more than {MAX_ENTRIES} files in the chart folder"),
            ChartError::TooLarge { folder: false } => write!(f, "the archive expands to more than {mib} MiB"),
            ChartError::TooLarge { folder: true } => write!(f, "the chart folder holds more than {mib} MiB"),
            ChartError::Missing(why) => f.write_str(why),
            ChartError::Unreadable { path, reason } => write!(f, "{path}: {reason}"),
            ChartError::LinkNotFollowed { path, reason } => {
                write!(f, "{path} is a symbolic link that cannot be followed ({reason})")
            }
            ChartError::LinkLeaves { path } => {
                write!(f, "{path} is a symbolic link that leaves the project; Helm would read what it points to")
            }
            ChartError::LinkToFolder { path } => {
                write!(f, "{path} is a symbolic link to a folder; put the folder itself in the chart")
            }
            ChartError::NotRegular { path } => write!(f, "{path} is not a regular file (a FIFO, socket or device)"),
            ChartError::NotUtf8 { file } => write!(f, "{file} is not UTF-8"),
            ChartError::NotMapping { file } => write!(f, "{file} is not a mapping"),
            ChartError::Yaml { file, message } => write!(f, "{file}: {message}"),
            ChartError::InSubchart { path, error } => write!(f, "{path}: {error}"),
        }
    }
}

/// Reads the files infra needs from a `.tgz` chart: `<root>/Chart.yaml`,
/// `values.yaml` and `charts/` below, and nested `.tgz` subcharts.
fn read_archive(bytes: &[u8], budget: &mut u64) -> Result<ChartFiles, ChartError> {
    let gz = flate2::read::GzDecoder::new(bytes);
    let mut archive = tar::Archive::new(gz);
    let mut files = Vec::new();
    let not_an_archive = |e: std::io::Error| ChartError::NotAnArchive(e.to_string());
    for (n, entry) in archive.entries().map_err(not_an_archive)?.enumerate() {
        if n >= MAX_ENTRIES {
            return Err(ChartError::TooManyFiles { folder: false });
        }
        let mut entry = entry.map_err(not_an_archive)?;
        let size = entry.header().size().unwrap_or(0);
        *budget = budget.checked_sub(size).ok_or(ChartError::TooLarge { folder: false })?;
        let path = entry.path().map_err(not_an_archive)?.to_string_lossy().into_owned();
        // `<root>/...`: the chart's own folder name is not ours to trust.
        let Some((_, rel)) = path.split_once('/') else { continue };
        if wanted(rel) && entry.header().entry_type().is_file() {
            let mut data = Vec::with_capacity(size.min(64 << 20) as usize);
            if let Err(e) = entry.by_ref().take(size).read_to_end(&mut data) {
                return Err(ChartError::Unreadable { reason: e.to_string(), path });
            }
            files.push((rel.to_string(), data));
        }
    }
    if files.is_empty() {
        return Err(ChartError::NoChartYaml { archive: true });
    }
    Ok(ChartFiles { files })
}

/// What [`each_file`] calls with each file: its path in the chart (`""`
/// for an archive) and its bytes.
pub type FileVisitor<'a, E> = dyn FnMut(&str, &[u8]) -> Result<(), E> + 'a;

/// Every file of a chart that Helm can read, each checked before it is
/// read and handed to `visit` with its path relative to the chart: the
/// archive itself (as `""`), or every file below a chart folder. Folders
/// are walked without following links; a link to a file is read through
/// only when it stays inside the project (Helm would follow it, so its
/// target is part of the chart), a link to a folder is refused, and so is
/// anything that is not a regular file. Sizes are checked before reading:
/// each file within the file limit, all of them within 256 MiB. `visit`'s
/// errors are its own; the chart's become one of them.
pub fn each_file<E: From<ChartError>>(chart: &Path, root: &Path, visit: &mut FileVisitor<E>) -> Result<(), E> {
    let limit = infra_syntax::source::max_source_bytes();
    let read = |p: &Path, shown: &str| {
        read_bytes(p, limit).map_err(|e| ChartError::Unreadable { path: shown.to_string(), reason: e.to_string() })
    };
    let meta = std::fs::metadata(chart).map_err(|e| ChartError::Missing(infra_syntax::source::io_reason(&e)))?;
    if meta.is_file() {
        return visit("", &read(chart, "the archive")?);
    }
    let mut budget = MAX_EXPANDED_BYTES;
    // A chart's `.git` (a chart kept as a git checkout) is not chart content.
    let walk = walkdir::WalkDir::new(chart).follow_links(false).sort_by_file_name().into_iter();
    for (n, entry) in walk.filter_entry(|e| e.file_name() != ".git").enumerate() {
        if n >= MAX_ENTRIES {
            return Err(ChartError::TooManyFiles { folder: true }.into());
        }
        let entry = entry.map_err(|e| ChartError::Unreadable {
            path: e.path().map_or_else(String::new, |p| p.strip_prefix(chart).unwrap_or(p).display().to_string()),
            reason: e.io_error().map_or_else(|| e.to_string(), infra_syntax::source::io_reason),
        })?;
        let rel = entry.path().strip_prefix(chart).unwrap_or(entry.path()).to_string_lossy().into_owned();
        let kind = entry.file_type();
        let bytes = if kind.is_dir() {
            continue;
        } else if kind.is_file() {
            read(entry.path(), &rel)?
        } else if kind.is_symlink() {
            let target = match entry.path().canonicalize() {
                Ok(t) => t,
                Err(e) => {
                    let reason = infra_syntax::source::io_reason(&e);
                    return Err(ChartError::LinkNotFollowed { path: rel, reason }.into());
                }
            };
            if !crate::load::files::in_project(root, &target) {
                return Err(ChartError::LinkLeaves { path: rel }.into());
            }
            if target.is_dir() {
                return Err(ChartError::LinkToFolder { path: rel }.into());
            }
            read(&target, &rel)?
        } else {
            return Err(ChartError::NotRegular { path: rel }.into());
        };
        budget = budget.checked_sub(bytes.len() as u64).ok_or(ChartError::TooLarge { folder: true })?;
        visit(&rel, &bytes)?;
    }
    Ok(())
}

/// The digest of what [`each_file`] reads: an archive's bytes, or every
/// file of a folder with its relative path.
pub struct Digest {
    hasher: Option<sha2::Sha256>,
    archive: bool,
}

impl Digest {
    pub fn new() -> Digest {
        Digest { hasher: Some(sha2::Sha256::new()), archive: false }
    }

    pub fn add(&mut self, rel: &str, bytes: &[u8]) {
        let h = self.hasher.as_mut().expect("not finished");
        if rel.is_empty() {
            self.archive = true;
            h.update(bytes);
        } else {
            h.update(rel.as_bytes());
            h.update([0]);
            h.update(bytes);
            h.update([0]);
        }
    }

    pub fn finish(mut self) -> String {
        let digest = self.hasher.take().expect("not finished").finalize();
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}

impl Default for Digest {
    fn default() -> Digest {
        Digest::new()
    }
}

fn parse_yaml_map(bytes: &[u8], file: &'static str) -> Result<Value, ChartError> {
    let text = std::str::from_utf8(bytes).map_err(|_| ChartError::NotUtf8 { file })?;
    match yaml::parse_value(text) {
        Ok(Value::Map(m)) => Ok(Value::Map(m)),
        Ok(Value::Null) => Ok(Value::Map(Map::new())),
        Ok(_) => Err(ChartError::NotMapping { file }),
        Err(d) => Err(ChartError::Yaml { file, message: d.message }),
    }
}

/// The default values of a chart: its `values.yaml`, each subchart's under
/// the key its dependency gives (alias or name), and `global` collected
/// from all of them.
fn defaults(
    files: &ChartFiles,
    depth: usize,
    budget: &mut u64,
    found: &mut Found,
    at: &[String],
) -> Result<Value, ChartError> {
    let prefix: String = at.iter().map(|k| format!("{k}.")).collect();
    template_reads(files, at, &mut found.reads);
    let commented = &mut found.commented;
    let mut values = match files.get("values.yaml") {
        Some(b) => parse_yaml_map(b, "values.yaml")?,
        None => Value::Map(Map::new()),
    };
    if let Some(text) = files.get("values.yaml").and_then(|b| std::str::from_utf8(b).ok()) {
        commented.extend(commented_keys(text).into_iter().map(|k| format!("{prefix}{k}")));
    }
    if depth >= MAX_DEPTH {
        return Ok(values);
    }
    let chart = files.get("Chart.yaml").map(|b| parse_yaml_map(b, "Chart.yaml")).transpose()?;
    let dependencies: Vec<(String, String)> = chart
        .as_ref()
        .and_then(|c| c.get("dependencies"))
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|d| {
            let name = d.str_at(&["name"])?.to_string();
            Some((name.clone(), d.str_at(&["alias"]).map_or(name, String::from)))
        })
        .collect();
    // Subcharts as folders (charts/<name>/) and as archives (charts/*.tgz).
    let mut subcharts: Vec<(String, ChartFiles)> = Vec::new();
    let folders: std::collections::BTreeSet<&str> =
        files.files.iter().filter_map(|(p, _)| p.strip_prefix("charts/")?.split_once('/').map(|(d, _)| d)).collect();
    for dir in folders {
        let prefix = format!("charts/{dir}/");
        let inner: Vec<(String, Vec<u8>)> = files
            .files
            .iter()
            .filter_map(|(p, b)| Some((p.strip_prefix(&prefix)?.to_string(), b.clone())))
            .filter(|(p, _)| !p.contains('/') || p.starts_with("templates/"))
            .collect();
        subcharts.push((dir.to_string(), ChartFiles { files: inner }));
    }
    for (p, bytes) in files.files.iter().filter(|(p, _)| p.starts_with("charts/") && p.ends_with(".tgz")) {
        let inner =
            read_archive(bytes, budget).map_err(|e| ChartError::InSubchart { path: p.clone(), error: Box::new(e) })?;
        subcharts.push((p.clone(), inner));
    }
    let mut global = values.get("global").cloned().unwrap_or(Value::Map(Map::new()));
    for (_, sub) in subcharts {
        let Some(name) = sub
            .get("Chart.yaml")
            .and_then(|b| parse_yaml_map(b, "Chart.yaml").ok())
            .and_then(|c| c.str_at(&["name"]).map(String::from))
        else {
            continue;
        };
        let key = dependencies.iter().find(|(n, _)| *n == name).map_or(name.clone(), |(_, alias)| alias.clone());
        let inner_at: Vec<String> = at.iter().cloned().chain([key.clone()]).collect();
        let mut sub_defaults = defaults(&sub, depth + 1, budget, found, &inner_at)?;
        if let Some(g) = sub_defaults.as_map_mut().and_then(|m| m.shift_remove("global")) {
            merge(&mut global, &g);
        }
        // The parent's values for the subchart win over the subchart's own.
        if let Some(parent) = values.get(&key) {
            merge(&mut sub_defaults, parent);
        }
        if let Some(m) = values.as_map_mut() {
            m.insert(key, sub_defaults);
        }
    }
    if let Some(m) = values.as_map_mut()
        && global.as_map().is_some_and(|g| !g.is_empty())
    {
        m.insert("global", global);
    }
    Ok(values)
}

/// The version of what the cache keeps of a chart (defaults, commented
/// keys, template reads).
const CHART_META_VERSION: u32 = 2;

/// What reading a chart finds beside its defaults.
#[derive(Default)]
pub struct Found {
    /// Values documented in comments only, by dotted path.
    pub commented: Vec<String>,
    /// The values paths the templates read (keys, subcharts' under their
    /// key); a path is read with everything below it.
    pub reads: Vec<Vec<String>>,
}

/// The values paths the templates of a chart read, below `at`: every
/// `.Values.a.b` and `index .Values "a" "b"` (`get`, `hasKey`). A template that uses
/// `.Values` whole (passes it on, ranges over it, indexes it by a variable)
/// reads everything: `at` itself.
fn template_reads(files: &ChartFiles, at: &[String], out: &mut Vec<Vec<String>>) {
    static VALUES: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r#"((?:index|get|hasKey)\s+\(?\s*)?\$?\.Values\b((?:\.[A-Za-z_][A-Za-z0-9_]*)*)((?:\s+"[^"]*")*)"#,
        )
        .expect("a valid pattern")
    });
    for (_, bytes) in files.files.iter().filter(|(p, _)| p.starts_with("templates/")) {
        let Ok(text) = std::str::from_utf8(bytes) else { continue };
        for c in VALUES.captures_iter(text) {
            let mut path: Vec<String> = at.to_vec();
            path.extend(c[2].split('.').filter(|k| !k.is_empty()).map(String::from));
            if c.get(1).is_some() {
                path.extend(c[3].split('"').skip(1).step_by(2).map(String::from));
            }
            out.push(path);
        }
    }
}

/// Whether a chart whose templates read `reads` reads the value at `path`:
/// a template reads it, something above it, or something below it
/// (`global` is every chart's).
pub fn is_read(reads: &[Vec<String>], path: &[&str]) -> bool {
    path.first() == Some(&"global")
        || reads.iter().any(|r| {
            let n = r.len().min(path.len());
            r.iter().take(n).zip(path.iter().take(n)).all(|(a, b)| a == b)
        })
}

/// Helm's merge of values: maps merge key by key, anything else replaces,
/// and `null` removes a key.
pub fn merge(base: &mut Value, over: &Value) {
    match (base, over) {
        (Value::Map(b), Value::Map(o)) => {
            for (k, v) in o.iter() {
                match (b.get_mut(k), v) {
                    (_, Value::Null) => {
                        b.shift_remove(k);
                    }
                    (Some(existing), _) if existing.as_map().is_some() && v.as_map().is_some() => merge(existing, v),
                    _ => {
                        b.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (b, o) => *b = o.clone(),
    }
}

/// Keys that a values file shows only in comments, with their paths from
/// the indentation of the keys around them: `# adminPassword: x` at the
/// top, `  # size: 10Gi` under `persistence:`.
fn commented_keys(text: &str) -> Vec<String> {
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut out = Vec::new();
    let key = |s: &str| -> Option<String> {
        let (k, _) = s.split_once(':')?;
        (!k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')).then(|| k.to_string())
    };
    for line in text.lines() {
        let indent = line.len() - line.trim_start().len();
        let body = line.trim_start();
        let (comment, body) = match body.strip_prefix('#') {
            Some(rest) => (true, rest.trim_start()),
            None => (false, body),
        };
        let Some(k) = key(body) else { continue };
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        let path: Vec<&str> = stack.iter().map(|(_, k)| k.as_str()).chain([k.as_str()]).collect();
        if comment {
            out.push(path.join("."));
        } else {
            stack.push((indent, k));
        }
    }
    out
}

/// Reads a chart for an entry: its digest, its default values, and the
/// values its files show in comments only. What is read from the chart's
/// files is cached by its digest: a warm build hashes the chart and parses
/// no archive.
pub fn read_chart(path: &Path, root: &Path) -> Result<(String, Value, Found), ChartError> {
    let mut digest = Digest::new();
    let mut archive = None;
    let mut folder = Vec::new();
    each_file(path, root, &mut |rel, bytes| -> Result<(), ChartError> {
        digest.add(rel, bytes);
        if rel.is_empty() {
            archive = Some(bytes.to_vec());
        } else if wanted(rel) {
            folder.push((rel.to_string(), bytes.to_vec()));
        }
        Ok(())
    })?;
    let digest = digest.finish();
    let cache = crate::cache::dir();
    // What is kept of a chart changes with infra: the entry's name says
    // which version of it an entry holds.
    let entry = format!("{digest}.v{CHART_META_VERSION}.chart.yaml");
    let strings =
        |v: &Value| -> Option<Vec<String>> { v.as_seq()?.iter().map(|c| c.as_str().map(String::from)).collect() };
    if let Some(Ok(Value::Map(m))) =
        crate::cache::read(cache.as_deref(), &entry, 64 << 20).map(|t| yaml::parse_value(&t))
        && let Some(values) = m.get("defaults")
        && let Some(commented) = m.get("commented").and_then(strings)
        && let Some(reads) = m.get("reads").and_then(Value::as_seq).and_then(|r| r.iter().map(strings).collect())
    {
        return Ok((digest, values.clone(), Found { commented, reads }));
    }
    let mut budget = MAX_EXPANDED_BYTES;
    let files = match &archive {
        Some(bytes) => read_archive(bytes, &mut budget)?,
        None => ChartFiles { files: folder },
    };
    if files.get("Chart.yaml").is_none() {
        return Err(ChartError::NoChartYaml { archive: false });
    }
    let mut found = Found::default();
    let values = defaults(&files, 0, &mut budget, &mut found, &[])?;
    found.reads.sort();
    found.reads.dedup();
    let texts = |items: &[String]| Value::Seq(items.iter().map(|c| Value::from(c.as_str())).collect());
    let mut meta = Map::new();
    meta.insert("defaults", values.clone());
    meta.insert("commented", texts(&found.commented));
    meta.insert("reads", Value::Seq(found.reads.iter().map(|r| texts(r)).collect()));
    crate::cache::write(cache.as_deref(), &entry, yaml::emit(&Value::Map(meta)).as_bytes());
    Ok((digest, values, found))
}

/// The `name` and `version` a chart archive's `Chart.yaml` declares.
pub fn archive_identity(bytes: &[u8]) -> Result<(String, String), ChartError> {
    let mut budget = MAX_EXPANDED_BYTES;
    let files = read_archive(bytes, &mut budget)?;
    let chart =
        parse_yaml_map(files.get("Chart.yaml").ok_or(ChartError::NoChartYaml { archive: true })?, "Chart.yaml")?;
    let field = |k: &str| match chart.get(k) {
        Some(Value::String(s)) => Some(s.to_string()),
        Some(v @ (Value::Int(_) | Value::Float(_))) => Some(infra_syntax::canonical::canonical_json(v)),
        _ => None,
    };
    Ok((field("name").unwrap_or_default(), field("version").unwrap_or_default()))
}

/// A chart that cannot be used, reported at its entry.
pub fn unreadable(shown: &str, reason: ChartError, span: Span) -> Diagnostic {
    Diagnostic::error(Code::ChartUnreadable, format!("cannot read the chart {shown}: {reason}"))
        .at(span, "this chart")
        .help(
            "`chart:` is a chart archive (.tgz, as `helm pull` writes) or an unpacked chart folder inside the project",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
    }

    #[test]
    fn helm_merges_maps_and_null_removes() {
        let mut base = v("{a: {b: 1, c: 2}, d: [1], e: x}");
        merge(&mut base, &v("{a: {b: 3}, d: [2], e: null}"));
        assert_eq!(base, v("{a: {b: 3, c: 2}, d: [2]}"));
    }

    #[test]
    fn keys_shown_in_comments_keep_their_paths() {
        let text = "adminUser: admin\n# adminPassword: strongpassword\npersistence:\n  enabled: false\n  # size: 10Gi\n# top: 1\n";
        assert_eq!(commented_keys(text), ["adminPassword", "persistence.size", "top"]);
    }

    #[test]
    fn hostile_archives_are_errors() {
        let mut budget = MAX_EXPANDED_BYTES;
        assert!(read_archive(b"not gzip at all", &mut budget).is_err());
        let mut tiny = 10;
        let real =
            std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/fixtures/charts/grafana-12.11.1.tgz"));
        if let Ok(real) = real {
            assert!(matches!(read_archive(&real, &mut tiny), Err(ChartError::TooLarge { folder: false })));
        }
    }
}
