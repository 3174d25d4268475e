//! Source files and positions. Every diagnostic points into a [`Sources`]
//! table by [`FileId`], and every span is a line/column range.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Index of a file in [`Sources`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A position: line and column, both 1-based, columns in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Pos {
    pub line: u32,
    pub col: u32,
}

/// A range of text in one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub fn new(file: FileId, start: Pos, end: Pos) -> Span {
        Span { file, start, end }
    }

    /// A span that names a whole file (for errors about a file as such).
    pub fn file(file: FileId) -> Span {
        let p = Pos { line: 1, col: 1 };
        Span { file, start: p, end: p }
    }

    /// The span `offset..offset+len` characters into this span's first line,
    /// used to point inside a scalar (an expression within a string).
    pub fn narrow(&self, offset: u32, len: u32) -> Span {
        let start = Pos { line: self.start.line, col: self.start.col + offset };
        let end = Pos { line: self.start.line, col: start.col + len.max(1) };
        Span { file: self.file, start, end }
    }
}

/// One loaded file: its path as shown to users (relative to the project
/// root where possible) and its text.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub display: String,
    pub text: Arc<str>,
    /// Where each line starts, found when a message first needs a line:
    /// 50,000 messages about one file must not each scan it from the top.
    line_starts: std::sync::OnceLock<Vec<usize>>,
    /// Per line, the character column from which the line shows a Secret's
    /// value (0: none), found when a message first shows a line.
    secret_columns: std::sync::OnceLock<Vec<u32>>,
}

impl SourceFile {
    /// The byte offset where 1-based line `line` starts.
    pub fn line_start(&self, line: u32) -> Option<usize> {
        let starts = self
            .line_starts
            .get_or_init(|| std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect());
        starts.get(line.checked_sub(1)? as usize).copied()
    }

    /// The 1-based character column from which 1-based line `line` holds
    /// the value of a Secret's `data` or `stringData`, if it does: messages
    /// that show the line show `*` there instead.
    pub fn secret_from(&self, line: u32) -> Option<u32> {
        let columns = self.secret_columns.get_or_init(|| secret_columns(&self.text));
        columns.get(line.checked_sub(1)? as usize).copied().filter(|&c| c > 0)
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let start = self.line_start(line)?;
        let end = self.line_start(line + 1).map_or(self.text.len(), |next| next - 1);
        let l = &self.text[start..end];
        Some(l.strip_suffix('\r').unwrap_or(l))
    }
}

/// For each line of a YAML text, the column from which it shows a Secret's
/// value (0: none). Read from the text, not a parse, so that it holds for a
/// document that failed to load (a duplicate key in a Secret quotes the
/// line): in each document with `kind: Secret`, the values under a
/// top-level `data:` or `stringData:`, keys left readable.
fn secret_columns(text: &str) -> Vec<u32> {
    let lines: Vec<&str> = text.split('\n').collect();
    let mut out = vec![0u32; lines.len()];
    let mut doc_start = 0;
    for end in (0..=lines.len()).filter(|&i| i == lines.len() || lines[i].starts_with("---")) {
        let doc = &lines[doc_start..end];
        let is_secret = doc.iter().any(|l| {
            let l = l.trim_end();
            l.starts_with("kind:") && l["kind:".len()..].trim().trim_matches(['"', '\'']) == "Secret"
        });
        if is_secret {
            let mut in_values = false;
            for (i, line) in doc.iter().enumerate() {
                let indented = line.starts_with([' ', '\t']);
                if !indented && !line.trim().is_empty() && !line.trim_start().starts_with('#') {
                    in_values = line.starts_with("data:") || line.starts_with("stringData:");
                    if in_values {
                        // `data: {a: b}`: the whole rest of the line.
                        let colon = line.find(':').map_or(0, |c| c + 1);
                        out[doc_start + i] = if line[colon..].trim().is_empty() { 0 } else { column(line, colon) };
                    }
                    continue;
                }
                if in_values && !line.trim().is_empty() {
                    let content = line.len() - line.trim_start().len();
                    // `key: value` shows its key; a continuation line, nothing.
                    let from = match line.find(": ") {
                        Some(c) => c + 2,
                        None if line.trim_end().ends_with(':') => continue,
                        None => content,
                    };
                    out[doc_start + i] = column(line, from);
                }
            }
        }
        doc_start = end + 1;
    }
    out
}

/// The 1-based character column of byte `at` of `line`.
fn column(line: &str, at: usize) -> u32 {
    line[..at].chars().count() as u32 + 1
}

/// The table of every file a run has read.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn new() -> Sources {
        Sources::default()
    }

    pub fn add(&mut self, path: &Path, display: String, text: Arc<str>) -> FileId {
        self.files.push(SourceFile {
            path: path.to_path_buf(),
            display,
            text,
            line_starts: Default::default(),
            secret_columns: Default::default(),
        });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }
}

/// The largest YAML or JSON file infra reads by default. A bound on what one
/// file may cost in memory; `INFRA_MAX_FILE_BYTES` raises it for projects
/// that are larger on purpose.
pub const DEFAULT_MAX_SOURCE_BYTES: u64 = 16 << 20;

/// The largest YAML or JSON file infra reads: `INFRA_MAX_FILE_BYTES` when set
/// to a byte count, else [`DEFAULT_MAX_SOURCE_BYTES`]. Read once per process.
pub fn max_source_bytes() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| {
        std::env::var("INFRA_MAX_FILE_BYTES")
            .ok()
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|&n| n > 0)
            .unwrap_or(DEFAULT_MAX_SOURCE_BYTES)
    })
}

/// Reads a text file of at most `limit` bytes (see [`read_bytes`]): UTF-8
/// without NUL bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    let bytes = read_bytes(path, limit)?;
    if let Some(i) = bytes.iter().position(|&b| b == 0) {
        return Err(format!("binary file (a NUL byte at offset {i}), not text"));
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let col = at - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        format!("not UTF-8 text (invalid byte at line {line}, column {col}); save the file as UTF-8")
    })
}

/// Reads a file of at most `limit` bytes. Only regular files: a FIFO or a
/// device would block or never end. The file is opened without blocking and
/// read through a bound, so a file that grows while read cannot exceed it.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let file = fs::OpenOptions::new()
        .read(true)
        .custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32)
        .open(path)
        .map_err(|e| io_reason(&e))?;
    let meta = file.metadata().map_err(|e| io_reason(&e))?;
    if !meta.is_file() {
        return Err("not a regular file (a FIFO, socket or device); name a file".into());
    }
    let too_large = |len: u64| {
        format!("file is too large ({len} bytes; the limit is {}; set INFRA_MAX_FILE_BYTES to raise it)", size(limit))
    };
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(|e| io_reason(&e))?;
    if bytes.len() as u64 > limit {
        return Err(too_large(bytes.len() as u64));
    }
    Ok(bytes)
}

/// A byte count as people read it: whole MiB when it is one, else bytes.
fn size(bytes: u64) -> String {
    if bytes >= 1 << 20 && bytes.is_multiple_of(1 << 20) {
        format!("{} MiB", bytes >> 20)
    } else {
        format!("{bytes} bytes")
    }
}

/// An I/O error in the words of a message.
pub fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
