//! Killed and concurrent builds: an output folder always holds exactly one
//! whole build — the previous or the new — and what killed builds leave
//! behind is cleaned by the next one.

use crate::common;

use common::{TempDir, snapshot};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// 2,000 ConfigMaps of 2 KB in 20 namespaces; environment `two` changes
/// every one of them, so the two builds share no object file.
fn project() -> TempDir {
    let dir = TempDir::new("crash");
    dir.write(
        "infra.yaml",
        "name: crash\nparams: {version: 1, num: 2000}\nresources: [app.yaml]\nenvironments:\n  one: {}\n  two: {params: {version: 2}}\n",
    );
    dir.write(
        "app.yaml",
        "infra:\n  for_each: ${{ range(params.num) }}\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: \"cm-${{ item }}\", namespace: \"ns-${{ item % 20 }}\"}\ndata:\n  version: \"${{ params.version }}\"\n  payload: \"${{ 'x' * 2000 }}\"\n",
    );
    dir
}

fn build(dir: &TempDir, env: &str, out: &Path) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_infra"));
    c.args(["build", dir.str(), "--env", env, "-o", out.to_str().unwrap()]).stdout(Stdio::null()).stderr(Stdio::null());
    c
}

/// Entries beside the output folder that a build left behind.
fn leftovers(out: &Path) -> Vec<String> {
    let prefix = format!(".{}.infra-", out.file_name().unwrap().to_string_lossy());
    std::fs::read_dir(out.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&prefix))
        .collect()
}

#[test]
fn a_killed_build_leaves_the_previous_or_the_new_output() {
    let dir = project();
    let out = dir.join("out");
    assert!(build(&dir, "one", &out).status().unwrap().success());
    dir.write("out/README.md", "kept by a human\n");
    let one = snapshot(&out);
    // The fastest of three builds that each replace the output: kills are
    // timed from it, and one slow build (a busy machine) would put them all
    // after the end.
    let mut duration = Duration::MAX;
    for env in ["two", "one", "two"] {
        let start = Instant::now();
        assert!(build(&dir, env, &out).status().unwrap().success());
        duration = duration.min(start.elapsed());
    }
    let two = snapshot(&out);
    assert_ne!(one, two);
    assert!(two.contains(&("README.md".to_string(), "kept by a human\n".to_string())));

    const KILLS: u32 = 30;
    let mut killed_while_writing = 0;
    for i in 0..KILLS {
        let env = if i % 2 == 0 { "one" } else { "two" };
        // From a fifth of a build to past its end, so kills land in every phase.
        let delay = duration.mul_f64(0.2 + 0.9 * f64::from(i) / f64::from(KILLS));
        let mut child = build(&dir, env, &out).spawn().unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        child.wait().unwrap();
        let now = snapshot(&out);
        assert!(now == one || now == two, "a mix of two builds after a kill at {delay:?}");
        if !leftovers(&out).is_empty() {
            killed_while_writing += 1;
        }
    }
    assert!(killed_while_writing > 0, "no kill landed while a build was writing; the test proves nothing");
    // The next build cleans up and completes.
    assert!(build(&dir, "one", &out).status().unwrap().success());
    assert_eq!(snapshot(&out), one);
    assert_eq!(leftovers(&out), Vec::<String>::new());
}

#[test]
fn concurrent_builds_end_with_one_whole_output() {
    let dir = project();
    let out = dir.join("out");
    assert!(build(&dir, "one", &out).status().unwrap().success());
    let one = snapshot(&out);
    assert!(build(&dir, "two", &out).status().unwrap().success());
    let two = snapshot(&out);
    for round in 0..3 {
        let children: Vec<_> = (0..4)
            .map(|i| build(&dir, if (i + round) % 2 == 0 { "one" } else { "two" }, &out).spawn().unwrap())
            .collect();
        for mut c in children {
            assert!(c.wait().unwrap().success(), "round {round}");
        }
        let now = snapshot(&out);
        assert!(now == one || now == two, "round {round}: a mix of builds");
        assert_eq!(leftovers(&out), Vec::<String>::new(), "round {round}");
    }
}
