//! Hostile input: each class gives a clear, located error and exit code 1,
//! never a panic, a hang or unbounded memory.

use crate::common;

use common::{TempDir, infra};

fn project_with_resource(name: &str, content: &[u8]) -> TempDir {
    let dir = TempDir::new(name);
    dir.write("infra.yaml", "name: t\nresources: [manifests/*.yaml]\n");
    dir.write("manifests/bad.yaml", content);
    dir
}

fn build_fails(dir: &TempDir) -> String {
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run.stderr
}

#[test]
fn binary_file() {
    let dir = project_with_resource("binary", b"apiVersion: v1\n\x00\x01\x02kind: x\n");
    let err = build_fails(&dir);
    assert!(err.contains("cannot read manifests/bad.yaml: binary file (a NUL byte at offset 15)"), "{err}");
    assert!(err.contains("--> infra.yaml:2:13"), "{err}");
}

#[test]
fn non_utf8_file() {
    let dir = project_with_resource("latin1", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: caf\xe9}\n");
    let err = build_fails(&dir);
    assert!(err.contains("not UTF-8 text (invalid byte at line 3, column 21)"), "{err}");
}

#[test]
fn huge_file() {
    let mut big = b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata:\n  x: \"".to_vec();
    big.resize(17 << 20, b'a');
    big.extend(b"\"\n");
    let dir = project_with_resource("huge", &big);
    let err = build_fails(&dir);
    assert!(
        err.contains("file is too large (17825794 bytes; the limit is 16 MiB; set INFRA_MAX_FILE_BYTES to raise it)"),
        "{err}"
    );
    // A project that is large on purpose raises the limit.
    let raised = common::infra_env(&["build", dir.str(), "-o", "-"], &[("INFRA_MAX_FILE_BYTES", "18000000")]);
    assert_eq!(raised.code, 0, "{}", raised.stderr);
    assert!(raised.stdout.contains("name: big"));
    let lowered = common::infra_env(&["build", dir.str(), "-o", "-"], &[("INFRA_MAX_FILE_BYTES", "1000")]);
    assert!(lowered.stderr.contains("the limit is 1000 bytes"), "{}", lowered.stderr);
}

#[test]
fn fifo_matched_by_a_glob_is_refused_not_waited_on() {
    let dir = TempDir::new("fifo");
    dir.write("infra.yaml", "name: t\nresources: [manifests/*.yaml]\n");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    let made = std::process::Command::new("mkfifo").arg(dir.join("manifests/pipe.yaml")).status().unwrap();
    assert!(made.success());
    // Under a timeout: reading a FIFO without a writer would block forever.
    let out = std::process::Command::new("timeout")
        .args(["20", env!("CARGO_BIN_EXE_infra"), "build", dir.str(), "-o", "-"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("cannot read manifests/pipe.yaml: not a regular file"), "{stderr}");
    assert!(stderr.contains("--> infra.yaml:2:13"), "{stderr}");
}

#[test]
fn deep_nesting() {
    let deep = format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: deep}}\ndata: {}", "[".repeat(100_000));
    let dir = project_with_resource("deep", deep.as_bytes());
    let err = build_fails(&dir);
    assert!(err.contains("error[L001]: invalid YAML: nesting"), "{err}");
    assert!(err.contains("--> manifests/bad.yaml:4:"), "{err}");
}

#[test]
fn deep_nesting_in_block_style() {
    let mut deep = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: deep}\ndata:\n");
    for i in 0..1000 {
        deep.push_str(&" ".repeat(i + 1));
        deep.push_str("k:\n");
    }
    let dir = project_with_resource("deep-block", deep.as_bytes());
    let err = build_fails(&dir);
    assert!(err.contains("nesting deeper than 200 levels"), "{err}");
}

#[test]
fn alias_bomb() {
    let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for (prev, next) in ["a", "b", "c", "d", "e", "f", "g", "h"].iter().zip(["b", "c", "d", "e", "f", "g", "h", "i"]) {
        bomb.push_str(&format!("{next}: &{next} [{}]\n", vec![format!("*{prev}"); 10].join(", ")));
    }
    let dir = project_with_resource("bomb", bomb.as_bytes());
    let err = build_fails(&dir);
    assert!(err.contains("alias bomb"), "{err}");
}

#[test]
fn symlink_out_of_the_project() {
    let dir = TempDir::new("symlink");
    dir.write("infra.yaml", "name: t\nresources: [manifests/*.yaml]\n");
    std::fs::create_dir_all(dir.join("manifests")).unwrap();
    std::os::unix::fs::symlink("/etc/hostname", dir.join("manifests/host.yaml")).unwrap();
    let err = build_fails(&dir);
    assert!(err.contains("is outside the project root (a symbolic link?)"), "{err}");
}

