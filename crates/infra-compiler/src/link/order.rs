//! The apply order: a topological order of the graph; where the graph
//! leaves a choice, Helm's order (a hook's weight, then the kind's place in
//! Helm's install order), then the id, so that equal inputs give equal
//! orders. A cycle is an error that prints it.

use super::graph::{Edge, Resource};
use super::locate::Locator;
use infra_k8s::annotations::{HELM_HOOK, HELM_HOOK_WEIGHT};
use infra_k8s::kinds::{ObjectId, install_rank};
use infra_syntax::{Code, Diagnostic};
use petgraph::graph::{DiGraph, NodeIndex};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// The apply order, or the error that names a cycle edge by edge.
pub fn apply_order(graph: &DiGraph<Resource, Edge>, locator: &mut Locator) -> Result<Vec<NodeIndex>, Diagnostic> {
    topological_order(graph).map_err(|cycle| {
        let names: Vec<String> = cycle.iter().map(|i| graph[*i].id.short()).collect();
        let mut d = Diagnostic::error(
            Code::DependencyCycle,
            format!("dependency cycle: {} -> {}", names.join(" -> "), names[0]),
        );
        for w in cycle.windows(2).chain(std::iter::once(&[cycle[cycle.len() - 1], cycle[0]][..])) {
            let e = graph.find_edge(w[0], w[1]).map(|e| graph[e].reason.as_ref()).unwrap_or_default();
            // At the field of the dependent that names its dependency.
            let (dependency, dependent) = (&graph[w[0]].id, &graph[w[1]]);
            let written = format!("{}/{}", dependency.kind, dependency.name);
            d = d.at(
                locator.field(dependent.origin, &[&written, &dependency.name]),
                format!("{} depends on {} ({e})", graph[w[1]].id.short(), graph[w[0]].id.short()),
            );
        }
        d
    })
}

/// Where a resource goes among those the graph does not order: a Helm
/// hook by its weight, then by the kind's install rank, then by id.
fn precedence(r: &Resource) -> (i64, usize, &ObjectId) {
    let annotation = |key: &str| r.value.str_at(&["metadata", "annotations", key]);
    let weight = match annotation(HELM_HOOK) {
        Some(_) => annotation(HELM_HOOK_WEIGHT).and_then(|w| w.trim().parse().ok()).unwrap_or(0),
        None => 0,
    };
    (weight, install_rank(&r.id.kind), &r.id)
}

/// Kahn's algorithm with a min-heap on [`precedence`], so equal inputs
/// give equal orders. On a cycle, returns one cycle.
pub(crate) fn topological_order(graph: &DiGraph<Resource, Edge>) -> Result<Vec<NodeIndex>, Vec<NodeIndex>> {
    let mut indegree: Vec<usize> =
        graph.node_indices().map(|n| graph.neighbors_directed(n, petgraph::Incoming).count()).collect();
    let mut ready: BinaryHeap<Reverse<_>> = graph
        .node_indices()
        .filter(|n| indegree[n.index()] == 0)
        .map(|n| Reverse((precedence(&graph[n]), n)))
        .collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(Reverse((_, n))) = ready.pop() {
        order.push(n);
        for m in graph.neighbors_directed(n, petgraph::Outgoing) {
            indegree[m.index()] -= 1;
            if indegree[m.index()] == 0 {
                ready.push(Reverse((precedence(&graph[m]), m)));
            }
        }
    }
    if order.len() == graph.node_count() {
        return Ok(order);
    }
    // Walk backwards along unfinished edges until a node repeats.
    let start = graph
        .node_indices()
        .filter(|n| indegree[n.index()] > 0)
        .min_by_key(|n| &graph[*n].id)
        .expect("a node in a cycle");
    let mut path = vec![start];
    let mut current = start;
    loop {
        let prev = graph
            .neighbors_directed(current, petgraph::Incoming)
            .filter(|p| indegree[p.index()] > 0)
            .min_by_key(|p| &graph[*p].id)
            .expect("a node in a cycle has an unfinished predecessor");
        if let Some(pos) = path.iter().position(|p| *p == prev) {
            let mut cycle: Vec<NodeIndex> = path[pos..].to_vec();
            cycle.reverse();
            return Err(cycle);
        }
        path.push(prev);
        current = prev;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::{FileId, Span, yaml};

    fn resource(text: &str) -> Resource {
        let value = yaml::parse_value(text).unwrap();
        Resource {
            id: ObjectId::of(&value),
            value,
            origin: Span::file(FileId(0)),
            external: false,
            protect: None,
            from: None,
            hash: "".into(),
            verbatim: None,
        }
    }

    fn kinds_in_order(objects: &[&str]) -> Vec<String> {
        let mut graph = DiGraph::new();
        for text in objects {
            graph.add_node(resource(text));
        }
        let order = topological_order(&graph).unwrap();
        order.iter().map(|i| format!("{}/{}", graph[*i].id.kind, graph[*i].id.name)).collect()
    }

    #[test]
    fn unordered_objects_follow_helms_install_order_and_hook_weights() {
        let hook = |kind: &str, name: &str, weight: &str| {
            format!(
                "kind: {kind}\nmetadata: {{name: {name}, annotations: {{helm.sh/hook: pre-install, helm.sh/hook-weight: \"{weight}\"}}}}\n"
            )
        };
        let objects = [
            "kind: ValidatingWebhookConfiguration\nmetadata: {name: a}\n".to_string(),
            "kind: Widget\nmetadata: {name: a}\n".to_string(),
            "kind: Deployment\nmetadata: {name: b}\n".to_string(),
            "kind: CustomResourceDefinition\nmetadata: {name: c}\n".to_string(),
            "kind: ServiceAccount\nmetadata: {name: z}\n".to_string(),
            hook("Job", "create", "1"),
            hook("Role", "create", "-5"),
            hook("Job", "patch", "-5"),
        ];
        let texts: Vec<&str> = objects.iter().map(String::as_str).collect();
        assert_eq!(
            kinds_in_order(&texts),
            [
                "Role/create",
                "Job/patch",
                "ServiceAccount/z",
                "CustomResourceDefinition/c",
                "Deployment/b",
                "ValidatingWebhookConfiguration/a",
                "Widget/a",
                "Job/create",
            ]
        );
    }
}
