//! YAML in and out. [`load`] parses text into spanned [`Node`]s with the
//! limits hostile input needs (depth, alias expansion, duplicate keys);
//! [`emit`] writes a [`Value`] as deterministic, review-friendly YAML.

use crate::diagnostic::{Code, Diagnostic};
use crate::source::{FileId, Pos, Span};
use crate::value::{KeyIndex, Map, Str, Value};
use saphyr_parser::{Event, Parser, ScalarStyle as YamlStyle};
use std::collections::HashMap;

mod masked;

/// Nesting deeper than this is refused: no real manifest comes close, and
/// it keeps every recursive walk of a tree within the stack.
pub const MAX_DEPTH: usize = 200;
/// Nodes the anchors and aliases of one file may copy ("billion laughs"):
/// an anchor keeps a copy of its node, an alias makes another. Nodes
/// written out are bounded by the file's size limit instead.
pub const MAX_ALIAS_NODES: usize = 2_000_000;

/// How a string scalar was written: it decides whether `${{ x }}` yields
/// a typed value (plain) or a string (quoted or block).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScalarStyle {
    Plain,
    Quoted,
    Block,
}

#[derive(Debug, Clone)]
pub struct Key {
    pub name: Str,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct Node {
    pub kind: NodeKind,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub enum NodeKind {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Str, ScalarStyle),
    Seq(Vec<Node>),
    Map(Vec<(Key, Node)>),
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries()?.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
    }

    /// Moves the value of `key` out, leaving null with the same span: for
    /// a large subtree that has one owner from now on.
    pub fn take(&mut self, key: &str) -> Option<Node> {
        let NodeKind::Map(entries) = &mut self.kind else { return None };
        let (_, value) = entries.iter_mut().find(|(k, _)| k.name == key)?;
        let span = value.span;
        Some(std::mem::replace(value, Node { kind: NodeKind::Null, span }))
    }

    pub fn entries(&self) -> Option<&[(Key, Node)]> {
        match &self.kind {
            NodeKind::Map(e) => Some(e),
            _ => None,
        }
    }

    pub fn items(&self) -> Option<&[Node]> {
        match &self.kind {
            NodeKind::Seq(items) => Some(items),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            NodeKind::Str(s, _) => Some(s),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self.kind, NodeKind::Null)
    }

    /// The node as a plain value, strings taken literally.
    pub fn to_value(&self) -> Value {
        match &self.kind {
            NodeKind::Null => Value::Null,
            NodeKind::Bool(b) => Value::Bool(*b),
            NodeKind::Int(i) => Value::Int(*i),
            NodeKind::Float(f) => Value::Float(*f),
            NodeKind::Str(s, _) => Value::String(s.clone()),
            NodeKind::Seq(items) => Value::Seq(items.iter().map(Node::to_value).collect()),
            NodeKind::Map(entries) => Value::Map(entries.iter().map(|(k, v)| (k.name.clone(), v.to_value())).collect()),
        }
    }

    /// Like [`Node::to_value`], moving the strings instead of copying them.
    pub fn into_value(self) -> Value {
        match self.kind {
            NodeKind::Seq(items) => Value::Seq(items.into_iter().map(Node::into_value).collect()),
            NodeKind::Map(entries) => Value::Map(entries.into_iter().map(|(k, v)| (k.name, v.into_value())).collect()),
            _ => self.to_value(),
        }
    }

    /// A word for the node's type, as in [`Value::type_name`].
    pub fn type_name(&self) -> &'static str {
        match &self.kind {
            NodeKind::Null => "null",
            NodeKind::Bool(_) => "bool",
            NodeKind::Int(_) => "integer",
            NodeKind::Float(_) => "number",
            NodeKind::Str(..) => "string",
            NodeKind::Seq(_) => "list",
            NodeKind::Map(_) => "map",
        }
    }

    fn size(&self) -> usize {
        match &self.kind {
            NodeKind::Seq(items) => 1 + items.iter().map(Node::size).sum::<usize>(),
            NodeKind::Map(entries) => 1 + entries.iter().map(|(_, v)| 1 + v.size()).sum::<usize>(),
            _ => 1,
        }
    }
}

fn pos(m: saphyr_parser::Marker) -> Pos {
    Pos { line: m.line() as u32, col: m.col() as u32 + 1 }
}

enum Frame {
    Seq {
        items: Vec<Node>,
        start: Pos,
        anchor: usize,
    },
    Map {
        entries: Vec<(Key, Node)>,
        /// Finds the keys of a long mapping, for the duplicate check.
        index: KeyIndex,
        merges: Vec<Node>,
        key: Option<PendingKey>,
        start: Pos,
        anchor: usize,
    },
}

fn names(entries: &[(Key, Node)]) -> impl ExactSizeIterator<Item = &Str> + DoubleEndedIterator {
    entries.iter().map(|(k, _)| &k.name)
}

/// A mapping key waiting for its value: an ordinary key, or a plain `<<`
/// (a quoted `"<<"` is an ordinary key).
enum PendingKey {
    Key(Key),
    Merge,
}

