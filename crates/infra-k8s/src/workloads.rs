//! Workloads: where each kind keeps its pod template, the containers of a
//! pod spec, what backs a path inside a container, and which images keep
//! state there. The one place that knows these shapes; the link stage, the
//! storage warning and `plan` all ask here.

use crate::annotations;
use infra_syntax::{Value, article};

/// Kinds that make pods, and the path to their pod spec: a Pod's own, a
/// workload's template's.
const POD_SPECS: &[(&str, &[&str])] = &[
    ("Pod", &["spec"]),
    ("Deployment", &["spec", "template", "spec"]),
    ("StatefulSet", &["spec", "template", "spec"]),
    ("DaemonSet", &["spec", "template", "spec"]),
    ("ReplicaSet", &["spec", "template", "spec"]),
    ("Job", &["spec", "template", "spec"]),
    ("CronJob", &["spec", "jobTemplate", "spec", "template", "spec"]),
];

/// The lists of containers in a pod spec.
pub const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// The key path to a workload kind's pod template, or `None` (a Pod has none).
pub fn pod_template_path(kind: &str) -> Option<&'static [&'static str]> {
    let spec = pod_spec_path(kind).filter(|_| kind != "Pod")?;
    Some(&spec[..spec.len() - 1])
}

/// The key path to the pod spec of a kind: a workload's template's, or a
/// Pod's own.
pub fn pod_spec_path(kind: &str) -> Option<&'static [&'static str]> {
    POD_SPECS.iter().find(|(k, _)| *k == kind).map(|(_, p)| *p)
}

/// The pod spec of a workload or a Pod.
pub fn pod_spec(object: &Value) -> Option<&Value> {
    object.pointer(pod_spec_path(object.str_at(&["kind"])?)?)
}

/// The pod spec of a workload or a Pod, to change it.
pub fn pod_spec_mut(object: &mut Value) -> Option<&mut Value> {
    let path = pod_spec_path(object.str_at(&["kind"])?)?;
    object.pointer_mut(path)
}

/// The containers and init containers of a pod spec: the ones that run
/// with the pod's volumes for its lifetime or before it.
fn running_containers(spec: &Value) -> impl Iterator<Item = &Value> {
    ["containers", "initContainers"]
        .into_iter()
        .flat_map(|list| spec.get(list).and_then(Value::as_seq).unwrap_or_default())
}

/// Whether a workload or Pod runs a container of this image (by
/// [`image_name`]).
pub fn runs_image(object: &Value, name: &str) -> bool {
    pod_spec(object).is_some_and(|spec| {
        running_containers(spec).any(|c| c.str_at(&["image"]).is_some_and(|i| image_name(i) == name))
    })
}

/// The labels that the ConfigMap-watching sidecars of a pod watch: the
/// `LABEL` environment variable of kiwigrid's k8s-sidecar, which the
/// Grafana chart and kube-prometheus-stack run.
pub fn sidecar_labels(object: &Value) -> Vec<&str> {
    let Some(spec) = pod_spec(object) else { return Vec::new() };
    running_containers(spec)
        .flat_map(|c| c.get("env").and_then(Value::as_seq).unwrap_or_default())
        .filter(|e| e.str_at(&["name"]) == Some("LABEL"))
        .filter_map(|e| e.str_at(&["value"]))
        .collect()
}

/// The claim templates of a StatefulSet, by name.
pub fn claim_templates(object: &Value) -> Vec<&str> {
    object
        .pointer(&["spec", "volumeClaimTemplates"])
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.str_at(&["metadata", "name"]))
        .collect()
}

/// A StatefulSet's claim template by name.
pub fn claim_template<'v>(object: &'v Value, name: &str) -> Option<&'v Value> {
    object
        .pointer(&["spec", "volumeClaimTemplates"])?
        .as_seq()?
        .iter()
        .find(|t| t.str_at(&["metadata", "name"]) == Some(name))
}

