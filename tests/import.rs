//! `infra import` and the round trip it promises: every real Helm and
//! Kustomize render in tests/fixtures imports, rebuilds and diffs equal,
//! but for infra's own `infra.dev/*` annotations and the Secrets left out.

use crate::common;

use common::{TempDir, infra, read_tree, root};
use serde_json::Value as Json;

fn fixtures(dir: &str) -> Vec<std::path::PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(root().join("tests/fixtures").join(dir))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    files
}

/// Imports `source`, builds the project and diffs it against the source.
fn round_trip(source: &std::path::Path, extra: &[&str]) -> (TempDir, Json) {
    let out = TempDir::new("import");
    let project = out.join("project");
    let mut args = vec!["import", source.to_str().unwrap(), "--into", project.to_str().unwrap()];
    args.extend(extra);
    let run = infra(&args);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // A fresh import builds clean: nothing it refers to is missing. (Not
    // `--strict`, which also validates: a Kustomize example here has a
    // Deployment without `selector`, which the API server would refuse.)
    let build = infra(&["build", project.to_str().unwrap(), "-o", "-"]);
    assert_eq!(build.code, 0, "{}: {}", source.display(), build.transcript());
    assert!(!build.stderr.contains("G202"), "{}: {}", source.display(), build.stderr);
    out.write("built.yaml", &build.stdout);
    let diff = infra(&["diff", source.to_str().unwrap(), out.join("built.yaml").to_str().unwrap(), "--format", "json"]);
    assert!(diff.code == 0 || diff.code == 2, "{}", diff.transcript());
    let plan: Json = serde_json::from_str(&diff.stdout).unwrap();
    (out, plan)
}

/// Every difference is the one documented: a Secret left out, the
/// `infra.dev/config-hash` of a pod template (which restarts the pods on
/// the first apply, as import says), or a RoleBinding's ServiceAccount
/// subject given its namespace by `common` (the binding's own, which the
/// API server assumes when none is written).
fn assert_only_infra_differences(source: &std::path::Path, plan: &Json, secrets_kept: bool) {
    for change in plan["changes"].as_array().unwrap() {
        match change["action"].as_str().unwrap() {
            "delete" if change["kind"] == "Secret" && !secrets_kept => {}
            "update" => {
                for f in change["fields"].as_array().unwrap() {
                    let path = f["path"].as_str().unwrap();
                    let config_hash = path.ends_with(".metadata.annotations[\"infra.dev/config-hash\"]")
                        || strip_infra(&f["old"]) == strip_infra(&f["new"]);
                    let subject_namespace = change["kind"] == "RoleBinding"
                        && path.starts_with("subjects[")
                        && path.ends_with("].namespace")
                        && f["old"].is_null()
                        && f["new"] == change["namespace"];
                    assert!(
                        config_hash || subject_namespace,
                        "{}: unexpected change at {path}: {change}",
                        source.display()
                    );
                }
            }
            other => panic!("{}: unexpected {other}: {change}", source.display()),
        }
    }
}

/// A value without `infra.dev/*` keys, maps left empty counting as absent.
fn strip_infra(v: &Json) -> Json {
    match v {
        Json::Object(m) => {
            let kept: serde_json::Map<String, Json> = m
                .iter()
                .filter(|(k, _)| !k.starts_with("infra.dev/"))
                .map(|(k, v)| (k.clone(), strip_infra(v)))
                .filter(|(_, v)| !v.is_null())
                .collect();
            if kept.is_empty() { Json::Null } else { Json::Object(kept) }
        }
        other => other.clone(),
    }
}

/// Every value of every Secret's data and stringData in a manifest file.
fn secret_values(text: &str) -> Vec<String> {
    let docs = infra_syntax::yaml::load(infra_syntax::FileId(0), text).unwrap();
    let mut out = Vec::new();
    for d in docs.iter().map(|d| d.to_value()).filter(|v| v.str_at(&["kind"]) == Some("Secret")) {
        for key in ["data", "stringData"] {
            for v in d.get(key).and_then(|m| m.as_map()).into_iter().flat_map(|m| m.values()) {
                out.extend(v.as_str().filter(|s| s.len() >= 6).map(String::from));
            }
        }
    }
    out
}

#[test]
fn every_helm_and_kustomize_render_round_trips() {
    let mut files = fixtures("helm");
    files.extend(fixtures("kustomize"));
    assert_eq!(files.len(), 13);
    for source in &files {
        let (out, plan) = round_trip(source, &[]);
        assert_only_infra_differences(source, &plan, false);
        // Secret values appear in no file of the project.
        let secrets = secret_values(&std::fs::read_to_string(source).unwrap());
        for (file, content) in read_tree(&out.join("project")) {
            let content = String::from_utf8_lossy(&content);
            for value in &secrets {
                assert!(!content.contains(value.as_str()), "{file} holds a secret value from {}", source.display());
            }
        }
    }
}

#[test]
fn secrets_are_kept_when_asked() {
    let source = root().join("tests/fixtures/kustomize/components-enterprise.yaml");
    let (_out, plan) = round_trip(&source, &["--keep-secrets"]);
    assert_only_infra_differences(&source, &plan, true);
    assert_eq!(plan["summary"]["delete"], 0);
}