/// Parses every document of a YAML stream. Empty documents are `Null`.
/// `${{ … }}` is one token wherever a plain scalar may be, flow
/// collections included (see [`masked`]).
pub fn load(file: FileId, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let mut text = std::borrow::Cow::Borrowed(text);
    // A last line of only spaces without its line break reads, for
    // Kubernetes, as if it had one; our parser would keep it as one more
    // empty line of a block scalar (`|` giving "x\n\n", not "x\n").
    let last = &text[text.rfind('\n').map_or(0, |i| i + 1)..];
    if !last.is_empty() && last.bytes().all(|b| b == b' ' || b == b'\t') {
        text.to_mut().push('\n');
    }
    // A closing `]` or `}` indented less than its block (a chart's
    // `command: [` ... `]` lined up with `command`) is refused by our
    // parser and read by Kubernetes' (libyaml's): the line is indented to
    // its neighbour's depth and read again. Only that line's columns move.
    for _ in 0..MAX_REINDENTED_LINES {
        match load_masked(file, &text) {
            Err(e) => match reindent_closer(&text, &e) {
                Some(fixed) => text = std::borrow::Cow::Owned(fixed),
                None => return Err(e),
            },
            ok => return ok,
        }
    }
    load_masked(file, &text)
}

/// Lines a text may have re-indented (see [`load`]).
const MAX_REINDENTED_LINES: usize = 100;

/// `text` with the flow collection's closing line at the error indented
/// like the line before it, when that is what the error is about.
fn reindent_closer(text: &str, error: &Diagnostic) -> Option<String> {
    if error.code != Code::InvalidYaml || !error.message.ends_with("invalid indentation") {
        return None;
    }
    let at = error.labels.first()?.span.start;
    let lines: Vec<&str> = text.split('\n').collect();
    let i = (at.line as usize).checked_sub(1)?;
    let line = lines.get(i)?;
    let body = line.trim_start_matches(' ');
    if !body.starts_with([']', '}']) {
        return None;
    }
    let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
    let previous = lines[..i].iter().rev().find(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))?;
    let want = indent(previous);
    if want <= indent(line) {
        return None;
    }
    let mut out = String::with_capacity(text.len() + want);
    for (n, l) in lines.iter().enumerate() {
        if n > 0 {
            out.push('\n');
        }
        if n == i {
            out.push_str(&" ".repeat(want));
            out.push_str(body);
        } else {
            out.push_str(l);
        }
    }
    Some(out)
}

fn load_masked(file: FileId, text: &str) -> Result<Vec<Node>, Diagnostic> {
    let error = match load_events(file, text, None) {
        Ok(docs) => return Ok(docs),
        Err(e) => e,
    };
    let Some(mut masked) = masked::Masked::new(text).filter(|_| error.code == Code::InvalidYaml) else {
        return Err(error);
    };
    let masked_text = std::mem::take(&mut masked.text);
    // Still not YAML: the error of the masked text points at the real
    // problem, not at the first expression.
    load_events(file, &masked_text, Some(&mut masked)).map_err(|error| {
        error.help("an expression in a flow collection must be the whole value or inside a plain one (`{port: ${{ params.port }}}`); otherwise write the collection in block style, one key per line")
    })
}

