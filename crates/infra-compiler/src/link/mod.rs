//! The graph stage: objects become nodes identified by
//! `group/kind/namespace/name`, references become edges (explicit
//! `depends_on` and `ref()`, and those inferred from well-known fields),
//! ConfigMaps and Secrets get hash suffixes with every reference rewritten,
//! content hashes are stamped, and a deterministic apply order is computed.

use crate::eval::expr::{self, RefField};
use crate::eval::{Object, Resources};
pub mod hash;

use crate::parallel;
use infra_k8s::annotations;
use infra_k8s::kinds::ObjectId;
use infra_k8s::references;
use infra_k8s::workloads::pod_template_path;
use infra_syntax::{Diagnostic, Diagnostics, Map, Span, Value};
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::EdgeRef;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};

/// Namespaces every cluster has; referring to them is never unresolved.
const BUILTIN_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// One resource of the graph.
#[derive(Debug, Clone)]
pub struct Resource {
    pub id: ObjectId,
    pub value: Value,
    pub origin: Span,
    pub external: bool,
    pub protect: Option<bool>,
    /// Marked `ephemeral: true`: losing its state is intended.
    pub ephemeral: bool,
    /// The sha256 of the canonical content (also in the hash annotation).
    pub hash: String,
}

/// Why one resource depends on another.
#[derive(Debug, Clone)]
pub struct Edge {
    pub reason: String,
}

/// The linked resources of one environment.
pub struct ResourceGraph {
    pub env: String,
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
            .map(|e| (e.source(), e.weight().reason.as_str()))
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

pub struct LinkOptions {
    pub strict: bool,
    pub hashing_suffix: bool,
}

/// A reference found in an object: target kind, group, namespace and name.
struct Reference {
    kind: &'static str,
    group: &'static str,
    namespace: String,
    name: String,
    reason: &'static str,
    /// `optional: true` references are not reported when missing.
    optional: bool,
}

pub fn link(resources: Resources, opts: &LinkOptions, diags: &mut Diagnostics) -> Option<ResourceGraph> {
    let errors_before = diags.error_count();
    let Resources { env, objects, .. } = resources;
    let mut objects = objects;

    // Ids and duplicates.
    let mut by_id: BTreeMap<ObjectId, usize> = BTreeMap::new();
    for (i, o) in objects.iter().enumerate() {
        let id = ObjectId::of(&o.value);
        if let Some(&first) = by_id.get(&id) {
            diags.push(
                Diagnostic::error("G200", format!("{} is defined twice", id.short()))
                    .at(o.origin, "second definition")
                    .at(objects[first].origin, "first definition")
                    .note("help: names must be unique per kind and namespace; inside modules use `${{ module.name }}`"),
            );
            continue;
        }
        by_id.insert(id, i);
    }
    if diags.error_count() > errors_before {
        return None;
    }

    // Hash suffixes: ConfigMaps and Secrets renamed after their content.
    let mut renames: HashMap<(String, String, String), String> = HashMap::new();
    for o in &mut objects {
        let id = ObjectId::of(&o.value);
        let wants = o.directives.hash_suffix.unwrap_or(opts.hashing_suffix);
        if !wants
            || o.directives.external
            || !id.group.is_empty()
            || !matches!(id.kind.as_str(), "ConfigMap" | "Secret")
        {
            continue;
        }
        let new_name = format!("{}-{}", id.name, &content_digest(&o.value)[..10]);
        if let Some(meta) = o.value.get("metadata").is_some().then(|| o.value.map_entry("metadata")) {
            meta.insert("name".into(), Value::String(new_name.clone()));
        }
        renames.insert((id.kind, id.namespace, id.name), new_name);
    }

    // Index by final kind, namespace and name (one entry per API group that
    // has it); the original names of renamed objects resolve too.
    let mut index: NameIndex = HashMap::with_capacity(objects.len() + 16);
    let mut ids = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        let id = ObjectId::of(&o.value);
        index.entry((id.kind.clone(), id.namespace.clone(), id.name.clone())).or_default().push(i);
        ids.push(id);
    }
    for ((kind, ns, old), new) in &renames {
        if let Some(found) = index.get(&(kind.clone(), ns.clone(), new.clone())).cloned() {
            index.entry((kind.clone(), ns.clone(), old.clone())).or_default().extend(found);
        }
    }

