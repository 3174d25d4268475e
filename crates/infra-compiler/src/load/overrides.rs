//! Params from the command line: `--values FILE` and `--set path=value`,
//! as spanned nodes of the same shape as an environment's `params:`, so the
//! eval stage checks them (unknown keys with "did you mean", types, schema)
//! like any other, and every message points at the file or the argument.

use infra_syntax::source::{max_source_bytes, read_text};
use infra_syntax::{Code, Diagnostic, Diagnostics, Key, Node, NodeKind, Pos, Sources, Span, yaml};
use std::path::PathBuf;
use std::sync::Arc;

/// Overrides of one run, applied after the environment's params: the
/// `--values` files in order, then `--set`, then `--set-string` (Helm's
/// order).
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub values: Vec<PathBuf>,
    /// `path=value`, the value typed as YAML reads it (`3` is an integer).
    pub set: Vec<String>,
    /// `path=value`, the value always a string.
    pub set_string: Vec<String>,
}

impl Overrides {
    /// The layers to merge, in order; problems are located errors.
    pub fn load(&self, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Node> {
        let mut layers = Vec::new();
        for path in &self.values {
            let display = path.display().to_string();
            let text = match read_text(path, max_source_bytes()) {
                Ok(t) => t,
                Err(why) => {
                    diags.push(
                        Diagnostic::error(Code::CannotRead, format!("cannot read {display}: {why}"))
                            .help("--values names a YAML file of params"),
                    );
                    continue;
                }
            };
            let file = sources.add(path, display.clone(), Arc::from(text.as_str()));
            match yaml::load(file, &text) {
                Ok(docs) => match docs.into_iter().next() {
                    Some(doc) if matches!(doc.kind, NodeKind::Map(_)) => layers.push(doc),
                    Some(doc) if matches!(doc.kind, NodeKind::Null) => {}
                    Some(doc) => diags.push(
                        Diagnostic::error(Code::WrongType, format!("{display} must be a mapping of params"))
                            .at(doc.span, format!("a {}", doc.type_name())),
                    ),
                    None => {}
                },
                Err(d) => diags.push(d),
            }
        }
        for (args, string) in [(&self.set, false), (&self.set_string, true)] {
            for arg in args {
                let flag = if string { "--set-string" } else { "--set" };
                let file = sources.add(std::path::Path::new(flag), flag.to_string(), Arc::from(arg.as_str()));
                match set_node(file, arg, string) {
                    Ok(node) => layers.push(node),
                    Err(d) => diags.push(d.help(format!("write {flag} path.to.param=value, e.g. {flag} replicas=3"))),
                }
            }
        }
        layers
    }
}

/// `a.b=3` as the node `{a: {b: 3}}`, every part spanned in the argument.
fn set_node(file: infra_syntax::FileId, arg: &str, string: bool) -> Result<Node, Diagnostic> {
    let at = |start: usize, end: usize| {
        let col = |i: usize| arg[..i].chars().count() as u32 + 1;
        Span::new(file, Pos { line: 1, col: col(start) }, Pos { line: 1, col: col(end) })
    };
    let Some(eq) = arg.find('=') else {
        return Err(Diagnostic::error(Code::Usage, format!("`{arg}` has no `=`")).at(at(0, arg.len()), "no value"));
    };
    let (path, value_text) = (&arg[..eq], &arg[eq + 1..]);
    if arg.contains('\n') {
        return Err(Diagnostic::error(Code::Usage, "a --set argument is one line").at(at(0, eq), "here"));
    }
    // Params nest no deeper than a file may (20,000 keys overflowed the stack).
    let depth = path.split('.').count();
    if depth > yaml::MAX_DEPTH {
        return Err(Diagnostic::error(
            Code::Usage,
            format!("`--set` path of {depth} keys; params nest at most {} levels", yaml::MAX_DEPTH),
        )
        .at(at(0, eq), "this path"));
    }
    let value = if string {
        Node { kind: NodeKind::Str(value_text.into(), infra_syntax::ScalarStyle::Quoted), span: at(eq + 1, arg.len()) }
    } else {
        // Parsed where it stands: padded to its column, so its span is
        // its place in the argument.
        let padded = format!("{}{value_text}", " ".repeat(arg[..=eq].chars().count()));
        match yaml::load(file, &padded)?.into_iter().next() {
            Some(node) => node,
            None => Node { kind: NodeKind::Null, span: at(eq + 1, arg.len()) },
        }
    };
    // Keys from the innermost out.
    let mut node = value;
    let mut end = eq;
    for key in path.rsplit('.') {
        let start = end - key.len();
        if key.is_empty() {
            return Err(Diagnostic::error(Code::Usage, format!("`{path}` has an empty key")).at(at(start, eq), "here"));
        }
        let span = at(start, end);
        node = Node { kind: NodeKind::Map(vec![(Key { name: key.into(), span }, node)]), span };
        end = start.saturating_sub(1);
    }
    Ok(node)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_arguments_become_spanned_nested_maps() {
        let node = set_node(infra_syntax::FileId(0), "web.replicas=3", false).unwrap();
        let (web, inner) = &node.entries().unwrap()[0];
        assert_eq!((web.name.as_str(), web.span.start.col, web.span.end.col), ("web", 1, 4));
        let (replicas, value) = &inner.entries().unwrap()[0];
        assert_eq!((replicas.name.as_str(), replicas.span.start.col), ("replicas", 5));
        assert!(matches!(value.kind, NodeKind::Int(3)));
        assert_eq!(value.span.start.col, 14);
        let s = set_node(infra_syntax::FileId(0), "tag=3", true).unwrap();
        assert!(matches!(&s.entries().unwrap()[0].1.kind, NodeKind::Str(v, _) if v.as_str() == "3"));
        assert!(set_node(infra_syntax::FileId(0), "a..b=1", false).is_err());
        assert!(set_node(infra_syntax::FileId(0), "novalue", false).is_err());
        let deep = format!("{}=1", vec!["a"; 20_000].join("."));
        let e = set_node(infra_syntax::FileId(0), &deep, false).unwrap_err();
        assert_eq!(e.message, "`--set` path of 20000 keys; params nest at most 200 levels");
    }
}
