//! The link stage: objects become nodes identified by
//! `group/kind/namespace/name`, references become edges (explicit
//! `depends_on` and `ref()`, and those of the well-known fields in
//! `infra_k8s::references`), ConfigMaps and Secrets get hash suffixes with
//! every reference rewritten, content hashes are stamped, and a
//! deterministic apply order is computed.
//!
//! [`link`] runs these as named passes, one function each.

pub mod graph;
pub mod hash;
pub mod order;
pub mod refs;
pub mod storage;

pub use graph::{Edge, Format, Resource, ResourceGraph};

use crate::eval::{Object, Resources};
use crate::parallel;
use hash::{content_digest, set_annotation_at, stamp_hash};
use infra_k8s::annotations;
use infra_k8s::kinds::ObjectId;
use infra_k8s::workloads::pod_template_path;
use infra_syntax::{Code, Diagnostic, Diagnostics, Span, Value};
use petgraph::graph::{DiGraph, NodeIndex};
use refs::{LinkContext, NameIndex, link_object};
use std::collections::{BTreeMap, HashMap};

pub struct LinkOptions {
    pub strict: bool,
    pub hashing_suffix: bool,
}

/// A dependency found by linking: (dependency, dependent, reason).
type Dependency = (usize, usize, String);

/// What linking found: the dependencies, and for each object the objects
/// its pods read.
struct Links {
    dependencies: Vec<Dependency>,
    pod_inputs: Vec<Vec<usize>>,
}
/// Objects renamed with a hash suffix: (kind, namespace, old name) → new name.
type Renames = HashMap<(String, String, String), String>;

pub fn link(resources: Resources, opts: &LinkOptions, diags: &mut Diagnostics) -> Option<ResourceGraph> {
    let errors_before = diags.error_count();
    let Resources { env, mut objects, .. } = resources;
    refuse_duplicates(&objects, diags)?;
    let renames = suffix_names(&mut objects, opts);
    let (ids, index) = index(&objects, &renames);
    let links = resolve_references(&mut objects, &ids, &index, &renames, opts, diags);
    stamp_config_hashes(&mut objects, &ids, &links.pod_inputs);
    mark_unprotected(&mut objects);
    let graph = build_graph(objects, ids, links.dependencies);
    let order = order::apply_order(&graph).map_err(|d| diags.push(d)).ok()?;
    (diags.error_count() == errors_before).then_some(ResourceGraph { env, helm: None, graph, order })
}

/// Two objects with one identity are an error naming both.
fn refuse_duplicates(objects: &[Object], diags: &mut Diagnostics) -> Option<()> {
    let mut by_id: BTreeMap<ObjectId, usize> = BTreeMap::new();
    let mut ok = true;
    for (i, o) in objects.iter().enumerate() {
        let id = ObjectId::of(&o.value);
        if let Some(&first) = by_id.get(&id) {
            diags.push(
                Diagnostic::error(Code::DuplicateObject, format!("{} is defined twice", id.short()))
                    .at(o.origin, "second definition")
                    .at(objects[first].origin, "first definition")
                    .help("names must be unique per kind and namespace; inside modules use `${{ module.name }}`"),
            );
            ok = false;
            continue;
        }
        by_id.insert(id, i);
    }
    ok.then_some(())
}

/// Hash suffixes: ConfigMaps and Secrets renamed after their content.
fn suffix_names(objects: &mut [Object], opts: &LinkOptions) -> Renames {
    let mut renames = Renames::new();
    for o in objects {
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
            meta.insert("name", Value::from(new_name.as_str()));
        }
        renames.insert((id.kind, id.namespace, id.name), new_name);
    }
    renames
}

/// Final ids, and the index by kind, namespace and name (one entry per API
/// group that has it); the original names of renamed objects resolve too.
fn index(objects: &[Object], renames: &Renames) -> (Vec<ObjectId>, NameIndex) {
    let mut index: NameIndex = HashMap::with_capacity(objects.len() + 16);
    let mut ids = Vec::with_capacity(objects.len());
    for (i, o) in objects.iter().enumerate() {
        let id = ObjectId::of(&o.value);
        index.entry((id.kind.clone(), id.namespace.clone(), id.name.clone())).or_default().push(i);
        ids.push(id);
    }
    for ((kind, ns, old), new) in renames {
        if let Some(found) = index.get(&(kind.clone(), ns.clone(), new.clone())).cloned() {
            index.entry((kind.clone(), ns.clone(), old.clone())).or_default().extend(found);
        }
    }
    (ids, index)
}

