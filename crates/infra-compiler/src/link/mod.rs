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
pub mod locate;
pub mod order;
pub mod refs;
pub mod schema;
pub mod storage;

pub use graph::{Edge, Format, Reason, Resource, ResourceGraph};

use crate::eval::{Object, Resources};
use crate::parallel;
use hash::{content_digest, set_annotation_at, unstamped_hash};
use infra_k8s::annotations;
use infra_k8s::kinds::ObjectId;
use infra_k8s::workloads::pod_template_path;
use infra_syntax::{Code, Diagnostic, Diagnostics, Str, Value};
use locate::Locator;
use petgraph::graph::{DiGraph, NodeIndex};
use refs::{FoundLinks, LinkContext, Missing, NameIndex, Sightings, link_object, sighted};
use std::collections::HashMap;
use std::fmt::Write;

pub struct LinkOptions {
    pub strict: bool,
    pub hashing_suffix: bool,
}

/// A dependency found by linking: (dependency, dependent, reason).
type Dependency = (usize, usize, Reason);

/// What linking found: the dependencies, and for each workload the objects
/// its pods read.
struct Links {
    dependencies: Vec<Dependency>,
    /// (workload, input), by workload.
    pod_inputs: Vec<(usize, usize)>,
    /// Objects whose references linking rewrote.
    rewritten: Vec<bool>,
}

pub fn link(
    resources: Resources,
    opts: &LinkOptions,
    locator: &mut Locator,
    diags: &mut Diagnostics,
) -> Option<ResourceGraph> {
    let errors_before = diags.error_count();
    let Resources { env, mut objects } = resources;
    let mut ids: Vec<ObjectId> = objects.iter().map(|o| ObjectId::of(&o.value)).collect();
    refuse_duplicates(&objects, &ids, diags)?;
    let mut digests = config_digests(&objects, &ids, &vec![true; ids.len()], Vec::new());
    let renamed = suffix_names(&mut objects, &mut ids, &digests, opts);
    let index = NameIndex::new(&objects, &ids, &renamed);
    let links = resolve_references(&mut objects, &ids, &index, opts, locator, diags);
    // As large as the ids: freed before the graph is built, where memory peaks.
    drop(index);
    digests = config_digests(&objects, &ids, &links.rewritten, digests);
    stamp_config_hashes(&mut objects, &ids, &links.pod_inputs, &digests);
    write_marks(&mut objects);
    let graph = build_graph(objects, ids, links.dependencies);
    let order = order::apply_order(&graph, locator).map_err(|d| diags.push(d)).ok()?;
    (diags.error_count() == errors_before).then_some(ResourceGraph { env, helm: None, graph, order })
}

/// Two objects with one identity are an error naming both.
fn refuse_duplicates(objects: &[Object], ids: &[ObjectId], diags: &mut Diagnostics) -> Option<()> {
    let mut first_of: HashMap<&ObjectId, usize> = HashMap::with_capacity(ids.len());
    let mut ok = true;
    for (i, id) in ids.iter().enumerate() {
        if let Some(&first) = first_of.get(id) {
            let (a, b) = (&objects[first], &objects[i]);
            let d = Diagnostic::error(Code::DuplicateObject, format!("{} is defined twice", id.short()));
            // A module's document is one text however many instances use
            // it: then the instances say which two made the object.
            let mut d = if a.origin == b.origin {
                d.at(b.origin, "defined here, by two module instances")
            } else {
                d.at(b.origin, "second definition").at(a.origin, "first definition")
            };
            // A module document made by two instances of the module.
            if let (Some(x), Some(y)) = (a.instance, b.instance)
                && x != y
            {
                d = d.at(y, "second definition made by this module instance").at(x, "first by this one");
            }
            diags.push(d.help("names must be unique per kind and namespace; inside modules use `${{ module.name }}`"));
            ok = false;
            continue;
        }
        first_of.insert(id, i);
    }
    ok.then_some(())
}

