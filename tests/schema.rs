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
