//! Hazards: the changes of a plan that can lose data, in words nobody can
//! miss, each saying what is lost, where it lived and what to do first.
//!
//! The rules read one model of where state lives ([`infra_k8s::state`]):
//!
//! - a data path backed by a PersistentVolumeClaim (or a StatefulSet's
//!   claims, or the node) before the change must be backed by the same
//!   claim, at the same place in it, after — whatever the image: a claim
//!   replaced by another, a StatefulSet renamed (new claims), a path moved
//!   to an emptyDir or off every volume, a data directory moved inside its
//!   volume by configuration, are data loss;
//! - known data (an image's data directory, a configured one, a declared
//!   one) on storage that dies with the pod is lost whenever the pods are
//!   replaced: a rollout, a replacement, a deletion — even when the new
//!   version adds storage;
//! - a deleted workload and a created one that are the same application
//!   ([`pair_moves`]) are judged as one workload that moves;
//! - custom resources whose operator keeps a database
//!   ([`infra_k8s::software::DATA_RESOURCES`]) lose their data when deleted,
//!   renamed, or put on ephemeral storage, and when they change while on it;
//! - deleting or replacing claims, volumes, namespaces and CRDs;
//! - a Grafana dashboard uid that disappears.

use crate::changes::{Action, Change, Hazard, Severity};
use infra_k8s::annotations;
use infra_k8s::kinds::ObjectId;
use infra_k8s::software;
use infra_k8s::state::{self, Known, Location, Store};
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
        advice: None,
    }
}

fn protected(v: &Value) -> bool {
    v.str_at(&["metadata", "annotations", annotations::PROTECT]) != Some("false")
}