#[test]
fn malformed_infra_yaml() {
    let dir = TempDir::new("malformed");
    dir.write("infra.yaml", "name: t\nparams: {a: [1, 2}\n");
    let err = build_fails(&dir);
    assert!(err.contains("error[L001]: invalid YAML"), "{err}");
    assert!(err.contains("--> infra.yaml:2:"), "{err}");
}

#[test]
fn missing_project() {
    let dir = TempDir::new("empty");
    let err = build_fails(&dir);
    assert!(err.contains("no infra.yaml in project directory"), "{err}");
    assert!(err.contains("infra init"), "{err}");
}

/// A patch may change any field of an object but never turn the object into
/// something that is not one: a `merge` that is not a map and an operation
/// on the whole object are located errors, not a crash later in the build.
#[test]
fn patches_that_would_replace_the_whole_object_are_refused() {
    let cases = [
        ("merge: 42", "`merge` is a mapping of the fields to change, not integer", "7:16"),
        ("merge: null", "`merge` is a mapping of the fields to change, not null", "7:16"),
        ("merge: [1, 2]", "`merge` is a mapping of the fields to change, not list", "7:16"),
        (
            "ops: [{op: add, path: \"\", value: [1]}]",
            "`path: \"\"` is the whole object; `add` changes a field in it",
            "7:15",
        ),
        ("ops: [{op: remove, path: \"\"}]", "`path: \"\"` is the whole object; `remove` changes a field", "7:15"),
    ];
    for (body, message, at) in cases {
        let dir = TempDir::new("patch-root");
        dir.write(
            "infra.yaml",
            format!(
                "name: t\nresources: [manifests/*.yaml]\nenvironments:\n  prod:\n    patches:\n      - target: {{kind: ConfigMap, name: a}}\n        {body}\n"
            ),
        );
        dir.write("manifests/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: \"1\"}\n");
        let err = build_fails(&dir);
        assert!(err.contains(message), "{body}: {err}");
        assert!(err.contains(&format!("--> infra.yaml:{at}")), "{body}: {err}");
    }
}

/// Numbers are 64-bit integers or finite floats, as in Kubernetes: an
/// expression that leaves that range is an error at the expression, never a
/// rounded float or `.inf` in the output.
#[test]
fn expression_numbers_out_of_range_are_errors() {
    let dir = project_with_resource(
        "numbers",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  a: ${{ 2**63 }}\n  b: ${{ 1/0 }}\n  c: ${{ 2**62 }}\n",
    );
    let err = build_fails(&dir);
    assert!(err.contains("the integer 9223372036854775808 is out of range"), "{err}");
    assert!(err.contains("--> manifests/bad.yaml:5:6"), "{err}");
    assert!(err.contains("the result is inf, not a finite number"), "{err}");
    assert!(err.contains("--> manifests/bad.yaml:6:6"), "{err}");
    assert!(!err.contains("bad.yaml:7"), "2**62 fits: {err}");
}

/// A params default is never evaluated: an expression there was written out
/// as its text. Now it is an error at the expression; `$${{` stays text.
#[test]
fn expressions_in_params_defaults_are_errors() {
    let dir = TempDir::new("param-expr");
    dir.write(
        "infra.yaml",
        "name: t\nresources: [manifests/*.yaml]\nparams:\n  x: \"${{ 1 }}\"\n  lit: \"$${{ a }}\"\n",
    );
    dir.write(
        "manifests/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  x: ${{ params.x }}\n",
    );
    let err = build_fails(&dir);
    assert!(err.contains("error[E112]: params defaults are values, not expressions"), "{err}");
    assert!(err.contains("--> infra.yaml:4:6"), "{err}");
    assert!(!err.contains("infra.yaml:5"), "a literal is not an expression: {err}");
}

/// Builds `dir` as a user would, but under a 1 GiB address-space limit and
/// a 30 s timeout: an input that needs more memory or time than that fails
/// the test instead of the machine.
fn build_bounded(dir: &TempDir) -> common::Run {
    common::infra_bounded(&["build", dir.str(), "-o", "-"])
}

/// Builds `dir` under the bounds of [`build_bounded`] and checks that it
/// fails (exit 1) with each of `expected` in its messages.
fn bounded_build_fails(dir: &TempDir, expected: &[&str]) -> common::Run {
    let run = build_bounded(dir);
    assert_eq!(run.code, 1, "{}", run.transcript());
    for text in expected {
        assert!(run.stderr.contains(text), "{text}: {}", run.stderr);
    }
    run
}

/// Builds a ConfigMap whose value is `"${{ expr }}"` (under the bounds
/// of [`build_bounded`]) and checks that it fails with `message` at the
/// expression.
fn expression_fails(expr: &str, message: &str) {
    let dir = project_with_resource(
        "expression",
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  a: \"${{{{ {expr} }}}}\"\n")
            .as_bytes(),
    );
    bounded_build_fails(&dir, &[message, "--> manifests/bad.yaml:5:7"]);
}

