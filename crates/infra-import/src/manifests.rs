//! `infra import`: plain manifests (a Helm render, a Kustomize build, a
//! `kubectl get -o yaml` dump) become a new infra project that builds the
//! same objects. Server-populated fields are dropped, dashboard ConfigMaps
//! become dashboard files, Secrets become `external` stubs unless kept, and
//! text that would read as an expression is escaped.

use infra_compiler::emit::names;
use infra_compiler::emit::path::RelPath;
use infra_k8s::annotations::{self, GRAFANA_DASHBOARD_LABEL, GRAFANA_FOLDER_ANNOTATION};
use infra_k8s::kinds::{ObjectId, name_from};
use infra_k8s::references;
use infra_k8s::registry::{BuildKinds, Scope};
use infra_syntax::{Code, Diagnostic, Map, Str, Value, yaml};
use std::collections::BTreeSet;

/// Metadata the API server fills in; never part of a project.
const SERVER_FIELDS: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "managedFields",
    "creationTimestamp",
    "selfLink",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
];

pub struct Options {
    pub name: String,
    pub keep_secrets: bool,
}

/// What an import wrote, for the summary.
#[derive(Debug, Default)]
pub struct Report {
    pub files: Vec<String>,
    pub resources: usize,
    pub dashboards: usize,
    pub secrets_stubbed: Vec<String>,
    pub skipped_owned: Vec<String>,
    pub namespace_param: Option<String>,
    /// Objects the others use and the sources do not hold (namespaces,
    /// Secrets made at run time): declared `external: true`.
    pub external: Vec<String>,
    /// Namespaced objects that name no namespace (a Kustomize build without
    /// `namespace:`): kubectl puts them in its context's.
    pub without_namespace: Vec<String>,
    /// `helm test` pods, dropped.
    pub dropped_tests: Vec<String>,
    /// Other Helm hooks, kept as ordinary objects: "Job/ns/name (pre-upgrade)".
    pub kept_hooks: Vec<String>,
}

/// The Helm release the sources were made by, if they were: its name and
/// namespace, from what Helm writes on live objects
/// (`meta.helm.sh/release-name`) or, in `helm template` output, the
/// `app.kubernetes.io/instance` label of objects with a `helm.sh/chart`
/// label.
pub fn helm_release(objects: &[Value]) -> Option<(String, Option<String>)> {
    let text = |o: &Value, path: &[&str]| o.str_at(path).map(str::to_string);
    let live = objects.iter().find_map(|o| {
        let name = text(o, &["metadata", "annotations", "meta.helm.sh/release-name"])?;
        Some((name, text(o, &["metadata", "annotations", "meta.helm.sh/release-namespace"])))
    });
    live.or_else(|| {
        objects.iter().find_map(|o| {
            text(o, &["metadata", "labels", "helm.sh/chart"])?;
            let name = text(o, &["metadata", "labels", "app.kubernetes.io/instance"])?;
            Some((name, text(o, &["metadata", "namespace"])))
        })
    })
}