/// Every object's references, found, rewritten and resolved on its own —
/// so in parallel, merged in object order. Unresolved ones are reported
/// once per target.
fn resolve_references(
    objects: &mut [Object],
    ids: &[ObjectId],
    index: &NameIndex,
    renames: &Renames,
    opts: &LinkOptions,
    diags: &mut Diagnostics,
) -> Links {
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
    let mut numbered: Vec<(usize, &mut Object)> = objects.iter_mut().enumerate().collect();
    let context = LinkContext { ids, index, renames, crds: &crds };
    let links = parallel::map_mut(&mut numbered, |(i, o)| link_object(*i, o, &context));

    let mut dependencies = Vec::new();
    let mut pod_inputs = Vec::with_capacity(links.len());
    let mut unresolved: BTreeMap<String, (usize, Span, usize)> = BTreeMap::new();
    for (i, l) in links.into_iter().enumerate() {
        dependencies.extend(l.edges.into_iter().map(|(j, reason)| (j, i, reason)));
        pod_inputs.push(l.pod_inputs);
        for (target, span) in l.unresolved {
            unresolved.entry(target).or_insert((i, span, 0)).2 += 1;
        }
        for d in l.errors {
            diags.push(d);
        }
    }
    for (target, (from, span, count)) in &unresolved {
        let more = if *count > 1 { format!(" (and {} more references)", count - 1) } else { String::new() };
        let msg = format!("{} refers to {target}, which is not in the project{more}", ids[*from].short());
        let d = if opts.strict {
            Diagnostic::error(Code::Unresolved, msg)
        } else {
            Diagnostic::warning(Code::Unresolved, msg)
        };
        diags.push(d.at(*span, "referenced here").help(format!(
            "define {target} in the project, or declare it with `infra: {{external: true}}` if it exists in the cluster"
        )));
    }
    Links { dependencies, pod_inputs }
}

/// `infra.dev/config-hash` on each pod template: a digest of the
/// ConfigMaps and Secrets its pods read (not of what it merely depends
/// on), so a configuration change rolls exactly the pods that read it.
fn stamp_config_hashes(objects: &mut [Object], ids: &[ObjectId], pod_inputs: &[Vec<usize>]) {
    for (workload, inputs) in pod_inputs.iter().enumerate() {
        if pod_template_path(&ids[workload].kind).is_none() {
            continue;
        }
        let mut used: Vec<usize> =
            inputs.iter().copied().filter(|&j| matches!(ids[j].kind.as_str(), "ConfigMap" | "Secret")).collect();
        if used.is_empty() {
            continue;
        }
        used.sort_by(|a, b| ids[*a].cmp(&ids[*b]));
        used.dedup();
        let mut digest_input = String::new();
        for j in used {
            let part = if objects[j].directives.external { String::new() } else { content_digest(&objects[j].value) };
            digest_input.push_str(&format!("{} {part}\n", ids[j]));
        }
        let digest = hash::sha256_hex(digest_input.as_bytes());
        if let Some(path) = pod_template_path(&ids[workload].kind) {
            set_annotation_at(&mut objects[workload].value, path, annotations::CONFIG_HASH, digest);
        }
    }
}

/// `protect: false` is written into the object, so plans made from the
/// compiled output (or git) see it.
fn mark_unprotected(objects: &mut [Object]) {
    for o in objects.iter_mut().filter(|o| o.directives.protect == Some(false)) {
        set_annotation_at(&mut o.value, &[], annotations::PROTECT, "false".into());
    }
}

/// Stamps content hashes (in parallel), orders keys for output, and builds
/// the graph.
fn build_graph(
    mut objects: Vec<Object>,
    ids: Vec<ObjectId>,
    mut dependencies: Vec<Dependency>,
) -> DiGraph<Resource, Edge> {
    let hashes = parallel::map_mut(&mut objects, |o| {
        let hash = stamp_hash(&mut o.value);
        output_order(&mut o.value);
        hash
    });
    let mut graph: DiGraph<Resource, Edge> = DiGraph::with_capacity(objects.len(), dependencies.len());
    for ((o, id), hash) in objects.into_iter().zip(ids).zip(hashes) {
        let Object { value, origin, directives, from } = o;
        graph.add_node(Resource {
            id,
            value,
            origin,
            external: directives.external,
            protect: directives.protect,
            ephemeral: directives.ephemeral,
            from,
            hash,
        });
    }
    dependencies.sort();
    dependencies.dedup_by(|a, b| a.0 == b.0 && a.1 == b.1);
    for (from, to, reason) in dependencies {
        if from != to {
            graph.add_edge(NodeIndex::new(from), NodeIndex::new(to), Edge { reason });
        }
    }
    graph
}

/// `apiVersion`, `kind`, `metadata` lead, with `name` and `namespace` first
/// in metadata; everything else keeps source order.
pub(crate) fn output_order(value: &mut Value) {
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