/// Filters whose output outgrows their input measure it before building it;
/// their sum over a build is bounded too. Each was an allocation failure or
/// gigabytes of output (interpolating many large strings wrote 400 MB with
/// exit 0).
#[test]
fn expression_results_are_bounded_before_they_are_built() {
    let cases: &[(&str, &str)] = &[
        ("range(100000)|join('x'*100000)", "join would make 9999900000 bytes"),
        ("'a'|indent(5*10**9)", "indent would make"),
        ("[1]|tojson(indent=10**9)", "tojson's indent is at most 4096"),
        ("[1]|batch(10**9)|list|length", "batch would make 1000000000 values"),
        ("[1]|slice(10**9)|list|length", "slice would make 1000000000 values"),
        ("'%999999999s'|format(1)", "format widths and precisions are at most 4096"),
        ("('x'*10000)|replace('', 'y'*10000)", "replace would make 100020000 bytes"),
        ("'x'*5000000 ~ 'y'*5000000", "is longer than 8 MiB"),
    ];
    for (expr, message) in cases {
        expression_fails(expr, message);
    }
    // 100,000 objects of 8 MB each: every one under the limit of a result,
    // together past the build's; evaluation stops at the first.
    let dir = project_with_resource(
        "foreach-text",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"a${{ item }}\"}\ninfra: {for_each: ${{ range(100000)|list }}}\ndata: {a: \"${{ 'x'*8000000 }}\"}\n",
    );
    let run = bounded_build_fails(&dir, &["expressions have made more than 256 MiB of results in this build"]);
    assert_eq!(run.stderr.matches("error[E110]").count(), 1, "{}", run.stderr);
}

/// minijinja's own operators do work that fuel (one unit per instruction)
/// does not see: a repeated list is lazy and prints or iterates in full, `~`
/// writes both sides whole. Each expression's work is bounded before it runs
/// (`eval/cost.rs`), and charged to the build's budget; each of these
/// aborted on allocation or ran for minutes.
#[test]
fn work_inside_operators_is_bounded() {
    let concat = ["'x'*99999999"; 12].join(" ~ ");
    let cases = [
        "(['x'*4000000]*1000)|string",
        "([] * 2000000000) ~ ''",
        "([] * (params|length) * 2000000000)|list",
        "((range(100000)|list) * 10000)|sort|length",
        &concat,
    ];
    let message =
        "error[E110]: expression does too much work: one expression may visit 8 million values or make 256 MiB of text";
    for expr in cases {
        expression_fails(expr, message);
    }
    // A plain scalar whose value is a lazy list: converting it is work too.
    let dir = project_with_resource(
        "lazy-result",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  a: ${{ [] * 200000000 }}\n",
    );
    bounded_build_fails(&dir, &["expression does too much work", "help: the usual cause is a repetition"]);
    // Each expression has its limit, and the build a budget of a few
    // times that: a thousand items each under the limit spend it together,
    // and it is reported once.
    let dir = project_with_resource(
        "foreach-work",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"a${{ item }}\"}\ninfra: {for_each: ${{ range(1000)|list }}}\ndata: {a: \"${{ ('x' * 8000000 ~ item)|length }}\"}\n",
    );
    let run = bounded_build_fails(&dir, &["help: each expression is under its own limit"]);
    assert!(!run.stderr.contains("one expression may"), "{}", run.stderr);
    let message = "error[E110]: expressions do too much work in this build: together they may visit 32 million values or make 1024 MiB of text";
    assert_eq!(run.stderr.matches(message).count(), 1, "{}", run.stderr);
}

/// Comparing, searching and counting long text is work too: 20,000
/// comparisons of two 4 MB params read 80 GB (9 s with the release build
/// before; an expression may hold ten times as many).
#[test]
fn scanning_long_text_is_bounded() {
    let dir = TempDir::new("scans");
    let big = "x".repeat(4 << 20);
    let terms = format!("[{}]|length", ["params.a == params.b"; 20_000].join(", "));
    dir.write("infra.yaml", format!("name: t\nparams:\n  a: \"{big}\"\n  b: \"{big}\"\nresources: [app.yaml]\n"));
    dir.write(
        "app.yaml",
        format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  a: \"${{{{ {terms} }}}}\"\n"),
    );
    bounded_build_fails(&dir, &["error[E110]: expression does too much work", "--> app.yaml:5:7"]);
}