fn load_events(file: FileId, text: &str, mut masked: Option<&mut masked::Masked>) -> Result<Vec<Node>, Diagnostic> {
    let mut parser = Parser::new_from_str(text);
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    // Nodes copied by anchors and aliases so far.
    let mut copied = 0usize;
    let mut root: Option<Node> = None;
    let span_of = |s: saphyr_parser::Span| Span::new(file, pos(s.start), pos(s.end));
    let err = |p: Pos, msg: String| {
        let span = Span::new(file, p, Pos { line: p.line, col: p.col + 1 });
        Diagnostic::error(Code::InvalidYaml, format!("invalid YAML: {msg}")).at(span, "here")
    };
    let charge = |copied: usize, size: usize, at: Pos| {
        let copied = copied + size;
        if copied > MAX_ALIAS_NODES {
            return Err(err(
                at,
                format!("anchors and aliases copy more than {MAX_ALIAS_NODES} nodes (an alias bomb?)"),
            ));
        }
        Ok(copied)
    };

    // The text of the last scalar, for keys (see below).
    let mut raw: Option<String> = None;
    while let Some(event) = parser.next_event() {
        let (event, span) = event.map_err(|e| {
            let info = match e.info() {
                "recursion limit exceeded" => "nesting too deep",
                info => info,
            };
            err(pos(*e.marker()), info.to_string())
        })?;
        let sp = span_of(span);
        let finished: Node = match event {
            Event::DocumentStart(_) => {
                // Anchors belong to their document.
                root = None;
                anchors.clear();
                continue;
            }
            Event::DocumentEnd => {
                docs.push(root.take().unwrap_or(Node { kind: NodeKind::Null, span: sp }));
                continue;
            }
            Event::SequenceStart(anchor, ref tag) | Event::MappingStart(anchor, ref tag) => {
                let what = if matches!(event, Event::SequenceStart(..)) { "seq" } else { "map" };
                check_tag(tag.as_deref(), &[what]).map_err(|m| err(sp.start, m))?;
                if stack.len() >= MAX_DEPTH {
                    return Err(err(sp.start, format!("nesting deeper than {MAX_DEPTH} levels")));
                }
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { items: Vec::new(), start: sp.start, anchor }
                } else {
                    Frame::Map {
                        entries: Vec::new(),
                        index: KeyIndex::default(),
                        merges: Vec::new(),
                        key: None,
                        start: sp.start,
                        anchor,
                    }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor) = match stack.pop() {
                    Some(Frame::Seq { items, start, anchor }) => {
                        (Node { kind: NodeKind::Seq(items), span: Span::new(file, start, sp.end) }, anchor)
                    }
                    Some(Frame::Map { mut entries, mut index, merges, start, anchor, .. }) => {
                        for m in merges {
                            merge_into(&mut entries, &mut index, m)?;
                        }
                        (Node { kind: NodeKind::Map(entries), span: Span::new(file, start, sp.end) }, anchor)
                    }
                    None => return Err(err(sp.start, "unbalanced collection".into())),
                };
                if anchor > 0 {
                    let size = node.size();
                    copied = charge(copied, size, node.span.start)?;
                    anchors.insert(anchor, (node.clone(), size));
                }
                node
            }
            Event::Scalar(text, style, anchor, tag) => {
                check_tag(tag.as_deref(), &["str"]).map_err(|m| err(sp.start, m))?;
                let forced_string = tag.is_some();
                let restored = masked.as_deref_mut().and_then(|m| m.restore(&text));
                let written = restored.as_deref().unwrap_or(&text);
                let kind = scalar(written, style, forced_string).map_err(|why| {
                    Diagnostic::error(Code::InvalidYaml, format!("invalid YAML: {why}"))
                        .at(sp, "this number")
                        .help("quote it if it is text")
                })?;
                // A key that is not a string is judged by how it was written.
                raw = (!matches!(kind, NodeKind::Str(..))).then(|| written.to_string());
                let node = Node { kind, span: sp };
                if anchor > 0 {
                    anchors.insert(anchor, (node.clone(), 1));
                }
                node
            }
            Event::Alias(id) => {
                let Some((node, size)) = anchors.get(&id) else {
                    return Err(err(sp.start, "alias to an unknown anchor (anchors belong to their document)".into()));
                };
                copied = charge(copied, *size, sp.start)?;
                Node { kind: node.kind.clone(), span: sp }
            }
            Event::StreamStart | Event::StreamEnd | Event::Nothing => continue,
        };
        match stack.last_mut() {
            None => root = Some(finished),
            Some(Frame::Seq { items, .. }) => items.push(finished),
            Some(Frame::Map { entries, index, merges, key, .. }) => match key.take() {
                None => {
                    // Kubernetes keeps a key it reads as a bool or number
                    // under its own spelling of it (`1` stays "1"): such a
                    // key is that string. One it would rename (`on:` to
                    // "true", `0755:` to "493") is refused here, at its place.
                    let (name, merge) = match &finished.kind {
                        NodeKind::Str(s, style) => (s.clone(), s == "<<" && *style == ScalarStyle::Plain),
                        NodeKind::Seq(_) | NodeKind::Map(_) => {
                            return Err(Diagnostic::error(Code::BadKey, "a mapping key must be a scalar")
                                .at(finished.span, "complex key"));
                        }
                        NodeKind::Null => {
                            return Err(Diagnostic::error(
                                Code::BadKey,
                                "a mapping key is null, which Kubernetes refuses",
                            )
                            .at(finished.span, "a null key")
                            .help("quote the key if it is text"));
                        }
                        other => {
                            let written = raw.take().unwrap_or_default();
                            let stored = kubernetes_key(other);
                            if stored == written {
                                (Str::new(&written), false)
                            } else {
                                return Err(Diagnostic::error(
                                    Code::BadKey,
                                    format!(
                                        "Kubernetes reads the key `{written}` as {} and stores it as \"{stored}\"",
                                        crate::article(finished.type_name())
                                    ),
                                )
                                .at(finished.span, "not a string")
                                .help(format!("quote the key (`'{written}':`) if it is the text `{written}`")));
                            }
                        }
                    };
                    if merge {
                        *key = Some(PendingKey::Merge);
                        continue;
                    }
                    if let Some((first, _)) = index.find(names(entries), &name).map(|i| &entries[i]) {
                        return Err(Diagnostic::error(Code::DuplicateKey, format!("duplicate key `{name}`"))
                            .at(finished.span, "second definition")
                            .at(first.span, "first defined here"));
                    }
                    *key = Some(PendingKey::Key(Key { name, span: finished.span }));
                }
                Some(PendingKey::Merge) => merges.push(finished),
                Some(PendingKey::Key(k)) => {
                    entries.push((k, finished));
                    index.pushed(names(entries));
                }
            },
        }
    }
    Ok(docs)
}

