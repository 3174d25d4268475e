//! Parity with the tools infra replaces, on real public repositories.
//!
//! Each folder of `tests/fixtures/parity/` is an infra project written as a
//! user of Kustomize or Helm would port the repository (overlays as
//! environments, Kustomize components as components, charts as chart
//! entries), beside the repository's files (`upstream/`, with `SOURCE.md`
//! and `LICENSE`) and the output of the real `kubectl kustomize` or `helm
//! template` for each environment (`reference/<env>.yaml`).
//!
//! `infra build --env <env> -o -` must give the reference's objects, object
//! for object, after removing infra's own `infra.dev/*` annotations. Every
//! other difference is listed in the fixture's `parity.yaml`, by object,
//! field and the name of a documented choice (a section of
//! `docs/coming-from.md`); a listed difference that no longer occurs fails
//! too, so the lists stay true. Then `infra import` of each reference must
//! build back to the same objects.

use crate::common;

use common::{TempDir, infra_helm, root};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Objects by `apiVersion kind namespace/name`.
type Objects = BTreeMap<String, Json>;

/// A stream of manifests as JSON objects, read as Kubernetes reads YAML,
/// namespaced objects that name none put in `namespace` (as `helm install
/// -n` does with what `helm template` leaves without one).
fn objects(stream: &str, namespace: Option<&str>) -> Objects {
    let docs = infra_syntax::yaml::load(infra_syntax::FileId(0), stream).unwrap();
    let mut values: Vec<infra_syntax::Value> = docs.iter().filter(|d| !d.is_null()).map(|d| d.to_value()).collect();
    if let Some(ns) = namespace {
        infra_k8s::kinds::default_namespace(&mut values, ns);
    }
    let mut out = BTreeMap::new();
    for value in values {
        let mut v = serde_json::to_value(infra_syntax::json::to_json(&value)).unwrap();
        strip_infra_annotations(&mut v);
        let id = object_id(&v);
        assert!(out.insert(id.clone(), v).is_none(), "{id} twice");
    }
    out
}

/// `apiVersion kind namespace/name`.
fn object_id(v: &Json) -> String {
    let text = |v: &Json| v.as_str().unwrap_or_default().to_string();
    format!(
        "{} {} {}/{}",
        text(&v["apiVersion"]),
        text(&v["kind"]),
        text(&v["metadata"]["namespace"]),
        text(&v["metadata"]["name"])
    )
}

/// Removes `infra.dev/*` annotations wherever metadata is (the object's,
/// pod templates', job templates'), and the maps they leave empty.
fn strip_infra_annotations(v: &mut Json) {
    match v {
        Json::Object(map) => {
            if let Some(Json::Object(meta)) = map.get_mut("metadata") {
                if let Some(Json::Object(a)) = meta.get_mut("annotations") {
                    a.retain(|k, _| !k.starts_with("infra.dev/"));
                    if a.is_empty() {
                        meta.remove("annotations");
                    }
                }
                if meta.is_empty() {
                    map.remove("metadata");
                }
            }
            map.values_mut().for_each(strip_infra_annotations);
        }
        Json::Array(items) => items.iter_mut().for_each(strip_infra_annotations),
        _ => {}
    }
}

/// Generated names with a content hash: Kustomize's suffix and infra's are
/// different digests of the same content (the `hash-suffix` choice), so
/// both become `<name>-<hash>`, in the object and wherever it is named.
fn normalize_hash_suffixes(objects: Objects, alphabet: fn(u8) -> bool) -> Objects {
    let mut renamed = BTreeMap::new();
    for v in objects.values() {
        let kind = v["kind"].as_str().unwrap_or_default();
        let name = v["metadata"]["name"].as_str().unwrap_or_default();
        if matches!(kind, "ConfigMap" | "Secret")
            && let Some((base, suffix)) = name.rsplit_once('-')
            && suffix.len() == 10
            && suffix.bytes().all(alphabet)
        {
            renamed.insert(name.to_string(), format!("{base}-<hash>"));
        }
    }
    fn rename(v: &mut Json, renamed: &BTreeMap<String, String>) {
        match v {
            Json::String(s) => {
                if let Some(new) = renamed.get(s.as_str()) {
                    *s = new.clone();
                }
            }
            Json::Object(m) => m.values_mut().for_each(|x| rename(x, renamed)),
            Json::Array(items) => items.iter_mut().for_each(|x| rename(x, renamed)),
            _ => {}
        }
    }
    objects
        .into_values()
        .map(|mut v| {
            rename(&mut v, &renamed);
            (object_id(&v), v)
        })
        .collect()
}

