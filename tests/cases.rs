//! Corpus tests: every user-facing output is pinned by a snapshot.
//!
//! - `cases/ok/<name>/` must build and `cases/err/<name>/` must fail (an
//!   `args` file adds arguments to `infra build DIR -o -`);
//! - `cases/{diff,plan,import,cli}/<name>/cmd` is one command line, with
//!   `$ROOT` (the repository), `$CASE` (the case's folder) and `$OUT` (a
//!   new temporary folder); an import's snapshot also lists what it wrote.
//!   They run with the real Helm (for projects with charts).
//!
//! The snapshot is the whole transcript: exit code, stderr, stdout.

use crate::common;

use common::{TempDir, infra, root, snapshot};
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
        // Every error about the project names a file, line and column.
        for block in run.stderr.split("\n\n").filter(|b| b.starts_with("error[") && !b.starts_with("error[C000]")) {
            assert!(block.contains(" --> "), "error without a location:\n{block}");
        }
        insta::assert_snapshot!(run.transcript());
    });
}

/// Runs a `cmd` case and returns its transcript, paths made portable.
fn command_case(cmd: &Path) -> String {
    let case = cmd.parent().unwrap();
    let out = TempDir::new("case");
    let line = std::fs::read_to_string(cmd).unwrap();
    let root = root();
    let expand = |word: &str| {
        word.replace("$ROOT", root.to_str().unwrap())
            .replace("$CASE", case.to_str().unwrap())
            .replace("$OUT", out.str())
    };
    let args: Vec<String> = line.split_whitespace().map(expand).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let cache = TempDir::new("cache");
    let run = common::infra_helm(&args, &cache);
    let mut transcript = run.transcript();
    // What an import wrote: every file, and the project's infra.yaml.
    if args.first() == Some(&"import") && run.code == 0 {
        transcript.push_str("--- written\n");
        for (path, content) in snapshot(out.path()) {
            if content != "dir" {
                transcript.push_str(&format!("{path}\n"));
            }
            if path.ends_with("infra.yaml") {
                transcript.push_str(&content);
            }
        }
    }
    transcript
        .replace(out.str(), "$OUT")
        .replace(case.to_str().unwrap(), "$CASE")
        .replace(root.to_str().unwrap(), "$ROOT")
}

#[test]
fn command_cases() {
    insta::glob!("cases/{diff,plan,import,cli}/*/cmd", |cmd| {
        insta::assert_snapshot!(command_case(cmd));
    });
}