/// A params value read in place (a view) is copied into each result that
/// holds it: the copies count toward the result's limits and, across the
/// build, toward its budget. Both ran out of memory before.
#[test]
fn copies_of_params_are_bounded() {
    let dir = TempDir::new("views");
    let items: Vec<String> = (0..200_000).map(|i| format!("\"item{i}\"")).collect();
    dir.write("infra.yaml", format!("name: t\nparams:\n  big: [{}]\nresources: [app.yaml]\n", items.join(", ")));
    let cases: [(&str, &[&str]); 2] = [
        ("metadata: {name: a}\ndata:\n  a: ${{ [params.big] * 1000 }}\n", &["the result is longer than 8 MiB"]),
        (
            "metadata: {name: \"a${{ item }}\"}\ninfra: {for_each: ${{ range(100000)|list }}}\ndata:\n  a: ${{ params.big }}\n",
            &[
                "expressions have made more than 256 MiB of results in this build",
                "help: a large params value used in many `for_each` items is copied into each",
            ],
        ),
    ];
    for (body, expected) in cases {
        dir.write("app.yaml", format!("apiVersion: v1\nkind: ConfigMap\n{body}"));
        let run = bounded_build_fails(&dir, expected);
        assert_eq!(run.stderr.matches("error[E110]").count(), 1, "{}", run.stderr);
    }
}

/// A result's limits are 1,000,000 values and 8 MiB of text: a 2 MB string
/// is one value (its characters were counted as values, and it was refused).
#[test]
fn a_long_string_result_is_within_the_limits() {
    let dir = project_with_resource(
        "long-string",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata:\n  a: ${{ 'x' * 2000000 }}\n",
    );
    let run = build_bounded(&dir);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains(&format!("  a: {}\n", "x".repeat(2_000_000))), "{}", run.stderr);
}

/// A chain of 20,000 operators, filters or `not`s made a tree as deep,
/// and compiling it overflowed the stack. Links of a chain count toward
/// the parser's nesting limit.
#[test]
fn long_chains_in_expressions_are_errors() {
    let n = 20_000;
    for expr in [
        vec!["params"; n].join(" or "),
        vec!["params"; n].join(" ~ "),
        format!("params{}", "|string".repeat(n)),
        format!("{}params", "not ".repeat(n)),
        format!("{}1", "- ".repeat(n)),
        format!("params{}", "[0]".repeat(n)),
    ] {
        expression_fails(&expr, "template exceeds maximum recursion limits");
    }
}

/// The YAML 1.2 core schema, exactly: what it does not define is an error,
/// never a silently changed value.
#[test]
fn yaml_outside_the_core_schema_is_an_error_not_a_changed_value() {
    let head = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n";
    for (body, message) in [
        ("data:\n  1.0: b\n", "Kubernetes reads the key `1.0` as a number and stores it as \"1\""),
        ("data:\n  on: b\n", "Kubernetes reads the key `on` as a bool and stores it as \"true\""),
        ("data:\n  null: b\n", "a mapping key is null, which Kubernetes refuses"),
        ("data:\n  x: !foo b\n", "the tag `!foo` is not supported here"),
        (
            "data: &d {x: '1'}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\ndata: *d\n",
            "anchors belong to their document",
        ),
    ] {
        let dir = project_with_resource("core-schema", format!("{head}{body}").as_bytes());
        let err = build_fails(&dir);
        assert!(err.contains(message), "{body}: {err}");
        assert!(err.contains("--> manifests/bad.yaml:"), "{body}: {err}");
    }
    // A sign is not a hex digit, and a quoted `<<` is an ordinary key.
    let dir =
        project_with_resource("core-schema-ok", format!("{head}data:\n  e: 0x-1\n  \"<<\": {{x: '1'}}\n").as_bytes());
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert!(run.stdout.contains("e: '0x-1'"), "{}", run.transcript());
    assert!(run.stdout.contains("'<<':"), "{}", run.transcript());
}

/// JSON patch operations stay within what a file may hold: a path deeper
/// than the nesting limit overflowed the stack, and 40 `copy` ops that
/// each double the object filled memory.
#[test]
fn patch_operations_are_bounded() {
    let deep = format!("ops: [{{op: add, path: \"{}\", value: 1}}]", "/a".repeat(100_000));
    let copies: String = (0..40).map(|i| format!("{{op: copy, from: /data, path: /data/d{i}}}, ")).collect();
    for (ops, message) in [
        (deep, "the path has 100000 segments; objects nest at most 200 levels"),
        (format!("ops: [{copies}]"), "the operations add more than 1000000 values to the object"),
    ] {
        let dir = TempDir::new("patch-bounds");
        dir.write(
            "infra.yaml",
            format!(
                "name: t\nresources: [manifests/*.yaml]\nenvironments:\n  prod:\n    patches:\n      - target: {{kind: ConfigMap, name: a}}\n        {ops}\n"
            ),
        );
        dir.write("manifests/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {x: \"1\"}\n");
        bounded_build_fails(&dir, &[message, "--> infra.yaml:7:"]);
    }
}

