//! References: the fields in which each object names another (from the
//! table in `infra_k8s::references`), `depends_on` and `ref()`, resolved to
//! graph nodes, with renamed targets (hash suffixes) rewritten in place.

use super::graph::Reason;
use crate::eval::Object;
use crate::eval::expr::{self, RefField};
use infra_k8s::kinds::{ObjectId, TargetRef};
use infra_k8s::references;
use infra_syntax::{Code, Diagnostic, Span, Str};
use std::collections::HashMap;
use std::fmt;

/// A reference found in an object: target kind, group, namespace and name.
struct Reference {
    kind: &'static str,
    group: &'static str,
    namespace: Str,
    name: Str,
    reason: &'static str,
    /// `optional: true` references are not reported when missing.
    optional: bool,
    /// Read by the object's pods: part of its config hash.
    in_pod_spec: bool,
}

/// A target that is not in the project, as found or as written.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Missing {
    Object { kind: &'static str, namespace: Str, name: Str },
    Written(Str),
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Object { kind, namespace, name } if namespace.is_empty() => write!(f, "{kind}/{name}"),
            Missing::Object { kind, namespace, name } => write!(f, "{kind}/{namespace}/{name}"),
            Missing::Written(target) => f.write_str(target),
        }
    }
}

/// Where a missing target is named first — the object, and the place among
/// that object's missing targets — and how often it is named.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sightings {
    pub(crate) first: (usize, usize),
    pub(crate) span: Span,
    pub(crate) count: usize,
}

impl Sightings {
    /// Both counts, and the earlier first place.
    pub(crate) fn join(&mut self, other: Sightings) {
        if other.first < self.first {
            (self.first, self.span) = (other.first, other.span);
        }
        self.count += other.count;
    }
}

/// Adds `seen` to what `map` knows of `target`.
pub(crate) fn sighted<K: Eq + std::hash::Hash>(map: &mut HashMap<K, Sightings>, target: K, seen: Sightings) {
    map.entry(target).and_modify(|s| s.join(seen)).or_insert(seen);
}

/// What linking found in a run of consecutive objects: gathered per run
/// rather than per object, so memory grows with the edges and the distinct
/// missing targets, not with every reference to a missing one.
#[derive(Default)]
pub(crate) struct FoundLinks {
    /// (dependency, dependent, reason)
    pub(crate) dependencies: Vec<(usize, usize, Reason)>,
    /// (workload, an object its pods read: ConfigMap, Secret, ...), by workload.
    pub(crate) pod_inputs: Vec<(usize, usize)>,
    pub(crate) missing: HashMap<Missing, Sightings>,
    /// Errors, each with the target it names: the field to point at.
    pub(crate) errors: Vec<(Diagnostic, Str)>,
    /// Objects in which a name was rewritten.
    pub(crate) rewritten: Vec<usize>,
}

impl FoundLinks {
    fn missing(&mut self, target: Missing, first: (usize, usize), span: Span) {
        sighted(&mut self.missing, target, Sightings { first, span, count: 1 });
    }

    /// Adds what a later run of objects found.
    pub(crate) fn append(&mut self, later: FoundLinks) {
        self.dependencies.extend(later.dependencies);
        self.pod_inputs.extend(later.pod_inputs);
        for (target, seen) in later.missing {
            sighted(&mut self.missing, target, seen);
        }
        self.errors.extend(later.errors);
        self.rewritten.extend(later.rewritten);
    }
}

/// The shared, read-only lookups of linking.
pub(crate) struct LinkContext<'a> {
    pub(crate) ids: &'a [ObjectId],
    pub(crate) index: &'a NameIndex,
    pub(crate) crds: &'a HashMap<(Str, Str), usize>,
}

