//! Rendering spanned nodes into values: every string's `${{ }}`
//! expressions evaluated in a scope, errors reported at the expression.

use super::expr::{self, Evaluator, ExprError, Scope, Segment};
use infra_syntax::{Code, Diagnostic, Diagnostics, Key, Map, Node, NodeKind, ScalarStyle, Span, Str, Value};
use std::ops::Range;

/// A YAML path built on the stack and formatted only for messages.
#[derive(Clone, Copy)]
pub enum YamlPath<'a> {
    Root(&'a str),
    Key(&'a YamlPath<'a>, &'a str),
    Index(&'a YamlPath<'a>, usize),
}

impl YamlPath<'_> {
    pub fn render(&self) -> String {
        match self {
            YamlPath::Root(r) => r.to_string(),
            YamlPath::Key(p, k) => {
                let parent = p.render();
                if parent.is_empty() { k.to_string() } else { format!("{parent}.{k}") }
            }
            YamlPath::Index(p, i) => format!("{}[{i}]", p.render()),
        }
    }
}

/// Renders nodes to values in a scope, reporting errors with positions.
pub struct Renderer<'a> {
    pub ev: &'a Evaluator<'a>,
    pub diags: &'a mut Diagnostics,
}

impl Renderer<'_> {
    /// Renders a node. `None` after an error (already reported).
    pub fn render(&mut self, node: &Node, scope: &Scope, path: YamlPath) -> Option<Value> {
        match &node.kind {
            NodeKind::Str(s, style) => self.render_str(s, *style, node.span, scope, path),
            NodeKind::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                let mut ok = true;
                for (i, item) in items.iter().enumerate() {
                    match self.render(item, scope, YamlPath::Index(&path, i)) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Seq(out))
            }
            NodeKind::Map(entries) => {
                let mut out = Map::with_capacity(entries.len());
                let mut ok = true;
                // Written keys are unique (the loader checks); keys with
                // expressions may render to one that is already there, so
                // for them the source key of each entry is kept.
                let mut origins: Option<Vec<&Key>> = entries.iter().any(|(k, _)| k.name.contains("${{")).then(Vec::new);
                for (k, v) in entries {
                    let key = match self.render_str(&k.name, ScalarStyle::Quoted, k.span, scope, path) {
                        Some(Value::String(s)) => s,
                        _ => {
                            ok = false;
                            continue;
                        }
                    };
                    if let Some(first) = out.get_index_of(&key).and_then(|i| Some(origins.as_ref()?[i])) {
                        self.diags.push(
                            Diagnostic::error(Code::DuplicateKey, format!("two keys of this mapping are `{key}`"))
                                .at(k.span, format!("`{key}` here"))
                                .at(first.span, "and here")
                                .path(path.render())
                                .help("each key of a mapping must be different once its expressions are evaluated"),
                        );
                        ok = false;
                        continue;
                    }
                    match self.render(v, scope, YamlPath::Key(&path, &k.name)) {
                        Some(v) => {
                            out.insert(key, v);
                            if let Some(origins) = &mut origins {
                                origins.push(k);
                            }
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Map(out))
            }
            NodeKind::Null => Some(Value::Null),
            NodeKind::Bool(b) => Some(Value::Bool(*b)),
            NodeKind::Int(i) => Some(Value::Int(*i)),
            NodeKind::Float(f) => Some(Value::Float(*f)),
        }
    }

    /// Reports why an expression has no value: the whole expression, and
    /// the part of it that failed when minijinja says which.
    fn failed(&mut self, e: ExprError, source: &str, at: ExprAt, path: YamlPath) {
        const CONTEXT: &str = "the context has `params`, `env.name`, `module.name`, and `item`/`key` inside `for_each`";
        let d = match e {
            ExprError::Undefined => at
                .label(Diagnostic::error(Code::UndefinedInExpression, format!("`{source}` is undefined")), "undefined")
                .help(CONTEXT),
            ExprError::Missing { message, at: part } => {
                let d = at.label(Diagnostic::error(Code::UndefinedInExpression, message), "in this expression");
                at.part(d, source, part, "undefined").help(CONTEXT)
            }
            ExprError::Syntax { message, at: part } => {
                let d = Diagnostic::error(Code::ExpressionSyntax, format!("not an expression: {message}"));
                at.part(at.label(d, "in this expression"), source, part, "here")
            }
            ExprError::Failed { message, at: part } => {
                let d = Diagnostic::error(Code::ExpressionFailed, format!("expression failed: {message}"));
                at.part(at.label(d, "in this expression"), source, part, "this fails")
            }
            ExprError::RefComputed => at.label(
                Diagnostic::error(
                    Code::ExpressionFailed,
                    "a `ref()` is used by a filter, a test or an operation (`| upper`, `| b64encode`, `==`, ...): the final name is known only after the build, so `ref()` can be a whole value or part of a text (`${{ ref('Service/web').name }}:8080`), nothing computed from it",
                ),
                "in this expression",
            ),
            ExprError::Result(e) => at.label(Diagnostic::error(Code::ExpressionFailed, e.to_string()), "this expression"),
            ExprError::Limit { message, help, at: part } => {
                let d = at.label(Diagnostic::error(Code::ExpressionFailed, message), "this expression");
                at.part(d, source, part, "this part").help(help)
            }
            ExprError::NotAllowed { message, at: part, help } => {
                let d = at.label(Diagnostic::error(Code::ExpressionNotAllowed, message), "in this expression");
                at.part(d, source, Some(part), "here").help(help)
            }
            ExprError::Spent => return,
        };
        self.diags.push(d.path(path.render()));
    }

    fn render_str(&mut self, s: &Str, style: ScalarStyle, span: Span, scope: &Scope, path: YamlPath) -> Option<Value> {
        let Some(segs) = expr::segments(s) else {
            return Some(Value::String(s.clone()));
        };
        let mut pieces = segs.peekable();
        let first = pieces.next()?;
        if let (Ok(Segment::Expr { source, offset, len }), None) = (&first, pieces.peek())
            && style == ScalarStyle::Plain
        {
            let espan = ExprAt::new(span, style, *offset, *len);
            return match self.ev.value(source, scope) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.failed(e, source, espan.with_source(s, source), path);
                    None
                }
            };
        }
        let mut out = String::new();
        for seg in std::iter::once(first).chain(pieces) {
            let seg = match seg {
                Ok(seg) => seg,
                Err((offset, msg)) => {
                    self.diags.push(
                        ExprAt::new(span, style, offset, 3)
                            .label(Diagnostic::error(Code::UnclosedExpression, msg), "here")
                            .path(path.render())
                            .help("write `$${{` for a literal `${{`"),
                    );
                    return None;
                }
            };
            match seg {
                Segment::Text(t) => out.push_str(t),
                Segment::Expr { source, offset, len } => {
                    let espan = ExprAt::new(span, style, offset, len);
                    if let Err(e) = self.ev.interpolate(source, scope, &mut out) {
                        self.failed(e, source, espan.with_source(s, source), path);
                        return None;
                    }
                }
            }
        }
        Some(Value::String(out.into()))
    }
}

