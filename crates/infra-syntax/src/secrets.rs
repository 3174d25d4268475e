//! Where a YAML (or JSON) text shows the values of Secrets, so that a
//! message quoting a line never prints one. Decided from the parse, not
//! from line patterns: a mapping with `kind: Secret` — however it is
//! written (flow style, JSON, quoted keys, a comment after the kind, an
//! item of a `kind: List`) — has its `data` and `stringData` values and its
//! `kubectl.kubernetes.io/last-applied-configuration` annotation (which
//! copies them) redacted; keys stay readable.
//!
//! A text that fails to parse is handled conservatively: values already
//! read in a mapping whose kind is not known to be something else are
//! redacted, and every value from the error to the end of its document is.

use saphyr_parser::{Event, Parser};

/// A redacted range of one line: 1-based character columns, `end`
/// excluded (`u32::MAX`: to the end of the line).
pub type ColumnRange = (u32, u32);

const LAST_APPLIED: &str = "kubectl.kubernetes.io/last-applied-configuration";
const TO_END: u32 = u32::MAX;

/// What a mapping is, for deciding which of its values are secret.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    /// Any mapping: a Secret when its `kind` says so.
    Object,
    /// The value of an object's `data` or `stringData`: every value in it.
    Values,
    /// An object's `metadata`.
    Metadata,
    /// `metadata.annotations`.
    Annotations,
}

/// A range of text: (line, column) of its start and end, both 1-based.
type Region = ((u32, u32), (u32, u32));

struct Frame {
    map: bool,
    role: Role,
    /// The key whose value comes next (maps only).
    key: Option<String>,
    expecting_key: bool,
    /// `kind`, once read.
    kind: Option<String>,
    /// Values that are secret if the enclosing object is a Secret.
    candidates: Vec<Region>,
    /// Where this collection starts, and whether all of it is a candidate
    /// of its parent (a collection under `data`, a non-scalar annotation).
    start: (u32, u32),
    whole: bool,
}

/// For each line of `text` (0-based index), the ranges that show a
/// Secret's value.
pub fn secret_ranges(text: &str) -> Vec<Vec<ColumnRange>> {
    let lines = text.split('\n').count();
    let mut out: Vec<Vec<ColumnRange>> = vec![Vec::new(); lines];
    // Cheap exit: no text that could name the kind.
    if !text.contains("Secret") {
        return out;
    }
    let mut mark = |((l1, c1), (l2, c2)): Region| {
        for line in l1..=l2 {
            let Some(ranges) = out.get_mut(line.saturating_sub(1) as usize) else { continue };
            let from = if line == l1 { c1 } else { 1 };
            let to = if line == l2 { c2 } else { TO_END };
            ranges.push((from, to.max(from + 1)));
        }
    };
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // The line where the last complete event began: what follows it up to
    // an error was never read as YAML.
    let mut last_line = 1;
    let pos = |m: saphyr_parser::Marker| (m.line() as u32, m.col() as u32 + 1);
    while let Some(event) = parser.next_event() {
        let (event, span) = match event {
            Ok(e) => e,
            Err(e) => {
                let at = pos(*e.marker());
                // Values read so far in mappings that may be Secrets.
                for f in &stack {
                    if f.kind.as_deref().is_none_or(|k| k == "Secret") {
                        f.candidates.iter().copied().for_each(&mut mark);
                    }
                }
                // An object open at the error may be a Secret: one that says
                // so, or one that has not said its kind yet — the document
                // itself, or an item of a list (a `kind: List`).
                let might_be_secret = stack.is_empty()
                    || stack.iter().enumerate().any(|(i, f)| {
                        f.map
                            && f.role == Role::Object
                            && match f.kind.as_deref() {
                                Some(k) => k == "Secret",
                                None => i == 0 || !stack[i - 1].map,
                            }
                    });
                if might_be_secret {
                    redact_values_from(text, last_line.min(at.0), &mut mark);
                }
                break;
            }
        };
        let (start, end) = (pos(span.start), pos(span.end));
        last_line = start.0;
        match event {
            Event::DocumentStart(_) => stack.clear(),
            Event::MappingStart(..) | Event::SequenceStart(..) => {
                let map = matches!(event, Event::MappingStart(..));
                let (role, whole) = match stack.last() {
                    Some(p) if p.map => match (p.role, p.key.as_deref()) {
                        (Role::Object, Some("data" | "stringData")) => (Role::Values, false),
                        (Role::Object, Some("metadata")) => (Role::Metadata, false),
                        (Role::Metadata, Some("annotations")) => (Role::Annotations, false),
                        (Role::Values, _) => (Role::Values, true),
                        (Role::Annotations, Some(LAST_APPLIED)) => (Role::Values, true),
                        _ => (Role::Object, false),
                    },
                    Some(p) if p.role == Role::Values => (Role::Values, true),
                    _ => (Role::Object, false),
                };
                let role = if map {
                    role
                } else if role == Role::Values {
                    Role::Values
                } else {
                    Role::Object
                };
                stack.push(Frame {
                    map,
                    role,
                    key: None,
                    expecting_key: true,
                    kind: None,
                    candidates: Vec::new(),
                    start,
                    whole,
                });
            }
            Event::MappingEnd | Event::SequenceEnd => {
                let Some(f) = stack.pop() else { continue };
                let mut passed = match f.role {
                    Role::Object => {
                        if f.kind.as_deref() == Some("Secret") {
                            f.candidates.into_iter().for_each(&mut mark);
                        }
                        Vec::new()
                    }
                    _ => f.candidates,
                };
                if f.whole {
                    passed = vec![(f.start, end)];
                }
                if let Some(parent) = stack.last_mut() {
                    parent.candidates.extend(passed);
                    parent.key = None;
                    parent.expecting_key = true;
                }
            }
            Event::Scalar(..) | Event::Alias(..) if stack.is_empty() => {}
            Event::Scalar(value, ..) => {
                let f = stack.last_mut().expect("checked");
                if f.map && f.expecting_key {
                    f.key = Some(value.to_string());
                    f.expecting_key = false;
                    continue;
                }
                let secret = match (f.role, f.key.as_deref()) {
                    (Role::Values, _) => true,
                    (Role::Object, Some("data" | "stringData")) => true,
                    (Role::Annotations, Some(LAST_APPLIED)) => true,
                    (Role::Object, Some("kind")) => {
                        f.kind = Some(value.to_string());
                        false
                    }
                    _ => false,
                };
                if secret {
                    f.candidates.push((start, end));
                }
                f.key = None;
                f.expecting_key = true;
            }
            Event::Alias(_) => {
                let f = stack.last_mut().expect("checked");
                if f.map && f.expecting_key {
                    f.key = None;
                    f.expecting_key = false;
                } else {
                    f.key = None;
                    f.expecting_key = true;
                }
            }
            _ => {}
        }
    }
    for ranges in &mut out {
        ranges.sort_unstable();
    }
    out
}

