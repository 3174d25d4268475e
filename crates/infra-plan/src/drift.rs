//! Drift: the project against what runs. Only the fields the project sets
//! are compared, so server defaults and status are not drift; objects in
//! the project's namespaces that it does not define are unmanaged — the
//! hidden 10% that a redeploy would lose.

use crate::changes::{Options, Plan, Unmanaged, named};
use crate::compare::plan;
use crate::hazards::dashboards;
use infra_k8s::kinds::ObjectId;
use infra_syntax::{Map, Str, Value};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

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
    let stored: Vec<Cow<Value>> = desired.iter().map(|d| as_stored(d)).collect();
    let desired: Vec<&Value> = stored.iter().map(|d| d.as_ref()).collect();
    let desired = desired.as_slice();
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

/// An object as the API server stores it: a Secret's `stringData` is
/// write-only, merged into `data` (base64, over the keys of `data`), and a
/// dump never shows it.
fn as_stored(v: &Value) -> Cow<'_, Value> {
    let Some(string_data) = v.get("stringData").and_then(Value::as_map) else { return Cow::Borrowed(v) };
    if v.str_at(&["kind"]) != Some("Secret") {
        return Cow::Borrowed(v);
    }
    use base64::Engine;
    let mut stored = v.clone();
    let encoded: Vec<(Str, Value)> = string_data
        .iter()
        .filter_map(|(k, s)| {
            let text = s.as_str()?;
            Some((k.clone(), Value::String(base64::engine::general_purpose::STANDARD.encode(text).into())))
        })
        .collect();
    let map = stored.as_map_mut().expect("an object is a map");
    map.shift_remove("stringData");
    let data = map.get_or_insert_with("data", || Value::Map(Map::new()));
    if let Some(data) = data.as_map_mut() {
        for (k, v) in encoded {
            data.insert(k, v);
        }
    } else {
        *data = Value::Map(encoded.into_iter().collect());
    }
    Cow::Owned(stored)
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

/// A dashboard that a Grafana serves.
pub struct GrafanaDashboard {
    pub uid: String,
    pub title: String,
    pub folder: String,
}

/// The dashboards of a Grafana that none of `objects` defines: they live
/// only in Grafana's storage, and are lost with it.
pub fn unmanaged_dashboards(objects: &[&Value], grafana: &[GrafanaDashboard]) -> Vec<Unmanaged> {
    let ours = dashboards(objects);
    grafana
        .iter()
        .filter(|d| !ours.contains_key(&d.uid))
        .map(|d| Unmanaged {
            id: ObjectId {
                group: "grafana".into(),
                kind: "Dashboard".into(),
                namespace: d.folder.clone().into(),
                name: d.uid.clone().into(),
            },
            note: Some(format!(
                "\"{}\" exists only in Grafana; `infra import --grafana URL --into DIR` saves it as code",
                d.title
            )),
        })
        .collect()
}
