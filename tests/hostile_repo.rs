//! A repository from a stranger's pull request, run as CI runs it: with a
//! deploy token in the environment and files outside the project that must
//! stay private. Every command on it must end (within a timeout), touch no
//! file outside where it belongs, and print no planted secret — whatever
//! its charts, links, lock, cache and values say. See
//! `docs/threat-model.md`.

use crate::common;

use common::{Run, TempDir, k8s_tools, root, snapshot};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

/// What CI has in its environment.
const ENV_SECRET: &str = "PLANTED-ENV-SECRET-91c2";
/// What lies outside the project (a kubeconfig, a key).
const FILE_SECRET: &str = "PLANTED-FILE-SECRET-7f3a";
/// What CI passes in values (`--set`), headed for a Secret.
const VALUE_SECRET: &str = "PLANTED-VALUE-SECRET-c0de";

/// A temporary root holding the project (`repo/`), private files outside it
/// (`outside/`, `home/`), the render cache and where Helm could be tricked
/// into writing (`written/`).
struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    fn new(name: &str) -> Sandbox {
        let dir = TempDir::new(name);
        dir.write(
            "outside/secret.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: stolen}}\ndata: {{token: {FILE_SECRET}}}\n"),
        );
        dir.write("home/src/notes.yaml", format!("token: {FILE_SECRET}\n"));
        std::fs::create_dir_all(dir.join("cache")).unwrap();
        Sandbox { dir }
    }

    fn repo(&self) -> PathBuf {
        self.dir.join("repo")
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.join(rel)
    }

    fn write(&self, rel: &str, text: impl AsRef<[u8]>) {
        self.dir.write(&format!("repo/{rel}"), text);
    }

    fn link(&self, rel: &str, target: impl AsRef<Path>) {
        let at = self.repo().join(rel);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::os::unix::fs::symlink(target, at).unwrap();
    }

    /// What must never change: everything outside the project.
    fn outside(&self) -> Vec<(String, String)> {
        [("outside", snapshot(&self.path("outside"))), ("home", snapshot(&self.path("home")))]
            .into_iter()
            .flat_map(|(p, s)| s.into_iter().map(move |(k, v)| (format!("{p}/{k}"), v)))
            .collect()
    }

    /// Runs infra in `repo/` as CI would, within 60 s, and checks that no
    /// planted secret reached stdout, stderr or any file written, and that
    /// nothing outside the project changed.
    fn run(&self, args: &[&str], env: &[(&str, &str)]) -> Run {
        let before = self.outside();
        let start = Instant::now();
        let out = Command::new("timeout")
            .arg("60")
            .arg(env!("CARGO_BIN_EXE_infra"))
            .args(args)
            .current_dir(self.repo())
            .env("CI_DEPLOY_TOKEN", ENV_SECRET)
            .env("INFRA_HELM", k8s_tools().join("helm"))
            .env("INFRA_CACHE_DIR", self.path("cache"))
            .envs(env.iter().copied())
            .output()
            .expect("run infra");
        let run = Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        assert!(start.elapsed() < Duration::from_secs(59), "{args:?} did not end:\n{}", run.transcript());
        assert_ne!(run.code, 101, "{args:?} panicked:\n{}", run.transcript());
        for secret in [ENV_SECRET, FILE_SECRET, VALUE_SECRET] {
            assert!(
                !run.stdout.contains(secret) && !run.stderr.contains(secret),
                "{args:?} printed {secret}:\n{}",
                run.transcript()
            );
        }
        for folder in ["compiled", "imported"] {
            let at = self.repo().join(folder);
            if std::fs::symlink_metadata(&at).is_ok_and(|m| m.file_type().is_symlink()) {
                continue; // not the project's: checked as `home/`
            }
            for (file, content) in snapshot(&at) {
                assert!(
                    !content.contains(ENV_SECRET) && !content.contains(FILE_SECRET),
                    "{args:?} wrote a secret into {folder}/{file}"
                );
            }
        }
        assert_eq!(self.outside(), before, "{args:?} changed files outside the project");
        assert!(!self.path("written").exists(), "{args:?} made Helm write outside the project");
        run
    }
}

