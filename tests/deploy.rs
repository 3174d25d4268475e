//! How output reaches a cluster (docs/deploy.md): the Argo CD config
//! management plugin of `contrib/argocd/plugin.yaml`, run the way Argo CD's
//! repo server runs it — its own command line, in the application's
//! folder, read-only, with an empty environment (no HOME) but for what
//! Argo CD sets, as an unprivileged user when the test can switch to one.

use crate::common;

use common::{TempDir, copy_dir, k8s_tools, root, snapshot};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

/// The plugin's `generate` command line, as Argo CD reads it.
fn generate_command() -> Vec<String> {
    let text = std::fs::read_to_string(root().join("contrib/argocd/plugin.yaml")).unwrap();
    let plugin = infra_syntax::yaml::parse_value(&text).unwrap();
    assert_eq!(plugin.str_at(&["kind"]), Some("ConfigManagementPlugin"));
    let generate = plugin.pointer(&["spec", "generate"]).expect("spec.generate");
    let words = |key: &str| -> Vec<String> {
        generate
            .get(key)
            .and_then(|v| v.as_seq())
            .unwrap_or_default()
            .iter()
            .map(|w| w.as_str().unwrap().to_string())
            .collect()
    };
    [words("command"), words("args")].concat()
}

fn set_mode(path: &std::path::Path, writable: bool) {
    for entry in walkdir::WalkDir::new(path) {
        let entry = entry.unwrap();
        let mut mode = entry.metadata().unwrap().permissions().mode();
        mode = if writable { mode | 0o200 } else { mode & !0o222 };
        std::fs::set_permissions(entry.path(), std::fs::Permissions::from_mode(mode)).unwrap();
    }
}

