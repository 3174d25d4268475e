//! The habits Kustomize users bring, checked against the real Kustomize
//! (`kubectl kustomize`, installed by `scripts/install-k8s-tools`): the same
//! small project built by both must give the same objects, infra's own
//! `infra.dev/*` annotations aside.

mod common;

use common::{TempDir, infra, k8s_tools};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The objects of a YAML stream by kind/namespace/name, as JSON, without
/// infra's annotations (and without an annotations map they leave empty).
fn objects(stream: &str) -> BTreeMap<String, Json> {
    let docs = infra_syntax::yaml::load(infra_syntax::FileId(0), stream).unwrap();
    let mut out = BTreeMap::new();
    for doc in docs.iter().filter(|d| !d.is_null()) {
        let mut v = serde_json::to_value(infra_plan::render::to_json(&doc.to_value())).unwrap();
        if let Some(meta) = v.get_mut("metadata").and_then(Json::as_object_mut) {
            if let Some(a) = meta.get_mut("annotations").and_then(Json::as_object_mut) {
                a.retain(|k, _| !k.starts_with("infra.dev/"));
            }
            if meta.get("annotations").and_then(Json::as_object).is_some_and(|a| a.is_empty()) {
                meta.remove("annotations");
            }
        }
        strip_template_annotations(&mut v);
        let id = format!("{}/{}/{}", v["kind"], v["metadata"]["namespace"], v["metadata"]["name"]);
        out.insert(id, v);
    }
    out
}

/// infra's config hash on pod templates, and the map it leaves empty.
fn strip_template_annotations(v: &mut Json) {
    if let Some(meta) = v.pointer_mut("/spec/template/metadata").and_then(Json::as_object_mut) {
        if let Some(a) = meta.get_mut("annotations").and_then(Json::as_object_mut) {
            a.retain(|k, _| !k.starts_with("infra.dev/"));
        }
        if meta.get("annotations").and_then(Json::as_object).is_some_and(|a| a.is_empty()) {
            meta.remove("annotations");
        }
    }
}

/// Builds `kustomization` (with `files`) by Kustomize and `infra_yaml`
/// (with the same files) by infra, and compares what they make.
fn same_as_kustomize(name: &str, files: &[(&str, &str)], kustomization: &str, infra_yaml: &str) {
    let dir = TempDir::new(name);
    for (file, text) in files {
        dir.write(&format!("k/{file}"), text);
        dir.write(&format!("i/{file}"), text);
    }
    dir.write("k/kustomization.yaml", kustomization);
    dir.write("i/infra.yaml", infra_yaml);
    let kubectl = k8s_tools().join("kubectl");
    let k = std::process::Command::new(kubectl).args(["kustomize", dir.join("k").to_str().unwrap()]).output().unwrap();
    assert!(k.status.success(), "{name}: kustomize: {}", String::from_utf8_lossy(&k.stderr));
    let i = infra(&["build", dir.join("i").to_str().unwrap(), "-o", "-"]);
    assert_eq!(i.code, 0, "{name}: {}", i.transcript());
    let (want, got) = (objects(&String::from_utf8_lossy(&k.stdout)), objects(&i.stdout));
    assert_eq!(
        got,
        want,
        "{name}: infra (left) and kustomize (right) differ\n--- infra\n{}\n--- kustomize\n{}",
        i.stdout,
        String::from_utf8_lossy(&k.stdout)
    );
}

const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 80, targetPort: 8080}]\n";

const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {matchLabels: {app: web}}\n  strategy: {type: Recreate}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      tolerations: [{key: a, operator: Exists}]\n      containers:\n        - name: web\n          image: nginx:1.27\n          args: [--a, --b]\n          ports: [{containerPort: 8080, name: http}]\n          env: [{name: A, value: '1'}, {name: B, value: '2'}]\n          volumeMounts: [{name: data, mountPath: /data}, {name: cache, mountPath: /cache}]\n        - {name: sidecar, image: busybox}\n      volumes: [{name: data, emptyDir: {}}, {name: cache, emptyDir: {}}]\n";

