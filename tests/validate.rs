//! `build --validate` against the real `kubernetes-validate` (the same
//! Kubernetes schemas, in Python's jsonschema) on one corpus: the mistakes
//! of `tests/fixtures/validate/mistakes.yaml` and every real Helm and
//! Kustomize render of the parity suite. infra must reject exactly the
//! objects kubernetes-validate rejects, with an error at the field it names
//! (kubernetes-validate reports one problem an object; infra all of them).

use crate::common;

use common::{TempDir, infra};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const KUBE: &str = "1.35";

/// A K100 error: the object (`kind/name`, lowercase kind), the field's
/// path (`a.0.b`), and the source line it points at.
#[derive(Debug)]
struct Found {
    path: String,
    line: usize,
}

fn corpus() -> Vec<PathBuf> {
    let mut files = vec![common::root().join("tests/fixtures/validate/mistakes.yaml")];
    let parity = common::root().join("tests/fixtures/parity");
    let mut repos: Vec<_> = std::fs::read_dir(&parity).unwrap().map(|e| e.unwrap().path()).collect();
    repos.sort();
    for repo in repos {
        let mut refs: Vec<_> = std::fs::read_dir(repo.join("reference")).unwrap().map(|e| e.unwrap().path()).collect();
        refs.sort();
        files.extend(refs);
    }
    files
}

/// `kind/name` as kubernetes-validate writes it.
fn object_key(kind: &str, name: &str) -> String {
    format!("{}/{name}", kind.to_lowercase())
}

/// What kubernetes-validate rejects in each file: object to the path of its problem.
fn rejected_by_kubernetes_validate(files: &[PathBuf]) -> BTreeMap<(PathBuf, String), String> {
    let tool = common::k8s_tools().join("kubernetes-validate");
    let out = Command::new(tool)
        .args(["-k", &format!("{KUBE}.0"), "--strict", "--quiet", "--no-warn"])
        .args(files)
        .output()
        .expect("run kubernetes-validate");
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut rejected = BTreeMap::new();
    for line in stdout.lines() {
        // ERROR <file> did not validate for resource <kind>/<name> against version 1.35: <path>: <message>
        let rest = line.strip_prefix("ERROR ").unwrap_or_else(|| panic!("unexpected output: {line}"));
        let (file, rest) = rest.split_once(" did not validate for resource ").expect(line);
        let (object, rest) = rest.split_once(" against version ").expect(line);
        let (_, rest) = rest.split_once(": ").expect(line);
        let path = rest.split_once(": ").map_or("", |(p, _)| p);
        rejected.insert((PathBuf::from(file), object.to_string()), path.to_string());
    }
    rejected
}

/// What `infra build --validate` rejects in a project made of `file`.
fn rejected_by_infra(file: &Path) -> (BTreeMap<String, Vec<Found>>, String) {
    let dir = TempDir::new("validate");
    let text = std::fs::read_to_string(file).unwrap();
    dir.write("infra.yaml", "name: corpus\nresources: [objects.yaml]\n");
    dir.write("objects.yaml", &text);
    let run = infra(&["build", dir.str(), "--validate", "--kube-version", KUBE, "-o", "-", "--error-format", "json"]);
    let mut rejected: BTreeMap<String, Vec<Found>> = BTreeMap::new();
    for line in run.stderr.lines() {
        let d: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}"));
        if d["code"] != "K100" {
            continue;
        }
        // "Deployment/shop/web: expected ..." — the id is kind[/namespace]/name.
        let id = d["message"].as_str().unwrap().split(": ").next().unwrap();
        let parts: Vec<&str> = id.split('/').collect();
        let key = object_key(parts[0], parts[parts.len() - 1]);
        let path = d["path"].as_str().unwrap().replace('[', ".").replace(']', "");
        let line = d["labels"][0]["line"].as_u64().unwrap() as usize;
        rejected.entry(key).or_default().push(Found { path, line });
    }
    assert!(run.code == 0 || !rejected.is_empty(), "{}", run.transcript());
    (rejected, text)
}