/// What backs a path inside a container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Storage<'a> {
    /// A PersistentVolumeClaim, by claim name.
    Claim(&'a str),
    /// A StatefulSet's claim template, by name.
    ClaimTemplate(&'a str),
    /// Another kind of volume: `source` is `emptyDir`, `configMap`, ...
    Volume { name: &'a str, source: &'a str },
    /// A mount of a volume the pod does not define.
    Undefined(&'a str),
    /// No volume: the container's own filesystem.
    Container,
}

impl Storage<'_> {
    /// Whether the data outlives the pod.
    pub fn persistent(&self) -> bool {
        matches!(self, Storage::Claim(_) | Storage::ClaimTemplate(_))
    }

    /// In words: "an emptyDir volume `storage`", "PVC `data`".
    pub fn describe(&self) -> String {
        match self {
            Storage::Claim(claim) => format!("PVC `{claim}`"),
            Storage::ClaimTemplate(name) => format!("claim template `{name}`"),
            Storage::Volume { name, source } => format!("{} volume `{name}`", article(source)),
            Storage::Undefined(name) => format!("volume `{name}`, which the pod does not define"),
            Storage::Container => "the container's own filesystem (no volume is mounted there)".into(),
        }
    }
}

/// One volume mount of a container, with what backs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount<'a> {
    pub container: &'a str,
    pub path: &'a str,
    pub storage: Storage<'a>,
}

/// The storage of volume `name` in a workload.
fn volume_storage<'a>(object: &'a Value, spec: &'a Value, name: &'a str) -> Storage<'a> {
    if claim_templates(object).contains(&name) {
        return Storage::ClaimTemplate(name);
    }
    let volumes = spec.get("volumes").and_then(Value::as_seq).unwrap_or_default();
    match volumes.iter().find(|v| v.str_at(&["name"]) == Some(name)) {
        None => Storage::Undefined(name),
        Some(v) => match v.str_at(&["persistentVolumeClaim", "claimName"]) {
            Some(claim) => Storage::Claim(claim),
            None => {
                let source = v.as_map().and_then(|m| m.keys().find(|k| *k != "name")).map_or("unknown", |k| k.as_str());
                Storage::Volume { name, source }
            }
        },
    }
}

/// Every volume mount of a workload's running containers.
pub fn mounts(object: &Value) -> Vec<Mount<'_>> {
    let Some(spec) = pod_spec(object) else { return Vec::new() };
    let mut out = Vec::new();
    for c in running_containers(spec) {
        let container = c.str_at(&["name"]).unwrap_or_default();
        for m in c.get("volumeMounts").and_then(Value::as_seq).unwrap_or_default() {
            let (Some(path), Some(name)) = (m.str_at(&["mountPath"]), m.str_at(&["name"])) else { continue };
            out.push(Mount { container, path, storage: volume_storage(object, spec, name) });
        }
    }
    out
}

/// What backs `dir` in `container` of a workload: the deepest mount that
/// covers it, or the container's own filesystem.
fn storage_at<'a>(object: &'a Value, spec: &'a Value, container: &'a Value, dir: &str) -> Option<Storage<'a>> {
    let mounts = container.get("volumeMounts").and_then(Value::as_seq).unwrap_or_default();
    mounts
        .iter()
        .filter_map(|m| Some((m.str_at(&["mountPath"])?, m.str_at(&["name"])?)))
        .filter(|(path, _)| {
            let path = path.trim_end_matches('/');
            dir == path || dir.starts_with(&format!("{path}/")) || path.is_empty()
        })
        .max_by_key(|(path, _)| path.len())
        .map(|(_, name)| volume_storage(object, spec, name))
}

