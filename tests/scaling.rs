//! Work that grows with the input grows linearly: each case is run at a
//! size and at ten times that size, and the larger may take at most ~12
//! times as long. Each was quadratic once (a map with 80,000 keys took
//! 28 s, a string with 320,000 expressions 19 s, 50,000 failing documents
//! more than a minute, a build of 40,000 imported objects 54 s).

use crate::common;

use common::TempDir;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::Duration;

/// The CPU time of the least costly of two runs of `infra args`, on one
/// thread: CPU time, not wall time, so that what else the machine is doing
/// counts as little as it can.
fn fastest(args: &[&str]) -> Duration {
    (0..2)
        .map(|_| {
            let before = children_cpu_ticks();
            let status = Command::new(env!("CARGO_BIN_EXE_infra"))
                .args(args)
                .env("INFRA_THREADS", "1")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .expect("run infra");
            assert!(status.code().is_some(), "infra was killed");
            // Ticks are hundredths of a second on Linux; ratios do not
            // depend on the unit.
            Duration::from_millis(10 * (children_cpu_ticks() - before))
        })
        .min()
        .unwrap()
}

/// User and system time of the children this process has waited for
/// (`cutime` and `cstime` of /proc/self/stat), in clock ticks.
fn children_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").expect("read /proc/self/stat");
    let after_name = &stat[stat.rfind(')').expect("stat has the command in parentheses") + 2..];
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    fields[13].parse::<u64>().unwrap() + fields[14].parse::<u64>().unwrap()
}

/// A project with a Namespace and one more resource file, `text`.
fn project(name: &str, text: String) -> TempDir {
    let dir = TempDir::new(name);
    dir.write("infra.yaml", "name: t\nresources: [manifests/*.yaml]\ncommon: {namespace: ns}\n");
    dir.write("manifests/ns.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: ns}\n");
    dir.write("manifests/big.yaml", text);
    dir
}

/// Times `infra args` on the project `make` writes for `n` and for `10 n`.
/// The cases run one at a time (they would share the cores otherwise), and
/// a ratio past the bound is measured again, up to three times in all,
/// before it fails: a busy machine slows one run, not every one.
fn assert_linear(case: &str, n: usize, make: impl Fn(usize) -> TempDir, args: impl Fn(&TempDir) -> Vec<String>) {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    let _turn = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let small = make(n);
    let large = make(10 * n);
    let time = |dir: &TempDir| fastest(&args(dir).iter().map(String::as_str).collect::<Vec<_>>());
    let measure = || {
        let (t1, t10) = (time(&small), time(&large));
        let ratio = t10.as_secs_f64() / t1.as_secs_f64();
        eprintln!("{case}: {n} in {t1:?}, {} in {t10:?}: x{ratio:.1}", 10 * n);
        (ratio, t1, t10)
    };
    let mut best = measure();
    for _ in 1..3 {
        if best.0 <= 12.0 {
            break;
        }
        let next = measure();
        if next.0 < best.0 {
            best = next;
        }
    }
    let (ratio, t1, t10) = best;
    assert!(ratio <= 12.0, "{case}: ten times the input took {ratio:.1} times as long ({t1:?} -> {t10:?})");
}

fn build_to_stdout(dir: &TempDir) -> Vec<String> {
    vec!["build".into(), dir.str().into(), "-o".into(), "-".into()]
}

#[test]
fn a_map_with_many_keys() {
    let make = |n: usize| {
        let keys: String = (0..n).map(|i| format!("  k{i}: v\n")).collect();
        project("keys", format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b}}\ndata:\n{keys}"))
    };
    assert_linear("keys", 10_000, make, build_to_stdout);
}

#[test]
fn a_string_with_many_expressions() {
    let make = |n: usize| {
        project(
            "expressions",
            format!(
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b}}\ndata:\n  x: \"{}\"\n",
                "${{ 1 }}".repeat(n)
            ),
        )
    };
    assert_linear("expressions", 40_000, make, build_to_stdout);
}

#[test]
fn many_failing_documents() {
    let make = |n: usize| {
        let docs: String = (0..n)
            .map(|i| {
                format!(
                    "---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: b{i}}}\ndata: {{x: ${{{{ nope }}}}}}\n"
                )
            })
            .collect();
        project("failing", docs)
    };
    assert_linear("failing documents", 2_000, make, build_to_stdout);
}

/// `import` of `n` objects, then build and plan of the project it wrote.
#[test]
fn an_imported_project() {
    let make = |n: usize| {
        let dir = TempDir::new("imported");
        let objects: Vec<String> = (0..n)
            .map(|i| {
                format!(
                    "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: cm{i}, namespace: ns}}\ndata: {{a: \"{i}\"}}\n---\n\
                     apiVersion: v1\nkind: Service\nmetadata: {{name: s{i}, namespace: ns}}\nspec: {{selector: {{app: d{i}}}, ports: [{{port: 80}}]}}\n"
                )
            })
            .collect();
        dir.write("source.yaml", objects.join("---\n"));
        let into = dir.join("project");
        let run =
            common::infra(&["import", dir.join("source.yaml").to_str().unwrap(), "--into", into.to_str().unwrap()]);
        assert_eq!(run.code, 0, "{}", run.transcript());
        dir
    };
    let project = |dir: &TempDir| dir.join("project").to_str().unwrap().to_string();
    assert_linear("build of an import", 500, make, |dir| vec!["build".into(), project(dir)]);
    let make_built = |n: usize| {
        let dir = make(n);
        assert_eq!(common::infra(&["build", &project(&dir)]).code, 0);
        dir
    };
    assert_linear("plan of an import", 500, make_built, |dir| vec!["plan".into(), project(dir)]);
}
