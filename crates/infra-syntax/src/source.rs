//! Source files and positions. Every diagnostic points into a [`Sources`]
//! table by [`FileId`], and every span is a line/column range.

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
}

impl SourceFile {
    /// The text of 1-based line `line`, without its line break.
    pub fn line(&self, line: u32) -> Option<&str> {
        self.text.split('\n').nth(line.checked_sub(1)? as usize).map(|l| l.strip_suffix('\r').unwrap_or(l))
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
        self.files.push(SourceFile { path: path.to_path_buf(), display, text });
        FileId(self.files.len() as u32 - 1)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    pub fn iter(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }
}