/// Helm keeps an object annotated `helm.sh/resource-policy: keep` when a
/// release no longer has it.
fn kept_by_helm(v: &Value) -> bool {
    v.str_at(&["metadata", "annotations", annotations::HELM_RESOURCE_POLICY]) == Some("keep")
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

/// What a replaced StatefulSet does to its claims: a retention policy that
/// deletes them, and claim templates whose size or class changes (the API
/// never updates existing claims). A renamed or removed template is a move
/// of its data paths ([`state_moves`]).
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
    for name in claim_templates(old) {
        let (Some(old_template), Some(new_template)) =
            (workloads::claim_template(old, name), workloads::claim_template(new, name))
        else {
            continue;
        };
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

/// The container of `new` that continues `container` of `old`: the same
/// name, else the only one running the same software image, else the only
/// container.
fn counterpart<'n>(old: &Location, new: &'n [Location], containers: &[&'n str]) -> Option<&'n str> {
    if containers.contains(&old.container.as_str()) {
        return containers.iter().copied().find(|c| *c == old.container);
    }
    let same_image: Vec<&str> = new
        .iter()
        .filter(|l| workloads::image_name(&l.image) == workloads::image_name(&old.image))
        .map(|l| l.container.as_str())
        .collect();
    match (same_image.first(), containers) {
        (Some(c), _) if same_image.iter().all(|x| x == c) => Some(c),
        (_, [only]) => Some(only),
        _ => None,
    }
}

/// Where the new version keeps what `old` held: the location of the same
/// role in the counterpart container — the software's data directory for
/// a known one, the same path for a claim mounted there.
fn successor<'n>(old: &Location, new: &'n [Location], container: &str) -> Option<&'n Location> {
    let mine: Vec<&Location> = new.iter().filter(|l| l.container == container).collect();
    match old.known {
        Known::Claim => mine.iter().find(|l| l.path == old.path).copied(),
        // The software's data directory; if the new image is other software,
        // wherever the same store is still mounted.
        _ => {
            let known: Vec<&Location> = mine.iter().copied().filter(|l| l.known != Known::Claim).collect();
            known
                .iter()
                .find(|l| l.path == old.path)
                .or_else(|| known.first())
                .copied()
                .or_else(|| mine.iter().copied().find(|l| l.store.same_data(&old.store)))
        }
    }
}

/// What becomes of the state of a workload that goes from `old` to `new`
/// (one object changed, or a deleted one and the created one that takes
/// its place); `restarts`: its pods are replaced.
fn state_moves(change: &Change, old: &Value, new: &Value, restarts: bool, out: &mut Vec<Hazard>) {
    if state::marked_ephemeral(new) {
        return;
    }
    let before = state::locations(old);
    let after = state::locations(new);
    let containers: Vec<&str> = workloads::pod_spec(new)
        .and_then(|s| s.get("containers"))
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|c| c.str_at(&["name"]))
        .collect();
    for l in &before {
        let Some(container) = counterpart(l, &after, &containers) else { continue };
        let next = successor(l, &after, container);
        if l.store.persistent() {
            let to_old_claim = "point the new version at the old claim (the same claim name, or for a StatefulSet the same set and template names), or copy the data over before applying";
            let (lost, advice) = match next {
                // The claim is no longer mounted where it was: somewhere else in
                // the container, it still holds its data for an unknown image.
                None if l.known == Known::Claim => {
                    if let Some(moved) = after.iter().find(|n| n.container == container && n.store.same_data(&l.store))
                    {
                        out.push(hazard(
                            change,
                            Severity::Warning,
                            format!(
                                "{} {} from {} to {}: if the application reads {}, it starts empty there",
                                l.store.describe(),
                                if l.store.plural() { "move" } else { "moves" },
                                l.path,
                                moved.path,
                                l.path
                            ),
                        ));
                        continue;
                    }
                    let now = state::store_at(new, container, &l.path).unwrap_or(Store::Container);
                    (
                        format!("{} was on {} and is now on {}", l.path, l.store.describe(), now.describe()),
                        format!("keep {} mounted at {}", l.store.describe(), l.path),
                    )
                }
                None => (
                    format!("{} was on {}, which the new version no longer mounts", l.what(), l.store.describe()),
                    format!("keep {} mounted where the new version keeps its data", l.store.describe()),
                ),
                Some(n) if n.store.same_data(&l.store) && (n.within == l.within || n.known == Known::Claim) => continue,
                Some(n) if n.store.same_data(&l.store) => (
                    format!(
                        "{} moves within {}: from {} to {}; what was written so far stays at {}, which the new version does not read",
                        l.what(),
                        l.store.describe(),
                        if l.within.is_empty() { "its top" } else { &l.within },
                        if n.within.is_empty() { "its top" } else { &n.within },
                        l.path
                    ),
                    format!(
                        "set the data directory back to {}, or move the files to {} inside the volume before the new version starts",
                        l.path, n.path
                    ),
                ),
                Some(n) if n.store.persistent() => (
                    format!(
                        "{} moves from {} to {}, which {} new and empty; the data stays on the old {}",
                        l.what(),
                        l.store.describe(),
                        n.store.describe(),
                        if n.store.plural() { "are" } else { "is" },
                        if l.store.plural() { "claims" } else { "claim" }
                    ),
                    to_old_claim.to_string(),
                ),
                Some(n) => (
                    format!("{} moves from {} to {}", l.what(), l.store.describe(), n.store.describe()),
                    format!("keep {} mounted at {}", l.store.describe(), n.path),
                ),
            };
            let mut h = hazard(change, Severity::DataLoss, lost);
            h.advice = Some(advice);
            out.push(h);
        } else if restarts && l.known != Known::Claim {
            if l.guessed {
                out.push(hazard(
                    change,
                    Severity::Warning,
                    format!(
                        "pods restart; {} is not on a volume, while a claim is mounted elsewhere: if the data is not on the claim, it is lost (declare where it lives with `infra.dev/state`)",
                        l.what()
                    ),
                ));
                continue;
            }
            let adds = next.is_some_and(|n| n.store.persistent());
            let mut h = hazard(
                change,
                Severity::DataLoss,
                format!(
                    "pods restart; {} is on {}: its current data is lost{}",
                    l.what(),
                    l.store.describe(),
                    if adds { " (the new version adds storage, but the current data is not on it)" } else { "" }
                ),
            );
            h.advice = Some(
                l.software()
                    .map_or(
                        "copy the data off the pod first, or mark the workload `ephemeral: true` if it may be lost",
                        |s| s.rescue,
                    )
                    .to_string(),
            );
            out.push(h);
        }
    }
}

/// The data-bearing resource row of an object, if it is one.
fn data_resource(v: &Value) -> Option<&'static software::DataResource> {
    let id = ObjectId::of(v);
    software::data_resource(&id.group, &id.kind)
}

