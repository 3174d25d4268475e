//! Hazards: the changes of a plan that can lose data, in words nobody can
//! miss — deleted or replaced volumes, data paths that leave a PVC, and
//! rollouts of stateful workloads whose data is not on one.

use crate::changes::{Action, Change, Hazard, Severity};
use infra_k8s::annotations;
use infra_k8s::kinds::ObjectId;
use infra_k8s::workloads::{self, claim_templates};
use infra_syntax::Value;
use std::collections::BTreeMap;

fn hazard(change: &Change, severity: Severity, reason: String) -> Hazard {
    Hazard {
        severity,
        kind: change.id.kind.to_string(),
        namespace: change.id.namespace.to_string(),
        name: change.id.name.to_string(),
        reason,
    }
}

fn protected(v: &Value) -> bool {
    v.str_at(&["metadata", "annotations", annotations::PROTECT]) != Some("false")
}

/// Whether a StatefulSet deletes its claims when it is deleted
/// (`persistentVolumeClaimRetentionPolicy.whenDeleted: Delete`).
fn deletes_claims(v: &Value) -> bool {
    v.str_at(&["spec", "persistentVolumeClaimRetentionPolicy", "whenDeleted"]) == Some("Delete")
}

/// The names of the PVCs a StatefulSet's claim template makes, in words.
fn claims_of(template: &str, v: &Value) -> String {
    let set = v.str_at(&["metadata", "name"]).unwrap_or_default();
    format!("{template}-{set}-0, {template}-{set}-1, ...")
}

/// What a replaced StatefulSet does to its claims: a claim template renamed
/// or removed leaves the data on claims no pod mounts; one whose size or
/// class changes is kept as it is (the API never updates existing claims).
fn claim_template_hazards(change: &Change, old: &Value, new: &Value, out: &mut Vec<Hazard>) {
    if deletes_claims(old) {
        out.push(hazard(
            change,
            Severity::DataLoss,
            format!(
                "the StatefulSet is replaced and its retention policy (whenDeleted: Delete) deletes its claims ({})",
                claim_templates(old).join(", ")
            ),
        ));
    }
    let after = claim_templates(new);
    for name in claim_templates(old) {
        let Some(new_template) = workloads::claim_template(new, name) else {
            let now = if after.is_empty() { "none".to_string() } else { after.join(", ") };
            out.push(hazard(
                change,
                Severity::DataLoss,
                format!(
                    "claim template `{name}` is renamed or removed (now: {now}): pods come back on new, empty claims; the data stays on {}",
                    claims_of(name, old)
                ),
            ));
            continue;
        };
        let Some(old_template) = workloads::claim_template(old, name) else { continue };
        let field = |t: &Value, path: &[&str]| {
            t.pointer(path)
                .map(|v| v.as_str().map_or_else(|| infra_syntax::canonical::canonical_json(v), str::to_string))
        };
        let size = ["spec", "resources", "requests", "storage"];
        let class = ["spec", "storageClassName"];
        let mut changed = Vec::new();
        for (what, path) in [("size", &size[..]), ("storage class", &class[..])] {
            let (a, b) = (field(old_template, path), field(new_template, path));
            if a != b {
                changed.push(format!(
                    "{what} {} → {}",
                    a.as_deref().unwrap_or("(none)"),
                    b.as_deref().unwrap_or("(none)")
                ));
            }
        }
        if changed.is_empty() {
            continue;
        }
        let resize = match field(new_template, &size) {
            Some(s) if changed.iter().any(|c| c.starts_with("size")) => format!(
                "; to resize, patch each claim by hand: kubectl patch pvc {name}-{set}-N -p '{{\"spec\":{{\"resources\":{{\"requests\":{{\"storage\":\"{s}\"}}}}}}}}'",
                set = old.str_at(&["metadata", "name"]).unwrap_or_default()
            ),
            _ => String::new(),
        };
        out.push(hazard(
            change,
            Severity::Warning,
            format!(
                "claim template `{name}` changes ({}): the StatefulSet is replaced, the existing claims ({}) are kept and reattached as they are{resize}",
                changed.join(", "),
                claims_of(name, old)
            ),
        ));
    }
}

/// Mount paths of a workload that are on a PVC (volume or claim template),
/// with what backs each.
fn pvc_mounts(v: &Value) -> BTreeMap<String, String> {
    workloads::mounts(v)
        .into_iter()
        .filter(|m| m.storage.persistent())
        .map(|m| (m.path.to_string(), m.storage.describe()))
        .collect()
}

/// Where a workload keeps `path` now, in words.
fn mount_source(v: &Value, path: &str) -> String {
    match workloads::mounts(v).into_iter().find(|m| m.path == path) {
        Some(m) => m.storage.describe(),
        None => "nothing (the container's own filesystem)".into(),
    }
}

pub(crate) fn hazards_of(change: &Change, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Hazard>) {
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
                "StatefulSet" if deletes_claims(old) && !claim_templates(old).is_empty() => Some(format!(
                    "its retention policy (whenDeleted: Delete) deletes the StatefulSet's claims ({}) with it",
                    claim_templates(old).join(", ")
                )),
                _ => None,
            };
            if let Some(reason) = reason {
                out.push(hazard(change, Severity::DataLoss, reason));
            } else if kind == "StatefulSet" && !claim_templates(old).is_empty() {
                out.push(hazard(
                    change,
                    Severity::Warning,
                    format!(
                        "the StatefulSet's claims ({}) are kept with their data; delete them by hand if they are no longer needed",
                        claim_templates(old).join(", ")
                    ),
                ));
            }
            for found in workloads::state_at_risk(old) {
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
            if kind == "StatefulSet" && change.action == Action::Replace {
                claim_template_hazards(change, old, new, out);
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
            // `ephemeral: true` on the new version acknowledges the loss.
            if (change.rollout || change.action == Action::Replace) && !workloads::marked_ephemeral(new) {
                for found in workloads::state_at_risk(old) {
                    let now = if workloads::state_at_risk(new).iter().any(|f| f.container == found.container) {
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
            if let Ok(serde_json::Value::Object(model)) = infra_syntax::json::parse(text.as_bytes())
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

pub(crate) fn dashboard_hazards(old: &[&Value], new: &[&Value], out: &mut Vec<Hazard>) {
    let before = dashboards(old);
    let after = dashboards(new);
    for (uid, (title, id)) in &before {
        if !after.contains_key(uid) {
            out.push(Hazard {
                severity: Severity::DataLoss,
                kind: id.kind.to_string(),
                namespace: id.namespace.to_string(),
                name: id.name.to_string(),
                reason: format!("dashboard uid {uid} (\"{title}\") disappears; Grafana deletes the dashboard"),
            });
        }
    }
}
