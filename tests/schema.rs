//! `schema/infra.schema.json` is generated; this test fails when it is
//! stale and rewrites it when run with `INFRA_UPDATE_SCHEMA=1`.

mod common;

#[test]
fn committed_schema_is_fresh() {
    let path = common::root().join("schema/infra.schema.json");
    let fresh = infra_compiler::load::shape::infra_schema_text();
    if std::env::var_os("INFRA_UPDATE_SCHEMA").is_some() {
        std::fs::write(&path, &fresh).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == fresh,
        "schema/infra.schema.json is stale: run `INFRA_UPDATE_SCHEMA=1 cargo test --test schema`"
    );
}

#[test]
fn schema_accepts_the_examples_keys() {
    let schema = infra_compiler::load::shape::infra_schema();
    let props = schema["properties"].as_object().unwrap();
    for example in ["examples/apollo/infra.yaml", "examples/quickstart/infra.yaml"] {
        let text = std::fs::read_to_string(common::root().join(example)).unwrap();
        for line in text.lines().filter(|l| !l.starts_with([' ', '#']) && l.contains(':')) {
            let key = line.split(':').next().unwrap();
            assert!(props.contains_key(key), "{example}: `{key}` is not in the schema");
        }
    }
}

/// Every infra.yaml of the examples and the parity suite — projects,
/// modules, components — validates against the schema editors use, and
/// every environment file against `$defs/environment`, with a real JSON
/// Schema validator (Python's `jsonschema`, installed with
/// kubernetes-validate).
#[test]
fn every_real_infra_yaml_validates_against_the_schema() {
    let root = common::root();
    let mut projects = Vec::new();
    let mut environments = Vec::new();
    for base in ["examples", "tests/fixtures/parity"] {
        for entry in walkdir::WalkDir::new(root.join(base)).into_iter().flatten() {
            let path = entry.path();
            if path.components().any(|c| c.as_os_str() == "upstream" || c.as_os_str() == "compiled") {
                continue;
            }
            if entry.file_name() == "infra.yaml" {
                projects.push(path.to_path_buf());
            } else if path.parent().is_some_and(|p| p.ends_with("envs"))
                && path.extension().is_some_and(|e| e == "yaml")
            {
                environments.push(path.to_path_buf());
            }
        }
    }
    assert!(projects.len() > 20 && !environments.is_empty(), "{projects:?}");
    let as_json = |path: &std::path::Path| {
        let value = infra_syntax::yaml::parse_value(&std::fs::read_to_string(path).unwrap()).unwrap();
        serde_json::to_string(&infra_plan::render::to_json(&value)).unwrap()
    };
    let dir = common::TempDir::new("schema-docs");
    let mut lines = Vec::new();
    for (i, p) in projects.iter().chain(&environments).enumerate() {
        let file = dir.join(&format!("{i}.json"));
        std::fs::write(&file, as_json(p)).unwrap();
        let def = if i < projects.len() { "" } else { "environment" };
        lines.push(format!("{}\t{def}\t{}", file.display(), p.display()));
    }
    let list = dir.join("list.txt");
    std::fs::write(&list, lines.join("\n")).unwrap();
    let script = r##"
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
bad = 0
for line in open(sys.argv[2]):
    data, definition, shown = line.rstrip("\n").split("\t")
    target = {"$ref": "#/$defs/" + definition, "$defs": schema["$defs"]} if definition else schema
    for e in jsonschema.Draft202012Validator(target).iter_errors(json.load(open(data))):
        bad += 1
        print(shown, "/".join(map(str, e.path)), e.message)
sys.exit(1 if bad else 0)
"##;
    let out = std::process::Command::new(common::k8s_tools().join("../venv/bin/python"))
        .args(["-c", script])
        .arg(root.join("schema/infra.schema.json"))
        .arg(&list)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