/// The project's files: (path relative to the project, content). The
/// objects' identities must be valid (as [`infra_k8s::manifests::read`] checks).
pub fn project_files(objects: Vec<Value>, options: &Options) -> Result<(Vec<(RelPath, String)>, Report), Diagnostic> {
    let mut report = Report::default();
    let mut objects: Vec<Value> = objects
        .into_iter()
        .filter(|o| {
            // Objects made by controllers (a Deployment's ReplicaSets and
            // Pods) are recreated by their owner; they are not code.
            let owned = o.pointer(&["metadata", "ownerReferences"]).is_some();
            if owned {
                report.skipped_owned.push(ObjectId::of(o).short());
            }
            // `helm test` pods run on demand, never as part of a release.
            let hook = o.str_at(&["metadata", "annotations", annotations::HELM_HOOK]);
            match hook {
                Some(h) if annotations::is_helm_test(h) => report.dropped_tests.push(ObjectId::of(o).short()),
                Some(h) if !owned => report.kept_hooks.push(format!("{} ({h})", ObjectId::of(o).short())),
                _ => {}
            }
            imported(o)
        })
        .map(clean)
        .collect();

    // The namespaces of namespaced objects; one for everything becomes a
    // parameter, set once in `common`.
    let kinds = BuildKinds::of(objects.iter());
    let namespaces: BTreeSet<String> = objects
        .iter()
        .filter(|o| !kinds.is_cluster_scoped(o))
        .filter_map(|o| o.str_at(&["metadata", "namespace"]))
        .map(String::from)
        .collect();
    let namespace = (namespaces.len() == 1).then(|| namespaces.iter().next().cloned().unwrap_or_default());
    report.without_namespace = objects
        .iter()
        .filter(|o| {
            kinds.scope_of(o) == Some(Scope::Namespaced)
                && o.str_at(&["metadata", "namespace"]).is_none_or(str::is_empty)
        })
        .map(|o| ObjectId::of(o).short())
        .collect();
    // What the objects use and the sources do not hold exists in the
    // cluster already (a namespace made by `helm install
    // --create-namespace`, a Secret a hook job makes): external stubs.
    let mut have: BTreeSet<ObjectId> = objects.iter().map(ObjectId::of).collect();
    let mut used: Vec<ObjectId> = namespaces
        .iter()
        .map(|ns| ObjectId {
            group: "".into(),
            kind: "Namespace".into(),
            namespace: "".into(),
            name: ns.as_str().into(),
        })
        .collect();
    for o in &mut objects {
        let own_ns = o.str_at(&["metadata", "namespace"]).map(Str::new).unwrap_or_default();
        references::visit_references(o, &own_ns, &mut |r| {
            if !r.optional {
                used.push(ObjectId {
                    group: r.group.into(),
                    kind: r.kind.into(),
                    namespace: r.namespace,
                    name: r.name.clone(),
                });
            }
        });
    }
    for id in used {
        if have.insert(id.clone()) {
            report.external.push(id.short());
            objects.push(external_stub(&id));
        }
    }

    let mut files = Vec::new();
    let mut dashboards = Vec::new();
    let mut taken = BTreeSet::new();
    let mut resources = Vec::new();
    for object in &mut objects {
        escape_expressions(object);
        let id = ObjectId::of(object);
        if let Some((file, text, entry)) = dashboard_file(object, &id, namespace.as_deref(), &mut taken) {
            files.push((file, text));
            dashboards.push(entry);
            report.dashboards += 1;
            continue;
        }
        let mut doc = Map::new();
        let stub = report.external.contains(&id.short());
        if stub {
            doc = object.as_map().cloned().unwrap_or_default();
        } else if id.kind == "Secret" && !options.keep_secrets {
            let mut infra = Map::new();
            infra.insert("external", Value::Bool(true));
            doc.insert("infra", Value::Map(infra));
            let mut meta = Map::new();
            meta.insert("name", id.name.as_str().into());
            if !id.namespace.is_empty() {
                meta.insert("namespace", id.namespace.as_str().into());
            }
            doc.insert("apiVersion", object.get("apiVersion").cloned().unwrap_or(Value::Null));
            doc.insert("kind", "Secret".into());
            doc.insert("metadata", Value::Map(meta));
            report.secrets_stubbed.push(id.short());
        } else {
            for (k, v) in object.as_map().into_iter().flatten() {
                doc.insert(k.clone(), v.clone());
            }
        }
        let mut doc = Value::Map(doc);
        if let Some(ns) = &namespace {
            parameterize_namespace(&mut doc, ns);
        }
        let mut text = String::new();
        if id.kind == "Secret" && !options.keep_secrets {
            text.push_str("# The Secret's data stays in the cluster; infra only references it.\n");
        }
        if stub {
            text.push_str("# The imported objects use this object and the sources do not hold it: it\n# exists in the cluster (or is made at run time), and infra only references it.\n");
        }
        text.push_str(&yaml::emit(&doc));
        resources.push((id, text));
        report.resources += 1;
    }
    // The same file names as `infra build` writes, below `manifests/`.
    let names = names::object_files(&resources.iter().map(|(id, _)| id).collect::<Vec<_>>());
    let manifests = RelPath::new("manifests").expect("a plain name");
    for (name, (_, text)) in names.into_iter().zip(resources) {
        files.push((
            manifests.join(name.as_str()).map_err(|e| Diagnostic::error(Code::CannotWrite, e.to_string()))?,
            text,
        ));
    }

    let mut project = Map::new();
    project.insert("name", options.name.as_str().into());
    if let Some(ns) = &namespace {
        let mut params = Map::new();
        params.insert("namespace", ns.as_str().into());
        project.insert("params", Value::Map(params));
        let mut common = Map::new();
        common.insert("namespace", NAMESPACE_PARAM.into());
        project.insert("common", Value::Map(common));
        report.namespace_param = Some(ns.clone());
    }
    if report.resources > 0 {
        project.insert("resources", Value::Seq(vec!["manifests/*/*.yaml".into()]));
    }
    if !dashboards.is_empty() {
        project.insert("dashboards", Value::Seq(dashboards));
    }
    let header = "# Imported by `infra import`. Build it with `infra build`; check the round\n# trip with `infra diff <source> <(infra build -o -)`.\n";
    let infra_yaml = RelPath::new("infra.yaml").map_err(|e| Diagnostic::error(Code::CannotWrite, e.to_string()))?;
    files.insert(0, (infra_yaml, format!("{header}{}", yaml::emit(&Value::Map(project)))));
    report.files = files.iter().map(|(f, _)| f.to_string()).collect();
    Ok((files, report))
}