/// An anchor keeps a copy of its node, so anchors nested around a large
/// list cost as much as aliases to it: 150 levels around 400,000 items
/// took 3.4 GB without a single alias.
#[test]
fn nested_anchors_count_as_copies() {
    let anchors: String = (0..150).map(|i| format!("&a{i} [")).collect();
    let text = format!(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a}}\ndata:\n  x: {anchors}{}{}\n",
        vec!["x"; 400_000].join(", "),
        "]".repeat(150)
    );
    let dir = project_with_resource("nested-anchors", text.as_bytes());

    bounded_build_fails(&dir, &["anchors and aliases copy more than 2000000 nodes", "--> manifests/bad.yaml:5:"]);
}

/// Modules that each use the next twice: every module is read once, and
/// the instances they multiply into are bounded (22 levels were 4 million
/// loads, past any timeout).
#[test]
fn module_diamonds_are_loaded_once_and_bounded() {
    let dir = TempDir::new("diamonds");
    dir.write("infra.yaml", "name: t\nmodules:\n  a: {source: m0}\n  b: {source: m0}\n");
    for i in 0..22 {
        dir.write(
            &format!("m{i}/infra.yaml"),
            format!("name: m{i}\nmodules:\n  a: {{source: ../m{n}}}\n  b: {{source: ../m{n}}}\n", n = i + 1),
        );
    }
    dir.write("m22/infra.yaml", "name: m22\nresources: [c.yaml]\n");
    dir.write("m22/c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\n");
    let run = bounded_build_fails(&dir, &["error[E150]: more than 10000 module instances in environment `default`"]);
    assert_eq!(run.stderr.matches("error[E150]").count(), 1, "{}", run.stderr);
    assert!(run.stderr.contains("/infra.yaml:3:3"), "{}", run.stderr);

    // Within the bound, a diamond builds: 2^4 instances of one module.
    let dir = TempDir::new("diamonds-ok");
    dir.write("infra.yaml", "name: t\nmodules:\n  a: {source: m0}\n");
    for i in 0..4 {
        dir.write(
            &format!("m{i}/infra.yaml"),
            format!(
                "name: m{i}\nmodules:\n  a: {{source: ../m{n}}}\n  b: {{source: ../m{n}}}\ncommon: {{name_prefix: \"${{{{ module.name }}}}-\"}}\n",
                n = i + 1
            ),
        );
    }
    dir.write("m4/infra.yaml", "name: m4\nresources: [c.yaml]\ncommon: {name_prefix: \"${{ module.name }}-\"}\n");
    dir.write("m4/c.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: ns}\n");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.stdout.matches("kind: ConfigMap").count(), 16, "{}", run.transcript());
}