/// The paths (`spec.replicas`, `data.key`) where two objects differ.
fn differences(a: &Json, b: &Json, path: &str, out: &mut Vec<String>) {
    let here = |k: &str| if path.is_empty() { k.to_string() } else { format!("{path}.{k}") };
    match (a, b) {
        (Json::Object(x), Json::Object(y)) => {
            let keys: BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                differences(x.get(k).unwrap_or(&Json::Null), y.get(k).unwrap_or(&Json::Null), &here(k), out);
            }
        }
        (Json::Array(x), Json::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                differences(p, q, &format!("{path}[{i}]"), out);
            }
        }
        _ if a != b => out.push(path.to_string()),
        _ => {}
    }
}

/// One listed difference of a fixture's `parity.yaml`.
#[derive(Debug, PartialEq, Eq, PartialOrd, Ord, Clone)]
struct Listed {
    env: String,
    object: String,
    path: String,
}

/// `parity.yaml`: the release namespace (for charts) and the differences
/// that are documented choices.
struct Expectations {
    namespace: Option<String>,
    listed: BTreeMap<Listed, String>,
}

fn expectations(dir: &Path, choices: &BTreeSet<String>) -> Expectations {
    let text = std::fs::read_to_string(dir.join("parity.yaml")).unwrap_or_default();
    let doc: serde_json::Value = if text.trim().is_empty() {
        Json::Null
    } else {
        serde_json::to_value(infra_syntax::json::to_json(&infra_syntax::yaml::parse_value(&text).unwrap())).unwrap()
    };
    let mut listed = BTreeMap::new();
    for d in doc["differences"].as_array().into_iter().flatten() {
        let field = |k: &str| d[k].as_str().unwrap_or_else(|| panic!("{}: a difference needs `{k}`", dir.display()));
        let choice = field("choice").to_string();
        assert!(choices.contains(&choice), "{}: `{choice}` is not a section of docs/coming-from.md", dir.display());
        for env in field("envs").split(',') {
            let key = Listed { env: env.trim().into(), object: field("object").into(), path: field("path").into() };
            listed.insert(key, choice.clone());
        }
    }
    Expectations { namespace: doc["namespace"].as_str().map(String::from), listed }
}

/// The choices `docs/coming-from.md` documents: its `### <name>` headings.
fn documented_choices() -> BTreeSet<String> {
    let text = std::fs::read_to_string(root().join("docs/coming-from.md")).unwrap();
    text.lines()
        .filter_map(|l| l.strip_prefix("### "))
        .map(|l| l.split_whitespace().next().unwrap().to_string())
        .collect()
}

fn kustomize_suffix(b: u8) -> bool {
    b"bcdfghkmt2456789".contains(&b)
}

fn hex(b: u8) -> bool {
    b.is_ascii_hexdigit() && !b.is_ascii_uppercase()
}

/// The object ids and paths where `ours` differs from `theirs`.
fn compare(theirs: &Objects, ours: &Objects) -> BTreeSet<(String, String)> {
    let mut found = BTreeSet::new();
    for id in theirs.keys().chain(ours.keys()) {
        match (theirs.get(id), ours.get(id)) {
            (Some(a), Some(b)) => {
                let mut paths = Vec::new();
                differences(a, b, "", &mut paths);
                found.extend(paths.into_iter().map(|p| (id.clone(), p)));
            }
            (Some(_), None) => drop(found.insert((id.clone(), "(missing from infra)".into()))),
            (None, Some(_)) => drop(found.insert((id.clone(), "(only in infra)".into()))),
            (None, None) => {}
        }
    }
    found
}