/// The content digest of each ConfigMap and Secret (`None` for other
/// objects), which hash suffixes and config hashes are made of: computed
/// in parallel for the objects in `stale`, kept from `known` for the rest.
fn config_digests(objects: &[Object], ids: &[ObjectId], stale: &[bool], known: Vec<Option<Str>>) -> Vec<Option<Str>> {
    let numbered: Vec<usize> = (0..objects.len()).collect();
    let fresh = parallel::map(&numbered, |&i| {
        let config = ids[i].group.is_empty() && matches!(ids[i].kind.as_str(), "ConfigMap" | "Secret");
        (config && stale[i]).then(|| Str::from(content_digest(&objects[i].value)))
    });
    fresh.into_iter().enumerate().map(|(i, d)| d.or_else(|| known.get(i).cloned().flatten())).collect()
}

/// Hash suffixes: ConfigMaps and Secrets renamed after their content.
/// Returns each renamed object with its name as written.
fn suffix_names(
    objects: &mut [Object],
    ids: &mut [ObjectId],
    digests: &[Option<Str>],
    opts: &LinkOptions,
) -> Vec<(usize, Str)> {
    let mut renamed = Vec::new();
    for (i, (o, id)) in objects.iter_mut().zip(ids.iter_mut()).enumerate() {
        let wants = o.directives.hash_suffix.unwrap_or(opts.hashing_suffix);
        let unchangeable = o.directives.external || o.verbatim.is_some();
        let Some(digest) = digests[i].as_ref().filter(|_| wants && !unchangeable) else { continue };
        let new_name = Str::from(format!("{}-{}", id.name, &digest[..10]));
        if let Some(meta) = o.value.get("metadata").is_some().then(|| o.value.map_entry("metadata")) {
            meta.insert("name", Value::String(new_name.clone()));
        }
        renamed.push((i, std::mem::replace(&mut id.name, new_name)));
    }
    renamed
}

/// Every object's references, found, rewritten and resolved on its own —
/// so in parallel, merged in object order. Unresolved ones are reported
/// once per target.
fn resolve_references(
    objects: &mut [Object],
    ids: &[ObjectId],
    index: &NameIndex,
    opts: &LinkOptions,
    locator: &mut Locator,
    diags: &mut Diagnostics,
) -> Links {
    let crds: HashMap<(Str, Str), usize> = objects
        .iter()
        .enumerate()
        .filter(|(_, o)| o.value.str_at(&["kind"]) == Some("CustomResourceDefinition"))
        .filter_map(|(i, o)| {
            let group = o.value.str_at(&["spec", "group"])?;
            let kind = o.value.str_at(&["spec", "names", "kind"])?;
            Some(((Str::new(group), Str::new(kind)), i))
        })
        .collect();
    let mut numbered: Vec<(usize, &mut Object)> = objects.iter_mut().enumerate().collect();
    let context = LinkContext { ids, index, crds: &crds };
    let mut found = FoundLinks::default();
    for later in parallel::map_chunks_mut(&mut numbered, |chunk| {
        let mut links = FoundLinks::default();
        for (i, o) in chunk {
            link_object(*i, o, &context, &mut links);
        }
        links
    }) {
        found.append(later);
    }
    let FoundLinks { dependencies, pod_inputs, missing, errors, rewritten: rewritten_at } = found;
    for (mut d, target) in errors {
        if let Some(label) = d.labels.first_mut() {
            label.span = locator.field(label.span, &[&target]);
        }
        diags.push(d);
    }
    let mut rewritten = vec![false; objects.len()];
    for i in rewritten_at {
        rewritten[i] = true;
    }
    // The same target may be missing as a field's and as a written one.
    let mut unresolved = HashMap::new();
    let mut of_kind = HashMap::new();
    for (target, seen) in missing {
        let shown = target.to_string();
        if let Missing::Object { .. } = target {
            of_kind.insert(shown.clone(), target);
        }
        sighted(&mut unresolved, shown, seen);
    }
    // Namespaces are often made by the platform, not the project: one
    // warning for all of them, which `--strict` leaves a warning, so that
    // the references that are mistakes stand out, typos first.
    let (namespaces, others): (Vec<_>, Vec<_>) = unresolved.into_iter().partition(|(t, _)| t.starts_with("Namespace/"));
    let mut others: Vec<(String, Sightings, Option<String>)> = others
        .into_iter()
        .map(|(target, seen)| {
            let close = of_kind.get(&target).and_then(|m| closest_object(m, ids));
            (target, seen, close)
        })
        .collect();
    others.sort_by(|a, b| (a.2.is_none(), &a.0).cmp(&(b.2.is_none(), &b.0)));
    for (target, Sightings { first: (from, _), span, count }, close) in &others {
        let more = if *count > 1 { format!(" (and {} more references)", count - 1) } else { String::new() };
        let msg = format!("{} refers to {target}, which is not in the project{more}", ids[*from].short());
        let d = if opts.strict {
            Diagnostic::error(Code::Unresolved, msg)
        } else {
            Diagnostic::warning(Code::Unresolved, msg)
        };
        // The field that names it: found by its path in the object, else
        // the whole target as written (a ref() or depends_on), else the name.
        let name = target.rsplit('/').next().unwrap_or_default();
        let span = reference_path(&objects[*from], target)
            .and_then(|path| locator.at_path(*span, &path))
            .unwrap_or_else(|| locator.field(*span, &[target, name]));
        let d = d.at(span, "referenced here");
        diags.push(match close {
            Some(close) => d.help(format!("did you mean {close}?")),
            None => d.help(format!(
                "define {target} in the project, or declare it with `infra: {{external: true}}` if it exists in the cluster"
            )),
        });
    }
    if let Some(d) = missing_namespaces(namespaces, ids, locator) {
        diags.push(d);
    }
    Links { dependencies, pod_inputs, rewritten }
}

