//! Writing output: the lock, `--check`, stale and foreign files, and the
//! rule that a failed build changes nothing.

use crate::common;

use common::{TempDir, infra, read_tree};

fn project() -> TempDir {
    let dir = TempDir::new("project");
    dir.write(
        "infra.yaml",
        "name: t\nparams: {num: 1}\nresources: [app.yaml]\nenvironments:\n  a: {}\n  b: {params: {num: 2}}\n",
    );
    dir.write(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: x}\ndata: {num: \"${{ params.num }}\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two, namespace: x}\n",
    );
    dir
}

#[test]
fn build_writes_every_environment_with_a_lock() {
    let dir = project();
    let run = infra(&["build", dir.str()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for env in ["a", "b"] {
        let lock = std::fs::read_to_string(dir.join(&format!("compiled/{env}/infra.lock"))).unwrap();
        assert!(lock.contains(&format!("env: {env}\n")), "{lock}");
        assert!(lock.contains("file: x/configmap-one.yaml"), "{lock}");
        assert!(lock.starts_with("# Written by `infra build`; do not edit.\ntool: infra "));
    }
    let one = std::fs::read_to_string(dir.join("compiled/b/x/configmap-one.yaml")).unwrap();
    assert!(one.contains("num: '2'"), "{one}"); // `n` is a YAML 1.1 bool: quoted
}

#[test]
fn check_detects_changed_missing_and_stale_files() {
    let dir = project();
    assert_eq!(infra(&["build", dir.str()]).code, 0);
    let check = infra(&["build", dir.str(), "--check"]);
    assert_eq!(check.code, 0, "{}", check.transcript());

    std::fs::write(dir.join("compiled/a/x/configmap-one.yaml"), "tampered\n").unwrap();
    std::fs::remove_file(dir.join("compiled/b/x/configmap-two.yaml")).unwrap();
    let check = infra(&["build", dir.str(), "--check"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("changed: x/configmap-one.yaml"), "{}", check.stderr);
    assert!(check.stderr.contains("missing: x/configmap-two.yaml"), "{}", check.stderr);
    // --check wrote nothing.
    assert_eq!(std::fs::read_to_string(dir.join("compiled/a/x/configmap-one.yaml")).unwrap(), "tampered\n");

    // An object removed from the code leaves a stale file behind.
    assert_eq!(infra(&["build", dir.str()]).code, 0);
    dir.write(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: x}\ndata: {num: \"${{ params.num }}\"}\n",
    );
    let check = infra(&["build", dir.str(), "--check", "--env", "a"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("stale: x/configmap-two.yaml (no longer built)"), "{}", check.stderr);

    // A folder another version wrote says so, with how to pin one.
    let lock = dir.join("compiled/a/infra.lock");
    let text = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&lock, text.replace("tool: infra ", "tool: infra 0.0.1-was-")).unwrap();
    let check = infra(&["build", dir.str(), "--check", "--env", "a"]);
    assert_eq!(check.code, 2);
    assert!(check.stderr.contains("note: infra 0.0.1-was-"), "{}", check.stderr);
    assert!(check.stderr.contains("pin one with `required_version` in infra.yaml"), "{}", check.stderr);

    // A build that fails is 1, not "stale".
    dir.write(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: x}\ndata: {num: \"${{ params.nope }}\"}\n",
    );
    let check = infra(&["build", dir.str(), "--check", "--env", "a"]);
    assert_eq!(check.code, 1, "{}", check.transcript());
}

#[test]
fn required_version_pins_the_infra_that_builds() {
    let dir = TempDir::new("required-version");
    dir.write("app.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: x}\n");
    let running = env!("CARGO_PKG_VERSION");
    dir.write("infra.yaml", format!("name: t\nrequired_version: \"={running}\"\nresources: [app.yaml]\n"));
    assert_eq!(infra(&["build", dir.str(), "-o", "-"]).code, 0);
    dir.write("infra.yaml", "name: t\nrequired_version: \">=99\"\nresources: [app.yaml]\n");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains(&format!("error[L025]: this project requires infra >=99, and this is infra {running}")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("--> infra.yaml:2:19"), "{}", run.stderr);
    dir.write("infra.yaml", "name: t\nrequired_version: \"newest\"\nresources: [app.yaml]\n");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert!(run.stderr.contains("error[L025]: `required_version` is not a version requirement"), "{}", run.stderr);
    // --version says which commit it is.
    let version = infra(&["--version"]);
    assert!(version.stdout.starts_with(&format!("infra {running}")), "{}", version.stdout);
}

#[test]
fn rebuild_removes_its_own_stale_files_and_keeps_foreign_ones() {
    let dir = project();
    assert_eq!(infra(&["build", dir.str(), "--env", "a"]).code, 0);
    dir.write("compiled/a/README.md", "notes kept by a human\n");
    dir.write("compiled/a/x/hand-made.yaml", "kept\n");
    dir.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: x}\n");
    assert_eq!(infra(&["build", dir.str(), "--env", "a"]).code, 0);
    let files: Vec<String> = read_tree(&dir.join("compiled/a")).into_iter().map(|(n, _)| n).collect();
    assert_eq!(files, ["README.md", "infra.lock", "x/configmap-one.yaml", "x/hand-made.yaml"]);
}

#[test]
fn a_failed_build_changes_nothing() {
    let dir = project();
    assert_eq!(infra(&["build", dir.str()]).code, 0);
    let before = read_tree(&dir.join("compiled"));
    dir.write(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: x}\ndata: {num: \"${{ params.m }}\"}\n",
    );
    let run = infra(&["build", dir.str()]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("`params` has no `m`"), "{}", run.stderr);
    assert_eq!(read_tree(&dir.join("compiled")), before);
    // A failed first build creates no output directory at all.
    let fresh = project();
    fresh.write("app.yaml", "kind: [\n");
    assert_eq!(infra(&["build", fresh.str()]).code, 1);
    assert!(!fresh.join("compiled").exists());
}

#[test]
fn output_flag_needs_one_environment() {
    let dir = project();
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("error[C001]: -o needs exactly one environment"), "{}", run.stderr);
    assert!(run.stderr.contains("help: choose one with --env (a, b)"), "{}", run.stderr);
    let run = infra(&["build", dir.str(), "--env", "c"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no environment `c` in this project"), "{}", run.stderr);
}

#[test]
fn stream_is_in_apply_order() {
    let dir = TempDir::new("order");
    dir.write("infra.yaml", "name: t\nresources: [app.yaml]\n");
    dir.write(
        "app.yaml",
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: a, namespace: ns}\nspec:\n  template:\n    spec:\n      containers: [{name: c, image: i, envFrom: [{configMapRef: {name: z}}]}]\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: z, namespace: ns}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n",
    );
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let kinds: Vec<&str> = run.stdout.lines().filter_map(|l| l.strip_prefix("kind: ")).collect();
    assert_eq!(kinds, ["Namespace", "ConfigMap", "Deployment"]);
}

#[test]
fn diagnostics_as_json_for_tools() {
    let dir = TempDir::new("json-errors");
    dir.write("infra.yaml", "name: t\nparams: {replicas: 1}\nenvironments:\n  a: {params: {replica: 2}}\n");
    let run = infra(&["build", dir.str(), "--error-format", "json"]);
    assert_eq!(run.code, 1);
    let first = run.stderr.lines().next().unwrap();
    let d: serde_json::Value = serde_json::from_str(first).unwrap();
    assert_eq!(d["severity"], "error");
    assert_eq!(d["code"], "E100");
    assert_eq!(d["labels"][0]["file"], "infra.yaml");
    assert_eq!(d["labels"][0]["line"], 4);
    assert_eq!(d["labels"][0]["column"], 16);
    assert_eq!(d["help"], "did you mean `replicas`?");
    assert_eq!(d["labels"][0]["primary"], true);
    // Every line is JSON, the summary of the failure included.
    let lines: Vec<serde_json::Value> = run.stderr.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.last().unwrap()["code"], "C000");
    assert_eq!(lines.last().unwrap()["message"], "build failed with 1 error");
    // Command-line errors and status lines too.
    let usage = infra(&["build", dir.str(), "-o", "-", "--check", "--error-format", "json"]);
    assert_eq!(usage.code, 1);
    let d: serde_json::Value = serde_json::from_str(usage.stderr.trim()).unwrap();
    assert_eq!(d["code"], "C001");
    let ok = TempDir::new("json-status");
    ok.write("infra.yaml", "name: t\n");
    let built = infra(&["build", ok.str(), "--error-format", "json"]);
    assert_eq!(built.code, 0, "{}", built.transcript());
    for line in built.stderr.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
        assert!(v["severity"].is_string(), "{line}");
    }
}

