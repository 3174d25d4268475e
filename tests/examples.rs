//! The bundled examples: they build, their committed output is fresh and
//! deterministic, and every object passes real Kubernetes schema validation.

use crate::common;

use common::{TempDir, infra, infra_env, read_tree, root};
use std::process::Command;

const EXAMPLES: &[(&str, &[&str])] = &[
    ("examples/apollo", &["lab", "lab-smtp", "lab-ephemeral"]),
    ("examples/quickstart", &["dev", "prod"]),
    ("examples/apollo-charts", &["lab", "lab-smtp", "lab-persistent"]),
];

/// `infra` with the real Helm, for the example with a chart.
fn infra_with_helm(args: &[&str], extra: &[(&str, &str)]) -> common::Run {
    let cache = TempDir::new("cache");
    let mut env = common::helm_env(&cache);
    env.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    infra_env(args, &env)
}

#[test]
fn committed_output_is_what_the_code_says() {
    for (example, _) in EXAMPLES {
        let dir = root().join(example);
        let run = infra_with_helm(&["build", dir.to_str().unwrap(), "--check"], &[]);
        assert_eq!(run.code, 0, "{example}: committed output is stale; run `infra build {example}`\n{}", run.stderr);
    }
}

#[test]
fn output_is_byte_identical_across_runs_and_thread_counts() {
    for (example, envs) in EXAMPLES {
        let dir = root().join(example);
        for env in *envs {
            let args = ["build", dir.to_str().unwrap(), "--env", env, "-o", "-"];
            let first = infra_with_helm(&args, &[("INFRA_THREADS", "1")]);
            let second = infra_with_helm(&args, &[("INFRA_THREADS", "7")]);
            assert_eq!(first.code, 0, "{}", first.transcript());
            assert!(!first.stdout.is_empty());
            assert_eq!(first.stdout, second.stdout, "{example} {env} differs between runs");
        }
    }
    // The examples are small enough to be built on one thread whatever
    // INFRA_THREADS says; this project is large enough for many.
    let dir = root().join("tests/fixtures/parallel");
    let args = ["build", dir.to_str().unwrap(), "-o", "-"];
    let one = infra_env(&args, &[("INFRA_THREADS", "1")]);
    assert_eq!(one.code, 0, "{}", one.transcript());
    assert_eq!(one.stdout.matches("kind: Deployment").count(), 300);
    for threads in ["2", "7", "16"] {
        let many = infra_env(&args, &[("INFRA_THREADS", threads)]);
        assert!(one.stdout == many.stdout, "the output differs with {threads} threads");
    }
}