#[test]
fn validate_rejects_what_kubernetes_validate_rejects_at_the_field() {
    let files = corpus();
    let oracle = rejected_by_kubernetes_validate(&files);
    let mut checked_lines = 0;
    for file in &files {
        let (ours, text) = rejected_by_infra(file);
        let lines: Vec<&str> = text.lines().collect();
        let theirs: BTreeMap<&String, &String> =
            oracle.iter().filter(|((f, _), _)| f == file).map(|((_, o), p)| (o, p)).collect();
        let ours_objects: BTreeSet<&String> = ours.keys().collect();
        let theirs_objects: BTreeSet<&String> = theirs.keys().copied().collect();
        assert_eq!(
            ours_objects,
            theirs_objects,
            "{}: objects rejected by infra and by kubernetes-validate",
            file.display()
        );
        for (object, path) in theirs {
            let found = &ours[object];
            // kubernetes-validate names an unknown field's parent; infra the field.
            assert!(
                found.iter().any(|f| f.path == *path || f.path.starts_with(&format!("{path}."))),
                "{}: {object}: kubernetes-validate: `{path}`; infra: {found:?}",
                file.display()
            );
        }
        // Each error is on the line of its field: the line holds the
        // field's name, or the item of a list.
        for found in ours.values().flatten() {
            let last = found.path.rsplit('.').next().unwrap();
            let source = lines[found.line - 1];
            let names_it = source.contains(&format!("{last}:")) || source.trim_start().starts_with('-');
            assert!(
                names_it || last.parse::<usize>().is_ok(),
                "{}:{}: `{}` is not on `{source}`",
                file.display(),
                found.line,
                found.path
            );
            checked_lines += 1;
        }
    }
    // The corpus has mistakes to find: a test that finds none proves nothing.
    assert!(checked_lines >= 12, "{checked_lines}");
}

/// Custom resources are checked against their CRD in the same build, and a
/// kind with no schema is one warning, not an error.
#[test]
fn custom_resources_are_checked_against_their_crd() {
    let dir = TempDir::new("validate-crd");
    dir.write("infra.yaml", "name: crd\nresources: [crd.yaml, widgets.yaml]\n");
    dir.write(
        "crd.yaml",
        "apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec:\n  group: example.com\n  scope: Namespaced\n  names: {kind: Widget, plural: widgets, singular: widget, listKind: WidgetList}\n  versions:\n  - name: v1\n    served: true\n    storage: true\n    schema:\n      openAPIV3Schema:\n        type: object\n        properties:\n          spec:\n            type: object\n            required: [size]\n            properties:\n              size: {type: integer}\n              port: {x-kubernetes-int-or-string: true}\n",
    );
    dir.write(
        "widgets.yaml",
        "apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: good, namespace: ns}\nspec: {size: 3, port: http}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: bad, namespace: ns}\nspec:\n  size: large\n  colour: red\n---\napiVersion: other.io/v1\nkind: Gadget\nmetadata: {name: g, namespace: ns}\nspec: {anything: 1}\n",
    );
    let run = infra(&["build", dir.str(), "--validate", "-o", "-"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(run.stderr.matches("error[K100]").count(), 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("Widget/ns/bad: expected integer, found a string \"large\"\n  --> widgets.yaml:10:9"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("Widget/ns/bad: unknown field `colour`\n  --> widgets.yaml:11:3"), "{}", run.stderr);
    assert!(
        run.stderr.contains("warning[K101]: 1 object is not checked: no schema for Gadget (other.io/v1)"),
        "{}",
        run.stderr
    );
    // --strict validates too; without either, nothing is checked.
    assert_eq!(infra(&["build", dir.str(), "--strict", "-o", "-"]).code, 1);
    let plain = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(plain.code, 0, "{}", plain.transcript());
    assert!(!plain.stderr.contains("K10"), "{}", plain.stderr);
}

/// Versions: an old or malformed one is an error, a newer one a warning.
#[test]
fn the_kube_version_chooses_the_schemas() {
    let dir = TempDir::new("validate-version");
    dir.write("infra.yaml", "name: v\nresources: [a.yaml]\n");
    // A container's `resources.claims` came with Kubernetes 1.26.
    dir.write(
        "a.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata: {name: p, namespace: ns}\nspec:\n  containers:\n  - name: c\n    image: busybox:1.36\n    resources:\n      claims: [{name: gpu}]\n",
    );
    let old = infra(&["build", dir.str(), "--validate", "--kube-version", "1.25", "-o", "-"]);
    assert!(old.stderr.contains("unknown field `claims`"), "{}", old.transcript());
    let new = infra(&["build", dir.str(), "--validate", "--kube-version", "v1.30.2", "-o", "-"]);
    assert_eq!(new.code, 0, "{}", new.transcript());
    let future = infra(&["build", dir.str(), "--validate", "--kube-version", "1.99", "-o", "-"]);
    assert_eq!(future.code, 0, "{}", future.transcript());
    assert!(future.stderr.contains("warning[K103]: no schemas for Kubernetes 1.99"), "{}", future.stderr);
    let ancient = infra(&["build", dir.str(), "--validate", "--kube-version", "1.20", "-o", "-"]);
    assert_eq!(ancient.code, 1, "{}", ancient.transcript());
    assert!(
        ancient.stderr.contains("error[K103]: --kube-version: no schemas for Kubernetes 1.20"),
        "{}",
        ancient.stderr
    );
}
