//! Dashboards as data, on the real Grafana dashboards in
//! `tests/fixtures/dashboards` (see tests/fixtures/SOURCES.md), and the
//! stateful-workload check on real Helm output.

use crate::common;

use common::{TempDir, infra, root};
use serde_json::Value as Json;

const FIXTURES: &str = "tests/fixtures/dashboards";

fn fixture(name: &str) -> String {
    std::fs::read_to_string(root().join(FIXTURES).join(name)).unwrap()
}

fn fixture_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join(FIXTURES))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// A project with the given dashboards and entry settings.
fn project(files: &[(&str, String)], entry: &str) -> TempDir {
    let dir = TempDir::new("dashboards");
    dir.write(
        "infra.yaml",
        format!("name: t\ndashboards:\n  - files: dashboards/*.json\n    namespace: monitoring\n{entry}"),
    );
    for (name, text) in files {
        dir.write(&format!("dashboards/{name}"), text);
    }
    dir
}

/// The documents of a YAML stream, as JSON values.
fn documents(stream: &str) -> Vec<Json> {
    infra_syntax::yaml::load(infra_syntax::FileId(0), stream)
        .unwrap()
        .iter()
        .filter(|d| !d.is_null())
        .map(|d| infra_syntax::json::to_json(&d.to_value()))
        .collect()
}

#[test]
fn every_real_dashboard_round_trips_through_the_sidecar_configmap() {
    let names = fixture_names();
    let files: Vec<(&str, String)> = names.iter().map(|n| (n.as_str(), fixture(n))).collect();
    let dir = project(&files, "    folder: Kubernetes\n    datasource: prom-main\n");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let docs = documents(&run.stdout);
    assert_eq!(docs.len(), names.len());
    for (name, text) in &files {
        let stem = name.strip_suffix(".json").unwrap();
        let key = format!("{stem}.json");
        let cm =
            docs.iter().find(|d| d["data"].get(&key).is_some()).unwrap_or_else(|| panic!("no ConfigMap for {name}"));
        assert_eq!(cm["metadata"]["labels"]["grafana_dashboard"], "1");
        assert_eq!(cm["metadata"]["annotations"]["grafana_folder"], "Kubernetes");
        assert_eq!(cm["metadata"]["namespace"], "monitoring");
        let produced = cm["data"][&key].as_str().unwrap();
        let original: Json = serde_json::from_str(text).unwrap();
        let produced_json: Json = serde_json::from_str(produced).unwrap();
        if original.get("__inputs").is_some() {
            // Export form: placeholders filled in, inputs dropped, nothing else changed.
            let mut expected = original.clone();
            let obj = expected.as_object_mut().unwrap();
            obj.shift_remove("__inputs");
            obj.shift_remove("__requires");
            let expected: Json =
                serde_json::from_str(&expected.to_string().replace("${DS_PROMETHEUS}", "prom-main")).unwrap();
            assert_eq!(produced_json, expected, "{name}");
            assert!(!produced.contains("${DS_PROMETHEUS}"), "{name}");
        } else if original.get("uid").is_some() {
            // Untouched: the very text of the file.
            assert_eq!(produced, text, "{name} must be kept byte for byte");
        } else {
            // `{}`: only a stable uid is added.
            let mut expected = original.clone();
            expected.as_object_mut().unwrap().insert("uid".into(), produced_json["uid"].clone());
            assert_eq!(produced_json, expected, "{name}");
        }
    }
    // Legends and variables in the JSON are data, never templated.
    assert!(run.stdout.contains("{{instance}}") || run.stdout.contains("{{ instance }}"));
    // The 468 KB and 359 KB dashboards are over client-side apply's limit:
    // one warning (for objects of every kind), not an error.
    assert!(
        run.stderr.contains("warning[E153]: 2 objects are larger than 256 KiB, which client-side `kubectl apply` cannot store: ConfigMap/monitoring/dashboard-rfmoz-node-exporter-full (456 KiB), ConfigMap/monitoring/dashboard-rfmoz-haproxy"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("kubectl apply --server-side"), "{}", run.stderr);
    // `{}` gets a stable uid, with a warning.
    assert!(
        run.stderr.contains(
            "warning[D105]: dashboards/grafana-chart--custom-dashboard.json has no uid; using the stable uid `infra-"
        ),
        "{}",
        run.stderr
    );
    let again = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(again.stdout, run.stdout, "the derived uid is stable");
}

#[test]
fn export_inputs_without_a_datasource_are_kept_with_a_warning() {
    let dir = project(&[("rfmoz--haproxy.json", fixture("rfmoz--haproxy.json"))], "");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("warning[D102]: dashboards/rfmoz--haproxy.json is an export with inputs (DS_PROMETHEUS); provisioned as is, they will not resolve"), "{}", run.stderr);
    assert!(run.stderr.contains("set `datasource: <uid>`"), "{}", run.stderr);
    let docs = documents(&run.stdout);
    assert_eq!(docs[0]["data"]["rfmoz--haproxy.json"].as_str().unwrap(), fixture("rfmoz--haproxy.json"));
}

