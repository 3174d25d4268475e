//! The plan stage: what applying a new set of objects over an old one will
//! do — create, update, replace (an immutable field changed) or delete each
//! object, which workloads roll out, and every path to data loss.
//!
//! ```text
//! old objects x new objects --plan--> Plan --render--> text | json
//! ```
//!
//! Objects are plain manifests: a compiled directory, a git revision, a Helm
//! render, or a build in memory. Nothing here talks to a cluster.

use crate::graph::{CONFIG_HASH_ANNOTATION, HASH_ANNOTATION};
use crate::kinds::{ObjectId, pod_template_path};
use crate::stateful;
use infra_syntax::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Written on objects whose `protect` directive is false, so that a plan
/// made from compiled output knows the PVC may be deleted.
pub const PROTECT_ANNOTATION: &str = "infra.dev/protect";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Action {
    Create,
    Update,
    Replace,
    Delete,
}

impl Action {
    pub fn word(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Update => "update",
            Action::Replace => "replace",
            Action::Delete => "delete",
        }
    }
}

/// One changed field, at a readable path such as
/// `spec.template.spec.containers[name=grafana].image`.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldChange {
    pub path: String,
    pub old: Option<Value>,
    pub new: Option<Value>,
    /// A secret's value: shown as `(redacted)` with its size.
    pub redacted: bool,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub action: Action,
    pub id: ObjectId,
    pub api_version: String,
    /// A ConfigMap or Secret whose hash-suffixed name changed.
    pub renamed_from: Option<String>,
    pub rollout: bool,
    pub reason: String,
    pub fields: Vec<FieldChange>,
}