/// Well-known stateful images (the last path component of the image
/// repository) and where they keep their data. The one table for build and plan.
pub const STATEFUL_IMAGES: &[(&str, &[&str])] = &[
    ("grafana", &["/var/lib/grafana"]),
    ("grafana-oss", &["/var/lib/grafana"]),
    ("grafana-enterprise", &["/var/lib/grafana"]),
    ("prometheus", &["/prometheus"]),
    ("alertmanager", &["/alertmanager"]),
    ("loki", &["/loki", "/var/loki"]),
    ("postgres", &["/var/lib/postgresql/data"]),
    ("postgresql", &["/bitnami/postgresql", "/var/lib/postgresql/data"]),
    ("mysql", &["/var/lib/mysql"]),
    ("mariadb", &["/var/lib/mysql", "/bitnami/mariadb"]),
    ("redis", &["/data"]),
    ("mongo", &["/data/db"]),
    ("mongodb", &["/data/db", "/bitnami/mongodb"]),
    ("elasticsearch", &["/usr/share/elasticsearch/data"]),
    ("influxdb", &["/var/lib/influxdb2", "/var/lib/influxdb"]),
    ("minio", &["/data"]),
];

/// A container of a stateful image whose data directory is not on a PVC.
#[derive(Debug, Clone, PartialEq)]
pub struct StateAtRisk {
    pub container: String,
    pub image: String,
    pub data_dir: String,
    /// Where the data lives instead, in words: "an emptyDir volume `storage`".
    pub storage: String,
}

/// An image reference split into name, tag and digest:
/// `localhost:5000/app:1@sha256:…` → (`localhost:5000/app`, `1`, `sha256:…`).
pub fn image_parts(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((r, d)) => (r, Some(d)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(i) => (&rest[..slash + i], Some(&rest[slash + i + 1..]), digest),
        None => (rest, None, digest),
    }
}

/// The repository name of an image without registry, tag or digest:
/// `docker.io/grafana/grafana:11.3.0@sha256:…` → `grafana`.
pub fn image_name(image: &str) -> &str {
    let name = image_parts(image).0;
    name.rsplit('/').next().unwrap_or(name)
}

/// The data directories of a stateful image, if it is one.
pub fn data_dirs(image: &str) -> Option<&'static [&'static str]> {
    let name = image_name(image);
    STATEFUL_IMAGES.iter().find(|(n, _)| *n == name).map(|(_, dirs)| *dirs)
}

/// Marked `ephemeral: true` (written as `infra.dev/ephemeral: "true"`):
/// losing the workload's state is intended.
pub fn marked_ephemeral(object: &Value) -> bool {
    object.str_at(&["metadata", "annotations", annotations::EPHEMERAL]) == Some("true")
}

/// Finds every container of a workload whose state is not on a PVC and
/// is not meant to be lost (`infra.dev/ephemeral: "true"`). The first
/// directory of the image's table that is mounted at all is its data
/// directory; an image with none mounted uses the first.
pub fn state_at_risk(object: &Value) -> Vec<StateAtRisk> {
    // A Job or CronJob runs to completion: a `pg_dump` job is a client of
    // a database, not a server with state.
    if matches!(object.str_at(&["kind"]), Some("Job" | "CronJob")) || marked_ephemeral(object) {
        return Vec::new();
    }
    let Some(spec) = pod_spec(object) else { return Vec::new() };
    let mut found = Vec::new();
    for c in running_containers(spec) {
        let Some(image) = c.str_at(&["image"]) else { continue };
        let Some(dirs) = data_dirs(image) else { continue };
        let (dir, storage) = dirs
            .iter()
            .find_map(|d| storage_at(object, spec, c, d).map(|s| (*d, s)))
            .unwrap_or((dirs[0], Storage::Container));
        if !storage.persistent() {
            found.push(StateAtRisk {
                container: c.str_at(&["name"]).unwrap_or_default().to_string(),
                image: image.to_string(),
                data_dir: dir.to_string(),
                storage: storage.describe(),
            });
        }
    }
    found
}