#[test]
fn operator_target_makes_grafana_dashboards() {
    let dir = project(
        &[("kps--etcd.json", fixture("kps--etcd.json"))],
        "    target: operator\n    folder: Cluster\n    instance_selector: {matchLabels: {grafana: main}}\n",
    );
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let doc = &documents(&run.stdout)[0];
    assert_eq!(doc["apiVersion"], "grafana.integreatly.org/v1beta1");
    assert_eq!(doc["kind"], "GrafanaDashboard");
    assert_eq!(doc["metadata"]["name"], "dashboard-kps-etcd");
    assert_eq!(doc["spec"]["folder"], "Cluster");
    assert_eq!(doc["spec"]["instanceSelector"]["matchLabels"]["grafana"], "main");
    assert_eq!(doc["spec"]["json"].as_str().unwrap(), fixture("kps--etcd.json"));
}

#[test]
fn sidecar_label_folder_annotation_name_and_key_are_configurable() {
    let dir = project(
        &[("kps--nodes.json", fixture("kps--nodes.json"))],
        "    folder: Nodes\n    label: dashboards\n    label_value: grafana\n    folder_annotation: k8s-sidecar-target-directory\n    name: nodes-board\n    key: nodes.json\n    labels: {team: infra}\n",
    );
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let doc = &documents(&run.stdout)[0];
    assert_eq!(doc["metadata"]["name"], "nodes-board");
    assert_eq!(doc["metadata"]["labels"]["dashboards"], "grafana");
    assert_eq!(doc["metadata"]["labels"]["team"], "infra");
    assert_eq!(doc["metadata"]["annotations"]["k8s-sidecar-target-directory"], "Nodes");
    assert!(doc["data"].get("nodes.json").is_some());
}

#[test]
fn http_api_envelope_is_unwrapped() {
    let inner = fixture("kps--apiserver.json");
    let envelope = format!("{{\"dashboard\": {inner}, \"meta\": {{\"folderTitle\": \"General\"}}}}");
    let dir = project(&[("api.json", envelope)], "");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let produced: Json = serde_json::from_str(documents(&run.stdout)[0]["data"]["api.json"].as_str().unwrap()).unwrap();
    assert_eq!(produced, serde_json::from_str::<Json>(&inner).unwrap());
}

#[test]
fn invalid_json_points_at_line_and_column() {
    let dir = project(&[("broken.json", "{\n  \"uid\": \"x\",\n  \"title\": oops\n}\n".into())], "");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[D100]: invalid dashboard JSON: expected value at line 3 column 12"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--> dashboards/broken.json:3:12"), "{}", run.stderr);
}

#[test]
fn duplicate_uids_name_both_files() {
    let etcd = fixture("kps--etcd.json");
    let dir = project(&[("a.json", etcd.clone()), ("b.json", etcd)], "");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[D106]: dashboards dashboards/a.json and dashboards/b.json have the same uid `c2f4e12cdf69feb95caa41a5a1b423d9`"),
        "{}",
        run.stderr
    );
}

