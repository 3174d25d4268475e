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

use crate::hazards::{Hazard, Severity, dashboard_hazards, hazards_of};
use crate::immutable::is_immutable;
use infra_k8s::annotations::{CONFIG_HASH, HASH};
use infra_k8s::kinds::ObjectId;
use infra_k8s::workloads::{self, pod_template_path};
use infra_syntax::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

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
        for found in workloads::ephemeral_state(v) {
            plan.hazards.push(Hazard {
                severity: Severity::Warning,
                kind: id.kind.clone(),
                namespace: id.namespace.clone(),
                name: id.name.clone(),
                reason: format!(
                    "stateful workload without storage: {} keeps {} in {}",
                    workloads::image_name(&found.image),
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
    let has = v.pointer(&["metadata", "annotations"]).and_then(|a| a.get(HASH)).is_some();
    if !has {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut v = v.clone();
    if let Some(Value::Map(meta)) = v.as_map_mut().and_then(|m| m.get_mut("metadata"))
        && let Some(Value::Map(a)) = meta.get_mut("annotations")
    {
        a.shift_remove(HASH);
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
            .is_some_and(|a| a.iter().any(|(k, _)| k != HASH))
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
    if rest.contains(CONFIG_HASH) {
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

pub(crate) fn named(items: &[Value]) -> bool {
    !items.is_empty() && items.iter().all(|i| i.str_at(&["name"]).is_some())
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
    fn renamed_configmaps_are_one_change() {
        let old = [v("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg-0123456789}\ndata: {a: '1'}")];
        let new = [v("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg-abcdefghij}\ndata: {a: '2'}")];
        let p = plan(&[&old[0]], &[&new[0]], &Options::default());
        assert_eq!(p.changes.len(), 1);
        assert_eq!(p.changes[0].renamed_from.as_deref(), Some("cfg-0123456789"));
        assert_eq!(p.changes[0].fields[0].path, "data.a");
    }
}
