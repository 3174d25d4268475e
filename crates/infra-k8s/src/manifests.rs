//! A YAML stream as Kubernetes objects: every document an object, `kind:
//! List` (and `*List` with `items`) flattened, empty documents skipped, and
//! every object's identity checked as the API server would, with an error
//! at the offending value.

use infra_syntax::source::{max_source_bytes, read_text};
use infra_syntax::{Code, Diagnostic, Diagnostics, Node, Sources, Value, yaml};
use std::path::Path;
use std::sync::Arc;

/// The objects of every document in `text`. An object whose identity
/// Kubernetes would refuse is reported where its value is written.
pub fn parse(sources: &mut Sources, name: &str, text: String, diags: &mut Diagnostics) -> Vec<Value> {
    let file = sources.add(Path::new(name), name.to_string(), Arc::from(text));
    match yaml::load(file, &sources.get(file).text) {
        Ok(docs) => {
            let mut out = Vec::new();
            for doc in &docs {
                flatten(doc, &mut out, diags);
            }
            out
        }
        Err(d) => {
            diags.push(d);
            Vec::new()
        }
    }
}

fn flatten(node: &Node, out: &mut Vec<Value>, diags: &mut Diagnostics) {
    match node.get("kind").and_then(Node::as_str) {
        Some(kind) if kind == "List" || (kind.ends_with("List") && node.get("items").is_some()) => {
            for item in node.get("items").and_then(Node::items).unwrap_or_default() {
                flatten(item, out, diags);
            }
        }
        None if node.entries().is_none_or(<[_]>::is_empty) => {} // empty or comment-only documents
        _ => {
            let value = node.to_value();
            let problems = crate::kinds::check_identity(&value);
            if problems.is_empty() {
                out.push(value);
            }
            for p in problems {
                diags.push(crate::kinds::identity_error(&p, node.span, Some(node)));
            }
        }
    }
}

/// The objects of a YAML file of at most [`max_source_bytes`].
pub fn read_file(path: &Path, sources: &mut Sources, diags: &mut Diagnostics) -> Vec<Value> {
    match read_text(path, max_source_bytes()) {
        Ok(text) => parse(sources, &path.display().to_string(), text, diags),
        Err(e) => {
            diags.push(Diagnostic::error(Code::CannotRead, format!("cannot read {}: {e}", path.display())));
            Vec::new()
        }
    }
}
