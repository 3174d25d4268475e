//! Diagnostics as people and tools read them. For people: rustc-style
//! snippets drawn by annotate-snippets (colour on a terminal, primary and
//! context labels, multi-line spans, display width of wide characters, long
//! lines cut around the mark). For tools: one JSON object per diagnostic.
//! Text from input is never printed raw: control characters (and Unicode
//! bidirectional controls) are escaped, so a name cannot drive a terminal.

use super::{Diagnostic, Diagnostics, Severity};
use crate::source::{Pos, SourceFile, Sources, Span};
use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};
use serde_json::{Value as Json, json};
use std::borrow::Cow;

/// How diagnostics are drawn for people.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub color: bool,
    /// Lines longer than this are cut around the marked text.
    pub width: usize,
}

impl Style {
    pub const PLAIN: Style = Style { color: false, width: 120 };
}

impl Diagnostic {
    /// The diagnostic for people.
    pub fn render(&self, sources: &Sources, style: &Style) -> String {
        let level = match self.severity {
            Severity::Error => Level::ERROR,
            Severity::Warning => Level::WARNING,
        };
        let located: Vec<super::Label> =
            self.labels.iter().map(|l| super::Label { span: l.located(sources), within: None, ..l.clone() }).collect();
        let message = escape(&self.message);
        let mut group = Group::with_title(level.primary_title(message.as_ref()).id(self.code.id()));
        // One snippet per file, labels in the order given; the first is primary.
        let mut files: Vec<u32> = Vec::new();
        for l in &located {
            if !files.contains(&l.span.file.0) {
                files.push(l.span.file.0);
            }
        }
        for file_id in files {
            let labels: Vec<(usize, &super::Label)> =
                located.iter().enumerate().filter(|(_, l)| l.span.file.0 == file_id).collect();
            let file = sources.get(labels[0].1.span.file);
            group = group.element(snippet(file, &labels));
        }
        if let Some(path) = &self.path {
            group = group.element(Level::NOTE.message(format!("at {}", escape(path))));
        }
        for note in &self.notes {
            group = group.element(Level::NOTE.message(escape(note).into_owned()));
        }
        if !self.environments.is_empty() {
            let which = if self.environments.len() == 1 { "environment" } else { "environments" };
            group = group.element(Level::NOTE.message(format!("in {which} {}", escape(&self.environments.join(", ")))));
        }
        if let Some(help) = &self.help {
            group = group.element(Level::HELP.message(escape(help).into_owned()));
        }
        let renderer = if style.color { Renderer::styled() } else { Renderer::plain() };
        renderer.term_width(style.width).render(&[group])
    }

    /// The diagnostic for tools: `severity`, `code`, `message`, `path`,
    /// `labels` (`file`, `line`, `column`, `end_line`, `end_column`, `text`,
    /// `primary`), `notes`, `help`. Lines and columns are 1-based; columns
    /// count characters.
    pub fn to_json(&self, sources: &Sources) -> Json {
        let labels: Vec<Json> = self
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let span = l.located(sources);
                json!({
                    "file": sources.get(span.file).display,
                    "line": span.start.line,
                    "column": span.start.col,
                    "end_line": span.end.line,
                    "end_column": span.end.col,
                    "text": l.text,
                    "primary": i == 0,
                })
            })
            .collect();
        json!({
            "severity": match self.severity { Severity::Error => "error", Severity::Warning => "warning" },
            "code": self.code.id(),
            "message": self.message,
            "path": self.path,
            "labels": labels,
            "notes": self.notes,
            "help": self.help,
            "environments": self.environments,
        })
    }
}

impl Diagnostic {
    /// The diagnostic as a GitHub Actions workflow command (`::error
    /// file=…,line=…::message`), which a pull request shows as an
    /// annotation at that line. Notes and help follow the message; every
    /// value is escaped as the runner requires, so text from a repository
    /// cannot end the command or start another.
    pub fn to_github(&self, sources: &Sources) -> String {
        let data = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
        let property = |s: &str| data(s).replace(':', "%3A").replace(',', "%2C");
        let level = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = Vec::new();
        if let Some(label) = self.labels.first() {
            let span = label.located(sources);
            // Annotations name files from the checkout's root, where the
            // job runs; a file elsewhere keeps the name messages use.
            let file = sources.get(span.file);
            let from_workdir = std::env::current_dir()
                .ok()
                .and_then(|cwd| file.path.strip_prefix(cwd).ok().map(|p| p.to_string_lossy().into_owned()));
            properties.push(format!("file={}", property(from_workdir.as_deref().unwrap_or(&file.display))));
            properties.push(format!("line={}", span.start.line));
            properties.push(format!("col={}", span.start.col));
            properties.push(format!("endLine={}", span.end.line));
        }
        properties.push(format!("title={}", property(&format!("infra {}", self.code.id()))));
        let mut message = escape(&self.message).into_owned();
        for note in &self.notes {
            message.push_str(&format!("\nnote: {}", escape(note)));
        }
        if let Some(help) = &self.help {
            message.push_str(&format!("\nhelp: {}", escape(help)));
        }
        format!("::{level} {}::{}", properties.join(","), data(&message))
    }
}

