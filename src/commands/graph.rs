//! `infra graph`: the dependency graph of one environment, as text (apply
//! order with each object's dependencies), Graphviz or Mermaid.

use super::compile;
use crate::report::Reporter;
use infra_compiler::Options;
use infra_compiler::link::Format;
use std::path::Path;
use std::process::ExitCode;

pub fn run(r: &Reporter, dir: &Path, env: Option<String>, format: Format) -> ExitCode {
    let c = match compile(r, dir, &Options { envs: env.into_iter().collect(), ..Options::default() }) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let Some(g) = c.graphs.first() else { return ExitCode::from(1) };
    if c.graphs.len() > 1 {
        r.status(&format!("note: showing environment `{}`; choose another with --env", g.env));
    }
    r.stdout(&g.render(format));
    ExitCode::SUCCESS
}