fn fixtures() -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<_> = std::fs::read_dir(root().join("tests/fixtures/parity"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("infra.yaml").is_file())
        .collect();
    dirs.sort();
    dirs
}

fn environments(dir: &Path) -> Vec<String> {
    let mut envs: Vec<String> = std::fs::read_dir(dir.join("reference"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().trim_end_matches(".yaml").to_string())
        .collect();
    envs.sort();
    envs
}

#[test]
fn builds_equal_kustomize_and_helm_on_real_repositories() {
    let choices = documented_choices();
    let cache = TempDir::new("parity-cache");
    let dirs = fixtures();
    assert!(dirs.len() >= 8, "the suite covers at least 8 repositories");
    let mut problems = Vec::new();
    let mut compared = 0;
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        for file in ["SOURCE.md", "LICENSE", "PARITY.md"] {
            assert!(dir.join(file).is_file(), "{name}: no {file}");
        }
        let expect = expectations(dir, &choices);
        let mut unseen: BTreeSet<Listed> = expect.listed.keys().cloned().collect();
        for env in environments(dir) {
            let reference = std::fs::read_to_string(dir.join(format!("reference/{env}.yaml"))).unwrap();
            let run = infra_helm(&["build", dir.to_str().unwrap(), "--env", &env, "-o", "-"], &cache);
            if run.code != 0 {
                problems.push(format!("{name} {env}: build failed\n{}", run.stderr));
                continue;
            }
            let theirs = normalize_hash_suffixes(objects(&reference, expect.namespace.as_deref()), kustomize_suffix);
            let ours = normalize_hash_suffixes(objects(&run.stdout, None), hex);
            compared += theirs.len();
            for (object, path) in compare(&theirs, &ours) {
                let key = Listed { env: env.clone(), object: object.clone(), path: path.clone() };
                if !unseen.remove(&key) && !expect.listed.contains_key(&key) {
                    let show = |o: &Objects| o.get(&object).map(|v| serde_json::to_string_pretty(v).unwrap());
                    problems.push(format!(
                        "{name} {env}: {object} differs at {path}\n--- reference\n{}\n--- infra\n{}",
                        show(&theirs).unwrap_or_default(),
                        show(&ours).unwrap_or_default()
                    ));
                }
            }
        }
        problems.extend(unseen.iter().map(|l| format!("{name}: listed difference no longer occurs: {l:?}")));
    }
    eprintln!("{compared} reference objects of {} repositories compared", dirs.len());
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
}

#[test]
fn imported_references_build_back_to_themselves() {
    let cache = TempDir::new("parity-import-cache");
    let mut problems = Vec::new();
    for dir in fixtures() {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let expect = expectations(&dir, &documented_choices());
        for env in environments(&dir) {
            let reference = dir.join(format!("reference/{env}.yaml"));
            let into = TempDir::new("parity-import");
            let project = into.join("project");
            let mut args = vec!["import", reference.to_str().unwrap(), "--into", project.to_str().unwrap()];
            args.push("--keep-secrets");
            if let Some(ns) = &expect.namespace {
                args.extend(["--namespace", ns]);
            }
            let run = infra_helm(&args, &cache);
            if run.code != 0 {
                problems.push(format!("{name} {env}: import failed\n{}", run.transcript()));
                continue;
            }
            let built = infra_helm(&["build", project.to_str().unwrap(), "-o", "-"], &cache);
            if built.code != 0 {
                problems.push(format!("{name} {env}: the imported project does not build\n{}", built.stderr));
                continue;
            }
            let text = std::fs::read_to_string(&reference).unwrap();
            let theirs = objects(&text, expect.namespace.as_deref());
            let ours = objects(&built.stdout, None);
            for (object, path) in compare(&theirs, &ours) {
                problems.push(format!("{name} {env}: after import, {object} differs at {path}"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
