//! Properties that are simple to say and easy to break, over generated
//! inputs: the YAML emitter's output reads back as the same value, a set of
//! objects has no changes against itself, key order never changes a hash,
//! and the apply order respects every dependency.

use crate::common;

use common::TempDir;
use infra_syntax::{Map, Value, yaml};
use proptest::prelude::*;

/// Strings that YAML likes to misread, and arbitrary ones.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        prop::sample::select(vec![
            "",
            "yes",
            "no",
            "on",
            "off",
            "y",
            "n",
            "true",
            "null",
            "~",
            "1.0",
            "1e3",
            "0x10",
            "0o7",
            "012",
            ".inf",
            "-.inf",
            "+.inf",
            ".nan",
            ".NaN",
            "2024-01-01",
            "- item",
            "a: b",
            "#c",
            "&x",
            "*x",
            "!tag",
            "'q'",
            "\"q\"",
            "${{ x }}",
            "{{ x }}",
            "line\nbreak",
            "trailing\n",
            " lead",
            "tail ",
            "tab\there",
            "@",
            "`",
            "%",
            "|",
            ">",
            "?",
            ":",
            "-",
            ",",
            "[",
            "]",
            "{",
            "}",
            "é",
            "名前",
            "\u{1b}[31m",
            "\u{85}",
        ])
        .prop_map(String::from),
        any::<String>(),
        "[a-z]{1,8}",
    ]
}

fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::Float),
        text().prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Seq),
            prop::collection::vec((text(), inner), 0..5).prop_map(|entries| {
                let mut m = Map::new();
                for (k, v) in entries {
                    m.insert(k, v);
                }
                Value::Map(m)
            }),
        ]
    })
}

/// The same value with every map's keys in reverse order.
fn reversed(v: &Value) -> Value {
    match v {
        Value::Map(m) => {
            let mut out = Map::new();
            let entries: Vec<_> = m.iter().collect();
            for (k, v) in entries.into_iter().rev() {
                out.insert(k.clone(), reversed(v));
            }
            Value::Map(out)
        }
        Value::Seq(items) => Value::Seq(items.iter().map(reversed).collect()),
        other => other.clone(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn yaml_emit_then_load_is_the_same_value(v in value()) {
        let text = yaml::emit(&v);
        let back = yaml::parse_value(&text).map_err(|d| TestCaseError::fail(format!("{}\n{text}", d.message)))?;
        prop_assert_eq!(back, v, "{}", text);
    }

    #[test]
    fn key_order_never_changes_a_hash(v in value()) {
        let a = infra_syntax::canonical::canonical_json(&v);
        let b = infra_syntax::canonical::canonical_json(&reversed(&v));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn objects_have_no_changes_against_themselves(spec in value(), name in "[a-z]{1,10}", kind in "[A-Z][a-z]{1,8}") {
        let mut meta = Map::new();
        meta.insert("name", Value::from(name));
        let mut object = Map::new();
        object.insert("apiVersion", "v1".into());
        object.insert("kind", Value::from(kind));
        object.insert("metadata", Value::Map(meta));
        object.insert("spec", spec);
        let object = Value::Map(object);
        let plan = infra_plan::plan(&[&object], &[&object], &infra_plan::Options::default());
        prop_assert!(plan.changes.is_empty(), "{:?}", plan.changes);
        prop_assert!(plan.hazards.is_empty());
        let again = infra_plan::plan(&[&object], &[&reversed(&object)], &infra_plan::Options::default());
        prop_assert!(again.changes.is_empty(), "key order is no change: {:?}", again.changes);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, failure_persistence: None, ..ProptestConfig::default() })]

    /// Random acyclic dependencies between ConfigMaps (each may depend on
    /// any earlier one, written in random order): the apply order puts
    /// every dependency first.
    #[test]
    fn the_apply_order_respects_every_dependency(
        deps in prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 0..4), 1..40),
        order in any::<prop::sample::Index>(),
    ) {
        let dir = common::TempDir::new("order");
        let n = deps.len();
        let mut docs: Vec<String> = (0..n)
            .map(|i| {
                let on: Vec<String> =
                    if i == 0 { Vec::new() } else { deps[i].iter().map(|d| format!("ConfigMap/cm{}", d.index(i))).collect() };
                format!("infra: {{depends_on: [{}]}}\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}}}\n", on.join(", "))
            })
            .collect();
        docs.rotate_left(order.index(n));
        dir.write("infra.yaml", "name: t\nresources: [app.yaml]\n");
        dir.write("app.yaml", docs.join("---\n"));
        let c = infra_compiler::compile(dir.path(), &infra_compiler::Options::default());
        prop_assert!(!c.failed());
        let g = &c.graphs[0];
        let position: std::collections::HashMap<String, usize> =
            g.ordered().enumerate().map(|(i, r)| (r.id.name.to_string(), i)).collect();
        for (i, d) in deps.iter().enumerate().skip(1) {
            for dep in d {
                let before = format!("cm{}", dep.index(i));
                prop_assert!(position[&before] < position[&format!("cm{i}")], "cm{} must come after {}", i, before);
            }
        }
    }
}