/// Tags: only the core schema's that change nothing but force a type this
/// loader knows (`!!str` on a scalar, `!!map`, `!!seq`); any other would
/// be ignored silently, so it is an error.
fn check_tag(tag: Option<&saphyr_parser::Tag>, allowed: &[&str]) -> Result<(), String> {
    let Some(t) = tag else { return Ok(()) };
    let core = t.handle == "tag:yaml.org,2002:" || t.handle == "!!";
    if core && allowed.contains(&t.suffix.as_str()) {
        return Ok(());
    }
    Err(format!(
        "the tag `{}{}` is not supported here: remove it (quote a value to make it a string)",
        t.handle, t.suffix
    ))
}

/// The first document of a text as a plain value (`Null` when empty).
pub fn parse_value(text: &str) -> Result<Value, Diagnostic> {
    Ok(load(FileId(0), text)?.first().map_or(Value::Null, Node::to_value))
}

/// YAML 1.1 merge keys (`<<: *defaults`): keys already present win.
fn merge_into(entries: &mut Vec<(Key, Node)>, index: &mut KeyIndex, node: Node) -> Result<(), Diagnostic> {
    let sources = match node.kind {
        NodeKind::Map(_) => vec![node],
        NodeKind::Seq(items) => items,
        _ => {
            return Err(Diagnostic::error(Code::BadKey, "`<<` merges a mapping or a list of mappings")
                .at(node.span, "not a mapping"));
        }
    };
    for source in sources {
        let NodeKind::Map(more) = source.kind else {
            return Err(Diagnostic::error(Code::BadKey, "`<<` merges a mapping or a list of mappings")
                .at(source.span, "not a mapping"));
        };
        for (k, v) in more {
            if index.find(names(entries), &k.name).is_none() {
                entries.push((k, v));
                index.pushed(names(entries));
            }
        }
    }
    Ok(())
}

/// A scalar as a node. An integer past ±2^63 is an error: Kubernetes would
/// read it as another number (a float), and infra never changes a value
/// silently.
fn scalar(text: &str, style: YamlStyle, forced_string: bool) -> Result<NodeKind, String> {
    let style = match style {
        YamlStyle::Plain => ScalarStyle::Plain,
        YamlStyle::SingleQuoted | YamlStyle::DoubleQuoted => ScalarStyle::Quoted,
        YamlStyle::Literal | YamlStyle::Folded => ScalarStyle::Block,
    };
    if style != ScalarStyle::Plain || forced_string {
        return Ok(NodeKind::Str(Str::new(text), style));
    }
    match resolve_plain(text) {
        Some(NodeKind::Float(f)) if f.is_nan() && !text.to_ascii_lowercase().contains("nan") => {
            Err(format!("`{text}` is an integer beyond the 64-bit range (±9223372036854775807)"))
        }
        // A float no 64-bit value holds is not a float to Kubernetes
        // either: go-yaml keeps the text (`1e400` is a string).
        Some(NodeKind::Float(f)) if f.is_infinite() && !text.to_ascii_lowercase().contains("inf") => {
            Ok(NodeKind::Str(Str::new(text), style))
        }
        Some(kind) => Ok(kind),
        None => Ok(NodeKind::Str(Str::new(text), style)),
    }
}

/// A plain scalar as Kubernetes reads it. The API server and kubectl read
/// manifests with `sigs.k8s.io/yaml`, which resolves scalars with go-yaml
/// v2's rules (YAML 1.1, and Go's number syntax), so these are the rules,
/// case for case:
///
/// - words: `~`, `null`, `Null`, `NULL` and nothing are null; `y`, `yes`,
///   `true`, `on` (and `Y`, `Yes`, `YES`, `True`, `TRUE`, `On`, `ON`) are
///   true, `n`, `no`, `false`, `off` (same casings) false; `.inf`, `.nan`
///   and their casings and signs are floats;
/// - a scalar that starts with a digit or a sign is, with its underscores
///   removed, an integer in Go's syntax (`0755` is octal 493, `0o17`,
///   `0x1F`, `0b101`, `+12`), else a float (`1e3`, `1.`, `09`, `1_0.5`),
///   else a string (`1:20`, `2001-12-14`, `0x-1`);
/// - one that starts with `.` is a float when it reads as one (`.5`);
/// - anything else is a string.
///
/// An integer beyond 64 bits reads as NaN, which [`scalar`] refuses.
fn resolve_plain(t: &str) -> Option<NodeKind> {
    match t {
        "" | "~" | "null" | "Null" | "NULL" => return Some(NodeKind::Null),
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            return Some(NodeKind::Bool(true));
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            return Some(NodeKind::Bool(false));
        }
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Some(NodeKind::Float(f64::INFINITY));
        }
        "-.inf" | "-.Inf" | "-.INF" => return Some(NodeKind::Float(f64::NEG_INFINITY)),
        ".nan" | ".NaN" | ".NAN" => return Some(NodeKind::Float(f64::NAN)),
        _ => {}
    }
    match t.as_bytes()[0] {
        b'.' => is_decimal_float(t).then(|| t.parse::<f64>().ok().map(NodeKind::Float)).flatten(),
        b'0'..=b'9' | b'+' | b'-' => {
            let plain = if t.contains('_') {
                std::borrow::Cow::Owned(t.replace('_', ""))
            } else {
                std::borrow::Cow::Borrowed(t)
            };
            match go_int(&plain) {
                Some(Ok(i)) => Some(NodeKind::Int(i)),
                Some(Err(())) => Some(NodeKind::Float(f64::NAN)),
                None if is_decimal_float(&plain) => plain.parse::<f64>().ok().map(NodeKind::Float),
                None => None,
            }
        }
        _ => None,
    }
}