/// The object of the project whose name is closest to a missing target's,
/// of the same kind (and namespace): the typo `settngs` for `settings`.
fn closest_object(target: &Missing, ids: &[ObjectId]) -> Option<String> {
    let Missing::Object { kind, namespace, name } = target else { return None };
    let same_kind = || ids.iter().filter(|id| id.kind == *kind && id.namespace == *namespace);
    let close = infra_syntax::did_you_mean(name, same_kind().map(|id| id.name.as_str()))?;
    same_kind().find(|id| id.name == close).map(|id| format!("`{}`", id.short()))
}

/// One warning for the namespaces objects live in that the project does
/// not define, each with how many objects it holds.
fn missing_namespaces(
    mut namespaces: Vec<(String, Sightings)>,
    ids: &[ObjectId],
    locator: &mut Locator,
) -> Option<Diagnostic> {
    namespaces.sort_by_key(|(_, s)| s.first);
    let (target, first) = namespaces.first()?;
    let listed: Vec<String> = namespaces
        .iter()
        .map(|(t, s)| {
            let name = t.rsplit('/').next().unwrap_or_default();
            format!("{name} ({} object{})", s.count, if s.count == 1 { "" } else { "s" })
        })
        .collect();
    let plural = if namespaces.len() == 1 { "a namespace" } else { "namespaces" };
    let span = locator.field(first.span, &[target, target.rsplit('/').next().unwrap_or_default()]);
    Some(
        Diagnostic::warning(Code::NamespaceNotDefined, format!("objects are in {plural} the project does not define: {}", listed.join(", ")))
            .at(span, format!("{} is the first", ids[first.first.0].short()))
            .note("`--strict` leaves this a warning: namespaces are often made by the platform or by `kubectl create namespace`")
            .help("add the Namespace to the project, or declare it with `infra: {external: true}` to say it exists"),
    )
}

