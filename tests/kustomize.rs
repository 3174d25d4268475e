//! The habits Kustomize users bring, checked against the real Kustomize
//! (`kubectl kustomize`, installed by `scripts/install-k8s-tools`): the same
//! small project built by both must give the same objects, infra's own
//! `infra.dev/*` annotations aside.

use crate::common;

use common::{TempDir, infra, k8s_tools};
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// The objects of a YAML stream by kind/namespace/name, as JSON, without
/// infra's annotations (and without an annotations map they leave empty).
fn objects(stream: &str) -> BTreeMap<String, Json> {
    let docs = infra_syntax::yaml::load(infra_syntax::FileId(0), stream).unwrap();
    let mut out = BTreeMap::new();
    for doc in docs.iter().filter(|d| !d.is_null()) {
        let mut v = serde_json::to_value(infra_syntax::json::to_json(&doc.to_value())).unwrap();
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

/// Builds `resources` with a Kustomize transformer config and with infra's
/// `common` of the same meaning.
fn common_case(name: &str, resources: &str, kustomization: &str, common: &str) {
    same_as_kustomize(
        name,
        &[("res.yaml", resources)],
        &format!("resources: [res.yaml]\n{kustomization}"),
        &format!("name: t\nresources: [res.yaml]\ncommon: {common}\n"),
    );
}

/// Objects naming each other through every kind of reference field.
const REFERRING: &str = r#"apiVersion: v1
kind: Namespace
metadata: {name: shop}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: cfg, namespace: shop}
data: {A: "1"}
---
apiVersion: v1
kind: Secret
metadata: {name: tls, namespace: shop}
stringData: {key: k}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: app, namespace: shop}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: reader, namespace: shop}
rules: [{apiGroups: [""], resources: [pods], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: shop}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: reader}
subjects: [{kind: ServiceAccount, name: app, namespace: shop}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: viewer}
rules: [{apiGroups: [""], resources: [nodes], verbs: [get]}]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: viewer}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: viewer}
subjects: [{kind: ServiceAccount, name: app, namespace: shop}]
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      serviceAccountName: app
      containers:
        - name: web
          image: nginx:1.27
          envFrom: [{configMapRef: {name: cfg}}]
          env: [{name: KEY, valueFrom: {secretKeyRef: {name: tls, key: key}}}]
      volumes: [{name: c, configMap: {name: cfg}}, {name: t, secret: {secretName: tls}}]
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: shop}
spec:
  tls: [{hosts: [shop.example], secretName: tls}]
  rules: [{http: {paths: [{path: /, pathType: Prefix, backend: {service: {name: web, port: {number: 80}}}}]}}]
"#;

#[test]
fn name_prefix_and_suffix_rewrite_every_reference() {
    common_case("name-prefix", REFERRING, "namePrefix: p-\nnameSuffix: -s\n", "{name_prefix: p-, name_suffix: -s}");
}

#[test]
fn images_by_name_in_every_container_list() {
    let resources = r#"apiVersion: batch/v1
kind: CronJob
metadata: {name: cj, namespace: shop}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          restartPolicy: Never
          initContainers: [{name: i, image: "localhost:5000/tools:1"}]
          containers:
            - {name: a, image: nginx}
            - {name: b, image: "nginx:1.2@sha256:aaaa"}
            - {name: c, image: "docker.io/nginx:1.2"}
            - {name: d, image: "grafana/grafana:10"}
            - {name: e, image: "redis:7"}
            - {name: f, image: "nginxx:1"}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      initContainers: [{name: init, image: "redis:6"}]
      containers: [{name: web, image: "nginx:1.25"}]
"#;
    common_case(
        "images",
        resources,
        "images:\n  - {name: nginx, newTag: \"1.27\"}\n  - {name: localhost:5000/tools, newName: registry.example/tools}\n  - {name: grafana/grafana, digest: \"sha256:bbbb\"}\n  - {name: redis, newName: valkey/valkey, newTag: \"8\"}\n",
        "{images: [{name: nginx, tag: \"1.27\"}, {name: \"localhost:5000/tools\", new_name: registry.example/tools}, {name: grafana/grafana, digest: \"sha256:bbbb\"}, {name: redis, new_name: valkey/valkey, tag: \"8\"}]}",
    );
}

/// Workloads, selectors and policies that labels reach.
const LABELLED: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: shop}
spec:
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: c, image: c}]}}
---
apiVersion: v1
kind: Service
metadata: {name: web, namespace: shop}
spec: {selector: {app: web}, ports: [{port: 80}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: cj, namespace: shop}
spec:
  schedule: "* * * * *"
  jobTemplate: {spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: c}]}}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: job, namespace: shop}
spec: {template: {spec: {restartPolicy: Never, containers: [{name: c, image: c}]}}}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: {name: pdb, namespace: shop}
spec: {selector: {matchLabels: {app: web}}}
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: np, namespace: shop}
spec: {podSelector: {matchLabels: {app: web}}}
---
apiVersion: v1
kind: Pod
metadata: {name: pod, namespace: shop}
spec: {containers: [{name: c, image: c}]}
---
apiVersion: apps/v1
kind: DaemonSet
metadata: {name: ds, namespace: shop}
spec:
  selector: {matchLabels: {app: ds}}
  template: {metadata: {labels: {app: ds}}, spec: {containers: [{name: c, image: c}]}}
"#;

/// A StatefulSet with a claim template: selector labels reach the claims.
const STATEFUL: &str = "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db, namespace: shop}\nspec:\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  template: {metadata: {labels: {app: db}}, spec: {containers: [{name: c, image: c}]}}\n  volumeClaimTemplates: [{metadata: {name: data}, spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}}]\n";

#[test]
fn pod_labels_as_labels_with_include_templates() {
    common_case(
        "pod-labels",
        LABELLED,
        "labels:\n  - pairs: {team: a}\n    includeTemplates: true\n",
        "{pod_labels: {team: a}}",
    );
}

#[test]
fn selector_labels_as_labels_with_include_selectors() {
    common_case(
        "selector-labels",
        &format!("{LABELLED}{STATEFUL}"),
        "labels:\n  - pairs: {tier: web}\n    includeSelectors: true\n",
        "{selector_labels: {tier: web}}",
    );
}

#[test]
fn namespace_rewrites_the_subjects_that_name_the_projects_service_accounts() {
    let resources = r#"apiVersion: v1
kind: ServiceAccount
metadata: {name: app}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: r}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: rb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}
subjects:
  - {kind: ServiceAccount, name: app}
  - {kind: ServiceAccount, name: app, namespace: default}
  - {kind: ServiceAccount, name: app, namespace: other}
  - {kind: ServiceAccount, name: notours, namespace: default}
  - {kind: ServiceAccount, name: notours}
  - {kind: ServiceAccount, name: default, namespace: default}
  - {kind: User, name: bob}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: crb}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: r}
subjects:
  - {kind: ServiceAccount, name: app, namespace: default}
  - {kind: ServiceAccount, name: app}
"#;
    common_case(
        "namespace-subjects",
        resources,
        "namespace: prod\nnamePrefix: p-\n",
        "{namespace: prod, name_prefix: p-}",
    );
}