    let crds: HashMap<(String, String), usize> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.value.str_at(&["kind"]) == Some("CustomResourceDefinition"))
        .filter_map(|(i, o)| {
            let group = o.value.str_at(&["spec", "group"])?;
            let kind = o.value.str_at(&["spec", "names", "kind"])?;
            Some(((group.to_string(), kind.to_string()), i))
        })
        .collect();

    let mut edges: Vec<(usize, usize, String)> = Vec::new();
    let mut unresolved: BTreeMap<String, (usize, Span, usize)> = BTreeMap::new();
    let mut note_unresolved = |target: String, from: usize, span: Span| {
        let e = unresolved.entry(target).or_insert((from, span, 0));
        e.2 += 1;
    };

    // Each object's references are found, rewritten and resolved on its
    // own, so this runs in parallel; results are merged in object order.
    let mut numbered: Vec<(usize, &mut Object)> = objects.iter_mut().enumerate().collect();
    let context = LinkContext { ids: &ids, index: &index, renames: &renames, crds: &crds };
    let links = parallel::map_mut(&mut numbered, |(i, o)| link_object(*i, o, &context));
    for (i, l) in links.into_iter().enumerate() {
        edges.extend(l.edges.into_iter().map(|(j, reason)| (j, i, reason)));
        for (target, span) in l.unresolved {
            note_unresolved(target, i, span);
        }
        for d in l.errors {
            diags.push(d);
        }
    }

    for (target, (from, span, count)) in &unresolved {
        let more = if *count > 1 { format!(" (and {} more references)", count - 1) } else { String::new() };
        let msg = format!("{} refers to {target}, which is not in the project{more}", ids[*from].short());
        let d = if opts.strict { Diagnostic::error("G202", msg) } else { Diagnostic::warning("G202", msg) };
        diags.push(d.at(*span, "referenced here").note(format!(
            "help: define {target} in the project, or declare it with `infra: {{external: true}}` if it exists in the cluster"
        )));
    }

    // Config hashes: each pod template digests the ConfigMaps and Secrets it uses.
    let mut config_refs: HashMap<usize, Vec<usize>> = HashMap::new();
    for (from, to, _) in &edges {
        let kind = ids[*from].kind.as_str();
        if matches!(kind, "ConfigMap" | "Secret") && pod_template_path(&ids[*to].kind).is_some() {
            config_refs.entry(*to).or_default().push(*from);
        }
    }
    for (workload, mut used) in config_refs {
        used.sort_by(|a, b| ids[*a].cmp(&ids[*b]));
        used.dedup();
        let mut digest_input = String::new();
        for j in used {
            let part = if objects[j].directives.external { String::new() } else { content_digest(&objects[j].value) };
            digest_input.push_str(&format!("{} {part}\n", ids[j]));
        }
        let digest = hash::sha256_hex(digest_input.as_bytes());
        let kind = ids[workload].kind.clone();
        if let Some(path) = pod_template_path(&kind) {
            set_annotation_at(&mut objects[workload].value, path, annotations::CONFIG_HASH, digest);
        }
    }

    // Build the graph and order it.
    let mut graph: DiGraph<Resource, Edge> = DiGraph::with_capacity(objects.len(), edges.len());
    for o in objects.iter_mut().filter(|o| o.directives.protect == Some(false)) {
        set_annotation_at(&mut o.value, &[], annotations::PROTECT, "false".into());
    }
    let hashes = parallel::map_mut(&mut objects, |o| {
        let hash = stamp_hash(&mut o.value);
        output_order(&mut o.value);
        hash
    });
    for ((o, id), hash) in objects.into_iter().zip(ids).zip(hashes) {
        let Object { value, origin, directives } = o;
        graph.add_node(Resource {
            id,
            value,
            origin,
            external: directives.external,
            protect: directives.protect,
            ephemeral: directives.ephemeral,
            hash,
        });
    }
    edges.sort();
    edges.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    for (from, to, reason) in edges {
        if from != to {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), Edge { reason });
        }
    }
    let order = match topological_order(&graph) {
        Ok(order) => order,
        Err(cycle) => {
            let names: Vec<String> = cycle.iter().map(|i| graph[*i].id.short()).collect();
            let mut d = Diagnostic::error("G201", format!("dependency cycle: {} -> {}", names.join(" -> "), names[0]));
            for w in cycle.windows(2).chain(std::iter::once(&[cycle[cycle.len() - 1], cycle[0]][..])) {
                let e = graph.find_edge(w[0], w[1]).map(|e| graph[e].reason.clone()).unwrap_or_default();
                d = d.at(
                    graph[w[1]].origin,
                    format!("{} depends on {} ({e})", graph[w[1]].id.short(), graph[w[0]].id.short()),
                );
            }
            diags.push(d);
            return None;
        }
    };
    if diags.error_count() > errors_before {
        return None;
    }
    Some(ResourceGraph { env, graph, order })
}

/// What linking found for one object.
struct ObjectLinks {
    /// (dependency, reason)
    edges: Vec<(usize, String)>,
    unresolved: Vec<(String, Span)>,
    errors: Vec<Diagnostic>,
}

/// The shared, read-only lookups of linking.
struct LinkContext<'a> {
    ids: &'a [ObjectId],
    index: &'a NameIndex,
    renames: &'a HashMap<(String, String, String), String>,
    crds: &'a HashMap<(String, String), usize>,
}

