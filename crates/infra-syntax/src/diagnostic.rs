//! Diagnostics: plain data pushed by every stage into one collector and
//! rendered only at the edge (the CLI), rustc-style, with the source line.

use crate::source::{Sources, Span};
use std::fmt::Write;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A piece of source a diagnostic points at.
#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
    pub text: String,
}

/// One message for the user. `code` is stable and documented in
/// `docs/errors.md`; `path` is the YAML path inside the document, when known.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub path: Option<String>,
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            path: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, text: text.into() });
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Diagnostic {
        let path = path.into();
        if !path.is_empty() {
            self.path = Some(path);
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// Renders the diagnostic as text, with the source line of each label.
    pub fn render(&self, sources: &Sources) -> String {
        let mut out = String::new();
        let word = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let _ = writeln!(out, "{word}[{}]: {}", self.code, self.message);
        let width = self.labels.iter().map(|l| l.span.start.line.to_string().len()).max().unwrap_or(1);
        let pad = " ".repeat(width);
        for (i, label) in self.labels.iter().enumerate() {
            let file = sources.get(label.span.file);
            let start = label.span.start;
            let at_path = match (&self.path, i) {
                (Some(p), 0) => format!(" (at {p})"),
                _ => String::new(),
            };
            let _ = writeln!(out, "{pad}--> {}:{}:{}{at_path}", file.display, start.line, start.col);
            let Some(text) = file.line(start.line) else {
                if !label.text.is_empty() {
                    let _ = writeln!(out, "{pad} = {}", label.text);
                }
                continue;
            };
            let text: String = text.chars().take(200).collect();
            let _ = writeln!(out, "{pad} |");
            let _ = writeln!(out, "{:>width$} | {}", start.line, text.replace('\t', " "));
            let end_col = if label.span.end.line == start.line && label.span.end.col > start.col {
                label.span.end.col
            } else {
                (text.chars().count() as u32 + 1).max(start.col + 1)
            };
            let carets = "^".repeat((end_col - start.col) as usize);
            let indent = " ".repeat(start.col.saturating_sub(1) as usize);
            let _ = writeln!(out, "{pad} | {indent}{carets} {}", label.text);
        }
        if let (true, Some(p)) = (self.labels.is_empty(), &self.path) {
            let _ = writeln!(out, "{pad} = at {p}");
        }
        for note in &self.notes {
            let _ = writeln!(out, "{pad} = {note}");
        }
        out
    }
}

/// `word` with its indefinite article, for messages: "an emptyDir", "a map".
pub fn article(word: &str) -> String {
    if word.starts_with(['a', 'e', 'i', 'o', 'u']) { format!("an {word}") } else { format!("a {word}") }
}

/// The collector every stage pushes into. A stage keeps going after an
/// error where it can, so one run reports every error it finds.
#[derive(Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.items.iter().any(Diagnostic::is_error)
    }

    pub fn error_count(&self) -> usize {
        self.items.iter().filter(|d| d.is_error()).count()
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.items.extend(other.items);
    }

    /// Renders all diagnostics, warnings and errors in the order they were found.
    pub fn render(&self, sources: &Sources) -> String {
        let mut out = String::new();
        for d in &self.items {
            out.push_str(&d.render(sources));
            out.push('\n');
        }
        out
    }
}