/// The key Kubernetes stores for a key it reads as a non-string, as
/// `sigs.k8s.io/yaml` writes it: `true`, `493`, and floats as Go's
/// `strconv.FormatFloat(f, 'g', -1, 32)` (`1.5`, `1e+06`, `-.inf`).
fn kubernetes_key(kind: &NodeKind) -> String {
    match kind {
        NodeKind::Null => String::new(),
        NodeKind::Bool(b) => b.to_string(),
        NodeKind::Int(i) => i.to_string(),
        NodeKind::Float(f) if f.is_nan() => ".nan".into(),
        NodeKind::Float(f) if f.is_infinite() => if *f > 0.0 { ".inf" } else { "-.inf" }.into(),
        NodeKind::Float(f) => go_format_g(*f as f32),
        NodeKind::Str(s, _) => s.to_string(),
        NodeKind::Seq(_) | NodeKind::Map(_) => String::new(),
    }
}

/// Go's `%g` of a float32 with the fewest digits that read back: `%e`
/// form (`2.5e+10`, two exponent digits at least) when the exponent is
/// below -4 or at least 6 (Go's `eprec` for the shortest form), else `%f`.
fn go_format_g(f: f32) -> String {
    if f == 0.0 {
        return if f.is_sign_negative() { "-0".into() } else { "0".into() };
    }
    // Rust's `{:e}` is the shortest form that reads back: `2.5e10`.
    let e = format!("{f:e}");
    let (mantissa, exp) = e.split_once('e').unwrap_or((&e, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let (sign, mantissa) = match mantissa.strip_prefix('-') {
        Some(m) => ("-", m),
        None => ("", mantissa),
    };
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    if !(-4..6).contains(&exp) {
        let rest = if digits.len() > 1 { format!(".{}", &digits[1..]) } else { String::new() };
        return format!("{sign}{}{rest}e{}{:02}", &digits[..1], if exp < 0 { '-' } else { '+' }, exp.abs());
    }
    let point = exp + 1;
    let fixed = if point <= 0 {
        format!("0.{}{digits}", "0".repeat((-point) as usize))
    } else if point as usize >= digits.len() {
        format!("{digits}{}", "0".repeat(point as usize - digits.len()))
    } else {
        format!("{}.{}", &digits[..point as usize], &digits[point as usize..])
    };
    format!("{sign}{fixed}")
}

/// An integer in Go's syntax (`strconv.ParseInt(s, 0, 64)`): an optional
/// sign, then `0x`, `0o` or `0b` and digits of that base, or `0` and octal
/// digits, or decimal digits. `None` when it is not one, `Some(Err)` when
/// it is one beyond 64 bits.
fn go_int(s: &str) -> Option<Result<i64, ()>> {
    let (negative, unsigned) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let prefix = unsigned.as_bytes().get(..2).map(|p| (p[0], p[1].to_ascii_lowercase()));
    let (radix, digits) = match prefix {
        Some((b'0', b'x')) => (16, &unsigned[2..]),
        Some((b'0', b'o')) => (8, &unsigned[2..]),
        Some((b'0', b'b')) => (2, &unsigned[2..]),
        _ if unsigned.len() > 1 && unsigned.starts_with('0') => (8, &unsigned[1..]),
        _ => (10, unsigned),
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u128::from_str_radix(digits, radix).ok();
    let value = magnitude.and_then(|m| {
        let m = i128::try_from(m).ok()?;
        i64::try_from(if negative { -m } else { m }).ok()
    });
    Some(value.ok_or(()))
}

/// `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`: go-yaml's floats.
fn is_decimal_float(t: &str) -> bool {
    is_float(t.strip_prefix(['-', '+']).unwrap_or(t))
}

/// `(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`
fn is_float(t: &str) -> bool {
    let (mant, exp) = match t.find(['e', 'E']) {
        Some(i) => (&t[..i], Some(&t[i + 1..])),
        None => (t, None),
    };
    let mant_ok = match mant.split_once('.') {
        Some((a, b)) => {
            a.bytes().all(|c| c.is_ascii_digit())
                && b.bytes().all(|c| c.is_ascii_digit())
                && !(a.is_empty() && b.is_empty())
        }
        None => !mant.is_empty() && mant.bytes().all(|c| c.is_ascii_digit()),
    };
    let exp_ok = exp.is_none_or(|e| {
        let d = e.strip_prefix(['-', '+']).unwrap_or(e);
        !d.is_empty() && d.bytes().all(|c| c.is_ascii_digit())
    });
    mant_ok && exp_ok
}

// ---------------------------------------------------------------------------
// Emitter
// ---------------------------------------------------------------------------

/// Writes one value as a YAML document (no `---`). Maps and lists are in
/// block style, empty ones in flow style; multi-line strings are literal
/// blocks so that a one-line change stays a one-line diff.
pub fn emit(value: &Value) -> String {
    let mut out = String::with_capacity(1024);
    emit_into(&mut out, value);
    out
}

/// [`emit`], appended to `out`.
pub fn emit_into(out: &mut String, value: &Value) {
    match value {
        Value::Map(m) if !m.is_empty() => emit_map(out, m, 0, false),
        Value::Seq(s) if !s.is_empty() => emit_seq(out, s, 0, false),
        other => {
            emit_inline(out, other, 0);
            out.push('\n');
        }
    }
}

fn indent(out: &mut String, n: usize) {
    const SPACES: &str = "                                                                ";
    let mut n = n;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.push_str(&SPACES[..k]);
        n -= k;
    }
}

/// YAML readers refuse an implicit key of more than 1024 characters; a
/// longer one (after escaping) is written as an explicit `? key`, with
/// room to spare for readers that count differently.
const LONGEST_IMPLICIT_KEY: usize = 1000;

fn emit_map(out: &mut String, map: &Map, n: usize, inline_first: bool) {
    for (i, (k, v)) in map.iter().enumerate() {
        if !(i == 0 && inline_first) {
            indent(out, n);
        }
        let at = out.len();
        write_plain_or_quoted(out, k);
        if out.len() - at > LONGEST_IMPLICIT_KEY && out[at..].chars().count() > LONGEST_IMPLICIT_KEY {
            out.insert_str(at, "? ");
            out.push('\n');
            indent(out, n);
        }
        out.push(':');
        emit_value_after_key(out, v, n);
    }
}

fn emit_value_after_key(out: &mut String, v: &Value, n: usize) {
    match v {
        Value::Map(m) if !m.is_empty() => {
            out.push('\n');
            emit_map(out, m, n + 2, false);
        }
        Value::Seq(s) if !s.is_empty() => {
            out.push('\n');
            emit_seq(out, s, n + 2, false);
        }
        other => {
            out.push(' ');
            emit_inline(out, other, n);
            out.push('\n');
        }
    }
}

fn emit_seq(out: &mut String, seq: &[Value], n: usize, inline_first: bool) {
    for (i, v) in seq.iter().enumerate() {
        if !(i == 0 && inline_first) {
            indent(out, n);
        }
        out.push_str("- ");
        match v {
            Value::Map(m) if !m.is_empty() => emit_map(out, m, n + 2, true),
            Value::Seq(s) if !s.is_empty() => emit_seq(out, s, n + 2, true),
            other => {
                emit_inline(out, other, n);
                out.push('\n');
            }
        }
    }
}

/// A scalar or empty collection; `n` is the indentation of its parent, for
/// literal blocks.
fn emit_inline(out: &mut String, v: &Value, n: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i) => {
            use std::fmt::Write;
            let _ = write!(out, "{i}");
        }
        Value::Float(f) => out.push_str(&format_float(*f)),
        Value::String(s) => write_string(out, s, n),
        Value::Seq(_) => out.push_str("[]"),
        Value::Map(_) => out.push_str("{}"),
    }
}