/// Hazards of a custom resource whose operator keeps a database.
fn resource_hazards(change: &Change, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Hazard>) {
    let Some(row) = before.or(after).and_then(data_resource) else { return };
    if after.is_some_and(state::marked_ephemeral) {
        return;
    }
    match (change.action, before, after) {
        (Action::Delete, Some(old), _) => {
            if state::marked_ephemeral(old) {
                return;
            }
            let mut h = hazard(
                change,
                Severity::DataLoss,
                format!(
                    "{} deletes the database with its {}: removing or renaming the resource (a changed name, kind or API group is a delete and a create) deletes its data",
                    row.operator, change.id.kind
                ),
            );
            h.advice = Some("keep the resource's name, kind and group; back up first if it must go".into());
            out.push(h);
        }
        (Action::Update | Action::Replace, Some(old), Some(new)) => {
            let was = state::resource_ephemeral(old, row);
            let now = state::resource_ephemeral(new, row);
            let spec_changed = change.action == Action::Replace
                || change.fields.iter().any(|f| {
                    f.path.starts_with("spec.")
                        && !matches!(f.path.as_str(), "spec.replicas" | "spec.instances" | "spec.count")
                });
            match (was, now) {
                (None, Some(why)) => {
                    let mut h = hazard(
                        change,
                        Severity::DataLoss,
                        format!("its storage is removed: {why}; {} deletes the data with the pods", row.operator),
                    );
                    h.advice = Some("keep the storage spec; back up first if the data may go".into());
                    out.push(h);
                }
                (Some(why), now) if spec_changed => {
                    let adds = if now.is_none() {
                        " (the new version adds storage, but the current data is not on it)"
                    } else {
                        ""
                    };
                    let mut h = hazard(
                        change,
                        Severity::DataLoss,
                        format!("pods restart: {why}, so their current data is lost{adds}"),
                    );
                    h.advice = Some("back up first, or mark it `ephemeral: true` if the data may be lost".into());
                    out.push(h);
                }
                _ => {}
            }
        }
        _ => {}
    }
}