/// Whether an object of the sources becomes part of the project: objects
/// made by controllers and `helm test` pods do not.
pub fn imported(o: &Value) -> bool {
    o.pointer(&["metadata", "ownerReferences"]).is_none()
        && !o.str_at(&["metadata", "annotations", annotations::HELM_HOOK]).is_some_and(annotations::is_helm_test)
}

/// Drops server-populated fields.
fn clean(mut object: Value) -> Value {
    if let Some(m) = object.as_map_mut() {
        m.shift_remove("status");
    }
    if let Some(Value::Map(meta)) = object.as_map_mut().and_then(|m| m.get_mut("metadata")) {
        for f in SERVER_FIELDS {
            meta.shift_remove(f);
        }
        if let Some(Value::Map(a)) = meta.get_mut("annotations") {
            a.shift_remove(annotations::LAST_APPLIED);
            a.retain(|k, _| !k.starts_with(annotations::PREFIX));
            if a.is_empty() {
                meta.shift_remove("annotations");
            }
        }
    }
    object
}

/// `${{` in imported text would read as an expression: write `$${{`.
fn escape_expressions(v: &mut Value) {
    v.for_each_string_mut(&mut |s| {
        if s.contains("${{") {
            *s = s.replace("${{", "$${{").into();
        }
    });
    if let Value::Map(m) = v {
        let keys: Vec<infra_syntax::Str> = m.keys().filter(|k| k.contains("${{")).cloned().collect();
        for k in keys {
            let val = m.shift_remove(&k).unwrap_or(Value::Null);
            m.insert(k.replace("${{", "$${{"), val);
        }
        m.values_mut().for_each(escape_expressions_in_keys);
    }
}

fn escape_expressions_in_keys(v: &mut Value) {
    match v {
        Value::Map(m) => {
            let keys: Vec<infra_syntax::Str> = m.keys().filter(|k| k.contains("${{")).cloned().collect();
            for k in keys {
                let val = m.shift_remove(&k).unwrap_or(Value::Null);
                m.insert(k.replace("${{", "$${{"), val);
            }
            m.values_mut().for_each(escape_expressions_in_keys);
        }
        Value::Seq(items) => items.iter_mut().for_each(escape_expressions_in_keys),
        _ => {}
    }
}

/// The expression of the shared namespace.
const NAMESPACE_PARAM: &str = "${{ params.namespace }}";

/// An object that exists in the cluster: `external: true`.
fn external_stub(id: &ObjectId) -> Value {
    let mut infra = Map::new();
    infra.insert("external", Value::Bool(true));
    let mut meta = Map::new();
    meta.insert("name", id.name.as_str().into());
    if !id.namespace.is_empty() {
        meta.insert("namespace", id.namespace.as_str().into());
    }
    let mut doc = Map::new();
    doc.insert("infra", Value::Map(infra));
    let api_version = if id.group.is_empty() { "v1".to_string() } else { format!("{}/v1", id.group) };
    doc.insert("apiVersion", api_version.into());
    doc.insert("kind", id.kind.as_str().into());
    doc.insert("metadata", Value::Map(meta));
    Value::Map(doc)
}

