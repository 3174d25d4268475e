//! `infra init`: a working starter project (the same as
//! `examples/quickstart`), named after its folder or `--name`.

use crate::report::Reporter;
use crate::scaffold;
use std::path::Path;
use std::process::ExitCode;

pub fn run(r: &Reporter, dir: &Path, name: Option<String>) -> ExitCode {
    let name = name.unwrap_or_else(|| scaffold::name_from_dir(dir));
    match scaffold::init(dir, &name) {
        Ok(written) => {
            for p in written {
                r.status(&format!("created {}", p.display()));
            }
            r.status(&format!("next: infra build {}", dir.display()));
            ExitCode::SUCCESS
        }
        Err(d) => r.error(d),
    }
}
