//! The fields in which one object names another, as data: one row per
//! field, after Kustomize's name-reference configuration. Linking reads
//! them for graph edges and to rewrite renamed objects (hash suffixes),
//! `import` for the namespaces that subjects name. A new kind of reference
//! is one row here.

use crate::workloads::{CONTAINER_LISTS, pod_spec_mut};
use infra_syntax::{Str, Value};

/// Which objects, and where in them, hold a reference field.
#[derive(Debug, Clone, Copy)]
pub enum Holder {
    /// Every pod spec (of Pods and of workloads' templates).
    PodSpec,
    /// Every container of every pod spec (all of [`CONTAINER_LISTS`]).
    Container,
    /// Objects of these kinds, from their root.
    Kinds(&'static [&'static str]),
}

/// What a reference field names.
#[derive(Debug, Clone, Copy)]
pub enum Target {
    Kind(&'static str),
    /// An RBAC `roleRef`: a `ClusterRole` or a `Role`, by the sibling `kind`.
    RoleRef,
}

/// One field that names another object.
#[derive(Debug, Clone, Copy)]
pub struct ReferenceField {
    pub holder: Holder,
    /// From the holder to the map that holds the name; `*` is every item
    /// of a list.
    pub path: &'static [&'static str],
    /// The key of the name in that map.
    pub name: &'static str,
    pub target: Target,
    /// Only maps whose `kind` is this (RBAC subjects name users too).
    pub only_kind: Option<&'static str>,
    /// A key in that map naming the target's namespace, else the holder's.
    pub namespace_key: Option<&'static str>,
    /// `optional: true` in that map: a missing target is no problem.
    pub may_be_optional: bool,
    /// Why the reference exists, in the words of `infra graph`.
    pub reason: &'static str,
}

const fn field(
    holder: Holder,
    path: &'static [&'static str],
    name: &'static str,
    target: &'static str,
    reason: &'static str,
) -> ReferenceField {
    ReferenceField {
        holder,
        path,
        name,
        target: Target::Kind(target),
        only_kind: None,
        namespace_key: None,
        may_be_optional: false,
        reason,
    }
}

const fn optional(f: ReferenceField) -> ReferenceField {
    ReferenceField { may_be_optional: true, ..f }
}

use Holder::{Container, Kinds, PodSpec};

/// Every reference field infra knows.
pub const REFERENCE_FIELDS: &[ReferenceField] = &[
    optional(field(PodSpec, &["volumes", "*", "configMap"], "name", "ConfigMap", "volume")),
    optional(field(PodSpec, &["volumes", "*", "secret"], "secretName", "Secret", "volume")),
    field(PodSpec, &["volumes", "*", "persistentVolumeClaim"], "claimName", "PersistentVolumeClaim", "volume"),
    optional(field(
        PodSpec,
        &["volumes", "*", "projected", "sources", "*", "configMap"],
        "name",
        "ConfigMap",
        "projected volume",
    )),
    optional(field(
        PodSpec,
        &["volumes", "*", "projected", "sources", "*", "secret"],
        "name",
        "Secret",
        "projected volume",
    )),
    optional(field(Container, &["envFrom", "*", "configMapRef"], "name", "ConfigMap", "envFrom")),
    optional(field(Container, &["envFrom", "*", "secretRef"], "name", "Secret", "envFrom")),
    optional(field(Container, &["env", "*", "valueFrom", "configMapKeyRef"], "name", "ConfigMap", "env valueFrom")),
    optional(field(Container, &["env", "*", "valueFrom", "secretKeyRef"], "name", "Secret", "env valueFrom")),
    field(PodSpec, &[], "serviceAccountName", "ServiceAccount", "serviceAccountName"),
    field(PodSpec, &["imagePullSecrets", "*"], "name", "Secret", "imagePullSecrets"),
    ReferenceField {
        target: Target::RoleRef,
        ..field(Kinds(&["RoleBinding", "ClusterRoleBinding"]), &["roleRef"], "name", "Role", "roleRef")
    },
    ReferenceField {
        only_kind: Some("ServiceAccount"),
        namespace_key: Some("namespace"),
        ..field(Kinds(&["RoleBinding", "ClusterRoleBinding"]), &["subjects", "*"], "name", "ServiceAccount", "subject")
    },
    field(Kinds(&["Ingress"]), &["spec", "defaultBackend", "service"], "name", "Service", "ingress backend"),
    field(
        Kinds(&["Ingress"]),
        &["spec", "rules", "*", "http", "paths", "*", "backend", "service"],
        "name",
        "Service",
        "ingress backend",
    ),
    field(Kinds(&["Ingress"]), &["spec", "tls", "*"], "secretName", "Secret", "ingress TLS"),
];

/// The API group of a kind that reference fields name: RBAC roles in
/// theirs, everything else (ConfigMaps, Secrets, Services, ...) in core.
pub fn group_of_target(kind: &str) -> &'static str {
    match kind {
        "Role" | "ClusterRole" => "rbac.authorization.k8s.io",
        _ => "",
    }
}

