//! Rendering spanned nodes into values: every string's `${{ }}`
//! expressions evaluated in a scope, errors reported at the expression.

use super::expr::{self, Evaluator, ExprError, Scope, Segment};
use infra_syntax::{Code, Diagnostic, Diagnostics, Key, Map, Node, NodeKind, ScalarStyle, Span, Str, Value};

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

    /// Reports why an expression has no value.
    fn failed(&mut self, e: ExprError, source: &str, at: ExprAt, path: YamlPath) {
        let d = match e {
            ExprError::Undefined => {
                at.label(Diagnostic::error(Code::ExpressionFailed, format!("`{source}` is undefined")), "undefined")
            }
            ExprError::Failed(message) => {
                let d = Diagnostic::error(Code::ExpressionFailed, format!("expression failed: {message}"));
                let d = at.label(d, "in this expression");
                if message.contains("undefined") {
                    d.help("the context has `params`, `env.name`, `module.name`, and `item`/`key` inside `for_each`")
                } else {
                    d
                }
            }
            ExprError::Result(message) => {
                at.label(Diagnostic::error(Code::ExpressionFailed, message), "this expression")
            }
            ExprError::Limit { message, help } => {
                at.label(Diagnostic::error(Code::ExpressionFailed, message), "this expression").help(help)
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
                    self.failed(e, source, espan, path);
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
                        self.failed(e, source, espan, path);
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
}

impl ExprAt {
    fn new(scalar: Span, style: ScalarStyle, offset: usize, len: usize) -> ExprAt {
        let one_line = scalar.start.line == scalar.end.line && style != ScalarStyle::Block;
        ExprAt { scalar, within: one_line.then_some((offset as u32, len as u32)) }
    }

    fn label(self, d: Diagnostic, text: &str) -> Diagnostic {
        match self.within {
            Some((offset, len)) => d.at_within(self.scalar, offset, len, text),
            None => d.at(self.scalar, text),
        }
    }
}
