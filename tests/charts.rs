//! Upstream Helm charts as modules, on the real Helm (installed by
//! scripts/install-k8s-tools) and the real Grafana and kube-prometheus-stack
//! charts: rendering, objects that behave like any other, value checks,
//! determinism, the render cache, hooks, CRDs, errors, and vendoring.

use crate::common;

use common::{KillOnDrop, TempDir, infra_env, infra_helm, k8s_tools, root};
use std::path::Path;

const GRAFANA: &str = "tests/fixtures/charts/grafana-12.11.1.tgz";
const KPS: &str = "examples/apollo-charts/charts/kube-prometheus-stack-88.5.3.tgz";

/// A project with the Grafana chart; `values` is YAML indented for the
/// chart entry's `values:`.
fn grafana_project(values: &str, extra: &str) -> TempDir {
    let dir = TempDir::new("chart");
    std::fs::create_dir_all(dir.join("charts")).unwrap();
    std::fs::copy(root().join(GRAFANA), dir.join("charts/grafana-12.11.1.tgz")).unwrap();
    dir.write(
        "infra.yaml",
        format!(
            "name: t\nparams: {{smtp: false}}\ncharts:\n  grafana:\n    chart: charts/grafana-12.11.1.tgz\n    namespace: monitoring\n    values:\n      adminPassword: only-for-tests\n{values}{extra}"
        ),
    );
    dir
}