pub(crate) fn hazards_of(change: &Change, before: Option<&Value>, after: Option<&Value>, out: &mut Vec<Hazard>) {
    resource_hazards(change, before, after, out);
    // A built-in kind, by group and kind: a custom resource named
    // `StatefulSet` or `Namespace` is not one.
    let kind = infra_k8s::registry::row_of(&change.id.group, &change.id.kind).map_or("", |r| r.kind);
    match change.action {
        Action::Delete => {
            let Some(old) = before else { return };
            let reason = match kind {
                "PersistentVolumeClaim" if kept_by_helm(old) => {
                    out.push(hazard(
                        change,
                        Severity::Warning,
                        "the PVC is annotated `helm.sh/resource-policy: keep`: Helm (and Argo CD) leave it, with its data, no longer managed; `kubectl apply --prune` would delete it".into(),
                    ));
                    None
                }
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
            for l in state::at_risk(old) {
                let mut h = hazard(
                    change,
                    Severity::DataLoss,
                    format!("pods are deleted; {} is on {}, so its data is lost", l.what(), l.store.describe()),
                );
                h.advice = l.software().map(|s| s.rescue.to_string());
                out.push(h);
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
            let restarts = change.rollout || change.action == Action::Replace;
            state_moves(change, old, new, restarts, out);
        }
        Action::Create => {}
    }
}

/// The image names a workload runs and its containers' names.
fn fingerprint(v: &Value) -> (Vec<&str>, Vec<&str>) {
    let containers =
        workloads::pod_spec(v).and_then(|s| s.get("containers")).and_then(Value::as_seq).unwrap_or_default();
    let images = containers.iter().filter_map(|c| c.str_at(&["image"])).map(workloads::image_name).collect();
    let names = containers.iter().filter_map(|c| c.str_at(&["name"])).collect();
    (images, names)
}

/// The values of a workload's pod labels, without Helm's bookkeeping; by
/// value, since charts move them between keys (`app` became
/// `app.kubernetes.io/name`).
fn pod_label_values(v: &Value) -> Vec<&str> {
    let path = infra_k8s::registry::row_of_object(v)
        .and_then(|r| workloads::pod_template_path(r.group, r.kind))
        .unwrap_or(&[]);
    let mut labels_path = path.to_vec();
    labels_path.extend(["metadata", "labels"]);
    let mut values: Vec<&str> = v
        .pointer(&labels_path)
        .and_then(Value::as_map)
        .map(|m| {
            m.iter()
                .filter(|(k, _)| {
                    !matches!(
                        k.as_str(),
                        "helm.sh/chart"
                            | "chart"
                            | "heritage"
                            | "app.kubernetes.io/managed-by"
                            | "app.kubernetes.io/version"
                    )
                })
                .filter_map(|(_, v)| v.as_str())
                .collect()
        })
        .unwrap_or_default();
    values.sort_unstable();
    values.dedup();
    values
}

/// Deleted and created workloads that are the same application — in one
/// namespace, running the same software (a common image, and a common
/// container name or pod label value beyond their names) — paired best first: a
/// rename (`fullnameOverride`, a release or node group renamed, a
/// Deployment turned StatefulSet) is one workload that moves.
pub(crate) fn pair_moves(deleted: &[(ObjectId, &Value)], created: &[(ObjectId, &Value)]) -> Vec<(usize, usize)> {
    // Each workload's fingerprint once; candidates only among those that
    // share an image (an index by image name), so a plan of many workloads
    // stays near-linear.
    let prints = |side: &[(ObjectId, &Value)]| -> Vec<(Vec<String>, Vec<String>, Vec<String>)> {
        side.iter()
            .map(|(_, v)| {
                let (images, names) = fingerprint(v);
                let labels = pod_label_values(v);
                (
                    images.into_iter().map(String::from).collect(),
                    names.into_iter().map(String::from).collect(),
                    labels.into_iter().map(String::from).collect(),
                )
            })
            .collect()
    };
    let (old_prints, new_prints) = (prints(deleted), prints(created));
    let mut by_image: std::collections::HashMap<&str, Vec<usize>> = std::collections::HashMap::new();
    for (j, (images, _, _)) in new_prints.iter().enumerate() {
        for image in images {
            by_image.entry(image.as_str()).or_default().push(j);
        }
    }
    let mut scored = Vec::new();
    for (i, (d, _)) in deleted.iter().enumerate() {
        let (old_images, old_names, old_labels) = &old_prints[i];
        let mut candidates: Vec<usize> =
            old_images.iter().flat_map(|img| by_image.get(img.as_str()).into_iter().flatten().copied()).collect();
        candidates.sort_unstable();
        candidates.dedup();
        for j in candidates {
            let c = &created[j].0;
            // No namespace is the one it is applied to (a chart that
            // stopped writing `.Release.Namespace`).
            if d.namespace != c.namespace && !d.namespace.is_empty() && !c.namespace.is_empty() {
                continue;
            }
            let (new_images, new_names, new_labels) = &new_prints[j];
            let images = old_images.iter().filter(|i| new_images.contains(i)).count();
            let names = old_names.iter().filter(|n| new_names.contains(n)).count();
            let labels = old_labels.iter().filter(|l| new_labels.contains(l)).count();
            if names + labels == 0 {
                continue;
            }
            scored.push((images * 4 + names * 2 + labels, i, j));
        }
    }
    scored.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
    let (mut used_old, mut used_new, mut pairs) =
        (std::collections::HashSet::new(), std::collections::HashSet::new(), Vec::new());
    for (_, i, j) in scored {
        if !used_old.contains(&i) && !used_new.contains(&j) {
            used_old.insert(i);
            used_new.insert(j);
            pairs.push((i, j));
        }
    }
    pairs
}

/// The hazards of a deleted workload whose place a created one takes.
pub(crate) fn move_hazards(change: &Change, old: &Value, new: &Value, out: &mut Vec<Hazard>) {
    let id = ObjectId::of(new);
    let mut found = Vec::new();
    if deletes_claims(old) && !claim_templates(old).is_empty() {
        found.push(hazard(
            change,
            Severity::DataLoss,
            format!(
                "its retention policy (whenDeleted: Delete) deletes its claims ({})",
                claim_templates(old).join(", ")
            ),
        ));
    }
    state_moves(change, old, new, true, &mut found);
    for mut h in found {
        h.reason = format!("replaced by {} {}: {}", id.kind, id.name, h.reason);
        out.push(h);
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
                advice: None,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Options, Severity, plan};
    use infra_syntax::{Value, yaml};

    fn objects(text: &str) -> Vec<Value> {
        yaml::load(infra_syntax::FileId(0), text).unwrap().iter().map(|d| d.to_value()).collect()
    }

    /// The hazards of a change from `old` to `new` (multi-document YAML):
    /// (severity, reason).
    fn hazards(old: &str, new: &str) -> Vec<(Severity, String)> {
        let (old, new) = (objects(old), objects(new));
        let p = plan(&old.iter().collect::<Vec<_>>(), &new.iter().collect::<Vec<_>>(), &Options::default());
        p.hazards.into_iter().map(|h| (h.severity, h.reason)).collect()
    }

    fn losses(old: &str, new: &str) -> Vec<String> {
        hazards(old, new).into_iter().filter(|(s, _)| *s == Severity::DataLoss).map(|(_, r)| r).collect()
    }

    /// A workload of one container; `volumes` and `extra` (at the level of
    /// the pod spec's containers' fields) as YAML flow text.
    fn workload(kind: &str, name: &str, container: &str, volumes: &str, claims: &str) -> String {
        format!(
            "apiVersion: apps/v1\nkind: {kind}\nmetadata: {{name: {name}, namespace: ns}}\nspec:\n  selector: {{matchLabels: {{app: x}}}}\n  volumeClaimTemplates: [{claims}]\n  template:\n    metadata: {{labels: {{app: x}}}}\n    spec: {{containers: [{container}], volumes: [{volumes}]}}\n---\n"
        )
    }

    const PG: &str =
        "{name: db, image: postgres:16, volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}";
    const PG17: &str =
        "{name: db, image: postgres:17, volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}";

    #[test]
    fn a_renamed_statefulset_moves_its_data_to_new_claims() {
        let claims = "{metadata: {name: data}}";
        let old = workload("StatefulSet", "db", PG, "", claims);
        let new = workload("StatefulSet", "db-primary", PG, "", claims);
        let lost = losses(&old, &new);
        assert_eq!(lost.len(), 1, "{lost:?}");
        assert!(
            lost[0].contains("replaced by StatefulSet db-primary") && lost[0].contains("data-db-primary-0"),
            "{lost:?}"
        );
        // The same set under its own name keeps its claims: a routine upgrade.
        assert!(losses(&old, &workload("StatefulSet", "db", PG17, "", claims)).is_empty());
        // A stateless workload renamed is no loss.
        let web = "{name: web, image: nginx:1, volumeMounts: [{name: tmp, mountPath: /tmp}]}";
        let tmp = "{name: tmp, emptyDir: {}}";
        assert!(
            hazards(&workload("Deployment", "web", web, tmp, ""), &workload("Deployment", "web2", web, tmp, ""))
                .is_empty()
        );
    }

    #[test]
    fn another_claim_behind_the_same_path_is_data_loss() {
        let claim = |c: &str| format!("{{name: data, persistentVolumeClaim: {{claimName: {c}}}}}");
        let old = workload("Deployment", "db", PG, &claim("db"), "");
        assert!(losses(&old, &workload("Deployment", "db", PG17, &claim("db"), "")).is_empty());
        let lost = losses(&old, &workload("Deployment", "db", PG17, &claim("db-new"), ""));
        assert!(lost.len() == 1 && lost[0].contains("moves from PVC `db` to PVC `db-new`"), "{lost:?}");
        // An existing claim replaced by a claim template (Deployment to StatefulSet).
        let lost = losses(&old, &workload("StatefulSet", "db", PG, "", "{metadata: {name: data}}"));
        assert!(lost.iter().any(|l| l.contains("to the claims data-db-0")), "{lost:?}");
        // Whatever the image: a claim at a path that becomes an emptyDir.
        let app = "{name: app, image: example.com/mine:1, volumeMounts: [{name: data, mountPath: /srv}]}";
        let lost = losses(
            &workload("Deployment", "a", app, &claim("a"), ""),
            &workload("Deployment", "a", app, "{name: data, emptyDir: {}}", ""),
        );
        assert!(lost == ["/srv was on PVC `a` and is now on an emptyDir volume `data`"], "{lost:?}");
        // ... or that nothing is mounted at any more.
        let bare = "{name: app, image: example.com/mine:1}";
        let lost =
            losses(&workload("Deployment", "a", app, &claim("a"), ""), &workload("Deployment", "a", bare, "", ""));
        assert!(
            lost == ["/srv was on PVC `a` and is now on the container's own filesystem (no volume is mounted there)"],
            "{lost:?}"
        );
    }

    #[test]
    fn other_software_that_no_longer_mounts_the_claim_loses_it() {
        let claim = "{name: data, persistentVolumeClaim: {claimName: db}}";
        let other = "{name: db, image: 'acme/db:1'}";
        let lost =
            losses(&workload("Deployment", "db", PG, claim, ""), &workload("Deployment", "db", other, claim, ""));
        assert!(lost.len() == 1 && lost[0].contains("which the new version no longer mounts"), "{lost:?}");
        // Still mounted, anywhere, by the new image: its data, as far as anyone can tell.
        let mounted = "{name: db, image: 'acme/db:1', volumeMounts: [{name: data, mountPath: /srv}]}";
        assert!(
            losses(&workload("Deployment", "db", PG, claim, ""), &workload("Deployment", "db", mounted, claim, ""))
                .is_empty()
        );
    }

    #[test]
    fn configuration_decides_where_the_data_is() {
        let claim = "{name: s, persistentVolumeClaim: {claimName: g}}";
        let grafana = |env: &str| {
            format!(
                "{{name: g, image: grafana/grafana:11, env: [{env}], volumeMounts: [{{name: s, mountPath: /var/lib/grafana}}]}}"
            )
        };
        // Grafana chart 6.10: GF_PATHS_DATA below the claim's mount.
        let lost = losses(
            &workload("Deployment", "g", &grafana(""), claim, ""),
            &workload("Deployment", "g", &grafana("{name: GF_PATHS_DATA, value: /var/lib/grafana/data}"), claim, ""),
        );
        assert!(lost.len() == 1 && lost[0].contains("moves within PVC `g`: from its top to data"), "{lost:?}");
        // Prometheus told to keep its TSDB on the claim: a rollout is routine.
        let prom = |image: &str| {
            format!(
                "{{name: p, image: {image}, args: [--storage.tsdb.path=/data], volumeMounts: [{{name: d, mountPath: /data}}]}}"
            )
        };
        let d = "{name: d, persistentVolumeClaim: {claimName: prom}}";
        assert!(
            hazards(
                &workload("Deployment", "p", &prom("prom/prometheus:v2.53.0"), d, ""),
                &workload("Deployment", "p", &prom("prom/prometheus:v2.54.0"), d, "")
            )
            .is_empty()
        );
    }

    #[test]
    fn a_restart_loses_known_data_on_pod_storage() {
        let redis = |tag: &str| {
            format!(
                "{{name: r, image: 'bitnami/redis:{tag}', volumeMounts: [{{name: d, mountPath: /bitnami/redis/data}}]}}"
            )
        };
        let empty = "{name: d, emptyDir: {}}";
        let lost = losses(
            &workload("StatefulSet", "r", &redis("7.2"), empty, ""),
            &workload("StatefulSet", "r", &redis("7.4"), empty, ""),
        );
        assert!(
            lost.len() == 1 && lost[0].contains("pods restart; Redis's data (/bitnami/redis/data) is on an emptyDir"),
            "{lost:?}"
        );
        // Adding storage in the same change: the current data is still lost.
        let lost = losses(
            &workload("StatefulSet", "r", &redis("7.2"), empty, ""),
            &workload("StatefulSet", "r", &redis("7.2"), "{name: d, persistentVolumeClaim: {claimName: r}}", ""),
        );
        assert!(lost[0].contains("the new version adds storage"), "{lost:?}");
        // A scale-out restarts nothing.
        let scaled = workload("StatefulSet", "r", &redis("7.2"), empty, "")
            .replace("spec:\n  selector", "spec:\n  replicas: 3\n  selector");
        assert!(losses(&workload("StatefulSet", "r", &redis("7.2"), empty, ""), &scaled).is_empty());
        // Marked ephemeral in the change: acknowledged.
        let marked = workload("StatefulSet", "r", &redis("7.4"), empty, "")
            .replace("namespace: ns}", "namespace: ns, annotations: {infra.dev/ephemeral: 'true'}}");
        assert!(hazards(&workload("StatefulSet", "r", &redis("7.2"), empty, ""), &marked).is_empty());
    }

    #[test]
    fn clients_init_containers_and_guesses_are_not_data_loss() {
        let init = |tag: &str| {
            format!(
                "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: es}}\nspec:\n  volumeClaimTemplates: [{{metadata: {{name: data}}}}]\n  template:\n    spec:\n      initContainers: [{{name: sysctl, image: 'elasticsearch:{tag}'}}]\n      containers: [{{name: es, image: 'elasticsearch:{tag}', volumeMounts: [{{name: data, mountPath: /usr/share/elasticsearch/data}}]}}]\n"
            )
        };
        assert!(hazards(&init("8.14.0"), &init("8.15.0")).is_empty());
        let job = |tag: &str| {
            format!(
                "apiVersion: batch/v1\nkind: Job\nmetadata: {{name: dump}}\nspec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: d, image: 'postgres:{tag}'}}]}}}}}}\n"
            )
        };
        assert!(hazards(&job("16"), &job("17")).is_empty());
        let pod = |tag: &str| {
            format!(
                "apiVersion: v1\nkind: Pod\nmetadata: {{name: t, annotations: {{helm.sh/hook: test}}}}\nspec: {{containers: [{{name: t, image: 'redis:{tag}'}}]}}\n"
            )
        };
        assert!(hazards(&pod("7.2"), "").is_empty());
        // Prometheus's default folder is not mounted, a claim is: a warning.
        let p = |tag: &str| {
            format!("{{name: p, image: 'prom/prometheus:{tag}', volumeMounts: [{{name: d, mountPath: /somewhere}}]}}")
        };
        let d = "{name: d, persistentVolumeClaim: {claimName: p}}";
        let found = hazards(
            &workload("Deployment", "p", &p("v2.53.0"), d, ""),
            &workload("Deployment", "p", &p("v2.54.0"), d, ""),
        );
        assert!(found.iter().all(|(s, _)| *s == Severity::Warning) && !found.is_empty(), "{found:?}");
    }

    #[test]
    fn declared_state_is_state() {
        let app = |tag: &str| format!("{{name: app, image: 'example.com/mine:{tag}'}}");
        let declared = |tag: &str| {
            workload("Deployment", "a", &app(tag), "", "")
                .replace("namespace: ns}", "namespace: ns, annotations: {infra.dev/state: /srv/db}}")
        };
        assert!(
            losses(&workload("Deployment", "a", &app("1"), "", ""), &workload("Deployment", "a", &app("2"), "", ""))
                .is_empty()
        );
        let lost = losses(&declared("1"), &declared("2"));
        assert!(lost.len() == 1 && lost[0].contains("/srv/db is on the container's own filesystem"), "{lost:?}");
    }

    #[test]
    fn operators_databases() {
        let cluster = |name: &str, instances: u32| {
            format!(
                "apiVersion: postgresql.cnpg.io/v1\nkind: Cluster\nmetadata: {{name: {name}, namespace: db}}\nspec: {{instances: {instances}, storage: {{size: 10Gi}}}}\n"
            )
        };
        assert!(hazards(&cluster("pg", 3), &cluster("pg", 4)).is_empty());
        let lost = losses(&cluster("pg", 3), &cluster("pg-2", 3));
        assert!(lost.len() == 1 && lost[0].contains("CloudNativePG deletes the database"), "{lost:?}");
        let prom = |spec: &str| {
            format!(
                "apiVersion: monitoring.coreos.com/v1\nkind: Prometheus\nmetadata: {{name: k, namespace: m}}\nspec: {spec}\n"
            )
        };
        let stored =
            "{retention: 10d, storage: {volumeClaimTemplate: {spec: {resources: {requests: {storage: 50Gi}}}}}}";
        assert!(losses(&prom(stored), &prom("{retention: 10d}"))[0].contains("its storage is removed"));
        assert!(losses(&prom("{retention: 10d}"), &prom("{retention: 20d}"))[0].contains("pods restart"));
        assert!(losses(&prom("{retention: 10d, replicas: 1}"), &prom("{retention: 10d, replicas: 2}")).is_empty());
        assert!(losses(&prom(stored), &prom(&stored.replace("10d", "20d"))).is_empty());
        let kafka = |t: &str| {
            format!(
                "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\nmetadata: {{name: k}}\nspec: {{kafka: {{version: 3.7.0, storage: {{type: {t}}}}}}}\n"
            )
        };
        assert!(!losses(&kafka("persistent-claim"), &kafka("ephemeral")).is_empty());
    }

    #[test]
    fn claims_helm_keeps_are_a_warning() {
        let pvc = |a: &str| {
            format!(
                "apiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: c, annotations: {{{a}}}}}\nspec: {{}}\n"
            )
        };
        let found = hazards(&pvc("helm.sh/resource-policy: keep"), "");
        assert!(found.len() == 1 && found[0].0 == Severity::Warning && found[0].1.contains("Helm"), "{found:?}");
        assert_eq!(losses(&pvc("a: b"), "").len(), 1);
    }
}