/// Inode and modification time of a file: what tells a rewritten file from
/// one left alone.
fn identity(path: &std::path::Path) -> (u64, std::time::SystemTime) {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(path).unwrap();
    (m.ino(), m.modified().unwrap())
}

#[test]
fn an_unchanged_build_leaves_the_folder_alone_and_a_changed_one_links_what_it_keeps() {
    let dir = project();
    assert_eq!(infra(&["build", dir.str(), "--env", "a"]).code, 0);
    let one = dir.join("compiled/a/x/configmap-one.yaml");
    let two = dir.join("compiled/a/x/configmap-two.yaml");
    let lock = dir.join("compiled/a/infra.lock");
    let before = [identity(&one), identity(&two), identity(&lock)];

    // Nothing changed: nothing is written, and the build says so.
    let run = infra(&["build", dir.str(), "--env", "a"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stderr.contains("a: up to date (2 objects in "), "{}", run.stderr);
    assert_eq!([identity(&one), identity(&two), identity(&lock)], before);

    // A hand edit is not "the same": the next build puts the file back.
    std::fs::write(&two, "edited by hand\n").unwrap();
    let run = infra(&["build", dir.str(), "--env", "a"]);
    assert!(run.stderr.contains("a: wrote 2 objects to "), "{}", run.stderr);
    assert!(std::fs::read_to_string(&two).unwrap().contains("name: two"));
    // The file it kept is the same file, linked into the new folder.
    assert_eq!(identity(&one), before[0]);

    // One object changes: the other is kept as it was; the changed one is new.
    dir.write("infra.yaml", "name: t\nparams: {num: 3}\nresources: [app.yaml]\nenvironments:\n  a: {}\n");
    let two_before = identity(&two);
    let run = infra(&["build", dir.str(), "--env", "a"]);
    assert!(run.stderr.contains("a: wrote 2 objects to "), "{}", run.stderr);
    assert!(std::fs::read_to_string(&one).unwrap().contains("num: '3'"));
    assert_ne!(identity(&one).0, before[0].0);
    assert_eq!(identity(&two), two_before);

    // A removed object is removed from the folder: that is a change too.
    dir.write(
        "app.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: x}\ndata: {num: \"${{ params.num }}\"}\n",
    );
    let run = infra(&["build", dir.str(), "--env", "a"]);
    assert!(run.stderr.contains("a: wrote 1 object to "), "{}", run.stderr);
    assert!(!two.exists());
    assert_eq!(read_tree(&dir.join("compiled/a")).len(), 2, "{:?}", read_tree(&dir.join("compiled/a")));
}

/// A SOPS-encrypted document passes through byte for byte — its MAC covers
/// every value, so no annotation, label, namespace or patch may touch it —
/// in the folder and in the stream; `--check` and `plan` see it unchanged,
/// and a build that no longer has it removes its file.
#[test]
fn sops_documents_pass_through_byte_for_byte() {
    let dir = TempDir::new("sops");
    let sops = "apiVersion: v1\nkind: Secret\nmetadata:   {name: db, namespace: shop}   # as sops wrote it\ndata: {password: \"ENC[AES256_GCM,data:Tr7o=,iv:1=,tag:2=,type:str]\"}\nsops:\n    mac: ENC[AES256_GCM,data:x=,iv:y=,tag:z=,type:str]\n    version: 3.9.4\n";
    dir.write("secret.enc.yaml", sops);
    dir.write("app.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app, namespace: shop}\ndata: {a: b}\n");
    dir.write(
        "infra.yaml",
        "name: t\nresources: [\"*.yaml\"]\ncommon: {labels: {team: shop}, annotations: {owner: me}}\nhashing: suffix\n",
    );
    let build = infra(&["build", dir.str()]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    let written = std::fs::read_to_string(dir.join("compiled/default/shop/secret-db.yaml")).unwrap();
    assert_eq!(written, sops);
    let stream = infra(&["build", dir.str(), "-o", "-"]).stdout;
    assert!(stream.contains(&format!("---\n{sops}")), "{stream}");
    assert!(stream.contains("team: shop"), "common still applies to the others: {stream}");
    assert_eq!(infra(&["build", dir.str(), "--check"]).code, 0);
    assert_eq!(infra(&["plan", dir.str()]).code, 0);
    // Gone from the project: its file goes, as every file infra wrote.
    std::fs::remove_file(dir.join("secret.enc.yaml")).unwrap();
    let build = infra(&["build", dir.str()]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert!(!dir.join("compiled/default/shop/secret-db.yaml").exists(), "{}", build.transcript());
}
