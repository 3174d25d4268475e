//! What the eval stage produces: plain objects with their provenance and
//! the directives of their `infra:` block.

use super::expr::Scope;
use super::render::{Renderer, YamlPath};
use crate::load::shape::DIRECTIVES;
use infra_syntax::{Code, Diagnostic, Diagnostics, Node, NodeKind, ScalarStyle, Span, Value};

/// An evaluated object and what the project said about it.
#[derive(Debug, Clone)]
pub struct Object {
    pub value: Value,
    /// The document it came from.
    pub origin: Span,
    pub directives: Directives,
    /// Where it was made when not written in a resource file: "chart kps:
    /// kube-prometheus-stack/charts/grafana/templates/deployment.yaml".
    pub from: Option<std::sync::Arc<str>>,
    /// The module instance that made it (the innermost), when a module did:
    /// one document of a module used twice makes two objects.
    pub instance: Option<Span>,
    /// A SOPS-encrypted document's text: written out as it is, byte for
    /// byte, since its message authentication code covers what infra would
    /// add (annotations, a namespace, a name suffix).
    pub verbatim: Option<std::sync::Arc<str>>,
}

/// The `infra:` block of a document, evaluated.
#[derive(Debug, Clone, Default)]
pub struct Directives {
    pub depends_on: Vec<(String, Span)>,
    pub hash_suffix: Option<bool>,
    pub protect: Option<bool>,
    pub external: bool,
    /// The workload's state is meant to be lost on restart: no warning.
    pub ephemeral: bool,
    /// A Secret whose values may be in git: no plain-Secret warning.
    pub plain_secret: bool,
    /// Where the workload keeps state (`/path` or `container:/path`), for
    /// software no table knows.
    pub state: Vec<String>,
}

/// Every object of one environment, before the graph.
pub struct Resources {
    pub env: String,
    pub objects: Vec<Object>,
}

impl Directives {
    /// Checks that an `infra:` block is a map of known directives.
    pub fn check_block(block: &Node, diags: &mut Diagnostics) -> bool {
        let Some(fields) = block.entries() else {
            diags.push(
                Diagnostic::error(Code::DirectiveType, "`infra:` is a mapping of directives")
                    .at(block.span, "not a mapping"),
            );
            return false;
        };
        for (k, _) in fields {
            if !DIRECTIVES.has(&k.name) {
                diags.push(
                    Diagnostic::error(Code::UnknownDirective, format!("unknown directive `{}`", k.name))
                        .at(k.span, "not a directive")
                        .path(format!("infra.{}", k.name))
                        .help(format!("directives are {}", DIRECTIVES.keys().collect::<Vec<_>>().join(", ")))
                        .suggest(&k.name, DIRECTIVES.keys()),
                );
                return false;
            }
        }
        true
    }

