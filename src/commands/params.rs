//! `infra params`: the resolved params of one environment, as its
//! expressions see them (what `helm get values --all` and `tk eval` show).

use crate::report::Reporter;
use infra_compiler::load::overrides::Overrides;
use std::path::Path;
use std::process::ExitCode;

pub fn run(r: &Reporter, dir: &Path, env: Option<String>, overrides: Overrides, json: bool) -> ExitCode {
    let resolved = infra_compiler::resolve_params(dir, env.as_deref(), &overrides);
    let Some(params) = resolved.params.filter(|_| !resolved.diagnostics.has_errors()) else {
        return r.failed(&resolved.diagnostics, &resolved.sources, "params");
    };
    r.diagnostics(&resolved.diagnostics, &resolved.sources);
    if json {
        let json = infra_syntax::json::to_json(&params);
        r.stdout(&format!("{}\n", serde_json::to_string_pretty(&json).unwrap_or_default()));
    } else {
        r.stdout(&format!("# params of environment {}\n{}", resolved.env, infra_syntax::yaml::emit(&params)));
    }
    ExitCode::SUCCESS
}