/// One reference found in an object.
pub struct Reference<'v> {
    pub kind: &'static str,
    pub group: &'static str,
    /// The target's namespace (`""` for cluster-scoped targets).
    pub namespace: Str,
    /// The name as written; callers may rewrite it (a renamed target).
    pub name: &'v mut Str,
    pub optional: bool,
    pub reason: &'static str,
    /// Made by a pod spec: what the pods read (their config hash covers it).
    pub in_pod_spec: bool,
}

/// One step of a path into an object: a key, or a list index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// Where a traversal is, without allocating: reference fields are at most
/// a dozen steps deep.
struct Path {
    steps: [Step<'static>; 24],
    len: usize,
}

impl Path {
    fn new() -> Path {
        Path { steps: [Step::Index(0); 24], len: 0 }
    }

    fn push(&mut self, step: Step<'static>) {
        if self.len < self.steps.len() {
            self.steps[self.len] = step;
        }
        self.len += 1;
    }

    fn pop(&mut self) {
        self.len -= 1;
    }

    fn steps(&self) -> &[Step<'static>] {
        &self.steps[..self.len.min(self.steps.len())]
    }
}

/// Calls `visit` with every reference that `object`, in namespace
/// `own_ns`, makes through the fields of [`REFERENCE_FIELDS`].
pub fn visit_references(object: &mut Value, own_ns: &Str, visit: &mut dyn FnMut(Reference)) {
    visit_references_at(object, own_ns, &mut |_, r| visit(r));
}

/// [`visit_references`], with the path of each reference's name in the
/// object (for a message that points at the field).
pub fn visit_references_at(object: &mut Value, own_ns: &Str, visit: &mut dyn FnMut(&[Step<'static>], Reference)) {
    let kind = object.str_at(&["kind"]).map(Str::new).unwrap_or_default();
    let of_holder = |holder: fn(&Holder) -> bool| REFERENCE_FIELDS.iter().filter(move |f| holder(&f.holder));
    let mut at = Path::new();
    for f in of_holder(|h| matches!(h, Holder::Kinds(_))) {
        if let Holder::Kinds(kinds) = f.holder
            && kinds.contains(&kind.as_str())
        {
            each_at(object, f.path, &mut at, &mut |at, holder| visit_field(f, holder, own_ns, at, visit));
        }
    }
    let spec_path = crate::registry::row_of_object(object).and_then(|r| r.pod_spec).unwrap_or(&[]);
    let Some(spec) = pod_spec_mut(object) else { return };
    spec_path.iter().for_each(|k| at.push(Step::Key(k)));
    for f in of_holder(|h| matches!(h, Holder::PodSpec)) {
        each_at(spec, f.path, &mut at, &mut |at, holder| visit_field(f, holder, own_ns, at, visit));
    }
    let Some(spec) = spec.as_map_mut() else { return };
    for (list, items) in spec.iter_mut() {
        let Some(list) = CONTAINER_LISTS.iter().find(|l| **l == list.as_str()) else { continue };
        let Value::Seq(containers) = items else { continue };
        at.push(Step::Key(list));
        for (i, container) in containers.iter_mut().enumerate() {
            at.push(Step::Index(i));
            for f in of_holder(|h| matches!(h, Holder::Container)) {
                each_at(container, f.path, &mut at, &mut |at, holder| visit_field(f, holder, own_ns, at, visit));
            }
            at.pop();
        }
        at.pop();
    }
}

/// Calls `f` with every value at `path` below `v`; `*` is every list item.
fn each_at(v: &mut Value, path: &[&'static str], at: &mut Path, f: &mut dyn FnMut(&mut Path, &mut Value)) {
    match path.split_first() {
        None => f(at, v),
        Some((&"*", rest)) => {
            if let Value::Seq(items) = v {
                for (i, item) in items.iter_mut().enumerate() {
                    at.push(Step::Index(i));
                    each_at(item, rest, at, f);
                    at.pop();
                }
            }
        }
        Some((key, rest)) => {
            if let Some(next) = v.as_map_mut().and_then(|m| m.get_mut(key)) {
                at.push(Step::Key(key));
                each_at(next, rest, at, f);
                at.pop();
            }
        }
    }
}

fn visit_field(
    f: &ReferenceField,
    holder: &mut Value,
    own_ns: &Str,
    at: &mut Path,
    visit: &mut dyn FnMut(&[Step<'static>], Reference),
) {
    if f.only_kind.is_some_and(|k| holder.str_at(&["kind"]) != Some(k)) {
        return;
    }
    let kind = match f.target {
        Target::Kind(k) => k,
        Target::RoleRef if holder.str_at(&["kind"]) == Some("ClusterRole") => "ClusterRole",
        Target::RoleRef => "Role",
    };
    let namespace = match (kind, f.namespace_key.and_then(|k| holder.str_at(&[k]))) {
        ("ClusterRole", _) => Str::default(),
        (_, Some(ns)) => Str::new(ns),
        (_, None) => own_ns.clone(),
    };
    let optional = f.may_be_optional && holder.get("optional") == Some(&Value::Bool(true));
    if let Some(Value::String(name)) = holder.as_map_mut().and_then(|m| m.get_mut(f.name)) {
        let in_pod_spec = matches!(f.holder, Holder::PodSpec | Holder::Container);
        at.push(Step::Key(f.name));
        visit(
            at.steps(),
            Reference { kind, group: group_of_target(kind), namespace, name, optional, reason: f.reason, in_pod_spec },
        );
        at.pop();
    }
}

/// Calls `f` with every field that names the namespace of a reference
/// (RBAC subjects' `namespace`), so that `import` can parameterize them.
pub fn visit_reference_namespaces(object: &mut Value, f: &mut dyn FnMut(&mut Value)) {
    let kind = object.str_at(&["kind"]).unwrap_or_default().to_string();
    for field in REFERENCE_FIELDS {
        let (Holder::Kinds(kinds), Some(key)) = (field.holder, field.namespace_key) else { continue };
        if !kinds.contains(&kind.as_str()) {
            continue;
        }
        each_at(object, field.path, &mut Path::new(), &mut |_, holder| {
            if field.only_kind.is_none_or(|k| holder.str_at(&["kind"]) == Some(k))
                && let Some(ns) = holder.as_map_mut().and_then(|m| m.get_mut(key))
            {
                f(ns);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn refs(text: &str) -> Vec<String> {
        let mut v = yaml::parse_value(text).unwrap();
        let mut out = Vec::new();
        visit_references(&mut v, &Str::new("ns"), &mut |r| {
            out.push(format!(
                "{}/{}/{} ({}{})",
                r.kind,
                r.namespace,
                r.name,
                r.reason,
                if r.optional { ", optional" } else { "" }
            ))
        });
        out
    }

    #[test]
    fn pod_spec_references_in_every_workload() {
        let spec = "{serviceAccountName: sa, imagePullSecrets: [{name: pull}], volumes: [{name: a, configMap: {name: cm, optional: true}}, {name: b, secret: {secretName: s}}, {name: c, persistentVolumeClaim: {claimName: pvc}}, {name: d, projected: {sources: [{configMap: {name: pcm}}, {secret: {name: ps}}]}}], initContainers: [{name: i, envFrom: [{configMapRef: {name: icm}}]}], containers: [{name: c, envFrom: [{secretRef: {name: es}}], env: [{name: X, valueFrom: {configMapKeyRef: {name: ecm, key: k}}}, {name: Y, valueFrom: {secretKeyRef: {name: esk, key: k}}}]}]}";
        let expected = [
            "ConfigMap/ns/cm (volume, optional)",
            "Secret/ns/s (volume)",
            "PersistentVolumeClaim/ns/pvc (volume)",
            "ConfigMap/ns/pcm (projected volume)",
            "Secret/ns/ps (projected volume)",
            "ConfigMap/ns/icm (envFrom)",
            "Secret/ns/es (envFrom)",
            "ConfigMap/ns/ecm (env valueFrom)",
            "Secret/ns/esk (env valueFrom)",
            "ServiceAccount/ns/sa (serviceAccountName)",
            "Secret/ns/pull (imagePullSecrets)",
        ];
        for workload in [
            format!("apiVersion: v1\nkind: Pod\nspec: {spec}"),
            format!("apiVersion: apps/v1\nkind: Deployment\nspec: {{template: {{spec: {spec}}}}}"),
            format!(
                "apiVersion: batch/v1\nkind: CronJob\nspec: {{jobTemplate: {{spec: {{template: {{spec: {spec}}}}}}}}}"
            ),
        ] {
            let mut found = refs(&workload);
            found.sort();
            let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
            want.sort();
            assert_eq!(found, want, "{workload}");
        }
    }

    #[test]
    fn rbac_and_ingress() {
        assert_eq!(
            refs(
                "kind: RoleBinding\nroleRef: {kind: ClusterRole, name: view}\nsubjects: [{kind: ServiceAccount, name: sa, namespace: other}, {kind: User, name: alice}]"
            ),
            ["ClusterRole//view (roleRef)", "ServiceAccount/other/sa (subject)"]
        );
        assert_eq!(refs("kind: RoleBinding\nroleRef: {kind: Role, name: r}"), ["Role/ns/r (roleRef)"]);
        assert_eq!(
            refs(
                "kind: Ingress\nspec: {defaultBackend: {service: {name: d}}, rules: [{http: {paths: [{backend: {service: {name: web}}}]}}], tls: [{secretName: cert}]}"
            ),
            ["Service/ns/d (ingress backend)", "Service/ns/web (ingress backend)", "Secret/ns/cert (ingress TLS)"]
        );
    }

    #[test]
    fn names_can_be_rewritten() {
        let mut v = yaml::parse_value("apiVersion: v1\nkind: Pod\nspec: {volumes: [{name: a, configMap: {name: cm}}]}")
            .unwrap();
        visit_references(&mut v, &Str::new("ns"), &mut |r| *r.name = format!("{}-0123456789", r.name).into());
        assert_eq!(
            v.pointer(&["spec", "volumes"]).unwrap().as_seq().unwrap()[0].str_at(&["configMap", "name"]),
            Some("cm-0123456789")
        );
    }
}