/// Finds an object's references (rewriting hash-suffixed names and `ref()`
/// markers in place) and resolves them to graph nodes.
fn link_object(i: usize, object: &mut Object, cx: &LinkContext) -> ObjectLinks {
    let LinkContext { ids, index, renames, crds } = *cx;
    let mut links = ObjectLinks { edges: Vec::new(), unresolved: Vec::new(), errors: Vec::new() };
    let own_ns = ids[i].namespace.clone();
    let origin = object.origin;
    let external = object.directives.external;
    // The namespace it lives in, and the references of well-known fields,
    // rewritten to final names.
    let mut refs = Vec::new();
    if !own_ns.is_empty() {
        refs.push(Reference {
            kind: "Namespace",
            group: "",
            namespace: String::new(),
            name: own_ns.clone(),
            reason: "in namespace",
            optional: false,
        });
    }
    references::visit_references(&mut object.value, &own_ns, &mut |r| {
        if r.group.is_empty()
            && let Some(new) = renames.get(&(r.kind.to_string(), r.namespace.clone(), r.name.clone()))
        {
            *r.name = new.clone();
        }
        refs.push(Reference {
            kind: r.kind,
            group: r.group,
            namespace: r.namespace,
            name: r.name.clone(),
            reason: r.reason,
            optional: r.optional,
        });
    });
    for r in refs {
        let found = index.get(&(r.kind.to_string(), r.namespace.clone(), r.name.clone()));
        match found.and_then(|c| c.iter().copied().find(|&j| ids[j].group == r.group)) {
            Some(j) => links.edges.push((j, r.reason.to_string())),
            None if r.optional || external => {}
            None if r.kind == "Namespace" && BUILTIN_NAMESPACES.contains(&r.name.as_str()) => {}
            None if r.kind == "ServiceAccount" && r.name == "default" => {}
            None => {
                let target = if r.namespace.is_empty() {
                    format!("{}/{}", r.kind, r.name)
                } else {
                    format!("{}/{}/{}", r.kind, r.namespace, r.name)
                };
                links.unresolved.push((target, origin));
            }
        }
    }
    // Custom resources depend on their CRD when the project defines it.
    if let Some(&j) = crds.get(&(ids[i].group.clone(), ids[i].kind.clone())) {
        links.edges.push((j, "custom resource of this CRD".into()));
    }
    for (target, span) in &object.directives.depends_on {
        match resolve_target(target, &own_ns, index, ids) {
            Ok(j) => links.edges.push((j, "depends_on".into())),
            Err(TargetError::Missing) => links.unresolved.push((target.clone(), *span)),
            Err(TargetError::Invalid(msg)) => {
                links.errors.push(Diagnostic::error("G203", msg).at(*span, "in depends_on"))
            }
        }
    }
    // ref() markers: resolved to final names and namespaces.
    let mut failures = Vec::new();
    object.value.for_each_string_mut(&mut |s| {
        if !s.contains(expr::REF_OPEN) {
            return;
        }
        let mut out = String::new();
        let mut last = 0;
        for (range, field, target) in expr::ref_markers(s) {
            out.push_str(&s[last..range.start]);
            last = range.end;
            match resolve_target(target, &own_ns, index, ids) {
                Ok(j) => {
                    links.edges.push((j, format!("ref(\"{target}\")")));
                    out.push_str(match field {
                        RefField::Name => &ids[j].name,
                        RefField::Namespace => &ids[j].namespace,
                    });
                }
                Err(e) => {
                    failures.push((target.to_string(), e));
                    // Unresolved: the name as written, in the referrer's namespace.
                    let written = target.rsplit('/').next().unwrap_or(target);
                    out.push_str(match field {
                        RefField::Name => written,
                        RefField::Namespace => &own_ns,
                    });
                }
            }
        }
        out.push_str(&s[last..]);
        *s = out;
    });
    for (target, e) in failures {
        match e {
            TargetError::Missing => links.unresolved.push((target, origin)),
            TargetError::Invalid(msg) => {
                links.errors.push(Diagnostic::error("G203", msg).at(origin, "in a ref() of this document"))
            }
        }
    }
    links
}

enum TargetError {
    Missing,
    Invalid(String),
}

/// Objects by kind, namespace and name: one per API group that has them.
type NameIndex = HashMap<(String, String, String), Vec<usize>>;

