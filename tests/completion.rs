//! `infra completion SHELL`: scripts the shells accept, that complete
//! infra's commands and flags.

use crate::common;

use common::{TempDir, infra};

#[test]
fn bash_completion_completes_commands_and_flags() {
    let run = infra(&["completion", "bash"]);
    assert_eq!(run.code, 0, "{}", run.transcript());
    let dir = TempDir::new("completion");
    dir.write("infra.bash", &run.stdout);
    // Ask the function as bash's completion would, for `infra pl` and
    // `infra plan --de`.
    let script = format!(
        "source '{}'\nCOMP_WORDS=(infra pl); COMP_CWORD=1; _infra infra pl infra; echo \"${{COMPREPLY[@]}}\"\nCOMP_WORDS=(infra plan --de); COMP_CWORD=2; _infra infra --de plan; echo \"${{COMPREPLY[@]}}\"\n",
        dir.join("infra.bash").display()
    );
    let out = std::process::Command::new("bash").args(["-c", &script]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(lines, ["plan", "--deny"], "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn every_shell_gets_a_script_and_an_unknown_one_is_a_usage_error() {
    for (shell, marker) in
        [("zsh", "#compdef infra"), ("fish", "complete -c infra"), ("powershell", "Register-ArgumentCompleter")]
    {
        let run = infra(&["completion", shell]);
        assert_eq!(run.code, 0, "{shell}: {}", run.transcript());
        assert!(run.stdout.contains(marker), "{shell}");
        assert!(run.stdout.contains("keep-secrets"), "{shell}");
    }
    let bad = infra(&["completion", "tcsh"]);
    assert_eq!(bad.code, 1, "{}", bad.transcript());
    assert!(bad.stderr.contains("tcsh"), "{}", bad.stderr);
}
