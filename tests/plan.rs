//! `infra plan` and `infra diff`: the apollo environments, git revisions,
//! real Helm renders of the Grafana chart, and secret redaction.

use crate::common;

use common::{TempDir, copy_dir, infra, root};
use serde_json::Value as Json;
use std::process::Command;

fn apollo() -> String {
    root().join("examples/apollo").to_string_lossy().into_owned()
}

fn helm(name: &str) -> String {
    root().join("tests/fixtures/helm").join(name).to_string_lossy().into_owned()
}

fn json(stdout: &str) -> Json {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("{e}:\n{stdout}"))
}

fn reasons(plan: &Json, severity: &str) -> Vec<String> {
    plan["hazards"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|h| h["severity"] == severity)
        .map(|h| {
            format!(
                "{} {}: {}",
                h["kind"].as_str().unwrap(),
                h["name"].as_str().unwrap(),
                h["reason"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn committed_output_has_no_changes() {
    let run = infra(&["plan", &apollo(), "--env", "lab"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("Plan: 0 to create, 0 to update, 0 to replace, 0 to delete; 16 unchanged."),
        "{}",
        run.stdout
    );
}

#[test]
fn smtp_change_rolls_grafana_without_hazard() {
    let against = format!("{}/compiled/lab", apollo());
    let run = infra(&["plan", &apollo(), "--env", "lab-smtp", "--against", &against, "--deny", "data-loss"]);
    assert_eq!(run.code, 2, "changes, no denied hazard:\n{}", run.transcript());
    assert!(run.stdout.contains("~ Deployment monitoring/grafana"), "{}", run.stdout);
    assert!(run.stdout.contains("+ enabled = true"), "line diff of grafana.ini:\n{}", run.stdout);
    assert!(!run.stdout.contains("DATA LOSS"), "{}", run.stdout);

    let run = infra(&["plan", &apollo(), "--env", "lab-smtp", "--against", &against, "--format", "json"]);
    let plan = json(&run.stdout);
    assert_eq!(
        plan["summary"],
        serde_json::json!({"create": 0, "update": 2, "replace": 0, "delete": 0, "unchanged": 14})
    );
    let grafana = plan["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "Deployment").unwrap();
    assert_eq!(grafana["rollout"], true);
    assert_eq!(grafana["action"], "update");
    assert_eq!(grafana["apiVersion"], "apps/v1");
    let config = plan["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "ConfigMap").unwrap();
    assert!(config["renamedFrom"].as_str().unwrap().starts_with("grafana-config-"));
    assert!(reasons(&plan, "data-loss").is_empty());
    insta::assert_json_snapshot!("plan_lab_to_lab_smtp", plan);
}

#[test]
fn turning_persistence_off_is_data_loss() {
    let against = format!("{}/compiled/lab", apollo());
    let run = infra(&["plan", &apollo(), "--env", "lab-ephemeral", "--against", &against, "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let plan = json(&run.stdout);
    let loss = reasons(&plan, "data-loss");
    assert!(loss.contains(&"PersistentVolumeClaim grafana: the PVC and the data on its volume are deleted (mark it `protect: false` if intended)".to_string()), "{loss:?}");
    assert!(
        loss.contains(
            &"Deployment grafana: Grafana's data (/var/lib/grafana) moves from PVC `grafana` to an emptyDir volume `storage`"
                .to_string()
        ),
        "{loss:?}"
    );
    let denied = infra(&["plan", &apollo(), "--env", "lab-ephemeral", "--against", &against, "--deny", "data-loss"]);
    assert_eq!(denied.code, 3, "{}", denied.transcript());
    assert!(denied.stdout.contains("DATA LOSS: this change destroys data (2 hazards):"), "{}", denied.stdout);
}

#[test]
fn helm_upgrade_that_lost_the_dashboards_is_data_loss() {
    let run = infra(&[
        "diff",
        &helm("grafana-B-no-persistence.yaml"),
        &helm("grafana-C-smtp-no-persistence.yaml"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let plan = json(&run.stdout);
    let grafana = plan["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "Deployment").unwrap();
    assert_eq!(grafana["rollout"], true);
    assert_eq!(grafana["fields"][0]["path"], "spec.template.metadata.annotations[\"checksum/config\"]");
    assert_eq!(
        reasons(&plan, "data-loss"),
        [
            "Deployment grafana: pods restart; Grafana's data (/var/lib/grafana) is on an emptyDir volume `storage`: its current data is lost"
        ]
    );
    let text = infra(&[
        "diff",
        &helm("grafana-B-no-persistence.yaml"),
        &helm("grafana-C-smtp-no-persistence.yaml"),
        "--deny",
        "data-loss",
    ]);
    assert_eq!(text.code, 3);
    assert!(text.stdout.contains("DATA LOSS"), "{}", text.stdout);
}

#[test]
fn adding_persistence_still_loses_the_current_state() {
    let run = infra(&[
        "diff",
        &helm("grafana-C-smtp-no-persistence.yaml"),
        &helm("grafana-D-persistence.yaml"),
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let plan = json(&run.stdout);
    let created: Vec<&str> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["action"] == "create")
        .map(|c| c["kind"].as_str().unwrap())
        .collect();
    assert_eq!(created, ["PersistentVolumeClaim"]);
    let deployment = plan["changes"].as_array().unwrap().iter().find(|c| c["kind"] == "Deployment").unwrap();
    let paths: Vec<&str> =
        deployment["fields"].as_array().unwrap().iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert!(paths.contains(&"spec.template.spec.volumes[name=storage].emptyDir"), "{paths:?}");
    assert!(paths.contains(&"spec.template.spec.volumes[name=storage].persistentVolumeClaim.claimName"), "{paths:?}");
    assert_eq!(
        reasons(&plan, "data-loss"),
        [
            "Deployment grafana: pods restart; Grafana's data (/var/lib/grafana) is on an emptyDir volume `storage`: its current data is lost (the new version adds storage, but the current data is not on it)"
        ]
    );
}

#[test]
fn secrets_are_redacted_unless_asked() {
    let dir = TempDir::new("secrets");
    let original = std::fs::read_to_string(helm("grafana-C-smtp-no-persistence.yaml")).unwrap();
    let admin = original.split("admin-password: \"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let changed = original.replace(&admin, "bmV3LXNlY3JldC12YWx1ZQ==");
    dir.write("old.yaml", &original);
    dir.write("new.yaml", &changed);
    dir.write(
        "a.yaml",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: made-up}\nstringData: {token: hunter2, keep: same}\n",
    );
    dir.write("b.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: made-up}\nstringData: {token: correct-horse, keep: same, extra: battery}\n");
    for (old, new, secrets) in [
        ("old.yaml", "new.yaml", [admin.as_str(), "bmV3LXNlY3JldC12YWx1ZQ=="]),
        ("a.yaml", "b.yaml", ["hunter2", "correct-horse"]),
    ] {
        let (old, new) = (dir.join(old), dir.join(new));
        let (old, new) = (old.to_str().unwrap(), new.to_str().unwrap());
        for format in ["text", "json"] {
            let run = infra(&["diff", old, new, "--format", format]);
            assert_eq!(run.code, 2, "{}", run.transcript());
            for s in secrets {
                assert!(!run.stdout.contains(s) && !run.stderr.contains(s), "secret value printed:\n{}", run.stdout);
            }
            assert!(run.stdout.contains("(redacted)"), "{}", run.stdout);
        }
        let shown = infra(&["diff", old, new, "--show-secrets"]);
        assert!(shown.stdout.contains(secrets[1]), "{}", shown.stdout);
    }
    let text = infra(&["diff", dir.join("a.yaml").to_str().unwrap(), dir.join("b.yaml").to_str().unwrap()]);
    assert!(text.stdout.contains("stringData.token: (redacted) changed (7 → 13 bytes)"), "{}", text.stdout);
    assert!(text.stdout.contains("stringData.extra: (redacted) added (7 bytes)"), "{}", text.stdout);
    let b64 = infra(&["diff", dir.join("old.yaml").to_str().unwrap(), dir.join("new.yaml").to_str().unwrap()]);
    assert!(b64.stdout.contains("data.admin-password: (redacted) changed (20 → 16 bytes)"), "{}", b64.stdout);
}

#[test]
fn base_reads_the_compiled_output_at_a_git_revision() {
    let dir = TempDir::new("git");
    copy_dir(&root().join("examples/apollo"), dir.path());
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .arg("-C")
            .arg(dir.path())
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    // Change the code and the compiled output in the work tree; HEAD keeps the old output.
    let infra_yaml = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
    std::fs::write(dir.join("infra.yaml"), infra_yaml.replace("grafana/grafana:11.3.0", "grafana/grafana:11.4.0"))
        .unwrap();
    assert_eq!(infra(&["build", dir.str(), "--env", "lab"]).code, 0);
    let against_tree = infra(&["plan", dir.str(), "--env", "lab"]);
    assert_eq!(against_tree.code, 0, "the work tree is rebuilt: no change\n{}", against_tree.transcript());
    let run = infra(&["plan", dir.str(), "--env", "lab", "--base", "HEAD", "--format", "json"]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let plan = json(&run.stdout);
    let change = &plan["changes"][0];
    assert_eq!(change["kind"], "Deployment");
    assert_eq!(change["fields"][0]["path"], "spec.template.spec.containers[name=grafana].image");
    assert_eq!(change["fields"][0]["old"], "grafana/grafana:11.3.0");
    assert_eq!(change["fields"][0]["new"], "grafana/grafana:11.4.0");
    assert_eq!(change["reason"], "pod template changed (image of [name=grafana])");
    let bad = infra(&["plan", dir.str(), "--env", "lab", "--base", "no-such-rev"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("cannot read compiled/lab at git revision no-such-rev"), "{}", bad.stderr);
    assert!(!bad.stderr.contains("shallow"), "{}", bad.stderr);

    // A CI checkout is shallow: the base is not there, and plan says how to get it.
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "next"]);
    let shallow = TempDir::new("shallow");
    let url = format!("file://{}", dir.str());
    let clone =
        Command::new("git").args(["clone", "-q", "--depth", "1", &url]).arg(shallow.join("repo")).output().unwrap();
    assert!(clone.status.success(), "{}", String::from_utf8_lossy(&clone.stderr));
    let repo = shallow.join("repo");
    let run = infra(&["plan", repo.to_str().unwrap(), "--env", "lab", "--base", "HEAD~1"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("help: this is a shallow clone, which may not hold HEAD~1: fetch it"),
        "{}",
        run.stderr
    );
}

#[test]
fn diff_reads_directories_streams_and_lists() {
    let dir = TempDir::new("lists");
    let stream = infra(&["build", &apollo(), "--env", "lab", "-o", "-"]).stdout;
    dir.write("stream.yaml", &stream);
    let docs: Vec<&str> = stream.split("---\n").filter(|d| !d.is_empty()).collect();
    let mut list = String::from("apiVersion: v1\nkind: List\nitems:\n");
    for d in &docs {
        for (i, line) in d.lines().enumerate() {
            list.push_str(if i == 0 { "  - " } else { "    " });
            list.push_str(line);
            list.push('\n');
        }
    }
    dir.write("list.yaml", list);
    let compiled = format!("{}/compiled/lab", apollo());
    for other in ["stream.yaml", "list.yaml"] {
        let run = infra(&["diff", &compiled, dir.join(other).to_str().unwrap()]);
        assert_eq!(run.code, 0, "{other}: {}", run.transcript());
        assert!(run.stdout.contains("16 unchanged"), "{}", run.stdout);
    }
}

#[test]
fn immutable_fields_make_replacements() {
    let dir = TempDir::new("immutable");
    dir.write("old.yaml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 10Gi}}}}]\n  template: {spec: {containers: [{name: pg, image: 'postgres:16', volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}]}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: cache}\nspec: {storageClassName: fast, resources: {requests: {storage: 1Gi}}}\n");
    dir.write("new.yaml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec:\n  serviceName: db\n  selector: {matchLabels: {app: db}}\n  volumeClaimTemplates: [{metadata: {name: data}, spec: {resources: {requests: {storage: 20Gi}}}}]\n  template: {spec: {containers: [{name: pg, image: 'postgres:16', volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]}]}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: cache}\nspec: {storageClassName: slow, resources: {requests: {storage: 1Gi}}}\n");
    let run = infra(&[
        "diff",
        dir.join("old.yaml").to_str().unwrap(),
        dir.join("new.yaml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let plan = json(&run.stdout);
    let actions: Vec<(&str, &str)> = plan["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["kind"].as_str().unwrap(), c["action"].as_str().unwrap()))
        .collect();
    assert_eq!(actions, [("PersistentVolumeClaim", "replace"), ("StatefulSet", "replace")]);
    let loss = reasons(&plan, "data-loss");
    assert_eq!(
        loss,
        [
            "PersistentVolumeClaim cache: the PVC is replaced (immutable field changed: spec.storageClassName): a new, empty volume"
        ]
    );
    // A claim template whose size changes replaces the StatefulSet, but the
    // API server keeps the existing claims: no data loss, a hand resize.
    assert_eq!(
        reasons(&plan, "warning"),
        [
            "StatefulSet db: claim template `data` changes (size 10Gi → 20Gi): the StatefulSet is replaced, the existing claims (data-db-0, data-db-1, ...) are kept and reattached as they are; to resize, patch each claim by hand: kubectl patch pvc data-db-N -p '{\"spec\":{\"resources\":{\"requests\":{\"storage\":\"20Gi\"}}}}'"
        ]
    );
}

/// Kinds are known by group and kind: a custom resource named like a core
/// kind (a Knative `Service`, a `Deployment` of another group) has none of
/// the core kind's immutable fields or rollouts.
#[test]
fn immutable_fields_and_rollouts_are_the_kinds_of_their_group() {
    let dir = TempDir::new("group-kinds");
    let pair = |api: &str, kind: &str, spec_old: &str, spec_new: &str| {
        let doc = |spec: &str| {
            format!("apiVersion: {api}\nkind: {kind}\nmetadata: {{name: web, namespace: ns}}\nspec: {spec}\n")
        };
        diff_json(&dir, &doc(spec_old), &doc(spec_new))
    };
    let change = |plan: &Json| (plan["changes"][0]["action"].clone(), plan["changes"][0]["rollout"].clone());
    let selector = |app: &str| {
        format!(
            "{{selector: {{matchLabels: {{app: {app}}}}}, template: {{metadata: {{labels: {{app: {app}}}}}, spec: {{containers: [{{name: c, image: nginx}}]}}}}}}"
        )
    };
    let core = pair("apps/v1", "Deployment", &selector("a"), &selector("b"));
    assert_eq!(change(&core), (Json::from("replace"), Json::from(true)));
    let custom = pair("example.com/v1", "Deployment", &selector("a"), &selector("b"));
    assert_eq!(change(&custom), (Json::from("update"), Json::from(false)));
    let service = pair("v1", "Service", "{clusterIP: 10.0.0.1}", "{clusterIP: 10.0.0.2}");
    assert_eq!(change(&service).0, "replace");
    let knative = pair("serving.knative.dev/v1", "Service", "{clusterIP: 10.0.0.1}", "{clusterIP: 10.0.0.2}");
    assert_eq!(change(&knative).0, "update");
}

/// A ReplicationController has pods (a pod spec in the kinds registry): the
/// ConfigMap its pods read is a dependency and its content is in the
/// config hash, as for every other workload.
#[test]
fn replication_controllers_are_workloads() {
    let dir = TempDir::new("rc");
    dir.write("infra.yaml", "name: rc\nresources: [app.yaml]\n");
    dir.write(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings, namespace: ns}\ndata: {a: b}\n---\napiVersion: v1\nkind: ReplicationController\nmetadata: {name: web, namespace: ns}\nspec:\n  selector: {app: web}\n  template:\n    metadata: {labels: {app: web}}\n    spec:\n      containers:\n      - name: web\n        image: nginx\n        envFrom: [{configMapRef: {name: settings}}]\n",
    );
    let graph = infra(&["graph", dir.str()]);
    assert!(graph.stdout.contains("<- ConfigMap/ns/settings (envFrom)"), "{}", graph.transcript());
    let built = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(built.code, 0, "{}", built.transcript());
    let rc = built.stdout.split("---\n").find(|d| d.contains("kind: ReplicationController")).unwrap();
    assert!(rc.contains("infra.dev/config-hash"), "{rc}");
}

/// A StatefulSet of postgres with its data on the claim template `claim`.
fn postgres_set(claim: &str, size: &str, extra_spec: &str) -> String {
    format!(
        "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {{name: db}}\nspec:\n  serviceName: db\n  selector: {{matchLabels: {{app: db}}}}\n{extra_spec}  volumeClaimTemplates: [{{metadata: {{name: {claim}}}, spec: {{resources: {{requests: {{storage: {size}}}}}}}}}]\n  template: {{spec: {{containers: [{{name: pg, image: 'postgres:16', volumeMounts: [{{name: {claim}, mountPath: /var/lib/postgresql/data}}]}}]}}}}\n"
    )
}

fn diff_json(dir: &TempDir, old: &str, new: &str) -> Json {
    dir.write("old.yaml", old);
    dir.write("new.yaml", new);
    let run = infra(&[
        "diff",
        dir.join("old.yaml").to_str().unwrap(),
        dir.join("new.yaml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert!(run.code == 0 || run.code == 2, "{}", run.transcript());
    json(&run.stdout)
}

#[test]
fn statefulset_claims_lose_data_only_when_renamed_removed_or_deleted_with_the_set() {
    let dir = TempDir::new("claims");
    let retain = postgres_set("data", "10Gi", "");
    let plan = diff_json(&dir, &retain, &postgres_set("pgdata", "10Gi", ""));
    assert_eq!(
        reasons(&plan, "data-loss"),
        [
            "StatefulSet db: PostgreSQL's data (/var/lib/postgresql/data) moves from the claims data-db-0, data-db-1, ... to the claims pgdata-db-0, pgdata-db-1, ..., which are new and empty; the data stays on the old claims"
        ]
    );
    let delete_policy = "  persistentVolumeClaimRetentionPolicy: {whenDeleted: Delete}\n";
    let plan =
        diff_json(&dir, &postgres_set("data", "10Gi", delete_policy), &postgres_set("data", "20Gi", delete_policy));
    assert_eq!(
        reasons(&plan, "data-loss"),
        [
            "StatefulSet db: the StatefulSet is replaced and its retention policy (whenDeleted: Delete) deletes its claims (data)"
        ]
    );
    // Deleting the set: the claims stay unless the policy deletes them.
    let plan = diff_json(&dir, &retain, "");
    assert!(reasons(&plan, "data-loss").is_empty(), "{plan}");
    assert_eq!(
        reasons(&plan, "warning"),
        [
            "StatefulSet db: the StatefulSet's claims (data) are kept with their data; delete them by hand if they are no longer needed"
        ]
    );
    let plan = diff_json(&dir, &postgres_set("data", "10Gi", delete_policy), "");
    assert_eq!(
        reasons(&plan, "data-loss"),
        ["StatefulSet db: its retention policy (whenDeleted: Delete) deletes the StatefulSet's claims (data) with it"]
    );
}

#[test]
fn jobs_are_clients_not_stateful_servers() {
    let dir = TempDir::new("jobs");
    let backup = |image: &str| {
        format!(
            "apiVersion: batch/v1\nkind: CronJob\nmetadata: {{name: backup}}\nspec:\n  schedule: '@daily'\n  jobTemplate: {{spec: {{template: {{spec: {{restartPolicy: Never, containers: [{{name: dump, image: '{image}', command: [pg_dump]}}]}}}}}}}}\n"
        )
    };
    let plan = diff_json(&dir, &backup("postgres:16"), &backup("postgres:17"));
    assert_eq!(plan["summary"]["update"], 1, "{plan}");
    assert!(plan["hazards"].as_array().unwrap().is_empty(), "{plan}");
    let plan = diff_json(&dir, &backup("postgres:16"), "");
    assert!(plan["hazards"].as_array().unwrap().is_empty(), "{plan}");
    // And `build` does not warn about its storage.
    dir.write("project/infra.yaml", "name: backups\nresources: [backup.yaml]\n");
    dir.write("project/backup.yaml", backup("postgres:16"));
    let run = infra(&["build", dir.join("project").to_str().unwrap(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stderr.contains("S100"), "{}", run.stderr);
}

#[test]
fn deleting_protected_things_and_dashboards_is_data_loss() {
    let dir = TempDir::new("deletes");
    let dashboard = r#"{"uid": "homelab", "title": "Homelab", "panels": []}"#;
    dir.write("old.yaml", format!("apiVersion: v1\nkind: Namespace\nmetadata: {{name: team}}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {{name: scratch, namespace: team, annotations: {{infra.dev/protect: 'false'}}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: dash, namespace: team, labels: {{grafana_dashboard: '1'}}}}\ndata:\n  homelab.json: '{dashboard}'\n"));
    dir.write("new.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other, namespace: team}\n");
    let run = infra(&[
        "diff",
        dir.join("old.yaml").to_str().unwrap(),
        dir.join("new.yaml").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let loss = reasons(&json(&run.stdout), "data-loss");
    assert_eq!(
        loss,
        [
            "ConfigMap dash: dashboard uid homelab (\"Homelab\") disappears; Grafana deletes the dashboard",
            "Namespace team: deleting a namespace deletes everything in it",
        ],
        "the PVC marked protect: false is not a hazard"
    );
}

#[test]
fn diff_reads_a_helm_render_from_standard_input() {
    use std::io::Write;
    let render = std::fs::read_to_string(helm("grafana-B-no-persistence.yaml")).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_infra"))
        .args(["diff", "-", &helm("grafana-C-smtp-no-persistence.yaml"), "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(render.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let plan = json(&String::from_utf8(out.stdout).unwrap());
    assert_eq!(plan["summary"]["update"], 2);
}

#[test]
fn empty_null_and_absent_mean_what_kubernetes_reads() {
    let dir = TempDir::new("absent");
    let deployment = |annotations: &str, volume: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: app\n{annotations}spec:\n  template:\n    spec:\n      containers: [{{name: web, image: nginx, env: []}}]\n      volumes:\n        - name: cache\n{volume}"
        )
    };
    // Null, empty and absent annotations, labels and lists are the same.
    dir.write("a.yaml", deployment("  annotations: null\n  labels: {}\n", "          emptyDir: {}\n"));
    dir.write("b.yaml", deployment("  annotations:\n    infra.dev/hash: abc\n", "          emptyDir: {}\n"));
    let run = infra(&["diff", dir.join("a.yaml").to_str().unwrap(), dir.join("b.yaml").to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    // An empty struct is not an absent one: `emptyDir: {}` makes the volume.
    dir.write("c.yaml", deployment("", "          hostPath: {path: /tmp}\n"));
    let run = infra(&[
        "diff",
        dir.join("a.yaml").to_str().unwrap(),
        dir.join("c.yaml").to_str().unwrap(),
        "--color",
        "never",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(run.stdout.contains("spec.template.spec.volumes[name=cache].emptyDir: {} → (none)"), "{}", run.stdout);
    assert!(
        run.stdout.contains("spec.template.spec.volumes[name=cache].hostPath.path: (none) → \"/tmp\""),
        "{}",
        run.stdout
    );
    // infra's config hash on a pod template that had no metadata: one field.
    dir.write(
        "d.yaml",
        deployment("", "          emptyDir: {}\n")
            .replace("  template:\n", "  template:\n    metadata:\n      annotations: {infra.dev/config-hash: abc}\n"),
    );
    let run = infra(&[
        "diff",
        dir.join("a.yaml").to_str().unwrap(),
        dir.join("d.yaml").to_str().unwrap(),
        "--color",
        "never",
    ]);
    assert!(
        run.stdout.contains("spec.template.metadata.annotations[\"infra.dev/config-hash\"]: (none) → \"abc\""),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("pod template changed (config-hash"), "{}", run.stdout);
}

#[test]
fn ephemeral_workloads_roll_without_data_loss_and_plans_from_output_see_it() {
    let dir = TempDir::new("ephemeral");
    let cache = |image: &str, mark: &str| {
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: cache}}\n{mark}spec:\n  selector: {{matchLabels: {{app: cache}}}}\n  template:\n    metadata: {{labels: {{app: cache}}}}\n    spec: {{containers: [{{name: redis, image: '{image}'}}]}}\n"
        )
    };
    dir.write("p/infra.yaml", "name: cache\nresources: [cache.yaml]\n");
    dir.write("p/cache.yaml", cache("redis:7.2", "infra: {ephemeral: true}\n"));
    let project = dir.join("p");
    let project = project.to_str().unwrap();
    let build = infra(&["build", project]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert!(!build.stderr.contains("S100"), "{}", build.stderr);
    let compiled = std::fs::read_to_string(dir.join("p/compiled/default/_cluster/deployment-cache.yaml")).unwrap();
    assert!(compiled.contains("infra.dev/ephemeral: 'true'"), "{compiled}");

    dir.write("p/cache.yaml", cache("redis:7.4", "infra: {ephemeral: true}\n"));
    let plan = infra(&["plan", project, "--deny", "data-loss", "--format", "json"]);
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    assert!(json(&plan.stdout)["hazards"].as_array().unwrap().is_empty(), "{}", plan.stdout);

    // The mark is read from the output: a diff of compiled files honours it,
    // and without it the same bump is data loss.
    dir.write("old.yaml", &compiled);
    dir.write("new.yaml", compiled.replace("redis:7.2", "redis:7.4"));
    let diff = |file: &str| {
        infra(&[
            "diff",
            dir.join("old.yaml").to_str().unwrap(),
            dir.join(file).to_str().unwrap(),
            "--deny",
            "data-loss",
        ])
    };
    assert_eq!(diff("new.yaml").code, 2);
    dir.write("old.yaml", compiled.replace("infra.dev/ephemeral: 'true'", "team: cache"));
    dir.write(
        "unmarked.yaml",
        compiled.replace("infra.dev/ephemeral: 'true'", "team: cache").replace("redis:7.2", "redis:7.4"),
    );
    let unmarked = diff("unmarked.yaml");
    assert_eq!(unmarked.code, 3, "{}", unmarked.transcript());
    assert!(unmarked.stdout.contains("pods restart; Redis's data (/data) is on"), "{}", unmarked.stdout);
}

#[test]
fn json_has_one_shape_for_any_number_of_environments() {
    // Every environment of the example, each compared with its own
    // compiled/<env>, one of which is not built yet.
    let dir = TempDir::new("json-envs");
    copy_dir(&root().join("examples/apollo"), dir.path());
    std::fs::remove_dir_all(dir.join("compiled/lab-smtp")).unwrap();
    let project = dir.path().to_str().unwrap();
    let all = infra(&["plan", project, "--format", "json"]);
    assert_eq!(all.code, 2, "{}", all.transcript());
    let all = json(&all.stdout);
    let envs: Vec<&str> = all["environments"].as_array().unwrap().iter().map(|e| e["env"].as_str().unwrap()).collect();
    assert_eq!(envs, ["lab", "lab-smtp", "lab-ephemeral"]);
    for list in ["changes", "hazards"] {
        for item in all[list].as_array().unwrap() {
            assert!(envs.contains(&item["env"].as_str().unwrap()), "{item}");
        }
    }
    // The summary adds up the environments'.
    let creates: u64 =
        all["environments"].as_array().unwrap().iter().map(|e| e["summary"]["create"].as_u64().unwrap()).sum();
    assert_eq!(all["summary"]["create"].as_u64().unwrap(), creates);
    assert!(creates > 0);
    // One environment: the same shape.
    let one = json(&infra(&["plan", project, "--env", "lab", "--format", "json"]).stdout);
    let keys = |v: &Json| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>();
    assert_eq!(keys(&one), keys(&all));
    assert_eq!(one["environments"], serde_json::json!([{"env": "lab", "summary": one["summary"]}]));
}

#[test]
fn diff_reads_a_pipe_named_on_the_command_line() {
    // `infra diff release.yaml <(infra build DIR -o -)`: the shell names a
    // pipe, which is read as a stream (the README's round-trip check).
    let release = root().join("tests/fixtures/helm/grafana-B-no-persistence.yaml");
    let script = format!(
        "'{bin}' diff '{release}' <(cat '{release}')",
        bin = env!("CARGO_BIN_EXE_infra"),
        release = release.display()
    );
    let out = Command::new("timeout").args(["20", "bash", "-c", &script]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("7 unchanged"), "{stdout}");
}

#[test]
fn declared_state_is_judged_like_a_databases_data() {
    // Software no table knows: the project says where its state is.
    let dir = TempDir::new("declared-state");
    let app = |tag: &str| {
        format!(
            "infra: {{state: [/srv/db]}}\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: ledger, namespace: apps}}\nspec:\n  selector: {{matchLabels: {{app: ledger}}}}\n  template:\n    metadata: {{labels: {{app: ledger}}}}\n    spec: {{containers: [{{name: ledger, image: 'example.com/ledger:{tag}'}}]}}\n"
        )
    };
    dir.write("infra.yaml", "name: ledger\nresources: [app.yaml]\n");
    dir.write("app.yaml", app("1.0"));
    let build = infra(&["build", dir.str()]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert!(
        build.stderr.contains("warning[S100]: Deployment/apps/ledger: /srv/db is on the container's own filesystem"),
        "{}",
        build.stderr
    );
    let compiled = std::fs::read_to_string(dir.join("compiled/default/apps/deployment-ledger.yaml")).unwrap();
    assert!(compiled.contains("infra.dev/state: /srv/db"), "{compiled}");
    dir.write("app.yaml", app("1.1"));
    let plan = infra(&["plan", dir.str(), "--deny", "data-loss"]);
    assert_eq!(plan.code, 3, "{}", plan.transcript());
    assert!(
        plan.stdout.contains("✗ Deployment apps/ledger: pods restart; /srv/db is on the container's own filesystem"),
        "{}",
        plan.stdout
    );
    // A path that is not absolute is a located error.
    dir.write("app.yaml", app("1.1").replace("[/srv/db]", "[srv/db]"));
    let bad = infra(&["build", dir.str(), "-o", "-"]);
    assert!(
        bad.code == 1
            && bad.stderr.contains("error[E121]: `state` lists absolute paths")
            && bad.stderr.contains("--> app.yaml:1:16"),
        "{}",
        bad.stderr
    );
}

#[test]
fn a_dashboard_change_is_shown_as_the_fields_that_changed() {
    // A real dashboard (15,000 lines of JSON) in a sidecar ConfigMap, one
    // panel retitled: one line of plan, at the panel's path.
    let dir = TempDir::new("dashboard-diff");
    let text =
        std::fs::read_to_string(root().join("tests/fixtures/dashboards/rfmoz--node-exporter-full.json")).unwrap();
    let model: serde_json::Value = serde_json::from_str(&text).unwrap();
    let panel = model["panels"].as_array().unwrap().iter().find(|p| p["title"] == "SWAP Used").unwrap();
    let id = panel["id"].as_i64().unwrap();
    let cm = |json: &str| {
        let doc = serde_json::json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "node", "namespace": "monitoring"}, "data": {"node.json": json}});
        doc.to_string()
    };
    dir.write("old.json", cm(&text));
    dir.write("new.json", cm(&text.replacen("\"title\": \"SWAP Used\"", "\"title\": \"SWAP in use\"", 1)));
    let run = infra(&[
        "diff",
        dir.join("old.json").to_str().unwrap(),
        dir.join("new.json").to_str().unwrap(),
        "--color",
        "never",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    assert!(
        run.stdout
            .contains(&format!("    data[\"node.json\"].panels[id={id}].title: \"SWAP Used\" → \"SWAP in use\"\n")),
        "{}",
        run.stdout
    );
    assert_eq!(run.stdout.lines().filter(|l| l.starts_with("    ")).count(), 2, "{}", run.stdout);
}

#[test]
fn nothing_inside_a_hidden_secret_value_is_printed() {
    // A JSON document in a Secret: its keys can be secrets too (a token as
    // a key), so the value is one redacted field, not a diff by path.
    let dir = TempDir::new("secret-json");
    let secret = |user: &str| {
        format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  tokens.json: '{{\"ghp_AAAAAAAAAAAAAAAAAAAA\": {{\"user\": \"{user}\", \"scopes\": [\"repo\", \"read:org\", \"workflow\", \"gist\"]}}}}'\n"
        )
    };
    dir.write("old.yaml", secret("ci"));
    dir.write("new.yaml", secret("bot"));
    for format in ["text", "json"] {
        let run = infra(&[
            "diff",
            dir.join("old.yaml").to_str().unwrap(),
            dir.join("new.yaml").to_str().unwrap(),
            "--format",
            format,
        ]);
        assert_eq!(run.code, 2, "{}", run.transcript());
        assert!(!run.stdout.contains("ghp_") && !run.stdout.contains("bot"), "{}", run.stdout);
        assert!(run.stdout.contains("tokens.json"), "{}", run.stdout);
    }
}

/// `plan --format markdown` is for a pull-request comment: a CommonMark
/// parser must see hazards first, one `<details>` per object, and no block
/// that a value from the manifests opened or closed.
#[test]
fn the_markdown_plan_parses_as_intended_whatever_the_values() {
    use pulldown_cmark::{Event, Parser, Tag};
    let dir = TempDir::new("markdown-plan");
    let hostile = "```\n</details>\n# injected heading\n<script>alert(1)</script>\n````";
    dir.write(
        "old.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: web}\ndata: {note: plain}\n---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data, namespace: web}\nspec: {resources: {requests: {storage: 1Gi}}}\n",
    );
    dir.write(
        "new.yaml",
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: app, namespace: web}}\ndata:\n  note: {}\n  \"<b>key</b>\": \"a `tick` and </summary>\"\n",
            serde_json::to_string(hostile).unwrap()
        ),
    );
    let run = infra(&[
        "diff",
        &dir.join("old.yaml").to_string_lossy(),
        &dir.join("new.yaml").to_string_lossy(),
        "--format",
        "markdown",
    ]);
    assert_eq!(run.code, 2, "{}", run.transcript());
    let md = &run.stdout;
    let (mut headings, mut details_open, mut details_close, mut in_code, mut code_text) =
        (0, 0, 0, false, String::new());
    let mut first_details_at = None;
    for (event, range) in Parser::new(md).into_offset_iter() {
        match event {
            Event::Start(Tag::Heading { .. }) => headings += 1,
            Event::Start(Tag::CodeBlock(_)) => in_code = true,
            Event::End(pulldown_cmark::TagEnd::CodeBlock) => in_code = false,
            Event::Text(t) if in_code => code_text.push_str(&t),
            Event::Html(h) | Event::InlineHtml(h) => {
                details_open += h.matches("<details>").count();
                details_close += h.matches("</details>").count();
                assert!(!h.contains("<script>") && !h.contains("<b>"), "markup from a value: {h}");
                if h.contains("<details>") {
                    first_details_at.get_or_insert(range.start);
                }
            }
            _ => {}
        }
    }
    assert_eq!(headings, 1, "only the plan's own heading:\n{md}");
    assert_eq!((details_open, details_close), (2, 2), "one section per object:\n{md}");
    assert!(code_text.contains("# injected heading"), "the value stays inside its code block:\n{md}");
    let loss = md.find("DATA LOSS").expect("the hazard is named");
    assert!(loss < first_details_at.unwrap(), "hazards come first:\n{md}");
    assert!(code_text.contains("data[\"<b>key</b>\"]"), "keys are text in the code block:\n{md}");
}

/// The JSON contract has a version and a schema (`schema/plan.schema.json`);
/// real plans of every shape validate against it with a real JSON Schema
/// validator (Python's `jsonschema`, installed with kubernetes-validate).
#[test]
fn json_plans_validate_against_the_published_schema() {
    let python = common::k8s_tools().join("../venv/bin/python");
    let fixtures = root().join("tests/fixtures/helm");
    let helm = |name: &str| fixtures.join(name).to_string_lossy().into_owned();
    let plans = [
        infra(&[
            "diff",
            &helm("grafana-B-no-persistence.yaml"),
            &helm("grafana-C-smtp-no-persistence.yaml"),
            "--format",
            "json",
        ]),
        infra(&[
            "diff",
            &helm("grafana-C-smtp-no-persistence.yaml"),
            &helm("grafana-D-persistence.yaml"),
            "--format",
            "json",
        ]),
        infra(&["plan", &root().join("examples/apollo").to_string_lossy(), "--format", "json"]),
    ];
    let dir = TempDir::new("plan-schema");
    let mut files = Vec::new();
    for (i, run) in plans.iter().enumerate() {
        assert!(run.code == 0 || run.code == 2, "{}", run.transcript());
        let plan: Json = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(plan["format_version"], 1);
        let file = dir.join(&format!("plan-{i}.json"));
        std::fs::write(&file, &run.stdout).unwrap();
        files.push(file.to_string_lossy().into_owned());
    }
    // And one that must not validate: the check can fail.
    let broken = dir.join("broken.json");
    std::fs::write(
        &broken,
        r#"{"format_version": 1, "summary": {}, "changes": [{"action": "explode"}], "hazards": [], "unmanaged": []}"#,
    )
    .unwrap();
    let script = r#"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
validator = jsonschema.Draft202012Validator(schema)
for path in sys.argv[2:]:
    errors = list(validator.iter_errors(json.load(open(path))))
    print(path, "invalid" if errors else "valid", *[e.message for e in errors][:3])
"#;
    let out = Command::new(python)
        .arg("-c")
        .arg(script)
        .arg(root().join("schema/plan.schema.json"))
        .args(&files)
        .arg(&broken)
        .output()
        .unwrap();
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    for f in &files {
        assert!(report.contains(&format!("{f} valid")), "{report}");
    }
    assert!(report.contains(&format!("{} invalid", broken.display())), "{report}");
}