/// Replaces the shared namespace by the `namespace` parameter: objects
/// leave theirs to `common`, references and the Namespace name the
/// parameter.
fn parameterize_namespace(doc: &mut Value, ns: &str) {
    let expr = Value::String(NAMESPACE_PARAM.into());
    let kind = doc.str_at(&["kind"]).unwrap_or_default().to_string();
    if let Some(Value::Map(meta)) = doc.as_map_mut().and_then(|m| m.get_mut("metadata")) {
        if meta.get("namespace").and_then(Value::as_str) == Some(ns) {
            meta.shift_remove("namespace");
        }
        if kind == "Namespace" && meta.get("name").and_then(Value::as_str) == Some(ns) {
            meta.insert("name", expr.clone());
        }
    }
    references::visit_reference_namespaces(doc, &mut |namespace| {
        if namespace.as_str() == Some(ns) {
            *namespace = expr.clone();
        }
    });
}

/// A ConfigMap of Grafana dashboards that a `dashboards:` entry can
/// reproduce exactly: its one data key holds a JSON dashboard with a uid
/// and no unresolved inputs (the build would rewrite anything else).
fn dashboard_file(
    object: &Value,
    id: &ObjectId,
    namespace: Option<&str>,
    taken: &mut BTreeSet<RelPath>,
) -> Option<(RelPath, String, Value)> {
    if id.kind != "ConfigMap" {
        return None;
    }
    let labels = object.pointer(&["metadata", "labels"]).and_then(Value::as_map)?;
    let (label, label_value) =
        labels.iter().find(|(k, _)| k.as_str() == GRAFANA_DASHBOARD_LABEL || k.ends_with("dashboard"))?;
    let data = object.get("data").and_then(Value::as_map)?;
    if data.len() != 1 || object.get("binaryData").is_some() {
        return None;
    }
    let (key, text) = data.iter().next()?;
    let text = text.as_str()?;
    let json: serde_json::Value = infra_syntax::json::parse(text.as_bytes()).ok()?;
    let model = json.as_object()?;
    let reproducible = model.get("uid").and_then(|u| u.as_str()).is_some_and(|u| !u.is_empty())
        && !model.contains_key("__inputs")
        && !model.contains_key("dashboard");
    if !reproducible {
        return None;
    }
    let stem = key.strip_suffix(".json").unwrap_or(key);
    let stem = name_from(stem);
    let mut file = RelPath::new(format!("dashboards/{}", names::fit_name(&stem, ".json"))).ok()?;
    let mut n = 1;
    while !taken.insert(file.clone()) {
        file = RelPath::new(format!("dashboards/{}", names::fit_name(&format!("{stem}-{n}"), ".json"))).ok()?;
        n += 1;
    }
    let mut entry = Map::new();
    entry.insert("files", file.as_str().into());
    entry.insert("name", id.name.as_str().into());
    entry.insert("key", key.as_str().into());
    // The shared namespace comes from `common`.
    if !id.namespace.is_empty() && Some(id.namespace.as_str()) != namespace {
        entry.insert("namespace", id.namespace.as_str().into());
    }
    if label != GRAFANA_DASHBOARD_LABEL {
        entry.insert("label", label.as_str().into());
    }
    if label_value.as_str() != Some("1") {
        entry.insert("label_value", label_value.clone());
    }
    let other_labels: Map = labels.iter().filter(|(k, _)| *k != label).map(|(k, v)| (k.clone(), v.clone())).collect();
    if !other_labels.is_empty() {
        entry.insert("labels", Value::Map(other_labels));
    }
    if let Some(annotations) = object.pointer(&["metadata", "annotations"]).and_then(Value::as_map) {
        let mut others = Map::new();
        for (k, v) in annotations {
            if k == GRAFANA_FOLDER_ANNOTATION {
                entry.insert("folder", v.clone());
            } else {
                others.insert(k.clone(), v.clone());
            }
        }
        if !others.is_empty() {
            entry.insert("annotations", Value::Map(others));
        }
    }
    Some((file, text.to_string(), Value::Map(entry)))
}
