//! Expressions as a build renders them: a YAML document whose strings
//! hold `${{ }}` is rendered against a fixed scope. Every outcome is a
//! value or diagnostics, within the limits of a result.
#![no_main]

use infra_compiler::eval::expr::{Engine, Scope};
use infra_compiler::eval::render::{Renderer, YamlPath};
use infra_syntax::{Diagnostics, FileId, Value, yaml};
use libfuzzer_sys::fuzz_target;
use std::path::Path;
use std::sync::Arc;

const PARAMS: &str = "name: web\nreplicas: 3\nports: [80, 443]\nlabels: {app: web, tier: front}\nenabled: true\nratio: 0.5\nitems: [{name: a, size: 1Gi}, {name: b, size: ''}]\n";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(docs) = yaml::load(FileId(0), text) else { return };
    // A new engine each run: the text budget of a build is the engine's.
    let engine = Engine::new();
    let ev = engine.evaluator();
    let params = Arc::new(yaml::parse_value(PARAMS).expect("params load"));
    let dir: Arc<Path> = Arc::from(Path::new("/nonexistent/fuzz-project"));
    let scope = Scope::new(params, "prod", "fuzz", dir.clone(), dir);
    let mut diags = Diagnostics::default();
    let mut r = Renderer { ev: &ev, diags: &mut diags };
    for doc in docs.iter().take(4) {
        if let Some(value) = r.render(doc, &scope, YamlPath::Root("doc")) {
            // What a build writes must read back as what it rendered.
            let emitted = yaml::emit(&value);
            let back =
                yaml::parse_value(&emitted).unwrap_or_else(|e| panic!("emitted YAML does not load: {e:?}\n{emitted}"));
            assert!(back == value || has_markers(&value), "emitted:\n{emitted}");
        }
    }
});

/// `ref()` leaves markers in strings that linking replaces; they are not
/// output yet.
fn has_markers(v: &Value) -> bool {
    let mut found = false;
    v.for_each_string(&mut |s| found |= !infra_compiler::eval::expr::ref_markers(s).is_empty());
    found
}