/// Finds an object's references (rewriting hash-suffixed names and `ref()`
/// markers in place) and resolves them to graph nodes, into `links`.
pub(crate) fn link_object(i: usize, object: &mut Object, cx: &LinkContext, links: &mut FoundLinks) {
    let LinkContext { ids, index, crds } = *cx;
    let mut rewritten = false;
    let mut unresolved = 0;
    let edge = |links: &mut FoundLinks, j: usize, reason: Reason| links.dependencies.push((j, i, reason));
    let own_ns = &ids[i].namespace;
    let origin = object.origin;
    let external = object.directives.external;
    // The namespace it lives in, and the references of well-known fields,
    // rewritten to final names.
    let mut refs = Vec::new();
    if !own_ns.is_empty() {
        refs.push(Reference {
            kind: "Namespace",
            group: "",
            namespace: Str::default(),
            name: own_ns.clone(),
            reason: "in namespace",
            optional: false,
            in_pod_spec: false,
        });
    }
    references::visit_references(&mut object.value, own_ns, &mut |r| {
        if r.group.is_empty()
            && let Some(new) = index.renamed(&(Str::new(r.kind), r.namespace.clone(), r.name.clone()))
        {
            *r.name = new.clone();
            rewritten = true;
        }
        refs.push(Reference {
            kind: r.kind,
            group: r.group,
            name: r.name.clone(),
            namespace: r.namespace,
            reason: r.reason,
            optional: r.optional,
            in_pod_spec: r.in_pod_spec,
        });
    });
    for r in refs {
        let key = (Str::new(r.kind), r.namespace, r.name);
        match index.find(&key).iter().copied().find(|&j| ids[j].group == r.group) {
            Some(j) => {
                if r.in_pod_spec {
                    links.pod_inputs.push((i, j));
                }
                edge(links, j, Reason::Borrowed(r.reason))
            }
            None if r.optional || external || infra_k8s::cluster::built_in(r.kind, &key.2) => {}
            // Made from this object or another: the maker comes first.
            None if let Some(j) = index.produced(&key) => {
                if j != i {
                    edge(links, j, Reason::Borrowed("makes this Secret"));
                }
            }
            None => {
                let (_, namespace, name) = key;
                links.missing(Missing::Object { kind: r.kind, namespace, name }, (i, unresolved), origin);
                unresolved += 1;
            }
        }
    }
    // Custom resources depend on their CRD when the project defines it.
    if let Some(&j) = crds.get(&(ids[i].group.clone(), ids[i].kind.clone())) {
        edge(links, j, Reason::Borrowed("custom resource of this CRD"));
    }
    for (target, span) in &object.directives.depends_on {
        match resolve_target(target, own_ns, index, ids) {
            Ok(j) => edge(links, j, Reason::Borrowed("depends_on")),
            Err(TargetError::Missing) => {
                links.missing(Missing::Written(Str::new(target)), (i, unresolved), *span);
                unresolved += 1;
            }
            Err(TargetError::Invalid(msg)) => links
                .errors
                .push((Diagnostic::error(Code::BadTarget, msg).at(*span, "in depends_on"), Str::new(target))),
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
            match resolve_target(target, own_ns, index, ids) {
                Ok(j) => {
                    edge(links, j, Reason::Owned(format!("ref(\"{target}\")")));
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
                        RefField::Namespace => own_ns,
                    });
                }
            }
        }
        out.push_str(&s[last..]);
        *s = out.into();
        rewritten = true;
    });
    for (target, e) in failures {
        match e {
            TargetError::Missing => {
                links.missing(Missing::Written(Str::from(target)), (i, unresolved), origin);
                unresolved += 1;
            }
            TargetError::Invalid(msg) => links
                .errors
                .push((Diagnostic::error(Code::BadTarget, msg).at(origin, "in this ref()"), Str::from(target))),
        }
    }
    if rewritten {
        links.rewritten.push(i);
    }
}

enum TargetError {
    Missing,
    Invalid(String),
}

/// Objects by kind, namespace and name (one per API group that has them);
/// renamed objects are found by their written names too. Keys share their
/// strings with the ids.
pub(crate) struct NameIndex {
    objects: HashMap<Key, Candidates>,
    renamed: HashMap<Key, Str>,
    /// Secrets a controller makes from an object of the project, to it.
    produced: HashMap<Key, usize>,
}

/// Kind, namespace and name.
type Key = (Str, Str, Str);

/// The objects one kind, namespace and name may mean: almost always one.
enum Candidates {
    One(usize),
    Many(Vec<usize>),
}