/// A strategic merge patch as Kustomize reads it (`patches:` with a file)
/// and as infra reads it (a `merge:` of the same body).
fn merge_patch_case(name: &str, target: &str, body: &str) {
    let indented: String = body.lines().map(|l| format!("          {l}\n")).collect();
    same_as_kustomize(
        name,
        &[("service.yaml", SERVICE), ("deployment.yaml", DEPLOYMENT), ("patch.yaml", body)],
        "resources: [service.yaml, deployment.yaml]\npatches:\n  - path: patch.yaml\n",
        &format!(
            "name: t\nresources: [service.yaml, deployment.yaml]\nenvironments:\n  default:\n    patches:\n      - target: {target}\n        merge:\n{indented}"
        ),
    );
}

#[test]
fn strategic_merge_of_service_ports_keeps_the_others() {
    merge_patch_case(
        "service-ports",
        "{kind: Service, name: web}",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  ports: [{name: https, port: 443, targetPort: 8443}]\n",
    );
}

#[test]
fn strategic_merge_of_containers_mounts_env_ports_and_atomic_lists() {
    merge_patch_case(
        "containers",
        "{kind: Deployment, name: web}",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  template:\n    spec:\n      tolerations: [{key: b, operator: Exists}]\n      containers:\n        - name: web\n          args: [--c]\n          ports: [{containerPort: 9090, name: metrics}]\n          env: [{name: B, value: '3'}, {name: C, value: '4'}]\n          volumeMounts: [{name: cache, mountPath: /data, readOnly: true}]\n",
    );
}

#[test]
fn patch_directives_delete_and_replace() {
    merge_patch_case(
        "directives",
        "{kind: Deployment, name: web}",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: shop}\nspec:\n  strategy: {$patch: delete}\n  template:\n    spec:\n      containers:\n        - {name: sidecar, $patch: delete}\n        - name: web\n          env: [{name: A, $patch: delete}]\n      volumes:\n        - $patch: replace\n        - {name: data, persistentVolumeClaim: {claimName: data}}\n",
    );
}

#[test]
fn patch_delete_removes_the_whole_object() {
    merge_patch_case(
        "delete-object",
        "{kind: Service, name: web}",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n$patch: delete\n",
    );
}

/// Deployments api-web, ui-web and web-admin, labelled and annotated.
const WEBS: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: api-web, namespace: shop, labels: {tier: back}, annotations: {team: core}}\nspec: {replicas: 1}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: ui-web, namespace: shop, labels: {tier: front}, annotations: {team: core}}\nspec: {replicas: 1}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web-admin, namespace: shop, labels: {tier: front}, annotations: {team: ops}}\nspec: {replicas: 1}\n---\napiVersion: batch/v1\nkind: Job\nmetadata: {name: api-web, namespace: shop, labels: {tier: back}}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: j, image: j}]}}}\n";

#[test]
fn patch_targets_by_group_version_kind_name_regex_labels_and_annotations() {
    // JSON, which both read (Kustomize does not take a flow-style YAML list).
    let ops = |path: &str, value: &str| format!(r#"[{{"op": "add", "path": "{path}", "value": {value}}}]"#);
    same_as_kustomize(
        "targets",
        &[("webs.yaml", WEBS)],
        &format!(
            "resources: [webs.yaml]\npatches:\n  - target: {{kind: Deployment, name: '.*-web'}}\n    patch: '{}'\n  - target: {{group: apps, version: v1, labelSelector: tier=front, annotationSelector: team=core}}\n    patch: '{}'\n  - target: {{group: batch, name: api-web}}\n    patch: '{}'\n",
            ops("/spec/replicas", "2"),
            ops("/metadata/labels/picked", r#""both""#),
            ops("/spec/backoffLimit", "0"),
        ),
        &format!(
            "name: t\nresources: [webs.yaml]\nenvironments:\n  default:\n    patches:\n      - target: {{kind: Deployment, name: '.*-web'}}\n        ops: {}\n      - target: {{group: apps, version: v1, labels: {{tier: front}}, annotations: {{team: core}}}}\n        ops: {}\n      - target: {{group: batch, name: api-web}}\n        ops: {}\n",
            ops("/spec/replicas", "2"),
            ops("/metadata/labels/picked", r#""both""#),
            ops("/spec/backoffLimit", "0"),
        ),
    );
}