/// A resource quantity (`10Gi`, `500M`, `1.5Ti`) as a number, for
/// comparisons.
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

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
    }

    #[test]
    fn pod_specs_of_every_workload_and_of_pods() {
        for (kind, path) in [
            ("Pod", "spec: {containers: [{name: c}]}"),
            ("Deployment", "spec: {template: {spec: {containers: [{name: c}]}}}"),
            ("CronJob", "spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c}]}}}}}"),
        ] {
            let o = v(&format!("kind: {kind}\n{path}"));
            assert!(pod_spec(&o).and_then(|s| s.get("containers")).is_some(), "{kind}");
        }
        assert!(pod_spec(&v("kind: Service\nspec: {}")).is_none());
    }

    #[test]
    fn image_names_ignore_registry_tag_and_digest() {
        assert_eq!(image_name("docker.io/grafana/grafana:11.3.0"), "grafana");
        assert_eq!(image_name("quay.io/prometheus/prometheus@sha256:abc"), "prometheus");
        assert_eq!(image_name("localhost:5000/postgres:16"), "postgres");
        assert_eq!(image_name("redis"), "redis");
        assert!(data_dirs("quay.io/prometheus/node-exporter:v1").is_none());
        assert!(data_dirs("grafana/grafana-image-renderer:3").is_none());
    }

    #[test]
    fn finds_state_outside_pvcs() {
        let empty = v(
            "kind: Deployment\nspec: {template: {spec: {containers: [{name: g, image: grafana/grafana:11, volumeMounts: [{name: storage, mountPath: /var/lib/grafana}]}], volumes: [{name: storage, emptyDir: {}}]}}}",
        );
        assert_eq!(state_at_risk(&empty)[0].storage, "an emptyDir volume `storage`");
        let none = v("kind: StatefulSet\nspec: {template: {spec: {containers: [{name: p, image: postgres:16}]}}}");
        assert_eq!(state_at_risk(&none)[0].data_dir, "/var/lib/postgresql/data");
        let pvc = v(
            "kind: Deployment\nspec: {template: {spec: {containers: [{name: g, image: grafana/grafana:11, volumeMounts: [{name: storage, mountPath: /var/lib/grafana}]}], volumes: [{name: storage, persistentVolumeClaim: {claimName: g}}]}}}",
        );
        assert!(state_at_risk(&pvc).is_empty());
        let template = v(
            "kind: StatefulSet\nspec: {volumeClaimTemplates: [{metadata: {name: data}}], template: {spec: {containers: [{name: p, image: quay.io/prometheus/prometheus, volumeMounts: [{name: data, mountPath: /prometheus}]}]}}}",
        );
        assert!(state_at_risk(&template).is_empty());
        let parent = v(
            "kind: Deployment\nspec: {template: {spec: {containers: [{name: r, image: redis:7, volumeMounts: [{name: d, mountPath: /}]}], volumes: [{name: d, persistentVolumeClaim: {claimName: r}}]}}}",
        );
        assert!(state_at_risk(&parent).is_empty());
        let pod = v("kind: Pod\nspec: {containers: [{name: m, image: minio/minio}]}");
        assert_eq!(state_at_risk(&pod)[0].data_dir, "/data");
    }

    #[test]
    fn mounts_say_what_backs_them() {
        let o = v(
            "kind: StatefulSet\nspec: {volumeClaimTemplates: [{metadata: {name: data}}], template: {spec: {containers: [{name: a, volumeMounts: [{name: data, mountPath: /d}, {name: tmp, mountPath: /t}, {name: gone, mountPath: /g}, {name: p, mountPath: /p}]}], volumes: [{name: tmp, emptyDir: {}}, {name: p, persistentVolumeClaim: {claimName: claim}}]}}}",
        );
        let storage: Vec<String> = mounts(&o).iter().map(|m| m.storage.describe()).collect();
        assert_eq!(
            storage,
            [
                "claim template `data`",
                "an emptyDir volume `tmp`",
                "volume `gone`, which the pod does not define",
                "PVC `claim`"
            ]
        );
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity(&Value::String("1Gi".into())), Some(1073741824.0));
        assert!(quantity(&Value::String("1.5Ti".into())).unwrap() > quantity(&Value::String("1500Gi".into())).unwrap());
    }
}
