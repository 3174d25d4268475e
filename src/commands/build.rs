//! `infra build`: compile every environment (or those asked for) and write
//! each into its output folder, whole or not at all — or print one stream,
//! or check that the folders are what a fresh build would write.

use super::compile;
use crate::report::{Reporter, count};
use infra_compiler::Options;
use infra_compiler::emit::dir::{self, Job, OutDir};
use infra_compiler::emit::{self, Output};
use infra_syntax::{Code, Diagnostic, Diagnostics};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

pub struct Args {
    pub dir: PathBuf,
    pub envs: Vec<String>,
    pub output: Option<String>,
    pub check: bool,
    /// `--kustomization`: a kustomization.yaml beside the objects.
    pub kustomization: bool,
    pub strict: bool,
    /// `--validate` (or `--strict`): objects against their schemas.
    pub validate: bool,
    /// `--values` and `--set`.
    pub overrides: infra_compiler::load::overrides::Overrides,
    /// `--kube-version`, for every chart.
    pub kube_version: Option<String>,
}

pub fn run(r: &Reporter, args: Args) -> ExitCode {
    let Args { dir, envs, output, check, kustomization, strict, validate, overrides, kube_version } = args;
    if check && output.as_deref() == Some("-") {
        return r.error(
            Diagnostic::error(
                Code::Usage,
                "--check compares an output folder with a fresh build; it cannot check `-o -`",
            )
            .help("give -o DIR, or leave out -o to check compiled/<env>"),
        );
    }
    if kustomization && output.as_deref() == Some("-") {
        return r.error(
            Diagnostic::error(
                Code::Usage,
                "--kustomization writes a file beside the objects; `-o -` writes one stream",
            )
            .help("give -o DIR, or leave out -o to write compiled/<env>"),
        );
    }
    let c = match compile(r, &dir, &Options { envs, strict, helm: None, overrides, kube_version, validate }) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if output.is_some() && c.graphs.len() != 1 {
        let names: Vec<&str> = c.graphs.iter().map(|g| g.env.as_str()).collect();
        return r.error(
            Diagnostic::error(Code::Usage, "-o needs exactly one environment")
                .help(format!("choose one with --env ({})", names.join(", "))),
        );
    }
    // The process ends soon: freeing thousands of small maps one by one
    // would cost several percent of the run for nothing.
    let c = std::mem::ManuallyDrop::new(c);
    if output.as_deref() == Some("-") {
        for graph in &c.graphs {
            r.stdout_with(&mut |w| emit::write_stream(graph, w));
        }
        return ExitCode::SUCCESS;
    }
    let outputs: Vec<Output> = c.graphs.iter().map(|g| emit::emit(g, kustomization)).collect();
    let mut diags = Diagnostics::new();
    let mut targets = Vec::new();
    for out in &outputs {
        let root = c.root.as_deref().unwrap_or(&dir);
        let target = match &output {
            Some(o) => OutDir::new(Path::new(o)),
            None => OutDir::in_project(root, &out.env),
        };
        let target = target.and_then(|t| t.check_apart(root, c.sources.iter().map(|s| s.path.as_path())).map(|()| t));
        match target {
            Ok(t) => targets.push(t),
            Err(d) => diags.push(d),
        }
    }
    if diags.has_errors() {
        return r.failed(&diags, &c.sources, "build");
    }
    if check { check_all(r, &outputs, &targets) } else { write_all(r, &outputs, &targets) }
}

/// `--check`: every folder compared with its fresh build.
fn check_all(r: &Reporter, outputs: &[Output], targets: &[OutDir]) -> ExitCode {
    let mut stale = false;
    let mut diags = Diagnostics::new();
    for (out, target) in outputs.iter().zip(targets) {
        let shown = target.path();
        match emit::check(target, out) {
            Err(d) => diags.push(d),
            Ok(diffs) if diffs.is_empty() => {
                r.status(&format!("{}: up to date ({} in {})", out.env, count(out.len(), "object"), shown.display()))
            }
            Ok(diffs) => {
                stale = true;
                r.status(&format!("{}: {} is stale:", out.env, shown.display()));
                for d in diffs {
                    r.status(&format!("  {d}"));
                }
            }
        }
    }
    if diags.has_errors() {
        return r.failed(&diags, &infra_syntax::Sources::new(), "check");
    }
    // Stale is not broken: 2, as `plan` says "changes", so CI can tell a
    // forgotten `infra build` from a build that fails (1).
    if stale {
        r.status("help: run `infra build` and commit the result");
        return ExitCode::from(2);
    }
    ExitCode::SUCCESS
}

/// Every folder replaced by its new build, all or none.
fn write_all(r: &Reporter, outputs: &[Output], targets: &[OutDir]) -> ExitCode {
    let jobs: Vec<Job> =
        outputs.iter().zip(targets).map(|(out, target)| Job { out: target, files: out.new_files() }).collect();
    let mut waiting = |p: &Path| r.status(&format!("waiting for another build that writes into {}", p.display()));
    let mut diags = Diagnostics::new();
    let unchanged = match dir::replace_all(&jobs, &mut waiting) {
        Ok(report) => {
            for w in report.warnings {
                diags.push(w);
            }
            r.diagnostics(&diags, &infra_syntax::Sources::new());
            report.unchanged
        }
        Err(d) => {
            diags.push(d);
            return r.failed(&diags, &infra_syntax::Sources::new(), "build");
        }
    };
    for ((out, target), unchanged) in outputs.iter().zip(targets).zip(unchanged) {
        let (n, shown) = (count(out.len(), "object"), target.path());
        r.status(&if unchanged {
            format!("{}: up to date ({n} in {})", out.env, shown.display())
        } else {
            format!("{}: wrote {n} to {}", out.env, shown.display())
        });
    }
    ExitCode::SUCCESS
}
