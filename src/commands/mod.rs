//! One module per command, each a thin layer over the libraries: it turns
//! arguments into library calls, and results and diagnostics into output
//! through the [`Reporter`].

pub mod build;
pub mod chart;
pub mod diff;
pub mod graph;
pub mod import;
pub mod init;
pub mod params;
pub mod plan;

use crate::report::Reporter;
use infra_compiler::{Compilation, Options};
use std::path::Path;
use std::process::ExitCode;

/// Compiles a project and prints its diagnostics; the exit code when it
/// failed.
fn compile(r: &Reporter, dir: &Path, options: &Options) -> Result<Compilation, ExitCode> {
    let c = infra_compiler::compile(dir, options);
    if c.failed() {
        return Err(r.failed(&c.diagnostics, &c.sources, "build"));
    }
    r.diagnostics(&c.diagnostics, &c.sources);
    Ok(c)
}
