//! The readers of `diff` and `import`: any text is objects or located
//! errors, and a set of objects compared with itself changes nothing.
#![no_main]

use infra_syntax::{Diagnostics, Sources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::default();
    let mut diags = Diagnostics::default();
    let objects = infra_k8s::manifests::parse(&mut sources, "fuzz.yaml", text.to_string(), &mut diags);
    let refs: Vec<_> = objects.iter().collect();
    let plan = infra_plan::plan(&refs, &refs, &infra_plan::Options::default());
    assert!(plan.changes.is_empty(), "a set of objects differs from itself: {:?}", plan.changes);
    let _ = infra_plan::render::text(&plan, "fuzz", &infra_plan::render::Style { color: false });
});
