//! Corpus tests: every project under `tests/cases/ok` must build, every one
//! under `tests/cases/err` must fail; the whole transcript (exit code,
//! diagnostics, output) is a snapshot. An `args` file adds CLI arguments.

mod common;

use common::infra;
use std::path::Path;

fn run_case(infra_yaml: &Path) -> common::Run {
    let dir = infra_yaml.parent().unwrap();
    let args = std::fs::read_to_string(dir.join("args")).unwrap_or_default();
    let mut argv = vec!["build", dir.to_str().unwrap(), "-o", "-"];
    argv.extend(args.split_whitespace());
    infra(&argv)
}

#[test]
fn ok_cases_build() {
    insta::glob!("cases/ok/*/infra.yaml", |path| {
        let run = run_case(path);
        assert_eq!(run.code, 0, "{}", run.transcript());
        insta::assert_snapshot!(run.transcript());
    });
}

#[test]
fn err_cases_fail_with_located_messages() {
    insta::glob!("cases/err/*/infra.yaml", |path| {
        let run = run_case(path);
        assert_eq!(run.code, 1, "{}", run.transcript());
        assert!(run.stdout.is_empty(), "a failed build prints no manifests");
        // Every error names a file, line and column.
        for block in run.stderr.split("\n\n").filter(|b| b.starts_with("error[") && !b.starts_with("error[C000]")) {
            assert!(block.contains(" --> "), "error without a location:\n{block}");
        }
        insta::assert_snapshot!(run.transcript());
    });
}