/// Resolves `Kind/name` (preferring the referrer's namespace, then a
/// cluster-scoped object, then a unique match) or `Kind/namespace/name`.
/// `Kind.group` names an API group; a bare `Kind` found in several groups
/// means the core group, as in kubectl.
fn resolve_target(target: &str, own_ns: &str, index: &NameIndex, ids: &[ObjectId]) -> Result<usize, TargetError> {
    let parts: Vec<&str> = target.split('/').collect();
    let (kind, group) = match parts[0].split_once('.') {
        Some((kind, group)) => (kind, Some(group)),
        None => (parts[0], None),
    };
    let pick = |candidates: &[usize]| -> Result<Option<usize>, TargetError> {
        let of_group: Vec<usize> = match group {
            Some(g) => candidates.iter().copied().filter(|&j| ids[j].group == g).collect(),
            None if candidates.len() > 1 => candidates.iter().copied().filter(|&j| ids[j].group.is_empty()).collect(),
            None => candidates.to_vec(),
        };
        match of_group.as_slice() {
            [] if group.is_none() && candidates.len() > 1 => {
                let groups: Vec<String> = candidates.iter().map(|&j| format!("`{}.{}`", kind, ids[j].group)).collect();
                Err(TargetError::Invalid(format!(
                    "`{target}` is ambiguous: {kind} exists in several API groups; write one of {}",
                    groups.join(", ")
                )))
            }
            [] => Ok(None),
            [one] => Ok(Some(*one)),
            _ => Err(TargetError::Invalid(format!("`{target}` is ambiguous"))),
        }
    };
    let lookup = |ns: &str, name: &str| match index.get(&(kind.to_string(), ns.to_string(), name.to_string())) {
        Some(c) => pick(c),
        None => Ok(None),
    };
    match parts.as_slice() {
        [_, ns, name] => lookup(ns, name)?.ok_or(TargetError::Missing),
        [_, name] => {
            if let Some(i) = lookup(own_ns, name)? {
                return Ok(i);
            }
            if let Some(i) = lookup("", name)? {
                return Ok(i);
            }
            let matches: Vec<usize> = ids
                .iter()
                .enumerate()
                .filter(|(_, id)| id.kind == kind && id.name == *name && group.is_none_or(|g| id.group == g))
                .map(|(i, _)| i)
                .collect();
            match matches.as_slice() {
                [] => Err(TargetError::Missing),
                [one] => Ok(*one),
                _ => Err(TargetError::Invalid(format!(
                    "`{target}` is ambiguous: it exists in several namespaces; write Kind/namespace/name"
                ))),
            }
        }
        _ => Err(TargetError::Invalid(format!("`{target}` is not \"Kind/name\" or \"Kind/namespace/name\""))),
    }
}

/// Kahn's algorithm with a min-heap on ids, so equal inputs give equal
/// orders. On a cycle, returns one cycle.
fn topological_order(graph: &DiGraph<Resource, Edge>) -> Result<Vec<NodeIndex>, Vec<NodeIndex>> {
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

/// The content hash that config hashes are made of: the object without its
/// metadata, so that a rename alone does not roll pods.
fn content_digest(v: &Value) -> String {
    hash::content_hash_without(v, Some("metadata"))
}

/// `apiVersion`, `kind`, `metadata` lead, with `name` and `namespace` first
/// in metadata; everything else keeps source order.
fn output_order(value: &mut Value) {
    let Some(m) = value.as_map_mut() else { return };
    for (pos, key) in ["apiVersion", "kind", "metadata"].into_iter().enumerate() {
        if let Some(i) = m.get_index_of(key) {
            m.move_index(i, pos.min(m.len() - 1));
        }
    }
    if let Some(Value::Map(meta)) = m.get_mut("metadata") {
        let mut pos = 0;
        for key in ["name", "namespace"] {
            if let Some(i) = meta.get_index_of(key) {
                meta.move_index(i, pos);
                pos += 1;
            }
        }
    }
}

/// Sets `infra.dev/hash` to the hash of everything else, and returns it.
fn stamp_hash(value: &mut Value) -> String {
    if let Some(Value::Map(a)) = get_mut_path(value, &["metadata", "annotations"]) {
        a.shift_remove(annotations::HASH);
    }
    let h = hash::content_hash(value);
    set_annotation_at(value, &[], annotations::HASH, h.clone());
    h
}

fn set_annotation_at(value: &mut Value, path: &[&str], key: &str, v: String) {
    let mut target = value;
    for k in path {
        let Some(next) = target.as_map_mut().and_then(|m| m.get_mut(k)) else {
            return;
        };
        target = next;
    }
    if target.as_map().is_none() {
        return;
    }
    let meta = target.map_entry("metadata");
    let slot = meta.get_or_insert_with("annotations", || Value::Map(Map::new()));
    if !matches!(slot, Value::Map(_)) {
        *slot = Value::Map(Map::new());
    }
    if let Value::Map(a) = slot {
        a.insert(key.to_string(), Value::String(v));
    }
}

fn get_mut_path<'v>(v: &'v mut Value, path: &[&str]) -> Option<&'v mut Value> {
    path.iter().try_fold(v, |v, k| v.as_map_mut()?.get_mut(k))
}