/// A chart folder whose template reads a file of the chart and a value.
fn chart(sandbox: &Sandbox, at: &str) {
    sandbox.write(&format!("{at}/Chart.yaml"), "apiVersion: v2\nname: tiny\nversion: 1.0.0\n");
    sandbox.write(&format!("{at}/values.yaml"), "token: \"\"\n");
    sandbox.write(
        &format!("{at}/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ .Release.Name }}-files\ndata:\n{{- range $path, $_ := .Files.Glob \"files/*\" }}\n  {{ base $path }}: {{ $.Files.Get $path | quote }}\n{{- end }}\n",
    );
    sandbox.write(&format!("{at}/files/plain.txt"), "plain\n");
}

#[test]
fn chart_settings_never_reach_helm_as_options() {
    let s = Sandbox::new("argv");
    chart(&s, "charts/tiny");
    let written = s.path("written");
    let cases = [
        ("release", "\"--set-file=x=/proc/self/environ\"".to_string()),
        ("release", format!("\"--output-dir={}\"", written.display())),
        ("release", "Not_A_Name".into()),
        ("namespace", "\"--kube-context=prod\"".into()),
        ("kube_version", "\"--output-dir=/tmp\"".into()),
        ("api_versions", "[\"--set-file=x=/proc/self/environ\"]".into()),
        ("api_versions", "[\"a,b/v1\"]".into()),
    ];
    for (key, value) in cases {
        s.write("infra.yaml", format!("name: t\ncharts:\n  tiny:\n    chart: charts/tiny\n    {key}: {value}\n"));
        let run = s.run(&["build", "-o", "-"], &[]);
        assert_eq!(run.code, 1, "{key}: {value}\n{}", run.transcript());
        assert!(run.stderr.contains("error[H110]") && run.stderr.contains("--> infra.yaml:5:"), "{}", run.stderr);
        assert!(run.stderr.contains("help: "), "{}", run.stderr);
    }
    // What Helm accepts works, dots in a release name included.
    s.write("infra.yaml", "name: t\ncharts:\n  tiny:\n    chart: charts/tiny\n    release: rel.v2\n    namespace: apps\n    kube_version: v1.31.2\n    api_versions: [monitoring.coreos.com/v1/ServiceMonitor]\n");
    let run = s.run(&["build", "-o", "-"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("name: rel.v2-files") && run.stdout.contains("plain.txt: |"), "{}", run.stdout);
}

#[test]
fn links_in_a_chart_never_lead_outside_and_their_targets_are_in_the_cache_key() {
    let s = Sandbox::new("chartlinks");
    chart(&s, "charts/tiny");
    s.write("infra.yaml", "name: t\ncharts:\n  tiny: {chart: charts/tiny, namespace: apps}\n");
    // A link to a file outside the project: Helm would read it.
    s.link("charts/tiny/files/stolen.txt", s.path("outside/secret.yaml"));
    for args in [&["build", "-o", "-"][..], &["build"], &["plan"]] {
        let run = s.run(args, &[]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(
            run.stderr.contains("error[H100]")
                && run.stderr.contains("files/stolen.txt is a symbolic link that leaves the project"),
            "{}",
            run.stderr
        );
    }
    // A link to a folder, even inside: refused (Helm would walk it).
    std::fs::remove_file(s.repo().join("charts/tiny/files/stolen.txt")).unwrap();
    s.link("charts/tiny/files/dir", "../templates");
    let run = s.run(&["build", "-o", "-"], &[]);
    assert!(run.code == 1 && run.stderr.contains("a symbolic link to a folder"), "{}", run.transcript());
    std::fs::remove_file(s.repo().join("charts/tiny/files/dir")).unwrap();
    // A link to a file of the project is read through, and what it points
    // to is part of the render's cache key.
    s.write("shared/motd.txt", "first\n");
    s.link("charts/tiny/files/motd.txt", "../../../shared/motd.txt");
    let run = s.run(&["build"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(s.run(&["build", "--check"], &[]).code, 0);
    s.write("shared/motd.txt", "second\n");
    let check = s.run(&["build", "--check"], &[]);
    assert_eq!(check.code, 2, "the changed target must invalidate the cached render:\n{}", check.transcript());
    let run = s.run(&["build", "-o", "-"], &[]);
    assert!(run.stdout.contains("second"), "{}", run.stdout);
}

#[test]
fn infra_yaml_links_that_leave_the_project_are_refused() {
    let s = Sandbox::new("yamllink");
    std::fs::create_dir_all(s.repo()).unwrap();
    s.link("infra.yaml", s.path("outside/secret.yaml"));
    let run = s.run(&["build", "--check"], &[]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("error[L011]") && run.stderr.contains("symbolic link that leaves the project"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(s.repo().join("infra.yaml")).unwrap();
    s.write("infra.yaml", "name: t\nmodules:\n  m: {source: mod}\n");
    s.link("mod/infra.yaml", s.path("outside/secret.yaml"));
    let run = s.run(&["build", "-o", "-"], &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[L011]") && run.stderr.contains("--> infra.yaml:3:"), "{}", run.stderr);
}

#[test]
fn a_committed_compiled_link_is_not_an_output_folder() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new("compiledlink");
    std::fs::set_permissions(s.path("home/src"), std::fs::Permissions::from_mode(0o700)).unwrap();
    s.write("infra.yaml", "name: t\nresources: [app.yaml]\nenvironments:\n  src: {}\n");
    s.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n");
    s.link("compiled", "../home");
    for args in [&["build"][..], &["build", "--check"], &["plan"]] {
        let run = s.run(args, &[]);
        assert_eq!(run.code, 1, "{args:?}\n{}", run.transcript());
        assert!(
            run.stderr.contains("error[W304]") && run.stderr.contains("compiled is a symbolic link"),
            "{}",
            run.stderr
        );
    }
    let mode = std::fs::metadata(s.path("home/src")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700);
    // Named on the command line, a folder is the user's choice.
    let out = s.path("chosen");
    let run = s.run(&["build", "-o", out.to_str().unwrap()], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    std::fs::remove_dir_all(out).unwrap();
}

#[test]
fn a_tampered_render_cache_is_not_trusted_and_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new("cache");
    std::fs::create_dir_all(s.repo().join("charts")).unwrap();
    std::fs::copy(root().join("tests/fixtures/charts/grafana-12.11.1.tgz"), s.repo().join("charts/grafana.tgz"))
        .unwrap();
    s.write("infra.yaml", "name: t\ncharts:\n  grafana:\n    chart: charts/grafana.tgz\n    namespace: monitoring\n    values: {adminPassword: fixed}\n");
    assert_eq!(s.run(&["build"], &[]).code, 0);
    let cache = s.path("cache/helm");
    assert_eq!(std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777, 0o700);
    let mut renders = 0;
    for entry in std::fs::read_dir(&cache).unwrap() {
        let path = entry.unwrap().path();
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600, "{}", path.display());
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".yaml") && !name.ends_with(".chart.yaml") {
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str("---\n# Source: grafana/templates/planted.yaml\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRoleBinding\nmetadata: {name: planted-admin}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: cluster-admin}\nsubjects: [{kind: ServiceAccount, name: default, namespace: monitoring}]\n");
            std::fs::write(&path, text).unwrap();
            renders += 1;
        }
    }
    assert_eq!(renders, 1);
    let check = s.run(&["build", "--check"], &[]);
    assert_eq!(check.code, 0, "{}", check.transcript());
    let stream = s.run(&["build", "-o", "-"], &[]);
    assert!(!stream.stdout.contains("planted-admin"), "a tampered cache entry reached the output");
}

/// The same Secret, written in every way a repository can write it, with a
/// mistake on the line that holds its value: the message quotes the line,
/// never the value.
#[test]
fn secret_values_in_quoted_lines_are_masked_however_written() {
    let s = Sandbox::new("masks");
    let v = VALUE_SECRET;
    let forms = [
        format!(
            "apiVersion: v1\nkind: Secret # creds\nmetadata: {{name: s}}\nstringData:\n  token: {v}\n  token: again\n"
        ),
        format!("{{apiVersion: v1, kind: Secret, metadata: {{name: s}}, stringData: {{token: {v}, token: {v}}}}}\n"),
        format!(
            "{{\"apiVersion\": \"v1\", \"kind\": \"Secret\", \"metadata\": {{\"name\": \"s\"}}, \"stringData\": {{\"token\": \"{v}\", \"token\": \"{v}\"}}}}\n"
        ),
        format!(
            "\"apiVersion\": v1\n'kind': \"Secret\"\nmetadata: {{name: s}}\n\"stringData\":\n  \"token\": {v}\n  \"token\": again\n"
        ),
        format!(
            "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Secret\n  metadata: {{name: s}}\n  stringData:\n    token: {v}\n    token: again\n"
        ),
        format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s}}\nstringData:\n  token: {v}\n  other: [unclosed\n"),
    ];
    for (i, form) in forms.iter().enumerate() {
        s.write(&format!("f{i}.yaml"), form);
        let file = format!("f{i}.yaml");
        let run = s.run(&["diff", &file, &file], &[]);
        assert_eq!(run.code, 1, "{form}\n{}", run.transcript());
        assert!(run.stderr.contains("error[L00"), "{}", run.stderr);
    }
    // Helm's own error text: a template that fails with a value.
    s.write("charts/bad/Chart.yaml", "apiVersion: v2\nname: bad\nversion: 1.0.0\n");
    s.write("charts/bad/values.yaml", "token: \"\"\n");
    s.write("charts/bad/templates/s.yaml", "{{ fail (printf \"the token %s is refused\" .Values.token) }}\n");
    s.write("infra.yaml", "name: t\nparams: {token: \"\"}\ncharts:\n  bad:\n    chart: charts/bad\n    values: {token: \"${{ params.token }}\"}\n");
    let run = s.run(&["build", "-o", "-", "--set", &format!("token={v}")], &[]);
    assert!(
        run.code == 1 && run.stderr.contains("error[H102]") && run.stderr.contains("the token *** is refused"),
        "{}",
        run.transcript()
    );
}

#[test]
fn terminal_escapes_in_manifests_are_printed_escaped() {
    let s = Sandbox::new("escapes");
    s.write("old.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"one\\nline\"}\n");
    s.write("new.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: \"one\\n\\e]52;c;cm0gLXJmIH4=\\u0007\\e[8mhidden\\nline\", \"\\e]0;title\\u0007\": x}\n");
    for format in ["text", "json"] {
        let run = s.run(&["diff", "old.yaml", "new.yaml", "--format", format, "--color", "always"], &[]);
        assert_eq!(run.code, 2, "{}", run.transcript());
        let raw: Vec<char> = run.stdout.chars().filter(|c| c.is_control() && *c != '\n').collect();
        // Only the plan's own colours: ESC followed by `[` and a colour.
        for (i, _) in run.stdout.match_indices('\u{1b}') {
            assert!(
                run.stdout[i..].starts_with("\u{1b}[3")
                    || run.stdout[i..].starts_with("\u{1b}[0m")
                    || run.stdout[i..].starts_with("\u{1b}[1;31m"),
                "{format}: raw escape at {i}: {:?}",
                &run.stdout[i..(i + 12).min(run.stdout.len())]
            );
        }
        assert!(!raw.contains(&'\u{7}'), "{format}: {:?}", run.stdout);
        assert!(run.stdout.contains("\\u{1b}]52;c;") || run.stdout.contains("\\u001b]52;c;"), "{}", run.stdout);
    }
}

#[test]
fn a_lock_from_the_repository_cannot_drop_the_users_files() {
    let s = Sandbox::new("lock");
    s.write("infra.yaml", "name: t\nresources: [app.yaml]\nenvironments:\n  prod: {}\n");
    s.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n");
    assert_eq!(s.run(&["build"], &[]).code, 0);
    // Someone keeps notes in the folder, and the pull request's lock claims them.
    s.write("compiled/prod/notes.txt", "mine\n");
    s.write("compiled/prod/x/kubeconfig", "mine too\n");
    let lock = s.repo().join("compiled/prod/infra.lock");
    let mut text = std::fs::read_to_string(&lock).unwrap();
    for f in ["notes.txt", "x/kubeconfig"] {
        text.push_str(&format!("  - id: /ConfigMap/x/{f}\n    file: {f}\n    hash: 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\n"));
    }
    // A "hash" that is any text of the file does not make it infra's either.
    s.write("compiled/prod/x/config", "current-context: prod\n");
    text.push_str("  - id: /ConfigMap/x/config\n    file: x/config\n    hash: 'current-context:'\n");
    std::fs::write(&lock, text).unwrap();
    let run = s.run(&["build"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(
        run.stderr.contains("warning[W301]") && run.stderr.contains("lists notes.txt, which does not hold the object"),
        "{}",
        run.stderr
    );
    assert_eq!(std::fs::read_to_string(s.repo().join("compiled/prod/notes.txt")).unwrap(), "mine\n");
    assert_eq!(std::fs::read_to_string(s.repo().join("compiled/prod/x/kubeconfig")).unwrap(), "mine too\n");
    assert_eq!(std::fs::read_to_string(s.repo().join("compiled/prod/x/config")).unwrap(), "current-context: prod\n");
}

#[test]
fn objects_of_charts_count_toward_the_build_s_limit() {
    let s = Sandbox::new("chart-budget");
    std::fs::create_dir_all(s.repo().join("charts")).unwrap();
    std::fs::copy(root().join("tests/fixtures/charts/grafana-12.11.1.tgz"), s.repo().join("charts/grafana.tgz"))
        .unwrap();
    s.write("infra.yaml", "name: t\ncharts:\n  grafana:\n    chart: charts/grafana.tgz\n    namespace: monitoring\n    values: {adminPassword: fixed}\n");
    let run = s.run(&["build", "-o", "-"], &[("INFRA_MAX_OBJECTS", "3")]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("error[E151]: the build makes") && run.stderr.contains("more than the limit of 3"),
        "{}",
        run.stderr
    );
}

#[test]
fn plans_of_many_renamed_workloads_stay_fast() {
    // Both sides come from the pull request: 4,000 deleted and 4,000
    // created Deployments sharing one image and one label value.
    let s = Sandbox::new("many-moves");
    let deployments = |prefix: &str| -> String {
        (0..4000)
            .map(|i| format!("apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {prefix}-{i}, namespace: x}}\nspec:\n  template:\n    metadata: {{labels: {{team: a}}}}\n    spec: {{containers: [{{name: c{i}, image: nginx}}]}}\n---\n"))
            .collect()
    };
    s.write("old.yaml", deployments("old"));
    s.write("new.yaml", deployments("new"));
    let start = Instant::now();
    let run = s.run(&["diff", "old.yaml", "new.yaml", "--format", "json"], &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(start.elapsed() < Duration::from_secs(30), "took {:?}", start.elapsed());
}

#[test]
fn output_folders_keep_their_modes() {
    use std::os::unix::fs::PermissionsExt;
    let s = Sandbox::new("modes");
    s.write("infra.yaml", "name: t\nparams: {num: \"1\"}\nresources: [app.yaml]\nenvironments:\n  prod: {}\n");
    s.write(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata: {num: \"${{ params.num }}\"}\n",
    );
    assert_eq!(s.run(&["build"], &[]).code, 0);
    let out = s.repo().join("compiled/prod");
    s.write("compiled/prod/private/keys.txt", "mine\n");
    for (dir, mode) in [(out.clone(), 0o700), (out.join("private"), 0o710), (out.join("x"), 0o750)] {
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    s.write("infra.yaml", "name: t\nparams: {num: \"2\"}\nresources: [app.yaml]\nenvironments:\n  prod: {}\n");
    let run = s.run(&["build"], &[]);
    assert!(run.stderr.contains("prod: wrote 1 object"), "{}", run.transcript());
    for (dir, mode) in [(out.clone(), 0o700), (out.join("private"), 0o710), (out.join("x"), 0o750)] {
        assert_eq!(std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777, mode, "{}", dir.display());
    }
}

#[test]
fn a_helm_that_leaves_a_child_holding_its_output_is_stopped() {
    let s = Sandbox::new("helmchild");
    chart(&s, "charts/tiny");
    s.write("infra.yaml", "name: t\ncharts:\n  tiny: {chart: charts/tiny}\n");
    let helm = s.path("bin/helm");
    s.dir.write(
        "bin/helm",
        "#!/bin/sh\nif [ \"$1\" = version ]; then echo v4.0.0; exit 0; fi\nsleep 300 &\necho '---'\nexit 0\n",
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helm, std::fs::Permissions::from_mode(0o755)).unwrap();
    let start = Instant::now();
    let run = s.run(&["build", "-o", "-"], &[("INFRA_HELM", helm.to_str().unwrap()), ("INFRA_HELM_TIMEOUT", "2")]);
    assert!(start.elapsed() < Duration::from_secs(15), "took {:?}", start.elapsed());
    assert!(run.code == 1 && run.stderr.contains("error[H103]"), "{}", run.transcript());
}

#[test]
fn settings_from_the_environment_are_checked() {
    let s = Sandbox::new("settings");
    s.write("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: one}\n");
    s.write("b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {k: two}\n");
    for (var, value) in [
        ("INFRA_MAX_FILE_BYTES", "18446744073709551615"),
        ("INFRA_HTTP_TIMEOUT", "99999999999999"),
        ("INFRA_HELM_TIMEOUT", "-1"),
        ("INFRA_MAX_OBJECTS", "lots"),
        ("INFRA_THREADS", "0"),
    ] {
        let run = s.run(&["diff", "a.yaml", "b.yaml"], &[(var, value)]);
        assert_eq!(run.code, 1, "{var}={value}\n{}", run.transcript());
        assert!(run.stderr.contains(&format!("error[C001]: {var} is")), "{}", run.stderr);
    }
    assert_eq!(s.run(&["diff", "a.yaml", "b.yaml"], &[("INFRA_MAX_FILE_BYTES", "4096")]).code, 2);
}

#[test]
fn numbers_beyond_64_bits_are_located_errors() {
    let s = Sandbox::new("numbers");
    for (value, message) in [
        ("12345678901234567890", "is an integer beyond the 64-bit range"),
        ("-9223372036854775809", "is an integer beyond the 64-bit range"),
        ("0x1ffffffffffffffff", "is an integer beyond the 64-bit range"),
    ] {
        s.write("a.yaml", format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\nbig: {value}\n"));
        let run = s.run(&["diff", "a.yaml", "a.yaml"], &[]);
        assert_eq!(run.code, 1);
        assert!(run.stderr.contains(message) && run.stderr.contains("--> a.yaml:4:6"), "{}", run.stderr);
    }
    // A float beyond 64 bits is text to Kubernetes (go-yaml keeps it as
    // written), and to infra: never `.inf`.
    s.write("infra.yaml", "name: t\nresources: [a.yaml]\n");
    s.write("a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata: {big: 1e400}\n");
    let run = s.run(&["build", "-o", "-"], &[]);
    assert!(run.code == 0 && run.stdout.contains("big: '1e400'"), "{}", run.transcript());
}

#[test]
fn objects_and_output_are_bounded_for_valid_projects() {
    let s = Sandbox::new("budget");
    s.write("infra.yaml", "name: t\nresources: [m/*.yaml]\n");
    for i in 0..6 {
        s.write(&format!("m/a{i}.yaml"), format!("infra: {{for_each: ${{{{ range(90000) | list * 10 }}}}}}\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: \"c{i}-${{{{ key }}}}\", namespace: x}}\n"));
    }
    let run = common::infra_bounded(&["build", s.repo().to_str().unwrap(), "-o", "-"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("error[E151]: this document makes 900000 objects")
            && run.stderr.contains("--> m/a0.yaml:1:19"),
        "{}",
        run.stderr
    );
    // A 1 MiB annotation on 3,000 objects: 3 GB of YAML.
    let big = "x".repeat(1 << 20);
    s.write("infra.yaml", format!("name: t\nparams: {{big: {big}}}\nresources: [m/*.yaml]\ncommon:\n  annotations: {{big: \"${{{{ params.big }}}}\"}}\n"));
    for i in 0..6 {
        std::fs::remove_file(s.repo().join(format!("m/a{i}.yaml"))).unwrap();
    }
    s.write("m/a.yaml", "infra: {for_each: ${{ range(3000) | list }}}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"c-${{ item }}\", namespace: x}\n");
    let run = common::infra_bounded(&["build", s.repo().to_str().unwrap(), "-o", "-"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[E152]") && run.stderr.contains("the largest of 3000 objects"), "{}", run.stderr);
}

#[test]
fn chart_files_and_git_blobs_are_bounded_before_they_are_read() {
    let s = Sandbox::new("limits");
    // Sparse: 3 GiB on paper, nothing on disk.
    let sparse = |rel: &str| {
        let f = std::fs::File::create(s.repo().join(rel)).unwrap();
        f.set_len(3 << 30).unwrap();
    };
    std::fs::create_dir_all(s.repo().join("charts/big/templates")).unwrap();
    sparse("charts/huge.tgz");
    s.write("charts/big/Chart.yaml", "apiVersion: v2\nname: big\nversion: 1.0.0\n");
    sparse("charts/big/templates/blob.yaml");
    for chart in ["charts/huge.tgz", "charts/big"] {
        s.write("infra.yaml", format!("name: t\ncharts:\n  c: {{chart: {chart}}}\n"));
        let start = Instant::now();
        let run = s.run(&["build", "-o", "-"], &[]);
        assert!(start.elapsed() < Duration::from_secs(10));
        assert!(
            run.code == 1 && run.stderr.contains("error[H100]") && run.stderr.contains("file is too large"),
            "{}",
            run.transcript()
        );
    }
    // A compiled file in git larger than the file limit.
    let _ = std::fs::remove_dir_all(s.repo().join("charts"));
    s.write("infra.yaml", "name: t\nresources: [app.yaml]\nenvironments:\n  prod: {}\n");
    s.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n");
    assert_eq!(s.run(&["build"], &[]).code, 0);
    s.write("compiled/prod/x/configmap-a.yaml", format!("# {}\n", "x".repeat(20_000)));
    git(&s.repo(), &["init", "-q"]);
    git(&s.repo(), &["add", "."]);
    git(&s.repo(), &["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "x"]);
    s.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata: {k: v}\n");
    let run = s.run(&["plan", "--base", "HEAD"], &[("INFRA_MAX_FILE_BYTES", "10000")]);
    assert!(
        run.code == 1 && run.stderr.contains("error[L013]") && run.stderr.contains("above the limit of 10000 bytes"),
        "{}",
        run.transcript()
    );
    // A revision is never an option.
    let run = s.run(&["plan", &format!("--base=--output={}", s.path("written/x").display())], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git").arg("-C").arg(dir).args(args).output().unwrap();
    assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
}

/// Serves `files` (path → body) on 127.0.0.1 for as long as the test runs.
fn serve(files: Vec<(String, Vec<u8>)>) -> String {
    common::serve_http(move |path| files.iter().find(|(p, _)| p == path).map(|(_, b)| b.clone()))
}

#[test]
fn chart_pull_keeps_only_the_archive_asked_for() {
    let s = Sandbox::new("pull");
    let grafana = std::fs::read(root().join("tests/fixtures/charts/grafana-12.11.1.tgz")).unwrap();
    // The repository's index serves Grafana's archive, under its own name,
    // for a chart called foo.
    let index = "apiVersion: v1\nentries:\n  foo:\n  - apiVersion: v2\n    name: foo\n    version: 1.0.0\n    urls: [grafana-12.11.1.tgz]\n    digest: \"\"\n";
    let url = serve(vec![
        ("/index.yaml".into(), index.as_bytes().to_vec()),
        ("/grafana-12.11.1.tgz".into(), grafana.clone()),
    ]);
    s.write("charts/grafana-12.11.1.tgz", b"the vendored archive, with local changes");
    let run = s.run(&["chart", "pull", &url, "foo", "--version", "1.0.0", "--into", "charts"], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(
        run.stderr.contains("served chart \"grafana\" version \"12.11.1\" for foo 1.0.0; nothing was kept"),
        "{}",
        run.stderr
    );
    assert_eq!(
        std::fs::read(s.repo().join("charts/grafana-12.11.1.tgz")).unwrap(),
        b"the vendored archive, with local changes"
    );
    assert_eq!(std::fs::read_dir(s.repo().join("charts")).unwrap().count(), 1);
    // Asked for by its name, it is kept — but a different file already
    // there is not replaced.
    let index = "apiVersion: v1\nentries:\n  grafana:\n  - apiVersion: v2\n    name: grafana\n    version: 12.11.1\n    urls: [grafana-12.11.1.tgz]\n    digest: \"\"\n";
    let url = serve(vec![
        ("/index.yaml".into(), index.as_bytes().to_vec()),
        ("/grafana-12.11.1.tgz".into(), grafana.clone()),
    ]);
    let run = s.run(&["chart", "pull", &url, "grafana", "--version", "12.11.1", "--into", "charts"], &[]);
    assert!(
        run.code == 1 && run.stderr.contains("exists and differs from the pulled archive; it is not replaced"),
        "{}",
        run.transcript()
    );
    std::fs::remove_file(s.repo().join("charts/grafana-12.11.1.tgz")).unwrap();
    let run = s.run(&["chart", "pull", &url, "grafana", "--version", "12.11.1", "--into", "charts"], &[]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(std::fs::read(s.repo().join("charts/grafana-12.11.1.tgz")).unwrap(), grafana);
    // Credentials in a repository URL are never printed, and a name is never an option.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    for source in [
        format!("http://admin:{VALUE_SECRET}@{closed}/charts"),
        format!("http://admin:{VALUE_SECRET}/x@{closed}/charts"),
    ] {
        let run = s.run(&["chart", "pull", &source, "grafana", "--version", "1.0.0", "--into", "charts"], &[]);
        assert_eq!(run.code, 1, "{}", run.transcript());
    }
    let run = s.run(&["chart", "pull", &url, "--", "--version", "1.0.0", "--into", "charts"], &[]);
    assert_eq!(run.code, 1, "{}", run.transcript());
}

/// One repository with every trick at once, through every command that CI
/// runs on a pull request.
#[test]
fn the_hostile_repository() {
    let s = Sandbox::new("repo");
    chart(&s, "charts/tiny");
    s.link("charts/tiny/files/environ", "/proc/self/environ");
    s.link("charts/tiny/files/stolen.txt", s.path("outside/secret.yaml"));
    s.write(
        "infra.yaml",
        format!(
            "name: t\nparams: {{token: \"\"}}\nresources: [manifests/*.yaml]\nmodules:\n  m: {{source: mod}}\ncharts:\n  tiny:\n    chart: charts/tiny\n    release: \"--output-dir={}\"\n    values: {{token: \"${{{{ params.token }}}}\"}}\n  other:\n    chart: charts/tiny\n    namespace: \"--set-file=x=/proc/self/environ\"\nenvironments:\n  src: {{}}\n",
            s.path("written").display()
        ),
    );
    s.write("manifests/app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n");
    s.link("manifests/stolen.yaml", s.path("outside/secret.yaml"));
    s.link("mod/infra.yaml", s.path("outside/secret.yaml"));
    s.link("compiled", "../home");
    git(&s.repo(), &["init", "-q"]);
    git(&s.repo(), &["add", "."]);
    git(&s.repo(), &["-c", "user.email=t@t", "-c", "user.name=t", "commit", "-qm", "pr"]);
    let set = format!("token={VALUE_SECRET}");
    for args in [
        &["build"][..],
        &["build", "--check"],
        &["build", "-o", "-", "--set", &set],
        &["plan"],
        &["plan", "--base", "HEAD"],
        &["plan", "--against", "compiled/src"],
        &["params", "--set", &set],
    ] {
        let run = s.run(args, &[]);
        assert_eq!(run.code, 1, "{args:?}\n{}", run.transcript());
    }
    let run = s.run(&["diff", "manifests", "manifests"], &[]);
    assert_ne!(run.code, 101);
    let run = s.run(&["import", "manifests", "--into", "imported"], &[]);
    assert_ne!(run.code, 101);
}

#[test]
fn git_s_own_files_are_not_the_project_s() {
    // A CI checkout keeps its token in .git/config: no way of naming a file
    // reaches it — file(), a glob, a chart's link.
    let s = Sandbox::new("dotgit");
    std::fs::create_dir_all(s.repo()).unwrap();
    git(&s.repo(), &["init", "-q"]);
    git(&s.repo(), &["config", "http.extraheader", &format!("AUTHORIZATION: basic {ENV_SECRET}")]);
    s.write("infra.yaml", "name: t\nresources: [app.yaml]\n");
    for data in ["${{ file('.git/config') | b64encode }}", "${{ file('sub/../.git/config') }}"] {
        s.write(
            "app.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a, namespace: x}}\ndata: {{x: \"{data}\"}}\n"),
        );
        let run = s.run(&["build", "-o", "-"], &[]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(run.stderr.contains(".git"), "{}", run.stderr);
    }
    s.link("linked.txt", ".git/config");
    s.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\ndata: {x: \"${{ file('linked.txt') }}\"}\n");
    assert_eq!(s.run(&["build", "-o", "-"], &[]).code, 1);
    // A glob over everything never reaches into .git.
    s.write(
        ".git/app-evil.yaml",
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: evil, namespace: x}}\ndata: {{t: {ENV_SECRET}}}\n"),
    );
    s.write("infra.yaml", "name: t\nresources: ['**/app*.yaml']\n");
    s.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: x}\n");
    let run = s.run(&["build", "-o", "-"], &[]);
    assert!(run.code == 0 && !run.stdout.contains("evil"), "{}", run.transcript());
    // A chart's link to it.
    chart(&s, "charts/tiny");
    s.link("charts/tiny/files/config", "../../../.git/config");
    s.write("infra.yaml", "name: t\ncharts:\n  tiny: {chart: charts/tiny, namespace: apps}\n");
    let run = s.run(&["build", "-o", "-"], &[]);
    assert!(run.code == 1 && run.stderr.contains("leaves the project"), "{}", run.transcript());
}