/// `ref()` under every filter and test: either a located error, or output
/// that holds the real name — the same bytes from two processes and any
/// thread count — and never a marker of the reference.
#[test]
fn references_under_every_filter_are_exact_or_errors() {
    let filters = [
        "safe",
        "escape",
        "e",
        "lower",
        "upper",
        "title",
        "replace('w', 'v')",
        "length",
        "count",
        "dictsort",
        "items",
        "reverse",
        "trim",
        "join(',')",
        "split('-')",
        "lines",
        "default('x')",
        "d('x')",
        "round",
        "abs",
        "int",
        "float",
        "attr('x')",
        "first",
        "last",
        "min",
        "max",
        "sort",
        "list",
        "string",
        "bool",
        "batch(2)",
        "slice(2)",
        "sum",
        "indent(2)",
        "select",
        "reject",
        "map('upper')",
        "groupby('x')",
        "unique",
        "chain([1])",
        "zip([1])",
        "pprint",
        "format",
        "tojson",
        "urlencode",
        "b64encode",
        "sha256",
        "toyaml",
        "capitalize",
    ];
    let tests = ["defined", "none", "string", "sequence", "mapping", "eq('web')", "in(['web'])", "sameas('web')"];
    let exprs = filters
        .iter()
        .map(|f| format!("ref('Service/web').name | {f}"))
        .chain(tests.iter().map(|t| format!("ref('Service/web').name is {t}")))
        .chain(
            [
                "ref('Service/web').name == 'web'",
                "ref('Service/web') == 'web'",
                "ref('Service/web') is defined",
                "'a' if ref('Service/web') else 'b'",
                "ref('Service/web').name ~ '-x'",
                "'x-' ~ ref('Service/web')",
                "[ref('Service/web').name] * 2",
                "{'a': ref('Service/web').namespace}",
            ]
            .map(String::from),
        );
    let dir = TempDir::new("ref-filters");
    dir.write("infra.yaml", "name: t\nresources: [a.yaml]\n");
    let (mut exact, mut refused) = (0, 0);
    for expr in exprs {
        dir.write(
            "a.yaml",
            format!("apiVersion: v1\nkind: Service\nmetadata: {{name: web, namespace: x}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c, namespace: x}}\ndata:\n  v: \"${{{{ {} }}}}\"\n", expr.replace('"', "\\\"")),
        );
        let one = common::infra_env(&["build", dir.str(), "-o", "-"], &[("INFRA_THREADS", "1")]);
        let two = common::infra_env(&["build", dir.str(), "-o", "-"], &[("INFRA_THREADS", "2")]);
        assert_eq!(one.stdout, two.stdout, "{expr}: output differs between runs");
        assert!(
            !one.stdout.contains('\u{E000}') && !one.stderr.contains('\u{E000}'),
            "{expr}: a marker reached the output:\n{}",
            one.transcript()
        );
        match one.code {
            0 => exact += 1,
            1 => {
                assert!(
                    ["error[E110]", "error[E113]", "error[E114]"].iter().any(|c| one.stderr.contains(c))
                        && one.stderr.contains("--> a.yaml:9:"),
                    "{expr}: {}",
                    one.stderr
                );
                refused += 1;
            }
            _ => panic!("{expr}: {}", one.transcript()),
        }
    }
    assert!(exact >= 5 && refused >= 30, "{exact} exact, {refused} refused");
}
