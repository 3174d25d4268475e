//! Workloads: where each kind keeps its pod template, the containers of a
//! pod spec, their mounts and claim templates, and images. The one place
//! that knows these shapes; the link stage, [`crate::state`] and `plan` all
//! ask here.

use infra_syntax::Value;

/// The lists of containers in a pod spec.
pub const CONTAINER_LISTS: &[&str] = &["containers", "initContainers", "ephemeralContainers"];

/// The key path to a workload kind's pod template, or `None` (a Pod has none).
pub fn pod_template_path(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    let spec = pod_spec_path(group, kind)?;
    (spec.len() > 1).then(|| &spec[..spec.len() - 1])
}

/// The key path to the pod spec of a kind (`crate::registry`): a
/// workload's template's, or a Pod's own.
pub fn pod_spec_path(group: &str, kind: &str) -> Option<&'static [&'static str]> {
    crate::registry::row_of(group, kind)?.pod_spec
}

/// The pod spec of a workload or a Pod.
pub fn pod_spec(object: &Value) -> Option<&Value> {
    object.pointer(crate::registry::row_of_object(object)?.pod_spec?)
}

/// The pod spec of a workload or a Pod, to change it.
pub fn pod_spec_mut(object: &mut Value) -> Option<&mut Value> {
    let path = crate::registry::row_of_object(object)?.pod_spec?;
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

/// A ConfigMap-watching sidecar of a pod (kiwigrid's k8s-sidecar, which the
/// Grafana chart and kube-prometheus-stack run): the label it watches
/// (`LABEL`) and the annotation it reads a dashboard's folder from
/// (`FOLDER_ANNOTATION`; unset, it reads `k8s-sidecar-target-directory`).
pub struct Sidecar<'a> {
    pub label: &'a str,
    pub folder_annotation: Option<&'a str>,
}

/// The ConfigMap-watching sidecars of a workload or Pod.
pub fn sidecars(object: &Value) -> Vec<Sidecar<'_>> {
    let Some(spec) = pod_spec(object) else { return Vec::new() };
    running_containers(spec)
        .filter_map(|c| {
            let env = c.get("env").and_then(Value::as_seq).unwrap_or_default();
            let var =
                |name: &str| env.iter().find(|e| e.str_at(&["name"]) == Some(name)).and_then(|e| e.str_at(&["value"]));
            Some(Sidecar { label: var("LABEL")?, folder_annotation: var("FOLDER_ANNOTATION") })
        })
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
        for (api, kind, path) in [
            ("v1", "Pod", "spec: {containers: [{name: c}]}"),
            ("apps/v1", "Deployment", "spec: {template: {spec: {containers: [{name: c}]}}}"),
            ("v1", "ReplicationController", "spec: {template: {spec: {containers: [{name: c}]}}}"),
            ("batch/v1", "CronJob", "spec: {jobTemplate: {spec: {template: {spec: {containers: [{name: c}]}}}}}"),
        ] {
            let o = v(&format!("apiVersion: {api}\nkind: {kind}\n{path}"));
            assert!(pod_spec(&o).and_then(|s| s.get("containers")).is_some(), "{kind}");
        }
        assert!(pod_spec(&v("apiVersion: v1\nkind: Service\nspec: {}")).is_none());
        // A custom resource named like a workload has no pod spec infra knows.
        let custom =
            "apiVersion: example.com/v1\nkind: Deployment\nspec: {template: {spec: {containers: [{name: c}]}}}";
        assert!(pod_spec(&v(custom)).is_none());
    }

    #[test]
    fn image_names_ignore_registry_tag_and_digest() {
        assert_eq!(image_name("docker.io/grafana/grafana:11.3.0"), "grafana");
        assert_eq!(image_name("quay.io/prometheus/prometheus@sha256:abc"), "prometheus");
        assert_eq!(image_name("localhost:5000/postgres:16"), "postgres");
        assert_eq!(image_name("redis"), "redis");
    }

    #[test]
    fn quantities() {
        assert_eq!(quantity(&Value::String("1Gi".into())), Some(1073741824.0));
        assert!(quantity(&Value::String("1.5Ti".into())).unwrap() > quantity(&Value::String("1500Gi".into())).unwrap());
    }
}