/// Where an expression is: characters of a scalar's value when the scalar
/// is on one line (the diagnostic finds their columns in the source, past
/// quotes and escapes), the whole scalar otherwise.
#[derive(Clone, Copy)]
struct ExprAt {
    scalar: Span,
    within: Option<(u32, u32)>,
    /// Where the expression's source starts among the scalar's characters.
    source_at: Option<u32>,
}

impl ExprAt {
    fn new(scalar: Span, style: ScalarStyle, offset: usize, len: usize) -> ExprAt {
        let one_line = scalar.start.line == scalar.end.line && style != ScalarStyle::Block;
        ExprAt { scalar, within: one_line.then_some((offset as u32, len as u32)), source_at: None }
    }

    /// Knows where `source`, the expression in `${{ }}` at this place of
    /// `text` (the scalar's value), starts: past `${{` and blanks. Only an
    /// error pays for it: it reads `text` from its start.
    fn with_source(mut self, text: &str, source: &str) -> ExprAt {
        if let Some((offset, _)) = self.within {
            let blanks = text.chars().skip(offset as usize + 3).take_while(|c| c.is_whitespace()).count();
            let starts = text.chars().skip(offset as usize + 3 + blanks).take(source.chars().count());
            if starts.eq(source.chars()) {
                self.source_at = Some(offset + 3 + blanks as u32);
            }
        }
        self
    }

    fn label(self, d: Diagnostic, text: &str) -> Diagnostic {
        match self.within {
            Some((offset, len)) => d.at_within(self.scalar, offset, len, text),
            None => d.at(self.scalar, text),
        }
    }

    /// A second label on the part of the expression at `bytes` of
    /// `source`, where the source is on one line of the file and the part
    /// is not all of it.
    fn part(self, d: Diagnostic, source: &str, bytes: Option<Range<usize>>, text: &str) -> Diagnostic {
        let (Some(start), Some(bytes)) = (self.source_at, bytes) else { return d };
        // The whole expression is labelled already.
        if bytes.start == 0 && bytes.end >= source.len() {
            return d;
        }
        let (Some(before), Some(inside)) = (source.get(..bytes.start), source.get(bytes.clone())) else { return d };
        let len = inside.chars().count().max(1) as u32;
        d.at_within(self.scalar, start + before.chars().count() as u32, len, text)
    }
}