/// Links to `.` (which git can commit) under a `**` glob: the walk does not
/// follow links into folders, so eight of them are no 8^n loop.
#[test]
fn symlink_loops_under_a_recursive_glob() {
    let dir = TempDir::new("symlink-loop");
    dir.write("infra.yaml", "name: t\nresources: [manifests/**/*.yaml]\n");
    dir.write("manifests/a.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\n");
    dir.write("manifests/sub/b.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: ns}\n");
    for i in 0..8 {
        std::os::unix::fs::symlink(".", dir.join(&format!("manifests/loop{i}"))).unwrap();
    }
    std::os::unix::fs::symlink("a.yaml", dir.join("manifests/sub/alias.yml")).unwrap();
    let run = common::infra_bounded(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert_eq!(run.stdout.matches("kind: ConfigMap").count(), 2, "{}", run.stdout);
    let out = TempDir::new("symlink-loop-diff");
    let run = common::infra_bounded(&["diff", dir.join("manifests").to_str().unwrap(), out.str()]);
    assert!(run.code == 0 || run.code == 2, "{}", run.transcript());
}

/// Keys that are different as written but equal once rendered would lose
/// a value silently; both are named instead.
#[test]
fn keys_that_collide_once_rendered_are_errors() {
    let dir = TempDir::new("key-collision");
    dir.write("infra.yaml", "name: t\nresources: [manifests/*.yaml]\nparams: {a: x}\n");
    dir.write(
        "manifests/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata:\n  x: \"1\"\n  ${{ params.a }}: \"2\"\n  \"${{ params.a }}y\": \"3\"\n  z: \"4\"\n",
    );
    let err = build_fails(&dir);
    assert!(err.contains("error[L003]: two keys of this mapping are `x`"), "{err}");
    assert!(err.contains("--> manifests/a.yaml:6:3"), "{err}");
    assert!(err.contains("and here"), "{err}");
    assert_eq!(err.matches("error[L003]").count(), 1, "{err}");
}

/// `ref()` marks names in strings with private-use characters; the same
/// characters in input are text, never a reference to resolve.
#[test]
fn reference_markers_cannot_be_forged_from_input() {
    let dir = TempDir::new("forged-marker");
    dir.write("infra.yaml", "name: t\nresources: [manifests/*.yaml]\n");
    dir.write(
        "manifests/a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata:\n  forged: \"\u{E000}name:Secret/ns/foo\u{E001}\"\n  real: \"${{ ref('ConfigMap/ns/b').name }}\"\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: ns}\n",
    );
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert!(!run.stderr.contains("Secret/ns/foo"), "{}", run.stderr);
    assert!(run.stdout.contains("forged: \u{E000}name:Secret/ns/foo\u{E001}\n"), "{}", run.stdout);
    assert!(run.stdout.contains("real: b\n"), "{}", run.stdout);
}

/// A NaN in a manifest is the same value as itself: `diff a a` is no change.
#[test]
fn nan_equals_itself_in_a_diff() {
    let dir = TempDir::new("nan");
    dir.write(
        "a.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata: {x: .nan, w: .inf}\n",
    );
    let a = dir.join("a.yaml");
    let run = infra(&["diff", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("0 to update"), "{}", run.stdout);
}

/// A message that quotes a line of a Secret shows its keys, never its
/// values: here a duplicate key, found before the document is an object.
#[test]
fn messages_never_show_a_secrets_values() {
    let dir = project_with_resource(
        "secret-lines",
        b"apiVersion: v1\nkind: Secret\nmetadata: {name: a, namespace: ns}\nstringData:\n  password: hunter2\n  cert: |\n    BEGIN s3cr3t\n  password: sw0rdfish\n",
    );
    dir.write(
        "manifests/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: ns}\ndata: {x: visible, x: shown}\n",
    );
    let err = build_fails(&dir);
    assert!(err.contains("duplicate key `password`"), "{err}");
    for secret in ["hunter2", "s3cr3t", "sw0rdfish"] {
        assert!(!err.contains(secret), "{secret}: {err}");
    }
    assert!(err.contains("8 |   password: *********"), "{err}");
    // Only Secrets: a ConfigMap's line is shown as written.
    assert!(err.contains("data: {x: visible, x: shown}"), "{err}");
}

/// Dashboards: a file name that makes no valid ConfigMap key is an error at
/// the file (the API server would refuse the object), and a byte order mark
/// is not part of the JSON.
#[test]
fn dashboard_file_names_and_byte_order_marks() {
    let dir = TempDir::new("dashboard-keys");
    dir.write("infra.yaml", "name: t\ndashboards:\n  - files: dashboards/*.json\ncommon: {namespace: ns}\n");
    dir.write("dashboards/my board.json", "{\"uid\": \"a\", \"title\": \"A\", \"panels\": []}\n");
    let err = build_fails(&dir);
    assert!(
        err.contains("error[D108]: dashboard dashboards/my board.json: the ConfigMap key `my board.json`"),
        "{err}"
    );
    assert!(err.contains("--> dashboards/my board.json:1:1"), "{err}");

    // Tiny values cost far more parsed than written: counted first.
    let dir = TempDir::new("dashboard-values");
    dir.write("infra.yaml", "name: t\ndashboards:\n  - files: dashboards/*.json\ncommon: {namespace: ns}\n");
    dir.write("dashboards/board.json", format!("{{\"panels\": [{}{{}}]}}", "{},".repeat(1_100_000)));
    bounded_build_fails(
        &dir,
        &["error[D100]: dashboards/board.json: the JSON holds more than 1000000 values", "--> infra.yaml:3:12"],
    );

    let dir = TempDir::new("dashboard-bom");
    dir.write("infra.yaml", "name: t\ndashboards:\n  - files: dashboards/*.json\ncommon: {namespace: ns}\n");
    dir.write("dashboards/board.json", "\u{feff}{\"uid\": \"a\", \"title\": \"A\", \"panels\": []}\n");
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("board.json: |\n    {\"uid\": \"a\""), "{}", run.stdout);
}

/// Expressions cannot write the builder's absolute paths into a manifest:
/// `debug()` shows the context, and the module's folder is a handle in it.
#[test]
fn expressions_never_see_absolute_paths() {
    let dir = project_with_resource(
        "debug-paths",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata:\n  x: \"${{ debug() }}\"\n  w: \"${{ file('infra.yaml')|length }}\"\n",
    );
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("x: |-\n    State {"), "{}", run.stdout);
    assert!(!run.stdout.contains(dir.str()), "{}", run.stdout);
    assert!(run.stdout.contains("w: '38'"), "{}", run.stdout);
}

/// Carets under expressions count what the source shows: escapes in double
/// quotes, doubled single quotes, and plain keys.
#[test]
fn carets_point_at_expressions_past_quotes_and_escapes() {
    let dir = project_with_resource(
        "carets",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata:\n  x: \"\\t\\u00e9\\x41 ${{ a }}\"\n  k${{ b }}: v\n  \"q\\t${{ c }}\": v\n  w: 'it''s ${{ d }}'\n  z: ${{ e }}\n",
    );
    let err = build_fails(&dir);
    for at in ["5:20", "6:4", "7:7", "8:13", "9:6"] {
        assert!(err.contains(&format!("--> manifests/bad.yaml:{at}")), "{at}: {err}");
    }
    assert!(err.contains("5 |   x: \"\\t\\u00e9\\x41 ${{ a }}\"\n  |                    ^^^^^^^^"), "{err}");
}

