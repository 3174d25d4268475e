//! Stateful workloads without storage: a well-known stateful image whose
//! data directory is not on a PersistentVolumeClaim loses its state with
//! every new pod. This is what lost the hand-made Grafana dashboards; `build`
//! warns about it and `plan` treats a rollout of such a workload as data loss.

use crate::kinds::pod_template_path;
use infra_syntax::Value;

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
pub struct EphemeralState {
    pub container: String,
    pub image: String,
    pub data_dir: String,
    /// Where the data lives instead, in words: "an emptyDir volume `storage`".
    pub storage: String,
}

/// The repository name of an image without registry, tag or digest:
/// `docker.io/grafana/grafana:11.3.0@sha256:…` → `grafana`.
pub fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last.split(':').next().unwrap_or(last)
}

/// The data directories of a stateful image, if it is one.
pub fn data_dirs(image: &str) -> Option<&'static [&'static str]> {
    let name = image_name(image);
    STATEFUL_IMAGES.iter().find(|(n, _)| *n == name).map(|(_, dirs)| *dirs)
}

/// Finds every container of a workload whose state is not on a PVC.
pub fn ephemeral_state(object: &Value) -> Vec<EphemeralState> {
    let Some(kind) = object.str_at(&["kind"]) else { return Vec::new() };
    let spec = match (kind, pod_template_path(kind)) {
        ("Pod", _) => object.get("spec"),
        (_, Some(path)) => object.pointer(path).and_then(|t| t.get("spec")),
        _ => None,
    };
    let Some(spec) = spec else { return Vec::new() };
    let claim_templates: Vec<&str> = object
        .pointer(&["spec", "volumeClaimTemplates"])
        .and_then(Value::as_seq)
        .unwrap_or_default()
        .iter()
        .filter_map(|t| t.str_at(&["metadata", "name"]))
        .collect();
    let volumes = spec.get("volumes").and_then(Value::as_seq).unwrap_or_default();
    let mut found = Vec::new();
    for list in ["containers", "initContainers"] {
        for c in spec.get(list).and_then(Value::as_seq).unwrap_or_default() {
            let Some(image) = c.str_at(&["image"]) else { continue };
            let Some(dirs) = data_dirs(image) else { continue };
            let mounts = c.get("volumeMounts").and_then(Value::as_seq).unwrap_or_default();
            // The first directory of the table that is mounted at all is the
            // data directory; an image with none mounted uses the first.
            let covering = |dir: &str| {
                mounts
                    .iter()
                    .filter_map(|m| Some((m.str_at(&["mountPath"])?, m.str_at(&["name"])?)))
                    .filter(|(path, _)| {
                        let path = path.trim_end_matches('/');
                        dir == path || dir.starts_with(&format!("{path}/")) || path.is_empty()
                    })
                    .max_by_key(|(path, _)| path.len())
                    .map(|(_, name)| name)
            };
            let (dir, mount) = dirs.iter().find_map(|d| covering(d).map(|m| (*d, Some(m)))).unwrap_or((dirs[0], None));
            let storage = match mount {
                None => Some("the container's own filesystem (no volume is mounted there)".to_string()),
                Some(name) if claim_templates.contains(&name) => None,
                Some(name) => match volumes.iter().find(|v| v.str_at(&["name"]) == Some(name)) {
                    Some(v) if v.get("persistentVolumeClaim").is_some() => None,
                    Some(v) => {
                        let source = v
                            .as_map()
                            .and_then(|m| m.keys().find(|k| *k != "name"))
                            .map_or("unknown".to_string(), |k| k.clone());
                        Some(format!("{} volume `{name}`", crate::suggest::article(&source)))
                    }
                    None => Some(format!("volume `{name}`, which the pod does not define")),
                },
            };
            if let Some(storage) = storage {
                found.push(EphemeralState {
                    container: c.str_at(&["name"]).unwrap_or_default().to_string(),
                    image: image.to_string(),
                    data_dir: dir.to_string(),
                    storage,
                });
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use infra_syntax::yaml;

    fn v(s: &str) -> Value {
        yaml::parse_value(s).unwrap()
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
        assert_eq!(ephemeral_state(&empty)[0].storage, "an emptyDir volume `storage`");
        let none = v("kind: StatefulSet\nspec: {template: {spec: {containers: [{name: p, image: postgres:16}]}}}");
        assert_eq!(ephemeral_state(&none)[0].data_dir, "/var/lib/postgresql/data");
        let pvc = v(
            "kind: Deployment\nspec: {template: {spec: {containers: [{name: g, image: grafana/grafana:11, volumeMounts: [{name: storage, mountPath: /var/lib/grafana}]}], volumes: [{name: storage, persistentVolumeClaim: {claimName: g}}]}}}",
        );
        assert!(ephemeral_state(&pvc).is_empty());
        let template = v(
            "kind: StatefulSet\nspec: {volumeClaimTemplates: [{metadata: {name: data}}], template: {spec: {containers: [{name: p, image: quay.io/prometheus/prometheus, volumeMounts: [{name: data, mountPath: /prometheus}]}]}}}",
        );
        assert!(ephemeral_state(&template).is_empty());
        let parent = v(
            "kind: Deployment\nspec: {template: {spec: {containers: [{name: r, image: redis:7, volumeMounts: [{name: d, mountPath: /}]}], volumes: [{name: d, persistentVolumeClaim: {claimName: r}}]}}}",
        );
        assert!(ephemeral_state(&parent).is_empty());
    }
}