#[test]
fn chart_objects_are_ordinary_objects() {
    let cache = TempDir::new("cache");
    let dir = grafana_project(
        "      grafana.ini:\n        smtp:\n          enabled: ${{ params.smtp }}\n",
        "common:\n  labels: {team: obs}\nenvironments:\n  lab:\n    patches:\n      - target: {kind: Deployment, name: grafana}\n        merge: {spec: {replicas: 2}}\n  lab-smtp:\n    params: {smtp: true}\n    patches:\n      - target: {kind: Deployment, name: grafana}\n        merge: {spec: {replicas: 2}}\n",
    );
    let run = infra_helm(&["build", dir.str(), "--env", "lab", "-o", "-"], &cache);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let objects = run.stdout.matches("\nkind: ").count() + usize::from(run.stdout.starts_with("kind:"));
    assert!(objects >= 7, "{}", run.stdout);
    assert_eq!(run.stdout.matches("team: obs").count(), run.stdout.matches("infra.dev/hash").count());
    assert!(run.stdout.contains("  replicas: 2\n"), "the patch applies to the chart's Deployment");
    assert!(run.stdout.contains("infra.dev/config-hash"), "the chart's pods carry the config hash");
    assert!(run.stdout.contains("namespace: monitoring"));
    // The storage warning sees the chart's Grafana on an emptyDir.
    assert!(run.stderr.contains("warning[S100]: Deployment/monitoring/grafana"), "{}", run.stderr);
    // A value changed through params: plan names the chart template.
    let built = infra_helm(&["build", dir.str(), "--env", "lab"], &cache);
    assert_eq!(built.code, 0, "{}", built.transcript());
    let lab = dir.join("compiled/lab");
    let plan = infra_helm(
        &["plan", dir.str(), "--env", "lab-smtp", "--against", lab.to_str().unwrap(), "--color", "never"],
        &cache,
    );
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    assert!(
        plan.stdout
            .contains("~ ConfigMap monitoring/grafana\n    from chart grafana: grafana/templates/configmap.yaml"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("pods restart; Grafana's data (/var/lib/grafana) is on an emptyDir volume `storage`"),
        "{}",
        plan.stdout
    );
    // The lock records the Helm that rendered the charts.
    let lock = std::fs::read_to_string(lab.join("infra.lock")).unwrap();
    assert!(lock.contains("\nhelm: v4."), "{lock}");
}

#[test]
fn values_are_checked_against_the_chart() {
    let cache = TempDir::new("cache");
    let dir = grafana_project(
        "      persistance:\n        enabled: true\n      grafana.ini:\n        smtp: {host: x}\n      replicas: \"2\"\n",
        "",
    );
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[H105]: chart `grafana` has no value `persistance`"), "{}", run.stderr);
    assert!(run.stderr.contains("--> infra.yaml:9:7"), "{}", run.stderr);
    assert!(run.stderr.contains("help: did you mean `persistence`?"), "{}", run.stderr);
    assert!(!run.stderr.contains("`grafana.ini.smtp`"), "new keys that are no typo pass: {}", run.stderr);
    assert!(
        run.stderr
            .contains("warning[H106]: chart `grafana`: `replicas` is a string, but the chart's default is a integer")
            || run.stderr.contains("warning[H106]: chart `grafana`: `replicas` is a string"),
        "{}",
        run.stderr
    );
    // Values files are checked the same way, and must be mappings.
    let dir = grafana_project("", "    values_files: [values/a.yaml]\n");
    dir.write("values/a.yaml", "servise:\n  type: NodePort\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("has no value `servise`") && run.stderr.contains("--> values/a.yaml:1:1"),
        "{}",
        run.stderr
    );
    dir.write("values/a.yaml", "- not a map\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("error[H107]: a values file is a mapping") && run.stderr.contains("--> values/a.yaml:1:1"),
        "{}",
        run.stderr
    );
}

#[test]
fn values_no_template_reads_are_warnings_that_say_what_is_read() {
    let cache = TempDir::new("cache");
    // The story's mistake: SMTP belongs under `grafana.ini`; `smtp:` holds
    // only the Secret of its credentials.
    let dir = grafana_project(
        "      smtp: {enabled: true, existingSecret: smtp}\n      grafana.ini:\n        smtp: {enabled: true, host: \"smtp:587\"}\n      persistence: {enabled: true, sizeLimit: 5Gi}\n      podLabels: {team: obs}\n",
        "",
    );
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("warning[H112]: chart `grafana`: no template reads `smtp.enabled`"), "{}", run.stderr);
    assert!(run.stderr.contains("--> infra.yaml:9:14"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("help: the chart's templates read, under `smtp`: `existingSecret`, `passwordKey`, `userKey`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("no template reads `persistence.sizeLimit`"), "{}", run.stderr);
    // What templates read — a value file passed whole (`grafana.ini`), a
    // map given to `toYaml` (`podLabels`), a key they read — is no warning.
    assert_eq!(run.stderr.matches("warning[H112]").count(), 2, "{}", run.stderr);
}

#[test]
fn environments_and_the_command_line_set_chart_values_checked_like_literal_ones() {
    let cache = TempDir::new("cache");
    let dir = grafana_project(
        "",
        "environments:\n  lab:\n    charts:\n      grafana:\n        values: {persistence: {enabled: true, size: 5Gi}}\n  typo:\n    charts:\n      grafana:\n        values: {persistance: {enabled: true}}\n  other:\n    charts:\n      grafna:\n        values: {replicas: 2}\n",
    );
    let build = |args: &[&str]| {
        let mut argv = vec!["build", dir.str(), "-o", "-"];
        argv.extend(args);
        infra_helm(&argv, &cache)
    };
    // The environment's values are merged over the entry's.
    let run = build(&["--env", "lab"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stdout.contains("kind: PersistentVolumeClaim") && run.stdout.contains("storage: 5Gi"),
        "{}",
        run.stdout
    );
    // The typo check reaches them, at their line.
    let run = build(&["--env", "typo"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[H105]: chart `grafana` has no value `persistance`"), "{}", run.stderr);
    assert!(run.stderr.contains("help: did you mean `persistence`?"), "{}", run.stderr);
    // Values for a chart the project does not have.
    let run = build(&["--env", "other"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[H111]: the project has no chart `grafna`"), "{}", run.stderr);
    assert!(run.stderr.contains("did you mean `grafana`?"), "{}", run.stderr);
    // `--set charts.<name>.…`, the Helm habit, last and checked the same way.
    let run = build(&["--env", "lab", "--set", "charts.grafana.persistence.size=7Gi"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("storage: 7Gi"), "{}", run.stdout);
    let run = build(&["--env", "lab", "--set", "charts.grafana.persistance.enabled=false"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("has no value `persistance`") && run.stderr.contains("--> --set:1:"), "{}", run.stderr);
    // A component's chart takes the environment's values too.
    dir.write(
        "components/monitoring/infra.yaml",
        "charts:\n  dashboards-ui:\n    chart: ../../charts/grafana-12.11.1.tgz\n    namespace: ui\n    values: {adminPassword: only-for-tests}\n",
    );
    let text = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
    dir.write(
        "infra.yaml",
        text + "  with-ui:\n    components: [components/monitoring]\n    charts:\n      dashboards-ui:\n        values: {replicas: 3}\n",
    );
    let run = build(&["--env", "with-ui"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("namespace: ui") && run.stdout.contains("replicas: 3"), "{}", run.stdout);
    // `when` leaves a chart out.
    let dir = grafana_project("", "    when: ${{ params.smtp }}\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.transcript());
}

#[test]
fn a_chart_that_renders_differently_each_time_is_refused() {
    let cache = TempDir::new("cache");
    let dir = TempDir::new("random");
    std::fs::create_dir_all(dir.join("charts")).unwrap();
    std::fs::copy(root().join(GRAFANA), dir.join("charts/g.tgz")).unwrap();
    dir.write("infra.yaml", "name: t\ncharts:\n  grafana:\n    chart: charts/g.tgz\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[H104]: chart `grafana` renders differently on every run"), "{}", run.stderr);
    assert!(
        run.stderr.contains("Secret/default/grafana data.admin-password (template grafana/templates/secret.yaml)"),
        "{}",
        run.stderr
    );
    // The chart's own way to keep the password out of git comes first.
    assert!(
        run.stderr.contains("help: point `admin.existingSecret` at a Secret made outside git")
            && run.stderr.contains("setting `adminPassword` instead puts the value in git"),
        "{}",
        run.stderr
    );
}

/// A Helm that logs each call to `log`, then runs the real one (or, with
/// `hang` set, sleeps through `helm template`).
fn logging_helm(dir: &TempDir, hang: bool) -> String {
    let real = k8s_tools().join("helm");
    let log = dir.join("helm.log");
    let template = if hang { "if [ \"$1\" = template ]; then sleep 30; fi\n" } else { "" };
    let script = format!("#!/bin/sh\necho \"$1\" >> {}\n{template}exec {} \"$@\"\n", log.display(), real.display());
    let path = dir.join("helm");
    std::fs::write(&path, script).unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path.to_string_lossy().into_owned()
}

fn calls(dir: &TempDir) -> Vec<String> {
    std::fs::read_to_string(dir.join("helm.log")).unwrap_or_default().lines().map(String::from).collect()
}

#[test]
fn renders_are_cached_and_the_cache_changes_no_byte() {
    let tools = TempDir::new("tools");
    let helm = logging_helm(&tools, false);
    let dir = grafana_project("", "");
    let cache = TempDir::new("cache");
    let env = [("INFRA_HELM", helm.as_str()), ("INFRA_CACHE_DIR", cache.str())];
    let cold = infra_env(&["build", dir.str(), "-o", "-"], &env);
    assert_eq!(cold.code, 0, "{}", cold.transcript());
    assert_eq!(calls(&tools), ["version", "template", "template"], "a cold build renders twice, to compare");
    let warm = infra_env(&["build", dir.str(), "-o", "-"], &env);
    assert_eq!(calls(&tools).len(), 3, "a warm build runs no Helm at all");
    assert_eq!(cold.stdout, warm.stdout);
    // Another value is another render.
    dir.write("infra.yaml", std::fs::read_to_string(dir.join("infra.yaml")).unwrap() + "      replicas: 3\n");
    let changed = infra_env(&["build", dir.str(), "-o", "-"], &env);
    assert_eq!(changed.code, 0, "{}", changed.transcript());
    assert_eq!(calls(&tools).len(), 5);
    assert!(changed.stdout.contains("replicas: 3"));
}

#[test]
fn bad_charts_and_bad_helms_are_located_errors() {
    let cache = TempDir::new("cache");
    // No Helm.
    let dir = grafana_project("", "");
    let run = infra_env(
        &["build", dir.str(), "-o", "-"],
        &[("INFRA_HELM", "/nonexistent/helm"), ("INFRA_CACHE_DIR", cache.str())],
    );
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[H101]: this project has charts, and Helm cannot be used")
            && run.stderr.contains("--> infra.yaml:4:3"),
        "{}",
        run.stderr
    );
    // A chart outside the project; a corrupt archive; a folder that is no chart.
    for (chart, expect) in [
        ("../../etc/hostname", "outside the project root"),
        ("charts/corrupt.tgz", "incomplete deflate stream"),
        ("charts", "not a Helm chart"),
    ] {
        let dir = TempDir::new("bad-chart");
        dir.write("charts/corrupt.tgz", &std::fs::read(root().join(GRAFANA)).unwrap()[..1000]);
        dir.write("infra.yaml", format!("name: t\ncharts:\n  x:\n    chart: {chart}\n"));
        let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(
            run.stderr.contains("error[H100]")
                && run.stderr.contains(expect)
                && run.stderr.contains("--> infra.yaml:4:12"),
            "{chart}: {}",
            run.stderr
        );
    }
    // A value that makes the chart's template fail: Helm's message, the chart's file and line.
    let dir = TempDir::new("required");
    dir.write("charts/bad/Chart.yaml", "apiVersion: v2\nname: bad\nversion: 0.1.0\n");
    dir.write("charts/bad/values.yaml", "x: {}\n");
    dir.write("charts/bad/templates/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  y: {{ required \"x.y is required\" .Values.x.y }}\n");
    dir.write("infra.yaml", "name: t\ncharts:\n  bad:\n    chart: charts/bad\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[H102]: helm template failed for chart `bad`"), "{}", run.stderr);
    assert!(
        run.stderr.contains("x.y is required") && run.stderr.contains("in the chart: bad/templates/cm.yaml:5"),
        "{}",
        run.stderr
    );
    // A render that is not Kubernetes objects.
    dir.write("charts/bad/templates/cm.yaml", "note: not an object\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("error[H108]: chart `bad` renders something that is not a Kubernetes object"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--> chart bad: bad/templates/cm.yaml"), "{}", run.stderr);
    // A Helm that hangs is stopped.
    let tools = TempDir::new("tools");
    let hanging = logging_helm(&tools, true);
    let dir = grafana_project("", "");
    let start = std::time::Instant::now();
    let run = infra_env(
        &["build", dir.str(), "-o", "-"],
        &[("INFRA_HELM", hanging.as_str()), ("INFRA_CACHE_DIR", cache.str()), ("INFRA_HELM_TIMEOUT", "2")],
    );
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("error[H103]: helm template of chart `grafana` took longer than 2 s and was stopped"),
        "{}",
        run.stderr
    );
    assert!(start.elapsed() < std::time::Duration::from_secs(20));
}

/// A project with kube-prometheus-stack and `extra` lines in its entry.
fn kps_project(extra: &str) -> TempDir {
    let dir = TempDir::new("kps");
    std::fs::create_dir_all(dir.join("charts")).unwrap();
    std::fs::copy(root().join(KPS), dir.join("charts/kps.tgz")).unwrap();
    dir.write(
        "infra.yaml",
        format!("name: t\ncharts:\n  kps:\n    chart: charts/kps.tgz\n    namespace: monitoring\n{extra}    values:\n      grafana:\n        admin: {{existingSecret: grafana-admin}}\n"),
    );
    dir
}

fn kinds_in_order(stream: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut kind = String::new();
    for line in stream.lines() {
        if let Some(k) = line.strip_prefix("kind: ") {
            kind = k.to_string();
        }
        if let Some(n) = line.strip_prefix("  name: ")
            && !kind.is_empty()
        {
            out.push(format!("{kind}/{n}"));
            kind.clear();
        }
    }
    out
}

#[test]
fn crds_come_first_and_hooks_are_ordered_or_dropped() {
    let cache = TempDir::new("cache");
    let dir = kps_project("    exclude: [Secret/kps-kube-prometheus-stack-admission, ConfigMap/no-such-thing]\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let order = kinds_in_order(&run.stdout);
    let pos = |prefix: &str| {
        order.iter().position(|o| o.starts_with(prefix)).unwrap_or_else(|| panic!("{prefix} in {order:?}"))
    };
    // CRDs are in (include_crds defaults to true), before their resources.
    assert!(pos("CustomResourceDefinition/servicemonitors.monitoring.coreos.com") < pos("ServiceMonitor/"));
    assert!(pos("CustomResourceDefinition/prometheuses.monitoring.coreos.com") < pos("Prometheus/"));
    // The pre-install hook Job comes before the operator it serves; the
    // post-install one after it.
    assert!(
        pos("Job/kps-kube-prometheus-stack-admission-create") < pos("Deployment/kps-kube-prometheus-stack-operator")
    );
    assert!(
        pos("Job/kps-kube-prometheus-stack-admission-patch") > pos("Deployment/kps-kube-prometheus-stack-operator")
    );
    assert!(
        run.stderr.contains("warning[H109]: chart `kps` has 7 Helm hooks, kept as ordinary objects"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("warning[H107]: `exclude: ConfigMap/no-such-thing` matches no object"),
        "{}",
        run.stderr
    );
    assert!(!order.iter().any(|o| o == "Secret/kps-kube-prometheus-stack-admission"));
    // Dropped hooks are gone.
    let dir = kps_project("    hooks: drop\n    include_crds: false\n");
    let run = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(!run.stdout.contains("helm.sh/hook") && !run.stderr.contains("H109"), "{}", run.stderr);
    assert!(!run.stdout.contains("kind: CustomResourceDefinition"));
}

/// The Grafana chart as a new version: same chart, `version` raised and
/// its Deployment changed (a new environment variable).
fn next_grafana(dir: &Path) -> std::path::PathBuf {
    let work = dir.join("work");
    std::fs::create_dir_all(&work).unwrap();
    let tar = std::process::Command::new("tar")
        .args(["xzf"])
        .arg(root().join(GRAFANA))
        .arg("-C")
        .arg(&work)
        .status()
        .unwrap();
    assert!(tar.success());
    let chart = work.join("grafana/Chart.yaml");
    std::fs::write(&chart, std::fs::read_to_string(&chart).unwrap().replace("version: 12.11.1", "version: 12.12.0"))
        .unwrap();
    let deployment = work.join("grafana/templates/_pod.tpl");
    let text = std::fs::read_to_string(&deployment).unwrap();
    let marked = text.replacen(
        "      - name: GF_PATHS_DATA",
        "      - name: GF_FEATURE_NEXT\n        value: \"on\"\n      - name: GF_PATHS_DATA",
        1,
    );
    assert!(marked != text, "the template to change is there");
    std::fs::write(&deployment, marked).unwrap();
    let out = std::process::Command::new(k8s_tools().join("helm"))
        .arg("package")
        .arg(work.join("grafana"))
        .arg("--destination")
        .arg(dir.join("charts"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.join("charts/grafana-12.12.0.tgz")
}

#[test]
fn a_chart_upgrade_is_previewed_with_its_hazards() {
    let cache = TempDir::new("cache");
    let dir = grafana_project("", "environments:\n  lab: {}\n  next:\n    params: {smtp: true}\n");
    next_grafana(dir.path());
    assert_eq!(infra_helm(&["build", dir.str(), "--env", "lab"], &cache).code, 0);
    // The upgrade: point `chart:` at the new version.
    let text = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
    dir.write("infra.yaml", text.replace("charts/grafana-12.11.1.tgz", "charts/grafana-12.12.0.tgz"));
    let lab = dir.join("compiled/lab");
    let plan = infra_helm(
        &[
            "plan",
            dir.str(),
            "--env",
            "lab",
            "--against",
            lab.to_str().unwrap(),
            "--color",
            "never",
            "--deny",
            "data-loss",
        ],
        &cache,
    );
    assert_eq!(plan.code, 3, "{}", plan.transcript());
    assert!(plan.stdout.contains("helm.sh/chart\"]: \"grafana-12.11.1\" → \"grafana-12.12.0\""), "{}", plan.stdout);
    assert!(plan.stdout.contains("env[name=GF_FEATURE_NEXT]"), "{}", plan.stdout);
    assert!(
        plan.stdout.contains(
            "✗ Deployment monitoring/grafana: pods restart; Grafana's data (/var/lib/grafana) is on an emptyDir volume"
        ),
        "{}",
        plan.stdout
    );
}

/// Serves `dir` as a Helm chart repository: its charts, indexed by the
/// real Helm, at the returned URL.
fn serve_repository(dir: &Path) -> String {
    let url = serve_folder(dir.to_path_buf());
    let index = std::process::Command::new(k8s_tools().join("helm"))
        .args(["repo", "index"])
        .arg(dir)
        .args(["--url", &url])
        .output()
        .unwrap();
    assert!(index.status.success(), "{}", String::from_utf8_lossy(&index.stderr));
    url
}

/// Serves the files of `dir` on 127.0.0.1 until the test ends.
fn serve_folder(dir: std::path::PathBuf) -> String {
    common::serve_http(move |path| {
        let path = path.trim_start_matches('/').split('?').next().unwrap_or_default().to_string();
        if path.contains("..") { None } else { std::fs::read(dir.join(path)).ok() }
    })
}

#[test]
fn charts_are_vendored_from_a_repository() {
    let repo = TempDir::new("repo");
    std::fs::copy(root().join(GRAFANA), repo.join("grafana-12.11.1.tgz")).unwrap();
    let url = serve_repository(repo.path());
    let project = TempDir::new("vendor");
    let cache = TempDir::new("cache");
    let into = project.join("charts");
    let run = infra_helm(
        &["chart", "pull", &url, "grafana", "--version", "12.11.1", "--into", into.to_str().unwrap()],
        &cache,
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(std::fs::read(into.join("grafana-12.11.1.tgz")).unwrap(), std::fs::read(root().join(GRAFANA)).unwrap());
    assert!(run.stderr.contains("charts:\n  grafana:\n    chart: "), "{}", run.stderr);
    // A version the repository lacks, and a repository nobody serves.
    let run = infra_helm(
        &["chart", "pull", &url, "grafana", "--version", "99.0.0", "--into", into.to_str().unwrap()],
        &cache,
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[C020]: helm pull of"), "{}", run.stderr);
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let run = infra_helm(
        &[
            "chart",
            "pull",
            &format!("http://{closed}"),
            "grafana",
            "--version",
            "1.0.0",
            "--into",
            into.to_str().unwrap(),
        ],
        &cache,
    );
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[C020]"), "{}", run.stderr);
    let run = infra_helm(&["chart", "pull", &url, "--version", "1.0.0"], &cache);
    assert!(run.code == 1 && run.stderr.contains("error[C001]"), "{}", run.stderr);
}

/// `chart pull` records where each chart comes from in `charts.yaml`
/// (credentials left out); a version bumped there — as a dependency bot
/// would — is pulled by `chart sync`.
#[test]
fn pulled_charts_are_recorded_and_a_bumped_version_is_synced() {
    let repo = TempDir::new("repo");
    std::fs::copy(root().join(GRAFANA), repo.join("grafana-12.11.1.tgz")).unwrap();
    let next = next_grafana(repo.path());
    std::fs::rename(&next, repo.join("grafana-12.12.0.tgz")).unwrap();
    let url = serve_repository(repo.path());
    let project = TempDir::new("vendor");
    let cache = TempDir::new("cache");
    let into = project.join("charts");
    let with_token = url.replacen("http://", "http://bot:s3cr3t-token@", 1);
    let run = infra_helm(
        &["chart", "pull", &with_token, "grafana", "--version", "12.11.1", "--into", into.to_str().unwrap()],
        &cache,
    );
    assert_eq!(run.code, 0, "{}", run.transcript());
    let origins = std::fs::read_to_string(into.join("charts.yaml")).unwrap();
    assert!(
        origins.contains(&format!(
            "  - name: grafana\n    version: '12.11.1'\n    repository: {url}\n    file: grafana-12.11.1.tgz\n"
        )),
        "{origins}"
    );
    assert!(!origins.contains("s3cr3t"), "{origins}");
    // Nothing to do while the file is there.
    let run = infra_helm(&["chart", "sync", "--into", into.to_str().unwrap()], &cache);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("grafana 12.11.1: grafana-12.11.1.tgz is there"), "{}", run.stderr);
    // A bot bumps the version; sync pulls it and records the new file.
    std::fs::write(into.join("charts.yaml"), origins.replace("version: '12.11.1'", "version: 12.12.0")).unwrap();
    let run = infra_helm(&["chart", "sync", "--into", into.to_str().unwrap()], &cache);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(into.join("grafana-12.12.0.tgz").is_file());
    let origins = std::fs::read_to_string(into.join("charts.yaml")).unwrap();
    assert!(origins.contains("version: '12.12.0'\n") && origins.contains("file: grafana-12.12.0.tgz\n"), "{origins}");
    assert_eq!(origins.matches("- name:").count(), 1, "{origins}");
    // charts.yaml comes from the repository: a link is never read through.
    let outside = TempDir::new("outside");
    outside.write("key", "charts: [{name: planted-secret}]\n");
    std::fs::remove_file(into.join("charts.yaml")).unwrap();
    std::os::unix::fs::symlink(outside.join("key"), into.join("charts.yaml")).unwrap();
    let run = infra_helm(&["chart", "sync", "--into", into.to_str().unwrap()], &cache);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(!run.transcript().contains("planted-secret"), "{}", run.transcript());
}

#[test]
fn charts_are_vendored_from_an_oci_registry() {
    // Debian's docker-registry (fetched by .ci/run) on loopback.
    let Some(registry) = std::env::var_os("PATH")
        .and_then(|p| std::env::split_paths(&p).map(|d| d.join("docker-registry")).find(|p| p.is_file()))
    else {
        eprintln!("docker-registry is not installed; the OCI pull is not tested here");
        return;
    };
    let dir = TempDir::new("oci");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    dir.write("config.yml", format!("version: 0.1\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\nlog:\n  level: error\n", dir.join("data").display()));
    let _server = KillOnDrop(
        std::process::Command::new(registry)
            .arg("serve")
            .arg(dir.join("config.yml"))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap(),
    );
    let helm = k8s_tools().join("helm");
    let mut pushed = false;
    for _ in 0..50 {
        let push = std::process::Command::new(&helm)
            .arg("push")
            .arg(root().join(GRAFANA))
            .arg(format!("oci://127.0.0.1:{port}/charts"))
            .arg("--plain-http")
            .output()
            .unwrap();
        if push.status.success() {
            pushed = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    let into = dir.join("project/charts");
    let cache = TempDir::new("cache");
    let run = infra_helm(
        &[
            "chart",
            "pull",
            &format!("oci://127.0.0.1:{port}/charts/grafana"),
            "--version",
            "12.11.1",
            "--plain-http",
            "--into",
            into.to_str().unwrap(),
        ],
        &cache,
    );
    assert!(pushed, "the registry did not take the chart");
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(std::fs::read(into.join("grafana-12.11.1.tgz")).unwrap(), std::fs::read(root().join(GRAFANA)).unwrap());
}

#[test]
fn keeping_a_chart_changes_nothing_but_infras_annotations() {
    // The migration "keep the chart": `helm upgrade -f values.yaml` becomes
    // a `charts:` entry with the same values file; infra diff against
    // `helm template` shows only what infra adds.
    let cache = TempDir::new("cache");
    let dir = grafana_project("", "    values_files: [values.yaml]\n");
    dir.write("values.yaml", "persistence:\n  enabled: true\n  size: 5Gi\ngrafana.ini:\n  smtp:\n    enabled: true\n    host: smtp.lab:587\n");
    let helm = k8s_tools().join("helm");
    let out = std::process::Command::new(&helm)
        .args(["template", "grafana"])
        .arg(dir.join("charts/grafana-12.11.1.tgz"))
        .args(["--namespace", "monitoring", "--kube-version", "1.35.0", "-f"])
        .arg(dir.join("values.yaml"))
        .args(["--set", "adminPassword=only-for-tests"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    dir.write("helm.yaml", &out.stdout);
    let built = infra_helm(&["build", dir.str(), "-o", "-"], &cache);
    assert_eq!(built.code, 0, "{}", built.transcript());
    dir.write("infra.yaml.out", &built.stdout);
    let diff = infra_env(
        &[
            "diff",
            dir.join("helm.yaml").to_str().unwrap(),
            dir.join("infra.yaml.out").to_str().unwrap(),
            "--format",
            "json",
        ],
        &[],
    );
    let plan: serde_json::Value = serde_json::from_str(&diff.stdout).unwrap();
    for change in plan["changes"].as_array().unwrap() {
        for f in change["fields"].as_array().unwrap() {
            assert!(f["path"].as_str().unwrap().contains("infra.dev/"), "only infra's annotations differ: {change}");
        }
    }
    // And the first apply rolls the pods that read configuration: with a
    // PVC here, that is no data loss.
    assert_eq!(plan["summary"]["create"], 0);
    assert!(plan["hazards"].as_array().unwrap().is_empty(), "{}", plan["hazards"]);
}
