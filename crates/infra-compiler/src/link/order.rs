//! The apply order: a topological order of the graph, ties broken by id so
//! that equal inputs give equal orders; a cycle is an error that prints it.

use super::graph::{Edge, Resource};
use super::locate::Locator;
use infra_k8s::kinds::ObjectId;
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

/// Kahn's algorithm with a min-heap on ids, so equal inputs give equal
/// orders. On a cycle, returns one cycle.
pub(crate) fn topological_order(graph: &DiGraph<Resource, Edge>) -> Result<Vec<NodeIndex>, Vec<NodeIndex>> {
    let mut indegree: Vec<usize> =
        graph.node_indices().map(|n| graph.neighbors_directed(n, petgraph::Incoming).count()).collect();
    let mut ready: BinaryHeap<Reverse<(&ObjectId, NodeIndex)>> =
        graph.node_indices().filter(|n| indegree[n.index()] == 0).map(|n| Reverse((&graph[n].id, n))).collect();
    let mut order = Vec::with_capacity(graph.node_count());
    while let Some(Reverse((_, n))) = ready.pop() {
        order.push(n);
        for m in graph.neighbors_directed(n, petgraph::Outgoing) {
            indegree[m.index()] -= 1;
            if indegree[m.index()] == 0 {
                ready.push(Reverse((&graph[m].id, m)));
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