impl Candidates {
    fn push(&mut self, i: usize) {
        match self {
            Candidates::One(first) => *self = Candidates::Many(vec![*first, i]),
            Candidates::Many(all) => all.push(i),
        }
    }

    fn as_slice(&self) -> &[usize] {
        match self {
            Candidates::One(i) => std::slice::from_ref(i),
            Candidates::Many(all) => all,
        }
    }
}

impl NameIndex {
    /// The index of `ids`; `renamed` holds each renamed object with its
    /// name as written.
    pub(crate) fn new(objects: &[Object], ids: &[ObjectId], renamed: &[(usize, Str)]) -> NameIndex {
        let produced = objects
            .iter()
            .enumerate()
            // The kind first: reading every object would cost more than the rest.
            .filter(|(i, _)| infra_k8s::cluster::SECRET_PRODUCERS.iter().any(|p| p.kind == ids[*i].kind))
            .flat_map(|(i, o)| {
                let secrets = infra_k8s::cluster::produced_secrets(&o.value);
                secrets.into_iter().map(move |name| ((Str::new("Secret"), ids[i].namespace.clone(), Str::new(name)), i))
            })
            .collect();
        let mut by_name: HashMap<Key, Candidates> = HashMap::with_capacity(ids.len() + renamed.len());
        let mut add = |key, i| match by_name.entry(key) {
            std::collections::hash_map::Entry::Occupied(mut e) => e.get_mut().push(i),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(Candidates::One(i));
            }
        };
        for (i, id) in ids.iter().enumerate() {
            add((id.kind.clone(), id.namespace.clone(), id.name.clone()), i);
        }
        let mut by_written = HashMap::with_capacity(renamed.len());
        for (i, written) in renamed {
            let id = &ids[*i];
            add((id.kind.clone(), id.namespace.clone(), written.clone()), *i);
            by_written.insert((id.kind.clone(), id.namespace.clone(), written.clone()), id.name.clone());
        }
        NameIndex { objects: by_name, renamed: by_written, produced }
    }

    /// The object a controller makes this Secret from.
    fn produced(&self, key: &Key) -> Option<usize> {
        self.produced.get(key).copied()
    }

    /// The objects of a kind with a name in a namespace.
    fn find(&self, key: &Key) -> &[usize] {
        self.objects.get(key).map_or(&[], Candidates::as_slice)
    }

    /// The final name of an object renamed with a hash suffix.
    fn renamed(&self, key: &Key) -> Option<&Str> {
        self.renamed.get(key)
    }
}

/// Resolves `Kind/name` (preferring the referrer's namespace, then a
/// cluster-scoped object, then a unique match) or `Kind/namespace/name`.
/// `Kind.group` names an API group; a bare `Kind` found in several groups
/// means the core group, as in kubectl.
fn resolve_target(target: &str, own_ns: &str, index: &NameIndex, ids: &[ObjectId]) -> Result<usize, TargetError> {
    let t = TargetRef::parse(target).map_err(|e| TargetError::Invalid(e.to_string()))?;
    let (kind, group) = (t.kind.as_str(), t.group.as_deref());
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
    let lookup = |ns: &str, name: &str| match index.find(&(Str::new(kind), Str::new(ns), Str::new(name))) {
        [] => Ok(None),
        c => pick(c),
    };
    let name = t.name.as_str();
    match &t.namespace {
        Some(ns) => lookup(ns, name)?.ok_or(TargetError::Missing),
        None => {
            if let Some(i) = lookup(own_ns, name)? {
                return Ok(i);
            }
            if let Some(i) = lookup("", name)? {
                return Ok(i);
            }
            let matches: Vec<usize> = ids.iter().enumerate().filter(|(_, id)| t.names(id)).map(|(i, _)| i).collect();
            match matches.as_slice() {
                [] => Err(TargetError::Missing),
                [one] => Ok(*one),
                _ => Err(TargetError::Invalid(format!(
                    "`{target}` is ambiguous: it exists in several namespaces; write Kind/namespace/name"
                ))),
            }
        }
    }
}
