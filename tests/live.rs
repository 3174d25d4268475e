//! `infra plan --live`: drift between the project and a cluster dump. Only
//! fields the project sets are compared; objects the project does not
//! define in its namespaces are listed as unmanaged.

use crate::common;

use common::{TempDir, infra, root};
use serde_json::Value as Json;

/// A `kubectl get -o yaml` style List of apollo's lab build, as the API
/// server returns it: defaults filled in, status, server metadata.
fn cluster_dump(tweak: impl Fn(String) -> String) -> String {
    let apollo = root().join("examples/apollo");
    let stream = infra(&["build", apollo.to_str().unwrap(), "--env", "lab", "-o", "-"]).stdout;
    let mut list = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for doc in stream.split("---\n").filter(|d| !d.is_empty()) {
        let mut doc = doc.replacen(
            "metadata:\n",
            "metadata:\n  uid: 0f3c\n  resourceVersion: \"77\"\n  creationTimestamp: \"2026-11-20T08:00:00Z\"\n",
            1,
        );
        if doc.contains("kind: Deployment") {
            // Server defaults: not drift.
            doc = doc.replacen("spec:\n", "spec:\n  progressDeadlineSeconds: 600\n  revisionHistoryLimit: 10\n", 1);
            doc = doc.replacen("    spec:\n", "    spec:\n      dnsPolicy: ClusterFirst\n      schedulerName: default-scheduler\n      terminationGracePeriodSeconds: 30\n", 1);
            doc.push_str("status:\n  replicas: 1\n  readyReplicas: 1\n");
        }
        list.push_str("- ");
        list.push_str(&tweak(doc).trim_end().replace('\n', "\n  "));
        list.push('\n');
    }
    // Things the cluster made, and things made by hand.
    list.push_str("- {apiVersion: v1, kind: ConfigMap, metadata: {name: kube-root-ca.crt, namespace: monitoring}, data: {ca.crt: x}}\n");
    list.push_str("- {apiVersion: v1, kind: ServiceAccount, metadata: {name: default, namespace: monitoring}}\n");
    list.push_str("- {apiVersion: v1, kind: Pod, metadata: {name: grafana-abc, namespace: monitoring, ownerReferences: [{kind: ReplicaSet, name: grafana-5d9f, uid: y}]}}\n");
    list.push_str("- {apiVersion: v1, kind: ConfigMap, metadata: {name: hand-made-dashboard, namespace: monitoring, labels: {grafana_dashboard: '1'}}, data: {board.json: '{\"uid\": \"hand\", \"title\": \"Made by hand\", \"panels\": []}'}}\n");
    list.push_str("- {apiVersion: v1, kind: Secret, metadata: {name: grafana-smtp, namespace: monitoring}, data: {password: c2VjcmV0}}\n");
    list.push_str("- {apiVersion: v1, kind: ConfigMap, metadata: {name: elsewhere, namespace: other}}\n");
    list
}

fn plan_live(dump: &str) -> (i32, Json, String) {
    let dir = TempDir::new("live");
    dir.write("dump.yaml", dump);
    let apollo = root().join("examples/apollo");
    let dump_path = dir.join("dump.yaml");
    let args = ["plan", apollo.to_str().unwrap(), "--env", "lab", "--live", dump_path.to_str().unwrap()];
    let text = infra(&args);
    let mut json_args = args.to_vec();
    json_args.extend(["--format", "json"]);
    let run = infra(&json_args);
    assert!(run.code == 0 || run.code == 2, "{}", run.transcript());
    (run.code, serde_json::from_str(&run.stdout).unwrap(), text.stdout)
}

#[test]
fn server_defaults_are_not_drift_and_hand_made_objects_are_unmanaged() {
    let (code, plan, text) = plan_live(&cluster_dump(|d| d));
    assert_eq!(code, 0, "no drift:\n{text}");
    assert_eq!(plan["summary"]["update"], 0, "{plan}");
    let unmanaged: Vec<String> =
        plan["unmanaged"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_string()).collect();
    assert_eq!(
        unmanaged,
        ["hand-made-dashboard"],
        "cluster-made objects, external Secrets and other namespaces are left out"
    );
    assert!(
        plan["unmanaged"][0]["note"].as_str().unwrap().contains("Grafana dashboard that exists only in the cluster")
    );
    assert!(text.contains("Unmanaged (in the cluster, not in the project"), "{text}");
}

#[test]
fn hand_changes_are_drift() {
    let dump = cluster_dump(|d| {
        if d.contains("kind: Deployment") {
            d.replace("replicas: 1\n  strategy", "replicas: 3\n  strategy")
                .replace("grafana/grafana:11.3.0", "grafana/grafana:11.2.0")
        } else {
            d
        }
    });
    let (code, plan, text) = plan_live(&dump);
    assert_eq!(code, 2, "{text}");
    let change = &plan["changes"][0];
    assert_eq!(change["kind"], "Deployment");
    let fields: Vec<(String, Json, Json)> = change["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap().to_string(), f["old"].clone(), f["new"].clone()))
        .collect();
    assert_eq!(
        fields,
        [
            ("spec.replicas".to_string(), Json::from(3), Json::from(1)),
            (
                "spec.template.spec.containers[name=grafana].image".to_string(),
                Json::from("grafana/grafana:11.2.0"),
                Json::from("grafana/grafana:11.3.0")
            ),
        ]
    );
    assert_eq!(plan["summary"]["update"], 1);
}

#[test]
fn missing_objects_are_created() {
    let dump =
        cluster_dump(
            |d| if d.contains("kind: Service\n") && d.contains("name: prometheus") { String::new() } else { d },
        );
    let dump = dump.replace("- \n", "");
    let (code, plan, _) = plan_live(&dump);
    assert_eq!(code, 2);
    assert_eq!(plan["summary"]["create"], 1, "{plan}");
    assert_eq!(plan["changes"][0]["name"], "prometheus");
}

#[test]
fn secrets_written_with_string_data_match_the_data_the_cluster_returns() {
    let dir = TempDir::new("live-secret");
    dir.write("p/infra.yaml", "name: app\nresources: [secret.yaml]\n");
    dir.write("p/secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: app}\ndata: {user: YWRtaW4=}\nstringData: {password: s3cret, url: 'postgres://db:5432'}\n");
    // The API server merges stringData into data and never returns it.
    let dump = |password: &str| {
        format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {{name: db, namespace: app, uid: a1, resourceVersion: '3'}}\n  type: Opaque\n  data: {{user: YWRtaW4=, password: {password}, url: cG9zdGdyZXM6Ly9kYjo1NDMy}}\n"
        )
    };
    let plan = |password: &str| {
        dir.write("dump.yaml", dump(password));
        infra(&["plan", dir.join("p").to_str().unwrap(), "--live", dir.join("dump.yaml").to_str().unwrap()])
    };
    let same = plan("czNjcmV0");
    assert_eq!(same.code, 0, "{}", same.transcript());
    let changed = plan("b2xk");
    assert_eq!(changed.code, 2, "{}", changed.transcript());
    assert!(changed.stdout.contains("data.password"), "{}", changed.stdout);
    assert!(!changed.stdout.contains("s3cret") && !changed.stdout.contains("czNjcmV0"), "{}", changed.stdout);
}
