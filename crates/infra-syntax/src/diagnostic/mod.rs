//! Diagnostics: plain data pushed by every stage into one collector and
//! rendered only at the edge — for people (rustc-style, through
//! annotate-snippets) or as JSON lines for tools ([`render`]). Every code
//! comes from one registry ([`code`]).

pub mod code;
pub mod render;

use crate::source::{Pos, Sources, Span};
pub use code::Code;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

/// A piece of source a diagnostic points at. The first label of a
/// diagnostic is its primary one; others give context.
#[derive(Debug, Clone)]
pub struct Label {
    pub span: Span,
    pub text: String,
    /// Characters `offset..offset + len` of the value of the one-line
    /// scalar at `span` (an expression inside it): where they are in the
    /// text depends on its quotes and escapes, read from the source when
    /// the diagnostic is shown.
    pub within: Option<(u32, u32)>,
}

impl Label {
    /// The span this label marks in the text.
    pub fn located(&self, sources: &Sources) -> Span {
        let Some((offset, len)) = self.within else { return self.span };
        let naive = self.span.narrow(offset, len);
        let line = sources.get(self.span.file).line(self.span.start.line).unwrap_or_default();
        // Only as far into the line as the label reaches.
        let mut text = line.chars().skip(self.span.start.col as usize - 1).peekable();
        let quote = match text.next() {
            Some(q @ ('"' | '\'')) => q,
            _ => return naive,
        };
        // The source column of each character of the value up to the
        // label's end, and of the character after it.
        let mut columns = Vec::with_capacity((offset + len) as usize + 1);
        let mut col = self.span.start.col + 1;
        while columns.len() <= (offset + len) as usize {
            columns.push(col);
            let width = match (quote, text.next()) {
                (_, None) => break,
                ('\'', Some('\'')) if text.peek() == Some(&'\'') => 2,
                ('"', Some('\\')) => match text.peek() {
                    Some('x') => 4,
                    Some('u') => 6,
                    Some('U') => 10,
                    _ => 2,
                },
                (q, Some(c)) if c == q => break,
                _ => 1,
            };
            // The rest of an escape: its first character is taken above.
            text.by_ref().take(width - 1).for_each(drop);
            col += width as u32;
        }
        match (columns.get(offset as usize), columns.get((offset + len) as usize)) {
            (Some(&start), Some(&end)) => {
                let line = self.span.start.line;
                Span::new(self.span.file, Pos { line, col: start }, Pos { line, col: end })
            }
            _ => naive,
        }
    }
}

/// One message for the user: what is wrong (`message`), where (`labels`,
/// and `path`, the YAML path inside the document), what else to know
/// (`notes`) and what to do (`help`).
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub labels: Vec<Label>,
    pub path: Option<Box<str>>,
    pub notes: Box<[String]>,
    pub help: Option<Box<str>>,
    /// The environments it applies to, when a build has several: one
    /// mistake in a file shared by all of them is reported once.
    pub environments: Box<[String]>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            path: None,
            notes: Box::default(),
            help: None,
            environments: Box::default(),
        }
    }

    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn at(mut self, span: Span, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, text: text.into(), within: None });
        self
    }

    /// A label on characters `offset..offset + len` of the value of the
    /// scalar at `span` (see [`Label::within`]).
    pub fn at_within(mut self, span: Span, offset: u32, len: u32, text: impl Into<String>) -> Diagnostic {
        self.labels.push(Label { span, text: text.into(), within: Some((offset, len)) });
        self
    }

    pub fn path(mut self, path: impl Into<String>) -> Diagnostic {
        let path = path.into();
        if !path.is_empty() {
            self.path = Some(path.into_boxed_str());
        }
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes = std::mem::take(&mut self.notes).into_vec().into_iter().chain([note.into()]).collect();
        self
    }

    /// What to do about it; one per diagnostic (a later one replaces it).
    pub fn help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into().into_boxed_str());
        self
    }

    /// "did you mean `x`?" when one of `candidates` is close to `word`.
    pub fn suggest<'a>(self, word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Diagnostic {
        match did_you_mean(word, candidates) {
            Some(c) => self.help(format!("did you mean `{c}`?")),
            None => self,
        }
    }

    /// The same diagnostic under another code: a generic failure (a path
    /// outside the project) reported where it means something specific.
    pub fn code_as(mut self, code: Code) -> Diagnostic {
        self.code = code;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The candidate closest to `word` by edit distance (a swap of two
/// neighbours counts one, as typos go), if it is close enough to be a
/// likely typo.
pub fn did_you_mean<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let word = word.to_lowercase();
    candidates
        .into_iter()
        .map(|c| (strsim::osa_distance(&word, &c.to_lowercase()), c))
        .filter(|(d, c)| *d <= (c.chars().count().max(word.chars().count()) / 3).max(1))
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
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
    /// Kept as they come: stages ask after every document.
    errors: usize,
}

impl Diagnostics {
    pub fn new() -> Diagnostics {
        Diagnostics::default()
    }

    pub fn push(&mut self, d: Diagnostic) {
        self.errors += usize::from(d.is_error());
        self.items.push(d);
    }

    pub fn has_errors(&self) -> bool {
        self.errors > 0
    }

    pub fn error_count(&self) -> usize {
        self.errors
    }

    pub fn iter(&self) -> impl Iterator<Item = &Diagnostic> {
        self.items.iter()
    }

    pub fn extend(&mut self, other: Diagnostics) {
        self.errors += other.errors;
        self.items.extend(other.items);
    }

    /// Adds what the build of one environment found, once: a diagnostic
    /// equal to one already here (the same mistake, seen by another
    /// environment or another `for_each` item) only adds the environment's
    /// name to it. `env` is `None` when a build has one environment.
    pub fn extend_once(&mut self, other: Diagnostics, env: Option<&str>) {
        let mut seen: std::collections::HashMap<String, usize> =
            self.items.iter().enumerate().map(|(i, d)| (d.identity(), i)).collect();
        for mut d in other.items {
            let i = *seen.entry(d.identity()).or_insert_with(|| {
                d.environments = Box::default();
                self.errors += usize::from(d.is_error());
                self.items.push(d);
                self.items.len() - 1
            });
            let known = &mut self.items[i].environments;
            if let Some(env) = env
                && !known.iter().any(|e| e == env)
            {
                *known = known.iter().cloned().chain([env.to_string()]).collect();
            }
        }
    }
}

impl Diagnostic {
    /// Everything that makes two diagnostics the same message at the same
    /// place, the environments aside.
    fn identity(&self) -> String {
        let labels: Vec<_> =
            self.labels.iter().map(|l| (l.span.file.0, l.span.start, l.span.end, l.within, &l.text)).collect();
        format!(
            "{:?}{:?}{}{labels:?}{:?}{:?}{:?}",
            self.severity, self.code, self.message, self.path, self.notes, self.help
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggestions_are_close_words_only() {
        assert_eq!(did_you_mean("storge", ["storage", "image"]), Some("storage"));
        assert_eq!(did_you_mean("Replica", ["replicas"]), Some("replicas"));
        assert_eq!(did_you_mean("x", ["storage"]), None);
        let d = Diagnostic::error(Code::UnknownParam, "m").suggest("persistance", ["persistence", "enabled"]);
        assert_eq!(d.help.as_deref(), Some("did you mean `persistence`?"));
    }
}