/// Floats always read back as floats: `1.0`, `.inf`, `.nan`.
pub fn format_float(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 { ".inf".into() } else { "-.inf".into() }
    } else {
        let s = f.to_string();
        if s.contains(['.', 'e', 'E']) { s } else { format!("{s}.0") }
    }
}

fn write_string(out: &mut String, s: &str, n: usize) {
    if s.contains('\n') && literal_safe(s) {
        let trailing = s.len() - s.trim_end_matches('\n').len();
        out.push('|');
        if s.starts_with(' ') {
            out.push('2');
        }
        out.push_str(match trailing {
            0 => "-",
            1 => "",
            _ => "+",
        });
        let body = s.strip_suffix('\n').unwrap_or(s);
        for line in body.split('\n') {
            out.push('\n');
            if !line.is_empty() {
                indent(out, n + 2);
                out.push_str(line);
            }
        }
        // The caller ends the line.
        return;
    }
    write_plain_or_quoted(out, s);
}

fn literal_safe(s: &str) -> bool {
    !s.trim().is_empty()
        && !s.starts_with('\n')
        && s.chars().all(|c| c == '\n' || (printable(c) && c != '\r'))
        // A line of only spaces before the first text line would confuse
        // indentation detection; such rare strings are double-quoted.
        && !s.split('\n').next().is_some_and(|l| l.trim().is_empty())
}

fn printable(c: char) -> bool {
    c == '\t' || !(c.is_control() || matches!(c, '\u{feff}' | '\u{2028}' | '\u{2029}' | '\u{fffe}' | '\u{ffff}'))
}

/// Writes a one-line string as the emitter writes it: plain when that reads
/// back as the same string, else quoted.
pub fn write_scalar(out: &mut String, s: &str) {
    write_plain_or_quoted(out, s);
}

/// Whether `s`, written plain, reads back as the string `s`.
pub fn is_plain_string(s: &str) -> bool {
    plain_safe(s)
}