/// Redacts the values of lines from `line` to the end of their document
/// (a `---` or `...` line, or the end): after a key's `: `, or the whole
/// content of a line that is no `key:`.
fn redact_values_from(text: &str, line: u32, mark: &mut impl FnMut(Region)) {
    for (i, l) in text.split('\n').enumerate().skip(line.saturating_sub(1) as usize) {
        let n = i as u32 + 1;
        if n > line && (l.starts_with("---") || l.starts_with("...")) {
            break;
        }
        let content = l.len() - l.trim_start().len();
        let from = match l.find(": ") {
            Some(c) => c + 2,
            None if l.trim_end().ends_with(':') => continue,
            None => content,
        };
        if from < l.len() {
            let col = l[..from].chars().count() as u32 + 1;
            mark(((n, col), (n, TO_END)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The text with every redacted character as `*`.
    fn shown(text: &str) -> String {
        let ranges = secret_ranges(text);
        text.split('\n')
            .enumerate()
            .map(|(i, line)| {
                line.chars()
                    .enumerate()
                    .map(|(j, c)| {
                        let col = j as u32 + 1;
                        let hidden = ranges[i].iter().any(|&(a, b)| col >= a && col < b);
                        if hidden && !c.is_whitespace() { '*' } else { c }
                    })
                    .collect::<String>()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn block_secrets_keep_their_keys() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: aHVudGVyMg==\n  user: |\n    admin\n    root\n";
        assert_eq!(
            shown(text),
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata:\n  password: ************\n  user: |\n    *****\n    ****\n"
        );
    }

    #[test]
    fn every_way_of_writing_a_secret() {
        for text in [
            "kind: Secret # creds\nstringData:\n  token: hunter2\n",
            "{kind: Secret, stringData: {token: hunter2}}\n",
            "{\"kind\": \"Secret\", \"stringData\": {\"token\": \"hunter2\"}}\n",
            "\"kind\": 'Secret'\n\"stringData\":\n  \"token\": hunter2\n",
            "stringData:\n  token: hunter2\nkind: Secret\n",
            "kind: List\nitems:\n- kind: ConfigMap\n  data: {a: visible}\n- kind: Secret\n  stringData:\n    token: hunter2\n",
            "kind: Secret\nmetadata:\n  annotations:\n    kubectl.kubernetes.io/last-applied-configuration: '{\"data\":{\"token\":\"hunter2\"}}'\n",
        ] {
            let out = shown(text);
            assert!(!out.contains("hunter2"), "{text}\n→\n{out}");
            assert!(out.contains("token") || out.contains("last-applied"), "{out}");
        }
        let broken = shown("kind: List\nitems:\n- kind: Secret\n  stringData:\n    token: \"hunter2\n");
        assert!(!broken.contains("hunter2"), "{broken}");
        let list = shown(
            "kind: List\nitems:\n- kind: ConfigMap\n  data: {a: visible}\n- kind: Secret\n  stringData: {t: x}\n",
        );
        assert!(list.contains("visible"), "{list}");
    }

    #[test]
    fn other_kinds_are_shown() {
        let text = "kind: ConfigMap\ndata:\n  Secret: plain\n";
        assert_eq!(shown(text), text);
    }

    #[test]
    fn broken_texts_are_redacted_from_the_error_on() {
        let text = "kind: Secret\nstringData:\n  a: one\n  b: [two\n  c: three\n---\nkind: ConfigMap\n";
        let out = shown(text);
        for s in ["one", "two", "three"] {
            assert!(!out.contains(s), "{out}");
        }
    }
}
