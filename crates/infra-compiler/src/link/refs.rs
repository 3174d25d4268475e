//! References: the fields in which each object names another (from the
//! table in `infra_k8s::references`), `depends_on` and `ref()`, resolved to
//! graph nodes, with renamed targets (hash suffixes) rewritten in place.

use crate::eval::Object;
use crate::eval::expr::{self, RefField};
use infra_k8s::kinds::ObjectId;
use infra_k8s::references;
use infra_syntax::{Code, Diagnostic, Span};
use std::collections::HashMap;

/// Namespaces every cluster has; referring to them is never unresolved.
const BUILTIN_NAMESPACES: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];

/// A reference found in an object: target kind, group, namespace and name.
struct Reference {
    kind: &'static str,
    group: &'static str,
    namespace: String,
    name: String,
    reason: &'static str,
    /// `optional: true` references are not reported when missing.
    optional: bool,
    /// Read by the object's pods: part of its config hash.
    in_pod_spec: bool,
}

/// What linking found for one object.
pub(crate) struct ObjectLinks {
    /// (dependency, reason)
    pub(crate) edges: Vec<(usize, String)>,
    /// The objects its pods read (ConfigMaps, Secrets, ...).
    pub(crate) pod_inputs: Vec<usize>,
    pub(crate) unresolved: Vec<(String, Span)>,
    pub(crate) errors: Vec<Diagnostic>,
}

/// The shared, read-only lookups of linking.
pub(crate) struct LinkContext<'a> {
    pub(crate) ids: &'a [ObjectId],
    pub(crate) index: &'a NameIndex,
    pub(crate) renames: &'a HashMap<(String, String, String), String>,
    pub(crate) crds: &'a HashMap<(String, String), usize>,
}

/// Finds an object's references (rewriting hash-suffixed names and `ref()`
/// markers in place) and resolves them to graph nodes.
pub(crate) fn link_object(i: usize, object: &mut Object, cx: &LinkContext) -> ObjectLinks {
    let LinkContext { ids, index, renames, crds } = *cx;
    let mut links =
        ObjectLinks { edges: Vec::new(), pod_inputs: Vec::new(), unresolved: Vec::new(), errors: Vec::new() };
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
            in_pod_spec: false,
        });
    }
    references::visit_references(&mut object.value, &own_ns, &mut |r| {
        if r.group.is_empty()
            && let Some(new) = renames.get(&(r.kind.to_string(), r.namespace.clone(), r.name.to_string()))
        {
            *r.name = new.into();
        }
        refs.push(Reference {
            kind: r.kind,
            group: r.group,
            namespace: r.namespace,
            name: r.name.to_string(),
            reason: r.reason,
            optional: r.optional,
            in_pod_spec: r.in_pod_spec,
        });
    });
    for r in refs {
        let found = index.get(&(r.kind.to_string(), r.namespace.clone(), r.name.clone()));
        match found.and_then(|c| c.iter().copied().find(|&j| ids[j].group == r.group)) {
            Some(j) => {
                if r.in_pod_spec {
                    links.pod_inputs.push(j);
                }
                links.edges.push((j, r.reason.to_string()))
            }
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
                links.errors.push(Diagnostic::error(Code::BadTarget, msg).at(*span, "in depends_on"))
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
        *s = out.into();
    });
    for (target, e) in failures {
        match e {
            TargetError::Missing => links.unresolved.push((target, origin)),
            TargetError::Invalid(msg) => {
                links.errors.push(Diagnostic::error(Code::BadTarget, msg).at(origin, "in a ref() of this document"))
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
pub(crate) type NameIndex = HashMap<(String, String, String), Vec<usize>>;

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
