//! Property: whatever names an object has and whatever a committed lock
//! lists, a build creates and removes nothing outside its output folder,
//! and it succeeds exactly when Kubernetes would accept the names.

use crate::common;

use common::{TempDir, infra, snapshot};
use proptest::prelude::*;

fn hostile_name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9]([a-z0-9.-]{0,30}[a-z0-9])?",
        "(\\.\\./){1,6}[a-z]{0,8}",
        "/[a-z/]{0,20}",
        "[a-z./\\\\-]{0,12}",
        prop::collection::vec(any::<char>(), 0..20).prop_map(String::from_iter),
        "[a-z]{240,300}",
        Just(String::new()),
        Just(".".to_string()),
        Just("..".to_string()),
        Just("a\u{0}b".to_string()),
        Just("naïve".to_string()),
    ]
}

/// Kubernetes' rule for ConfigMap names, written out independently of the
/// compiler's: `[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*`, ≤ 253.
fn valid_name(s: &str) -> bool {
    let label = |l: &str| {
        !l.is_empty()
            && l.chars().all(|c| matches!(c, 'a'..='z' | '0'..='9' | '-'))
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    s.len() <= 253 && s.split('.').all(label)
}

fn valid_namespace(s: &str) -> bool {
    s.is_empty() || (s.len() <= 63 && !s.contains('.') && valid_name(s))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn nothing_outside_the_output_folder_changes(
        name in hostile_name(),
        namespace in hostile_name(),
        lock_files in prop::collection::vec(hostile_name(), 0..4),
    ) {
        let ws = TempDir::new("prop");
        // JSON strings are YAML double-quoted scalars: any text survives.
        let json = |s: &str| serde_json::to_string(s).unwrap();
        ws.write(
            "project/infra.yaml",
            format!("name: t\nparams:\n  name: {}\n  ns: {}\nresources: [app.yaml]\n", json(&name), json(&namespace)),
        );
        ws.write(
            "project/app.yaml",
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"${{ params.name }}\"\n  namespace: \"${{ params.ns }}\"\n",
        );
        ws.write("outside/victim", "precious\n");
        ws.write("project/compiled/default/x/old.yaml", "old\n");
        let entries: String = lock_files
            .iter()
            .chain(std::iter::once(&"../../../outside/victim".to_string()))
            .map(|f| format!("  - {{id: x, file: {}, hash: h}}\n", json(f)))
            .collect();
        ws.write("project/compiled/default/infra.lock", format!("objects:\n{entries}"));
        let outside = |ws: &TempDir| -> Vec<(String, String)> {
            snapshot(ws.path()).into_iter().filter(|(p, _)| !p.starts_with("project/compiled/default/")).collect()
        };
        let before = outside(&ws);

        let run = infra(&["build", ws.join("project").to_str().unwrap()]);
        prop_assert!(run.code == 0 || run.code == 1, "{}", run.transcript());
        prop_assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
        prop_assert_eq!(outside(&ws), before);
        let valid = valid_name(&name) && valid_namespace(&namespace);
        prop_assert_eq!(run.code == 0, valid, "{}", run.transcript());
        if valid {
            let out = snapshot(&ws.join("project/compiled/default"));
            prop_assert!(out.iter().any(|(p, text)| p.ends_with(".yaml") && text.contains(&name)), "{:?}", out);
        }
    }
}