#[test]
fn a_kubectl_list_dump_drops_server_fields_and_controller_objects() {
    let source = std::fs::read_to_string(root().join("tests/fixtures/helm/grafana-D-persistence.yaml")).unwrap();
    let dir = TempDir::new("dump");
    // Make a `kubectl get -o yaml` List: server fields on every object, and
    // a ReplicaSet owned by the Deployment.
    let mut list = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for doc in source.split("\n---").filter(|d| d.contains("kind:")) {
        let doc = doc
            .lines()
            .filter(|l| !l.starts_with("#") && !l.trim().is_empty() && l.trim() != "---")
            .collect::<Vec<_>>()
            .join("\n");
        let doc = doc.replacen(
            "metadata:\n",
            "metadata:\n  uid: 1b4e28ba-2fa1-11d2-883f-0016d3cca427\n  resourceVersion: \"4242\"\n  creationTimestamp: \"2026-11-01T10:00:00Z\"\n  managedFields: [{manager: kubectl, operation: Update}]\n",
            1,
        );
        list.push_str("- ");
        list.push_str(&doc.replace('\n', "\n  "));
        list.push_str("\n  status: {observedGeneration: 1}\n");
    }
    list.push_str("- apiVersion: apps/v1\n  kind: ReplicaSet\n  metadata:\n    name: grafana-5d9f\n    namespace: monitoring\n    ownerReferences: [{apiVersion: apps/v1, kind: Deployment, name: grafana, uid: x}]\n");
    dir.write("dump.yaml", &list);
    let project = dir.join("project");
    let run = infra(&[
        "import",
        dir.join("dump.yaml").to_str().unwrap(),
        "--into",
        project.to_str().unwrap(),
        "--name",
        "grafana",
    ]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains(
            "skipped 1 object made by controllers (their owners recreate them): ReplicaSet/monitoring/grafana-5d9f"
        ),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("namespace monitoring is now the `namespace` parameter, set in `common`"),
        "{}",
        run.stderr
    );
    // Helm does not create the release namespace: it exists in the cluster.
    assert!(run.stderr.contains("declared `external: true`, used by the objects and not in the sources (they exist in the cluster, or are made at run time): Namespace/monitoring"), "{}", run.stderr);
    for (file, content) in read_tree(&project) {
        let text = String::from_utf8(content).unwrap();
        for field in
            ["resourceVersion", "managedFields", "creationTimestamp", "uid: 1b4e", "status:", "observedGeneration"]
        {
            assert!(!text.contains(field), "{file} keeps {field}:\n{text}");
        }
    }
    let infra_yaml = std::fs::read_to_string(project.join("infra.yaml")).unwrap();
    assert!(
        infra_yaml.contains(
            "name: grafana\nparams:\n  namespace: monitoring\ncommon:\n  namespace: ${{ params.namespace }}\n"
        ),
        "{infra_yaml}"
    );
    let deployment = std::fs::read_to_string(project.join("manifests/monitoring/deployment-grafana.yaml")).unwrap();
    assert!(!deployment.contains("namespace:"), "{deployment}");
    let namespace = std::fs::read_to_string(project.join("manifests/_cluster/namespace-monitoring.yaml")).unwrap();
    assert!(namespace.contains("infra:\n  external: true\n"), "{namespace}");
    // The environment can now move everything to another namespace.
    let build = infra(&["build", project.to_str().unwrap(), "-o", "-"]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    let helm = root().join("tests/fixtures/helm/grafana-D-persistence.yaml");
    dir.write("built.yaml", &build.stdout);
    let diff = infra(&["diff", helm.to_str().unwrap(), dir.join("built.yaml").to_str().unwrap(), "--format", "json"]);
    assert_only_infra_differences(&helm, &serde_json::from_str(&diff.stdout).unwrap(), false);
}

#[test]
fn dashboard_configmaps_become_dashboard_files() {
    let apollo = root().join("examples/apollo");
    let dir = TempDir::new("dashboards");
    let stream = infra(&["build", apollo.to_str().unwrap(), "--env", "lab", "-o", "-"]).stdout;
    dir.write("apollo.yaml", &stream);
    let project = dir.join("project");
    let run = infra(&["import", dir.join("apollo.yaml").to_str().unwrap(), "--into", project.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("and 2 dashboards"), "{}", run.stderr);
    let imported = std::fs::read_to_string(project.join("dashboards/hypervisors.json")).unwrap();
    assert_eq!(imported, std::fs::read_to_string(apollo.join("dashboards/hypervisors.json")).unwrap());
    let infra_yaml = std::fs::read_to_string(project.join("infra.yaml")).unwrap();
    assert!(infra_yaml.contains("folder: Homelab"), "{infra_yaml}");
    let build = infra(&["build", project.to_str().unwrap(), "-o", "-"]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    dir.write("built.yaml", &build.stdout);
    let diff = infra(&[
        "diff",
        dir.join("apollo.yaml").to_str().unwrap(),
        dir.join("built.yaml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_only_infra_differences(&dir.join("apollo.yaml"), &serde_json::from_str(&diff.stdout).unwrap(), true);
}

#[test]
fn expression_text_is_escaped_and_inputs_untouched() {
    let dir = TempDir::new("escape");
    let source = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: gh-actions, namespace: ci}\ndata:\n  workflow: 'run: echo ${{ github.sha }} and $${{ x }}'\n  go: '{{ .Values.x }}'\n";
    dir.write("in.yaml", source);
    let project = dir.join("project");
    assert_eq!(infra(&["import", dir.join("in.yaml").to_str().unwrap(), "--into", project.to_str().unwrap()]).code, 0);
    assert_eq!(std::fs::read_to_string(dir.join("in.yaml")).unwrap(), source, "inputs are never changed");
    let build = infra(&["build", project.to_str().unwrap(), "-o", "-"]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert!(build.stdout.contains("run: echo ${{ github.sha }} and $${{ x }}"), "{}", build.stdout);
    // A non-empty directory is refused.
    let again = infra(&["import", dir.join("in.yaml").to_str().unwrap(), "--into", project.to_str().unwrap()]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("project is not empty"), "{}", again.stderr);
    assert!(again.stderr.contains("import writes a new project, whole or not at all"), "{}", again.stderr);
}

#[test]
fn helm_test_pods_are_dropped_and_other_hooks_kept_with_a_warning() {
    let dir = TempDir::new("hooks");
    dir.write(
        "render.yaml",
        "# Source: app/templates/tests/test-connection.yaml\napiVersion: v1\nkind: Pod\nmetadata:\n  name: app-test\n  namespace: web\n  annotations: {helm.sh/hook: test}\nspec: {restartPolicy: Never, containers: [{name: wget, image: busybox}]}\n---\n# Source: app/templates/migrate.yaml\napiVersion: batch/v1\nkind: Job\nmetadata:\n  name: app-migrate\n  namespace: web\n  annotations: {helm.sh/hook: 'pre-install,pre-upgrade'}\nspec: {template: {spec: {restartPolicy: Never, containers: [{name: m, image: app:1}]}}}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: app, namespace: web}\nspec: {ports: [{port: 80}]}\n",
    );
    let project = dir.join("p");
    let run = infra(&["import", dir.join("render.yaml").to_str().unwrap(), "--into", project.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr
            .contains("dropped 1 test hook (`helm test` runs them; they are not part of a release): Pod/web/app-test"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("warning: kept 1 Helm hook as ordinary objects: Helm runs them at install or upgrade and deletes them, `kubectl apply` keeps them (delete the files of those you do not want): Job/web/app-migrate (pre-install,pre-upgrade)"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("the first `kubectl apply` of the build restarts nothing and loses nothing"),
        "{}",
        run.stderr
    );
    let files: Vec<String> = read_tree(&project).into_iter().map(|(f, _)| f).collect();
    assert!(files.contains(&"manifests/web/job-app-migrate.yaml".to_string()), "{files:?}");
    assert!(!files.iter().any(|f| f.contains("app-test")), "{files:?}");
}

#[test]
fn import_says_what_the_first_apply_restarts_and_loses() {
    // The Grafana chart's defaults: the data directory is an emptyDir.
    let source = root().join("tests/fixtures/helm/grafana-B-no-persistence.yaml");
    let dir = TempDir::new("first-apply");
    let run = infra(&["import", source.to_str().unwrap(), "--into", dir.join("p").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let said: Vec<&str> = run
        .stderr
        .lines()
        .skip_while(|l| !l.contains("the first `kubectl apply`"))
        .take_while(|l| !l.starts_with("next:"))
        .collect();
    let project = dir.join("p");
    insta::assert_snapshot!("import_first_apply", said.join("\n").replace(project.to_str().unwrap(), "$PROJECT"));
}

#[test]
fn values_kubernetes_reads_as_numbers_and_booleans_are_imported_as_such() {
    // `defaultMode: 0755` is 493 to Kubernetes, `yes` is true; strings that
    // look like them stay strings. The project says the same, and builds
    // back the same objects.
    let dir = TempDir::new("import-yaml11");
    dir.write(
        "in.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, namespace: apps}\nspec:\n  selector: {matchLabels: {app: web}}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      enableServiceLinks: yes\n      containers: [{name: web, image: nginx}]\n      volumes: [{name: s, configMap: {name: scripts, defaultMode: 0755}}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: scripts, namespace: apps}\ndata: {mode: \"0644\", flag: 'yes'}\n",
    );
    let (out, plan) = round_trip(&dir.join("in.yaml"), &[]);
    assert_only_infra_differences(&dir.join("in.yaml"), &plan, false);
    let deployment = std::fs::read_to_string(out.join("project/manifests/apps/deployment-web.yaml")).unwrap();
    assert!(deployment.contains("defaultMode: 493") && deployment.contains("enableServiceLinks: true"), "{deployment}");
    let config = std::fs::read_to_string(out.join("project/manifests/apps/configmap-scripts.yaml")).unwrap();
    assert!(config.contains("mode: '0644'") && config.contains("flag: 'yes'"), "{config}");
}
