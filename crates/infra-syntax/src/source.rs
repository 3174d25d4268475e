//! Source files and positions. Every diagnostic points into a [`Sources`]
//! table by [`FileId`], and every span is a line/column range.

use std::fmt;
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
    /// Per line, the character ranges that show a Secret's value, found
    /// when a message first shows a line.
    secret_ranges: std::sync::OnceLock<Vec<Vec<crate::secrets::ColumnRange>>>,
}

impl SourceFile {
    /// The byte offset where 1-based line `line` starts.
    pub fn line_start(&self, line: u32) -> Option<usize> {
        let starts = self
            .line_starts
            .get_or_init(|| std::iter::once(0).chain(self.text.match_indices('\n').map(|(i, _)| i + 1)).collect());
        starts.get(line.checked_sub(1)? as usize).copied()
    }

    /// The character ranges of 1-based line `line` that show the value of
    /// a Secret (see [`crate::secrets`]): messages that show the
    /// line show `*` there instead.
    pub fn secret_ranges(&self, line: u32) -> &[crate::secrets::ColumnRange] {
        let ranges = self.secret_ranges.get_or_init(|| crate::secrets::secret_ranges(&self.text));
        line.checked_sub(1).and_then(|l| ranges.get(l as usize)).map_or(&[], Vec::as_slice)
    }

    /// The text of 1-based line `line`, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        let start = self.line_start(line)?;
        let end = self.line_start(line + 1).map_or(self.text.len(), |next| next - 1);
        let l = &self.text[start..end];
        Some(l.strip_suffix('\r').unwrap_or(l))
    }
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
            secret_ranges: Default::default(),
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

/// The largest YAML or JSON file infra reads: `INFRA_MAX_FILE_BYTES`, by
/// default 16 MiB. A bound on what one file may cost in memory; projects
/// that are larger on purpose raise it. Read once per process.
pub fn max_source_bytes() -> u64 {
    static LIMIT: std::sync::OnceLock<u64> = std::sync::OnceLock::new();
    *LIMIT.get_or_init(|| crate::settings::get(&crate::settings::MAX_FILE_BYTES))
}

/// Why a file cannot be read.
#[derive(Debug, Clone, PartialEq)]
pub enum ReadError {
    /// The system's reason ([`io_reason`]).
    Io(String),
    /// A FIFO, socket or device.
    NotRegular,
    /// Larger than the limit: its length, and the limit.
    TooLarge { len: u64, limit: u64 },
    /// A NUL byte at this offset.
    Binary { offset: usize },
    /// An invalid UTF-8 byte at this line and column.
    NotUtf8 { line: usize, column: usize },
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io(why) => f.write_str(why),
            ReadError::NotRegular => f.write_str("not a regular file (a FIFO, socket or device); name a file"),
            ReadError::TooLarge { len, limit } => write!(
                f,
                "file is too large ({len} bytes; the limit is {}; set INFRA_MAX_FILE_BYTES to raise it)",
                size(*limit)
            ),
            ReadError::Binary { offset } => write!(f, "binary file (a NUL byte at offset {offset}), not text"),
            ReadError::NotUtf8 { line, column } => {
                write!(f, "not UTF-8 text (invalid byte at line {line}, column {column}); save the file as UTF-8")
            }
        }
    }
}

/// Reads a text file of at most `limit` bytes (see [`read_bytes`]): UTF-8
/// without NUL bytes.
pub fn read_text(path: &Path, limit: u64) -> Result<String, ReadError> {
    let bytes = read_bytes(path, limit)?;
    if let Some(offset) = bytes.iter().position(|&b| b == 0) {
        return Err(ReadError::Binary { offset });
    }
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..at];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let column = at - before.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1) + 1;
        ReadError::NotUtf8 { line, column }
    })
}

/// Reads a file of at most `limit` bytes. Only regular files: a FIFO or a
/// device would block or never end. The file is opened without blocking and
/// read through a bound, so a file that grows while read cannot exceed it.
pub fn read_bytes(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_bytes_with(path, limit, rustix::fs::OFlags::NONBLOCK)
}

/// [`read_bytes`], refusing a symbolic link at `path` instead of following
/// it.
pub fn read_bytes_nofollow(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_bytes_with(path, limit, rustix::fs::OFlags::NONBLOCK | rustix::fs::OFlags::NOFOLLOW)
}

fn read_bytes_with(path: &Path, limit: u64, flags: rustix::fs::OFlags) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let io = |e: std::io::Error| ReadError::Io(io_reason(&e));
    let file = fs::OpenOptions::new().read(true).custom_flags(flags.bits() as i32).open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(ReadError::NotRegular);
    }
    if meta.len() > limit {
        return Err(ReadError::TooLarge { len: meta.len(), limit });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { len: bytes.len() as u64, limit });
    }
    Ok(bytes)
}

/// Creates a new file in `dir` named `<stem>.<unique>.tmp` with `mode`,
/// exclusively: never through a link or over anything already at that
/// name (`O_EXCL | O_NOFOLLOW`), so a link planted where a temporary file
/// goes cannot redirect the write. The unique part is new on every call.
pub fn create_temp_file(dir: &Path, stem: &str, mode: u32) -> std::io::Result<(PathBuf, fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut last = None;
    for _ in 0..64 {
        let path = dir.join(format!("{stem}.{}.tmp", unique_suffix()));
        match fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(mode)
            .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
            .open(&path)
        {
            Ok(f) => return Ok((path, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::ErrorKind::AlreadyExists.into()))
}

/// Creates a new folder in `dir` named `<stem>-<unique>` with mode 0700,
/// exclusively (`mkdir` never follows a link at its name).
pub fn create_temp_dir(dir: &Path, stem: &str) -> std::io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let mut last = None;
    for _ in 0..64 {
        let path = dir.join(format!("{stem}-{}", unique_suffix()));
        match fs::DirBuilder::new().mode(0o700).create(&path) {
            Ok(()) => return Ok(path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => last = Some(e),
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| std::io::ErrorKind::AlreadyExists.into()))
}

/// Renames `from` to `to`, failing when `to` exists (`RENAME_NOREPLACE`;
/// where the file system lacks it, a hard link, which never replaces
/// either, and the removal of `from`).
pub fn rename_new(from: &Path, to: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    match renameat_with(CWD, from, CWD, to, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {
            fs::hard_link(from, to)?;
            fs::remove_file(from)
        }
        Err(e) => Err(e.into()),
    }
}

/// A name part no other call (of this process or another) has made: the
/// process id, a counter and the clock's nanoseconds.
fn unique_suffix() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{:x}-{n:x}-{:x}", std::process::id(), nanos & 0xffff_ffff_ffff)
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
