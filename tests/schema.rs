//! `schema/infra.schema.json` is generated; this test fails when it is
//! stale and rewrites it when run with `INFRA_UPDATE_SCHEMA=1`.

use crate::common;

/// The committed copies of the editor schemas: `schema/` and the starter
/// project's `.infra/`, which `infra init` writes.
#[test]
fn committed_schemas_are_fresh() {
    use infra_compiler::load::shape::{environment_schema_text, infra_schema_text};
    for (path, fresh) in [
        ("schema/infra.schema.json", infra_schema_text()),
        ("schema/environment.schema.json", environment_schema_text()),
        ("examples/quickstart/.infra/infra.schema.json", infra_schema_text()),
        ("examples/quickstart/.infra/environment.schema.json", environment_schema_text()),
    ] {
        let path = common::root().join(path);
        if std::env::var_os("INFRA_UPDATE_SCHEMA").is_some() {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &fresh).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == fresh,
            "{} is stale: run `INFRA_UPDATE_SCHEMA=1 cargo test --test it schema::`",
            path.display()
        );
    }
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
/// every environment file against the environment schema, with the real
/// `check-jsonschema` reading the YAML files as they are.
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
    let check = common::k8s_tools().join("check-jsonschema");
    for (schema, files) in [("schema/infra.schema.json", &projects), ("schema/environment.schema.json", &environments)]
    {
        let out = std::process::Command::new(&check)
            .arg("--schemafile")
            .arg(root.join(schema))
            .args(files.iter())
            .output()
            .unwrap();
        let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success(), "{schema}: {said}");
        assert!(said.contains("ok -- validation done"), "{said}");
    }
    // It rejects what the loader rejects: a misspelt key.
    let dir = common::TempDir::new("schema-typo");
    dir.write("infra.yaml", "name: t\nresorces: [a.yaml]\n");
    let out = std::process::Command::new(&check)
        .arg("--schemafile")
        .arg(root.join("schema/infra.schema.json"))
        .arg(dir.join("infra.yaml"))
        .output()
        .unwrap();
    assert!(!out.status.success() && String::from_utf8_lossy(&out.stdout).contains("resorces"));
}