/// The path in `object` of the reference field that names `target`
/// (`ConfigMap/ns/web`), if one does.
fn reference_path(object: &Object, target: &str) -> Option<Vec<infra_k8s::references::Step<'static>>> {
    let t = infra_k8s::kinds::TargetRef::parse(target).ok()?;
    let own_ns = Str::new(object.value.str_at(&["metadata", "namespace"]).unwrap_or_default());
    let mut value = object.value.clone();
    let mut found = None;
    infra_k8s::references::visit_references_at(&mut value, &own_ns, &mut |path, r| {
        let names = r.kind == t.kind && *r.name == t.name && t.namespace.as_ref().is_none_or(|ns| *ns == r.namespace);
        if names && found.is_none() {
            found = Some(path.to_vec());
        }
    });
    found
}

/// `infra.dev/config-hash` on each pod template: a digest of the
/// ConfigMaps and Secrets its pods read (not of what it merely depends
/// on), so a configuration change rolls exactly the pods that read it.
fn stamp_config_hashes(
    objects: &mut [Object],
    ids: &[ObjectId],
    pod_inputs: &[(usize, usize)],
    digests: &[Option<Str>],
) {
    let mut digest_input = String::new();
    for inputs in pod_inputs.chunk_by(|a, b| a.0 == b.0) {
        let workload = inputs[0].0;
        let Some(path) = pod_template_path(&ids[workload].group, &ids[workload].kind) else { continue };
        let mut used: Vec<usize> = inputs.iter().map(|&(_, j)| j).filter(|&j| digests[j].is_some()).collect();
        if used.is_empty() {
            continue;
        }
        used.sort_by(|a, b| ids[*a].cmp(&ids[*b]));
        used.dedup();
        digest_input.clear();
        for j in used {
            let part = match &digests[j] {
                Some(d) if !objects[j].directives.external => d.as_str(),
                _ => "",
            };
            let _ = writeln!(digest_input, "{} {part}", ids[j]);
        }
        let digest = hash::sha256_hex(digest_input.as_bytes());
        set_annotation_at(&mut objects[workload].value, path, annotations::CONFIG_HASH, digest);
    }
}

/// `protect: false`, `ephemeral: true` and `state` are written into the object, so
/// plans made from the compiled output (or git) see them.
fn write_marks(objects: &mut [Object]) {
    for o in objects.iter_mut() {
        if o.directives.protect == Some(false) {
            set_annotation_at(&mut o.value, &[], annotations::PROTECT, "false");
        }
        if o.directives.ephemeral {
            set_annotation_at(&mut o.value, &[], annotations::EPHEMERAL, "true");
        }
        if o.directives.plain_secret {
            set_annotation_at(&mut o.value, &[], annotations::PLAIN_SECRET, "true");
        }
        if !o.directives.state.is_empty() {
            set_annotation_at(&mut o.value, &[], annotations::STATE, o.directives.state.join(","));
        }
    }
}

/// Stamps content hashes (in parallel), orders keys for output, and builds
/// the graph.
fn build_graph(
    mut objects: Vec<Object>,
    ids: Vec<ObjectId>,
    mut dependencies: Vec<Dependency>,
) -> DiGraph<Resource, Edge> {
    // Hashing in parallel; stamping allocates in objects that other threads
    // made, which the allocator serializes, so it is done on this one.
    let hashes = parallel::map_mut(&mut objects, |o| unstamped_hash(&mut o.value));
    for (o, hash) in objects.iter_mut().zip(&hashes).filter(|(o, _)| o.verbatim.is_none()) {
        set_annotation_at(&mut o.value, &[], annotations::HASH, hash.clone());
        output_order(&mut o.value);
    }
    let mut graph: DiGraph<Resource, Edge> = DiGraph::with_capacity(objects.len(), dependencies.len());
    for ((o, id), hash) in objects.into_iter().zip(ids).zip(hashes) {
        let Object { value, origin, directives, from, verbatim, .. } = o;
        graph.add_node(Resource {
            id,
            value,
            origin,
            external: directives.external,
            protect: directives.protect,
            from,
            hash,
            verbatim,
        });
    }
    dependencies.sort_unstable();
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