impl Diagnostics {
    /// Every diagnostic for people, in the order found, each followed by an
    /// empty line.
    pub fn render(&self, sources: &Sources, style: &Style) -> String {
        let mut out = String::new();
        for d in self.iter() {
            out.push_str(&d.render(sources, style));
            out.push_str("\n\n");
        }
        out
    }
}

/// The lines of `file` that `labels` mark, with each label as a byte range
/// into them. A label outside the text (an empty file) becomes an origin
/// line.
fn snippet<'a>(file: &'a SourceFile, labels: &[(usize, &'a super::Label)]) -> annotate_snippets::Element<'a> {
    let first = labels.iter().map(|(_, l)| l.span.start.line).min().unwrap_or(1);
    let last = labels.iter().map(|(_, l)| l.span.end.line.max(l.span.start.line)).max().unwrap_or(first);
    let Some(start) = file.line_start(first) else {
        let l = labels[0].1;
        return Origin::path(file.display.as_str())
            .line(l.span.start.line as usize)
            .char_column(l.span.start.col as usize)
            .into();
    };
    let end = file.line_start(last + 1).map_or(file.text.len(), |e| e.saturating_sub(1));
    let text = redact_secrets(file, first, &sanitize(file.text[start..end.max(start)].trim_end_matches('\r')));
    let mut snippet = Snippet::source(text.clone()).path(file.display.as_str()).line_start(first as usize).fold(true);
    for (i, l) in labels {
        let range = byte_range(&text, first, l.span);
        let kind = if *i == 0 { AnnotationKind::Primary } else { AnnotationKind::Context };
        snippet = snippet.annotation(kind.span(range).label(escape(&l.text).into_owned()));
    }
    snippet.into()
}

/// The byte offset where 1-based line `line` starts.
fn line_offset(text: &str, line: u32) -> Option<usize> {
    if line == 0 {
        return None;
    }
    if line == 1 {
        return Some(0);
    }
    text.match_indices('\n').nth(line as usize - 2).map(|(i, _)| i + 1).filter(|&i| i <= text.len())
}

/// A span as a byte range in `text`, whose first line is line `first`. An
/// empty span marks one character where there is one.
fn byte_range(text: &str, first: u32, span: Span) -> std::ops::Range<usize> {
    let at = |p: Pos| -> usize {
        let Some(line_start) = line_offset(text, p.line.saturating_sub(first) + 1) else { return text.len() };
        let line = &text[line_start..];
        let line = &line[..line.find('\n').unwrap_or(line.len())];
        line_start + line.char_indices().nth(p.col.saturating_sub(1) as usize).map_or(line.len(), |(i, _)| i)
    };
    let start = at(span.start);
    let mut end = if span.end > span.start { at(span.end) } else { start };
    if end <= start {
        end = text[start..].chars().next().filter(|c| *c != '\n').map_or(start, |c| start + c.len_utf8());
    }
    start..end
}

/// Source text safe to print: control characters and bidirectional
/// controls become `?` (one per byte, so offsets stay valid); tabs stay.
fn sanitize(text: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let unsafe_char = (c.is_control() && c != '\t' && c != '\n') || is_bidi_control(c);
            let n = if unsafe_char { c.len_utf8() } else { 0 };
            std::iter::repeat_n('?', n).chain((n == 0).then_some(c))
        })
        .collect()
}

/// The lines of a snippet (the first is line `first`) with the values of
/// Secrets as `*`, one per character so that columns stay where they were.
fn redact_secrets(file: &SourceFile, first: u32, text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let ranges = file.secret_ranges(first + i as u32);
        for (j, c) in line.chars().enumerate() {
            let col = j as u32 + 1;
            let hidden = ranges.iter().any(|&(from, to)| col >= from && col < to);
            out.push(if hidden && !c.is_whitespace() { '*' } else { c });
        }
    }
    out
}

/// Message text safe to print: control characters escaped as `\u{1b}`.
pub fn escape(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() || is_bidi_control(c)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .flat_map(|c| {
                let escaped = c.is_control() || is_bidi_control(c);
                let e: Vec<char> = if escaped { c.escape_default().collect() } else { vec![c] };
                e
            })
            .collect(),
    )
}

fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200E}' | '\u{200F}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Code;
    use crate::source::FileId;
    use std::path::Path;
    use std::sync::Arc;

    fn sources(text: &str) -> (Sources, FileId) {
        let mut s = Sources::new();
        let id = s.add(Path::new("f.yaml"), "f.yaml".into(), Arc::from(text));
        (s, id)
    }

    fn span(file: FileId, l1: u32, c1: u32, l2: u32, c2: u32) -> Span {
        Span::new(file, Pos { line: l1, col: c1 }, Pos { line: l2, col: c2 })
    }

    #[test]
    fn a_label_marks_its_columns() {
        let (s, f) = sources("a: 1\nname: ${{ params.x }}\n");
        let d = Diagnostic::error(Code::ExpressionFailed, "`params.x` is undefined")
            .at(span(f, 2, 7, 2, 22), "undefined")
            .help("the context has `params`");
        let out = d.render(&s, &Style::PLAIN);
        assert_eq!(
            out,
            "error[E110]: `params.x` is undefined\n --> f.yaml:2:7\n  |\n2 | name: ${{ params.x }}\n  |       ^^^^^^^^^^^^^^^ undefined\n  |\n  = help: the context has `params`"
        );
    }

    #[test]
    fn wide_characters_keep_the_caret_under_the_text() {
        let (s, f) = sources("名前: 値段\n");
        let out = Diagnostic::error(Code::WrongType, "x").at(span(f, 1, 5, 1, 7), "here").render(&s, &Style::PLAIN);
        let lines: Vec<&str> = out.lines().collect();
        let source = lines.iter().find(|l| l.starts_with("1 |")).unwrap();
        let marks = lines.iter().find(|l| l.contains('^')).unwrap();
        // Two carets, under the two double-width characters of `値段`.
        let col = |l: &str, pat: &str| unicode_width::UnicodeWidthStr::width(&l[..l.find(pat).unwrap()]);
        assert_eq!(col(source, "値"), col(marks, "^"));
        assert!(marks.contains("^^^^ here"), "{out}");
    }

    #[test]
    fn long_lines_are_cut_around_the_mark() {
        let long = format!("key: {}needle{}\n", "x".repeat(500), "y".repeat(500));
        let (s, f) = sources(&long);
        let out = Diagnostic::error(Code::WrongType, "x").at(span(f, 1, 506, 1, 512), "here").render(&s, &Style::PLAIN);
        assert!(out.lines().all(|l| l.chars().count() <= 130), "{out}");
        assert!(out.contains("needle") && out.contains("^^^^^^ here"), "{out}");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let (s, f) = sources("name: \"\u{1b}[31mred\u{202e}\"\n");
        let d = Diagnostic::error(Code::InvalidIdentity, "`metadata.name` is \u{1b}[31mred")
            .at(span(f, 1, 7, 1, 20), "label \u{7}")
            .note("note \u{1b}]0;title\u{7}");
        let out = d.render(&s, &Style::PLAIN);
        assert!(!out.chars().any(|c| c.is_control() && c != '\n' || is_bidi_control(c)), "{out:?}");
        assert!(out.contains("\\u{1b}[31mred"), "{out}");
        let json = d.to_json(&s).to_string();
        assert!(!json.contains('\u{1b}'), "{json}");
    }

    #[test]
    fn multi_line_spans_and_context_labels() {
        let (s, f) = sources("a:\n  b: 1\n  c: 2\nd: 3\n");
        let d = Diagnostic::error(Code::DuplicateObject, "twice")
            .at(span(f, 4, 1, 4, 5), "second")
            .at(span(f, 1, 1, 3, 7), "first");
        assert_eq!(
            d.render(&s, &Style::PLAIN),
            "error[G200]: twice\n --> f.yaml:4:1\n  |\n1 | / a:\n2 | |   b: 1\n3 | |   c: 2\n  | |______- first\n4 |   d: 3\n  |   ^^^^ second"
        );
    }

    #[test]
    fn json_names_the_primary_label() {
        let (s, f) = sources("a: 1\n");
        let d = Diagnostic::warning(Code::UnknownKey, "m").at(span(f, 1, 1, 1, 2), "x").path("a").suggest("a", ["b"]);
        let j = d.to_json(&s);
        assert_eq!(j["severity"], "warning");
        assert_eq!(j["code"], "L020");
        assert_eq!(j["labels"][0]["primary"], true);
        assert_eq!(j["labels"][0]["file"], "f.yaml");
        assert_eq!(j["path"], "a");
    }
}