/// A reader that stops early ends the command quietly, never a panic
/// (exit 101). Each output is far larger than a pipe's buffer.
#[test]
fn a_closed_stdout_is_a_quiet_exit() {
    let dir = TempDir::new("closed-stdout");
    dir.write("infra.yaml", "name: t\nresources: [manifests/*.yaml]\ncommon: {namespace: ns}\n");
    let objects: String = (0..8000)
        .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: c{i}}}\ndata: {{a: \"{i}\"}}\n"))
        .collect();
    dir.write("manifests/many.yaml", objects);
    let empty = TempDir::new("closed-stdout-empty");
    let (bin, project, manifests) = (env!("CARGO_BIN_EXE_infra"), dir.str(), dir.join("manifests/many.yaml"));
    let manifests = manifests.to_str().unwrap();
    for args in [
        format!("build '{project}' -o -"),
        format!("graph '{project}'"),
        format!("diff '{}' '{manifests}'", empty.str()),
        format!("diff '{}' '{manifests}' --format json", empty.str()),
    ] {
        let script = format!("'{bin}' {args} | head -c 1 >/dev/null; echo \"exit=${{PIPESTATUS[0]}}\"");
        let out = std::process::Command::new("bash").args(["-c", &script]).output().unwrap();
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(!stderr.contains("panicked"), "{args}: {stderr}");
        assert!(!stdout.contains("exit=101"), "{args}: {stdout} {stderr}");
    }
}

