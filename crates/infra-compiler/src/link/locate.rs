//! Where in its document a link diagnostic belongs. Objects carry only the
//! span of their document; the field that made an edge (a
//! `configMapRef.name`, a `claimName`, a `ref()`) is found again in the
//! document's text, on demand: only diagnostics pay for it.

use infra_k8s::references::Step;
use infra_syntax::{FileId, Node, NodeKind, Sources, Span, yaml};
use std::collections::HashMap;

/// Finds fields in the documents of a build's sources, parsing each file
/// at most once.
pub struct Locator<'s> {
    sources: &'s Sources,
    files: HashMap<FileId, Vec<Node>>,
}

impl<'s> Locator<'s> {
    pub fn new(sources: &'s Sources) -> Locator<'s> {
        Locator { sources, files: HashMap::new() }
    }

    /// The first scalar of the document at `doc` that is one of `needles`
    /// or names it (`${{ ref("ConfigMap/x") }}`), trying the needles in
    /// order; `doc` itself when none is found or `doc` is no document
    /// (already a field's span).
    pub fn field(&mut self, doc: Span, needles: &[&str]) -> Span {
        let Some(document) = self.document(doc) else { return doc };
        needles.iter().filter(|n| !n.is_empty()).find_map(|needle| find_scalar(document, needle)).unwrap_or(doc)
    }

    /// The node at `path` in the document at `doc`: the field itself, or
    /// the expression that made the part of the object it is in (a list
    /// from `${{ params.refs }}`); `None` when the document does not have
    /// that place (a patch added it).
    pub fn at_path<S: PathStep>(&mut self, doc: Span, path: &[S]) -> Option<Span> {
        self.walk(doc, path).map(|(_, value)| value)
    }

    /// The name of the field at `path` (`imagePullPolice:`), where the
    /// field's name is the problem; its value's place when the path ends
    /// in a list item or an expression made the field.
    pub fn key_at_path<S: PathStep>(&mut self, doc: Span, path: &[S]) -> Option<Span> {
        self.walk(doc, path).map(|(key, value)| key.unwrap_or(value))
    }

    /// The document whose span is `doc`, its file parsed once.
    fn document(&mut self, doc: Span) -> Option<&Node> {
        let sources = self.sources;
        let docs = self
            .files
            .entry(doc.file)
            .or_insert_with(|| yaml::load(doc.file, &sources.get(doc.file).text).unwrap_or_default());
        docs.iter().find(|d| d.span == doc)
    }

    /// The key (when the last step reached a written key) and value spans at `path`.
    fn walk<S: PathStep>(&mut self, doc: Span, path: &[S]) -> Option<(Option<Span>, Span)> {
        let mut node = self.document(doc)?;
        let mut key = None;
        for step in path {
            key = None;
            let next = match (step.step(), &node.kind) {
                (Step::Key(k), NodeKind::Map(entries)) => {
                    entries.iter().find(|(name, _)| name.name == k).map(|(name, v)| {
                        key = Some(name.span);
                        v
                    })
                }
                (Step::Index(i), NodeKind::Seq(items)) => items.get(i),
                (_, NodeKind::Str(s, _)) if s.contains("${{") => return Some((None, node.span)),
                _ => None,
            };
            node = next?;
        }
        Some((key, node.span))
    }
}

/// A step of a path into an object, as the reference table and the
/// schemas each write it.
pub trait PathStep {
    fn step(&self) -> Step<'_>;
}

impl PathStep for Step<'static> {
    fn step(&self) -> Step<'_> {
        *self
    }
}

impl PathStep for infra_k8s::schemas::PathStep {
    fn step(&self) -> Step<'_> {
        match self {
            infra_k8s::schemas::PathStep::Key(k) => Step::Key(k),
            infra_k8s::schemas::PathStep::Index(i) => Step::Index(*i),
        }
    }
}

fn find_scalar(node: &Node, needle: &str) -> Option<Span> {
    match &node.kind {
        NodeKind::Str(s, _) if s.as_str() == needle || names(s, needle) => Some(node.span),
        NodeKind::Map(entries) => entries.iter().find_map(|(_, v)| find_scalar(v, needle)),
        NodeKind::Seq(items) => items.iter().find_map(|v| find_scalar(v, needle)),
        _ => None,
    }
}

/// Whether an expression's text names `needle` as a quoted string, as
/// `ref("Kind/name")` does.
fn names(text: &str, needle: &str) -> bool {
    text.contains("${{") && (text.contains(&format!("\"{needle}\"")) || text.contains(&format!("'{needle}'")))
}