#[test]
fn objects_over_one_mebibyte_are_refused() {
    let mut big = fixture("rfmoz--node-exporter-full.json");
    big =
        big.replacen("\"panels\": [", &format!("\"description\": \"{}\",\n  \"panels\": [", "x".repeat(700 << 10)), 1);
    let dir = project(&[("big.json", big)], "");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[D103]: dashboard dashboards/big.json makes an object of"), "{}", run.stderr);
    assert!(run.stderr.contains("Kubernetes accepts at most 1 MiB"), "{}", run.stderr);
}

#[test]
fn apollo_provisions_its_dashboards_through_the_sidecar() {
    let dir = root().join("examples/apollo");
    let run = infra(&["build", dir.to_str().unwrap(), "--env", "lab", "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let docs = documents(&run.stdout);
    for (name, file) in [("dashboard-hypervisors", "hypervisors.json"), ("dashboard-nas", "nas.json")] {
        let cm = docs.iter().find(|d| d["metadata"]["name"] == name).unwrap();
        assert_eq!(cm["metadata"]["annotations"]["grafana_folder"], "Homelab");
        let text = std::fs::read_to_string(dir.join("dashboards").join(file)).unwrap();
        assert_eq!(cm["data"][file].as_str().unwrap(), text);
    }
}

// ---------------------------------------------------------------------------
// Stateful workloads without storage
// ---------------------------------------------------------------------------

fn helm_findings(file: &str) -> Vec<(String, infra_k8s::state::Location)> {
    let text = std::fs::read_to_string(root().join("tests/fixtures/helm").join(file)).unwrap();
    let docs = infra_syntax::yaml::load(infra_syntax::FileId(0), &text).unwrap();
    docs.iter()
        .map(|d| d.to_value())
        .flat_map(|v| {
            let name = v.str_at(&["metadata", "name"]).unwrap_or_default().to_string();
            infra_k8s::state::at_risk(&v).into_iter().map(move |f| (name.clone(), f))
        })
        .collect()
}

#[test]
fn real_helm_output_without_persistence_is_found() {
    for file in ["grafana-B-no-persistence.yaml", "grafana-C-smtp-no-persistence.yaml"] {
        let found = helm_findings(file);
        assert_eq!(found.len(), 1, "{file}: {found:?}");
        let (name, f) = &found[0];
        assert_eq!(name, "grafana");
        assert_eq!(f.container, "grafana");
        assert_eq!(f.path, "/var/lib/grafana");
        assert_eq!(f.store.describe(), "an emptyDir volume `storage`");
    }
    assert!(helm_findings("grafana-D-persistence.yaml").is_empty(), "the chart with persistence keeps data on a PVC");
}

#[test]
fn build_warns_about_state_at_risk_unless_acknowledged() {
    let apollo = root().join("examples/apollo");
    let eph = infra(&["build", apollo.to_str().unwrap(), "--env", "lab-ephemeral", "-o", "-"]);
    assert_eq!(eph.code, 0);
    assert!(eph.stderr.contains("warning[S100]: Deployment/monitoring/grafana: Grafana's data (/var/lib/grafana) is on an emptyDir volume `storage`"), "{}", eph.stderr);
    let lab = infra(&["build", apollo.to_str().unwrap(), "--env", "lab", "-o", "-"]);
    assert!(!lab.stderr.contains("S100"), "no false alarm with a PVC:\n{}", lab.stderr);

    let dir = TempDir::new("ephemeral");
    dir.write("infra.yaml", "name: t\nresources: [cache.yaml]\n");
    let cache = "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: cache, namespace: default}\nspec:\n  template:\n    spec:\n      containers: [{name: redis, image: docker.io/library/redis:7.4}]\n";
    dir.write("cache.yaml", cache);
    let warned = infra(&["build", dir.str(), "-o", "-"]);
    assert!(warned.stderr.contains("Redis's data (/data) is on the container's own filesystem"), "{}", warned.stderr);
    dir.write("cache.yaml", format!("infra: {{ephemeral: true}}\n{cache}"));
    let quiet = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(quiet.code, 0);
    assert!(!quiet.stderr.contains("S100"), "{}", quiet.stderr);
}

#[test]
fn sidecar_dashboards_need_a_sidecar_when_the_project_runs_grafana() {
    let grafana = |sidecar: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: grafana, namespace: monitoring}}\nspec:\n  selector: {{matchLabels: {{app: grafana}}}}\n  template:\n    metadata: {{labels: {{app: grafana}}}}\n    spec:\n      containers:\n        - {{name: grafana, image: 'grafana/grafana:12.3.0'}}\n{sidecar}"
        )
    };
    let with_resources = |dir: &TempDir| {
        let text = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
        dir.write("infra.yaml", format!("{text}resources: [grafana.yaml]\n"));
    };
    // The Grafana chart's default: no sidecar.
    let dir =
        project(&[("kps--nodes.json", fixture("kps--nodes.json")), ("kps--etcd.json", fixture("kps--etcd.json"))], "");
    with_resources(&dir);
    dir.write("grafana.yaml", grafana(""));
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains("warning[D107]: 2 dashboards for Grafana's sidecar, and no container of the project watches the label `grafana_dashboard`: Grafana never loads them"),
        "{}",
        run.stderr
    );
    // A sidecar watching another label is no better.
    let sidecar = |label: &str| {
        format!(
            "        - name: grafana-sc-dashboard\n          image: quay.io/kiwigrid/k8s-sidecar:1.28.0\n          env: [{{name: LABEL, value: {label}}}, {{name: LABEL_VALUE, value: '1'}}]\n"
        )
    };
    dir.write("grafana.yaml", grafana(&sidecar("dashboards")));
    assert!(infra(&["build", dir.str(), "-o", "-"]).stderr.contains("warning[D107]"));
    dir.write("grafana.yaml", grafana(&sidecar("grafana_dashboard")));
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stderr.contains("D107"), "{}", run.stderr);
    // Without Grafana in the project (it runs elsewhere), nothing is known.
    dir.write("grafana.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: monitoring}\n");
    assert!(!infra(&["build", dir.str(), "-o", "-"]).stderr.contains("D107"));
}