#[test]
fn the_argo_cd_plugin_prints_only_objects_from_a_read_only_checkout() {
    let dir = TempDir::new("argocd");
    // The binaries where any user may run them.
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_infra"), bin.join("infra")).unwrap();
    std::fs::copy(k8s_tools().join("helm"), bin.join("helm")).unwrap();
    // The application's folder: a project with an upstream chart.
    let app = dir.join("repo/apollo-charts");
    copy_dir(&root().join("examples/apollo-charts"), &app);
    std::fs::remove_dir_all(app.join("compiled")).ok();
    // A chart that prints the version Helm is told the cluster runs.
    std::fs::create_dir_all(app.join("charts/capabilities/templates")).unwrap();
    std::fs::write(app.join("charts/capabilities/Chart.yaml"), "apiVersion: v2\nname: capabilities\nversion: 1.0.0\n")
        .unwrap();
    std::fs::write(
        app.join("charts/capabilities/templates/cm.yaml"),
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: capabilities}\ndata: {kube: \"{{ .Capabilities.KubeVersion.Version }}\"}\n",
    )
    .unwrap();
    let project = std::fs::read_to_string(app.join("infra.yaml")).unwrap();
    let project = project.replace("charts:\n", "charts:\n  capabilities: {chart: charts/capabilities}\n");
    std::fs::write(app.join("infra.yaml"), project).unwrap();
    for p in [dir.path().to_path_buf(), bin.clone(), dir.join("repo")] {
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    set_mode(&app, false);
    let before = snapshot(&app);

    let argv = generate_command();
    let mut cmd = Command::new(&argv[0]);
    cmd.args(&argv[1..]).current_dir(&app).env_clear().envs([
        ("PATH", format!("{}:/usr/bin:/bin", bin.display())),
        ("ARGOCD_APP_NAME", "apollo".into()),
        ("ARGOCD_APP_NAMESPACE", "monitoring".into()),
        ("ARGOCD_ENV_INFRA_ENV", "lab".into()),
        // As some clusters report it, and Argo CD passes it on.
        ("KUBE_VERSION", "1.33+".into()),
    ]);
    // The repo server's sidecar runs as an unprivileged user.
    let unprivileged = rustix::process::getuid().is_root();
    if unprivileged {
        let mut wrapped = Command::new("setpriv");
        wrapped.args(["--reuid=65534", "--regid=65534", "--clear-groups", "--"]).arg(&argv[0]).args(&argv[1..]);
        wrapped.current_dir(&app).env_clear().envs(cmd.get_envs().map(|(k, v)| (k, v.unwrap())));
        cmd = wrapped;
    }
    let out = cmd.output().unwrap();
    set_mode(&app, true);
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{stderr}");
    // stdout holds objects and nothing else.
    let docs = infra_syntax::yaml::load(infra_syntax::FileId(0), &stdout).unwrap();
    let objects: Vec<_> = docs.iter().filter(|d| !d.is_null()).map(|d| d.to_value()).collect();
    assert!(objects.len() > 100, "{} objects", objects.len());
    for o in &objects {
        assert!(o.str_at(&["apiVersion"]).is_some() && o.str_at(&["kind"]).is_some(), "not an object: {o:?}");
    }
    // The cluster's version reached the chart (its templates print it).
    assert!(stdout.contains("kube: v1.33\n"), "the app's kube version reaches the charts:\n{stdout}");
    assert!(!stderr.contains("error"), "{stderr}");
    // Nothing was written in the checkout.
    assert_eq!(snapshot(&app), before);
    eprintln!("{} objects, as user {}", objects.len(), if unprivileged { "65534" } else { "the test's" });
}

/// The hooks of `.pre-commit-hooks.yaml`, run by the real pre-commit
/// (installed by scripts/install-k8s-tools) on a project in a git
/// repository: a stale output stops a commit, a routine change passes, a
/// change that deletes a volume's data stops it.
#[test]
fn the_pre_commit_hooks_stop_stale_output_and_data_loss() {
    let tools = k8s_tools();
    let dir = TempDir::new("pre-commit");
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(env!("CARGO_BIN_EXE_infra"), bin.join("infra")).unwrap();
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    let write = |rel: &str, text: &str| std::fs::write(repo.join(rel), text).unwrap();
    let app = |replicas: u32, volume: bool| {
        let claim = "---\napiVersion: v1\nkind: PersistentVolumeClaim\nmetadata: {name: data}\nspec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}\n";
        format!(
            "apiVersion: v1\nkind: Namespace\nmetadata: {{name: shop}}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web}}\nspec:\n  replicas: {replicas}\n  selector: {{matchLabels: {{app: web}}}}\n  template:\n    metadata: {{labels: {{app: web}}}}\n    spec:\n      containers: [{{name: web, image: \"nginx:1.27\"}}]\n{}",
            if volume { claim } else { "" }
        )
    };
    write("infra.yaml", "name: shop\nresources: [app.yaml]\ncommon: {namespace: shop}\n");
    write("app.yaml", &app(1, true));
    let run = |program: &std::path::Path, args: &[&str]| {
        Command::new(program)
            .args(args)
            .current_dir(&repo)
            .env("PATH", format!("{}:{}:/usr/bin:/bin", bin.display(), tools.display()))
            .env("PRE_COMMIT_HOME", dir.join("pre-commit-home"))
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .unwrap()
    };
    let git = |args: &[&str]| {
        let out = run(std::path::Path::new("git"), args);
        assert!(out.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let infra = |args: &[&str]| run(&bin.join("infra"), args);
    // A hook of this repository's working tree, as pre-commit runs it.
    let hook = |id: &str| {
        let out =
            run(&tools.join("pre-commit"), &["try-repo", root().to_str().unwrap(), id, "--all-files", "--verbose"]);
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    git(&["init", "-q"]);
    assert!(infra(&["build"]).status.success());
    git(&["add", "-A"]);
    git(&["commit", "-q", "-m", "base"]);
    let (ok, said) = hook("infra-build-check");
    assert!(ok, "the committed output is current:\n{said}");

    // The code changes, the output is not rebuilt: the commit is stopped.
    write("app.yaml", &app(3, true));
    let (ok, said) = hook("infra-build-check");
    assert!(!ok && said.contains("is stale"), "{said}");
    // Rebuilt: a routine change passes both hooks.
    assert!(infra(&["build"]).status.success());
    assert!(hook("infra-build-check").0);
    let (ok, said) = hook("infra-plan-deny-data-loss");
    assert!(ok, "a routine change is what a commit is for:\n{said}");

    // The claim is deleted: its data would go with it.
    write("app.yaml", &app(3, false));
    assert!(infra(&["build"]).status.success());
    let (ok, said) = hook("infra-plan-deny-data-loss");
    assert!(!ok && said.contains("DATA LOSS"), "{said}");
}

/// The objects of a YAML stream, in order.
fn objects(stream: &str) -> Vec<infra_syntax::Value> {
    let docs = infra_syntax::yaml::load(infra_syntax::FileId(0), stream).expect("a YAML stream");
    docs.iter().map(|d| d.to_value()).filter(|v| !matches!(v, infra_syntax::Value::Null)).collect()
}

/// `build --kustomization` writes a kustomization.yaml that the real
/// `kubectl kustomize` (Kustomize 5, as Flux runs it) turns into exactly
/// the objects of `infra build -o -`, in the same order; the lock owns the
/// file, so a build without the flag removes it, and a kustomization that
/// infra did not write is never replaced.
#[test]
fn the_kustomization_gives_kustomize_the_build_in_apply_order() {
    let kubectl = k8s_tools().join("kubectl");
    let dir = TempDir::new("kustomization");
    copy_dir(&root().join("tests/fixtures/parity/microservices-demo"), dir.path());
    let out = dir.join("out");
    let out = out.to_str().unwrap();
    let env = "default";
    let built = common::infra(&["build", dir.str(), "--env", env, "--kustomization", "-o", out]);
    assert_eq!(built.code, 0, "{}", built.transcript());
    let stream = common::infra(&["build", dir.str(), "--env", env, "-o", "-"]);
    let kustomized = Command::new(&kubectl).args(["kustomize", out]).output().unwrap();
    assert!(kustomized.status.success(), "{}", String::from_utf8_lossy(&kustomized.stderr));
    let ours = objects(&stream.stdout);
    let theirs = objects(&String::from_utf8(kustomized.stdout).unwrap());
    assert!(ours.len() > 10, "{}", ours.len());
    assert_eq!(theirs, ours, "kubectl kustomize of the folder is the build, object for object, in order");
    let again = common::infra(&["build", dir.str(), "--env", env, "--kustomization", "-o", out, "--check"]);
    assert_eq!(again.code, 0, "{}", again.transcript());
    // Without the flag the file is stale, and the next build removes it.
    let check = common::infra(&["build", dir.str(), "--env", env, "-o", out, "--check"]);
    assert_eq!(check.code, 2, "{}", check.transcript());
    assert!(check.stderr.contains("stale: kustomization.yaml (no longer built)"), "{}", check.stderr);
    let plain = common::infra(&["build", dir.str(), "--env", env, "-o", out]);
    assert_eq!(plain.code, 0, "{}", plain.transcript());
    assert!(!std::path::Path::new(out).join("kustomization.yaml").exists());
    // Someone's own kustomization is in the way, not overwritten.
    std::fs::write(std::path::Path::new(out).join("kustomization.yaml"), "resources: []\n").unwrap();
    let refused = common::infra(&["build", dir.str(), "--env", env, "--kustomization", "-o", out]);
    assert_eq!(refused.code, 1, "{}", refused.transcript());
    assert!(refused.stderr.contains("kustomization.yaml is in the way"), "{}", refused.stderr);
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(out).join("kustomization.yaml")).unwrap(),
        "resources: []\n"
    );
    // Nor when a committed lock claims it: the file must hold what infra wrote.
    let lock_path = std::path::Path::new(out).join("infra.lock");
    let lock = std::fs::read_to_string(&lock_path).unwrap();
    let claimed = lock.replacen("\nobjects:", &format!("\nkustomization: {}\nobjects:", "ab".repeat(32)), 1);
    assert_ne!(claimed, lock);
    std::fs::write(&lock_path, claimed).unwrap();
    let claimed = common::infra(&["build", dir.str(), "--env", env, "--kustomization", "-o", out]);
    assert_eq!(claimed.code, 1, "{}", claimed.transcript());
    assert!(claimed.stderr.contains("kustomization.yaml is in the way"), "{}", claimed.stderr);
    assert_eq!(
        std::fs::read_to_string(std::path::Path::new(out).join("kustomization.yaml")).unwrap(),
        "resources: []\n"
    );
    let stream = common::infra(&["build", dir.str(), "--env", env, "--kustomization", "-o", "-"]);
    assert_eq!(stream.code, 1, "{}", stream.transcript());
}