impl Change {
    /// A change of a whole object, without field changes.
    fn whole(action: Action, id: &ObjectId, v: &Value, reason: String) -> Change {
        Change {
            action,
            id: id.clone(),
            api_version: api_version(v),
            renamed_from: None,
            rollout: false,
            reason,
            fields: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    DataLoss,
    Warning,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::DataLoss => "data-loss",
            Severity::Warning => "warning",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hazard {
    pub severity: Severity,
    pub kind: String,
    pub namespace: String,
    pub name: String,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Plan {
    pub changes: Vec<Change>,
    pub hazards: Vec<Hazard>,
    pub unchanged: usize,
    /// Objects that exist (in a live dump, or dashboards in Grafana) but
    /// that the project does not define.
    pub unmanaged: Vec<Unmanaged>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Unmanaged {
    pub id: ObjectId,
    /// Why it matters, when it does ("a Grafana dashboard ...").
    pub note: Option<String>,
}

impl Plan {
    pub fn count(&self, action: Action) -> usize {
        self.changes.iter().filter(|c| c.action == action).count()
    }

    pub fn has_data_loss(&self) -> bool {
        self.hazards.iter().any(|h| h.severity == Severity::DataLoss)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Options {
    pub show_secrets: bool,
}

/// Compares two sets of objects.
pub fn plan(old: &[&Value], new: &[&Value], options: &Options) -> Plan {
    let index = |objects: &[&Value]| -> BTreeMap<ObjectId, usize> {
        objects.iter().enumerate().map(|(i, v)| (ObjectId::of(v), i)).collect()
    };
    let old_ids = index(old);
    let new_ids = index(new);
    let mut plan = Plan::default();
    let mut created: Vec<&ObjectId> = new_ids.keys().filter(|id| !old_ids.contains_key(*id)).collect();
    let mut deleted: Vec<&ObjectId> = old_ids.keys().filter(|id| !new_ids.contains_key(*id)).collect();

    // A hash-suffixed ConfigMap or Secret that changed content changed name:
    // pair the deleted and created names as one renamed object.
    let mut renames: Vec<(&ObjectId, &ObjectId)> = Vec::new();
    created.retain(|c| {
        let Some(base) = hash_suffix_base(c) else { return true };
        match deleted.iter().position(|d| {
            hash_suffix_base(d) == Some(base) && d.kind == c.kind && d.namespace == c.namespace && d.group == c.group
        }) {
            Some(i) => {
                renames.push((deleted.remove(i), c));
                false
            }
            None => true,
        }
    });

    for (id, &j) in &new_ids {
        if let Some(&i) = old_ids.get(id) {
            match compare(old[i], new[j], options) {
                Some(change) => plan.changes.push(change),
                None => plan.unchanged += 1,
            }
        }
    }
    for (from, to) in renames {
        let v = new[new_ids[to]];
        let mut change = compare(old[old_ids[from]], v, options)
            .unwrap_or_else(|| Change::whole(Action::Update, to, v, String::new()));
        change.fields.retain(|f| f.path != "metadata.name");
        change.renamed_from = Some(from.name.clone());
        change.reason = format!("content changed, so its hash-suffixed name changed (was {})", from.name);
        plan.changes.push(change);
    }
    for id in created {
        plan.changes.push(Change::whole(Action::Create, id, new[new_ids[id]], "new in the project".into()));
    }
    for id in deleted {
        plan.changes.push(Change::whole(Action::Delete, id, old[old_ids[id]], "no longer in the project".into()));
    }
    plan.changes.sort_by(|a, b| (a.action, &a.id).cmp(&(b.action, &b.id)));

    let old_by_id: HashMap<&ObjectId, &Value> = old_ids.iter().map(|(id, &i)| (id, old[i])).collect();
    let new_by_id: HashMap<&ObjectId, &Value> = new_ids.iter().map(|(id, &i)| (id, new[i])).collect();
    for change in &plan.changes {
        let old_name = change.renamed_from.as_ref().map(|n| ObjectId { name: n.clone(), ..change.id.clone() });
        let before = old_by_id.get(old_name.as_ref().unwrap_or(&change.id)).copied();
        let after = new_by_id.get(&change.id).copied();
        hazards_of(change, before, after, &mut plan.hazards);
    }
    dashboard_hazards(old, new, &mut plan.hazards);
    let losing: BTreeSet<(String, String, String)> =
        plan.hazards.iter().map(|h| (h.kind.clone(), h.namespace.clone(), h.name.clone())).collect();
    for v in new {
        let id = ObjectId::of(v);
        // Objects already named for data loss need no second warning.
        if losing.contains(&(id.kind.clone(), id.namespace.clone(), id.name.clone())) {
            continue;
        }
        for found in stateful::ephemeral_state(v) {
            plan.hazards.push(Hazard {
                severity: Severity::Warning,
                kind: id.kind.clone(),
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                reason: format!(
                    "stateful workload without storage: {} keeps {} in {}",
                    stateful::image_name(&found.image),
                    found.data_dir,
                    found.storage
                ),
            });
        }
    }
    plan.hazards.sort();
    plan.hazards.dedup();
    plan
}

/// The object without its `infra.dev/hash` annotation (and, with
/// `drop_empty`, without an annotations map that held only that).
fn without_hash(v: &Value, drop_empty: bool) -> std::borrow::Cow<'_, Value> {
    let has = v.pointer(&["metadata", "annotations"]).and_then(|a| a.get(HASH_ANNOTATION)).is_some();
    if !has {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut v = v.clone();
    if let Some(Value::Map(meta)) = v.as_map_mut().and_then(|m| m.get_mut("metadata"))
        && let Some(Value::Map(a)) = meta.get_mut("annotations")
    {
        a.shift_remove(HASH_ANNOTATION);
        if a.is_empty() && drop_empty {
            meta.shift_remove("annotations");
        }
    }
    std::borrow::Cow::Owned(v)
}

fn api_version(v: &Value) -> String {
    v.str_at(&["apiVersion"]).unwrap_or_default().to_string()
}

/// `name` of `name-0123456789` for ConfigMaps and Secrets.
fn hash_suffix_base(id: &ObjectId) -> Option<&str> {
    if !matches!(id.kind.as_str(), "ConfigMap" | "Secret") {
        return None;
    }
    let (base, suffix) = id.name.rsplit_once('-')?;
    (suffix.len() == 10 && suffix.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_lowercase())).then_some(base)
}

/// The change between two versions of one object, or `None` when equal.
fn compare(old: &Value, new: &Value, options: &Options) -> Option<Change> {
    let id = ObjectId::of(new);
    let secret = id.kind == "Secret";
    let mut fields = Vec::new();
    // The content hash changes with everything; it is not a change of its own.
    // Annotations that held only the hash count as none, unless the other
    // side has annotations to compare them with.
    let annotated = |v: &Value| {
        v.pointer(&["metadata", "annotations"])
            .and_then(Value::as_map)
            .is_some_and(|a| a.iter().any(|(k, _)| k != HASH_ANNOTATION))
    };
    let drop_empty = !(annotated(old) || annotated(new));
    let (old, new) = (&without_hash(old, drop_empty), &without_hash(new, drop_empty));
    diff_values(old, new, &mut Vec::new(), &mut fields);
    if fields.is_empty() {
        return None;
    }
    if secret && !options.show_secrets {
        for f in &mut fields {
            if f.path.starts_with("data")
                || f.path.starts_with("stringData")
                || f.path.contains("last-applied-configuration")
            {
                f.redacted = true;
            }
        }
    }
    let immutable: Vec<&str> =
        fields.iter().filter(|f| is_immutable(&id.kind, old, f)).map(|f| f.path.as_str()).collect();
    let (action, mut reason) = if immutable.is_empty() {
        (Action::Update, String::new())
    } else {
        (Action::Replace, format!("immutable field changed: {}", immutable.join(", ")))
    };
    let template = pod_template_path(&id.kind).map(path_prefix);
    let rollout = matches!(id.kind.as_str(), "Deployment" | "StatefulSet" | "DaemonSet")
        && template.as_ref().is_some_and(|t| fields.iter().any(|f| f.path.starts_with(t.as_str())));
    if rollout {
        let t = template.expect("rollout implies a template");
        let what: BTreeSet<String> = fields
            .iter()
            .filter(|f| f.path.starts_with(t.as_str()))
            .map(|f| rollout_cause(&f.path[t.len()..]))
            .collect();
        let cause = format!("pod template changed ({})", what.into_iter().collect::<Vec<_>>().join(", "));
        reason = if reason.is_empty() { cause } else { format!("{reason}; {cause}") };
    } else if reason.is_empty() {
        let top: BTreeSet<&str> = fields.iter().map(|f| f.path.split(['.', '[']).next().unwrap_or("")).collect();
        reason = format!("changed: {}", top.into_iter().collect::<Vec<_>>().join(", "));
    }
    Some(Change { action, id, api_version: api_version(new), renamed_from: None, rollout, reason, fields })
}

fn path_prefix(keys: &[&str]) -> String {
    format!("{}.", keys.join("."))
}

/// A short name for what changed inside a pod template.
fn rollout_cause(rest: &str) -> String {
    if rest.contains(CONFIG_HASH_ANNOTATION) {
        return "config-hash: a ConfigMap or Secret it uses changed".into();
    }
    let parts: Vec<&str> = rest.split('.').collect();
    let container = parts.iter().find(|p| p.starts_with("containers[") || p.starts_with("initContainers["));
    let field = parts.iter().rev().find(|p| !p.contains('[') && !p.starts_with('"')).copied().unwrap_or(rest);
    match (container, parts.get(2)) {
        (Some(c), Some(f)) => {
            let what = f.split('[').next().unwrap_or(f);
            format!("{} of {}", what, c.trim_start_matches("containers").trim_start_matches("initContainers"))
        }
        _ if rest.starts_with("metadata.") => {
            format!("pod {}", parts.get(1).map_or(field, |p| p.split('[').next().unwrap_or(p)))
        }
        _ => parts.get(1).map_or(field, |p| p.split('[').next().unwrap_or(p)).to_string(),
    }
}

// ---------------------------------------------------------------------------
// Drift: the project against what runs
// ---------------------------------------------------------------------------

/// Kinds a cluster makes by itself; never reported as unmanaged.
const CLUSTER_MADE: &[&str] =
    &["Event", "Endpoints", "EndpointSlice", "ControllerRevision", "Lease", "Pod", "ReplicaSet", "Job"];

/// Compares the project (`desired`) with a cluster dump (`live`): only the
/// fields the project sets are compared, so server defaults and status are
/// not drift; objects in the project's namespaces that the project does not
/// define are listed as unmanaged. `external` objects are the project's
/// too, though it does not write them.
pub fn plan_live(live: &[&Value], desired: &[&Value], external: &[ObjectId], options: &Options) -> Plan {
    let live_by_id: HashMap<ObjectId, &Value> = live.iter().map(|v| (ObjectId::of(v), *v)).collect();
    let desired_ids: BTreeSet<ObjectId> =
        desired.iter().map(|v| ObjectId::of(v)).chain(external.iter().cloned()).collect();
    let projected: Vec<Value> =
        desired.iter().filter_map(|d| live_by_id.get(&ObjectId::of(d)).map(|l| project_live(l, d))).collect();
    let mut plan = plan(&projected.iter().collect::<Vec<_>>(), desired, options);
    let namespaces: BTreeSet<&str> =
        desired_ids.iter().map(|id| id.namespace.as_str()).filter(|n| !n.is_empty()).collect();
    for v in live {
        let id = ObjectId::of(v);
        if desired_ids.contains(&id) || !namespaces.contains(id.namespace.as_str()) || made_by_cluster(v, &id) {
            continue;
        }
        let note = (!dashboards(&[*v]).is_empty()).then(|| {
            "a Grafana dashboard that exists only in the cluster: `infra import` can turn it into a dashboard file"
                .to_string()
        });
        plan.unmanaged.push(Unmanaged { id, note });
    }
    plan.unmanaged.sort();
    plan
}

fn made_by_cluster(v: &Value, id: &ObjectId) -> bool {
    CLUSTER_MADE.contains(&id.kind.as_str())
        || v.pointer(&["metadata", "ownerReferences"]).is_some()
        || (id.kind == "ServiceAccount" && id.name == "default")
        || (id.kind == "ConfigMap" && id.name == "kube-root-ca.crt")
        || v.str_at(&["type"]) == Some("kubernetes.io/service-account-token")
}

/// The part of `live` that `desired` sets. Maps keep the keys the project
/// sets; named list items are matched by name (items the cluster added,
/// such as injected sidecars, are not drift). A map whose keys share
/// nothing with the project's but `name` is a different variant (an
/// `emptyDir` where the project says `persistentVolumeClaim`) and is kept
/// whole.
pub fn project_live(live: &Value, desired: &Value) -> Value {
    match (live, desired) {
        (Value::Map(l), Value::Map(d)) => {
            let shared = d.keys().filter(|k| k.as_str() != "name").any(|k| l.contains_key(k));
            let variant = !shared && l.keys().any(|k| k != "name") && d.keys().any(|k| k != "name");
            if variant {
                return live.clone();
            }
            let mut out = infra_syntax::Map::with_capacity(d.len());
            for (k, dv) in d {
                if let Some(lv) = l.get(k) {
                    out.insert(k.clone(), project_live(lv, dv));
                }
            }
            Value::Map(out)
        }
        (Value::Seq(l), Value::Seq(d)) if named(d) && l.iter().all(|i| i.str_at(&["name"]).is_some()) => Value::Seq(
            d.iter()
                .filter_map(|di| {
                    let name = di.str_at(&["name"]);
                    l.iter().find(|li| li.str_at(&["name"]) == name).map(|li| project_live(li, di))
                })
                .collect(),
        ),
        (Value::Seq(l), Value::Seq(d)) if l.len() == d.len() => {
            Value::Seq(l.iter().zip(d).map(|(li, di)| project_live(li, di)).collect())
        }
        _ => live.clone(),
    }
}

// ---------------------------------------------------------------------------
// Field diffs
// ---------------------------------------------------------------------------

fn render_path(segments: &[String]) -> String {
    let mut out = String::new();
    for s in segments {
        if s.starts_with('[') {
            out.push_str(s);
        } else {
            if !out.is_empty() {
                out.push('.');
            }
            out.push_str(s);
        }
    }
    out
}

fn key_segment(key: &str) -> String {
    if key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') && !key.is_empty() {
        key.to_string()
    } else {
        format!("[{key:?}]")
    }
}

fn diff_values(old: &Value, new: &Value, path: &mut Vec<String>, out: &mut Vec<FieldChange>) {
    // The same object (an unchanged one reused from the build) needs no walk.
    if std::ptr::eq(old, new) || old == new {
        return;
    }
    match (old, new) {
        (Value::Map(a), Value::Map(b)) => {
            diff_keyed(&map_entries(a), &map_entries(b), path, out);
        }
        (Value::Seq(a), Value::Seq(b)) if named(a) && named(b) => {
            diff_keyed(&named_items(a), &named_items(b), path, out);
        }
        (Value::Seq(a), Value::Seq(b)) if a.len() == b.len() => {
            for (i, (av, bv)) in a.iter().zip(b).enumerate() {
                path.push(format!("[{i}]"));
                diff_values(av, bv, path, out);
                path.pop();
            }
        }
        _ => out.push(FieldChange {
            path: render_path(path),
            old: Some(old.clone()),
            new: Some(new.clone()),
            redacted: false,
        }),
    }
}

fn map_entries(m: &infra_syntax::Map) -> Vec<(String, &Value)> {
    m.iter().map(|(k, v)| (key_segment(k), v)).collect()
}

fn named_items(items: &[Value]) -> Vec<(String, &Value)> {
    items.iter().map(|v| (format!("[name={}]", v.str_at(&["name"]).unwrap_or_default()), v)).collect()
}

/// Diffs two keyed collections (map entries, or list items by name): a key
/// on one side only is a removal or an addition.
fn diff_keyed(a: &[(String, &Value)], b: &[(String, &Value)], path: &mut Vec<String>, out: &mut Vec<FieldChange>) {
    for (key, av) in a {
        path.push(key.clone());
        match b.iter().find(|(k, _)| k == key) {
            Some((_, bv)) => diff_values(av, bv, path, out),
            None => {
                out.push(FieldChange { path: render_path(path), old: Some((*av).clone()), new: None, redacted: false })
            }
        }
        path.pop();
    }
    for (key, bv) in b.iter().filter(|(k, _)| !a.iter().any(|(x, _)| x == k)) {
        path.push(key.clone());
        out.push(FieldChange { path: render_path(path), old: None, new: Some((*bv).clone()), redacted: false });
        path.pop();
    }
}

fn named(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.str_at(&["name"]).is_some())
}

// ---------------------------------------------------------------------------
// Immutable fields
// ---------------------------------------------------------------------------

/// Whether a change to this field cannot be applied in place. The table
/// follows the Kubernetes API's validation rules (see docs/plan.md).
fn is_immutable(kind: &str, old: &Value, f: &FieldChange) -> bool {
    let p = f.path.as_str();
    let under =
        |prefix: &str| p == prefix || p.starts_with(&format!("{prefix}.")) || p.starts_with(&format!("{prefix}["));
    match kind {
        "PersistentVolumeClaim" => {
            if p == "spec.resources.requests.storage" {
                // Volumes grow in place; they never shrink.
                return !matches!((f.old.as_ref().and_then(quantity), f.new.as_ref().and_then(quantity)), (Some(a), Some(b)) if b >= a);
            }
            under("spec") && !under("spec.resources.limits") && !under("spec.volumeAttributesClassName")
        }
        "PersistentVolume" => {
            under("spec")
                && ![
                    "spec.capacity",
                    "spec.claimRef",
                    "spec.persistentVolumeReclaimPolicy",
                    "spec.mountOptions",
                    "spec.storageClassName",
                    "spec.nodeAffinity",
                ]
                .iter()
                .any(|m| under(m))
        }
        "StatefulSet" => {
            under("spec")
                && ![
                    "spec.replicas",
                    "spec.template",
                    "spec.updateStrategy",
                    "spec.persistentVolumeClaimRetentionPolicy",
                    "spec.minReadySeconds",
                    "spec.ordinals",
                    "spec.revisionHistoryLimit",
                ]
                .iter()
                .any(|m| under(m))
        }
        "Deployment" | "ReplicaSet" | "DaemonSet" => under("spec.selector"),
        "Job" => {
            under("spec.selector")
                || under("spec.template")
                || under("spec.completions")
                || under("spec.completionMode")
        }
        "Service" => {
            under("spec.clusterIP")
                || under("spec.clusterIPs")
                || (under("spec.type") && f.old.as_ref().and_then(Value::as_str) == Some("ExternalName"))
        }
        "ConfigMap" | "Secret" => {
            old.get("immutable") == Some(&Value::Bool(true))
                && (under("data") || under("binaryData") || under("stringData"))
                || (kind == "Secret" && under("type"))
        }
        "RoleBinding" | "ClusterRoleBinding" => under("roleRef"),
        "CustomResourceDefinition" => under("spec.scope") || under("spec.group") || under("spec.names.plural"),
        "Pod" => {
            under("spec")
                && !p.ends_with(".image")
                && !under("spec.activeDeadlineSeconds")
                && !under("spec.tolerations")
        }
        "PodDisruptionBudget" | "Ingress" => false,
        _ => false,
    }
}

/// A storage quantity in bytes (`10Gi`, `500M`, `1.5Ti`), for comparisons.
pub fn quantity(v: &Value) -> Option<f64> {
    let s = match v {
        Value::String(s) => s.as_str(),
        Value::Int(i) => return Some(*i as f64),
        Value::Float(f) => return Some(*f),
        _ => return None,
    };
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().ok()?;
    let m = match unit {
        "" => 1.0,
        "Ki" => 1024.0,
        "Mi" => 1024f64.powi(2),
        "Gi" => 1024f64.powi(3),
        "Ti" => 1024f64.powi(4),
        "Pi" => 1024f64.powi(5),
        "k" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        "P" => 1e15,
        _ => return None,
    };
    Some(n * m)
}

// ---------------------------------------------------------------------------
// Hazards
// ---------------------------------------------------------------------------

fn hazard(change: &Change, severity: Severity, reason: String) -> Hazard {
    Hazard {
        severity,
        kind: change.id.kind.clone(),
        namespace: change.id.namespace.clone(),
        name: change.id.name.clone(),
        reason,
    }
}

fn protected(v: &Value) -> bool {
    v.str_at(&["metadata", "annotations", PROTECT_ANNOTATION]) != Some("false")
}

fn claim_templates(v: &Value) -> Vec<&str> {
    v.pointer(&["spec", "volumeClaimTemplates"])
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.str_at(&["metadata", "name"]))
        .collect()
}

/// Mount paths of a workload that are on a PVC (volume or claim template).
fn pvc_mounts(v: &Value) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let Some(kind) = v.str_at(&["kind"]) else { return out };
    let spec = match pod_template_path(kind) {
        Some(p) => v.pointer(p).and_then(|t| t.get("spec")),
        None if kind == "Pod" => v.get("spec"),
        None => None,
    };
    let Some(spec) = spec else { return out };
    let templates = claim_templates(v);
    let volumes = spec.get("volumes").and_then(Value::as_seq).unwrap_or_default();
    for list in ["containers", "initContainers"] {
        for c in spec.get(list).and_then(Value::as_seq).unwrap_or_default() {
            for m in c.get("volumeMounts").and_then(Value::as_seq).unwrap_or_default() {
                let (Some(path), Some(name)) = (m.str_at(&["mountPath"]), m.str_at(&["name"])) else { continue };
                let claim = if templates.contains(&name) {
                    Some(format!("claim template `{name}`"))
                } else {
                    volumes
                        .iter()
                        .find(|vol| vol.str_at(&["name"]) == Some(name))
                        .and_then(|vol| vol.str_at(&["persistentVolumeClaim", "claimName"]))
                        .map(|claim| format!("PVC `{claim}`"))
                };
                if let Some(claim) = claim {
                    out.insert(path.to_string(), claim);
                }
            }
        }
    }
    out
}

/// Where a workload keeps `path` now, in words.
fn mount_source(v: &Value, path: &str) -> String {
    let kind = v.str_at(&["kind"]).unwrap_or_default();
    let spec = pod_template_path(kind).and_then(|p| v.pointer(p)).and_then(|t| t.get("spec"));
    let Some(spec) = spec else { return "nothing".into() };
    for c in spec.get("containers").and_then(Value::as_seq).unwrap_or_default() {
        for m in c.get("volumeMounts").and_then(Value::as_seq).unwrap_or_default() {
            if m.str_at(&["mountPath"]) == Some(path) {
                let name = m.str_at(&["name"]).unwrap_or_default();
                let vol = spec
                    .get("volumes")
                    .and_then(Value::as_seq)
                    .unwrap_or_default()
                    .iter()
                    .find(|vol| vol.str_at(&["name"]) == Some(name));
                let source = vol.and_then(|v| v.as_map()).and_then(|m| m.keys().find(|k| *k != "name").cloned());
                return match source {
                    Some(s) => format!("{} volume `{name}`", crate::suggest::article(&s)),
                    None => format!("volume `{name}`"),
                };
            }
        }
    }
    "nothing (the container's own filesystem)".into()
}

fn hazards_of(change: &Change, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Hazard>) {
    let kind = change.id.kind.as_str();
    match change.action {
        Action::Delete => {
            let Some(old) = before else { return };
            let reason = match kind {
                "PersistentVolumeClaim" if protected(old) => Some(
                    "the PVC and the data on its volume are deleted (mark it `protect: false` if intended)".to_string(),
                ),
                "PersistentVolume" => Some("the volume and its data are deleted".into()),
                "Namespace" => Some("deleting a namespace deletes everything in it".into()),
                "CustomResourceDefinition" => Some("deleting a CRD deletes all of its custom resources".into()),
                "StatefulSet" if !claim_templates(old).is_empty() => Some(format!(
                    "the StatefulSet's volume claims ({}) lose their owner; their data is no longer served",
                    claim_templates(old).join(", ")
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                out.push(hazard(change, Severity::DataLoss, reason));
            }
            for found in stateful::ephemeral_state(old) {
                out.push(hazard(
                    change,
                    Severity::DataLoss,
                    format!("pods are deleted; {} is {}, so its data is lost", found.data_dir, found.storage),
                ));
            }
        }
        Action::Replace | Action::Update => {
            let (Some(old), Some(new)) = (before, after) else { return };
            if change.action == Action::Replace && kind == "PersistentVolumeClaim" {
                out.push(hazard(
                    change,
                    Severity::DataLoss,
                    format!("the PVC is replaced ({}): a new, empty volume", change.reason),
                ));
            }
            if kind == "StatefulSet" && change.fields.iter().any(|f| f.path.starts_with("spec.volumeClaimTemplates")) {
                out.push(hazard(
                    change,
                    Severity::DataLoss,
                    "the StatefulSet's volume claim templates change: it is replaced, and new claims start empty"
                        .into(),
                ));
            }
            // A data path that was on a PVC and no longer is.
            let before_mounts = pvc_mounts(old);
            let after_mounts = pvc_mounts(new);
            for (path, claim) in &before_mounts {
                if !after_mounts.contains_key(path) {
                    out.push(hazard(
                        change,
                        Severity::DataLoss,
                        format!("{path} moves from {claim} to {}", mount_source(new, path)),
                    ));
                }
            }
            // A rollout of a stateful workload whose data is on the pod now:
            // the current state is lost, even if the new version adds a PVC.
            if change.rollout || change.action == Action::Replace {
                for found in stateful::ephemeral_state(old) {
                    let now = if stateful::ephemeral_state(new).iter().any(|f| f.container == found.container) {
                        String::new()
                    } else {
                        " (the new version adds storage, but the current data is not on it)".into()
                    };
                    out.push(hazard(
                        change,
                        Severity::DataLoss,
                        format!("pods restart; {} is {}: its current data is lost{now}", found.data_dir, found.storage),
                    ));
                }
            }
        }
        Action::Create => {}
    }
}

/// Grafana dashboards in a set of objects: uid → (title, object).
pub fn dashboards(objects: &[&Value]) -> BTreeMap<String, (String, ObjectId)> {
    let mut out = BTreeMap::new();
    for v in objects {
        let texts: Vec<&str> = match v.str_at(&["kind"]) {
            Some("ConfigMap") => v
                .get("data")
                .and_then(Value::as_map)
                .map(|d| d.values().filter_map(Value::as_str).collect())
                .unwrap_or_default(),
            Some("GrafanaDashboard") => v.str_at(&["spec", "json"]).into_iter().collect(),
            _ => Vec::new(),
        };
        for text in texts {
            let t = text.trim_start();
            if !t.starts_with('{') || !text.contains("\"uid\"") {
                continue;
            }
            if let Ok(serde_json::Value::Object(model)) = serde_json::from_str::<serde_json::Value>(text)
                && let Some(uid) = model.get("uid").and_then(|u| u.as_str())
                && (model.contains_key("panels") || model.contains_key("title"))
            {
                let title = model.get("title").and_then(|t| t.as_str()).unwrap_or_default().to_string();
                out.insert(uid.to_string(), (title, ObjectId::of(v)));
            }
        }
    }
    out
}

fn dashboard_hazards(old: &[&Value], new: &[&Value], out: &mut Vec<Hazard>) {
    let before = dashboards(old);
    let after = dashboards(new);
    for (uid, (title, id)) in &before {
        if !after.contains_key(uid) {
            out.push(Hazard {
                severity: Severity::DataLoss,
                kind: id.kind.clone(),
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                reason: format!("dashboard uid {uid} (\"{title}\") disappears; Grafana deletes the dashboard"),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
    }

    #[test]
    fn field_paths_name_list_items() {
        let old = v(
            "kind: Deployment\nmetadata: {name: g}\nspec: {template: {spec: {containers: [{name: grafana, image: 'g:1', env: [{name: A, value: x}]}]}}}",
        );
        let new = v(
            "kind: Deployment\nmetadata: {name: g}\nspec: {template: {spec: {containers: [{name: grafana, image: 'g:2', env: [{name: A, value: y}]}]}}}",
        );
        let c = compare(&old, &new, &Options::default()).unwrap();
        let paths: Vec<&str> = c.fields.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "spec.template.spec.containers[name=grafana].image",
                "spec.template.spec.containers[name=grafana].env[name=A].value"
            ]
        );
        assert!(c.rollout);
        assert_eq!(c.action, Action::Update);
    }

    #[test]
    fn pvc_growth_is_an_update_and_shrinking_a_replace() {
        let pvc = |size: &str| {
            v(&format!(
                "kind: PersistentVolumeClaim\nmetadata: {{name: d}}\nspec: {{resources: {{requests: {{storage: {size}}}}}}}"
            ))
        };
        assert_eq!(compare(&pvc("10Gi"), &pvc("20Gi"), &Options::default()).unwrap().action, Action::Update);
        assert_eq!(compare(&pvc("10Gi"), &pvc("5Gi"), &Options::default()).unwrap().action, Action::Replace);
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity(&Value::String("1Gi".into())), Some(1073741824.0));
        assert!(quantity(&Value::String("1.5Ti".into())).unwrap() > quantity(&Value::String("1500Gi".into())).unwrap());
    }

    #[test]
    fn renamed_configmaps_are_one_change() {
        let old = [v("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg-0123456789}\ndata: {a: '1'}")];
        let new = [v("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg-abcdefghij}\ndata: {a: '2'}")];
        let p = plan(&[&old[0]], &[&new[0]], &Options::default());
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].renamed_from.as_deref(), Some("cfg-0123456789"));
        assert_eq!(p.changes[0].fields[0].path, "data.a");
    }
}