#[test]
fn a_folder_the_sidecar_does_not_read_is_a_warning() {
    // kube-prometheus-stack's Grafana: a sidecar with no FOLDER_ANNOTATION,
    // rendered by the real chart.
    let kps = std::fs::read_to_string(root().join("tests/fixtures/helm/kube-prometheus-stack-88.5.3.yaml")).unwrap();
    let grafana = kps
        .split("\n---\n")
        .find(|d| d.contains("kind: Deployment") && d.contains("name: kps-grafana\n"))
        .expect("the chart's Grafana Deployment")
        .to_string();
    assert!(grafana.contains("k8s-sidecar") && !grafana.contains("FOLDER_ANNOTATION"));
    let dir = project(&[("kps--nodes.json", fixture("kps--nodes.json"))], "    folder: Homelab\n");
    let text = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
    dir.write("infra.yaml", format!("{text}resources: [grafana.yaml]\n"));
    dir.write("grafana.yaml", &grafana);
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains("warning[D109]: dashboards of folder `Homelab` go to Grafana's General folder: the sidecar watching `grafana_dashboard` has no FOLDER_ANNOTATION"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--> infra.yaml:5:13"), "{}", run.stderr);
    // Told to read the entry's annotation, it files them.
    let told = grafana.replace(
        "- name: LABEL\n",
        "- name: FOLDER_ANNOTATION\n              value: grafana_folder\n            - name: LABEL\n",
    );
    assert!(told.contains("FOLDER_ANNOTATION"), "{told}");
    dir.write("grafana.yaml", &told);
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert!(!run.stderr.contains("D109"), "{}", run.stderr);
}
