//! Output safety: nothing outside its folder is written or deleted, and an
//! output folder holds one whole build. One test per way it was broken.

use crate::common;

use common::{TempDir, infra, snapshot};

/// A workspace: `project/` plus `outside/` holding files that no build may
/// touch; returns it with the snapshot of `outside/`.
fn workspace(name: &str, manifest: &str) -> (TempDir, Vec<(String, String)>) {
    let ws = TempDir::new(name);
    ws.write("project/infra.yaml", "name: t\nresources: [app.yaml]\n");
    ws.write("project/app.yaml", manifest);
    ws.write("outside/victim", "precious\n");
    ws.write("victim", "precious\n");
    let outside = snapshot(&ws.join("outside"));
    (ws, outside)
}

fn project(ws: &TempDir) -> String {
    ws.join("project").to_str().unwrap().to_string()
}

/// Everything in the workspace but the project's output folders.
fn everything_but_output(ws: &TempDir) -> Vec<(String, String)> {
    snapshot(ws.path()).into_iter().filter(|(p, _)| !p.starts_with("project/compiled")).collect()
}

const CONFIG_MAP: &str = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: x}\ndata: {a: '1'}\n";

#[test]
fn names_that_would_escape_are_located_errors() {
    for (metadata, field, line_col) in [
        ("{name: one, namespace: ../../../outside}", "metadata.namespace", "app.yaml:3:"),
        ("{name: ../../../../victim, namespace: x}", "metadata.name", "app.yaml:3:"),
        ("{name: one, namespace: /tmp}", "metadata.namespace", "app.yaml:3:"),
        ("{name: 'a/b', namespace: x}", "metadata.name", "app.yaml:3:"),
    ] {
        let (ws, _) = workspace("escape", &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {metadata}\n"));
        let before = everything_but_output(&ws);
        for args in [vec!["build", &project(&ws)], vec!["build", &project(&ws), "-o", "-"]] {
            let run = infra(&args);
            assert_eq!(run.code, 1, "{}", run.transcript());
            assert!(run.stderr.contains(&format!("error[E141]: `{field}` is not valid")), "{}", run.stderr);
            assert!(run.stderr.contains(line_col), "{}", run.stderr);
            assert!(run.stderr.contains("help: a "), "{}", run.stderr);
            assert!(run.stdout.is_empty());
        }
        assert_eq!(everything_but_output(&ws), before, "{metadata}");
        assert!(!ws.join("project/compiled").exists());
    }
}

#[test]
fn names_made_by_expressions_are_checked_after_evaluation() {
    let (ws, _) = workspace(
        "expr-name",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"${{ '../' * 3 ~ 'victim' }}\"\n  namespace: x\n",
    );
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("`metadata.name` is not valid: \"../../../victim\""), "{}", run.stderr);
    assert!(run.stderr.contains("--> app.yaml:4:9"), "{}", run.stderr);
    assert!(run.stderr.contains("checked after expressions, patches and `common`"), "{}", run.stderr);
}