/// Strings that read as special floats stay strings, as values and as keys.
#[test]
fn special_float_strings_stay_strings() {
    let dir = project_with_resource(
        "inf-strings",
        b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\ndata: {a: '.inf', b: '+.inf', c: '.NaN', '.inf': d}\n",
    );
    let run = infra(&["build", dir.str(), "-o", "-"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for line in ["a: '.inf'", "b: '+.inf'", "c: '.NaN'", "'.inf': d"] {
        assert!(run.stdout.contains(line), "{line}: {}", run.stdout);
    }
}

/// Devices and oversized standard input are refused, never read forever
/// or cut silently.
#[test]
fn devices_and_oversized_stdin_are_refused() {
    let out = TempDir::new("devices");
    let run = common::infra_bounded(&["diff", "/dev/zero", out.str()]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("cannot read /dev/zero: not a regular file"), "{}", run.stderr);
    let script = format!(
        "head -c 9000 /dev/zero | tr '\\0' 'a' | INFRA_MAX_FILE_BYTES=1000 timeout 30 '{}' diff - '{}'",
        env!("CARGO_BIN_EXE_infra"),
        out.str()
    );
    let run = std::process::Command::new("sh").args(["-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("standard input is larger than 8000 bytes"), "{stderr}");
}

/// A `--set` path nests params no deeper than a file may: 20,000 keys
/// overflowed the stack.
#[test]
fn set_paths_are_bounded() {
    let dir =
        project_with_resource("set-depth", b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a, namespace: ns}\n");
    let path = format!("{}=1", vec!["a"; 20_000].join("."));
    let run = common::infra_bounded(&["build", dir.str(), "-o", "-", "--set", &path]);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert!(run.stderr.contains("`--set` path of 20000 keys; params nest at most 200 levels"), "{}", run.stderr);
    assert!(run.stderr.contains("--> --set:1:1"), "{}", run.stderr);
}

/// 20,000 names Kubernetes would refuse: each error points at its name,
/// found through one index of documents (each searched them all, 26 s in a
/// release build; here under the 30 s bound of a debug build).
#[test]
fn many_invalid_names_are_reported_in_linear_time() {
    let docs: String = (0..20_000)
        .map(|i| format!("---\napiVersion: v1\nkind: ConfigMap\nmetadata: {{name: Bad{i}, namespace: ns}}\n"))
        .collect();
    let dir = project_with_resource("invalid-names", docs.as_bytes());
    let run = build_bounded(&dir);
    assert_eq!(run.code, 1, "{}", run.transcript());
    assert_eq!(run.stderr.matches("error[E141]").count(), 20_000);
    assert!(run.stderr.contains("--> manifests/bad.yaml:80000:18"), "{}", &run.stderr[run.stderr.len() - 2000..]);
}

/// Expressions whose cost hides in a number's range (a power of a negative
/// base, a descending `range`, an attribute of mapped items), in the empty
/// steps of a lazy list, in a text repeated per line or per level, or in
/// work done for each item: each ran for minutes or built gigabytes once.
/// Each is refused before it runs.
#[test]
fn hidden_costs_are_bounded_before_expressions_run() {
    let nested = |n: usize, inner: &str| format!("{}{inner}{}", "[".repeat(n), "]".repeat(n));
    let entries: Vec<String> = (0..2000).map(|i| format!("'k{i}': 1")).collect();
    let entries = entries.join(", ");
    let too_much = "expression does too much work";
    let cases = [
        ("5 in ([0] * ([{'a': 10**12}] | map(attribute='a') | first))", "error[E115]: a repetition by a number"),
        ("'x' * ((-10000) ** ([1,2,3]|select('odd')|length))", too_much),
        ("-1 in (range(100000,0,-1) * 1000000)", too_much),
        ("5 in ([0] * (range(10**12,0,-10**11)|first))", too_much),
        ("not (([] * 10**18) | first)", too_much),
        ("'%(a)999999999s' | format({'a':'x'})", "format widths and precisions are at most 4096"),
        ("('%(a)s'*1000) | format({'a':'x'*1000000})", too_much),
        ("('a\\n'*1000) | indent(width=1000000, first=true)", "indent would make"),
        (&format!("debug({})", nested(40, "[0]*1000000")), too_much),
        (&format!("{} | toyaml", nested(70, "'a\\n'*4000000")), too_much),
        ("range(10000) | sort(attribute='a,'*20000)", too_much),
        ("('x'*4000000) | trim('y'*100000 ~ 'x')", too_much),
        (&format!("((['a'] * ((dict({{{}}})|length) ** 3))|list)[0]", entries), too_much),
        ("[1]|tojson(indent=18446744073709551615)", "tojson's indent is at most 4096"),
        ("range(100000)|chain('a')|join('x' * 10000)", "join would make"),
        (
            &format!("{}{}", "(".repeat(20), "1 - 1 - 1 - 1 - 1 - 1 - 1 - 1 - 1 - 1)".repeat(20)),
            "maximum recursion limits",
        ),
    ];
    for (expr, message) in cases {
        expression_fails(expr, message);
    }
}

/// Params are read where they are: a large list named a thousand times is
/// not copied a thousand times, and ordinary filters over thousands of
/// items run.
/// The bound counts a string's characters apart from the text of what
/// holds it: sorting, grouping and joining the names of 20,000 services
/// is ordinary work, not a refusal.
#[test]
fn ordinary_expressions_over_large_params_run() {
    let dir = TempDir::new("ordinary-large");
    let services: Vec<String> = (0..20_000)
        .map(|i| {
            format!(
                "{{name: svc{i:05}, team: team{}, port: {}, image: example.com/svc{i:05}:1.0}}",
                i % 40,
                8000 + i % 100
            )
        })
        .collect();
    dir.write(
        "infra.yaml",
        format!("name: t\nparams:\n  services: [{}]\nresources: [app.yaml]\n", services.join(", ")),
    );
    dir.write(
        "app.yaml",
        r#"apiVersion: v1
kind: ConfigMap
metadata: {name: a, namespace: ns}
data:
  names: "${{ params.services | map(attribute='name') | join(',') | length }}"
  lowest: "${{ (params.services | sort(attribute='port') | first).name }}"
  groups: "${{ params.services | groupby('team') | length }}"
  teams: "${{ params.services | map(attribute='team') | unique | list | length }}"
  busy: "${{ params.services | selectattr('port', 'gt', 8050) | list | length }}"
"#,
    );
    let run = build_bounded(&dir);
    assert_eq!(run.code, 0, "{}", run.transcript());
    for line in ["names: '179999'", "lowest: svc00000", "groups: '40'", "teams: '40'", "busy: '9800'"] {
        assert!(run.stdout.contains(line), "{line}:\n{}", run.stdout);
    }
}

#[test]
fn large_params_are_read_in_place() {
    let dir = TempDir::new("large-params");
    let numbers: Vec<String> = (0..100_000).map(|i| i.to_string()).collect();
    let names: Vec<String> = (0..3000).map(|i| format!("name{i:04}")).collect();
    dir.write(
        "infra.yaml",
        format!(
            "name: t\nparams:\n  big: [{}]\n  names: [{}]\nresources: [app.yaml]\n",
            numbers.join(", "),
            names.join(", ")
        ),
    );
    let many = vec!["params.big"; 1000].join(", ");
    dir.write(
        "app.yaml",
        format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: a, namespace: ns}}\ndata:\n  many: \"${{{{ [{many}] | length }}}}\"\n  names: \"${{{{ params.names | map('upper') | join(',') | length }}}}\"\n  json: \"${{{{ params.big | tojson | length }}}}\"\n"
        ),
    );
    let run = build_bounded(&dir);
    assert_eq!(run.code, 0, "{}", run.transcript());
    assert!(run.stdout.contains("many: '1000'") && run.stdout.contains("names: '26999'"), "{}", run.stdout);
    assert!(run.stdout.contains("json: '588891'"), "{}", run.stdout);
}