    /// Evaluates the directives of an object of `kind` (all but `when` and
    /// `for_each`, which decide whether and how often it exists). `None`
    /// after an error that leaves the object undefined.
    pub fn parse(r: &mut Renderer, block: Option<&Node>, scope: &Scope, kind: &str) -> Option<Directives> {
        let directive = |name: &str| block.and_then(|b| b.get(name));
        let mut directives = Directives::default();
        if let Some(node) = directive("depends_on") {
            match r.render(node, scope, YamlPath::Root("infra.depends_on")) {
                Some(Value::Seq(items)) => {
                    for item in items {
                        match item {
                            Value::String(s) => directives.depends_on.push((s.to_string(), node.span)),
                            other => r.diags.push(
                                Diagnostic::error(
                                    Code::DirectiveType,
                                    format!("`depends_on` lists \"Kind/name\" strings, not {}", other.a_type_name()),
                                )
                                .at(node.span, "here"),
                            ),
                        }
                    }
                }
                Some(Value::String(s)) => directives.depends_on.push((s.to_string(), node.span)),
                Some(_) => r.diags.push(
                    Diagnostic::error(Code::DirectiveType, "`depends_on` is a list of \"Kind/name\"")
                        .at(node.span, "not a list"),
                ),
                None => return None,
            }
        }
        if let Some(node) = directive("hash") {
            match r.render(node, scope, YamlPath::Root("infra.hash")) {
                Some(Value::String(s)) if s == "suffix" => directives.hash_suffix = Some(true),
                Some(Value::String(s)) if s == "none" => directives.hash_suffix = Some(false),
                Some(_) => r.diags.push(
                    Diagnostic::error(Code::DirectiveType, "`hash` is `suffix` or `none`")
                        .at(node.span, "not `suffix` or `none`"),
                ),
                None => return None,
            }
            if directives.hash_suffix == Some(true) && !matches!(kind, "ConfigMap" | "Secret") {
                r.diags.push(
                    Diagnostic::error(
                        Code::DirectiveType,
                        format!("`hash: suffix` applies to ConfigMaps and Secrets, not {kind}"),
                    )
                    .at(node.span, "here"),
                );
            }
        }
        if let Some(node) = directive("protect") {
            directives.protect = bool_directive(r, node, "protect", scope);
        }
        if let Some(node) = directive("external") {
            directives.external = bool_directive(r, node, "external", scope).unwrap_or(false);
        }
        if let Some(node) = directive("ephemeral") {
            directives.ephemeral = bool_directive(r, node, "ephemeral", scope).unwrap_or(false);
        }
        if let Some(node) = directive("plain_secret") {
            directives.plain_secret = bool_directive(r, node, "plain_secret", scope).unwrap_or(false);
        }
        if let Some(node) = directive("state") {
            let rendered = r.render(node, scope, YamlPath::Root("infra.state"))?;
            let paths: Option<Vec<String>> = match rendered {
                Value::Seq(items) => items.into_iter().map(|i| i.as_str().map(String::from)).collect(),
                Value::String(s) => Some(vec![s.to_string()]),
                _ => None,
            };
            let valid = |p: &String| {
                let path = p.split_once(":/").map_or(p.as_str(), |(_, rest)| rest);
                (p.starts_with('/') || p.contains(":/")) && !path.contains(',') && !p.chars().any(char::is_control)
            };
            match paths {
                Some(paths) if paths.iter().all(valid) => directives.state = paths,
                _ => r.diags.push(
                    Diagnostic::error(
                        Code::DirectiveType,
                        "`state` lists absolute paths (`/srv/db`, or `container:/srv/db`)",
                    )
                    .at(node.span, "not a list of absolute paths")
                    .path("infra.state"),
                ),
            }
        }
        Some(directives)
    }
}

pub(crate) fn bool_directive(r: &mut Renderer, node: &Node, name: &str, scope: &Scope) -> Option<bool> {
    bool_at(r, node, name, format!("infra.{name}"), scope)
}

/// A bool setting, written as one or as an expression; `path` says where,
/// for messages.
pub(crate) fn bool_at(r: &mut Renderer, node: &Node, name: &str, path: String, scope: &Scope) -> Option<bool> {
    match r.render(node, scope, YamlPath::Root(&path))? {
        Value::Bool(b) => Some(b),
        Value::String(s) => {
            let quoted = matches!(node.kind, NodeKind::Str(_, ScalarStyle::Quoted));
            let mut d =
                Diagnostic::error(Code::DirectiveType, format!("`{name}` must be a bool, but it is the string {s:?}"))
                    .at(node.span, "a string")
                    .path(path);
            if quoted {
                d = d.help("a quoted expression is always a string; drop the quotes");
            }
            r.diags.push(d);
            None
        }
        other => {
            r.diags.push(
                Diagnostic::error(Code::DirectiveType, format!("`{name}` must be a bool, not {}", other.a_type_name()))
                    .at(node.span, "not a bool")
                    .path(path),
            );
            None
        }
    }
}

pub(crate) fn check_object(v: &Value) -> Result<(), &'static str> {
    if v.str_at(&["apiVersion"]).is_none_or(str::is_empty) {
        return Err("no apiVersion");
    }
    if v.str_at(&["kind"]).is_none_or(str::is_empty) {
        return Err("no kind");
    }
    if v.str_at(&["metadata", "name"]).is_none_or(str::is_empty) {
        return Err("no metadata.name");
    }
    Ok(())
}

/// What is known of a document that failed to evaluate: its kind and name
/// where they are written as plain text.
pub struct FailedDocument {
    pub kind: Option<String>,
    pub name: Option<String>,
}

impl FailedDocument {
    pub fn of(doc: &Node) -> FailedDocument {
        let literal = |n: Option<&Node>| n.and_then(Node::as_str).filter(|s| !s.contains("${{")).map(String::from);
        FailedDocument {
            kind: literal(doc.get("kind")),
            name: literal(doc.get("metadata").and_then(|m| m.get("name"))),
        }
    }

    /// Whether the object this document would have made might match a
    /// patch target of this kind and name.
    pub fn might_be(&self, kind: Option<&str>, name: Option<&str>) -> bool {
        let agrees = |known: &Option<String>, wanted: Option<&str>| match (known, wanted) {
            (Some(k), Some(w)) => k == w,
            _ => true,
        };
        agrees(&self.kind, kind) && agrees(&self.name, name)
    }
}