#[test]
fn patches_cannot_break_an_identity() {
    let (ws, _) = workspace("patch-identity", CONFIG_MAP);
    ws.write(
        "project/infra.yaml",
        "name: t\nresources: [app.yaml]\nenvironments:\n  noname:\n    patches:\n      - target: {kind: ConfigMap}\n        ops: [{op: remove, path: /metadata/name}]\n  mapkind:\n    patches:\n      - target: {kind: ConfigMap}\n        merge: {kind: {a: b}}\n",
    );
    let run = infra(&["build", &project(&ws), "--env", "noname", "-o", "-"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[E141]: `metadata.name` is missing"), "{}", run.stderr);
    let run = infra(&["build", &project(&ws), "--env", "mapkind", "-o", "-"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[E141]: `kind` must be a string, not a map"), "{}", run.stderr);
    assert!(!run.stdout.contains("configmap-"), "{}", run.stdout);
}

#[test]
fn lock_entries_never_delete_outside() {
    let (ws, outside) = workspace("lock", CONFIG_MAP);
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    // A lock from git that lists files outside the output folder.
    let lock_path = ws.join("project/compiled/default/infra.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let hostile = lock.replace(
        "objects:\n",
        "objects:\n  - {id: a, file: ../../infra.yaml, hash: x}\n  - {id: b, file: ../../../../victim, hash: x}\n  - {id: c, file: /etc/hostname, hash: x}\n  - {id: d, file: ../../../outside/victim, hash: x}\n",
    );
    std::fs::write(&lock_path, &hostile).unwrap();
    let infra_yaml = std::fs::read_to_string(ws.join("project/infra.yaml")).unwrap();
    ws.write("project/app.yaml", CONFIG_MAP.replace("one", "two"));
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stderr.matches("warning[W301]").count(), 4, "{}", run.stderr);
    assert!(run.stderr.contains("names a file outside the output folder"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(ws.join("project/infra.yaml")).unwrap(), infra_yaml);
    assert_eq!(std::fs::read_to_string(ws.join("victim")).unwrap(), "precious\n");
    assert_eq!(snapshot(&ws.join("outside")), outside);
    // The object the lock did list was replaced; the new one is there.
    assert!(!ws.join("project/compiled/default/x/configmap-one.yaml").exists());
    assert!(ws.join("project/compiled/default/x/configmap-two.yaml").exists());
    // --check reports the bad entries of a lock.
    std::fs::write(&lock_path, &hostile).unwrap();
    let check = infra(&["build", &project(&ws), "--check"]);
    assert_eq!(check.code, 2, "{}", check.transcript());
    assert!(check.stderr.contains("invalid: infra.lock: object 1 names a file outside"), "{}", check.stderr);
}

#[test]
fn import_never_writes_outside_its_folder() {
    for name in ["../../../escaped", "a/b", "/abs"] {
        let ws = TempDir::new("import-escape");
        ws.write(
            "in.yaml",
            format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: ok, namespace: x}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: '{name}', namespace: x}}\n"),
        );
        let before = snapshot(ws.path());
        let into = ws.join("deep/down/project");
        let run = infra(&["import", ws.join("in.yaml").to_str().unwrap(), "--into", into.to_str().unwrap()]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(run.stderr.contains("error[E141]: `metadata.name` is not valid"), "{}", run.stderr);
        assert!(run.stderr.contains("in.yaml:7:18"), "{}", run.stderr);
        assert_eq!(snapshot(ws.path()), before, "nothing written for {name}");
    }
}

#[test]
fn import_is_whole_or_nothing_and_can_rerun() {
    let ws = TempDir::new("import-long");
    let long = "a".repeat(250);
    ws.write("in.yaml", format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {long}, namespace: x}}\n"));
    let into = ws.join("project");
    let source = ws.join("in.yaml");
    let run = infra(&["import", source.to_str().unwrap(), "--into", into.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let build = infra(&["build", into.to_str().unwrap(), "-o", "-"]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert!(build.stdout.contains(&format!("name: {long}\n")), "{}", build.stdout);
    // No staging folder is left beside it.
    let siblings: Vec<String> =
        std::fs::read_dir(ws.path()).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    assert!(siblings.iter().all(|s| !s.contains("infra-staging")), "{siblings:?}");
}

#[test]
fn long_valid_names_fit_the_file_system() {
    let long = format!("{}.{}", "a".repeat(200), "b".repeat(48)); // 249 characters: a valid name
    let (ws, _) =
        workspace("long", &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {long}, namespace: x}}\n"));
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let lock = std::fs::read_to_string(ws.join("project/compiled/default/infra.lock")).unwrap();
    let file = lock.lines().find_map(|l| l.trim().strip_prefix("file: ")).unwrap().to_string();
    let name = file.rsplit('/').next().unwrap();
    assert!(name.len() <= 200 && name.starts_with("configmap-aaaa") && name.ends_with(".yaml"), "{file}");
    let text = std::fs::read_to_string(ws.join("project/compiled/default").join(&file)).unwrap();
    assert!(text.contains(&format!("name: {long}\n")), "{text}");
    assert_eq!(infra(&["build", &project(&ws), "--check"]).code, 0);
}

#[test]
fn the_same_kind_and_name_in_two_api_groups() {
    let (ws, _) = workspace(
        "groups",
        "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: x}\nspec: {ports: [{port: 80}]}\n---\napiVersion: serving.knative.dev/v1\nkind: Service\nmetadata: {name: web, namespace: x}\nspec: {}\n---\napiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: {name: web, namespace: x}\nspec:\n  defaultBackend: {service: {name: web, port: {number: 80}}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: uses, namespace: x}\ndata:\n  core: \"${{ ref('Service/web') }}\"\n  knative: \"${{ ref('Service.serving.knative.dev/web') }}\"\n",
    );
    let stream = infra(&["build", &project(&ws), "-o", "-"]);
    assert_eq!(stream.code, 0, "{}", stream.transcript());
    assert_eq!(stream.stdout.matches("kind: Service\n").count(), 2);
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let out = ws.join("project/compiled/default/x");
    assert!(out.join("service-web.yaml").exists());
    assert!(out.join("service.serving.knative.dev-web.yaml").exists());
    // The Ingress backend is the core Service.
    let graph = infra(&["graph", &project(&ws)]);
    assert!(graph.stdout.contains("<- Service/x/web (ingress backend)"), "{}", graph.stdout);
    assert_eq!(graph.stdout.matches("(ref(\"Service").count(), 2, "{}", graph.stdout);
}

#[test]
fn symlinks_inside_the_output_folder_are_never_followed() {
    let (ws, outside) = workspace("symlinks", CONFIG_MAP);
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    let out = ws.join("project/compiled/default");
    // The namespace folder replaced by a link to a folder outside.
    std::fs::remove_dir_all(out.join("x")).unwrap();
    std::os::unix::fs::symlink(ws.join("outside"), out.join("x")).unwrap();
    let before = snapshot(&out);
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("error[W303]"), "{}", run.stderr);
    assert!(
        run.stderr.contains("x is in the way: the build writes a folder there, and it is a symbolic link"),
        "{}",
        run.stderr
    );
    assert_eq!(snapshot(&ws.join("outside")), outside);
    assert_eq!(snapshot(&out), before, "a refused build changes nothing");

    // plan never reads through a link: a credentials file stays unprinted.
    std::fs::remove_file(out.join("x")).unwrap();
    std::fs::create_dir(out.join("x")).unwrap();
    ws.write("outside/credentials", "password: hunter2\nnot yaml: [\n");
    std::os::unix::fs::symlink(ws.join("outside/credentials"), out.join("x/configmap-one.yaml")).unwrap();
    let plan = infra(&["plan", &project(&ws), "--color", "never"]);
    assert!(!plan.stdout.contains("hunter2") && !plan.stderr.contains("hunter2"), "{}", plan.transcript());
    assert_eq!(plan.code, 2, "{}", plan.transcript());
    assert!(plan.stdout.contains("+ ConfigMap x/one"), "{}", plan.stdout);
    let diff = infra(&["diff", out.to_str().unwrap(), out.to_str().unwrap()]);
    assert!(!diff.stdout.contains("hunter2") && !diff.stderr.contains("hunter2"), "{}", diff.transcript());
}

#[test]
fn the_output_folder_itself_may_not_be_a_link() {
    let (ws, outside) = workspace("out-link", CONFIG_MAP);
    std::fs::create_dir_all(ws.join("project/compiled")).unwrap();
    std::os::unix::fs::symlink(ws.join("outside"), ws.join("project/compiled/default")).unwrap();
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("is a symbolic link; infra never writes through one"), "{}", run.stderr);
    assert_eq!(snapshot(&ws.join("outside")), outside);
}

#[test]
fn output_may_not_hold_the_sources() {
    let (ws, _) = workspace("out-sources", CONFIG_MAP);
    let before = everything_but_output(&ws);
    let root = project(&ws);
    for out in [root.clone(), ws.str().to_string(), format!("{root}/."), "/".to_string()] {
        let run = infra(&["build", &root, "-o", &out]);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(run.stderr.contains("error[W30"), "{}", run.stderr);
    }
    let run = infra(&["build", &root, "-o", &root]);
    assert!(run.stderr.contains("holds the project"), "{}", run.stderr);
    assert!(run.stderr.contains("help: leave out -o"), "{}", run.stderr);
    // A folder inside the project that holds a source file.
    ws.write("project/infra.yaml", "name: t\nresources: [manifests/app.yaml]\n");
    ws.write("project/manifests/app.yaml", CONFIG_MAP);
    let before_sources = snapshot(&ws.join("project"));
    let run = infra(&["build", &root, "-o", &format!("{root}/manifests")]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("manifests/app.yaml, a source of the project"), "{}", run.stderr);
    assert_eq!(snapshot(&ws.join("project")), before_sources);
    assert_ne!(before, everything_but_output(&ws)); // only because of the files written above
}

#[test]
fn foreign_files_are_kept_and_never_overwritten() {
    let (ws, _) = workspace("foreign", CONFIG_MAP);
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    let out = ws.join("project/compiled/default");
    ws.write("project/compiled/default/README.md", "notes\n");
    ws.write("project/compiled/default/x/hand-made.yaml", "apiVersion: v1\nkind: ConfigMap\n");
    std::os::unix::fs::symlink("README.md", out.join("link")).unwrap();
    ws.write("project/app.yaml", format!("{CONFIG_MAP}---\n{}", CONFIG_MAP.replace("one", "two")));
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("warning[W302]"), "{}", run.stderr);
    assert!(run.stderr.contains("x/hand-made.yaml"), "{}", run.stderr);
    let files: Vec<String> = snapshot(&out).into_iter().map(|(p, _)| p).collect();
    assert_eq!(
        files,
        ["README.md", "infra.lock", "link", "x", "x/configmap-one.yaml", "x/configmap-two.yaml", "x/hand-made.yaml"]
    );
    assert_eq!(std::fs::read_link(out.join("link")).unwrap().to_str(), Some("README.md"));
    // --check fails on the YAML file no lock lists: kubectl apply -R would apply it.
    let check = infra(&["build", &project(&ws), "--check"]);
    assert_eq!(check.code, 2, "{}", check.transcript());
    assert!(check.stderr.contains("unlisted: x/hand-made.yaml"), "{}", check.stderr);
    // A foreign file where the build writes is refused, and nothing changes.
    std::fs::remove_file(out.join("x/hand-made.yaml")).unwrap();
    ws.write("project/compiled/default/x/configmap-three.yaml", "mine\n");
    ws.write("project/app.yaml", format!("{CONFIG_MAP}---\n{}", CONFIG_MAP.replace("one", "three")));
    let before = snapshot(&out);
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("x/configmap-three.yaml is in the way"), "{}", run.stderr);
    assert!(run.stderr.contains("help: move it out of"), "{}", run.stderr);
    assert_eq!(snapshot(&out), before);
}

