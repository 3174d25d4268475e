//! The linked graph of one environment: resources as nodes, dependencies
//! as edges with their reason, and the apply order.

use infra_k8s::kinds::ObjectId;
use infra_syntax::{Span, Str, Value};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;

/// One resource of the graph.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: ObjectId,
    pub value: Value,
    pub origin: Span,
    pub external: bool,
    pub protect: Option<bool>,
    /// Where it was made, when not in a resource file (a chart's template).
    pub from: Option<std::sync::Arc<str>>,
    /// The sha256 of the canonical content (also in the hash annotation).
    pub hash: Str,
    /// Written as this text (a SOPS document), not emitted from `value`.
    pub verbatim: Option<std::sync::Arc<str>>,
}

/// Why one resource depends on another.
#[derive(Debug, Clone)]
pub struct Edge {
    pub reason: Reason,
}

/// The reason of an edge: mostly one of a few fixed words ("volume",
/// "in namespace"), made only for `ref()`.
pub type Reason = std::borrow::Cow<'static, str>;

/// The linked resources of one environment.
pub struct ResourceGraph {
    pub env: String,
    /// The version of the Helm that rendered the project's charts, if any.
    pub helm: Option<String>,
    pub graph: DiGraph<Resource, Edge>,
    /// A topological order, ties broken by id.
    pub order: Vec<NodeIndex>,
}

/// How `infra graph` prints a graph.
#[derive(Debug, Clone, Copy)]
pub enum Format {
    Text,
    Dot,
    Mermaid,
}

impl ResourceGraph {
    /// Resources in apply order.
    pub fn ordered(&self) -> impl Iterator<Item = &Resource> {
        self.order.iter().map(|i| &self.graph[*i])
    }

    /// The resources `i` depends on, with the reason, sorted by id.
    pub fn dependencies(&self, i: NodeIndex) -> Vec<(NodeIndex, &str)> {
        let mut d: Vec<_> = self
            .graph
            .edges_directed(i, petgraph::Incoming)
            .map(|e| (e.source(), e.weight().reason.as_ref()))
            .collect();
        d.sort_by(|a, b| self.graph[a.0].id.cmp(&self.graph[b.0].id));
        d
    }

    /// The graph as text (apply order with dependencies), Graphviz or Mermaid.
    pub fn render(&self, format: Format) -> String {
        use std::fmt::Write;
        let mut out = String::new();
        let label = |i: NodeIndex| {
            let r = &self.graph[i];
            if r.external { format!("{} (external)", r.id.short()) } else { r.id.short() }
        };
        match format {
            Format::Text => {
                for (n, &i) in self.order.iter().enumerate() {
                    let _ = writeln!(out, "{:>3}. {}", n + 1, label(i));
                    for (d, reason) in self.dependencies(i) {
                        let _ = writeln!(out, "       <- {} ({reason})", self.graph[d].id.short());
                    }
                }
            }
            Format::Dot => {
                let _ = writeln!(out, "digraph \"{}\" {{\n  rankdir=LR;\n  node [shape=box];", self.env);
                for &i in &self.order {
                    let _ = writeln!(out, "  n{} [label=\"{}\"];", i.index(), label(i).replace('"', "\\\""));
                }
                for &i in &self.order {
                    for (d, reason) in self.dependencies(i) {
                        let _ = writeln!(
                            out,
                            "  n{} -> n{} [label=\"{}\"];",
                            d.index(),
                            i.index(),
                            reason.replace('"', "\\\"")
                        );
                    }
                }
                out.push_str("}\n");
            }
            Format::Mermaid => {
                out.push_str("graph LR\n");
                for &i in &self.order {
                    let _ = writeln!(out, "  n{}[\"{}\"]", i.index(), label(i).replace('"', "#quot;"));
                }
                for &i in &self.order {
                    for (d, reason) in self.dependencies(i) {
                        let _ =
                            writeln!(out, "  n{} -->|{}| n{}", d.index(), reason.replace(['"', '|'], "'"), i.index());
                    }
                }
            }
        }
        out
    }
}
