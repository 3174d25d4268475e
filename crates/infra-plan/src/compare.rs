//! Comparing two sets of objects: objects matched by identity (and renamed
//! ConfigMaps and Secrets by their name before the hash suffix), each pair
//! compared field by field, each change classified (update or replace,
//! rollout or not) and checked for hazards.

use crate::changes::{Action, Change, Hazard, Options, Plan, Severity, api_version, diff_values};
use crate::hazards::{dashboard_hazards, hazards_of, move_hazards, pair_moves};
use infra_k8s::annotations::{CONFIG_HASH, HASH};
use infra_k8s::kinds::ObjectId;
use infra_k8s::registry;
use infra_k8s::state;
use infra_k8s::workloads::pod_template_path;
use infra_syntax::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Compares two sets of objects.
pub fn plan<'a>(old: &[&'a Value], new: &[&'a Value], options: &Options) -> Plan {
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
        change.renamed_from = Some(from.name.to_string());
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

    let old_by_id: HashMap<&ObjectId, &'a Value> = old_ids.iter().map(|(id, &i)| (id, old[i])).collect();
    let new_by_id: HashMap<&ObjectId, &'a Value> = new_ids.iter().map(|(id, &i)| (id, new[i])).collect();
    // A deleted workload whose place a created one takes is judged as one
    // workload that moves.
    let servers = |action: Action, by_id: &HashMap<&ObjectId, &'a Value>| -> Vec<(ObjectId, &'a Value)> {
        plan_ids(&plan.changes, action)
            .filter_map(|id| Some((id.clone(), *by_id.get(id)?)))
            .filter(|(_, v)| state::runs_servers(v))
            .collect()
    };
    let deleted_servers = servers(Action::Delete, &old_by_id);
    let created_servers = servers(Action::Create, &new_by_id);
    let moves: HashMap<&ObjectId, &Value> = pair_moves(&deleted_servers, &created_servers)
        .into_iter()
        .map(|(i, j)| (&deleted_servers[i].0, created_servers[j].1))
        .collect();
    for change in &plan.changes {
        let old_name = change.renamed_from.as_ref().map(|n| ObjectId { name: n.clone().into(), ..change.id.clone() });
        let before = old_by_id.get(old_name.as_ref().unwrap_or(&change.id)).copied();
        let after = new_by_id.get(&change.id).copied();
        match (before, moves.get(&change.id)) {
            (Some(old), Some(new)) if change.action == Action::Delete => {
                move_hazards(change, old, new, &mut plan.hazards)
            }
            _ => hazards_of(change, before, after, &mut plan.hazards),
        }
    }
    dashboard_hazards(old, new, &mut plan.hazards);
    let losing: BTreeSet<(String, String, String)> =
        plan.hazards.iter().map(|h| (h.kind.clone(), h.namespace.clone(), h.name.clone())).collect();
    for v in new {
        let id = ObjectId::of(v);
        // Objects already named for data loss need no second warning.
        if losing.contains(&(id.kind.to_string(), id.namespace.to_string(), id.name.to_string())) {
            continue;
        }
        for found in state::at_risk(v) {
            plan.hazards.push(Hazard {
                severity: Severity::Warning,
                kind: id.kind.to_string(),
                namespace: id.namespace.to_string(),
                name: id.name.to_string(),
                reason: format!("stateful workload without storage: {} is on {}", found.what(), found.store.describe()),
                advice: None,
            });
        }
    }
    plan.hazards.sort();
    plan.hazards.dedup();
    plan
}

/// The objects of the changes of one action.
fn plan_ids(changes: &[Change], action: Action) -> impl Iterator<Item = &ObjectId> {
    changes.iter().filter(move |c| c.action == action).map(|c| &c.id)
}

/// The object without its `infra.dev/hash` annotation: the content hash
/// changes with everything, and is no change of its own.
fn without_hash(v: &Value) -> std::borrow::Cow<'_, Value> {
    let has = v.pointer(&["metadata", "annotations"]).and_then(|a| a.get(HASH)).is_some();
    if !has {
        return std::borrow::Cow::Borrowed(v);
    }
    let mut v = v.clone();
    if let Some(Value::Map(meta)) = v.as_map_mut().and_then(|m| m.get_mut("metadata"))
        && let Some(Value::Map(a)) = meta.get_mut("annotations")
    {
        a.shift_remove(HASH);
    }
    std::borrow::Cow::Owned(v)
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
    let (old, new) = (&without_hash(old), &without_hash(new));
    let hidden = secret && !options.show_secrets;
    diff_values(old, new, !hidden, &mut Vec::new(), &mut fields);
    if fields.is_empty() {
        return None;
    }
    if hidden {
        for f in &mut fields {
            if f.path.starts_with("data")
                || f.path.starts_with("stringData")
                || f.path.contains("last-applied-configuration")
            {
                f.redacted = true;
            }
        }
    }
    let row = registry::row_of(&id.group, &id.kind);
    let immutable: Vec<&str> = fields
        .iter()
        .filter(|f| {
            row.is_some_and(|r| infra_k8s::immutable::is_immutable(r, old, &f.path, f.old.as_ref(), f.new.as_ref()))
        })
        .map(|f| f.path.as_str())
        .collect();
    let (action, mut reason) = if immutable.is_empty() {
        (Action::Update, String::new())
    } else {
        (Action::Replace, format!("immutable field changed: {}", immutable.join(", ")))
    };
    let template = pod_template_path(&id.group, &id.kind).map(path_prefix);
    let rollout = row.is_some_and(|r| r.rolls_out)
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
    Some(Change { action, id, api_version: api_version(new), renamed_from: None, rollout, reason, fields, from: None })
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
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: g}\nspec: {template: {spec: {containers: [{name: grafana, image: 'g:1', env: [{name: A, value: x}]}]}}}",
        );
        let new = v(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: g}\nspec: {template: {spec: {containers: [{name: grafana, image: 'g:2', env: [{name: A, value: y}]}]}}}",
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
                "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: d}}\nspec: {{resources: {{requests: {{storage: {size}}}}}}}"
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