#[test]
fn a_failing_environment_writes_no_environment() {
    let (ws, _) = workspace("multi", CONFIG_MAP);
    ws.write("project/infra.yaml", "name: t\nresources: [app.yaml]\nenvironments:\n  a: {}\n  b: {}\n");
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    let compiled = ws.join("project/compiled");
    // b cannot be written (a foreign file in the way); a must not change either.
    ws.write("project/compiled/b/x/configmap-two.yaml", "mine\n");
    ws.write("project/app.yaml", format!("{CONFIG_MAP}---\n{}", CONFIG_MAP.replace("one", "two")));
    let before = snapshot(&compiled);
    let run = infra(&["build", &project(&ws)]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(snapshot(&compiled), before);
    let leftovers: Vec<String> = std::fs::read_dir(&compiled)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn check_refuses_the_stream() {
    let (ws, _) = workspace("check-stream", CONFIG_MAP);
    let run = infra(&["build", &project(&ws), "-o", "-", "--check"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stdout.is_empty());
    assert!(run.stderr.contains("cannot check `-o -`"), "{}", run.stderr);
}

#[test]
fn stale_staging_folders_are_removed() {
    let (ws, _) = workspace("stale", CONFIG_MAP);
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    let compiled = ws.join("project/compiled");
    // What killed builds leave: staging folders (and a user's look-alike).
    ws.write("project/compiled/.default.infra-staging-4242/x/configmap-one.yaml", "old\n");
    ws.write("project/compiled/.default.infra-staging-99/infra.lock", "old\n");
    ws.write("project/compiled/.default.infra-staging-notes/keep", "mine\n");
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    let mut names: Vec<String> =
        std::fs::read_dir(&compiled).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, [".default.infra-staging-notes", "default"]);
}

#[test]
fn an_interrupted_two_rename_swap_is_repaired() {
    // Where the file system cannot exchange folders, the previous build is
    // parked beside OUT between two renames; a kill there leaves OUT missing.
    let (ws, _) = workspace("parked", CONFIG_MAP);
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    let compiled = ws.join("project/compiled");
    let built = snapshot(&compiled.join("default"));
    std::fs::rename(compiled.join("default"), compiled.join(".default.infra-old-777")).unwrap();
    let check = infra(&["build", &project(&ws), "--check"]);
    assert_eq!(check.code, 2);
    assert_eq!(infra(&["build", &project(&ws)]).code, 0);
    assert_eq!(snapshot(&compiled.join("default")), built);
    assert_eq!(std::fs::read_dir(&compiled).unwrap().count(), 1);
}