#[test]
fn built_directories_match_the_stream() {
    let out = TempDir::new("apollo-lab");
    let dir = root().join("examples/apollo");
    let run = infra(&["build", dir.to_str().unwrap(), "--env", "lab", "-o", out.str()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let stream = infra(&["build", dir.to_str().unwrap(), "--env", "lab", "-o", "-"]).stdout;
    let files = read_tree(out.path());
    let lock = String::from_utf8(files.iter().find(|(n, _)| n == "infra.lock").unwrap().1.clone()).unwrap();
    // The stream is the files in the lock's (apply) order.
    let mut rebuilt = String::new();
    for line in lock.lines().filter_map(|l| l.trim().strip_prefix("file: ")) {
        rebuilt.push_str("---\n");
        rebuilt.push_str(&std::fs::read_to_string(out.join(line)).unwrap());
    }
    assert_eq!(rebuilt, stream);
    assert_eq!(files.len(), lock.matches("file: ").count() + 1);
}

#[test]
fn every_example_object_passes_kubernetes_validate_strict() {
    let bin = common::k8s_tools();
    let mut files = Vec::new();
    for (example, envs) in EXAMPLES {
        for env in *envs {
            let compiled = root().join(example).join("compiled").join(env);
            for (rel, _) in read_tree(&compiled) {
                if rel.ends_with(".yaml") {
                    files.push(compiled.join(rel));
                }
            }
        }
    }
    assert!(files.len() > 30, "expected the examples' compiled output, found {} files", files.len());
    let out = Command::new(bin.join("kubernetes-validate"))
        .arg("--strict")
        .arg("--quiet")
        .args(&files)
        .output()
        .expect("run kubernetes-validate");
    // Kinds of CustomResourceDefinitions (the chart's monitoring.coreos.com
    // kinds, whose CRDs are installed apart) have no schema there: skipped,
    // with a warning. Nothing else may be.
    let report = String::from_utf8_lossy(&out.stdout);
    for line in report.lines().filter(|l| l.starts_with("WARN")) {
        assert!(line.contains("Couldn't find schema for kind") && line.contains("monitoring.coreos.com/v1"), "{line}");
    }
    assert!(
        out.status.success(),
        "kubernetes-validate --strict failed:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn graph_formats() {
    let dir = root().join("examples/apollo");
    for format in ["text", "dot", "mermaid"] {
        let run = infra(&["graph", dir.to_str().unwrap(), "--env", "lab", "--format", format]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        insta::assert_snapshot!(format!("graph_{format}"), run.stdout);
    }
}

#[test]
fn apollo_keeps_prometheus_templates_and_pins_config_hashes() {
    let dir = root().join("examples/apollo");
    let lab = infra(&["build", dir.to_str().unwrap(), "--env", "lab", "-o", "-"]).stdout;
    let smtp = infra(&["build", dir.to_str().unwrap(), "--env", "lab-smtp", "-o", "-"]).stdout;
    // Prometheus' own template syntax is passed through untouched.
    assert!(lab.contains("summary: \"CPU of {{ $labels.instance }} is at {{ $value | humanize }} °C\""), "{lab}");
    assert!(lab.contains("node_hwmon_temp_celsius) > 80"));
    // SMTP changes grafana.ini, hence the ConfigMap's hashed name and the
    // pod template's config hash: Grafana rolls, Prometheus does not.
    let config_hash = |stream: &str, workload: &str| {
        let doc = stream.split("---\n").find(|d| d.contains(&format!("kind: {workload}"))).unwrap().to_string();
        doc.lines().find(|l| l.contains("infra.dev/config-hash")).unwrap().to_string()
    };
    assert_ne!(config_hash(&lab, "Deployment"), config_hash(&smtp, "Deployment"));
    assert_eq!(config_hash(&lab, "StatefulSet"), config_hash(&smtp, "StatefulSet"));
    assert!(smtp.contains("enabled = true") && lab.contains("enabled = false"));
}

#[test]
fn init_creates_a_project_that_builds() {
    let dir = TempDir::new("init");
    let run = infra(&["init", dir.str(), "--name", "demo"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let text = std::fs::read_to_string(dir.join("infra.yaml")).unwrap();
    assert!(text.contains("name: demo"));
    // The starter project is the quickstart example, renamed.
    let quickstart = std::fs::read_to_string(root().join("examples/quickstart/infra.yaml")).unwrap();
    assert_eq!(
        text,
        quickstart
            .replace("name: quickstart", "name: demo")
            .replace("part-of: quickstart", "part-of: demo")
            .replace("infra build examples/quickstart", "infra build")
    );
    // Editors find the schemas the modelines name, inside the project.
    assert!(text.starts_with("# yaml-language-server: $schema=.infra/infra.schema.json\n"), "{text}");
    let schema = std::fs::read_to_string(dir.join(".infra/infra.schema.json")).unwrap();
    assert_eq!(schema, infra_compiler::load::shape::infra_schema_text());
    let env = std::fs::read_to_string(dir.join("envs/prod.yaml")).unwrap();
    assert!(env.starts_with("# yaml-language-server: $schema=../.infra/environment.schema.json\n"), "{env}");
    assert!(dir.join(".infra/environment.schema.json").is_file());
    let build = infra(&["build", dir.str()]);
    assert_eq!(build.code, 0, "{}", build.transcript());
    assert!(dir.join("compiled/prod/web/deployment-web.yaml").is_file());
    // A second init refuses to overwrite.
    let again = infra(&["init", dir.str()]);
    assert_eq!(again.code, 1);
    assert!(again.stderr.contains("already holds a project"), "{}", again.stderr);
    // A bad name is refused before anything is created.
    let fresh = dir.join("fresh");
    let bad = infra(&["init", fresh.to_str().unwrap(), "--name", "Bad Name"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("`Bad Name` is not a valid project name"), "{}", bad.stderr);
    assert!(!fresh.exists());
}

#[test]
fn apply_order_is_a_topological_order_of_the_graph() {
    use petgraph::visit::EdgeRef;
    for (example, _) in EXAMPLES {
        let options = infra_compiler::Options { helm: Some(common::k8s_tools().join("helm")), ..Default::default() };
        let c = infra_compiler::compile(&root().join(example), &options);
        assert!(!c.failed(), "{}", c.diagnostics.render(&c.sources, &infra_syntax::diagnostic::render::Style::PLAIN));
        for g in &c.graphs {
            let position: std::collections::HashMap<_, _> = g.order.iter().enumerate().map(|(i, n)| (*n, i)).collect();
            assert_eq!(position.len(), g.graph.node_count());
            for e in g.graph.edge_references() {
                assert!(
                    position[&e.source()] < position[&e.target()],
                    "{example}/{}: {} must come before {}",
                    g.env,
                    g.graph[e.source()].id,
                    g.graph[e.target()].id
                );
            }
            assert!(g.graph.edge_count() >= 3, "the example has real dependencies");
        }
    }
}