fn write_plain_or_quoted(out: &mut String, s: &str) {
    if plain_safe(s) {
        out.push_str(s);
    } else if s.chars().all(|c| printable(c) && c != '\t') {
        out.push('\'');
        for (i, part) in s.split('\'').enumerate() {
            if i > 0 {
                out.push_str("''");
            }
            out.push_str(part);
        }
        out.push('\'');
    } else {
        write_double_quoted(out, s);
    }
}

fn write_double_quoted(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if !printable(c) => {
                let code = c as u32;
                if code <= 0xff {
                    out.push_str(&format!("\\x{code:02x}"));
                } else {
                    out.push_str(&format!("\\u{code:04x}"));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether a YAML 1.1 or 1.2 parser could read `s` as a number or a
/// timestamp: ints, floats, `0x`/`0o`/`0b` forms, sexagesimal `1:30`, dates.
fn looks_numeric(s: &str) -> bool {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    let Some(first) = unsigned.chars().next() else {
        return false;
    };
    if !(first.is_ascii_digit() || first == '.') {
        return false;
    }
    let b = unsigned.as_bytes();
    if b.len() > 1 && b[0] == b'0' && matches!(b[1], b'x' | b'o' | b'b' | b'X' | b'O' | b'B') {
        return true;
    }
    let date = b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    date || unsigned.chars().all(|c| c.is_ascii_digit() || "_.:eE+-".contains(c))
}

/// Whether `s` can be written plain and reads back as the same string under
/// both YAML 1.1 (Kubernetes' parsers) and 1.2: never what this loader
/// resolves to another type (`.inf`, `0x10`, `null`), nor what a 1.1 parser
/// would (`yes`, `1:30`, dates).
fn plain_safe(s: &str) -> bool {
    let bytes = s.as_bytes();
    let Some(&first) = bytes.first() else { return false };
    if matches!(
        first,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
            | b' '
    ) || matches!(bytes.last(), Some(b' ' | b':'))
        // At the start of a line, `...` ends the document (found by fuzzing).
        || s.starts_with("...")
    {
        return false;
    }
    // One pass: no control characters, no `: ` or ` #`, printable text.
    let mut prev = 0u8;
    let mut ascii = true;
    for &b in bytes {
        if b < 0x20 || b == 0x7f || (prev == b':' && b == b' ') || (prev == b' ' && b == b'#') {
            return false;
        }
        ascii &= b < 0x80;
        prev = b;
    }
    if !ascii && !s.chars().all(printable) {
        return false;
    }
    // Most strings start with a letter: no number or timestamp does, and
    // only a few short words read as something else.
    if !first.is_ascii_alphabetic() && (looks_numeric(s) || resolve_plain(s).is_some()) {
        return false;
    }
    // YAML 1.1 booleans and null (1.2's too), in any case.
    s.len() > 5
        || !matches!(first.to_ascii_lowercase(), b't' | b'f' | b'y' | b'n' | b'o' | b'~' | b'<' | b'=')
        || !["true", "false", "yes", "no", "on", "off", "y", "n", "null", "~", "<<", "="]
            .iter()
            .any(|w| s.eq_ignore_ascii_case(w))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &Value) -> Value {
        let text = emit(v);
        let docs = load(FileId(0), &text).unwrap_or_else(|e| panic!("{text}\n{e:?}"));
        docs[0].to_value()
    }

    #[test]
    fn closing_brackets_lined_up_with_their_key_are_read_as_kubernetes_does() {
        // openbao-helm's preStop command, as the chart renders it.
        let text = "spec:\n  lifecycle:\n    preStop:\n      exec:\n        command: [\n          \"/bin/sh\", \"-c\",\n          # a comment\n          \"sleep 5\",\n        ]\n  next: 1\n";
        let docs = load(FileId(0), text).unwrap();
        let v = docs[0].to_value();
        let command = v.pointer(&["spec", "lifecycle", "preStop", "exec", "command"]).unwrap();
        assert_eq!(command.as_seq().unwrap().len(), 3);
        assert_eq!(v.pointer(&["spec", "next"]), Some(&Value::Int(1)));
        // Real indentation mistakes stay errors.
        assert!(load(FileId(0), "a:\n  b: 1\n c: 2\n").is_err());
    }

    #[test]
    fn strings_that_look_like_other_types_are_quoted() {
        for s in [
            "true",
            "no",
            "On",
            "1.0",
            "0x1f",
            "007",
            "1e3",
            ".5",
            "",
            " x",
            "x ",
            "a: b",
            "a #b",
            "-",
            "- x",
            "null",
            "~",
            "@x",
            "'q'",
            "\"dq\"",
            "tab\there",
            "bell\u{7}",
            "2024-01-01",
            "2001-12-14t21:59:43.10-05:00",
            "1:30",
            "0b101",
            "+1",
            "-.5",
            "1_000",
            "50m",
            "7bca76",
            "1.2.3",
        ] {
            let mut m = Map::new();
            m.insert("k", Value::String(s.into()));
            let v = Value::Map(m);
            assert_eq!(round_trip(&v), v, "{s:?} emitted as {}", emit(&v));
        }
    }

    #[test]
    fn strings_that_cannot_be_numbers_stay_plain() {
        for s in ["50m", "64Mi", "7bca76ff", "nginx:1.27", "v1", "a-b", "x.y"] {
            let mut out = String::new();
            write_plain_or_quoted(&mut out, s);
            assert_eq!(out, s);
        }
    }

    #[test]
    fn multi_line_strings_are_literal_blocks_and_round_trip() {
        for s in ["a\nb\n", "a\nb", "a\nb\n\n\n", "  indented\nnext\n", "x\n\n  y\n", "{{ $labels.instance }}\n"] {
            let mut m = Map::new();
            m.insert("k", Value::String(s.into()));
            m.insert("after", Value::Int(1));
            let v = Value::Seq(vec![Value::Map(m.clone()), Value::Map(m)]);
            let text = emit(&v);
            assert!(text.contains("k: |"), "{text}");
            assert_eq!(round_trip(&v), v, "{s:?} emitted as\n{text}");
        }
    }

    /// Found by fuzzing: a key of 300 backspaces is 1,200 characters once
    /// escaped, past what a reader takes as an implicit key.
    #[test]
    fn long_keys_are_explicit_keys() {
        let long = "\u{8}".repeat(300);
        let mut inner = Map::new();
        inner.insert(long.as_str(), Value::Int(1));
        inner.insert("short", Value::Int(2));
        let mut outer = Map::new();
        outer.insert(long.as_str(), Value::Map(inner.clone()));
        let v = Value::Seq(vec![Value::Map(inner), Value::Map(outer)]);
        let text = emit(&v);
        assert!(text.starts_with("- ? \"\\x08"), "{text}");
        assert_eq!(round_trip(&v), v, "{text}");
    }

    #[test]
    fn a_document_end_marker_is_quoted() {
        let v = Value::from("... {");
        assert_eq!(emit(&v), "'... {'\n");
        assert_eq!(round_trip(&v), v);
    }

    #[test]
    fn nested_collections_round_trip() {
        let text = "a:\n  - b: 1\n    c: [1, 2]\n  - - x\n    - y\n  - {}\nd: []\ne: 1.0\nf: -3\n";
        let v = load(FileId(0), text).unwrap()[0].to_value();
        assert_eq!(round_trip(&v), v);
        assert_eq!(
            emit(&v),
            "a:\n  - b: 1\n    c:\n      - 1\n      - 2\n  - - x\n    - true\n  - {}\nd: []\ne: 1.0\nf: -3\n"
        );
    }

    #[test]
    fn plain_scalars_resolve_as_kubernetes_reads_them() {
        // go-yaml v2 under sigs.k8s.io/yaml: YAML 1.1 words, Go's numbers
        // (checked against Helm, which reads values with the same library,
        // by tests/yaml_oracle.rs).
        let text = "[1, -2, 0x10, 0o7, 1.5, .inf, true, yes, null, ~, '1', 1.2.3, 0755, -0755, 1_000, 0b101, +12, 09, 078, 1e3, 1_0.5, .5, 1:20, 2001-12-14, 0x-1, 0o19, on, Off, y, N, yES]";
        let v = load(FileId(0), text).unwrap()[0].to_value();
        let expected = Value::Seq(vec![
            Value::Int(1),
            Value::Int(-2),
            Value::Int(16),
            Value::Int(7),
            Value::Float(1.5),
            Value::Float(f64::INFINITY),
            Value::Bool(true),
            Value::Bool(true),
            Value::Null,
            Value::Null,
            "1".into(),
            "1.2.3".into(),
            Value::Int(493),
            Value::Int(-493),
            Value::Int(1000),
            Value::Int(5),
            Value::Int(12),
            Value::Float(9.0),
            Value::Float(78.0),
            Value::Float(1000.0),
            Value::Float(10.5),
            Value::Float(0.5),
            "1:20".into(),
            "2001-12-14".into(),
            "0x-1".into(),
            "0o19".into(),
            Value::Bool(true),
            Value::Bool(false),
            Value::Bool(true),
            Value::Bool(false),
            "yES".into(),
        ]);
        assert_eq!(v, expected);
    }

    #[test]
    fn hostile_input_is_refused_with_a_position() {
        let deep = "[".repeat(100_000);
        let e = load(FileId(0), &deep).unwrap_err();
        assert!(e.message.contains("nesting"), "{}", e.message);
        let bomb = "a: &a [x,x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nf: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e,*e]\ng: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f,*f]\n";
        let e = load(FileId(0), bomb).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{}", e.message);
        let e = load(FileId(0), "a: 1\na: 2\n").unwrap_err();
        assert_eq!(e.code, Code::DuplicateKey);
        assert_eq!(e.labels[0].span.start, Pos { line: 2, col: 1 });
    }

    #[test]
    fn merge_keys_merge() {
        let v = load(FileId(0), "base: &b {x: 1, z: 2}\nm:\n  <<: *b\n  z: 3\n").unwrap()[0].to_value();
        assert_eq!(v.pointer(&["m", "x"]), Some(&Value::Int(1)));
        assert_eq!(v.pointer(&["m", "z"]), Some(&Value::Int(3)));
    }
}
